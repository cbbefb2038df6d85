//! Private key material: generating RSA and P-256 keys, reading and writing them as PKCS#8
//! PEM, deriving the public forms, and signing compact JWS with `jsonwebtoken`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::Generate;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::rand_core::{TryCryptoRng, TryRng};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use zeroize::Zeroizing;

use super::SigningAlgorithm;
use super::{KeyError, KeyId, MIN_RSA_KEY_BITS, PublicJwk, PublicKeyRecord, RSA_KEY_BITS};
use crate::domain::{IssuerId, Timestamp};

/// The operating system's random generator, for key generation. `getrandom` 0.3 is the one
/// the rest of the crate uses; the RustCrypto crates take it through this `rand_core` 0.10
/// adapter.
struct OsRng;

/// A failure of the operating system's random generator.
#[derive(Debug)]
struct RandomError(getrandom::Error);

impl std::fmt::Display for RandomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the operating system's random generator failed: {}",
            self.0
        )
    }
}

impl std::error::Error for RandomError {}

impl TryRng for OsRng {
    type Error = RandomError;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        getrandom::u32().map_err(RandomError)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        getrandom::u64().map_err(RandomError)
    }

    fn try_fill_bytes(&mut self, destination: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(destination).map_err(RandomError)
    }
}

impl TryCryptoRng for OsRng {}

#[derive(Clone)]
enum Secret {
    Rsa(Box<rsa::PrivateKey>),
    Ec(p256::ecdsa::SigningKey),
}

/// An issuer's private signing key with its public record. `Debug` shows the key id only.
#[derive(Clone)]
pub struct SigningKey {
    public: PublicKeyRecord,
    secret: Secret,
    encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.public.key_id)
            .field("issuer_id", &self.public.issuer_id)
            .field("algorithm", &self.public.algorithm)
            .finish_non_exhaustive()
    }
}

/// The size in bits of an RSA key's modulus.
pub fn rsa_key_bits(key: &impl PublicKeyParts) -> usize {
    key.n().bit_width() as usize
}

fn encode_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// Generates a new key for `issuer`: RSA 2048 for RS256, P-256 for ES256. RSA generation
    /// takes up to a few seconds, so async callers run it on a blocking thread.
    pub fn generate(
        issuer: IssuerId,
        algorithm: SigningAlgorithm,
        created_at: Timestamp,
    ) -> Result<Self, KeyError> {
        let failed = |reason: String| KeyError::Generation { algorithm, reason };
        let secret = match algorithm {
            SigningAlgorithm::Rs256 => {
                let key = rsa::PrivateKey::new(&mut OsRng, RSA_KEY_BITS)
                    .map_err(|error| failed(error.to_string()))?;
                Secret::Rsa(Box::new(key))
            }
            SigningAlgorithm::Es256 => {
                let key = p256::ecdsa::SigningKey::try_generate_from_rng(&mut OsRng)
                    .map_err(|error| failed(error.to_string()))?;
                Secret::Ec(key)
            }
        };
        Self::from_secret(secret, issuer, created_at).map_err(|error| failed(error.to_string()))
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`) of an RSA key of at
    /// least 2048 bits or a P-256 key. `location` names the source in errors.
    pub fn from_pkcs8_pem(
        pem: &str,
        location: &str,
        issuer: IssuerId,
        created_at: Timestamp,
    ) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::InvalidPrivateKey {
            location: location.to_owned(),
            reason,
        };
        let secret = match rsa::PrivateKey::from_pkcs8_pem(pem) {
            Ok(key) => {
                let bits = rsa_key_bits(&key);
                if bits < MIN_RSA_KEY_BITS {
                    return Err(invalid(format!(
                        "the RSA key has {bits} bits; at least {MIN_RSA_KEY_BITS} are needed"
                    )));
                }
                Secret::Rsa(Box::new(key))
            }
            Err(rsa_error) => match p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
                Ok(key) => Secret::Ec(key),
                Err(ec_error) => {
                    return Err(invalid(format!(
                        "it is neither an RSA key ({rsa_error}) nor a P-256 key ({ec_error}) in PKCS#8 PEM"
                    )));
                }
            },
        };
        Self::from_secret(secret, issuer, created_at).map_err(invalid)
    }

    fn from_secret(
        secret: Secret,
        issuer: IssuerId,
        created_at: Timestamp,
    ) -> Result<Self, String> {
        let (algorithm, jwk, public_key_pem, encoding) = match &secret {
            Secret::Rsa(key) => {
                let public = key.to_public_key();
                let jwk = PublicJwk::Rsa {
                    n: encode_b64(&public.n_bytes()),
                    e: encode_b64(&public.e_bytes()),
                };
                let pem = public
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|error| format!("encoding the public key failed: {error}"))?;
                // jsonwebtoken's RustCrypto signer reads RSA keys as PKCS#1 DER.
                let der = key
                    .to_pkcs1_der()
                    .map_err(|error| format!("encoding the private key failed: {error}"))?;
                let encoding = EncodingKey::from_rsa_der(der.as_bytes());
                (SigningAlgorithm::Rs256, jwk, pem, encoding)
            }
            Secret::Ec(key) => {
                let point = key.verifying_key().to_sec1_bytes();
                // An uncompressed SEC1 point: 0x04, then x and y of 32 bytes each.
                if point.len() != 65 || point[0] != 4 {
                    return Err("the P-256 public point is not in uncompressed form".to_owned());
                }
                let jwk = PublicJwk::Ec {
                    crv: "P-256".to_owned(),
                    x: encode_b64(&point[1..33]),
                    y: encode_b64(&point[33..65]),
                };
                let pem = key
                    .verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|error| format!("encoding the public key failed: {error}"))?;
                // jsonwebtoken's RustCrypto signer reads EC keys as PKCS#8 DER.
                let der = key
                    .to_pkcs8_der()
                    .map_err(|error| format!("encoding the private key failed: {error}"))?;
                let encoding = EncodingKey::from_ec_der(der.as_bytes());
                (SigningAlgorithm::Es256, jwk, pem, encoding)
            }
        };
        Ok(Self {
            public: PublicKeyRecord {
                key_id: jwk.thumbprint(),
                issuer_id: issuer,
                algorithm,
                jwk,
                public_key_pem,
                created_at,
            },
            secret,
            encoding,
        })
    }

    /// The private key as PKCS#8 PEM, for the key folder or a secret store. Zeroed on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let pem = match &self.secret {
            Secret::Rsa(key) => key.to_pkcs8_pem(LineEnding::LF),
            Secret::Ec(key) => key.to_pkcs8_pem(LineEnding::LF),
        };
        pem.map(|pem| Zeroizing::new(pem.as_str().to_owned()))
            .map_err(|error| {
                KeyError::Backend(anyhow::anyhow!(
                    "encoding private key {} as PKCS#8 PEM failed: {error}",
                    self.public.key_id
                ))
            })
    }

    pub fn public(&self) -> &PublicKeyRecord {
        &self.public
    }

    pub fn key_id(&self) -> &KeyId {
        &self.public.key_id
    }

    pub fn issuer_id(&self) -> IssuerId {
        self.public.issuer_id
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.public.algorithm
    }

    /// Replaces the public record's metadata (issuer and creation time) with the stored ones,
    /// keeping the key. Fails when `record` describes another key.
    pub fn with_record(mut self, record: PublicKeyRecord) -> Result<Self, KeyId> {
        if record.key_id != self.public.key_id || record.jwk != self.public.jwk {
            return Err(self.public.key_id);
        }
        self.public = record;
        Ok(self)
    }

    /// Signs `payload` as a compact JWS with exactly the header members in `header`
    /// (`alg` must be this key's algorithm).
    pub fn sign<T: Serialize>(&self, header: &Header, payload: &T) -> Result<String, KeyError> {
        if header.alg != self.algorithm().jwt_algorithm() {
            return Err(KeyError::Signing {
                key_id: self.key_id().clone(),
                reason: format!(
                    "the header names {:?} but the key signs {}",
                    header.alg,
                    self.algorithm()
                ),
            });
        }
        jsonwebtoken::encode(header, payload, &self.encoding).map_err(|error| KeyError::Signing {
            key_id: self.key_id().clone(),
            reason: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, Validation};

    use super::*;

    fn issuer() -> IssuerId {
        IssuerId::from_uuid(uuid::Uuid::nil())
    }

    #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        iss: String,
    }

    fn round_trip(algorithm: SigningAlgorithm) {
        let key =
            SigningKey::generate(issuer(), algorithm, Timestamp::from_unix_seconds(0)).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        assert_eq!(key.public().jwk.thumbprint(), *key.key_id());

        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
        let read =
            SigningKey::from_pkcs8_pem(&pem, "test", issuer(), Timestamp::from_unix_seconds(0))
                .unwrap();
        assert_eq!(read.public(), key.public());

        let claims = Claims {
            iss: "https://badges.example.org/issuers/x".to_owned(),
        };
        let mut header = Header::new(algorithm.jwt_algorithm());
        header.kid = Some("kid".to_owned());
        let token = key.sign(&header, &claims).unwrap();
        let mut validation = Validation::new(algorithm.jwt_algorithm());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<Claims>(
            &token,
            &key.public().decoding_key().unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims, claims);
    }

    #[test]
    fn rs256_key_round_trip() {
        round_trip(SigningAlgorithm::Rs256);
    }

    #[test]
    fn es256_key_round_trip() {
        round_trip(SigningAlgorithm::Es256);
    }

    #[test]
    fn sign_rejects_other_algorithm() {
        let key = SigningKey::generate(
            issuer(),
            SigningAlgorithm::Es256,
            Timestamp::from_unix_seconds(0),
        )
        .unwrap();
        let error = key
            .sign(
                &Header::new(Algorithm::HS256),
                &Claims { iss: String::new() },
            )
            .unwrap_err();
        assert!(matches!(error, KeyError::Signing { .. }), "{error}");
    }

    #[test]
    fn garbage_pem_is_rejected_with_location() {
        let error = SigningKey::from_pkcs8_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "keys/x.pem",
            issuer(),
            Timestamp::from_unix_seconds(0),
        )
        .unwrap_err();
        assert!(error.to_string().contains("keys/x.pem"), "{error}");
    }

    #[test]
    fn debug_hides_key_material() {
        let key = SigningKey::generate(
            issuer(),
            SigningAlgorithm::Es256,
            Timestamp::from_unix_seconds(0),
        )
        .unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.key_id().as_str()));
        assert!(!debug.contains("PRIVATE"));
    }
}
