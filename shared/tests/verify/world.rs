//! A fixture issuer at `https://issuer.example`, served by [`FixtureResolver`] without any
//! network: two issuer Profiles, their BadgeClasses, three CryptographicKeys, the
//! revocation lists, a JWK for VC-JWTs, and every hosted assertion fixture at its id.
//!
//! The keys are the RSA test keys in `fixtures/verify/keys/`; every document is built here
//! from them, so the signatures in the fixtures verify against real keys.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use accolade::domain::{IssuerId, Timestamp};
use accolade::keys::SigningKey;
use accolade::verify::{DocumentKind, FetchError, Fetched, Resolver};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use pkcs8::DecodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{Value, json};

pub const ORIGIN: &str = "https://issuer.example";
pub const ISSUER_1: &str = "https://issuer.example/issuers/1";
pub const ISSUER_2: &str = "https://issuer.example/issuers/2";
pub const BADGE_1: &str = "https://issuer.example/badges/1";
pub const BADGE_2: &str = "https://issuer.example/badges/2";
pub const KEY_1: &str = "https://issuer.example/keys/k1";
pub const KEY_2: &str = "https://issuer.example/keys/k2";
/// K1's public key in a document owned by issuer 1 but listed by issuer 2's Profile.
pub const KEY_FOREIGN: &str = "https://issuer.example/keys/foreign";
pub const JWK_1: &str = "https://issuer.example/keys/k1.jwk";
pub const ASSERTION_REVOCATIONS: &str = "https://issuer.example/issuers/1/revocations/v2";
pub const CREDENTIAL_REVOCATIONS: &str = "https://issuer.example/issuers/1/revocations";

/// The recipient of every fixture: `alice@example.org` with the salt `pepper42`.
pub const SALT: &str = "pepper42";
pub const ALICE_HASH: &str =
    "sha256$67daac04f8729a3e9b9074c030271f7378d54f4dd121a1836faa5c9542cb40ff";

pub const CONTEXT_V2: &str = "https://w3id.org/openbadges/v2";

/// The assertion ids that the world answers with something other than 200.
pub const GONE: &str = "https://issuer.example/assertions/gone";
pub const GONE_EMPTY: &str = "https://issuer.example/assertions/gone-empty";
pub const REVOKED_200: &str = "https://issuer.example/assertions/revoked";
pub const MISSING: &str = "https://issuer.example/assertions/missing";
pub const UNAVAILABLE: &str = "https://issuer.example/assertions/unavailable";
/// A signed assertion id listed in the 2.0 RevocationList.
pub const REVOKED_SIGNED: &str = "urn:uuid:3e1c1a7e-0000-4000-8000-00000000dead";
/// A credential id listed in the 1EdTech revocation list.
pub const REVOKED_CREDENTIAL: &str = "urn:uuid:3e1c1a7e-0000-4000-8000-00000000beef";

/// The folder of the verify fixtures.
pub fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verify")
}

/// A test key read from `keys/{name}.pem`.
pub struct TestKey {
    pub key: SigningKey,
    pem: String,
}

impl TestKey {
    pub fn load(name: &str) -> TestKey {
        let path = fixture_dir().join(format!("keys/{name}.pem"));
        let pem = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let key = SigningKey::from_pkcs8_pem(
            &pem,
            name,
            IssuerId::from_uuid(uuid::Uuid::nil()),
            Timestamp::from_unix_seconds(0),
        )
        .expect("a test key");
        TestKey { key, pem }
    }

    pub fn public_pem(&self) -> &str {
        &self.key.public().public_key_pem
    }

    /// Signs `input` with RS256 and returns the base64url signature.
    pub fn rs256(&self, input: &[u8]) -> String {
        let private = rsa::PrivateKey::from_pkcs8_pem(&self.pem).expect("an RSA test key");
        let der = private.to_pkcs1_der().expect("PKCS#1 DER");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        jsonwebtoken::crypto::sign(input, &encoding, Algorithm::RS256).expect("signing")
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A compact JWS of `header` and `payload`, signed by `sign` over `header.payload`.
pub fn compact(header: &Value, payload: &Value, sign: impl FnOnce(&[u8]) -> String) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = sign(input.as_bytes());
    format!("{input}.{signature}")
}

/// Changes one byte of a JWS payload (the last letter of "Orchestra") and keeps the
/// signature, so the payload is still valid JSON but no longer what was signed.
pub fn tamper(jws: &str) -> String {
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut payload = URL_SAFE_NO_PAD
        .decode(&parts[1])
        .expect("base64url payload");
    let at = payload
        .windows(9)
        .position(|window| window == b"Orchestra")
        .expect("the payload names the Orchestra badge")
        + 8;
    payload[at] = b'b';
    parts[1] = URL_SAFE_NO_PAD.encode(payload);
    parts.join(".")
}

/// A hosted assertion of BadgeClass 1 to alice.
pub fn hosted_assertion(id: &str, issued_on: Value) -> Value {
    json!({
        "@context": CONTEXT_V2,
        "type": "Assertion",
        "id": id,
        "recipient": {"type": "email", "hashed": true, "salt": SALT, "identity": ALICE_HASH},
        "badge": BADGE_1,
        "verification": {"type": "HostedBadge"},
        "issuedOn": issued_on
    })
}

/// A signed assertion payload; `creator` is the key named in `verification`, if any.
pub fn signed_assertion(id: &str, badge: &str, creator: Option<&str>) -> Value {
    let mut verification = json!({"type": "SignedBadge"});
    if let Some(creator) = creator {
        verification["creator"] = json!(creator);
    }
    json!({
        "@context": CONTEXT_V2,
        "type": "Assertion",
        "id": id,
        "recipient": {"type": "email", "hashed": true, "salt": SALT, "identity": ALICE_HASH},
        "badge": badge,
        "verification": verification,
        "issuedOn": "2024-11-08T10:33:30Z"
    })
}

/// The Open Badges 3.0 credential that the world's issuer signs, with the given id.
pub fn credential(id: &str) -> Value {
    json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
        ],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": ISSUER_1, "type": ["Profile"], "name": "Riverside Music Service"},
        "name": "Summer Orchestra",
        "validFrom": "2024-11-08T10:33:30Z",
        "validUntil": "2034-11-08T10:33:30Z",
        "credentialSubject": {
            "id": "urn:uuid:5d1e5d1e-0000-4000-8000-000000000001",
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "hashed": true,
                "identityHash": ALICE_HASH,
                "identityType": "emailAddress",
                "salt": SALT
            }],
            "achievement": {
                "id": BADGE_1,
                "type": ["Achievement"],
                "name": "Summer Orchestra",
                "description": "Played in the summer orchestra course.",
                "criteria": {"narrative": "Attend all five days and play in the final concert."}
            }
        },
        "credentialSchema": [{
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019"
        }],
        "credentialStatus": {"id": CREDENTIAL_REVOCATIONS, "type": "1EdTechRevocationList"}
    })
}

/// The VC-JWT payload of `credential`: its members plus the registered claims.
pub fn vc_jwt_payload(credential: &Value) -> Value {
    let mut payload = credential.clone();
    payload["iss"] = json!(ISSUER_1);
    payload["jti"] = credential["id"].clone();
    payload["sub"] = credential["credentialSubject"]["id"].clone();
    payload["nbf"] = json!(1_731_062_010);
    payload["exp"] = json!(2_046_594_810);
    payload
}

/// The VC-JWT header of the world's key K1.
pub fn vc_jwt_header() -> Value {
    json!({"alg": "RS256", "kid": JWK_1, "typ": "JWT"})
}

/// Every non-hosted document of the world, by URL.
fn documents(k1: &TestKey, k2: &TestKey) -> Vec<(&'static str, Value)> {
    let profile = |id: &str, keys: &[&str], revocations: Option<&str>| {
        let mut profile = json!({
            "@context": CONTEXT_V2,
            "type": "Issuer",
            "id": id,
            "name": "Riverside Music Service",
            "url": ORIGIN,
            "email": "badges@issuer.example",
            "publicKey": keys
        });
        if let Some(revocations) = revocations {
            profile["revocationList"] = json!(revocations);
        }
        profile
    };
    let badge = |id: &str, issuer: &str| {
        json!({
            "@context": CONTEXT_V2,
            "type": "BadgeClass",
            "id": id,
            "name": "Summer Orchestra",
            "description": "Played in the summer orchestra course.",
            "image": format!("{id}/image.png"),
            "criteria": {"narrative": "Attend all five days and play in the final concert."},
            "issuer": issuer
        })
    };
    let key_document = |id: &str, owner: &str, pem: &str| {
        json!({
            "@context": CONTEXT_V2,
            "type": "CryptographicKey",
            "id": id,
            "owner": owner,
            "publicKeyPem": pem
        })
    };
    let mut jwk = serde_json::to_value(&k1.key.public().jwk).expect("JWK");
    jwk["kid"] = json!(JWK_1);
    jwk["alg"] = json!("RS256");
    jwk["use"] = json!("sig");
    jwk["iss"] = json!(ISSUER_1);
    vec![
        (
            ISSUER_1,
            profile(ISSUER_1, &[KEY_1, KEY_2], Some(ASSERTION_REVOCATIONS)),
        ),
        (ISSUER_2, profile(ISSUER_2, &[KEY_FOREIGN], None)),
        (BADGE_1, badge(BADGE_1, ISSUER_1)),
        (BADGE_2, badge(BADGE_2, ISSUER_2)),
        (KEY_1, key_document(KEY_1, ISSUER_1, k1.public_pem())),
        (KEY_2, key_document(KEY_2, ISSUER_1, k2.public_pem())),
        (
            KEY_FOREIGN,
            key_document(KEY_FOREIGN, ISSUER_1, k1.public_pem()),
        ),
        (
            ASSERTION_REVOCATIONS,
            json!({
                "@context": CONTEXT_V2,
                "type": "RevocationList",
                "id": ASSERTION_REVOCATIONS,
                "issuer": ISSUER_1,
                "revokedAssertions": [{"id": REVOKED_SIGNED, "revocationReason": "Awarded in error"}]
            }),
        ),
        (
            CREDENTIAL_REVOCATIONS,
            json!({
                "id": CREDENTIAL_REVOCATIONS,
                "issuer": ISSUER_1,
                "revokedCredential": [{"id": REVOKED_CREDENTIAL, "revoked": true, "revocationReason": "Awarded in error"}]
            }),
        ),
        (JWK_1, jwk),
    ]
}

/// Serves the world's documents from memory and records every URL asked for.
pub struct FixtureResolver {
    responses: HashMap<String, Fetched>,
    calls: Mutex<Vec<String>>,
}

fn response(url: &str, status: u16, media_type: &str, body: impl Into<Vec<u8>>) -> Fetched {
    Fetched {
        url: url.to_owned(),
        status,
        media_type: Some(media_type.to_owned()),
        body: body.into(),
    }
}

impl FixtureResolver {
    /// The world, with every hosted assertion among the JSON fixtures served at its id.
    pub fn world() -> FixtureResolver {
        let k1 = TestKey::load("k1");
        let k2 = TestKey::load("k2");
        let mut responses = HashMap::new();
        for (url, document) in documents(&k1, &k2) {
            let media_type = match url {
                JWK_1 => "application/jwk+json",
                CREDENTIAL_REVOCATIONS => "application/json",
                _ => "application/ld+json",
            };
            responses.insert(
                url.to_owned(),
                response(url, 200, media_type, document.to_string()),
            );
        }
        for (_, bytes) in super::recipes::all() {
            let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let Some(id) = document.get("id").and_then(Value::as_str) else {
                continue;
            };
            if id.starts_with(ORIGIN) && document.get("type") == Some(&json!("Assertion")) {
                responses.insert(
                    id.to_owned(),
                    response(id, 200, "application/ld+json", bytes.clone()),
                );
            }
        }
        let reduced = json!({
            "@context": CONTEXT_V2,
            "id": GONE,
            "type": "Assertion",
            "revoked": true,
            "revocationReason": "Awarded in error"
        });
        responses.insert(
            GONE.to_owned(),
            response(GONE, 410, "application/ld+json", reduced.to_string()),
        );
        responses.insert(
            GONE_EMPTY.to_owned(),
            response(GONE_EMPTY, 410, "application/ld+json", ""),
        );
        let mut revoked = hosted_assertion(REVOKED_200, json!("2024-11-08T10:33:30Z"));
        revoked["revoked"] = json!(true);
        revoked["revocationReason"] = json!("Awarded in error");
        responses.insert(
            REVOKED_200.to_owned(),
            response(REVOKED_200, 200, "application/ld+json", revoked.to_string()),
        );
        responses.insert(
            MISSING.to_owned(),
            response(MISSING, 404, "application/json", "{}"),
        );
        responses.insert(
            UNAVAILABLE.to_owned(),
            response(
                UNAVAILABLE,
                503,
                "text/html",
                "<h1>Service Unavailable</h1>",
            ),
        );
        FixtureResolver {
            responses,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Replaces or adds one response.
    pub fn serve(&mut self, url: &str, status: u16, media_type: &str, body: impl Into<Vec<u8>>) {
        self.responses
            .insert(url.to_owned(), response(url, status, media_type, body));
    }

    /// The URLs asked for so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Resolver for FixtureResolver {
    async fn fetch(&self, url: &str, _kind: DocumentKind) -> Result<Fetched, FetchError> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(url.to_owned());
        match self.responses.get(url) {
            Some(fetched) => Ok(fetched.clone()),
            None if url.starts_with(ORIGIN) => Ok(response(url, 404, "application/json", "{}")),
            None => Err(FetchError::Unreachable {
                url: url.to_owned(),
                reason: "the fixture world has no such host".to_owned(),
            }),
        }
    }
}
