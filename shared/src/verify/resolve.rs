//! Document resolution: the [`Resolver`] port, and the checks that turn a
//! fetched response into a JSON document or a failed check.

use async_trait::async_trait;
use serde_json::Value;

use super::codes;
use super::fields::{Object, kind_of};
use super::report::Checks;

/// The largest document the verifier reads. Keys, profiles, assertions and revocation lists
/// are a few kilobytes, and a revocation list of many thousands of entries still fits.
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;
/// The largest input fetched by URL (a baked image or a document): the baker's payload limit.
pub const MAX_INPUT_BYTES: usize = crate::baking::MAX_PAYLOAD_BYTES;

/// The kind of document fetched. It sets the `Accept` header, the media types allowed and
/// the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// The input itself, given as a URL: a baked image, JSON or a compact JWS. Any media type.
    Input,
    /// An Open Badges 2.0 JSON-LD document: assertion, BadgeClass, Profile,
    /// CryptographicKey or RevocationList. Served as `application/ld+json` or
    /// `application/json`.
    JsonLd,
    /// A public key as a JWK (the target of a VC-JWT `kid`), or a JWK Set.
    Jwk,
    /// A 1EdTech revocation list (JSON).
    RevocationList,
}

impl DocumentKind {
    /// Returns the `Accept` header to send.
    pub const fn accept(self) -> &'static str {
        match self {
            DocumentKind::Input => {
                "application/ld+json, application/json;q=0.9, image/png;q=0.8, image/svg+xml;q=0.8, text/plain;q=0.5"
            }
            DocumentKind::JsonLd => "application/ld+json, application/json;q=0.9",
            DocumentKind::Jwk => {
                "application/jwk+json, application/jwk-set+json, application/json;q=0.9"
            }
            DocumentKind::RevocationList => "application/json, application/ld+json;q=0.9",
        }
    }

    /// Returns whether a response's media type (lower case, without parameters) is allowed.
    pub fn allows_media_type(self, essence: &str) -> bool {
        match self {
            DocumentKind::Input => true,
            DocumentKind::JsonLd => matches!(essence, "application/ld+json" | "application/json"),
            DocumentKind::Jwk => matches!(
                essence,
                "application/jwk+json" | "application/jwk-set+json" | "application/json"
            ),
            DocumentKind::RevocationList => matches!(
                essence,
                "application/json" | "application/ld+json" | "application/vc+ld+json"
            ),
        }
    }

    /// Returns the largest response body read, in bytes.
    pub const fn max_bytes(self) -> usize {
        match self {
            DocumentKind::Input => MAX_INPUT_BYTES,
            _ => MAX_DOCUMENT_BYTES,
        }
    }
}

/// A response: its final URL (after redirects), status, media type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL that responded, after redirects.
    pub url: String,
    pub status: u16,
    /// The `Content-Type` without parameters, in lower case; `None` when absent.
    pub media_type: Option<String>,
    pub body: Vec<u8>,
}

impl Fetched {
    /// Reduces a `Content-Type` value to its lower-case essence (`application/json`).
    pub fn media_type_of(content_type: &str) -> String {
        content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// A failure to fetch a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Only absolute http(s) URLs are fetched.
    #[error("{url:?} is not an absolute http:// or https:// URL")]
    UnsupportedUrl { url: String },
    /// This resolver serves only this deployment's own documents.
    #[error(
        "{url} is not on this service's public URL {base}, and this endpoint fetches nothing from other hosts; verify the badge with `accolade verify`, which fetches documents from anywhere"
    )]
    ExternalFetchDisabled { url: String, base: String },
    /// No complete response in time.
    #[error("{url} did not answer within {seconds} seconds")]
    TimedOut { url: String, seconds: u64 },
    /// No connection (DNS, refused, reset, TLS).
    #[error("{url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    /// The redirect chain is too long.
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: u32 },
    /// The body exceeds [`DocumentKind::max_bytes`].
    #[error("{url} returned more than {max_bytes} bytes")]
    TooLarge { url: String, max_bytes: usize },
    /// A fault behind the resolver (the store, the file store) that may pass.
    #[error("reading {url} failed: {reason}")]
    Backend { url: String, reason: String },
}

impl FetchError {
    /// Returns whether trying again later can succeed: timeouts, connection failures and backend
    /// faults.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::TimedOut { .. }
                | FetchError::Unreachable { .. }
                | FetchError::Backend { .. }
        )
    }

    /// Returns the check code that reports this error.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::ExternalFetchDisabled { .. } => codes::EXTERNAL_FETCH_DISABLED,
            error if error.is_transient() => codes::UNVERIFIABLE_TRY_LATER,
            _ => codes::FETCH_FAILED,
        }
    }
}

/// Fetches the documents a badge refers to: the hosted assertion, BadgeClass, issuer
/// Profile, keys and revocation lists.
///
/// Implementations return every HTTP status as a [`Fetched`] (the verifier reads 410 bodies
/// and maps 404 and 5xx to checks) and an error only when there is no response.
#[async_trait]
pub trait Resolver: Send + Sync {
    async fn fetch(&self, url: &str, kind: DocumentKind) -> Result<Fetched, FetchError>;
}

/// Returns whether `url` is an absolute http(s) URL with a host.
pub fn is_http_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.has_host())
}

/// A failed check not yet recorded: its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub code: &'static str,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn record(self, checks: &mut Checks) {
        checks.fail(self.code, self.message);
    }
}

/// Fetches a JSON document that must return 200 with an allowed media type and a JSON object.
///
/// 404 and 410 give `not_found_code` (`not_found`, or `unknown_kid` for a key), 5xx and 429
/// `unverifiable_try_later`, any other status `fetch_failed`, a media type the specification
/// does not allow `wrong_content_type`, and a body that is not a JSON object `invalid_json`.
/// `what` names the document in messages ("the BadgeClass").
pub(crate) async fn get_json(
    resolver: &dyn Resolver,
    url: &str,
    kind: DocumentKind,
    what: &str,
    not_found_code: &'static str,
) -> Result<Object, Failure> {
    let fetched = resolver.fetch(url, kind).await.map_err(|error| {
        Failure::new(
            error.code(),
            format!("{what} could not be fetched: {error}"),
        )
    })?;
    check_status(&fetched, what, not_found_code)?;
    check_media_type(&fetched, kind, what)?;
    parse_object(&fetched.body, what, &fetched.url)
}

/// Like [`get_json`], recording the failure as a check.
pub(crate) async fn fetch_json(
    resolver: &dyn Resolver,
    checks: &mut Checks,
    url: &str,
    kind: DocumentKind,
    what: &str,
    not_found_code: &'static str,
) -> Option<Object> {
    match get_json(resolver, url, kind, what, not_found_code).await {
        Ok(object) => Some(object),
        Err(failure) => {
            failure.record(checks);
            None
        }
    }
}

/// Fails for any status but 200.
pub(crate) fn check_status(
    fetched: &Fetched,
    what: &str,
    not_found_code: &'static str,
) -> Result<(), Failure> {
    let url = &fetched.url;
    match fetched.status {
        200 => Ok(()),
        404 | 410 => Err(Failure::new(
            not_found_code,
            format!(
                "{what} at {url} was not found (HTTP {}); the issuer no longer publishes it, or the URL is wrong",
                fetched.status
            ),
        )),
        429 | 500..=599 => Err(Failure::new(
            codes::UNVERIFIABLE_TRY_LATER,
            format!(
                "{what} at {url} is unavailable for now (HTTP {}), so the badge can be neither confirmed nor refuted; try again later",
                fetched.status
            ),
        )),
        status => Err(Failure::new(
            codes::FETCH_FAILED,
            format!("{what} at {url} answered HTTP {status}, not 200"),
        )),
    }
}

/// Fails with `wrong_content_type` unless the media type is allowed for `kind`.
pub(crate) fn check_media_type(
    fetched: &Fetched,
    kind: DocumentKind,
    what: &str,
) -> Result<(), Failure> {
    let media_type = fetched.media_type.as_deref().unwrap_or("");
    if kind.allows_media_type(media_type) {
        return Ok(());
    }
    let shown = if media_type.is_empty() {
        "no Content-Type".to_owned()
    } else {
        format!("Content-Type {media_type}")
    };
    Err(Failure::new(
        codes::WRONG_CONTENT_TYPE,
        format!(
            "{what} at {} was served with {shown}; it must be served as one of: {}",
            fetched.url,
            kind.accept()
        ),
    ))
}

/// Parses a body as a JSON object.
pub(crate) fn parse_object(body: &[u8], what: &str, url: &str) -> Result<Object, Failure> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(Failure::new(
            codes::INVALID_JSON,
            format!(
                "{what} at {url} is JSON but not an object (it is {})",
                kind_of(&other)
            ),
        )),
        Err(error) => Err(Failure::new(
            codes::INVALID_JSON,
            format!("{what} at {url} is not valid JSON: {error}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_per_kind() {
        assert!(DocumentKind::JsonLd.allows_media_type("application/ld+json"));
        assert!(DocumentKind::JsonLd.allows_media_type("application/json"));
        assert!(!DocumentKind::JsonLd.allows_media_type("text/html"));
        assert!(!DocumentKind::JsonLd.allows_media_type("text/plain"));
        assert!(DocumentKind::Jwk.allows_media_type("application/jwk+json"));
        assert!(DocumentKind::Input.allows_media_type("image/png"));
        assert_eq!(
            Fetched::media_type_of("Application/LD+JSON; charset=utf-8"),
            "application/ld+json"
        );
    }

    #[test]
    fn fetch_errors_map_to_codes() {
        let url = "https://issuer.example/a".to_owned();
        assert_eq!(
            FetchError::TimedOut {
                url: url.clone(),
                seconds: 10
            }
            .code(),
            codes::UNVERIFIABLE_TRY_LATER
        );
        assert_eq!(
            FetchError::TooManyRedirects {
                url: url.clone(),
                max: 3
            }
            .code(),
            codes::FETCH_FAILED
        );
        assert_eq!(
            FetchError::ExternalFetchDisabled {
                url,
                base: "https://b.example".to_owned()
            }
            .code(),
            codes::EXTERNAL_FETCH_DISABLED
        );
        assert!(is_http_url("https://issuer.example/x"));
        assert!(!is_http_url("urn:uuid:1"));
        assert!(!is_http_url("ftp://issuer.example/x"));
    }
}
