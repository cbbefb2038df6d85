//! The partner API as an AWS Lambda function: the adapters, built once per cold start from the
//! environment, behind the same [`router`](crate::router) that the local stack mounts.

use std::sync::Arc;

use accolade::adapters::system::{OsRandom, SystemClock};
use accolade::auth::AccessTokens;
use accolade::ports::{PublicKeys, Store};
use accolade::urls::PublicUrls;
use accolade_aws::secrets::get_secure_strings;
use accolade_aws::{AwsConfig, DynamoStore, S3FileStore};
use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{Limits, PartnerApi};

/// The setting that pins the public base URL, shared with every other function and the local
/// stack: Open Badges ids are minted from it and can never change once issued.
const PUBLIC_URL_SETTING: &str = "public_base_url";

/// Reads the configuration from the environment and builds the router over DynamoDB and S3.
/// `main` calls it once per cold start; an error names the variable or parameter at fault.
pub async fn router_from_env() -> anyhow::Result<Router> {
    let config = AwsConfig::from_env()?;
    let sdk = config.sdk_config().await;
    router(&config, &sdk).await
}

/// Builds the partner API router over the table and bucket named by `config`, with clients
/// from `sdk`. Reads the access-token signing secret from SSM and checks the public base URL
/// against the one the table recorded first.
pub async fn router(config: &AwsConfig, sdk: &SdkConfig) -> anyhow::Result<Router> {
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
    ));
    pin_public_url(store.as_ref(), &config.public_base_url).await?;

    let ssm = aws_sdk_ssm::Client::new(sdk);
    let secret_name = &config.secret_parameters.token_signing_secret;
    let secret = read_base64_secret(&ssm, secret_name).await?;
    let tokens = AccessTokens::new(
        &secret,
        config.public_base_url.base().to_owned(),
        AccessTokens::DEFAULT_TTL_SECONDS,
    )
    .map_err(|reason| anyhow!("SSM parameter {secret_name:?} is not a usable secret: {reason}"))?;

    let files = S3FileStore::new(config.s3_client(sdk), &config.bucket_name);
    // `POST /v1/verify` checks signatures against the public records in the table.
    let public_keys: Arc<dyn PublicKeys> = store.clone();
    let router = crate::router(PartnerApi {
        store,
        files: Arc::new(files),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        tokens,
        urls: config.public_base_url.clone(),
        limits: Limits::default(),
    });
    Ok(router.layer(Extension(public_keys)))
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

/// Reads one SecureString parameter that contains the standard base64 of random bytes.
async fn read_base64_secret(ssm: &aws_sdk_ssm::Client, name: &str) -> anyhow::Result<Vec<u8>> {
    let values = get_secure_strings(ssm, &[name]).await?;
    let value = values
        .get(name)
        .ok_or_else(|| anyhow!("SSM parameter {name:?} was not returned"))?;
    STANDARD
        .decode(value.expose_secret().trim())
        .map_err(|_| anyhow!("SSM parameter {name:?} is not standard base64"))
}
