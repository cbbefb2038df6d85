//! `POST /v1/awards/batch`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn batch_of_500_reports_each_item() {
    let api = TestApi::new().await;
    let mut items: Vec<Value> = (0..500)
        .map(|index| api.award_body(&format!("pupil{index}@example.org")))
        .collect();
    items[7]["recipient"]["email"] = json!("not-an-address");
    items[123]["achievement_id"] = json!(api.other_achievement_id.to_string());
    items[250]["recipient"]["email"] = json!("PUPIL0@example.org");
    items[499] = json!({ "achievement_id": api.achievement_id.to_string() });
    items[300] = json!("not an object");

    let response = api
        .create_batch(&api.key(), &json!({ "items": items }))
        .await;

    assert_eq!(
        response.status,
        StatusCode::OK,
        "{}",
        &response.text[..500.min(response.text.len())]
    );
    let results = response.json["items"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    for (position, result) in results.iter().enumerate() {
        assert_eq!(result["index"], position, "results keep input order");
    }
    let failures: Vec<(u64, u64, &str)> = results
        .iter()
        .filter(|result| result["status"] != 201)
        .map(|result| {
            (
                result["index"].as_u64().unwrap(),
                result["status"].as_u64().unwrap(),
                result["error"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        vec![
            (7, 422, "invalid_field"),
            (123, 404, "not_found"),
            (250, 409, "duplicate_award"),
            (300, 400, "invalid_json"),
            (499, 422, "invalid_field"),
        ]
    );
    assert_eq!(results[7]["error"]["details"]["field"], "recipient.email");
    assert_eq!(
        results[250]["error"]["details"]["existing_award_id"],
        results[0]["award"]["id"]
    );
    assert_eq!(
        results[1]["award"]["recipient"]["email"],
        "pupil1@example.org"
    );
    assert_eq!(results[1]["award"]["status"], "issued");

    let stored = api.snapshot().await.awards;
    assert_eq!(stored.len(), 495);
}

#[tokio::test]
async fn batch_over_the_limit_is_rejected_whole() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let items: Vec<Value> = (0..501)
        .map(|index| api.award_body(&format!("pupil{index}@example.org")))
        .collect();

    let response = api
        .create_batch(&api.key(), &json!({ "items": items }))
        .await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.code(), "too_many_items");
    assert_eq!(response.json["error"]["details"]["max_items"], 500);
    assert!(
        response.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn batch_shape_errors_are_rejected_whole() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let cases = [
        (json!({ "items": [] }), 422, "invalid_field"),
        (json!({}), 422, "invalid_field"),
        (json!({ "items": {} }), 422, "invalid_field"),
        (json!({ "items": [], "extra": 1 }), 422, "invalid_field"),
        (
            json!([api.award_body("a@example.org")]),
            400,
            "invalid_json",
        ),
    ];
    for (body, status, code) in cases {
        let response = api.create_batch(&api.key(), &body).await;
        assert_eq!(response.status.as_u16(), status, "{body}");
        assert_eq!(response.code(), code, "{body}");
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn batch_retry_replays_the_first_response() {
    let api = TestApi::new().await;
    let body =
        json!({ "items": [api.award_body("a@example.org"), api.award_body("b@example.org")] });

    let first = api.create_batch("batch-1", &body).await;
    let retry = api.create_batch("batch-1", &body).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json, first.json);
    assert_eq!(api.snapshot().await.awards.len(), 2);

    // A retry with a new key reaches duplicate detection instead.
    let fresh = api.create_batch("batch-2", &body).await;
    assert_eq!(fresh.json["items"][0]["status"], 409);
    assert_eq!(
        fresh.json["items"][0]["error"]["details"]["existing_award_id"],
        first.json["items"][0]["award"]["id"]
    );
}
