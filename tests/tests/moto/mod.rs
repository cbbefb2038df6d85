//! Helpers of the tests that run the functions over the AWS adapters on the moto emulator.
//! They configure the SDK for the server named by `ACCOLADE_MOTO_ENDPOINT` and create the
//! resources the stack creates (table with its stream, bucket, verified sender, secrets).
//! They wire the functions over those resources as their Lambda entry points do, shape the
//! table's stream records as the Lambda event carries them, and read back the emails that
//! moto's SES recorded.
//!
//! Each test binary includes this module with `mod moto;` and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accolade::adapters::system::{OsRandom, SystemClock};
use accolade::ports::{MailError, Mailer, OutgoingEmail};
use accolade::urls::PublicUrls;
use accolade_aws::secrets::SecretParameterNames;
use accolade_aws::{AwsConfig, DynamoStore, S3FileStore};
use accolade_local::demo::{SeedPorts, ensure_demo};
use accolade_local::import::Credentials as ClientCredentials;
use async_trait::async_trait;
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

pub const BASE_URL: &str = "https://badges.example.org";
pub const SENDER_DOMAIN: &str = "music.example.org";

/// The moto server and an SDK configuration that sends every call to it.
pub struct Moto {
    /// `host:port` of the server.
    pub address: String,
    pub sdk: SdkConfig,
    pub endpoint: String,
    /// The region of every call. moto keeps each region's resources apart, SES's count of
    /// sent emails included.
    pub region: String,
}

/// Connects to the moto server named by `ACCOLADE_MOTO_ENDPOINT`.
///
/// # Panics
/// When the variable is unset or names anything but `http://127.0.0.1:PORT`, with a message
/// that explains how to run the tests.
pub async fn moto() -> Moto {
    moto_in_region("eu-west-2").await
}

/// Connects to the moto server like [`moto`], with every call in `region`.
pub async fn moto_in_region(region: &str) -> Moto {
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
    let address = endpoint
        .strip_prefix("http://127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| {
            panic!("{VARIABLE}={endpoint:?} must be http://127.0.0.1:PORT; the tests only talk to an emulator on this machine")
        });
    let sdk = accolade_aws::sdk_config_loader(Some(&endpoint))
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    Moto {
        address,
        sdk,
        endpoint,
        region: region.to_owned(),
    }
}

/// One email that moto's SES accepted.
#[derive(Debug, Clone)]
pub struct SesMessage {
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML part, which is the body moto keeps.
    pub body: String,
}

impl Moto {
    /// Returns the body of `GET path` on the moto server.
    pub fn get(&self, path: &str) -> String {
        let request = format!("GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.address);
        self.send_raw(&format!("GET {path}"), &request)
    }

    /// Sends one HTTP/1.0 request and returns the body of its 200 response.
    fn send_raw(&self, description: &str, request: &str) -> String {
        let mut stream = TcpStream::connect(&self.address).unwrap_or_else(|error| {
            panic!("connecting to moto at {} failed: {error}", self.address)
        });
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .unwrap_or_else(|error| panic!("{description} on moto failed: {error}"));
        let (head, body) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{description} on moto returned no header end"));
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{description}: {head}\n{body}"
        );
        body.to_owned()
    }

    /// Returns how many emails SES accepted in this region since the server started, as the
    /// SES v1 `GetSendQuota` action reports it (`SentLast24Hours`). moto reads the region and
    /// the service from the credential scope and does not check the signature.
    pub fn ses_sent_count(&self) -> u64 {
        let body = "Action=GetSendQuota&Version=2010-12-01";
        let request = format!(
            "POST / HTTP/1.0\r\nHost: {address}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ses/aws4_request, \
             SignedHeaders=host, Signature=0\r\n\
             Content-Length: {length}\r\n\r\n{body}",
            address = self.address,
            region = self.region,
            length = body.len(),
        );
        let response = self.send_raw("SES GetSendQuota", &request);
        let value = response
            .split_once("<SentLast24Hours>")
            .and_then(|(_, rest)| rest.split_once("</SentLast24Hours>"))
            .map(|(value, _)| value.trim().to_owned())
            .unwrap_or_else(|| panic!("GetSendQuota returned no SentLast24Hours: {response}"));
        value
            .parse::<f64>()
            .unwrap_or_else(|error| panic!("SentLast24Hours {value:?} is not a number: {error}"))
            as u64
    }

    /// Returns every email that SES accepted since the server started, from moto's state dump
    /// at `/moto-api/data.json`. Tests share the server, so callers filter by recipient.
    ///
    /// NOTE: moto builds the dump from every resource it holds, which takes minutes once a
    /// test has stored thousands of items. Tests that run beside such a test read the emails
    /// that [`AwsStack::sent_emails`] recorded instead.
    pub fn ses_messages(&self) -> Vec<SesMessage> {
        let data: Value = serde_json::from_str(&self.get("/moto-api/data.json"))
            .expect("moto's /moto-api/data.json is not JSON");
        let messages = data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        messages
            .iter()
            .map(|message| SesMessage {
                to: message["destinations"]["ToAddresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|address| address.as_str().map(str::to_owned))
                    .collect(),
                subject: message["subject"].as_str().unwrap_or_default().to_owned(),
                body: message["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

/// Finds the claim link in the HTML part of an email.
pub fn claim_link_in_html(html: &str) -> Option<String> {
    let prefix = format!("{BASE_URL}/claim/");
    let start = html.find(&prefix)?;
    let link: String = html[start..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '<' | '\'' | ' '))
        .collect();
    Some(link)
}

/// Finds the claim links in the HTML parts that moto recorded for `to`.
pub fn claim_links(moto: &Moto, to: &str) -> Vec<String> {
    moto.ses_messages()
        .iter()
        .filter(|message| message.to == [to])
        .filter_map(|message| claim_link_in_html(&message.body))
        .collect()
}

/// Returns `prefix-` and a random suffix, for names that tests sharing one server keep apart.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Creates what the stack creates: the table with its stream, the bucket, the verified sender
/// and the two secrets. Returns the functions' configuration.
pub async fn deploy(moto: &Moto) -> AwsConfig {
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
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    moto.region.as_str(),
                ))
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

/// A response of a router, read whole.
pub struct Response {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Sends one request to a router, as API Gateway hands it to the Lambda function.
pub async fn call(router: &Router, request: Request<Body>) -> Response {
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

/// An email that SES accepted, as send-claims handed it over.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub award_id: String,
    pub to: String,
    pub html: String,
    pub message_id: String,
}

/// The SES mailer of send-claims, wrapped to record every email that SES accepted.
struct RecordingMailer {
    inner: Arc<dyn Mailer>,
    sent: Arc<Mutex<Vec<SentEmail>>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let message_id = self.inner.send(email).await?;
        self.sent.lock().unwrap().push(SentEmail {
            award_id: email.award_id.to_string(),
            to: email.to.as_str().to_owned(),
            html: email.html.clone(),
            message_id: message_id.clone(),
        });
        Ok(message_id)
    }
}

/// The demo issuer seeded into a deployment: its store and the demo partner client.
pub struct DemoSeed {
    pub store: DynamoStore,
    pub credentials: ClientCredentials,
    /// Holds `demo-client.json`, which the seeding writes.
    pub data_dir: tempfile::TempDir,
}

/// Seeds the demo issuer, its achievements and partner client into the table and bucket of
/// `config`, as `accolade serve` seeds a new local stack.
pub async fn seed_demo(moto: &Moto, config: &AwsConfig) -> DemoSeed {
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
    DemoSeed {
        store,
        credentials,
        data_dir,
    }
}

/// The functions of one deployment on moto, wired as their Lambda entry points wire them,
/// with the demo issuer seeded.
pub struct AwsStack {
    pub moto: Moto,
    pub config: AwsConfig,
    pub store: DynamoStore,
    pub credentials: ClientCredentials,
    pub partner_api: Router,
    pub claim_pages: Router,
    pub public: Router,
    pub send_claims: send_claims::SendClaims,
    /// Every email that SES accepted from send-claims, in order.
    sent: Arc<Mutex<Vec<SentEmail>>>,
    /// The position in the table's stream up to which [`run_send_claims`](Self::run_send_claims)
    /// handed records to send-claims.
    pub stream_position: Option<String>,
    /// Holds `demo-client.json`, which the seeding writes.
    _data_dir: tempfile::TempDir,
}

impl AwsStack {
    /// Deploys a fresh table, bucket and secrets on moto, seeds the demo issuer and builds
    /// the partner API, the claim pages, the public endpoints and send-claims.
    pub async fn start() -> Self {
        Self::start_in_region("eu-west-2").await
    }

    /// Starts a deployment like [`start`](Self::start), in `region`.
    pub async fn start_in_region(region: &str) -> Self {
        let moto = moto_in_region(region).await;
        let config = deploy(&moto).await;
        let DemoSeed {
            store,
            credentials,
            data_dir,
        } = seed_demo(&moto, &config).await;

        let partner_api = issue_awards::lambda::router(&config, &moto.sdk)
            .await
            .unwrap();
        let claim_pages = claim_badge::lambda::router(&config, &moto.sdk)
            .await
            .unwrap();
        let public = serve_assertions::lambda::router(&config, &moto.sdk)
            .await
            .unwrap();
        let mut send_claims = send_claims::lambda::deps(&config, &moto.sdk).await.unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        send_claims.mailer = Arc::new(RecordingMailer {
            inner: send_claims.mailer.clone(),
            sent: sent.clone(),
        });
        Self {
            moto,
            config,
            store,
            credentials,
            partner_api,
            claim_pages,
            public,
            send_claims,
            sent,
            stream_position: None,
            _data_dir: data_dir,
        }
    }

    /// Returns every email that SES accepted from this deployment's send-claims, in order.
    pub fn sent_emails(&self) -> Vec<SentEmail> {
        self.sent.lock().unwrap().clone()
    }

    /// Gets an access token for the demo client and returns the `Authorization` value.
    pub async fn bearer(&self) -> String {
        let token = call(
            &self.partner_api,
            Request::post("/oauth/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "grant_type=client_credentials&client_id={}&client_secret={}",
                    self.credentials.client_id, self.credentials.client_secret
                )))
                .unwrap(),
        )
        .await;
        assert_eq!(token.status, 200, "{}", token.text());
        format!("Bearer {}", token.json()["access_token"].as_str().unwrap())
    }

    /// Returns the id of the demo issuer's Participate achievement.
    pub async fn participate_achievement(&self, bearer: &str) -> String {
        let achievements = call(
            &self.partner_api,
            Request::get("/v1/achievements")
                .header(header::AUTHORIZATION, bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
        achievements["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["level"] == "participate")
            .expect("the demo issuer has a Participate achievement")["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Sends `POST path` with a JSON body and an `Idempotency-Key` to the partner API.
    pub async fn post_json(&self, bearer: &str, path: &str, key: &str, body: &Value) -> Response {
        call(
            &self.partner_api,
            Request::post(path)
                .header(header::AUTHORIZATION, bearer)
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", key)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Sends `GET path` to the partner API.
    pub async fn get_api(&self, bearer: &str, path: &str) -> Response {
        call(
            &self.partner_api,
            Request::get(path)
                .header(header::AUTHORIZATION, bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Runs send-claims on the stream records written since the previous run, as Lambda does,
    /// and hands the records it reports as failed to it again until none fail (at most five
    /// rounds). Returns the number of records of the first round.
    pub async fn run_send_claims(&mut self) -> usize {
        let (event, last) = stream_event(
            &self.moto,
            &self.config.table_name,
            self.stream_position.as_deref(),
        )
        .await;
        let records = event["Records"].as_array().map_or(0, Vec::len);
        let mut event: aws_lambda_events::dynamodb::Event = serde_json::from_value(event).unwrap();
        for _ in 0..5 {
            let response = send_claims::lambda::handle_stream_event(&self.send_claims, &event)
                .await
                .unwrap();
            if response.batch_item_failures.is_empty() {
                if last.is_some() {
                    self.stream_position = last;
                }
                return records;
            }
            // Lambda retries the shard from the lowest failed record.
            let lowest = response
                .batch_item_failures
                .iter()
                .filter_map(|failure| failure.item_identifier.clone())
                .min_by(|left, right| sequence_order(left).cmp(&sequence_order(right)))
                .expect("a failure names its record");
            event.records.retain(|record| {
                record
                    .change
                    .sequence_number
                    .as_deref()
                    .is_some_and(|sequence| sequence_order(sequence) >= sequence_order(&lowest))
            });
        }
        panic!("send-claims kept failing records of the stream after five rounds");
    }
}

/// Reads the table's stream from `after` on (every record when `None`), oldest first, in the
/// JSON shape of a Lambda DynamoDB event, and returns the event with the last sequence number.
pub async fn stream_event(
    moto: &Moto,
    table: &str,
    after: Option<&str>,
) -> (Value, Option<String>) {
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

/// Orders stream sequence numbers, which are decimal strings of different lengths.
fn sequence_order(sequence: &str) -> (usize, &str) {
    (sequence.len(), sequence)
}

/// Returns whether the sequence number `left` is at or before `right`.
pub fn sequence_number_le(left: &str, right: &str) -> bool {
    sequence_order(left) <= sequence_order(right)
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
