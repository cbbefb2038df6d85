//! `/v1/achievements`: uploads with PNG and SVG artwork, reads and lists.

use accolade::ports::FileStore;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn achievement_upload_stores_both_images() {
    let api = TestApi::new().await;
    let mut parts = achievement_fields("Summer Orchestra");
    parts.push(Part::file("image", "badge.png", "image/png", png()));
    parts.push(Part::file(
        "image",
        "badge.svg",
        "image/svg+xml",
        SVG.as_bytes().to_vec(),
    ));

    let response = api.create_achievement(&parts, None).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let id = response.id();
    assert_eq!(
        response.header("location"),
        Some(format!("/v1/achievements/{id}").as_str())
    );
    let body = &response.json;
    assert_eq!(body["name"], "Summer Orchestra");
    assert_eq!(body["level"], "participate");
    assert_eq!(body["tags"], json!(["orchestra", "performance"]));
    assert_eq!(
        body["criteria"]["url"],
        "https://music.example.org/badges/concert"
    );
    assert_eq!(body["badge_class_url"], format!("{BASE_URL}/badges/{id}"));
    assert_eq!(
        body["image_url"],
        format!("{BASE_URL}/badges/{id}/image.png")
    );
    assert_eq!(body["images"]["png"]["width"], 1);
    assert_eq!(body["images"]["svg"]["width"], 120);
    assert_eq!(
        body["images"]["svg"]["url"],
        format!("{BASE_URL}/badges/{id}/image.svg")
    );

    let stored_png = api
        .files
        .get(&format!("achievements/{id}/image.png"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_png.bytes, png());
    assert_eq!(stored_png.content_type, "image/png");
    let stored_svg = api
        .files
        .get(&format!("achievements/{id}/image.svg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_svg.content_type, "image/svg+xml");

    let read = api.get_achievement(&id).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json, response.json);
}

#[tokio::test]
async fn achievement_list_pages_oldest_first() {
    let api = TestApi::new().await;
    for name in ["Second", "Third"] {
        api.advance(1);
        let mut parts = achievement_fields(name);
        parts.push(Part::file(
            "image",
            "a.svg",
            "image/svg+xml",
            SVG.as_bytes().to_vec(),
        ));
        assert_eq!(
            api.create_achievement(&parts, None).await.status,
            StatusCode::CREATED
        );
    }

    let first = api.list_achievements("?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let names: Vec<_> = first.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Summer Concert"), json!("Second")]);
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();

    let second = api
        .list_achievements(&format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.json["items"][0]["name"], "Third");
    assert_eq!(second.json["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn achievement_of_other_issuer_is_not_found() {
    let api = TestApi::new().await;

    let other = api
        .get_achievement(&api.other_achievement_id.to_string())
        .await;
    let missing = api
        .get_achievement("123e4567-e89b-42d3-a456-426614174000")
        .await;
    let malformed = api.get_achievement("not-a-uuid").await;

    for response in [&other, &missing, &malformed] {
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.code(), "not_found");
    }
    let listed = api.list_achievements("").await;
    let ids: Vec<_> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(api.achievement_id.to_string())]);
}

#[tokio::test]
async fn achievement_upload_replays_with_same_key() {
    let api = TestApi::new().await;
    let mut parts = achievement_fields("Replayed");
    parts.push(Part::file("image", "a.png", "image/png", png()));

    let first = api.create_achievement(&parts, Some("upload-1")).await;
    let second = api.create_achievement(&parts, Some("upload-1")).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.json, first.json);
    assert_eq!(
        api.list_achievements("").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn achievement_upload_rejections_change_nothing() {
    let api = TestApi::new().await;
    let before = api.snapshot().await;

    let with = |extra: Vec<Part>| {
        let mut parts = achievement_fields("Rejected");
        parts.extend(extra);
        parts
    };
    let mut oversized = png();
    oversized.extend(std::iter::repeat_n(0u8, 1024 * 1024));
    let mut no_name = with(vec![Part::file("image", "a.png", "image/png", png())]);
    no_name.remove(0);

    let cases: Vec<(&str, Vec<Part>, u16, &str)> = vec![
        ("JPEG named .png", with(vec![Part::file("image", "photo.png", "image/png", jpeg())]), 415, "unsupported_image_type"),
        ("already baked PNG", with(vec![Part::file("image", "badge.png", "image/png", baked_png())]), 422, "image_already_baked"),
        ("image over 1 MB", with(vec![Part::file("image", "big.png", "image/png", oversized)]), 413, "image_too_large"),
        ("SVG with an entity", with(vec![Part::file("image", "a.svg", "image/svg+xml", br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>"#.to_vec())]), 422, "unsafe_xml"),
        ("no image", with(vec![]), 422, "invalid_field"),
        ("two PNGs", with(vec![Part::file("image", "a.png", "image/png", png()), Part::file("image", "b.png", "image/png", png())]), 422, "invalid_field"),
        ("no name", no_name, 422, "invalid_field"),
        ("unknown level", { let mut parts = with(vec![Part::file("image", "a.png", "image/png", png())]); parts[4] = Part::text("level", "gold"); parts }, 422, "invalid_field"),
        ("unknown field", with(vec![Part::file("image", "a.png", "image/png", png()), Part::text("colour", "red")]), 422, "invalid_field"),
        ("criteria URL not http", { let mut parts = with(vec![Part::file("image", "a.png", "image/png", png())]); parts[3] = Part::text("criteria_url", "javascript:alert(1)"); parts }, 422, "invalid_field"),
    ];
    for (name, parts, status, code) in cases {
        let response = api.create_achievement(&parts, None).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{name}: {}",
            response.text
        );
        assert_eq!(response.code(), code, "{name}");
    }

    let json_body = api
        .send(
            api.request(Method::POST, "/v1/achievements")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"name": "x"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(json_body.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json_body.code(), "unsupported_media_type");

    let broken = api
        .send(
            api.request(Method::POST, "/v1/achievements")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(Body::from("--not-the-boundary\r\nnonsense"))
                .unwrap(),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.text);
    assert_eq!(broken.code(), "invalid_multipart");

    let mut huge = with(vec![]);
    huge.push(Part::file(
        "image",
        "a.png",
        "image/png",
        vec![0u8; 3 * 1024 * 1024],
    ));
    let too_big = api.create_achievement(&huge, None).await;
    assert_eq!(
        too_big.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        too_big.text
    );
    assert_eq!(too_big.code(), "payload_too_large");

    let reader = api.token_for(READER_ID, READER_SECRET, None).await;
    let mut parts = with(vec![Part::file("image", "a.png", "image/png", png())]);
    parts.truncate(8);
    let denied = api
        .send(
            axum::http::Request::post("/v1/achievements")
                .header(header::AUTHORIZATION, format!("Bearer {reader}"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(Body::from(multipart_body(&parts)))
                .unwrap(),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.code(), "insufficient_scope");

    assert_eq!(api.snapshot().await, before);
}
