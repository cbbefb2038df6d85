//! A fixture issuer at `https://issuer.example` for the verifier, served from memory.
//!
//! It serves the documents that the signed fixtures in `shared/tests/fixtures/verify/` refer
//! to: issuer 1's Profile, BadgeClass 1, the CryptographicKey and the JWK of the RSA test key
//! `k1`, and both revocation lists. Every other URL on the origin is a 404, and other hosts
//! are unreachable, so the fuzzer reaches the signature checks without any network.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use accolade::domain::Timestamp;
use accolade::keys::SigningKey;
use accolade::verify::{
    DocumentKind, FetchError, Fetched, Resolver, VerificationReport, VerifyContext, VerifyInput,
};
use async_trait::async_trait;
use serde_json::{Value, json};

const ORIGIN: &str = "https://issuer.example";
const ISSUER_1: &str = "https://issuer.example/issuers/1";
const BADGE_1: &str = "https://issuer.example/badges/1";
const KEY_1: &str = "https://issuer.example/keys/k1";
const JWK_1: &str = "https://issuer.example/keys/k1.jwk";
const ASSERTION_REVOCATIONS: &str = "https://issuer.example/issuers/1/revocations/v2";
const CREDENTIAL_REVOCATIONS: &str = "https://issuer.example/issuers/1/revocations";
const CONTEXT_V2: &str = "https://w3id.org/openbadges/v2";

/// The private key of `k1`, a 2048-bit RSA test key that signs only test fixtures.
const K1_PEM: &str = include_str!("../../shared/tests/fixtures/verify/keys/k1.pem");

/// The signed fixtures whose signatures `k1` makes valid. A report can only be valid for
/// a badge that carries one of their signing inputs (`header.payload`).
const SIGNED_FIXTURES: [&str; 2] = [
    include_str!("../../shared/tests/fixtures/verify/credential.jwt"),
    include_str!("../../shared/tests/fixtures/verify/bug16-a-no-creator.jws"),
];

/// The verification time: 2026-01-01T00:00:00Z, inside the fixtures' validity windows.
const NOW_UNIX_SECONDS: i64 = 1_767_225_600;

/// The documents of the fixture issuer, by URL.
pub struct World {
    responses: HashMap<&'static str, Fetched>,
}

fn response(url: &str, media_type: &str, body: &Value) -> Fetched {
    Fetched {
        url: url.to_owned(),
        status: 200,
        media_type: Some(media_type.to_owned()),
        body: body.to_string().into_bytes(),
    }
}

impl World {
    /// Returns the world, built once per process because reading the RSA key is slow.
    pub fn get() -> &'static World {
        static WORLD: OnceLock<World> = OnceLock::new();
        WORLD.get_or_init(World::build)
    }

    fn build() -> World {
        let issuer = "00000000-0000-0000-0000-000000000000"
            .parse()
            .expect("a valid issuer id");
        let k1 =
            SigningKey::from_pkcs8_pem(K1_PEM, "k1.pem", issuer, Timestamp::from_unix_seconds(0))
                .expect("the k1 test key reads");
        let mut jwk = serde_json::to_value(&k1.public().jwk).expect("the JWK serialises");
        jwk["kid"] = json!(JWK_1);
        jwk["alg"] = json!("RS256");
        jwk["use"] = json!("sig");
        jwk["iss"] = json!(ISSUER_1);

        let ld = "application/ld+json";
        let documents = [
            (
                ISSUER_1,
                ld,
                json!({
                    "@context": CONTEXT_V2,
                    "type": "Issuer",
                    "id": ISSUER_1,
                    "name": "Riverside Music Service",
                    "url": ORIGIN,
                    "email": "badges@issuer.example",
                    "publicKey": [KEY_1],
                    "revocationList": ASSERTION_REVOCATIONS
                }),
            ),
            (
                BADGE_1,
                ld,
                json!({
                    "@context": CONTEXT_V2,
                    "type": "BadgeClass",
                    "id": BADGE_1,
                    "name": "Summer Orchestra",
                    "description": "Played in the summer orchestra course.",
                    "image": format!("{BADGE_1}/image.png"),
                    "criteria": {"narrative": "Attend all five days and play in the final concert."},
                    "issuer": ISSUER_1
                }),
            ),
            (
                KEY_1,
                ld,
                json!({
                    "@context": CONTEXT_V2,
                    "type": "CryptographicKey",
                    "id": KEY_1,
                    "owner": ISSUER_1,
                    "publicKeyPem": k1.public().public_key_pem
                }),
            ),
            (
                ASSERTION_REVOCATIONS,
                ld,
                json!({
                    "@context": CONTEXT_V2,
                    "type": "RevocationList",
                    "id": ASSERTION_REVOCATIONS,
                    "issuer": ISSUER_1,
                    "revokedAssertions": []
                }),
            ),
            (
                CREDENTIAL_REVOCATIONS,
                "application/json",
                json!({"id": CREDENTIAL_REVOCATIONS, "issuer": ISSUER_1, "revokedCredential": []}),
            ),
            (JWK_1, "application/jwk+json", jwk),
        ];
        let responses = documents
            .into_iter()
            .map(|(url, media_type, body)| (url, response(url, media_type, &body)))
            .collect();
        World { responses }
    }

    /// Verifies `bytes` against this world and checks the report's invariants.
    pub fn verify(&self, bytes: &[u8]) -> VerificationReport {
        let context = VerifyContext {
            resolver: self,
            now: Timestamp::from_unix_seconds(NOW_UNIX_SECONDS),
            email: Some("alice@example.org"),
        };
        let report = run_to_completion(accolade::verify::verify(
            VerifyInput::bytes(bytes),
            &context,
        ));
        check_report(&report, bytes);
        report
    }
}

#[async_trait]
impl Resolver for World {
    async fn fetch(&self, url: &str, _kind: DocumentKind) -> Result<Fetched, FetchError> {
        match self.responses.get(url) {
            Some(fetched) => Ok(fetched.clone()),
            None if url.starts_with(ORIGIN) => Ok(Fetched {
                url: url.to_owned(),
                status: 404,
                media_type: Some("application/json".to_owned()),
                body: b"{}".to_vec(),
            }),
            None => Err(FetchError::Unreachable {
                url: url.to_owned(),
                reason: "the fuzz world has no such host".to_owned(),
            }),
        }
    }
}

/// Polls `future` until it is ready. Every await in a verification is the in-memory resolver,
/// which never returns `Pending`, so a `Pending` is a bug and panics rather than spinning.
fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the verification waited on something other than the world"),
    }
}

/// Returns the texts in which a valid badge may have been found: the input itself and, when
/// the input is an image, the data that the baker reads from it.
fn badge_texts(bytes: &[u8]) -> Vec<String> {
    let mut texts = vec![String::from_utf8_lossy(bytes).into_owned()];
    if let Ok(Some(unbaked)) = accolade::baking::unbake(bytes) {
        texts.push(unbaked.text);
    }
    texts
}

fn signing_input(jws: &str) -> &str {
    let jws = jws.trim();
    jws.rfind('.').map_or(jws, |dot| &jws[..dot])
}

/// Checks what every report promises, and that a valid report is only ever given to a badge
/// that `k1` really signed: the fuzzer cannot make an RSA signature, so any other valid
/// report means a check was skipped.
fn check_report(report: &VerificationReport, bytes: &[u8]) {
    serde_json::to_string(report).expect("the report serialises");
    if !report.valid {
        return;
    }
    assert!(
        report.failures().is_empty(),
        "a valid report with failed checks: {report:?}"
    );
    assert!(
        report.format.is_some(),
        "a valid report without a format: {report:?}"
    );
    let texts = badge_texts(bytes);
    let signed = SIGNED_FIXTURES.iter().any(|fixture| {
        let input = signing_input(fixture);
        texts.iter().any(|text| text.contains(input))
    });
    assert!(
        signed,
        "a valid report for a badge that no fixture key signed: {report:?}"
    );
}
