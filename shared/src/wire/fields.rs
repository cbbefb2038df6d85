//! Field access with JSON paths, and the parsing of values that have rules.

use crate::domain::{EmailAddress, HttpsUrl, InvalidText, Text, TextLimit, Timestamp};
use crate::http::ApiError;
use serde_json::{Map, Value, json};

/// The fields of one JSON object, with the path of the object for error messages.
pub struct Fields<'a> {
    prefix: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object whose keys are all in `allowed`. `prefix` is the object's
    /// JSON path, empty for the request body itself.
    pub fn new(value: &'a Value, prefix: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let Value::Object(map) = value else {
            if prefix.is_empty() {
                return Err(ApiError::bad_request(
                    "invalid_json",
                    format!(
                        "the request body is {}, but it must be a JSON object with the fields {}",
                        describe(value),
                        allowed.join(", ")
                    ),
                ));
            }
            return Err(ApiError::invalid_field(
                prefix,
                format!(
                    "{prefix} is {}, but it must be an object with the fields {}",
                    describe(value),
                    allowed.join(", ")
                ),
            ));
        };
        let fields = Self {
            prefix: prefix.to_owned(),
            map,
        };
        if let Some(unknown) = map.keys().find(|key| !allowed.contains(&key.as_str())) {
            let path = fields.path(unknown);
            return Err(ApiError::invalid_field(
                &path,
                format!(
                    "{path} is not a known field; the fields here are {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(fields)
    }

    /// Returns the JSON path of a field of this object.
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Returns the value of a field, or `None` when it is absent or `null`.
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong_type(key, other, "a string")),
        }
    }

    /// Reads a string field that must be present. `hint` is appended to the error message and
    /// names what to send.
    pub fn required_string(&self, key: &str, hint: &str) -> Result<&'a str, ApiError> {
        self.string(key)?.ok_or_else(|| {
            let path = self.path(key);
            ApiError::invalid_field(&path, format!("{path} is missing; {hint}"))
        })
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(self.wrong_type(key, other, "true or false")),
        }
    }

    pub fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong_type(key, other, "an array")),
        }
    }

    fn wrong_type(&self, key: &str, value: &Value, expected: &str) -> ApiError {
        let path = self.path(key);
        ApiError::invalid_field(
            &path,
            format!("{path} is {}, but it must be {expected}", describe(value)),
        )
    }
}

/// Names a JSON value's type in words, for messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses text under `limit`; the error names `path`.
pub fn text(path: &str, raw: &str, limit: TextLimit) -> Result<Text, ApiError> {
    Text::parse("value", raw, limit).map_err(|error| {
        let message = match error {
            InvalidText::Empty { .. } => {
                format!("{path} is empty; send at least one visible character")
            }
            InvalidText::TooLong { length, max, .. } => format!(
                "{path} is {length} characters long; the maximum is {max} characters, so shorten it (text is never cut silently)"
            ),
            InvalidText::ControlCharacter { .. } if limit.multiline => format!(
                "{path} contains a control character; only newlines and tabs are allowed"
            ),
            InvalidText::ControlCharacter { .. } => format!(
                "{path} contains a line break or another control character; send a single line"
            ),
        };
        ApiError::invalid_field(path, message)
            .with_details(json!({ "field": path, "max_chars": limit.max_chars }))
    })
}

/// Parses and normalises an email address (trimmed and lower-cased); the error names `path`.
pub fn email(path: &str, raw: &str) -> Result<EmailAddress, ApiError> {
    EmailAddress::parse(raw).map_err(|error| {
        ApiError::invalid_field(
            path,
            format!(
                "{path} {:?} is not a valid email address: {}",
                error.value, error.reason
            ),
        )
    })
}

/// Parses an absolute http(s) URL; the error names `path`.
pub fn url(path: &str, raw: &str) -> Result<HttpsUrl, ApiError> {
    HttpsUrl::parse("url", raw).map_err(|error| {
        ApiError::invalid_field(
            path,
            format!(
                "{path} {:?} is not a valid http or https URL: {}",
                error.value, error.reason
            ),
        )
    })
}

pub(super) fn timestamp(path: &str, raw: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(raw.trim()).map_err(|_| {
        ApiError::invalid_field(
            path,
            format!(
                "{path} {:?} is not an RFC 3339 date-time; send a value such as 2025-07-31T23:59:59Z",
                raw.chars().take(60).collect::<String>()
            ),
        )
    })
}
