use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AchievementId, AwardId, ClientId, EmailAddress, HttpsUrl, IssuerId, Text, Timestamp};

/// Who an award is for, as the partner sent it.
///
/// `delivery_email` is a parent's or guardian's address: the claim email goes there when it
/// is set, and it is never used as the badge identity unless the young person chooses so on
/// the claim page. At least one of `email` and `delivery_email` is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: Option<EmailAddress>,
    pub name: Option<Text>,
    pub delivery_email: Option<EmailAddress>,
}

impl Recipient {
    /// Where the claim email goes.
    pub fn send_to(&self) -> Option<&EmailAddress> {
        self.delivery_email.as_ref().or(self.email.as_ref())
    }

    /// Whether the email goes to someone other than the young person.
    pub fn is_delivered_to_guardian(&self) -> bool {
        self.delivery_email.is_some() && self.delivery_email != self.email
    }
}

/// Evidence of what the recipient did: a narrative, a URL, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub narrative: Option<Text>,
    pub url: Option<HttpsUrl>,
}

/// The lifecycle state of an award. Transitions: issued → claimed → revoked, or issued →
/// revoked. Every transition is a conditional write on the version that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardState {
    Issued,
    Claimed,
    Revoked,
}

impl AwardState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Claimed => "claimed",
            Self::Revoked => "revoked",
        }
    }
}

/// What happened to the latest claim email, kept beside the state: a bounce never blocks a
/// claim made from a link that did arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// No email sent yet for the latest send request.
    Pending,
    /// A token was stored and the email is being handed to the mail service; a replayed
    /// change seen in this state means the previous attempt stopped before it finished.
    Sending,
    /// The mail service accepted the email.
    Sent,
    Delivered,
    Bounced,
    Complained,
    /// Not sent, because the address bounced or complained before.
    Suppressed,
    /// The mail service rejected the email for good (for example an address it refuses).
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
            Self::Suppressed => "suppressed",
            Self::Failed => "failed",
        }
    }
}

/// The current claim token, stored only as an HMAC-SHA256 with a server-side pepper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimTokenRecord {
    /// Lower-case hex HMAC-SHA256 of the token.
    pub hash: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What the recipient chose when claiming, and the identity bound into the badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    pub claimed_at: Timestamp,
    /// The normalised address the badge is bound to.
    pub identity: EmailAddress,
    /// The per-award random salt of the identity hash.
    pub salt: String,
    /// `sha256$` and the hex digest of the identity with the salt appended.
    pub identity_hash: String,
    pub display_name: Option<Text>,
    /// Whether the recipient chose to show their name on the public badge page.
    pub show_name: bool,
}

/// Why and when an award was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub revoked_at: Timestamp,
    pub reason: Text,
    pub previous_state: AwardState,
}

/// One badge awarded to one young person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Award {
    pub id: AwardId,
    pub issuer_id: IssuerId,
    pub achievement_id: AchievementId,
    pub recipient: Recipient,
    pub narrative: Option<Text>,
    pub evidence: Vec<Evidence>,
    /// When the partner issued it; `issuedOn` of the assertion.
    pub issued_on: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub state: AwardState,
    pub delivery: DeliveryStatus,
    /// The mail service's id of the latest claim email.
    pub message_id: Option<String>,
    /// Claim emails asked for: 1 on creation, raised by each resend.
    pub sends_requested: u32,
    /// Claim emails whose token has been written; equal to `sends_requested` once the latest
    /// request has been handled, so a replayed change does not send twice.
    pub sends_done: u32,
    pub last_send_requested_at: Timestamp,
    pub claim_token: Option<ClaimTokenRecord>,
    pub claim: Option<ClaimRecord>,
    pub revocation: Option<Revocation>,
    /// The Open Badges 2.0 assertion, frozen when the award was claimed, so every fetch
    /// returns the same bytes.
    pub assertion_json: Option<String>,
    /// Present unless the partner asked for a deliberate second award (`reaward`).
    pub dedup_key: Option<String>,
    pub created_by: ClientId,
    /// Incremented on every write; updates are conditional on the version read.
    pub version: u64,
}

impl Award {
    /// Whether the latest send request still needs its email.
    pub fn needs_claim_email(&self) -> bool {
        self.state == AwardState::Issued
            && (self.sends_done < self.sends_requested || self.delivery == DeliveryStatus::Sending)
    }

    /// A copy with the version raised, ready to be written conditionally on `self.version`.
    pub fn next_version(&self) -> Award {
        Award {
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// The deduplication key of an award: (issuer, achievement, normalised email), or (issuer,
/// achievement, delivery email, name) when only a delivery address is known, so siblings who
/// share a parent's address each get their award. Hashed, so keys carry no personal data.
pub fn dedup_key(issuer: IssuerId, achievement: AchievementId, recipient: &Recipient) -> String {
    let identity = match (&recipient.email, &recipient.delivery_email) {
        (Some(email), _) => format!("email\u{0}{email}"),
        (None, delivery) => {
            let name = recipient
                .name
                .as_ref()
                .map(|name| name.as_str().to_lowercase())
                .unwrap_or_default();
            let delivery = delivery
                .as_ref()
                .map(EmailAddress::as_str)
                .unwrap_or_default();
            format!("delivery\u{0}{delivery}\u{0}{name}")
        }
    };
    let digest = Sha256::digest(format!("{issuer}\u{0}{achievement}\u{0}{identity}").as_bytes());
    hex::encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TextLimit;

    fn recipient(email: Option<&str>, name: &str, delivery: Option<&str>) -> Recipient {
        Recipient {
            email: email.map(|value| EmailAddress::parse(value).unwrap()),
            name: Some(Text::parse("name", name, TextLimit::NAME).unwrap()),
            delivery_email: delivery.map(|value| EmailAddress::parse(value).unwrap()),
        }
    }

    #[test]
    fn dedup_key_ignores_email_case_and_name() {
        let issuer = IssuerId::from_uuid(uuid::Uuid::nil());
        let achievement = AchievementId::from_uuid(uuid::Uuid::nil());
        let first = dedup_key(
            issuer,
            achievement,
            &recipient(Some("Amara@Example.org"), "Amara", None),
        );
        let second = dedup_key(
            issuer,
            achievement,
            &recipient(Some("amara@example.org "), "A. Okafor", None),
        );
        assert_eq!(first, second);
    }

    #[test]
    fn dedup_key_separates_siblings_on_one_guardian_address() {
        let issuer = IssuerId::from_uuid(uuid::Uuid::nil());
        let achievement = AchievementId::from_uuid(uuid::Uuid::nil());
        let first = dedup_key(
            issuer,
            achievement,
            &recipient(None, "Li Wei", Some("guardian.wei@example.com")),
        );
        let second = dedup_key(
            issuer,
            achievement,
            &recipient(None, "Jun Wei", Some("guardian.wei@example.com")),
        );
        assert_ne!(first, second);
    }

    #[test]
    fn guardian_delivery_is_detected() {
        let child = recipient(
            Some("li@example.com"),
            "Li",
            Some("guardian.wei@example.com"),
        );
        assert!(child.is_delivered_to_guardian());
        assert_eq!(
            child.send_to().unwrap().as_str(),
            "guardian.wei@example.com"
        );
    }
}
