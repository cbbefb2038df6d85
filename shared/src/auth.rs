//! Partner API access tokens: short-lived JWTs (HS256) issued by the token endpoint to
//! clients that authenticate with OAuth 2.0 client credentials.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{ApiClient, IssuerId, Scopes, Timestamp};

/// The audience of every access token, so tokens minted for anything else are refused.
pub const AUDIENCE: &str = "accolade-partner-api";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The client id.
    pub sub: String,
    /// The issuer whose objects the client may see.
    pub issuer_id: IssuerId,
    pub scope: Scopes,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Why a presented token was refused. Clients see one message for all of them (so the
/// response tells an attacker nothing), but the log records which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid: {0}")]
    Invalid(String),
}

/// Mints and checks access tokens with one server-side secret.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl_seconds: i64,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

impl AccessTokens {
    /// The minimum secret length in bytes (256 bits, as RFC 7518 asks of HS256 keys).
    pub const MIN_SECRET_LEN: usize = 32;
    /// The default lifetime of a token: 15 minutes.
    pub const DEFAULT_TTL_SECONDS: i64 = 900;

    /// `issuer` is written as `iss` and required back; use the public base URL.
    pub fn new(secret: &[u8], issuer: String, ttl_seconds: i64) -> Result<Self, String> {
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(format!(
                "the token signing secret is {} bytes; it must be at least {} random bytes",
                secret.len(),
                Self::MIN_SECRET_LEN
            ));
        }
        let encoding = EncodingKey::from_secret(secret)
            .map_err(|error| format!("the token signing secret is unusable: {error}"))?;
        let decoding = DecodingKey::from_secret(secret)
            .map_err(|error| format!("the token signing secret is unusable: {error}"))?;
        Ok(Self {
            encoding,
            decoding,
            issuer,
            ttl_seconds,
        })
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    /// Mints a token for a client with the given (already narrowed) scopes.
    pub fn issue(
        &self,
        client: &ApiClient,
        scopes: &Scopes,
        now: Timestamp,
        jti: String,
    ) -> Result<String, TokenError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: client.client_id.to_string(),
            issuer_id: client.issuer_id,
            scope: scopes.clone(),
            iat: now.unix_seconds(),
            exp: now.unix_seconds() + self.ttl_seconds,
            jti,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| TokenError::Invalid(error.to_string()))
    }

    /// Checks signature, algorithm (HS256 only), issuer, audience and expiry against `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked below against the injected clock, so tests can move time.
        validation.validate_exp = false;
        validation.leeway = 0;

        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|error| TokenError::Invalid(error.to_string()))?;
        if data.claims.exp <= now.unix_seconds() {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, Text, TextLimit};

    fn client() -> ApiClient {
        ApiClient {
            client_id: ClientId::parse("partner").unwrap(),
            issuer_id: IssuerId::from_uuid(uuid::Uuid::nil()),
            name: Text::parse("name", "Partner", TextLimit::NAME).unwrap(),
            secret_hash: String::new(),
            scopes: Scopes::all(),
            disabled: false,
            created_at: Timestamp::from_unix_seconds(0),
        }
    }

    #[test]
    fn token_round_trips_and_expires() {
        let tokens = AccessTokens::new(&[7; 32], "https://badges.example.org".into(), 900).unwrap();
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        let token = tokens
            .issue(&client(), &Scopes::all(), now, "jti-1".into())
            .unwrap();

        let claims = tokens.verify(&token, now.plus_seconds(899)).unwrap();
        assert_eq!(claims.sub, "partner");
        assert_eq!(
            tokens.verify(&token, now.plus_seconds(900)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn token_from_another_secret_is_invalid() {
        let ours = AccessTokens::new(&[7; 32], "https://a.example".into(), 900).unwrap();
        let theirs = AccessTokens::new(&[8; 32], "https://a.example".into(), 900).unwrap();
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        let token = theirs
            .issue(&client(), &Scopes::all(), now, "x".into())
            .unwrap();
        assert!(matches!(
            ours.verify(&token, now),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn unsigned_token_is_invalid() {
        let tokens = AccessTokens::new(&[7; 32], "https://a.example".into(), 900).unwrap();
        // {"alg":"none","typ":"JWT"} with valid-looking claims and no signature.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJwYXJ0bmVyIn0.";
        assert!(matches!(
            tokens.verify(token, Timestamp::from_unix_seconds(0)),
            Err(TokenError::Invalid(_))
        ));
    }
}
