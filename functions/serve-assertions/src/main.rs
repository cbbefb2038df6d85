//! The serve-assertions Lambda function: the public Open Badges endpoints behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let router = serve_assertions::lambda::router_from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %format!("{error:#}"), "cold start failed"))?;
    lambda_http::run(router).await
}
