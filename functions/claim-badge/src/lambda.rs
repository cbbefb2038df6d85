//! The claim pages as an AWS Lambda function: the adapters, built once per cold start from the
//! environment, behind the same [`router`](crate::router) that the local stack mounts.

use std::sync::Arc;

use accolade::adapters::system::{OsRandom, SystemClock};
use accolade::crypto::Pepper;
use accolade::ports::Store;
use accolade::urls::PublicUrls;
use accolade_aws::secrets::get_secure_strings;
use accolade_aws::{AwsConfig, DynamoStore};
use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::ClaimBadge;

/// The setting that pins the public base URL, shared with every other function and the local
/// stack: Open Badges ids are minted from it and can never change once issued.
const PUBLIC_URL_SETTING: &str = "public_base_url";

/// Reads the configuration from the environment and builds the router over DynamoDB. `main`
/// calls it once per cold start; an error names the variable or parameter at fault.
pub async fn router_from_env() -> anyhow::Result<Router> {
    let config = AwsConfig::from_env()?;
    let sdk = config.sdk_config().await;
    router(&config, &sdk).await
}

/// Builds the claim pages' router over the table named by `config`, with clients from `sdk`.
/// Reads the claim pepper from SSM and checks the public base URL against the one the table
/// recorded first.
pub async fn router(config: &AwsConfig, sdk: &SdkConfig) -> anyhow::Result<Router> {
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
    ));
    pin_public_url(store.as_ref(), &config.public_base_url).await?;

    let ssm = aws_sdk_ssm::Client::new(sdk);
    let pepper = read_pepper(&ssm, &config.secret_parameters.claim_pepper).await?;
    Ok(crate::router(ClaimBadge {
        store,
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        pepper,
        urls: config.public_base_url.clone(),
    }))
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

/// Reads the claim pepper: a SecureString parameter with the standard base64 of random bytes.
async fn read_pepper(ssm: &aws_sdk_ssm::Client, name: &str) -> anyhow::Result<Pepper> {
    let values = get_secure_strings(ssm, &[name]).await?;
    let value = values
        .get(name)
        .ok_or_else(|| anyhow!("SSM parameter {name:?} was not returned"))?;
    let bytes = STANDARD
        .decode(value.expose_secret().trim())
        .map_err(|_| anyhow!("SSM parameter {name:?} is not standard base64"))?;
    Pepper::new(bytes)
        .map_err(|reason| anyhow!("SSM parameter {name:?} is not a usable pepper: {reason}"))
}
