//! JSON Web Keys (RFC 7517): the public key members, their RFC 7638 thumbprint, and the
//! published form with `kid`, `alg`, `use` and `iss`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{KeyId, PublicKeyRecord, SigningAlgorithm};
use crate::urls::PublicUrls;

/// The key members of a public JWK: RSA (`n`, `e`) or an elliptic curve point (`crv`, `x`,
/// `y`). Values are base64url without padding, as RFC 7518 defines them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kty")]
pub enum PublicJwk {
    #[serde(rename = "RSA")]
    Rsa { n: String, e: String },
    #[serde(rename = "EC")]
    Ec { crv: String, x: String, y: String },
}

impl PublicJwk {
    /// The RFC 7638 thumbprint: the SHA-256 of the required members in lexicographic order
    /// with no whitespace, base64url without padding.
    pub fn thumbprint(&self) -> KeyId {
        let mut members = BTreeMap::new();
        match self {
            Self::Rsa { n, e } => {
                members.insert("e", e.as_str());
                members.insert("kty", "RSA");
                members.insert("n", n.as_str());
            }
            Self::Ec { crv, x, y } => {
                members.insert("crv", crv.as_str());
                members.insert("kty", "EC");
                members.insert("x", x.as_str());
                members.insert("y", y.as_str());
            }
        }
        // A map of strings always serialises.
        let canonical = serde_json::to_string(&members).unwrap_or_default();
        let digest = Sha256::digest(canonical.as_bytes());
        KeyId(URL_SAFE_NO_PAD.encode(digest))
    }

    /// The key for `jsonwebtoken` signature checks; the error says which member is wrong.
    pub fn decoding_key(&self) -> Result<jsonwebtoken::DecodingKey, String> {
        match self {
            Self::Rsa { n, e } => jsonwebtoken::DecodingKey::from_rsa_components(n, e)
                .map_err(|error| format!("the RSA members n and e are invalid: {error}")),
            Self::Ec { crv, x, y } => {
                if crv != "P-256" {
                    return Err(format!("curve {crv:?} is not supported; only P-256 is"));
                }
                jsonwebtoken::DecodingKey::from_ec_components(x, y)
                    .map_err(|error| format!("the EC members x and y are invalid: {error}"))
            }
        }
    }

    /// The algorithm this key type signs with here.
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Rsa { .. } => SigningAlgorithm::Rs256,
            Self::Ec { .. } => SigningAlgorithm::Es256,
        }
    }
}

/// A public JWK as published in the JWK Set and at its `kid` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedJwk {
    #[serde(flatten)]
    pub key: PublicJwk,
    /// Exactly the `kid` of the JOSE headers signed with this key: its URL.
    pub kid: String,
    pub alg: SigningAlgorithm,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// The id of the issuer that owns the key, as the Open Badges 3.0 implementation guide
    /// suggests for platforms with many issuers.
    pub iss: String,
}

/// A JWK Set document (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<PublishedJwk>,
}

/// The JWK Set of these keys, in the order given.
pub fn jwk_set(records: &[PublicKeyRecord], urls: &PublicUrls) -> JwkSet {
    JwkSet {
        keys: records
            .iter()
            .map(|record| record.published_jwk(urls))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RSA key of RFC 7638 §3.1, whose thumbprint the RFC gives.
    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let jwk = PublicJwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".to_owned(),
            e: "AQAB".to_owned(),
        };
        assert_eq!(
            jwk.thumbprint().as_str(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn published_jwk_has_flat_members() {
        let published = PublishedJwk {
            key: PublicJwk::Ec {
                crv: "P-256".to_owned(),
                x: "x".to_owned(),
                y: "y".to_owned(),
            },
            kid: "https://badges.example.org/keys/k".to_owned(),
            alg: SigningAlgorithm::Es256,
            key_use: "sig".to_owned(),
            iss: "https://badges.example.org/issuers/i".to_owned(),
        };
        let value = serde_json::to_value(&published).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "kty": "EC", "crv": "P-256", "x": "x", "y": "y",
                "kid": "https://badges.example.org/keys/k", "alg": "ES256", "use": "sig",
                "iss": "https://badges.example.org/issuers/i"
            })
        );
        let back: PublishedJwk = serde_json::from_value(value).unwrap();
        assert_eq!(back, published);
    }
}
