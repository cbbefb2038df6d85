//! Signed Open Badges 2.0: the `SignedBadge` assertion of a claimed award, its compact JWS,
//! and the issuer's `CryptographicKey` documents.
//!
//! The signed assertion carries the same recipient, badge, dates, evidence and narrative as
//! the hosted one. Its `id` is `urn:uuid:{award id}`, the form the specification recommends
//! for signed assertions, and `verification` names the signing key's `CryptographicKey`
//! URL as `creator`. It is signed RS256 only, because Open Badges 2.0 verifiers (the 1EdTech
//! validator among them) read `publicKeyPem` as an RSA key. The JOSE header is
//! `{"alg":"RS256"}`.
//!
//! Verifiers follow the links both ways: assertion → `creator` key → `owner` issuer, and
//! Issuer Profile → `publicKey` list, which must contain the key. Revocation of a signed
//! assertion is published in the issuer's `RevocationList`
//! ([`assertion_revocation_list`](crate::openbadges::revocation::assertion_revocation_list)).

use jsonwebtoken::Header;
use serde::{Deserialize, Serialize};

use crate::domain::{Achievement, Award, AwardId, ClaimRecord, IssuerId};
use crate::keys::{KeyError, PublicKeyRecord, SigningAlgorithm, SigningKey, cryptographic_key_url};
use crate::openbadges::v2::{self, CONTEXT, EvidenceObject, IdentityObject};
use crate::openbadges::v3::credential_id;
use crate::urls::PublicUrls;

/// Returns the URL of an award's signed assertion, a compact JWS served as `text/plain`.
pub fn signed_assertion_url(urls: &PublicUrls, award: AwardId) -> String {
    urls.join(&format!("/assertions/{award}/signed.jws"))
}

/// Returns the URL of an award's signed assertion baked into an image (`png` or `svg`).
pub fn signed_image_url(urls: &PublicUrls, award: AwardId, extension: &str) -> String {
    urls.join(&format!("/assertions/{award}/signed.{extension}"))
}

/// Returns the file store key of the frozen signed assertion.
pub fn signed_assertion_key(award: AwardId) -> String {
    format!("assertions/{award}/signed.jws")
}

/// Returns the file store key of a baked signed assertion image.
pub fn signed_image_key(award: AwardId, extension: &str) -> String {
    format!("assertions/{award}/signed.{extension}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVerification {
    #[serde(rename = "type")]
    pub kind: String,
    /// The URL of the signing key's `CryptographicKey` document.
    pub creator: String,
}

/// A signed Open Badges 2.0 assertion (the JWS payload).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedAssertion {
    #[serde(rename = "@context")]
    pub context: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub recipient: IdentityObject,
    pub badge: String,
    pub verification: SignedVerification,
    pub issued_on: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Builds the signed assertion of a claimed award, to be signed with `key`.
pub fn signed_assertion(
    award: &Award,
    achievement: &Achievement,
    claim: &ClaimRecord,
    key: &PublicKeyRecord,
    urls: &PublicUrls,
) -> SignedAssertion {
    let hosted = v2::hosted_assertion(award, achievement, claim, urls);
    SignedAssertion {
        context: CONTEXT,
        kind: "Assertion",
        id: credential_id(award.id),
        recipient: hosted.recipient,
        badge: hosted.badge,
        verification: SignedVerification {
            kind: "SignedBadge".to_owned(),
            creator: cryptographic_key_url(urls, key.issuer_id, &key.key_id),
        },
        issued_on: hosted.issued_on,
        evidence: hosted.evidence,
        narrative: hosted.narrative,
        expires: hosted.expires,
    }
}

/// Signs a signed assertion as a compact JWS with header `{"alg":"RS256"}`. Fails for a key
/// that is not RS256.
pub fn sign_assertion(assertion: &SignedAssertion, key: &SigningKey) -> Result<String, KeyError> {
    if key.algorithm() != SigningAlgorithm::Rs256 {
        return Err(KeyError::Signing {
            key_id: key.key_id().clone(),
            reason: format!(
                "Open Badges 2.0 assertions are signed with RS256, but this key is {}",
                key.algorithm()
            ),
        });
    }
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = None;
    key.sign(&header, assertion)
}

/// An Open Badges 2.0 `CryptographicKey` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CryptographicKey {
    #[serde(rename = "@context")]
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// The id of the issuer that owns the key, which links the key back to its profile.
    pub owner: String,
    pub public_key_pem: String,
}

/// Builds the `CryptographicKey` document of a key.
pub fn cryptographic_key(record: &PublicKeyRecord, urls: &PublicUrls) -> CryptographicKey {
    CryptographicKey {
        context: CONTEXT.to_owned(),
        kind: "CryptographicKey".to_owned(),
        id: cryptographic_key_url(urls, record.issuer_id, &record.key_id),
        owner: urls.issuer(record.issuer_id),
        public_key_pem: record.public_key_pem.clone(),
    }
}

/// Lists the `publicKey` entries of an Issuer Profile: the `CryptographicKey` URLs of the issuer's
/// keys, oldest first.
pub fn profile_public_keys(
    issuer: IssuerId,
    keys: &[PublicKeyRecord],
    urls: &PublicUrls,
) -> Vec<String> {
    keys.iter()
        .filter(|record| record.issuer_id == issuer)
        .map(|record| cryptographic_key_url(urls, issuer, &record.key_id))
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::Value;

    use super::*;
    use crate::adapters::contract::fixtures;
    use crate::crypto::identity_hash;
    use crate::domain::{EmailAddress, Timestamp};

    #[test]
    fn signed_assertion_names_its_key_and_urn() {
        let urls = PublicUrls::parse("https://badges.example.org").unwrap();
        let issuer = fixtures::issuer();
        let achievement = fixtures::achievement(issuer.id);
        let award = fixtures::award(issuer.id, achievement.id, "amara@example.org");
        let identity = EmailAddress::parse("amara@example.org").unwrap();
        let claim = ClaimRecord {
            claimed_at: Timestamp::from_unix_seconds(1_800_000_000),
            identity_hash: identity_hash(&identity, "salt"),
            identity,
            salt: "salt".to_owned(),
            display_name: None,
            show_name: false,
        };
        let key = SigningKey::generate(
            issuer.id,
            SigningAlgorithm::Rs256,
            Timestamp::from_unix_seconds(0),
        )
        .unwrap();
        let assertion = signed_assertion(&award, &achievement, &claim, key.public(), &urls);
        let jws = sign_assertion(&assertion, &key).unwrap();

        let parts: Vec<&str> = jws.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "RS256"}));
        let payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["id"], format!("urn:uuid:{}", award.id));
        assert_eq!(payload["verification"]["type"], "SignedBadge");
        assert_eq!(
            payload["verification"]["creator"],
            cryptographic_key_url(&urls, issuer.id, key.key_id())
        );
        assert_eq!(payload["recipient"]["identity"], claim.identity_hash);

        let document = cryptographic_key(key.public(), &urls);
        assert_eq!(document.owner, urls.issuer(issuer.id));
        assert!(
            document
                .public_key_pem
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );

        let es256 = SigningKey::generate(
            issuer.id,
            SigningAlgorithm::Es256,
            Timestamp::from_unix_seconds(0),
        )
        .unwrap();
        assert!(sign_assertion(&assertion, &es256).is_err());
    }
}
