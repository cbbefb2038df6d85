use std::fmt;

use serde::{Serialize, Serializer};

/// A text field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("{field} is empty; send at least one visible character")]
    Empty { field: &'static str },
    #[error("{field} is {length} characters long; the maximum is {max}")]
    TooLong {
        field: &'static str,
        length: usize,
        max: usize,
    },
    #[error(
        "{field} contains an invisible control character that is not allowed here; retype the text without it"
    )]
    ControlCharacter { field: &'static str },
}

impl InvalidText {
    pub fn field(&self) -> &'static str {
        match self {
            Self::Empty { field }
            | Self::TooLong { field, .. }
            | Self::ControlCharacter { field } => field,
        }
    }
}

/// The length limit of one kind of text field, in characters (Unicode scalar values).
#[derive(Debug, Clone, Copy)]
pub struct TextLimit {
    pub max_chars: usize,
    pub multiline: bool,
}

impl TextLimit {
    /// Names: issuer, achievement, recipient, display name.
    pub const NAME: Self = Self {
        max_chars: 200,
        multiline: false,
    };
    /// Descriptions and narratives, which may hold Markdown.
    pub const LONG: Self = Self {
        max_chars: 20_000,
        multiline: true,
    };
    /// Criteria narratives, which often hold a whole Markdown page.
    pub const CRITERIA: Self = Self {
        max_chars: 50_000,
        multiline: true,
    };
    /// Revocation reasons and short labels.
    pub const SHORT: Self = Self {
        max_chars: 1_000,
        multiline: false,
    };
}

/// Validated, trimmed text. Text is stored and published exactly as given (apart from the
/// trim), never truncated; pages escape it when they render it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &'static str, raw: &str, limit: TextLimit) -> Result<Self, InvalidText> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(InvalidText::Empty { field });
        }
        let length = value.chars().count();
        if length > limit.max_chars {
            return Err(InvalidText::TooLong {
                field,
                length,
                max: limit.max_chars,
            });
        }
        let allowed = |c: char| {
            if limit.multiline {
                matches!(c, '\n' | '\r' | '\t')
            } else {
                c == '\t'
            }
        };
        if value.chars().any(|c| c.is_control() && !allowed(c)) {
            return Err(InvalidText::ControlCharacter { field });
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A URL that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?} is not a valid http or https URL: {reason}")]
pub struct InvalidUrl {
    pub field: &'static str,
    pub value: String,
    pub reason: String,
}

/// An absolute `http` or `https` URL, at most 2,000 characters in its normalised form (the
/// `url` crate's serialisation, with non-ASCII characters percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct HttpsUrl(String);

impl HttpsUrl {
    pub const MAX_LEN: usize = 2_000;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidUrl> {
        let invalid = |reason: String| InvalidUrl {
            field,
            value: raw.chars().take(200).collect(),
            reason,
        };
        let trimmed = raw.trim();
        if trimmed.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "it is longer than {} characters",
                Self::MAX_LEN
            )));
        }
        let url = url::Url::parse(trimmed).map_err(|error| invalid(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the scheme is {:?}; use https",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host".to_owned()));
        }
        // Percent-encoding can make the stored form up to three times as long as the input
        // (`ü` becomes `%C3%BC`), so the limit applies to the stored form too. Otherwise the
        // API would store and return a URL that it rejects when a client sends it back.
        let normalised = String::from(url);
        if normalised.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "it is {} characters long once percent-encoded, longer than {} characters",
                normalised.len(),
                Self::MAX_LEN
            )));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpsUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_markup_and_unicode() {
        let raw = "</script><script>alert(1)</script> ]]> \u{2028} 🦉 Ж";
        assert_eq!(
            Text::parse("description", raw, TextLimit::LONG)
                .unwrap()
                .as_str(),
            raw
        );
    }

    #[test]
    fn text_rejects_over_limit_with_counts() {
        let error = Text::parse("name", &"Ж".repeat(201), TextLimit::NAME).unwrap_err();
        assert_eq!(
            error,
            InvalidText::TooLong {
                field: "name",
                length: 201,
                max: 200
            }
        );
    }

    #[test]
    fn text_rejects_newline_in_name() {
        assert_eq!(
            Text::parse("name", "two\nlines", TextLimit::NAME).unwrap_err(),
            InvalidText::ControlCharacter { field: "name" }
        );
    }

    #[test]
    fn url_requires_http_scheme() {
        assert!(HttpsUrl::parse("url", "https://example.org/evidence").is_ok());
        assert!(HttpsUrl::parse("url", "javascript:alert(1)").is_err());
        assert!(HttpsUrl::parse("url", "not a url").is_err());
    }
}
