//! Signed badges against a local stack, checked by independent tools: every claimed award's
//! Open Badges 3.0 credential (the 1EdTech JSON Schema through Python `jsonschema`, the
//! VC-JWT through npm `jose` with the key fetched from its `kid` URL and the JWK Set), the
//! baked 3.0 images, the signed Open Badges 2.0 assertion and its images (the 1EdTech 2.0
//! validator), revocation, and key rotation.
//!
//! The tools come from `bash infra/scripts/setup-test-tools.sh`. The test command names them
//! in `ACCOLADE_TOOLS_PYTHON`, `ACCOLADE_NODE_TOOLS` and `ACCOLADE_BADGECHECK`; without those
//! variables the repository's own paths are used, and a missing tool fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use accolade::adapters::mail::read_eml;
use accolade::baking::{BadgeFormat, unbake};
use accolade::keys::SigningAlgorithm;
use accolade_local::admin::StoreArgs;
use accolade_local::keys::{GenerateOptions, generate_keys};
use accolade_tests::{TestStack, access_token, badgecheck, http, repo_root};
use serde_json::{Value, json};

const SETUP: &str = "run `bash infra/scripts/setup-test-tools.sh` from the repository root";
const RECIPIENT: &str = "Amara.Okafor@Example.org";
const NORMALISED_RECIPIENT: &str = "amara.okafor@example.org";

fn tool_path(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(default));
    assert!(
        path.exists(),
        "{} is missing ({variable} or the default {default}); {SETUP}",
        path.display()
    );
    path
}

/// Runs a tool and returns its exit status and standard output, failing the test when it
/// cannot start or exits with 2 (the tool itself failed).
fn run_tool(mut command: Command, what: &str) -> (i32, String) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {what}: {error}; {SETUP}"));
    let code = output.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        code == 0 || code == 1,
        "{what} failed to run (exit {code}):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code, stdout)
}

/// Verifies a VC-JWT with npm `jose`: the key comes from the header's `kid` URL, and the
/// JWK Set is compared with it.
fn verify_with_jose(jws_file: &Path, jwks_url: &str) -> (i32, Value) {
    let tools = tool_path("ACCOLADE_NODE_TOOLS", "tests/validators");
    assert!(
        tools.join("node_modules/jose").exists(),
        "npm jose is missing from {}; {SETUP}",
        tools.display()
    );
    let mut command = Command::new("node");
    command
        .arg(tools.join("verify_vc_jwt.mjs"))
        .arg(jws_file)
        .args(["--jwks", jwks_url]);
    let (code, stdout) = run_tool(command, "node verify_vc_jwt.mjs");
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("verify_vc_jwt printed no JSON ({error}):\n{stdout}"));
    (code, report)
}

/// Validates JSON files against the Open Badges 3.0 schema with Python `jsonschema`.
fn validate_schema(files: &[&Path]) -> (i32, Value) {
    let python = tool_path("ACCOLADE_TOOLS_PYTHON", ".venv/tools/bin/python");
    let mut command = Command::new(python);
    command
        .arg(repo_root().join("tests/validators/validate_json_schema.py"))
        .arg(repo_root().join("tests/fixtures/ob3/ob_v3p0_achievementcredential_schema.json"))
        .args(files);
    let (code, stdout) = run_tool(command, "validate_json_schema.py");
    let report = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("validate_json_schema printed no JSON ({error}):\n{stdout}")
    });
    (code, report)
}

/// The cause of a signed-badge failure that lies in the validator's environment: badgecheck
/// 1.2.0 passes python-jose a pycryptodome key object, which python-jose reads only through
/// its pycrypto backend (python-jose 3.1.0 and older; 3.3.0 has none).
fn tool_hint(report: &str) -> &'static str {
    if report.contains("Unable to parse an RSA_JWK") {
        "\nbadgecheck cannot read any RSA key in this environment: pin python-jose==3.1.0 in \
         tests/validators/requirements-badgecheck.txt and run infra/scripts/setup-test-tools.sh"
    } else {
        ""
    }
}

/// Runs the 1EdTech Open Badges 2.0 validator on a signed assertion in a file.
fn badgecheck_jws(file: &Path, email: &str) -> (bool, String) {
    let runner = std::env::var("ACCOLADE_BADGECHECK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("tests/validators/badgecheck-offline"));
    let jws_runner = runner.with_file_name("badgecheck-jws-offline");
    assert!(
        jws_runner.exists(),
        "{} is missing; {SETUP}",
        jws_runner.display()
    );
    let mut command = Command::new(&jws_runner);
    command.arg(file).args(["--email", email]);
    let (code, stdout) = run_tool(command, "badgecheck-jws-offline");
    (code == 0, stdout)
}

fn get(url: &str, accept: &str) -> (u16, Vec<u8>, String) {
    let mut response = http()
        .get(url)
        .header("Accept", accept)
        .call()
        .unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.body_mut().read_to_vec().unwrap_or_default();
    (status, body, content_type)
}

fn get_text(url: &str) -> String {
    let (status, body, _) = get(url, "*/*");
    assert_eq!(status, 200, "GET {url}");
    String::from_utf8(body).expect("UTF-8 body")
}

fn get_json(url: &str) -> Value {
    serde_json::from_str(&get_text(url)).unwrap_or_else(|error| panic!("{url}: {error}"))
}

/// Waits until `url` returns 200 and returns the body.
fn wait_for(url: &str) -> Vec<u8> {
    for _ in 0..400 {
        let (status, body, _) = get(url, "*/*");
        if status == 200 {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{url} did not appear within 20 s");
}

fn api_post(stack: &TestStack, token: &str, path: &str, body: &Value, key: &str) -> Value {
    let mut response = http()
        .post(&stack.url(path))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", key)
        .send_json(body)
        .unwrap_or_else(|error| panic!("POST {path} failed: {error}"));
    let status = response.status().as_u16();
    let reply: Value = response.body_mut().read_json().expect("JSON response");
    assert!(
        (200..300).contains(&status),
        "POST {path}: {status} {reply}"
    );
    reply
}

fn lead_achievement(stack: &TestStack, token: &str) -> (String, String) {
    let mut response = http()
        .get(&stack.url("/v1/achievements"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("list achievements");
    let body: Value = response.body_mut().read_json().expect("JSON list");
    let lead = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["level"] == "lead")
        .expect("a lead achievement")
        .clone();
    (
        lead["id"].as_str().expect("id").to_owned(),
        lead["issuer_id"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Issues an award through the partner API, claims it from the emailed link, and waits for
/// its VC-JWT. Returns the award id.
fn issue_and_claim(
    stack: &TestStack,
    token: &str,
    achievement: &str,
    emails_before: usize,
) -> String {
    let award = api_post(
        stack,
        token,
        "/v1/awards",
        &json!({
            "achievement_id": achievement,
            "recipient": {"email": RECIPIENT, "name": "Amara Okafor"},
            "narrative": "Led the string section's sectional rehearsals.",
            "evidence": [{"narrative": "Sectional plan", "url": "https://music.example.org/plan"}],
            "reaward": emails_before > 0,
        }),
        &format!("ob3-award-{emails_before}"),
    );
    let award_id = award["id"].as_str().expect("award id").to_owned();

    let emails = stack.wait_for_emails(emails_before + 1, Duration::from_secs(20));
    let email = read_eml(&std::fs::read(&emails[emails_before]).expect("read eml")).expect("eml");
    let start = email
        .text
        .find(&format!("{}/claim/", stack.base_url))
        .expect("claim link");
    let link = email.text[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .trim_end_matches(['.', ',', ')', '>']);
    let response = http()
        .post(link)
        .header("Accept", "text/html")
        .send_form([("display_name", "Amara")])
        .expect("claim POST");
    assert_eq!(response.status().as_u16(), 303, "the claim succeeds");

    wait_for(&stack.url(&format!("/credentials/{award_id}.jwt")));
    award_id
}

fn decode_segment(segment: &str) -> Value {
    // The header and payload are checked through jose's output; this decoder only reads the
    // kid of a stored JWS for the rotation check.
    let mut bytes = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for character in segment.bytes() {
        let value = match character {
            b'A'..=b'Z' => character - b'A',
            b'a'..=b'z' => character - b'a' + 26,
            b'0'..=b'9' => character - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {segment}"),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&bytes).expect("JSON segment")
}

fn kid_of(jws: &str) -> String {
    let header = decode_segment(jws.split('.').next().expect("header"));
    header["kid"].as_str().expect("kid").to_owned()
}

#[test]
fn signed_badges_pass_independent_tools() {
    let stack = TestStack::start();
    let token = access_token(&stack);
    let (achievement, _) = lead_achievement(&stack, &token);
    let scratch = tempfile::tempdir().expect("temporary folder");
    let jwks_url = stack.url("/.well-known/jwks.json");

    let award_id = issue_and_claim(&stack, &token, &achievement, 0);
    let credential_url = stack.url(&format!("/credentials/{award_id}"));
    let jws = get_text(&format!("{credential_url}.jwt"));
    let (status, credential_bytes, content_type) = get(&credential_url, "application/vc+ld+json");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/vc+ld+json");
    let credential: Value = serde_json::from_slice(&credential_bytes).expect("credential JSON");
    let jws_file = scratch.path().join("first.jwt");
    std::fs::write(&jws_file, &jws).unwrap();
    let credential_file = scratch.path().join("credential.json");
    std::fs::write(&credential_file, &credential_bytes).unwrap();

    // Frozen: every fetch returns the same bytes, and the download form is the same JSON.
    assert_eq!(get_text(&format!("{credential_url}.jwt")), jws);
    assert_eq!(get(&credential_url, "*/*").1, credential_bytes);
    assert_eq!(
        get(&format!("{credential_url}.json"), "text/html").1,
        credential_bytes
    );

    // The 1EdTech JSON Schema, with 1EdTech's own example as a positive control and a broken
    // copy as a negative one, so a validator that accepts everything cannot pass.
    let control = repo_root().join("shared/tests/fixtures/1edtech-ob30/simple.json");
    let (code, report) = validate_schema(&[&credential_file, &control]);
    assert_eq!(code, 0, "schema errors: {report:#}");
    let mut broken = credential.clone();
    broken["credentialSubject"]["identifier"][0]["identityType"] = json!("shoeSize");
    broken.as_object_mut().unwrap().remove("validFrom");
    let broken_file = scratch.path().join("broken.json");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    let (code, report) = validate_schema(&[&broken_file]);
    assert_eq!(code, 1, "a broken credential must fail: {report:#}");

    // The partner API's verify endpoint on the local stack checks the same VC-JWT.
    let mut response = http()
        .post(&stack.url("/v1/verify"))
        .header("Authorization", &format!("Bearer {token}"))
        .content_type("application/jwt")
        .send(jws.as_bytes())
        .expect("POST /v1/verify");
    assert_eq!(response.status(), 200, "POST /v1/verify");
    let report: Value = response.body_mut().read_json().expect("verify report");
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["format"], "ob3-jwt", "{report:#}");

    // The VC-JWT with jose, the key from the kid URL, and the JWK Set.
    let (code, report) = verify_with_jose(&jws_file, &jwks_url);
    assert_eq!(code, 0, "jose verification: {report:#}");
    assert_eq!(report["header_members"], json!(["alg", "kid", "typ"]));
    assert_eq!(report["header"]["alg"], "RS256");
    assert_eq!(report["header"]["typ"], "JWT");
    let kid = report["header"]["kid"].as_str().expect("kid");
    assert!(kid.starts_with(&stack.url("/keys/")), "{kid}");
    assert_eq!(report["kid_content_type"], "application/jwk+json");
    assert_eq!(report["jwks_content_type"], "application/jwk-set+json");
    assert_eq!(report["jwks_matches_kid"], true);
    assert_eq!(report["kid_jwk"]["kid"], kid);
    assert_eq!(report["kid_jwk"]["use"], "sig");
    assert_eq!(report["kid_jwk"]["alg"], "RS256");
    assert_eq!(report["kid_jwk"]["iss"], credential["issuer"]["id"]);
    let payload = &report["payload"];
    assert_eq!(payload["iss"], credential["issuer"]["id"]);
    assert_eq!(payload["jti"], credential["id"]);
    assert_eq!(payload["jti"], format!("urn:uuid:{award_id}"));
    assert_eq!(payload["sub"], credential["credentialSubject"]["id"]);
    let valid_from = credential["validFrom"].as_str().expect("validFrom");
    assert_eq!(
        payload["nbf"].as_i64().expect("nbf"),
        accolade::domain::Timestamp::parse_rfc3339(valid_from)
            .unwrap()
            .unix_seconds()
    );
    assert!(payload.get("exp").is_none(), "the award does not expire");
    let mut payload_credential = payload.clone();
    for claim in ["iss", "jti", "sub", "nbf"] {
        payload_credential.as_object_mut().unwrap().remove(claim);
    }
    assert_eq!(
        payload_credential, credential,
        "the payload is the served credential"
    );

    // Privacy: a hashed identifier with a salt of its own, and no plain email or name.
    let identifier = &credential["credentialSubject"]["identifier"][0];
    let salt = identifier["salt"].as_str().expect("salt");
    assert_eq!(
        identifier["identityHash"],
        accolade::crypto::identity_hash(
            &accolade::domain::EmailAddress::parse(NORMALISED_RECIPIENT).unwrap(),
            salt
        )
    );
    let assertion = get_json(&stack.url(&format!("/assertions/{award_id}")));
    assert_ne!(assertion["recipient"]["salt"], identifier["salt"]);
    let text = String::from_utf8_lossy(&credential_bytes).to_lowercase();
    assert!(!text.contains("amara"), "no name or plain email in {text}");

    // The baked 3.0 images carry exactly the served JWS.
    for extension in ["png", "svg"] {
        let image = wait_for(&format!("{credential_url}/image.{extension}"));
        let unbaked = unbake(&image).expect("readable image").expect("badge data");
        assert_eq!(unbaked.format, BadgeFormat::V3, "{extension}");
        assert_eq!(unbaked.text, jws, "{extension}");
    }

    // The signed 2.0 assertion and its images pass the 1EdTech 2.0 validator.
    let signed_url = stack.url(&format!("/assertions/{award_id}/signed.jws"));
    let signed = get_text(&signed_url);
    let signed_file = scratch.path().join("signed.jws");
    std::fs::write(&signed_file, &signed).unwrap();
    let (valid, report) = badgecheck_jws(&signed_file, NORMALISED_RECIPIENT);
    assert!(valid, "signed assertion:\n{report}{}", tool_hint(&report));
    let (valid, _) = badgecheck_jws(&signed_file, "someone.else@example.org");
    assert!(!valid, "another recipient must not match");
    for extension in ["png", "svg"] {
        let image = wait_for(&stack.url(&format!("/assertions/{award_id}/signed.{extension}")));
        let unbaked = unbake(&image).expect("readable image").expect("badge data");
        assert_eq!(unbaked.format, BadgeFormat::V2);
        assert_eq!(unbaked.text, signed, "{extension}");
        let file = scratch.path().join(format!("signed.{extension}"));
        std::fs::write(&file, &image).unwrap();
        let report = badgecheck(file.to_str().unwrap(), Some(NORMALISED_RECIPIENT));
        let messages = report.messages();
        assert!(
            report.valid,
            "signed {extension}: {messages}{}",
            tool_hint(&messages)
        );
    }

    // Revocation shows in both lists at once; images return 410, and the signed documents stay.
    let issuer_url = credential["issuer"]["id"]
        .as_str()
        .expect("issuer id")
        .to_owned();
    let list = get_json(&format!("{issuer_url}/revocations"));
    assert_eq!(list["revokedCredential"], json!([]));
    api_post(
        &stack,
        &token,
        &format!("/v1/awards/{award_id}/revoke"),
        &json!({"reason": "Awarded in error"}),
        "ob3-revoke",
    );
    let list = get_json(
        credential["credentialStatus"]["id"]
            .as_str()
            .expect("status id"),
    );
    assert_eq!(list["id"], credential["credentialStatus"]["id"]);
    assert_eq!(
        list["revokedCredential"],
        json!([{"id": format!("urn:uuid:{award_id}"), "revoked": true, "revocationReason": "Awarded in error"}])
    );
    let profile = get_json(&issuer_url);
    let v2_list = get_json(profile["revocationList"].as_str().expect("revocationList"));
    assert_eq!(v2_list["type"], "RevocationList");
    assert_eq!(
        v2_list["revokedAssertions"],
        json!([
            {"id": format!("urn:uuid:{award_id}"), "revocationReason": "Awarded in error"},
            {"id": stack.url(&format!("/assertions/{award_id}")), "revocationReason": "Awarded in error"},
        ])
    );
    let (status, _, _) = get(&stack.url(&format!("/assertions/{award_id}")), "*/*");
    assert_eq!(status, 410, "the hosted assertion");
    for path in [
        format!("/credentials/{award_id}/image.png"),
        format!("/credentials/{award_id}/image.svg"),
        format!("/assertions/{award_id}/signed.png"),
        format!("/assertions/{award_id}/image.png"),
    ] {
        let (status, _, _) = get(&stack.url(&path), "*/*");
        assert_eq!(status, 410, "{path}");
    }
    assert_eq!(get_text(&format!("{credential_url}.jwt")), jws);
    assert_eq!(get(&credential_url, "*/*").1, credential_bytes);
    let (valid, report) = badgecheck_jws(&signed_file, NORMALISED_RECIPIENT);
    assert!(!valid, "a revoked signed assertion must fail");
    assert!(report.contains("has been revoked"), "{report}");

    // Rotation: the new key signs new credentials; old ones keep verifying.
    let old_kid = kid.to_owned();
    let issuer_id = issuer_url
        .rsplit('/')
        .next()
        .expect("issuer id")
        .parse()
        .expect("uuid");
    let rotated = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(generate_keys(&GenerateOptions {
            store: StoreArgs::embedded(stack.data_dir.path()),
            issuer: Some(issuer_id),
            algorithm: SigningAlgorithm::Rs256,
        }))
        .expect("keys generate");
    let new_kid = rotated[0].kid.clone().expect("kid");
    assert_ne!(new_kid, old_kid);

    let second = issue_and_claim(&stack, &token, &achievement, 1);
    let second_jws = get_text(&stack.url(&format!("/credentials/{second}.jwt")));
    assert_eq!(
        kid_of(&second_jws),
        new_kid,
        "the new key signs new credentials"
    );
    let second_file = scratch.path().join("second.jwt");
    std::fs::write(&second_file, &second_jws).unwrap();
    let (code, report) = verify_with_jose(&second_file, &jwks_url);
    assert_eq!(code, 0, "new credential: {report:#}");
    let (code, report) = verify_with_jose(&jws_file, &jwks_url);
    assert_eq!(code, 0, "old credential after rotation: {report:#}");
    assert_eq!(report["header"]["kid"], old_kid);
    let jwks = get_json(&jwks_url);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|key| key["kid"].as_str())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
    let profile = get_json(&issuer_url);
    assert_eq!(profile["publicKey"].as_array().expect("publicKey").len(), 2);
}
