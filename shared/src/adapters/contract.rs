//! The contract every [`Store`] implementation must meet, as a test suite that runs against
//! any of them. Built only for tests and with the `contract-tests` feature.
//!
//! Run every case with [`run_all`], or one with its function from [`CASES`]. Each case makes
//! its own records with random ids, so the cases may share one store (such as a DynamoDB
//! table in an emulator) as well as get a fresh one each.
//!
//! Beyond the port's doc comments, the suite pins down two choices that callers rely on:
//! awards are listed by `(issued_on, id)` and achievements by `(created_at, id)`, and a
//! cursor from one listing never shows another issuer's records.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::domain::{
    Achievement, ApiClient, Award, AwardId, AwardState, ClaimTokenRecord, ClientId, Issuer,
    IssuerId, Revocation, Text, TextLimit,
};
use crate::ports::{
    AwardFilter, IdempotencyBegin, IdempotencyKey, Page, PageRequest, Store, StoreError,
    StoredResponse,
};

use fixtures::at;

/// The future of one contract case.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// One contract case: it panics when the store breaks the contract.
pub type Case = fn(Arc<dyn Store>) -> CaseFuture;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every contract case, by name.
        pub const CASES: &[(&str, Case)] = &[
            $((stringify!($name), |store| Box::pin($name(store)))),*
        ];
    };
}

cases![
    settings_first_writer_wins,
    settings_racing_writers_agree,
    issuer_create_get_update,
    issuer_stale_update_conflicts,
    client_put_get_list,
    achievement_create_get_list,
    award_create_get_update,
    award_stale_update_conflicts,
    award_concurrent_updates_one_wins,
    duplicate_award_names_existing,
    siblings_on_one_address_both_awarded,
    reaward_without_key_is_created,
    claim_token_lookup_follows_replacement,
    award_pages_are_complete_and_stable,
    invalid_cursor_is_rejected,
    foreign_cursor_never_leaks_records,
    award_filters_select_matching,
    other_issuer_awards_never_listed,
    revoked_awards_are_listed,
    idempotency_begin_complete_replay,
    idempotency_mismatch_keeps_stored_hash,
    idempotency_racing_begins_one_starts,
    idempotency_in_flight_taken_over_after_expiry,
    idempotency_completed_record_expires,
    idempotency_abandon_releases_key,
    idempotency_keys_are_per_client,
];

/// Runs every case, each on a store from `make_store`, and panics at the end naming every
/// case that failed.
pub async fn run_all<F, Fut>(make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let mut failures = Vec::new();
    for (name, case) in CASES {
        let store = make_store().await;
        // Each case runs as its own task, so a panic fails that case and the others still run.
        match tokio::spawn(case(store)).await {
            Ok(()) => println!("store contract case {name}: ok"),
            Err(error) => {
                let message = match error.try_into_panic() {
                    Ok(panic) => panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                        .unwrap_or_else(|| "panicked".to_owned()),
                    Err(error) => error.to_string(),
                };
                println!("store contract case {name}: FAILED: {message}");
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} store contract cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

pub mod fixtures {
    //! Valid records with fresh random ids, so cases can share one store without clashing.

    use uuid::Uuid;

    use crate::domain::{
        Achievement, AchievementId, AchievementImages, ApiClient, Award, AwardId, AwardState,
        ClientId, DeliveryStatus, EmailAddress, HttpsUrl, Issuer, IssuerId, Recipient, Scopes,
        Text, TextLimit, Timestamp, dedup_key,
    };

    /// 2024-11-08T10:00:00Z, the time every fixture starts from.
    pub const BASE_TIME: i64 = 1_731_060_000;

    pub fn at(offset_seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(BASE_TIME + offset_seconds)
    }

    fn text(value: &str) -> Text {
        Text::parse("fixture", value, TextLimit::LONG).expect("fixture text is valid")
    }

    fn email(value: &str) -> EmailAddress {
        EmailAddress::parse(value).expect("fixture email is valid")
    }

    pub fn issuer() -> Issuer {
        Issuer {
            id: IssuerId::from_uuid(Uuid::new_v4()),
            name: text("Riverside Music Service"),
            url: HttpsUrl::parse("url", "https://music.example.org").expect("fixture URL is valid"),
            email: email("badges@music.example.org"),
            description: Some(text("Music lessons and ensembles for young people.")),
            image: None,
            created_at: at(0),
            updated_at: at(0),
            version: 1,
        }
    }

    pub fn client(issuer: IssuerId) -> ApiClient {
        let id = Uuid::new_v4().simple().to_string();
        ApiClient {
            client_id: ClientId::parse(&format!("partner-{id}"))
                .expect("fixture client id is valid"),
            issuer_id: issuer,
            name: text("Event booking"),
            secret_hash: format!("sha256${}", "ab".repeat(32)),
            scopes: Scopes::all(),
            disabled: false,
            created_at: at(0),
        }
    }

    pub fn achievement(issuer: IssuerId) -> Achievement {
        Achievement {
            id: AchievementId::from_uuid(Uuid::new_v4()),
            issuer_id: issuer,
            name: text("Summer Orchestra"),
            description: text("Played in the summer orchestra course."),
            criteria_narrative: text("Attend all five days and play in the final concert."),
            criteria_url: None,
            level: None,
            tags: vec![text("orchestra")],
            images: AchievementImages {
                png: None,
                svg: None,
            },
            created_at: at(0),
        }
    }

    /// A recipient with an optional own address, a name and an optional delivery address.
    pub fn recipient(own: Option<&str>, name: &str, delivery: Option<&str>) -> Recipient {
        Recipient {
            email: own.map(email),
            name: Some(text(name)),
            delivery_email: delivery.map(email),
        }
    }

    /// An issued award of `achievement` to `recipient_email`, with its deduplication key.
    pub fn award(issuer: IssuerId, achievement: AchievementId, recipient_email: &str) -> Award {
        award_to(
            issuer,
            achievement,
            recipient(Some(recipient_email), "Amara Okafor", None),
        )
    }

    /// An issued award of `achievement` to `recipient`, with its deduplication key.
    pub fn award_to(issuer: IssuerId, achievement: AchievementId, recipient: Recipient) -> Award {
        Award {
            id: AwardId::from_uuid(Uuid::new_v4()),
            issuer_id: issuer,
            achievement_id: achievement,
            dedup_key: Some(dedup_key(issuer, achievement, &recipient)),
            recipient,
            narrative: None,
            evidence: Vec::new(),
            issued_on: at(0),
            expires_at: None,
            state: AwardState::Issued,
            delivery: DeliveryStatus::Pending,
            message_id: None,
            sends_requested: 1,
            sends_done: 0,
            last_send_requested_at: at(0),
            claim_token: None,
            claim: None,
            revocation: None,
            assertion_json: None,
            created_by: ClientId::parse("fixture-partner").expect("fixture client id is valid"),
            version: 1,
        }
    }
}

fn random_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn text(value: &str) -> Text {
    Text::parse("contract", value, TextLimit::LONG).expect("contract text is valid")
}

fn ids(awards: &[Award]) -> Vec<AwardId> {
    awards.iter().map(|award| award.id).collect()
}

/// Awards in listing order: by `issued_on`, then by id.
fn in_listing_order(mut awards: Vec<Award>) -> Vec<Award> {
    awards.sort_by_key(|award| (award.issued_on, award.id));
    awards
}

/// Reads every page of a listing, checking that only the last page lacks a cursor.
async fn all_award_pages(
    store: &dyn Store,
    issuer: IssuerId,
    filter: &AwardFilter,
    limit: u32,
) -> Vec<Page<Award>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let request = PageRequest { limit, cursor };
        let page = store
            .list_awards(issuer, filter, &request)
            .await
            .expect("listing awards failed");
        assert!(
            page.items.len() <= limit as usize,
            "a page exceeds its limit"
        );
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 1_000, "the listing never ends");
    }
}

async fn list_all_awards(store: &dyn Store, issuer: IssuerId, filter: &AwardFilter) -> Vec<Award> {
    all_award_pages(store, issuer, filter, 500)
        .await
        .into_iter()
        .flat_map(|page| page.items)
        .collect()
}

async fn create_awards(store: &dyn Store, awards: &[Award]) {
    for award in awards {
        store
            .create_award(award)
            .await
            .expect("creating an award failed");
    }
}

fn revoked(award: &Award) -> Award {
    Award {
        state: AwardState::Revoked,
        revocation: Some(Revocation {
            revoked_at: at(3_600),
            reason: text("Issued to the wrong person."),
            previous_state: award.state,
        }),
        ..award.next_version()
    }
}

fn idempotency_key(client: &ClientId) -> IdempotencyKey {
    IdempotencyKey {
        client_id: client.clone(),
        key: random_name("key"),
    }
}

fn random_client() -> ClientId {
    ClientId::parse(&random_name("client")).expect("client id is valid")
}

fn created_response() -> StoredResponse {
    StoredResponse {
        status: 201,
        body: r#"{"id":"award"}"#.to_owned(),
        location: Some("/v1/awards/award".to_owned()),
    }
}

/// Begins a request at `now` with the usual windows: 60 seconds in flight, 24 hours kept.
async fn begin_at(
    store: &dyn Store,
    key: &IdempotencyKey,
    hash: &str,
    now: i64,
) -> IdempotencyBegin {
    store
        .begin_request(key, hash, at(now), at(now + 60), at(now + 86_400))
        .await
        .expect("begin_request failed")
}

pub async fn settings_first_writer_wins(store: Arc<dyn Store>) {
    let name = random_name("setting");
    assert_eq!(store.get_setting(&name).await.unwrap(), None);

    let first = store
        .put_setting_if_absent(&name, "https://badges.example.org")
        .await
        .unwrap();
    assert_eq!(first, "https://badges.example.org");

    let second = store
        .put_setting_if_absent(&name, "https://other.example.org")
        .await
        .unwrap();
    assert_eq!(
        second, "https://badges.example.org",
        "a second writer replaced the value"
    );
    assert_eq!(
        store.get_setting(&name).await.unwrap().as_deref(),
        Some("https://badges.example.org")
    );
}

pub async fn settings_racing_writers_agree(store: Arc<dyn Store>) {
    let name = random_name("setting");
    let mut tasks = JoinSet::new();
    for index in 0..8 {
        let (store, name) = (Arc::clone(&store), name.clone());
        tasks.spawn(async move {
            store
                .put_setting_if_absent(&name, &format!("value-{index}"))
                .await
        });
    }
    let results: Vec<String> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("put_setting_if_absent failed"))
        .collect();
    let distinct: HashSet<&String> = results.iter().collect();
    assert_eq!(
        distinct.len(),
        1,
        "racing writers saw different values: {results:?}"
    );
    assert_eq!(
        store.get_setting(&name).await.unwrap().as_ref(),
        Some(&results[0])
    );
}

pub async fn issuer_create_get_update(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer();
    store.create_issuer(&issuer).await.unwrap();
    assert_eq!(
        store.get_issuer(issuer.id).await.unwrap().as_ref(),
        Some(&issuer)
    );

    let again = store.create_issuer(&issuer).await.unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists),
        "second create: {again}"
    );

    let renamed = Issuer {
        name: text("Riverside Music Hub"),
        updated_at: at(60),
        ..issuer.clone()
    };
    store.update_issuer(&renamed, issuer.version).await.unwrap();
    let stored = store
        .get_issuer(issuer.id)
        .await
        .unwrap()
        .expect("issuer is gone");
    assert_eq!(stored.name, renamed.name);
    assert_eq!(stored.version, issuer.version + 1);

    let listed = store.list_issuers().await.unwrap();
    let found: Vec<&Issuer> = listed
        .iter()
        .filter(|listed| listed.id == issuer.id)
        .collect();
    assert_eq!(found, [&stored]);

    let missing = store.get_issuer(fixtures::issuer().id).await.unwrap();
    assert_eq!(missing, None);
}

pub async fn issuer_stale_update_conflicts(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer();
    store.create_issuer(&issuer).await.unwrap();
    let renamed = Issuer {
        name: text("Stale name"),
        ..issuer.clone()
    };

    let stale = store
        .update_issuer(&renamed, issuer.version + 5)
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::Conflict),
        "stale update: {stale}"
    );
    assert_eq!(
        store.get_issuer(issuer.id).await.unwrap().as_ref(),
        Some(&issuer)
    );

    let missing = fixtures::issuer();
    let error = store
        .update_issuer(&missing, missing.version)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict),
        "update of a missing issuer: {error}"
    );
    assert_eq!(store.get_issuer(missing.id).await.unwrap(), None);
}

pub async fn client_put_get_list(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let other_issuer = fixtures::issuer().id;
    let first = fixtures::client(issuer);
    let second = ApiClient {
        created_at: at(60),
        ..fixtures::client(issuer)
    };
    let foreign = fixtures::client(other_issuer);
    for client in [&second, &first, &foreign] {
        store.put_client(client).await.unwrap();
    }
    assert_eq!(
        store.get_client(&first.client_id).await.unwrap().as_ref(),
        Some(&first)
    );

    let disabled = ApiClient {
        disabled: true,
        secret_hash: format!("sha256${}", "cd".repeat(32)),
        ..first.clone()
    };
    store.put_client(&disabled).await.unwrap();
    assert_eq!(
        store.get_client(&first.client_id).await.unwrap().as_ref(),
        Some(&disabled)
    );

    let listed = store.list_clients(issuer).await.unwrap();
    assert_eq!(
        listed,
        [disabled, second],
        "clients of the issuer, oldest first"
    );
    assert_eq!(store.get_client(&random_client()).await.unwrap(), None);
}

pub async fn achievement_create_get_list(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let mut achievements: Vec<Achievement> = (0..5)
        .map(|index| Achievement {
            created_at: at(index / 2),
            ..fixtures::achievement(issuer)
        })
        .collect();
    for achievement in &achievements {
        store.create_achievement(achievement).await.unwrap();
    }
    store
        .create_achievement(&fixtures::achievement(fixtures::issuer().id))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_achievement(achievements[0].id)
            .await
            .unwrap()
            .as_ref(),
        Some(&achievements[0])
    );
    let again = store
        .create_achievement(&achievements[0])
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists),
        "second create: {again}"
    );

    let first = store
        .list_achievements(
            issuer,
            &PageRequest {
                limit: 2,
                cursor: None,
            },
        )
        .await
        .unwrap();
    let cursor = first.next_cursor.clone().expect("a second page follows");
    let second = store
        .list_achievements(
            issuer,
            &PageRequest {
                limit: 2,
                cursor: Some(cursor),
            },
        )
        .await
        .unwrap();
    let cursor = second.next_cursor.clone().expect("a third page follows");
    let third = store
        .list_achievements(
            issuer,
            &PageRequest {
                limit: 2,
                cursor: Some(cursor),
            },
        )
        .await
        .unwrap();
    assert_eq!(third.next_cursor, None);

    achievements.sort_by_key(|achievement| (achievement.created_at, achievement.id));
    let listed: Vec<Achievement> = [first.items, second.items, third.items].concat();
    assert_eq!(
        listed, achievements,
        "achievements by (created_at, id), each once"
    );

    let bad = store
        .list_achievements(
            issuer,
            &PageRequest {
                limit: 2,
                cursor: Some("bogus".to_owned()),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(bad, StoreError::InvalidCursor),
        "made-up cursor: {bad}"
    );
}

pub async fn award_create_get_update(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let award = fixtures::award(
        issuer,
        fixtures::achievement(issuer).id,
        "amara@example.org",
    );
    store.create_award(&award).await.unwrap();
    assert_eq!(
        store.get_award(award.id).await.unwrap().as_ref(),
        Some(&award)
    );

    let same_id = Award {
        dedup_key: None,
        ..award.clone()
    };
    let again = store.create_award(&same_id).await.unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists),
        "second create: {again}"
    );

    let claimed = Award {
        state: AwardState::Claimed,
        narrative: Some(text("Played second violin.")),
        ..award.next_version()
    };
    store.update_award(&claimed, award.version).await.unwrap();
    let stored = store
        .get_award(award.id)
        .await
        .unwrap()
        .expect("award is gone");
    assert_eq!(stored, claimed);
    assert_eq!(stored.version, award.version + 1);

    let missing = store
        .get_award(AwardId::from_uuid(uuid::Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(missing, None);
}

pub async fn award_stale_update_conflicts(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let award = fixtures::award(issuer, fixtures::achievement(issuer).id, "noah@example.org");
    store.create_award(&award).await.unwrap();

    let claimed = Award {
        state: AwardState::Claimed,
        ..award.next_version()
    };
    store.update_award(&claimed, award.version).await.unwrap();

    // A revoke that read the award before the claim must not overwrite it.
    let stale = store
        .update_award(&revoked(&award), award.version)
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::Conflict),
        "stale update: {stale}"
    );
    assert_eq!(
        store.get_award(award.id).await.unwrap().as_ref(),
        Some(&claimed)
    );

    let missing = fixtures::award(issuer, award.achievement_id, "ghost@example.org");
    let error = store
        .update_award(&missing.next_version(), missing.version)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict),
        "update of a missing award: {error}"
    );
    assert_eq!(store.get_award(missing.id).await.unwrap(), None);
}

pub async fn award_concurrent_updates_one_wins(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let award = fixtures::award(issuer, fixtures::achievement(issuer).id, "li@example.org");
    store.create_award(&award).await.unwrap();

    let mut tasks = JoinSet::new();
    for index in 0..8 {
        let store = Arc::clone(&store);
        let update = Award {
            narrative: Some(text(&format!("writer {index}"))),
            ..award.next_version()
        };
        let expected = award.version;
        tasks.spawn(async move { (update.clone(), store.update_award(&update, expected).await) });
    }
    let outcomes = tasks.join_all().await;

    let winners: Vec<&Award> = outcomes
        .iter()
        .filter(|(_, result)| result.is_ok())
        .map(|(update, _)| update)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one of 8 racing updates may win");
    for (_, result) in &outcomes {
        if let Err(error) = result {
            assert!(
                matches!(error, StoreError::Conflict),
                "a losing update: {error}"
            );
        }
    }
    let stored = store
        .get_award(award.id)
        .await
        .unwrap()
        .expect("award is gone");
    assert_eq!(&stored, winners[0]);
    assert_eq!(stored.version, award.version + 1);
}

pub async fn duplicate_award_names_existing(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let achievement = fixtures::achievement(issuer).id;
    let first = fixtures::award(issuer, achievement, "zoe.fairbrother@example.org");
    store.create_award(&first).await.unwrap();

    // The same person written with other capitals and spaces has the same key.
    let second = fixtures::award(issuer, achievement, "  Zoe.Fairbrother@Example.ORG ");
    assert_eq!(second.dedup_key, first.dedup_key);
    let error = store.create_award(&second).await.unwrap_err();
    match error {
        StoreError::DuplicateAward { existing } => assert_eq!(existing, first.id),
        other => panic!("expected DuplicateAward, got {other}"),
    }
    assert_eq!(
        store.get_award(second.id).await.unwrap(),
        None,
        "the duplicate was stored"
    );

    // Another achievement for the same person is no duplicate.
    let other_achievement = fixtures::award(
        issuer,
        fixtures::achievement(issuer).id,
        "zoe.fairbrother@example.org",
    );
    store.create_award(&other_achievement).await.unwrap();
}

pub async fn siblings_on_one_address_both_awarded(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let achievement = fixtures::achievement(issuer).id;
    let guardian = Some("guardian.wei@example.com");
    let li = fixtures::award_to(
        issuer,
        achievement,
        fixtures::recipient(None, "Li Wei", guardian),
    );
    let jun = fixtures::award_to(
        issuer,
        achievement,
        fixtures::recipient(None, "Jun Wei", guardian),
    );
    assert_ne!(li.dedup_key, jun.dedup_key);
    store.create_award(&li).await.unwrap();
    store.create_award(&jun).await.unwrap();

    let li_again = fixtures::award_to(
        issuer,
        achievement,
        fixtures::recipient(None, "Li Wei", guardian),
    );
    let error = store.create_award(&li_again).await.unwrap_err();
    assert!(
        matches!(error, StoreError::DuplicateAward { existing } if existing == li.id),
        "second award to Li: {error}"
    );
}

pub async fn reaward_without_key_is_created(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let achievement = fixtures::achievement(issuer).id;
    let first = fixtures::award(issuer, achievement, "grace@example.org");
    store.create_award(&first).await.unwrap();

    let mut reawards = Vec::new();
    for _ in 0..2 {
        let reaward = Award {
            dedup_key: None,
            ..fixtures::award(issuer, achievement, "grace@example.org")
        };
        store.create_award(&reaward).await.unwrap();
        reawards.push(reaward);
    }
    for reaward in &reawards {
        assert_eq!(
            store.get_award(reaward.id).await.unwrap().as_ref(),
            Some(reaward)
        );
    }

    // The deliberate re-awards do not take the key, so it still names the first award.
    let duplicate = fixtures::award(issuer, achievement, "grace@example.org");
    let error = store.create_award(&duplicate).await.unwrap_err();
    assert!(
        matches!(error, StoreError::DuplicateAward { existing } if existing == first.id),
        "duplicate after re-awards: {error}"
    );
}

pub async fn claim_token_lookup_follows_replacement(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let token = |hash: &str| ClaimTokenRecord {
        hash: hash.to_owned(),
        issued_at: at(0),
        expires_at: at(30 * 86_400),
    };
    let first_hash = random_name("hash");
    let second_hash = random_name("hash");
    let award = Award {
        claim_token: Some(token(&first_hash)),
        ..fixtures::award(
            issuer,
            fixtures::achievement(issuer).id,
            "amara@example.org",
        )
    };
    store.create_award(&award).await.unwrap();
    let found = store.find_award_by_claim_token(&first_hash).await.unwrap();
    assert_eq!(found.map(|found| found.id), Some(award.id));

    let resent = Award {
        claim_token: Some(token(&second_hash)),
        sends_requested: 2,
        ..award.next_version()
    };
    store.update_award(&resent, award.version).await.unwrap();
    assert_eq!(
        store.find_award_by_claim_token(&first_hash).await.unwrap(),
        None,
        "the replaced token still finds the award"
    );
    let found = store.find_award_by_claim_token(&second_hash).await.unwrap();
    assert_eq!(found.as_ref(), Some(&resent));

    let cleared = Award {
        claim_token: None,
        ..resent.next_version()
    };
    store.update_award(&cleared, resent.version).await.unwrap();
    assert_eq!(
        store.find_award_by_claim_token(&second_hash).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .find_award_by_claim_token(&random_name("hash"))
            .await
            .unwrap(),
        None
    );
}

pub async fn award_pages_are_complete_and_stable(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let achievement = fixtures::achievement(issuer).id;
    // Groups of three share an issue time, so the id must break ties.
    let awards: Vec<Award> = (0..25)
        .map(|index| Award {
            issued_on: at(i64::from(24 - index) / 3),
            ..fixtures::award(issuer, achievement, &format!("pupil{index}@example.org"))
        })
        .collect();
    create_awards(store.as_ref(), &awards).await;

    let pages = all_award_pages(store.as_ref(), issuer, &AwardFilter::default(), 10).await;
    let sizes: Vec<usize> = pages.iter().map(|page| page.items.len()).collect();
    assert_eq!(sizes, [10, 10, 5]);

    let listed: Vec<Award> = pages.iter().flat_map(|page| page.items.clone()).collect();
    let expected = in_listing_order(awards);
    assert_eq!(
        ids(&listed),
        ids(&expected),
        "pages have a gap, a repeat or another order"
    );

    // The same cursor returns the same page again.
    let cursor = pages[0].next_cursor.clone();
    let again = store
        .list_awards(
            issuer,
            &AwardFilter::default(),
            &PageRequest { limit: 10, cursor },
        )
        .await
        .unwrap();
    assert_eq!(ids(&again.items), ids(&pages[1].items));
}

pub async fn invalid_cursor_is_rejected(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let achievement = fixtures::achievement(issuer).id;
    create_awards(
        store.as_ref(),
        &[fixtures::award(issuer, achievement, "a@example.org")],
    )
    .await;
    for cursor in ["not-a-cursor", "", "eyJmb28iOiJiYXIifQ", "%%%"] {
        let request = PageRequest {
            limit: 10,
            cursor: Some(cursor.to_owned()),
        };
        let error = store
            .list_awards(issuer, &AwardFilter::default(), &request)
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::InvalidCursor),
            "cursor {cursor:?}: {error}"
        );
    }
}

pub async fn foreign_cursor_never_leaks_records(store: Arc<dyn Store>) {
    let (mine, theirs) = (fixtures::issuer().id, fixtures::issuer().id);
    let my_achievement = fixtures::achievement(mine);
    let their_achievement = fixtures::achievement(theirs);
    store.create_achievement(&my_achievement).await.unwrap();
    let awards_of = |issuer, achievement, prefix: &str| -> Vec<Award> {
        (0..3)
            .map(|index| {
                fixtures::award(issuer, achievement, &format!("{prefix}{index}@example.org"))
            })
            .collect()
    };
    let my_awards = awards_of(mine, my_achievement.id, "mine");
    let their_awards = awards_of(theirs, their_achievement.id, "theirs");
    create_awards(store.as_ref(), &my_awards).await;
    create_awards(store.as_ref(), &their_awards).await;

    let their_page = store
        .list_awards(
            theirs,
            &AwardFilter::default(),
            &PageRequest {
                limit: 1,
                cursor: None,
            },
        )
        .await
        .unwrap();
    let my_achievement_page = store
        .list_achievements(
            mine,
            &PageRequest {
                limit: 1,
                cursor: None,
            },
        )
        .await
        .unwrap();
    // An award cursor of another issuer, and a cursor of another kind of listing.
    let foreign = [
        their_page.next_cursor,
        my_achievement_page.next_cursor.or(Some(String::new())),
    ];
    for cursor in foreign.into_iter().flatten() {
        let request = PageRequest {
            limit: 10,
            cursor: Some(cursor.clone()),
        };
        match store
            .list_awards(mine, &AwardFilter::default(), &request)
            .await
        {
            Err(StoreError::InvalidCursor) => {}
            Ok(page) => {
                for award in &page.items {
                    assert_eq!(
                        award.issuer_id, mine,
                        "cursor {cursor:?} listed another issuer's award"
                    );
                }
            }
            Err(other) => {
                panic!("cursor {cursor:?}: expected InvalidCursor or a page, got {other}")
            }
        }
    }
}

pub async fn award_filters_select_matching(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let (strings, brass) = (
        fixtures::achievement(issuer).id,
        fixtures::achievement(issuer).id,
    );
    let mut awards = Vec::new();
    let plan = [
        (strings, AwardState::Issued, 3),
        (strings, AwardState::Claimed, 1),
        (brass, AwardState::Issued, 2),
        (brass, AwardState::Revoked, 1),
    ];
    for (achievement, state, count) in plan {
        for _ in 0..count {
            let award = fixtures::award(
                issuer,
                achievement,
                &format!("{}@example.org", random_name("pupil")),
            );
            store.create_award(&award).await.unwrap();
            let award = if state == AwardState::Issued {
                award
            } else {
                let changed = if state == AwardState::Revoked {
                    revoked(&award)
                } else {
                    Award {
                        state,
                        ..award.next_version()
                    }
                };
                store.update_award(&changed, award.version).await.unwrap();
                changed
            };
            awards.push(award);
        }
    }

    let cases = [
        (None, None),
        (Some(strings), None),
        (Some(brass), None),
        (None, Some(AwardState::Issued)),
        (None, Some(AwardState::Claimed)),
        (None, Some(AwardState::Revoked)),
        (Some(brass), Some(AwardState::Revoked)),
        (Some(strings), Some(AwardState::Revoked)),
    ];
    for (achievement_id, state) in cases {
        let filter = AwardFilter {
            achievement_id,
            state,
        };
        let expected = in_listing_order(
            awards
                .iter()
                .filter(|award| achievement_id.is_none_or(|id| award.achievement_id == id))
                .filter(|award| state.is_none_or(|state| award.state == state))
                .cloned()
                .collect(),
        );
        let pages = all_award_pages(store.as_ref(), issuer, &filter, 2).await;
        let listed: Vec<Award> = pages.into_iter().flat_map(|page| page.items).collect();
        assert_eq!(listed, expected, "filter {filter:?}");
    }
}

pub async fn other_issuer_awards_never_listed(store: Arc<dyn Store>) {
    let (mine, theirs) = (fixtures::issuer().id, fixtures::issuer().id);
    let achievement = fixtures::achievement(mine).id;
    let my_award = fixtures::award(mine, achievement, "mine@example.org");
    // Another issuer's award that even names this issuer's achievement.
    let their_award = fixtures::award(theirs, achievement, "theirs@example.org");
    create_awards(store.as_ref(), &[my_award.clone(), their_award.clone()]).await;
    let their_revoked = revoked(&their_award);
    store
        .update_award(&their_revoked, their_award.version)
        .await
        .unwrap();

    let filters = [
        AwardFilter::default(),
        AwardFilter {
            achievement_id: Some(achievement),
            state: None,
        },
        AwardFilter {
            achievement_id: None,
            state: Some(AwardState::Issued),
        },
    ];
    for filter in filters {
        let listed = list_all_awards(store.as_ref(), mine, &filter).await;
        assert_eq!(listed, std::slice::from_ref(&my_award), "filter {filter:?}");
    }
    let revoked_list = store.list_revoked_awards(mine).await.unwrap();
    assert!(
        revoked_list.is_empty(),
        "another issuer's revoked award was listed"
    );
    assert_eq!(
        store.list_revoked_awards(theirs).await.unwrap(),
        [their_revoked]
    );
}

pub async fn revoked_awards_are_listed(store: Arc<dyn Store>) {
    let issuer = fixtures::issuer().id;
    let achievement = fixtures::achievement(issuer).id;
    let awards: Vec<Award> = (0..4)
        .map(|index| Award {
            issued_on: at(index),
            ..fixtures::award(issuer, achievement, &format!("pupil{index}@example.org"))
        })
        .collect();
    create_awards(store.as_ref(), &awards).await;
    assert!(store.list_revoked_awards(issuer).await.unwrap().is_empty());

    let claimed = Award {
        state: AwardState::Claimed,
        ..awards[3].next_version()
    };
    store
        .update_award(&claimed, awards[3].version)
        .await
        .unwrap();
    let revoked_issued = revoked(&awards[1]);
    let revoked_claimed = revoked(&claimed);
    store
        .update_award(&revoked_issued, awards[1].version)
        .await
        .unwrap();
    store
        .update_award(&revoked_claimed, claimed.version)
        .await
        .unwrap();

    let listed = store.list_revoked_awards(issuer).await.unwrap();
    assert_eq!(
        ids(&listed),
        ids(&in_listing_order(vec![revoked_issued, revoked_claimed]))
    );
    for award in &listed {
        assert_eq!(award.state, AwardState::Revoked);
        assert!(
            award.revocation.is_some(),
            "award {} lost its revocation",
            award.id
        );
    }
}

pub async fn idempotency_begin_complete_replay(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    assert_eq!(
        begin_at(store.as_ref(), &key, "hash-1", 0).await,
        IdempotencyBegin::Started
    );

    let in_flight = begin_at(store.as_ref(), &key, "hash-1", 5).await;
    assert_eq!(
        in_flight,
        IdempotencyBegin::Existing {
            request_hash: "hash-1".to_owned(),
            response: None
        },
        "a retry while the first request runs"
    );

    store
        .complete_request(&key, &created_response())
        .await
        .unwrap();
    let replay = begin_at(store.as_ref(), &key, "hash-1", 10).await;
    assert_eq!(
        replay,
        IdempotencyBegin::Existing {
            request_hash: "hash-1".to_owned(),
            response: Some(created_response()),
        }
    );
    // A completed record outlives its in-flight window.
    let later = begin_at(store.as_ref(), &key, "hash-1", 3_600).await;
    assert_eq!(later, replay);
}

pub async fn idempotency_mismatch_keeps_stored_hash(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    begin_at(store.as_ref(), &key, "hash-1", 0).await;

    let while_in_flight = begin_at(store.as_ref(), &key, "hash-2", 1).await;
    assert_eq!(
        while_in_flight,
        IdempotencyBegin::Existing {
            request_hash: "hash-1".to_owned(),
            response: None
        }
    );

    store
        .complete_request(&key, &created_response())
        .await
        .unwrap();
    let after = begin_at(store.as_ref(), &key, "hash-2", 2).await;
    assert_eq!(
        after,
        IdempotencyBegin::Existing {
            request_hash: "hash-1".to_owned(),
            response: Some(created_response()),
        },
        "a request with another body must not replace the stored one"
    );
}

pub async fn idempotency_racing_begins_one_starts(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let (store, key) = (Arc::clone(&store), key.clone());
        tasks.spawn(async move {
            store
                .begin_request(&key, "hash-1", at(0), at(60), at(86_400))
                .await
        });
    }
    let outcomes: Vec<IdempotencyBegin> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("begin_request failed"))
        .collect();
    let started = outcomes
        .iter()
        .filter(|outcome| **outcome == IdempotencyBegin::Started)
        .count();
    assert_eq!(started, 1, "racing begins: {outcomes:?}");
    for outcome in &outcomes {
        if *outcome != IdempotencyBegin::Started {
            assert_eq!(
                outcome,
                &IdempotencyBegin::Existing {
                    request_hash: "hash-1".to_owned(),
                    response: None
                }
            );
        }
    }
}

pub async fn idempotency_in_flight_taken_over_after_expiry(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    begin_at(store.as_ref(), &key, "hash-1", 0).await;

    let before = begin_at(store.as_ref(), &key, "hash-2", 30).await;
    assert!(
        matches!(before, IdempotencyBegin::Existing { .. }),
        "{before:?}"
    );

    // The first request died: its in-flight window ended at 60.
    let takeover = begin_at(store.as_ref(), &key, "hash-2", 120).await;
    assert_eq!(takeover, IdempotencyBegin::Started);
    let after = begin_at(store.as_ref(), &key, "hash-3", 130).await;
    assert_eq!(
        after,
        IdempotencyBegin::Existing {
            request_hash: "hash-2".to_owned(),
            response: None
        },
        "the record now belongs to the request that took it over"
    );
}

pub async fn idempotency_completed_record_expires(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    begin_at(store.as_ref(), &key, "hash-1", 0).await;
    store
        .complete_request(&key, &created_response())
        .await
        .unwrap();

    // Expired at 86,400 seconds; a day and an hour later the key is free.
    let next_day = begin_at(store.as_ref(), &key, "hash-2", 90_000).await;
    assert_eq!(next_day, IdempotencyBegin::Started);
    let after = begin_at(store.as_ref(), &key, "hash-3", 90_010).await;
    assert_eq!(
        after,
        IdempotencyBegin::Existing {
            request_hash: "hash-2".to_owned(),
            response: None
        }
    );
}

pub async fn idempotency_abandon_releases_key(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    begin_at(store.as_ref(), &key, "hash-1", 0).await;
    store.abandon_request(&key).await.unwrap();

    let retry = begin_at(store.as_ref(), &key, "hash-2", 1).await;
    assert_eq!(
        retry,
        IdempotencyBegin::Started,
        "an abandoned key is free at once"
    );
    store
        .complete_request(&key, &created_response())
        .await
        .unwrap();
    let replay = begin_at(store.as_ref(), &key, "hash-2", 2).await;
    assert_eq!(
        replay,
        IdempotencyBegin::Existing {
            request_hash: "hash-2".to_owned(),
            response: Some(created_response()),
        }
    );

    // Abandoning a key nobody holds is harmless.
    store
        .abandon_request(&idempotency_key(&random_client()))
        .await
        .unwrap();
}

pub async fn idempotency_keys_are_per_client(store: Arc<dyn Store>) {
    let key = idempotency_key(&random_client());
    let same_key_other_client = IdempotencyKey {
        client_id: random_client(),
        key: key.key.clone(),
    };
    assert_eq!(
        begin_at(store.as_ref(), &key, "hash-1", 0).await,
        IdempotencyBegin::Started
    );
    assert_eq!(
        begin_at(store.as_ref(), &same_key_other_client, "hash-1", 0).await,
        IdempotencyBegin::Started,
        "one client's key blocked another client"
    );
}
