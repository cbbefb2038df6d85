//! `DynamoStore`: the shared store contract, the table definition and the item layout.

use std::sync::Arc;

use accolade::adapters::contract::{self, fixtures};
use accolade::domain::{Award, AwardState, ClaimTokenRecord, Revocation, Text, TextLimit};
use accolade::ports::{Store, StoreError};
use accolade_aws::{DynamoStore, schema};
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, KeyType, StreamViewType};

use crate::common::{Moto, moto, unique_name};

/// Creates a store over a new table with the deployed definition.
pub async fn new_store(moto: &Moto) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk);
    let table = unique_name("accolade-test");
    DynamoStore::create_table_for_tests(&client, &table)
        .await
        .unwrap_or_else(|error| panic!("creating table {table} on moto failed: {error:#}"));
    DynamoStore::new(client, table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_contract_on_dynamodb() {
    let moto = moto().await;
    let store = new_store(&moto).await;

    contract::run_all(|| {
        let store = store.clone();
        async move { Arc::new(store) as Arc<dyn Store> }
    })
    .await;
}

#[tokio::test]
async fn table_has_deployed_definition() {
    let moto = moto().await;
    let store = new_store(&moto).await;
    let client = store.client();

    let table = client
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .expect("describing the table failed")
        .table
        .expect("the table has no description");

    let keys: Vec<(&str, KeyType)> = table
        .key_schema()
        .iter()
        .map(|key| (key.attribute_name(), key.key_type().clone()))
        .collect();
    assert_eq!(
        keys,
        [
            (schema::PARTITION_KEY, KeyType::Hash),
            (schema::SORT_KEY, KeyType::Range)
        ]
    );
    let mut indexes: Vec<(String, Vec<String>)> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let keys = index
                .key_schema()
                .iter()
                .map(|key| key.attribute_name().to_owned())
                .collect();
            (index.index_name().unwrap_or_default().to_owned(), keys)
        })
        .collect();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            (
                schema::GSI1.to_owned(),
                vec![
                    schema::GSI1_PARTITION_KEY.to_owned(),
                    schema::GSI1_SORT_KEY.to_owned()
                ]
            ),
            (
                schema::REVOKED_INDEX.to_owned(),
                vec![
                    schema::REVOKED_PARTITION_KEY.to_owned(),
                    schema::REVOKED_SORT_KEY.to_owned()
                ]
            ),
        ]
    );
    let stream = table
        .stream_specification()
        .expect("the table has no stream");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type(),
        Some(&StreamViewType::NewAndOldImages)
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|summary| summary.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    let ttl = client
        .describe_time_to_live()
        .table_name(store.table_name())
        .send()
        .await
        .expect("describing time to live failed")
        .time_to_live_description
        .expect("the table has no time to live description");
    assert_eq!(ttl.attribute_name(), Some(schema::TTL_ATTRIBUTE));
}

fn text(value: &str) -> Text {
    Text::parse("test", value, TextLimit::LONG).unwrap()
}

fn string_attribute<'a>(
    item: &'a std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> Option<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
}

#[tokio::test]
async fn award_items_carry_doc_and_index_keys() {
    let moto = moto().await;
    let store = new_store(&moto).await;
    let issuer = fixtures::issuer().id;
    let award = fixtures::award(
        issuer,
        fixtures::achievement(issuer).id,
        "amara@example.org",
    );
    store.create_award(&award).await.unwrap();
    let read_item = |pk: String| {
        let store = store.clone();
        async move {
            store
                .client()
                .get_item()
                .table_name(store.table_name())
                .key(schema::PARTITION_KEY, AttributeValue::S(pk.clone()))
                .key(
                    schema::SORT_KEY,
                    AttributeValue::S(pk.split('#').next().unwrap().to_owned()),
                )
                .send()
                .await
                .unwrap()
                .item
        }
    };

    let created = read_item(format!("AWARD#{}", award.id))
        .await
        .expect("no award item");
    let doc: Award =
        serde_json::from_str(string_attribute(&created, schema::DOC).unwrap()).unwrap();
    assert_eq!(doc, award);
    assert_eq!(string_attribute(&created, schema::KIND), Some("award"));
    assert_eq!(string_attribute(&created, "state"), Some("issued"));
    assert_eq!(
        string_attribute(&created, schema::GSI1_PARTITION_KEY),
        Some(format!("ISSUER#{issuer}#AWARDS").as_str())
    );
    assert_eq!(
        created.get("claim_email_due"),
        Some(&AttributeValue::Bool(true)),
        "a new award needs its claim email"
    );
    assert!(!created.contains_key(schema::REVOKED_PARTITION_KEY));
    let dedup_key = award.dedup_key.clone().unwrap();
    let dedup = read_item(format!("DEDUP#{dedup_key}"))
        .await
        .expect("no dedup item");
    assert_eq!(
        string_attribute(&dedup, "award_id"),
        Some(award.id.to_string().as_str())
    );

    let hash = "ab".repeat(32);
    let sent = Award {
        claim_token: Some(ClaimTokenRecord {
            hash: hash.clone(),
            issued_at: fixtures::at(10),
            expires_at: fixtures::at(86_400),
        }),
        sends_done: 1,
        ..award.next_version()
    };
    store.update_award(&sent, award.version).await.unwrap();
    let token = read_item(format!("CLAIM_TOKEN#{hash}"))
        .await
        .expect("no token item");
    assert_eq!(
        string_attribute(&token, "award_id"),
        Some(award.id.to_string().as_str())
    );
    let sent_item = read_item(format!("AWARD#{}", award.id)).await.unwrap();
    assert!(
        !sent_item.contains_key("claim_email_due"),
        "a sent award needs no claim email"
    );

    let revoked = Award {
        state: AwardState::Revoked,
        revocation: Some(Revocation {
            revoked_at: fixtures::at(60),
            reason: text("Issued by mistake."),
            previous_state: AwardState::Issued,
        }),
        ..sent.next_version()
    };
    store.update_award(&revoked, sent.version).await.unwrap();
    let revoked_item = read_item(format!("AWARD#{}", award.id)).await.unwrap();
    assert_eq!(
        string_attribute(&revoked_item, schema::REVOKED_PARTITION_KEY),
        Some(format!("ISSUER#{issuer}#REVOKED").as_str())
    );
    assert_eq!(
        revoked_item.get(schema::VERSION),
        Some(&AttributeValue::N("3".to_owned()))
    );
}

#[tokio::test]
async fn missing_table_fails_as_backend_error() {
    let moto = moto().await;
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk);
    let table = unique_name("accolade-missing");
    let store = DynamoStore::new(client, table.clone());

    let error = store.get_issuer(fixtures::issuer().id).await.unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, StoreError::Backend(_)), "{message}");
    assert!(message.contains(&table), "{message}");
    assert!(message.contains("ResourceNotFoundException"), "{message}");
}
