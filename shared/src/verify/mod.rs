//! Verification of any Open Badges badge: a baked PNG or SVG, Open Badges 2.0 assertion
//! JSON, a compact JWS (a signed 2.0 assertion or a 3.0 VC-JWT), 3.0 credential JSON, or
//! the URL of any of them.
//!
//! [`verify`] returns a [`VerificationReport`]: `{"valid", "format", "id", "checks"}`, where
//! each check has a stable [`codes`] entry, `ok`, and a message that names the value
//! checked. A badge is valid only when no check failed *and* its proof was established: the
//! hosted assertion was fetched from its own URL, or a signature verified. So an empty
//! object, an image without badge data or unreadable input is never valid.
//!
//! Documents (hosted assertions, BadgeClasses, issuer Profiles, keys, revocation lists) are
//! read through a [`Resolver`]: the `accolade verify` command fetches them over HTTP, and
//! `POST /v1/verify` uses [`StoreResolver`], which serves only this deployment's own URLs
//! from its store and sends no request at all.
//!
//! # What is checked
//!
//! | input | checks, in order |
//! |---|---|
//! | PNG or SVG | the image is read by the baker (its error codes are reported as they are); the data must belong to the version its container names; then as below |
//! | 2.0 hosted (JSON with `verification.type: HostedBadge`, a baked URL, or the URL itself) | the assertion URL is fetched again and is the source of truth: 410 or `revoked: true` is `revoked`, 404 `not_found`, 5xx `unverifiable_try_later`; its `id` must be that URL; structure; BadgeClass and Profile (fetched or embedded); verification scope; `expires`; recipient |
//! | 2.0 signed (a JWS whose payload is an `Assertion`) | `alg`; structure; BadgeClass and Profile; the `creator` key (listed by the Profile, owned by the issuer) or else each of the Profile's keys; the Profile's `RevocationList`; `expires`; recipient |
//! | 3.0 VC-JWT | header members and `alg`; structure and `@context`; the `kid` key and its owner; signature; `iss`/`jti`/`sub`/`nbf`/`exp` against the credential; validity window; `credentialStatus`; schema; recipient |
//! | 3.0 JSON | as the VC-JWT without the proof, then `no_proof` or `unsupported_proof`: only VC-JWT proofs are checked, so credential JSON is never valid here |
//!
//! # Policies
//!
//! - **Algorithms.** Only `RS256` and `ES256`, matched exactly. `none` is `alg_none`; HMAC
//!   algorithms and case variants such as `rs256` are `alg_not_allowed`, because JOSE names
//!   are case-sensitive and a public key must never serve as an HMAC secret.
//! - **Keys.** RSA keys need at least 2048 bits; EC keys must be P-256. A 2.0 key must be
//!   listed by the issuer Profile and owned by it; a 3.0 key must name the issuer as its
//!   `iss`, or else sit on the issuer id's host. A VC-JWT header holds only `alg`, `kid` and
//!   `typ`; an inline `jwk` is refused.
//! - **Revocation lists.** When a 1EdTech revocation list (3.0) or a `RevocationList` (2.0
//!   signed) cannot be read, the check is the warning `revocation_status_unknown`: it neither
//!   makes the badge valid nor invalid by itself, as in the 1EdTech validator. A hosted 2.0
//!   assertion that cannot be fetched is never valid, because the hosted copy is the badge.
//! - **Timestamps.** RFC 3339 with a zone of `Z`, `±hh:mm`, `±hhmm` or `±hh` (U+2212 works as
//!   the minus sign); impossible dates are invalid. Open Badges 2.0 also accepts, each with
//!   a warning, a date-time without a zone (UTC), a date alone (midnight UTC) and a Unix
//!   time number. Open Badges 3.0 requires a zone. Validity windows allow
//!   [`CLOCK_SKEW_SECONDS`] of clock difference.
//! - **Recipient.** The email given is trimmed and lower-cased, salted (salt appended) and
//!   hashed; a hash that matches only the address as typed counts, with
//!   `identity_not_normalised`. `SHA256$` prefixes and upper-case hex are read, the prefix
//!   with a warning; `md5$` is read with a warning.
//! - **Schema.** The required parts of the 1EdTech AchievementCredential JSON Schema are
//!   checked in Rust (required members and their types, `type` values, `@context` order);
//!   a credential without `credentialSchema` is checked the same way, with a warning.
//! - **Images.** A compressed `iTXt` chunk is read and reported as the warning
//!   `compressed_itxt` (non-conformant, not invalid). Data of the other Open Badges version
//!   than its container names (an assertion under `openbadgecredential`) fails with
//!   `badge_format_mismatch`.

pub mod codes;
mod credential;
mod fields;
mod hosted;
mod jws;
mod ob2;
mod recipient;
mod report;
mod resolve;
mod signed;
mod store;
mod timestamp;

pub use report::{Check, Format, Outcome, VerificationReport};
pub use resolve::{
    DocumentKind, FetchError, Fetched, MAX_DOCUMENT_BYTES, MAX_INPUT_BYTES, Resolver, is_http_url,
};
pub use store::StoreResolver;

use serde_json::Value;

use crate::baking::{self, BadgeFormat, ImageKind, PayloadKind, UnbakeError, UnbakeWarning};
use crate::domain::Timestamp;
use fields::{Object, has_type, kind_of, preview};
use report::Checks;

/// Seconds of clock difference allowed between issuer and verifier at the edges of a
/// validity window, as `jsonwebtoken` allows by default.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// The badge to verify: bytes or a URL.
#[derive(Debug, Clone, Copy)]
pub enum VerifyInput<'a> {
    /// The bytes of a file or request body. `declared` is the image type the input claims to
    /// be (from a file name or a media type), when known, so a JPEG named `.png` is reported
    /// as `not_png`.
    Bytes {
        bytes: &'a [u8],
        declared: Option<ImageKind>,
    },
    /// A URL of a hosted assertion, a credential, a JWS or a baked image.
    Url(&'a str),
}

impl<'a> VerifyInput<'a> {
    /// Bytes without a declared type.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        VerifyInput::Bytes {
            bytes,
            declared: None,
        }
    }
}

/// Returns the image type that a file name or media type declares: `.png` or `image/png`, `.svg` or
/// `image/svg+xml`.
pub fn declared_image_kind(name_or_media_type: &str) -> Option<ImageKind> {
    let lower = name_or_media_type.trim().to_ascii_lowercase();
    if lower.ends_with(".png") || lower.starts_with("image/png") {
        Some(ImageKind::Png)
    } else if lower.ends_with(".svg") || lower.starts_with("image/svg+xml") {
        Some(ImageKind::Svg)
    } else {
        None
    }
}

/// The dependencies and parameters of one verification.
#[derive(Clone, Copy)]
pub struct VerifyContext<'a> {
    /// The source of documents.
    pub resolver: &'a dyn Resolver,
    /// The current time, for validity windows and expiry.
    pub now: Timestamp,
    /// The recipient's email, as typed, to check against the badge; `None` skips the check.
    pub email: Option<&'a str>,
}

/// Verifies one badge and reports every check. Malformed input of any kind becomes a failed
/// check, not a panic.
pub async fn verify(input: VerifyInput<'_>, context: &VerifyContext<'_>) -> VerificationReport {
    let mut run = Run {
        context,
        checks: Checks::default(),
    };
    match input {
        VerifyInput::Url(url) => run.verify_url(url).await,
        VerifyInput::Bytes { bytes, declared } => {
            if let Some(url) = run.verify_bytes(bytes, declared, true).await {
                run.verify_url(&url).await;
            }
        }
    }
    run.checks.into_report()
}

/// One verification in progress. The format modules add their checks as `impl Run` blocks.
pub(crate) struct Run<'a> {
    pub(crate) context: &'a VerifyContext<'a>,
    pub(crate) checks: Checks,
}

/// Text after a UTF-8 byte order mark and surrounding whitespace are removed.
fn trimmed_text(bytes: &[u8]) -> Option<&str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).ok().map(str::trim)
}

impl Run<'_> {
    async fn verify_url(&mut self, url: &str) {
        if !is_http_url(url) {
            self.checks.fail(
                codes::INPUT_UNREADABLE,
                format!("{} is not an http:// or https:// URL", fields::quote(url)),
            );
            return;
        }
        let fetched = match self.context.resolver.fetch(url, DocumentKind::Input).await {
            Ok(fetched) => fetched,
            Err(error @ FetchError::ExternalFetchDisabled { .. }) => {
                self.checks.fail(error.code(), error.to_string());
                return;
            }
            Err(error) => {
                self.checks.fail(
                    codes::INPUT_UNREADABLE,
                    format!("the input could not be fetched: {error}"),
                );
                return;
            }
        };
        if fetched.status != 200 {
            // 410 means revoked, as for a hosted assertion or a baked image that is no longer
            // served. 404 and 5xx explain why the badge cannot be verified.
            if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&fetched.body)
                && has_type(&body, "Assertion")
            {
                self.checks.set_format(Format::Ob2Hosted);
                self.checks.set_id(url);
            }
            if fetched.status == 410 {
                self.gone(url, &fetched);
            } else if let Err(failure) =
                resolve::check_status(&fetched, "the badge", codes::NOT_FOUND)
            {
                failure.record(&mut self.checks);
            }
            return;
        }
        let is_json_ld = fetched
            .media_type
            .as_deref()
            .is_some_and(|media_type| DocumentKind::JsonLd.allows_media_type(media_type));
        if is_json_ld
            && let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(&fetched.body)
            && has_type(&document, "Assertion")
            && ob2::VerificationType::of(&document) == Some(ob2::VerificationType::Hosted)
        {
            // The URL of a hosted assertion: this response is the hosted copy.
            self.verify_hosted(url, None, Some(fetched)).await;
            return;
        }
        let declared = fetched.media_type.as_deref().and_then(declared_image_kind);
        self.verify_bytes(&fetched.body, declared, false).await;
    }

    /// Verifies bytes. When they are only a badge URL and `follow_url` is set, returns that
    /// URL for the caller to verify (a URL whose body is a URL is not followed).
    async fn verify_bytes(
        &mut self,
        bytes: &[u8],
        declared: Option<ImageKind>,
        follow_url: bool,
    ) -> Option<String> {
        if bytes.is_empty() {
            self.checks
                .fail(codes::EMPTY_BODY, "the input is empty (0 bytes)");
            return None;
        }
        if baking::sniff(bytes).is_some() {
            self.verify_image(baking::unbake(bytes)).await;
            return None;
        }
        if let Some(text) = trimmed_text(bytes) {
            if text.starts_with('{') || text.starts_with('[') {
                self.verify_json_text(text, None, None).await;
                return None;
            }
            if jws::looks_like_jws(text) {
                self.verify_jws_text(text, None).await;
                return None;
            }
            if is_http_url(text) && !text.contains(char::is_whitespace) {
                if follow_url {
                    return Some(text.to_owned());
                }
                self.checks.fail(
                    codes::UNSUPPORTED_INPUT,
                    format!("the document is only the URL {text}; give that URL instead"),
                );
                return None;
            }
        }
        // Not a PNG, SVG, JSON, JWS or URL: let the baker describe it, as the type it was
        // declared to be when there is one.
        let result = match declared {
            Some(ImageKind::Png) => baking::png::unbake(bytes),
            Some(ImageKind::Svg) => baking::svg::unbake(bytes),
            None => baking::unbake(bytes),
        };
        match result {
            Err(UnbakeError::Image(baking::ImageError::UnsupportedImageType { detected })) => {
                self.checks.fail(
                    codes::UNSUPPORTED_INPUT,
                    format!(
                        "the input is {detected}: send a PNG or SVG badge image, Open Badges JSON, a compact JWS or a badge URL"
                    ),
                );
            }
            Err(error) => self.checks.fail(error.code(), error.to_string()),
            Ok(_) => self.checks.fail(
                codes::UNSUPPORTED_INPUT,
                "the input is neither a PNG or SVG badge image, Open Badges JSON, a compact JWS nor a badge URL",
            ),
        }
        None
    }

    async fn verify_image(&mut self, unbaked: Result<Option<baking::Unbaked>, UnbakeError>) {
        let unbaked = match unbaked {
            Ok(Some(unbaked)) => unbaked,
            Ok(None) => {
                self.checks.fail(
                    codes::NO_BADGE_DATA,
                    "the image is valid but carries no Open Badges data (no openbadges or openbadgecredential iTXt chunk, no openbadges:assertion or openbadges:credential element), so there is no badge to verify",
                );
                return;
            }
            Err(error) => {
                self.checks.fail(error.code(), error.to_string());
                return;
            }
        };
        let kind = match unbaked.kind {
            PayloadKind::Json => "JSON",
            PayloadKind::Jws => "a compact JWS",
            PayloadKind::Url => "a hosted assertion URL",
        };
        self.checks.pass(
            codes::IMAGE_UNBAKED,
            format!("the image carries {} data: {kind}", unbaked.format),
        );
        for warning in &unbaked.warnings {
            match warning {
                // Reported below, from the content itself.
                UnbakeWarning::FormatMismatch { .. } => {}
                warning => self.checks.warn(warning.code(), warning.to_string()),
            }
        }
        let container = Some(unbaked.format);
        match unbaked.kind {
            PayloadKind::Json => {
                self.verify_json_text(&unbaked.text, container, unbaked.verify_url.as_deref())
                    .await;
            }
            PayloadKind::Jws => self.verify_jws_text(&unbaked.text, container).await,
            PayloadKind::Url => {
                if unbaked.format == BadgeFormat::V3 {
                    self.format_mismatch(BadgeFormat::V3, BadgeFormat::V2);
                    return;
                }
                self.verify_hosted(&unbaked.text, None, None).await;
            }
        }
    }

    fn format_mismatch(&mut self, container: BadgeFormat, content: BadgeFormat) {
        self.checks.fail(
            codes::BADGE_FORMAT_MISMATCH,
            format!(
                "the image's {container} container holds {content} data; each version has its own PNG keyword and SVG element, so the badge was baked wrongly"
            ),
        );
    }

    /// Fails when `container` names another version than `content`; returns whether they agree.
    fn container_agrees(&mut self, container: Option<BadgeFormat>, content: BadgeFormat) -> bool {
        match container {
            Some(container) if container != content => {
                self.format_mismatch(container, content);
                false
            }
            _ => true,
        }
    }

    async fn verify_json_text(
        &mut self,
        text: &str,
        container: Option<BadgeFormat>,
        verify_url: Option<&str>,
    ) {
        let document = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(document)) => document,
            Ok(other) => {
                self.checks.fail(
                    codes::NOT_AN_OPEN_BADGES_OBJECT,
                    format!(
                        "the JSON is {}, not an Open Badges assertion or credential object",
                        kind_of(&other)
                    ),
                );
                return;
            }
            Err(error) => {
                self.checks.fail(
                    codes::INVALID_JSON,
                    format!("the input is not valid JSON: {error}"),
                );
                return;
            }
        };
        match classify(&document) {
            Some(BadgeFormat::V2) => {
                if !self.container_agrees(container, BadgeFormat::V2) {
                    return;
                }
                self.verify_assertion_json(&document, verify_url).await;
            }
            Some(BadgeFormat::V3) => {
                if !self.container_agrees(container, BadgeFormat::V3) {
                    return;
                }
                self.verify_credential_json(&document).await;
            }
            None => self.not_an_open_badges_object(&document),
        }
    }

    async fn verify_assertion_json(&mut self, document: &Object, verify_url: Option<&str>) {
        let id = document.get("id").and_then(Value::as_str);
        match ob2::VerificationType::of(document) {
            Some(ob2::VerificationType::Signed) => {
                self.checks.set_format(Format::Ob2Signed);
                if let Some(id) = id {
                    self.checks.set_id(id);
                }
                ob2::check_assertion(self, document, "the signed assertion");
                self.checks.fail(
                    codes::NO_PROOF,
                    "this is the JSON of a SignedBadge assertion without its signature; verify the compact JWS (the .jws file, or a baked image) instead",
                );
            }
            _ => {
                // Hosted, or no readable verification: the hosted URL decides.
                if let (Some(verify_url), Some(id)) = (verify_url, id)
                    && verify_url != id
                {
                    self.checks.set_format(Format::Ob2Hosted);
                    self.checks.set_id(id);
                    self.checks.fail(
                        codes::HOSTED_ID_MISMATCH,
                        format!(
                            "the SVG's verify attribute names {verify_url}, but the assertion's id is {}; both must be the hosted assertion's URL",
                            fields::quote(id)
                        ),
                    );
                    return;
                }
                match verify_url.or(id) {
                    Some(url) => self.verify_hosted(url, Some(document), None).await,
                    None => {
                        self.checks.set_format(Format::Ob2Hosted);
                        ob2::check_assertion(self, document, "the assertion");
                    }
                }
            }
        }
    }

    async fn verify_jws_text(&mut self, text: &str, container: Option<BadgeFormat>) {
        let jws = match jws::parse(text) {
            Ok(jws) => jws,
            Err(reason) => {
                self.checks.fail(
                    codes::INVALID_JWS,
                    format!("the input is not a compact JWS: {reason}"),
                );
                return;
            }
        };
        let Value::Object(payload) = &jws.payload else {
            return;
        };
        let wrapped = payload
            .get("vc")
            .and_then(Value::as_object)
            .is_some_and(|vc| classify(vc) == Some(BadgeFormat::V3));
        let format = if wrapped {
            Some(BadgeFormat::V3)
        } else {
            classify(payload)
        };
        match format {
            Some(BadgeFormat::V2) => {
                if self.container_agrees(container, BadgeFormat::V2) {
                    self.verify_signed_assertion(&jws).await;
                }
            }
            Some(BadgeFormat::V3) => {
                if self.container_agrees(container, BadgeFormat::V3) {
                    self.verify_vc_jwt(&jws, wrapped).await;
                }
            }
            None => {
                let payload = payload.clone();
                self.not_an_open_badges_object(&payload);
            }
        }
    }

    fn not_an_open_badges_object(&mut self, document: &Object) {
        let reason = if document.is_empty() {
            "the JSON object is empty".to_owned()
        } else {
            match document.get("type") {
                Some(kind) => format!(
                    "its type {} names neither an Assertion nor an OpenBadgeCredential",
                    preview(kind)
                ),
                None => "it has no type".to_owned(),
            }
        };
        self.checks.fail(
            codes::NOT_AN_OPEN_BADGES_OBJECT,
            format!(
                "{reason}; an Open Badges 2.0 assertion has type Assertion, and an Open Badges 3.0 credential has type VerifiableCredential and OpenBadgeCredential"
            ),
        );
    }
}

/// Tells a 2.0 assertion from a 3.0 credential by `type`.
fn classify(document: &Object) -> Option<BadgeFormat> {
    if has_type(document, "Assertion") {
        Some(BadgeFormat::V2)
    } else if [
        "VerifiableCredential",
        "OpenBadgeCredential",
        "AchievementCredential",
    ]
    .iter()
    .any(|name| has_type(document, name))
    {
        Some(BadgeFormat::V3)
    } else {
        None
    }
}
