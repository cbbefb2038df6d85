//! Reading fields of untrusted JSON documents, with failed checks that name the document,
//! the field and the value.

use serde_json::{Map, Value};

use super::codes;
use super::report::Checks;

pub(crate) type Object = Map<String, Value>;

/// "a string", "an array", … for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Renders a value as short JSON for messages, at most 80 characters.
pub(crate) fn preview(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        text
    } else {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    }
}

/// Renders untrusted text for messages: quoted and at most 80 characters.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() <= 80 {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(77).collect();
        format!("{cut:?}...")
    }
}

/// Returns the values of a `type` member: one string, or an array of strings (other items
/// are ignored).
pub(crate) fn types(object: &Object) -> Vec<&str> {
    match object.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Returns whether `type` names `name`.
pub(crate) fn has_type(object: &Object, name: &str) -> bool {
    types(object).contains(&name)
}

/// Returns the id of a reference: the string itself, or the `id` of an embedded object.
pub(crate) fn reference_id(value: &Value) -> Option<&str> {
    match value {
        Value::String(id) => Some(id),
        Value::Object(object) => object.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Required fields of one document, checked one by one. Every failure is recorded as a
/// check; [`Fields::finish`] adds `structure_valid` when none failed.
pub(crate) struct Fields<'a> {
    object: &'a Object,
    /// The document in messages: "the assertion", "the BadgeClass https://…".
    what: String,
    /// The specification that requires the fields, for messages.
    spec: &'static str,
    failures: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(object: &'a Object, what: impl Into<String>, spec: &'static str) -> Self {
        Self {
            object,
            what: what.into(),
            spec,
            failures: 0,
        }
    }

    pub(crate) fn what(&self) -> &str {
        &self.what
    }

    /// Records `missing_field`.
    pub(crate) fn missing(&mut self, checks: &mut Checks, name: &str) {
        self.failures += 1;
        checks.fail(
            codes::MISSING_FIELD,
            format!("{} has no \"{name}\"; {} requires it", self.what, self.spec),
        );
    }

    /// Records `invalid_field` with the reason.
    pub(crate) fn invalid(&mut self, checks: &mut Checks, name: &str, reason: impl AsRef<str>) {
        self.failures += 1;
        checks.fail(
            codes::INVALID_FIELD,
            format!("{}'s \"{name}\" {}", self.what, reason.as_ref()),
        );
    }

    /// Records another failure that was reported elsewhere (a timestamp, a context).
    pub(crate) fn count_failure(&mut self) {
        self.failures += 1;
    }

    /// Reads a required value of any type.
    pub(crate) fn required(&mut self, checks: &mut Checks, name: &str) -> Option<&'a Value> {
        match self.object.get(name) {
            None | Some(Value::Null) => {
                self.missing(checks, name);
                None
            }
            Some(value) => Some(value),
        }
    }

    /// Reads a required non-empty string.
    pub(crate) fn string(&mut self, checks: &mut Checks, name: &str) -> Option<&'a str> {
        let value = self.required(checks, name)?;
        match value.as_str() {
            Some(text) if !text.trim().is_empty() => Some(text),
            Some(_) => {
                self.invalid(checks, name, "is empty");
                None
            }
            None => {
                self.invalid(
                    checks,
                    name,
                    format!("is {}, not a string: {}", kind_of(value), preview(value)),
                );
                None
            }
        }
    }

    /// Reads an optional string. A value of another type is recorded as invalid.
    pub(crate) fn optional_string(&mut self, checks: &mut Checks, name: &str) -> Option<&'a str> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(value) => {
                self.invalid(
                    checks,
                    name,
                    format!("is {}, not a string: {}", kind_of(value), preview(value)),
                );
                None
            }
        }
    }

    /// Reads a required IRI: a string that parses as an absolute URI (`https:`, `urn:`, `did:`…).
    pub(crate) fn iri(&mut self, checks: &mut Checks, name: &str) -> Option<&'a str> {
        let text = self.string(checks, name)?;
        if is_absolute_iri(text) {
            Some(text)
        } else {
            self.invalid(
                checks,
                name,
                format!("is {}, which is not an absolute IRI", quote(text)),
            );
            None
        }
    }

    /// Reads a required reference: an IRI, or an embedded object.
    pub(crate) fn reference(&mut self, checks: &mut Checks, name: &str) -> Option<&'a Value> {
        let value = self.required(checks, name)?;
        match value {
            Value::String(text) if is_absolute_iri(text) => Some(value),
            Value::Object(_) => Some(value),
            Value::String(text) => {
                self.invalid(
                    checks,
                    name,
                    format!("is {}, which is not an absolute IRI", quote(text)),
                );
                None
            }
            other => {
                self.invalid(
                    checks,
                    name,
                    format!(
                        "is {}, not an IRI or an object: {}",
                        kind_of(other),
                        preview(other)
                    ),
                );
                None
            }
        }
    }

    /// Reads a required `type` that names `expected` (any one of them).
    pub(crate) fn type_names(&mut self, checks: &mut Checks, expected: &[&str]) -> bool {
        if self.required(checks, "type").is_none() {
            return false;
        }
        let found = types(self.object);
        if found.iter().any(|name| expected.contains(name)) {
            true
        } else {
            self.invalid(
                checks,
                "type",
                format!(
                    "is {}, which names none of {}",
                    preview(&self.object["type"]),
                    expected.join(", ")
                ),
            );
            false
        }
    }

    /// Returns whether no failure was recorded.
    pub(crate) fn is_valid(&self) -> bool {
        self.failures == 0
    }

    /// Adds `structure_valid` when no failure was recorded, and returns whether none was.
    pub(crate) fn finish(self, checks: &mut Checks) -> bool {
        if self.failures == 0 {
            checks.pass(
                codes::STRUCTURE_VALID,
                format!("{} has every field that {} requires", self.what, self.spec),
            );
            true
        } else {
            false
        }
    }
}

/// Whether `text` is an absolute IRI: a scheme (a letter, then letters, digits, `+`, `-`,
/// `.`), a colon and something after it, with no spaces.
pub(crate) fn is_absolute_iri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok && !rest.is_empty() && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn iri_rule() {
        assert!(is_absolute_iri("https://issuer.example/a"));
        assert!(is_absolute_iri("urn:uuid:5f0c"));
        assert!(is_absolute_iri("did:example:123"));
        assert!(!is_absolute_iri("/assertions/1"));
        assert!(!is_absolute_iri("https://issuer.example/a b"));
        assert!(!is_absolute_iri("1http:x"));
    }

    #[test]
    fn fields_record_each_failure() {
        let Value::Object(object) = json!({"id": 5, "name": "", "type": "Thing"}) else {
            unreachable!()
        };
        let mut checks = Checks::default();
        let mut fields = Fields::new(&object, "the BadgeClass", "Open Badges 2.0");
        assert!(fields.iri(&mut checks, "id").is_none());
        assert!(fields.string(&mut checks, "name").is_none());
        assert!(fields.string(&mut checks, "description").is_none());
        assert!(!fields.type_names(&mut checks, &["BadgeClass"]));
        assert!(!fields.finish(&mut checks));
        let report = checks.into_report();
        assert_eq!(
            report.failures(),
            vec![
                "invalid_field",
                "invalid_field",
                "missing_field",
                "invalid_field"
            ]
        );
        assert!(
            report.checks[0].message.contains("is a number"),
            "{:?}",
            report.checks[0]
        );
    }

    #[test]
    fn previews_are_bounded() {
        assert_eq!(preview(&json!("x".repeat(200))).chars().count(), 80);
        assert_eq!(quote("ab"), "\"ab\"");
    }
}
