//! Request bodies, validated and converted into domain types.

use std::str::FromStr;

use crate::domain::{
    AchievementId, AwardState, EmailAddress, Evidence, HttpsUrl, Recipient, Text, TextLimit,
    Timestamp,
};
use crate::http::ApiError;
use serde_json::{Value, json};

use super::MAX_EVIDENCE;
use super::fields::{Fields, email, text, timestamp, url};

/// A validated `POST /v1/awards` body (or one item of a batch).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAward {
    pub achievement_id: AchievementId,
    pub recipient: Recipient,
    pub narrative: Option<Text>,
    pub evidence: Vec<Evidence>,
    pub expires_at: Option<Timestamp>,
    /// A deliberate second award of the same achievement to the same person.
    pub reaward: bool,
}

const AWARD_FIELDS: &[&str] = &[
    "achievement_id",
    "recipient",
    "narrative",
    "evidence",
    "expires_at",
    "reaward",
];

/// Parses an award body. `now` is needed because an expiry must lie in the future.
pub fn parse_new_award(value: &Value, now: Timestamp) -> Result<NewAward, ApiError> {
    let fields = Fields::new(value, "", AWARD_FIELDS)?;

    let raw_id = fields.required_string(
        "achievement_id",
        "send the id of one of your achievements (GET /v1/achievements lists them)",
    )?;
    let achievement_id = AchievementId::from_str(raw_id.trim()).map_err(|error| {
        ApiError::invalid_field("achievement_id", format!("achievement_id: {error}"))
    })?;

    let recipient = match fields.value("recipient") {
        Some(value) => parse_recipient(value)?,
        None => {
            return Err(ApiError::invalid_field(
                "recipient",
                "recipient is missing; send {\"email\": ...}, or {\"name\": ..., \"delivery_email\": ...} when the email goes to a parent or guardian",
            ));
        }
    };

    let narrative = fields
        .string("narrative")?
        .map(|raw| text("narrative", raw, TextLimit::LONG))
        .transpose()?;

    let evidence = match fields.array("evidence")? {
        None => Vec::new(),
        Some(items) => parse_evidence(items)?,
    };

    let expires_at = match fields.string("expires_at")? {
        None => None,
        Some(raw) => {
            let expires_at = timestamp("expires_at", raw)?;
            if expires_at <= now {
                return Err(ApiError::invalid_field(
                    "expires_at",
                    format!(
                        "expires_at {expires_at} is not in the future (the time now is {now}); send a later time or leave it out"
                    ),
                ));
            }
            Some(expires_at)
        }
    };

    let reaward = fields.bool("reaward")?.unwrap_or(false);

    Ok(NewAward {
        achievement_id,
        recipient,
        narrative,
        evidence,
        expires_at,
        reaward,
    })
}

fn parse_recipient(value: &Value) -> Result<Recipient, ApiError> {
    let fields = Fields::new(value, "recipient", &["email", "name", "delivery_email"])?;

    let email_address = fields
        .string("email")?
        .map(|raw| email("recipient.email", raw))
        .transpose()?;
    let name = fields
        .string("name")?
        .map(|raw| text("recipient.name", raw, TextLimit::NAME))
        .transpose()?;
    let delivery_email = fields
        .string("delivery_email")?
        .map(|raw| email("recipient.delivery_email", raw))
        .transpose()?;

    if email_address.is_none() && delivery_email.is_none() {
        return Err(ApiError::invalid_field(
            "recipient.email",
            "recipient.email is missing; send the young person's email, or delivery_email (a parent's or guardian's address) together with name",
        ));
    }
    if email_address.is_none() && name.is_none() {
        return Err(ApiError::invalid_field(
            "recipient.name",
            "recipient.name is missing; it is required when only delivery_email is given, so that siblings who share a parent's address each get their own award",
        ));
    }
    Ok(Recipient {
        email: email_address,
        name,
        delivery_email,
    })
}

fn parse_evidence(items: &[Value]) -> Result<Vec<Evidence>, ApiError> {
    if items.len() > MAX_EVIDENCE {
        return Err(ApiError::invalid_field(
            "evidence",
            format!(
                "evidence has {} entries; the maximum is {MAX_EVIDENCE}",
                items.len()
            ),
        ));
    }
    let mut evidence = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let prefix = format!("evidence[{index}]");
        let fields = Fields::new(item, &prefix, &["narrative", "url"])?;
        let narrative = fields
            .string("narrative")?
            .map(|raw| text(&fields.path("narrative"), raw, TextLimit::LONG))
            .transpose()?;
        let url = fields
            .string("url")?
            .map(|raw| url(&fields.path("url"), raw))
            .transpose()?;
        if narrative.is_none() && url.is_none() {
            return Err(ApiError::invalid_field(
                &prefix,
                format!("{prefix} is empty; send a narrative, a url or both"),
            ));
        }
        evidence.push(Evidence { narrative, url });
    }
    Ok(evidence)
}

/// Returns the items of a `POST /v1/awards/batch` body, each still unparsed so that one bad item
/// fails alone. Fails with 422 `too_many_items` above `max_items`.
pub fn parse_batch(value: &Value, max_items: usize) -> Result<&Vec<Value>, ApiError> {
    let fields = Fields::new(value, "", &["items"])?;
    let Some(items) = fields.array("items")? else {
        return Err(ApiError::invalid_field(
            "items",
            format!(
                "items is missing; send {{\"items\": [award, ...]}} with 1 to {max_items} awards"
            ),
        ));
    };
    if items.is_empty() {
        return Err(ApiError::invalid_field(
            "items",
            format!("items is empty; send 1 to {max_items} awards"),
        ));
    }
    if items.len() > max_items {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_items",
            format!(
                "items has {} awards; the maximum per batch is {max_items}, so split them into several batches, each with its own Idempotency-Key",
                items.len()
            ),
        )
        .with_details(json!({ "field": "items", "max_items": max_items, "items": items.len() })));
    }
    Ok(items)
}

/// A validated `PUT /v1/issuer` body: the whole editable profile.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerUpdate {
    pub name: Text,
    pub url: HttpsUrl,
    pub email: EmailAddress,
    /// `None` removes the description.
    pub description: Option<Text>,
}

pub fn parse_issuer_update(value: &Value) -> Result<IssuerUpdate, ApiError> {
    let fields = Fields::new(value, "", &["name", "url", "email", "description"])?;
    let name = text(
        "name",
        fields.required_string("name", "send the organisation's name")?,
        TextLimit::NAME,
    )?;
    let url = url(
        "url",
        fields.required_string(
            "url",
            "send the organisation's website, such as https://example.org",
        )?,
    )?;
    let email = email(
        "email",
        fields.required_string(
            "email",
            "send a contact address for the organisation (published in every badge)",
        )?,
    )?;
    let description = fields
        .string("description")?
        .map(|raw| text("description", raw, TextLimit::LONG))
        .transpose()?;
    Ok(IssuerUpdate {
        name,
        url,
        email,
        description,
    })
}

/// Parses the reason of a `POST /v1/awards/{id}/revoke` body.
pub fn parse_revocation(value: &Value) -> Result<Text, ApiError> {
    let fields = Fields::new(value, "", &["reason"])?;
    let reason = fields.required_string(
        "reason",
        "say why the award is revoked (verifiers see this reason)",
    )?;
    text("reason", reason, TextLimit::SHORT)
}

/// Parses the corrected `delivery_email` of a `POST /v1/awards/{id}/resend` body, if any.
pub fn parse_resend(value: &Value) -> Result<Option<EmailAddress>, ApiError> {
    let fields = Fields::new(value, "", &["delivery_email"])?;
    fields
        .string("delivery_email")?
        .map(|raw| email("delivery_email", raw))
        .transpose()
}

/// Parses the award state named by a `status` query value.
pub fn parse_state(raw: &str) -> Option<AwardState> {
    [AwardState::Issued, AwardState::Claimed, AwardState::Revoked]
        .into_iter()
        .find(|state| state.as_str() == raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_unix_seconds(1_750_000_000)
    }

    fn award(body: Value) -> Result<NewAward, ApiError> {
        parse_new_award(&body, now())
    }

    fn field_of(error: &ApiError) -> &str {
        error.details["field"].as_str().unwrap_or("")
    }

    const ACHIEVEMENT: &str = "123e4567-e89b-42d3-a456-426614174000";

    #[test]
    fn award_email_is_normalised() {
        let parsed = award(json!({
            "achievement_id": ACHIEVEMENT,
            "recipient": { "email": "  Alice@Example.ORG\n" }
        }))
        .unwrap();
        assert_eq!(
            parsed.recipient.email.unwrap().as_str(),
            "alice@example.org"
        );
        assert!(!parsed.reaward);
    }

    #[test]
    fn award_errors_name_json_paths() {
        let cases = [
            (
                json!({"recipient": {"email": "a@example.org"}}),
                "achievement_id",
            ),
            (
                json!({"achievement_id": "42", "recipient": {"email": "a@example.org"}}),
                "achievement_id",
            ),
            (json!({"achievement_id": ACHIEVEMENT}), "recipient"),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {}}),
                "recipient.email",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "nope"}}),
                "recipient.email",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"delivery_email": "p@example.org"}}),
                "recipient.name",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org", "emial": "x"}}),
                "recipient.emial",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": "a@example.org"}),
                "recipient",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "evidence": [{"url": "https://example.org"}, {"url": "javascript:alert(1)"}]}),
                "evidence[1].url",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "evidence": [{}]}),
                "evidence[0]",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "expires_at": "2020-01-01T00:00:00Z"}),
                "expires_at",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "expires_at": "tomorrow"}),
                "expires_at",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "reaward": "yes"}),
                "reaward",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "narrative": "x".repeat(20_001)}),
                "narrative",
            ),
            (
                json!({"achievement_id": ACHIEVEMENT, "recipient": {"email": "a@example.org"}, "reward": true}),
                "reward",
            ),
        ];
        for (body, field) in cases {
            let error = award(body.clone()).unwrap_err();
            assert_eq!(error.status.as_u16(), 422, "body {body}");
            assert_eq!(error.code, "invalid_field", "body {body}");
            assert_eq!(field_of(&error), field, "body {body}");
        }
    }

    #[test]
    fn award_body_must_be_an_object() {
        let error = award(json!([1, 2])).unwrap_err();
        assert_eq!(error.status.as_u16(), 400);
        assert_eq!(error.code, "invalid_json");
    }

    #[test]
    fn guardian_only_recipient_with_name_is_accepted() {
        let parsed = award(json!({
            "achievement_id": ACHIEVEMENT,
            "recipient": { "name": "Li Wei", "delivery_email": "Guardian.Wei@Example.com" },
            "evidence": [{ "narrative": "Played in the spring concert" }],
            "expires_at": "2099-01-01T00:00:00+01:00",
            "reaward": true
        }))
        .unwrap();
        assert_eq!(parsed.recipient.email, None);
        assert_eq!(
            parsed.recipient.delivery_email.unwrap().as_str(),
            "guardian.wei@example.com"
        );
        assert_eq!(
            parsed.expires_at.unwrap().to_rfc3339(),
            "2098-12-31T23:00:00Z"
        );
        assert!(parsed.reaward);
    }

    #[test]
    fn long_markup_text_round_trips() {
        let narrative = "</script><script>alert(1)</script> ]]> \u{2028} \"\\ 🦉\n\tЖ";
        let parsed = award(json!({
            "achievement_id": ACHIEVEMENT,
            "recipient": { "email": "a@example.org" },
            "narrative": narrative
        }))
        .unwrap();
        assert_eq!(parsed.narrative.unwrap().as_str(), narrative);
    }

    #[test]
    fn batch_limits() {
        let item = json!({});
        let many = json!({ "items": vec![item; 501] });
        let error = parse_batch(&many, 500).unwrap_err();
        assert_eq!(error.code, "too_many_items");
        assert_eq!(error.details["max_items"], 500);
        assert_eq!(
            parse_batch(&json!({"items": []}), 500).unwrap_err().code,
            "invalid_field"
        );
        assert_eq!(parse_batch(&json!({"items": [{}]}), 500).unwrap().len(), 1);
    }

    #[test]
    fn revocation_reason_is_required_and_short() {
        assert_eq!(
            field_of(&parse_revocation(&json!({})).unwrap_err()),
            "reason"
        );
        let long = json!({ "reason": "x".repeat(1_001) });
        assert_eq!(
            parse_revocation(&long).unwrap_err().details["max_chars"],
            1_000
        );
        assert_eq!(
            parse_revocation(&json!({"reason": "Awarded in error"}))
                .unwrap()
                .as_str(),
            "Awarded in error"
        );
    }
}
