//! SES email events as SNS delivers them: the JSON message that a configuration set's event
//! destination publishes (`eventType`), or an identity's feedback notification
//! (`notificationType`), reduced to what the handler needs.
//!
//! Only the event type, the bounce type, the SES message id and the `award_id` tag are read.
//! The recipients' addresses in the message are never parsed, so they cannot reach a log.

use std::collections::HashMap;

use accolade::domain::{AwardId, DeliveryStatus};
use accolade_aws::AWARD_ID_TAG;
use serde::Deserialize;

/// What SES reported about one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Delivery,
    /// A hard bounce: the address does not exist or refuses mail for good.
    PermanentBounce,
    /// A soft bounce (`Transient`) or one SES could not classify (`Undetermined`).
    TemporaryBounce,
    Complaint,
    /// Any other event, such as `Send`, `Reject` or `DeliveryDelay`, by its SES name.
    Other(String),
}

impl EventKind {
    /// The delivery status the event sets; `None` for events that set none.
    pub fn delivery_status(&self) -> Option<DeliveryStatus> {
        match self {
            Self::Delivery => Some(DeliveryStatus::Delivered),
            Self::PermanentBounce => Some(DeliveryStatus::Bounced),
            Self::Complaint => Some(DeliveryStatus::Complained),
            Self::TemporaryBounce | Self::Other(_) => None,
        }
    }

    /// The event's name for logs.
    pub fn name(&self) -> &str {
        match self {
            Self::Delivery => "Delivery",
            Self::PermanentBounce => "Bounce (Permanent)",
            Self::TemporaryBounce => "Bounce (Transient)",
            Self::Complaint => "Complaint",
            Self::Other(name) => name,
        }
    }
}

/// One SES email event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailEvent {
    pub kind: EventKind,
    /// The SES message id of the email, as `SendEmail` returned it.
    pub message_id: String,
    /// The award named by the email's `award_id` tag; `None` when the email has no such tag.
    pub award_id: Option<AwardId>,
}

/// An SNS message that is not an SES email event.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("the SNS message is not an SES email event: {0}")]
    Invalid(#[source] serde_json::Error),
    #[error("the SES event has neither eventType nor notificationType")]
    NoEventType,
    #[error("the SES {event} event has no bounce object")]
    NoBounce { event: String },
    #[error("the award_id tag {0:?} of the SES event is not an award id")]
    InvalidAwardId(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    /// Set by configuration set event destinations.
    event_type: Option<String>,
    /// Set by identity feedback notifications.
    notification_type: Option<String>,
    mail: Mail,
    bounce: Option<Bounce>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
    /// Tag names to values; only event destinations carry them.
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
}

/// Parses the `Message` of an SNS record that SES published.
pub fn parse_notification(message: &str) -> Result<EmailEvent, NotificationError> {
    let notification: Notification =
        serde_json::from_str(message).map_err(NotificationError::Invalid)?;
    let event = notification
        .event_type
        .or(notification.notification_type)
        .ok_or(NotificationError::NoEventType)?;

    let kind = match event.as_str() {
        "Delivery" => EventKind::Delivery,
        "Complaint" => EventKind::Complaint,
        "Bounce" => {
            let bounce = notification
                .bounce
                .ok_or_else(|| NotificationError::NoBounce {
                    event: event.clone(),
                })?;
            if bounce.bounce_type == "Permanent" {
                EventKind::PermanentBounce
            } else {
                EventKind::TemporaryBounce
            }
        }
        _ => EventKind::Other(event),
    };

    let award_id = notification
        .mail
        .tags
        .get(AWARD_ID_TAG)
        .and_then(|values| values.first())
        .map(|value| {
            value
                .parse::<AwardId>()
                .map_err(|_| NotificationError::InvalidAwardId(value.clone()))
        })
        .transpose()?;
    Ok(EmailEvent {
        kind,
        message_id: notification.mail.message_id,
        award_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWARD: &str = "0b6c43d4-8a3f-4a54-9a3e-2f5d1f0c9b71";

    fn event(body: serde_json::Value) -> Result<EmailEvent, NotificationError> {
        parse_notification(&body.to_string())
    }

    #[test]
    fn transient_bounce_sets_no_status() {
        let parsed = event(serde_json::json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull"},
            "mail": {"messageId": "m-1", "tags": {"award_id": [AWARD]}}
        }))
        .unwrap();
        assert_eq!(parsed.kind, EventKind::TemporaryBounce);
        assert_eq!(parsed.kind.delivery_status(), None);
    }

    #[test]
    fn notification_type_without_tags_parses() {
        let parsed = event(serde_json::json!({
            "notificationType": "Complaint",
            "mail": {"messageId": "m-2"}
        }))
        .unwrap();
        assert_eq!(parsed.kind, EventKind::Complaint);
        assert_eq!(parsed.award_id, None);
    }

    #[test]
    fn invalid_award_tag_is_rejected() {
        let error = event(serde_json::json!({
            "eventType": "Delivery",
            "mail": {"messageId": "m-3", "tags": {"award_id": ["not-a-uuid"]}}
        }))
        .unwrap_err();
        assert!(
            matches!(error, NotificationError::InvalidAwardId(_)),
            "{error}"
        );
    }

    #[test]
    fn bounce_without_details_is_rejected() {
        let error = event(serde_json::json!({
            "eventType": "Bounce",
            "mail": {"messageId": "m-4"}
        }))
        .unwrap_err();
        assert!(
            matches!(error, NotificationError::NoBounce { .. }),
            "{error}"
        );
    }
}
