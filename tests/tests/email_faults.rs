//! Email delivery faults: throttled and failing sends, hard bounces, and the per-award resend
//! limit.
//!
//! - The local stack runs with a mailer that fails the first sends of each email with the
//!   errors the SES adapter maps throttling and service faults to, then passes the email on
//!   to the outbox. Each award must still get exactly one email, after retries with growing
//!   delays.
//! - A permanent bounce, handed to ses-events as SNS delivers it, marks the award `bounced`.
//!   A resend to the same address is then rejected and sends nothing, on the local stack and
//!   on moto. Locally, a resend to a corrected address is sent.
//! - Resends of one award are rate-limited with 429, `Retry-After` and a message naming the
//!   limit, without holding up other awards.
//!
//! The moto test needs a moto server named by `ACCOLADE_MOTO_ENDPOINT` (see `mod moto`).

mod moto;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accolade::adapters::mail::read_eml;
use accolade::adapters::sqlite::SqliteStore;
use accolade::domain::AwardId;
use accolade::ports::{MailError, Mailer, OutgoingEmail, Store};
use accolade_local::serve::{STORE_FILE, StackOverrides};
use accolade_tests::{TestStack, access_token, http, participate_achievement};
use async_trait::async_trait;
use aws_lambda_events::sns::SnsEvent;
use serde_json::{Value, json};
use ses_events::SesEvents;

use crate::moto::{AwsStack, unique};

/// Failed sends of each email before the mailer passes it on.
const FAILURES_PER_EMAIL: usize = 3;
/// Awards issued in the throttling test.
const THROTTLED_AWARDS: usize = 3;
/// How long the outbox must stay unchanged after the expected emails arrived.
const QUIET_PERIOD: Duration = Duration::from_secs(3);

/// The time of every send attempt, by award.
type AttemptLog = Arc<Mutex<HashMap<AwardId, Vec<Instant>>>>;

/// A mailer that fails the first `failures` sends of each award's email, alternating the
/// errors that the SES adapter returns for throttling (429, `TooManyRequestsException`) and
/// for other service faults, and then passes the email on. It records every attempt.
struct FlakyMailer {
    inner: Arc<dyn Mailer>,
    failures: usize,
    attempts: AttemptLog,
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let times = attempts.entry(email.award_id).or_default();
            times.push(Instant::now());
            times.len()
        };
        if attempt <= self.failures {
            return Err(if attempt % 2 == 1 {
                MailError::Throttled
            } else {
                MailError::Transient("SES returned InternalFailure".to_owned())
            });
        }
        self.inner.send(email).await
    }
}

fn get_json(stack: &TestStack, token: &str, path: &str) -> (u16, Value) {
    let mut response = http()
        .get(&stack.url(path))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    (status, body)
}

/// A response of the partner API.
struct ApiResponse {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

fn post_json(stack: &TestStack, token: &str, path: &str, key: &str, body: &Value) -> ApiResponse {
    let mut response = http()
        .post(&stack.url(path))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", key)
        .send_json(body)
        .unwrap_or_else(|error| panic!("POST {path} failed: {error}"));
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    ApiResponse {
        status,
        retry_after,
        body,
    }
}

fn issue(stack: &TestStack, token: &str, achievement_id: &str, email: &str) -> String {
    let body = json!({
        "achievement_id": achievement_id,
        "recipient": { "email": email, "name": "Fault Tester" },
    });
    let response = post_json(stack, token, "/v1/awards", &format!("issue-{email}"), &body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.body["id"].as_str().expect("award id").to_owned()
}

fn resend(stack: &TestStack, token: &str, id: &str, key: &str, body: Value) -> ApiResponse {
    post_json(stack, token, &format!("/v1/awards/{id}/resend"), key, &body)
}

/// Reads every outbox email as (award id, recipient address).
fn outbox_recipients(stack: &TestStack) -> Vec<(String, String)> {
    stack
        .outbox_emails()
        .iter()
        .map(|path| {
            let email = read_eml(&std::fs::read(path).expect("reading an email failed"))
                .unwrap_or_else(|error| panic!("{} is not an email: {error}", path.display()));
            (email.award_id.to_string(), email.to)
        })
        .collect()
}

/// Waits until award `id` has the delivery status `expected`: send-claims records it just
/// after the email is written.
fn wait_for_delivery_status(stack: &TestStack, token: &str, id: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, award) = get_json(stack, token, &format!("/v1/awards/{id}"));
        assert_eq!(status, 200, "{award}");
        if award["delivery_status"] == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "award {id} is still {} after 30 s, not {expected}",
            award["delivery_status"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `count` emails, then checks that no more arrive for a while.
fn wait_for_exactly(stack: &TestStack, count: usize) {
    stack.wait_for_emails(count, Duration::from_secs(60));
    std::thread::sleep(QUIET_PERIOD);
    assert_eq!(
        stack.outbox_emails().len(),
        count,
        "emails in the outbox after a quiet period"
    );
}

#[test]
fn throttled_sends_retried_once_each() {
    let attempts = AttemptLog::default();
    let log = attempts.clone();
    let stack = TestStack::start_with(StackOverrides {
        wrap_mailer: Some(Box::new(
            move |outbox: Arc<dyn Mailer>| -> Arc<dyn Mailer> {
                Arc::new(FlakyMailer {
                    inner: outbox,
                    failures: FAILURES_PER_EMAIL,
                    attempts: log,
                })
            },
        )),
        ..StackOverrides::default()
    });
    let token = access_token(&stack);
    let achievement_id = participate_achievement(&stack, &token);
    let mut expected = BTreeMap::new();
    for index in 0..THROTTLED_AWARDS {
        let email = format!("throttled-{index}@example.org");
        let id = issue(&stack, &token, &achievement_id, &email);
        expected.insert(id, email);
    }

    // Exactly one email per award.
    wait_for_exactly(&stack, THROTTLED_AWARDS);
    let received: BTreeMap<String, String> = outbox_recipients(&stack).into_iter().collect();
    assert_eq!(received, expected, "claim emails by award");
    for id in expected.keys() {
        wait_for_delivery_status(&stack, &token, id, "sent");
        let (_, award) = get_json(&stack, &token, &format!("/v1/awards/{id}"));
        assert_eq!(award["emails_requested"], 1, "award {id}");
    }
    assert!(
        !stack.data_dir.path().join("dead-letters.jsonl").exists(),
        "a change was set aside in the dead-letter file"
    );

    // Every email was tried again after each failure, each wait at least as long as the one
    // before it.
    let attempts = attempts.lock().unwrap();
    assert_eq!(attempts.len(), THROTTLED_AWARDS, "awards the mailer saw");
    for (award_id, times) in attempts.iter() {
        assert_eq!(
            times.len(),
            FAILURES_PER_EMAIL + 1,
            "send attempts of award {award_id}"
        );
        let gaps: Vec<Duration> = times
            .windows(2)
            .map(|pair| pair[1].duration_since(pair[0]))
            .collect();
        for pair in gaps.windows(2) {
            assert!(
                pair[1] >= pair[0],
                "the waits between send attempts of award {award_id} shrank: {gaps:?}"
            );
        }
    }
}

/// Builds the SNS event that carries SES's permanent bounce of the email `message_id`.
fn permanent_bounce(award_id: &str, message_id: &str, address: &str) -> SnsEvent {
    let notification = json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{
                "emailAddress": address,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }],
            "timestamp": "2026-01-12T10:00:04.000Z",
            "feedbackId": "bounce-feedback-1",
        },
        "mail": {
            "timestamp": "2026-01-12T10:00:01.000Z",
            "source": "badges@music.example.org",
            "messageId": message_id,
            "destination": [address],
            "tags": {
                "ses:configuration-set": ["accolade-claims"],
                "award_id": [award_id],
            },
        },
    });
    let event = json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:eu-west-2:123456789012:accolade-email-events:subscription",
            "Sns": {
                "Type": "Notification",
                "MessageId": format!("bounce-of-{message_id}"),
                "TopicArn": "arn:aws:sns:eu-west-2:123456789012:accolade-email-events",
                "Subject": null,
                "Message": notification.to_string(),
                "Timestamp": "2026-01-12T10:00:05.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.eu-west-2.amazonaws.com/example.pem",
                "UnsubscribeUrl": "https://sns.eu-west-2.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {},
            },
        }],
    });
    serde_json::from_value(event).expect("an SNS event")
}

/// Checks a rejected resend: 409 `undeliverable_address`, naming the status and the fix.
fn assert_undeliverable(response: &ApiResponse) {
    assert_eq!(response.status, 409, "{}", response.body);
    let error = &response.body["error"];
    assert_eq!(error["code"], "undeliverable_address", "{}", response.body);
    assert_eq!(error["details"]["delivery_status"], "bounced");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("bounced"), "{message}");
    assert!(message.contains("delivery_email"), "{message}");
}

/// Hands SES's permanent bounce of award `id`'s latest email to ses-events over the stack's
/// store file, as SNS delivers it: twice, because SNS delivers at least once.
fn report_bounce_locally(stack: &TestStack, id: &str, address: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build a runtime");
    runtime.block_on(async {
        let store = Arc::new(
            SqliteStore::open(stack.data_dir.path().join(STORE_FILE))
                .expect("opening the stack's store failed"),
        );
        let award = store
            .get_award(id.parse().unwrap())
            .await
            .unwrap()
            .expect("the stored award");
        let message_id = award.message_id.expect("the award records its email's id");
        let ses_events = SesEvents { store };
        let bounce = permanent_bounce(id, &message_id, address);
        for _ in 0..2 {
            ses_events::lambda::handle_sns_event(&ses_events, &bounce)
                .await
                .expect("ses-events failed on the bounce");
        }
    });
}

#[test]
fn hard_bounce_stops_sends_locally() {
    let stack = TestStack::start_with(StackOverrides {
        // No wait between resends, so the corrected resend below is not rate-limited.
        limits: Some(issue_awards::Limits {
            resend_interval_seconds: 0,
            ..issue_awards::Limits::default()
        }),
        ..StackOverrides::default()
    });
    let token = access_token(&stack);
    let achievement_id = participate_achievement(&stack, &token);
    let id = issue(&stack, &token, &achievement_id, "bounce-me@example.org");
    stack.wait_for_emails(1, Duration::from_secs(30));
    wait_for_delivery_status(&stack, &token, &id, "sent");

    report_bounce_locally(&stack, &id, "bounce-me@example.org");
    let (status, award) = get_json(&stack, &token, &format!("/v1/awards/{id}"));
    assert_eq!(status, 200);
    assert_eq!(award["delivery_status"], "bounced");

    // A resend to the bounced address is rejected, with or without naming it again.
    assert_undeliverable(&resend(&stack, &token, &id, "resend-bounced", json!({})));
    assert_undeliverable(&resend(
        &stack,
        &token,
        &id,
        "resend-bounced-again",
        json!({ "delivery_email": " Bounce-Me@Example.org" }),
    ));
    let (_, award) = get_json(&stack, &token, &format!("/v1/awards/{id}"));
    assert_eq!(award["delivery_status"], "bounced");
    assert_eq!(award["emails_requested"], 1);

    // A corrected address gets the email.
    let corrected = resend(
        &stack,
        &token,
        &id,
        "resend-corrected",
        json!({ "delivery_email": "parent@example.net" }),
    );
    assert_eq!(corrected.status, 202, "{}", corrected.body);
    wait_for_exactly(&stack, 2);
    let recipients: Vec<String> = outbox_recipients(&stack)
        .into_iter()
        .map(|(_, to)| to)
        .collect();
    assert_eq!(recipients, ["bounce-me@example.org", "parent@example.net"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_bounce_stops_sends_on_aws() {
    let mut stack = AwsStack::start().await;
    let bearer = stack.bearer().await;
    let achievement_id = stack.participate_achievement(&bearer).await;
    let address = format!("{}@example.org", unique("bounce-me"));
    let response = stack
        .post_json(
            &bearer,
            "/v1/awards",
            "issue-bounce-me",
            &json!({
                "achievement_id": achievement_id,
                "recipient": { "email": address, "name": "Fault Tester" },
            }),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_owned();
    stack.run_send_claims().await;
    let sent_to = |stack: &AwsStack| {
        stack
            .sent_emails()
            .iter()
            .filter(|email| email.to == address)
            .count()
    };
    assert_eq!(sent_to(&stack), 1, "emails to {address}");

    // SES reports a permanent bounce through SNS.
    let award = stack
        .store
        .get_award(id.parse().unwrap())
        .await
        .unwrap()
        .expect("the stored award");
    let message_id = award
        .message_id
        .expect("the award records its SES message id");
    let ses_events = ses_events::lambda::deps(&stack.config, &stack.moto.sdk);
    ses_events::lambda::handle_sns_event(
        &ses_events,
        &permanent_bounce(&id, &message_id, &address),
    )
    .await
    .expect("ses-events failed on the bounce");
    let award = stack.get_api(&bearer, &format!("/v1/awards/{id}")).await;
    assert_eq!(award.json()["delivery_status"], "bounced");

    // A resend is rejected, and send-claims sends nothing more to the address.
    let rejected = stack
        .post_json(
            &bearer,
            &format!("/v1/awards/{id}/resend"),
            "resend-bounced",
            &json!({}),
        )
        .await;
    assert_undeliverable(&ApiResponse {
        status: rejected.status,
        retry_after: None,
        body: rejected.json(),
    });
    stack.run_send_claims().await;
    assert_eq!(sent_to(&stack), 1, "emails to {address} after the bounce");
    let award = stack.get_api(&bearer, &format!("/v1/awards/{id}")).await;
    assert_eq!(award.json()["delivery_status"], "bounced");
    assert_eq!(award.json()["emails_requested"], 1);
}

#[test]
fn resend_rate_limited_per_award() {
    const INTERVAL_SECONDS: u64 = 5;
    let stack = TestStack::start_with(StackOverrides {
        limits: Some(issue_awards::Limits {
            resend_interval_seconds: INTERVAL_SECONDS as i64,
            ..issue_awards::Limits::default()
        }),
        ..StackOverrides::default()
    });
    let token = access_token(&stack);
    let achievement_id = participate_achievement(&stack, &token);
    let first = issue(&stack, &token, &achievement_id, "resend-first@example.org");
    let second = issue(&stack, &token, &achievement_id, "resend-second@example.org");
    stack.wait_for_emails(2, Duration::from_secs(30));
    // Let the interval since both awards' first emails pass.
    std::thread::sleep(Duration::from_secs(INTERVAL_SECONDS + 1));

    let accepted = resend(&stack, &token, &first, "resend-first-1", json!({}));
    assert_eq!(accepted.status, 202, "{}", accepted.body);

    // Repeated resends of the same award within the interval are rate-limited.
    for attempt in 2..=4 {
        let limited = resend(
            &stack,
            &token,
            &first,
            &format!("resend-first-{attempt}"),
            json!({}),
        );
        assert_eq!(limited.status, 429, "{}", limited.body);
        let error = &limited.body["error"];
        assert_eq!(error["code"], "resend_rate_limited");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("{INTERVAL_SECONDS} seconds")),
            "the message does not name the limit: {message}"
        );
        let retry_after: u64 = limited
            .retry_after
            .as_deref()
            .expect("a Retry-After header")
            .parse()
            .expect("Retry-After in seconds");
        assert!(
            (1..=INTERVAL_SECONDS).contains(&retry_after),
            "Retry-After {retry_after}"
        );
        assert_eq!(error["details"]["retry_after_seconds"], retry_after);
    }

    // The other award is not held up by them.
    let other = resend(&stack, &token, &second, "resend-second-1", json!({}));
    assert_eq!(other.status, 202, "{}", other.body);

    // Two emails per award: the first and the one accepted resend.
    wait_for_exactly(&stack, 4);
    let mut per_award: BTreeMap<String, usize> = BTreeMap::new();
    for (award_id, _) in outbox_recipients(&stack) {
        *per_award.entry(award_id).or_default() += 1;
    }
    assert_eq!(
        per_award,
        BTreeMap::from([(first.clone(), 2), (second.clone(), 2)])
    );
    for id in [&first, &second] {
        let (_, award) = get_json(&stack, &token, &format!("/v1/awards/{id}"));
        assert_eq!(award["emails_requested"], 2, "award {id}");
    }
}
