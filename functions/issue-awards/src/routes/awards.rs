//! `/v1/awards`: create (one or a batch), read and list awards.
//!
//! Creating an award only writes it to the store, together with its deduplication record in
//! one transaction. The claim email is sent later by send-claims, from the store's change log,
//! so a request never waits for the mail service.

use std::collections::HashMap;

use accolade::crypto::request_fingerprint;
use accolade::domain::{
    AchievementId, Award, AwardId, AwardState, DeliveryStatus, IssuerId, Scope, dedup_key,
};
use accolade::http::ApiError;
use accolade::ports::AwardFilter;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::idempotency::{self, Reply};
use crate::routes::achievements::find_owned;
use crate::routes::{etag, invalid_query, page_request, param, path_id, query_params, read_json};
use crate::wire::{AwardView, PageView, parse_batch, parse_new_award, parse_state, to_json};
use crate::{ApiState, PartnerApi};

/// Creates one award: 201 with the award and its `Location`, 409 `duplicate_award` naming the
/// existing award unless `"reaward": true`.
pub async fn create(
    State(api): State<ApiState>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::AwardsWrite)?;
    let key = idempotency::required_key(request.headers())?;
    let path = request.uri().path().to_owned();
    let (raw, body) = read_json(request, api.limits.max_json_body_bytes).await?;
    let fingerprint = request_fingerprint("POST", &path, &raw);

    let work = async {
        let mut achievements = OwnedAchievements::default();
        let award = create_one(&api, &caller, &body, &mut achievements).await?;
        let view = to_json(&AwardView::new(&award, &api.urls));
        Ok(Reply::new(StatusCode::CREATED, view).with_location(award_location(award.id)))
    };
    Ok(idempotency::run(&api, &caller.client_id, Some(key), &fingerprint, work).await)
}

/// Creates up to `max_batch_items` awards, each in its own store transaction.
///
/// Returns 200 whenever the batch itself was readable, with one result per item in input
/// order: `{"index", "status", "award"}` for a created award and `{"index", "status",
/// "error"}` otherwise, where `status` is what the item alone would have got from
/// `POST /v1/awards`. The whole response is stored under the `Idempotency-Key`, including
/// items that failed with a 5xx status; send those again in a new batch with a new key.
pub async fn create_batch(
    State(api): State<ApiState>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::AwardsWrite)?;
    let key = idempotency::required_key(request.headers())?;
    let path = request.uri().path().to_owned();
    let (raw, body) = read_json(request, api.limits.max_json_body_bytes).await?;
    // A batch that cannot be read at all is rejected before the key is taken, so the client
    // can fix it and send it again with the same key.
    let items = parse_batch(&body, api.limits.max_batch_items)?;
    let fingerprint = request_fingerprint("POST", &path, &raw);

    let work = async {
        let mut achievements = OwnedAchievements::default();
        let mut results = Vec::with_capacity(items.len());
        let mut created = 0usize;
        for (index, item) in items.iter().enumerate() {
            let result = match create_one(&api, &caller, item, &mut achievements).await {
                Ok(award) => {
                    created += 1;
                    json!({
                        "index": index,
                        "status": StatusCode::CREATED.as_u16(),
                        "award": to_json(&AwardView::new(&award, &api.urls)),
                    })
                }
                Err(error) => json!({
                    "index": index,
                    "status": error.status.as_u16(),
                    "error": {
                        "code": error.code,
                        "message": error.message,
                        "details": error.details,
                    },
                }),
            };
            results.push(result);
        }
        tracing::info!(
            issuer.id = %caller.issuer_id,
            client.id = %caller.client_id,
            items = items.len(),
            created,
            "award batch processed"
        );
        Ok(Reply::new(StatusCode::OK, json!({ "items": results })))
    };
    Ok(idempotency::run(&api, &caller.client_id, Some(key), &fingerprint, work).await)
}

/// Whether each achievement named in one request belongs to the caller, so a batch of 500
/// awards of one achievement reads it once.
#[derive(Default)]
struct OwnedAchievements(HashMap<AchievementId, bool>);

impl OwnedAchievements {
    async fn check(
        &mut self,
        api: &PartnerApi,
        issuer: IssuerId,
        id: AchievementId,
    ) -> Result<(), ApiError> {
        let owned = match self.0.get(&id) {
            Some(owned) => *owned,
            None => {
                let owned = match find_owned(api, issuer, id).await {
                    Ok(_) => true,
                    Err(error) if error.status == StatusCode::NOT_FOUND => false,
                    Err(error) => return Err(error),
                };
                self.0.insert(id, owned);
                owned
            }
        };
        if owned {
            Ok(())
        } else {
            Err(ApiError::not_found("achievement", &id.to_string())
                .with_details(json!({ "field": "achievement_id" })))
        }
    }
}

/// Validates one award body and stores the award.
async fn create_one(
    api: &PartnerApi,
    caller: &Caller,
    body: &Value,
    achievements: &mut OwnedAchievements,
) -> Result<Award, ApiError> {
    let now = api.clock.now();
    let new = parse_new_award(body, now)?;
    achievements
        .check(api, caller.issuer_id, new.achievement_id)
        .await?;

    let dedup =
        (!new.reaward).then(|| dedup_key(caller.issuer_id, new.achievement_id, &new.recipient));
    let award = Award {
        id: AwardId::from_uuid(api.random.uuid()),
        issuer_id: caller.issuer_id,
        achievement_id: new.achievement_id,
        recipient: new.recipient,
        narrative: new.narrative,
        evidence: new.evidence,
        issued_on: now,
        expires_at: new.expires_at,
        state: AwardState::Issued,
        delivery: DeliveryStatus::Pending,
        message_id: None,
        sends_requested: 1,
        sends_done: 0,
        last_send_requested_at: now,
        claim_token: None,
        claim: None,
        revocation: None,
        assertion_json: None,
        dedup_key: dedup,
        created_by: caller.client_id.clone(),
        version: 1,
    };
    api.store.create_award(&award).await?;
    tracing::info!(
        award.id = %award.id,
        achievement.id = %award.achievement_id,
        issuer.id = %caller.issuer_id,
        client.id = %caller.client_id,
        reaward = new.reaward,
        "award created"
    );
    Ok(award)
}

/// Lists the caller's awards, oldest first, optionally of one achievement or in one status.
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    uri: Uri,
) -> Result<axum::Json<Value>, ApiError> {
    caller.require(Scope::AwardsRead)?;
    let pairs = query_params(
        uri.query(),
        &["achievement_id", "status", "limit", "cursor"],
    )?;
    let achievement_id = match param(&pairs, "achievement_id") {
        None => None,
        Some(raw) => Some(raw.parse::<AchievementId>().map_err(|error| {
            invalid_query("achievement_id", format!("achievement_id: {error}"))
        })?),
    };
    let state = match param(&pairs, "status") {
        None => None,
        Some(raw) => Some(parse_state(raw).ok_or_else(|| {
            invalid_query(
                "status",
                format!(
                    "status {:?} is invalid; send issued, claimed or revoked",
                    raw.chars().take(30).collect::<String>()
                ),
            )
        })?),
    };
    let page = page_request(&pairs, &api.limits)?;

    let filter = AwardFilter {
        achievement_id,
        state,
    };
    let page = api
        .store
        .list_awards(caller.issuer_id, &filter, &page)
        .await?;
    let view = PageView {
        items: page
            .items
            .iter()
            .map(|award| AwardView::new(award, &api.urls))
            .collect(),
        next_cursor: page.next_cursor,
    };
    Ok(axum::Json(to_json(&view)))
}

/// Returns one of the caller's awards with its version as the `ETag`.
pub async fn show(
    State(api): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::AwardsRead)?;
    let id = award_id(id)?;
    let award = find_owned_award(&api, caller.issuer_id, id).await?;

    let mut response = axum::Json(to_json(&AwardView::new(&award, &api.urls))).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(award.version));
    Ok(response)
}

/// Parses the award id of the path; 404 when it is not a UUID.
pub fn award_id(id: Result<Path<String>, PathRejection>) -> Result<AwardId, ApiError> {
    let raw = id.map(|Path(id)| id).unwrap_or_default();
    path_id(&raw, "award")
}

/// Loads an award of `issuer`; 404 when it is missing or belongs to another issuer.
pub async fn find_owned_award(
    api: &PartnerApi,
    issuer: IssuerId,
    id: AwardId,
) -> Result<Award, ApiError> {
    match api.store.get_award(id).await? {
        Some(award) if award.issuer_id == issuer => Ok(award),
        _ => Err(ApiError::not_found("award", &id.to_string())),
    }
}

pub fn award_location(id: AwardId) -> String {
    format!("/v1/awards/{id}")
}
