//! Parses arbitrary bytes as each JSON request body of the partner API (`accolade::wire`)
//! and checks that every accepted body reads back unchanged from its own normalised form,
//! and that every rejection is a 4xx error that names what failed.
//!
//! The same bytes, as text, go through the field parsers (text, email, URL, award state and
//! the RFC 3339 timestamps of `expires_at`), whose normalised output must parse to itself.

#![no_main]

use accolade::domain::{Text, TextLimit, Timestamp};
use accolade::http::ApiError;
use accolade::wire::{
    self, IssuerUpdate, NewAward, parse_batch, parse_issuer_update, parse_new_award, parse_resend,
    parse_revocation, parse_state,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// The request time: 2025-06-15T15:06:40Z.
const NOW_UNIX_SECONDS: i64 = 1_750_000_000;
/// The batch size limit of the API's defaults.
const MAX_BATCH_ITEMS: usize = 100;

fn check_rejection(error: &ApiError) {
    assert!(
        error.status.is_client_error(),
        "a body is rejected with {}",
        error.status
    );
    assert!(!error.code.is_empty(), "an error without a code");
    assert!(!error.message.is_empty(), "an error without a message");
    if error.code == "invalid_field" {
        assert!(
            error.details.get("field").is_some_and(Value::is_string),
            "invalid_field without the field's path: {:?}",
            error.details
        );
    }
}

fn insert_text(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), json!(value));
    }
}

/// Builds the body that a client would send for `award`, from its normalised values.
fn award_body(award: &NewAward) -> Value {
    let mut recipient = Map::new();
    insert_text(
        &mut recipient,
        "email",
        award.recipient.email.as_ref().map(|email| email.as_str()),
    );
    insert_text(
        &mut recipient,
        "name",
        award.recipient.name.as_ref().map(Text::as_str),
    );
    insert_text(
        &mut recipient,
        "delivery_email",
        award
            .recipient
            .delivery_email
            .as_ref()
            .map(|email| email.as_str()),
    );
    let evidence: Vec<Value> = award
        .evidence
        .iter()
        .map(|item| {
            let mut entry = Map::new();
            insert_text(
                &mut entry,
                "narrative",
                item.narrative.as_ref().map(Text::as_str),
            );
            insert_text(&mut entry, "url", item.url.as_ref().map(|url| url.as_str()));
            Value::Object(entry)
        })
        .collect();
    json!({
        "achievement_id": award.achievement_id.to_string(),
        "recipient": recipient,
        "narrative": award.narrative.as_ref().map(Text::as_str),
        "evidence": evidence,
        "expires_at": award.expires_at.map(Timestamp::to_rfc3339),
        "reaward": award.reaward,
    })
}

fn check_award(body: &Value, now: Timestamp) {
    match parse_new_award(body, now) {
        Ok(award) => {
            assert!(award.evidence.len() <= wire::MAX_EVIDENCE);
            let recipient = &award.recipient;
            assert!(recipient.email.is_some() || recipient.delivery_email.is_some());
            assert!(recipient.email.is_some() || recipient.name.is_some());
            assert!(award.expires_at.is_none_or(|expires_at| expires_at > now));
            let again = parse_new_award(&award_body(&award), now);
            assert_eq!(
                again.as_ref().ok(),
                Some(&award),
                "an award does not round-trip: {:?}",
                again.as_ref().err()
            );
        }
        Err(error) => check_rejection(&error),
    }
}

fn issuer_body(update: &IssuerUpdate) -> Value {
    json!({
        "name": update.name.as_str(),
        "url": update.url.as_str(),
        "email": update.email.as_str(),
        "description": update.description.as_ref().map(Text::as_str),
    })
}

fn check_bodies(body: &Value) {
    let now = Timestamp::from_unix_seconds(NOW_UNIX_SECONDS);
    check_award(body, now);

    match parse_batch(body, MAX_BATCH_ITEMS) {
        Ok(items) => {
            assert!((1..=MAX_BATCH_ITEMS).contains(&items.len()));
            for item in items {
                check_award(item, now);
            }
        }
        Err(error) => check_rejection(&error),
    }

    match parse_issuer_update(body) {
        Ok(update) => {
            let again = parse_issuer_update(&issuer_body(&update));
            assert_eq!(
                again.as_ref().ok(),
                Some(&update),
                "an issuer update does not round-trip: {:?}",
                again.as_ref().err()
            );
        }
        Err(error) => check_rejection(&error),
    }

    match parse_revocation(body) {
        Ok(reason) => {
            assert!(reason.as_str().chars().count() <= TextLimit::SHORT.max_chars);
            let again = parse_revocation(&json!({"reason": reason.as_str()}));
            assert_eq!(again.ok(), Some(reason));
        }
        Err(error) => check_rejection(&error),
    }

    match parse_resend(body) {
        Ok(email) => {
            let body = json!({"delivery_email": email.as_ref().map(|email| email.as_str())});
            assert_eq!(parse_resend(&body).ok(), Some(email));
        }
        Err(error) => check_rejection(&error),
    }
}

fn check_fields(raw: &str) {
    if let Some(state) = parse_state(raw) {
        assert_eq!(state.as_str(), raw);
    }
    for limit in [
        TextLimit::NAME,
        TextLimit::SHORT,
        TextLimit::LONG,
        wire::TAG_LIMIT,
    ] {
        match wire::text("field", raw, limit) {
            Ok(text) => {
                assert_eq!(text.as_str(), raw.trim());
                assert!(text.as_str().chars().count() <= limit.max_chars);
                assert_eq!(wire::text("field", text.as_str(), limit).ok(), Some(text));
            }
            Err(error) => check_rejection(&error),
        }
    }
    match wire::email("field", raw) {
        Ok(email) => {
            assert_eq!(
                wire::email("field", email.as_str()).ok(),
                Some(email.clone()),
                "email {email} is not normalised"
            );
        }
        Err(error) => check_rejection(&error),
    }
    match wire::url("field", raw) {
        Ok(url) => {
            let again = wire::url("field", url.as_str());
            assert_eq!(
                again.as_ref().ok(),
                Some(&url),
                "URL {url} is not normalised: {:?}",
                again.as_ref().err().map(|error| &error.message)
            );
        }
        Err(error) => check_rejection(&error),
    }
    // `expires_at` is read with `Timestamp::parse_rfc3339` and written back with `to_rfc3339`.
    if let Ok(timestamp) = Timestamp::parse_rfc3339(raw.trim()) {
        let written = timestamp.to_rfc3339();
        assert_eq!(
            Timestamp::parse_rfc3339(&written).ok(),
            Some(timestamp),
            "{raw:?} is accepted, but its UTC form {written:?} does not parse"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        check_bodies(&body);
    }
    if let Ok(raw) = std::str::from_utf8(data) {
        check_fields(raw);
    }
});
