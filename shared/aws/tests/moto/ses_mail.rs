//! `SesMailer`: claim emails sent through SES v2 and read back from moto's inspection API.
//!
//! moto keeps only the HTML part of a Simple message and drops tags and the configuration
//! set, so these tests check the HTML part, the subject, the addresses and the message id.
//! The text part is checked by the embedded outbox tests.

use accolade::domain::{AwardId, EmailAddress};
use accolade::ports::{MailError, Mailer, OutgoingEmail};
use accolade_aws::SesMailer;
use serde_json::Value;

use crate::common::{Moto, moto, unique_name};

/// Makes a sender domain for one test, so tests that verify identities stay independent.
fn sender_domain() -> String {
    format!("{}.example.org", unique_name("music"))
}

async fn verify_identity(moto: &Moto, identity: &str) {
    aws_sdk_sesv2::Client::new(&moto.sdk)
        .create_email_identity()
        .email_identity(identity)
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "verifying {identity} on moto failed: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(&error)
            )
        });
}

fn claim_email(from: String, claim_link: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: EmailAddress::parse("amara.okafor@example.net").unwrap(),
        from,
        subject: "Your Summer Orchestra badge is ready to claim".to_owned(),
        text: format!("Claim your badge: {claim_link}\n"),
        html: format!("<p><a href=\"{claim_link}\">Claim your badge</a> – ♪</p>"),
        award_id: AwardId::from_uuid(uuid::Uuid::new_v4()),
    }
}

/// Finds the message that moto recorded with this id.
fn sent_message(moto: &Moto, message_id: &str) -> Value {
    let data: Value = serde_json::from_str(&moto.get("/moto-api/data.json"))
        .expect("moto's data.json is not JSON");
    let messages = data["ses"]["Message"]
        .as_array()
        .unwrap_or_else(|| panic!("data.json has no ses.Message list: {}", data["ses"]));
    messages
        .iter()
        .find(|message| message["id"] == message_id)
        .unwrap_or_else(|| panic!("moto recorded no message {message_id}"))
        .clone()
}

#[tokio::test]
async fn ses_sends_claim_email_with_link() {
    let moto = moto().await;
    let domain = sender_domain();
    verify_identity(&moto, &domain).await;
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&moto.sdk), "accolade-claims");
    let claim_link = "https://badges.example.org/claim/Xy3_tokenValue-9";
    let email = claim_email(format!("Riverside Music <badges@{domain}>"), claim_link);

    let message_id = mailer.send(&email).await.expect("sending failed");

    assert!(!message_id.is_empty());
    let sent = sent_message(&moto, &message_id);
    assert_eq!(sent["subject"], email.subject.as_str());
    assert_eq!(sent["source"], email.from.as_str());
    assert_eq!(
        sent["destinations"]["ToAddresses"],
        serde_json::json!([email.to.as_str()])
    );
    let html = sent["body"].as_str().expect("the message has no body");
    assert!(
        html.contains(&format!("href=\"{claim_link}\"")),
        "the claim link is missing from {html:?}"
    );
    assert!(html.contains('♪'), "UTF-8 was not kept: {html:?}");
}

#[tokio::test]
async fn ses_encodes_unicode_sender_name() {
    let moto = moto().await;
    let domain = sender_domain();
    verify_identity(&moto, &domain).await;
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&moto.sdk), "accolade-claims");
    let email = claim_email(
        format!("Musikschule Köln <badges@{domain}>"),
        "https://badges.example.org/claim/abc",
    );

    let message_id = mailer.send(&email).await.expect("sending failed");

    let source = sent_message(&moto, &message_id)["source"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(source.starts_with("=?UTF-8?B?"), "{source}");
    assert!(source.ends_with(&format!("<badges@{domain}>")), "{source}");
}

#[tokio::test]
async fn ses_unverified_sender_is_rejected() {
    let moto = moto().await;
    let domain = sender_domain();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&moto.sdk), "accolade-claims");
    let email = claim_email(
        format!("badges@{domain}"),
        "https://badges.example.org/claim/abc",
    );

    let error = mailer.send(&email).await.unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, MailError::Rejected(_)), "{message}");
    assert!(!error.is_retryable());
    // SES's own text quotes addresses; the error keeps only the code.
    assert!(!message.contains(&domain), "{message}");
    assert!(!message.contains(email.to.as_str()), "{message}");
}
