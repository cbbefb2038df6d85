//! The stream handler of send-claims, fed the DynamoDB stream events in `tests/events/` as
//! Lambda delivers them, over the SQLite store and a mailer that fails for one award.
//!
//! `stream-batch.json` contains six records in stream order. Award A is created (sequence
//! number 100), then award B (200), and B changes again (300). Award C, whose achievement does
//! not exist, is created (400), A changes again (500), and a deduplication record is written
//! (600).

use std::sync::{Arc, Mutex};

use accolade::adapters::contract::fixtures;
use accolade::adapters::mail::MemoryMailer;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{FixedClock, SequenceRandom};
use accolade::crypto::Pepper;
use accolade::domain::{AchievementId, Award, AwardId, DeliveryStatus, Timestamp};
use accolade::ports::{MailError, Mailer, OutgoingEmail, Store};
use accolade::urls::PublicUrls;
use accolade_aws::stream::award_change_from_lambda_record;
use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event;
use send_claims::SendClaims;
use send_claims::lambda::handle_stream_event;

const AWARD_A: &str = "3d0f6b1e-5a7c-4e2b-8c9d-1f2a3b4c5d6e";
const AWARD_B: &str = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d";
const AWARD_C: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";

/// A mailer that fails with a retryable error for the awards in `failing`, and hands every
/// other email to a [`MemoryMailer`].
struct FlakyMailer {
    inner: MemoryMailer,
    failing: Mutex<Vec<AwardId>>,
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if self.failing.lock().unwrap().contains(&email.award_id) {
            return Err(MailError::Transient("connection reset".to_owned()));
        }
        self.inner.send(email).await
    }
}

struct Harness {
    deps: SendClaims,
    store: Arc<SqliteStore>,
    mailer: Arc<FlakyMailer>,
}

fn fixture(name: &str) -> Event {
    let path = format!("{}/tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let json =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
    serde_json::from_str(&json)
        .unwrap_or_else(|error| panic!("{name} is not a DynamoDB stream event: {error}"))
}

/// Stores the issuer and achievement of the fixture's awards, and each award as its first
/// record in the fixture shows it.
async fn harness(event: &Event) -> Harness {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let mut seeded = Vec::new();
    for record in &event.records {
        let Some(change) = award_change_from_lambda_record(record).unwrap() else {
            continue;
        };
        let award: Award = change.new;
        if seeded.contains(&award.id) {
            continue;
        }
        if store.get_issuer(award.issuer_id).await.unwrap().is_none() {
            let mut issuer = fixtures::issuer();
            issuer.id = award.issuer_id;
            store.create_issuer(&issuer).await.unwrap();
        }
        // Award C names an achievement that is never stored.
        if award.id != AWARD_C.parse().unwrap()
            && store
                .get_achievement(award.achievement_id)
                .await
                .unwrap()
                .is_none()
        {
            let mut achievement = fixtures::achievement(award.issuer_id);
            achievement.id = award.achievement_id;
            store.create_achievement(&achievement).await.unwrap();
        }
        store.create_award(&award).await.unwrap();
        seeded.push(award.id);
    }

    let mailer = Arc::new(FlakyMailer {
        inner: MemoryMailer::new(),
        failing: Mutex::new(vec![AWARD_B.parse().unwrap()]),
    });
    let deps = SendClaims {
        store: store.clone(),
        mailer: mailer.clone(),
        clock: Arc::new(FixedClock::new(Timestamp::from_unix_seconds(1_731_060_000))),
        random: Arc::new(SequenceRandom::new()),
        pepper: Pepper::new(vec![7; 32]).unwrap(),
        urls: PublicUrls::parse("https://badges.example.org").unwrap(),
        from: "Riverside badges <badges@example.org>".to_owned(),
        claim_window_days: SendClaims::DEFAULT_CLAIM_WINDOW_DAYS,
    };
    Harness {
        deps,
        store,
        mailer,
    }
}

fn reported(response: &aws_lambda_events::streams::DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone().unwrap_or_default())
        .collect()
}

async fn delivery(h: &Harness, id: &str) -> DeliveryStatus {
    let award = h.store.get_award(id.parse().unwrap()).await.unwrap();
    award.expect("the award is stored").delivery
}

#[tokio::test]
async fn failed_award_and_later_records_reported() {
    let event = fixture("stream-batch.json");
    let h = harness(&event).await;

    let response = handle_stream_event(&h.deps, &event).await.unwrap();

    assert_eq!(reported(&response), ["200", "300"]);
    assert_eq!(delivery(&h, AWARD_A).await, DeliveryStatus::Sent);
    assert_eq!(delivery(&h, AWARD_B).await, DeliveryStatus::Sending);
    assert_eq!(delivery(&h, AWARD_C).await, DeliveryStatus::Pending);
    let sent: Vec<AwardId> = h
        .mailer
        .inner
        .sent()
        .iter()
        .map(|email| email.award_id)
        .collect();
    assert_eq!(sent, [AWARD_A.parse::<AwardId>().unwrap()]);
}

#[tokio::test]
async fn retry_from_failed_record_sends_once() {
    let event = fixture("stream-batch.json");
    let h = harness(&event).await;
    handle_stream_event(&h.deps, &event).await.unwrap();
    h.mailer.failing.lock().unwrap().clear();

    // Lambda delivers the shard again from the lowest reported record.
    let mut retry = event.clone();
    retry
        .records
        .retain(|record| record.change.sequence_number.as_deref() >= Some("200"));
    let response = handle_stream_event(&h.deps, &retry).await.unwrap();

    assert!(reported(&response).is_empty(), "{:?}", reported(&response));
    assert_eq!(delivery(&h, AWARD_B).await, DeliveryStatus::Sent);
    let sent: Vec<AwardId> = h
        .mailer
        .inner
        .sent()
        .iter()
        .map(|email| email.award_id)
        .collect();
    assert_eq!(
        sent,
        [
            AWARD_A.parse::<AwardId>().unwrap(),
            AWARD_B.parse::<AwardId>().unwrap()
        ]
    );
}

#[tokio::test]
async fn permanent_failure_is_not_reported() {
    let event = fixture("stream-batch.json");
    let h = harness(&event).await;
    h.mailer.failing.lock().unwrap().clear();

    let response = handle_stream_event(&h.deps, &event).await.unwrap();

    assert!(reported(&response).is_empty(), "{:?}", reported(&response));
    let award_c = h
        .store
        .get_award(AWARD_C.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let missing: AchievementId = award_c.achievement_id;
    assert!(h.store.get_achievement(missing).await.unwrap().is_none());
    assert_eq!(award_c.delivery, DeliveryStatus::Pending);
}
