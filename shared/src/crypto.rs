//! Hashes and MACs: recipient identity hashes, claim token MACs, client secret hashes and
//! request fingerprints.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::EmailAddress;

/// The Open Badges recipient identity hash: `sha256$` and the lower-case hex SHA-256 of the
/// normalised address with the salt appended, both UTF-8 (Open Badges 2.0, IdentityHash; the
/// same rule holds for the 3.0 `identityHash`).
pub fn identity_hash(email: &EmailAddress, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(email.as_str().as_bytes());
    hasher.update(salt.as_bytes());
    format!("sha256${}", hex::encode(hasher.finalize()))
}

/// A server-side secret used as the HMAC key for claim tokens. Never logged.
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    /// The minimum pepper length in bytes (256 bits).
    pub const MIN_LEN: usize = 32;

    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < Self::MIN_LEN {
            return Err(format!(
                "the pepper is {} bytes; it must be at least {} random bytes",
                bytes.len(),
                Self::MIN_LEN
            ));
        }
        Ok(Self(bytes))
    }

    /// The hex HMAC-SHA256 of a claim token, the only form in which tokens are stored.
    pub fn claim_token_hash(&self, token: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(redacted)")
    }
}

/// The stored form of a client secret: `sha256$` and the hex digest. Secrets are 256 random
/// bits, so a slow password hash would add nothing.
pub fn client_secret_hash(secret: &str) -> String {
    format!("sha256${}", hex::encode(Sha256::digest(secret.as_bytes())))
}

/// Checks a presented client secret against its stored hash in constant time.
pub fn client_secret_matches(secret: &str, stored_hash: &str) -> bool {
    let presented = client_secret_hash(secret);
    presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// A fingerprint of a request (method, path and body), to tell a retry from a different
/// request that reuses an `Idempotency-Key`.
pub fn request_fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_hash_matches_known_value() {
        let email = EmailAddress::parse("  Alice@Example.ORG\n").unwrap();
        assert_eq!(
            identity_hash(&email, "pepper42"),
            "sha256$67daac04f8729a3e9b9074c030271f7378d54f4dd121a1836faa5c9542cb40ff"
        );
    }

    #[test]
    fn identity_hash_uses_utf8_salt() {
        let email = EmailAddress::parse("alice@example.org").unwrap();
        assert_eq!(
            identity_hash(&email, "sel-ñ"),
            "sha256$2e2f015ca45dbd5eae0e54d41c16e7fdf02c4a4bb2c278bb321846a4ed5a6d86"
        );
    }

    #[test]
    fn identity_hash_of_arabic_address() {
        let email = EmailAddress::parse("مريم@example.org").unwrap();
        assert_eq!(
            identity_hash(&email, "pepper42"),
            "sha256$0557be5642c26b3cd14cc80b72ca4b857cff392492510cd5aa35b2e01577ac6e"
        );
    }

    #[test]
    fn client_secret_check() {
        let stored = client_secret_hash("s3cret");
        assert!(client_secret_matches("s3cret", &stored));
        assert!(!client_secret_matches("s3cret ", &stored));
    }

    #[test]
    fn pepper_requires_256_bits() {
        assert!(Pepper::new(vec![1; 31]).is_err());
        let pepper = Pepper::new(vec![1; 32]).unwrap();
        assert_eq!(pepper.claim_token_hash("abc").len(), 64);
        assert_ne!(
            pepper.claim_token_hash("abc"),
            pepper.claim_token_hash("abd")
        );
    }
}
