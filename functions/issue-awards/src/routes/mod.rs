//! Handlers, one module per resource, and the request plumbing they share.

pub mod achievements;
pub mod actions;
pub mod awards;
pub mod issuer;
pub mod token;
pub mod verify;

use std::str::FromStr;

use accolade::http::{ApiError, parse_json, read_body};
use accolade::ports::PageRequest;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::Limits;

/// Reads a JSON request body: 415 `unsupported_media_type` unless `Content-Type` is JSON,
/// 413 `payload_too_large` above `limit`, 400 `invalid_json` unless it parses. Returns the raw
/// bytes too, for the request fingerprint.
pub async fn read_json(request: Request, limit: usize) -> Result<(Bytes, Value), ApiError> {
    if !is_json(request.headers()) {
        return Err(json_required());
    }
    let raw = read_body(request, &(), limit, "the JSON body").await?;
    let value = parse_json(&raw)?;
    Ok((raw, value))
}

/// Reads an optional JSON body: an empty body counts as `{}`; anything else is read as by
/// [`read_json`].
pub async fn read_optional_json(
    request: Request,
    limit: usize,
) -> Result<(Bytes, Value), ApiError> {
    let has_type = request.headers().contains_key(header::CONTENT_TYPE);
    if has_type && !is_json(request.headers()) {
        return Err(json_required());
    }
    let raw = read_body(request, &(), limit, "the JSON body").await?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok((raw, json!({})));
    }
    if !has_type {
        return Err(json_required());
    }
    let value = parse_json(&raw)?;
    Ok((raw, value))
}

fn json_required() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the request body must be JSON; send Content-Type: application/json",
    )
}

/// Checks that `Content-Type` is `application/json` or another `application/*+json` type.
fn is_json(headers: &HeaderMap) -> bool {
    let essence = media_type(headers);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Returns the lower-case media type of `Content-Type` without parameters, or an empty string
/// when the header is absent.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Parses an id from the path. An id that is not a UUID is 404, like a missing one, so a path
/// never reveals more than "not found".
pub fn path_id<T: FromStr>(raw: &str, kind: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| {
        let truncated: String = raw.chars().take(80).collect();
        ApiError::not_found(kind, &truncated)
    })
}

/// Parses the query parameters of a request, rejecting names outside `allowed` (a misspelt filter
/// would otherwise list everything) and repeated names.
pub fn query_params(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|error| invalid_query("", format!("the query string is malformed: {error}")))?;
    for (index, (name, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&name.as_str()) {
            let truncated: String = name.chars().take(50).collect();
            return Err(invalid_query(
                &truncated,
                format!(
                    "query parameter {truncated:?} is unknown; the parameters here are {}",
                    allowed.join(", ")
                ),
            ));
        }
        if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(invalid_query(
                name,
                format!("query parameter {name} is repeated; send it once"),
            ));
        }
    }
    Ok(pairs)
}

/// Returns the value of one query parameter.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// 400 `invalid_query` naming the parameter.
pub fn invalid_query(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message).with_details(json!({ "parameter": parameter }))
}

/// Reads the page that a list request names: `limit` (1 to the maximum) and `cursor`.
pub fn page_request(pairs: &[(String, String)], limits: &Limits) -> Result<PageRequest, ApiError> {
    let max = limits.max_page_size;
    let limit = match param(pairs, "limit") {
        None => limits.default_page_size,
        Some(raw) => match raw.parse::<u32>() {
            Ok(limit) if (1..=max).contains(&limit) => limit,
            _ => {
                return Err(invalid_query(
                    "limit",
                    format!(
                        "limit {:?} is invalid; send a whole number from 1 to {max}",
                        raw.chars().take(20).collect::<String>()
                    ),
                ));
            }
        },
    };
    let cursor = param(pairs, "cursor")
        .filter(|cursor| !cursor.is_empty())
        .map(str::to_owned);
    Ok(PageRequest { limit, cursor })
}

/// The strong entity tag of a record version.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Checks `If-Match` against the current version: 412 `precondition_failed` when the header
/// is present and names neither the current entity tag nor `*`.
pub fn check_if_match(headers: &HeaderMap, version: u64) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let current = format!("\"{version}\"");
    let matches = value.to_str().is_ok_and(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag == current)
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            format!(
                "If-Match does not match the current version {current}; read the record again, then retry with its ETag"
            ),
        )
        .with_details(json!({ "current_etag": current })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_rejects_unknown_and_repeated_names() {
        let allowed = ["limit", "cursor"];
        assert_eq!(
            query_params(Some("limit=5&cursor=abc"), &allowed).unwrap(),
            vec![
                ("limit".to_owned(), "5".to_owned()),
                ("cursor".to_owned(), "abc".to_owned())
            ]
        );
        let unknown = query_params(Some("state=issued"), &allowed).unwrap_err();
        assert_eq!(unknown.details["parameter"], "state");
        let repeated = query_params(Some("limit=5&limit=6"), &allowed).unwrap_err();
        assert_eq!(repeated.details["parameter"], "limit");
    }

    #[test]
    fn page_limit_bounds() {
        let limits = Limits::default();
        let page = |query: &str| {
            let pairs = query_params(Some(query), &["limit", "cursor"]).unwrap();
            page_request(&pairs, &limits)
        };
        assert_eq!(page("").unwrap().limit, 50);
        assert_eq!(page("limit=100").unwrap().limit, 100);
        for bad in ["limit=0", "limit=101", "limit=-1", "limit=ten"] {
            assert_eq!(page(bad).unwrap_err().code, "invalid_query", "{bad}");
        }
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        let mut headers = HeaderMap::new();
        assert!(check_if_match(&headers, 3).is_ok());
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"2\", \"3\""));
        assert!(check_if_match(&headers, 3).is_ok());
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"3\""));
        assert_eq!(check_if_match(&headers, 3).unwrap_err().status, 412);
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert!(check_if_match(&headers, 3).is_ok());
    }
}
