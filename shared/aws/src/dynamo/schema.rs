//! Attribute and index names of the table, the sort-key form of times, and the table
//! definition for tests and emulators.
//!
//! `template.yaml` declares the deployed table with the same keys, indexes, stream and time
//! to live as [`DynamoStore::create_table_for_tests`]: change both together.

use accolade::domain::Timestamp;
use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::DynamoStore;

/// The table's partition key.
pub const PARTITION_KEY: &str = "pk";
/// The table's sort key.
pub const SORT_KEY: &str = "sk";
/// The generic index of the listings.
pub const GSI1: &str = "gsi1";
pub const GSI1_PARTITION_KEY: &str = "gsi1pk";
pub const GSI1_SORT_KEY: &str = "gsi1sk";
/// The sparse index of revoked awards.
pub const REVOKED_INDEX: &str = "revoked";
pub const REVOKED_PARTITION_KEY: &str = "revoked_pk";
pub const REVOKED_SORT_KEY: &str = "revoked_sk";
/// The time-to-live attribute, in Unix seconds. Only idempotency records have it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The item type, as written in every item's `kind` attribute.
pub const KIND: &str = "kind";
/// The record as a JSON string.
pub const DOC: &str = "doc";
pub const VERSION: &str = "version";

/// Writes a time as 20 decimal digits whose string order is time order, also for times before
/// 1970: the sign bit is flipped so that the signed seconds map onto unsigned ones in order.
pub fn sortable_time(time: Timestamp) -> String {
    let shifted = (time.unix_seconds() as u64) ^ (1 << 63);
    format!("{shifted:020}")
}

impl DynamoStore {
    /// Creates the table with the deployed definition (keys, both indexes, a stream with new
    /// and old images, on-demand capacity), then turns on time to live and point-in-time
    /// recovery. For tests against an emulator and for trying the store out: deployments get
    /// their table from `template.yaml`.
    pub async fn create_table_for_tests(client: &Client, table: &str) -> anyhow::Result<()> {
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let index = |name: &str, partition: &str, sort: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(partition, KeyType::Hash)?)
                .key_schema(key(sort, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
        };

        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_attribute(PARTITION_KEY)?)
            .attribute_definitions(string_attribute(SORT_KEY)?)
            .attribute_definitions(string_attribute(GSI1_PARTITION_KEY)?)
            .attribute_definitions(string_attribute(GSI1_SORT_KEY)?)
            .attribute_definitions(string_attribute(REVOKED_PARTITION_KEY)?)
            .attribute_definitions(string_attribute(REVOKED_SORT_KEY)?)
            .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
            .key_schema(key(SORT_KEY, KeyType::Range)?)
            .global_secondary_indexes(index(GSI1, GSI1_PARTITION_KEY, GSI1_SORT_KEY)?)
            .global_secondary_indexes(index(
                REVOKED_INDEX,
                REVOKED_PARTITION_KEY,
                REVOKED_SORT_KEY,
            )?)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()?,
            )
            .send()
            .await
            .map_err(|error| {
                anyhow!(
                    "creating table {table} failed: {}",
                    DisplayErrorContext(&error)
                )
            })?;

        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()?,
            )
            .send()
            .await
            .map_err(|error| {
                anyhow!(
                    "turning on time to live for table {table} failed: {}",
                    DisplayErrorContext(&error)
                )
            })?;

        client
            .update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|error| {
                anyhow!(
                    "turning on point-in-time recovery for table {table} failed: {}",
                    DisplayErrorContext(&error)
                )
            })
            .context("the table was created without point-in-time recovery")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the lines of the resource `name` in `template.yaml`: from `  {name}:` to the
    /// next line at the same indentation.
    fn template_resource(name: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let template = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {} failed: {error}", path.display()));
        let header = format!("  {name}:");
        template
            .lines()
            .skip_while(|line| *line != header)
            .skip(1)
            .take_while(|line| line.is_empty() || line.starts_with("   "))
            .map(|line| line.trim().to_owned())
            .collect()
    }

    #[test]
    fn template_table_matches_schema() {
        let table = template_resource("Table");
        assert!(!table.is_empty(), "template.yaml has no Table resource");

        // Every `AttributeName` followed by its `KeyType`: the table's keys, then each index's.
        let keys: Vec<(String, String)> = table
            .windows(2)
            .filter_map(|pair| {
                let name = pair[0].strip_prefix("- AttributeName: ")?;
                let key_type = pair[1].strip_prefix("KeyType: ")?;
                Some((name.to_owned(), key_type.to_owned()))
            })
            .collect();
        let expected: Vec<(String, String)> = [
            (PARTITION_KEY, "HASH"),
            (SORT_KEY, "RANGE"),
            (GSI1_PARTITION_KEY, "HASH"),
            (GSI1_SORT_KEY, "RANGE"),
            (REVOKED_PARTITION_KEY, "HASH"),
            (REVOKED_SORT_KEY, "RANGE"),
        ]
        .iter()
        .map(|(name, key_type)| ((*name).to_owned(), (*key_type).to_owned()))
        .collect();
        assert_eq!(keys, expected);

        for line in [
            format!("- IndexName: {GSI1}"),
            format!("- IndexName: {REVOKED_INDEX}"),
            "StreamViewType: NEW_AND_OLD_IMAGES".to_owned(),
            "PointInTimeRecoveryEnabled: true".to_owned(),
            format!("AttributeName: {TTL_ATTRIBUTE}"),
            "BillingMode: PAY_PER_REQUEST".to_owned(),
        ] {
            assert!(table.contains(&line), "the Table resource lacks {line:?}");
        }
    }

    #[test]
    fn sortable_time_orders_as_time() {
        let times = [i64::MIN, -86_400, -1, 0, 1, 1_731_060_000, i64::MAX];
        let keys: Vec<String> = times
            .iter()
            .map(|&seconds| sortable_time(Timestamp::from_unix_seconds(seconds)))
            .collect();
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1], "{} is not before {}", pair[0], pair[1]);
        }
        assert!(keys.iter().all(|key| key.len() == 20));
    }
}
