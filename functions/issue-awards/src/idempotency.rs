//! The `Idempotency-Key` protocol of the partner API.
//!
//! A key is 1 to 255 printable ASCII characters, scoped to the client and kept for 24 hours.
//! The first request with a key takes it in the store (marked in flight), runs, and stores its
//! response. A retry with the same key and the same request (method, path and body, compared
//! by fingerprint) gets that response again with `Idempotent-Replayed: true`. The same key with
//! another request is 422 `idempotency_key_reused`. A retry while the first request still runs
//! is 409 `request_in_flight` with `Retry-After`.
//!
//! Responses that a retry could change are not stored, and their key is released so the retry
//! runs again: 5xx, 429 and 409 `conflict` (a concurrent update that a retry resolves).

use std::future::Future;

use accolade::domain::ClientId;
use accolade::http::ApiError;
use accolade::ports::{IdempotencyBegin, IdempotencyKey, StoredResponse};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::PartnerApi;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header that marks a replayed response.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The maximum key length in characters.
pub const MAX_KEY_LEN: usize = 255;
/// `Retry-After` of a 409 `request_in_flight`, in seconds.
const IN_FLIGHT_RETRY_AFTER_SECONDS: &str = "2";

/// A response that may be stored and replayed: a status, a JSON body and an optional
/// `Location`. Handlers that take an `Idempotency-Key` produce one of these.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub location: Option<String>,
}

impl Reply {
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            location: None,
        }
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(location) = self
            .location
            .and_then(|value| HeaderValue::from_str(&value).ok())
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// Reads a required `Idempotency-Key`: 400 `idempotency_key_required` when it is missing.
pub fn required_key(headers: &HeaderMap) -> Result<String, ApiError> {
    optional_key(headers)?.ok_or_else(|| {
        ApiError::bad_request(
            "idempotency_key_required",
            "this request needs an Idempotency-Key header: send a unique value per award or change (for example a UUID) and send the same value again when you retry",
        )
    })
}

/// Reads an optional `Idempotency-Key`: 400 `invalid_idempotency_key` when it is present but
/// not 1 to 255 printable ASCII characters.
pub fn optional_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |reason: &str| {
        ApiError::bad_request(
            "invalid_idempotency_key",
            format!(
                "the Idempotency-Key header is invalid: {reason}; send 1 to {MAX_KEY_LEN} printable ASCII characters, such as a UUID"
            ),
        )
    };
    if values.next().is_some() {
        return Err(invalid("it was sent more than once"));
    }
    let key = value
        .to_str()
        .map_err(|_| invalid("it contains non-ASCII bytes"))?;
    if key.is_empty() {
        return Err(invalid("it is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(invalid(&format!("it is {} characters long", key.len())));
    }
    if !key.bytes().all(|byte| (0x20..=0x7e).contains(&byte)) {
        return Err(invalid("it contains a control character"));
    }
    Ok(Some(key.to_owned()))
}

/// Runs `work` under an idempotency key, or directly when there is none.
///
/// `fingerprint` identifies the request (see `accolade::crypto::request_fingerprint`). `work`
/// is only polled when this request owns the key, so nothing it does happens for a replay.
pub async fn run<F>(
    api: &PartnerApi,
    client_id: &ClientId,
    key: Option<String>,
    fingerprint: &str,
    work: F,
) -> Response
where
    F: Future<Output = Result<Reply, ApiError>>,
{
    let Some(key) = key else {
        return match work.await {
            Ok(reply) => reply.into_response(),
            Err(error) => error.into_response(),
        };
    };
    let key = IdempotencyKey {
        client_id: client_id.clone(),
        key,
    };

    let now = api.clock.now();
    let begin = api
        .store
        .begin_request(
            &key,
            fingerprint,
            now,
            now.plus_seconds(api.limits.idempotency_in_flight_seconds),
            now.plus_seconds(api.limits.idempotency_ttl_seconds),
        )
        .await;
    match begin {
        Err(error) => return ApiError::from(error).into_response(),
        Ok(IdempotencyBegin::Existing { request_hash, .. }) if request_hash != fingerprint => {
            tracing::info!(client.id = %client_id, "idempotency key reused for another request");
            return key_reused().into_response();
        }
        Ok(IdempotencyBegin::Existing { response: None, .. }) => {
            return in_flight().into_response();
        }
        Ok(IdempotencyBegin::Existing {
            response: Some(stored),
            ..
        }) => {
            tracing::info!(client.id = %client_id, status = stored.status, "idempotent response replayed");
            return replay(stored);
        }
        Ok(IdempotencyBegin::Started) => {}
    }

    let (response, stored, code) = match work.await {
        Ok(reply) => {
            let stored = StoredResponse {
                status: reply.status.as_u16(),
                body: reply.body.to_string(),
                location: reply.location.clone(),
            };
            (reply.into_response(), stored, None)
        }
        Err(error) => {
            let stored = StoredResponse {
                status: error.status.as_u16(),
                body: error_body(&error).to_string(),
                location: None,
            };
            let code = error.code;
            (error.into_response(), stored, Some(code))
        }
    };

    if is_replayable(stored.status, code) {
        if let Err(error) = api.store.complete_request(&key, &stored).await {
            // The work is done, so the client still gets its response. A retry after the
            // in-flight window runs the request again, and duplicate detection catches it.
            tracing::error!(client.id = %client_id, error = %error, "failed to store an idempotent response");
        }
    } else if let Err(error) = api.store.abandon_request(&key).await {
        tracing::error!(client.id = %client_id, error = %error, "failed to release an idempotency key");
    }
    response
}

/// Whether a response is final for its request, so a retry should see it again.
fn is_replayable(status: u16, code: Option<&str>) -> bool {
    status < 500 && status != 429 && code != Some("conflict")
}

fn error_body(error: &ApiError) -> Value {
    json!({
        "error": { "code": error.code, "message": error.message, "details": error.details }
    })
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        stored.body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    if let Some(location) = stored
        .location
        .and_then(|value| HeaderValue::from_str(&value).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was already used for a different request (another method, path or body) in the last 24 hours; use a new key for a new request",
    )
}

fn in_flight() -> ApiError {
    ApiError::conflict(
        "request_in_flight",
        "a request with this Idempotency-Key is still being processed; retry after the time in Retry-After to get its response",
    )
    .with_header(
        header::RETRY_AFTER,
        HeaderValue::from_static(IN_FLIGHT_RETRY_AFTER_SECONDS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn key_rules() {
        assert_eq!(
            optional_key(&headers(b"order-42 retry")).unwrap(),
            Some("order-42 retry".to_owned())
        );
        assert_eq!(optional_key(&HeaderMap::new()).unwrap(), None);
        assert!(optional_key(&headers(&[b'k'; 255])).is_ok());

        for bad in [&[b'k'; 256][..], b"", "clé".as_bytes(), b"tab\there"] {
            let error = optional_key(&headers(bad)).unwrap_err();
            assert_eq!(error.code, "invalid_idempotency_key", "key {bad:?}");
        }
    }

    #[test]
    fn missing_key_is_required() {
        assert_eq!(
            required_key(&HeaderMap::new()).unwrap_err().code,
            "idempotency_key_required"
        );
    }

    #[test]
    fn transient_outcomes_are_not_replayed() {
        assert!(is_replayable(201, None));
        assert!(is_replayable(409, Some("duplicate_award")));
        assert!(is_replayable(422, Some("invalid_field")));
        assert!(!is_replayable(409, Some("conflict")));
        assert!(!is_replayable(429, Some("resend_rate_limited")));
        assert!(!is_replayable(503, Some("try_again_later")));
        assert!(!is_replayable(500, Some("internal_error")));
    }
}
