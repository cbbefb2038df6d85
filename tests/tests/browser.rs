//! Claims badges in a real browser. The test issues awards through the partner API, takes
//! each claim link from the outbox, and runs `tests/browser/claim-flow.mjs`. That script
//! drives headless Chromium through the claim form and the public badge page, with axe-core
//! accessibility checks, a log of every request, and screenshots at phone and desktop widths.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use accolade::adapters::mail::read_eml;
use accolade::domain::EmailAddress;
use accolade_tests::{
    TestStack, access_token, chromium_path, find_claim_link, http, node_tools_dir, repo_root,
    run_node_script,
};
use serde_json::{Value, json};

/// One young person's award and what they do on the claim page.
struct ClaimCase {
    /// Short name for logs and screenshot files.
    name: &'static str,
    recipient: Value,
    /// The address the claim email goes to.
    mailed_to: &'static str,
    display_name: &'static str,
    show_name: bool,
    /// The young person's own address, typed on the page when the email went to a guardian.
    typed_identity: Option<&'static str>,
    /// The address the claimed badge must be bound to.
    identity: &'static str,
}

fn cases() -> Vec<ClaimCase> {
    vec![
        ClaimCase {
            name: "own-address",
            recipient: json!({ "email": "maya.patel@example.org", "name": "Maya Patel" }),
            mailed_to: "maya.patel@example.org",
            display_name: "Maya Patel",
            show_name: true,
            typed_identity: None,
            identity: "maya.patel@example.org",
        },
        ClaimCase {
            name: "guardian",
            recipient: json!({ "name": "Sam Okafor", "delivery_email": "parent.okafor@example.com" }),
            mailed_to: "parent.okafor@example.com",
            display_name: "Sam Okafor",
            show_name: true,
            typed_identity: Some("sam.okafor@example.org"),
            identity: "sam.okafor@example.org",
        },
        ClaimCase {
            name: "name-hidden",
            recipient: json!({ "email": "jo.lee@example.org", "name": "Jo Lee" }),
            mailed_to: "jo.lee@example.org",
            display_name: "Jo Lee",
            show_name: false,
            typed_identity: None,
            identity: "jo.lee@example.org",
        },
    ]
}

fn get_json(stack: &TestStack, token: &str, path: &str) -> Value {
    let mut response = http()
        .get(&stack.url(path))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response
        .body_mut()
        .read_json()
        .unwrap_or_else(|error| panic!("GET {path} returned no JSON: {error}"))
}

/// Issues one award and returns its id.
fn issue_award(stack: &TestStack, token: &str, achievement_id: &str, case: &ClaimCase) -> String {
    let mut response = http()
        .post(&stack.url("/v1/awards"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", &format!("browser-{}", case.name))
        .send_json(json!({
            "achievement_id": achievement_id,
            "recipient": case.recipient,
            "narrative": "Played in the spring concert and helped new members find their part.",
        }))
        .expect("POST /v1/awards failed");
    let status = response.status();
    let body: Value = response.body_mut().read_json().expect("award JSON");
    assert_eq!(status, 201, "issuing the {} award: {body}", case.name);
    body["id"].as_str().expect("award id").to_owned()
}

/// Returns a folder for the screenshots that outlives the test, emptied of older runs.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove old screenshots");
    }
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// Checks through the public JSON-LD assertion that the claim bound the badge to `email`.
fn assert_bound_to(stack: &TestStack, token: &str, award_id: &str, email: &str) {
    let award = get_json(stack, token, &format!("/v1/awards/{award_id}"));
    assert_eq!(award["status"], "claimed", "award {award_id}: {award}");
    let assertion_url = award["assertion_url"].as_str().expect("assertion_url");
    let mut response = http()
        .get(assertion_url)
        .header("Accept", "application/ld+json")
        .call()
        .expect("GET assertion");
    let assertion: Value = response.body_mut().read_json().expect("assertion JSON");
    let salt = assertion["recipient"]["salt"].as_str().expect("salt");
    let email = EmailAddress::parse(email).expect("valid email");
    assert_eq!(
        assertion["recipient"]["identity"],
        accolade::crypto::identity_hash(&email, salt),
        "the badge of award {award_id} is bound to {email}"
    );
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

#[test]
fn claim_and_view_badge_in_browser() {
    // Check the tools first, so a missing one fails with how to install it.
    let node_tools = node_tools_dir().display().to_string();
    let chromium = chromium_path().display().to_string();
    let script = repo_root().join("tests/browser/claim-flow.mjs");
    let screenshots = screenshot_dir();
    let screenshots_env = screenshots.display().to_string();

    let stack = TestStack::start();
    let token = access_token(&stack);
    let issuer = get_json(&stack, &token, "/v1/issuer");
    let issuer_name = issuer["name"].as_str().expect("issuer name").to_owned();
    let achievements = get_json(&stack, &token, "/v1/achievements");
    let achievement = achievements["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["level"] == "demonstrate")
        .expect("the demo issuer has a demonstrate achievement")
        .clone();
    let achievement_id = achievement["id"].as_str().expect("achievement id");
    let achievement_name = achievement["name"].as_str().expect("achievement name");

    let cases = cases();
    let award_ids: Vec<String> = cases
        .iter()
        .map(|case| issue_award(&stack, &token, achievement_id, case))
        .collect();

    // The claim link is only in the email, so take it from the outbox as the recipient would.
    let mut links: HashMap<String, String> = HashMap::new();
    for path in stack.wait_for_emails(cases.len(), Duration::from_secs(20)) {
        let email = read_eml(&std::fs::read(&path).expect("read eml")).expect("parse eml");
        links.insert(
            email.to.clone(),
            find_claim_link(&email.text, &stack.base_url),
        );
    }

    let mut failures = Vec::new();
    for (case, award_id) in cases.iter().zip(&award_ids) {
        let claim_url = links
            .get(case.mailed_to)
            .unwrap_or_else(|| panic!("no claim email went to {}", case.mailed_to));
        let output = run_node_script(
            &script,
            &[
                ("ACCOLADE_NODE_TOOLS", &node_tools),
                ("ACCOLADE_CHROMIUM", &chromium),
                ("ACCOLADE_BASE_URL", &stack.base_url),
                ("ACCOLADE_CLAIM_URL", claim_url),
                ("ACCOLADE_ACHIEVEMENT_NAME", achievement_name),
                ("ACCOLADE_ISSUER_NAME", &issuer_name),
                ("ACCOLADE_DISPLAY_NAME", case.display_name),
                ("ACCOLADE_SHOW_NAME", yes_no(case.show_name)),
                ("ACCOLADE_IDENTITY_EMAIL", case.typed_identity.unwrap_or("")),
                ("ACCOLADE_SCREENSHOT_DIR", &screenshots_env),
                ("ACCOLADE_CASE", case.name),
            ],
        );
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        println!("{report}");
        if output.status.success() {
            assert_bound_to(&stack, &token, award_id, case.identity);
        } else {
            failures.push(format!(
                "claim-flow.mjs failed for {} ({}):\n{report}",
                case.name, output.status
            ));
        }
    }

    println!("screenshots: {}", screenshots.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
