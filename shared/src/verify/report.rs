//! The verification report: `{"valid", "format", "id", "checks": [{"code", "ok", "message"}]}`.

use serde::{Deserialize, Serialize};

use super::codes;

/// The kind of badge found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// An Open Badges 2.0 hosted assertion (`verification.type: HostedBadge`).
    #[serde(rename = "ob2-hosted")]
    Ob2Hosted,
    /// An Open Badges 2.0 signed assertion (a compact JWS).
    #[serde(rename = "ob2-signed")]
    Ob2Signed,
    /// An Open Badges 3.0 credential signed as a VC-JWT.
    #[serde(rename = "ob3-jwt")]
    Ob3Jwt,
    /// An Open Badges 3.0 credential as JSON.
    #[serde(rename = "ob3-json")]
    Ob3Json,
}

impl Format {
    /// The name used in reports: `ob2-hosted`, `ob2-signed`, `ob3-jwt` or `ob3-json`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Ob2Hosted => "ob2-hosted",
            Format::Ob2Signed => "ob2-signed",
            Format::Ob3Jwt => "ob3-jwt",
            Format::Ob3Json => "ob3-json",
        }
    }
}

/// One check: a stable code (see [`codes`]), whether it passed, and a message that names
/// the value checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub code: String,
    /// `false` makes the badge invalid. Warnings are `true`: they report something unusual
    /// that does not decide validity.
    pub ok: bool,
    pub message: String,
}

/// The result of verifying one badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationReport {
    /// Every check passed and the badge's proof (the hosted copy or a signature) was
    /// established.
    pub valid: bool,
    /// The kind of badge found; `None` when nothing recognisable was found.
    pub format: Option<Format>,
    /// The id of the assertion or credential found.
    pub id: Option<String>,
    /// The checks in the order they ran.
    pub checks: Vec<Check>,
}

/// The outcome of a report, for exit codes: valid, not valid, or the input could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Valid,
    Invalid,
    Unreadable,
}

impl VerificationReport {
    /// Builds the report of an input that could not be read at all, such as a missing file.
    pub fn unreadable(message: impl Into<String>) -> Self {
        Self {
            valid: false,
            format: None,
            id: None,
            checks: vec![Check {
                code: codes::INPUT_UNREADABLE.to_owned(),
                ok: false,
                message: message.into(),
            }],
        }
    }

    /// Returns the first check with this code.
    pub fn check(&self, code: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.code == code)
    }

    /// Returns whether any check has this code.
    pub fn has(&self, code: &str) -> bool {
        self.check(code).is_some()
    }

    /// Returns the codes of the failed checks, in order.
    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| check.code.as_str())
            .collect()
    }

    /// Valid, not valid, or unreadable (an `input_unreadable` check).
    pub fn outcome(&self) -> Outcome {
        if self.has(codes::INPUT_UNREADABLE) {
            Outcome::Unreadable
        } else if self.valid {
            Outcome::Valid
        } else {
            Outcome::Invalid
        }
    }
}

/// The checks of one run, with what the run found.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    list: Vec<Check>,
    format: Option<Format>,
    id: Option<String>,
    /// Set when the positive proof passed: the hosted copy was fetched from its own URL, or
    /// a signature verified. A badge is never valid without it, whatever else passed.
    proven: bool,
}

impl Checks {
    pub(crate) fn pass(&mut self, code: &str, message: impl Into<String>) {
        self.push(code, true, message.into());
    }

    pub(crate) fn warn(&mut self, code: &str, message: impl Into<String>) {
        self.push(code, true, format!("warning: {}", message.into()));
    }

    pub(crate) fn fail(&mut self, code: &str, message: impl Into<String>) {
        self.push(code, false, message.into());
    }

    fn push(&mut self, code: &str, ok: bool, message: String) {
        self.list.push(Check {
            code: code.to_owned(),
            ok,
            message,
        });
    }

    /// Appends the checks of a separate attempt (its proof is not carried over).
    pub(crate) fn extend(&mut self, other: Checks) {
        self.list.extend(other.list);
    }

    /// Records the proof as established.
    pub(crate) fn prove(&mut self) {
        self.proven = true;
    }

    pub(crate) fn set_format(&mut self, format: Format) {
        self.format = Some(format);
    }

    pub(crate) fn set_id(&mut self, id: &str) {
        self.id = Some(id.to_owned());
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.list.iter().any(|check| !check.ok)
    }

    pub(crate) fn into_report(self) -> VerificationReport {
        let valid = self.proven && !self.has_failed();
        VerificationReport {
            valid,
            format: self.format,
            id: self.id,
            checks: self.list,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_needs_proof_and_no_failure() {
        let mut checks = Checks::default();
        checks.pass(codes::STRUCTURE_VALID, "fine");
        assert!(!checks.into_report().valid, "no proof, not valid");

        let mut checks = Checks::default();
        checks.prove();
        checks.warn(codes::TIMESTAMP_WITHOUT_ZONE, "read as UTC");
        let report = checks.into_report();
        assert!(report.valid, "warnings do not make it invalid");
        assert!(report.checks[0].ok);

        let mut checks = Checks::default();
        checks.prove();
        checks.fail(codes::REVOKED, "revoked");
        let report = checks.into_report();
        assert!(!report.valid);
        assert_eq!(report.outcome(), Outcome::Invalid);
        assert_eq!(report.failures(), vec!["revoked"]);
    }

    #[test]
    fn report_serialises_format_names() {
        let report = VerificationReport {
            valid: true,
            format: Some(Format::Ob3Jwt),
            id: Some("urn:uuid:1".to_owned()),
            checks: vec![],
        };
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["format"], "ob3-jwt");
        let unreadable = VerificationReport::unreadable("no such file");
        assert_eq!(unreadable.outcome(), Outcome::Unreadable);
        assert_eq!(
            serde_json::to_value(&unreadable).unwrap()["format"],
            serde_json::Value::Null
        );
    }
}
