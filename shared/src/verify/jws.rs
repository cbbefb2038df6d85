//! Compact JWS: parsing, the algorithm policy, public keys from JWKs and PEM, and signature
//! checks.
//!
//! Only `RS256` and `ES256` are accepted, matched exactly: JOSE algorithm names are
//! case-sensitive (RFC 7515, section 4.1.1), so `rs256` is refused rather than guessed at.
//! `none` and every HMAC algorithm are refused before any key is touched, so a public key
//! can never be used as an HMAC secret. The signature is checked with `jsonwebtoken`'s
//! RustCrypto backend over the exact bytes received.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs8::DecodePublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value};

use super::codes;
use super::fields::{kind_of, quote};
use super::report::Checks;
use crate::keys::{MIN_RSA_KEY_BITS, PublicJwk, SigningAlgorithm, rsa_key_bits};

/// A compact JWS split into its parts, with the header and payload decoded.
#[derive(Debug, Clone)]
pub(crate) struct CompactJws<'a> {
    /// `header.payload`, the bytes that were signed.
    pub signing_input: &'a str,
    pub signature: &'a str,
    pub header: Map<String, Value>,
    pub payload: Value,
}

/// Returns whether `text` has the shape of a compact JWS: three base64url parts (the last may be
/// empty) separated by dots.
pub(crate) fn looks_like_jws(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|part| part.bytes().all(is_base64url))
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// Splits and decodes a compact JWS. The error names the part that is wrong.
pub(crate) fn parse(text: &str) -> Result<CompactJws<'_>, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(format!(
            "it has {} parts separated by dots; a compact JWS has three (header.payload.signature)",
            parts.len()
        ));
    };
    let decode = |part: &str, name: &str| -> Result<Vec<u8>, String> {
        if let Some(bad) = part.bytes().find(|byte| !is_base64url(*byte)) {
            return Err(format!(
                "the {name} holds the character {:?}, which base64url without padding does not use",
                char::from(bad)
            ));
        }
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|error| format!("the {name} is not base64url: {error}"))
    };
    let header_bytes = decode(header, "header")?;
    let payload_bytes = decode(payload, "payload")?;
    decode(signature, "signature")?;

    let header_value: Value = serde_json::from_slice(&header_bytes)
        .map_err(|error| format!("the header is not JSON: {error}"))?;
    let Value::Object(header_map) = header_value else {
        return Err(format!(
            "the header is {}, not a JSON object",
            kind_of(&header_value)
        ));
    };
    let payload_value: Value = serde_json::from_slice(&payload_bytes)
        .map_err(|error| format!("the payload is not JSON: {error}"))?;
    if !payload_value.is_object() {
        return Err(format!(
            "the payload is {}, not a JSON object",
            kind_of(&payload_value)
        ));
    }
    let signing_input = &text[..header.len() + 1 + payload.len()];
    Ok(CompactJws {
        signing_input,
        signature,
        header: header_map,
        payload: payload_value,
    })
}

/// Applies the algorithm policy to the header's `alg` and records a failed check unless it
/// is exactly `RS256` or `ES256`.
pub(crate) fn check_alg(
    checks: &mut Checks,
    header: &Map<String, Value>,
) -> Option<SigningAlgorithm> {
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        Some(other) => {
            checks.fail(
                codes::INVALID_HEADER,
                format!("the JOSE header's alg is {}, not a string", kind_of(other)),
            );
            return None;
        }
        None => {
            checks.fail(codes::INVALID_HEADER, "the JOSE header has no alg");
            return None;
        }
    };
    if alg.eq_ignore_ascii_case("none") {
        checks.fail(
            codes::ALG_NONE,
            format!(
                "the JOSE header says alg {}: the badge is unsigned, and an unsigned JWS proves nothing",
                quote(alg)
            ),
        );
        return None;
    }
    if let Ok(algorithm) = alg.parse::<SigningAlgorithm>() {
        return Some(algorithm);
    }
    let reason = if alg.eq_ignore_ascii_case("RS256") || alg.eq_ignore_ascii_case("ES256") {
        format!(
            "JOSE algorithm names are case-sensitive, so it must be written {}",
            alg.to_ascii_uppercase()
        )
    } else if alg.to_ascii_uppercase().starts_with("HS") {
        "HMAC algorithms use a shared secret, and a verifier never uses a published public key as one"
            .to_owned()
    } else {
        "the 1EdTech validators accept only these two".to_owned()
    };
    checks.fail(
        codes::ALG_NOT_ALLOWED,
        format!(
            "the JOSE header says alg {}, but only RS256 and ES256 are accepted: {reason}",
            quote(alg)
        ),
    );
    None
}

/// Reads a public JWK (RSA, or EC on P-256). Refuses private members, RSA keys under 2048
/// bits and other key types.
pub(crate) fn key_from_jwk(jwk: &Map<String, Value>) -> Result<PublicJwk, String> {
    const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if let Some(member) = PRIVATE_MEMBERS
        .iter()
        .find(|member| jwk.contains_key(**member))
    {
        return Err(format!(
            "the JWK holds the private member {member:?}; a published key must hold only the public half"
        ));
    }
    let member = |name: &str| -> Result<String, String> {
        jwk.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the JWK has no string member {name:?}"))
    };
    let key = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => PublicJwk::Rsa {
            n: member("n")?,
            e: member("e")?,
        },
        Some("EC") => PublicJwk::Ec {
            crv: member("crv")?,
            x: member("x")?,
            y: member("y")?,
        },
        Some(other) => {
            return Err(format!(
                "the JWK's kty is {}; only RSA and EC keys verify RS256 and ES256",
                quote(other)
            ));
        }
        None => return Err("the JWK has no kty".to_owned()),
    };
    check_key_strength(&key)?;
    Ok(key)
}

fn check_key_strength(key: &PublicJwk) -> Result<(), String> {
    match key {
        PublicJwk::Rsa { n, .. } => {
            let modulus = URL_SAFE_NO_PAD
                .decode(n)
                .map_err(|error| format!("the RSA modulus n is not base64url: {error}"))?;
            let leading_zeros = modulus.iter().take_while(|byte| **byte == 0).count();
            let bits = modulus.get(leading_zeros).map_or(0, |first| {
                (modulus.len() - leading_zeros) * 8 - first.leading_zeros() as usize
            });
            if bits < MIN_RSA_KEY_BITS {
                return Err(format!(
                    "the RSA key has {bits} bits; at least {MIN_RSA_KEY_BITS} are required"
                ));
            }
            Ok(())
        }
        PublicJwk::Ec { crv, .. } if crv != "P-256" => Err(format!(
            "the EC key is on curve {}; ES256 needs P-256",
            quote(crv)
        )),
        PublicJwk::Ec { .. } => Ok(()),
    }
}

/// Reads a PEM public key: SPKI (`BEGIN PUBLIC KEY`) of RSA or P-256, or PKCS#1
/// (`BEGIN RSA PUBLIC KEY`).
pub(crate) fn key_from_pem(pem: &str) -> Result<PublicJwk, String> {
    let pem = pem.trim();
    let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let rsa_key =
        rsa::PublicKey::from_public_key_pem(pem).or_else(|_| rsa::PublicKey::from_pkcs1_pem(pem));
    if let Ok(key) = rsa_key {
        let bits = rsa_key_bits(&key);
        if bits < MIN_RSA_KEY_BITS {
            return Err(format!(
                "the RSA key has {bits} bits; at least {MIN_RSA_KEY_BITS} are required"
            ));
        }
        return Ok(PublicJwk::Rsa {
            n: encode(&key.n_bytes()),
            e: encode(&key.e_bytes()),
        });
    }
    match p256::PublicKey::from_public_key_pem(pem) {
        Ok(key) => {
            let point = key.to_sec1_bytes();
            // An uncompressed SEC1 point: 0x04, then x and y of 32 bytes each.
            if point.len() != 65 || point[0] != 4 {
                return Err("the P-256 point is not in uncompressed form".to_owned());
            }
            Ok(PublicJwk::Ec {
                crv: "P-256".to_owned(),
                x: encode(&point[1..33]),
                y: encode(&point[33..65]),
            })
        }
        Err(_) => Err(
            "publicKeyPem is not an RSA key of at least 2048 bits or a P-256 key in PEM (SPKI or PKCS#1)"
                .to_owned(),
        ),
    }
}

/// Checks the signature of `jws` with `key` under `algorithm`. The key type must match the
/// algorithm (RSA for RS256, P-256 for ES256). `Ok(false)` means the signature does not
/// verify; `Err` that the key cannot be used at all.
pub(crate) fn verify_signature(
    jws: &CompactJws<'_>,
    algorithm: SigningAlgorithm,
    key: &PublicJwk,
) -> Result<bool, String> {
    if key.algorithm() != algorithm {
        return Err(format!(
            "the key is a {} key, which cannot verify {algorithm}",
            match key {
                PublicJwk::Rsa { .. } => "RSA",
                PublicJwk::Ec { .. } => "P-256",
            }
        ));
    }
    let decoding = key.decoding_key()?;
    // An empty or malformed signature simply does not verify.
    Ok(jsonwebtoken::crypto::verify(
        jws.signature,
        jws.signing_input.as_bytes(),
        &decoding,
        algorithm.jwt_algorithm(),
    )
    .unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::domain::{IssuerId, Timestamp};
    use crate::keys::SigningKey;

    fn key(algorithm: SigningAlgorithm) -> SigningKey {
        SigningKey::generate(
            IssuerId::from_uuid(uuid::Uuid::nil()),
            algorithm,
            Timestamp::from_unix_seconds(0),
        )
        .unwrap()
    }

    fn alg_check(alg: Value) -> (Option<SigningAlgorithm>, Vec<String>) {
        let mut checks = Checks::default();
        let Value::Object(header) = json!({ "alg": alg }) else {
            unreachable!()
        };
        let result = check_alg(&mut checks, &header);
        let codes = checks
            .into_report()
            .checks
            .into_iter()
            .map(|check| check.code)
            .collect();
        (result, codes)
    }

    #[test]
    fn alg_policy() {
        assert_eq!(alg_check(json!("RS256")).0, Some(SigningAlgorithm::Rs256));
        assert_eq!(alg_check(json!("ES256")).0, Some(SigningAlgorithm::Es256));
        assert_eq!(alg_check(json!("none")).1, vec![codes::ALG_NONE]);
        assert_eq!(alg_check(json!("NONE")).1, vec![codes::ALG_NONE]);
        for refused in ["rs256", "HS256", "hs256", "PS256", "EdDSA", "RS512", ""] {
            assert_eq!(
                alg_check(json!(refused)).1,
                vec![codes::ALG_NOT_ALLOWED],
                "{refused}"
            );
        }
        assert_eq!(alg_check(json!(256)).1, vec![codes::INVALID_HEADER]);
    }

    #[test]
    fn parse_rejects_malformed_tokens() {
        assert!(parse("a.b").is_err());
        assert!(parse("a.b.c.d").is_err());
        assert!(parse("e30.e30=.").unwrap_err().contains("'='"));
        assert!(
            parse("bm90IGpzb24.e30.")
                .unwrap_err()
                .contains("header is not JSON")
        );
        assert!(parse("W10.e30.").unwrap_err().contains("not a JSON object"));
        let parsed = parse("e30.e30.").unwrap();
        assert_eq!(parsed.signing_input, "e30.e30");
        assert!(looks_like_jws("e30.e30."));
        assert!(!looks_like_jws("{\"a\":1}"));
    }

    #[test]
    fn signatures_verify_only_with_the_signing_key() {
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let signer = key(algorithm);
            let other = key(algorithm);
            let token = signer
                .sign(
                    &Header::new(algorithm.jwt_algorithm()),
                    &json!({"id": "urn:uuid:1"}),
                )
                .unwrap();
            let jws = parse(&token).unwrap();
            assert_eq!(
                verify_signature(&jws, algorithm, &signer.public().jwk),
                Ok(true)
            );
            assert_eq!(
                verify_signature(&jws, algorithm, &other.public().jwk),
                Ok(false)
            );

            let pem_key = key_from_pem(&signer.public().public_key_pem).unwrap();
            assert_eq!(pem_key, signer.public().jwk);
        }
    }

    #[test]
    fn key_type_must_match_alg() {
        let rsa = key(SigningAlgorithm::Rs256);
        let token = rsa
            .sign(&Header::new(Algorithm::RS256), &json!({"a": 1}))
            .unwrap();
        let jws = parse(&token).unwrap();
        let ec = key(SigningAlgorithm::Es256);
        // An RSA signature is no ECDSA signature, whatever the key.
        assert_eq!(
            verify_signature(&jws, SigningAlgorithm::Es256, &ec.public().jwk),
            Ok(false)
        );
        assert!(verify_signature(&jws, SigningAlgorithm::Es256, &rsa.public().jwk).is_err());
    }

    #[test]
    fn hmac_with_the_public_key_never_verifies() {
        let rsa = key(SigningAlgorithm::Rs256);
        let secret = EncodingKey::from_secret(rsa.public().public_key_pem.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &json!({"a": 1}), &secret)
            .unwrap();
        let jws = parse(&token).unwrap();
        let mut checks = Checks::default();
        assert_eq!(check_alg(&mut checks, &jws.header), None);
        // Even forced to RS256, the HMAC bytes are no RSA signature.
        assert_eq!(
            verify_signature(&jws, SigningAlgorithm::Rs256, &rsa.public().jwk),
            Ok(false)
        );
    }

    #[test]
    fn jwk_rules() {
        let rsa = key(SigningAlgorithm::Rs256);
        let Value::Object(mut jwk) = serde_json::to_value(&rsa.public().jwk).unwrap() else {
            unreachable!()
        };
        assert_eq!(key_from_jwk(&jwk).unwrap(), rsa.public().jwk);
        jwk.insert("d".to_owned(), json!("secret"));
        assert!(key_from_jwk(&jwk).unwrap_err().contains("private member"));
        let Value::Object(small) =
            json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]), "e": "AQAB"})
        else {
            unreachable!()
        };
        assert!(key_from_jwk(&small).unwrap_err().contains("1024 bits"));
        let Value::Object(oct) = json!({"kty": "oct", "k": "c2VjcmV0"}) else {
            unreachable!()
        };
        assert!(key_from_jwk(&oct).is_err());
        assert!(
            key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
        );
    }
}
