//! `POST /v1/verify` through the real router: our own documents in every body type, the
//! 4xx answers for unreadable requests, and no request to any other host.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::Arc;

use accolade::adapters::files::MemoryFileStore;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{FixedClock, SequenceRandom};
use accolade::auth::AccessTokens;
use accolade::baking::{self, BadgeFormat, BakeInput};
use accolade::crypto::{client_secret_hash, identity_hash};
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, ApiClient, Award, AwardId, AwardState,
    ClaimRecord, ClientId, DeliveryStatus, EmailAddress, HttpsUrl, Issuer, IssuerId, Recipient,
    Scopes, Text, TextLimit, Timestamp, dedup_key,
};
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey};
use accolade::openbadges::{v2, v3};
use accolade::ports::{PublicKeys, SigningKeys, Store};
use accolade::urls::PublicUrls;
use axum::Extension;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use issue_awards::{Limits, PartnerApi, router};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const BASE_URL: &str = "https://badges.example.org";
/// 2025-06-01T09:00:00Z.
const START: i64 = 1_748_768_400;
const BOUNDARY: &str = "verify-test-boundary-3kQ9";
/// P0, the minimal 1x1 greyscale PNG.
const P0: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

fn text(value: &str) -> Text {
    Text::parse("text", value, TextLimit::LONG).unwrap()
}

fn at(offset: i64) -> Timestamp {
    Timestamp::from_unix_seconds(START + offset)
}

/// A router with one issuer, one claimed award whose documents are minted, and a token.
struct Harness {
    router: axum::Router,
    token: String,
    /// A token of a client that has no scope at all.
    scopeless_token: String,
    hosted_json: String,
    credential_jws: String,
    baked_png: Vec<u8>,
}

struct Response {
    status: StatusCode,
    json: Value,
}

impl Harness {
    async fn new() -> Harness {
        Self::build(true).await
    }

    async fn build(with_keys: bool) -> Harness {
        let urls = PublicUrls::parse(BASE_URL).unwrap();
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let files = Arc::new(MemoryFileStore::new());
        let keys = Arc::new(MemorySigningKeys::new());
        let tokens = AccessTokens::new(&[9; 32], BASE_URL.to_owned(), 3600).unwrap();

        let issuer = Issuer {
            id: IssuerId::from_uuid(Uuid::new_v4()),
            name: text("County Music Service"),
            url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
            email: EmailAddress::parse("badges@music.example.org").unwrap(),
            description: None,
            image: None,
            created_at: at(0),
            updated_at: at(0),
            version: 1,
        };
        store.create_issuer(&issuer).await.unwrap();
        let achievement = Achievement {
            id: AchievementId::from_uuid(Uuid::new_v4()),
            issuer_id: issuer.id,
            name: text("Summer Concert"),
            description: text("Took part in the summer concert."),
            criteria_narrative: text("Play in the concert."),
            criteria_url: None,
            level: None,
            tags: Vec::new(),
            images: AchievementImages {
                png: None,
                svg: None,
            },
            created_at: at(0),
        };
        store.create_achievement(&achievement).await.unwrap();
        let key = SigningKey::generate(issuer.id, SigningAlgorithm::Rs256, at(0)).unwrap();
        keys.add_signing_key(&key).await.unwrap();

        let mut token_for = Vec::new();
        for (id, scopes) in [("verifier", Scopes::all()), ("no-scopes", Scopes::new([]))] {
            let client = ApiClient {
                client_id: ClientId::parse(id).unwrap(),
                issuer_id: issuer.id,
                name: text(id),
                secret_hash: client_secret_hash("unused-secret"),
                scopes: scopes.clone(),
                disabled: false,
                created_at: at(0),
            };
            store.put_client(&client).await.unwrap();
            token_for.push(
                tokens
                    .issue(&client, &scopes, at(0), Uuid::new_v4().to_string())
                    .unwrap(),
            );
        }

        let identity = EmailAddress::parse("alice@example.org").unwrap();
        let claim = ClaimRecord {
            claimed_at: at(60),
            identity_hash: identity_hash(&identity, "salt-1"),
            identity,
            salt: "salt-1".to_owned(),
            display_name: None,
            show_name: false,
        };
        let recipient = Recipient {
            email: Some(EmailAddress::parse("alice@example.org").unwrap()),
            name: Some(text("Alice")),
            delivery_email: None,
        };
        let mut award = Award {
            id: AwardId::from_uuid(Uuid::new_v4()),
            issuer_id: issuer.id,
            achievement_id: achievement.id,
            dedup_key: Some(dedup_key(issuer.id, achievement.id, &recipient)),
            recipient,
            narrative: None,
            evidence: Vec::new(),
            issued_on: at(0),
            expires_at: None,
            state: AwardState::Claimed,
            delivery: DeliveryStatus::Delivered,
            message_id: None,
            sends_requested: 1,
            sends_done: 1,
            last_send_requested_at: at(0),
            claim_token: None,
            claim: None,
            revocation: None,
            assertion_json: None,
            created_by: ClientId::parse("verifier").unwrap(),
            version: 1,
        };
        let hosted_json = v2::to_json(&v2::hosted_assertion(&award, &achievement, &claim, &urls));
        award.assertion_json = Some(hosted_json.clone());
        award.claim = Some(claim.clone());
        store.create_award(&award).await.unwrap();

        let subject = v3::SubjectIdentity {
            subject_id: Uuid::new_v4(),
            salt: "salt-2".to_owned(),
        };
        let credential =
            v3::build_credential(&award, &achievement, &issuer, &claim, &subject, &urls);
        let credential_jws = v3::sign_credential(credential, &key, &urls).unwrap().jws;
        let baked_png = baking::bake(
            P0,
            BadgeFormat::V2,
            BakeInput::hosted(&hosted_json, &urls.assertion(award.id)),
        )
        .unwrap();

        let deps = PartnerApi {
            store,
            files,
            clock: Arc::new(FixedClock::new(at(600))),
            random: Arc::new(SequenceRandom::new()),
            tokens,
            urls,
            limits: Limits::default(),
        };
        let mut router = router(deps);
        if with_keys {
            let public: Arc<dyn PublicKeys> = keys;
            router = router.layer(Extension(public));
        }
        Harness {
            router,
            token: token_for[0].clone(),
            scopeless_token: token_for[1].clone(),
            hosted_json,
            credential_jws,
            baked_png,
        }
    }

    async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response { status, json }
    }

    /// `POST /v1/verify{query}` with a body of `content_type`.
    async fn post(
        &self,
        query: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Response {
        let mut request = Request::post(format!("/v1/verify{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    async fn upload(&self, query: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Response {
        self.post(
            query,
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            multipart(parts),
        )
        .await
    }
}

/// A multipart body of (name, file name, bytes) parts.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(file_name) = file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn failures(json: &Value) -> Vec<&str> {
    json["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|check| check["ok"] == false)
                .filter_map(|check| check["code"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn has_check(json: &Value, code: &str) -> bool {
    json["checks"]
        .as_array()
        .is_some_and(|checks| checks.iter().any(|check| check["code"] == code))
}

#[tokio::test]
async fn our_documents_verify_in_every_body_type() {
    let harness = Harness::new().await;

    let upload = harness
        .upload(
            "",
            &[
                ("file", Some("badge.png"), &harness.baked_png),
                ("email", None, b"Alice@Example.org"),
            ],
        )
        .await;
    assert_eq!(upload.status, StatusCode::OK, "{}", upload.json);
    assert_eq!(upload.json["valid"], true, "{}", upload.json);
    assert_eq!(upload.json["format"], "ob2-hosted");
    assert!(
        has_check(&upload.json, "recipient_matches"),
        "{}",
        upload.json
    );

    for content_type in ["application/json", "application/ld+json"] {
        let response = harness
            .post("", Some(content_type), harness.hosted_json.clone())
            .await;
        assert_eq!(response.status, StatusCode::OK, "{content_type}");
        assert_eq!(
            response.json["valid"], true,
            "{content_type}: {}",
            response.json
        );
    }

    for content_type in ["text/plain", "application/jwt", "text/plain; charset=utf-8"] {
        let response = harness
            .post(
                "?email=alice%40example.org",
                Some(content_type),
                harness.credential_jws.clone(),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{content_type}");
        assert_eq!(
            response.json["valid"], true,
            "{content_type}: {}",
            response.json
        );
        assert_eq!(response.json["format"], "ob3-jwt");
        assert!(has_check(&response.json, "recipient_matches"));
    }

    let wrong = harness
        .post(
            "?email=bob%40example.org",
            Some("text/plain"),
            harness.credential_jws.clone(),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::OK,
        "an invalid badge is still a 200 report"
    );
    assert_eq!(wrong.json["valid"], false);
    assert_eq!(failures(&wrong.json), vec!["recipient_mismatch"]);
}

#[tokio::test]
async fn any_valid_token_may_verify() {
    let harness = Harness::new().await;
    let request = Request::post("/v1/verify")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", harness.scopeless_token),
        )
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(harness.credential_jws.clone()))
        .unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.json);
    assert_eq!(response.json["valid"], true);

    let anonymous = Request::post("/v1/verify")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(harness.credential_jws.clone()))
        .unwrap();
    let response = harness.send(anonymous).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.json["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn images_without_a_badge_are_reports_not_errors() {
    let harness = Harness::new().await;
    let plain = harness.upload("", &[("file", Some("plain.png"), P0)]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.json["valid"], false);
    assert_eq!(failures(&plain.json), vec!["no_badge_data"]);

    let jpeg = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0xFF, 0xD9,
    ];
    let renamed = harness
        .upload("", &[("file", Some("badge.png"), &jpeg)])
        .await;
    assert_eq!(failures(&renamed.json), vec!["not_png"], "{}", renamed.json);

    let empty_object = harness.post("", Some("application/json"), "{}").await;
    assert_eq!(empty_object.status, StatusCode::OK);
    assert_eq!(
        failures(&empty_object.json),
        vec!["not_an_open_badges_object"]
    );
}

#[tokio::test]
async fn unreadable_requests_are_4xx() {
    let harness = Harness::new().await;
    let jws = harness.credential_jws.clone();
    let cases: Vec<(&str, Response, StatusCode, &str)> = vec![
        (
            "no content type",
            harness.post("", None, jws.clone()).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a raw image",
            harness.post("", Some("image/png"), P0.to_vec()).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "invalid JSON",
            harness.post("", Some("application/json"), "{\"id\":").await,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "empty text",
            harness.post("", Some("text/plain"), " \n").await,
            StatusCode::BAD_REQUEST,
            "empty_body",
        ),
        (
            "text that is not UTF-8",
            harness
                .post("", Some("text/plain"), vec![0xFF, 0xFE, 0x00])
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_text",
        ),
        (
            "no file part",
            harness
                .upload("", &[("email", None, b"alice@example.org")])
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
        ),
        (
            "two file parts",
            harness
                .upload("", &[("file", None, P0), ("file", None, P0)])
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
        ),
        (
            "an unknown part",
            harness
                .upload("", &[("file", None, P0), ("colour", None, b"red")])
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
        ),
        (
            "no boundary",
            harness.post("", Some("multipart/form-data"), "x").await,
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
        ),
        (
            "an email twice",
            harness
                .upload(
                    "?email=alice%40example.org",
                    &[("file", None, P0), ("email", None, b"alice@example.org")],
                )
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "an invalid email",
            harness
                .post("?email=not-an-address", Some("text/plain"), jws.clone())
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "an unknown parameter",
            harness
                .post("?mail=alice%40example.org", Some("text/plain"), jws.clone())
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "a file over 2 MiB",
            harness
                .upload(
                    "",
                    &[("file", Some("big.png"), &vec![0u8; 2 * 1024 * 1024 + 1])],
                )
                .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "a JWS over 2 MiB",
            harness
                .post("", Some("text/plain"), "a".repeat(2 * 1024 * 1024 + 1))
                .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, response, status, code) in cases {
        assert_eq!(response.status, status, "{what}: {}", response.json);
        assert_eq!(
            response.json["error"]["code"], code,
            "{what}: {}",
            response.json
        );
        if code == "payload_too_large" {
            assert_eq!(
                response.json["error"]["message"],
                "the badge is larger than the limit of 2097152 bytes",
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn other_hosts_are_never_contacted() {
    let harness = Harness::new().await;
    // A server that would show any connection; the endpoint must never reach it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let elsewhere = format!("http://{}", listener.local_addr().unwrap());

    let mut assertion: Value = serde_json::from_str(&harness.hosted_json).unwrap();
    assertion["id"] = json!(format!("{elsewhere}/assertions/1"));
    let response = harness
        .post("", Some("application/ld+json"), assertion.to_string())
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        failures(&response.json),
        vec!["external_fetch_disabled"],
        "{}",
        response.json
    );

    let url = format!("{elsewhere}/badge.png");
    let response = harness.post("", Some("text/plain"), url).await;
    assert_eq!(
        failures(&response.json),
        vec!["external_fetch_disabled"],
        "{}",
        response.json
    );

    let mut parts: Vec<&str> = harness.credential_jws.split('.').collect();
    let header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json!({"alg": "RS256", "kid": format!("{elsewhere}/keys/1"), "typ": "JWT"}).to_string(),
    );
    parts[0] = &header;
    let response = harness
        .post("", Some("application/jwt"), parts.join("."))
        .await;
    assert!(
        failures(&response.json).contains(&"external_fetch_disabled"),
        "{}",
        response.json
    );

    match listener.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("the endpoint connected to {elsewhere} from {peer}"),
        Err(error) => panic!("accept failed: {error}"),
    }
}

#[tokio::test]
async fn a_router_without_keys_fails_loudly() {
    let harness = Harness::build(false).await;
    let response = harness
        .post("", Some("text/plain"), harness.credential_jws.clone())
        .await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.json["error"]["code"], "internal_error");
}

#[tokio::test]
async fn openapi_documents_the_route_and_every_code() {
    let harness = Harness::new().await;
    let response = harness
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status, StatusCode::OK);

    let operation = &response.json["paths"]["/v1/verify"]["post"];
    assert_eq!(operation["operationId"], "verifyBadge");
    for media_type in [
        "multipart/form-data",
        "application/json",
        "application/ld+json",
        "text/plain",
        "application/jwt",
    ] {
        assert!(
            operation["requestBody"]["content"]
                .get(media_type)
                .is_some(),
            "{media_type}"
        );
    }
    let described = response.json["components"]["schemas"]["VerificationCheck"]["properties"]["code"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    for code in accolade::verify::codes::ALL {
        assert!(
            described.contains(&format!("`{code}`")),
            "openapi.json does not list the check code {code}"
        );
    }
}
