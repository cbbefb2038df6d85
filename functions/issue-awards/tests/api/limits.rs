//! Every limit in the README's "Limits" table that the partner API enforces. A value just over
//! the limit gets 413 or 422 and changes nothing, and the message names the limit (the number
//! and what it limits) and the field or header. A value at the limit passes that check.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::support::*;

const MAX_JSON_BODY_BYTES: usize = 2 * 1024 * 1024;
const MAX_IMAGE_BYTES: usize = 1024 * 1024;
const MAX_UPLOAD_BYTES: usize = 2 * MAX_IMAGE_BYTES + 512 * 1024;

/// Checks status, code and that the message contains every one of `names`.
fn assert_rejected(response: &TestResponse, status: u16, code: &str, names: &[&str], case: &str) {
    let message = response.json["error"]["message"].as_str().unwrap_or("");
    assert_eq!(
        response.status.as_u16(),
        status,
        "{case}: {}",
        &response.text[..response.text.len().min(400)]
    );
    assert_eq!(response.code(), code, "{case}: {message}");
    for name in names {
        assert!(message.contains(name), "{case}: {message:?} lacks {name:?}");
    }
}

/// Builds a JSON object of exactly `size` bytes: `{"padding":"xxx…"}`.
fn json_of_size(size: usize) -> String {
    let overhead = r#"{"padding":""}"#.len();
    format!(r#"{{"padding":"{}"}}"#, "x".repeat(size - overhead))
}

/// Builds an email address of 255 characters, one over the limit.
fn over_254_email() -> String {
    let domain = "@example.org";
    format!("{}{domain}", "a".repeat(255 - domain.len()))
}

/// Builds an https URL of 2,001 characters, one over the limit.
fn over_2000_url() -> String {
    let prefix = "https://music.example.org/";
    format!("{prefix}{}", "p".repeat(2001 - prefix.len()))
}

fn json_request(
    api: &TestApi,
    method: Method,
    path: &str,
    body: String,
) -> axum::http::Request<Body> {
    api.request(method, path)
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", api.key())
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn json_body_over_2_mib_is_413() {
    let api = TestApi::new().await;
    let award = api.award("alice@example.org").await;
    let before = api.snapshot().await;
    let routes = [
        (Method::PUT, "/v1/issuer".to_owned(), "the JSON body"),
        (Method::POST, "/v1/awards".to_owned(), "the JSON body"),
        (Method::POST, "/v1/awards/batch".to_owned(), "the JSON body"),
        (
            Method::POST,
            format!("/v1/awards/{award}/revoke"),
            "the JSON body",
        ),
        (
            Method::POST,
            format!("/v1/awards/{award}/resend"),
            "the JSON body",
        ),
    ];
    // `POST /v1/verify` has the same 2 MiB limit; tests/verify.rs checks it, because this
    // router has no public keys to verify with.

    for (method, path, what) in routes {
        let case = format!("{method} {path}");
        let over = api
            .send(json_request(
                &api,
                method.clone(),
                &path,
                json_of_size(MAX_JSON_BODY_BYTES + 1),
            ))
            .await;
        assert_rejected(
            &over,
            413,
            "payload_too_large",
            &[&format!(
                "{what} is larger than the limit of {MAX_JSON_BODY_BYTES} bytes"
            )],
            &case,
        );
        assert_eq!(
            over.json["error"]["details"]["limit_bytes"], MAX_JSON_BODY_BYTES,
            "{case}"
        );

        let at = api
            .send(json_request(
                &api,
                method,
                &path,
                json_of_size(MAX_JSON_BODY_BYTES),
            ))
            .await;
        assert_ne!(
            at.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{case} at the limit: {}",
            at.text
        );
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn token_request_over_16_kib_is_413() {
    let api = TestApi::new().await;
    let prefix = "grant_type=client_credentials&padding=";
    let form = format!("{prefix}{}", "x".repeat(16 * 1024 + 1 - prefix.len()));

    let response = api.token_basic(CLIENT_ID, CLIENT_SECRET, &form).await;

    // The token endpoint answers with the OAuth 2.0 error body (RFC 6749, section 5.2).
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.text
    );
    assert_eq!(response.json["error"], "invalid_request");
    assert_eq!(
        response.json["error_description"],
        "the token request is larger than the limit of 16384 bytes"
    );
}

#[tokio::test]
async fn award_text_fields_over_their_limits_are_422() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let base = api.award_body("alice@example.org");
    let with = |path: &[&str], value: Value| {
        let mut body = base.clone();
        let mut slot = &mut body;
        for key in path {
            slot = match key.parse::<usize>() {
                Ok(index) => &mut slot[index],
                Err(_) => &mut slot[*key],
            };
        }
        *slot = value;
        body
    };
    let long_email = over_254_email();
    let long_url = over_2000_url();
    let evidence_item = json!({"url": "https://music.example.org/e"});

    let cases = [
        (
            "recipient.name",
            with(&["recipient", "name"], json!("Ж".repeat(201))),
            vec![
                "recipient.name",
                "201 characters",
                "maximum is 200 characters",
            ],
        ),
        (
            "narrative",
            with(&["narrative"], json!("n".repeat(20_001))),
            vec![
                "narrative",
                "20001 characters",
                "maximum is 20000 characters",
            ],
        ),
        (
            "evidence[0].narrative",
            with(&["evidence", "0", "narrative"], json!("n".repeat(20_001))),
            vec!["evidence[0].narrative", "maximum is 20000 characters"],
        ),
        (
            "evidence[0].url",
            with(&["evidence", "0", "url"], json!(long_url)),
            vec!["evidence[0].url", "longer than 2000 characters"],
        ),
        (
            "evidence",
            with(&["evidence"], json!(vec![evidence_item; 21])),
            vec!["evidence has 21 entries", "the maximum is 20"],
        ),
        (
            "recipient.email",
            with(&["recipient", "email"], json!(long_email)),
            vec!["recipient.email", "longer than 254 characters"],
        ),
        (
            "recipient.delivery_email",
            with(&["recipient", "delivery_email"], json!(long_email)),
            vec!["recipient.delivery_email", "longer than 254 characters"],
        ),
    ];
    for (field, body, names) in cases {
        let response = api.create_award(&body).await;
        assert_rejected(&response, 422, "invalid_field", &names, field);
        assert_eq!(response.json["error"]["details"]["field"], field);
    }

    let at_limits = with(&["recipient", "name"], json!("Ж".repeat(200)));
    let at_limits = {
        let mut body = at_limits;
        body["narrative"] = json!("n".repeat(20_000));
        body["evidence"] = json!(vec![json!({"url": "https://music.example.org/e"}); 20]);
        body
    };
    let accepted = api.create_award(&at_limits).await;
    assert_eq!(
        accepted.status,
        StatusCode::CREATED,
        "{}",
        &accepted.text[..accepted.text.len().min(400)]
    );
    assert_eq!(api.snapshot().await.awards.len(), before.awards.len() + 1);
}

#[tokio::test]
async fn revocation_reason_over_1000_characters_is_422() {
    let api = TestApi::new().await;
    let award = api.award("alice@example.org").await;
    let before = api.snapshot().await;

    let response = api
        .revoke(&award, &api.key(), &json!({"reason": "r".repeat(1_001)}))
        .await;

    assert_rejected(
        &response,
        422,
        "invalid_field",
        &["reason", "1001 characters", "maximum is 1000 characters"],
        "reason",
    );
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn issuer_fields_over_their_limits_are_422() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let valid = json!({"name": "County Music Service", "url": "https://music.example.org", "email": "office@music.example.org"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };

    let cases = [
        (
            "name",
            with("name", json!("N".repeat(201))),
            vec!["name is 201 characters long", "maximum is 200 characters"],
        ),
        (
            "description",
            with("description", json!("d".repeat(20_001))),
            vec![
                "description is 20001 characters long",
                "maximum is 20000 characters",
            ],
        ),
        (
            "url",
            with("url", json!(over_2000_url())),
            vec!["url", "longer than 2000 characters"],
        ),
        (
            "email",
            with("email", json!(over_254_email())),
            vec!["email", "longer than 254 characters"],
        ),
    ];
    for (field, body, names) in cases {
        let response = api.put_issuer(&body, None).await;
        assert_rejected(&response, 422, "invalid_field", &names, field);
        assert_eq!(response.json["error"]["details"]["field"], field);
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn batch_over_500_items_is_422() {
    let api = TestApi::new().await;
    let items: Vec<Value> = (0..501)
        .map(|index| api.award_body(&format!("pupil{index}@example.org")))
        .collect();

    let response = api
        .create_batch(&api.key(), &json!({ "items": items }))
        .await;

    assert_rejected(
        &response,
        422,
        "too_many_items",
        &["items has 501 awards", "the maximum per batch is 500"],
        "batch",
    );
    assert_eq!(response.json["error"]["details"]["field"], "items");
    assert!(api.snapshot().await.awards.is_empty());
}

#[tokio::test]
async fn idempotency_key_over_255_characters_is_400() {
    let api = TestApi::new().await;
    let request = api
        .request(Method::POST, "/v1/awards")
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "k".repeat(256))
        .body(Body::from(api.award_body("alice@example.org").to_string()))
        .unwrap();

    let response = api.send(request).await;

    assert_rejected(
        &response,
        400,
        "invalid_idempotency_key",
        &["Idempotency-Key header", "256 characters long", "1 to 255"],
        "key",
    );
}

#[tokio::test]
async fn page_size_over_100_is_400() {
    let api = TestApi::new().await;
    for path in ["/v1/awards?limit=101", "/v1/achievements?limit=101"] {
        let response = api
            .send(api.request(Method::GET, path).body(Body::empty()).unwrap())
            .await;

        assert_rejected(
            &response,
            400,
            "invalid_query",
            &["limit \"101\" is invalid", "from 1 to 100"],
            path,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Achievement uploads

/// Computes the CRC-32 (IEEE) bit by bit, independently of the crate's own implementation.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[&kind[..], data].concat()).to_be_bytes());
    out
}

/// Builds a structurally valid 8-bit greyscale PNG of `width` x `height`. When `size` is given,
/// an ancillary private chunk (`prVt`) pads the file to exactly `size` bytes.
/// The IDAT data is not a full image: the API checks structure and never decodes pixels.
fn png_of(width: u32, height: u32, size: Option<usize>) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let head = [b"\x89PNG\r\n\x1a\n".to_vec(), chunk(b"IHDR", &ihdr)].concat();
    let tail = [
        chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 2, 0, 1]),
        chunk(b"IEND", b""),
    ]
    .concat();
    let padding = match size {
        None => Vec::new(),
        Some(size) => chunk(b"prVt", &vec![0; size - head.len() - tail.len() - 12]),
    };
    [head, padding, tail].concat()
}

fn svg_of(root_attributes: &str) -> Vec<u8> {
    format!(r#"<svg xmlns="http://www.w3.org/2000/svg" {root_attributes}><rect width="1" height="1"/></svg>"#).into_bytes()
}

fn upload_with(image: Part) -> Vec<Part> {
    let mut parts = achievement_fields("Limits");
    parts.push(image);
    parts
}

#[tokio::test]
async fn image_over_1_mib_is_413() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let over = png_of(1, 1, Some(MAX_IMAGE_BYTES + 1));
    assert_eq!(over.len(), MAX_IMAGE_BYTES + 1);

    let response = api
        .create_achievement(
            &upload_with(Part::file("image", "big.png", "image/png", over)),
            None,
        )
        .await;

    assert_rejected(
        &response,
        413,
        "image_too_large",
        &["image: the image is 1048577 bytes, more than the limit of 1048576 bytes"],
        "PNG over 1 MiB",
    );
    assert_eq!(response.json["error"]["details"]["field"], "image");
    assert_eq!(api.snapshot().await, before);

    let at = png_of(1, 1, Some(MAX_IMAGE_BYTES));
    let accepted = api
        .create_achievement(
            &upload_with(Part::file("image", "big.png", "image/png", at)),
            None,
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text);
}

#[tokio::test]
async fn image_over_4096_pixels_is_422() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let cases: Vec<(&str, Part, &str)> = vec![
        (
            "PNG 4097 wide",
            Part::file("image", "a.png", "image/png", png_of(4097, 1, None)),
            "4097 x 1 pixels",
        ),
        (
            "PNG 4097 high",
            Part::file("image", "a.png", "image/png", png_of(1, 4097, None)),
            "1 x 4097 pixels",
        ),
        (
            "SVG width",
            Part::file(
                "image",
                "a.svg",
                "image/svg+xml",
                svg_of(r#"width="4097" height="10""#),
            ),
            "4097 x 10 pixels",
        ),
        (
            "SVG height",
            Part::file(
                "image",
                "a.svg",
                "image/svg+xml",
                svg_of(r#"width="10px" height="4097px""#),
            ),
            "10 x 4097 pixels",
        ),
        (
            "SVG viewBox",
            Part::file(
                "image",
                "a.svg",
                "image/svg+xml",
                svg_of(r#"viewBox="0 0 4097 16""#),
            ),
            "4097 x 16 pixels",
        ),
    ];
    for (case, image, size) in cases {
        let response = api.create_achievement(&upload_with(image), None).await;

        assert_rejected(
            &response,
            422,
            "dimensions_too_large",
            &[
                "image: the image is ",
                size,
                "more than the limit of 4096 x 4096",
            ],
            case,
        );
        assert_eq!(
            response.json["error"]["details"]["field"], "image",
            "{case}"
        );
    }
    assert_eq!(api.snapshot().await, before);

    let at_limit = [
        Part::file("image", "a.png", "image/png", png_of(4096, 4096, None)),
        Part::file(
            "image",
            "a.svg",
            "image/svg+xml",
            svg_of(r#"viewBox="0 0 4096 4096""#),
        ),
    ];
    let mut parts = achievement_fields("At the limit");
    parts.extend(at_limit);
    let accepted = api.create_achievement(&parts, None).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text);
}

#[tokio::test]
async fn upload_over_2_5_mib_is_413() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    // Two images within their own limit plus a padding part: the whole body is just over the
    // upload limit.
    let image = png_of(1, 1, Some(MAX_IMAGE_BYTES));
    let mut parts = upload_with(Part::file("image", "a.png", "image/png", image.clone()));
    parts.push(Part::file("image", "b.png", "image/png", image));
    let body_len = multipart_body(&parts).len();
    parts.push(Part::text(
        "padding",
        &"x".repeat(MAX_UPLOAD_BYTES - body_len),
    ));
    assert!(multipart_body(&parts).len() > MAX_UPLOAD_BYTES);

    let response = api.create_achievement(&parts, None).await;

    assert_rejected(
        &response,
        413,
        "payload_too_large",
        &[&format!(
            "the upload is larger than the limit of {MAX_UPLOAD_BYTES} bytes"
        )],
        "upload",
    );
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn achievement_text_fields_over_their_limits_are_422() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;
    let png = png_of(1, 1, None);
    let replace = |name: &'static str, value: String| {
        let mut parts: Vec<Part> = achievement_fields("Limits")
            .into_iter()
            .filter(|part| part.name != name)
            .collect();
        parts.push(Part::text(name, &value));
        parts.push(Part::file("image", "a.png", "image/png", png.clone()));
        parts
    };
    let many_tags = {
        let mut parts = replace("tags", "t0".to_owned());
        for index in 1..21 {
            parts.push(Part::text("tags", &format!("t{index}")));
        }
        parts
    };

    let cases = [
        (
            "name",
            replace("name", "N".repeat(201)),
            vec!["name is 201 characters long", "maximum is 200 characters"],
        ),
        (
            "description",
            replace("description", "d".repeat(20_001)),
            vec![
                "description is 20001 characters long",
                "maximum is 20000 characters",
            ],
        ),
        (
            "criteria",
            replace("criteria", "c".repeat(50_001)),
            vec![
                "criteria is 50001 characters long",
                "maximum is 50000 characters",
            ],
        ),
        (
            "criteria_url",
            replace("criteria_url", over_2000_url()),
            vec!["criteria_url", "longer than 2000 characters"],
        ),
        (
            "tags",
            replace("tags", "t".repeat(101)),
            vec!["tags is 101 characters long", "maximum is 100 characters"],
        ),
        (
            "tags",
            many_tags,
            vec!["tags has 21 entries", "the maximum is 20"],
        ),
    ];
    for (field, parts, names) in cases {
        let response = api.create_achievement(&parts, None).await;
        assert_rejected(&response, 422, "invalid_field", &names, field);
        assert_eq!(response.json["error"]["details"]["field"], field);
    }
    assert_eq!(api.snapshot().await, before);
}
