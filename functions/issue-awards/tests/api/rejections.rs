//! Bad input on every route: each case gets its documented status and code and changes
//! nothing in the store or the file store.

use accolade::domain::{ClientId, Scopes, Timestamp};
use accolade::ports::Store;
use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::support::*;

/// A route and a request body that it accepts.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    needs_key: bool,
}

/// What a case changes in an otherwise valid request.
#[derive(Clone, Copy, Debug)]
enum Defect {
    MalformedJson,
    TextContentType,
    NoToken,
    ExpiredToken,
    ForeignToken,
    NoIdempotencyKey,
    OversizedBody,
}

struct Tokens {
    valid: String,
    expired: String,
    foreign: String,
}

fn build(route: &Route, defect: Option<Defect>, tokens: &Tokens, key: String) -> Request<Body> {
    let mut request = Request::builder()
        .method(route.method.clone())
        .uri(&route.path);
    let token = match defect {
        Some(Defect::NoToken) => None,
        Some(Defect::ExpiredToken) => Some(&tokens.expired),
        Some(Defect::ForeignToken) => Some(&tokens.foreign),
        _ => Some(&tokens.valid),
    };
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if route.needs_key && !matches!(defect, Some(Defect::NoIdempotencyKey)) {
        request = request.header("idempotency-key", key);
    }
    let Some(body) = &route.body else {
        return request.body(Body::empty()).unwrap();
    };
    let content_type = match defect {
        Some(Defect::TextContentType) => "text/plain",
        _ => "application/json",
    };
    let body = match defect {
        Some(Defect::MalformedJson) => "{\"reason\": \"x\", ".to_owned(),
        Some(Defect::OversizedBody) => {
            let padding = "x".repeat(3 * 1024 * 1024);
            json!({ "padding": padding }).to_string()
        }
        _ => body.to_string(),
    };
    request
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

fn expected(defect: Defect) -> (u16, &'static str) {
    match defect {
        Defect::MalformedJson => (400, "invalid_json"),
        Defect::TextContentType => (415, "unsupported_media_type"),
        Defect::NoToken | Defect::ExpiredToken | Defect::ForeignToken => (401, "unauthorized"),
        Defect::NoIdempotencyKey => (400, "idempotency_key_required"),
        Defect::OversizedBody => (413, "payload_too_large"),
    }
}

#[tokio::test]
async fn every_route_rejects_bad_requests_without_changes() {
    let api = TestApi::new().await;
    let mine = api.award("alice@example.org").await;
    let theirs = api.other_award().await;
    api.advance(120);
    let now = Timestamp::from_unix_seconds(START + 120);

    let client = api
        .store
        .get_client(&ClientId::parse(CLIENT_ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    let ours = access_tokens(&TOKEN_SECRET);
    let tokens = Tokens {
        valid: ours
            .issue(&client, &Scopes::all(), now, "valid".into())
            .unwrap(),
        expired: ours
            .issue(
                &client,
                &Scopes::all(),
                now.plus_seconds(-900),
                "expired".into(),
            )
            .unwrap(),
        foreign: access_tokens(&[9; 32])
            .issue(&client, &Scopes::all(), now, "foreign".into())
            .unwrap(),
    };

    let route = |method: Method, path: String, body: Option<Value>, needs_key: bool| Route {
        method,
        path,
        body,
        needs_key,
    };
    let writes = [
        route(
            Method::PUT,
            "/v1/issuer".into(),
            Some(json!({"name": "N", "url": "https://n.example", "email": "n@n.example"})),
            false,
        ),
        route(
            Method::POST,
            "/v1/awards".into(),
            Some(api.award_body("new@example.org")),
            true,
        ),
        route(
            Method::POST,
            "/v1/awards/batch".into(),
            Some(json!({"items": [api.award_body("new@example.org")]})),
            true,
        ),
        route(
            Method::POST,
            format!("/v1/awards/{mine}/revoke"),
            Some(json!({"reason": "Error"})),
            true,
        ),
        route(
            Method::POST,
            format!("/v1/awards/{mine}/resend"),
            Some(json!({"delivery_email": "p@example.net"})),
            true,
        ),
    ];
    let reads = [
        route(Method::GET, "/v1/issuer".into(), None, false),
        route(Method::GET, "/v1/achievements".into(), None, false),
        route(
            Method::GET,
            format!("/v1/achievements/{}", api.achievement_id),
            None,
            false,
        ),
        route(Method::GET, "/v1/awards".into(), None, false),
        route(Method::GET, format!("/v1/awards/{mine}"), None, false),
    ];

    let before = api.snapshot().await;
    let mut checked = 0;
    for route in &writes {
        for defect in [
            Defect::MalformedJson,
            Defect::TextContentType,
            Defect::NoToken,
            Defect::ExpiredToken,
            Defect::ForeignToken,
            Defect::NoIdempotencyKey,
            Defect::OversizedBody,
        ] {
            if matches!(defect, Defect::NoIdempotencyKey) && !route.needs_key {
                continue;
            }
            let response = api
                .send(build(route, Some(defect), &tokens, api.key()))
                .await;
            let (status, code) = expected(defect);
            let case = format!("{} {} with {defect:?}", route.method, route.path);
            assert_eq!(
                response.status.as_u16(),
                status,
                "{case}: {}",
                &response.text[..response.text.len().min(300)]
            );
            assert_eq!(response.code(), code, "{case}");
            assert!(
                response.json["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{case}"
            );
            checked += 1;
        }
    }
    for route in &reads {
        for defect in [Defect::NoToken, Defect::ExpiredToken, Defect::ForeignToken] {
            let response = api
                .send(build(route, Some(defect), &tokens, api.key()))
                .await;
            let case = format!("{} {} with {defect:?}", route.method, route.path);
            assert_eq!(response.status.as_u16(), 401, "{case}");
            assert_eq!(response.code(), "unauthorized", "{case}");
            checked += 1;
        }
    }

    // Another issuer's award, a missing one and a malformed id all get the same 404.
    for id in [
        theirs.as_str(),
        "123e4567-e89b-42d3-a456-426614174000",
        "not-a-uuid",
    ] {
        let targets = [
            route(Method::GET, format!("/v1/awards/{id}"), None, false),
            route(
                Method::POST,
                format!("/v1/awards/{id}/revoke"),
                Some(json!({"reason": "Error"})),
                true,
            ),
            route(
                Method::POST,
                format!("/v1/awards/{id}/resend"),
                Some(json!({})),
                true,
            ),
        ];
        for target in &targets {
            let response = api.send(build(target, None, &tokens, api.key())).await;
            let case = format!("{} {}", target.method, target.path);
            assert_eq!(response.status.as_u16(), 404, "{case}: {}", response.text);
            assert_eq!(response.code(), "not_found", "{case}");
            checked += 1;
        }
    }

    assert_eq!(checked, 5 * 6 + 4 + 5 * 3 + 9);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn revoke_and_resend_validate_their_bodies() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    api.advance(120);
    let before = api.snapshot().await;

    let cases = [
        ("revoke", json!({}), "reason"),
        ("revoke", json!({"reason": "   "}), "reason"),
        ("revoke", json!({"reason": "x".repeat(1_001)}), "reason"),
        ("revoke", json!({"reason": "two\nlines"}), "reason"),
        (
            "revoke",
            json!({"reason": "Error", "notify": true}),
            "notify",
        ),
        (
            "resend",
            json!({"delivery_email": "nope"}),
            "delivery_email",
        ),
        ("resend", json!({"email": "a@example.org"}), "email"),
    ];
    for (action, body, field) in cases {
        let response = match action {
            "revoke" => api.revoke(&id, &api.key(), &body).await,
            _ => api.resend(&id, &api.key(), Some(&body)).await,
        };
        assert_eq!(
            response.status.as_u16(),
            422,
            "{action} {body}: {}",
            response.text
        );
        assert_eq!(response.code(), "invalid_field", "{action} {body}");
        assert_eq!(
            response.json["error"]["details"]["field"], field,
            "{action} {body}"
        );
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn resend_rejects_a_body_without_json_type() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    api.advance(120);
    let before = api.snapshot().await;

    let request = api
        .request(Method::POST, &format!("/v1/awards/{id}/resend"))
        .header("idempotency-key", api.key())
        .body(Body::from("{\"delivery_email\": \"p@example.net\"}"))
        .unwrap();
    let response = api.send(request).await;

    assert_eq!(response.status.as_u16(), 415);
    assert_eq!(response.code(), "unsupported_media_type");
    assert_eq!(api.snapshot().await, before);
}
