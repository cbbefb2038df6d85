//! The ses-events Lambda function: delivery, bounce and complaint events of claim emails.

use std::sync::Arc;

use aws_lambda_events::sns::SnsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = ses_events::lambda::deps_from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %format!("{error:#}"), "cold start failed"))?;
    let deps = Arc::new(deps);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| {
        let deps = deps.clone();
        async move { ses_events::lambda::handle_sns_event(&deps, &event.payload).await }
    }))
    .await
}
