//! `POST /v1/awards/{id}/revoke` and `POST /v1/awards/{id}/resend`: the partner's changes to
//! an award. Both are conditional writes on the version just read (and on `If-Match` when it
//! is sent), and both need an `Idempotency-Key`.

use accolade::crypto::request_fingerprint;
use accolade::domain::{
    Award, AwardId, AwardState, DeliveryStatus, EmailAddress, Revocation, Scope, Timestamp,
};
use accolade::http::ApiError;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::ApiState;
use crate::auth::Caller;
use crate::idempotency::{self, Reply};
use crate::routes::awards::{award_id, find_owned_award};
use crate::routes::{check_if_match, read_json, read_optional_json};
use crate::wire::{AwardView, parse_resend, parse_revocation, to_json};

/// Revokes an issued or claimed award with a reason (at most 1,000 characters, shown to
/// verifiers); 200 with the award, 409 `already_revoked` when it is revoked already.
pub async fn revoke(
    State(api): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::AwardsWrite)?;
    let id = award_id(id)?;
    let key = idempotency::required_key(request.headers())?;
    let headers = request.headers().clone();
    let path = request.uri().path().to_owned();
    let (raw, body) = read_json(request, api.limits.max_json_body_bytes).await?;
    let fingerprint = request_fingerprint("POST", &path, &raw);

    let work = async {
        let reason = parse_revocation(&body)?;
        let award = find_owned_award(&api, caller.issuer_id, id).await?;
        check_if_match(&headers, award.version)?;
        if award.state == AwardState::Revoked {
            let revoked_at = award
                .revocation
                .as_ref()
                .map(|revocation| revocation.revoked_at);
            return Err(ApiError::conflict(
                "already_revoked",
                format!("award {id} is already revoked; a revocation cannot be changed"),
            )
            .with_details(json!({ "revoked_at": revoked_at })));
        }

        let mut revoked = award.next_version();
        revoked.state = AwardState::Revoked;
        revoked.revocation = Some(Revocation {
            revoked_at: api.clock.now(),
            reason,
            previous_state: award.state,
        });
        api.store.update_award(&revoked, award.version).await?;
        tracing::info!(
            award.id = %id,
            issuer.id = %caller.issuer_id,
            client.id = %caller.client_id,
            previous_state = award.state.as_str(),
            "award revoked"
        );
        Ok(Reply::new(
            StatusCode::OK,
            to_json(&AwardView::new(&revoked, &api.urls)),
        ))
    };
    Ok(idempotency::run(&api, &caller.client_id, Some(key), &fingerprint, work).await)
}

/// Asks for the claim email again, optionally to a corrected `delivery_email`; 202 with the
/// award. send-claims then mints a new claim token, which invalidates the previous link.
///
/// Only an issued, unexpired award can be resent. A resend to an address whose latest claim
/// email bounced or drew a complaint gets 409 `undeliverable_address`, but a corrected
/// `delivery_email` is accepted. Limits per award: one claim email per
/// `resend_interval_seconds` (60 by default, counted from the previous request or the award's
/// creation; 429 `resend_rate_limited` with `Retry-After`) and `max_resends` resends in all
/// (10 by default; 409 `resend_limit_reached`).
pub async fn resend(
    State(api): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::AwardsWrite)?;
    let id = award_id(id)?;
    let key = idempotency::required_key(request.headers())?;
    let headers = request.headers().clone();
    let path = request.uri().path().to_owned();
    let (raw, body) = read_optional_json(request, api.limits.max_json_body_bytes).await?;
    let fingerprint = request_fingerprint("POST", &path, &raw);

    let work = async {
        let delivery_email = parse_resend(&body)?;
        let award = find_owned_award(&api, caller.issuer_id, id).await?;
        check_if_match(&headers, award.version)?;
        let now = api.clock.now();
        match award.state {
            AwardState::Issued => {}
            AwardState::Claimed => {
                return Err(ApiError::conflict(
                    "already_claimed",
                    format!("award {id} was already claimed, so there is no claim email to resend"),
                ));
            }
            AwardState::Revoked => {
                return Err(ApiError::conflict(
                    "revoked",
                    format!("award {id} is revoked, so its claim email cannot be resent"),
                ));
            }
        }
        if let Some(expires_at) = award.expires_at.filter(|expires_at| *expires_at <= now) {
            return Err(ApiError::conflict(
                "award_expired",
                format!(
                    "award {id} expired at {expires_at}, so a claim link would not work; issue a new award with \"reaward\": true"
                ),
            ));
        }
        if let Some(rejection) = undeliverable_address(id, &award, delivery_email.as_ref()) {
            tracing::info!(
                award.id = %id,
                client.id = %caller.client_id,
                delivery = award.delivery.as_str(),
                "claim email resend rejected: the latest email to the address bounced or drew a complaint"
            );
            return Err(rejection);
        }

        let resends = award.sends_requested.saturating_sub(1);
        if resends >= api.limits.max_resends {
            return Err(ApiError::conflict(
                "resend_limit_reached",
                format!(
                    "award {id} has been resent {resends} times, the maximum; check the address with the recipient and issue a new award with \"reaward\": true"
                ),
            )
            .with_details(json!({ "max_resends": api.limits.max_resends })));
        }
        let next_allowed = award
            .last_send_requested_at
            .plus_seconds(api.limits.resend_interval_seconds);
        if now < next_allowed {
            return Err(rate_limited(
                now,
                next_allowed,
                api.limits.resend_interval_seconds,
            ));
        }

        let mut resent = award.next_version();
        resent.sends_requested = award.sends_requested.saturating_add(1);
        resent.delivery = DeliveryStatus::Pending;
        resent.message_id = None;
        resent.last_send_requested_at = now;
        let new_address = delivery_email.is_some();
        if let Some(address) = delivery_email {
            // NOTE: the deduplication key keeps the address the award was created with.
            resent.recipient.delivery_email = Some(address);
        }
        api.store.update_award(&resent, award.version).await?;
        tracing::info!(
            award.id = %id,
            issuer.id = %caller.issuer_id,
            client.id = %caller.client_id,
            emails_requested = resent.sends_requested,
            new_address,
            "claim email resend requested"
        );
        Ok(Reply::new(
            StatusCode::ACCEPTED,
            to_json(&AwardView::new(&resent, &api.urls)),
        ))
    };
    Ok(idempotency::run(&api, &caller.client_id, Some(key), &fingerprint, work).await)
}

/// Rejects a resend to the address whose latest claim email bounced permanently, drew a
/// complaint, or was suppressed because of an earlier bounce or complaint. send-claims would
/// not send it, so the partner learns that now rather than from a later `suppressed` status.
/// A resend with a `delivery_email` other than that address goes ahead.
fn undeliverable_address(
    id: AwardId,
    award: &Award,
    delivery_email: Option<&EmailAddress>,
) -> Option<ApiError> {
    let what_happened = match award.delivery {
        DeliveryStatus::Bounced => "bounced permanently",
        DeliveryStatus::Complained => "was reported as spam by its recipient",
        DeliveryStatus::Suppressed => {
            "was not sent, because an earlier email to that address bounced or was reported as spam"
        }
        _ => return None,
    };
    let corrected =
        delivery_email.is_some_and(|address| Some(address) != award.recipient.send_to());
    if corrected {
        return None;
    }
    Some(
        ApiError::conflict(
            "undeliverable_address",
            format!(
                "the latest claim email of award {id} {what_happened}, so no more claim emails go to that address; resend with a corrected \"delivery_email\""
            ),
        )
        .with_details(json!({
            "field": "delivery_email",
            "delivery_status": award.delivery.as_str(),
        })),
    )
}

fn rate_limited(now: Timestamp, next_allowed: Timestamp, interval: i64) -> ApiError {
    let wait = (next_allowed.unix_seconds() - now.unix_seconds()).max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "resend_rate_limited",
        format!(
            "a claim email for this award was requested less than {interval} seconds ago; retry after {wait} seconds"
        ),
    )
    .with_details(json!({ "retry_after_seconds": wait }))
    .with_header(
        header::RETRY_AFTER,
        HeaderValue::from_str(&wait.to_string()).unwrap_or(HeaderValue::from_static("60")),
    )
}
