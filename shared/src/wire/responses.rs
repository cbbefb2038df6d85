//! Response documents built from domain types.

use crate::domain::{
    Achievement, AchievementId, Award, AwardId, EmailAddress, HttpsUrl, Issuer, IssuerId, Level,
    StoredImage, Text, Timestamp,
};
use crate::urls::PublicUrls;
use serde::Serialize;
use serde_json::Value;

/// An award as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct AwardView<'a> {
    pub id: AwardId,
    /// `issued`, `claimed` or `revoked`.
    pub status: &'static str,
    /// The outcome of the latest claim email: `pending`, `sending`, `sent`, `delivered`,
    /// `bounced`, `complained`, `suppressed` or `failed`.
    pub delivery_status: &'static str,
    pub achievement_id: AchievementId,
    pub recipient: RecipientView<'a>,
    pub narrative: Option<&'a str>,
    pub evidence: Vec<EvidenceView<'a>>,
    pub issued_on: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// The hosted Open Badges 2.0 assertion; `null` until the recipient claims the award.
    pub assertion_url: Option<String>,
    pub claimed_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revocation_reason: Option<&'a str>,
    /// Whether the award was made with `"reaward": true` (exempt from duplicate detection).
    pub reaward: bool,
    /// Claim emails asked for so far: 1 for the first, plus one per resend.
    pub emails_requested: u32,
    /// Raised by every change; sent as the `ETag`, and accepted back in `If-Match`.
    pub version: u64,
}

/// A recipient as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct RecipientView<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub delivery_email: Option<&'a str>,
}

/// One evidence entry.
#[derive(Debug, Serialize)]
pub struct EvidenceView<'a> {
    pub narrative: Option<&'a str>,
    pub url: Option<&'a str>,
}

impl<'a> AwardView<'a> {
    pub fn new(award: &'a Award, urls: &PublicUrls) -> Self {
        // The assertion exists from the claim on, and stays (served as 410 Gone) after a
        // revocation.
        let assertion_url = award.claim.as_ref().map(|_| urls.assertion(award.id));
        Self {
            id: award.id,
            status: award.state.as_str(),
            delivery_status: award.delivery.as_str(),
            achievement_id: award.achievement_id,
            recipient: RecipientView {
                email: award.recipient.email.as_ref().map(EmailAddress::as_str),
                name: award.recipient.name.as_ref().map(Text::as_str),
                delivery_email: award
                    .recipient
                    .delivery_email
                    .as_ref()
                    .map(EmailAddress::as_str),
            },
            narrative: award.narrative.as_ref().map(Text::as_str),
            evidence: award
                .evidence
                .iter()
                .map(|entry| EvidenceView {
                    narrative: entry.narrative.as_ref().map(Text::as_str),
                    url: entry.url.as_ref().map(HttpsUrl::as_str),
                })
                .collect(),
            issued_on: award.issued_on,
            expires_at: award.expires_at,
            assertion_url,
            claimed_at: award.claim.as_ref().map(|claim| claim.claimed_at),
            revoked_at: award
                .revocation
                .as_ref()
                .map(|revocation| revocation.revoked_at),
            revocation_reason: award
                .revocation
                .as_ref()
                .map(|revocation| revocation.reason.as_str()),
            reaward: award.dedup_key.is_none(),
            emails_requested: award.sends_requested,
            version: award.version,
        }
    }
}

/// An achievement as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct AchievementView<'a> {
    pub id: AchievementId,
    pub name: &'a str,
    pub description: &'a str,
    pub criteria: CriteriaView<'a>,
    /// `engage`, `participate`, `demonstrate` or `lead`.
    pub level: Option<&'static str>,
    pub tags: Vec<&'a str>,
    /// The image published in the badge class: the PNG when there is one, else the SVG.
    pub image_url: Option<String>,
    pub images: ImagesView,
    /// The public Open Badges 2.0 BadgeClass.
    pub badge_class_url: String,
    pub created_at: Timestamp,
}

/// The criteria of an achievement: what a recipient did to earn it.
#[derive(Debug, Serialize)]
pub struct CriteriaView<'a> {
    pub narrative: &'a str,
    pub url: Option<&'a str>,
}

/// The achievement's artwork in each format.
#[derive(Debug, Serialize)]
pub struct ImagesView {
    pub png: Option<ImageView>,
    pub svg: Option<ImageView>,
}

/// One stored image.
#[derive(Debug, Serialize)]
pub struct ImageView {
    pub url: String,
    /// `image/png` or `image/svg+xml`.
    pub media_type: String,
    /// In pixels; 0 for an SVG that declares neither a size nor a viewBox.
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

impl<'a> AchievementView<'a> {
    pub fn new(achievement: &'a Achievement, urls: &PublicUrls) -> Self {
        let image = |stored: &StoredImage| ImageView {
            url: urls.badge_class_image(achievement.id, stored.extension()),
            media_type: stored.media_type.clone(),
            width: stored.width,
            height: stored.height,
            sha256: stored.sha256.clone(),
        };
        Self {
            id: achievement.id,
            name: achievement.name.as_str(),
            description: achievement.description.as_str(),
            criteria: CriteriaView {
                narrative: achievement.criteria_narrative.as_str(),
                url: achievement.criteria_url.as_ref().map(HttpsUrl::as_str),
            },
            level: achievement.level.map(Level::slug),
            tags: achievement.tags.iter().map(Text::as_str).collect(),
            image_url: achievement
                .images
                .primary()
                .map(|stored| urls.badge_class_image(achievement.id, stored.extension())),
            images: ImagesView {
                png: achievement.images.png.as_ref().map(image),
                svg: achievement.images.svg.as_ref().map(image),
            },
            badge_class_url: urls.badge_class(achievement.id),
            created_at: achievement.created_at,
        }
    }
}

/// The issuer profile as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct IssuerView<'a> {
    pub id: IssuerId,
    pub name: &'a str,
    pub url: &'a str,
    pub email: &'a str,
    pub description: Option<&'a str>,
    pub image_url: Option<String>,
    /// The public Open Badges 2.0 Issuer Profile.
    pub issuer_url: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Raised by every change; sent as the `ETag`, and accepted back in `If-Match`.
    pub version: u64,
}

impl<'a> IssuerView<'a> {
    pub fn new(issuer: &'a Issuer, urls: &PublicUrls) -> Self {
        Self {
            id: issuer.id,
            name: issuer.name.as_str(),
            url: issuer.url.as_str(),
            email: issuer.email.as_str(),
            description: issuer.description.as_ref().map(Text::as_str),
            image_url: issuer
                .image
                .as_ref()
                .map(|image| urls.issuer_image(issuer.id, image.extension())),
            issuer_url: urls.issuer(issuer.id),
            created_at: issuer.created_at,
            updated_at: issuer.updated_at,
            version: issuer.version,
        }
    }
}

/// One page of a list: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Serialises a view. The views contain only strings, numbers, options and vectors, which
/// serde_json always serialises, so the `Null` fallback is never used.
pub fn to_json<T: Serialize>(view: &T) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}
