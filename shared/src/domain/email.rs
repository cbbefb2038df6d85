use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An email address that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid email address: {reason}")]
pub struct InvalidEmail {
    pub value: String,
    pub reason: &'static str,
}

/// A normalised email address: trimmed, then lower-cased as a whole (local part too).
///
/// Recipient identity hashes are computed over this form, so changing the rule would break
/// every badge already issued. Verifiers hash what a person types, and people rarely type the
/// capitals an export happened to contain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The maximum length of a forward path in SMTP (RFC 5321, section 4.5.3.1.3).
    pub const MAX_LEN: usize = 254;

    /// Parses and normalises an address. The check is deliberately simple (one `@`, a
    /// non-empty local part, a dotted domain, no spaces or control characters): the real test
    /// of an address is whether the claim email arrives.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let normalised = raw.trim().to_lowercase();
        let invalid = |reason| InvalidEmail {
            value: raw.chars().take(300).collect(),
            reason,
        };

        if normalised.is_empty() {
            return Err(invalid("it is empty"));
        }
        if normalised.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 254 characters"));
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("it contains a space or a control character"));
        }
        let Some((local, domain)) = normalised.split_once('@') else {
            return Err(invalid("it has no @"));
        };
        if domain.contains('@') {
            return Err(invalid("it has more than one @"));
        }
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before the @ must be 1 to 64 characters"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(invalid("the part before the @ has a misplaced dot"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|label| label.is_empty() || label.len() > 63)
        {
            return Err(invalid(
                "the domain after the @ must have at least two dot-separated parts",
            ));
        }
        if labels
            .iter()
            .any(|label| label.starts_with('-') || label.ends_with('-'))
        {
            return Err(invalid("a domain part starts or ends with a hyphen"));
        }
        if domain.chars().any(|c| {
            matches!(
                c,
                '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\'
            )
        }) {
            return Err(invalid(
                "the domain contains a character that domains cannot contain",
            ));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with most of the local part hidden, for logs and pages that must not
    /// show the whole address (`a***@example.org`).
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = EmailAddress::parse("  Alice@Example.ORG\n").unwrap();
        assert_eq!(email.as_str(), "alice@example.org");
    }

    #[test]
    fn email_keeps_plus_and_non_ascii() {
        assert_eq!(
            EmailAddress::parse("Siobhan.ONeill+music@example.net")
                .unwrap()
                .as_str(),
            "siobhan.oneill+music@example.net"
        );
        assert_eq!(
            EmailAddress::parse("مريم@example.org").unwrap().as_str(),
            "مريم@example.org"
        );
    }

    #[test]
    fn email_rejects_malformed() {
        let cases = [
            ("", "it is empty"),
            ("noah.schmidt@@example.org", "it has more than one @"),
            ("no-at-sign.example.org", "it has no @"),
            (
                "a b@example.org",
                "it contains a space or a control character",
            ),
            (
                "alice@localhost",
                "the domain after the @ must have at least two dot-separated parts",
            ),
            (
                "alice@example..org",
                "the domain after the @ must have at least two dot-separated parts",
            ),
            (
                ".alice@example.org",
                "the part before the @ has a misplaced dot",
            ),
        ];
        for (input, reason) in cases {
            let error = EmailAddress::parse(input).unwrap_err();
            assert_eq!(error.reason, reason, "input {input:?}");
        }
    }

    #[test]
    fn email_mask_hides_local_part() {
        assert_eq!(
            EmailAddress::parse("grace@example.org").unwrap().masked(),
            "g***@example.org"
        );
    }
}
