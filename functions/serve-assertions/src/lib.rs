//! The public Open Badges 2.0 endpoints, badge pages and baked images. No authentication.
//!
//! | route | responses |
//! |---|---|
//! | `GET /issuers/{id}` | Issuer Profile |
//! | `GET /badges/{id}` | BadgeClass |
//! | `GET /assertions/{id}` | the frozen assertion; 404 before the claim; 410 with the reduced body after revocation |
//! | `GET /{issuers,badges,assertions}/{id}/image.png` and `.svg` | the image (assertions: the baked one, 404 until baked, 410 after revocation) |
//! | `GET /levels/{slug}` | the level described, the target of level alignments |
//!
//! Documents are JSON-LD (`application/ld+json`) unless the client accepts only
//! `application/json`, and an HTML page when `text/html` ranks above both JSON types
//! ([`accolade::http::negotiate`]). Every response carries `Vary: Accept` and
//! `Access-Control-Allow-Origin: *`; `HEAD` works wherever `GET` does. A valid object under a
//! non-canonical spelling (trailing slash, query string, upper-case id) is redirected with 301 to the
//! canonical URL, because verifiers compare a document's `id` with the URL it came from; an id
//! that is not a UUID gets 404.

mod canonical;
pub mod lambda;
mod views;

use std::sync::Arc;

use accolade::domain::{AchievementId, Award, AwardId, AwardState, IssuerId, Level};
use accolade::http::{ApiError, Representation, negotiate, security_headers};
use accolade::openbadges::v2;
use accolade::pages::Page;
use accolade::ports::{FileStore, Store};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::canonical::{ImageFormat, Parsed, Resource, parse_level, parse_resource};
use crate::views::BadgeView;

/// Dependencies of the public endpoints.
#[derive(Clone)]
pub struct ServeAssertions {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn FileStore>,
    pub urls: PublicUrls,
}

type Deps = Arc<ServeAssertions>;

/// Issuer Profiles, BadgeClasses and achievement images change rarely; a short cache keeps
/// fixes visible within minutes.
const CACHE_PUBLIC: &str = "public, max-age=300";
/// Assertions and their images must show a revocation at once, so caches revalidate.
const CACHE_REVALIDATE: &str = "no-cache";
/// Sandboxes an SVG opened on its own, so a script inside it cannot run on our origin.
const IMAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// Builds the router of the public routes.
pub fn router(deps: ServeAssertions) -> Router {
    Router::new()
        .route("/issuers/{*rest}", get(issuers).options(preflight))
        .route("/badges/{*rest}", get(badges).options(preflight))
        .route("/assertions/{*rest}", get(assertions).options(preflight))
        .route("/levels/{*rest}", get(levels).options(preflight))
        .layer(map_response(public_headers))
        .layer(map_response(security_headers))
        .with_state(Arc::new(deps))
}

async fn public_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_REVALIDATE),
        );
    }
    response
}

/// Responds to a CORS preflight. Simple GETs need none, but a page script that sets `Accept`
/// to a value outside the CORS safelist triggers one.
async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Accept"),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}

/// Sends an error as JSON or as a page, following the same negotiation as documents.
fn failure(representation: Representation, error: ApiError, page: Page) -> Response {
    match representation {
        Representation::Html => page.into_response(error.status),
        Representation::Json | Representation::JsonLd => error.into_response(),
    }
}

fn not_found(representation: Representation, what: &str, id: &str) -> Response {
    failure(
        representation,
        ApiError::not_found(what, id),
        views::not_found_page(what),
    )
}

fn internal(representation: Representation, error: ApiError) -> Response {
    let page = Page::new("Something went wrong")
        .noindex(true)
        .body(
            "<h1>Something went wrong</h1>\n<p>This page could not be loaded just now. Please try again in a few minutes.</p>\n"
                .to_owned(),
        );
    failure(representation, error, page)
}

/// Sends a JSON document with the content type the client requested.
fn document(representation: Representation, body: String, cache: &'static str) -> Response {
    let content_type = match representation {
        Representation::Json => "application/json",
        Representation::JsonLd | Representation::Html => "application/ld+json",
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

fn redirect(deps: &ServeAssertions, collection: &str, rest: &str) -> Response {
    let location = deps.urls.join(&format!("/{collection}/{rest}"));
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response(),
        // Canonical paths are made of UUIDs, slugs and fixed names, so this is unreachable.
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn issuers(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let resource = match parse_resource::<IssuerId>(&rest, uri.query().is_some()) {
        Parsed::Canonical(resource) => resource,
        Parsed::Redirect(canonical) => return redirect(&deps, "issuers", &canonical),
        Parsed::NotFound => return not_found(representation, "issuer", &rest),
    };
    let id = match resource {
        Resource::Document(id) | Resource::Image(id, _) => id,
    };
    let issuer = match deps.store.get_issuer(id).await {
        Ok(Some(issuer)) => issuer,
        Ok(None) => return not_found(representation, "issuer", &id.to_string()),
        Err(error) => return internal(representation, error.into()),
    };
    match resource {
        Resource::Document(_) => match representation {
            Representation::Html => {
                views::issuer_page(&issuer, &deps.urls).into_response(StatusCode::OK)
            }
            _ => document(
                representation,
                v2::to_json(&v2::issuer_profile(&issuer, &deps.urls)),
                CACHE_PUBLIC,
            ),
        },
        Resource::Image(_, format) => {
            let key = issuer
                .image
                .as_ref()
                .filter(|image| image.extension() == format.extension())
                .map(|image| image.key.0.clone());
            serve_file(
                &deps,
                representation,
                key,
                format,
                CACHE_PUBLIC,
                "issuer image",
            )
            .await
        }
    }
}

async fn badges(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let resource = match parse_resource::<AchievementId>(&rest, uri.query().is_some()) {
        Parsed::Canonical(resource) => resource,
        Parsed::Redirect(canonical) => return redirect(&deps, "badges", &canonical),
        Parsed::NotFound => return not_found(representation, "badge class", &rest),
    };
    let id = match resource {
        Resource::Document(id) | Resource::Image(id, _) => id,
    };
    let achievement = match deps.store.get_achievement(id).await {
        Ok(Some(achievement)) => achievement,
        Ok(None) => return not_found(representation, "badge class", &id.to_string()),
        Err(error) => return internal(representation, error.into()),
    };
    match resource {
        Resource::Document(_) => match representation {
            Representation::Html => match deps.store.get_issuer(achievement.issuer_id).await {
                Ok(Some(issuer)) => views::badge_class_page(&achievement, &issuer, &deps.urls)
                    .into_response(StatusCode::OK),
                Ok(None) => internal(
                    representation,
                    ApiError::internal(
                        "badge class page",
                        &format!(
                            "achievement {} refers to missing issuer {}",
                            achievement.id, achievement.issuer_id
                        ),
                    ),
                ),
                Err(error) => internal(representation, error.into()),
            },
            _ => document(
                representation,
                v2::to_json(&v2::badge_class(&achievement, &deps.urls)),
                CACHE_PUBLIC,
            ),
        },
        Resource::Image(_, format) => {
            let image = match format {
                ImageFormat::Png => achievement.images.png.as_ref(),
                ImageFormat::Svg => achievement.images.svg.as_ref(),
            };
            let key = image.map(|image| image.key.0.clone());
            serve_file(
                &deps,
                representation,
                key,
                format,
                CACHE_PUBLIC,
                "badge image",
            )
            .await
        }
    }
}

async fn assertions(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let resource = match parse_resource::<AwardId>(&rest, uri.query().is_some()) {
        Parsed::Canonical(resource) => resource,
        Parsed::Redirect(canonical) => return redirect(&deps, "assertions", &canonical),
        Parsed::NotFound => return not_found(representation, "assertion", &rest),
    };
    let id = match resource {
        Resource::Document(id) | Resource::Image(id, _) => id,
    };
    let award = match deps.store.get_award(id).await {
        Ok(award) => award,
        Err(error) => return internal(representation, error.into()),
    };
    // An award has a public assertion only once claimed. One revoked before its claim never
    // had one, so it stays 404 like any unknown id.
    let Some(award) =
        award.filter(|award| award.claim.is_some() && award.state != AwardState::Issued)
    else {
        return not_found(representation, "assertion", &id.to_string());
    };

    match resource {
        Resource::Document(_) => assertion_document(&deps, representation, &award).await,
        Resource::Image(_, format) => {
            if award.state == AwardState::Revoked {
                return revoked_image(representation, &award, &deps.urls);
            }
            let key = format!("assertions/{}/image.{}", award.id, format.extension());
            let mut response = serve_file(
                &deps,
                representation,
                Some(key),
                format,
                CACHE_REVALIDATE,
                "baked badge image",
            )
            .await;
            if response.status() == StatusCode::OK
                && let Ok(value) = HeaderValue::from_str(&format!(
                    "inline; filename=\"badge-{}.{}\"",
                    award.id,
                    format.extension()
                ))
            {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    }
}

async fn assertion_document(
    deps: &ServeAssertions,
    representation: Representation,
    award: &Award,
) -> Response {
    if representation == Representation::Html {
        return badge_page(deps, award).await;
    }
    if award.state == AwardState::Revoked {
        let Some(body) = v2::revoked_assertion(award, &deps.urls) else {
            return internal(
                representation,
                ApiError::internal(
                    "assertion",
                    &format!("revoked award {} has no revocation record", award.id),
                ),
            );
        };
        let mut response = document(representation, v2::to_json(&body), CACHE_REVALIDATE);
        *response.status_mut() = StatusCode::GONE;
        return response;
    }
    match &award.assertion_json {
        // The frozen bytes, so every fetch and the baked copies are identical.
        Some(json) => document(representation, json.clone(), CACHE_REVALIDATE),
        None => internal(
            representation,
            ApiError::internal(
                "assertion",
                &format!("claimed award {} has no frozen assertion", award.id),
            ),
        ),
    }
}

async fn badge_page(deps: &ServeAssertions, award: &Award) -> Response {
    let representation = Representation::Html;
    let achievement = match deps.store.get_achievement(award.achievement_id).await {
        Ok(Some(achievement)) => achievement,
        Ok(None) => {
            return internal(
                representation,
                ApiError::internal(
                    "badge page",
                    &format!(
                        "award {} refers to missing achievement {}",
                        award.id, award.achievement_id
                    ),
                ),
            );
        }
        Err(error) => return internal(representation, error.into()),
    };
    let issuer = match deps.store.get_issuer(award.issuer_id).await {
        Ok(Some(issuer)) => issuer,
        Ok(None) => {
            return internal(
                representation,
                ApiError::internal(
                    "badge page",
                    &format!(
                        "award {} refers to missing issuer {}",
                        award.id, award.issuer_id
                    ),
                ),
            );
        }
        Err(error) => return internal(representation, error.into()),
    };
    let view = BadgeView {
        award,
        issuer: &issuer,
        achievement: &achievement,
        urls: &deps.urls,
    };
    if award.state == AwardState::Revoked {
        views::revoked_page(&view).into_response(StatusCode::GONE)
    } else {
        views::badge_page(&view).into_response(StatusCode::OK)
    }
}

fn revoked_image(representation: Representation, award: &Award, urls: &PublicUrls) -> Response {
    let error = ApiError::new(
        StatusCode::GONE,
        "assertion_revoked",
        format!(
            "the badge {} was revoked, so its image is no longer served",
            urls.assertion(award.id)
        ),
    )
    .with_details(json!({ "assertion_url": urls.assertion(award.id) }));
    let page = Page::new("Badge revoked").noindex(true).body(format!(
        "<h1>Badge revoked</h1>\n<p>This badge was revoked, so its image is no longer served. See <a href=\"{url}\">{url}</a>.</p>\n",
        url = accolade::pages::text(&urls.assertion(award.id))
    ));
    failure(representation, error, page)
}

/// Serves a file from the file store, or 404 when there is none (yet).
async fn serve_file(
    deps: &ServeAssertions,
    representation: Representation,
    key: Option<String>,
    format: ImageFormat,
    cache: &'static str,
    what: &str,
) -> Response {
    let missing = || {
        failure(
            representation,
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "there is no {what} in {} format here; a baked image appears shortly after the badge is claimed",
                    format.extension().to_uppercase()
                ),
            ),
            views::not_found_page(what),
        )
    };
    let Some(key) = key else {
        return missing();
    };
    let file = match deps.files.get(&key).await {
        Ok(Some(file)) => file,
        Ok(None) => return missing(),
        Err(error) => return internal(representation, error.into()),
    };
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static(format.media_type()));
    let mut response =
        (StatusCode::OK, [(header::CACHE_CONTROL, cache)], file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    if format == ImageFormat::Svg {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(IMAGE_CSP),
        );
    }
    response
}

async fn levels(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let level: Level = match parse_level(&rest, uri.query().is_some()) {
        Parsed::Canonical(level) => level,
        Parsed::Redirect(canonical) => return redirect(&deps, "levels", &canonical),
        Parsed::NotFound => return not_found(representation, "level", &rest),
    };
    match representation {
        Representation::Html => views::level_page(level, &deps.urls).into_response(StatusCode::OK),
        _ => {
            let body = json!({
                "id": deps.urls.level_page(level),
                "name": level.title(),
                "description": level.description(),
                "framework": v2::LEVEL_FRAMEWORK,
            });
            let mut response = document(representation, body.to_string(), CACHE_PUBLIC);
            // Not a JSON-LD document: it has no context.
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
    }
}
