//! The recipient's claim pages.
//!
//! | route | responses |
//! |---|---|
//! | `GET /claim/{token}` | 200 the award and the claim form; 200 the claimed badge once claimed; 404 unknown link; 410 `claim_expired` or `award_revoked` |
//! | `POST /claim/{token}` | 303 to `GET /claim/{token}` after claiming; 409 `claim_used`; 410 `claim_expired` or `award_revoked`; 404; 415 for another body type; 422 `invalid_field` with the form shown again |
//!
//! Only a POST claims, so mail scanners that follow links in emails cannot claim a badge. The
//! claim is one conditional write on the version read, so of two concurrent claims exactly one
//! succeeds. Pages are HTML; a client that sends `Accept: application/json` gets the JSON
//! error envelope with the same code. Every response carries `Cache-Control: no-store`,
//! `Referrer-Policy: no-referrer` and `X-Robots-Tag: noindex`, because the URL holds the token.

mod form;
pub mod lambda;
mod views;

use std::sync::Arc;

use accolade::crypto::{Pepper, identity_hash};
use accolade::domain::{Achievement, Award, AwardState, ClaimRecord, Issuer};
use accolade::http::{ApiError, Representation, negotiate, read_body, security_headers};
use accolade::openbadges::v2;
use accolade::pages::{NOINDEX, Page};
use accolade::ports::{Clock, Random, Store, StoreError};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

pub use crate::form::{ClaimChoice, ClaimForm, FieldError};
use crate::views::AwardView;

/// The largest claim form accepted: the fields are short, so this is generous.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// How many times a claim is tried again after its conditional write met another change
/// (such as a delivery status update) before the recipient is asked to try again.
const MAX_CONFLICT_ROUNDS: usize = 3;

/// Dependencies of the claim pages.
#[derive(Clone)]
pub struct ClaimBadge {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// The HMAC key of claim tokens; it must match the one send-claims uses.
    pub pepper: Pepper,
    pub urls: PublicUrls,
}

/// Builds the router of the claim pages under `/claim/`.
pub fn router(deps: ClaimBadge) -> Router {
    Router::new()
        .route("/claim/{token}", get(show).post(claim))
        .layer(map_response(private_page_headers))
        .layer(map_response(security_headers))
        .with_state(Arc::new(deps))
}

async fn private_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-robots-tag", HeaderValue::from_static(NOINDEX));
    response
}

type Deps = Arc<ClaimBadge>;

/// An error sent as a page, or as the JSON envelope to clients that prefer JSON.
struct Failure {
    error: ApiError,
    page: Page,
}

impl Failure {
    fn new(error: ApiError, page: Page) -> Self {
        Self { error, page }
    }

    fn into_response(self, headers: &HeaderMap) -> Response {
        if wants_json(headers) {
            self.error.into_response()
        } else {
            self.page.into_response(self.error.status)
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let page = if error.status.is_server_error() {
            views::problem(
                "Something went wrong",
                "The badge could not be loaded just now. Please try again in a few minutes.",
            )
        } else {
            views::problem("This request could not be handled", &error.message)
        };
        Self { error, page }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

/// Claim pages are HTML for browsers; only a client that prefers `application/json` gets JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    negotiate(headers) == Representation::Json
}

/// An award found by its claim token, with its issuer and achievement.
struct Found {
    award: Award,
    issuer: Issuer,
    achievement: Achievement,
}

impl Found {
    fn view<'a>(&'a self, urls: &'a PublicUrls) -> AwardView<'a> {
        AwardView {
            award: &self.award,
            issuer: &self.issuer,
            achievement: &self.achievement,
            urls,
        }
    }
}

/// Claim tokens are base64url (256 bits make 43 characters). Anything else is not looked up.
fn is_well_formed_token(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn link_not_found() -> Failure {
    Failure::new(
        ApiError::new(
            StatusCode::NOT_FOUND,
            "claim_not_found",
            "this claim link is not valid: check that the whole link was copied, use the newest email about the badge, or ask the issuer for a new link",
        ),
        views::not_found(),
    )
}

async fn find(deps: &ClaimBadge, token: &str) -> Result<Found, Failure> {
    if !is_well_formed_token(token) {
        return Err(link_not_found());
    }
    let hash = deps.pepper.claim_token_hash(token);
    let award = deps
        .store
        .find_award_by_claim_token(&hash)
        .await?
        .ok_or_else(link_not_found)?;
    let achievement = deps
        .store
        .get_achievement(award.achievement_id)
        .await?
        .ok_or_else(|| {
            ApiError::internal(
                "claim page",
                &format!(
                    "award {} refers to missing achievement {}",
                    award.id, award.achievement_id
                ),
            )
        })?;
    let issuer = deps
        .store
        .get_issuer(award.issuer_id)
        .await?
        .ok_or_else(|| {
            ApiError::internal(
                "claim page",
                &format!(
                    "award {} refers to missing issuer {}",
                    award.id, award.issuer_id
                ),
            )
        })?;
    Ok(Found {
        award,
        issuer,
        achievement,
    })
}

/// Returns the failure to send when the award cannot be claimed any more: revoked, claimed
/// or past the link's expiry.
fn unclaimable(deps: &ClaimBadge, found: &Found) -> Option<Failure> {
    let view = found.view(&deps.urls);
    let award = &found.award;
    match award.state {
        AwardState::Revoked => Some(Failure::new(
            ApiError::new(
                StatusCode::GONE,
                "award_revoked",
                format!(
                    "the issuer revoked this award; contact {} if this is a mistake",
                    found.issuer.email
                ),
            ),
            views::revoked(&view),
        )),
        AwardState::Claimed => Some(Failure::new(
            ApiError::conflict(
                "claim_used",
                "this claim link has been used already; the badge is at assertion_url",
            )
            .with_details(json!({ "assertion_url": deps.urls.assertion(award.id) })),
            views::already_claimed(&view),
        )),
        AwardState::Issued => {
            let expires_at = award.claim_token.as_ref()?.expires_at;
            (deps.clock.now() >= expires_at).then(|| {
                Failure::new(
                    ApiError::new(
                        StatusCode::GONE,
                        "claim_expired",
                        format!(
                            "this claim link expired at {expires_at}; ask the issuer for a new one at {}",
                            found.issuer.email
                        ),
                    )
                    .with_details(json!({
                        "expired_at": expires_at.to_rfc3339(),
                        "issuer_email": found.issuer.email.as_str(),
                    })),
                    views::expired(&view, expires_at),
                )
            })
        }
    }
}

async fn show(State(deps): State<Deps>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    match show_page(&deps, &token).await {
        Ok(page) => page.into_response(StatusCode::OK),
        Err(failure) => failure.into_response(&headers),
    }
}

/// `GET` never changes the award: it shows the form, the claimed badge, or why neither.
async fn show_page(deps: &ClaimBadge, token: &str) -> Result<Page, Failure> {
    let found = find(deps, token).await?;
    let view = found.view(&deps.urls);
    if found.award.state == AwardState::Claimed
        && let Some(claim) = &found.award.claim
    {
        return Ok(views::claimed(&view, claim.claimed_at));
    }
    if let Some(failure) = unclaimable(deps, &found) {
        return Err(failure);
    }
    Ok(views::claim_form(
        &view,
        &ClaimForm::prefilled(&found.award),
        &[],
    ))
}

async fn claim(State(deps): State<Deps>, Path(token): Path<String>, request: Request) -> Response {
    let headers = request.headers().clone();
    match claim_award(&deps, &token, request).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(&headers),
    }
}

async fn claim_award(
    deps: &ClaimBadge,
    token: &str,
    request: Request,
) -> Result<Response, Failure> {
    let found = find(deps, token).await?;
    if let Some(failure) = unclaimable(deps, &found) {
        return Err(failure);
    }

    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value.split(';').next().is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the claim form as Content-Type: application/x-www-form-urlencoded",
        )
        .into());
    }
    let body = read_body(request, &(), MAX_FORM_BYTES, "the claim form").await?;
    let form = ClaimForm::parse(&body)
        .map_err(|message| Failure::from(ApiError::bad_request("invalid_form", message)))?;

    let mut found = found;
    for round in 0..MAX_CONFLICT_ROUNDS {
        if round > 0 {
            found = find(deps, token).await?;
            if let Some(failure) = unclaimable(deps, &found) {
                return Err(failure);
            }
        }
        let choice = match form::validate(&found.award, &form) {
            Ok(choice) => choice,
            Err(errors) => return Err(invalid_form(deps, &found, &form, &errors)),
        };

        let award = &found.award;
        let salt = deps.random.salt();
        let record = ClaimRecord {
            claimed_at: deps.clock.now(),
            identity_hash: identity_hash(&choice.identity, &salt),
            identity: choice.identity,
            salt,
            display_name: choice.display_name,
            show_name: choice.show_name,
        };
        let mut claimed = award.next_version();
        claimed.assertion_json = Some(v2::to_json(&v2::hosted_assertion(
            award,
            &found.achievement,
            &record,
            &deps.urls,
        )));
        claimed.state = AwardState::Claimed;
        claimed.claim = Some(record);

        match deps.store.update_award(&claimed, award.version).await {
            Ok(()) => {
                tracing::info!(award.id = %award.id, achievement.id = %award.achievement_id, issuer.id = %award.issuer_id, "award claimed");
                return Ok(see_other(&deps.urls.claim(token)));
            }
            Err(StoreError::Conflict) => {
                tracing::debug!(award.id = %award.id, "award changed while it was being claimed; reading it again");
            }
            // The claim is one conditional write, so it was either stored whole or not at all.
            // After a lost response it may have been stored, and the link then shows the badge.
            Err(error) => {
                let mut api_error = ApiError::from(error);
                if api_error.status == StatusCode::INTERNAL_SERVER_ERROR {
                    api_error = ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        "the claim may not have been saved; GET the claim link to see whether the badge is claimed before sending the form again",
                    );
                }
                let page = views::problem(
                    "Your claim was not finished",
                    "Something went wrong while saving your claim. Please open your claim link again in a few minutes: it shows whether the badge is yours.",
                );
                return Err(Failure::new(api_error, page));
            }
        }
    }
    Err(ApiError::unavailable(
        "the badge is being changed right now; submit the form again in a moment",
    )
    .into())
}

fn invalid_form(
    deps: &ClaimBadge,
    found: &Found,
    form: &ClaimForm,
    errors: &[FieldError],
) -> Failure {
    let first = errors.first();
    let error = ApiError::invalid_field(
        first.map_or("form", |error| error.field),
        first.map_or_else(
            || "the form is not valid".to_owned(),
            |error| error.message.clone(),
        ),
    )
    .with_details(json!({
        "field": first.map_or("form", |error| error.field),
        "errors": errors
            .iter()
            .map(|error| json!({ "field": error.field, "message": error.message }))
            .collect::<Vec<_>>(),
    }));
    let page = views::claim_form(&found.view(&deps.urls), form, errors);
    Failure::new(error, page)
}

/// 303 See Other, so the browser follows with a GET and a reload does not post again.
fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        // Claim URLs are made of the base URL and a checked token, so this is unreachable.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
