//! The verifier against the bad-input corpus (fixtures in `fixtures/verify/`, served by a
//! fixture issuer) and against our own documents through the store-backed resolver.

#[path = "verify/recipes.rs"]
mod recipes;
#[path = "verify/store.rs"]
mod store;
#[path = "verify/world.rs"]
mod world;

use accolade::domain::Timestamp;
use accolade::keys::{SigningAlgorithm, SigningKey};
use accolade::verify::{
    Format, VerificationReport, VerifyContext, VerifyInput, codes, declared_image_kind, verify,
};
use serde_json::{Value, json};

use world::{FixtureResolver, TestKey};

/// 2025-06-01T00:00:00Z: after every fixture's issue date, before every expiry.
const NOW: i64 = 1_748_736_000;

fn fixture(name: &str) -> Vec<u8> {
    let path = world::fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

async fn check_with(
    resolver: &FixtureResolver,
    name: &str,
    email: Option<&str>,
    now: i64,
) -> VerificationReport {
    let bytes = fixture(name);
    let context = VerifyContext {
        resolver,
        now: Timestamp::from_unix_seconds(now),
        email,
    };
    let input = VerifyInput::Bytes {
        bytes: &bytes,
        declared: declared_image_kind(name),
    };
    verify(input, &context).await
}

async fn check(name: &str, email: Option<&str>) -> VerificationReport {
    check_with(&FixtureResolver::world(), name, email, NOW).await
}

fn codes_of(report: &VerificationReport) -> Vec<&str> {
    report
        .checks
        .iter()
        .map(|check| check.code.as_str())
        .collect()
}

#[test]
fn fixtures_match_their_recipes() {
    for (name, bytes) in recipes::all() {
        assert!(
            fixture(name) == bytes,
            "fixtures/verify/{name} differs from its recipe; run `cargo test -p accolade --test verify -- --ignored write_fixtures`"
        );
    }
}

/// Writes the fixtures from their recipes, and the test keys when they are missing.
#[test]
#[ignore = "writes fixtures; run by hand after changing a recipe"]
fn write_fixtures() {
    let keys = world::fixture_dir().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for name in ["k1", "k2"] {
        let path = keys.join(format!("{name}.pem"));
        if !path.exists() {
            let key = SigningKey::generate(
                accolade::domain::IssuerId::from_uuid(uuid::Uuid::nil()),
                SigningAlgorithm::Rs256,
                Timestamp::from_unix_seconds(0),
            )
            .unwrap();
            std::fs::write(&path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        }
    }
    for (name, bytes) in recipes::all() {
        std::fs::write(world::fixture_dir().join(name), bytes).unwrap();
    }
}

/// Each unreadable or empty input gives its own failure and is never valid.
#[tokio::test]
async fn unreadable_images_fail_with_baker_codes() {
    let cases = [
        ("bug02-a-bytes.png", "not_png"),
        ("bug02-b-jpeg.png", "not_png"),
        ("bug02-c-html.png", "not_png"),
        ("bug02-d-no-iend.png", "truncated_png"),
        ("bug02-e-empty.png", codes::EMPTY_BODY),
        ("bug02-f-empty-object.png", codes::NOT_AN_OPEN_BADGES_OBJECT),
        ("plain.png", codes::NO_BADGE_DATA),
        ("bug07-c-imposter.svg", codes::NO_BADGE_DATA),
        ("empty-object.json", codes::NOT_AN_OPEN_BADGES_OBJECT),
    ];
    for (name, expected) in cases {
        let report = check(name, None).await;
        assert!(!report.valid, "{name} must not be valid: {report:?}");
        assert_eq!(report.failures(), vec![expected], "{name}: {report:?}");
        assert_eq!(report.format, None, "{name}");
    }
}

#[tokio::test]
async fn undeclared_garbage_is_unsupported_input() {
    let resolver = FixtureResolver::world();
    let context = VerifyContext {
        resolver: &resolver,
        now: Timestamp::from_unix_seconds(NOW),
        email: None,
    };
    let report = verify(VerifyInput::bytes(&[1, 2, 3]), &context).await;
    assert_eq!(report.failures(), vec![codes::UNSUPPORTED_INPUT]);
    let jpeg = fixture("bug02-b-jpeg.png");
    let report = verify(VerifyInput::bytes(&jpeg), &context).await;
    assert_eq!(report.failures(), vec![codes::UNSUPPORTED_INPUT]);
    assert!(report.checks[0].message.contains("JPEG"), "{report:?}");
    assert!(resolver.calls().is_empty(), "nothing to fetch for garbage");
}

#[tokio::test]
async fn baked_hosted_assertions_are_valid() {
    for name in [
        "bug04-a-compressed-en.png",
        "bug04-b-en-gb.png",
        "bug07-a-ob-prefix.svg",
        "bug07-b-after-title.svg",
    ] {
        let resolver = FixtureResolver::world();
        let report = check_with(&resolver, name, Some("alice@example.org"), NOW).await;
        assert!(report.valid, "{name}: {report:#?}");
        assert_eq!(report.format, Some(Format::Ob2Hosted), "{name}");
        assert_eq!(
            report.id.as_deref(),
            Some("https://issuer.example/assertions/valid")
        );
        for code in [
            codes::IMAGE_UNBAKED,
            codes::HOSTED_ID_MATCHES,
            codes::IN_VERIFICATION_SCOPE,
            codes::RECIPIENT_MATCHES,
        ] {
            assert!(report.has(code), "{name} lacks {code}: {report:#?}");
        }
        assert_eq!(
            resolver.calls(),
            vec![
                "https://issuer.example/assertions/valid",
                world::BADGE_1,
                world::ISSUER_1
            ],
            "{name}: the hosted copy is fetched again, then its BadgeClass and issuer"
        );
    }
    let compressed = check("bug04-a-compressed-en.png", None).await;
    assert!(compressed.has("compressed_itxt"), "{compressed:#?}");
}

#[tokio::test]
async fn compressed_credential_chunk_is_read_with_a_warning() {
    let report = check(
        "bug04-c-credential-compressed.png",
        Some("alice@example.org"),
    )
    .await;
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.format, Some(Format::Ob3Jwt));
    let warning = report
        .check("compressed_itxt")
        .expect("a compressed_itxt warning");
    assert!(
        warning.ok && warning.message.starts_with("warning:"),
        "{warning:?}"
    );
}

#[tokio::test]
async fn svg_versions_are_never_mixed() {
    let credential = check("bug07-d-credential-cdata.svg", None).await;
    assert_eq!(credential.format, Some(Format::Ob3Json), "{credential:#?}");
    assert!(!credential.has(codes::BADGE_FORMAT_MISMATCH));
    assert!(
        credential.has(codes::NO_PROOF),
        "credential JSON has no proof: {credential:#?}"
    );
    assert!(credential.has(codes::STRUCTURE_VALID));
    assert!(!credential.valid);

    let mixed = check("bug07-e-assertion-as-credential.svg", None).await;
    assert_eq!(
        mixed.failures(),
        vec![codes::BADGE_FORMAT_MISMATCH],
        "{mixed:#?}"
    );
    assert!(!mixed.valid);
}

#[tokio::test]
async fn email_spellings_match_the_normalised_hash() {
    for email in [
        "alice@example.org",
        "Alice@Example.ORG",
        "  Alice@Example.ORG\n",
    ] {
        let report = check("bug10-hosted.json", Some(email)).await;
        assert!(report.valid, "{email:?}: {report:#?}");
        assert!(report.has(codes::RECIPIENT_MATCHES), "{email:?}");
    }
    let other = check("bug10-hosted.json", Some("bob@example.org")).await;
    assert_eq!(other.failures(), vec![codes::RECIPIENT_MISMATCH]);
    let invalid = check("bug10-hosted.json", Some("not an address")).await;
    assert_eq!(invalid.failures(), vec![codes::INVALID_EMAIL]);
    let unchecked = check("bug10-hosted.json", None).await;
    assert!(unchecked.valid);
    assert!(
        !unchecked.has(codes::RECIPIENT_MATCHES),
        "no email, no recipient check"
    );
}

#[tokio::test]
async fn issued_on_forms() {
    let cases = [
        ("bug12-date-only.json", Some(codes::TIMESTAMP_DATE_ONLY)),
        ("bug12-no-zone.json", Some(codes::TIMESTAMP_WITHOUT_ZONE)),
        ("bug12-epoch.json", Some(codes::TIMESTAMP_EPOCH_NUMBER)),
        ("bug12-plus0530.json", None),
        ("bug12-unicode-minus.json", None),
    ];
    for (name, warning) in cases {
        let report = check(name, None).await;
        assert!(report.valid, "{name}: {report:#?}");
        if let Some(warning) = warning {
            let found = report
                .check(warning)
                .unwrap_or_else(|| panic!("{name} lacks {warning}"));
            assert!(found.ok, "{name}: a warning is ok");
        }
    }
    let impossible = check("bug12-impossible.json", None).await;
    assert_eq!(
        impossible.failures(),
        vec![codes::INVALID_TIMESTAMP],
        "{impossible:#?}"
    );
    assert!(
        impossible
            .checks
            .iter()
            .any(|check| check.message.contains("2024-02-30"))
    );
}

#[tokio::test]
async fn revoked_and_unavailable_hosted_assertions() {
    for name in [
        "bug14-a-410.json",
        "bug14-b-410-empty.json",
        "bug14-c-200-revoked.json",
    ] {
        let report = check(name, None).await;
        assert!(!report.valid, "{name}");
        assert_eq!(
            report.failures(),
            vec![codes::REVOKED],
            "{name}: {report:#?}"
        );
        assert_eq!(report.format, Some(Format::Ob2Hosted));
    }
    let with_reason = check("bug14-a-410.json", None).await;
    assert!(
        with_reason
            .check(codes::REVOKED)
            .unwrap()
            .message
            .contains("Awarded in error")
    );

    let missing = check("bug14-d-404.json", None).await;
    assert_eq!(missing.failures(), vec![codes::NOT_FOUND], "{missing:#?}");
    let unavailable = check("bug14-e-503.json", None).await;
    assert_eq!(
        unavailable.failures(),
        vec![codes::UNVERIFIABLE_TRY_LATER],
        "{unavailable:#?}"
    );
    for report in [missing, unavailable] {
        assert!(!report.valid);
        assert!(!report.has(codes::REVOKED));
    }
}

#[tokio::test]
async fn hosted_copy_is_the_source_of_truth() {
    let mut resolver = FixtureResolver::world();
    let url = "https://issuer.example/assertions/changed";
    let hosted = world::hosted_assertion(url, json!("2024-11-08T10:33:30Z"));
    resolver.serve(url, 200, "application/ld+json", hosted.to_string());
    let mut handed = hosted.clone();
    handed["recipient"]["identity"] = json!("sha256$00");
    let context = VerifyContext {
        resolver: &resolver,
        now: Timestamp::from_unix_seconds(NOW),
        email: Some("alice@example.org"),
    };
    let report = verify(VerifyInput::bytes(handed.to_string().as_bytes()), &context).await;
    assert!(report.valid, "the hosted copy matches alice: {report:#?}");
    assert!(report.has(codes::HOSTED_COPY_DIFFERS));

    let mut other_id = hosted.clone();
    other_id["id"] = json!("https://issuer.example/assertions/other");
    resolver.serve(url, 200, "application/ld+json", other_id.to_string());
    let report = check_bytes(&resolver, hosted.to_string().as_bytes(), NOW).await;
    assert_eq!(report.failures(), vec![codes::HOSTED_ID_MISMATCH]);

    resolver.serve(url, 200, "text/html", "<html></html>");
    let report = check_bytes(&resolver, hosted.to_string().as_bytes(), NOW).await;
    assert_eq!(report.failures(), vec![codes::WRONG_CONTENT_TYPE]);
}

#[tokio::test]
async fn hosted_assertion_outside_the_issuer_origin() {
    let mut resolver = FixtureResolver::world();
    let url = "https://elsewhere.example/assertions/1";
    let assertion = world::hosted_assertion(url, json!("2024-11-08T10:33:30Z"));
    resolver.serve(url, 200, "application/ld+json", assertion.to_string());
    let context = VerifyContext {
        resolver: &resolver,
        now: Timestamp::from_unix_seconds(NOW),
        email: None,
    };
    let report = verify(VerifyInput::Url(url), &context).await;
    assert_eq!(
        report.failures(),
        vec![codes::VERIFICATION_SCOPE],
        "{report:#?}"
    );
    assert!(
        report
            .check(codes::VERIFICATION_SCOPE)
            .unwrap()
            .message
            .contains("elsewhere.example")
    );
}

#[tokio::test]
async fn signed_assertion_key_discovery_and_algorithms() {
    let cases = [
        ("bug16-a-no-creator.jws", None),
        (
            "bug16-b-creator-mismatch.jws",
            Some(codes::SIGNATURE_INVALID),
        ),
        ("bug16-c-hs256-public-key.jws", Some(codes::ALG_NOT_ALLOWED)),
        ("bug16-d-alg-none.jws", Some(codes::ALG_NONE)),
        ("bug16-e-lower-case-rs256.jws", Some(codes::ALG_NOT_ALLOWED)),
        (
            "bug16-f-owner-mismatch.jws",
            Some(codes::KEY_OWNER_MISMATCH),
        ),
    ];
    for (name, expected) in cases {
        let report = check(name, Some("alice@example.org")).await;
        assert_eq!(report.format, Some(Format::Ob2Signed), "{name}");
        match expected {
            None => {
                assert!(report.valid, "{name}: {report:#?}");
                let signature = report.check(codes::SIGNATURE_VALID).unwrap();
                assert!(signature.message.contains(world::KEY_2), "{signature:?}");
                assert!(report.has(codes::NOT_REVOKED));
            }
            Some(code) => {
                assert!(!report.valid, "{name}");
                assert_eq!(report.failures(), vec![code], "{name}: {report:#?}");
            }
        }
    }
    let lower = check("bug16-e-lower-case-rs256.jws", None).await;
    assert!(
        lower
            .check(codes::ALG_NOT_ALLOWED)
            .unwrap()
            .message
            .contains("case-sensitive")
    );
}

fn signed_jws(key: &TestKey, payload: &Value) -> Vec<u8> {
    world::compact(&json!({"alg": "RS256"}), payload, |input| key.rs256(input)).into_bytes()
}

async fn check_bytes(resolver: &FixtureResolver, bytes: &[u8], now: i64) -> VerificationReport {
    let context = VerifyContext {
        resolver,
        now: Timestamp::from_unix_seconds(now),
        email: None,
    };
    verify(VerifyInput::bytes(bytes), &context).await
}

#[tokio::test]
async fn signed_assertion_revocation_and_links() {
    let k1 = TestKey::load("k1");
    let resolver = FixtureResolver::world();

    let revoked = signed_jws(
        &k1,
        &world::signed_assertion(world::REVOKED_SIGNED, world::BADGE_1, Some(world::KEY_1)),
    );
    let report = check_bytes(&resolver, &revoked, NOW).await;
    assert_eq!(report.failures(), vec![codes::REVOKED], "{report:#?}");
    assert!(
        report
            .check(codes::REVOKED)
            .unwrap()
            .message
            .contains("Awarded in error")
    );

    // A key that signs but that the Profile does not link is ignored.
    let unlinked = signed_jws(
        &k1,
        &world::signed_assertion(
            "urn:uuid:51a1ed00-0000-4000-8000-000000000010",
            world::BADGE_1,
            Some(world::KEY_FOREIGN),
        ),
    );
    let report = check_bytes(&resolver, &unlinked, NOW).await;
    assert_eq!(
        report.failures(),
        vec![codes::KEY_NOT_LINKED],
        "{report:#?}"
    );

    let mut expiring = world::signed_assertion(
        "urn:uuid:51a1ed00-0000-4000-8000-000000000011",
        world::BADGE_1,
        Some(world::KEY_1),
    );
    expiring["expires"] = json!("2025-01-01T00:00:00Z");
    let report = check_bytes(&resolver, &signed_jws(&k1, &expiring), NOW).await;
    assert_eq!(report.failures(), vec![codes::EXPIRED], "{report:#?}");
    let report = check_bytes(&resolver, &signed_jws(&k1, &expiring), 1_730_000_000).await;
    assert!(report.valid, "before expiry: {report:#?}");
}

#[tokio::test]
async fn unreadable_revocation_list_is_only_a_warning() {
    let k1 = TestKey::load("k1");
    let mut resolver = FixtureResolver::world();
    resolver.serve(world::ASSERTION_REVOCATIONS, 503, "text/plain", "busy");
    let jws = signed_jws(
        &k1,
        &world::signed_assertion(
            "urn:uuid:51a1ed00-0000-4000-8000-000000000012",
            world::BADGE_1,
            Some(world::KEY_1),
        ),
    );
    let report = check_bytes(&resolver, &jws, NOW).await;
    assert!(report.valid, "{report:#?}");
    assert!(report.check(codes::REVOCATION_STATUS_UNKNOWN).unwrap().ok);

    resolver.serve(world::CREDENTIAL_REVOCATIONS, 500, "text/plain", "down");
    let report = check_bytes(&resolver, &fixture("credential.jwt"), NOW).await;
    assert!(report.valid, "{report:#?}");
    assert!(report.has(codes::REVOCATION_STATUS_UNKNOWN));
    assert!(!report.has(codes::NOT_REVOKED));
}

fn vc_jwt(key: &TestKey, header: &Value, payload: &Value) -> Vec<u8> {
    world::compact(header, payload, |input| key.rs256(input)).into_bytes()
}

#[tokio::test]
async fn credential_jwt_checks() {
    let k1 = TestKey::load("k1");
    let k2 = TestKey::load("k2");
    let resolver = FixtureResolver::world();

    let valid = check("credential.jwt", Some("Alice@Example.org")).await;
    assert!(valid.valid, "{valid:#?}");
    assert_eq!(valid.format, Some(Format::Ob3Jwt));
    for code in [
        codes::SIGNATURE_VALID,
        codes::CLAIMS_MATCH,
        codes::WITHIN_VALIDITY_PERIOD,
        codes::NOT_REVOKED,
        codes::SCHEMA_VALID,
        codes::RECIPIENT_MATCHES,
    ] {
        assert!(valid.has(code), "lacks {code}: {valid:#?}");
    }

    let credential = world::credential("urn:uuid:c0ffee00-0000-4000-8000-000000000003");
    let payload = world::vc_jwt_payload(&credential);
    let header = world::vc_jwt_header();

    // One changed payload byte.
    let tampered = world::tamper(&String::from_utf8(vc_jwt(&k1, &header, &payload)).unwrap());
    let report = check_bytes(&resolver, tampered.as_bytes(), NOW).await;
    assert_eq!(
        report.failures(),
        vec![codes::SIGNATURE_INVALID],
        "{report:#?}"
    );
    assert!(!report.valid);

    let cases: Vec<(&str, Value, Value, &TestKey, &str)> = vec![
        (
            "another key signed it",
            header.clone(),
            payload.clone(),
            &k2,
            codes::SIGNATURE_INVALID,
        ),
        (
            "an inline jwk",
            json!({"alg": "RS256", "kid": world::JWK_1, "typ": "JWT", "jwk": {"kty": "RSA"}}),
            payload.clone(),
            &k1,
            codes::HEADER_NOT_ALLOWED,
        ),
        (
            "a kid never issued",
            json!({"alg": "RS256", "kid": "https://issuer.example/keys/never-issued", "typ": "JWT"}),
            payload.clone(),
            &k1,
            codes::UNKNOWN_KID,
        ),
        (
            "no kid",
            json!({"alg": "RS256", "typ": "JWT"}),
            payload.clone(),
            &k1,
            codes::INVALID_HEADER,
        ),
        (
            "jti differs",
            header.clone(),
            {
                let mut changed = payload.clone();
                changed["jti"] = json!("urn:uuid:00000000-0000-4000-8000-000000000000");
                changed
            },
            &k1,
            codes::CLAIM_MISMATCH,
        ),
        (
            "nbf missing",
            header.clone(),
            {
                let mut changed = payload.clone();
                changed.as_object_mut().unwrap().remove("nbf");
                changed
            },
            &k1,
            codes::CLAIM_MISMATCH,
        ),
        (
            "contexts swapped",
            header.clone(),
            {
                let mut changed = payload.clone();
                changed["@context"].as_array_mut().unwrap().swap(0, 1);
                changed
            },
            &k1,
            codes::INVALID_CONTEXT,
        ),
        (
            "no extensions context",
            header.clone(),
            {
                let mut changed = payload.clone();
                changed["@context"].as_array_mut().unwrap().pop();
                changed
            },
            &k1,
            codes::INVALID_CONTEXT,
        ),
        (
            "issuer claimed by another origin",
            header.clone(),
            {
                let mut changed = payload.clone();
                changed["issuer"]["id"] = json!("https://impostor.example/issuers/1");
                changed["iss"] = json!("https://impostor.example/issuers/1");
                changed
            },
            &k1,
            codes::KEY_OWNER_MISMATCH,
        ),
        (
            "revoked",
            header.clone(),
            world::vc_jwt_payload(&world::credential(world::REVOKED_CREDENTIAL)),
            &k1,
            codes::REVOKED,
        ),
    ];
    for (what, header, payload, key, expected) in cases {
        let report = check_bytes(&resolver, &vc_jwt(key, &header, &payload), NOW).await;
        assert!(!report.valid, "{what}: {report:#?}");
        assert!(
            report.failures().contains(&expected),
            "{what} should fail with {expected}: {report:#?}"
        );
    }
}

#[tokio::test]
async fn credential_validity_window_follows_the_clock() {
    let resolver = FixtureResolver::world();
    let before = check_with(&resolver, "credential.jwt", None, 1_700_000_000).await;
    assert_eq!(before.failures(), vec![codes::NOT_YET_VALID], "{before:#?}");
    let after = check_with(&resolver, "credential.jwt", None, 2_100_000_000).await;
    assert_eq!(after.failures(), vec![codes::EXPIRED], "{after:#?}");
    // Within the allowed clock difference of the start.
    let edge = check_with(&resolver, "credential.jwt", None, 1_731_062_010 - 30).await;
    assert!(edge.valid, "{edge:#?}");
}

#[tokio::test]
async fn credential_structure_failures_name_the_field() {
    let k1 = TestKey::load("k1");
    let resolver = FixtureResolver::world();
    let mut credential = world::credential("urn:uuid:c0ffee00-0000-4000-8000-000000000004");
    credential["credentialSubject"]["achievement"]
        .as_object_mut()
        .unwrap()
        .remove("criteria");
    credential["validFrom"] = json!("2024-11-08T10:33:30");
    let mut payload = world::vc_jwt_payload(&credential);
    payload["nbf"] = json!(1_731_062_010);
    let report = check_bytes(
        &resolver,
        &vc_jwt(&k1, &world::vc_jwt_header(), &payload),
        NOW,
    )
    .await;
    assert!(!report.valid);
    let failures = report.failures();
    assert!(failures.contains(&codes::MISSING_FIELD), "{report:#?}");
    assert!(failures.contains(&codes::INVALID_TIMESTAMP), "{report:#?}");
    assert!(failures.contains(&codes::SCHEMA_INVALID), "{report:#?}");
    let missing = report.check(codes::MISSING_FIELD).unwrap();
    assert!(missing.message.contains("\"criteria\""), "{missing:?}");
}

#[tokio::test]
async fn credential_json_is_never_valid() {
    let resolver = FixtureResolver::world();
    let credential = world::credential("urn:uuid:c0ffee00-0000-4000-8000-000000000005");
    let report = check_bytes(&resolver, credential.to_string().as_bytes(), NOW).await;
    assert_eq!(report.format, Some(Format::Ob3Json));
    assert_eq!(report.failures(), vec![codes::NO_PROOF], "{report:#?}");
    let mut with_proof = credential.clone();
    with_proof["proof"] = json!([{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}]);
    let report = check_bytes(&resolver, with_proof.to_string().as_bytes(), NOW).await;
    assert_eq!(
        report.failures(),
        vec![codes::UNSUPPORTED_PROOF],
        "{report:#?}"
    );
}

/// Every fixture is verified without a panic, and none but the valid ones is valid.
#[tokio::test]
async fn every_fixture_gives_a_report() {
    let valid = [
        "bug04-a-compressed-en.png",
        "bug04-b-en-gb.png",
        "bug04-c-credential-compressed.png",
        "bug07-a-ob-prefix.svg",
        "bug07-b-after-title.svg",
        "bug10-hosted.json",
        "bug12-date-only.json",
        "bug12-no-zone.json",
        "bug12-epoch.json",
        "bug12-plus0530.json",
        "bug12-unicode-minus.json",
        "bug16-a-no-creator.jws",
        "credential.jwt",
    ];
    for (name, _) in recipes::all() {
        let report = check(name, None).await;
        assert_eq!(
            report.valid,
            valid.contains(&name),
            "{name}: {:?}",
            codes_of(&report)
        );
        assert!(!report.checks.is_empty(), "{name}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["checks", "format", "id", "valid"],
            "{name}"
        );
    }
}

mod no_panics {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    fn world() -> &'static FixtureResolver {
        static WORLD: OnceLock<FixtureResolver> = OnceLock::new();
        WORLD.get_or_init(FixtureResolver::world)
    }

    fn fixtures() -> &'static Vec<(&'static str, Vec<u8>)> {
        static FIXTURES: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
        FIXTURES.get_or_init(recipes::all)
    }

    fn run(bytes: &[u8]) -> VerificationReport {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let context = VerifyContext {
            resolver: world(),
            now: Timestamp::from_unix_seconds(NOW),
            email: Some("alice@example.org"),
        };
        runtime.block_on(verify(VerifyInput::bytes(bytes), &context))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn random_bytes_are_never_valid(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let report = run(&bytes);
            prop_assert!(!report.valid);
            prop_assert!(!report.checks.is_empty());
        }

        /// One byte of a real fixture changed: every path of the verifier sees damaged input.
        #[test]
        fn damaged_fixtures_give_reports(index in 0usize..64, position in any::<usize>(), byte in any::<u8>()) {
            let (_, original) = &fixtures()[index % fixtures().len()];
            let mut bytes = original.clone();
            if !bytes.is_empty() {
                let at = position % bytes.len();
                bytes[at] = byte;
            }
            let report = run(&bytes);
            prop_assert!(!report.checks.is_empty());
        }
    }
}
