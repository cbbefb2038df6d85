//! `/v1/achievements`: list, read and create achievements (Open Badges badge classes).
//!
//! Creation takes `multipart/form-data` with the text fields and one or two images (a PNG,
//! an SVG or both). Images are checked by content, never by file name or part content type:
//! size, type, structure, dimensions, and that they carry no badge data yet.

use accolade::baking::{ImageError, ImageKind, inspect_image};
use accolade::crypto::{request_fingerprint, sha256_hex};
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, ImageKey, IssuerId, Level, Scope, StoredImage,
    Text, TextLimit,
};
use accolade::http::ApiError;
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::json;

use crate::auth::Caller;
use crate::idempotency::{self, Reply};
use crate::routes::{media_type, page_request, path_id, query_params};
use crate::wire::{self, AchievementView, MAX_TAGS, PageView, TAG_LIMIT, to_json};
use crate::{ApiState, PartnerApi};

/// The maximum number of parts of one upload: the text fields, 20 tags and two images fit.
const MAX_PARTS: usize = 40;

/// The names of the form fields of an upload.
const UPLOAD_FIELDS: &[&str] = &[
    "name",
    "description",
    "criteria",
    "criteria_url",
    "level",
    "tags",
    "image",
];

/// Lists the caller's achievements, oldest first.
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    uri: Uri,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    caller.require(Scope::AchievementsRead)?;
    let pairs = query_params(uri.query(), &["limit", "cursor"])?;
    let page = page_request(&pairs, &api.limits)?;

    let page = api.store.list_achievements(caller.issuer_id, &page).await?;
    let view = PageView {
        items: page
            .items
            .iter()
            .map(|achievement| AchievementView::new(achievement, &api.urls))
            .collect(),
        next_cursor: page.next_cursor,
    };
    Ok(axum::Json(to_json(&view)))
}

/// Returns one of the caller's achievements. Another issuer's achievement is 404, like a
/// missing one.
pub async fn show(
    State(api): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    caller.require(Scope::AchievementsRead)?;
    let id = id.map(|Path(id)| id).unwrap_or_default();
    let id: AchievementId = path_id(&id, "achievement")?;

    let achievement = find_owned(&api, caller.issuer_id, id).await?;
    Ok(axum::Json(to_json(&AchievementView::new(
        &achievement,
        &api.urls,
    ))))
}

/// Loads an achievement of `issuer`; 404 when it is missing or belongs to another issuer.
pub async fn find_owned(
    api: &PartnerApi,
    issuer: IssuerId,
    id: AchievementId,
) -> Result<Achievement, ApiError> {
    match api.store.get_achievement(id).await? {
        Some(achievement) if achievement.issuer_id == issuer => Ok(achievement),
        _ => Err(ApiError::not_found("achievement", &id.to_string())),
    }
}

/// Creates an achievement from a `multipart/form-data` upload; 201 with the achievement.
/// An `Idempotency-Key` is optional here, because a repeated upload makes a second
/// achievement but never a second award.
pub async fn create(
    State(api): State<ApiState>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::AchievementsWrite)?;
    let key = idempotency::optional_key(request.headers())?;
    if media_type(request.headers()) != "multipart/form-data" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "an achievement is uploaded as multipart/form-data with the fields name, description, criteria, criteria_url, level, tags and one or two image parts",
        ));
    }
    let path = request.uri().path().to_owned();
    let multipart = Multipart::from_request(request, &()).await.map_err(|_| {
        invalid_multipart("the Content-Type header has no multipart boundary".to_owned())
    })?;
    let parts = read_parts(multipart, api.limits.max_upload_bytes).await?;

    // The fingerprint covers the parts, not the raw body, because a client that rebuilds the
    // same upload for a retry gets a new multipart boundary.
    let fingerprint = request_fingerprint("POST", &path, &canonical_parts(&parts));
    let response = idempotency::run(
        &api,
        &caller.client_id,
        key,
        &fingerprint,
        create_from_parts(&api, &caller, &parts),
    )
    .await;
    Ok(response)
}

/// One part of a multipart upload.
struct Part {
    name: String,
    file_name: Option<String>,
    bytes: Bytes,
}

async fn read_parts(mut multipart: Multipart, max_bytes: usize) -> Result<Vec<Part>, ApiError> {
    let mut parts = Vec::new();
    let mut total = 0usize;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|error| multipart_error(error, max_bytes))?
    {
        if parts.len() == MAX_PARTS {
            return Err(invalid_multipart(format!(
                "the upload has more than {MAX_PARTS} parts"
            )));
        }
        let Some(name) = field.name().map(str::to_owned) else {
            return Err(invalid_multipart(
                "a part has no name in its Content-Disposition header".to_owned(),
            ));
        };
        let file_name = field.file_name().map(str::to_owned);

        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|error| multipart_error(error, max_bytes))?
        {
            total += chunk.len();
            if total > max_bytes {
                return Err(ApiError::payload_too_large("the upload", max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        parts.push(Part {
            name,
            file_name,
            bytes: Bytes::from(bytes),
        });
    }
    Ok(parts)
}

fn multipart_error(error: MultipartError, max_bytes: usize) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The router's outer body limit stopped the stream. It counts the multipart framing
        // too, so it names the same limit as the count of part bytes in `read_parts`.
        return ApiError::payload_too_large("the upload", max_bytes);
    }
    invalid_multipart(error.body_text())
}

fn invalid_multipart(reason: String) -> ApiError {
    ApiError::bad_request(
        "invalid_multipart",
        format!("the multipart/form-data body is malformed: {reason}"),
    )
}

/// Serialises the parts in a canonical form for the request fingerprint: name, file name and SHA-256 of
/// the content of each, in order.
fn canonical_parts(parts: &[Part]) -> Vec<u8> {
    let mut canonical = Vec::new();
    for part in parts {
        canonical.extend_from_slice(part.name.as_bytes());
        canonical.push(0);
        canonical.extend_from_slice(part.file_name.as_deref().unwrap_or("").as_bytes());
        canonical.push(0);
        canonical.extend_from_slice(sha256_hex(&part.bytes).as_bytes());
        canonical.push(b'\n');
    }
    canonical
}

/// The validated content of an upload.
struct Upload {
    name: Text,
    description: Text,
    criteria: Text,
    criteria_url: Option<accolade::domain::HttpsUrl>,
    level: Option<Level>,
    tags: Vec<Text>,
    images: Vec<(ImageKind, u32, u32, Bytes)>,
}

async fn create_from_parts(
    api: &PartnerApi,
    caller: &Caller,
    parts: &[Part],
) -> Result<Reply, ApiError> {
    let upload = parse_upload(api, parts)?;
    let id = AchievementId::from_uuid(api.random.uuid());

    let mut images = AchievementImages {
        png: None,
        svg: None,
    };
    for (kind, width, height, bytes) in upload.images {
        let key = format!("achievements/{id}/image.{}", kind.extension());
        let stored = StoredImage {
            key: ImageKey(key.clone()),
            media_type: kind.media_type().to_owned(),
            width,
            height,
            sha256: sha256_hex(&bytes),
        };
        api.files
            .put(&key, bytes.to_vec(), kind.media_type())
            .await?;
        match kind {
            ImageKind::Png => images.png = Some(stored),
            ImageKind::Svg => images.svg = Some(stored),
        }
    }

    let achievement = Achievement {
        id,
        issuer_id: caller.issuer_id,
        name: upload.name,
        description: upload.description,
        criteria_narrative: upload.criteria,
        criteria_url: upload.criteria_url,
        level: upload.level,
        tags: upload.tags,
        images,
        created_at: api.clock.now(),
    };
    api.store.create_achievement(&achievement).await?;
    tracing::info!(
        achievement.id = %id,
        issuer.id = %caller.issuer_id,
        client.id = %caller.client_id,
        "achievement created"
    );

    let body = to_json(&AchievementView::new(&achievement, &api.urls));
    Ok(Reply::new(StatusCode::CREATED, body).with_location(format!("/v1/achievements/{id}")))
}

fn parse_upload(api: &PartnerApi, parts: &[Part]) -> Result<Upload, ApiError> {
    if let Some(part) = parts
        .iter()
        .find(|part| !UPLOAD_FIELDS.contains(&part.name.as_str()))
    {
        let truncated: String = part.name.chars().take(50).collect();
        return Err(ApiError::invalid_field(
            &truncated,
            format!(
                "{truncated:?} is not a known field; the fields are {}",
                UPLOAD_FIELDS.join(", ")
            ),
        ));
    }

    let name = text(
        required(
            single(parts, "name")?,
            "name",
            "send the achievement's name",
        )?,
        "name",
        TextLimit::NAME,
    )?;
    let description = text(
        required(
            single(parts, "description")?,
            "description",
            "send a description of the achievement",
        )?,
        "description",
        TextLimit::LONG,
    )?;
    let criteria = text(
        required(
            single(parts, "criteria")?,
            "criteria",
            "send what a recipient did to earn it (Markdown allowed)",
        )?,
        "criteria",
        TextLimit::CRITERIA,
    )?;
    let criteria_url = match optional(single(parts, "criteria_url")?, "criteria_url")? {
        None => None,
        Some(raw) => Some(wire::url("criteria_url", raw)?),
    };
    let level = match optional(single(parts, "level")?, "level")? {
        None => None,
        Some(raw) => Some(raw.parse::<Level>().map_err(|error| {
            ApiError::invalid_field("level", format!("{error}; leave it out for no level"))
        })?),
    };

    let mut tags = Vec::new();
    for part in parts.iter().filter(|part| part.name == "tags") {
        if let Some(raw) = optional(Some(part), "tags")? {
            tags.push(wire::text("tags", raw, TAG_LIMIT)?);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid_field(
            "tags",
            format!("tags has {} entries; the maximum is {MAX_TAGS}", tags.len()),
        ));
    }

    let images = parse_images(api, parts)?;
    Ok(Upload {
        name,
        description,
        criteria,
        criteria_url,
        level,
        tags,
        images,
    })
}

fn parse_images(
    api: &PartnerApi,
    parts: &[Part],
) -> Result<Vec<(ImageKind, u32, u32, Bytes)>, ApiError> {
    let mut images: Vec<(ImageKind, u32, u32, Bytes)> = Vec::new();
    for part in parts.iter().filter(|part| part.name == "image") {
        let info = inspect_image(&part.bytes, &api.limits.image).map_err(image_error)?;
        info.require_unbaked().map_err(image_error)?;
        if images.iter().any(|(kind, ..)| *kind == info.kind) {
            return Err(ApiError::invalid_field(
                "image",
                format!(
                    "image: two {} images were sent; send at most one PNG and one SVG",
                    info.kind.extension().to_ascii_uppercase()
                ),
            ));
        }
        images.push((info.kind, info.width, info.height, part.bytes.clone()));
    }
    if images.is_empty() {
        return Err(ApiError::invalid_field(
            "image",
            "image is missing; send the badge design as an image part (a PNG, an SVG or one of each)",
        ));
    }
    Ok(images)
}

/// Maps an image check failure to a status: 413 for size, 415 for a type that is not PNG or
/// SVG, 422 for a broken or already baked image. The code is the baking module's.
fn image_error(error: ImageError) -> ApiError {
    let status = match error.code() {
        "image_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_image_type" | "not_png" | "not_svg" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, error.code(), format!("image: {error}"))
        .with_details(json!({ "field": "image" }))
}

/// Finds the only part named `name`; 422 when it is repeated.
fn single<'a>(parts: &'a [Part], name: &str) -> Result<Option<&'a Part>, ApiError> {
    let mut matching = parts.iter().filter(|part| part.name == name);
    let first = matching.next();
    if matching.next().is_some() {
        return Err(ApiError::invalid_field(
            name,
            format!("{name} was sent more than once; send it once"),
        ));
    }
    Ok(first)
}

fn utf8<'a>(part: &'a Part, name: &str) -> Result<&'a str, ApiError> {
    std::str::from_utf8(&part.bytes).map_err(|_| {
        ApiError::invalid_field(name, format!("{name} is not UTF-8 text; send it as UTF-8"))
    })
}

fn required<'a>(part: Option<&'a Part>, name: &str, hint: &str) -> Result<&'a str, ApiError> {
    match part {
        Some(part) => utf8(part, name),
        None => Err(ApiError::invalid_field(
            name,
            format!("{name} is missing; {hint}"),
        )),
    }
}

/// Reads an optional text part. An empty part counts as absent, because HTML forms send
/// empty fields.
fn optional<'a>(part: Option<&'a Part>, name: &str) -> Result<Option<&'a str>, ApiError> {
    match part {
        None => Ok(None),
        Some(part) => {
            let value = utf8(part, name)?;
            Ok((!value.trim().is_empty()).then_some(value))
        }
    }
}

fn text(raw: &str, name: &str, limit: TextLimit) -> Result<Text, ApiError> {
    wire::text(name, raw, limit)
}
