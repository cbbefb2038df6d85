//! A [`Resolver`] that serves this deployment's own public documents from the store, the
//! file store and the public keys, and refuses every other URL with
//! `external_fetch_disabled`. It is what `POST /v1/verify` uses, so the endpoint never
//! sends a request anywhere: it cannot be used to reach other hosts or the internal network.
//!
//! Each document is rendered by the same functions that the public endpoints
//! (serve-assertions) serve, with the same status: an unclaimed award's assertion is 404, a
//! revoked one 410 with the reduced body, and so on. Only canonical URLs are answered; any
//! other spelling (a query string, a trailing slash) is 404.

use std::sync::Arc;

use async_trait::async_trait;

use super::resolve::{DocumentKind, FetchError, Fetched, Resolver};
use crate::domain::{AchievementId, Award, AwardId, AwardState, IssuerId};
use crate::keys::{JWK_MEDIA_TYPE, JWK_SET_MEDIA_TYPE, JWKS_PATH, KeyId, jwk_set};
use crate::openbadges::{revocation, signed, v2, v3};
use crate::ports::{FileStore, PublicKeys, Store};
use crate::urls::PublicUrls;

const JSON_LD: &str = "application/ld+json";

/// Resolves this deployment's public URLs without any network request.
#[derive(Clone)]
pub struct StoreResolver {
    store: Arc<dyn Store>,
    files: Arc<dyn FileStore>,
    keys: Arc<dyn PublicKeys>,
    urls: PublicUrls,
}

impl StoreResolver {
    pub fn new(
        store: Arc<dyn Store>,
        files: Arc<dyn FileStore>,
        keys: Arc<dyn PublicKeys>,
        urls: PublicUrls,
    ) -> Self {
        Self {
            store,
            files,
            keys,
            urls,
        }
    }

    /// Returns the path of `url` under the public base URL, or `None` for any other origin or base
    /// path.
    fn own_path<'u>(&self, url: &'u str) -> Option<&'u str> {
        let base = self.urls.base();
        let rest = url.strip_prefix(base)?;
        // "https://badges.example.org.evil.example/…" shares the prefix but not the origin.
        rest.starts_with('/').then_some(rest)
    }
}

/// Returns a response without a body.
fn status(url: &str, status: u16) -> Fetched {
    Fetched {
        url: url.to_owned(),
        status,
        media_type: Some("application/json".to_owned()),
        body: Vec::new(),
    }
}

fn ok(url: &str, media_type: &str, body: impl Into<Vec<u8>>) -> Fetched {
    Fetched {
        url: url.to_owned(),
        status: 200,
        media_type: Some(media_type.to_owned()),
        body: body.into(),
    }
}

/// The routes this resolver serves, as parsed from a path.
enum Route {
    Assertion(AwardId),
    SignedAssertion(AwardId),
    AssertionImage(AwardId, &'static str),
    SignedImage(AwardId, &'static str),
    Credential(AwardId),
    CredentialJwt(AwardId),
    CredentialImage(AwardId, &'static str),
    BadgeClass(AchievementId),
    Issuer(IssuerId),
    CryptographicKey(IssuerId, KeyId),
    CredentialRevocations(IssuerId),
    AssertionRevocations(IssuerId),
    Key(KeyId),
    Jwks,
}

fn image_extension(name: &str, stem: &str) -> Option<&'static str> {
    match name.strip_prefix(stem)? {
        ".png" => Some("png"),
        ".svg" => Some("svg"),
        _ => None,
    }
}

/// Parses a canonical path; ids must be in their canonical (lower-case) spelling.
fn parse_route(path: &str) -> Option<Route> {
    if path == JWKS_PATH {
        return Some(Route::Jwks);
    }
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let uuid = |text: &str| -> Option<uuid::Uuid> {
        let parsed = uuid::Uuid::try_parse(text).ok()?;
        (parsed.hyphenated().to_string() == text).then_some(parsed)
    };
    let award = |text: &str| uuid(text).map(AwardId::from_uuid);
    let route = match segments.as_slice() {
        ["assertions", id] => Route::Assertion(award(id)?),
        ["assertions", id, "signed.jws"] => Route::SignedAssertion(award(id)?),
        ["assertions", id, name] => match (
            image_extension(name, "image"),
            image_extension(name, "signed"),
        ) {
            (Some(extension), _) => Route::AssertionImage(award(id)?, extension),
            (_, Some(extension)) => Route::SignedImage(award(id)?, extension),
            _ => return None,
        },
        ["credentials", name] => match name.strip_suffix(".jwt") {
            Some(id) => Route::CredentialJwt(award(id)?),
            None => Route::Credential(award(name.strip_suffix(".json").unwrap_or(name))?),
        },
        ["credentials", id, name] => {
            Route::CredentialImage(award(id)?, image_extension(name, "image")?)
        }
        ["badges", id] => Route::BadgeClass(AchievementId::from_uuid(uuid(id)?)),
        ["issuers", id] => Route::Issuer(IssuerId::from_uuid(uuid(id)?)),
        ["issuers", id, "keys", key] => {
            Route::CryptographicKey(IssuerId::from_uuid(uuid(id)?), KeyId::parse(key).ok()?)
        }
        ["issuers", id, "revocations"] => {
            Route::CredentialRevocations(IssuerId::from_uuid(uuid(id)?))
        }
        ["issuers", id, "revocations", "v2"] => {
            Route::AssertionRevocations(IssuerId::from_uuid(uuid(id)?))
        }
        ["keys", key] => Route::Key(KeyId::parse(key).ok()?),
        _ => return None,
    };
    Some(route)
}

impl StoreResolver {
    fn backend(url: &str, error: &dyn std::fmt::Display) -> FetchError {
        FetchError::Backend {
            url: url.to_owned(),
            reason: error.to_string(),
        }
    }

    /// Reads an award that has public documents: claimed, or revoked after its claim.
    async fn public_award(&self, url: &str, id: AwardId) -> Result<Option<Award>, FetchError> {
        let award = self
            .store
            .get_award(id)
            .await
            .map_err(|error| Self::backend(url, &error))?;
        Ok(award.filter(|award| award.claim.is_some() && award.state != AwardState::Issued))
    }

    async fn file(
        &self,
        url: &str,
        key: &str,
        media_type: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        match self
            .files
            .get(key)
            .await
            .map_err(|error| Self::backend(url, &error))?
        {
            Some(file) => Ok(ok(
                url,
                media_type.unwrap_or(&file.content_type),
                file.bytes,
            )),
            None => Ok(status(url, 404)),
        }
    }

    /// Reads a file of a public award: 410 for an image of a revoked award, as served publicly.
    async fn award_file(
        &self,
        url: &str,
        id: AwardId,
        key: String,
        media_type: Option<&str>,
        gone_when_revoked: bool,
    ) -> Result<Fetched, FetchError> {
        match self.public_award(url, id).await? {
            None => Ok(status(url, 404)),
            Some(award) if gone_when_revoked && award.state == AwardState::Revoked => {
                Ok(status(url, 410))
            }
            Some(_) => self.file(url, &key, media_type).await,
        }
    }

    async fn answer(&self, url: &str, route: Route) -> Result<Fetched, FetchError> {
        let urls = &self.urls;
        let backend = |error: &dyn std::fmt::Display| Self::backend(url, error);
        match route {
            Route::Assertion(id) => match self.public_award(url, id).await? {
                None => Ok(status(url, 404)),
                Some(award) if award.state == AwardState::Revoked => {
                    let body = v2::revoked_assertion(&award, urls).map(|body| v2::to_json(&body));
                    Ok(Fetched {
                        status: 410,
                        ..ok(url, JSON_LD, body.unwrap_or_default())
                    })
                }
                Some(award) => match &award.assertion_json {
                    Some(json) => Ok(ok(url, JSON_LD, json.clone())),
                    None => Err(backend(&format!(
                        "claimed award {id} has no frozen assertion"
                    ))),
                },
            },
            Route::SignedAssertion(id) => {
                self.award_file(
                    url,
                    id,
                    signed::signed_assertion_key(id),
                    Some("text/plain"),
                    false,
                )
                .await
            }
            Route::AssertionImage(id, extension) => {
                self.award_file(
                    url,
                    id,
                    format!("assertions/{id}/image.{extension}"),
                    None,
                    true,
                )
                .await
            }
            Route::SignedImage(id, extension) => {
                self.award_file(url, id, signed::signed_image_key(id, extension), None, true)
                    .await
            }
            Route::Credential(id) => {
                self.award_file(
                    url,
                    id,
                    v3::credential_json_key(id),
                    Some(v3::CREDENTIAL_MEDIA_TYPE),
                    false,
                )
                .await
            }
            Route::CredentialJwt(id) => {
                self.award_file(
                    url,
                    id,
                    v3::credential_jwt_key(id),
                    Some("text/plain"),
                    false,
                )
                .await
            }
            Route::CredentialImage(id, extension) => {
                self.award_file(url, id, v3::credential_image_key(id, extension), None, true)
                    .await
            }
            Route::BadgeClass(id) => match self
                .store
                .get_achievement(id)
                .await
                .map_err(|e| backend(&e))?
            {
                Some(achievement) => Ok(ok(
                    url,
                    JSON_LD,
                    v2::to_json(&v2::badge_class(&achievement, urls)),
                )),
                None => Ok(status(url, 404)),
            },
            Route::Issuer(id) => {
                let Some(issuer) = self.store.get_issuer(id).await.map_err(|e| backend(&e))? else {
                    return Ok(status(url, 404));
                };
                let keys = self
                    .keys
                    .list_issuer_public_keys(id)
                    .await
                    .map_err(|e| backend(&e))?;
                Ok(ok(
                    url,
                    JSON_LD,
                    v2::to_json(&v2::issuer_profile(&issuer, urls, &keys)),
                ))
            }
            Route::CryptographicKey(issuer, key_id) => {
                match self
                    .keys
                    .get_public_key(&key_id)
                    .await
                    .map_err(|e| backend(&e))?
                {
                    Some(record) if record.issuer_id == issuer => Ok(ok(
                        url,
                        JSON_LD,
                        v2::to_json(&signed::cryptographic_key(&record, urls)),
                    )),
                    _ => Ok(status(url, 404)),
                }
            }
            Route::CredentialRevocations(issuer) | Route::AssertionRevocations(issuer) => {
                if self
                    .store
                    .get_issuer(issuer)
                    .await
                    .map_err(|e| backend(&e))?
                    .is_none()
                {
                    return Ok(status(url, 404));
                }
                let revoked = self
                    .store
                    .list_revoked_awards(issuer)
                    .await
                    .map_err(|e| backend(&e))?;
                if matches!(route, Route::CredentialRevocations(_)) {
                    let list = revocation::credential_revocation_list(issuer, &revoked, urls);
                    Ok(ok(url, "application/json", v2::to_json(&list)))
                } else {
                    let list = revocation::assertion_revocation_list(issuer, &revoked, urls);
                    Ok(ok(url, JSON_LD, v2::to_json(&list)))
                }
            }
            Route::Key(key_id) => match self
                .keys
                .get_public_key(&key_id)
                .await
                .map_err(|e| backend(&e))?
            {
                Some(record) => Ok(ok(
                    url,
                    JWK_MEDIA_TYPE,
                    v2::to_json(&record.published_jwk(urls)),
                )),
                None => Ok(status(url, 404)),
            },
            Route::Jwks => {
                let records = self
                    .keys
                    .list_public_keys()
                    .await
                    .map_err(|e| backend(&e))?;
                Ok(ok(
                    url,
                    JWK_SET_MEDIA_TYPE,
                    v2::to_json(&jwk_set(&records, urls)),
                ))
            }
        }
    }
}

#[async_trait]
impl Resolver for StoreResolver {
    async fn fetch(&self, url: &str, _kind: DocumentKind) -> Result<Fetched, FetchError> {
        let Some(path) = self.own_path(url) else {
            return Err(FetchError::ExternalFetchDisabled {
                url: super::fields::quote(url),
                base: self.urls.base().to_owned(),
            });
        };
        match parse_route(path) {
            Some(route) => self.answer(url, route).await,
            None => Ok(status(url, 404)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_canonical_only() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert!(matches!(
            parse_route(&format!("/assertions/{id}")),
            Some(Route::Assertion(_))
        ));
        assert!(parse_route(&format!("/assertions/{}", id.to_uppercase())).is_none());
        assert!(parse_route(&format!("/assertions/{id}/")).is_none());
        assert!(matches!(
            parse_route(&format!("/credentials/{id}.jwt")),
            Some(Route::CredentialJwt(_))
        ));
        assert!(matches!(
            parse_route(&format!("/credentials/{id}")),
            Some(Route::Credential(_))
        ));
        assert!(matches!(
            parse_route(&format!("/assertions/{id}/signed.svg")),
            Some(Route::SignedImage(_, "svg"))
        ));
        assert!(matches!(
            parse_route(&format!("/issuers/{id}/revocations/v2")),
            Some(Route::AssertionRevocations(_))
        ));
        assert!(matches!(
            parse_route("/.well-known/jwks.json"),
            Some(Route::Jwks)
        ));
        assert!(parse_route("/issuers/not-a-uuid").is_none());
        assert!(parse_route("/v1/awards").is_none());
    }
}
