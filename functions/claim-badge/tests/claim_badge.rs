//! The claim pages through the real router, against the real SQLite store.

use std::sync::Arc;

use accolade::adapters::faults::{Fault, FaultyStore};
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{FixedClock, SequenceRandom};
use accolade::crypto::Pepper;
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, Award, AwardId, AwardState, ClaimTokenRecord,
    ClientId, DeliveryStatus, EmailAddress, HttpsUrl, ImageKey, Issuer, IssuerId, Level, Recipient,
    Revocation, StoredImage, Text, TextLimit, Timestamp,
};
use accolade::ports::{Clock, Store, StoreError};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use claim_badge::{ClaimBadge, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// 2024-11-08T10:00:00Z.
const NOW: i64 = 1_731_060_000;
const DAY: i64 = 86_400;
const BASE_URL: &str = "https://badges.example.org";
const TOKEN: &str = "Zm9vYmFyYmF6cXV4LXRva2VuLWZvci10ZXN0cy0xMjM0";
/// The identity hash of `alice@example.org` with the salt `pepper42`.
const ALICE_HASH: &str = "sha256$67daac04f8729a3e9b9074c030271f7378d54f4dd121a1836faa5c9542cb40ff";
const HTML: &str = "text/html";
const JSON: &str = "application/json";

struct Harness {
    router: Router,
    store: Arc<SqliteStore>,
    /// The store the router uses: `store` with injectable failures.
    faults: Arc<FaultyStore>,
    clock: Arc<FixedClock>,
    pepper: Pepper,
    issuer: Issuer,
    achievement: Achievement,
}

fn text(value: &str) -> Text {
    Text::parse("test", value, TextLimit::LONG).unwrap()
}

fn email(value: &str) -> EmailAddress {
    EmailAddress::parse(value).unwrap()
}

fn image(key: &str, media_type: &str) -> StoredImage {
    StoredImage {
        key: ImageKey(key.to_owned()),
        media_type: media_type.to_owned(),
        width: 1,
        height: 1,
        sha256: "00".repeat(32),
    }
}

async fn harness_named(achievement_name: &str) -> Harness {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let clock = Arc::new(FixedClock::new(Timestamp::from_unix_seconds(NOW)));
    let random = Arc::new(SequenceRandom::new());
    random.fix_salt("pepper42");
    let pepper = Pepper::new(vec![9; 32]).unwrap();
    let issuer = Issuer {
        id: IssuerId::from_uuid(uuid::Uuid::new_v4()),
        name: text("Riverside Music Service"),
        url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
        email: email("badges@music.example.org"),
        description: None,
        image: None,
        created_at: Timestamp::from_unix_seconds(NOW),
        updated_at: Timestamp::from_unix_seconds(NOW),
        version: 1,
    };
    store.create_issuer(&issuer).await.unwrap();
    let achievement_id = AchievementId::from_uuid(uuid::Uuid::new_v4());
    let achievement = Achievement {
        id: achievement_id,
        issuer_id: issuer.id,
        name: text(achievement_name),
        description: text("Took part in the summer orchestra course."),
        criteria_narrative: text("Attend all five days and play in the final concert."),
        criteria_url: None,
        level: Some(Level::Participate),
        tags: Vec::new(),
        images: AchievementImages {
            png: Some(image(
                &format!("achievements/{achievement_id}/image.png"),
                "image/png",
            )),
            svg: Some(image(
                &format!("achievements/{achievement_id}/image.svg"),
                "image/svg+xml",
            )),
        },
        created_at: Timestamp::from_unix_seconds(NOW),
    };
    store.create_achievement(&achievement).await.unwrap();
    let faults = Arc::new(FaultyStore::new(store.clone()));
    let deps = ClaimBadge {
        store: faults.clone(),
        clock: clock.clone(),
        random,
        pepper: pepper.clone(),
        urls: PublicUrls::parse(BASE_URL).unwrap(),
    };
    Harness {
        router: router(deps),
        store,
        faults,
        clock,
        pepper,
        issuer,
        achievement,
    }
}

async fn harness() -> Harness {
    harness_named("Summer Orchestra").await
}

fn young_person() -> Recipient {
    Recipient {
        email: Some(email("  Alice@Example.ORG")),
        name: Some(text("Alice Okafor")),
        delivery_email: None,
    }
}

fn guardian_only() -> Recipient {
    Recipient {
        email: None,
        name: Some(text("Li Wei")),
        delivery_email: Some(email("guardian.wei@example.com")),
    }
}

impl Harness {
    /// Stores an issued award whose claim email went out with `token`.
    async fn seed_with_token(&self, recipient: Recipient, token: &str) -> Award {
        let award = Award {
            id: AwardId::from_uuid(uuid::Uuid::new_v4()),
            issuer_id: self.issuer.id,
            achievement_id: self.achievement.id,
            recipient,
            narrative: Some(text("Played cello in every rehearsal.")),
            evidence: Vec::new(),
            issued_on: Timestamp::from_unix_seconds(NOW),
            expires_at: None,
            state: AwardState::Issued,
            delivery: DeliveryStatus::Sent,
            message_id: Some("memory-000001".to_owned()),
            sends_requested: 1,
            sends_done: 1,
            last_send_requested_at: Timestamp::from_unix_seconds(NOW),
            claim_token: Some(ClaimTokenRecord {
                hash: self.pepper.claim_token_hash(token),
                issued_at: Timestamp::from_unix_seconds(NOW),
                expires_at: Timestamp::from_unix_seconds(NOW + 90 * DAY),
            }),
            claim: None,
            revocation: None,
            assertion_json: None,
            dedup_key: None,
            created_by: ClientId::parse("partner").unwrap(),
            version: 1,
        };
        self.store.create_award(&award).await.unwrap();
        award
    }

    async fn seed(&self, recipient: Recipient) -> Award {
        self.seed_with_token(recipient, TOKEN).await
    }

    async fn reload(&self, award: &Award) -> Award {
        self.store.get_award(award.id).await.unwrap().unwrap()
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        Reply::read(response).await
    }

    async fn get(&self, token: &str, accept: &str) -> Reply {
        self.send(
            Request::get(format!("/claim/{token}"))
                .header(header::ACCEPT, accept)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, token: &str, form: &str, accept: &str) -> Reply {
        self.send(post_request(token, form, accept)).await
    }

    /// Revokes the award the way the partner API does: a conditional write, retried on a
    /// conflict, from whatever state the award is in.
    async fn revoke(&self, award: &Award) {
        loop {
            let current = self.reload(award).await;
            let mut revoked = current.next_version();
            revoked.state = AwardState::Revoked;
            revoked.revocation = Some(Revocation {
                revoked_at: self.clock.now(),
                reason: text("Awarded in error"),
                previous_state: current.state,
            });
            match self.store.update_award(&revoked, current.version).await {
                Ok(()) => return,
                Err(StoreError::Conflict) => continue,
                Err(error) => panic!("revoking failed: {error}"),
            }
        }
    }
}

fn post_request(token: &str, form: &str, accept: &str) -> Request<Body> {
    Request::post(format!("/claim/{token}"))
        .header(header::ACCEPT, accept)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

/// A response with its body read.
struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    async fn read(response: Response<Body>) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Self {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_else(|| panic!("header {name} is missing"))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_owned()
    }

    /// Checks the headers every claim page carries.
    fn assert_private_page(&self) {
        assert_eq!(self.header("referrer-policy"), "no-referrer");
        assert_eq!(self.header("cache-control"), "no-store");
        assert!(self.header("x-robots-tag").contains("noindex"));
        let content_type = self.headers.get(header::CONTENT_TYPE);
        if content_type.is_some_and(|value| value.as_bytes().starts_with(HTML.as_bytes())) {
            assert!(
                self.header("content-security-policy")
                    .contains("default-src 'none'")
            );
            assert!(
                self.body
                    .contains("<meta name=\"robots\" content=\"noindex\">"),
                "the page has no robots meta element"
            );
            assert!(!self.body.contains("<script"), "a page has a script");
        }
    }
}

fn assertion_url(award: &Award) -> String {
    format!("{BASE_URL}/assertions/{}", award.id)
}

#[tokio::test]
async fn get_shows_award_and_form() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let reply = h.get(TOKEN, HTML).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    reply.assert_private_page();
    for expected in [
        "<h1>Summer Orchestra</h1>",
        "Riverside Music Service",
        "Level: Participate",
        "Took part in the summer orchestra course.",
        "Attend all five days and play in the final concert.",
        "Played cello in every rehearsal.",
        "This badge was issued to <strong>alice@example.org</strong>",
        "<form method=\"post\">",
        "name=\"display_name\" value=\"Alice Okafor\"",
        "<input type=\"checkbox\" name=\"show_name\" value=\"on\">",
    ] {
        assert!(reply.body.contains(expected), "missing {expected:?}");
    }
    let image = format!("src=\"{BASE_URL}/badges/{}/image.png\"", h.achievement.id);
    assert!(
        reply.body.contains(&image),
        "the image comes from our domain"
    );
    assert!(
        !reply.body.contains("identity_email"),
        "no identity question"
    );
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn post_claims_with_hashed_identity() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let reply = h.post(TOKEN, "display_name=Alice&show_name=on", HTML).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.header("location"),
        format!("{BASE_URL}/claim/{TOKEN}")
    );
    reply.assert_private_page();

    let stored = h.reload(&award).await;
    assert_eq!(stored.state, AwardState::Claimed);
    assert_eq!(stored.version, award.version + 1);
    let claim = stored.claim.clone().unwrap();
    assert_eq!(claim.identity.as_str(), "alice@example.org");
    assert_eq!(claim.salt, "pepper42");
    assert_eq!(claim.identity_hash, ALICE_HASH);
    assert_eq!(claim.display_name.as_ref().map(Text::as_str), Some("Alice"));
    assert!(claim.show_name);
    assert_eq!(claim.claimed_at.unix_seconds(), NOW);

    let json = stored.assertion_json.clone().unwrap();
    let assertion: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(assertion["id"], assertion_url(&award));
    assert_eq!(assertion["type"], "Assertion");
    assert_eq!(assertion["recipient"]["identity"], ALICE_HASH);
    assert_eq!(assertion["recipient"]["salt"], "pepper42");
    assert_eq!(assertion["recipient"]["hashed"], true);
    assert_eq!(assertion["recipient"]["type"], "email");
    assert_eq!(assertion["issuedOn"], "2024-11-08T10:00:00Z");
    assert_eq!(
        assertion["badge"],
        format!("{BASE_URL}/badges/{}", h.achievement.id)
    );
    assert!(
        !json.to_lowercase().contains("alice"),
        "no plain email or name"
    );
}

#[tokio::test]
async fn show_name_is_off_by_default() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let reply = h.post(TOKEN, "display_name=Alice", HTML).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let claim = h.reload(&award).await.claim.unwrap();
    assert!(!claim.show_name);
    assert_eq!(claim.display_name.as_ref().map(Text::as_str), Some("Alice"));
}

#[tokio::test]
async fn empty_name_is_stored_as_none() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let reply = h.post(TOKEN, "display_name=+++&show_name=on", HTML).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let claim = h.reload(&award).await.claim.unwrap();
    assert_eq!(claim.display_name, None);
    assert!(!claim.show_name, "no name to show");
}

#[tokio::test]
async fn claimed_link_shows_badge_links() {
    let h = harness().await;
    let award = h.seed(young_person()).await;
    h.post(TOKEN, "display_name=Alice", HTML).await;
    let claimed = h.reload(&award).await;

    let reply = h.get(TOKEN, HTML).await;

    assert_eq!(reply.status, StatusCode::OK);
    reply.assert_private_page();
    let url = assertion_url(&award);
    for expected in [
        format!("<a href=\"{url}\">Public badge page</a>"),
        format!("href=\"{url}/image.png\" download"),
        format!("href=\"{url}/image.svg\" download"),
        "try again in a minute".to_owned(),
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME".to_owned(),
        "Add it to your CV".to_owned(),
        "claimed on 8 November 2024".to_owned(),
        "linked to the email address <strong>alice@example.org</strong>".to_owned(),
    ] {
        assert!(reply.body.contains(&expected), "missing {expected:?}");
    }
    let credential = url.replace("/assertions/", "/credentials/");
    for expected in [
        format!("href=\"{credential}.json\" download"),
        format!("href=\"{credential}.jwt\" download"),
        format!("href=\"{credential}/image.png\" download"),
        format!("href=\"{credential}/image.svg\" download"),
    ] {
        assert!(reply.body.contains(&expected), "missing {expected:?}");
    }
    assert_eq!(h.reload(&award).await, claimed, "GET changes nothing");
}

#[tokio::test]
async fn second_post_is_409_and_changes_nothing() {
    let h = harness().await;
    let award = h.seed(young_person()).await;
    h.post(TOKEN, "display_name=Alice", HTML).await;
    let claimed = h.reload(&award).await;

    let page = h
        .post(TOKEN, "display_name=Mallory&show_name=on", HTML)
        .await;
    let json = h.post(TOKEN, "display_name=Mallory", JSON).await;

    assert_eq!(page.status, StatusCode::CONFLICT);
    page.assert_private_page();
    assert!(
        page.body
            .contains(&format!("href=\"{}\"", assertion_url(&award)))
    );
    assert_eq!(json.status, StatusCode::CONFLICT);
    json.assert_private_page();
    assert_eq!(json.code(), "claim_used");
    assert_eq!(
        json.json()["error"]["details"]["assertion_url"],
        assertion_url(&award)
    );
    assert_eq!(h.reload(&award).await, claimed);
}

#[tokio::test]
async fn expired_link_is_410() {
    let h = harness().await;
    let award = h.seed(young_person()).await;
    h.clock.advance_seconds(90 * DAY);

    let page = h.get(TOKEN, HTML).await;
    let json = h.get(TOKEN, JSON).await;
    let posted = h.post(TOKEN, "display_name=Alice", JSON).await;

    assert_eq!(page.status, StatusCode::GONE);
    page.assert_private_page();
    assert!(page.body.contains("This claim link has expired"));
    assert!(page.body.contains("badges@music.example.org"));
    assert!(
        page.body
            .contains("mailto:badges@music.example.org?subject=")
    );
    assert_eq!(json.status, StatusCode::GONE);
    assert_eq!(json.code(), "claim_expired");
    assert_eq!(
        json.json()["error"]["details"]["issuer_email"],
        "badges@music.example.org"
    );
    assert_eq!(posted.status, StatusCode::GONE);
    assert_eq!(posted.code(), "claim_expired");
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn link_works_until_it_expires() {
    let h = harness().await;
    let award = h.seed(young_person()).await;
    h.clock.advance_seconds(90 * DAY - 1);

    let reply = h.post(TOKEN, "", HTML).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(h.reload(&award).await.state, AwardState::Claimed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_claim_once() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let requests: Vec<_> = (0..8)
        .map(|i| {
            let router = h.router.clone();
            let form = format!("display_name=Claimer+{i}");
            tokio::spawn(async move { router.oneshot(post_request(TOKEN, &form, JSON)).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap().unwrap().status());
    }

    let successes = statuses
        .iter()
        .filter(|status| **status == StatusCode::SEE_OTHER)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|status| **status == StatusCode::CONFLICT)
        .count();
    assert_eq!(successes, 1, "{statuses:?}");
    assert_eq!(conflicts, 7, "{statuses:?}");
    let stored = h.reload(&award).await;
    assert_eq!(stored.state, AwardState::Claimed);
    assert_eq!(stored.version, award.version + 1, "exactly one write");
}

/// A store failure while the claim is saved leaves the link unused, and the next try claims
/// the badge.
#[tokio::test]
async fn store_failure_leaves_the_link_unused() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    for (fault, status) in [
        (Fault::Backend, StatusCode::INTERNAL_SERVER_ERROR),
        (Fault::Throttled, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        h.faults.fail_award_updates(1, fault);
        let failed = h.post(TOKEN, "display_name=Alice", JSON).await;
        assert_eq!(failed.status, status, "{fault:?}: {}", failed.body);
        failed.assert_private_page();
        if fault == Fault::Backend {
            assert!(failed.json()["error"]["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("the claim may not have been saved")));
        }
        assert_eq!(
            h.reload(&award).await,
            award,
            "{fault:?}: nothing is stored"
        );
    }
    h.faults.fail_award_updates(1, Fault::Backend);
    let page = h.post(TOKEN, "display_name=Alice", HTML).await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    page.assert_private_page();
    assert!(
        page.body.contains("Your claim was not finished"),
        "{}",
        page.body
    );
    let form = h.get(TOKEN, HTML).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("<form method=\"post\">"),
        "{}",
        form.body
    );

    let claimed = h.post(TOKEN, "display_name=Alice", HTML).await;

    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    let stored = h.reload(&award).await;
    assert_eq!(stored.state, AwardState::Claimed);
    assert!(stored.assertion_json.is_some());
    assert_eq!(stored.version, award.version + 1, "exactly one write");
}

/// A claim that was stored but whose response was lost: the claimer tries again and is shown
/// the claimed badge. Nothing is claimed twice.
#[tokio::test]
async fn lost_response_then_retry_shows_the_claimed_badge() {
    let h = harness().await;
    let award = h.seed(young_person()).await;
    h.faults.fail_award_updates(1, Fault::LostResponse);

    let lost = h.post(TOKEN, "display_name=Alice", HTML).await;

    assert_eq!(lost.status, StatusCode::INTERNAL_SERVER_ERROR);
    let stored = h.reload(&award).await;
    assert_eq!(stored.state, AwardState::Claimed);
    assert!(
        stored.assertion_json.is_some(),
        "claim and assertion are one write"
    );
    assert_eq!(stored.version, award.version + 1);

    let retry = h.post(TOKEN, "display_name=Alice", JSON).await;
    let page = h.get(TOKEN, HTML).await;

    assert_eq!(retry.status, StatusCode::CONFLICT);
    assert_eq!(retry.code(), "claim_used");
    assert_eq!(
        retry.json()["error"]["details"]["assertion_url"],
        assertion_url(&award)
    );
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(&format!("href=\"{}\"", assertion_url(&award)))
    );
    assert_eq!(h.reload(&award).await, stored, "the retry changes nothing");
}

#[tokio::test]
async fn guardian_flow_asks_for_identity() {
    let h = harness().await;
    h.seed(guardian_only()).await;

    let reply = h.get(TOKEN, HTML).await;

    assert_eq!(reply.status, StatusCode::OK);
    for expected in [
        "The email about it went to <strong>guardian.wei@example.com</strong>",
        "name=\"identity_email\" value=\"\"",
        "name=\"use_delivery_email\" value=\"on\">",
        "Use guardian.wei@example.com instead",
    ] {
        assert!(reply.body.contains(expected), "missing {expected:?}");
    }
}

#[tokio::test]
async fn guardian_flow_requires_a_choice() {
    let h = harness().await;
    let award = h.seed(guardian_only()).await;

    let page = h.post(TOKEN, "display_name=Li+%3Cb%3E", HTML).await;
    let json = h.post(TOKEN, "display_name=Li", JSON).await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_private_page();
    assert!(page.body.contains("id=\"identity_email-error\""));
    assert!(
        page.body
            .contains("Enter the young person&#x27;s own email address")
    );
    assert!(page.body.contains("aria-invalid=\"true\""));
    assert!(
        page.body
            .contains("name=\"display_name\" value=\"Li &lt;b&gt;\""),
        "the typed name is kept, escaped"
    );
    assert_eq!(json.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json.code(), "invalid_field");
    assert_eq!(json.json()["error"]["details"]["field"], "identity_email");
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn guardian_flow_rejects_invalid_address() {
    let h = harness().await;
    let award = h.seed(guardian_only()).await;

    let reply = h
        .post(TOKEN, "identity_email=li%40%40example.org", HTML)
        .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply
            .body
            .contains("name=\"identity_email\" value=\"li@@example.org\"")
    );
    assert!(reply.body.contains("it has more than one @"));
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn guardian_flow_rejects_two_choices() {
    let h = harness().await;
    let award = h.seed(guardian_only()).await;

    let reply = h
        .post(
            TOKEN,
            "identity_email=li%40example.org&use_delivery_email=on",
            JSON,
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["details"]["field"], "identity_email");
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn guardian_flow_with_own_address() {
    let h = harness().await;
    let award = h.seed(guardian_only()).await;

    let reply = h
        .post(TOKEN, "identity_email=++Alice%40Example.ORG", HTML)
        .await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let claim = h.reload(&award).await.claim.unwrap();
    assert_eq!(claim.identity.as_str(), "alice@example.org");
    assert_eq!(claim.identity_hash, ALICE_HASH);
}

#[tokio::test]
async fn guardian_flow_with_delivery_address() {
    let h = harness().await;
    let award = h.seed(guardian_only()).await;

    let reply = h.post(TOKEN, "use_delivery_email=on", HTML).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let claim = h.reload(&award).await.claim.unwrap();
    assert_eq!(claim.identity.as_str(), "guardian.wei@example.com");
    assert_eq!(
        claim.identity_hash,
        accolade::crypto::identity_hash(&email("guardian.wei@example.com"), "pepper42")
    );
}

#[tokio::test]
async fn guardian_with_child_address_prefills_it() {
    let h = harness().await;
    let award = h
        .seed(Recipient {
            email: Some(email("li@example.org")),
            name: Some(text("Li Wei")),
            delivery_email: Some(email("guardian.wei@example.com")),
        })
        .await;

    let page = h.get(TOKEN, HTML).await;
    let reply = h.post(TOKEN, "identity_email=li%40example.org", HTML).await;

    assert!(
        page.body
            .contains("name=\"identity_email\" value=\"li@example.org\"")
    );
    assert!(
        page.body
            .contains("This badge was issued to <strong>li@example.org</strong>")
    );
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let claim = h.reload(&award).await.claim.unwrap();
    assert_eq!(claim.identity.as_str(), "li@example.org");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claim_racing_revoke_ends_consistent() {
    let h = Arc::new(harness().await);
    for round in 0..10 {
        let token = format!("{TOKEN}-{round:02}");
        let award = h.seed_with_token(young_person(), &token).await;

        let claim = {
            let router = h.router.clone();
            let request = post_request(&token, "display_name=Alice", JSON);
            tokio::spawn(async move { router.oneshot(request).await.unwrap().status() })
        };
        let revoke = {
            let h = h.clone();
            let award = award.clone();
            tokio::spawn(async move { h.revoke(&award).await })
        };
        let status = claim.await.unwrap();
        revoke.await.unwrap();

        let stored = h.reload(&award).await;
        assert_eq!(stored.state, AwardState::Revoked);
        let revocation = stored.revocation.clone().unwrap();
        match status {
            StatusCode::SEE_OTHER => {
                assert_eq!(revocation.previous_state, AwardState::Claimed);
                assert!(stored.claim.is_some());
                assert!(stored.assertion_json.is_some());
            }
            StatusCode::GONE => {
                assert_eq!(revocation.previous_state, AwardState::Issued);
                assert!(stored.claim.is_none());
                assert!(stored.assertion_json.is_none());
            }
            other => panic!("claim answered {other} in round {round}"),
        }
    }
}

#[tokio::test]
async fn revoked_award_is_410() {
    let h = harness().await;
    let award = h.seed(young_person()).await;
    h.revoke(&award).await;
    let revoked = h.reload(&award).await;

    let page = h.get(TOKEN, HTML).await;
    let posted = h.post(TOKEN, "display_name=Alice", JSON).await;

    assert_eq!(page.status, StatusCode::GONE);
    page.assert_private_page();
    assert!(page.body.contains("This badge has been withdrawn"));
    assert!(page.body.contains("Awarded in error"));
    assert_eq!(posted.status, StatusCode::GONE);
    assert_eq!(posted.code(), "award_revoked");
    assert_eq!(h.reload(&award).await, revoked);
}

#[tokio::test]
async fn unknown_or_malformed_token_is_404() {
    let h = harness().await;
    h.seed(young_person()).await;

    for token in [
        "bm90LXRoZS1yaWdodC10b2tlbi1hdC1hbGwtMTIzNDU2",
        "x",
        "has%20space-but-long-enough-to-look",
        &"a".repeat(300),
    ] {
        let page = h.get(token, HTML).await;
        let json = h.get(token, JSON).await;
        let posted = h.post(token, "display_name=A", JSON).await;

        assert_eq!(page.status, StatusCode::NOT_FOUND, "{token}");
        page.assert_private_page();
        assert!(page.body.contains("This claim link does not work"));
        assert_eq!(json.status, StatusCode::NOT_FOUND);
        assert_eq!(json.code(), "claim_not_found");
        assert_eq!(posted.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn other_body_types_are_415() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let reply = h
        .send(
            Request::post(format!("/claim/{TOKEN}"))
                .header(header::ACCEPT, JSON)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"display_name\":\"Alice\"}"))
                .unwrap(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.code(), "unsupported_media_type");
    reply.assert_private_page();
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn oversized_form_is_413() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let form = format!("display_name={}", "a".repeat(20_000));
    let reply = h.post(TOKEN, &form, HTML).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    reply.assert_private_page();
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn overlong_name_is_422() {
    let h = harness().await;
    let award = h.seed(young_person()).await;

    let form = format!("display_name={}", "Ж".repeat(201));
    let reply = h.post(TOKEN, &form, JSON).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["details"]["field"], "display_name");
    assert!(reply.code() == "invalid_field");
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn get_and_head_never_change_award() {
    let h = harness().await;
    let award = h.seed(guardian_only()).await;

    for accept in [HTML, JSON, "*/*"] {
        h.get(TOKEN, accept).await;
    }
    let head = h
        .send(
            Request::head(format!("/claim/{TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;

    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(h.reload(&award).await, award);
}

#[tokio::test]
async fn page_text_is_escaped() {
    let h = harness_named("</script><script>alert(1)</script> & Co").await;
    h.seed(Recipient {
        email: Some(email("alice@example.org")),
        name: Some(text("<b>Alice</b> \"A\"")),
        delivery_email: None,
    })
    .await;

    let reply = h.get(TOKEN, HTML).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .body
            .contains("<h1>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</h1>")
    );
    assert!(
        reply
            .body
            .contains("value=\"&lt;b&gt;Alice&lt;/b&gt; &quot;A&quot;\"")
    );
    assert!(!reply.body.contains("<script>"));
    assert!(!reply.body.contains("<b>Alice"));
}
