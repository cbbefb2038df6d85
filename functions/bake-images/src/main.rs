//! The bake-images Lambda function: baked badge images for the awards claimed on the table's
//! stream.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = bake_images::lambda::deps_from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %format!("{error:#}"), "cold start failed"))?;
    let deps = Arc::new(deps);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let deps = deps.clone();
        async move { bake_images::lambda::handle_stream_event(&deps, &event.payload).await }
    }))
    .await
}
