//! The partner API: the OAuth 2.0 token endpoint, the issuer profile, achievements and awards.
//!
//! [`router`] builds an `axum::Router` that runs unchanged as an AWS Lambda function and inside
//! the local stack. Creating or changing an award only writes the store: the claim email, the
//! baking and the signing happen later, from the store's change log.
//!
//! - [`auth`]: the bearer-token extractor and scope checks;
//! - [`idempotency`]: the `Idempotency-Key` protocol;
//! - [`wire`]: the request and response JSON and its conversion into domain types;
//! - `routes`: one module of handlers per resource;
//! - [`lambda`]: the adapters on AWS Lambda, built once per cold start.
//!
//! `openapi.json` beside this crate's manifest documents every route, status and error code.

pub mod auth;
pub mod idempotency;
pub mod lambda;
mod routes;
pub use accolade::wire;

use std::sync::Arc;

use accolade::auth::AccessTokens;
use accolade::baking::ImageLimits;
use accolade::http::{ApiError, MAX_JSON_BODY_BYTES, security_headers};
use accolade::ports::{Clock, FileStore, Random, Store};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

/// The OpenAPI 3.1 description of this API, served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Sizes, counts and rates the API enforces. `openapi.json` documents the defaults, so change
/// it together with them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum size of a JSON request body in bytes (single awards and batches alike).
    pub max_json_body_bytes: usize,
    /// Maximum number of awards in one `POST /v1/awards/batch`.
    pub max_batch_items: usize,
    /// Size and dimension limits of each uploaded achievement image.
    pub image: ImageLimits,
    /// Maximum size of a whole `multipart/form-data` achievement upload in bytes.
    pub max_upload_bytes: usize,
    /// Minimum time between two claim emails of one award, in seconds.
    pub resend_interval_seconds: i64,
    /// Maximum number of resends of one award (the first email is not counted).
    pub max_resends: u32,
    /// Page size of lists when the request names no `limit`.
    pub default_page_size: u32,
    /// Maximum `limit` of a list request.
    pub max_page_size: u32,
    /// How long a completed idempotent response is kept for replay, in seconds.
    pub idempotency_ttl_seconds: i64,
    /// How long a request may hold its `Idempotency-Key` before a retry may take it over,
    /// in seconds. It must exceed the function's timeout.
    pub idempotency_in_flight_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        let image = ImageLimits::default();
        Self {
            max_json_body_bytes: MAX_JSON_BODY_BYTES,
            max_batch_items: 500,
            image,
            // Two images at their limit plus room for the text fields (a 50,000-character
            // criteria narrative is up to 200 KB of UTF-8).
            max_upload_bytes: 2 * image.max_bytes + 512 * 1024,
            resend_interval_seconds: 60,
            max_resends: 10,
            default_page_size: 50,
            max_page_size: 100,
            idempotency_ttl_seconds: 24 * 60 * 60,
            // API Gateway stops waiting for a Lambda function after 30 seconds.
            idempotency_in_flight_seconds: 60,
        }
    }
}

/// The dependencies of the partner API: the ports, the token signer, the public URLs and the
/// limits. The Lambda entry point and the local stack each build one and pass it to
/// [`router`].
#[derive(Clone)]
pub struct PartnerApi {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn FileStore>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub tokens: AccessTokens,
    pub urls: PublicUrls,
    pub limits: Limits,
}

/// The router state: one shared copy of the dependencies.
pub type ApiState = Arc<PartnerApi>;

/// Builds the partner API router: `/oauth/token`, `/openapi.json` and everything under `/v1`.
///
/// The router sets no global fallback, so the local stack can merge it with the other
/// functions' routers; unknown paths under `/v1` still return our JSON 404.
pub fn router(deps: PartnerApi) -> Router {
    // Every handler reads its body with its own explicit limit; this outer bound only stops
    // a body that is larger than any of them.
    let body_limit = deps
        .limits
        .max_upload_bytes
        .max(deps.limits.max_json_body_bytes);

    Router::new()
        .route("/oauth/token", post(routes::token::issue_token))
        .route("/openapi.json", get(openapi))
        .route(
            "/v1/issuer",
            get(routes::issuer::show).put(routes::issuer::update),
        )
        .route(
            "/v1/achievements",
            get(routes::achievements::list).post(routes::achievements::create),
        )
        .route("/v1/achievements/{id}", get(routes::achievements::show))
        .route(
            "/v1/awards",
            get(routes::awards::list).post(routes::awards::create),
        )
        .route("/v1/awards/batch", post(routes::awards::create_batch))
        .route("/v1/awards/{id}", get(routes::awards::show))
        .route("/v1/awards/{id}/revoke", post(routes::actions::revoke))
        .route("/v1/awards/{id}/resend", post(routes::actions::resend))
        .route("/v1/verify", post(routes::verify::verify))
        .route("/v1/{*rest}", any(unknown_route))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(map_response(no_store_by_default))
        .layer(map_response(security_headers))
        .with_state(Arc::new(deps))
}

async fn openapi() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        OPENAPI_JSON,
    )
        .into_response()
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no resource exists at this path; see /openapi.json for the routes of this API",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not accept this HTTP method; see /openapi.json for the methods of each route",
    )
}

/// Marks every response `no-store` unless its handler chose otherwise, because API responses
/// carry recipients' email addresses and access tokens.
async fn no_store_by_default(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
