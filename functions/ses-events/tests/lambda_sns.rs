//! The SNS handler of ses-events, fed the SES events in `tests/events/` as SNS delivers them,
//! over the SQLite store.

use std::sync::Arc;

use accolade::adapters::contract::fixtures;
use accolade::adapters::sqlite::SqliteStore;
use accolade::domain::{AwardId, DeliveryStatus};
use accolade::ports::Store;
use aws_lambda_events::sns::SnsEvent;
use ses_events::lambda::{InvocationError, handle_sns_event};
use ses_events::{EventKind, IgnoreReason, SesEvents, parse_notification};

/// The award and message named by every fixture but `send-without-tag.json`.
const AWARD_ID: &str = "6f1c2a7e-3b9d-4c58-a0e4-91d7f2b6c3a8";
const MESSAGE_ID: &str = "010b01930a5e4c1d-7f3e2a91-5c4b-4d8e-9a1f-2b3c4d5e6f70-000000";

struct Harness {
    deps: SesEvents,
    store: Arc<SqliteStore>,
    award_id: AwardId,
}

fn fixture(name: &str) -> SnsEvent {
    let path = format!("{}/tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let json =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
    serde_json::from_str(&json)
        .unwrap_or_else(|error| panic!("{name} is not an SNS event: {error}"))
}

/// Stores an award whose latest claim email has `message_id` and the status `delivery`.
async fn harness(delivery: DeliveryStatus, message_id: Option<&str>) -> Harness {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let issuer = fixtures::issuer();
    store.create_issuer(&issuer).await.unwrap();
    let achievement = fixtures::achievement(issuer.id);
    store.create_achievement(&achievement).await.unwrap();
    let mut award = fixtures::award(issuer.id, achievement.id, "amara@example.org");
    award.id = AWARD_ID.parse().unwrap();
    award.delivery = delivery;
    award.message_id = message_id.map(str::to_owned);
    award.sends_done = award.sends_requested;
    store.create_award(&award).await.unwrap();
    Harness {
        deps: SesEvents {
            store: store.clone(),
        },
        store,
        award_id: award.id,
    }
}

impl Harness {
    async fn send(&self, name: &str) -> Result<(), InvocationError> {
        handle_sns_event(&self.deps, &fixture(name)).await
    }

    async fn delivery(&self) -> (DeliveryStatus, u64) {
        let award = self.store.get_award(self.award_id).await.unwrap().unwrap();
        (award.delivery, award.version)
    }
}

#[test]
fn fixtures_parse_as_ses_events() {
    let cases = [
        ("delivery.json", EventKind::Delivery),
        ("bounce-permanent.json", EventKind::PermanentBounce),
        ("bounce-transient.json", EventKind::TemporaryBounce),
        ("complaint.json", EventKind::Complaint),
        ("send-without-tag.json", EventKind::Other("Send".to_owned())),
    ];
    for (name, kind) in cases {
        let event = fixture(name);
        let parsed = parse_notification(&event.records[0].sns.message)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(parsed.kind, kind, "{name}");
        assert_eq!(parsed.message_id, MESSAGE_ID, "{name}");
    }
}

#[tokio::test]
async fn delivery_sets_delivered_once() {
    let h = harness(DeliveryStatus::Sent, Some(MESSAGE_ID)).await;

    h.send("delivery.json").await.unwrap();
    let (status, version) = h.delivery().await;
    h.send("delivery.json").await.unwrap();

    assert_eq!(status, DeliveryStatus::Delivered);
    assert_eq!(h.delivery().await, (DeliveryStatus::Delivered, version));
}

#[tokio::test]
async fn permanent_bounce_sets_bounced() {
    let h = harness(DeliveryStatus::Sent, Some(MESSAGE_ID)).await;

    h.send("bounce-permanent.json").await.unwrap();

    assert_eq!(h.delivery().await.0, DeliveryStatus::Bounced);
}

#[tokio::test]
async fn transient_bounce_changes_nothing() {
    let h = harness(DeliveryStatus::Sent, Some(MESSAGE_ID)).await;
    let before = h.delivery().await;

    h.send("bounce-transient.json").await.unwrap();

    assert_eq!(h.delivery().await, before);
}

#[tokio::test]
async fn complaint_after_delivery_stays() {
    let h = harness(DeliveryStatus::Sent, Some(MESSAGE_ID)).await;

    h.send("delivery.json").await.unwrap();
    h.send("complaint.json").await.unwrap();
    let (status, version) = h.delivery().await;
    h.send("delivery.json").await.unwrap();

    assert_eq!(status, DeliveryStatus::Complained);
    assert_eq!(h.delivery().await, (DeliveryStatus::Complained, version));
}

#[tokio::test]
async fn event_before_send_outcome_applies() {
    let h = harness(DeliveryStatus::Sending, None).await;

    h.send("bounce-permanent.json").await.unwrap();

    let award = h.store.get_award(h.award_id).await.unwrap().unwrap();
    assert_eq!(award.delivery, DeliveryStatus::Bounced);
    assert_eq!(award.message_id.as_deref(), Some(MESSAGE_ID));
}

#[tokio::test]
async fn event_of_earlier_email_ignored() {
    let h = harness(DeliveryStatus::Sent, Some("a-later-resend")).await;
    let before = h.delivery().await;

    h.send("bounce-permanent.json").await.unwrap();

    assert_eq!(h.delivery().await, before);
}

#[tokio::test]
async fn pending_resend_ignores_late_event() {
    let h = harness(DeliveryStatus::Pending, None).await;
    let before = h.delivery().await;

    let outcome = ses_events::handle_email_event(
        &h.deps,
        &parse_notification(&fixture("bounce-permanent.json").records[0].sns.message).unwrap(),
    )
    .await
    .unwrap();

    assert_eq!(
        outcome,
        ses_events::EventOutcome::Ignored(IgnoreReason::OtherEmail)
    );
    assert_eq!(h.delivery().await, before);
}

#[tokio::test]
async fn untagged_event_succeeds_unchanged() {
    let h = harness(DeliveryStatus::Sent, Some(MESSAGE_ID)).await;
    let before = h.delivery().await;

    h.send("send-without-tag.json").await.unwrap();

    assert_eq!(h.delivery().await, before);
}

#[tokio::test]
async fn non_ses_message_fails_invocation() {
    let h = harness(DeliveryStatus::Sent, Some(MESSAGE_ID)).await;

    let error = h.send("not-ses.json").await.unwrap_err();

    assert!(
        matches!(error, InvocationError::Notification { .. }),
        "{error}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "SesEvents.InvalidNotification");
}
