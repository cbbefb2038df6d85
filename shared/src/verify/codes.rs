//! The stable check codes of a verification report.
//!
//! A code names the outcome of one check, so a passing check and a failing one have different
//! codes (`signature_valid`, `signature_invalid`). Codes are part of the public contract of
//! `accolade verify` and `POST /v1/verify`: never rename one, add new ones instead. Each
//! constant's documentation states whether the check passes (`ok: true`), warns (`ok: true`, something unusual
//! that does not decide validity) or fails (`ok: false`).
//!
//! The baker's own error and warning codes (`not_png`, `truncated_png`, `compressed_itxt`, …)
//! are reported unchanged; see [`crate::baking`].

// Reading the input.

/// Fail: the input could not be read at all (a missing file, an unreachable URL).
pub const INPUT_UNREADABLE: &str = "input_unreadable";
/// Fail: the input is empty.
pub const EMPTY_BODY: &str = "empty_body";
/// Fail: the bytes are neither a PNG or SVG image, JSON, a compact JWS nor an http(s) URL.
pub const UNSUPPORTED_INPUT: &str = "unsupported_input";
/// Pass: badge data was read from a PNG or SVG image.
pub const IMAGE_UNBAKED: &str = "image_unbaked";
/// Fail: a valid PNG or SVG image that carries no Open Badges data.
pub const NO_BADGE_DATA: &str = "no_badge_data";
/// Fail: the data belongs to the other Open Badges version than its container (PNG keyword or
/// SVG element) names.
pub const BADGE_FORMAT_MISMATCH: &str = "badge_format_mismatch";
/// Fail: JSON that does not parse.
pub const INVALID_JSON: &str = "invalid_json";
/// Fail: text that is not a well-formed compact JWS.
pub const INVALID_JWS: &str = "invalid_jws";
/// Fail: JSON that is not an Open Badges 2.0 assertion or 3.0 credential (`{}` among others).
pub const NOT_AN_OPEN_BADGES_OBJECT: &str = "not_an_open_badges_object";

// Structure.

/// Pass: a document has every required field, with the right types.
pub const STRUCTURE_VALID: &str = "structure_valid";
/// Fail: a required field is missing.
pub const MISSING_FIELD: &str = "missing_field";
/// Fail: a field has the wrong type or value.
pub const INVALID_FIELD: &str = "invalid_field";
/// Fail: `@context` is missing, wrong or (Open Badges 3.0) in the wrong order.
pub const INVALID_CONTEXT: &str = "invalid_context";
/// Fail: a timestamp is not a date-time, or names an impossible date.
pub const INVALID_TIMESTAMP: &str = "invalid_timestamp";
/// Warning: an Open Badges 2.0 timestamp without a time zone, read as UTC.
pub const TIMESTAMP_WITHOUT_ZONE: &str = "timestamp_without_zone";
/// Warning: an Open Badges 2.0 date without a time, read as midnight UTC.
pub const TIMESTAMP_DATE_ONLY: &str = "timestamp_date_only";
/// Warning: an Open Badges 2.0 timestamp written as a Unix time number (the 1.0 form).
pub const TIMESTAMP_EPOCH_NUMBER: &str = "timestamp_epoch_number";
/// Fail: a fetched BadgeClass, Profile, key or list declares another `id` than its URL.
pub const DOCUMENT_ID_MISMATCH: &str = "document_id_mismatch";

// Fetching documents.

/// Fail: a document returned 404 (or 410 without a revocation).
pub const NOT_FOUND: &str = "not_found";
/// Fail: a document could not be fetched for now (5xx, 429, a timeout, no connection). The
/// badge can be neither confirmed nor refuted, so try again later.
pub const UNVERIFIABLE_TRY_LATER: &str = "unverifiable_try_later";
/// Fail: a document could not be fetched for a lasting reason (another status, too many
/// redirects, too large, not an http(s) URL).
pub const FETCH_FAILED: &str = "fetch_failed";
/// Fail: a document was served with a media type that the specification does not allow for it.
pub const WRONG_CONTENT_TYPE: &str = "wrong_content_type";
/// Fail: the document is not on this deployment's public base URL, and this verifier (the
/// HTTP endpoint) fetches nothing from other hosts.
pub const EXTERNAL_FETCH_DISABLED: &str = "external_fetch_disabled";

// Open Badges 2.0 hosted verification.

/// Pass: the hosted assertion was fetched from its URL and its `id` is that URL.
pub const HOSTED_ID_MATCHES: &str = "hosted_id_matches";
/// Fail: the hosted assertion's `id` is not the URL it was fetched from (or a baked SVG's
/// `verify` URL is not the assertion's `id`).
pub const HOSTED_ID_MISMATCH: &str = "hosted_id_mismatch";
/// Warning: the copy handed to the verifier differs from the hosted one, which wins.
pub const HOSTED_COPY_DIFFERS: &str = "hosted_copy_differs";
/// Pass: the assertion and BadgeClass ids fall inside the issuer's verification policy.
pub const IN_VERIFICATION_SCOPE: &str = "in_verification_scope";
/// Fail: the assertion or BadgeClass id falls outside the issuer's verification policy
/// (by default: another host than the issuer Profile's id).
pub const VERIFICATION_SCOPE: &str = "verification_scope";

// Revocation.

/// Pass: the revocation list was read and does not list the badge.
pub const NOT_REVOKED: &str = "not_revoked";
/// Fail: the badge is revoked (410 Gone, `revoked: true`, or an entry in a revocation list).
pub const REVOKED: &str = "revoked";
/// Pass: the issuer publishes no revocation list for this badge (2.0 signed without
/// `revocationList`, 3.0 without `credentialStatus`), so it cannot be revoked.
pub const REVOCATION_NOT_PUBLISHED: &str = "revocation_not_published";
/// Warning: the revocation list could not be read, so revocation is unknown.
pub const REVOCATION_STATUS_UNKNOWN: &str = "revocation_status_unknown";
/// Warning: `credentialStatus` has a type this verifier does not read.
pub const UNSUPPORTED_STATUS_TYPE: &str = "unsupported_status_type";

// Signatures and keys.

/// Fail: the JOSE header says `alg: none`.
pub const ALG_NONE: &str = "alg_none";
/// Fail: any `alg` other than exactly `RS256` or `ES256` (HMAC algorithms, lower-case names).
pub const ALG_NOT_ALLOWED: &str = "alg_not_allowed";
/// Fail: a VC-JWT header member other than `alg`, `kid` and `typ`.
pub const HEADER_NOT_ALLOWED: &str = "header_not_allowed";
/// Fail: a header member is missing or wrong (`kid` absent, `typ` not `JWT`).
pub const INVALID_HEADER: &str = "invalid_header";
/// Pass: the signature verifies with the issuer's key.
pub const SIGNATURE_VALID: &str = "signature_valid";
/// Fail: the signature does not verify (a changed byte, or another key signed it).
pub const SIGNATURE_INVALID: &str = "signature_invalid";
/// Fail: a VC-JWT `kid` that does not resolve to a key (404, not a URL, not in the set).
pub const UNKNOWN_KID: &str = "unknown_kid";
/// Fail: a key document or JWK that cannot be used (private members, a small RSA modulus,
/// another curve, a key type that does not match `alg`).
pub const INVALID_KEY: &str = "invalid_key";
/// Fail: the key belongs to someone other than the issuer (2.0 `owner`, JWK `iss`, or the
/// `kid` on another host than the issuer).
pub const KEY_OWNER_MISMATCH: &str = "key_owner_mismatch";
/// Fail: a 2.0 `creator` key that the issuer Profile's `publicKey` does not list.
pub const KEY_NOT_LINKED: &str = "key_not_linked";
/// Fail: the badge carries no proof this verifier checks (a SignedBadge assertion as plain
/// JSON, a 3.0 credential JSON without a proof).
pub const NO_PROOF: &str = "no_proof";
/// Fail: a 3.0 credential with an embedded proof of a type this verifier does not check.
pub const UNSUPPORTED_PROOF: &str = "unsupported_proof";
/// Warning: a VC-JWT whose credential sits in a `vc` claim (the VC 1.1 style).
pub const VC_CLAIM_WRAPPER: &str = "vc_claim_wrapper";

// Open Badges 3.0 credential.

/// Pass: `iss`, `jti`, `sub`, `nbf` and `exp` equal the credential's fields.
pub const CLAIMS_MATCH: &str = "claims_match";
/// Fail: a registered JWT claim is missing or differs from the credential's field.
pub const CLAIM_MISMATCH: &str = "claim_mismatch";
/// Pass: the current time is within `validFrom`..`validUntil` (2.0: before `expires`).
pub const WITHIN_VALIDITY_PERIOD: &str = "within_validity_period";
/// Fail: the current time is before `validFrom` (or the JWT's `nbf`).
pub const NOT_YET_VALID: &str = "not_yet_valid";
/// Fail: the current time is after `validUntil`, `exp` or a 2.0 `expires`.
pub const EXPIRED: &str = "expired";
/// Pass: the credential satisfies the required parts of the 1EdTech AchievementCredential
/// JSON Schema.
pub const SCHEMA_VALID: &str = "schema_valid";
/// Fail: the credential breaks a required part of that schema, or `credentialSchema` is
/// malformed.
pub const SCHEMA_INVALID: &str = "schema_invalid";
/// Warning: the credential names no `credentialSchema`.
pub const NO_CREDENTIAL_SCHEMA: &str = "no_credential_schema";
/// Warning: `credentialSchema` names a schema other than the 1EdTech AchievementCredential one.
pub const UNKNOWN_SCHEMA: &str = "unknown_schema";

// Recipient.

/// Pass: the email given matches the badge's recipient.
pub const RECIPIENT_MATCHES: &str = "recipient_matches";
/// Fail: the email given does not match the badge's recipient.
pub const RECIPIENT_MISMATCH: &str = "recipient_mismatch";
/// Fail: the email given is not an email address.
pub const INVALID_EMAIL: &str = "invalid_email";
/// Warning: the identity hash prefix is not in lower case (`SHA256$`).
pub const HASH_PREFIX_CASE: &str = "hash_prefix_case";
/// Warning: the identity is hashed with MD5, which Open Badges 2.0 still allows but is
/// weak.
pub const MD5_IDENTITY_HASH: &str = "md5_identity_hash";
/// Warning: the hash matches the email only as typed, not its normalised (trimmed,
/// lower-cased) form, so the issuer did not normalise it.
pub const IDENTITY_NOT_NORMALISED: &str = "identity_not_normalised";

/// Every code defined here (the baker's codes are not listed).
pub const ALL: &[&str] = &[
    INPUT_UNREADABLE,
    EMPTY_BODY,
    UNSUPPORTED_INPUT,
    IMAGE_UNBAKED,
    NO_BADGE_DATA,
    BADGE_FORMAT_MISMATCH,
    INVALID_JSON,
    INVALID_JWS,
    NOT_AN_OPEN_BADGES_OBJECT,
    STRUCTURE_VALID,
    MISSING_FIELD,
    INVALID_FIELD,
    INVALID_CONTEXT,
    INVALID_TIMESTAMP,
    TIMESTAMP_WITHOUT_ZONE,
    TIMESTAMP_DATE_ONLY,
    TIMESTAMP_EPOCH_NUMBER,
    DOCUMENT_ID_MISMATCH,
    NOT_FOUND,
    UNVERIFIABLE_TRY_LATER,
    FETCH_FAILED,
    WRONG_CONTENT_TYPE,
    EXTERNAL_FETCH_DISABLED,
    HOSTED_ID_MATCHES,
    HOSTED_ID_MISMATCH,
    HOSTED_COPY_DIFFERS,
    IN_VERIFICATION_SCOPE,
    VERIFICATION_SCOPE,
    NOT_REVOKED,
    REVOKED,
    REVOCATION_NOT_PUBLISHED,
    REVOCATION_STATUS_UNKNOWN,
    UNSUPPORTED_STATUS_TYPE,
    ALG_NONE,
    ALG_NOT_ALLOWED,
    HEADER_NOT_ALLOWED,
    INVALID_HEADER,
    SIGNATURE_VALID,
    SIGNATURE_INVALID,
    UNKNOWN_KID,
    INVALID_KEY,
    KEY_OWNER_MISMATCH,
    KEY_NOT_LINKED,
    NO_PROOF,
    UNSUPPORTED_PROOF,
    VC_CLAIM_WRAPPER,
    CLAIMS_MATCH,
    CLAIM_MISMATCH,
    WITHIN_VALIDITY_PERIOD,
    NOT_YET_VALID,
    EXPIRED,
    SCHEMA_VALID,
    SCHEMA_INVALID,
    NO_CREDENTIAL_SCHEMA,
    UNKNOWN_SCHEMA,
    RECIPIENT_MATCHES,
    RECIPIENT_MISMATCH,
    INVALID_EMAIL,
    HASH_PREFIX_CASE,
    MD5_IDENTITY_HASH,
    IDENTITY_NOT_NORMALISED,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ALL {
            assert!(seen.insert(*code), "{code} is listed twice");
            assert!(
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{code} is not snake_case"
            );
        }
    }
}
