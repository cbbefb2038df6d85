//! Stream records of the table, read with DynamoDB Streams `GetRecords`, turned back into
//! award changes, both as the SDK returns them and in the shape a Lambda event carries.

use std::collections::HashMap;

use accolade::adapters::contract::fixtures;
use accolade::domain::{
    Award, AwardState, ClaimTokenRecord, DeliveryStatus, Revocation, Text, TextLimit,
};
use accolade::ports::Store;
use accolade_aws::stream::{
    AwardStreamRecord, award_change_from_lambda_record, award_change_from_streams_record,
};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{Value, json};

use crate::common::moto;
use crate::dynamo_store::new_store;

/// Reads every record of the table's stream so far, oldest first.
async fn read_stream(streams: &aws_sdk_dynamodbstreams::Client, stream_arn: &str) -> Vec<Record> {
    let description = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .expect("describing the stream failed")
        .stream_description
        .expect("the stream has no description");
    let mut records = Vec::new();
    for shard in description.shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard.shard_id().expect("a shard without id"))
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
            records.extend(output.records().iter().cloned());
            iterator = output.next_shard_iterator;
        }
    }
    records
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

fn image_json(image: Option<&HashMap<String, AttributeValue>>) -> Value {
    let map = image
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), attribute_json(value)))
        .collect::<serde_json::Map<_, _>>();
    Value::Object(map)
}

/// The record in the JSON shape that Lambda delivers to a stream-triggered function.
fn as_lambda_record(record: &Record) -> aws_lambda_events::dynamodb::EventRecord {
    let change = record.dynamodb.as_ref().expect("a record without change");
    let event = json!({
        "awsRegion": record.aws_region.clone().unwrap_or_default(),
        "eventID": record.event_id.clone().unwrap_or_default(),
        "eventName": record.event_name.as_ref().map(|name| name.as_str()).unwrap_or_default(),
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_731_060_000,
            "Keys": image_json(change.keys.as_ref()),
            "NewImage": image_json(change.new_image.as_ref()),
            "OldImage": image_json(change.old_image.as_ref()),
            "SequenceNumber": change.sequence_number.clone(),
            "SizeBytes": change.size_bytes.unwrap_or_default(),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    });
    serde_json::from_value(event).expect("the Lambda event shape does not parse")
}

fn pairs(records: &[AwardStreamRecord]) -> Vec<(Option<Award>, Award)> {
    records
        .iter()
        .map(|record| (record.old.clone(), record.new.clone()))
        .collect()
}

#[tokio::test]
async fn stream_records_convert_to_award_changes() {
    let moto = moto().await;
    let store = new_store(&moto).await;
    let stream_arn = store
        .client()
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .expect("describing the table failed")
        .table
        .and_then(|table| table.latest_stream_arn)
        .expect("the table has no stream");

    // An issuer (not an award), then an award created, claimed and revoked.
    let issuer = fixtures::issuer();
    store.create_issuer(&issuer).await.unwrap();
    let created = fixtures::award(
        issuer.id,
        fixtures::achievement(issuer.id).id,
        "amara@example.org",
    );
    store.create_award(&created).await.unwrap();
    let claimed = Award {
        state: AwardState::Claimed,
        delivery: DeliveryStatus::Sent,
        sends_done: 1,
        claim_token: Some(ClaimTokenRecord {
            hash: "cd".repeat(32),
            issued_at: fixtures::at(5),
            expires_at: fixtures::at(86_400),
        }),
        assertion_json: Some(r#"{"type":"Assertion"}"#.to_owned()),
        ..created.next_version()
    };
    store.update_award(&claimed, created.version).await.unwrap();
    let revoked = Award {
        state: AwardState::Revoked,
        revocation: Some(Revocation {
            revoked_at: fixtures::at(600),
            reason: Text::parse("reason", "Issued to the wrong person.", TextLimit::SHORT).unwrap(),
            previous_state: AwardState::Claimed,
        }),
        ..claimed.next_version()
    };
    store.update_award(&revoked, claimed.version).await.unwrap();

    let streams = aws_sdk_dynamodbstreams::Client::new(&moto.sdk);
    let records = read_stream(&streams, &stream_arn).await;

    let expected = vec![
        (None, created.clone()),
        (Some(created.clone()), claimed.clone()),
        (Some(claimed.clone()), revoked.clone()),
    ];
    let from_api: Vec<AwardStreamRecord> = records
        .iter()
        .filter_map(|record| award_change_from_streams_record(record).unwrap())
        .collect();
    assert_eq!(pairs(&from_api), expected, "records read with GetRecords");
    assert!(
        from_api
            .iter()
            .all(|record| record.sequence_number.is_some()),
        "a record lost its sequence number"
    );
    // The issuer, the deduplication record and the claim token item are not awards.
    assert!(
        records.len() > from_api.len(),
        "the stream holds only award records: {records:?}"
    );

    let from_lambda: Vec<AwardStreamRecord> = records
        .iter()
        .map(as_lambda_record)
        .filter_map(|record| award_change_from_lambda_record(&record).unwrap())
        .collect();
    assert_eq!(from_lambda, from_api, "records in the Lambda event shape");

    // The attributes the functions' stream filters select on.
    let images: Vec<&HashMap<String, AttributeValue>> = records
        .iter()
        .filter_map(|record| record.dynamodb.as_ref()?.new_image.as_ref())
        .filter(|image| image.get("kind") == Some(&AttributeValue::S("award".to_owned())))
        .collect();
    let states: Vec<&AttributeValue> = images
        .iter()
        .filter_map(|image| image.get("state"))
        .collect();
    assert_eq!(
        states,
        ["issued", "claimed", "revoked"]
            .map(|state| AttributeValue::S(state.to_owned()))
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        images[0].get("claim_email_due"),
        Some(&AttributeValue::Bool(true))
    );
}
