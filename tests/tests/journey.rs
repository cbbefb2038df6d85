//! The whole badge journey against a local stack: import an event export through the partner
//! API, read each claim email from the outbox, follow its link, claim, and check the result
//! with the 1EdTech Open Badges 2.0 validator.

use std::collections::HashMap;
use std::time::Duration;

use accolade::adapters::mail::read_eml;
use accolade_local::import::export::ColumnOptions;
use accolade_local::import::{ImportOptions, run_import};
use accolade_tests::{
    TestStack, access_token, badgecheck, http, list_achievements, participate_id, repo_root,
};
use serde_json::Value;

/// The people in the holiday course export who attended, by the address their claim email
/// goes to, with the address the badge is bound to.
const ATTENDEES: usize = 16;

fn participate_achievement_id(stack: &TestStack, token: &str) -> String {
    let items = list_achievements(stack, token);
    assert_eq!(
        items.len(),
        4,
        "the demo issuer has one achievement per level"
    );
    participate_id(&items)
}

/// The claim link in a text part: the first URL under `/claim/`.
fn claim_link(text: &str, base_url: &str) -> String {
    let start = text
        .find(&format!("{base_url}/claim/"))
        .expect("the email has a claim link");
    text[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .trim_end_matches(['.', ',', ')', '>'])
        .to_owned()
}

fn form_post(url: &str, fields: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let mut response = http()
        .post(url)
        .header("Accept", "text/html")
        .send_form(fields.iter().copied())
        .expect("claim POST");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, body, location)
}

fn get(url: &str, accept: &str) -> (u16, Vec<u8>) {
    let mut response = http()
        .get(url)
        .header("Accept", accept)
        .call()
        .expect("GET");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().unwrap_or_default();
    (status, body)
}

fn wait_for_image(url: &str) -> Vec<u8> {
    for _ in 0..200 {
        let (status, body) = get(url, "*/*");
        if status == 200 {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{url} was not baked within 10 s");
}

#[test]
fn holiday_course_journey() {
    let stack = TestStack::start();
    let token = access_token(&stack);
    let achievement_id = participate_achievement_id(&stack, &token);

    // Import the export exactly as `accolade import-csv` does.
    let options = ImportOptions {
        file: repo_root().join("infra/local/tests/fixtures/holiday-course-export.csv"),
        achievement_id: achievement_id.clone(),
        server: Some(stack.base_url.clone()),
        credentials: stack.credentials.clone(),
        columns: ColumnOptions::default(),
        narrative: Some("Played in the holiday course orchestra for a week.".to_owned()),
        dry_run: false,
    };
    // A mistyped achievement id stops the import before anything is sent.
    let mistyped = ImportOptions {
        achievement_id: "8c0b7a52-5b8e-4d2c-9a53-3f5de0a1c6e4".to_owned(),
        ..options.clone()
    };
    let error = run_import(&mistyped, &mut std::io::sink()).expect_err("unknown achievement");
    assert!(
        error.to_string().contains("no achievement 8c0b7a52"),
        "{error}"
    );

    let report = run_import(&options, &mut std::io::sink()).expect("import");
    assert_eq!(report.awarded.len(), ATTENDEES, "{report:?}");
    assert_eq!(report.duplicates.len(), 1);
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(report.skipped.len(), 2);
    assert!(report.failed.is_empty(), "{:?}", report.failed);

    // Running the same import again awards nothing new, and reports every row as already awarded.
    let again = run_import(&options, &mut std::io::sink()).expect("second import");
    assert!(again.awarded.is_empty(), "{:?}", again.awarded);
    assert_eq!(again.already_awarded.len(), ATTENDEES);
    for (note, first) in again.already_awarded.iter().zip(&report.awarded) {
        assert_eq!(note.line, first.line);
        assert!(note.message.contains(&first.award_id), "{}", note.message);
    }

    // Another narrative is a new request, and the duplicate check still awards no one twice.
    let reworded = ImportOptions {
        narrative: Some("Took part in the holiday course.".to_owned()),
        ..options.clone()
    };
    let third = run_import(&reworded, &mut std::io::sink()).expect("reworded import");
    assert!(third.awarded.is_empty(), "{:?}", third.awarded);
    assert_eq!(third.already_awarded.len(), ATTENDEES);

    // A dry run lists what it would send and sends nothing.
    let dry = ImportOptions {
        dry_run: true,
        ..options.clone()
    };
    let planned = run_import(&dry, &mut std::io::sink()).expect("dry run");
    assert_eq!(planned.would_award.len(), ATTENDEES);
    assert!(planned.awarded.is_empty());

    // One claim email per award, with the link in both parts.
    let emails = stack.wait_for_emails(ATTENDEES, Duration::from_secs(20));
    let mut links: HashMap<String, String> = HashMap::new();
    for path in &emails {
        let email = read_eml(&std::fs::read(path).expect("read eml")).expect("parse eml");
        let link = claim_link(&email.text, &stack.base_url);
        assert!(
            email.html.contains(&link),
            "the HTML part of {} lacks the claim link",
            path.display()
        );
        links.insert(email.to.clone(), link);
    }
    assert!(
        links.contains_key("guardian.wei@example.com"),
        "Li Wei's email goes to the guardian"
    );
    assert!(
        links.contains_key("zoe.fairbrother@example.org"),
        "addresses are normalised"
    );

    // Claim Zoë's badge: the page shows the form, the POST claims.
    let zoe_link = &links["zoe.fairbrother@example.org"];
    let (status, page) = get(zoe_link, "text/html");
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&page).contains("<form"),
        "the claim page has a form"
    );
    let (status, _, location) = form_post(
        zoe_link,
        &[("display_name", "Zoë Fairbrother"), ("show_name", "on")],
    );
    assert_eq!(
        status, 303,
        "a successful claim redirects to its result page"
    );
    assert!(location.is_some());

    // A second POST changes nothing.
    let (status, body, _) = form_post(zoe_link, &[("display_name", "Someone else")]);
    assert_eq!(status, 409);
    assert!(
        body.contains("claim_used") || body.contains("already"),
        "{body}"
    );

    // Li Wei's email went to a guardian: the badge binds to the young person's own address.
    let li_link = &links["guardian.wei@example.com"];
    let (status, _, _) = form_post(li_link, &[("display_name", "Li Wei")]);
    assert_eq!(
        status, 422,
        "the guardian flow needs the young person's address or an explicit choice"
    );
    let (status, _, _) = form_post(
        li_link,
        &[
            ("display_name", "Li Wei"),
            ("identity_email", "Li.Wei@Example.com "),
        ],
    );
    assert_eq!(status, 303);

    // The partner API now reports both awards as claimed, with their assertion URLs.
    let mut assertions = Vec::new();
    for awarded in &report.awarded {
        let mut response = http()
            .get(&stack.url(&format!("/v1/awards/{}", awarded.award_id)))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .expect("get award");
        let award: Value = response.body_mut().read_json().expect("award JSON");
        if award["status"] == "claimed" {
            assertions.push((
                awarded.award_id.clone(),
                award["assertion_url"]
                    .as_str()
                    .expect("assertion_url")
                    .to_owned(),
            ));
        }
    }
    assert_eq!(assertions.len(), 2);

    let zoe = assertions
        .iter()
        .find(|(_, url)| {
            let (_, body) = get(url, "application/ld+json");
            let assertion: Value = serde_json::from_slice(&body).expect("assertion JSON");
            let salt = assertion["recipient"]["salt"].as_str().expect("salt");
            let email = accolade::domain::EmailAddress::parse("zoe.fairbrother@example.org")
                .expect("email");
            assertion["recipient"]["identity"] == accolade::crypto::identity_hash(&email, salt)
        })
        .expect("Zoë's assertion")
        .clone();
    let li = assertions
        .iter()
        .find(|(id, _)| *id != zoe.0)
        .expect("Li's assertion")
        .clone();

    // The 1EdTech validator accepts the hosted assertions with the right emails...
    let check = badgecheck(&zoe.1, Some("zoe.fairbrother@example.org"));
    assert!(check.valid, "Zoë's hosted assertion: {}", check.messages());
    let check = badgecheck(&li.1, Some("li.wei@example.com"));
    assert!(check.valid, "Li's hosted assertion: {}", check.messages());

    // ...reports a wrong email as not matching...
    let check = badgecheck(&zoe.1, Some("someone.else@example.org"));
    assert!(!check.valid, "a wrong email must not verify");
    assert!(
        check.messages().to_lowercase().contains("recipient"),
        "{}",
        check.messages()
    );

    // ...and accepts the baked PNG and SVG.
    for extension in ["png", "svg"] {
        let image = wait_for_image(&format!("{}/image.{extension}", zoe.1));
        let path = stack.data_dir.path().join(format!("zoe.{extension}"));
        std::fs::write(&path, &image).expect("write image");
        let check = badgecheck(
            path.to_str().expect("path"),
            Some("zoe.fairbrother@example.org"),
        );
        assert!(check.valid, "baked {extension}: {}", check.messages());
    }

    // Revoking answers 410 with the reduced body, and the baked image is no longer live.
    let mut response = http()
        .post(&stack.url(&format!("/v1/awards/{}/revoke", li.0)))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", "journey-revoke-li")
        .send_json(serde_json::json!({ "reason": "Awarded in error" }))
        .expect("revoke");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.body_mut().read_to_string().unwrap_or_default()
    );
    let (status, body) = get(&li.1, "application/ld+json");
    assert_eq!(status, 410);
    let revoked: Value = serde_json::from_slice(&body).expect("revoked JSON");
    assert_eq!(revoked["revoked"], true);
    assert_eq!(revoked["revocationReason"], "Awarded in error");
    assert!(
        revoked.get("recipient").is_none(),
        "the revoked body carries no recipient data"
    );
    let (status, _) = get(&format!("{}/image.png", li.1), "*/*");
    assert_eq!(status, 410);
}
