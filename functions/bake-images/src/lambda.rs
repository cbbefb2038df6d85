//! The image baker as an AWS Lambda function on the table's DynamoDB stream: the adapters,
//! built once per cold start from the environment, and the batch handler that runs
//! [`handle_award_change`] for each record.
//!
//! # Partial batch failures
//!
//! The event source mapping sets `ReportBatchItemFailures`, so the handler returns the sequence
//! numbers of the records to retry, and Lambda retries the shard from the lowest of them.
//! Records of one award are handled in stream order, because a change must not overtake the
//! one before it. When a record fails with a retryable error, the later records of the same
//! award are reported without being handled, so they run after it on the retry. Records of
//! other awards go on, and those that succeeded are not reported. Lambda retries from the
//! lowest failed record, so it may deliver some of them again; the handler then finds
//! nothing left to do, because it re-reads each award.
//!
//! A permanent error (an achievement without an image or whose image is missing, a claimed
//! award without its assertion, a record that is not a valid award) is logged with the ids and not reported: retrying cannot fix it, and reporting
//! it would hold up every later record of the shard until the record expires. The stream
//! failure queue receives only what exhausts the retries.

use std::collections::HashSet;
use std::sync::Arc;

use accolade::adapters::system::OsRandom;
use accolade::domain::AwardId;
use accolade::ports::Store;
use accolade::urls::PublicUrls;
use accolade_aws::stream::award_change_from_lambda_record;
use accolade_aws::{AwsConfig, AwsSigningKeys, DynamoStore, S3FileStore};
use anyhow::{Context, bail};
use aws_config::SdkConfig;
use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::{BakeImages, handle_award_change};

/// The setting that pins the public base URL, shared with every other function and the local
/// stack: Open Badges ids are minted from it and can never change once issued.
const PUBLIC_URL_SETTING: &str = "public_base_url";

/// A failure of a whole batch, which no list of failed records can report.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A record to retry has no sequence number, so it cannot be named in
    /// `batchItemFailures`; failing the invocation makes Lambda retry the whole batch.
    #[error("stream record of award {award_id} failed and has no sequence number to report")]
    NoSequenceNumber { award_id: AwardId },
}

/// Names the error in the invocation's error response, so CloudWatch shows its type.
impl From<BatchError> for lambda_runtime::Diagnostic {
    fn from(error: BatchError) -> Self {
        let error_type = match error {
            BatchError::NoSequenceNumber { .. } => "BakeImages.NoSequenceNumber",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Reads the configuration from the environment and builds the handler's dependencies over
/// DynamoDB, S3 and SSM. `main` calls it once per cold start; an error names the variable at fault.
pub async fn deps_from_env() -> anyhow::Result<BakeImages> {
    let config = AwsConfig::from_env()?;
    let sdk = config.sdk_config().await;
    deps(&config, &sdk).await
}

/// Builds the handler's dependencies over the table, the bucket and the signing key
/// parameters named by `config`, with clients from `sdk`, and checks the public base URL
/// against the one the table recorded first. Fails when `SIGNING_KEY_PARAMETER_PREFIX` is
/// not set, because this function signs every claimed award's credential.
pub async fn deps(config: &AwsConfig, sdk: &SdkConfig) -> anyhow::Result<BakeImages> {
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
    ));
    pin_public_url(store.as_ref(), &config.public_base_url).await?;

    let keys = AwsSigningKeys::new(
        store.as_ref().clone(),
        aws_sdk_ssm::Client::new(sdk),
        config.signing_key_prefix()?.clone(),
    );
    let files = S3FileStore::new(config.s3_client(sdk), &config.bucket_name);
    Ok(BakeImages {
        store,
        files: Arc::new(files),
        keys: Arc::new(keys),
        random: Arc::new(OsRandom),
        urls: config.public_base_url.clone(),
    })
}

/// Handles one batch of stream records and returns the records to retry.
pub async fn handle_stream_event(
    deps: &BakeImages,
    event: &Event,
) -> Result<DynamoDbEventResponse, BatchError> {
    let mut failed_awards = HashSet::new();
    let mut response = DynamoDbEventResponse::default();

    for record in &event.records {
        let sequence_number = record.change.sequence_number.as_deref();
        let change = match award_change_from_lambda_record(record) {
            Ok(Some(change)) => change,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(
                    event.id = %record.event_id,
                    sequence_number,
                    error = %error,
                    "stream record is not a valid award; skipped without retry"
                );
                continue;
            }
        };
        let award_id = change.new.id;

        let retry = if failed_awards.contains(&award_id) {
            tracing::info!(award.id = %award_id, sequence_number, "record held back until an earlier record of its award succeeds");
            true
        } else {
            let (old, new) = change.images();
            match handle_award_change(deps, old, new).await {
                Ok(outcome) => {
                    tracing::debug!(award.id = %award_id, ?outcome, "stream record handled");
                    false
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(award.id = %award_id, sequence_number, error = %error, "stream record failed; Lambda retries it");
                    true
                }
                Err(error) => {
                    tracing::error!(award.id = %award_id, sequence_number, error = %error, "stream record failed for good; skipped without retry");
                    false
                }
            }
        };

        if retry {
            failed_awards.insert(award_id);
            let sequence_number = sequence_number
                .ok_or(BatchError::NoSequenceNumber { award_id })?
                .to_owned();
            response.batch_item_failures.push(failure(sequence_number));
        }
    }
    Ok(response)
}

fn failure(sequence_number: String) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number);
    failure
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
