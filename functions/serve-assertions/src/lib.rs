//! The public Open Badges endpoints, badge pages and baked images. No authentication.
//!
//! | route | responses |
//! |---|---|
//! | `GET /issuers/{id}` | Issuer Profile, linking its keys (`publicKey`) and `revocationList` |
//! | `GET /badges/{id}` | BadgeClass |
//! | `GET /assertions/{id}` | the frozen assertion; 404 before the claim; 410 with the reduced body after revocation |
//! | `GET /{issuers,badges,assertions}/{id}/image.png` and `.svg` | the image (assertions: the baked one, 404 until baked, 410 after revocation) |
//! | `GET /assertions/{id}/signed.jws` | the signed Open Badges 2.0 assertion, a compact JWS (`text/plain`); 404 until minted |
//! | `GET /assertions/{id}/signed.png` and `.svg` | the signed assertion baked into the image; 410 after revocation |
//! | `GET /credentials/{id}` | the Open Badges 3.0 credential JSON (`application/vc+ld+json`), or the badge page for HTML; 404 until minted |
//! | `GET /credentials/{id}.json` | the credential JSON whatever `Accept` says, for download links |
//! | `GET /credentials/{id}.jwt` | the VC-JWT, a compact JWS (`text/plain`) |
//! | `GET /credentials/{id}/image.png` and `.svg` | the VC-JWT baked into the image; 410 after revocation |
//! | `GET /issuers/{id}/revocations` | the 1EdTech revocation list of the issuer's credentials (`application/json`) |
//! | `GET /issuers/{id}/revocations/v2` | the Open Badges 2.0 `RevocationList` of its signed assertions |
//! | `GET /issuers/{id}/keys/{key-id}` | the Open Badges 2.0 `CryptographicKey` of one of its keys |
//! | `GET /keys/{key-id}` | one key as a bare JWK (`application/jwk+json`): the target of a VC-JWT `kid` |
//! | `GET /.well-known/jwks.json` | every issuer's keys as a JWK Set (`application/jwk-set+json`) |
//! | `GET /levels/{slug}` | the level described, the target of level alignments |
//!
//! After revocation the credential JSON, the VC-JWT and the signed assertion stay fetchable
//! and byte-identical: they are signed documents that a verifier checks against the
//! revocation lists, which show the revocation at once. Only the baked images stop being
//! served (410), so a revoked badge is never offered as a live image. The frozen documents
//! are read from the file store, where bake-images writes them after the claim.
//!
//! Documents are JSON-LD (`application/ld+json`) unless the client accepts only
//! `application/json`, and an HTML page when `text/html` ranks above both JSON types
//! ([`accolade::http::negotiate`]). Every response carries `Vary: Accept` and
//! `Access-Control-Allow-Origin: *`; `HEAD` works wherever `GET` does. A valid object under a
//! non-canonical spelling (trailing slash, query string, upper-case id) is redirected with 301 to the
//! canonical URL, because verifiers compare a document's `id` with the URL it came from; an id
//! that is not a UUID gets 404.

mod canonical;
mod credentials;
mod keys;
pub mod lambda;
mod views;

use std::sync::Arc;

use accolade::domain::{AchievementId, Award, AwardId, AwardState, IssuerId, Level};
use accolade::http::{ApiError, Representation, negotiate, security_headers};
use accolade::openbadges::{revocation, signed, v2};
use accolade::pages::Page;
use accolade::ports::{FileStore, PublicKeys, Store};
use accolade::urls::PublicUrls;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::canonical::{
    AssertionPath, BadgePath, ImageFormat, IssuerPath, Parsed, parse_level, parse_path,
};
use crate::views::BadgeView;

/// Dependencies of the public endpoints.
#[derive(Clone)]
pub struct ServeAssertions {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn FileStore>,
    /// The public halves of the issuers' signing keys.
    pub keys: Arc<dyn PublicKeys>,
    pub urls: PublicUrls,
}

type Deps = Arc<ServeAssertions>;

/// BadgeClasses, keys and achievement images change rarely; a short cache keeps fixes
/// visible within minutes.
const CACHE_PUBLIC: &str = "public, max-age=300";
/// Assertions, credentials, revocation lists, Issuer Profiles (whose `publicKey` list grows
/// on rotation) and baked images must show a change at once, so caches revalidate.
const CACHE_REVALIDATE: &str = "no-cache";
/// Sandboxes an SVG opened on its own, so a script inside it cannot run on our origin.
const IMAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
/// The media type of compact JWS files: the VC-JWT and the signed assertion.
const JWS_MEDIA_TYPE: &str = "text/plain; charset=utf-8";

/// Builds the router of the public routes.
pub fn router(deps: ServeAssertions) -> Router {
    Router::new()
        .route("/issuers/{*rest}", get(issuers).options(preflight))
        .route("/badges/{*rest}", get(badges).options(preflight))
        .route("/assertions/{*rest}", get(assertions).options(preflight))
        .route(
            "/credentials/{*rest}",
            get(credentials::credentials).options(preflight),
        )
        .route("/keys/{*rest}", get(keys::key).options(preflight))
        .route(
            accolade::keys::JWKS_PATH,
            get(keys::jwks).options(preflight),
        )
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

/// Documents without an HTML page (keys, revocation lists) send JSON-LD to browsers too.
fn json_only(representation: Representation) -> Representation {
    match representation {
        Representation::Html => Representation::JsonLd,
        other => other,
    }
}

/// Sends a body with a fixed content type, whatever `Accept` says.
fn typed_body(
    content_type: &'static str,
    body: impl Into<axum::body::Body>,
    cache: &'static str,
) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body.into(),
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

/// Marks a served file as one to save under `file_name`.
fn with_file_name(mut response: Response, file_name: &str) -> Response {
    if response.status() == StatusCode::OK
        && let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\""))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn issuers(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let (id, path) = match parse_path::<IssuerId, IssuerPath>(&rest, uri.query().is_some()) {
        Parsed::Canonical(parsed) => parsed,
        Parsed::Redirect(canonical) => return redirect(&deps, "issuers", &canonical),
        Parsed::NotFound => return not_found(representation, "issuer", &rest),
    };
    let issuer = match deps.store.get_issuer(id).await {
        Ok(Some(issuer)) => issuer,
        Ok(None) => return not_found(representation, "issuer", &id.to_string()),
        Err(error) => return internal(representation, error.into()),
    };
    match path {
        IssuerPath::Profile => match representation {
            Representation::Html => {
                views::issuer_page(&issuer, &deps.urls).into_response(StatusCode::OK)
            }
            _ => match deps.keys.list_issuer_public_keys(issuer.id).await {
                Ok(keys) => document(
                    representation,
                    v2::to_json(&v2::issuer_profile(&issuer, &deps.urls, &keys)),
                    CACHE_REVALIDATE,
                ),
                Err(error) => {
                    internal(representation, ApiError::internal("issuer profile", &error))
                }
            },
        },
        IssuerPath::Image(format) => {
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
        IssuerPath::Key(key_id) => {
            keys::cryptographic_key_document(&deps, representation, issuer.id, &key_id).await
        }
        IssuerPath::RevocationList | IssuerPath::AssertionRevocationList => {
            let revoked = match deps.store.list_revoked_awards(issuer.id).await {
                Ok(revoked) => revoked,
                Err(error) => return internal(representation, error.into()),
            };
            if path == IssuerPath::RevocationList {
                let list = revocation::credential_revocation_list(issuer.id, &revoked, &deps.urls);
                typed_body("application/json", v2::to_json(&list), CACHE_REVALIDATE)
            } else {
                let list = revocation::assertion_revocation_list(issuer.id, &revoked, &deps.urls);
                document(
                    json_only(representation),
                    v2::to_json(&list),
                    CACHE_REVALIDATE,
                )
            }
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
    let (id, path) = match parse_path::<AchievementId, BadgePath>(&rest, uri.query().is_some()) {
        Parsed::Canonical(parsed) => parsed,
        Parsed::Redirect(canonical) => return redirect(&deps, "badges", &canonical),
        Parsed::NotFound => return not_found(representation, "badge class", &rest),
    };
    let achievement = match deps.store.get_achievement(id).await {
        Ok(Some(achievement)) => achievement,
        Ok(None) => return not_found(representation, "badge class", &id.to_string()),
        Err(error) => return internal(representation, error.into()),
    };
    match path {
        BadgePath::Document => match representation {
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
        BadgePath::Image(format) => {
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

/// Reads an award that has public documents: claimed, or revoked after its claim. One
/// revoked before its claim never had any, so it is 404 like an unknown id.
async fn public_award(
    deps: &ServeAssertions,
    representation: Representation,
    id: AwardId,
    what: &str,
) -> Result<Award, Response> {
    match deps.store.get_award(id).await {
        Ok(award) => award
            .filter(|award| award.claim.is_some() && award.state != AwardState::Issued)
            .ok_or_else(|| not_found(representation, what, &id.to_string())),
        Err(error) => Err(internal(representation, error.into())),
    }
}

async fn assertions(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let (id, path) = match parse_path::<AwardId, AssertionPath>(&rest, uri.query().is_some()) {
        Parsed::Canonical(parsed) => parsed,
        Parsed::Redirect(canonical) => return redirect(&deps, "assertions", &canonical),
        Parsed::NotFound => return not_found(representation, "assertion", &rest),
    };
    let award = match public_award(&deps, representation, id, "assertion").await {
        Ok(award) => award,
        Err(response) => return response,
    };

    match path {
        AssertionPath::Document => assertion_document(&deps, representation, &award).await,
        AssertionPath::Image(format) => {
            baked_image(
                &deps,
                representation,
                &award,
                format!("assertions/{}/image.{}", award.id, format.extension()),
                format,
                &format!("badge-{}.{}", award.id, format.extension()),
            )
            .await
        }
        AssertionPath::SignedImage(format) => {
            baked_image(
                &deps,
                representation,
                &award,
                signed::signed_image_key(award.id, format.extension()),
                format,
                &format!("badge-{}-signed.{}", award.id, format.extension()),
            )
            .await
        }
        AssertionPath::SignedJws => {
            frozen_file(
                &deps,
                representation,
                signed::signed_assertion_key(award.id),
                JWS_MEDIA_TYPE,
                "signed assertion",
                &award,
            )
            .await
        }
    }
}

/// Serves a baked image of a public award: 410 after revocation, 404 until baked.
async fn baked_image(
    deps: &ServeAssertions,
    representation: Representation,
    award: &Award,
    key: String,
    format: ImageFormat,
    file_name: &str,
) -> Response {
    if award.state == AwardState::Revoked {
        return revoked_image(representation, award, &deps.urls);
    }
    let response = serve_file(
        deps,
        representation,
        Some(key),
        format,
        CACHE_REVALIDATE,
        "baked badge image",
    )
    .await;
    with_file_name(response, file_name)
}

/// Serves a document frozen in the file store (a JWS or a credential JSON) with a fixed
/// content type; 404 until bake-images has minted it.
async fn frozen_file(
    deps: &ServeAssertions,
    representation: Representation,
    key: String,
    content_type: &'static str,
    what: &str,
    award: &Award,
) -> Response {
    match deps.files.get(&key).await {
        Ok(Some(file)) => typed_body(content_type, file.bytes, CACHE_REVALIDATE),
        Ok(None) => failure(
            representation,
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "the {what} of award {} is not ready; it is made shortly after the badge is claimed",
                    award.id
                ),
            ),
            views::not_found_page(what),
        ),
        Err(error) => internal(representation, error.into()),
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
