//! `GET /v1/issuer` and `PUT /v1/issuer`: the caller's issuer profile.

use accolade::domain::{Issuer, Scope};
use accolade::http::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::ApiState;
use crate::auth::Caller;
use crate::routes::{check_if_match, etag, read_json};
use crate::wire::{IssuerView, parse_issuer_update, to_json};

/// Returns the caller's issuer profile with its version as the `ETag`. Any valid token may
/// read it.
pub async fn show(State(api): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    let issuer = load(&api, &caller).await?;
    Ok(respond(&api, &issuer))
}

/// Replaces the editable fields of the profile (`name`, `url`, `email`, `description`).
///
/// With `If-Match`, the update applies only to that version (412 otherwise). Without it, the
/// update is conditional on the version just read, so of two concurrent updates the second
/// fails with 409 `conflict`.
pub async fn update(
    State(api): State<ApiState>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::IssuerWrite)?;
    let if_match = request.headers().clone();
    let (_, body) = read_json(request, api.limits.max_json_body_bytes).await?;
    let update = parse_issuer_update(&body)?;

    let current = load(&api, &caller).await?;
    check_if_match(&if_match, current.version)?;
    let updated = Issuer {
        name: update.name,
        url: update.url,
        email: update.email,
        description: update.description,
        updated_at: api.clock.now(),
        version: current.version + 1,
        ..current.clone()
    };
    api.store.update_issuer(&updated, current.version).await?;
    tracing::info!(issuer.id = %updated.id, client.id = %caller.client_id, "issuer profile updated");
    Ok(respond(&api, &updated))
}

async fn load(api: &ApiState, caller: &Caller) -> Result<Issuer, ApiError> {
    api.store
        .get_issuer(caller.issuer_id)
        .await?
        .ok_or_else(|| {
            // A client whose issuer is gone is a broken setup, not a client mistake.
            tracing::error!(issuer.id = %caller.issuer_id, client.id = %caller.client_id, "the caller's issuer does not exist");
            ApiError::not_found("issuer", &caller.issuer_id.to_string())
        })
}

fn respond(api: &ApiState, issuer: &Issuer) -> Response {
    let body = to_json(&IssuerView::new(issuer, &api.urls));
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(issuer.version));
    response
}
