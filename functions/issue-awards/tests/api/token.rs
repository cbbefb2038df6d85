//! `POST /oauth/token` and the bearer-token checks of `/v1`.

use accolade::domain::{ClientId, Scopes};
use accolade::ports::Store;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn basic_authentication_issues_bearer_token() {
    let api = TestApi::new().await;

    let response = api
        .token_basic(CLIENT_ID, CLIENT_SECRET, "grant_type=client_credentials")
        .await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json["token_type"], "Bearer");
    assert_eq!(response.json["expires_in"], 900);
    assert_eq!(
        response.json["scope"],
        "awards:read awards:write achievements:read achievements:write issuer:write"
    );
    assert!(response.json["access_token"].as_str().unwrap().len() > 20);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
}

#[tokio::test]
async fn form_authentication_issues_working_token() {
    let api = TestApi::new().await;

    let response = api
        .token_form(&format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let token = response.json["access_token"].as_str().unwrap();

    let request = Request::get("/v1/issuer")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let issuer = api.send(request).await;
    assert_eq!(issuer.status, StatusCode::OK, "{}", issuer.text);
    assert_eq!(issuer.json["id"], api.issuer_id.to_string());
}

#[tokio::test]
async fn scope_narrowing_limits_the_token() {
    let api = TestApi::new().await;

    let response = api
        .token_basic(
            CLIENT_ID,
            CLIENT_SECRET,
            "grant_type=client_credentials&scope=awards:read",
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json["scope"], "awards:read");
    let token = response.json["access_token"].as_str().unwrap();

    let read = Request::get("/v1/awards")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.send(read).await.status, StatusCode::OK);

    let write = Request::post("/v1/awards")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "k1")
        .body(Body::from(api.award_body("a@example.org").to_string()))
        .unwrap();
    let denied = api.send(write).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.code(), "insufficient_scope");
    assert_eq!(
        denied.json["error"]["details"]["required_scope"],
        "awards:write"
    );
}

#[tokio::test]
async fn token_request_errors_follow_rfc_6749() {
    let api = TestApi::new().await;
    let ok_form = "grant_type=client_credentials";
    let both = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    );

    let cases = [
        (
            "wrong secret",
            api.token_basic(CLIENT_ID, "wrong", ok_form).await,
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            api.token_basic("nobody", CLIENT_SECRET, ok_form).await,
            401,
            "invalid_client",
        ),
        (
            "no credentials",
            api.token_form(ok_form).await,
            401,
            "invalid_client",
        ),
        (
            "Basic and form together",
            api.token_basic(CLIENT_ID, CLIENT_SECRET, &both).await,
            400,
            "invalid_request",
        ),
        (
            "password grant",
            api.token_basic(CLIENT_ID, CLIENT_SECRET, "grant_type=password")
                .await,
            400,
            "unsupported_grant_type",
        ),
        (
            "missing grant_type",
            api.token_basic(CLIENT_ID, CLIENT_SECRET, "scope=awards:read")
                .await,
            400,
            "invalid_request",
        ),
        (
            "repeated parameter",
            api.token_basic(
                CLIENT_ID,
                CLIENT_SECRET,
                "grant_type=client_credentials&grant_type=client_credentials",
            )
            .await,
            400,
            "invalid_request",
        ),
        (
            "unknown scope",
            api.token_basic(
                CLIENT_ID,
                CLIENT_SECRET,
                "grant_type=client_credentials&scope=awards:delete",
            )
            .await,
            400,
            "invalid_scope",
        ),
        (
            "scope the client lacks",
            api.token_basic(
                READER_ID,
                READER_SECRET,
                "grant_type=client_credentials&scope=awards:write",
            )
            .await,
            400,
            "invalid_scope",
        ),
        (
            "secret without id",
            api.token_form("grant_type=client_credentials&client_secret=x")
                .await,
            400,
            "invalid_request",
        ),
    ];
    for (name, response, status, error) in cases {
        assert_eq!(
            response.status.as_u16(),
            status,
            "{name}: {}",
            response.text
        );
        assert_eq!(response.json["error"], error, "{name}");
        assert!(response.json["error_description"].is_string(), "{name}");
        assert_eq!(response.header("cache-control"), Some("no-store"), "{name}");
        if status == 401 {
            assert!(
                response
                    .header("www-authenticate")
                    .unwrap()
                    .starts_with("Basic"),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn token_request_must_be_a_form() {
    let api = TestApi::new().await;

    let request = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"grant_type": "client_credentials"}).to_string(),
        ))
        .unwrap();
    let response = api.send(request).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json["error"], "invalid_request");
}

#[tokio::test]
async fn disabled_client_is_refused_everywhere() {
    let api = TestApi::new().await;
    let client_id = ClientId::parse(CLIENT_ID).unwrap();
    let mut client = api.store.get_client(&client_id).await.unwrap().unwrap();
    client.disabled = true;
    api.store.put_client(&client).await.unwrap();

    let token = api
        .token_basic(CLIENT_ID, CLIENT_SECRET, "grant_type=client_credentials")
        .await;
    assert_eq!(token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(token.json["error"], "invalid_client");

    // The token minted before the client was disabled stops working at once.
    let response = api.get_issuer().await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.code(), "unauthorized");
}

#[tokio::test]
async fn removed_scope_takes_effect_before_expiry() {
    let api = TestApi::new().await;
    let client_id = ClientId::parse(CLIENT_ID).unwrap();
    let mut client = api.store.get_client(&client_id).await.unwrap().unwrap();
    client.scopes = Scopes::parse("awards:read").unwrap();
    api.store.put_client(&client).await.unwrap();

    let response = api.create_award(&api.award_body("a@example.org")).await;

    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.code(), "insufficient_scope");
}

#[tokio::test]
async fn bad_bearer_tokens_get_one_answer() {
    let api = TestApi::new().await;
    let foreign = access_tokens(&[9; 32]);
    let client = api
        .store
        .get_client(&ClientId::parse(CLIENT_ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    let forged = foreign
        .issue(
            &client,
            &Scopes::all(),
            accolade::domain::Timestamp::from_unix_seconds(START),
            "forged".into(),
        )
        .unwrap();

    let cases = [
        ("no header", None),
        ("Basic scheme", Some(format!("Basic {}", "YTpi"))),
        ("garbage", Some("Bearer not.a.jwt".to_owned())),
        ("other secret", Some(format!("Bearer {forged}"))),
        (
            "unsigned",
            Some(
                "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJib29raW5nLXN5c3RlbSJ9."
                    .to_owned(),
            ),
        ),
    ];
    let mut messages = Vec::new();
    for (name, authorization) in cases {
        let mut request = Request::get("/v1/awards");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = api.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(response.code(), "unauthorized", "{name}");
        assert!(
            response
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer"),
            "{name}"
        );
        messages.push(response.json["error"]["message"].clone());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "every 401 has the same message");
}

#[tokio::test]
async fn token_expires_by_the_injected_clock() {
    let api = TestApi::new().await;
    api.advance(899);
    assert_eq!(api.get_issuer().await.status, StatusCode::OK);

    api.advance(1);
    let response = api.get_issuer().await;

    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.code(), "unauthorized");
}

#[tokio::test]
async fn openapi_document_is_served() {
    let api = TestApi::new().await;

    let response = api
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json["openapi"], "3.1.0");
    let paths = response.json["paths"].as_object().unwrap();
    for path in [
        "/oauth/token",
        "/v1/issuer",
        "/v1/achievements",
        "/v1/achievements/{id}",
        "/v1/awards",
        "/v1/awards/batch",
        "/v1/awards/{id}",
        "/v1/awards/{id}/revoke",
        "/v1/awards/{id}/resend",
    ] {
        assert!(paths.contains_key(path), "openapi.json lacks {path}");
    }
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let api = TestApi::new().await;

    let response = api.get_issuer().await;

    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn unknown_paths_and_methods_use_the_envelope() {
    let api = TestApi::new().await;

    let missing = api
        .send(
            api.request(Method::GET, "/v1/badges")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");

    let wrong_method = api
        .send(
            api.request(Method::DELETE, "/v1/awards")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.code(), "method_not_allowed");
}
