//! HTTP conventions shared by every function: the JSON error envelope, the JSON body
//! extractor, content negotiation and the security headers of pages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::ports::{FileStoreError, StoreError};

/// An error answered to a client as `{"error": {"code", "message", "details"}}`.
///
/// `code` is stable and documented; `message` says what failed, on which value, and what to
/// do. 5xx errors carry a generic message: the cause is logged once, where the error is made.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            headers: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 400 for a request the server cannot read (malformed JSON, a bad query).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 for a well-formed request whose values break a rule; `field` names the value.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
            .with_details(json!({ "field": field }))
    }

    /// 404 that does not tell whether the object exists under another issuer.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id} was not found"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 401 with the `WWW-Authenticate` challenge RFC 6750 asks for.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"accolade\""),
        )
    }

    pub fn forbidden_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "the access token lacks the scope {scope}; ask for it when requesting the token"
            ),
        )
        .with_details(json!({ "required_scope": scope }))
    }

    pub fn payload_too_large(what: &str, limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{what} is larger than the limit of {limit_bytes} bytes"),
        )
        .with_details(json!({ "limit_bytes": limit_bytes }))
    }

    /// 503 with `Retry-After`, for throttling by a backend.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "try_again_later", message)
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// 500 for an unexpected fault. Logs the cause once, here, and answers a generic message.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, context, "request failed with an internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; the request can be retried with the same Idempotency-Key",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => ApiError::conflict(
                "conflict",
                "the record was changed by another request at the same time; read it again and retry",
            ),
            StoreError::DuplicateAward { existing } => ApiError::conflict(
                "duplicate_award",
                format!(
                    "this recipient already has an award of this achievement ({existing}); set \"reaward\": true to award it again on purpose"
                ),
            )
            .with_details(json!({ "existing_award_id": existing.to_string() })),
            StoreError::AlreadyExists => {
                ApiError::conflict("already_exists", "a record with this id exists already")
            }
            StoreError::InvalidCursor => ApiError::bad_request("invalid_cursor", error.to_string()),
            StoreError::Throttled => ApiError::unavailable("the service is busy; retry after a short wait"),
            StoreError::Backend(_) => ApiError::internal("store", &error),
        }
    }
}

impl From<FileStoreError> for ApiError {
    fn from(error: FileStoreError) -> Self {
        ApiError::internal("file store", &error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// The maximum size of a JSON request body: a batch of 500 awards with long narratives fits.
pub const MAX_JSON_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A JSON request body. Unlike `axum::Json`, every rejection uses our error envelope:
/// 415 `unsupported_media_type`, 413 `payload_too_large`, 400 `invalid_json`.
#[derive(Debug, Clone)]
pub struct JsonBody<T> {
    pub value: T,
    /// The raw bytes, for request fingerprints.
    pub raw: Bytes,
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON; send Content-Type: application/json",
            ));
        }
        let raw = read_body(request, state, MAX_JSON_BODY_BYTES, "the JSON body").await?;
        let value = parse_json(&raw)?;
        Ok(Self { value, raw })
    }
}

/// Parses JSON bytes into `T`, answering 400 `invalid_json` with serde's description (which
/// names the field and the line and column).
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|error| {
        ApiError::bad_request(
            "invalid_json",
            format!("the request body is not valid: {error}"),
        )
    })
}

/// Reads a whole body up to `limit` bytes; 413 beyond it.
pub async fn read_body<S: Send + Sync>(
    request: Request,
    state: &S,
    limit: usize,
    what: &str,
) -> Result<Bytes, ApiError> {
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(what, limit)
            } else {
                ApiError::bad_request(
                    "unreadable_body",
                    format!("the request body could not be read: {rejection}"),
                )
            }
        })
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The representation a client asked for on a public URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    JsonLd,
    Json,
    Html,
}

/// Picks the representation from `Accept`: HTML only when `text/html` ranks strictly above
/// both `application/ld+json` and `application/json`; no header, `*/*` or a JSON type gets
/// JSON-LD, and a client that accepts only `application/json` gets that.
pub fn negotiate(headers: &HeaderMap) -> Representation {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
    else {
        return Representation::JsonLd;
    };
    let quality = |wanted: &str| -> f32 {
        let (kind, _) = wanted.split_once('/').unwrap_or((wanted, ""));
        let mut best: Option<(u8, f32)> = None;
        for entry in accept.split(',') {
            let mut parts = entry.split(';');
            let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|value| value.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let specificity = if range == wanted {
                3
            } else if range == format!("{kind}/*") {
                2
            } else if range == "*/*" {
                1
            } else {
                continue;
            };
            if best.is_none_or(|(current, _)| specificity > current) {
                best = Some((specificity, q));
            }
        }
        best.map_or(0.0, |(_, q)| q)
    };

    let html = quality("text/html");
    let json_ld = quality("application/ld+json");
    let json = quality("application/json");
    if html > json_ld && html > json {
        Representation::Html
    } else if json > json_ld {
        Representation::Json
    } else {
        Representation::JsonLd
    }
}

/// The Content-Security-Policy of our pages: nothing from any other origin, no scripts.
pub const PAGE_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the headers every response carries (for `axum::middleware::map_response`): no
/// referrer (claim links must not leak), no MIME sniffing, no framing, and on HTML pages a
/// policy that forbids third-party requests.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn negotiation_table() {
        let cases = [
            ("application/ld+json", Representation::JsonLd),
            ("application/json", Representation::Json),
            ("*/*", Representation::JsonLd),
            ("text/html", Representation::Html),
            (
                "application/ld+json, application/json, text/html;q=0.9",
                Representation::JsonLd,
            ),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                Representation::Html,
            ),
            ("text/html;q=0.5, application/json", Representation::Json),
            ("text/*", Representation::Html),
        ];
        for (value, expected) in cases {
            assert_eq!(negotiate(&accept(value)), expected, "Accept: {value}");
        }
        assert_eq!(negotiate(&HeaderMap::new()), Representation::JsonLd);
    }

    #[test]
    fn html_escaping_covers_quotes() {
        assert_eq!(
            escape_html("<b>\"Safety & Co\"</b>'"),
            "&lt;b&gt;&quot;Safety &amp; Co&quot;&lt;/b&gt;&#x27;"
        );
    }
}
