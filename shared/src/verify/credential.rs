//! Open Badges 3.0 credentials: the VC-JWT proof, the registered claims, `@context`, the
//! required parts of the 1EdTech AchievementCredential schema, the validity window, the
//! 1EdTech revocation list and the recipient.
//!
//! The VC-JWT header may hold only `alg`, `kid` and `typ`. The specification also allows
//! an inline `jwk`, but a key that travels with the token proves nothing about who issued
//! it, so it is refused. `kid` must be an http(s) URL that returns the key as a bare JWK
//! (or a JWK Set holding it), and the key must belong to the issuer: its `iss` member, when
//! present, is the issuer's id, and otherwise the `kid` URL is on the issuer id's host.

use serde_json::Value;

use super::codes;
use super::fields::{Fields, Object, has_type, preview, quote, types};
use super::jws::{self, CompactJws};
use super::recipient::{self, Identity};
use super::report::{Checks, Format};
use super::resolve::{DocumentKind, Failure, get_json, is_http_url};
use super::timestamp::{self, Leniency};
use super::{CLOCK_SKEW_SECONDS, Run};
use crate::domain::Timestamp;
use crate::keys::{PublicJwk, SigningAlgorithm};
use crate::openbadges::revocation::REVOCATION_LIST_TYPE;
use crate::openbadges::v3::{
    ACHIEVEMENT_CREDENTIAL_SCHEMA, CONTEXT_OB3_EXTENSIONS, CONTEXT_VC2, SCHEMA_VALIDATOR_TYPE,
};

/// The specification named in messages.
const SPEC: &str = "Open Badges 3.0";
/// The only members a VC-JWT header may hold here.
const ALLOWED_HEADER_MEMBERS: [&str; 3] = ["alg", "kid", "typ"];
/// The `credentialSchema` ids accepted as the 1EdTech AchievementCredential schema: the
/// canonical one and its JSON-LD-compaction variant.
const SCHEMA_PREFIXES: [&str; 2] = [
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/",
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/",
];
const SCHEMA_FILE: &str = "ob_v3p0_achievementcredential_schema.json";

/// The parts of a credential that the checks read.
#[derive(Debug, Clone, Default)]
struct Credential {
    id: Option<String>,
    issuer_id: Option<String>,
    subject_id: Option<String>,
    valid_from: Option<Timestamp>,
    valid_until: Option<Timestamp>,
    /// Whether every required part of the schema is present.
    structure_valid: bool,
}

/// Returns whether the OB 3.0 context URL matches the schema's pattern
/// `https://purl.imsglobal.org/spec/ob/v3p0/context(-3.d.d)*.json`.
fn is_ob3_context(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://purl.imsglobal.org/spec/ob/v3p0/context")
        .and_then(|rest| rest.strip_suffix(".json"))
    else {
        return false;
    };
    let mut rest = rest;
    while !rest.is_empty() {
        let bytes = rest.as_bytes();
        let version_ok = bytes.len() >= 6
            && bytes[0] == b'-'
            && bytes[1] == b'3'
            && bytes[2] == b'.'
            && bytes[3].is_ascii_digit()
            && bytes[4] == b'.'
            && bytes[5].is_ascii_digit();
        if !version_ok {
            return false;
        }
        rest = &rest[6..];
    }
    true
}

impl Run<'_> {
    /// Verifies a VC-JWT. `wrapped` is true when the credential is in a `vc` claim (VC 1.1 style).
    pub(crate) async fn verify_vc_jwt(&mut self, jws: &CompactJws<'_>, wrapped: bool) {
        self.checks.set_format(Format::Ob3Jwt);
        let Some(claims) = jws.payload.as_object() else {
            return;
        };
        let credential_object = if wrapped {
            self.checks.warn(
                codes::VC_CLAIM_WRAPPER,
                "the credential sits in a \"vc\" claim (the VC 1.1 style); Open Badges 3.0 puts its members at the top of the payload",
            );
            match claims.get("vc").and_then(Value::as_object) {
                Some(object) => object,
                None => return,
            }
        } else {
            claims
        };
        if let Some(id) = credential_object.get("id").and_then(Value::as_str) {
            self.checks.set_id(id);
        }

        let algorithm = self.check_vc_header(jws);
        let credential = self.check_credential(credential_object);
        if let Some((algorithm, kid)) = algorithm {
            self.check_vc_signature(jws, algorithm, &kid, credential.issuer_id.as_deref())
                .await;
        }
        self.check_claims(claims, &credential);
        self.check_validity(&credential, claims);
        self.check_status(credential_object, credential.id.as_deref())
            .await;
        self.check_schema(credential_object, &credential);
        self.check_credential_recipient(credential_object);
    }

    /// Checks a credential given as JSON. Every check but the proof runs; a credential JSON
    /// is never valid here, because the only proof this verifier checks is the VC-JWT.
    pub(crate) async fn verify_credential_json(&mut self, credential_object: &Object) {
        self.checks.set_format(Format::Ob3Json);
        if let Some(id) = credential_object.get("id").and_then(Value::as_str) {
            self.checks.set_id(id);
        }
        let credential = self.check_credential(credential_object);
        match credential_object.get("proof") {
            None | Some(Value::Null) => self.checks.fail(
                codes::NO_PROOF,
                "the credential JSON carries no proof; verify its VC-JWT instead (the .jwt file, or a baked image)",
            ),
            Some(proof) => {
                let proofs: Vec<&Value> = match proof {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                let kinds: Vec<String> = proofs
                    .iter()
                    .map(|proof| proof.get("type").map_or_else(|| "no type".to_owned(), preview))
                    .collect();
                self.checks.fail(
                    codes::UNSUPPORTED_PROOF,
                    format!(
                        "the credential carries an embedded proof ({}), which this verifier does not check; only VC-JWT proofs (RS256, ES256) are checked here",
                        kinds.join(", ")
                    ),
                );
            }
        }
        self.check_validity(&credential, &Object::new());
        self.check_status(credential_object, credential.id.as_deref())
            .await;
        self.check_schema(credential_object, &credential);
        self.check_credential_recipient(credential_object);
    }

    /// Checks the JOSE header; returns the algorithm and `kid` when both are usable.
    fn check_vc_header(&mut self, jws: &CompactJws<'_>) -> Option<(SigningAlgorithm, String)> {
        let extra: Vec<&str> = jws
            .header
            .keys()
            .map(String::as_str)
            .filter(|member| !ALLOWED_HEADER_MEMBERS.contains(member))
            .collect();
        if !extra.is_empty() {
            let jwk_note = if extra.contains(&"jwk") {
                "; an inline jwk proves nothing about the issuer, so keys are read only from the kid URL"
            } else {
                ""
            };
            self.checks.fail(
                codes::HEADER_NOT_ALLOWED,
                format!(
                    "the JOSE header holds {}, but a VC-JWT header may hold only alg, kid and typ{jwk_note}",
                    extra.join(", ")
                ),
            );
        }
        if let Some(typ) = jws.header.get("typ")
            && !typ
                .as_str()
                .is_some_and(|typ| typ.eq_ignore_ascii_case("JWT"))
        {
            self.checks.fail(
                codes::INVALID_HEADER,
                format!(
                    "the JOSE header's typ is {}; it must be \"JWT\" when present",
                    preview(typ)
                ),
            );
        }
        let algorithm = jws::check_alg(&mut self.checks, &jws.header);
        let kid = match jws.header.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() => Some(kid.clone()),
            Some(other) => {
                self.checks.fail(
                    codes::INVALID_HEADER,
                    format!(
                        "the JOSE header's kid is {}, not the URL of a key",
                        preview(other)
                    ),
                );
                None
            }
            None => {
                self.checks.fail(
                    codes::INVALID_HEADER,
                    "the JOSE header has no kid, so the issuer's key cannot be found",
                );
                None
            }
        };
        Some((algorithm?, kid?))
    }

    async fn check_vc_signature(
        &mut self,
        jws: &CompactJws<'_>,
        algorithm: SigningAlgorithm,
        kid: &str,
        issuer_id: Option<&str>,
    ) {
        let (key, key_iss) = match self.resolve_kid(kid).await {
            Ok(found) => found,
            Err(failure) => {
                failure.record(&mut self.checks);
                return;
            }
        };
        match jws::verify_signature(jws, algorithm, &key) {
            Ok(true) => {
                self.checks.pass(
                    codes::SIGNATURE_VALID,
                    format!("the VC-JWT signature verifies with the key {kid}"),
                );
                self.checks.prove();
            }
            Ok(false) => {
                self.checks.fail(
                    codes::SIGNATURE_INVALID,
                    format!(
                        "the VC-JWT signature does not verify with the key {kid}: the credential was changed after signing, or another key signed it"
                    ),
                );
            }
            Err(reason) => {
                self.checks.fail(
                    codes::INVALID_KEY,
                    format!("the key {kid} cannot be used: {reason}"),
                );
                return;
            }
        }
        self.check_key_owner(kid, key_iss.as_deref(), issuer_id);
    }

    /// Fetches the key a `kid` names: a bare JWK, or a JWK Set holding a key with that `kid`.
    async fn resolve_kid(&self, kid: &str) -> Result<(PublicJwk, Option<String>), Failure> {
        if !is_http_url(kid) {
            return Err(Failure::new(
                codes::UNKNOWN_KID,
                format!(
                    "the kid {} is not an http(s) URL, and only keys published at a URL are resolved here",
                    quote(kid)
                ),
            ));
        }
        let document = get_json(
            self.context.resolver,
            kid,
            DocumentKind::Jwk,
            "the key",
            codes::UNKNOWN_KID,
        )
        .await?;
        let jwk = match document.get("keys") {
            Some(Value::Array(keys)) => keys
                .iter()
                .filter_map(Value::as_object)
                .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid))
                .cloned()
                .ok_or_else(|| {
                    Failure::new(
                        codes::UNKNOWN_KID,
                        format!("the JWK Set at {kid} holds no key with the kid {kid}"),
                    )
                })?,
            _ => document,
        };
        if let Some(declared) = jwk.get("kid")
            && declared.as_str() != Some(kid)
        {
            return Err(Failure::new(
                codes::UNKNOWN_KID,
                format!(
                    "the key at {kid} declares the kid {}, not {kid}",
                    preview(declared)
                ),
            ));
        }
        if let Some(key_use) = jwk.get("use")
            && key_use.as_str() != Some("sig")
        {
            return Err(Failure::new(
                codes::INVALID_KEY,
                format!("the key at {kid} has use {}, not \"sig\"", preview(key_use)),
            ));
        }
        let key = jws::key_from_jwk(&jwk).map_err(|reason| {
            Failure::new(
                codes::INVALID_KEY,
                format!("the key at {kid} cannot be used: {reason}"),
            )
        })?;
        if let Some(alg) = jwk.get("alg")
            && alg.as_str() != Some(key.algorithm().as_str())
        {
            return Err(Failure::new(
                codes::INVALID_KEY,
                format!(
                    "the key at {kid} declares alg {}, which its key type does not sign",
                    preview(alg)
                ),
            ));
        }
        let iss = jwk.get("iss").and_then(Value::as_str).map(str::to_owned);
        Ok((key, iss))
    }

    /// Ties the key to the credential's issuer: the JWK's `iss`, or else the `kid` URL's host.
    fn check_key_owner(&mut self, kid: &str, key_iss: Option<&str>, issuer_id: Option<&str>) {
        let Some(issuer_id) = issuer_id else {
            return;
        };
        match key_iss {
            Some(iss) if iss == issuer_id => {}
            Some(iss) => self.checks.fail(
                codes::KEY_OWNER_MISMATCH,
                format!(
                    "the key {kid} belongs to {} (its iss), not to the credential's issuer {issuer_id}",
                    quote(iss)
                ),
            ),
            None => {
                let host = |url: &str| {
                    url::Url::parse(url)
                        .ok()
                        .and_then(|parsed| Some((parsed.host_str()?.to_ascii_lowercase(), parsed.port_or_known_default()?)))
                };
                if host(kid).is_none() || host(kid) != host(issuer_id) {
                    self.checks.fail(
                        codes::KEY_OWNER_MISMATCH,
                        format!(
                            "the key {kid} names no owner (iss) and is not on the host of the credential's issuer {issuer_id}, so nothing ties it to that issuer"
                        ),
                    );
                }
            }
        }
    }

    /// Compares the registered claims with the credential's fields.
    fn check_claims(&mut self, claims: &Object, credential: &Credential) {
        let mut mismatches = Vec::new();
        let mut compare_string =
            |claim: &str, field: &str, expected: Option<&str>, required: bool| {
                let found = claims.get(claim);
                match (found, expected) {
                    (None, None) => {}
                    (None, Some(expected)) if required || !expected.is_empty() => {
                        mismatches.push(format!(
                            "{claim} is missing but the credential's {field} is {}",
                            quote(expected)
                        ))
                    }
                    (Some(value), Some(expected)) if value.as_str() == Some(expected) => {}
                    (Some(value), expected) => mismatches.push(format!(
                        "{claim} is {} but the credential's {field} is {}",
                        preview(value),
                        expected.map_or_else(|| "absent".to_owned(), quote)
                    )),
                    _ => {}
                }
            };
        compare_string("iss", "issuer.id", credential.issuer_id.as_deref(), true);
        compare_string("jti", "id", credential.id.as_deref(), true);
        compare_string(
            "sub",
            "credentialSubject.id",
            credential.subject_id.as_deref(),
            false,
        );

        let mut compare_time = |claim: &str, field: &str, expected: Option<Timestamp>| {
            let found = claims.get(claim);
            match (found, expected) {
                (None, None) => {}
                (Some(value), Some(expected))
                    if value.as_i64() == Some(expected.unix_seconds()) => {}
                (None, Some(expected)) => mismatches.push(format!(
                    "{claim} is missing but the credential's {field} is {expected} ({})",
                    expected.unix_seconds()
                )),
                (Some(value), expected) => mismatches.push(format!(
                    "{claim} is {} but the credential's {field} is {}",
                    preview(value),
                    expected.map_or_else(
                        || "absent".to_owned(),
                        |at| format!("{at} ({})", at.unix_seconds())
                    )
                )),
            }
        };
        compare_time("nbf", "validFrom", credential.valid_from);
        compare_time("exp", "validUntil", credential.valid_until);

        if mismatches.is_empty() {
            self.checks.pass(
                codes::CLAIMS_MATCH,
                "the JWT claims iss, jti, sub, nbf and exp equal the credential's issuer.id, id, credentialSubject.id, validFrom and validUntil",
            );
        } else {
            self.checks.fail(
                codes::CLAIM_MISMATCH,
                format!(
                    "the JWT claims differ from the credential: {}",
                    mismatches.join("; ")
                ),
            );
        }
    }

    /// Checks the current time against `validFrom`/`validUntil` and the JWT's `nbf`/`exp`.
    fn check_validity(&mut self, credential: &Credential, claims: &Object) {
        let now = self.context.now.unix_seconds();
        let claim_time = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_i64)
                .map(Timestamp::from_unix_seconds)
        };
        let starts = [credential.valid_from, claim_time("nbf")]
            .into_iter()
            .flatten()
            .max();
        let ends = [credential.valid_until, claim_time("exp")]
            .into_iter()
            .flatten()
            .min();
        if let Some(starts) = starts
            && now + CLOCK_SKEW_SECONDS < starts.unix_seconds()
        {
            self.checks.fail(
                codes::NOT_YET_VALID,
                format!(
                    "the credential is valid from {starts}, and the time is now {}",
                    self.context.now
                ),
            );
            return;
        }
        if let Some(ends) = ends
            && now >= ends.unix_seconds() + CLOCK_SKEW_SECONDS
        {
            self.checks.fail(
                codes::EXPIRED,
                format!(
                    "the credential expired at {ends}, and the time is now {}",
                    self.context.now
                ),
            );
            return;
        }
        if starts.is_some() {
            let until =
                ends.map_or_else(|| "with no end".to_owned(), |ends| format!("until {ends}"));
            self.checks.pass(
                codes::WITHIN_VALIDITY_PERIOD,
                format!(
                    "the time {} is within the credential's validity, {until}",
                    self.context.now
                ),
            );
        }
    }

    /// Checks the credential's structure and context; every failure is its own check.
    fn check_credential(&mut self, object: &Object) -> Credential {
        let mut fields = Fields::new(object, "the credential", SPEC);
        if !self.check_v3_context(object) {
            fields.count_failure();
        }
        let id = fields.iri(&mut self.checks, "id").map(str::to_owned);
        if fields.required(&mut self.checks, "type").is_some() {
            let found = types(object);
            if !found.contains(&"VerifiableCredential")
                || !(found.contains(&"OpenBadgeCredential")
                    || found.contains(&"AchievementCredential"))
            {
                fields.invalid(
                    &mut self.checks,
                    "type",
                    format!(
                        "is {}; it must contain VerifiableCredential and OpenBadgeCredential (or AchievementCredential)",
                        preview(&object["type"])
                    ),
                );
            }
        }
        let issuer_id = match fields.required(&mut self.checks, "issuer") {
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Object(profile)) => {
                let mut issuer = Fields::new(profile, "the credential's issuer Profile", SPEC);
                let id = issuer.iri(&mut self.checks, "id").map(str::to_owned);
                issuer.type_names(&mut self.checks, &["Profile"]);
                if !issuer.is_valid() {
                    fields.count_failure();
                }
                id
            }
            Some(other) => {
                fields.invalid(
                    &mut self.checks,
                    "issuer",
                    format!("is {}, not an IRI or a Profile", preview(other)),
                );
                None
            }
            None => None,
        };
        let valid_from = match fields.required(&mut self.checks, "validFrom") {
            Some(value) => self.v3_timestamp(&mut fields, "validFrom", value),
            None => None,
        };
        let valid_until = match object.get("validUntil") {
            None | Some(Value::Null) => None,
            Some(value) => self.v3_timestamp(&mut fields, "validUntil", value),
        };
        if let Some(image) = object.get("image") {
            self.check_image(&mut fields, "image", image);
        }
        let subject_id = match fields.required(&mut self.checks, "credentialSubject") {
            Some(Value::Object(subject)) => {
                let (valid, subject_id) = self.check_subject(subject);
                if !valid {
                    fields.count_failure();
                }
                subject_id
            }
            Some(other) => {
                fields.invalid(
                    &mut self.checks,
                    "credentialSubject",
                    format!("is {}, not an AchievementSubject object", preview(other)),
                );
                None
            }
            None => None,
        };
        for (name, required) in [
            ("evidence", &["type"][..]),
            ("credentialSchema", &["id", "type"][..]),
            ("credentialStatus", &["id", "type"][..]),
        ] {
            let items: Vec<&Value> = match object.get(name) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.iter().collect(),
                Some(one) => vec![one],
            };
            for item in items {
                match item.as_object() {
                    Some(entry) => {
                        let mut entry_fields =
                            Fields::new(entry, format!("the credential's {name} entry"), SPEC);
                        for member in required {
                            entry_fields.required(&mut self.checks, member);
                        }
                        if !entry_fields.is_valid() {
                            fields.count_failure();
                        }
                    }
                    None => fields.invalid(
                        &mut self.checks,
                        name,
                        format!("holds {}, not an object", preview(item)),
                    ),
                }
            }
        }
        let structure_valid = fields.finish(&mut self.checks);
        Credential {
            id,
            issuer_id,
            subject_id,
            valid_from,
            valid_until,
            structure_valid,
        }
    }

    fn v3_timestamp(
        &mut self,
        fields: &mut Fields<'_>,
        name: &str,
        value: &Value,
    ) -> Option<Timestamp> {
        let result = match value {
            Value::String(text) => timestamp::parse(text),
            other => Err(format!(
                "it is {}, not a date-time string",
                super::fields::kind_of(other)
            )),
        };
        match result {
            Ok((at, Leniency::Exact)) => Some(at),
            Ok(_) => {
                fields.count_failure();
                self.checks.fail(
                    codes::INVALID_TIMESTAMP,
                    format!(
                        "{}'s {name} {} has no time zone; {SPEC} requires a date-time with one, such as 2024-11-08T10:33:30Z",
                        fields.what(),
                        preview(value)
                    ),
                );
                None
            }
            Err(reason) => {
                fields.count_failure();
                self.checks.fail(
                    codes::INVALID_TIMESTAMP,
                    format!("{}'s {name} is invalid: {reason}", fields.what()),
                );
                None
            }
        }
    }

    fn check_image(&mut self, fields: &mut Fields<'_>, name: &str, image: &Value) {
        let valid = image.as_object().is_some_and(|image| {
            image.get("id").is_some_and(Value::is_string) && has_type(image, "Image")
        });
        if !valid {
            fields.invalid(
                &mut self.checks,
                name,
                format!(
                    "is {}; an image is an object with an id and the type Image",
                    preview(image)
                ),
            );
        }
    }

    /// Checks the AchievementSubject and its Achievement; returns whether they are valid and
    /// the subject's id.
    fn check_subject(&mut self, subject: &Object) -> (bool, Option<String>) {
        let mut fields = Fields::new(subject, "the credentialSubject", SPEC);
        fields.type_names(&mut self.checks, &["AchievementSubject"]);
        let subject_id = fields
            .optional_string(&mut self.checks, "id")
            .map(str::to_owned);
        let identifiers = match subject.get("identifier") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(other) => {
                fields.invalid(
                    &mut self.checks,
                    "identifier",
                    format!("is {}, not an array", preview(other)),
                );
                Vec::new()
            }
        };
        if subject_id.is_none() && identifiers.is_empty() {
            fields.missing(&mut self.checks, "id");
        }
        for identifier in identifiers {
            let Some(identifier) = identifier.as_object() else {
                fields.invalid(
                    &mut self.checks,
                    "identifier",
                    format!("holds {}, not an IdentityObject", preview(identifier)),
                );
                continue;
            };
            let mut entry = Fields::new(identifier, "the credentialSubject's identifier", SPEC);
            entry.type_names(&mut self.checks, &["IdentityObject"]);
            if let Some(hashed) = entry.required(&mut self.checks, "hashed")
                && !hashed.is_boolean()
            {
                entry.invalid(
                    &mut self.checks,
                    "hashed",
                    format!("is {}, not a boolean", preview(hashed)),
                );
            }
            entry.string(&mut self.checks, "identityHash");
            entry.string(&mut self.checks, "identityType");
            if !entry.is_valid() {
                fields.count_failure();
            }
        }
        match fields.required(&mut self.checks, "achievement") {
            Some(Value::Object(achievement)) => {
                let mut inner = Fields::new(achievement, "the achievement", SPEC);
                inner.iri(&mut self.checks, "id");
                inner.type_names(&mut self.checks, &["Achievement"]);
                inner.string(&mut self.checks, "name");
                inner.string(&mut self.checks, "description");
                match inner.required(&mut self.checks, "criteria") {
                    Some(Value::Object(_)) | None => {}
                    Some(other) => inner.invalid(
                        &mut self.checks,
                        "criteria",
                        format!("is {}, not a Criteria object", preview(other)),
                    ),
                }
                if let Some(image) = achievement.get("image") {
                    self.check_image(&mut inner, "image", image);
                }
                if let Some(Value::Array(alignments)) = achievement.get("alignment") {
                    for alignment in alignments {
                        let Some(alignment) = alignment.as_object() else {
                            inner.invalid(
                                &mut self.checks,
                                "alignment",
                                "holds an entry that is not an object",
                            );
                            continue;
                        };
                        let mut entry = Fields::new(alignment, "the achievement's alignment", SPEC);
                        entry.type_names(&mut self.checks, &["Alignment"]);
                        entry.string(&mut self.checks, "targetName");
                        entry.string(&mut self.checks, "targetUrl");
                        if !entry.is_valid() {
                            inner.count_failure();
                        }
                    }
                }
                if !inner.is_valid() {
                    fields.count_failure();
                }
            }
            Some(other) => fields.invalid(
                &mut self.checks,
                "achievement",
                format!("is {}, not an Achievement object", preview(other)),
            ),
            None => {}
        }
        (fields.is_valid(), subject_id)
    }

    /// Checks `@context`: an ordered list that starts with the VC 2.0 context, then the
    /// Open Badges 3.0 context, and that includes the extensions context when the credential
    /// uses the 1EdTech types it defines.
    fn check_v3_context(&mut self, object: &Object) -> bool {
        let Some(context) = object.get("@context") else {
            self.checks.fail(
                codes::INVALID_CONTEXT,
                format!("the credential has no @context; {SPEC} starts it with {CONTEXT_VC2:?}"),
            );
            return false;
        };
        let Some(items) = context.as_array() else {
            self.checks.fail(
                codes::INVALID_CONTEXT,
                format!(
                    "the credential's @context is {}; {SPEC} requires an ordered list starting with {CONTEXT_VC2:?}",
                    preview(context)
                ),
            );
            return false;
        };
        let mut valid = true;
        if items.first().and_then(Value::as_str) != Some(CONTEXT_VC2) {
            valid = false;
            self.checks.fail(
                codes::INVALID_CONTEXT,
                format!(
                    "the credential's @context starts with {}; the first entry must be {CONTEXT_VC2:?}",
                    items.first().map_or_else(|| "nothing".to_owned(), preview)
                ),
            );
        }
        if !items
            .get(1)
            .and_then(Value::as_str)
            .is_some_and(is_ob3_context)
        {
            valid = false;
            self.checks.fail(
                codes::INVALID_CONTEXT,
                format!(
                    "the credential's second @context entry is {}; it must be the Open Badges 3.0 context, such as \"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"",
                    items.get(1).map_or_else(|| "missing".to_owned(), preview)
                ),
            );
        }
        let uses_extensions = [
            ("credentialSchema", SCHEMA_VALIDATOR_TYPE),
            ("credentialStatus", REVOCATION_LIST_TYPE),
        ]
        .iter()
        .any(|(member, kind)| {
            let entries: Vec<&Value> = match object.get(*member) {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(one) => vec![one],
                None => Vec::new(),
            };
            entries
                .iter()
                .any(|entry| entry.get("type").and_then(Value::as_str) == Some(*kind))
        });
        let has_extensions = items
            .iter()
            .any(|item| item.as_str() == Some(CONTEXT_OB3_EXTENSIONS));
        if uses_extensions && !has_extensions {
            valid = false;
            self.checks.fail(
                codes::INVALID_CONTEXT,
                format!(
                    "the credential uses {SCHEMA_VALIDATOR_TYPE} or {REVOCATION_LIST_TYPE} but its @context lacks {CONTEXT_OB3_EXTENSIONS:?}, which defines them"
                ),
            );
        }
        valid
    }

    /// Reads `credentialStatus` and the 1EdTech revocation list it names. A list that cannot
    /// be read is a warning: it neither proves nor refutes revocation.
    async fn check_status(&mut self, object: &Object, credential_id: Option<&str>) {
        let entries: Vec<&Value> = match object.get("credentialStatus") {
            None | Some(Value::Null) => {
                self.checks.pass(
                    codes::REVOCATION_NOT_PUBLISHED,
                    "the credential has no credentialStatus, so it cannot be revoked",
                );
                return;
            }
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
        };
        let Some(credential_id) = credential_id else {
            return;
        };
        for entry in entries {
            let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
            let Some(url) = entry.get("id").and_then(Value::as_str) else {
                continue;
            };
            if kind != REVOCATION_LIST_TYPE {
                self.checks.warn(
                    codes::UNSUPPORTED_STATUS_TYPE,
                    format!(
                        "the credentialStatus type {} is not read here, so revocation through it is unknown; only {REVOCATION_LIST_TYPE} is read",
                        quote(kind)
                    ),
                );
                continue;
            }
            let list = match get_json(
                self.context.resolver,
                url,
                DocumentKind::RevocationList,
                "the revocation list",
                codes::NOT_FOUND,
            )
            .await
            {
                Ok(list) => list,
                Err(failure) => {
                    self.checks.warn(
                        codes::REVOCATION_STATUS_UNKNOWN,
                        format!("revocation is unknown: {}", failure.message),
                    );
                    continue;
                }
            };
            let entries = list
                .get("revokedCredential")
                .or_else(|| list.get("revokedCredentials"))
                .and_then(Value::as_array);
            let Some(entries) = entries else {
                self.checks.warn(
                    codes::REVOCATION_STATUS_UNKNOWN,
                    format!("revocation is unknown: the revocation list at {url} has no revokedCredential array"),
                );
                continue;
            };
            let revoked = entries.iter().filter_map(Value::as_object).find(|entry| {
                entry.get("id").and_then(Value::as_str) == Some(credential_id)
                    // An entry without "revoked" revokes; "revoked": false does not.
                    && entry.get("revoked") != Some(&Value::Bool(false))
            });
            match revoked {
                Some(entry) => {
                    let reason = entry
                        .get("revocationReason")
                        .and_then(Value::as_str)
                        .map_or_else(
                            || "no reason given".to_owned(),
                            |reason| format!("reason: {}", quote(reason)),
                        );
                    self.checks.fail(
                        codes::REVOKED,
                        format!("the revocation list at {url} lists the credential {credential_id} as revoked ({reason})"),
                    );
                }
                None => self.checks.pass(
                    codes::NOT_REVOKED,
                    format!(
                        "the revocation list at {url} does not list the credential {credential_id}"
                    ),
                ),
            }
        }
    }

    /// Reports the schema check: the structure checks above decide it, when the credential
    /// names the 1EdTech AchievementCredential schema.
    fn check_schema(&mut self, object: &Object, credential: &Credential) {
        let entries: Vec<&Value> = match object.get("credentialSchema") {
            None | Some(Value::Null) => {
                self.checks.warn(
                    codes::NO_CREDENTIAL_SCHEMA,
                    format!("the credential names no credentialSchema; {ACHIEVEMENT_CREDENTIAL_SCHEMA} was checked in part anyway"),
                );
                return;
            }
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
        };
        let mut known = false;
        for entry in entries {
            let id = entry.get("id").and_then(Value::as_str).unwrap_or("");
            let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
            let is_achievement_schema = SCHEMA_PREFIXES
                .iter()
                .any(|prefix| id.strip_prefix(prefix) == Some(SCHEMA_FILE));
            if is_achievement_schema && kind == SCHEMA_VALIDATOR_TYPE {
                known = true;
            } else if is_achievement_schema {
                self.checks.fail(
                    codes::SCHEMA_INVALID,
                    format!(
                        "the credentialSchema {id} has type {}; it must be {SCHEMA_VALIDATOR_TYPE}",
                        quote(kind)
                    ),
                );
                return;
            } else {
                self.checks.warn(
                    codes::UNKNOWN_SCHEMA,
                    format!("the credentialSchema {} is not the 1EdTech AchievementCredential schema, so it was not checked", quote(id)),
                );
            }
        }
        if !known {
            return;
        }
        if credential.structure_valid {
            self.checks.pass(
                codes::SCHEMA_VALID,
                "the credential has every part that the 1EdTech AchievementCredential schema requires",
            );
        } else {
            self.checks.fail(
                codes::SCHEMA_INVALID,
                "the credential breaks required parts of the 1EdTech AchievementCredential schema that it names; the failed checks above say which",
            );
        }
    }

    /// Checks the email given against the subject's email identifiers; one match is enough.
    fn check_credential_recipient(&mut self, object: &Object) {
        let Some(email) = self.context.email else {
            return;
        };
        let identifiers: Vec<&Object> = object
            .get("credentialSubject")
            .and_then(|subject| subject.get("identifier"))
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        let emails: Vec<&Object> = identifiers
            .into_iter()
            .filter(|identifier| {
                matches!(
                    identifier.get("identityType").and_then(Value::as_str),
                    Some("emailAddress" | "email")
                )
            })
            .collect();
        if emails.is_empty() {
            self.checks.fail(
                codes::RECIPIENT_MISMATCH,
                "the credential's subject has no identifier of identityType emailAddress, so it cannot be matched with an email",
            );
            return;
        }
        let mut first_attempt = None;
        for identifier in emails {
            let mut attempt = Checks::default();
            recipient::check_email(
                &mut attempt,
                email,
                Identity {
                    value: identifier
                        .get("identityHash")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    hashed: identifier
                        .get("hashed")
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                    salt: identifier.get("salt").and_then(Value::as_str),
                },
            );
            if !attempt.has_failed() {
                self.checks.extend(attempt);
                return;
            }
            first_attempt.get_or_insert(attempt);
        }
        if let Some(attempt) = first_attempt {
            self.checks.extend(attempt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ob3_context_pattern() {
        assert!(is_ob3_context(
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ));
        assert!(is_ob3_context(
            "https://purl.imsglobal.org/spec/ob/v3p0/context.json"
        ));
        assert!(is_ob3_context(
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"
        ));
        assert!(!is_ob3_context(
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.json"
        ));
        assert!(!is_ob3_context(
            "https://imsglobal.github.io/openbadges-specification/context.json"
        ));
        assert!(!is_ob3_context(
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
        ));
    }
}
