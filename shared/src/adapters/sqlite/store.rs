//! The `Store` port over the SQLite schema.

use anyhow::anyhow;
use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{
    Connection, OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter,
};
use serde::de::DeserializeOwned;

use super::changes::record_change;
use super::rows::{CursorScope, from_json, page_limit, to_json, version_to_sql};
use super::{SqlContext, SqliteStore};
use crate::domain::{
    Achievement, AchievementId, ApiClient, Award, AwardId, AwardState, ClientId, Issuer, IssuerId,
    Timestamp,
};
use crate::ports::{
    AwardFilter, IdempotencyBegin, IdempotencyKey, Page, PageRequest, Store, StoreError,
    StoredResponse,
};

/// How many dead idempotency records one `begin_request` deletes, so the cleanup never makes
/// a request wait long.
const IDEMPOTENCY_CLEANUP_BATCH: i64 = 100;

/// Starts a transaction that takes the write lock at once, so a busy database shows up as
/// `Throttled` here and never as a failed upgrade from a read lock halfway through.
pub(super) fn begin_write(connection: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context_sql(|| "starting a write transaction failed".to_owned())
}

pub(super) fn commit(transaction: Transaction<'_>) -> Result<(), StoreError> {
    transaction
        .commit()
        .context_sql(|| "committing a write transaction failed".to_owned())
}

/// The columns of an award row, derived from the award itself.
struct AwardRow {
    id: String,
    issuer_id: String,
    achievement_id: String,
    state: &'static str,
    issued_on: i64,
    claim_token_hash: Option<String>,
    version: i64,
    doc: String,
}

impl AwardRow {
    fn new(award: &Award) -> Result<Self, StoreError> {
        let id = award.id.to_string();
        Ok(Self {
            doc: to_json("award", &id, award)?,
            issuer_id: award.issuer_id.to_string(),
            achievement_id: award.achievement_id.to_string(),
            state: award.state.as_str(),
            issued_on: award.issued_on.unix_seconds(),
            claim_token_hash: award.claim_token.as_ref().map(|token| token.hash.clone()),
            version: version_to_sql(award.version)?,
            id,
        })
    }
}

/// Reads `SELECT id, doc` rows and decodes every document, failing on the first corrupt one.
fn read_documents<T: DeserializeOwned>(
    connection: &Connection,
    table: &str,
    sql: &str,
    values: &[Value],
) -> Result<Vec<T>, StoreError> {
    let context = || format!("reading from table {table} failed");
    let mut statement = connection.prepare_cached(sql).context_sql(context)?;
    let rows = statement
        .query_map(params_from_iter(values), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .context_sql(context)?;
    let mut records = Vec::new();
    for row in rows {
        let (id, doc) = row.context_sql(context)?;
        records.push(from_json(table, &id, &doc)?);
    }
    Ok(records)
}

/// The rows that select one listing, ordered by `(sort_column, id)`.
struct Listing {
    table: &'static str,
    sort_column: &'static str,
    /// SQL conditions joined with `AND`, with `?` placeholders for `values`.
    conditions: Vec<String>,
    values: Vec<Value>,
    scope: CursorScope,
}

impl Listing {
    /// Reads one page. It fetches one row more than the limit to learn whether another page
    /// follows, so the last page never comes back empty.
    fn read_page<T: DeserializeOwned>(
        mut self,
        connection: &Connection,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let limit = page_limit(page.limit);
        if let Some(cursor) = &page.cursor {
            let position = self.scope.decode(cursor)?;
            let condition = format!("({}, id) > (?, ?)", self.sort_column);
            self.conditions.push(condition);
            self.values.push(Value::Integer(position.sort_time));
            self.values.push(Value::Text(position.id));
        }
        let sql = format!(
            "SELECT id, {sort}, doc FROM {table} WHERE {conditions} ORDER BY {sort}, id LIMIT {fetch}",
            sort = self.sort_column,
            table = self.table,
            conditions = self.conditions.join(" AND "),
            fetch = u64::from(limit) + 1,
        );
        let context = || format!("listing table {} failed", self.table);
        let mut statement = connection.prepare_cached(&sql).context_sql(context)?;
        let rows = statement
            .query_map(params_from_iter(&self.values), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .context_sql(context)?;

        let mut items = Vec::new();
        let mut last = None;
        let mut more = false;
        for row in rows {
            let (id, sort_time, doc) = row.context_sql(context)?;
            if items.len() == limit as usize {
                more = true;
                break;
            }
            items.push(from_json(self.table, &id, &doc)?);
            last = Some((sort_time, id));
        }
        let next_cursor = match (more, last) {
            (true, Some((sort_time, id))) => Some(self.scope.encode(sort_time, &id)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_owned();
        self.run(move |connection| {
            connection
                .query_row(
                    "SELECT value FROM settings WHERE name = ?1",
                    [&name],
                    |row| row.get(0),
                )
                .optional()
                .context_sql(|| format!("reading setting {name:?} failed"))
        })
        .await
    }

    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.run(move |connection| {
            let context = || format!("writing setting {name:?} failed");
            let transaction = begin_write(connection)?;
            transaction
                .execute(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO NOTHING",
                    [&name, &value],
                )
                .context_sql(context)?;
            let stored: String = transaction
                .query_row(
                    "SELECT value FROM settings WHERE name = ?1",
                    [&name],
                    |row| row.get(0),
                )
                .context_sql(context)?;
            commit(transaction)?;
            Ok(stored)
        })
        .await
    }

    async fn create_issuer(&self, issuer: &Issuer) -> Result<(), StoreError> {
        let id = issuer.id.to_string();
        let doc = to_json("issuer", &id, issuer)?;
        let created_at = issuer.created_at.unix_seconds();
        let version = version_to_sql(issuer.version)?;
        self.run(move |connection| {
            let inserted = connection
                .execute(
                    "INSERT INTO issuers (id, created_at, version, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO NOTHING",
                    params![id, created_at, version, doc],
                )
                .context_sql(|| format!("creating issuer {id} failed"))?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists);
            }
            Ok(())
        })
        .await
    }

    async fn update_issuer(
        &self,
        issuer: &Issuer,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let stored = Issuer {
            version: expected_version.saturating_add(1),
            ..issuer.clone()
        };
        let id = stored.id.to_string();
        let doc = to_json("issuer", &id, &stored)?;
        let created_at = stored.created_at.unix_seconds();
        let expected = version_to_sql(expected_version)?;
        let version = version_to_sql(stored.version)?;
        self.run(move |connection| {
            let updated = connection
                .execute(
                    "UPDATE issuers SET created_at = ?1, version = ?2, doc = ?3
                     WHERE id = ?4 AND version = ?5",
                    params![created_at, version, doc, id, expected],
                )
                .context_sql(|| format!("updating issuer {id} failed"))?;
            if updated == 0 {
                return Err(StoreError::Conflict);
            }
            Ok(())
        })
        .await
    }

    async fn get_issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError> {
        let id = id.to_string();
        self.run(move |connection| {
            let mut issuers = read_documents(
                connection,
                "issuers",
                "SELECT id, doc FROM issuers WHERE id = ?1",
                &[Value::Text(id)],
            )?;
            Ok(issuers.pop())
        })
        .await
    }

    async fn list_issuers(&self) -> Result<Vec<Issuer>, StoreError> {
        self.run(move |connection| {
            read_documents(
                connection,
                "issuers",
                "SELECT id, doc FROM issuers ORDER BY created_at, id",
                &[],
            )
        })
        .await
    }

    async fn put_client(&self, client: &ApiClient) -> Result<(), StoreError> {
        let client_id = client.client_id.to_string();
        let issuer_id = client.issuer_id.to_string();
        let created_at = client.created_at.unix_seconds();
        let doc = to_json("client", &client_id, client)?;
        self.run(move |connection| {
            connection
                .execute(
                    "INSERT INTO clients (client_id, issuer_id, created_at, doc)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (client_id) DO UPDATE SET issuer_id = excluded.issuer_id,
                         created_at = excluded.created_at, doc = excluded.doc",
                    params![client_id, issuer_id, created_at, doc],
                )
                .context_sql(|| format!("writing client {client_id} failed"))?;
            Ok(())
        })
        .await
    }

    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ApiClient>, StoreError> {
        let client_id = client_id.to_string();
        self.run(move |connection| {
            let mut clients = read_documents(
                connection,
                "clients",
                "SELECT client_id, doc FROM clients WHERE client_id = ?1",
                &[Value::Text(client_id)],
            )?;
            Ok(clients.pop())
        })
        .await
    }

    async fn list_clients(&self, issuer: IssuerId) -> Result<Vec<ApiClient>, StoreError> {
        let issuer = issuer.to_string();
        self.run(move |connection| {
            read_documents(
                connection,
                "clients",
                "SELECT client_id, doc FROM clients WHERE issuer_id = ?1
                 ORDER BY created_at, client_id",
                &[Value::Text(issuer)],
            )
        })
        .await
    }

    async fn create_achievement(&self, achievement: &Achievement) -> Result<(), StoreError> {
        let id = achievement.id.to_string();
        let issuer_id = achievement.issuer_id.to_string();
        let created_at = achievement.created_at.unix_seconds();
        let doc = to_json("achievement", &id, achievement)?;
        self.run(move |connection| {
            let inserted = connection
                .execute(
                    "INSERT INTO achievements (id, issuer_id, created_at, doc)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                    params![id, issuer_id, created_at, doc],
                )
                .context_sql(|| format!("creating achievement {id} failed"))?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists);
            }
            Ok(())
        })
        .await
    }

    async fn get_achievement(&self, id: AchievementId) -> Result<Option<Achievement>, StoreError> {
        let id = id.to_string();
        self.run(move |connection| {
            let mut achievements = read_documents(
                connection,
                "achievements",
                "SELECT id, doc FROM achievements WHERE id = ?1",
                &[Value::Text(id)],
            )?;
            Ok(achievements.pop())
        })
        .await
    }

    async fn list_achievements(
        &self,
        issuer: IssuerId,
        page: &PageRequest,
    ) -> Result<Page<Achievement>, StoreError> {
        let page = page.clone();
        let issuer = issuer.to_string();
        self.run(move |connection| {
            let listing = Listing {
                table: "achievements",
                sort_column: "created_at",
                conditions: vec!["issuer_id = ?".to_owned()],
                scope: CursorScope::new("achievements", &issuer),
                values: vec![Value::Text(issuer)],
            };
            listing.read_page(connection, &page)
        })
        .await
    }

    async fn create_award(&self, award: &Award) -> Result<(), StoreError> {
        let row = AwardRow::new(award)?;
        let dedup_key = award.dedup_key.clone();
        self.run(move |connection| {
            let context = || format!("creating award {} failed", row.id);
            let transaction = begin_write(connection)?;
            if let Some(key) = &dedup_key {
                let holder: Option<String> = transaction
                    .query_row(
                        "SELECT award_id FROM award_dedup WHERE dedup_key = ?1",
                        [key],
                        |row| row.get(0),
                    )
                    .optional()
                    .context_sql(context)?;
                if let Some(holder) = holder {
                    let existing = holder.parse::<AwardId>().map_err(|error| {
                        StoreError::Backend(anyhow!(
                            "the deduplication record {key} is corrupt ({error}); delete its row \
                             from table award_dedup"
                        ))
                    })?;
                    return Err(StoreError::DuplicateAward { existing });
                }
            }
            let inserted = transaction
                .execute(
                    "INSERT INTO awards (id, issuer_id, achievement_id, state, issued_on,
                         claim_token_hash, version, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
                    params![
                        row.id,
                        row.issuer_id,
                        row.achievement_id,
                        row.state,
                        row.issued_on,
                        row.claim_token_hash,
                        row.version,
                        row.doc
                    ],
                )
                .context_sql(context)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists);
            }
            if let Some(key) = &dedup_key {
                transaction
                    .execute(
                        "INSERT INTO award_dedup (dedup_key, award_id) VALUES (?1, ?2)",
                        [key, &row.id],
                    )
                    .context_sql(context)?;
            }
            record_change(&transaction, &row.id, None, &row.doc)?;
            commit(transaction)
        })
        .await?;
        self.notify_change();
        Ok(())
    }

    async fn get_award(&self, id: AwardId) -> Result<Option<Award>, StoreError> {
        let id = id.to_string();
        self.run(move |connection| {
            let mut awards = read_documents(
                connection,
                "awards",
                "SELECT id, doc FROM awards WHERE id = ?1",
                &[Value::Text(id)],
            )?;
            Ok(awards.pop())
        })
        .await
    }

    async fn update_award(&self, award: &Award, expected_version: u64) -> Result<(), StoreError> {
        let stored = Award {
            version: expected_version.saturating_add(1),
            ..award.clone()
        };
        let row = AwardRow::new(&stored)?;
        let expected = version_to_sql(expected_version)?;
        self.run(move |connection| {
            let context = || format!("updating award {} failed", row.id);
            let transaction = begin_write(connection)?;
            let old: Option<String> = transaction
                .query_row(
                    "SELECT doc FROM awards WHERE id = ?1 AND version = ?2",
                    params![row.id, expected],
                    |row| row.get(0),
                )
                .optional()
                .context_sql(context)?;
            let Some(old) = old else {
                return Err(StoreError::Conflict);
            };
            transaction
                .execute(
                    "UPDATE awards SET issuer_id = ?1, achievement_id = ?2, state = ?3,
                         issued_on = ?4, claim_token_hash = ?5, version = ?6, doc = ?7
                     WHERE id = ?8 AND version = ?9",
                    params![
                        row.issuer_id,
                        row.achievement_id,
                        row.state,
                        row.issued_on,
                        row.claim_token_hash,
                        row.version,
                        row.doc,
                        row.id,
                        expected
                    ],
                )
                .context_sql(context)?;
            record_change(&transaction, &row.id, Some(&old), &row.doc)?;
            commit(transaction)
        })
        .await?;
        self.notify_change();
        Ok(())
    }

    async fn find_award_by_claim_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Award>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.run(move |connection| {
            let mut awards: Vec<Award> = read_documents(
                connection,
                "awards",
                "SELECT id, doc FROM awards WHERE claim_token_hash = ?1 ORDER BY id LIMIT 2",
                &[Value::Text(token_hash)],
            )?;
            if awards.len() > 1 {
                // Token hashes are HMACs of 256 random bits, so two awards sharing one means a
                // record was copied by hand; returning either would hand out the wrong badge.
                return Err(StoreError::Backend(anyhow!(
                    "awards {} and {} have the same claim token hash; resend the claim email of \
                     one of them to replace its token",
                    awards[0].id,
                    awards[1].id
                )));
            }
            Ok(awards.pop())
        })
        .await
    }

    async fn list_awards(
        &self,
        issuer: IssuerId,
        filter: &AwardFilter,
        page: &PageRequest,
    ) -> Result<Page<Award>, StoreError> {
        let page = page.clone();
        let filter = filter.clone();
        let issuer = issuer.to_string();
        self.run(move |connection| {
            let achievement = filter.achievement_id.map(|id| id.to_string());
            let state = filter.state.map(AwardState::as_str);
            let scope = format!(
                "{issuer}\u{0}{}\u{0}{}",
                achievement.as_deref().unwrap_or("*"),
                state.unwrap_or("*")
            );
            let mut listing = Listing {
                table: "awards",
                sort_column: "issued_on",
                conditions: vec!["issuer_id = ?".to_owned()],
                values: vec![Value::Text(issuer)],
                scope: CursorScope::new("awards", &scope),
            };
            if let Some(achievement) = achievement {
                listing.conditions.push("achievement_id = ?".to_owned());
                listing.values.push(Value::Text(achievement));
            }
            if let Some(state) = state {
                listing.conditions.push("state = ?".to_owned());
                listing.values.push(Value::Text(state.to_owned()));
            }
            listing.read_page(connection, &page)
        })
        .await
    }

    async fn list_revoked_awards(&self, issuer: IssuerId) -> Result<Vec<Award>, StoreError> {
        let issuer = issuer.to_string();
        self.run(move |connection| {
            read_documents(
                connection,
                "awards",
                "SELECT id, doc FROM awards WHERE issuer_id = ?1 AND state = ?2
                 ORDER BY issued_on, id",
                &[
                    Value::Text(issuer),
                    Value::Text(AwardState::Revoked.as_str().to_owned()),
                ],
            )
        })
        .await
    }

    async fn begin_request(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: Timestamp,
        in_flight_until: Timestamp,
        expires_at: Timestamp,
    ) -> Result<IdempotencyBegin, StoreError> {
        let client_id = key.client_id.to_string();
        let key = key.key.clone();
        let request_hash = request_hash.to_owned();
        let (now, in_flight_until, expires_at) = (
            now.unix_seconds(),
            in_flight_until.unix_seconds(),
            expires_at.unix_seconds(),
        );
        self.run(move |connection| {
            let context = || format!("taking idempotency key {key:?} of client {client_id} failed");
            let transaction = begin_write(connection)?;
            transaction
                .execute(
                    "DELETE FROM idempotency WHERE rowid IN (
                         SELECT rowid FROM idempotency
                         WHERE expires_at <= ?1 AND in_flight_until <= ?1 LIMIT ?2)",
                    params![now, IDEMPOTENCY_CLEANUP_BATCH],
                )
                .context_sql(context)?;
            let existing: Option<(String, i64, i64, Option<String>)> = transaction
                .query_row(
                    "SELECT request_hash, in_flight_until, expires_at, response
                     FROM idempotency WHERE client_id = ?1 AND key = ?2",
                    [&client_id, &key],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()
                .context_sql(context)?;
            if let Some((stored_hash, stored_in_flight_until, stored_expires_at, response)) =
                existing
            {
                let live = match &response {
                    Some(_) => now < stored_expires_at,
                    None => now < stored_in_flight_until,
                };
                if live {
                    let response = response
                        .map(|json| {
                            from_json::<StoredResponse>(
                                "idempotency",
                                &format!("{client_id}/{key}"),
                                &json,
                            )
                        })
                        .transpose()?;
                    return Ok(IdempotencyBegin::Existing {
                        request_hash: stored_hash,
                        response,
                    });
                }
            }
            transaction
                .execute(
                    "INSERT INTO idempotency
                         (client_id, key, request_hash, in_flight_until, expires_at, response)
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL)
                     ON CONFLICT (client_id, key) DO UPDATE SET
                         request_hash = excluded.request_hash,
                         in_flight_until = excluded.in_flight_until,
                         expires_at = excluded.expires_at, response = NULL",
                    params![client_id, key, request_hash, in_flight_until, expires_at],
                )
                .context_sql(context)?;
            commit(transaction)?;
            Ok(IdempotencyBegin::Started)
        })
        .await
    }

    async fn complete_request(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let client_id = key.client_id.to_string();
        let key = key.key.clone();
        let json = to_json("idempotency response", &key, response)?;
        self.run(move |connection| {
            let updated = connection
                .execute(
                    "UPDATE idempotency SET response = ?1
                     WHERE client_id = ?2 AND key = ?3 AND response IS NULL",
                    params![json, client_id, key],
                )
                .context_sql(|| {
                    format!("completing idempotency key {key:?} of client {client_id} failed")
                })?;
            // No in-flight record: the request was abandoned or completed before, so the key
            // is not this request's to complete.
            // NOTE: records carry no owner, so a request that outlived its in-flight window
            // completes the record of the request that took it over, with its own response.
            if updated == 0 {
                return Err(StoreError::Conflict);
            }
            Ok(())
        })
        .await
    }

    async fn abandon_request(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        let client_id = key.client_id.to_string();
        let key = key.key.clone();
        self.run(move |connection| {
            connection
                .execute(
                    "DELETE FROM idempotency
                     WHERE client_id = ?1 AND key = ?2 AND response IS NULL",
                    [&client_id, &key],
                )
                .context_sql(|| {
                    format!("releasing idempotency key {key:?} of client {client_id} failed")
                })?;
            Ok(())
        })
        .await
    }
}
