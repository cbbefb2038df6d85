//! The bearer-token extractor: who is calling, for which issuer, with which scopes.

use accolade::domain::{ClientId, IssuerId, Scope, Scopes};
use accolade::http::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::ApiState;

/// The one message of every 401, so a response never reveals which check failed. The log
/// records it.
const UNAUTHORIZED_MESSAGE: &str = "the access token is missing, invalid or expired; request a new one from /oauth/token and send it as Authorization: Bearer <token>";

/// An authenticated partner client, extracted from `Authorization: Bearer <jwt>`.
///
/// The token must verify (HS256 only, our issuer and audience, not expired by the injected
/// clock), and its client must still exist, be enabled and belong to the token's issuer.
/// The effective scopes are the token's scopes that the client still holds, so taking a scope
/// away from a client takes effect before its tokens expire.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: ClientId,
    pub issuer_id: IssuerId,
    pub scopes: Scopes,
}

impl Caller {
    /// Fails with 403 `insufficient_scope` unless the caller has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            tracing::info!(
                client.id = %self.client_id,
                scope = scope.as_str(),
                "request rejected for a missing scope"
            );
            Err(ApiError::forbidden_scope(scope.as_str()))
        }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &ApiState) -> Result<Self, ApiError> {
        let Some(token) = bearer_token(&parts.headers) else {
            tracing::info!("request rejected: no bearer token");
            return Err(ApiError::unauthorized(UNAUTHORIZED_MESSAGE));
        };

        let claims = api.tokens.verify(token, api.clock.now()).map_err(|error| {
            tracing::info!(reason = %error, "request rejected: access token is invalid or expired");
            ApiError::unauthorized(UNAUTHORIZED_MESSAGE)
        })?;

        let client_id = ClientId::parse(&claims.sub).map_err(|_| {
            tracing::warn!("request rejected: a verified access token has a malformed subject");
            ApiError::unauthorized(UNAUTHORIZED_MESSAGE)
        })?;
        let client = api.store.get_client(&client_id).await?;
        let client = match client {
            Some(client) if !client.disabled && client.issuer_id == claims.issuer_id => client,
            Some(client) if client.disabled => {
                tracing::info!(client.id = %client_id, "request rejected: client is disabled");
                return Err(ApiError::unauthorized(UNAUTHORIZED_MESSAGE));
            }
            Some(_) => {
                tracing::warn!(
                    client.id = %client_id,
                    "request rejected: access token names another issuer than its client"
                );
                return Err(ApiError::unauthorized(UNAUTHORIZED_MESSAGE));
            }
            None => {
                tracing::info!(client.id = %client_id, "request rejected: client no longer exists");
                return Err(ApiError::unauthorized(UNAUTHORIZED_MESSAGE));
            }
        };

        let scopes = Scopes::new(
            claims
                .scope
                .iter()
                .filter(|scope| client.scopes.contains(*scope)),
        );
        Ok(Caller {
            client_id,
            issuer_id: client.issuer_id,
            scopes,
        })
    }
}

/// Extracts the token of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 9110, section 11.1).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(
            bearer_token(&headers("bearer abc.def.ghi")),
            Some("abc.def.ghi")
        );
        assert_eq!(bearer_token(&headers("Bearer  abc")), Some("abc"));
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_ignored() {
        assert_eq!(bearer_token(&headers("Basic dXNlcjpwYXNz")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&headers("Bearer")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
