//! VC-JWT signing and verification of an Open Badges 3.0 credential, RS256 and ES256.
//!
//! Run with `cargo bench -p accolade --bench signing`. The claims are
//! `bench/inputs/credential-claims.json` (an OpenBadgeCredential under `vc`, 2.3 KB). The
//! keys are the bench-only PKCS#8 keys in `bench/inputs/keys/`, loaded as issuer keys are
//! loaded ([`SigningKey::from_pkcs8_pem`]). Verification builds its key from the public JWK,
//! as a verifier does from the JWK Set.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use accolade::domain::Timestamp;
use accolade::keys::SigningKey;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Header, Validation};
use serde_json::Value;

const KID: &str = "https://badges.music.example.org/keys/bench";

fn inputs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/inputs")
}

fn read(name: &str) -> Vec<u8> {
    let path = inputs_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; run python3 bench/inputs/generate.py",
            path.display()
        )
    })
}

fn bench_signing(c: &mut Criterion) {
    let claims: Value =
        serde_json::from_slice(&read("credential-claims.json")).expect("valid claims JSON");
    let issuer = "3a7d9c1e-5b2f-4e8a-9d6c-1f3b5a7c9e20"
        .parse()
        .expect("valid issuer id");
    for name in ["rs256", "es256"] {
        let file = format!("keys/bench-only-{name}.pem");
        let pem = String::from_utf8(read(&file)).expect("the key file is UTF-8");
        let key = SigningKey::from_pkcs8_pem(&pem, &file, issuer, Timestamp::from_unix_seconds(0))
            .expect("a valid bench key");
        let algorithm = key.algorithm().jwt_algorithm();
        let mut header = Header::new(algorithm);
        header.kid = Some(KID.to_owned());
        header.typ = Some("JWT".to_owned());
        let decoding = key.public().decoding_key().expect("a valid public key");
        let mut validation = Validation::new(algorithm);
        // The credential has no `exp`, and a benchmark must not depend on the clock.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let token = key.sign(&header, &claims).expect("signing works");
        jsonwebtoken::decode::<Value>(&token, &decoding, &validation).expect("the token verifies");

        let mut group = c.benchmark_group(format!("vc-jwt/{}", key.algorithm()));
        group.bench_function("sign", |b| b.iter(|| key.sign(&header, black_box(&claims))));
        group.bench_function("verify", |b| {
            b.iter(|| jsonwebtoken::decode::<Value>(black_box(&token), &decoding, &validation))
        });
        group.finish();
    }
}

criterion_group!(benches, bench_signing);
criterion_main!(benches);
