//! What counts as Open Badges data: checking payloads before a bake and classifying text after
//! an unbake.

use std::borrow::Cow;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::{
    BadgeFormat, BakeError, BakeInput, MAX_PAYLOAD_BYTES, Payload, PayloadKind, UnbakeError,
    UnbakeWarning,
};

/// Type names that make a JSON object an Open Badges 2.0 assertion.
const V2_TYPES: &[&str] = &["Assertion", "https://w3id.org/openbadges#Assertion"];
/// Type names that make a JSON object an Open Badges 3.0 credential.
const V3_TYPES: &[&str] = &["OpenBadgeCredential", "AchievementCredential"];

/// Which version a JSON value is an object of, or why it is not an Open Badges object.
pub(crate) fn json_class(value: &Value) -> Result<BadgeFormat, String> {
    let Value::Object(map) = value else {
        return Err(format!("the JSON is {}, not an object", json_kind(value)));
    };
    let types: Vec<&str> = match map.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.push(s.as_str()),
                    other => {
                        return Err(format!(
                            "its \"type\" holds {}, not only strings",
                            json_kind(other)
                        ));
                    }
                }
            }
            out
        }
        Some(other) => {
            return Err(format!(
                "its \"type\" is {}, not a string or a list of strings",
                json_kind(other)
            ));
        }
        None => return Err("it has no \"type\"".to_owned()),
    };
    match map.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(Value::String(_)) => return Err("its \"id\" is empty".to_owned()),
        Some(other) => return Err(format!("its \"id\" is {}, not a string", json_kind(other))),
        None => return Err("it has no \"id\"".to_owned()),
    }
    class_of_types(&types)
}

/// Returns the version that the `type` names of an object with an `id` make it.
fn class_of_types(types: &[&str]) -> Result<BadgeFormat, String> {
    if types.iter().any(|t| V3_TYPES.contains(t)) {
        Ok(BadgeFormat::V3)
    } else if types.iter().any(|t| V2_TYPES.contains(t)) {
        Ok(BadgeFormat::V2)
    } else {
        Err(format!(
            "its \"type\" {:?} names neither an Open Badges 2.0 Assertion nor an \
             OpenBadgeCredential or AchievementCredential",
            types
        ))
    }
}

/// The two members of a JSON object that decide its class. Every other member is checked
/// for valid JSON and skipped, so no `Value` tree is built for it.
#[derive(Deserialize)]
struct ClassMembers<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    types: Option<TypeNames<'a>>,
}

/// The `type` member: one name or a list of names.
#[derive(Deserialize)]
#[serde(untagged)]
enum TypeNames<'a> {
    One(#[serde(borrow)] Cow<'a, str>),
    Many(#[serde(borrow)] Vec<Cow<'a, str>>),
}

/// A JSON payload that is an Open Badges object.
pub(crate) struct JsonPayload {
    pub format: BadgeFormat,
    /// The object's `id`.
    pub id: String,
}

/// The reason JSON text is not an Open Badges object.
pub(crate) enum JsonPayloadError {
    Syntax(serde_json::Error),
    NotOpenBadges(String),
}

/// Reads the class and `id` of a JSON payload, with the same outcome as parsing it into a
/// `Value` and calling [`json_class`].
///
/// Payloads are read on every bake and unbake, so the common case, a well-formed object,
/// takes a path that borrows `id` and `type` and builds no `Value` (about a third of a PNG
/// bake's time went into that tree). Anything else, including duplicate members, which
/// `Value` resolves to the last one, goes through `Value` to get the same result and
/// error message.
pub(crate) fn read_json_payload(text: &str) -> Result<JsonPayload, JsonPayloadError> {
    if let Some(payload) = read_class_members(text) {
        return Ok(payload);
    }
    let value: Value = serde_json::from_str(text).map_err(JsonPayloadError::Syntax)?;
    let format = json_class(&value).map_err(JsonPayloadError::NotOpenBadges)?;
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(JsonPayload { format, id })
}

/// Reads a well-formed Open Badges object by borrowing its `id` and `type`, for
/// [`read_json_payload`]. Returns `None` for anything else.
fn read_class_members(text: &str) -> Option<JsonPayload> {
    // A struct also deserialises from a JSON array, which is not an object.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return None;
    }
    let members: ClassMembers<'_> = serde_json::from_str(text).ok()?;
    let id = members.id?;
    if id.trim().is_empty() {
        return None;
    }
    let format = match members.types? {
        TypeNames::One(name) => class_of_types(&[name.as_ref()]).ok()?,
        TypeNames::Many(names) if !names.is_empty() => {
            let names: Vec<&str> = names.iter().map(|name| name.as_ref()).collect();
            class_of_types(&names).ok()?
        }
        TypeNames::Many(_) => return None,
    };
    Some(JsonPayload {
        format,
        id: id.into_owned(),
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn b64url_decode(part: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    ENGINE.decode(part).ok()
}

fn is_b64url(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a compact JWS and returns its decoded payload.
pub(crate) fn parse_jws(text: &str) -> Result<Value, String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 3 {
        return Err(format!("it has {} dot-separated parts, not 3", parts.len()));
    }
    let names = ["header", "payload", "signature"];
    for (part, name) in parts.iter().zip(names) {
        if part.is_empty() {
            return Err(format!("its {name} is empty"));
        }
        if !is_b64url(part) {
            return Err(format!(
                "its {name} holds characters outside the base64url alphabet"
            ));
        }
    }
    let header = b64url_decode(parts[0]).ok_or("its header is not valid base64url")?;
    let header: Value =
        serde_json::from_slice(&header).map_err(|_| "its header is not JSON".to_owned())?;
    match header.get("alg") {
        Some(Value::String(alg)) if !alg.is_empty() => {}
        _ => return Err("its header has no \"alg\"".to_owned()),
    }
    if !header.is_object() {
        return Err("its header is not a JSON object".to_owned());
    }
    let payload = b64url_decode(parts[1]).ok_or("its payload is not valid base64url")?;
    let payload: Value =
        serde_json::from_slice(&payload).map_err(|_| "its payload is not JSON".to_owned())?;
    if !payload.is_object() {
        return Err("its payload is not a JSON object".to_owned());
    }
    Ok(payload)
}

/// The version of a JWS payload, when it tells: the payload itself, or its `vc` claim (VC-JWT).
fn jws_payload_class(payload: &Value) -> Option<BadgeFormat> {
    json_class(payload)
        .ok()
        .or_else(|| payload.get("vc").and_then(|vc| json_class(vc).ok()))
}

/// An absolute http(s) URL with a host and no whitespace or control characters.
pub(crate) fn is_http_url(text: &str) -> bool {
    let rest = if let Some(r) = text.strip_prefix("https://") {
        r
    } else if let Some(r) = text.strip_prefix("http://") {
        r
    } else {
        return false;
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next().unwrap_or("");
    !host.is_empty()
        && !host.starts_with(':')
        && !text.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '"' | '<' | '>' | '\\' | '`' | '{' | '}' | '|' | '^')
        })
}

/// Checks a bake's payload. Returns the `id` of a JSON payload (for the SVG `verify`
/// fallback).
pub(crate) fn check_for_bake(
    format: BadgeFormat,
    input: &BakeInput<'_>,
) -> Result<Option<String>, BakeError> {
    let text = input.payload.text();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(BakeError::PayloadTooLarge {
            size: text.len(),
            max: MAX_PAYLOAD_BYTES,
        });
    }
    if let Some(url) = input.assertion_url
        && !is_http_url(url)
    {
        return Err(BakeError::InvalidAssertionUrl {
            url: url.to_owned(),
        });
    }
    match input.payload {
        Payload::Json(json) => {
            let payload = read_json_payload(json).map_err(|error| match error {
                JsonPayloadError::Syntax(e) => BakeError::InvalidJson {
                    format,
                    reason: e.to_string(),
                },
                JsonPayloadError::NotOpenBadges(reason) => {
                    BakeError::NotAnOpenBadgesObject { format, reason }
                }
            })?;
            if payload.format != format {
                return Err(BakeError::FormatMismatch {
                    requested: format,
                    found: payload.format,
                });
            }
            Ok(Some(payload.id))
        }
        Payload::Jws(jws) => {
            let payload = parse_jws(jws).map_err(|reason| BakeError::InvalidJws { reason })?;
            if let Some(found) = jws_payload_class(&payload)
                && found != format
            {
                return Err(BakeError::FormatMismatch {
                    requested: format,
                    found,
                });
            }
            Ok(None)
        }
    }
}

/// What was read.
#[derive(Debug)]
pub(crate) struct Classified {
    pub kind: PayloadKind,
    pub text: String,
    pub warnings: Vec<UnbakeWarning>,
}

/// Classifies text read from a container of `format`.
///
/// JSON is returned exactly as stored; a JWS or URL without surrounding whitespace. A URL is
/// accepted only for Open Badges 2.0 (legacy hosted bakes).
pub(crate) fn classify(format: BadgeFormat, text: &str) -> Result<Classified, UnbakeError> {
    let not_ob = |reason: String| UnbakeError::NotAnOpenBadgesObject { format, reason };
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(UnbakeError::PayloadTooLarge {
            format,
            max: MAX_PAYLOAD_BYTES,
        });
    }
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if trimmed.is_empty() {
        return Err(not_ob("the text is empty".to_owned()));
    }
    let mut warnings = Vec::new();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let found = match read_json_payload(text) {
            Ok(payload) => payload.format,
            Err(JsonPayloadError::Syntax(e)) => {
                return Err(not_ob(format!("the text is not valid JSON ({e})")));
            }
            Err(JsonPayloadError::NotOpenBadges(reason)) => return Err(not_ob(reason)),
        };
        if found != format {
            warnings.push(UnbakeWarning::FormatMismatch {
                container: format,
                content: found,
            });
        }
        return Ok(Classified {
            kind: PayloadKind::Json,
            text: text.to_owned(),
            warnings,
        });
    }
    if is_http_url(trimmed) {
        if format == BadgeFormat::V2 {
            return Ok(Classified {
                kind: PayloadKind::Url,
                text: trimmed.to_owned(),
                warnings,
            });
        }
        return Err(not_ob(
            "the text is a URL, which Open Badges 3.0 does not allow in place of the credential"
                .to_owned(),
        ));
    }
    if trimmed.contains('.') {
        let payload = parse_jws(trimmed)
            .map_err(|r| not_ob(format!("the text is not a compact JWS: {r}")))?;
        if let Some(found) = jws_payload_class(&payload)
            && found != format
        {
            warnings.push(UnbakeWarning::FormatMismatch {
                container: format,
                content: found,
            });
        }
        return Ok(Classified {
            kind: PayloadKind::Jws,
            text: trimmed.to_owned(),
            warnings,
        });
    }
    let preview: String = trimmed.chars().take(40).collect();
    Err(not_ob(format!(
        "the text {preview:?} is neither JSON, a compact JWS nor a URL"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub(crate) fn jws_of(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn json_classes() {
        let v2: Value =
            serde_json::from_str(r#"{"id":"https://x.example/a/1","type":"Assertion"}"#).unwrap();
        assert_eq!(json_class(&v2), Ok(BadgeFormat::V2));
        let v3: Value = serde_json::from_str(
            r#"{"id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"]}"#,
        )
        .unwrap();
        assert_eq!(json_class(&v3), Ok(BadgeFormat::V3));
        for bad in [
            r#"{}"#,
            r#"{"id":"x"}"#,
            r#"{"type":"Assertion"}"#,
            r#"{"id":"","type":"Assertion"}"#,
            r#"{"id":"x","type":"Thing"}"#,
            "[]",
            "3",
            r#"{"id":1,"type":"Assertion"}"#,
            r#"{"id":"x","type":[]}"#,
            r#"{"id":"x","type":[1]}"#,
        ] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(json_class(&v).is_err(), "{bad}");
        }
    }

    /// The borrowing path must give the same result as parsing into a `Value`.
    #[test]
    fn read_json_payload_agrees_with_value() {
        fn through_value(text: &str) -> Result<(BadgeFormat, String), String> {
            let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let format = json_class(&value)?;
            Ok((format, value["id"].as_str().unwrap().to_owned()))
        }
        fn through_reader(text: &str) -> Result<(BadgeFormat, String), String> {
            match read_json_payload(text) {
                Ok(payload) => Ok((payload.format, payload.id)),
                Err(JsonPayloadError::Syntax(e)) => Err(e.to_string()),
                Err(JsonPayloadError::NotOpenBadges(reason)) => Err(reason),
            }
        }
        for text in [
            r#"{"id":"https://x.example/a/1","type":"Assertion"}"#,
            r#"{"@context":"https://w3id.org/openbadges/v2","type":"Assertion","id":"https://x.example/a/1","badge":{"id":"b","type":"BadgeClass"}}"#,
            r#"{"id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"]}"#,
            r#"{"id":"urn:uuid:1","type":["VerifiableCredential","AchievementCredential","Assertion"]}"#,
            r#"{"id":"https:\/\/x.example\/a\/1","type":"Assert\u0069on"}"#,
            "\r\n\t {\"id\":\"x\",\"type\":\"Assertion\"} \n",
            r#"{"id":"","type":"Assertion","id":"https://x.example/a/2"}"#,
            r#"{"id":"x","type":"Thing","type":"Assertion"}"#,
            r#"{"id":"x","type":"Assertion","type":"Thing"}"#,
            r#"["https://x.example/a/1","Assertion"]"#,
            r#"{"id":null,"type":"Assertion"}"#,
            r#"{"id":"x","type":null}"#,
            r#"{"id":" ","type":"Assertion"}"#,
            r#"{"id":"x","type":["Thing",1]}"#,
            r#"{"id":"x","type":[["Assertion"]]}"#,
            r#"{"id":"x","type":[]}"#,
            r#"{"id":"x","type":"Assertion"} trailing"#,
            r#"{"id":"x","type":"Assertion""#,
            "\u{feff}{\"id\":\"x\",\"type\":\"Assertion\"}",
            r#"{"id":"x","type":"Assertion","extra":{"deep":[1,2,{"a":null}]}}"#,
        ] {
            let expected = through_value(text);
            let actual = through_reader(text);
            assert_eq!(
                actual.is_ok(),
                expected.is_ok(),
                "{text}: {actual:?} vs {expected:?}"
            );
            if let (Ok(actual), Ok(expected)) = (&actual, &expected) {
                assert_eq!(actual, expected, "{text}");
            }
        }
    }

    #[test]
    fn jws_shapes() {
        let good = jws_of(
            r#"{"alg":"RS256"}"#,
            r#"{"id":"https://x.example/a/1","type":"Assertion"}"#,
        );
        assert!(parse_jws(&good).is_ok());
        assert!(parse_jws("a.b").is_err());
        assert!(parse_jws("a..c").is_err());
        assert!(parse_jws("a.b.c d").is_err());
        assert!(parse_jws(&jws_of(r#"{"typ":"JWT"}"#, "{}")).is_err());
        assert!(parse_jws(&jws_of(r#"{"alg":"RS256"}"#, "[1]")).is_err());
        assert!(parse_jws(&jws_of("[]", "{}")).is_err());
    }

    #[test]
    fn urls() {
        assert!(is_http_url("https://old-issuer.example/assertions/111"));
        assert!(is_http_url("http://a.example"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("ftp://a.example/x"));
        assert!(!is_http_url("https://a.example/x y"));
        assert!(!is_http_url("javascript:alert(1)"));
    }

    #[test]
    fn bake_checks() {
        let f = BadgeFormat::V2;
        let code = |i: BakeInput<'_>| check_for_bake(f, &i).unwrap_err().code();
        assert_eq!(
            code(BakeInput::json("{\r\n}\r\n")),
            "not_an_open_badges_object"
        );
        assert_eq!(code(BakeInput::json("{")), "invalid_json");
        assert_eq!(
            code(BakeInput::json(
                r#"{"id":"urn:x","type":"OpenBadgeCredential"}"#
            )),
            "badge_format_mismatch"
        );
        assert_eq!(code(BakeInput::jws("not a jws")), "invalid_jws");
        assert_eq!(
            code(BakeInput::hosted(
                r#"{"id":"urn:x","type":"Assertion"}"#,
                "nope"
            )),
            "invalid_assertion_url"
        );
        let v3jws = jws_of(
            r#"{"alg":"ES256"}"#,
            r#"{"vc":{"id":"urn:x","type":["VerifiableCredential","OpenBadgeCredential"]}}"#,
        );
        assert_eq!(code(BakeInput::jws(&v3jws)), "badge_format_mismatch");
        assert!(check_for_bake(BadgeFormat::V3, &BakeInput::jws(&v3jws)).is_ok());
        let big = "x".repeat(MAX_PAYLOAD_BYTES + 1);
        assert_eq!(code(BakeInput::json(&big)), "payload_too_large");
    }

    #[test]
    fn classify_texts() {
        let c = classify(BadgeFormat::V2, "https://old-issuer.example/assertions/111").unwrap();
        assert_eq!(c.kind, PayloadKind::Url);
        assert_eq!(
            classify(BadgeFormat::V3, "https://x.example/1")
                .unwrap_err()
                .code(),
            "not_an_open_badges_object"
        );
        assert_eq!(
            classify(BadgeFormat::V2, "{\r\n}\r\n").unwrap_err().code(),
            "not_an_open_badges_object"
        );
        assert_eq!(
            classify(BadgeFormat::V2, "").unwrap_err().code(),
            "not_an_open_badges_object"
        );
        assert_eq!(
            classify(BadgeFormat::V2, "hello").unwrap_err().code(),
            "not_an_open_badges_object"
        );
        assert_eq!(
            classify(
                BadgeFormat::V2,
                r#"{"id":"https://old-issuer.example/assertions/222"}"#
            )
            .unwrap_err()
            .code(),
            "not_an_open_badges_object"
        );
        let j = " {\"id\":\"urn:x\",\"type\":\"OpenBadgeCredential\"}\n";
        let c = classify(BadgeFormat::V2, j).unwrap();
        assert_eq!(c.text, j);
        assert_eq!(
            c.warnings,
            vec![UnbakeWarning::FormatMismatch {
                container: BadgeFormat::V2,
                content: BadgeFormat::V3
            }]
        );
        let jws = jws_of(r#"{"alg":"RS256"}"#, r#"{"sub":"x"}"#);
        let c = classify(BadgeFormat::V3, &format!("\n  {jws}\n")).unwrap();
        assert_eq!((c.kind, c.text.as_str()), (PayloadKind::Jws, jws.as_str()));
    }
}
