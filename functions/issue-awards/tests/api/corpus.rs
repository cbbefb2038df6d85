//! Very long and markup-laden text from the bad-input corpus: each field is either accepted and
//! returned exactly, or rejected with 422 and the documented maximum, never cut.

use axum::http::StatusCode;

use crate::support::*;

/// 20,000 characters with newlines, tabs, quotes, a backslash, a closing script tag, a CDATA
/// terminator, U+2028 and an emoji.
fn markup_description() -> String {
    let specials =
        "line one\nline two\t\"quoted\" \\ </script><script>alert(1)</script> ]]> \u{2028} 🦉 ";
    let mut text = specials.repeat(20_000 / specials.chars().count());
    let missing = 20_000 - text.chars().count();
    text.push_str(&"x".repeat(missing));
    assert_eq!(text.chars().count(), 20_000);
    text
}

#[tokio::test]
async fn long_name_is_422_with_maximum() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let mut parts = achievement_fields("placeholder");
    parts[0] = Part::text("name", &"Ж".repeat(1_000));
    parts.push(Part::file("image", "a.png", "image/png", png()));

    let response = api.create_achievement(&parts, None).await;

    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text
    );
    assert_eq!(response.code(), "invalid_field");
    let message = response.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("name is 1000 characters long; the maximum is 200 characters"),
        "{message}"
    );
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn markup_text_round_trips() {
    let api = TestApi::new().await;
    let description = markup_description();
    let criteria = "## Criteria\n\n* Attend **every** rehearsal.\n".repeat(50_000 / 43);
    assert!(criteria.len() > 49_000);
    assert!(criteria.chars().count() <= 50_000);
    let mut parts = achievement_fields("Markup");
    parts[1] = Part::text("description", &description);
    parts[2] = Part::text("criteria", &criteria);
    parts.push(Part::file("image", "a.png", "image/png", png()));

    let created = api.create_achievement(&parts, None).await;

    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        &created.text[..created.text.len().min(400)]
    );
    let read = api.get_achievement(&created.id()).await;
    assert_eq!(read.json["description"].as_str(), Some(description.trim()));
    assert_eq!(
        read.json["criteria"]["narrative"].as_str(),
        Some(criteria.trim())
    );
}

#[tokio::test]
async fn criteria_over_maximum_is_422() {
    let api = TestApi::new().await;
    // 50 KiB of Markdown: 51,200 characters.
    let criteria = "* step\n".repeat(51_200 / 7) + &"x".repeat(51_200 % 7);
    assert_eq!(criteria.len(), 51_200);
    let mut parts = achievement_fields("Too long");
    parts[2] = Part::text("criteria", &criteria);
    parts.push(Part::file("image", "a.png", "image/png", png()));

    let response = api.create_achievement(&parts, None).await;

    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text
    );
    let message = response.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("criteria is 51200 characters long; the maximum is 50000 characters"),
        "{message}"
    );
}
