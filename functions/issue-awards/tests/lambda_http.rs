//! The Lambda entry point of the partner API: the router that `main` builds over DynamoDB, S3
//! and SSM, fed API Gateway HTTP API (payload 2.0) events from `tests/events/` through
//! lambda_http's own request conversion.
//!
//! Needs a moto server on 127.0.0.1 named by `ACCOLADE_MOTO_ENDPOINT`; `bash
//! infra/scripts/test.sh` starts one.

use accolade::crypto::client_secret_hash;
use accolade::domain::{ApiClient, ClientId, Scopes, Text, TextLimit, Timestamp};
use accolade::ports::Store;
use accolade::urls::PublicUrls;
use accolade_aws::secrets::SecretParameterNames;
use accolade_aws::{AwsConfig, DynamoStore};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const BASE_URL: &str = "https://badges.example.org";
/// The client and secret that `tests/events/token-request.json` authenticates with.
const FIXTURE_CLIENT_ID: &str = "lambda-fixture-client";
const FIXTURE_CLIENT_SECRET: &str = "fixture-secret-4f9d2c7a1b8e";

struct Deployment {
    config: AwsConfig,
    sdk: SdkConfig,
    store: DynamoStore,
}

/// Connects to moto, or fails with how to start it.
async fn moto_sdk() -> (String, SdkConfig) {
    const VARIABLE: &str = "ACCOLADE_MOTO_ENDPOINT";
    let endpoint = std::env::var(VARIABLE)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{VARIABLE} is not set, so there is no AWS emulator to test against: run the \
                 tests with `bash infra/scripts/test.sh`, or start `.venv/tools/bin/python \
                 infra/scripts/moto_serial.py -H 127.0.0.1 -p 5123` and set {VARIABLE}=http://127.0.0.1:5123"
            )
        });
    let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "{VARIABLE}={endpoint:?} must be http://127.0.0.1:PORT; the tests only talk to an emulator on this machine"
    );
    let sdk = accolade_aws::sdk_config_loader(Some(&endpoint))
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    (endpoint, sdk)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Creates a table, a bucket and the token signing secret on moto, as a deployed stack has them.
async fn deployment() -> Deployment {
    let (endpoint, sdk) = moto_sdk().await;
    let table = unique("accolade-lambda");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    DynamoStore::create_table_for_tests(&dynamodb, &table)
        .await
        .unwrap_or_else(|error| panic!("creating table {table} on moto failed: {error:#}"));
    let bucket = unique("accolade-images");
    accolade_aws::s3_client(&sdk, true)
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("creating the bucket on moto failed");
    let token_secret = format!("/{}/token-signing-secret", unique("accolade"));
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&token_secret)
        .value(STANDARD.encode([11_u8; 32]))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("creating the SSM parameter on moto failed");

    let config = AwsConfig {
        table_name: table.clone(),
        bucket_name: bucket,
        ses_configuration_set: "accolade-claims".to_owned(),
        sender_address: "Riverside Music <badges@music.example.org>".to_owned(),
        public_base_url: PublicUrls::parse(BASE_URL).unwrap(),
        secret_parameters: SecretParameterNames {
            token_signing_secret: token_secret,
            // issue-awards never reads the pepper: its role may not.
            claim_pepper: "/accolade/not-readable-by-issue-awards".to_owned(),
        },
        signing_key_prefix: None,
        endpoint_url: Some(endpoint),
    };
    Deployment {
        config,
        store: DynamoStore::new(dynamodb, table),
        sdk,
    }
}

/// Converts an event fixture with lambda_http and sends it through the router.
async fn invoke(router: &Router, fixture: &str) -> (u16, Value) {
    let path = format!("{}/tests/events/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let event = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {path} failed: {error}"));
    let request = lambda_http::request::from_str(&event)
        .unwrap_or_else(|error| panic!("{fixture} is not an API Gateway event: {error}"));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
        panic!(
            "{fixture} got a body that is not JSON ({error}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

async fn seed_fixture_client(store: &DynamoStore) {
    let issuer = accolade::adapters::contract::fixtures::issuer();
    store.create_issuer(&issuer).await.unwrap();
    let client = ApiClient {
        client_id: ClientId::parse(FIXTURE_CLIENT_ID).unwrap(),
        issuer_id: issuer.id,
        name: Text::parse("name", "Event booking", TextLimit::NAME).unwrap(),
        secret_hash: client_secret_hash(FIXTURE_CLIENT_SECRET),
        scopes: Scopes::all(),
        disabled: false,
        created_at: Timestamp::from_unix_seconds(1_731_060_000),
    };
    store.put_client(&client).await.unwrap();
}

#[tokio::test]
async fn token_event_issues_token() {
    let deployment = deployment().await;
    seed_fixture_client(&deployment.store).await;
    let router = issue_awards::lambda::router(&deployment.config, &deployment.sdk)
        .await
        .expect("the router did not build");

    let (status, body) = invoke(&router, "token-request.json").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "awards:read");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|token| token.len() > 20)
    );
}

#[tokio::test]
async fn openapi_and_unauthenticated_events() {
    let deployment = deployment().await;
    let router = issue_awards::lambda::router(&deployment.config, &deployment.sdk)
        .await
        .expect("the router did not build");

    let (status, body) = invoke(&router, "openapi-request.json").await;
    assert_eq!(status, 200);
    assert!(
        body["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3."))
    );

    let (status, body) = invoke(&router, "awards-without-token.json").await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn start_records_public_url() {
    let deployment = deployment().await;

    let _router = issue_awards::lambda::router(&deployment.config, &deployment.sdk)
        .await
        .expect("the first start failed");

    let pinned = deployment
        .store
        .get_setting("public_base_url")
        .await
        .unwrap();
    assert_eq!(pinned.as_deref(), Some(BASE_URL));
}

#[tokio::test]
async fn start_with_other_public_url_fails() {
    let deployment = deployment().await;
    let _first = issue_awards::lambda::router(&deployment.config, &deployment.sdk)
        .await
        .expect("the first start failed");
    let mut moved = deployment.config.clone();
    moved.public_base_url = PublicUrls::parse("https://other.example.org").unwrap();

    let Err(error) = issue_awards::lambda::router(&moved, &deployment.sdk).await else {
        panic!("a start with another public URL succeeded");
    };

    let message = format!("{error:#}");
    assert!(message.contains("PUBLIC_BASE_URL"), "{message}");
    assert!(message.contains(BASE_URL), "{message}");
}

#[tokio::test]
async fn start_without_secret_names_parameter() {
    let deployment = deployment().await;
    let mut config = deployment.config.clone();
    config.secret_parameters.token_signing_secret = "/accolade/missing-secret".to_owned();

    let Err(error) = issue_awards::lambda::router(&config, &deployment.sdk).await else {
        panic!("a start without the secret succeeded");
    };

    let message = format!("{error:#}");
    assert!(message.contains("/accolade/missing-secret"), "{message}");
}
