//! The claim email handler against the real SQLite store and the in-memory mailer.

use std::sync::Arc;

use accolade::adapters::mail::MemoryMailer;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{FixedClock, SequenceRandom};
use accolade::crypto::Pepper;
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, Award, AwardId, AwardState, ClaimRecord,
    ClientId, DeliveryStatus, EmailAddress, HttpsUrl, Issuer, IssuerId, Level, Recipient, Text,
    TextLimit, Timestamp,
};
use accolade::ports::{MailError, Store};
use accolade::urls::PublicUrls;
use send_claims::{SendClaims, SendClaimsError, SendOutcome, SkipReason, handle_award_change};

/// 2024-11-08T10:00:00Z.
const NOW: i64 = 1_731_060_000;
const BASE_URL: &str = "https://badges.example.org";

struct Harness {
    deps: SendClaims,
    store: Arc<SqliteStore>,
    mailer: Arc<MemoryMailer>,
    clock: Arc<FixedClock>,
    issuer: Issuer,
    achievement: Achievement,
}

fn text(value: &str) -> Text {
    Text::parse("test", value, TextLimit::LONG).unwrap()
}

fn email(value: &str) -> EmailAddress {
    EmailAddress::parse(value).unwrap()
}

async fn harness_with_names(issuer_name: &str, achievement_name: &str) -> Harness {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let mailer = Arc::new(MemoryMailer::new());
    let clock = Arc::new(FixedClock::new(Timestamp::from_unix_seconds(NOW)));
    let issuer = Issuer {
        id: IssuerId::from_uuid(uuid::Uuid::new_v4()),
        name: text(issuer_name),
        url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
        email: email("badges@music.example.org"),
        description: None,
        image: None,
        created_at: Timestamp::from_unix_seconds(NOW),
        updated_at: Timestamp::from_unix_seconds(NOW),
        version: 1,
    };
    store.create_issuer(&issuer).await.unwrap();
    let achievement = Achievement {
        id: AchievementId::from_uuid(uuid::Uuid::new_v4()),
        issuer_id: issuer.id,
        name: text(achievement_name),
        description: text("Took part in the summer orchestra course."),
        criteria_narrative: text("Attend all five days."),
        criteria_url: None,
        level: Some(Level::Participate),
        tags: Vec::new(),
        images: AchievementImages {
            png: None,
            svg: None,
        },
        created_at: Timestamp::from_unix_seconds(NOW),
    };
    store.create_achievement(&achievement).await.unwrap();
    let deps = SendClaims {
        store: store.clone(),
        mailer: mailer.clone(),
        clock: clock.clone(),
        random: Arc::new(SequenceRandom::new()),
        pepper: Pepper::new(vec![7; 32]).unwrap(),
        urls: PublicUrls::parse(BASE_URL).unwrap(),
        from: "Riverside badges <badges@example.org>".to_owned(),
        claim_window_days: SendClaims::DEFAULT_CLAIM_WINDOW_DAYS,
    };
    Harness {
        deps,
        store,
        mailer,
        clock,
        issuer,
        achievement,
    }
}

async fn harness() -> Harness {
    harness_with_names("Riverside Music Service", "Summer Orchestra").await
}

impl Harness {
    async fn seed(&self, recipient: Recipient) -> Award {
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
            delivery: DeliveryStatus::Pending,
            message_id: None,
            sends_requested: 1,
            sends_done: 0,
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

    async fn seed_young_person(&self) -> Award {
        self.seed(Recipient {
            email: Some(email("amara@example.org")),
            name: Some(text("Amara")),
            delivery_email: None,
        })
        .await
    }

    async fn reload(&self, award: &Award) -> Award {
        self.store.get_award(award.id).await.unwrap().unwrap()
    }

    async fn handle(&self, award: &Award) -> Result<SendOutcome, SendClaimsError> {
        handle_award_change(&self.deps, None, award).await
    }

    /// Changes the stored award the way another component would.
    async fn modify(&self, award: &Award, change: impl FnOnce(&mut Award)) -> Award {
        let current = self.reload(award).await;
        let mut updated = current.next_version();
        change(&mut updated);
        self.store
            .update_award(&updated, current.version)
            .await
            .unwrap();
        updated
    }
}

/// The claim token in the link of a text part.
fn token_in(text: &str) -> String {
    let prefix = format!("{BASE_URL}/claim/");
    let start = text.find(&prefix).expect("the text part has a claim link") + prefix.len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn sends_one_email_with_link_in_both_parts() {
    let h = harness().await;
    let award = h.seed_young_person().await;

    let outcome = h.handle(&award).await.unwrap();

    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    assert_eq!(
        outcome,
        SendOutcome::Sent {
            message_id: h.mailer.sent_with_ids()[0].0.clone()
        }
    );
    assert_eq!(message.to.as_str(), "amara@example.org");
    assert_eq!(message.award_id, award.id);
    assert_eq!(message.from, "Riverside badges <badges@example.org>");
    assert_eq!(
        message.subject,
        "Your badge from Riverside Music Service: Summer Orchestra"
    );
    let token = token_in(&message.text);
    let link = format!("{BASE_URL}/claim/{token}");
    assert!(message.text.contains(&link));
    assert!(message.html.contains(&format!("href=\"{link}\"")));
    assert!(message.text.contains("Played cello in every rehearsal."));
    assert!(
        message
            .text
            .contains("The link works until 6 February 2025.")
    );

    let stored = h.reload(&award).await;
    assert_eq!(stored.delivery, DeliveryStatus::Sent);
    assert_eq!(stored.message_id.as_deref(), Some(outcome_id(&outcome)));
    assert_eq!(stored.sends_done, 1);
    let record = stored.claim_token.clone().unwrap();
    assert_eq!(record.hash, h.deps.pepper.claim_token_hash(&token));
    assert_eq!(record.issued_at.unix_seconds(), NOW);
    assert_eq!(record.expires_at.unix_seconds(), NOW + 90 * 86_400);
    assert_ne!(record.hash, token, "only the HMAC of the token is stored");
    let found = h
        .store
        .find_award_by_claim_token(&record.hash)
        .await
        .unwrap();
    assert_eq!(found.map(|award| award.id), Some(award.id));
}

fn outcome_id(outcome: &SendOutcome) -> &str {
    match outcome {
        SendOutcome::Sent { message_id } => message_id,
        other => panic!("expected Sent, got {other:?}"),
    }
}

#[tokio::test]
async fn replayed_change_sends_nothing() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.handle(&award).await.unwrap();
    let after_first = h.reload(&award).await;

    // The same stream record again, and a stale image of it.
    let outcome = h.handle(&award).await.unwrap();
    let again = handle_award_change(&h.deps, None, &after_first)
        .await
        .unwrap();

    assert_eq!(outcome, SendOutcome::Skipped(SkipReason::AlreadyHandled));
    assert_eq!(again, SendOutcome::Skipped(SkipReason::AlreadyHandled));
    assert_eq!(h.mailer.attempts(), 1);
    assert_eq!(h.reload(&award).await, after_first);
}

#[tokio::test]
async fn resend_replaces_the_link() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.handle(&award).await.unwrap();
    let first_token = token_in(&h.mailer.sent()[0].text);

    let resent = h
        .modify(&award, |award| {
            award.sends_requested = 2;
            award.last_send_requested_at = Timestamp::from_unix_seconds(NOW + 60);
        })
        .await;
    h.clock.advance_seconds(120);
    let outcome = h.handle(&resent).await.unwrap();

    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2);
    let second_token = token_in(&sent[1].text);
    assert_ne!(first_token, second_token);
    let old = h
        .store
        .find_award_by_claim_token(&h.deps.pepper.claim_token_hash(&first_token))
        .await
        .unwrap();
    assert!(old.is_none(), "the old link must stop working");
    let new = h
        .store
        .find_award_by_claim_token(&h.deps.pepper.claim_token_hash(&second_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.id, award.id);
    assert_eq!(new.sends_done, 2);
    assert_eq!(new.delivery, DeliveryStatus::Sent);
    assert_eq!(
        new.claim_token.unwrap().expires_at.unix_seconds(),
        NOW + 120 + 90 * 86_400
    );
}

#[tokio::test]
async fn retryable_failure_then_success() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.mailer
        .fail_next(1, MailError::Transient("connection reset".to_owned()));

    let error = h.handle(&award).await.unwrap_err();

    assert!(
        matches!(error, SendClaimsError::MailRetryable { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    let pending = h.reload(&award).await;
    assert_eq!(pending.delivery, DeliveryStatus::Sending);
    assert!(pending.needs_claim_email(), "a retry must send again");
    assert_eq!(
        pending.claim_token, None,
        "the token that was not sent is dropped"
    );

    let outcome = h.handle(&award).await.unwrap();

    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(h.mailer.attempts(), 2);
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    let token = token_in(&sent[0].text);
    let stored = h.reload(&award).await;
    assert_eq!(stored.delivery, DeliveryStatus::Sent);
    assert_eq!(
        stored.claim_token.unwrap().hash,
        h.deps.pepper.claim_token_hash(&token)
    );
}

#[tokio::test]
async fn throttling_is_retryable() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.mailer.fail_next(1, MailError::Throttled);

    let error = h.handle(&award).await.unwrap_err();

    assert!(error.is_retryable());
    assert_eq!(h.reload(&award).await.delivery, DeliveryStatus::Sending);
}

#[tokio::test]
async fn permanent_failure_marks_failed() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.mailer.fail_next(
        1,
        MailError::Rejected("address on the account suppression list".to_owned()),
    );

    let outcome = h.handle(&award).await.unwrap();

    assert!(
        matches!(outcome, SendOutcome::Rejected { .. }),
        "{outcome:?}"
    );
    let stored = h.reload(&award).await;
    assert_eq!(stored.delivery, DeliveryStatus::Failed);
    assert_eq!(stored.message_id, None);
    assert!(!stored.needs_claim_email());

    let replay = h.handle(&award).await.unwrap();
    assert_eq!(replay, SendOutcome::Skipped(SkipReason::AlreadyHandled));
    assert_eq!(
        h.mailer.attempts(),
        1,
        "no retry after a permanent rejection"
    );
}

#[tokio::test]
async fn guardian_email_goes_to_guardian() {
    let h = harness().await;
    let award = h
        .seed(Recipient {
            email: None,
            name: Some(text("Li Wei")),
            delivery_email: Some(email("guardian.wei@example.com")),
        })
        .await;

    h.handle(&award).await.unwrap();

    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    assert_eq!(message.to.as_str(), "guardian.wei@example.com");
    assert_eq!(
        message.subject,
        "A badge for Li Wei from Riverside Music Service: Summer Orchestra"
    );
    let token = token_in(&message.text);
    for part in [&message.text, &message.html] {
        assert!(
            part.contains("Please pass this email on to Li Wei, or help Li Wei claim the badge")
        );
        assert!(part.contains("parent or guardian"));
        assert!(part.contains(&format!("{BASE_URL}/claim/{token}")));
    }
}

#[tokio::test]
async fn html_part_is_escaped() {
    let name = "<b>Safety & Co</b> — سلامة";
    let h = harness_with_names(name, name).await;
    let award = h.seed_young_person().await;

    h.handle(&award).await.unwrap();

    let message = &h.mailer.sent()[0];
    assert_eq!(message.subject, format!("Your badge from {name}: {name}"));
    assert!(message.text.contains(name));
    assert!(
        message
            .html
            .contains("&lt;b&gt;Safety &amp; Co&lt;/b&gt; — سلامة")
    );
    assert!(!message.html.contains("<b>Safety"));
    let token = token_in(&message.text);
    assert!(message.html.contains(&format!("{BASE_URL}/claim/{token}")));
}

#[tokio::test]
async fn bounced_address_is_suppressed() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.handle(&award).await.unwrap();
    let bounced = h
        .modify(&award, |award| award.delivery = DeliveryStatus::Bounced)
        .await;
    let resend = h.modify(&award, |award| award.sends_requested = 2).await;

    let outcome = handle_award_change(&h.deps, Some(&bounced), &resend)
        .await
        .unwrap();

    assert_eq!(outcome, SendOutcome::Suppressed);
    assert_eq!(h.mailer.attempts(), 1);
    let stored = h.reload(&award).await;
    assert_eq!(stored.delivery, DeliveryStatus::Suppressed);
    assert_eq!(stored.sends_done, 2);
    let replay = handle_award_change(&h.deps, Some(&bounced), &resend)
        .await
        .unwrap();
    assert_eq!(replay, SendOutcome::Skipped(SkipReason::AlreadyHandled));
}

#[tokio::test]
async fn corrected_address_after_bounce_sends() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    h.handle(&award).await.unwrap();
    let bounced = h
        .modify(&award, |award| award.delivery = DeliveryStatus::Complained)
        .await;
    let corrected = h
        .modify(&award, |award| {
            award.sends_requested = 2;
            award.recipient.email = Some(email("amara.okafor@example.org"));
        })
        .await;

    let outcome = handle_award_change(&h.deps, Some(&bounced), &corrected)
        .await
        .unwrap();

    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].to.as_str(), "amara.okafor@example.org");
    assert_eq!(h.reload(&award).await.delivery, DeliveryStatus::Sent);
}

#[tokio::test]
async fn claimed_award_gets_no_email() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    let claimed = h
        .modify(&award, |award| {
            award.state = AwardState::Claimed;
            award.claim = Some(ClaimRecord {
                claimed_at: Timestamp::from_unix_seconds(NOW),
                identity: email("amara@example.org"),
                salt: "pepper42".to_owned(),
                identity_hash: "sha256$00".to_owned(),
                display_name: None,
                show_name: false,
            });
        })
        .await;

    let outcome = h.handle(&claimed).await.unwrap();

    assert_eq!(outcome, SendOutcome::Skipped(SkipReason::NotIssued));
    assert_eq!(h.mailer.attempts(), 0);
}

#[tokio::test]
async fn stale_change_of_missing_award_is_skipped() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    let mut ghost = award.clone();
    ghost.id = AwardId::from_uuid(uuid::Uuid::new_v4());

    let outcome = h.handle(&ghost).await.unwrap();

    assert_eq!(outcome, SendOutcome::Skipped(SkipReason::AwardNotFound));
    assert_eq!(h.mailer.attempts(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runs_send_once_per_request() {
    let h = Arc::new(harness().await);
    let award = h.seed_young_person().await;

    let runs: Vec<_> = (0..4)
        .map(|_| {
            let h = h.clone();
            let award = award.clone();
            tokio::spawn(async move { h.handle(&award).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for run in runs {
        outcomes.push(run.await.unwrap());
    }

    // A run that finds another run's fresh token asks to be retried instead of sending.
    let sent_count = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(SendOutcome::Sent { .. })))
        .count();
    assert_eq!(sent_count, 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Ok(SendOutcome::Sent { .. })
            | Ok(SendOutcome::Skipped(SkipReason::AlreadyHandled))
            | Err(SendClaimsError::SendInProgress { .. }) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    let stored = h.reload(&award).await;
    assert_eq!(stored.delivery, DeliveryStatus::Sent);
    assert_eq!(
        stored.claim_token.unwrap().hash,
        h.deps.pepper.claim_token_hash(&token_in(&sent[0].text))
    );

    // The retries the caller makes later find the email sent.
    let retry = h.handle(&award).await.unwrap();
    assert_eq!(retry, SendOutcome::Skipped(SkipReason::AlreadyHandled));
}

#[tokio::test]
async fn abandoned_send_is_redone_after_lease() {
    let h = harness().await;
    let award = h.seed_young_person().await;
    // A run that wrote its token and died before sending.
    h.modify(&award, |award| {
        award.sends_done = 1;
        award.delivery = DeliveryStatus::Sending;
        award.claim_token = Some(accolade::domain::ClaimTokenRecord {
            hash: "0".repeat(64),
            issued_at: Timestamp::from_unix_seconds(NOW),
            expires_at: Timestamp::from_unix_seconds(NOW + 90 * 86_400),
        });
    })
    .await;

    let early = h.handle(&award).await.unwrap_err();
    assert!(
        matches!(early, SendClaimsError::SendInProgress { .. }),
        "{early:?}"
    );
    assert!(early.is_retryable());
    assert_eq!(h.mailer.attempts(), 0);

    h.clock.advance_seconds(send_claims::SEND_LEASE_SECONDS);
    let outcome = h.handle(&award).await.unwrap();

    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(h.mailer.sent().len(), 1);
    assert_eq!(h.reload(&award).await.delivery, DeliveryStatus::Sent);
}

#[tokio::test]
async fn second_badge_to_known_address_is_emailed() {
    let h = harness().await;
    let choir = Achievement {
        id: AchievementId::from_uuid(uuid::Uuid::new_v4()),
        name: text("Chamber Choir"),
        ..h.achievement.clone()
    };
    h.store.create_achievement(&choir).await.unwrap();
    let first = h.seed_young_person().await;
    let second = Award {
        id: AwardId::from_uuid(uuid::Uuid::new_v4()),
        achievement_id: choir.id,
        ..first.clone()
    };
    h.store.create_award(&second).await.unwrap();

    h.handle(&first).await.unwrap();
    let outcome = h.handle(&second).await.unwrap();

    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].award_id, first.id);
    assert_eq!(sent[1].award_id, second.id);
    assert!(
        sent[0].subject.contains("Summer Orchestra"),
        "{}",
        sent[0].subject
    );
    assert!(
        sent[1].subject.contains("Chamber Choir"),
        "{}",
        sent[1].subject
    );
    for message in &sent {
        assert_eq!(message.to.as_str(), "amara@example.org");
        let link = format!("{BASE_URL}/claim/{}", token_in(&message.text));
        assert!(message.html.contains(&format!("href=\"{link}\"")));
    }
    assert_ne!(token_in(&sent[0].text), token_in(&sent[1].text));
    assert_eq!(h.reload(&second).await.delivery, DeliveryStatus::Sent);
}
