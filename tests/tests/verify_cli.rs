//! `accolade verify` end to end: a local stack issues and claims a badge, and the command
//! verifies every form it publishes, over HTTP, as a verifier elsewhere would. Forged
//! variants of the same badge each fail with their own code, and a small server on
//! 127.0.0.1 plays the hosts that answer 410, 404, 503, redirects and foreign issuers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use accolade::adapters::mail::read_eml;
use accolade::crypto::Pepper;
use accolade::domain::{IssuerId, Timestamp};
use accolade::keys::{SigningAlgorithm, SigningKey};
use accolade::openbadges::signed::{self, SignedAssertion, SignedVerification};
use accolade::openbadges::v2::IdentityObject;
use accolade::openbadges::v3::{self, OpenBadgeCredential};
use accolade::urls::PublicUrls;
use accolade_local::verify::{VerifyArgs, run};
use accolade_tests::{TestStack, access_token, find_claim_link, http};
use serde_json::{Value, json};

/// Runs `accolade verify` and returns its exit status and report.
fn verify_cli(input: &str, email: Option<&str>, at: Option<Timestamp>) -> (u8, Value) {
    let args = VerifyArgs {
        input: input.to_owned(),
        email: email.map(str::to_owned),
        at,
    };
    let mut out = Vec::new();
    let status = run(&args, &mut out);
    let report: Value = serde_json::from_slice(&out).unwrap_or_else(|error| {
        panic!(
            "accolade verify printed no JSON ({error}): {}",
            String::from_utf8_lossy(&out)
        )
    });
    (status, report)
}

fn failures(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|check| check["ok"] == false)
        .map(|check| check["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn has_check(report: &Value, code: &str) -> bool {
    report["checks"]
        .as_array()
        .is_some_and(|checks| checks.iter().any(|check| check["code"] == code))
}

// ---------------------------------------------------------------------------------------------
// Base64url and compact JWS, so forged tokens can be built by hand.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .fold(0u32, |n, byte| (n << 8) | u32::from(*byte))
            << (8 * (3 - chunk.len()));
        for index in 0..=chunk.len() {
            out.push(char::from(
                ALPHABET[((n >> (18 - 6 * index)) & 63) as usize],
            ));
        }
    }
    out
}

fn b64_decode(text: &str) -> Vec<u8> {
    let values: Vec<u32> = text
        .bytes()
        .map(|byte| ALPHABET.iter().position(|a| *a == byte).expect("base64url") as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in values.chunks(4) {
        let n = chunk.iter().fold(0u32, |n, value| (n << 6) | value) << (6 * (4 - chunk.len()));
        for index in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * index)) as u8);
        }
    }
    out
}

fn jws_payload(jws: &str) -> Value {
    serde_json::from_slice(&b64_decode(jws.split('.').nth(1).expect("payload")))
        .expect("JSON payload")
}

/// A compact JWS with the given header and payload and a signature made by `sign`.
fn compact(header: &Value, payload: &Value, sign: impl FnOnce(&str) -> String) -> String {
    let input = format!(
        "{}.{}",
        b64_encode(header.to_string().as_bytes()),
        b64_encode(payload.to_string().as_bytes())
    );
    let signature = sign(&input);
    format!("{input}.{signature}")
}

/// Changes one byte of the payload (the case of the first letter of the first `"name"`),
/// keeping the JSON valid and the signature as it was.
fn tamper(jws: &str) -> String {
    let parts: Vec<&str> = jws.split('.').collect();
    let mut payload = b64_decode(parts[1]);
    let marker = b"\"name\":\"";
    let at = payload
        .windows(marker.len())
        .position(|window| window == marker)
        .expect("the payload has a name")
        + marker.len();
    assert!(
        payload[at].is_ascii_alphabetic(),
        "the name starts with a letter"
    );
    payload[at] ^= 0x20;
    format!("{}.{}.{}", parts[0], b64_encode(&payload), parts[2])
}

// ---------------------------------------------------------------------------------------------
// A small HTTP server on 127.0.0.1 with canned responses.

#[derive(Clone)]
struct Canned {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    location: Option<String>,
}

struct FakeHost {
    origin: String,
    routes: Arc<Mutex<HashMap<String, Canned>>>,
}

impl FakeHost {
    fn start() -> FakeHost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let routes: Arc<Mutex<HashMap<String, Canned>>> = Arc::default();
        let served = routes.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &served);
            }
        });
        FakeHost { origin, routes }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    fn serve(&self, path: &str, status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) {
        self.routes.lock().unwrap().insert(
            path.to_owned(),
            Canned {
                status,
                content_type,
                body: body.into(),
                location: None,
            },
        );
    }

    fn redirect(&self, path: &str, to: &str) {
        self.routes.lock().unwrap().insert(
            path.to_owned(),
            Canned {
                status: 302,
                content_type: "text/plain",
                body: Vec::new(),
                location: Some(to.to_owned()),
            },
        );
    }
}

fn answer(stream: TcpStream, routes: &Mutex<HashMap<String, Canned>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let canned = routes
        .lock()
        .map(|routes| routes.get(&path).cloned())
        .ok()
        .flatten();
    let canned = canned.unwrap_or(Canned {
        status: 404,
        content_type: "text/plain",
        body: b"not found".to_vec(),
        location: None,
    });
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        canned.status,
        canned.content_type,
        canned.body.len()
    );
    if let Some(location) = &canned.location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    stream.write_all(&canned.body)?;
    stream.flush()
}

// ---------------------------------------------------------------------------------------------
// Issuing and claiming through the stack.

fn now() -> Timestamp {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    Timestamp::from_unix_seconds(i64::try_from(seconds).expect("seconds"))
}

fn get_json(url: &str, token: Option<&str>) -> Value {
    let mut request = http().get(url).header("Accept", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().expect("GET");
    assert_eq!(response.status(), 200, "GET {url}");
    response.body_mut().read_json().expect("JSON")
}

fn get_bytes(url: &str) -> (u16, Vec<u8>) {
    let mut response = http().get(url).header("Accept", "*/*").call().expect("GET");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_vec().unwrap_or_default(),
    )
}

/// Waits until `url` returns 200 and returns its body.
fn wait_for(url: &str) -> Vec<u8> {
    for _ in 0..400 {
        let (status, body) = get_bytes(url);
        if status == 200 {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{url} did not appear within 20 s");
}

/// Awards the first achievement to `email`, claims it from the emailed link, waits until its
/// documents are minted and returns the award id.
fn issue_and_claim(
    stack: &TestStack,
    token: &str,
    email: &str,
    expires_at: Option<Timestamp>,
    emails_before: usize,
) -> String {
    let achievements = get_json(&stack.url("/v1/achievements"), Some(token));
    let achievement = achievements["items"][0]["id"]
        .as_str()
        .expect("an achievement")
        .to_owned();
    let mut body = json!({"achievement_id": achievement, "recipient": {"email": email, "name": "Alice Example"}});
    if let Some(expires_at) = expires_at {
        body["expires_at"] = json!(expires_at.to_rfc3339());
    }
    let mut response = http()
        .post(&stack.url("/v1/awards"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", &format!("verify-{email}"))
        .send_json(body)
        .expect("create award");
    let created: Value = response.body_mut().read_json().expect("award JSON");
    assert_eq!(response.status(), 201, "{created}");
    let award_id = created["id"].as_str().expect("id").to_owned();

    let emails = stack.wait_for_emails(emails_before + 1, Duration::from_secs(20));
    let email_file =
        read_eml(&std::fs::read(&emails[emails_before]).expect("read eml")).expect("parse eml");
    let link = find_claim_link(&email_file.text, &stack.base_url);
    let response = http()
        .post(&link)
        .header("Accept", "text/html")
        .send_form([("display_name", "Alice Example")])
        .expect("claim");
    assert_eq!(response.status(), 303, "the claim succeeds");

    for path in [
        format!("/assertions/{award_id}/image.png"),
        format!("/assertions/{award_id}/image.svg"),
        format!("/assertions/{award_id}/signed.png"),
        format!("/assertions/{award_id}/signed.svg"),
        format!("/credentials/{award_id}/image.png"),
        format!("/credentials/{award_id}/image.svg"),
    ] {
        wait_for(&stack.url(&path));
    }
    award_id
}

/// Every published form of an award: its URL, and a local file where one is downloaded.
fn forms(stack: &TestStack, award_id: &str) -> Vec<(String, &'static str)> {
    vec![
        (stack.url(&format!("/assertions/{award_id}")), "ob2-hosted"),
        (
            stack.url(&format!("/assertions/{award_id}/image.png")),
            "ob2-hosted",
        ),
        (
            stack.url(&format!("/assertions/{award_id}/image.svg")),
            "ob2-hosted",
        ),
        (
            stack.url(&format!("/assertions/{award_id}/signed.jws")),
            "ob2-signed",
        ),
        (
            stack.url(&format!("/assertions/{award_id}/signed.png")),
            "ob2-signed",
        ),
        (
            stack.url(&format!("/assertions/{award_id}/signed.svg")),
            "ob2-signed",
        ),
        (
            stack.url(&format!("/credentials/{award_id}.jwt")),
            "ob3-jwt",
        ),
        (
            stack.url(&format!("/credentials/{award_id}/image.png")),
            "ob3-jwt",
        ),
        (
            stack.url(&format!("/credentials/{award_id}/image.svg")),
            "ob3-jwt",
        ),
    ]
}

/// Downloads every form into the stack's data folder and returns the file paths.
fn download(stack: &TestStack, award_id: &str) -> Vec<(String, &'static str)> {
    forms(stack, award_id)
        .into_iter()
        .enumerate()
        .map(|(index, (url, format))| {
            let (status, body) = get_bytes(&url);
            assert_eq!(status, 200, "{url}");
            let extension = url
                .rsplit('.')
                .next()
                .filter(|ext| ext.len() <= 4)
                .unwrap_or("json");
            let path = stack
                .data_dir
                .path()
                .join(format!("{award_id}-{index}.{extension}"));
            std::fs::write(&path, body).expect("write form");
            (path.to_str().expect("UTF-8 path").to_owned(), format)
        })
        .collect()
}

/// The issuer's real signing key, read from the stack's key folder.
fn issuer_key(stack: &TestStack, issuer_id: IssuerId) -> SigningKey {
    let folder = stack.data_dir.path().join("keys");
    let entry = std::fs::read_dir(&folder)
        .expect("the key folder")
        .filter_map(Result::ok)
        .find(|entry| entry.path().extension().is_some_and(|ext| ext == "pem"))
        .expect("a key file");
    let pem = std::fs::read_to_string(entry.path()).expect("read key");
    SigningKey::from_pkcs8_pem(
        &pem,
        "stack key",
        issuer_id,
        Timestamp::from_unix_seconds(0),
    )
    .expect("an RS256 key")
}

#[test]
fn our_published_forms_verify() {
    let stack = TestStack::start();
    let token = access_token(&stack);
    let award_id = issue_and_claim(&stack, &token, "alice@example.org", None, 0);
    let urls = PublicUrls::parse(&stack.base_url).expect("base URL");

    // Every form, by URL and as a downloaded file, with and without the right email.
    let files = download(&stack, &award_id);
    for (input, format) in forms(&stack, &award_id).into_iter().chain(files.clone()) {
        let (status, report) = verify_cli(&input, Some("Alice@Example.org"), None);
        assert_eq!(status, 0, "{input}: {report:#}");
        assert_eq!(report["valid"], true);
        assert_eq!(report["format"], format, "{input}");
        assert!(has_check(&report, "recipient_matches"), "{input}");

        let (status, report) = verify_cli(&input, Some("bob@example.org"), None);
        assert_eq!(status, 1, "{input}");
        assert_eq!(
            failures(&report),
            vec!["recipient_mismatch"],
            "{input}: {report:#}"
        );
    }
    let (_, hosted) = verify_cli(
        &urls.assertion(award_id.parse().expect("award id")),
        None,
        None,
    );
    assert_eq!(
        hosted["id"],
        urls.assertion(award_id.parse().expect("award id"))
    );

    // Forged variants of the real documents.
    let issuer = get_json(&stack.url("/v1/issuer"), Some(&token));
    let issuer_id: IssuerId = issuer["id"]
        .as_str()
        .expect("issuer id")
        .parse()
        .expect("issuer id");
    let key = issuer_key(&stack, issuer_id);
    let credential_jws =
        String::from_utf8(get_bytes(&stack.url(&format!("/credentials/{award_id}.jwt"))).1)
            .expect("JWS");
    let signed_jws =
        String::from_utf8(get_bytes(&stack.url(&format!("/assertions/{award_id}/signed.jws"))).1)
            .expect("JWS");
    let signed_payload = jws_payload(&signed_jws);
    let credential: OpenBadgeCredential = {
        let mut payload = jws_payload(&credential_jws);
        for claim in ["iss", "jti", "sub", "nbf", "exp"] {
            payload.as_object_mut().expect("object").remove(claim);
        }
        serde_json::from_value(payload).expect("a credential")
    };
    let stranger = SigningKey::generate(issuer_id, SigningAlgorithm::Rs256, now()).expect("a key");

    let public_pem = key.public().public_key_pem.clone();
    let hs256 = compact(
        &json!({"alg": "HS256", "kid": key.public().kid(&urls), "typ": "JWT"}),
        &jws_payload(&credential_jws),
        |input| {
            let mac = Pepper::new(public_pem.into_bytes())
                .expect("a long enough key")
                .claim_token_hash(input);
            let bytes: Vec<u8> = (0..mac.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&mac[i..i + 2], 16).expect("hex"))
                .collect();
            b64_encode(&bytes)
        },
    );
    let alg_none = compact(&json!({"alg": "none"}), &signed_payload, |_| String::new());
    let unknown_kid = v3::sign_credential(credential.clone(), &stranger, &urls)
        .expect("signed")
        .jws;
    let foreign_issuer = {
        let mut claimed = credential.clone();
        claimed.issuer.id = "https://impostor.example/issuers/1".to_owned();
        v3::sign_credential(claimed, &key, &urls)
            .expect("signed")
            .jws
    };
    let as_signed = |badge: String, creator: String| SignedAssertion {
        context: "https://w3id.org/openbadges/v2",
        kind: "Assertion",
        id: signed_payload["id"].as_str().expect("id").to_owned(),
        recipient: IdentityObject {
            kind: "email",
            hashed: true,
            salt: signed_payload["recipient"]["salt"]
                .as_str()
                .expect("salt")
                .to_owned(),
            identity: signed_payload["recipient"]["identity"]
                .as_str()
                .expect("identity")
                .to_owned(),
        },
        badge,
        verification: SignedVerification {
            kind: "SignedBadge".to_owned(),
            creator,
        },
        issued_on: signed_payload["issuedOn"]
            .as_str()
            .expect("issuedOn")
            .to_owned(),
        evidence: Vec::new(),
        narrative: None,
        expires: None,
    };
    let creator = signed_payload["verification"]["creator"]
        .as_str()
        .expect("creator")
        .to_owned();
    let badge = signed_payload["badge"].as_str().expect("badge").to_owned();
    let creator_mismatch =
        signed::sign_assertion(&as_signed(badge, creator.clone()), &stranger).expect("signed");

    // A foreign issuer whose Profile lists our key: the key's owner is not that issuer.
    let host = FakeHost::start();
    let foreign_profile = host.url("/issuers/1");
    host.serve("/issuers/1", 200, "application/ld+json", json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "id": foreign_profile,
        "name": "Someone Else", "url": host.url("/"), "email": "badges@someone.example", "publicKey": [creator]
    }).to_string());
    host.serve("/badges/1", 200, "application/ld+json", json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass", "id": host.url("/badges/1"),
        "name": "Borrowed", "description": "A badge under another issuer.", "image": host.url("/badges/1/image.png"),
        "criteria": {"narrative": "None."}, "issuer": foreign_profile
    }).to_string());
    let owner_mismatch =
        signed::sign_assertion(&as_signed(host.url("/badges/1"), creator.clone()), &key)
            .expect("signed");

    let cases = [
        (
            "one tampered payload byte",
            tamper(&credential_jws),
            "signature_invalid",
        ),
        ("HS256 keyed with our public key", hs256, "alg_not_allowed"),
        ("alg none", alg_none, "alg_none"),
        ("a kid we never issued", unknown_kid, "unknown_kid"),
        (
            "creator names a key that did not sign",
            creator_mismatch,
            "signature_invalid",
        ),
        (
            "a key owned by another issuer",
            owner_mismatch,
            "key_owner_mismatch",
        ),
        (
            "a credential claiming another issuer",
            foreign_issuer,
            "key_owner_mismatch",
        ),
    ];
    for (what, jws, code) in cases {
        let path = stack.data_dir.path().join("forged.jws");
        std::fs::write(&path, &jws).expect("write");
        let (status, report) = verify_cli(path.to_str().expect("path"), None, None);
        assert_eq!(status, 1, "{what}: {report:#}");
        assert_eq!(failures(&report), vec![code], "{what}: {report:#}");
    }

    // Revocation shows in every form, including files downloaded before it.
    let mut response = http()
        .post(&stack.url(&format!("/v1/awards/{award_id}/revoke")))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", "verify-revoke")
        .send_json(json!({"reason": "Awarded in error"}))
        .expect("revoke");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.body_mut().read_to_string().unwrap_or_default()
    );
    for (input, _) in forms(&stack, &award_id).into_iter().chain(files) {
        let (status, report) = verify_cli(&input, None, None);
        assert_eq!(status, 1, "{input}");
        assert!(
            failures(&report).contains(&"revoked".to_owned()),
            "{input}: {report:#}"
        );
    }
}

#[test]
fn expiry_follows_the_clock() {
    let stack = TestStack::start();
    let token = access_token(&stack);
    let expires_at = now().plus_days(1);
    let award_id = issue_and_claim(&stack, &token, "alice@example.org", Some(expires_at), 0);
    for (input, _) in forms(&stack, &award_id) {
        let (status, report) = verify_cli(&input, None, None);
        assert_eq!(status, 0, "{input}: {report:#}");
        let (status, report) = verify_cli(&input, None, Some(expires_at.plus_days(1)));
        assert_eq!(status, 1, "{input}");
        assert_eq!(failures(&report), vec!["expired"], "{input}: {report:#}");
    }
}

#[test]
fn exit_codes_and_hosts_that_fail() {
    let folder = tempfile::tempdir().expect("a temporary folder");

    // 2: the input cannot be read at all.
    let missing = folder.path().join("missing.png");
    let (status, report) = verify_cli(missing.to_str().expect("path"), None, None);
    assert_eq!(status, 2);
    assert_eq!(failures(&report), vec!["input_unreadable"]);
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_url = format!(
        "http://{}/assertions/1",
        closed.local_addr().expect("address")
    );
    drop(closed);
    let (status, report) = verify_cli(&closed_url, None, None);
    assert_eq!(status, 2, "{report:#}");
    assert_eq!(report["valid"], false);

    // 1: an image without badge data is not valid.
    let plain = folder.path().join("plain.png");
    std::fs::write(&plain, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0\x3a\x7e\x9b\x55\0\0\0\nIDATx\x9cc`\0\0\0\x02\0\x01H\xaf\xa4q\0\0\0\0IEND\xaeB`\x82").expect("write");
    let (status, report) = verify_cli(plain.to_str().expect("path"), None, None);
    assert_eq!(status, 1);
    assert_eq!(failures(&report), vec!["no_badge_data"]);

    // Hosted assertions whose URLs return 410, 404, 503, HTML or a redirect chain.
    let host = FakeHost::start();
    let assertion = |path: &str| {
        json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": host.url(path),
            "recipient": {"type": "email", "hashed": false, "identity": "alice@example.org"},
            "badge": host.url("/badges/1"), "verification": {"type": "HostedBadge"},
            "issuedOn": "2024-11-08T10:33:30Z"
        })
    };
    host.serve("/issuers/1", 200, "application/ld+json", json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "id": host.url("/issuers/1"),
        "name": "Fake Host", "url": host.url("/"), "email": "badges@fake.example"
    }).to_string());
    host.serve("/badges/1", 200, "application/json", json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass", "id": host.url("/badges/1"),
        "name": "Fake", "description": "A fake badge.", "image": host.url("/badges/1/image.png"),
        "criteria": {"narrative": "None."}, "issuer": host.url("/issuers/1")
    }).to_string());
    host.serve(
        "/a/live",
        200,
        "application/ld+json",
        assertion("/a/live").to_string(),
    );
    host.serve(
        "/a/gone",
        410,
        "application/ld+json",
        json!({"id": host.url("/a/gone"), "revoked": true, "revocationReason": "Awarded in error"})
            .to_string(),
    );
    host.serve("/a/missing", 404, "text/html", "<h1>Not Found</h1>");
    host.serve("/a/busy", 503, "text/html", "<h1>Busy</h1>");
    host.serve(
        "/a/html",
        200,
        "text/html",
        assertion("/a/html").to_string(),
    );
    host.serve(
        "/a/wrong-id",
        200,
        "application/ld+json",
        assertion("/a/live").to_string(),
    );
    host.redirect("/r/1", &host.url("/r/2"));
    host.redirect("/r/2", &host.url("/r/3"));
    host.redirect("/r/3", &host.url("/a/live"));
    host.redirect("/r/4", &host.url("/r/1"));

    let (status, report) = verify_cli(&host.url("/a/live"), Some("alice@example.org"), None);
    assert_eq!(status, 0, "{report:#}");
    // Three redirects are followed to the assertion, whose id is where they end.
    let (status, report) = verify_cli(&host.url("/r/1"), None, None);
    assert_eq!(status, 0, "{report:#}");
    assert_eq!(report["id"], host.url("/a/live"));
    let cases = [
        ("/a/gone", 1, "revoked"),
        ("/a/missing", 1, "not_found"),
        ("/a/busy", 1, "unverifiable_try_later"),
        ("/a/html", 1, "wrong_content_type"),
        ("/a/wrong-id", 1, "hosted_id_mismatch"),
        // A fourth redirect is one too many.
        ("/r/4", 2, "input_unreadable"),
    ];
    for (path, expected_status, code) in cases {
        let (status, report) = verify_cli(&host.url(path), None, None);
        assert_eq!(status, expected_status, "{path}: {report:#}");
        assert_eq!(failures(&report), vec![code], "{path}: {report:#}");
    }
    let gone = verify_cli(&host.url("/a/gone"), None, None).1;
    assert!(gone.to_string().contains("Awarded in error"), "{gone:#}");
}
