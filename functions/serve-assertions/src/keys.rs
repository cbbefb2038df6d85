//! The published signing keys: the JWK Set, one bare JWK per `kid` URL, and the Open
//! Badges 2.0 `CryptographicKey` documents.

use accolade::domain::IssuerId;
use accolade::http::{ApiError, Representation, negotiate};
use accolade::keys::{JWK_MEDIA_TYPE, JWK_SET_MEDIA_TYPE, KeyId, jwk_set};
use accolade::openbadges::{signed, v2};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use crate::canonical::{Parsed, parse_key};
use crate::{
    CACHE_PUBLIC, Deps, ServeAssertions, document, internal, json_only, not_found, redirect,
    typed_body,
};

/// `GET /.well-known/jwks.json`: every key of every issuer, oldest first.
pub(crate) async fn jwks(State(deps): State<Deps>, headers: HeaderMap) -> Response {
    let representation = json_only(negotiate(&headers));
    match deps.keys.list_public_keys().await {
        Ok(records) => typed_body(
            JWK_SET_MEDIA_TYPE,
            v2::to_json(&jwk_set(&records, &deps.urls)),
            CACHE_PUBLIC,
        ),
        Err(error) => internal(representation, ApiError::internal("JWK Set", &error)),
    }
}

/// `GET /keys/{key-id}`: one key as a bare JWK, the document a VC-JWT `kid` names.
pub(crate) async fn key(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = json_only(negotiate(&headers));
    let key_id = match parse_key(&rest, uri.query().is_some()) {
        Parsed::Canonical(key_id) => key_id,
        Parsed::Redirect(canonical) => return redirect(&deps, "keys", &canonical),
        Parsed::NotFound => return not_found(representation, "key", &rest),
    };
    match deps.keys.get_public_key(&key_id).await {
        Ok(Some(record)) => typed_body(
            JWK_MEDIA_TYPE,
            v2::to_json(&record.published_jwk(&deps.urls)),
            CACHE_PUBLIC,
        ),
        Ok(None) => not_found(representation, "key", key_id.as_str()),
        Err(error) => internal(representation, ApiError::internal("key", &error)),
    }
}

/// `GET /issuers/{id}/keys/{key-id}`: the `CryptographicKey` of one of the issuer's keys;
/// 404 for a key of another issuer.
pub(crate) async fn cryptographic_key_document(
    deps: &ServeAssertions,
    representation: Representation,
    issuer: IssuerId,
    key_id: &KeyId,
) -> Response {
    let representation = json_only(representation);
    match deps.keys.get_public_key(key_id).await {
        Ok(Some(record)) if record.issuer_id == issuer => document(
            representation,
            v2::to_json(&signed::cryptographic_key(&record, &deps.urls)),
            CACHE_PUBLIC,
        ),
        Ok(_) => not_found(representation, "key", key_id.as_str()),
        Err(error) => internal(
            representation,
            ApiError::internal("cryptographic key", &error),
        ),
    }
}
