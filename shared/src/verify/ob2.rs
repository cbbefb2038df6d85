//! Open Badges 2.0 documents as a verifier reads them: the assertion, its BadgeClass and
//! issuer Profile (embedded or fetched), the hosted verification scope, expiry and the
//! recipient. Shared by hosted ([`super::hosted`]) and signed ([`super::signed`]) checks.

use serde_json::Value;

use super::Run;
use super::codes;
use super::fields::{Fields, Object, preview, quote, reference_id};
use super::recipient::{self, Identity};
use super::resolve::{DocumentKind, fetch_json};
use super::timestamp::{self, Leniency};
use crate::domain::Timestamp;
use crate::openbadges::v2::CONTEXT;

/// The specification named in messages.
pub(crate) const SPEC: &str = "Open Badges 2.0";

/// The verification method that an assertion declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerificationType {
    Hosted,
    Signed,
}

impl VerificationType {
    /// Reads `verification.type` (or the 1.1 alias `verify.type`).
    pub(crate) fn of(assertion: &Object) -> Option<VerificationType> {
        let verification = assertion
            .get("verification")
            .or_else(|| assertion.get("verify"))?
            .as_object()?;
        match verification.get("type")?.as_str()? {
            "HostedBadge" | "hosted" => Some(VerificationType::Hosted),
            "SignedBadge" | "signed" => Some(VerificationType::Signed),
            _ => None,
        }
    }
}

/// The recipient identity of an assertion.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    pub kind: String,
    pub identity: String,
    pub hashed: bool,
    pub salt: Option<String>,
}

/// The parts of an assertion that the checks read.
#[derive(Debug, Clone)]
pub(crate) struct Assertion {
    pub id: String,
    pub badge: Value,
    pub recipient: Option<Recipient>,
    pub verification: Option<VerificationType>,
    pub creator: Option<String>,
    pub expires: Option<Timestamp>,
    pub revoked: bool,
    pub revocation_reason: Option<String>,
}

/// A BadgeClass that passed its checks.
#[derive(Debug, Clone)]
pub(crate) struct BadgeClass {
    pub id: String,
    pub issuer: Value,
}

/// A reference to a key: the URL of a CryptographicKey, or an embedded one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyRef {
    Url(String),
    Embedded(Object),
}

/// The issuer's verification policy for hosted assertions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub allowed_origins: Vec<String>,
    pub starts_with: Vec<String>,
}

/// An issuer Profile that passed its checks.
#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    pub id: String,
    pub public_keys: Vec<KeyRef>,
    pub revocation_list: Option<Value>,
    pub policy: Policy,
}

/// Checks that `@context` is (or, in a list, contains) the Open Badges 2.0 context.
pub(crate) fn check_context(run: &mut Run<'_>, document: &Object, what: &str) -> bool {
    let valid = match document.get("@context") {
        Some(Value::String(context)) => context == CONTEXT,
        Some(Value::Array(items)) => items.iter().any(|item| item.as_str() == Some(CONTEXT)),
        _ => false,
    };
    if !valid {
        let found = document
            .get("@context")
            .map_or_else(|| "none".to_owned(), preview);
        run.checks.fail(
            codes::INVALID_CONTEXT,
            format!("{what} has @context {found}; {SPEC} documents use {CONTEXT:?}"),
        );
    }
    valid
}

/// Reads an Open Badges 2.0 timestamp, warning about the lenient forms.
fn timestamp_field(
    run: &mut Run<'_>,
    fields: &mut Fields<'_>,
    name: &str,
    value: &Value,
) -> Option<Timestamp> {
    match timestamp::parse_value(value) {
        Ok((at, leniency)) => {
            let what = format!("{}'s {name} {}", fields.what(), preview(value));
            match leniency {
                Leniency::Exact => {}
                Leniency::NoZone => run.checks.warn(
                    codes::TIMESTAMP_WITHOUT_ZONE,
                    format!("{what} has no time zone, so it was read as UTC ({at})"),
                ),
                Leniency::DateOnly => run.checks.warn(
                    codes::TIMESTAMP_DATE_ONLY,
                    format!(
                        "{what} is a date without a time, so it was read as midnight UTC ({at})"
                    ),
                ),
                Leniency::EpochNumber => run.checks.warn(
                    codes::TIMESTAMP_EPOCH_NUMBER,
                    format!("{what} is a Unix time number (the 1.0 form), read as {at}"),
                ),
            }
            Some(at)
        }
        Err(reason) => {
            fields.count_failure();
            run.checks.fail(
                codes::INVALID_TIMESTAMP,
                format!("{}'s {name} is invalid: {reason}", fields.what()),
            );
            None
        }
    }
}

/// Checks an assertion's structure. A top-level document must carry the context; `what`
/// names it in messages.
pub(crate) fn check_assertion(
    run: &mut Run<'_>,
    document: &Object,
    what: &str,
) -> Option<Assertion> {
    let mut fields = Fields::new(document, what, SPEC);
    if !check_context(run, document, what) {
        fields.count_failure();
    }
    let id = fields.iri(&mut run.checks, "id");
    fields.type_names(&mut run.checks, &["Assertion"]);
    let recipient = check_recipient_object(run, &mut fields);
    let badge = fields.reference(&mut run.checks, "badge").cloned();

    let verification = match document
        .get("verification")
        .or_else(|| document.get("verify"))
    {
        None | Some(Value::Null) => {
            fields.missing(&mut run.checks, "verification");
            None
        }
        Some(value) => match VerificationType::of(document) {
            Some(kind) => Some(kind),
            None => {
                fields.invalid(
                    &mut run.checks,
                    "verification",
                    format!(
                        "is {}; its type must be HostedBadge or SignedBadge",
                        preview(value)
                    ),
                );
                None
            }
        },
    };
    let creator = document
        .get("verification")
        .and_then(|verification| verification.get("creator"));
    let creator = match creator {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) if super::resolve::is_http_url(url) => Some(url.clone()),
        Some(other) => {
            fields.invalid(
                &mut run.checks,
                "verification.creator",
                format!(
                    "is {}, not the http(s) URL of a CryptographicKey",
                    preview(other)
                ),
            );
            None
        }
    };

    if let Some(issued_on) = fields.required(&mut run.checks, "issuedOn") {
        timestamp_field(run, &mut fields, "issuedOn", issued_on);
    }
    let expires = match document.get("expires") {
        None | Some(Value::Null) => None,
        Some(value) => timestamp_field(run, &mut fields, "expires", value),
    };
    let revoked = match document.get("revoked") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(revoked)) => *revoked,
        Some(other) => {
            fields.invalid(
                &mut run.checks,
                "revoked",
                format!("is {}, not a boolean", preview(other)),
            );
            false
        }
    };
    let revocation_reason = fields
        .optional_string(&mut run.checks, "revocationReason")
        .map(str::to_owned);

    let id = id?.to_owned();
    let badge = badge?;
    if !fields.finish(&mut run.checks) {
        return None;
    }
    Some(Assertion {
        id,
        badge,
        recipient,
        verification,
        creator,
        expires,
        revoked,
        revocation_reason,
    })
}

fn check_recipient_object(run: &mut Run<'_>, fields: &mut Fields<'_>) -> Option<Recipient> {
    let value = fields.required(&mut run.checks, "recipient")?;
    let Some(object) = value.as_object() else {
        fields.invalid(
            &mut run.checks,
            "recipient",
            format!("is {}, not an IdentityObject", preview(value)),
        );
        return None;
    };
    let mut recipient = Fields::new(object, format!("{}'s recipient", fields.what()), SPEC);
    let identity = recipient.string(&mut run.checks, "identity");
    let kind = recipient.string(&mut run.checks, "type");
    let hashed = match recipient.required(&mut run.checks, "hashed") {
        Some(Value::Bool(hashed)) => Some(*hashed),
        Some(other) => {
            recipient.invalid(
                &mut run.checks,
                "hashed",
                format!("is {}, not a boolean", preview(other)),
            );
            None
        }
        None => None,
    };
    let salt = recipient
        .optional_string(&mut run.checks, "salt")
        .map(str::to_owned);
    if !recipient.is_valid() {
        fields.count_failure();
        return None;
    }
    Some(Recipient {
        kind: kind?.to_owned(),
        identity: identity?.to_owned(),
        hashed: hashed?,
        salt,
    })
}

/// Checks a BadgeClass. A fetched one (`url` is its URL) must carry the context and declare
/// that URL as its `id`.
fn check_badge_class(
    run: &mut Run<'_>,
    document: &Object,
    url: Option<&str>,
) -> Option<BadgeClass> {
    let what = match url {
        Some(url) => format!("the BadgeClass {url}"),
        None => "the embedded BadgeClass".to_owned(),
    };
    let mut fields = Fields::new(document, what.clone(), SPEC);
    if url.is_some() && !check_context(run, document, &what) {
        fields.count_failure();
    }
    let id = fields.iri(&mut run.checks, "id");
    fields.type_names(&mut run.checks, &["BadgeClass"]);
    fields.string(&mut run.checks, "name");
    fields.string(&mut run.checks, "description");
    if let Some(image) = fields.required(&mut run.checks, "image")
        && reference_id(image).is_none()
    {
        fields.invalid(
            &mut run.checks,
            "image",
            format!("is {}, not an IRI or an Image object", preview(image)),
        );
    }
    fields.reference(&mut run.checks, "criteria");
    let issuer = fields.reference(&mut run.checks, "issuer").cloned();
    if let (Some(url), Some(id)) = (url, id)
        && id != url
    {
        fields.count_failure();
        run.checks.fail(
            codes::DOCUMENT_ID_MISMATCH,
            format!(
                "{what} declares the id {}; a fetched document's id must be its URL",
                quote(id)
            ),
        );
    }
    let id = id?.to_owned();
    if !fields.finish(&mut run.checks) {
        return None;
    }
    Some(BadgeClass {
        id,
        issuer: issuer?,
    })
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks an issuer Profile (`type` Issuer or Profile; `id`, `name`, `url`, `email`).
fn check_issuer(run: &mut Run<'_>, document: &Object, url: Option<&str>) -> Option<Issuer> {
    let what = match url {
        Some(url) => format!("the issuer Profile {url}"),
        None => "the embedded issuer Profile".to_owned(),
    };
    let mut fields = Fields::new(document, what.clone(), SPEC);
    if url.is_some() && !check_context(run, document, &what) {
        fields.count_failure();
    }
    let id = fields.iri(&mut run.checks, "id");
    fields.type_names(&mut run.checks, &["Issuer", "Profile"]);
    fields.string(&mut run.checks, "name");
    fields.string(&mut run.checks, "url");
    fields.string(&mut run.checks, "email");

    let mut public_keys = Vec::new();
    let keys: Vec<&Value> = match document.get("publicKey") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    for key in keys {
        match key {
            Value::String(url) => public_keys.push(KeyRef::Url(url.clone())),
            Value::Object(object) => public_keys.push(KeyRef::Embedded(object.clone())),
            other => fields.invalid(
                &mut run.checks,
                "publicKey",
                format!(
                    "holds {}, not a key URL or a CryptographicKey",
                    preview(other)
                ),
            ),
        }
    }
    let revocation_list = match document.get("revocationList") {
        None | Some(Value::Null) => None,
        Some(value @ (Value::String(_) | Value::Object(_))) => Some(value.clone()),
        Some(other) => {
            fields.invalid(
                &mut run.checks,
                "revocationList",
                format!("is {}, not a URL or a RevocationList", preview(other)),
            );
            None
        }
    };
    let policy = match document.get("verification").and_then(Value::as_object) {
        Some(verification) => Policy {
            allowed_origins: string_list(verification.get("allowedOrigins")),
            starts_with: string_list(verification.get("startsWith")),
        },
        None => Policy::default(),
    };
    if let (Some(url), Some(id)) = (url, id)
        && id != url
    {
        fields.count_failure();
        run.checks.fail(
            codes::DOCUMENT_ID_MISMATCH,
            format!(
                "{what} declares the id {}; a fetched document's id must be its URL",
                quote(id)
            ),
        );
    }
    let id = id?.to_owned();
    if !fields.finish(&mut run.checks) {
        return None;
    }
    Some(Issuer {
        id,
        public_keys,
        revocation_list,
        policy,
    })
}

/// Resolves the assertion's BadgeClass and its issuer, fetching what is given by URL.
pub(crate) async fn resolve_badge_and_issuer(
    run: &mut Run<'_>,
    assertion: &Assertion,
) -> Option<(BadgeClass, Issuer)> {
    let resolver = run.context.resolver;
    let badge = match &assertion.badge {
        Value::String(url) => {
            let document = fetch_json(
                resolver,
                &mut run.checks,
                url,
                DocumentKind::JsonLd,
                "the BadgeClass",
                codes::NOT_FOUND,
            )
            .await?;
            check_badge_class(run, &document, Some(url))?
        }
        Value::Object(object) => check_badge_class(run, object, None)?,
        _ => return None,
    };
    let issuer = match &badge.issuer {
        Value::String(url) => {
            let document = fetch_json(
                resolver,
                &mut run.checks,
                url,
                DocumentKind::JsonLd,
                "the issuer Profile",
                codes::NOT_FOUND,
            )
            .await?;
            check_issuer(run, &document, Some(url))?
        }
        Value::Object(object) => check_issuer(run, object, None)?,
        _ => return None,
    };
    Some((badge, issuer))
}

/// Returns the authority (host and port, with the scheme's default port filled in) of an
/// http(s) URL.
fn authority(url: &str) -> Option<(String, String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    let port = parsed.port_or_known_default()?;
    Some((parsed.scheme().to_owned(), host, port))
}

/// Checks that a hosted assertion's id (and its BadgeClass's id) fall inside the issuer's
/// verification policy: by default the issuer Profile id's host and port; `allowedOrigins`
/// replaces that with a list of host names, and `startsWith` narrows it to URL prefixes.
pub(crate) fn check_scope(run: &mut Run<'_>, assertion_id: &str, badge_id: &str, issuer: &Issuer) {
    let mut failures = Vec::new();
    for (what, id) in [("assertion", assertion_id), ("BadgeClass", badge_id)] {
        if let Some(reason) = out_of_scope(id, issuer) {
            failures.push(format!("the {what} id {id} {reason}"));
        }
    }
    if failures.is_empty() {
        let rule =
            if issuer.policy.allowed_origins.is_empty() && issuer.policy.starts_with.is_empty() {
                format!("on the same host as the issuer {}", issuer.id)
            } else {
                "inside the issuer Profile's verification policy".to_owned()
            };
        run.checks.pass(
            codes::IN_VERIFICATION_SCOPE,
            format!("the assertion and its BadgeClass are {rule}"),
        );
    } else {
        run.checks.fail(
            codes::VERIFICATION_SCOPE,
            format!(
                "{}; a hosted badge must be served from the issuer's own origin (or one its Profile allows), or anyone could host badges in its name",
                failures.join("; ")
            ),
        );
    }
}

fn out_of_scope(id: &str, issuer: &Issuer) -> Option<String> {
    let Some((_, host, port)) = authority(id) else {
        return Some("is not an http(s) URL".to_owned());
    };
    let policy = &issuer.policy;
    if policy.allowed_origins.is_empty() {
        let Some((_, issuer_host, issuer_port)) = authority(&issuer.id) else {
            return Some(format!(
                "cannot be tied to the issuer, whose id {} is not an http(s) URL and whose Profile allows no origins",
                issuer.id
            ));
        };
        if (host.as_str(), port) != (issuer_host.as_str(), issuer_port) {
            return Some(format!(
                "is on {host}:{port}, but the issuer {} is on {issuer_host}:{issuer_port}",
                issuer.id
            ));
        }
    } else {
        let with_port = format!("{host}:{port}");
        let allowed = policy.allowed_origins.iter().any(|origin| {
            let origin = origin.to_ascii_lowercase();
            origin == host || origin == with_port
        });
        if !allowed {
            return Some(format!(
                "is on {host}, which the issuer's allowedOrigins ({}) does not list",
                policy.allowed_origins.join(", ")
            ));
        }
    }
    if !policy.starts_with.is_empty()
        && !policy
            .starts_with
            .iter()
            .any(|prefix| id.starts_with(prefix.as_str()))
    {
        return Some(format!(
            "does not start with any of the issuer's startsWith prefixes ({})",
            policy.starts_with.join(", ")
        ));
    }
    None
}

/// Fails with `expired` when the assertion's `expires` has passed.
pub(crate) fn check_expiry(run: &mut Run<'_>, expires: Option<Timestamp>) {
    let now = run.context.now;
    match expires {
        Some(expires)
            if now.unix_seconds() >= expires.unix_seconds() + super::CLOCK_SKEW_SECONDS =>
        {
            run.checks.fail(
                codes::EXPIRED,
                format!("the assertion expired at {expires} (the time is now {now})"),
            );
        }
        Some(expires) => run.checks.pass(
            codes::WITHIN_VALIDITY_PERIOD,
            format!("the assertion has not expired (it expires at {expires})"),
        ),
        None => {}
    }
}

/// Checks the email given (if any) against the assertion's recipient.
pub(crate) fn check_recipient(run: &mut Run<'_>, assertion: &Assertion) {
    let Some(email) = run.context.email else {
        return;
    };
    let Some(recipient) = &assertion.recipient else {
        return;
    };
    if !recipient.kind.eq_ignore_ascii_case("email") {
        run.checks.fail(
            codes::RECIPIENT_MISMATCH,
            format!(
                "the recipient is identified by {}, not by an email address, so it cannot be matched with one",
                quote(&recipient.kind)
            ),
        );
        return;
    }
    recipient::check_email(
        &mut run.checks,
        email,
        Identity {
            value: &recipient.identity,
            hashed: recipient.hashed,
            salt: recipient.salt.as_deref(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(id: &str, allowed: &[&str], starts: &[&str]) -> Issuer {
        Issuer {
            id: id.to_owned(),
            public_keys: Vec::new(),
            revocation_list: None,
            policy: Policy {
                allowed_origins: allowed.iter().map(|s| (*s).to_owned()).collect(),
                starts_with: starts.iter().map(|s| (*s).to_owned()).collect(),
            },
        }
    }

    #[test]
    fn scope_rules() {
        let own = issuer("https://issuer.example/issuers/1", &[], &[]);
        assert!(out_of_scope("https://issuer.example/assertions/1", &own).is_none());
        assert!(out_of_scope("https://issuer.example:443/assertions/1", &own).is_none());
        assert!(out_of_scope("https://ISSUER.example/assertions/1", &own).is_none());
        assert!(out_of_scope("https://evil.example/assertions/1", &own).is_some());
        assert!(out_of_scope("https://issuer.example:8443/assertions/1", &own).is_some());
        assert!(out_of_scope("urn:uuid:1", &own).is_some());

        let allowed = issuer("https://issuer.example/i", &["badges.example"], &[]);
        assert!(out_of_scope("https://badges.example/a/1", &allowed).is_none());
        assert!(out_of_scope("https://issuer.example/a/1", &allowed).is_some());

        let narrowed = issuer(
            "https://issuer.example/i",
            &[],
            &["https://issuer.example/assertions/"],
        );
        assert!(out_of_scope("https://issuer.example/assertions/1", &narrowed).is_none());
        assert!(out_of_scope("https://issuer.example/other/1", &narrowed).is_some());

        let urn = issuer("urn:uuid:2", &[], &[]);
        assert!(out_of_scope("https://issuer.example/a", &urn).is_some());
    }
}
