//! Open Badges 2.0 hosted documents: Issuer Profile, BadgeClass, Assertion and the reduced
//! form of a revoked assertion. Field order follows the specification's examples; documents
//! are rendered once, when they are minted, and stored as the exact bytes served.

use serde::Serialize;

use crate::domain::{Achievement, Award, ClaimRecord, Issuer, StoredImage};
use crate::keys::PublicKeyRecord;
use crate::openbadges::revocation::assertion_revocation_list_url;
use crate::openbadges::signed::profile_public_keys;
use crate::urls::PublicUrls;

/// The Open Badges 2.0 JSON-LD context.
pub const CONTEXT: &str = "https://w3id.org/openbadges/v2";

/// The framework name used in level alignments.
pub const LEVEL_FRAMEWORK: &str = "Accolade music levels";

#[derive(Debug, Clone, Serialize)]
pub struct IssuerProfile {
    #[serde(rename = "@context")]
    pub context: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub url: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The URLs of the issuer's `CryptographicKey` documents, for signed assertions.
    #[serde(rename = "publicKey", skip_serializing_if = "Vec::is_empty")]
    pub public_key: Vec<String>,
    /// The URL of the issuer's `RevocationList` of signed assertions.
    #[serde(rename = "revocationList")]
    pub revocation_list: String,
}

/// The Issuer Profile, linking every key of `keys` that belongs to the issuer (oldest
/// first) and its revocation list.
pub fn issuer_profile(
    issuer: &Issuer,
    urls: &PublicUrls,
    keys: &[PublicKeyRecord],
) -> IssuerProfile {
    IssuerProfile {
        context: CONTEXT,
        kind: "Issuer",
        id: urls.issuer(issuer.id),
        name: issuer.name.to_string(),
        url: issuer.url.to_string(),
        email: issuer.email.to_string(),
        description: issuer.description.as_ref().map(ToString::to_string),
        image: issuer
            .image
            .as_ref()
            .map(|image| urls.issuer_image(issuer.id, image.extension())),
        public_key: profile_public_keys(issuer.id, keys, urls),
        revocation_list: assertion_revocation_list_url(urls, issuer.id),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Criteria {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub narrative: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    pub target_name: String,
    pub target_url: String,
    pub target_description: String,
    pub target_framework: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadgeClass {
    #[serde(rename = "@context")]
    pub context: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub description: String,
    pub image: String,
    pub criteria: Criteria,
    pub issuer: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<Alignment>,
}

/// The BadgeClass of an achievement. Its level appears as a tag and as an alignment to the
/// level's page on our domain.
pub fn badge_class(achievement: &Achievement, urls: &PublicUrls) -> BadgeClass {
    let mut tags: Vec<String> = achievement.tags.iter().map(ToString::to_string).collect();
    let mut alignment = Vec::new();
    if let Some(level) = achievement.level {
        if !tags.iter().any(|tag| tag == level.title()) {
            tags.push(level.title().to_owned());
        }
        alignment.push(Alignment {
            target_name: level.title().to_owned(),
            target_url: urls.level_page(level),
            target_description: level.description().to_owned(),
            target_framework: LEVEL_FRAMEWORK.to_owned(),
        });
    }
    BadgeClass {
        context: CONTEXT,
        kind: "BadgeClass",
        id: urls.badge_class(achievement.id),
        name: achievement.name.to_string(),
        description: achievement.description.to_string(),
        image: urls.badge_class_image(
            achievement.id,
            achievement
                .images
                .primary()
                .map_or("png", StoredImage::extension),
        ),
        criteria: Criteria {
            id: achievement.criteria_url.as_ref().map(ToString::to_string),
            narrative: achievement.criteria_narrative.to_string(),
        },
        issuer: urls.issuer(achievement.issuer_id),
        tags,
        alignment,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub hashed: bool,
    pub salt: String,
    pub identity: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceObject {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assertion {
    #[serde(rename = "@context")]
    pub context: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub recipient: IdentityObject,
    pub badge: String,
    pub verification: Verification,
    pub issued_on: String,
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// The hosted assertion of a claimed award. The recipient is the hashed, salted identity
/// fixed at claim time; names never appear in it. `image` is the baked image in the format
/// of the achievement's primary image.
pub fn hosted_assertion(
    award: &Award,
    achievement: &Achievement,
    claim: &ClaimRecord,
    urls: &PublicUrls,
) -> Assertion {
    let evidence = award
        .evidence
        .iter()
        .map(|item| EvidenceObject {
            kind: "Evidence",
            id: item.url.as_ref().map(ToString::to_string),
            narrative: item.narrative.as_ref().map(ToString::to_string),
        })
        .collect();
    Assertion {
        context: CONTEXT,
        kind: "Assertion",
        id: urls.assertion(award.id),
        recipient: IdentityObject {
            kind: "email",
            hashed: true,
            salt: claim.salt.clone(),
            identity: claim.identity_hash.clone(),
        },
        badge: urls.badge_class(award.achievement_id),
        verification: Verification {
            kind: "HostedBadge",
        },
        issued_on: award.issued_on.to_rfc3339(),
        image: urls.assertion_image(
            award.id,
            achievement
                .images
                .primary()
                .map_or("png", StoredImage::extension),
        ),
        evidence,
        narrative: award.narrative.as_ref().map(ToString::to_string),
        expires: award.expires_at.map(|at| at.to_rfc3339()),
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedAssertion {
    #[serde(rename = "@context")]
    pub context: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub revoked: bool,
    pub revocation_reason: String,
}

/// The reduced body served with 410 Gone after revocation: no recipient data.
pub fn revoked_assertion(award: &Award, urls: &PublicUrls) -> Option<RevokedAssertion> {
    let revocation = award.revocation.as_ref()?;
    Some(RevokedAssertion {
        context: CONTEXT,
        kind: "Assertion",
        id: urls.assertion(award.id),
        revoked: true,
        revocation_reason: revocation.reason.to_string(),
    })
}

/// Serialises a document to the exact bytes that are stored and served.
pub fn to_json<T: Serialize>(document: &T) -> String {
    // Serialising these plain structs of strings cannot fail.
    serde_json::to_string(document).unwrap_or_else(|_| unreachable!())
}
