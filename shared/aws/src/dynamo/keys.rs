//! The public records of issuer signing keys in the table, as the [`PublicKeys`] port.
//!
//! Each key is three items with the same `doc`, written in one transaction and never changed.
//! The key item is read with one `GetItem` by key id. A listing item in the `SIGNING_KEYS`
//! partition lists every issuer's keys, and one in the issuer's partition lists that issuer's
//! keys, so its active key. Both listings are strongly consistent `Query`s of the main table,
//! so a rotation takes effect at once. IAM policies can also allow them by partition
//! (`dynamodb:LeadingKeys`) without opening the `gsi1` listings of clients and awards.
//!
//! A counter item numbers the keys in the order they were added, because two keys may share a
//! creation second and the last one added must be the active one.

use std::collections::HashMap;

use accolade::domain::IssuerId;
use accolade::keys::{KeyError, KeyId, PublicKeyRecord};
use accolade::ports::{PublicKeys, StoreError};
use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::DynamoStore;
use super::errors::{Cancellation, store_error};
use super::items::{Item, corrupt, decode_doc, integer_attribute, number, string};
use super::schema::{DOC, KIND, PARTITION_KEY, SORT_KEY};

/// The key item: `pk` = `SIGNING_KEY#{key_id}`, `sk` = `SIGNING_KEY`.
const KEY_PK_PREFIX: &str = "SIGNING_KEY#";
const KEY_SK: &str = "SIGNING_KEY";
const KEY_KIND: &str = "signing_key";
/// The listing of every issuer's keys: `pk` = `SIGNING_KEYS`, `sk` = `{sequence}`.
const ALL_KEYS_PARTITION: &str = "SIGNING_KEYS";
const LISTED_KEY_KIND: &str = "listed_signing_key";
/// The listing of one issuer's keys: `pk` = `ISSUER#{issuer_id}` (beside the issuer item,
/// whose `sk` is `ISSUER`), `sk` = `SIGNING_KEY#{sequence}`.
const ISSUER_KEY_SK_PREFIX: &str = "SIGNING_KEY#";
const ISSUER_KEY_KIND: &str = "issuer_signing_key";
/// The counter item: `pk` = `sk` = `SIGNING_KEY_SEQUENCE`, with the last number in `value`.
const SEQUENCE_KEY: &str = "SIGNING_KEY_SEQUENCE";
const SEQUENCE_KIND: &str = "signing_key_sequence";
const SEQUENCE_VALUE: &str = "value";
/// Attributes of every key item, for reading the table by hand.
const KEY_ID: &str = "key_id";
const ISSUER_ID: &str = "issuer_id";

/// How often `insert_public_key` reads the counter again after another writer took the next
/// number first. Operators add keys one at a time, so repeated clashes mean something else
/// is wrong.
const SEQUENCE_ATTEMPTS: usize = 5;

fn key_pk(key_id: &KeyId) -> String {
    format!("{KEY_PK_PREFIX}{key_id}")
}

fn issuer_pk(issuer: IssuerId) -> String {
    format!("ISSUER#{issuer}")
}

/// Writes a sequence number as 20 digits, so that string order is number order.
fn sequence_text(sequence: u64) -> String {
    format!("{sequence:020}")
}

fn sequence_key() -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), string(SEQUENCE_KEY)),
        (SORT_KEY.to_owned(), string(SEQUENCE_KEY)),
    ])
}

/// Builds one of a key's items: its primary key, its kind and the record.
fn record_item(pk: String, sk: String, kind: &str, record: &PublicKeyRecord, doc: &str) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), string(pk)),
        (SORT_KEY.to_owned(), string(sk)),
        (KIND.to_owned(), string(kind)),
        (KEY_ID.to_owned(), string(record.key_id.to_string())),
        (ISSUER_ID.to_owned(), string(record.issuer_id.to_string())),
        (DOC.to_owned(), string(doc)),
    ])
}

/// Builds the three items of a key: by id, in every issuer's listing, in its issuer's listing.
fn key_items(record: &PublicKeyRecord, doc: &str, sequence: u64) -> [Item; 3] {
    let sequence = sequence_text(sequence);
    [
        record_item(
            key_pk(&record.key_id),
            KEY_SK.to_owned(),
            KEY_KIND,
            record,
            doc,
        ),
        record_item(
            ALL_KEYS_PARTITION.to_owned(),
            sequence.clone(),
            LISTED_KEY_KIND,
            record,
            doc,
        ),
        record_item(
            issuer_pk(record.issuer_id),
            format!("{ISSUER_KEY_SK_PREFIX}{sequence}"),
            ISSUER_KEY_KIND,
            record,
            doc,
        ),
    ]
}

/// A condition expression of a put, with the counter's expected value when it has one.
struct PutCondition {
    expression: String,
    expected_sequence: Option<u64>,
}

impl PutCondition {
    fn absent() -> Self {
        Self {
            expression: format!("attribute_not_exists({PARTITION_KEY})"),
            expected_sequence: None,
        }
    }

    /// The counter must still be at `current`; absent when `current` is 0.
    fn counter_at(current: u64) -> Self {
        if current == 0 {
            return Self::absent();
        }
        Self {
            expression: "#value = :current".to_owned(),
            expected_sequence: Some(current),
        }
    }
}

impl DynamoStore {
    /// Records a key's public half as the issuer's newest (active) key; `AlreadyExists` when
    /// the key id is recorded already.
    ///
    /// One transaction takes the next sequence number, conditional on the counter's current
    /// value, and creates the three key items, each conditional on its absence. A key is
    /// therefore listed everywhere or nowhere.
    pub async fn insert_public_key(&self, record: &PublicKeyRecord) -> Result<(), StoreError> {
        let doc = serde_json::to_string(record).map_err(|error| {
            StoreError::Backend(anyhow!(
                "encoding signing key {} as JSON failed: {error}",
                record.key_id
            ))
        })?;
        let failed = || {
            format!(
                "recording signing key {} in table {} failed",
                record.key_id, self.table
            )
        };

        for _ in 0..SEQUENCE_ATTEMPTS {
            let current = self.current_key_sequence().await?;
            let next = current + 1;
            let mut counter = sequence_key();
            counter.insert(KIND.to_owned(), string(SEQUENCE_KIND));
            counter.insert(SEQUENCE_VALUE.to_owned(), number(next));

            let mut actions =
                vec![self.put_key_action(counter, PutCondition::counter_at(current))?];
            for item in key_items(record, &doc, next) {
                actions.push(self.put_key_action(item, PutCondition::absent())?);
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                error.as_service_error()
            else {
                return Err(store_error(error, failed));
            };

            // The actions are, in order: the counter, the key item and the two listing items.
            let cancellation = Cancellation::new(cancelled.cancellation_reasons());
            if cancellation.condition_failed(1) {
                return Err(StoreError::AlreadyExists);
            }
            if cancellation.condition_failed(0) {
                tracing::info!(key.id = %record.key_id, "another key took the next sequence number; reading the counter again");
                continue;
            }
            if cancellation.condition_failed(2) || cancellation.condition_failed(3) {
                return Err(StoreError::Backend(anyhow!(
                    "a signing key listing item with sequence number {} exists already although \
                     the counter item {SEQUENCE_KEY} is at {current}; set the counter's \
                     {SEQUENCE_VALUE} to the highest sk in the {ALL_KEYS_PARTITION} partition",
                    sequence_text(next)
                )));
            }
            return Err(cancellation.other_error(failed));
        }
        Err(StoreError::Conflict)
    }

    /// Returns the number of the last key added, 0 before the first.
    async fn current_key_sequence(&self) -> Result<u64, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(sequence_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| {
                store_error(error, || {
                    format!("reading item {SEQUENCE_KEY} of table {} failed", self.table)
                })
            })?
            .item;
        let Some(item) = item else {
            return Ok(0);
        };
        integer_attribute(&item, SEQUENCE_VALUE)
            .and_then(|value| u64::try_from(value).ok())
            .ok_or_else(|| corrupt(&item, "its value is not a non-negative integer"))
    }

    fn put_key_action(
        &self,
        item: Item,
        condition: PutCondition,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression);
        if let Some(expected) = condition.expected_sequence {
            put = put
                .expression_attribute_names("#value", SEQUENCE_VALUE)
                .expression_attribute_values(":current", number(expected));
        }
        let put = put.build().map_err(|error| {
            StoreError::Backend(anyhow!(
                "building the signing key transaction failed: {error}"
            ))
        })?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Reads the records of the items in partition `pk`, or of those whose `sk` starts with
    /// `sk_prefix`, in `sk` order, following `LastEvaluatedKey`.
    async fn query_key_records(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
        listing: &str,
    ) -> Result<Vec<PublicKeyRecord>, StoreError> {
        let mut names = HashMap::from([("#pk".to_owned(), PARTITION_KEY.to_owned())]);
        let mut values: HashMap<String, AttributeValue> =
            HashMap::from([(":pk".to_owned(), string(pk))]);
        let key_condition = match sk_prefix {
            Some(prefix) => {
                names.insert("#sk".to_owned(), SORT_KEY.to_owned());
                values.insert(":prefix".to_owned(), string(prefix));
                "#pk = :pk AND begins_with(#sk, :prefix)"
            }
            None => "#pk = :pk",
        };
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression(key_condition)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    store_error(error, || {
                        format!("listing {listing} in table {} failed", self.table)
                    })
                })?;
            for item in output.items() {
                records.push(decode_doc(item)?);
            }
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(records),
            }
        }
    }
}

#[async_trait]
impl PublicKeys for DynamoStore {
    async fn list_public_keys(&self) -> Result<Vec<PublicKeyRecord>, KeyError> {
        let records = self
            .query_key_records(ALL_KEYS_PARTITION, None, "every signing key")
            .await?;
        Ok(records)
    }

    async fn list_issuer_public_keys(
        &self,
        issuer: IssuerId,
    ) -> Result<Vec<PublicKeyRecord>, KeyError> {
        let records = self
            .query_key_records(
                &issuer_pk(issuer),
                Some(ISSUER_KEY_SK_PREFIX),
                &format!("the signing keys of issuer {issuer}"),
            )
            .await?;
        Ok(records)
    }

    async fn get_public_key(&self, key_id: &KeyId) -> Result<Option<PublicKeyRecord>, KeyError> {
        let pk = key_pk(key_id);
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(HashMap::from([
                (PARTITION_KEY.to_owned(), string(pk.clone())),
                (SORT_KEY.to_owned(), string(KEY_SK)),
            ])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| {
                store_error(error, || {
                    format!("reading item {pk} of table {} failed", self.table)
                })
            })?
            .item;
        let record = item.map(|item| decode_doc(&item)).transpose()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_text_orders_as_numbers() {
        let texts: Vec<String> = [1, 9, 10, 99, 100, u64::MAX]
            .into_iter()
            .map(sequence_text)
            .collect();
        for pair in texts.windows(2) {
            assert!(pair[0] < pair[1], "{} is not before {}", pair[0], pair[1]);
        }
    }
}
