//! Issuer signing keys: generation, the public forms that verifiers fetch, and signing.
//!
//! Every issuer has one or more key pairs, RS256 (RSA 2048) by default or ES256 (P-256).
//! Rotation adds a key and makes it the active one; no key is ever removed, because every
//! credential signed with it must stay verifiable for its whole life.
//!
//! # Identifiers and URLs
//!
//! - A key's id ([`KeyId`]) is its RFC 7638 JWK thumbprint (SHA-256, base64url), so the id
//!   follows from the key itself and a verifier can recompute it.
//! - The JOSE `kid` is the key's URL, `{PUBLIC_BASE_URL}/keys/{key-id}` ([`key_url`]), which
//!   returns that one key as a bare JWK, so the `kid` dereferences as the Open Badges 3.0
//!   verification flow expects.
//! - The JWK Set at `{PUBLIC_BASE_URL}/.well-known/jwks.json` ([`jwks_url`]) lists every key
//!   of every issuer with the same `kid`, plus `alg`, `use: "sig"` and `iss` (the issuer id).
//! - The Open Badges 2.0 `CryptographicKey` document of a key is at
//!   `/issuers/{issuer-id}/keys/{key-id}` ([`cryptographic_key_url`]): a separate URL, so the
//!   `kid` URL returns a bare JWK whatever `Accept` header a verifier sends.
//!
//! # Storage
//!
//! The [`SigningKeys`](crate::ports::SigningKeys) port keeps the public metadata
//! ([`PublicKeyRecord`]) in the store and the private halves elsewhere: locally as PKCS#8 PEM
//! files in a [`KeyFolder`] (mode 0600), in AWS as SSM SecureString parameters. Log key ids
//! only, never key material.

mod folder;
mod jwk;
mod material;
mod memory;

pub use folder::KeyFolder;
pub use jwk::{JwkSet, PublicJwk, PublishedJwk, jwk_set};
pub use material::{SigningKey, rsa_key_bits};
pub use memory::MemorySigningKeys;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{IssuerId, Timestamp};
use crate::ports::StoreError;
use crate::urls::PublicUrls;

/// The path of the JWK Set under the public base URL.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The media type of a JWK Set (RFC 7517).
pub const JWK_SET_MEDIA_TYPE: &str = "application/jwk-set+json";
/// The media type of a single JWK (RFC 7517).
pub const JWK_MEDIA_TYPE: &str = "application/jwk+json";
/// The RSA modulus size of generated keys. RS256 with 2048-bit keys is what the Open Badges
/// 3.0 verifiers must support.
pub const RSA_KEY_BITS: usize = 2048;
/// The smallest RSA modulus accepted from a key file.
pub const MIN_RSA_KEY_BITS: usize = 2048;

/// The JOSE algorithms issuers sign with. The 1EdTech Open Badges 3.0 validator accepts only
/// these two, and Open Badges 2.0 signed badges need RS256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048.
    Rs256,
    /// ECDSA with P-256 and SHA-256.
    Es256,
}

impl SigningAlgorithm {
    /// The JOSE name: `RS256` or `ES256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// The same algorithm as `jsonwebtoken` names it.
    pub const fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An algorithm name other than `RS256` and `ES256`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "signing algorithm {0:?} is not supported; use RS256 or ES256 (JOSE names are case-sensitive)"
)]
pub struct UnsupportedAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnsupportedAlgorithm;

    /// Accepts the exact JOSE names only, because JOSE algorithm names are case-sensitive.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            other => Err(UnsupportedAlgorithm(other.chars().take(20).collect())),
        }
    }
}

impl Serialize for SigningAlgorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SigningAlgorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

/// A key's id: the RFC 7638 JWK thumbprint of its public key, 43 base64url characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

/// A string that cannot be a key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "key id {0:?} is not valid; a key id is the 43-character base64url JWK thumbprint that `accolade keys list` shows"
)]
pub struct InvalidKeyId(pub String);

impl KeyId {
    /// The length of a base64url SHA-256 digest without padding.
    pub const LEN: usize = 43;

    /// Parses a key id: exactly 43 characters of the base64url alphabet.
    pub fn parse(value: &str) -> Result<Self, InvalidKeyId> {
        let valid = value.len() == Self::LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidKeyId(value.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KeyId {
    type Err = InvalidKeyId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// The public half of a signing key and what is published about it: the record that the
/// JWK Set, the `kid` URL and the Open Badges 2.0 `CryptographicKey` are rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyRecord {
    pub key_id: KeyId,
    pub issuer_id: IssuerId,
    pub algorithm: SigningAlgorithm,
    /// The public key as a JWK (key members only).
    pub jwk: PublicJwk,
    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), published as the
    /// Open Badges 2.0 `publicKeyPem`.
    pub public_key_pem: String,
    pub created_at: Timestamp,
}

impl PublicKeyRecord {
    /// The JOSE `kid` of this key: the URL that returns it as a bare JWK.
    pub fn kid(&self, urls: &PublicUrls) -> String {
        key_url(urls, &self.key_id)
    }

    /// The key as published in the JWK Set and at its `kid` URL.
    pub fn published_jwk(&self, urls: &PublicUrls) -> PublishedJwk {
        PublishedJwk {
            key: self.jwk.clone(),
            kid: self.kid(urls),
            alg: self.algorithm,
            key_use: "sig".to_owned(),
            iss: urls.issuer(self.issuer_id),
        }
    }

    /// The key for checking a signature with `jsonwebtoken`, built from the JWK members.
    pub fn decoding_key(&self) -> Result<jsonwebtoken::DecodingKey, KeyError> {
        self.jwk
            .decoding_key()
            .map_err(|reason| KeyError::InvalidPublicKey {
                key_id: self.key_id.clone(),
                reason,
            })
    }
}

/// The JOSE `kid` and URL of a key: `{base}/keys/{key-id}`.
pub fn key_url(urls: &PublicUrls, key_id: &KeyId) -> String {
    urls.join(&format!("/keys/{key_id}"))
}

/// Returns the key id named by a `kid` URL of this deployment, or `None` when `kid` is not
/// exactly `{base}/keys/{key-id}` (another host, a query, a malformed id).
pub fn key_id_from_url(urls: &PublicUrls, kid: &str) -> Option<KeyId> {
    let rest = kid.strip_prefix(urls.base())?.strip_prefix("/keys/")?;
    KeyId::parse(rest).ok()
}

/// The URL of the JWK Set of every issuer's keys.
pub fn jwks_url(urls: &PublicUrls) -> String {
    urls.join(JWKS_PATH)
}

/// The URL of a key's Open Badges 2.0 `CryptographicKey` document, which signed 2.0
/// assertions name as `verification.creator`.
pub fn cryptographic_key_url(urls: &PublicUrls, issuer: IssuerId, key_id: &KeyId) -> String {
    urls.join(&format!("/issuers/{issuer}/keys/{key_id}"))
}

/// A failure to make, read, store or use a signing key. Messages name the key id, never
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the private key of signing key {key_id} is missing from {location}; restore it from a backup, or run `accolade keys generate` to add a new key"
    )]
    PrivateKeyMissing { key_id: KeyId, location: String },
    #[error("the private key in {location} is not usable: {reason}")]
    InvalidPrivateKey { location: String, reason: String },
    #[error(
        "the private key in {location} belongs to key {found}, not to key {expected}; restore the right file"
    )]
    KeyMismatch {
        location: String,
        expected: KeyId,
        found: KeyId,
    },
    #[error("the public key {key_id} is not usable: {reason}")]
    InvalidPublicKey { key_id: KeyId, reason: String },
    #[error("generating a {algorithm} key failed: {reason}")]
    Generation {
        algorithm: SigningAlgorithm,
        reason: String,
    },
    #[error("signing with key {key_id} failed: {reason}")]
    Signing { key_id: KeyId, reason: String },
    #[error("a signing key with id {0} exists already")]
    AlreadyExists(KeyId),
    #[error("key store failed: {0}")]
    Store(#[from] StoreError),
    #[error("key storage failed: {0:#}")]
    Backend(#[source] anyhow::Error),
}

impl KeyError {
    /// Returns whether trying again later can succeed without anyone fixing keys or data.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(error) => !matches!(error, StoreError::AlreadyExists),
            Self::Backend(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_are_case_sensitive() {
        assert_eq!("RS256".parse(), Ok(SigningAlgorithm::Rs256));
        assert_eq!("ES256".parse(), Ok(SigningAlgorithm::Es256));
        assert!("rs256".parse::<SigningAlgorithm>().is_err());
        assert!("HS256".parse::<SigningAlgorithm>().is_err());
        assert!("none".parse::<SigningAlgorithm>().is_err());
    }

    #[test]
    fn key_id_accepts_thumbprints_only() {
        let id = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(KeyId::parse(id).unwrap().as_str(), id);
        for bad in ["", "short", &format!("{id}x"), &id.replace('N', "+")] {
            assert!(KeyId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kid_url_round_trips() {
        let urls = PublicUrls::parse("https://badges.example.org").unwrap();
        let id = KeyId::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").unwrap();
        let url = key_url(&urls, &id);
        assert_eq!(
            url,
            "https://badges.example.org/keys/NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key_id_from_url(&urls, &url), Some(id));
        assert_eq!(
            key_id_from_url(&urls, &url.replace("badges.example.org", "evil.example")),
            None
        );
        assert_eq!(key_id_from_url(&urls, &format!("{url}?x=1")), None);
    }
}
