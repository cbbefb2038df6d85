//! Records what happened to each claim email: SES publishes delivery, bounce and complaint
//! events of the configuration set to an SNS topic, and this function sets the award's
//! delivery status from them.
//!
//! - a delivery sets `delivered`;
//! - a permanent bounce sets `bounced`; a transient or undetermined bounce (a full mailbox, an
//!   auto-reply) changes nothing, because SES retries those itself;
//! - a complaint sets `complained`.
//!
//! Each email carries the award id in its `award_id` tag, and the award keeps the SES message
//! id of its latest email. An event applies only to the award's latest email, so a late
//! bounce of an earlier email does not mark a resend to a corrected address. Every write is
//! conditional on the version read, and an event whose status the award already has changes
//! nothing, so a replayed event is harmless.
//!
//! A bounced or complaining address gets no more claim emails. The partner API rejects a
//! resend to it (409 `undeliverable_address`), and send-claims suppresses a resend that was
//! requested before the event arrived. Both let a resend to a corrected address through.
//! Across awards, the configuration set's suppression options make
//! SES itself drop sends to an address that bounced or complained, and report them as
//! bounces.
//!
//! [`lambda`] runs the handler on AWS Lambda for the SNS topic.

pub mod lambda;
pub mod notification;

use std::sync::Arc;

use accolade::domain::{Award, AwardId, DeliveryStatus};
use accolade::ports::{Store, StoreError};

pub use crate::notification::{EmailEvent, EventKind, NotificationError, parse_notification};

/// How many times the write is tried again after a conflict before giving up. Conflicts come
/// from send-claims recording its outcome or from another event of the same email.
const MAX_CONFLICT_ROUNDS: usize = 5;

/// Dependencies of the event handler.
#[derive(Clone)]
pub struct SesEvents {
    pub store: Arc<dyn Store>,
}

/// Why an event changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// The email has no `award_id` tag: it was not a claim email, or it was sent without the
    /// configuration set's tags.
    NoAwardTag,
    /// The tag names no stored award.
    AwardNotFound,
    /// The event is of a kind that does not change the delivery status.
    NotTracked,
    /// The event is about an earlier email of the award, not its latest one.
    OtherEmail,
    /// The award's status comes after this event's (a delivery that arrived after a
    /// complaint), or the award is not waiting for this email (a resend is pending).
    Superseded,
}

/// The result of handling one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The award's delivery status was set.
    Recorded(DeliveryStatus),
    /// The award has this status already, for example because the event was delivered twice.
    Unchanged(DeliveryStatus),
    Ignored(IgnoreReason),
}

/// A failure worth retrying the event for.
#[derive(Debug, thiserror::Error)]
pub enum SesEventsError {
    #[error("store failed while recording an email event of award {award_id}: {source}")]
    Store {
        award_id: AwardId,
        #[source]
        source: StoreError,
    },
    /// Other writers kept changing the award; the event should be retried later.
    #[error("award {award_id} kept changing while an email event was recorded; retry later")]
    TooManyConflicts { award_id: AwardId },
}

/// Handles one email event: sets the delivery status of the award named by its tag.
pub async fn handle_email_event(
    deps: &SesEvents,
    event: &EmailEvent,
) -> Result<EventOutcome, SesEventsError> {
    let Some(award_id) = event.award_id else {
        return Ok(EventOutcome::Ignored(IgnoreReason::NoAwardTag));
    };
    let Some(target) = event.kind.delivery_status() else {
        return Ok(EventOutcome::Ignored(IgnoreReason::NotTracked));
    };
    let store_error = |source| SesEventsError::Store { award_id, source };

    for _ in 0..MAX_CONFLICT_ROUNDS {
        let Some(award) = deps.store.get_award(award_id).await.map_err(store_error)? else {
            return Ok(EventOutcome::Ignored(IgnoreReason::AwardNotFound));
        };
        if !is_latest_email(&award, &event.message_id) {
            return Ok(EventOutcome::Ignored(IgnoreReason::OtherEmail));
        }
        if award.delivery == target {
            return Ok(EventOutcome::Unchanged(target));
        }
        if !can_follow(award.delivery, target) {
            return Ok(EventOutcome::Ignored(IgnoreReason::Superseded));
        }

        let mut updated = award.next_version();
        updated.delivery = target;
        updated.message_id = Some(event.message_id.clone());
        match deps.store.update_award(&updated, award.version).await {
            Ok(()) => return Ok(EventOutcome::Recorded(target)),
            Err(StoreError::Conflict) => continue,
            Err(source) => return Err(store_error(source)),
        }
    }
    Err(SesEventsError::TooManyConflicts { award_id })
}

/// Whether the event's email is the award's latest one. While send-claims is still recording
/// the outcome of a send (`sending`, no message id yet), an event can overtake it; it is then
/// taken to be about the email being sent, and send-claims keeps the status it finds.
fn is_latest_email(award: &Award, message_id: &str) -> bool {
    match &award.message_id {
        Some(latest) => latest == message_id,
        None => award.delivery == DeliveryStatus::Sending,
    }
}

/// Whether `next` may replace `current`. Deliveries come before bounces and complaints
/// (SES can report a bounce after a delivery, and a complaint always follows one), so a late
/// delivery event never hides a bounce or a complaint. Statuses without a sent email
/// (`pending`, `suppressed`, `failed`) are never replaced by an event.
fn can_follow(current: DeliveryStatus, next: DeliveryStatus) -> bool {
    use DeliveryStatus::*;
    match next {
        Delivered => matches!(current, Sending | Sent),
        Bounced | Complained => matches!(current, Sending | Sent | Delivered),
        Pending | Sending | Sent | Suppressed | Failed => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn delivery_never_hides_bounce_or_complaint() {
        assert!(can_follow(Sent, Delivered));
        assert!(can_follow(Delivered, Complained));
        assert!(can_follow(Delivered, Bounced));
        assert!(!can_follow(Complained, Delivered));
        assert!(!can_follow(Bounced, Delivered));
        assert!(!can_follow(Bounced, Complained));
    }

    #[test]
    fn statuses_without_email_stay() {
        for current in [Pending, Suppressed, Failed] {
            for next in [Delivered, Bounced, Complained] {
                assert!(!can_follow(current, next), "{current:?} -> {next:?}");
            }
        }
    }
}
