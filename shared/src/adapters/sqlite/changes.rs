//! The change log of awards: the local stand-in for the DynamoDB stream.
//!
//! Every award insert and update appends one row in the same transaction as the write, so a
//! committed award always has its change and a rolled-back one never does. Named consumers
//! (such as `send-claims` and `bake-images`) each keep their own acknowledged position in the
//! same file. Delivery is at least once: a consumer that stops before acknowledging reads the
//! same changes again, also after the file is reopened.

use std::sync::{Arc, PoisonError};

use anyhow::anyhow;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::Notify;

use super::rows::from_json;
use super::store::{begin_write, commit};
use super::{SqlContext, SqliteStore};
use crate::domain::Award;
use crate::ports::StoreError;

/// One committed write of an award, with the award before and after it, as a DynamoDB
/// stream record with old and new images carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct AwardChange {
    /// The position in the log: increases with every write and is never reused.
    pub sequence: u64,
    /// The award before the write; `None` when the write created it.
    pub old: Option<Award>,
    /// The award as the write stored it.
    pub new: Award,
}

/// Appends a change inside the transaction that writes the award.
pub(super) fn record_change(
    transaction: &Transaction<'_>,
    award_id: &str,
    old_json: Option<&str>,
    new_json: &str,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "INSERT INTO award_changes (award_id, old_json, new_json) VALUES (?1, ?2, ?3)",
            params![award_id, old_json, new_json],
        )
        .context_sql(|| format!("recording the change of award {award_id} failed"))?;
    Ok(())
}

/// Checks a consumer name: 1 to 64 ASCII letters, digits, `-` and `_`.
fn check_consumer(consumer: &str) -> Result<(), StoreError> {
    let valid = !consumer.is_empty()
        && consumer.len() <= 64
        && consumer
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Backend(anyhow!(
            "change consumer name {consumer:?} is not valid; use 1 to 64 letters, digits, '-' and '_'"
        )))
    }
}

fn consumer_position(connection: &Connection, consumer: &str) -> Result<i64, StoreError> {
    let position: Option<i64> = connection
        .query_row(
            "SELECT position FROM change_consumers WHERE name = ?1",
            [consumer],
            |row| row.get(0),
        )
        .optional()
        .context_sql(|| format!("reading the position of change consumer {consumer} failed"))?;
    Ok(position.unwrap_or(0))
}

/// The sequence of the newest change ever written, also when pruning removed it; 0 if none.
fn newest_sequence(connection: &Connection) -> Result<i64, StoreError> {
    let newest: Option<i64> = connection
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'award_changes'",
            [],
            |row| row.get(0),
        )
        .optional()
        .context_sql(|| "reading the newest change sequence failed".to_owned())?;
    Ok(newest.unwrap_or(0))
}

fn decode_change(
    sequence: i64,
    old_json: Option<String>,
    new_json: &str,
) -> Result<AwardChange, StoreError> {
    let record = format!("change {sequence}");
    Ok(AwardChange {
        sequence: u64::try_from(sequence).map_err(|_| {
            StoreError::Backend(anyhow!(
                "change sequence {sequence} in table award_changes is invalid because it is negative"
            ))
        })?,
        old: old_json
            .map(|json| from_json("award_changes", &record, &json))
            .transpose()?,
        new: from_json("award_changes", &record, new_json)?,
    })
}

impl SqliteStore {
    /// Reads the changes after the consumer's acknowledged position, oldest first, at most
    /// `limit` of them. A consumer that never acknowledged starts at the first change, so a
    /// new consumer replays the whole log.
    pub async fn pending_changes(
        &self,
        consumer: &str,
        limit: usize,
    ) -> Result<Vec<AwardChange>, StoreError> {
        check_consumer(consumer)?;
        let consumer = consumer.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let position = consumer_position(connection, &consumer)?;
            let context = || format!("reading changes for consumer {consumer} failed");
            let mut statement = connection
                .prepare_cached(
                    "SELECT sequence, old_json, new_json FROM award_changes
                     WHERE sequence > ?1 ORDER BY sequence LIMIT ?2",
                )
                .context_sql(context)?;
            let rows = statement
                .query_map(params![position, limit], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .context_sql(context)?;
            let mut changes = Vec::new();
            for row in rows {
                let (sequence, old_json, new_json) = row.context_sql(context)?;
                changes.push(decode_change(sequence, old_json, &new_json)?);
            }
            Ok(changes)
        })
        .await
    }

    /// Moves the consumer's position to `sequence`, so later calls of
    /// [`pending_changes`](Self::pending_changes) start after it. A position never moves
    /// backwards: acknowledging an older sequence changes nothing. Fails when `sequence` is
    /// beyond the newest change, which would skip changes not yet written.
    pub async fn acknowledge(&self, consumer: &str, sequence: u64) -> Result<(), StoreError> {
        check_consumer(consumer)?;
        let consumer = consumer.to_owned();
        self.run(move |connection| {
            let transaction = begin_write(connection)?;
            let newest = newest_sequence(&transaction)?;
            let position = i64::try_from(sequence)
                .ok()
                .filter(|position| *position <= newest)
                .ok_or_else(|| {
                    StoreError::Backend(anyhow!(
                        "consumer {consumer} cannot acknowledge change {sequence}: the newest \
                         change is {newest}; acknowledge the sequence of a change it has read"
                    ))
                })?;
            transaction
                .execute(
                    "INSERT INTO change_consumers (name, position) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET
                         position = max(position, excluded.position)",
                    params![consumer, position],
                )
                .context_sql(|| format!("acknowledging change {sequence} for {consumer} failed"))?;
            commit(transaction)
        })
        .await
    }

    /// Deletes the changes that every named consumer has acknowledged, and returns how many
    /// it deleted. A consumer that never acknowledged keeps the whole log. Changes are kept
    /// until this is called, so a long-running store should call it now and then.
    pub async fn prune_changes(&self, consumers: &[&str]) -> Result<u64, StoreError> {
        for consumer in consumers {
            check_consumer(consumer)?;
        }
        let consumers: Vec<String> = consumers.iter().map(|name| (*name).to_owned()).collect();
        self.run(move |connection| {
            let transaction = begin_write(connection)?;
            let mut oldest_position = None;
            for consumer in &consumers {
                let position = consumer_position(&transaction, consumer)?;
                oldest_position = Some(oldest_position.map_or(position, |p: i64| p.min(position)));
            }
            let Some(oldest_position) = oldest_position else {
                return Ok(0);
            };
            let deleted = transaction
                .execute(
                    "DELETE FROM award_changes WHERE sequence <= ?1",
                    [oldest_position],
                )
                .context_sql(|| "pruning the change log failed".to_owned())?;
            commit(transaction)?;
            Ok(deleted as u64)
        })
        .await
    }

    /// Returns a notifier that wakes when an award change is committed, so the local event
    /// loop can sleep between changes instead of polling fast.
    ///
    /// Each call returns a notifier of its own, and each committed change stores one permit
    /// in every live notifier, so a consumer busy at the moment of the write still wakes at
    /// its next `notified().await`. Keep one notifier per consumer. Writes by other processes
    /// on the same file do not wake it, so keep a slow poll as well.
    pub fn change_notifier(&self) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.inner
            .notifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(&notify));
        notify
    }
}
