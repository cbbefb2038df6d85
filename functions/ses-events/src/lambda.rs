//! The email event recorder as an AWS Lambda function subscribed to the SNS topic of the SES
//! configuration set: the store, built once per cold start from the environment, and the
//! handler of one SNS event.
//!
//! SNS invokes the function asynchronously, so a returned error makes Lambda retry the event
//! and then send it to the failure queue. Store failures are returned for that reason. An
//! SNS message that is not an SES event is returned as an error too: retrying cannot fix it,
//! but it then lands in the failure queue, whose alarm tells an operator to look at it.
//! Events that change nothing (other event types, emails without an award tag) are logged
//! and succeed.

use std::sync::Arc;

use accolade_aws::{AwsConfig, DynamoStore};
use aws_config::SdkConfig;
use aws_lambda_events::sns::SnsEvent;

use crate::{
    EventOutcome, NotificationError, SesEvents, SesEventsError, handle_email_event,
    parse_notification,
};

/// A failure of one invocation.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("SNS message {sns_message_id} could not be read: {source}")]
    Notification {
        sns_message_id: String,
        #[source]
        source: NotificationError,
    },
    #[error(transparent)]
    Event(#[from] SesEventsError),
}

/// Names the error in the invocation's error response, so CloudWatch shows its type.
impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        let error_type = match &error {
            InvocationError::Notification { .. } => "SesEvents.InvalidNotification",
            InvocationError::Event(SesEventsError::Store { .. }) => "SesEvents.Store",
            InvocationError::Event(SesEventsError::TooManyConflicts { .. }) => {
                "SesEvents.TooManyConflicts"
            }
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Reads the configuration from the environment and builds the handler's store. `main` calls
/// it once per cold start; an error names the variable at fault.
pub async fn deps_from_env() -> anyhow::Result<SesEvents> {
    let config = AwsConfig::from_env()?;
    let sdk = config.sdk_config().await;
    Ok(deps(&config, &sdk))
}

/// Builds the handler's store over the table named by `config`, with a client from `sdk`.
pub fn deps(config: &AwsConfig, sdk: &SdkConfig) -> SesEvents {
    SesEvents {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &config.table_name,
        )),
    }
}

/// Handles every record of one SNS event (SNS sends one per invocation), stopping at the
/// first failure.
pub async fn handle_sns_event(deps: &SesEvents, event: &SnsEvent) -> Result<(), InvocationError> {
    for record in &event.records {
        let sns_message_id = &record.sns.message_id;
        let email_event = parse_notification(&record.sns.message).map_err(|source| {
            tracing::error!(sns.message_id = %sns_message_id, error = %source, "SNS message is not an SES email event");
            InvocationError::Notification {
                sns_message_id: sns_message_id.clone(),
                source,
            }
        })?;

        let award_id = email_event.award_id.map(|id| id.to_string());
        let outcome = handle_email_event(deps, &email_event).await.inspect_err(|error| {
            tracing::warn!(award.id = award_id, ses.message_id = %email_event.message_id, error = %error, "recording the email event failed; Lambda retries it");
        })?;
        match outcome {
            EventOutcome::Recorded(status) => tracing::info!(
                award.id = award_id,
                ses.message_id = %email_event.message_id,
                event = email_event.kind.name(),
                delivery = status.as_str(),
                "delivery status recorded"
            ),
            EventOutcome::Unchanged(status) => tracing::info!(
                award.id = award_id,
                ses.message_id = %email_event.message_id,
                event = email_event.kind.name(),
                delivery = status.as_str(),
                "delivery status already recorded"
            ),
            EventOutcome::Ignored(reason) => tracing::info!(
                award.id = award_id,
                ses.message_id = %email_event.message_id,
                event = email_event.kind.name(),
                ?reason,
                "email event changes nothing"
            ),
        }
    }
    Ok(())
}
