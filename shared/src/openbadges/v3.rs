//! Open Badges 3.0: the `OpenBadgeCredential` of a claimed award and its VC-JWT.
//!
//! A credential is minted once, after the claim, and frozen: the credential JSON and the
//! compact JWS are stored and served byte for byte ([`SignedCredential`]). Its parts:
//!
//! - `@context`: the VC 2.0 context, the Open Badges 3.0.3 context, then the Open Badges
//!   extensions context, which defines `1EdTechJsonSchemaValidator2019` and
//!   `1EdTechRevocationList` (the types of `credentialSchema` and `credentialStatus`).
//! - `id` is `urn:uuid:{award id}`, the award id that every other URL of the award uses.
//! - `issuer` is a `Profile` whose `id` is the issuer's Open Badges 2.0 profile URL.
//! - `validFrom` is the claim time and `validUntil` the award's expiry; `awardedDate` keeps
//!   the date the partner issued the award.
//! - `credentialSubject.identifier` contains the recipient's email only as a salted SHA-256
//!   hash, with a salt of its own (never the 2.0 assertion's, so the two hashes cannot be
//!   matched). No name and no plain email of the young person appears.
//! - `credentialStatus` points at the issuer's 1EdTech revocation list.
//!
//! # The subject's `id` and the JWT `sub`
//!
//! The VC-JWT rules of Open Badges 3.0 map `sub` to `credentialSubject.id` and list it among
//! the claims a verifier requires, while recipients here have no wallet DID: the
//! implementation guide suggests leaving the subject without `id` and identifying it by the
//! hashed email alone, which leaves nothing for `sub`. We give every award's subject an
//! opaque `id`, `urn:uuid:` and a fresh random UUID drawn when the credential is minted, and
//! set `sub` to it. So the JWT carries every registered claim that verifiers check, the
//! claims and the credential agree, and the id reveals nothing and links no two awards of
//! one person. The recipient is still proved by the hashed email `identifier`.

use jsonwebtoken::Header;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::identity_hash;
use crate::domain::{self, Award, AwardId, ClaimRecord, Issuer, StoredImage, Timestamp};
use crate::keys::{KeyError, KeyId, SigningKey};
use crate::openbadges::revocation::{REVOCATION_LIST_TYPE, revocation_list_url};
use crate::openbadges::v2;
use crate::ports::Random;
use crate::urls::PublicUrls;

/// The W3C Verifiable Credentials 2.0 context, first in every credential.
pub const CONTEXT_VC2: &str = "https://www.w3.org/ns/credentials/v2";
/// The Open Badges 3.0 context, second.
pub const CONTEXT_OB3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The Open Badges 3.0 extensions context, which defines the `credentialSchema` and
/// `credentialStatus` types used here.
pub const CONTEXT_OB3_EXTENSIONS: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
/// The 1EdTech JSON Schema of `AchievementCredential`, named in `credentialSchema`.
pub const ACHIEVEMENT_CREDENTIAL_SCHEMA: &str =
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";
/// The `credentialSchema` type of that schema.
pub const SCHEMA_VALIDATOR_TYPE: &str = "1EdTechJsonSchemaValidator2019";
/// The media type of the credential JSON.
pub const CREDENTIAL_MEDIA_TYPE: &str = "application/vc+ld+json";
/// The `typ` of the JOSE header.
pub const JWT_TYPE: &str = "JWT";

/// An image: `{id, type: "Image", caption}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// The issuer as embedded in the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

/// A hashed recipient identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub hashed: bool,
    /// `sha256$` and the hex digest of the normalised email with the salt appended.
    pub identity_hash: String,
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub target_name: String,
    pub target_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
}

/// The achievement that the badge recognises, the Open Badges 2.0 BadgeClass of the same
/// achievement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    pub name: String,
    pub description: String,
    pub criteria: Criteria,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<Alignment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<String>,
}

/// The recipient and what they achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AchievementSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<IdentityObject>,
    pub achievement: Achievement,
    /// The partner's reason for this award, as the partner wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// A `credentialSchema` or `credentialStatus` entry: `{id, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedLink {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// An Open Badges 3.0 `OpenBadgeCredential`, in the field order it is serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenBadgeCredential {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub issuer: Profile,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub valid_from: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awarded_date: Option<Timestamp>,
    pub credential_subject: AchievementSubject,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_schema: Vec<TypedLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<TypedLink>,
}

/// Returns the credential id of an award: `urn:uuid:{award id}`.
pub fn credential_id(award: AwardId) -> String {
    format!("urn:uuid:{award}")
}

/// Returns the URL of an award's credential JSON (or its HTML page).
pub fn credential_url(urls: &PublicUrls, award: AwardId) -> String {
    urls.join(&format!("/credentials/{award}"))
}

/// Returns the URL that serves the credential JSON whatever the `Accept` header requests,
/// for download links (browsers request HTML).
pub fn credential_download_url(urls: &PublicUrls, award: AwardId) -> String {
    urls.join(&format!("/credentials/{award}.json"))
}

/// Returns the URL of an award's VC-JWT, the compact JWS as `text/plain`.
pub fn credential_jwt_url(urls: &PublicUrls, award: AwardId) -> String {
    urls.join(&format!("/credentials/{award}.jwt"))
}

/// Returns the URL of an award's baked Open Badges 3.0 image (`png` or `svg`).
pub fn credential_image_url(urls: &PublicUrls, award: AwardId, extension: &str) -> String {
    urls.join(&format!("/credentials/{award}/image.{extension}"))
}

/// Returns the file store key of the frozen credential JSON.
pub fn credential_json_key(award: AwardId) -> String {
    format!("credentials/{award}.json")
}

/// Returns the file store key of the frozen compact JWS. It is written after the JSON, so its
/// presence marks a complete credential.
pub fn credential_jwt_key(award: AwardId) -> String {
    format!("credentials/{award}.jwt")
}

/// Returns the file store key of a baked Open Badges 3.0 image (`png` or `svg`).
pub fn credential_image_key(award: AwardId, extension: &str) -> String {
    format!("credentials/{award}/image.{extension}")
}

/// The random parts of a credential, drawn once when it is minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectIdentity {
    /// The UUID of the subject's opaque `urn:uuid:` id (and the JWT `sub`).
    pub subject_id: Uuid,
    /// The salt of the identity hash; never the 2.0 assertion's salt.
    pub salt: String,
}

/// The salt source returned the 2.0 assertion's salt twice in a row, so no fresh salt could
/// be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the random source returned the assertion's salt again; the credential needs a salt of its own, so check the random source"
)]
pub struct SaltNotFresh;

impl SubjectIdentity {
    /// Draws a subject id and a salt that differs from the 2.0 assertion's salt.
    pub fn draw(random: &dyn Random, claim: &ClaimRecord) -> Result<Self, SaltNotFresh> {
        let subject_id = random.uuid();
        // 128 random bits never repeat in practice; the second draw guards against a random
        // source stuck on one value.
        let salt = [random.salt(), random.salt()]
            .into_iter()
            .find(|salt| *salt != claim.salt)
            .ok_or(SaltNotFresh)?;
        Ok(Self { subject_id, salt })
    }
}

fn image(url: String, caption: &str) -> Image {
    Image {
        id: url,
        kind: "Image".to_owned(),
        caption: Some(caption.to_owned()),
    }
}

/// Builds the credential of a claimed award. The level appears as the same alignment and
/// tag as in the Open Badges 2.0 BadgeClass.
pub fn build_credential(
    award: &Award,
    achievement: &domain::Achievement,
    issuer: &Issuer,
    claim: &ClaimRecord,
    subject: &SubjectIdentity,
    urls: &PublicUrls,
) -> OpenBadgeCredential {
    let badge_class = v2::badge_class(achievement, urls);
    let achievement_image = achievement.images.primary().map(|stored: &StoredImage| {
        image(
            urls.badge_class_image(achievement.id, stored.extension()),
            achievement.name.as_str(),
        )
    });
    let alignment = badge_class
        .alignment
        .into_iter()
        .map(|item| Alignment {
            types: vec!["Alignment".to_owned()],
            target_name: item.target_name,
            target_url: item.target_url,
            target_description: Some(item.target_description),
            target_framework: Some(item.target_framework),
        })
        .collect();
    let evidence = award
        .evidence
        .iter()
        .map(|item| Evidence {
            id: item.url.as_ref().map(ToString::to_string),
            types: vec!["Evidence".to_owned()],
            narrative: item.narrative.as_ref().map(ToString::to_string),
        })
        .collect();

    OpenBadgeCredential {
        context: vec![
            CONTEXT_VC2.to_owned(),
            CONTEXT_OB3.to_owned(),
            CONTEXT_OB3_EXTENSIONS.to_owned(),
        ],
        id: credential_id(award.id),
        types: vec![
            "VerifiableCredential".to_owned(),
            "OpenBadgeCredential".to_owned(),
        ],
        issuer: Profile {
            id: urls.issuer(issuer.id),
            types: vec!["Profile".to_owned()],
            name: Some(issuer.name.to_string()),
            url: Some(issuer.url.to_string()),
            email: Some(issuer.email.to_string()),
            description: issuer.description.as_ref().map(ToString::to_string),
            image: issuer.image.as_ref().map(|stored| {
                image(
                    urls.issuer_image(issuer.id, stored.extension()),
                    &format!("Logo of {}", issuer.name),
                )
            }),
        },
        name: achievement.name.to_string(),
        description: Some(achievement.description.to_string()),
        image: achievement_image.clone(),
        valid_from: claim.claimed_at,
        valid_until: award.expires_at,
        awarded_date: Some(award.issued_on),
        credential_subject: AchievementSubject {
            id: Some(format!("urn:uuid:{}", subject.subject_id)),
            types: vec!["AchievementSubject".to_owned()],
            identifier: vec![IdentityObject {
                kind: "IdentityObject".to_owned(),
                hashed: true,
                identity_hash: identity_hash(&claim.identity, &subject.salt),
                identity_type: "emailAddress".to_owned(),
                salt: Some(subject.salt.clone()),
            }],
            achievement: Achievement {
                id: badge_class.id,
                types: vec!["Achievement".to_owned()],
                achievement_type: Some("Badge".to_owned()),
                name: badge_class.name,
                description: badge_class.description,
                criteria: Criteria {
                    id: badge_class.criteria.id,
                    narrative: Some(badge_class.criteria.narrative),
                },
                image: achievement_image,
                alignment,
                tag: badge_class.tags,
            },
            narrative: award.narrative.as_ref().map(ToString::to_string),
        },
        evidence,
        credential_schema: vec![TypedLink {
            id: ACHIEVEMENT_CREDENTIAL_SCHEMA.to_owned(),
            kind: SCHEMA_VALIDATOR_TYPE.to_owned(),
        }],
        credential_status: Some(TypedLink {
            id: revocation_list_url(urls, issuer.id),
            kind: REVOCATION_LIST_TYPE.to_owned(),
        }),
    }
}

/// The registered JWT claims of a VC-JWT, derived from the credential: `iss` = `issuer.id`,
/// `jti` = `id`, `sub` = `credentialSubject.id`, `nbf` = `validFrom` and `exp` =
/// `validUntil` as NumericDate (Unix seconds). A verifier compares a payload's claims with
/// [`RegisteredClaims::of`] its credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    pub iss: String,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

impl RegisteredClaims {
    /// Derives the claims that a VC-JWT of `credential` carries.
    pub fn of(credential: &OpenBadgeCredential) -> Self {
        Self {
            iss: credential.issuer.id.clone(),
            jti: credential.id.clone(),
            sub: credential.credential_subject.id.clone(),
            nbf: credential.valid_from.unix_seconds(),
            exp: credential.valid_until.map(|at| at.unix_seconds()),
        }
    }
}

/// The JWT payload: the credential's members at the top level, then the registered claims.
#[derive(Serialize)]
struct VcJwtPayload<'a> {
    #[serde(flatten)]
    credential: &'a OpenBadgeCredential,
    #[serde(flatten)]
    claims: RegisteredClaims,
}

/// Builds the JOSE header of a VC-JWT: exactly `alg`, `kid` (the key's URL) and `typ: "JWT"`.
pub fn vc_jwt_header(key: &SigningKey, urls: &PublicUrls) -> Header {
    let mut header = Header::new(key.algorithm().jwt_algorithm());
    header.typ = Some(JWT_TYPE.to_owned());
    header.kid = Some(key.public().kid(urls));
    header
}

/// A minted credential: the exact bytes stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCredential {
    pub credential: OpenBadgeCredential,
    /// The credential JSON, served at [`credential_url`].
    pub json: String,
    /// The compact JWS, served at [`credential_jwt_url`] and baked into the 3.0 images.
    pub jws: String,
    /// The key that signed it.
    pub key_id: KeyId,
}

/// Signs a credential as a VC-JWT with `key`.
pub fn sign_credential(
    credential: OpenBadgeCredential,
    key: &SigningKey,
    urls: &PublicUrls,
) -> Result<SignedCredential, KeyError> {
    let payload = VcJwtPayload {
        credential: &credential,
        claims: RegisteredClaims::of(&credential),
    };
    let jws = key.sign(&vc_jwt_header(key, urls), &payload)?;
    let json = v2::to_json(&credential);
    Ok(SignedCredential {
        credential,
        json,
        jws,
        key_id: key.key_id().clone(),
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::Value;

    use super::*;
    use crate::adapters::contract::fixtures;
    use crate::domain::{EmailAddress, Level};
    use crate::keys::SigningAlgorithm;

    const BASE: &str = "https://badges.example.org";

    fn claimed() -> (Award, domain::Achievement, Issuer, ClaimRecord) {
        let issuer = fixtures::issuer();
        let mut achievement = fixtures::achievement(issuer.id);
        achievement.level = Some(Level::Lead);
        let mut award = fixtures::award(issuer.id, achievement.id, "amara@example.org");
        award.expires_at = Some(Timestamp::from_unix_seconds(1_900_000_000));
        let identity = EmailAddress::parse("Amara@Example.org").unwrap();
        let claim = ClaimRecord {
            claimed_at: Timestamp::from_unix_seconds(1_800_000_000),
            identity_hash: identity_hash(&identity, "assertion-salt"),
            identity,
            salt: "assertion-salt".to_owned(),
            display_name: None,
            show_name: false,
        };
        (award, achievement, issuer, claim)
    }

    fn subject() -> SubjectIdentity {
        SubjectIdentity {
            subject_id: Uuid::from_u128(7),
            salt: "credential-salt".to_owned(),
        }
    }

    fn decode_part(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn credential_has_required_shape() {
        let (award, achievement, issuer, claim) = claimed();
        let urls = PublicUrls::parse(BASE).unwrap();
        let credential = build_credential(&award, &achievement, &issuer, &claim, &subject(), &urls);
        let value = serde_json::to_value(&credential).unwrap();

        assert_eq!(
            value["@context"],
            serde_json::json!([CONTEXT_VC2, CONTEXT_OB3, CONTEXT_OB3_EXTENSIONS])
        );
        assert_eq!(value["id"], format!("urn:uuid:{}", award.id));
        assert_eq!(value["issuer"]["id"], urls.issuer(issuer.id));
        assert_eq!(value["validFrom"], "2027-01-15T08:00:00Z");
        assert_eq!(value["validUntil"], "2030-03-17T17:46:40Z");
        let identifier = &value["credentialSubject"]["identifier"][0];
        assert_eq!(identifier["identityType"], "emailAddress");
        assert_eq!(identifier["salt"], "credential-salt");
        assert_eq!(
            identifier["identityHash"],
            identity_hash(&claim.identity, "credential-salt")
        );
        assert_ne!(identifier["identityHash"], claim.identity_hash);
        let alignment = &value["credentialSubject"]["achievement"]["alignment"][0];
        assert_eq!(alignment["targetName"], "Lead");
        assert_eq!(alignment["type"], serde_json::json!(["Alignment"]));
        assert_eq!(value["credentialStatus"]["type"], "1EdTechRevocationList");

        let text = value.to_string();
        assert!(!text.contains("amara"), "no plain email: {text}");
        assert!(!text.to_lowercase().contains("amara@"), "no plain email");
    }

    fn round_trip(algorithm: SigningAlgorithm) {
        let (award, achievement, issuer, claim) = claimed();
        let urls = PublicUrls::parse(BASE).unwrap();
        let key =
            SigningKey::generate(issuer.id, algorithm, Timestamp::from_unix_seconds(0)).unwrap();
        let credential = build_credential(&award, &achievement, &issuer, &claim, &subject(), &urls);
        let signed = sign_credential(credential.clone(), &key, &urls).unwrap();

        let parts: Vec<&str> = signed.jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode_part(parts[0]);
        let members: Vec<&String> = header.as_object().unwrap().keys().collect();
        assert_eq!(members, vec!["alg", "kid", "typ"], "header {header}");
        assert_eq!(header["alg"], algorithm.as_str());
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], key.public().kid(&urls));

        let payload = decode_part(parts[1]);
        assert_eq!(payload["iss"], credential.issuer.id);
        assert_eq!(payload["jti"], credential.id);
        assert_eq!(payload["sub"], format!("urn:uuid:{}", Uuid::from_u128(7)));
        assert_eq!(payload["sub"], payload["credentialSubject"]["id"]);
        assert_eq!(payload["nbf"], 1_800_000_000);
        assert_eq!(payload["exp"], 1_900_000_000);
        let mut without_claims = payload.clone();
        for claim in ["iss", "jti", "sub", "nbf", "exp"] {
            without_claims.as_object_mut().unwrap().remove(claim);
        }
        let stored: Value = serde_json::from_str(&signed.json).unwrap();
        assert_eq!(
            without_claims, stored,
            "the payload is the stored credential"
        );
        let parsed: OpenBadgeCredential = serde_json::from_str(&signed.json).unwrap();
        assert_eq!(parsed, credential);
    }

    #[test]
    fn rs256_vc_jwt_header_and_claims() {
        round_trip(SigningAlgorithm::Rs256);
    }

    #[test]
    fn es256_vc_jwt_header_and_claims() {
        round_trip(SigningAlgorithm::Es256);
    }

    #[test]
    fn salt_must_differ_from_assertion_salt() {
        let (_, _, _, claim) = claimed();
        let random = crate::adapters::system::SequenceRandom::new();
        random.fix_salt(&claim.salt);
        assert_eq!(SubjectIdentity::draw(&random, &claim), Err(SaltNotFresh));
        random.fix_salt("other");
        let drawn = SubjectIdentity::draw(&random, &claim).unwrap();
        assert_eq!(drawn.salt, "other");
    }
}
