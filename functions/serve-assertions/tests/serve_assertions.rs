//! The public endpoints through the real router, against the real SQLite store and the
//! in-memory file store.

use std::sync::Arc;

use accolade::adapters::files::MemoryFileStore;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::FixedClock;
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, Award, AwardId, AwardState, ClaimRecord,
    ClientId, DeliveryStatus, EmailAddress, Evidence, HttpsUrl, ImageKey, Issuer, IssuerId, Level,
    Recipient, Revocation, StoredImage, Text, TextLimit, Timestamp,
};
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey};
use accolade::openbadges::v2;
use accolade::ports::{Clock, FileStore, SigningKeys, Store};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use serve_assertions::{ServeAssertions, router};
use tower::ServiceExt;

/// 2024-11-08T10:00:00Z.
const NOW: i64 = 1_731_060_000;
const BASE_URL: &str = "https://badges.example.org";
const PNG_BYTES: &[u8] = b"\x89PNG\r\n\x1a\nnot really decoded by this router";
const SVG_BYTES: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
const LD_JSON: &str = "application/ld+json";
const JSON: &str = "application/json";
const HTML: &str = "text/html";

struct Harness {
    router: Router,
    store: Arc<SqliteStore>,
    files: Arc<MemoryFileStore>,
    keys: Arc<MemorySigningKeys>,
    /// The issuer's RS256 key.
    key: SigningKey,
    clock: FixedClock,
    urls: PublicUrls,
    issuer: Issuer,
    achievement: Achievement,
}

fn text(value: &str) -> Text {
    Text::parse("test", value, TextLimit::LONG).unwrap()
}

fn stored_image(key: &str, media_type: &str) -> StoredImage {
    StoredImage {
        key: ImageKey(key.to_owned()),
        media_type: media_type.to_owned(),
        width: 1,
        height: 1,
        sha256: "00".repeat(32),
    }
}

async fn harness() -> Harness {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let files = Arc::new(MemoryFileStore::new());
    let urls = PublicUrls::parse(BASE_URL).unwrap();

    let issuer_id = IssuerId::from_uuid(uuid::Uuid::new_v4());
    let issuer_image = format!("issuers/{issuer_id}/image.png");
    files
        .put(&issuer_image, PNG_BYTES.to_vec(), "image/png")
        .await
        .unwrap();
    let issuer = Issuer {
        id: issuer_id,
        name: text("Riverside Music Service"),
        url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
        email: EmailAddress::parse("badges@music.example.org").unwrap(),
        description: Some(text("Music lessons and ensembles for young people.")),
        image: Some(stored_image(&issuer_image, "image/png")),
        created_at: Timestamp::from_unix_seconds(NOW),
        updated_at: Timestamp::from_unix_seconds(NOW),
        version: 1,
    };
    store.create_issuer(&issuer).await.unwrap();

    let achievement_id = AchievementId::from_uuid(uuid::Uuid::new_v4());
    let png_key = format!("achievements/{achievement_id}/image.png");
    let svg_key = format!("achievements/{achievement_id}/image.svg");
    files
        .put(&png_key, PNG_BYTES.to_vec(), "image/png")
        .await
        .unwrap();
    files
        .put(&svg_key, SVG_BYTES.to_vec(), "image/svg+xml")
        .await
        .unwrap();
    let achievement = Achievement {
        id: achievement_id,
        issuer_id,
        name: text("Summer Orchestra"),
        description: text("Took part in the summer orchestra course."),
        criteria_narrative: text("Attend all five days and play in the final concert."),
        criteria_url: None,
        level: Some(Level::Participate),
        tags: vec![text("orchestra")],
        images: AchievementImages {
            png: Some(stored_image(&png_key, "image/png")),
            svg: Some(stored_image(&svg_key, "image/svg+xml")),
        },
        created_at: Timestamp::from_unix_seconds(NOW),
    };
    store.create_achievement(&achievement).await.unwrap();

    let keys = Arc::new(MemorySigningKeys::new());
    let key = SigningKey::generate(
        issuer_id,
        SigningAlgorithm::Rs256,
        Timestamp::from_unix_seconds(NOW),
    )
    .unwrap();
    keys.add_signing_key(&key).await.unwrap();

    let deps = ServeAssertions {
        store: store.clone(),
        files: files.clone(),
        keys: keys.clone(),
        urls: urls.clone(),
    };
    Harness {
        router: router(deps),
        store,
        files,
        keys,
        key,
        clock: FixedClock::new(Timestamp::from_unix_seconds(NOW)),
        urls,
        issuer,
        achievement,
    }
}

impl Harness {
    async fn seed_issued(&self) -> Award {
        let award = Award {
            id: AwardId::from_uuid(uuid::Uuid::new_v4()),
            issuer_id: self.issuer.id,
            achievement_id: self.achievement.id,
            recipient: Recipient {
                email: Some(EmailAddress::parse("alice@example.org").unwrap()),
                name: Some(text("Alice Okafor")),
                delivery_email: None,
            },
            narrative: Some(text("Played cello in every rehearsal.")),
            evidence: vec![Evidence {
                narrative: Some(text("Final concert recording")),
                url: Some(HttpsUrl::parse("url", "https://music.example.org/concert").unwrap()),
            }],
            issued_on: Timestamp::from_unix_seconds(NOW),
            expires_at: None,
            state: AwardState::Issued,
            delivery: DeliveryStatus::Sent,
            message_id: None,
            sends_requested: 1,
            sends_done: 1,
            last_send_requested_at: Timestamp::from_unix_seconds(NOW),
            claim_token: None,
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

    /// Claims an issued award the way claim-badge does: the assertion is frozen now.
    async fn claim(&self, award: &Award, display_name: Option<&str>, show_name: bool) -> Award {
        let identity = EmailAddress::parse("alice@example.org").unwrap();
        let record = ClaimRecord {
            claimed_at: self.clock.now(),
            identity_hash: accolade::crypto::identity_hash(&identity, "pepper42"),
            identity,
            salt: "pepper42".to_owned(),
            display_name: display_name
                .map(|name| Text::parse("name", name, TextLimit::NAME).unwrap()),
            show_name,
        };
        let mut claimed = award.next_version();
        claimed.assertion_json = Some(v2::to_json(&v2::hosted_assertion(
            award,
            &self.achievement,
            &record,
            &self.urls,
        )));
        claimed.state = AwardState::Claimed;
        claimed.claim = Some(record);
        self.store
            .update_award(&claimed, award.version)
            .await
            .unwrap();
        claimed
    }

    async fn seed_claimed(&self) -> Award {
        let award = self.seed_issued().await;
        self.claim(&award, Some("Alice"), false).await
    }

    async fn revoke(&self, award: &Award) -> Award {
        let mut revoked = award.next_version();
        revoked.state = AwardState::Revoked;
        revoked.revocation = Some(Revocation {
            revoked_at: self.clock.now(),
            reason: text("Awarded in error"),
            previous_state: award.state,
        });
        self.store
            .update_award(&revoked, award.version)
            .await
            .unwrap();
        revoked
    }

    async fn request(&self, method: Method, path: &str, accept: Option<&str>) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        let response = self
            .router
            .clone()
            .oneshot(builder.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, accept: Option<&str>) -> Reply {
        self.request(Method::GET, path, accept).await
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_else(|| panic!("header {name} is missing"))
    }

    fn content_type(&self) -> &str {
        self.header("content-type")
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn assert_public(&self) {
        assert_eq!(self.header("access-control-allow-origin"), "*");
        assert_eq!(self.header("vary"), "Accept");
    }
}

fn assertion_path(award: &Award) -> String {
    format!("/assertions/{}", award.id)
}

#[tokio::test]
async fn negotiation_table() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    let frozen = award.assertion_json.clone().unwrap();
    let path = assertion_path(&award);

    let cases = [
        (Some("application/ld+json"), LD_JSON),
        (Some("application/json"), JSON),
        (Some("*/*"), LD_JSON),
        (Some("text/html"), "text/html; charset=utf-8"),
        (
            Some("application/ld+json, application/json, text/html;q=0.9"),
            LD_JSON,
        ),
        (None, LD_JSON),
        (
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            "text/html; charset=utf-8",
        ),
    ];
    for (accept, content_type) in cases {
        let reply = h.get(&path, accept).await;

        assert_eq!(reply.status, StatusCode::OK, "Accept: {accept:?}");
        assert_eq!(reply.content_type(), content_type, "Accept: {accept:?}");
        reply.assert_public();
        if content_type.starts_with("text/html") {
            assert!(reply.text().starts_with("<!DOCTYPE html>"));
        } else {
            assert_eq!(reply.text(), frozen, "Accept: {accept:?}");
        }
    }
}

#[tokio::test]
async fn assertion_bytes_never_change() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    let path = assertion_path(&award);

    let first = h.get(&path, None).await;
    h.clock.advance_seconds(60);
    let second = h.get(&path, None).await;

    assert_eq!(first.body, second.body);
    assert_eq!(first.text(), award.assertion_json.unwrap());
    let assertion = first.json();
    assert_eq!(assertion["id"], format!("{BASE_URL}{path}"));
    assert_eq!(assertion["issuedOn"], "2024-11-08T10:00:00Z");
}

#[tokio::test]
async fn unclaimed_award_is_404() {
    let h = harness().await;
    let award = h.seed_issued().await;
    let path = assertion_path(&award);

    let json = h.get(&path, None).await;
    let page = h.get(&path, Some(HTML)).await;
    let image = h.get(&format!("{path}/image.png"), None).await;

    assert_eq!(json.status, StatusCode::NOT_FOUND);
    json.assert_public();
    assert_eq!(json.json()["error"]["code"], "not_found");
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type().starts_with(HTML));
    assert!(!page.text().contains("Alice"));
    assert_eq!(image.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_and_invalid_ids_are_404() {
    let h = harness().await;

    for path in [
        format!("/assertions/{}", uuid::Uuid::new_v4()),
        "/assertions/333".to_owned(),
        "/assertions/333/".to_owned(),
        "/badges/not-a-uuid".to_owned(),
        format!("/issuers/{}", uuid::Uuid::new_v4()),
        format!("/badges/{}/image.gif", h.achievement.id),
        format!("/badges/{}/other", h.achievement.id),
        "/levels/gold".to_owned(),
    ] {
        let reply = h.get(&path, None).await;

        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        reply.assert_public();
        assert_eq!(reply.json()["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn revoked_assertion_is_410_reduced() {
    let h = harness().await;
    let claimed = h.seed_claimed().await;
    let revoked = h.revoke(&claimed).await;
    let path = assertion_path(&revoked);
    h.files
        .put(
            &format!("assertions/{}/image.png", revoked.id),
            PNG_BYTES.to_vec(),
            "image/png",
        )
        .await
        .unwrap();

    let json = h.get(&path, None).await;
    let plain = h.get(&path, Some(JSON)).await;
    let page = h.get(&path, Some(HTML)).await;
    let image = h.get(&format!("{path}/image.png"), None).await;

    assert_eq!(json.status, StatusCode::GONE);
    assert_eq!(json.content_type(), LD_JSON);
    json.assert_public();
    assert_eq!(
        json.text(),
        format!(
            "{{\"@context\":\"https://w3id.org/openbadges/v2\",\"type\":\"Assertion\",\"id\":\"{BASE_URL}{path}\",\"revoked\":true,\"revocationReason\":\"Awarded in error\"}}"
        )
    );
    assert_eq!(plain.status, StatusCode::GONE);
    assert_eq!(plain.content_type(), JSON);
    assert_eq!(plain.body, json.body);
    assert_eq!(page.status, StatusCode::GONE);
    let html = page.text();
    assert!(html.contains("Revoked."));
    assert!(html.contains("Awarded in error"));
    assert!(
        !html.contains("Alice"),
        "no recipient data after revocation"
    );
    assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert_eq!(
        image.status,
        StatusCode::GONE,
        "a revoked badge's image is not live"
    );
}

#[tokio::test]
async fn award_revoked_before_claim_is_404() {
    let h = harness().await;
    let issued = h.seed_issued().await;
    let revoked = h.revoke(&issued).await;

    let reply = h.get(&assertion_path(&revoked), None).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn non_canonical_forms_redirect() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    let canonical = format!("{BASE_URL}{}", assertion_path(&award));
    let badge = format!("{BASE_URL}/badges/{}", h.achievement.id);
    let issuer = format!("{BASE_URL}/issuers/{}", h.issuer.id);

    let cases = [
        (format!("{}/", assertion_path(&award)), canonical.clone()),
        (
            format!("{}?utm_source=mail", assertion_path(&award)),
            canonical.clone(),
        ),
        (
            format!("/assertions/{}", award.id.to_string().to_uppercase()),
            canonical.clone(),
        ),
        (
            format!("{}/image.png/", assertion_path(&award)),
            format!("{canonical}/image.png"),
        ),
        (format!("/badges/{}/", h.achievement.id), badge.clone()),
        (format!("/badges/{}?a=1", h.achievement.id), badge),
        (format!("/issuers/{}/", h.issuer.id), issuer),
        (
            "/levels/Participate".to_owned(),
            format!("{BASE_URL}/levels/participate"),
        ),
    ];
    for (path, location) in cases {
        for method in [Method::GET, Method::HEAD] {
            let reply = h.request(method.clone(), &path, None).await;

            assert_eq!(
                reply.status,
                StatusCode::MOVED_PERMANENTLY,
                "{method} {path}"
            );
            assert_eq!(reply.header("location"), location, "{method} {path}");
            reply.assert_public();
        }
    }
}

#[tokio::test]
async fn head_works_everywhere() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    h.files
        .put(
            &format!("assertions/{}/image.svg", award.id),
            SVG_BYTES.to_vec(),
            "image/svg+xml",
        )
        .await
        .unwrap();

    let cases = [
        (assertion_path(&award), LD_JSON),
        (
            format!("{}/image.svg", assertion_path(&award)),
            "image/svg+xml",
        ),
        (format!("/badges/{}", h.achievement.id), LD_JSON),
        (
            format!("/badges/{}/image.png", h.achievement.id),
            "image/png",
        ),
        (format!("/issuers/{}", h.issuer.id), LD_JSON),
        (format!("/issuers/{}/image.png", h.issuer.id), "image/png"),
        ("/levels/lead".to_owned(), JSON),
    ];
    for (path, content_type) in cases {
        let reply = h.request(Method::HEAD, &path, None).await;

        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.content_type(), content_type, "{path}");
        assert!(reply.body.is_empty(), "{path}");
        reply.assert_public();
    }
}

#[tokio::test]
async fn badge_page_hides_name_by_default() {
    let h = harness().await;
    let award = h.seed_claimed().await;

    let reply = h.get(&assertion_path(&award), Some(HTML)).await;

    let html = reply.text();
    assert_eq!(reply.status, StatusCode::OK);
    assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(reply.header("x-robots-tag").contains("noindex"));
    assert!(
        !html.contains("Alice"),
        "the name stays hidden unless chosen"
    );
    assert!(html.contains("Awarded by <a href"));
}

#[tokio::test]
async fn badge_page_shows_chosen_name() {
    let h = harness().await;
    let issued = h.seed_issued().await;
    let award = h.claim(&issued, Some("Alice O."), true).await;

    let reply = h.get(&assertion_path(&award), Some(HTML)).await;

    let html = reply.text();
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!html.contains("noindex"));
    assert!(reply.headers.get("x-robots-tag").is_none());
    assert!(html.contains("Awarded to <strong>Alice O.</strong> by"));
}

#[tokio::test]
async fn badge_page_content() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    let url = format!("{BASE_URL}{}", assertion_path(&award));
    let badge_image = format!("{BASE_URL}/badges/{}/image.png", h.achievement.id);

    let reply = h.get(&assertion_path(&award), Some(HTML)).await;

    let html = reply.text();
    for expected in [
        "<html lang=\"en-GB\">".to_owned(),
        "<h1>Summer Orchestra</h1>".to_owned(),
        format!("<img class=\"badge\" src=\"{badge_image}\""),
        format!("href=\"{BASE_URL}/levels/participate\">Level: Participate</a>"),
        format!(
            "href=\"{BASE_URL}/issuers/{}\">Riverside Music Service</a>",
            h.issuer.id
        ),
        "Took part in the summer orchestra course.".to_owned(),
        "Attend all five days and play in the final concert.".to_owned(),
        "Played cello in every rehearsal.".to_owned(),
        "Final concert recording".to_owned(),
        "https://music.example.org/concert".to_owned(),
        "<dt>Issued on</dt><dd>8 November 2024</dd>".to_owned(),
        "<dt>Claimed on</dt><dd>8 November 2024</dd>".to_owned(),
        format!("<code>{url}</code>"),
        format!("href=\"{url}/image.png\" download"),
        format!("href=\"{url}/image.svg\" download"),
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME".to_owned(),
        format!("<meta property=\"og:image\" content=\"{badge_image}\">"),
        format!("<meta property=\"og:url\" content=\"{url}\">"),
        "<meta property=\"og:title\" content=\"Summer Orchestra – Riverside Music Service\">"
            .to_owned(),
    ] {
        assert!(html.contains(&expected), "missing {expected:?}");
    }
    assert!(!html.contains("<script"));
    assert!(
        reply
            .header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert_eq!(reply.header("referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn badge_page_escapes_text() {
    let h = harness().await;
    let issued = h.seed_issued().await;
    let award = h
        .claim(&issued, Some("</script><script>alert(1)</script>"), true)
        .await;

    let reply = h.get(&assertion_path(&award), Some(HTML)).await;

    let html = reply.text();
    assert!(html.contains(
        "Awarded to <strong>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</strong>"
    ));
    assert!(!html.contains("<script>"));
    assert!(!html.contains("</script>"));
}

#[tokio::test]
async fn issuer_and_badge_class_documents() {
    let h = harness().await;

    let issuer = h.get(&format!("/issuers/{}", h.issuer.id), None).await;
    let badge = h.get(&format!("/badges/{}", h.achievement.id), None).await;

    assert_eq!(issuer.status, StatusCode::OK);
    assert_eq!(issuer.content_type(), LD_JSON);
    issuer.assert_public();
    let profile = issuer.json();
    assert_eq!(profile["@context"], "https://w3id.org/openbadges/v2");
    assert_eq!(profile["id"], format!("{BASE_URL}/issuers/{}", h.issuer.id));
    assert_eq!(profile["type"], "Issuer");
    assert_eq!(profile["email"], "badges@music.example.org");
    assert_eq!(badge.status, StatusCode::OK);
    assert_eq!(badge.content_type(), LD_JSON);
    let class = badge.json();
    assert_eq!(
        class["id"],
        format!("{BASE_URL}/badges/{}", h.achievement.id)
    );
    assert_eq!(class["type"], "BadgeClass");
    assert_eq!(class["issuer"], profile["id"]);
    assert_eq!(
        class["alignment"][0]["targetUrl"],
        format!("{BASE_URL}/levels/participate")
    );

    let level = h.get("/levels/participate", None).await;
    assert_eq!(level.status, StatusCode::OK);
    assert_eq!(level.json()["id"], format!("{BASE_URL}/levels/participate"));
    assert_eq!(level.json()["name"], "Participate");
}

#[tokio::test]
async fn html_pages_for_issuer_badge_and_level() {
    let h = harness().await;

    let issuer = h
        .get(&format!("/issuers/{}", h.issuer.id), Some(HTML))
        .await;
    let badge = h
        .get(&format!("/badges/{}", h.achievement.id), Some(HTML))
        .await;
    let level = h.get("/levels/lead", Some(HTML)).await;

    assert!(issuer.text().contains("<h1>Riverside Music Service</h1>"));
    assert!(badge.text().contains("<h1>Summer Orchestra</h1>"));
    assert!(level.text().contains("<h1>Lead level</h1>"));
    assert!(level.text().contains("Leadership: leading others in music"));
    for reply in [&issuer, &badge, &level] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.content_type(), "text/html; charset=utf-8");
        reply.assert_public();
    }
}

#[tokio::test]
async fn images_are_served() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    let baked = format!("{}/image.png", assertion_path(&award));

    let before = h.get(&baked, None).await;
    h.files
        .put(
            &format!("assertions/{}/image.png", award.id),
            b"baked png".to_vec(),
            "image/png",
        )
        .await
        .unwrap();
    let after = h.get(&baked, None).await;
    let svg = h
        .get(&format!("/badges/{}/image.svg", h.achievement.id), None)
        .await;
    let png = h
        .get(&format!("/badges/{}/image.png", h.achievement.id), None)
        .await;
    let issuer_svg = h
        .get(&format!("/issuers/{}/image.svg", h.issuer.id), None)
        .await;

    assert_eq!(before.status, StatusCode::NOT_FOUND, "not baked yet");
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.content_type(), "image/png");
    assert_eq!(after.body, b"baked png");
    after.assert_public();
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.content_type(), "image/svg+xml");
    assert_eq!(svg.body, SVG_BYTES);
    assert!(svg.header("content-security-policy").contains("sandbox"));
    assert_eq!(png.body, PNG_BYTES);
    assert_eq!(
        issuer_svg.status,
        StatusCode::NOT_FOUND,
        "the issuer has only a PNG"
    );
}

#[tokio::test]
async fn preflight_allows_get() {
    let h = harness().await;
    let award = h.seed_claimed().await;

    let reply = h
        .request(Method::OPTIONS, &assertion_path(&award), None)
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.header("access-control-allow-origin"), "*");
    assert!(reply.header("access-control-allow-methods").contains("GET"));
}

#[tokio::test]
async fn other_methods_are_rejected() {
    let h = harness().await;
    let award = h.seed_claimed().await;

    let reply = h.request(Method::POST, &assertion_path(&award), None).await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(h.store.get_award(award.id).await.unwrap().unwrap(), award);
}

impl Harness {
    /// Stores a credential and its JWS as bake-images does, minted with the issuer's key.
    async fn mint(&self, award: &Award) -> (String, String) {
        let claim = award.claim.as_ref().unwrap();
        let subject = accolade::openbadges::v3::SubjectIdentity {
            subject_id: uuid::Uuid::new_v4(),
            salt: "credential-salt".to_owned(),
        };
        let credential = accolade::openbadges::v3::build_credential(
            award,
            &self.achievement,
            &self.issuer,
            claim,
            &subject,
            &self.urls,
        );
        let minted =
            accolade::openbadges::v3::sign_credential(credential, &self.key, &self.urls).unwrap();
        for (key, text, media_type) in [
            (
                format!("credentials/{}.json", award.id),
                &minted.json,
                "application/vc+ld+json",
            ),
            (
                format!("credentials/{}.jwt", award.id),
                &minted.jws,
                "text/plain; charset=utf-8",
            ),
        ] {
            self.files
                .put(&key, text.as_bytes().to_vec(), media_type)
                .await
                .unwrap();
        }
        (minted.json, minted.jws)
    }
}

fn kid_path(h: &Harness) -> String {
    format!("/keys/{}", h.key.key_id())
}

#[tokio::test]
async fn jwks_lists_every_key_with_its_kid() {
    let h = harness().await;
    let other = SigningKey::generate(
        IssuerId::from_uuid(uuid::Uuid::new_v4()),
        SigningAlgorithm::Es256,
        Timestamp::from_unix_seconds(NOW),
    )
    .unwrap();
    h.keys.add_signing_key(&other).await.unwrap();

    let reply = h.get("/.well-known/jwks.json", Some(HTML)).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/jwk-set+json");
    reply.assert_public();
    let keys = reply.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let ours = &keys[0];
    assert_eq!(ours["kid"], format!("{BASE_URL}{}", kid_path(&h)));
    assert_eq!(ours["kty"], "RSA");
    assert_eq!(ours["alg"], "RS256");
    assert_eq!(ours["use"], "sig");
    assert_eq!(ours["iss"], format!("{BASE_URL}/issuers/{}", h.issuer.id));
    assert!(ours.get("d").is_none(), "no private member");
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["crv"], "P-256");
    assert_eq!(keys[1]["alg"], "ES256");
}

#[tokio::test]
async fn kid_url_returns_the_bare_jwk() {
    let h = harness().await;
    let jwks = h.get("/.well-known/jwks.json", None).await.json();

    let reply = h.get(&kid_path(&h), Some(LD_JSON)).await;
    let unknown = h.get(&format!("/keys/{}", "A".repeat(43)), None).await;
    let malformed = h.get("/keys/not-a-key", None).await;
    let slash = h.get(&format!("{}/", kid_path(&h)), None).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/jwk+json");
    assert_eq!(reply.json(), jwks["keys"][0]);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    assert_eq!(slash.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        slash.header("location"),
        format!("{BASE_URL}{}", kid_path(&h))
    );
}

#[tokio::test]
async fn profile_links_keys_and_revocation_list() {
    let h = harness().await;

    let profile = h
        .get(&format!("/issuers/{}", h.issuer.id), None)
        .await
        .json();
    let key_url = format!("{BASE_URL}/issuers/{}/keys/{}", h.issuer.id, h.key.key_id());
    assert_eq!(profile["publicKey"], serde_json::json!([key_url]));
    assert_eq!(
        profile["revocationList"],
        format!("{BASE_URL}/issuers/{}/revocations/v2", h.issuer.id)
    );

    let key = h.get(&key_url.replace(BASE_URL, ""), Some(HTML)).await;
    assert_eq!(key.status, StatusCode::OK);
    assert_eq!(key.content_type(), LD_JSON);
    let document = key.json();
    assert_eq!(document["@context"], "https://w3id.org/openbadges/v2");
    assert_eq!(document["type"], "CryptographicKey");
    assert_eq!(document["id"], key_url);
    assert_eq!(document["owner"], profile["id"]);
    assert_eq!(document["publicKeyPem"], h.key.public().public_key_pem);

    // A key under another issuer's path does not exist there.
    let other = harness().await;
    let foreign = h
        .get(
            &format!("/issuers/{}/keys/{}", h.issuer.id, other.key.key_id()),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn revocation_lists_follow_the_store() {
    let h = harness().await;
    let claimed = h.seed_claimed().await;
    let issued = h.seed_issued().await;
    let list_path = format!("/issuers/{}/revocations", h.issuer.id);
    let v2_path = format!("{list_path}/v2");

    let empty = h.get(&list_path, None).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.content_type(), JSON);
    assert_eq!(empty.header("cache-control"), "no-cache");
    assert_eq!(
        empty.json(),
        serde_json::json!({
            "id": format!("{BASE_URL}{list_path}"),
            "issuer": format!("{BASE_URL}/issuers/{}", h.issuer.id),
            "revokedCredential": [],
        })
    );

    h.revoke(&claimed).await;
    h.revoke(&issued).await;
    let list = h.get(&list_path, None).await.json();
    let v2_list = h.get(&v2_path, None).await;

    assert_eq!(
        list["revokedCredential"],
        serde_json::json!([{
            "id": format!("urn:uuid:{}", claimed.id),
            "revoked": true,
            "revocationReason": "Awarded in error",
        }]),
        "only the award that had been claimed"
    );
    assert_eq!(v2_list.status, StatusCode::OK);
    assert_eq!(v2_list.content_type(), LD_JSON);
    assert_eq!(
        v2_list.json(),
        serde_json::json!({
            "@context": "https://w3id.org/openbadges/v2",
            "type": "RevocationList",
            "id": format!("{BASE_URL}{v2_path}"),
            "issuer": format!("{BASE_URL}/issuers/{}", h.issuer.id),
            "revokedAssertions": [
                {
                    "id": format!("urn:uuid:{}", claimed.id),
                    "revocationReason": "Awarded in error",
                },
                {
                    "id": format!("{BASE_URL}/assertions/{}", claimed.id),
                    "revocationReason": "Awarded in error",
                },
            ],
        })
    );
}

#[tokio::test]
async fn credential_endpoints_serve_frozen_bytes() {
    let h = harness().await;
    let award = h.seed_claimed().await;
    let path = format!("/credentials/{}", award.id);

    let before = h.get(&path, None).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND, "not minted yet");
    let (json, jws) = h.mint(&award).await;

    let ld = h.get(&path, None).await;
    let plain = h.get(&path, Some(JSON)).await;
    let download = h.get(&format!("{path}.json"), Some(HTML)).await;
    let jwt = h.get(&format!("{path}.jwt"), None).await;
    let page = h.get(&path, Some(HTML)).await;

    assert_eq!(ld.status, StatusCode::OK);
    assert_eq!(ld.content_type(), "application/vc+ld+json");
    assert_eq!(ld.text(), json);
    ld.assert_public();
    assert_eq!(plain.content_type(), JSON);
    assert_eq!(plain.text(), json);
    assert_eq!(download.content_type(), "application/vc+ld+json");
    assert_eq!(download.text(), json);
    assert!(download.header("content-disposition").contains(".json"));
    assert_eq!(jwt.status, StatusCode::OK);
    assert_eq!(jwt.content_type(), "text/plain; charset=utf-8");
    assert_eq!(jwt.text(), jws);
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with(HTML));
    let html = page.text();
    for link in [
        format!("href=\"{BASE_URL}{path}.json\" download"),
        format!("href=\"{BASE_URL}{path}.jwt\" download"),
        format!("href=\"{BASE_URL}{path}/image.png\" download"),
        format!("href=\"{BASE_URL}{path}/image.svg\" download"),
    ] {
        assert!(html.contains(&link), "missing {link}");
    }

    let redirect = h
        .get(
            &format!("/credentials/{}.jwt", award.id.to_string().to_uppercase()),
            None,
        )
        .await;
    assert_eq!(redirect.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(redirect.header("location"), format!("{BASE_URL}{path}.jwt"));
}

#[tokio::test]
async fn revoked_credential_keeps_documents_but_not_images() {
    let h = harness().await;
    let claimed = h.seed_claimed().await;
    let (json, jws) = h.mint(&claimed).await;
    for key in [
        format!("credentials/{}/image.png", claimed.id),
        format!("assertions/{}/signed.png", claimed.id),
    ] {
        h.files
            .put(&key, PNG_BYTES.to_vec(), "image/png")
            .await
            .unwrap();
    }
    h.files
        .put(
            &format!("assertions/{}/signed.jws", claimed.id),
            b"a.b.c".to_vec(),
            "text/plain; charset=utf-8",
        )
        .await
        .unwrap();
    let path = format!("/credentials/{}", claimed.id);
    assert_eq!(
        h.get(&format!("{path}/image.png"), None).await.status,
        StatusCode::OK
    );

    h.revoke(&claimed).await;

    assert_eq!(h.get(&path, None).await.text(), json);
    assert_eq!(h.get(&format!("{path}.jwt"), None).await.text(), jws);
    assert_eq!(
        h.get(&format!("/assertions/{}/signed.jws", claimed.id), None)
            .await
            .text(),
        "a.b.c"
    );
    for gone in [
        format!("{path}/image.png"),
        format!("{path}/image.svg"),
        format!("/assertions/{}/signed.png", claimed.id),
        format!("/assertions/{}/signed.svg", claimed.id),
    ] {
        let reply = h.get(&gone, None).await;
        assert_eq!(reply.status, StatusCode::GONE, "{gone}");
    }
    assert_eq!(h.get(&path, Some(HTML)).await.status, StatusCode::GONE);
}

#[tokio::test]
async fn unclaimed_award_has_no_credential() {
    let h = harness().await;
    let issued = h.seed_issued().await;

    for path in [
        format!("/credentials/{}", issued.id),
        format!("/credentials/{}.jwt", issued.id),
        format!("/credentials/{}/image.png", issued.id),
        format!("/assertions/{}/signed.jws", issued.id),
        "/credentials/333.jwt".to_owned(),
    ] {
        let reply = h.get(&path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.json()["error"]["code"], "not_found", "{path}");
    }
}
