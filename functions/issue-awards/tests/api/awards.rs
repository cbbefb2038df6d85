//! `POST /v1/awards`, `GET /v1/awards/{id}`, `GET /v1/awards`, and duplicate detection.

use accolade::domain::{AwardState, DeliveryStatus};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn award_is_stored_pending_its_email() {
    let api = TestApi::new().await;
    let body = json!({
        "achievement_id": api.achievement_id.to_string(),
        "recipient": { "email": "  Alice@Example.ORG\n", "name": "Alice Example" },
        "narrative": "Led the brass section.",
        "evidence": [
            { "url": "https://music.example.org/concerts/summer" },
            { "narrative": "Rehearsal diary" }
        ],
        "expires_at": "2026-06-01T00:00:00+01:00",
    });

    let response = api.create_award(&body).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let id = response.id();
    assert_eq!(
        response.header("location"),
        Some(format!("/v1/awards/{id}").as_str())
    );
    let expected = json!({
        "id": id,
        "status": "issued",
        "delivery_status": "pending",
        "achievement_id": api.achievement_id.to_string(),
        "recipient": { "email": "alice@example.org", "name": "Alice Example", "delivery_email": null },
        "narrative": "Led the brass section.",
        "evidence": [
            { "narrative": null, "url": "https://music.example.org/concerts/summer" },
            { "narrative": "Rehearsal diary", "url": null }
        ],
        "issued_on": "2025-06-01T09:00:00Z",
        "expires_at": "2026-05-31T23:00:00Z",
        "assertion_url": null,
        "claimed_at": null,
        "revoked_at": null,
        "revocation_reason": null,
        "reaward": false,
        "emails_requested": 1,
        "version": 1,
    });
    assert_eq!(response.json, expected);

    let stored = api.stored_award(&id).await;
    assert_eq!(stored.state, AwardState::Issued);
    assert_eq!(stored.delivery, DeliveryStatus::Pending);
    assert_eq!(
        (stored.sends_requested, stored.sends_done, stored.version),
        (1, 0, 1)
    );
    assert_eq!(stored.created_by.as_str(), CLIENT_ID);
    assert!(stored.dedup_key.is_some());
    assert_eq!(stored.id.as_uuid().get_version_num(), 4);

    let read = api.get_award(&id).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json, expected);
    assert_eq!(read.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn normalised_email_is_a_duplicate() {
    let api = TestApi::new().await;
    let first = api
        .create_award(&api.award_body("  Alice@Example.ORG\n"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let before = api.snapshot().await;

    let second = api.create_award(&api.award_body("alice@example.org")).await;

    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert_eq!(second.code(), "duplicate_award");
    assert_eq!(
        second.json["error"]["details"]["existing_award_id"],
        first.json["id"]
    );
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn reaward_makes_a_second_award() {
    let api = TestApi::new().await;
    let first = api.award("alice@example.org").await;
    let mut body = api.award_body("ALICE@example.org");
    body["reaward"] = json!(true);

    let second = api.create_award(&body).await;

    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_ne!(second.id(), first);
    assert_eq!(second.json["reaward"], true);
    assert_eq!(api.stored_award(&second.id()).await.dedup_key, None);
}

#[tokio::test]
async fn siblings_sharing_a_guardian_address_get_two_awards() {
    let api = TestApi::new().await;
    let body = |name: &str| {
        json!({
            "achievement_id": api.achievement_id.to_string(),
            "recipient": { "name": name, "delivery_email": "Guardian.Wei@Example.com" },
        })
    };

    let li = api.create_award(&body("Li Wei")).await;
    let jun = api.create_award(&body("Jun Wei")).await;
    let li_again = api.create_award(&body("li wei")).await;

    assert_eq!(li.status, StatusCode::CREATED, "{}", li.text);
    assert_eq!(jun.status, StatusCode::CREATED, "{}", jun.text);
    assert_eq!(li.json["recipient"]["email"], Value::Null);
    assert_eq!(
        li.json["recipient"]["delivery_email"],
        "guardian.wei@example.com"
    );
    assert_eq!(li_again.status, StatusCode::CONFLICT);
    assert_eq!(
        li_again.json["error"]["details"]["existing_award_id"],
        li.json["id"]
    );
}

#[tokio::test]
async fn guardian_only_recipient_needs_a_name() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;

    let response = api
        .create_award(&json!({
            "achievement_id": api.achievement_id.to_string(),
            "recipient": { "delivery_email": "guardian@example.com" },
        }))
        .await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json["error"]["details"]["field"], "recipient.name");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn award_of_other_issuers_achievement_is_not_found() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let mut body = api.award_body("alice@example.org");
    body["achievement_id"] = json!(api.other_achievement_id.to_string());

    let response = api.create_award(&body).await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.code(), "not_found");
    assert_eq!(response.json["error"]["details"]["field"], "achievement_id");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn other_issuers_award_reads_as_missing() {
    let api = TestApi::new().await;
    let theirs = api.other_award().await;

    let other = api.get_award(&theirs).await;
    let missing = api.get_award("123e4567-e89b-42d3-a456-426614174000").await;
    let malformed = api.get_award("42").await;

    for response in [&other, &missing, &malformed] {
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.code(), "not_found");
    }
    assert_eq!(
        other.json["error"]["message"],
        format!("award {theirs} was not found")
    );
    assert_eq!(api.list_awards("").await.json["items"], json!([]));
}

#[tokio::test]
async fn award_list_filters_and_pages() {
    let api = TestApi::new().await;
    let mut ids = Vec::new();
    for index in 0..5 {
        api.advance(1);
        ids.push(api.award(&format!("pupil{index}@example.org")).await);
    }
    api.revoke(&ids[1], &api.key(), &json!({"reason": "Awarded in error"}))
        .await;
    api.other_award().await;

    let first = api.list_awards("?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let page_ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(page_ids(&first.json), ids[..2].to_vec());
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    let second = api.list_awards(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(page_ids(&second.json), ids[2..4].to_vec());

    let revoked = api.list_awards("?status=revoked").await;
    assert_eq!(page_ids(&revoked.json), vec![ids[1].clone()]);
    assert_eq!(revoked.json["next_cursor"], Value::Null);

    let of_achievement = api
        .list_awards(&format!(
            "?achievement_id={}&status=issued",
            api.achievement_id
        ))
        .await;
    assert_eq!(of_achievement.json["items"].as_array().unwrap().len(), 4);
    let of_other = api
        .list_awards(&format!("?achievement_id={}", api.other_achievement_id))
        .await;
    assert_eq!(of_other.json["items"], json!([]));
}

#[tokio::test]
async fn award_list_rejects_bad_queries() {
    let api = TestApi::new().await;
    let cases = [
        ("?status=revokd", "status"),
        ("?state=issued", "state"),
        ("?achievement_id=nope", "achievement_id"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
    ];
    for (query, parameter) in cases {
        let response = api.list_awards(query).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.code(), "invalid_query", "{query}");
        assert_eq!(
            response.json["error"]["details"]["parameter"], parameter,
            "{query}"
        );
    }

    let cursor = api.list_awards("?cursor=forged").await;
    assert_eq!(cursor.status, StatusCode::BAD_REQUEST);
    assert_eq!(cursor.code(), "invalid_cursor");
}

#[tokio::test]
async fn long_markup_text_round_trips() {
    let api = TestApi::new().await;
    let narrative = format!(
        "{}</script><script>alert(1)</script> ]]> \u{2028} \"quoted\" \\ 🦉\n\t{}",
        "Ж".repeat(1_000),
        "x".repeat(18_000)
    );
    let mut body = api.award_body("alice@example.org");
    body["narrative"] = json!(narrative);
    body["recipient"]["name"] = json!("Ж".repeat(200));

    let response = api.create_award(&body).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let read = api.get_award(&response.id()).await;
    assert_eq!(read.json["narrative"], json!(narrative));
    assert_eq!(read.json["recipient"]["name"], json!("Ж".repeat(200)));
}
