//! `GET /v1/issuer` and `PUT /v1/issuer`.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

fn profile() -> serde_json::Value {
    json!({
        "name": "County Music Hub",
        "url": "https://music.example.org/hub",
        "email": " Badges@Music.Example.ORG ",
        "description": "Music education for young people across the county.",
    })
}

#[tokio::test]
async fn issuer_profile_reads_with_etag() {
    let api = TestApi::new().await;

    let response = api.get_issuer().await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json["name"], "County Music Service");
    assert_eq!(
        response.json["issuer_url"],
        format!("{BASE_URL}/issuers/{}", api.issuer_id)
    );
    assert_eq!(response.json["version"], 1);
    assert_eq!(response.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn issuer_update_replaces_profile() {
    let api = TestApi::new().await;
    api.advance(10);

    let response = api.put_issuer(&profile(), Some("\"1\"")).await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json["name"], "County Music Hub");
    assert_eq!(response.json["email"], "badges@music.example.org");
    assert_eq!(response.json["version"], 2);
    assert_eq!(response.json["updated_at"], "2025-06-01T09:00:10Z");
    assert_eq!(response.header("etag"), Some("\"2\""));
    assert_eq!(api.get_issuer().await.json["name"], "County Music Hub");
}

#[tokio::test]
async fn issuer_update_checks_if_match() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;

    let response = api.put_issuer(&profile(), Some("\"7\"")).await;

    assert_eq!(response.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(response.code(), "precondition_failed");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn issuer_update_validates_fields() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let cases = [
        (
            json!({"url": "https://a.example", "email": "a@a.example"}),
            "name",
        ),
        (
            json!({"name": "X", "url": "ftp://a.example", "email": "a@a.example"}),
            "url",
        ),
        (
            json!({"name": "X", "url": "https://a.example", "email": "not-an-address"}),
            "email",
        ),
        (
            json!({"name": "X", "url": "https://a.example", "email": "a@a.example", "logo": "x"}),
            "logo",
        ),
        (
            json!({"name": "Ж".repeat(201), "url": "https://a.example", "email": "a@a.example"}),
            "name",
        ),
    ];

    for (body, field) in cases {
        let response = api.put_issuer(&body, None).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(response.code(), "invalid_field", "{body}");
        assert_eq!(response.json["error"]["details"]["field"], field, "{body}");
    }
    assert_eq!(api.snapshot().await, before);
}
