//! The `Idempotency-Key` protocol.

use accolade::crypto::request_fingerprint;
use accolade::domain::ClientId;
use accolade::ports::{Clock, IdempotencyBegin, IdempotencyKey, Store};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn retry_replays_body_id_and_location() {
    let api = TestApi::new().await;
    let body = api.award_body("alice@example.org");

    let first = api.create_award_with_key("order-42", &body).await;
    api.advance(30);
    let retry = api.create_award_with_key("order-42", &body).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.text, first.text);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(api.snapshot().await.awards.len(), 1);
}

#[tokio::test]
async fn rejected_request_is_replayed_too() {
    let api = TestApi::new().await;
    let body = api.award_body("not-an-address");

    let first = api.create_award_with_key("bad-1", &body).await;
    let retry = api.create_award_with_key("bad-1", &body).await;

    assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(retry.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json, first.json);
}

#[tokio::test]
async fn same_key_with_another_body_is_rejected() {
    let api = TestApi::new().await;
    api.create_award_with_key("order-42", &api.award_body("alice@example.org"))
        .await;
    let before = api.snapshot().await;

    let response = api
        .create_award_with_key("order-42", &api.award_body("bob@example.org"))
        .await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.code(), "idempotency_key_reused");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn same_key_on_another_path_is_rejected() {
    let api = TestApi::new().await;
    let body = json!({ "items": [api.award_body("alice@example.org")] });
    api.create_batch("shared-key", &body).await;

    let response = api
        .create_award_with_key("shared-key", &api.award_body("alice@example.org"))
        .await;

    assert_eq!(response.code(), "idempotency_key_reused");
}

#[tokio::test]
async fn keys_are_scoped_to_the_client() {
    let api = TestApi::new().await;
    api.create_award_with_key("k", &api.award_body("alice@example.org"))
        .await;

    let body = json!({
        "achievement_id": api.other_achievement_id.to_string(),
        "recipient": { "email": "bea@example.net" },
    });
    let request = Request::post("/v1/awards")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.other_token))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "k")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = api.send(request).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn key_expires_after_24_hours() {
    let mut api = TestApi::new().await;
    let body = api.award_body("alice@example.org");
    let first = api.create_award_with_key("daily", &body).await;

    api.advance(24 * 60 * 60);
    api.renew_token().await;
    let later = api.create_award_with_key("daily", &body).await;

    assert_eq!(later.status, StatusCode::CONFLICT, "{}", later.text);
    assert_eq!(later.code(), "duplicate_award");
    assert_eq!(
        later.json["error"]["details"]["existing_award_id"],
        first.json["id"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_same_key_creates_one_award() {
    let api = TestApi::new().await;
    let body = api.award_body("alice@example.org");

    let (first, second) = tokio::join!(
        api.send(api.award_post("race", &body)),
        api.send(api.award_post("race", &body)),
    );

    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [201, 201] || statuses == [201, 409],
        "statuses {statuses:?}: {} / {}",
        first.text,
        second.text
    );
    for response in [&first, &second] {
        match response.status.as_u16() {
            409 => {
                assert_eq!(response.code(), "request_in_flight");
                assert!(response.header("retry-after").is_some());
            }
            _ => assert_eq!(response.id(), api.snapshot().await.awards[0].id.to_string()),
        }
    }
    assert_eq!(api.snapshot().await.awards.len(), 1);
}

#[tokio::test]
async fn missing_or_invalid_key_is_rejected() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let award = api.award_body("alice@example.org").to_string();

    let without = api
        .request(axum::http::Method::POST, "/v1/awards")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(award.clone()))
        .unwrap();
    let response = api.send(without).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.code(), "idempotency_key_required");

    let too_long = api
        .request(axum::http::Method::POST, "/v1/awards")
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "k".repeat(256))
        .body(Body::from(award))
        .unwrap();
    let response = api.send(too_long).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.code(), "invalid_idempotency_key");

    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn request_in_flight_gets_409_until_taken_over() {
    let api = TestApi::new().await;
    let body = api.award_body("alice@example.org");
    let key = IdempotencyKey {
        client_id: ClientId::parse(CLIENT_ID).unwrap(),
        key: "busy".to_owned(),
    };
    let now = api.clock.now();
    let fingerprint = request_fingerprint("POST", "/v1/awards", body.to_string().as_bytes());
    let begin = api
        .store
        .begin_request(
            &key,
            &fingerprint,
            now,
            now.plus_seconds(60),
            now.plus_days(1),
        )
        .await
        .unwrap();
    assert_eq!(begin, IdempotencyBegin::Started);

    let busy = api.create_award_with_key("busy", &body).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.text);
    assert_eq!(busy.code(), "request_in_flight");
    assert_eq!(busy.header("retry-after"), Some("2"));
    assert_eq!(api.snapshot().await.awards.len(), 0);

    let other_body = api
        .create_award_with_key("busy", &api.award_body("bob@example.org"))
        .await;
    assert_eq!(other_body.code(), "idempotency_key_reused");

    // A request that died leaves its key in flight; a retry after the window takes it over.
    api.advance(60);
    let taken_over = api.create_award_with_key("busy", &body).await;
    assert_eq!(
        taken_over.status,
        StatusCode::CREATED,
        "{}",
        taken_over.text
    );
}

#[tokio::test]
async fn store_failure_releases_the_key() {
    let api = TestApi::new().await;
    let body = api.award_body("alice@example.org");
    api.faults.fail_award_creates(1, Fault::Backend);

    let failed = api.create_award_with_key("retry-me", &body).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.code(), "internal_error");
    assert!(
        !failed.text.contains("disk I/O"),
        "internal detail leaked: {}",
        failed.text
    );
    assert_eq!(api.snapshot().await.awards.len(), 0);

    let retry = api.create_award_with_key("retry-me", &body).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn throttled_store_answers_503_and_releases_the_key() {
    let api = TestApi::new().await;
    let body = api.award_body("alice@example.org");
    api.faults.fail_award_creates(1, Fault::Throttled);

    let throttled = api.create_award_with_key("slow", &body).await;
    assert_eq!(throttled.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(throttled.code(), "try_again_later");
    assert!(throttled.header("retry-after").is_some());

    let retry = api.create_award_with_key("slow", &body).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
}

#[tokio::test]
async fn batch_keeps_items_that_failed_inside() {
    let api = TestApi::new().await;
    let body =
        json!({ "items": [api.award_body("a@example.org"), api.award_body("b@example.org")] });
    api.faults.fail_award_creates(1, Fault::Backend);

    let first = api.create_batch("partial", &body).await;
    let retry = api.create_batch("partial", &body).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json["items"][0]["status"], 500);
    assert_eq!(first.json["items"][0]["error"]["code"], "internal_error");
    assert_eq!(first.json["items"][1]["status"], 201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json, first.json);
    assert_eq!(api.snapshot().await.awards.len(), 1);
}
