//! The public endpoints as an AWS Lambda function: the adapters, built once per cold start from
//! the environment, behind the same [`router`](crate::router) that the local stack mounts.
//!
//! API Gateway sends this function every path that no other function's route claims, so the
//! router gets a JSON 404 fallback here, as the local stack gives the merged routers.

use std::sync::Arc;

use accolade::http::ApiError;
use accolade::ports::Store;
use accolade::urls::PublicUrls;
use accolade_aws::{AwsConfig, DynamoStore, S3FileStore};
use anyhow::{Context, bail};
use aws_config::SdkConfig;
use axum::Router;
use axum::http::StatusCode;

use crate::ServeAssertions;

/// The setting that pins the public base URL, shared with every other function and the local
/// stack: Open Badges ids are minted from it and can never change once issued.
const PUBLIC_URL_SETTING: &str = "public_base_url";

/// Reads the configuration from the environment and builds the router over DynamoDB and S3.
/// `main` calls it once per cold start; an error names the variable at fault.
pub async fn router_from_env() -> anyhow::Result<Router> {
    let config = AwsConfig::from_env()?;
    let sdk = config.sdk_config().await;
    router(&config, &sdk).await
}

/// Builds the public router over the table and bucket named by `config`, with clients from
/// `sdk`, and checks the public base URL against the one the table recorded first.
pub async fn router(config: &AwsConfig, sdk: &SdkConfig) -> anyhow::Result<Router> {
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
    ));
    pin_public_url(store.as_ref(), &config.public_base_url).await?;

    let files = S3FileStore::new(config.s3_client(sdk), &config.bucket_name);
    let router = crate::router(ServeAssertions {
        store: store.clone(),
        files: Arc::new(files),
        // The public records are in the table; this function never reads private keys.
        keys: store,
        urls: config.public_base_url.clone(),
    });
    Ok(router.fallback(not_found))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no route matches this path; the partner API is under /v1",
    )
}

/// Records the public base URL on the first start and fails a later start with another one,
/// because every id already issued was minted from the recorded URL.
async fn pin_public_url(store: &dyn Store, urls: &PublicUrls) -> anyhow::Result<()> {
    let pinned = store
        .put_setting_if_absent(PUBLIC_URL_SETTING, urls.base())
        .await
        .context("recording the public base URL in the table failed")?;
    if pinned != urls.base() {
        bail!(
            "PUBLIC_BASE_URL is {}, but the table's badges were issued under {pinned}; set \
             PUBLIC_BASE_URL back to {pinned}",
            urls.base()
        );
    }
    Ok(())
}
