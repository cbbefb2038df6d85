//! Matching an email address against a badge's recipient identity.
//!
//! The address is normalised as the issuer side does it (trimmed, then lower-cased as a
//! whole), and hashed with the salt appended, UTF-8: `sha256$` + lower-case hex. Reading is
//! lenient where other issuers differ without being wrong: the `sha256$` prefix and the hex
//! digits are compared case-insensitively (an upper-case prefix is warned about), `md5$`
//! hashes are accepted with a warning, and when only the address as typed (trimmed, not
//! lower-cased) matches, the match counts with a warning that the issuer did not normalise.

use md5::Md5;
use sha2::{Digest, Sha256};

use super::codes;
use super::report::Checks;
use crate::domain::EmailAddress;

/// The hash functions an identity may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlgorithm {
    Sha256,
    Md5,
}

impl HashAlgorithm {
    fn digest_hex(self, input: &str) -> String {
        match self {
            HashAlgorithm::Sha256 => hex::encode(Sha256::digest(input.as_bytes())),
            HashAlgorithm::Md5 => {
                use md5::Digest as _;
                hex::encode(Md5::digest(input.as_bytes()))
            }
        }
    }
}

/// A recipient identity as a badge states it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity<'a> {
    /// The hash (`sha256$…`) or, when not hashed, the address itself.
    pub value: &'a str,
    pub hashed: bool,
    pub salt: Option<&'a str>,
}

/// Checks `email` (as the user typed it) against `identity` and records the outcome.
pub(crate) fn check_email(checks: &mut Checks, email: &str, identity: Identity<'_>) {
    let normalised = match EmailAddress::parse(email) {
        Ok(address) => address,
        Err(error) => {
            checks.fail(
                codes::INVALID_EMAIL,
                format!("the recipient email to check is invalid: {error}"),
            );
            return;
        }
    };
    let masked = normalised.masked();
    let typed = email.trim();

    if !identity.hashed {
        if identity.value.trim().to_lowercase() == normalised.as_str() {
            checks.pass(
                codes::RECIPIENT_MATCHES,
                format!("the badge was issued to {masked} (the identity is not hashed)"),
            );
        } else {
            checks.fail(
                codes::RECIPIENT_MISMATCH,
                format!(
                    "the badge was not issued to {masked}: its recipient identity is another address"
                ),
            );
        }
        return;
    }

    let Some((prefix, digest)) = identity.value.split_once('$') else {
        checks.fail(
            codes::RECIPIENT_MISMATCH,
            format!(
                "the recipient identity {} is not a hash of the form sha256$<hex>, so {masked} cannot be matched",
                super::fields::quote(identity.value)
            ),
        );
        return;
    };
    let algorithm = match prefix.to_ascii_lowercase().as_str() {
        "sha256" => HashAlgorithm::Sha256,
        "md5" => HashAlgorithm::Md5,
        _ => {
            checks.fail(
                codes::RECIPIENT_MISMATCH,
                format!(
                    "the recipient identity uses the hash {}, but only sha256 and md5 are defined for Open Badges, so {masked} cannot be matched",
                    super::fields::quote(prefix)
                ),
            );
            return;
        }
    };
    if prefix != prefix.to_ascii_lowercase() {
        checks.warn(
            codes::HASH_PREFIX_CASE,
            format!(
                "the identity hash prefix is {prefix:?}; it is written in lower case, {:?}",
                prefix.to_ascii_lowercase()
            ),
        );
    }
    if algorithm == HashAlgorithm::Md5 {
        checks.warn(
            codes::MD5_IDENTITY_HASH,
            "the recipient identity is hashed with MD5, which is weak; issuers use sha256",
        );
    }

    let salt = identity.salt.unwrap_or("");
    let expected = digest.trim().to_ascii_lowercase();
    let matches = |candidate: &str| algorithm.digest_hex(&format!("{candidate}{salt}")) == expected;
    if matches(normalised.as_str()) {
        checks.pass(
            codes::RECIPIENT_MATCHES,
            format!("the recipient identity hash matches {masked}"),
        );
    } else if typed != normalised.as_str() && matches(typed) {
        checks.warn(
            codes::IDENTITY_NOT_NORMALISED,
            "the identity hash matches the address only as typed, not trimmed and lower-cased; the issuer did not normalise it",
        );
        checks.pass(
            codes::RECIPIENT_MATCHES,
            format!("the recipient identity hash matches {masked} as typed"),
        );
    } else {
        checks.fail(
            codes::RECIPIENT_MISMATCH,
            format!(
                "the recipient identity hash {} (salt {}) does not match {masked}",
                super::fields::quote(identity.value),
                super::fields::quote(salt)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::report::VerificationReport;

    const SALT: &str = "pepper42";
    const CORRECT: &str = "sha256$67daac04f8729a3e9b9074c030271f7378d54f4dd121a1836faa5c9542cb40ff";

    fn run(email: &str, value: &str, salt: Option<&str>) -> VerificationReport {
        let mut checks = Checks::default();
        check_email(
            &mut checks,
            email,
            Identity {
                value,
                hashed: true,
                salt,
            },
        );
        checks.prove();
        checks.into_report()
    }

    #[test]
    fn both_spellings_of_an_address_match() {
        for email in [
            "alice@example.org",
            "Alice@Example.ORG",
            "  Alice@Example.ORG\n",
        ] {
            let report = run(email, CORRECT, Some(SALT));
            assert!(report.valid, "{email}: {:?}", report.checks);
            assert!(report.has(codes::RECIPIENT_MATCHES));
        }
    }

    #[test]
    fn upper_case_hex_and_prefix_are_read() {
        let upper = "sha256$67DAAC04F8729A3E9B9074C030271F7378D54F4DD121A1836FAA5C9542CB40FF";
        assert!(run("alice@example.org", upper, Some(SALT)).valid);
        let prefix = CORRECT.replace("sha256$", "SHA256$");
        let report = run("alice@example.org", &prefix, Some(SALT));
        assert!(report.valid);
        assert!(report.has(codes::HASH_PREFIX_CASE));
    }

    #[test]
    fn md5_is_read_with_a_warning() {
        let report = run(
            "alice@example.org",
            "md5$b15e89359c436166925e0027123c7d46",
            Some(SALT),
        );
        assert!(report.valid, "{:?}", report.checks);
        assert!(report.has(codes::MD5_IDENTITY_HASH));
    }

    #[test]
    fn unnormalised_hash_matches_as_typed() {
        let raw = "sha256$9839284a0a5d992801688a2facb50aa854a48988c40266a601b5bfb7f19eff8f";
        let report = run("Alice@Example.ORG", raw, Some(SALT));
        assert!(report.valid, "{:?}", report.checks);
        assert!(report.has(codes::IDENTITY_NOT_NORMALISED));
        assert!(!run("alice@example.org", raw, Some(SALT)).valid);
    }

    #[test]
    fn wrong_hashes_do_not_match() {
        for wrong in [
            "sha256$7a64adf28737ea90719cbdf0b1a87a5effff3753b79c91d717f4f4153ead0498",
            "sha256$40aca9daaf028487568b494e9fec74e9c32170cc9d66fb86de808c6dd5af1aff",
            "sha256$04df45f3c0b011167c3525fc28c2084108339dafabf8e9ecb6445d16427baefd",
            "sha512$abc",
            "67daac04",
        ] {
            let report = run("alice@example.org", wrong, Some(SALT));
            assert!(!report.valid, "{wrong}");
            assert!(report.has(codes::RECIPIENT_MISMATCH), "{wrong}");
        }
        assert!(run("bob@example.org", CORRECT, Some(SALT)).has(codes::RECIPIENT_MISMATCH));
    }

    #[test]
    fn utf8_salt_and_address() {
        let latin1 = "sha256$0120c7ba26deb3eb57d94160a063c9a7891934b5044d5a5d0b04c6c2dce526fb";
        let utf8 = "sha256$2e2f015ca45dbd5eae0e54d41c16e7fdf02c4a4bb2c278bb321846a4ed5a6d86";
        assert!(run("alice@example.org", utf8, Some("sel-ñ")).valid);
        assert!(!run("alice@example.org", latin1, Some("sel-ñ")).valid);
        let arabic = "sha256$0557be5642c26b3cd14cc80b72ca4b857cff392492510cd5aa35b2e01577ac6e";
        assert!(run("مريم@example.org", arabic, Some(SALT)).valid);
    }

    #[test]
    fn invalid_email_and_plain_identity() {
        assert!(run("not an email", CORRECT, Some(SALT)).has(codes::INVALID_EMAIL));
        let mut checks = Checks::default();
        let plain = Identity {
            value: "Alice@example.org",
            hashed: false,
            salt: None,
        };
        check_email(&mut checks, "alice@EXAMPLE.org", plain);
        checks.prove();
        assert!(checks.into_report().valid);
    }
}
