//! Open Badges 2.0 hosted verification: the assertion URL is the source of truth, so it is
//! fetched again whatever copy was handed in, and the fetched copy is the one checked.
//!
//! The URL returns 200 with the assertion, whose `id` must be that URL; 410 Gone (with or
//! without the reduced body) or `revoked: true` means revoked; 404 is `not_found` and 5xx
//! `unverifiable_try_later`, never valid. Then the BadgeClass and the issuer Profile are
//! resolved, and the assertion must fall inside the issuer's verification scope.

use serde_json::Value;

use super::Run;
use super::codes;
use super::fields::{Object, quote};
use super::ob2::{self, VerificationType};
use super::report::Format;
use super::resolve::{
    DocumentKind, Fetched, check_media_type, check_status, is_http_url, parse_object,
};

impl Run<'_> {
    /// Verifies the hosted assertion at `url`. `handed` is the copy that came with the input
    /// (baked JSON, an uploaded file); `prefetched` is the response when the input itself was
    /// this URL.
    pub(crate) async fn verify_hosted(
        &mut self,
        url: &str,
        handed: Option<&Object>,
        prefetched: Option<Fetched>,
    ) {
        self.checks.set_format(Format::Ob2Hosted);
        self.checks.set_id(url);
        if !is_http_url(url) {
            self.checks.fail(
                codes::INVALID_FIELD,
                format!(
                    "the hosted assertion's id {} is not an http(s) URL, so it cannot be fetched from its issuer",
                    quote(url)
                ),
            );
            return;
        }

        let fetched = match prefetched {
            Some(fetched) => fetched,
            None => match self.context.resolver.fetch(url, DocumentKind::JsonLd).await {
                Ok(fetched) => fetched,
                Err(error) => {
                    self.checks.fail(
                        error.code(),
                        format!("the hosted assertion could not be fetched: {error}"),
                    );
                    return;
                }
            },
        };
        let Some(document) = self.read_hosted_response(url, &fetched) else {
            return;
        };

        if let Some(handed) = handed
            && handed != &document
        {
            self.checks.warn(
                codes::HOSTED_COPY_DIFFERS,
                format!(
                    "the copy given differs from the one hosted at {url}; the hosted copy is the one checked"
                ),
            );
        }

        let Some(assertion) = ob2::check_assertion(self, &document, "the hosted assertion") else {
            return;
        };
        if assertion.verification != Some(VerificationType::Hosted) {
            self.checks.fail(
                codes::INVALID_FIELD,
                "the hosted assertion's verification type is not HostedBadge, so it cannot be verified by its URL",
            );
            return;
        }
        let Some((badge, issuer)) = ob2::resolve_badge_and_issuer(self, &assertion).await else {
            return;
        };
        ob2::check_scope(self, &assertion.id, &badge.id, &issuer);
        ob2::check_expiry(self, assertion.expires);
        ob2::check_recipient(self, &assertion);
    }

    /// Reads the response of the hosted URL: 410 and `revoked: true` fail as revoked, other
    /// statuses by [`check_status`]. Returns the document of a live assertion whose `id` is
    /// the URL.
    fn read_hosted_response(&mut self, url: &str, fetched: &Fetched) -> Option<Object> {
        if fetched.status == 410 {
            self.gone(url, fetched);
            return None;
        }
        if let Err(failure) = check_status(fetched, "the hosted assertion", codes::NOT_FOUND) {
            failure.record(&mut self.checks);
            return None;
        }
        if let Err(failure) =
            check_media_type(fetched, DocumentKind::JsonLd, "the hosted assertion")
        {
            failure.record(&mut self.checks);
            return None;
        }
        let document = match parse_object(&fetched.body, "the hosted assertion", url) {
            Ok(document) => document,
            Err(failure) => {
                failure.record(&mut self.checks);
                return None;
            }
        };
        if document.get("revoked") == Some(&Value::Bool(true)) {
            let reason = document.get("revocationReason").and_then(Value::as_str);
            self.checks.fail(
                codes::REVOKED,
                revoked_message(url, "is marked revoked: true", reason),
            );
            return None;
        }

        // After redirects, the document may name the URL it was finally served from.
        let id = document.get("id").and_then(Value::as_str);
        match id {
            Some(id) if id == url || id == fetched.url => {
                let how = if id == url {
                    format!("was fetched from {url}, and its id is that URL")
                } else {
                    format!("was fetched from {url} through redirects to its id {id}")
                };
                self.checks.set_id(id);
                self.checks.pass(
                    codes::HOSTED_ID_MATCHES,
                    format!("the hosted assertion {how}"),
                );
                self.checks.pass(
                    codes::NOT_REVOKED,
                    format!("the hosted assertion at {id} answers 200 and is not marked revoked"),
                );
                self.checks.prove();
                Some(document)
            }
            other => {
                let declared =
                    other.map_or_else(|| "no id".to_owned(), |id| format!("the id {}", quote(id)));
                self.checks.fail(
                    codes::HOSTED_ID_MISMATCH,
                    format!(
                        "the assertion fetched from {url} declares {declared}; a hosted assertion's id must be the URL it is served from"
                    ),
                );
                None
            }
        }
    }

    /// Records the revocation of a badge whose URL returns 410 Gone. The reduced body, with
    /// `revocationReason`, is optional: an empty or unreadable one is still a revocation.
    pub(crate) fn gone(&mut self, url: &str, fetched: &Fetched) {
        let reason = serde_json::from_slice::<Value>(&fetched.body)
            .ok()
            .and_then(|body| body.get("revocationReason")?.as_str().map(str::to_owned));
        self.checks.fail(
            codes::REVOKED,
            revoked_message(url, "answers 410 Gone", reason.as_deref()),
        );
    }
}

fn revoked_message(url: &str, how: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) if !reason.trim().is_empty() => {
            format!(
                "the hosted assertion at {url} {how}: it was revoked (reason: {})",
                quote(reason)
            )
        }
        _ => format!("the hosted assertion at {url} {how}: it was revoked (no reason given)"),
    }
}
