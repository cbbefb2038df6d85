//! `POST /v1/verify`: verifies a badge and returns the report, `{"valid", "format", "id",
//! "checks"}`, with 200 whether the badge is valid or not.
//!
//! The badge is sent as a `multipart/form-data` upload (a `file` part of at most 2 MiB and
//! an optional `email` part), as JSON (`application/json` or `application/ld+json`: an Open
//! Badges 2.0 assertion or 3.0 credential), or as text (`text/plain` or `application/jwt`:
//! a compact JWS, or a badge URL). The recipient email may also come as the `email` query
//! parameter. A request that cannot be read is a 4xx.
//!
//! Any valid access token may call it, whatever its scopes: the route reads only public
//! documents, but it costs work per call, so it is kept to known partners rather than
//! opened to everyone.
//!
//! Documents are resolved by [`StoreResolver`]: only this deployment's own public URLs,
//! answered from the store, the file store and the public keys. Every other URL is the
//! check `external_fetch_disabled`, so this route never sends a request anywhere and cannot
//! be used to reach other hosts or the internal network.
//!
//! The router needs the issuers' public keys as an extension:
//! `router(api).layer(axum::Extension::<Arc<dyn PublicKeys>>(keys))`.

use std::sync::Arc;

use accolade::domain::EmailAddress;
use accolade::http::{ApiError, read_body};
use accolade::ports::PublicKeys;
use accolade::verify::{self, StoreResolver, VerifyContext, VerifyInput, declared_image_kind};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ApiState;
use crate::auth::Caller;
use crate::routes::{invalid_query, media_type, param, query_params};

/// The largest badge accepted, in bytes: a baked image, a JSON document or a JWS.
pub const MAX_BADGE_BYTES: usize = 2 * 1024 * 1024;
/// Room for the multipart boundaries, headers and the `email` part around the file.
const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;

/// The accepted media types, for 415 messages.
const ACCEPTED: &str = "multipart/form-data (a file part), application/json, application/ld+json, text/plain or application/jwt";

/// The badge and email read from a request.
struct Submission {
    bytes: Bytes,
    /// The image type the upload claims, from its part's file name or media type.
    declared: Option<accolade::baking::ImageKind>,
    email: Option<String>,
}

/// Verifies the badge in the request body; 200 with the report.
pub async fn verify(
    State(api): State<ApiState>,
    caller: Caller,
    keys: Option<Extension<Arc<dyn PublicKeys>>>,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(Extension(keys)) = keys else {
        return Err(ApiError::internal(
            "verify",
            &"the partner API router has no public keys; add axum::Extension::<Arc<dyn PublicKeys>>(keys) to it",
        ));
    };
    let pairs = query_params(request.uri().query(), &["email"])?;
    let query_email = param(&pairs, "email").map(str::to_owned);

    let submission = read_submission(request).await?;
    let email = match (query_email, submission.email.clone()) {
        (Some(_), Some(_)) => {
            return Err(invalid_query(
                "email",
                "the email is sent both as a query parameter and as a form field; send it once",
            ));
        }
        (query, form) => query.or(form),
    };
    if let Some(email) = &email
        && let Err(error) = EmailAddress::parse(email)
    {
        return Err(ApiError::invalid_field("email", error.to_string()));
    }

    let resolver = StoreResolver::new(api.store.clone(), api.files.clone(), keys, api.urls.clone());
    let context = VerifyContext {
        resolver: &resolver,
        now: api.clock.now(),
        email: email.as_deref(),
    };
    let input = VerifyInput::Bytes {
        bytes: &submission.bytes,
        declared: submission.declared,
    };
    let report = verify::verify(input, &context).await;
    tracing::info!(
        client.id = %caller.client_id,
        issuer.id = %caller.issuer_id,
        valid = report.valid,
        format = report.format.map(|format| format.as_str()),
        failures = ?report.failures(),
        "badge verified"
    );
    Ok((StatusCode::OK, axum::Json(report)).into_response())
}

async fn read_submission(request: Request) -> Result<Submission, ApiError> {
    let media_type = media_type(request.headers());
    match media_type.as_str() {
        "multipart/form-data" => read_multipart(request).await,
        "application/json" | "application/ld+json" => {
            let bytes = read_body(request, &(), MAX_BADGE_BYTES, "the badge").await?;
            if let Err(error) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                return Err(ApiError::bad_request(
                    "invalid_json",
                    format!("the request body is not valid JSON: {error}"),
                ));
            }
            Ok(Submission {
                bytes,
                declared: None,
                email: None,
            })
        }
        "text/plain" | "application/jwt" => {
            let bytes = read_body(request, &(), MAX_BADGE_BYTES, "the badge").await?;
            if std::str::from_utf8(&bytes).is_err() {
                return Err(ApiError::bad_request(
                    "invalid_text",
                    "the request body is not UTF-8 text; send a compact JWS or a badge URL as text/plain",
                ));
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(ApiError::bad_request(
                    "empty_body",
                    "the request body is empty; send the badge to verify",
                ));
            }
            Ok(Submission {
                bytes,
                declared: None,
                email: None,
            })
        }
        "" => Err(unsupported(
            "the request has no Content-Type; send the badge as one of: ",
        )),
        other => Err(unsupported(&format!(
            "the Content-Type {other} is not accepted here; send the badge as one of: "
        ))),
    }
}

fn unsupported(prefix: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("{prefix}{ACCEPTED}"),
    )
    .with_details(json!({ "accepted": ["multipart/form-data", "application/json", "application/ld+json", "text/plain", "application/jwt"] }))
}

async fn read_multipart(request: Request) -> Result<Submission, ApiError> {
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|_| {
        invalid_multipart("the Content-Type header has no multipart boundary".to_owned())
    })?;
    let mut file = None;
    let mut email = None;
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        let declared = field
            .file_name()
            .and_then(declared_image_kind)
            .or_else(|| field.content_type().and_then(declared_image_kind));
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            total += chunk.len();
            if total > MAX_BADGE_BYTES + MULTIPART_OVERHEAD_BYTES
                || bytes.len() + chunk.len() > MAX_BADGE_BYTES
            {
                return Err(ApiError::payload_too_large("the badge", MAX_BADGE_BYTES));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" if file.is_some() => {
                return Err(invalid_multipart(
                    "it has more than one file part; send one badge per request".to_owned(),
                ));
            }
            "file" => file = Some((Bytes::from(bytes), declared)),
            "email" if email.is_some() => {
                return Err(invalid_multipart(
                    "it has more than one email part".to_owned(),
                ));
            }
            "email" => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    ApiError::invalid_field("email", "the email part is not UTF-8 text")
                })?;
                email = Some(text);
            }
            other => {
                let shown: String = other.chars().take(50).collect();
                return Err(invalid_multipart(format!(
                    "it has a part named {shown:?}; the parts are file and email"
                )));
            }
        }
    }
    let Some((bytes, declared)) = file else {
        return Err(invalid_multipart(
            "it has no file part; send the badge as the part named file".to_owned(),
        ));
    };
    Ok(Submission {
        bytes,
        declared,
        email,
    })
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::payload_too_large("the badge", MAX_BADGE_BYTES);
    }
    invalid_multipart(error.body_text())
}

fn invalid_multipart(reason: String) -> ApiError {
    ApiError::bad_request(
        "invalid_multipart",
        format!("the multipart/form-data body is malformed: {reason}"),
    )
}
