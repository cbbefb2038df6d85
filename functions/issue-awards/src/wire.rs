//! The JSON of the partner API: request bodies parsed into domain types, and the response
//! documents built from them.
//!
//! Request bodies are read as `serde_json::Value` and converted field by field, so every
//! validation error names its field as a JSON path (`recipient.email`, `evidence[1].url`) and
//! one bad item of a batch fails only that item. Unknown fields are rejected, because a
//! misspelt `delivery_email` would otherwise send a claim email to the wrong person; `null`
//! counts as absent.

use std::str::FromStr;

use accolade::domain::{
    Achievement, AchievementId, Award, AwardId, AwardState, EmailAddress, Evidence, HttpsUrl,
    InvalidText, Issuer, IssuerId, Level, Recipient, StoredImage, Text, TextLimit, Timestamp,
};
use accolade::http::ApiError;
use accolade::urls::PublicUrls;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The maximum number of evidence entries of one award.
pub const MAX_EVIDENCE: usize = 20;
/// The maximum number of tags of one achievement.
pub const MAX_TAGS: usize = 20;
/// The length limit of one tag.
pub const TAG_LIMIT: TextLimit = TextLimit {
    max_chars: 100,
    multiline: false,
};

// ---------------------------------------------------------------------------------------------
// Field access with JSON paths

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

    /// Reads a string field that must be present; `hint` tells the client what to send.
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

// ---------------------------------------------------------------------------------------------
// Values with rules

/// Parses text under `limit`; the error names `path`.
pub fn text(path: &str, raw: &str, limit: TextLimit) -> Result<Text, ApiError> {
    Text::parse("value", raw, limit).map_err(|error| {
        let message = match error {
            InvalidText::Empty { .. } => {
                format!("{path} is empty; send at least one visible character")
            }
            InvalidText::TooLong { length, max, .. } => format!(
                "{path} is {length} characters long; the maximum is {max}, so shorten it (text is never cut silently)"
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

fn timestamp(path: &str, raw: &str) -> Result<Timestamp, ApiError> {
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

// ---------------------------------------------------------------------------------------------
// Requests

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

// ---------------------------------------------------------------------------------------------
// Responses

/// An award as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct AwardView<'a> {
    pub id: AwardId,
    /// `issued`, `claimed` or `revoked`.
    pub status: &'static str,
    /// The outcome of the latest claim email: `pending`, `sending`, `sent`, `delivered`,
    /// `bounced`, `complained`, `suppressed` or `failed`.
    pub delivery_status: &'static str,
    pub achievement_id: AchievementId,
    pub recipient: RecipientView<'a>,
    pub narrative: Option<&'a str>,
    pub evidence: Vec<EvidenceView<'a>>,
    pub issued_on: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// The hosted Open Badges 2.0 assertion; `null` until the recipient claims the award.
    pub assertion_url: Option<String>,
    pub claimed_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revocation_reason: Option<&'a str>,
    /// Whether the award was made with `"reaward": true` (exempt from duplicate detection).
    pub reaward: bool,
    /// Claim emails asked for so far: 1 for the first, plus one per resend.
    pub emails_requested: u32,
    /// Raised by every change; sent as the `ETag`, and accepted back in `If-Match`.
    pub version: u64,
}

/// A recipient as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct RecipientView<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub delivery_email: Option<&'a str>,
}

/// One evidence entry.
#[derive(Debug, Serialize)]
pub struct EvidenceView<'a> {
    pub narrative: Option<&'a str>,
    pub url: Option<&'a str>,
}

impl<'a> AwardView<'a> {
    pub fn new(award: &'a Award, urls: &PublicUrls) -> Self {
        // The assertion exists from the claim on, and stays (served as 410 Gone) after a
        // revocation.
        let assertion_url = award.claim.as_ref().map(|_| urls.assertion(award.id));
        Self {
            id: award.id,
            status: award.state.as_str(),
            delivery_status: award.delivery.as_str(),
            achievement_id: award.achievement_id,
            recipient: RecipientView {
                email: award.recipient.email.as_ref().map(EmailAddress::as_str),
                name: award.recipient.name.as_ref().map(Text::as_str),
                delivery_email: award
                    .recipient
                    .delivery_email
                    .as_ref()
                    .map(EmailAddress::as_str),
            },
            narrative: award.narrative.as_ref().map(Text::as_str),
            evidence: award
                .evidence
                .iter()
                .map(|entry| EvidenceView {
                    narrative: entry.narrative.as_ref().map(Text::as_str),
                    url: entry.url.as_ref().map(HttpsUrl::as_str),
                })
                .collect(),
            issued_on: award.issued_on,
            expires_at: award.expires_at,
            assertion_url,
            claimed_at: award.claim.as_ref().map(|claim| claim.claimed_at),
            revoked_at: award
                .revocation
                .as_ref()
                .map(|revocation| revocation.revoked_at),
            revocation_reason: award
                .revocation
                .as_ref()
                .map(|revocation| revocation.reason.as_str()),
            reaward: award.dedup_key.is_none(),
            emails_requested: award.sends_requested,
            version: award.version,
        }
    }
}

/// An achievement as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct AchievementView<'a> {
    pub id: AchievementId,
    pub name: &'a str,
    pub description: &'a str,
    pub criteria: CriteriaView<'a>,
    /// `engage`, `participate`, `demonstrate` or `lead`.
    pub level: Option<&'static str>,
    pub tags: Vec<&'a str>,
    /// The image published in the badge class: the PNG when there is one, else the SVG.
    pub image_url: Option<String>,
    pub images: ImagesView,
    /// The public Open Badges 2.0 BadgeClass.
    pub badge_class_url: String,
    pub created_at: Timestamp,
}

/// The criteria of an achievement: what a recipient did to earn it.
#[derive(Debug, Serialize)]
pub struct CriteriaView<'a> {
    pub narrative: &'a str,
    pub url: Option<&'a str>,
}

/// The achievement's artwork in each format.
#[derive(Debug, Serialize)]
pub struct ImagesView {
    pub png: Option<ImageView>,
    pub svg: Option<ImageView>,
}

/// One stored image.
#[derive(Debug, Serialize)]
pub struct ImageView {
    pub url: String,
    /// `image/png` or `image/svg+xml`.
    pub media_type: String,
    /// In pixels; 0 for an SVG that declares neither a size nor a viewBox.
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

impl<'a> AchievementView<'a> {
    pub fn new(achievement: &'a Achievement, urls: &PublicUrls) -> Self {
        let image = |stored: &StoredImage| ImageView {
            url: urls.badge_class_image(achievement.id, stored.extension()),
            media_type: stored.media_type.clone(),
            width: stored.width,
            height: stored.height,
            sha256: stored.sha256.clone(),
        };
        Self {
            id: achievement.id,
            name: achievement.name.as_str(),
            description: achievement.description.as_str(),
            criteria: CriteriaView {
                narrative: achievement.criteria_narrative.as_str(),
                url: achievement.criteria_url.as_ref().map(HttpsUrl::as_str),
            },
            level: achievement.level.map(Level::slug),
            tags: achievement.tags.iter().map(Text::as_str).collect(),
            image_url: achievement
                .images
                .primary()
                .map(|stored| urls.badge_class_image(achievement.id, stored.extension())),
            images: ImagesView {
                png: achievement.images.png.as_ref().map(image),
                svg: achievement.images.svg.as_ref().map(image),
            },
            badge_class_url: urls.badge_class(achievement.id),
            created_at: achievement.created_at,
        }
    }
}

/// The issuer profile as the partner API returns it.
#[derive(Debug, Serialize)]
pub struct IssuerView<'a> {
    pub id: IssuerId,
    pub name: &'a str,
    pub url: &'a str,
    pub email: &'a str,
    pub description: Option<&'a str>,
    pub image_url: Option<String>,
    /// The public Open Badges 2.0 Issuer Profile.
    pub issuer_url: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Raised by every change; sent as the `ETag`, and accepted back in `If-Match`.
    pub version: u64,
}

impl<'a> IssuerView<'a> {
    pub fn new(issuer: &'a Issuer, urls: &PublicUrls) -> Self {
        Self {
            id: issuer.id,
            name: issuer.name.as_str(),
            url: issuer.url.as_str(),
            email: issuer.email.as_str(),
            description: issuer.description.as_ref().map(Text::as_str),
            image_url: issuer
                .image
                .as_ref()
                .map(|image| urls.issuer_image(issuer.id, image.extension())),
            issuer_url: urls.issuer(issuer.id),
            created_at: issuer.created_at,
            updated_at: issuer.updated_at,
            version: issuer.version,
        }
    }
}

/// One page of a list: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Serialises a view. The views contain only strings, numbers, options and vectors, which
/// serde_json always serialises, so the `Null` fallback is never used.
pub fn to_json<T: Serialize>(view: &T) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
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
