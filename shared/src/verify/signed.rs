//! Open Badges 2.0 signed verification: a compact JWS whose payload is the assertion.
//!
//! The key is the `CryptographicKey` named by `verification.creator`, which the issuer
//! Profile's `publicKey` must list and whose `owner` must be the issuer. Without `creator`,
//! each key the Profile lists is tried, and one that verifies is enough. Revocation is read
//! from the Profile's `RevocationList`. When that list cannot be fetched, the check is the
//! warning `revocation_status_unknown`, the same policy as for Open Badges 3.0 status lists.

use serde_json::Value;

use super::Run;
use super::codes;
use super::fields::{Fields, Object, preview, quote};
use super::jws::{self, CompactJws};
use super::ob2::{self, Issuer, KeyRef, VerificationType};
use super::report::Format;
use super::resolve::{DocumentKind, Failure, get_json};
use crate::keys::{PublicJwk, SigningAlgorithm};

/// The outcome of trying one key.
enum KeyOutcome {
    Verified,
    /// The key is usable and did not verify the signature.
    NotVerified,
    /// The key could not be used, for the failure's reason.
    Unusable(Failure),
}

impl Run<'_> {
    /// Verifies a signed Open Badges 2.0 assertion.
    pub(crate) async fn verify_signed_assertion(&mut self, jws: &CompactJws<'_>) {
        self.checks.set_format(Format::Ob2Signed);
        let Value::Object(payload) = &jws.payload else {
            return;
        };
        if let Some(id) = payload.get("id").and_then(Value::as_str) {
            self.checks.set_id(id);
        }
        let algorithm = jws::check_alg(&mut self.checks, &jws.header);

        let Some(assertion) = ob2::check_assertion(self, payload, "the signed assertion") else {
            return;
        };
        if assertion.verification != Some(VerificationType::Signed) {
            self.checks.fail(
                codes::INVALID_FIELD,
                "the signed assertion's verification type is not SignedBadge; a JWS must carry a SignedBadge assertion",
            );
            return;
        }
        let Some((_, issuer)) = ob2::resolve_badge_and_issuer(self, &assertion).await else {
            return;
        };
        if let Some(algorithm) = algorithm {
            self.check_assertion_signature(jws, algorithm, assertion.creator.as_deref(), &issuer)
                .await;
        }
        if assertion.revoked {
            let reason = assertion.revocation_reason.as_deref().map_or_else(
                || "no reason given".to_owned(),
                |reason| format!("reason: {}", quote(reason)),
            );
            self.checks.fail(
                codes::REVOKED,
                format!("the signed assertion is marked revoked: true ({reason})"),
            );
        } else {
            self.check_revocation_list(&assertion.id, &issuer).await;
        }
        ob2::check_expiry(self, assertion.expires);
        ob2::check_recipient(self, &assertion);
    }

    async fn check_assertion_signature(
        &mut self,
        jws: &CompactJws<'_>,
        algorithm: SigningAlgorithm,
        creator: Option<&str>,
        issuer: &Issuer,
    ) {
        if let Some(creator) = creator {
            if !issuer
                .public_keys
                .iter()
                .any(|key| key_url(key) == Some(creator))
            {
                self.checks.fail(
                    codes::KEY_NOT_LINKED,
                    format!(
                        "the creator key {creator} is not listed in the publicKey of the issuer Profile {}; verifiers ignore keys the issuer does not link",
                        issuer.id
                    ),
                );
                return;
            }
            match self.try_key(jws, algorithm, &KeyRef::Url(creator.to_owned()), issuer).await {
                KeyOutcome::Verified => self.signature_valid(&format!("the creator key {creator}")),
                KeyOutcome::NotVerified => self.checks.fail(
                    codes::SIGNATURE_INVALID,
                    format!(
                        "the signature does not verify with the creator key {creator}: the assertion was changed after signing, or another key signed it"
                    ),
                ),
                KeyOutcome::Unusable(failure) => failure.record(&mut self.checks),
            }
            return;
        }

        if issuer.public_keys.is_empty() {
            self.checks.fail(
                codes::KEY_NOT_LINKED,
                format!(
                    "the assertion names no creator key and the issuer Profile {} lists no publicKey, so no key can check the signature",
                    issuer.id
                ),
            );
            return;
        }
        let mut failures = Vec::new();
        let mut not_verified = Vec::new();
        for key in &issuer.public_keys {
            let name = key_name(key);
            match self.try_key(jws, algorithm, key, issuer).await {
                KeyOutcome::Verified => {
                    self.signature_valid(&format!("the issuer's key {name}"));
                    return;
                }
                KeyOutcome::NotVerified => not_verified.push(name),
                KeyOutcome::Unusable(failure) => failures.push(failure),
            }
        }
        if not_verified.is_empty() {
            // No key was usable: report why each one failed.
            for failure in failures {
                failure.record(&mut self.checks);
            }
        } else {
            self.checks.fail(
                codes::SIGNATURE_INVALID,
                format!(
                    "the signature verifies with none of the issuer's keys ({}); the assertion was changed after signing, or another key signed it",
                    not_verified.join(", ")
                ),
            );
        }
    }

    fn signature_valid(&mut self, key: &str) {
        self.checks.pass(
            codes::SIGNATURE_VALID,
            format!("the JWS signature verifies with {key}"),
        );
        self.checks.prove();
    }

    /// Reads one key (fetching it by URL), checks that the issuer owns it, and tries it.
    async fn try_key(
        &self,
        jws: &CompactJws<'_>,
        algorithm: SigningAlgorithm,
        key: &KeyRef,
        issuer: &Issuer,
    ) -> KeyOutcome {
        let document = match key {
            KeyRef::Url(url) => {
                match get_json(
                    self.context.resolver,
                    url,
                    DocumentKind::JsonLd,
                    "the CryptographicKey",
                    codes::NOT_FOUND,
                )
                .await
                {
                    Ok(document) => document,
                    Err(failure) => return KeyOutcome::Unusable(failure),
                }
            }
            KeyRef::Embedded(object) => object.clone(),
        };
        let public = match read_cryptographic_key(&document, key, issuer) {
            Ok(public) => public,
            Err(failure) => return KeyOutcome::Unusable(failure),
        };
        match jws::verify_signature(jws, algorithm, &public) {
            Ok(true) => KeyOutcome::Verified,
            Ok(false) => KeyOutcome::NotVerified,
            Err(reason) => KeyOutcome::Unusable(Failure::new(
                codes::INVALID_KEY,
                format!("the key {} cannot be used: {reason}", key_name(key)),
            )),
        }
    }

    async fn check_revocation_list(&mut self, assertion_id: &str, issuer: &Issuer) {
        let Some(list) = &issuer.revocation_list else {
            self.checks.pass(
                codes::REVOCATION_NOT_PUBLISHED,
                format!(
                    "the issuer Profile {} names no revocationList, so this signed assertion cannot be revoked",
                    issuer.id
                ),
            );
            return;
        };
        let (document, name) = match list {
            Value::String(url) => {
                match get_json(
                    self.context.resolver,
                    url,
                    DocumentKind::JsonLd,
                    "the RevocationList",
                    codes::NOT_FOUND,
                )
                .await
                {
                    Ok(document) => (document, url.clone()),
                    Err(failure) => {
                        self.checks.warn(
                            codes::REVOCATION_STATUS_UNKNOWN,
                            format!("revocation is unknown: {}", failure.message),
                        );
                        return;
                    }
                }
            }
            Value::Object(object) => (object.clone(), "embedded in the issuer Profile".to_owned()),
            _ => return,
        };
        let Some(entries) = document.get("revokedAssertions").and_then(Value::as_array) else {
            self.checks.warn(
                codes::REVOCATION_STATUS_UNKNOWN,
                format!("revocation is unknown: the RevocationList {name} has no revokedAssertions array"),
            );
            return;
        };
        let revoked = entries.iter().find_map(|entry| match entry {
            Value::String(id) if id == assertion_id => Some(None),
            Value::Object(entry)
                if entry.get("id").and_then(Value::as_str) == Some(assertion_id) =>
            {
                Some(entry.get("revocationReason").and_then(Value::as_str))
            }
            _ => None,
        });
        match revoked {
            Some(reason) => self.checks.fail(
                codes::REVOKED,
                format!(
                    "the RevocationList {name} lists the assertion {assertion_id} as revoked ({})",
                    reason.map_or_else(
                        || "no reason given".to_owned(),
                        |reason| format!("reason: {}", quote(reason))
                    )
                ),
            ),
            None => self.checks.pass(
                codes::NOT_REVOKED,
                format!("the RevocationList {name} does not list the assertion {assertion_id}"),
            ),
        }
    }
}

fn key_url(key: &KeyRef) -> Option<&str> {
    match key {
        KeyRef::Url(url) => Some(url),
        KeyRef::Embedded(object) => object.get("id").and_then(Value::as_str),
    }
}

fn key_name(key: &KeyRef) -> String {
    key_url(key).map_or_else(
        || "embedded in the issuer Profile".to_owned(),
        str::to_owned,
    )
}

/// Checks a CryptographicKey document: its type, its id (the URL it came from), its owner
/// (the issuer) and its PEM.
fn read_cryptographic_key(
    document: &Object,
    key: &KeyRef,
    issuer: &Issuer,
) -> Result<PublicJwk, Failure> {
    let name = key_name(key);
    let mut checks = super::report::Checks::default();
    let mut fields = Fields::new(document, format!("the CryptographicKey {name}"), ob2::SPEC);
    fields.type_names(&mut checks, &["CryptographicKey"]);
    let owner = fields.string(&mut checks, "owner");
    let pem = fields.string(&mut checks, "publicKeyPem");
    if !fields.is_valid() {
        let message = checks
            .into_report()
            .checks
            .into_iter()
            .map(|check| check.message)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Failure::new(codes::INVALID_KEY, message));
    }
    if let KeyRef::Url(url) = key
        && document.get("id").and_then(Value::as_str) != Some(url.as_str())
    {
        return Err(Failure::new(
            codes::DOCUMENT_ID_MISMATCH,
            format!(
                "the CryptographicKey fetched from {url} declares the id {}; a fetched document's id must be its URL",
                document
                    .get("id")
                    .map_or_else(|| "none".to_owned(), preview)
            ),
        ));
    }
    let (Some(owner), Some(pem)) = (owner, pem) else {
        return Err(Failure::new(
            codes::INVALID_KEY,
            format!("the CryptographicKey {name} is incomplete"),
        ));
    };
    if owner != issuer.id {
        return Err(Failure::new(
            codes::KEY_OWNER_MISMATCH,
            format!(
                "the key {name} is owned by {}, not by the issuer {}; a key proves nothing for an issuer that does not own it",
                quote(owner),
                issuer.id
            ),
        ));
    }
    jws::key_from_pem(pem).map_err(|reason| {
        Failure::new(
            codes::INVALID_KEY,
            format!("the key {name} cannot be used: {reason}"),
        )
    })
}
