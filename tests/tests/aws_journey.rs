//! The badge journey over the AWS adapters on the moto emulator, through the functions' Lambda
//! wiring. It issues awards through the partner API over DynamoDB and runs send-claims on the
//! table's stream records, read with DynamoDB Streams `GetRecords` and shaped as the Lambda
//! event carries them. It then reads the claim link from the email that SES v2 accepted,
//! claims through the claim pages, runs bake-images on the claim's stream records, and fetches
//! the assertion and the baked image from the public endpoints.
//!
//! Needs a moto server on 127.0.0.1 named by `ACCOLADE_MOTO_ENDPOINT`; `bash
//! infra/scripts/test.sh` starts one. No Lambda trigger runs on moto, so the test hands each
//! batch of stream records to the handlers itself.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use std::sync::Arc;

use accolade::adapters::system::{OsRandom, SystemClock};
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey};
use accolade::ports::{Clock, SigningKeys, Store};
use accolade::urls::PublicUrls;
use accolade_aws::secrets::SecretParameterNames;
use accolade_aws::{AwsConfig, DynamoStore, S3FileStore};
use accolade_local::demo::{SeedPorts, ensure_demo};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const BASE_URL: &str = "https://badges.example.org";
const SENDER_DOMAIN: &str = "music.example.org";

struct Moto {
    /// `host:port` of the server.
    address: String,
    sdk: SdkConfig,
    endpoint: String,
}

async fn moto() -> Moto {
    const VARIABLE: &str = "ACCOLADE_MOTO_ENDPOINT";
    let endpoint = std::env::var(VARIABLE)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{VARIABLE} is not set, so there is no AWS emulator to test against: run the \
                 tests with `bash infra/scripts/test.sh`, or start `.venv/tools/bin/moto_server \
                 -H 127.0.0.1 -p 5123` and set {VARIABLE}=http://127.0.0.1:5123"
            )
        });
    let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
    let address = endpoint
        .strip_prefix("http://127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| {
            panic!("{VARIABLE}={endpoint:?} must be http://127.0.0.1:PORT; the tests only talk to an emulator on this machine")
        });
    let sdk = accolade_aws::sdk_config_loader(Some(&endpoint))
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    Moto {
        address,
        sdk,
        endpoint,
    }
}

impl Moto {
    /// Returns the body of `GET path` on the moto server.
    fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(&self.address).unwrap_or_else(|error| {
            panic!("connecting to moto at {} failed: {error}", self.address)
        });
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let request = format!("GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.address);
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("GET {path} on moto returned no header end"));
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "GET {path}: {head}"
        );
        body.to_owned()
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Creates what the stack creates: the table with its stream, the bucket, the verified sender
/// and the two secrets. Returns the functions' configuration.
async fn deploy(moto: &Moto) -> AwsConfig {
    let table = unique("accolade-journey");
    DynamoStore::create_table_for_tests(&aws_sdk_dynamodb::Client::new(&moto.sdk), &table)
        .await
        .unwrap_or_else(|error| panic!("creating table {table} on moto failed: {error:#}"));
    let bucket = unique("accolade-journey");
    accolade_aws::s3_client(&moto.sdk, true)
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
    aws_sdk_sesv2::Client::new(&moto.sdk)
        .create_email_identity()
        .email_identity(SENDER_DOMAIN)
        .send()
        .await
        .expect("verifying the sender domain on moto failed");

    let prefix = format!("/{}", unique("accolade"));
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk);
    let names = SecretParameterNames {
        token_signing_secret: format!("{prefix}/token-signing-secret"),
        claim_pepper: format!("{prefix}/claim-pepper"),
    };
    for (name, byte) in [
        (&names.token_signing_secret, 3_u8),
        (&names.claim_pepper, 5_u8),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(STANDARD.encode([byte; 32]))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("creating an SSM parameter on moto failed");
    }

    AwsConfig {
        table_name: table,
        bucket_name: bucket,
        ses_configuration_set: "accolade-claims".to_owned(),
        sender_address: format!("Riverside Music Service <badges@{SENDER_DOMAIN}>"),
        public_base_url: PublicUrls::parse(BASE_URL).unwrap(),
        secret_parameters: names,
        signing_key_prefix: Some(
            accolade_aws::SigningKeyPrefix::parse("/accolade-test/signing-keys").unwrap(),
        ),
        endpoint_url: Some(moto.endpoint.clone()),
    }
}

struct Response {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

async fn call(router: &Router, request: Request<Body>) -> Response {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Response {
        status,
        headers,
        body,
    }
}

/// Reads the table's stream from `after` on (every record when `None`), oldest first, in the
/// JSON shape of a Lambda DynamoDB event, and returns the event with the last sequence number.
async fn stream_event(moto: &Moto, table: &str, after: Option<&str>) -> (Value, Option<String>) {
    let description = aws_sdk_dynamodb::Client::new(&moto.sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describing the table failed");
    let stream_arn = description
        .table()
        .and_then(|table| table.latest_stream_arn())
        .expect("the table has no stream")
        .to_owned();
    let streams = aws_sdk_dynamodbstreams::Client::new(&moto.sdk);
    let shards = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describing the stream failed")
        .stream_description
        .expect("the stream has no description")
        .shards
        .unwrap_or_default();

    let mut records = Vec::new();
    let mut last = after.map(str::to_owned);
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("getting a shard iterator failed")
            .shard_iterator;
        while let Some(current) = iterator {
            let output = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("getting stream records failed");
            if output.records().is_empty() {
                break;
            }
            for record in output.records() {
                let change = record.dynamodb().expect("a record without its change");
                let sequence = change.sequence_number().unwrap_or_default().to_owned();
                if after.is_some_and(|after| sequence_number_le(&sequence, after)) {
                    continue;
                }
                records.push(json!({
                    "eventID": record.event_id(),
                    "eventName": record.event_name().map(|name| name.as_str()),
                    "eventSource": "aws:dynamodb",
                    "eventVersion": "1.1",
                    "awsRegion": "eu-west-2",
                    "eventSourceARN": stream_arn,
                    "dynamodb": {
                        "ApproximateCreationDateTime": 1_731_060_000,
                        "Keys": image_json(change.keys()),
                        "NewImage": image_json(change.new_image()),
                        "OldImage": image_json(change.old_image()),
                        "SequenceNumber": sequence,
                        "SizeBytes": 1,
                        "StreamViewType": "NEW_AND_OLD_IMAGES"
                    }
                }));
                last = Some(sequence);
            }
            iterator = output.next_shard_iterator;
        }
    }
    (json!({ "Records": records }), last)
}

/// Compares stream sequence numbers, which are decimal strings of different lengths.
fn sequence_number_le(left: &str, right: &str) -> bool {
    (left.len(), left) <= (right.len(), right)
}

fn image_json(image: Option<&HashMap<String, AttributeValue>>) -> Value {
    Value::Object(
        image
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), attribute_json(value)))
            .collect(),
    )
}

fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::Bool(flag) => json!({ "BOOL": flag }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::M(map) => json!({ "M": image_json(Some(map)) }),
        AttributeValue::L(list) => {
            json!({ "L": list.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        other => panic!("the table holds no attribute like {other:?}"),
    }
}

/// Finds the claim links in the HTML parts that moto recorded for `to`.
fn claim_links(moto: &Moto, to: &str) -> Vec<String> {
    let data: Value = serde_json::from_str(&moto.get("/moto-api/data.json")).unwrap();
    let messages = data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let prefix = format!("{BASE_URL}/claim/");
    messages
        .iter()
        .filter(|message| message["destinations"]["ToAddresses"] == json!([to]))
        .filter_map(|message| {
            let html = message["body"].as_str()?;
            let start = html.find(&prefix)?;
            let link: String = html[start..]
                .chars()
                .take_while(|c| !matches!(c, '"' | '<' | '\'' | ' '))
                .collect();
            Some(link)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awards_are_sent_claimed_and_baked_on_aws() {
    // Arrange: the deployment and its first issuer, achievements and partner client.
    let moto = moto().await;
    let config = deploy(&moto).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto.sdk), &config.table_name);
    let files = S3FileStore::new(config.s3_client(&moto.sdk), &config.bucket_name);
    let data_dir = tempfile::tempdir().unwrap();
    let credentials = ensure_demo(
        &SeedPorts {
            store: &store,
            files: &files,
            clock: &SystemClock,
            random: &OsRandom,
        },
        &config.public_base_url,
        data_dir.path(),
    )
    .await
    .expect("seeding the demo issuer on DynamoDB and S3 failed");

    let partner_api = issue_awards::lambda::router(&config, &moto.sdk)
        .await
        .unwrap();
    let claim_pages = claim_badge::lambda::router(&config, &moto.sdk)
        .await
        .unwrap();
    let public = serve_assertions::lambda::router(&config, &moto.sdk)
        .await
        .unwrap();
    let send_claims = send_claims::lambda::deps(&config, &moto.sdk).await.unwrap();
    let mut bake_images = bake_images::lambda::deps(&config, &moto.sdk).await.unwrap();
    let issuer = store.list_issuers().await.unwrap().remove(0);
    let key = SigningKey::generate(issuer.id, SigningAlgorithm::Rs256, SystemClock.now()).unwrap();
    let keys = MemorySigningKeys::new();
    keys.add_signing_key(&key).await.unwrap();
    // NOTE: there is no adapter of the signing keys over AWS yet, so bake-images gets keys
    // kept in memory in place of the ones its Lambda wiring builds.
    bake_images.keys = Arc::new(keys);

    // Issue two awards through the partner API.
    let token = call(
        &partner_api,
        Request::post("/oauth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                credentials.client_id, credentials.client_secret
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(
        token.status,
        200,
        "{}",
        String::from_utf8_lossy(&token.body)
    );
    let bearer = format!("Bearer {}", token.json()["access_token"].as_str().unwrap());
    let achievements = call(
        &partner_api,
        Request::get("/v1/achievements")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .json();
    let achievement_id = achievements["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["level"] == "participate")
        .expect("the demo issuer has a Participate achievement")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let batch = call(
        &partner_api,
        Request::post("/v1/awards/batch")
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", "journey-batch-1")
            .body(Body::from(
                json!({"items": [
                    {"achievement_id": achievement_id, "recipient": {"email": "amara@example.org", "name": "Amara Okafor"}},
                    {"achievement_id": achievement_id, "recipient": {"email": "sam@example.org", "name": "Sam Lee"}}
                ]})
                .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert!(
        batch.status < 300,
        "{}",
        String::from_utf8_lossy(&batch.body)
    );
    let batch = batch.json();
    let award_ids: Vec<String> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            assert_eq!(item["status"], 201, "{item}");
            item["award"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(award_ids.len(), 2);

    // send-claims on the stream records of the awards.
    let (event, last) = stream_event(&moto, &config.table_name, None).await;
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_value(event).unwrap();
    let response = send_claims::lambda::handle_stream_event(&send_claims, &event)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    for id in &award_ids {
        let award = store.get_award(id.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(award.delivery.as_str(), "sent", "award {id}");
        assert!(
            award.message_id.is_some(),
            "award {id} has no SES message id"
        );
    }

    // The claim link from the email that SES accepted; moto keeps the HTML part.
    let links = claim_links(&moto, "amara@example.org");
    assert_eq!(links.len(), 1, "{links:?}");
    let claim_path = links[0].strip_prefix(BASE_URL).unwrap().to_owned();

    // Claim through the claim pages.
    let page = call(
        &claim_pages,
        Request::get(claim_path.as_str())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let claimed = call(
        &claim_pages,
        Request::post(claim_path.as_str())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "display_name=Amara+Okafor&show_name=on&identity_email=amara%40example.org",
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(
        claimed.status,
        303,
        "{}",
        String::from_utf8_lossy(&claimed.body)
    );
    let amara = award_ids[0].clone();
    let award = store
        .get_award(amara.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(award.state.as_str(), "claimed");

    // bake-images on the stream records since the emails went out.
    let (event, _) = stream_event(&moto, &config.table_name, last.as_deref()).await;
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_value(event).unwrap();
    assert!(
        !event.records.is_empty(),
        "the claim wrote no stream record"
    );
    let response = bake_images::lambda::handle_stream_event(&bake_images, &event)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // The public endpoints serve the assertion and the baked image.
    let assertion = call(
        &public,
        Request::get(format!("/assertions/{amara}"))
            .header(header::ACCEPT, "application/ld+json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        assertion.status,
        200,
        "{}",
        String::from_utf8_lossy(&assertion.body)
    );
    let document = assertion.json();
    assert_eq!(document["id"], format!("{BASE_URL}/assertions/{amara}"));
    assert_eq!(document["type"], "Assertion");

    let image = call(
        &public,
        Request::get(format!("/assertions/{amara}/image.png"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers[header::CONTENT_TYPE], "image/png");
    let baked = accolade::baking::unbake(&image.body)
        .expect("the baked image is not a valid PNG")
        .expect("the image carries no badge");
    assert!(
        baked
            .text
            .contains(&format!("{BASE_URL}/assertions/{amara}")),
        "the baked badge is not this assertion: {}",
        baked.text
    );
    let unknown = call(
        &public,
        Request::get("/nothing-here").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["code"], "not_found");
}
