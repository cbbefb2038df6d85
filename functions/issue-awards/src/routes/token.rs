//! `POST /oauth/token`: OAuth 2.0 client credentials (RFC 6749, section 4.4).
//!
//! The client authenticates with HTTP Basic or with `client_id` and `client_secret` form
//! fields, never both (section 2.3.1). Errors use the section 5.2 shape
//! `{"error", "error_description"}` rather than our envelope, because OAuth client libraries
//! parse that shape.

use accolade::crypto::client_secret_matches;
use accolade::domain::{ApiClient, ClientId, Scopes};
use accolade::http::read_body;
use accolade::ports::StoreError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::ApiState;
use crate::routes::media_type;

/// The maximum size of a token request body; a real one is under 300 bytes.
const MAX_TOKEN_BODY_BYTES: usize = 16 * 1024;

/// Compared against when the client id is unknown, so an unknown client takes as long to
/// reject as a wrong secret.
const UNKNOWN_CLIENT_HASH: &str =
    "sha256$0000000000000000000000000000000000000000000000000000000000000000";

/// A successful token response (RFC 6749, section 5.1).
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
}

/// An error response (RFC 6749, section 5.2).
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    /// 401 with a Basic challenge, for any failed client authentication. One description
    /// covers an unknown client, a wrong secret and a disabled client.
    fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed; check the client id and secret, and ask the issuer's administrator whether the client is enabled".to_owned(),
        }
    }

    fn store(error: StoreError) -> Self {
        match error {
            StoreError::Throttled => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "the service is busy; retry after a short wait".to_owned(),
            },
            error => {
                tracing::error!(error = %error, "token request failed with an internal error");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    error: "server_error",
                    description: "an internal error occurred; retry the request".to_owned(),
                }
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        let mut response = (self.status, no_store_headers(), axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"accolade\", charset=\"UTF-8\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn no_store_headers() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// Issues an access token for a client that proves its credentials.
pub async fn issue_token(State(api): State<ApiState>, request: Request) -> Response {
    match issue(&api, request).await {
        Ok(token) => (StatusCode::OK, no_store_headers(), axum::Json(token)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn issue(api: &ApiState, request: Request) -> Result<TokenResponse, OAuthError> {
    let basic = basic_credentials(request.headers())?;
    if media_type(request.headers()) != "application/x-www-form-urlencoded" {
        return Err(OAuthError::invalid_request(
            "send the token request as a form: Content-Type: application/x-www-form-urlencoded",
        ));
    }
    // An over-size form gets 413, with the RFC 6749 error body that token clients parse.
    let raw = read_body(request, &(), MAX_TOKEN_BODY_BYTES, "the token request")
        .await
        .map_err(|error| OAuthError {
            status: error.status,
            ..OAuthError::invalid_request(error.message)
        })?;
    let form = parse_form(&raw)?;

    match form.get("grant_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "grant_type is missing; send grant_type=client_credentials",
            ));
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: format!(
                    "grant_type {:?} is not supported; this server issues tokens only for grant_type=client_credentials",
                    other.chars().take(50).collect::<String>()
                ),
            });
        }
    }

    let form_credentials = match (form.get("client_id"), form.get("client_secret")) {
        (None, None) => None,
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "client_secret is missing; send it with client_id, or authenticate with HTTP Basic instead",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_id is missing; send it with client_secret, or authenticate with HTTP Basic instead",
            ));
        }
    };
    let (client_id, secret) = match (basic, form_credentials) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the client authenticated twice (HTTP Basic and form fields); use only one of them",
            ));
        }
        (Some(credentials), None) | (None, Some(credentials)) => credentials,
        (None, None) => {
            tracing::info!("token request rejected: no client credentials");
            return Err(OAuthError::invalid_client());
        }
    };

    let client = authenticate(api, &client_id, &secret).await?;

    let requested = match form.get("scope") {
        None => None,
        Some(raw) => Some(Scopes::parse(raw).map_err(|reason| OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_scope",
            description: reason,
        })?),
    };
    if let Some(requested) = &requested
        && let Some(missing) = requested
            .iter()
            .find(|scope| !client.scopes.contains(*scope))
    {
        tracing::info!(client.id = %client.client_id, scope = missing.as_str(), "token request rejected: scope not granted to the client");
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_scope",
            description: format!(
                "this client may not have the scope {missing}; its scopes are {}",
                client.scopes
            ),
        });
    }
    let scopes = client.scopes.narrowed_to(requested.as_ref());

    let now = api.clock.now();
    let access_token = api
        .tokens
        .issue(&client, &scopes, now, api.random.uuid().to_string())
        .map_err(|error| {
            tracing::error!(error = %error, client.id = %client.client_id, "failed to sign an access token");
            OAuthError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "an internal error occurred; retry the request".to_owned(),
            }
        })?;
    tracing::info!(client.id = %client.client_id, issuer.id = %client.issuer_id, scope = %scopes, "access token issued");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: api.tokens.ttl_seconds(),
        scope: scopes.to_string(),
    })
}

/// Finds the client and checks its secret in constant time. An unknown client, a wrong secret
/// and a disabled client all fail with `invalid_client`.
async fn authenticate(
    api: &ApiState,
    client_id: &str,
    secret: &str,
) -> Result<ApiClient, OAuthError> {
    let client = match ClientId::parse(client_id) {
        Ok(id) => api.store.get_client(&id).await.map_err(OAuthError::store)?,
        Err(_) => None,
    };
    let stored_hash = client
        .as_ref()
        .map_or(UNKNOWN_CLIENT_HASH, |client| client.secret_hash.as_str());
    let secret_ok = client_secret_matches(secret, stored_hash);

    match client {
        Some(client) if secret_ok && !client.disabled => Ok(client),
        Some(client) if secret_ok => {
            tracing::info!(client.id = %client.client_id, "token request rejected: client is disabled");
            Err(OAuthError::invalid_client())
        }
        Some(client) => {
            tracing::info!(client.id = %client.client_id, "token request rejected: wrong client secret");
            Err(OAuthError::invalid_client())
        }
        None => {
            tracing::info!("token request rejected: unknown client id");
            Err(OAuthError::invalid_client())
        }
    }
}

/// The form fields of a token request. Each may appear once (RFC 6749, section 3.2), and an
/// empty value counts as absent (section 3.1).
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }
}

fn parse_form(raw: &[u8]) -> Result<Form, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw).map_err(|error| {
        OAuthError::invalid_request(format!("the form body is malformed: {error}"))
    })?;
    for (index, (name, _)) in pairs.iter().enumerate() {
        if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {:?} is repeated; send each parameter once",
                name.chars().take(50).collect::<String>()
            )));
        }
    }
    Ok(Form(pairs))
}

/// Reads the client id and secret of an `Authorization: Basic` header. Both are form-urlencoded
/// before base64 (RFC 6749, section 2.3.1), so they are decoded here. Another scheme (such as
/// a stray Bearer token) counts as no Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        OAuthError::invalid_request(
            "the Authorization header is malformed; send Basic and the base64 of client_id:client_secret",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    Ok(Some((id, secret)))
}

/// Decodes one `application/x-www-form-urlencoded` value: `+` is a space and `%XX` a byte.
fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(index + 1..index + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(form_decode("plain-ID_1").as_deref(), Some("plain-ID_1"));
        assert_eq!(form_decode("bad%2"), None);
        assert_eq!(form_decode("bad%zz"), None);
    }

    #[test]
    fn basic_header_is_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("partner-1:s%3Acret");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        let (id, secret) = basic_credentials(&headers).unwrap().unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("partner-1", "s:cret"));
    }

    #[test]
    fn repeated_form_parameters_are_rejected() {
        let error = parse_form(b"grant_type=client_credentials&grant_type=password")
            .err()
            .unwrap();
        assert_eq!(error.error, "invalid_request");
    }
}
