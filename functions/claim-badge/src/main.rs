//! The claim-badge Lambda function: the claim pages behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let router = claim_badge::lambda::router_from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %format!("{error:#}"), "cold start failed"))?;
    lambda_http::run(router).await
}
