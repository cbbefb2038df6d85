//! `S3FileStore`: objects stored with their type and caching, read back, and missing keys.

use accolade::ports::{FileStore, FileStoreError};
use accolade_aws::{S3FileStore, s3_client};

use crate::common::{Moto, moto, unique_name};

/// Creates a store over a new private bucket, addressed path-style as moto needs.
async fn new_file_store(moto: &Moto) -> S3FileStore {
    let client = s3_client(&moto.sdk, true);
    let bucket = unique_name("accolade-test");
    client
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    crate::common::REGION,
                ))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "creating bucket {bucket} on moto failed: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            )
        });
    S3FileStore::new(client, bucket)
}

/// A PNG signature and an empty IHDR-like tail: the store does not look inside.
const PNG_BYTES: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR";

#[tokio::test]
async fn s3_objects_keep_type_and_bytes() {
    let moto = moto().await;
    let store = new_file_store(&moto).await;
    let baked = "assertions/123e4567-e89b-42d3-a456-426614174000/image.png";
    let svg = "achievements/123e4567-e89b-42d3-a456-426614174000/image.svg";
    let svg_bytes = "<svg xmlns=\"http://www.w3.org/2000/svg\">é</svg>".as_bytes();

    store
        .put(baked, PNG_BYTES.to_vec(), "image/png")
        .await
        .unwrap();
    store
        .put(svg, svg_bytes.to_vec(), "image/svg+xml")
        .await
        .unwrap();

    let png = store.get(baked).await.unwrap().expect("the PNG is missing");
    assert_eq!(png.bytes, PNG_BYTES);
    assert_eq!(png.content_type, "image/png");
    let read_svg = store.get(svg).await.unwrap().expect("the SVG is missing");
    assert_eq!(read_svg.bytes, svg_bytes);
    assert_eq!(read_svg.content_type, "image/svg+xml");
}

#[tokio::test]
async fn s3_objects_carry_cache_control() {
    let moto = moto().await;
    let store = new_file_store(&moto).await;
    let client = s3_client(&moto.sdk, true);
    let baked = "assertions/223e4567-e89b-42d3-a456-426614174000/image.svg";
    let artwork = "achievements/223e4567-e89b-42d3-a456-426614174000/image.png";
    store
        .put(baked, b"<svg/>".to_vec(), "image/svg+xml")
        .await
        .unwrap();
    store
        .put(artwork, PNG_BYTES.to_vec(), "image/png")
        .await
        .unwrap();

    let cache_control = |key: &'static str| {
        let (client, bucket) = (client.clone(), store.bucket().to_owned());
        async move {
            client
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
                .cache_control
        }
    };
    assert_eq!(
        cache_control(baked).await.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        cache_control(artwork).await.as_deref(),
        Some("public, max-age=300")
    );
}

#[tokio::test]
async fn s3_missing_key_is_none() {
    let moto = moto().await;
    let store = new_file_store(&moto).await;

    let missing = store
        .get("assertions/323e4567-e89b-42d3-a456-426614174000/image.png")
        .await
        .unwrap();

    assert_eq!(missing, None);
}

#[tokio::test]
async fn s3_invalid_key_is_rejected_before_any_call() {
    let moto = moto().await;
    let store = new_file_store(&moto).await;

    let put = store.put("../escape.png", vec![1], "image/png").await;
    let get = store.get("/absolute.png").await;

    assert!(matches!(put, Err(FileStoreError::InvalidKey(_))), "{put:?}");
    assert!(matches!(get, Err(FileStoreError::InvalidKey(_))), "{get:?}");
}

#[tokio::test]
async fn s3_missing_bucket_is_backend_error() {
    let moto = moto().await;
    let bucket = unique_name("accolade-missing");
    let store = S3FileStore::new(s3_client(&moto.sdk, true), bucket.clone());

    let error = store
        .put("assertions/x/image.png", PNG_BYTES.to_vec(), "image/png")
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, FileStoreError::Backend(_)), "{message}");
    assert!(message.contains(&bucket), "{message}");
    assert!(message.contains("NoSuchBucket"), "{message}");
}
