//! `TestApi`: the real router over the in-memory SQLite store and file store, a fixed clock
//! and counting randomness, seeded with two issuers, their clients and one achievement each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use accolade::adapters::faults::{Fault, FaultyStore};
use accolade::adapters::files::MemoryFileStore;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{FixedClock, SequenceRandom};
use accolade::auth::AccessTokens;
use accolade::crypto::client_secret_hash;
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, ApiClient, Award, AwardId, ClientId,
    EmailAddress, HttpsUrl, Issuer, IssuerId, Scopes, Text, TextLimit, Timestamp,
};
use accolade::ports::{AwardFilter, PageRequest, Store};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use issue_awards::{Limits, PartnerApi, router};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

pub const BASE_URL: &str = "https://badges.example.org";
pub const TOKEN_SECRET: [u8; 32] = [7; 32];
/// 2025-06-01T09:00:00Z.
pub const START: i64 = 1_748_768_400;

pub const CLIENT_ID: &str = "booking-system";
pub const CLIENT_SECRET: &str = "booking-secret-0123456789abcdefghijklmnopqrstuv";
pub const OTHER_CLIENT_ID: &str = "other-crm";
pub const OTHER_CLIENT_SECRET: &str = "other-secret-0123456789abcdefghijklmnopqrstuvw";
/// A client of the first issuer that may only read awards.
pub const READER_ID: &str = "award-reader";
pub const READER_SECRET: &str = "reader-secret-0123456789abcdefghijklmnopqrstuv";

/// A 1 x 1 PNG.
pub const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
pub const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120"><circle cx="60" cy="60" r="50" fill="#3a7"/></svg>"##;

pub fn png() -> Vec<u8> {
    STANDARD.decode(PNG_BASE64).unwrap()
}

/// Returns the first bytes of a JPEG file (SOI, APP0 JFIF) and its end marker.
pub fn jpeg() -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00,
    ];
    bytes.extend_from_slice(&[0u8; 64]);
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// Returns a PNG that already carries an Open Badges 2.0 assertion.
pub fn baked_png() -> Vec<u8> {
    let assertion = json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": format!("{BASE_URL}/assertions/123e4567-e89b-42d3-a456-426614174000"),
    })
    .to_string();
    accolade::baking::bake(
        &png(),
        accolade::baking::BadgeFormat::V2,
        accolade::baking::BakeInput::json(&assertion),
    )
    .unwrap()
}

/// One response, with its body read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Returns the `error.code` of our envelope.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    pub fn id(&self) -> String {
        self.json["id"].as_str().unwrap_or("").to_owned()
    }
}

/// The records a test can compare before and after a rejected request.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub awards: Vec<Award>,
    pub achievements: Vec<AchievementId>,
    pub files: Vec<String>,
    pub issuers: Vec<(IssuerId, u64)>,
}

/// One part of a multipart upload.
pub struct Part {
    pub name: &'static str,
    pub file_name: Option<&'static str>,
    pub content_type: Option<&'static str>,
    pub bytes: Vec<u8>,
}

impl Part {
    pub fn text(name: &'static str, value: &str) -> Self {
        Self {
            name,
            file_name: None,
            content_type: None,
            bytes: value.as_bytes().to_vec(),
        }
    }

    pub fn file(
        name: &'static str,
        file_name: &'static str,
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Self {
        Self {
            name,
            file_name: Some(file_name),
            content_type: Some(content_type),
            bytes,
        }
    }
}

pub const BOUNDARY: &str = "accolade-test-boundary-7MA4YWxkTrZu0gW";

/// Builds a multipart/form-data body with [`BOUNDARY`].
pub fn multipart_body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Returns the text fields of a valid achievement upload.
pub fn achievement_fields(name: &str) -> Vec<Part> {
    vec![
        Part::text("name", name),
        Part::text("description", "Played in a youth orchestra concert."),
        Part::text(
            "criteria",
            "Take part in **one** full concert, including rehearsals.",
        ),
        Part::text("criteria_url", "https://music.example.org/badges/concert"),
        Part::text("level", "participate"),
        Part::text("tags", "orchestra"),
        Part::text("tags", "performance"),
    ]
}

pub struct TestApi {
    router: Router,
    pub store: Arc<SqliteStore>,
    /// The store the router uses: `store` with injectable failures.
    pub faults: Arc<FaultyStore>,
    pub files: Arc<MemoryFileStore>,
    pub clock: Arc<FixedClock>,
    pub issuer_id: IssuerId,
    pub other_issuer_id: IssuerId,
    pub achievement_id: AchievementId,
    pub other_achievement_id: AchievementId,
    /// A token with every scope, for the first issuer's client.
    pub token: String,
    /// A token with every scope, for the second issuer's client.
    pub other_token: String,
    keys: AtomicU64,
}

impl TestApi {
    pub async fn new() -> Self {
        Self::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Self {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let files = Arc::new(MemoryFileStore::new());
        let clock = Arc::new(FixedClock::new(Timestamp::from_unix_seconds(START)));
        let faults = Arc::new(FaultyStore::new(store.clone()));
        let deps = PartnerApi {
            store: faults.clone(),
            files: files.clone(),
            clock: clock.clone(),
            random: Arc::new(SequenceRandom::new()),
            tokens: access_tokens(&TOKEN_SECRET),
            urls: PublicUrls::parse(BASE_URL).unwrap(),
            limits,
        };
        let router = router(deps);

        let issuer_id =
            IssuerId::from_uuid(Uuid::from_u128(0x1111_1111_1111_4111_8111_1111_1111_1111));
        let other_issuer_id =
            IssuerId::from_uuid(Uuid::from_u128(0x2222_2222_2222_4222_8222_2222_2222_2222));
        seed_issuer(&store, issuer_id, "County Music Service").await;
        seed_issuer(&store, other_issuer_id, "Other Arts Trust").await;
        seed_client(&store, CLIENT_ID, CLIENT_SECRET, issuer_id, Scopes::all()).await;
        seed_client(
            &store,
            OTHER_CLIENT_ID,
            OTHER_CLIENT_SECRET,
            other_issuer_id,
            Scopes::all(),
        )
        .await;
        seed_client(
            &store,
            READER_ID,
            READER_SECRET,
            issuer_id,
            Scopes::parse("awards:read achievements:read").unwrap(),
        )
        .await;
        let achievement_id =
            AchievementId::from_uuid(Uuid::from_u128(0xaaaa_aaaa_aaaa_4aaa_8aaa_aaaa_aaaa_aaaa));
        let other_achievement_id =
            AchievementId::from_uuid(Uuid::from_u128(0xbbbb_bbbb_bbbb_4bbb_8bbb_bbbb_bbbb_bbbb));
        seed_achievement(&store, achievement_id, issuer_id).await;
        seed_achievement(&store, other_achievement_id, other_issuer_id).await;

        let mut api = Self {
            router,
            store,
            faults,
            files,
            clock,
            issuer_id,
            other_issuer_id,
            achievement_id,
            other_achievement_id,
            token: String::new(),
            other_token: String::new(),
            keys: AtomicU64::new(1),
        };
        api.token = api.token_for(CLIENT_ID, CLIENT_SECRET, None).await;
        api.other_token = api
            .token_for(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, None)
            .await;
        api
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            json,
        }
    }

    /// Returns a fresh `Idempotency-Key`.
    pub fn key(&self) -> String {
        format!("test-key-{}", self.keys.fetch_add(1, Ordering::SeqCst))
    }

    /// Starts a request with the first client's bearer token.
    pub fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
    }

    // -----------------------------------------------------------------------------------------
    // One method per endpoint

    /// `POST /oauth/token` with HTTP Basic client authentication.
    pub async fn token_basic(&self, client_id: &str, secret: &str, form: &str) -> TestResponse {
        let credentials = STANDARD.encode(format!("{client_id}:{secret}"));
        let request = Request::post("/oauth/token")
            .header(header::AUTHORIZATION, format!("Basic {credentials}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    /// `POST /oauth/token` with the credentials in the form.
    pub async fn token_form(&self, form: &str) -> TestResponse {
        let request = Request::post("/oauth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    /// Gets a token for a client, optionally narrowed to `scope`.
    pub async fn token_for(&self, client_id: &str, secret: &str, scope: Option<&str>) -> String {
        let form = match scope {
            None => "grant_type=client_credentials".to_owned(),
            Some(scope) => format!(
                "grant_type=client_credentials&scope={}",
                scope.replace(' ', "+")
            ),
        };
        let response = self.token_basic(client_id, secret, &form).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        response.json["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET /v1/issuer`.
    pub async fn get_issuer(&self) -> TestResponse {
        self.send(
            self.request(Method::GET, "/v1/issuer")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `PUT /v1/issuer`.
    pub async fn put_issuer(&self, body: &Value, if_match: Option<&str>) -> TestResponse {
        let mut request = self
            .request(Method::PUT, "/v1/issuer")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(tag) = if_match {
            request = request.header(header::IF_MATCH, tag);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// `GET /v1/achievements` with a query string.
    pub async fn list_achievements(&self, query: &str) -> TestResponse {
        let path = format!("/v1/achievements{query}");
        self.send(
            self.request(Method::GET, &path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `GET /v1/achievements/{id}`.
    pub async fn get_achievement(&self, id: &str) -> TestResponse {
        let path = format!("/v1/achievements/{id}");
        self.send(
            self.request(Method::GET, &path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `POST /v1/achievements` with a multipart body.
    pub async fn create_achievement(&self, parts: &[Part], key: Option<&str>) -> TestResponse {
        let mut request = self.request(Method::POST, "/v1/achievements").header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.send(request.body(Body::from(multipart_body(parts))).unwrap())
            .await
    }

    /// `POST /v1/awards` with a fresh `Idempotency-Key`.
    pub async fn create_award(&self, body: &Value) -> TestResponse {
        let key = self.key();
        self.create_award_with_key(&key, body).await
    }

    /// `POST /v1/awards` with the given key.
    pub async fn create_award_with_key(&self, key: &str, body: &Value) -> TestResponse {
        self.send(self.award_post(key, body)).await
    }

    /// Builds the request of `POST /v1/awards`, for tests that send it themselves.
    pub fn award_post(&self, key: &str, body: &Value) -> Request<Body> {
        self.request(Method::POST, "/v1/awards")
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    /// `POST /v1/awards/batch`.
    pub async fn create_batch(&self, key: &str, body: &Value) -> TestResponse {
        let request = self
            .request(Method::POST, "/v1/awards/batch")
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    /// `GET /v1/awards/{id}`.
    pub async fn get_award(&self, id: &str) -> TestResponse {
        let path = format!("/v1/awards/{id}");
        self.send(
            self.request(Method::GET, &path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `GET /v1/awards` with a query string.
    pub async fn list_awards(&self, query: &str) -> TestResponse {
        let path = format!("/v1/awards{query}");
        self.send(
            self.request(Method::GET, &path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `POST /v1/awards/{id}/revoke`.
    pub async fn revoke(&self, id: &str, key: &str, body: &Value) -> TestResponse {
        let path = format!("/v1/awards/{id}/revoke");
        let request = self
            .request(Method::POST, &path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    /// `POST /v1/awards/{id}/resend`, with no body when `body` is `None`.
    pub async fn resend(&self, id: &str, key: &str, body: Option<&Value>) -> TestResponse {
        let path = format!("/v1/awards/{id}/resend");
        let mut request = self
            .request(Method::POST, &path)
            .header("idempotency-key", key);
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    // -----------------------------------------------------------------------------------------
    // Fixtures and direct store access

    /// Returns a valid award body for the first issuer's achievement.
    pub fn award_body(&self, email: &str) -> Value {
        json!({
            "achievement_id": self.achievement_id.to_string(),
            "recipient": { "email": email, "name": "Alice Example" },
            "narrative": "Played second violin in the summer concert.",
            "evidence": [{ "url": "https://music.example.org/concerts/summer", "narrative": "Concert programme" }],
        })
    }

    /// Creates an award through the API and returns its id.
    pub async fn award(&self, email: &str) -> String {
        let response = self.create_award(&self.award_body(email)).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.id()
    }

    /// Creates an award of the second issuer, with its own client, and returns its id.
    pub async fn other_award(&self) -> String {
        let body = json!({
            "achievement_id": self.other_achievement_id.to_string(),
            "recipient": { "email": "bea@example.net" },
        });
        let request = Request::post("/v1/awards")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.other_token),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", self.key())
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.send(request).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.id()
    }

    pub async fn stored_award(&self, id: &str) -> Award {
        let id: AwardId = id.parse().unwrap();
        self.store.get_award(id).await.unwrap().unwrap()
    }

    /// Every record a rejected request must leave alone.
    pub async fn snapshot(&self) -> Snapshot {
        let page = PageRequest {
            limit: 500,
            cursor: None,
        };
        let mut awards = Vec::new();
        let mut achievements = Vec::new();
        let mut issuers = Vec::new();
        for issuer in [self.issuer_id, self.other_issuer_id] {
            let listed = self
                .store
                .list_awards(issuer, &AwardFilter::default(), &page)
                .await
                .unwrap();
            assert_eq!(
                listed.next_cursor, None,
                "the snapshot must see every award"
            );
            awards.extend(listed.items);
            let listed = self.store.list_achievements(issuer, &page).await.unwrap();
            achievements.extend(listed.items.into_iter().map(|achievement| achievement.id));
            let stored = self.store.get_issuer(issuer).await.unwrap().unwrap();
            issuers.push((stored.id, stored.version));
        }
        Snapshot {
            awards,
            achievements,
            files: self.files.keys(),
            issuers,
        }
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance_seconds(seconds);
    }

    /// Replaces the first client's token with one minted at the clock's current time.
    pub async fn renew_token(&mut self) {
        self.token = self.token_for(CLIENT_ID, CLIENT_SECRET, None).await;
    }
}

pub fn access_tokens(secret: &[u8]) -> AccessTokens {
    AccessTokens::new(
        secret,
        BASE_URL.to_owned(),
        AccessTokens::DEFAULT_TTL_SECONDS,
    )
    .unwrap()
}

fn text(value: &str) -> Text {
    Text::parse("text", value, TextLimit::LONG).unwrap()
}

async fn seed_issuer(store: &SqliteStore, id: IssuerId, name: &str) {
    let now = Timestamp::from_unix_seconds(START);
    let issuer = Issuer {
        id,
        name: text(name),
        url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
        email: EmailAddress::parse("badges@music.example.org").unwrap(),
        description: None,
        image: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.create_issuer(&issuer).await.unwrap();
}

pub async fn seed_client(
    store: &SqliteStore,
    id: &str,
    secret: &str,
    issuer: IssuerId,
    scopes: Scopes,
) {
    let client = ApiClient {
        client_id: ClientId::parse(id).unwrap(),
        issuer_id: issuer,
        name: text(id),
        secret_hash: client_secret_hash(secret),
        scopes,
        disabled: false,
        created_at: Timestamp::from_unix_seconds(START),
    };
    store.put_client(&client).await.unwrap();
}

async fn seed_achievement(store: &SqliteStore, id: AchievementId, issuer: IssuerId) {
    let achievement = Achievement {
        id,
        issuer_id: issuer,
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
        created_at: Timestamp::from_unix_seconds(START),
    };
    store.create_achievement(&achievement).await.unwrap();
}
