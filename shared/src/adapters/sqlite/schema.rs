//! Connection settings and the schema of the store file.

use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, TransactionBehavior};

/// The schema this build writes and reads, kept in `PRAGMA user_version`.
pub(super) const SCHEMA_VERSION: i64 = 2;

/// The migrations in order: entry `i` turns a file of version `i` into version `i + 1`, so a
/// new file runs them all and an older file runs the ones it lacks.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [SCHEMA_V1, SCHEMA_V2];

const SCHEMA_V1: &str = "
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE issuers (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    issuer_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE INDEX clients_by_issuer ON clients (issuer_id, created_at, client_id);

CREATE TABLE achievements (
    id TEXT PRIMARY KEY,
    issuer_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE INDEX achievements_by_issuer ON achievements (issuer_id, created_at, id);

CREATE TABLE awards (
    id TEXT PRIMARY KEY,
    issuer_id TEXT NOT NULL,
    achievement_id TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_on INTEGER NOT NULL,
    claim_token_hash TEXT,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE INDEX awards_by_issuer ON awards (issuer_id, issued_on, id);
CREATE INDEX awards_by_achievement ON awards (issuer_id, achievement_id, issued_on, id);
CREATE INDEX awards_by_state ON awards (issuer_id, state, issued_on, id);
CREATE INDEX awards_by_claim_token ON awards (claim_token_hash)
    WHERE claim_token_hash IS NOT NULL;

CREATE TABLE award_dedup (
    dedup_key TEXT PRIMARY KEY,
    award_id TEXT NOT NULL REFERENCES awards (id)
) STRICT;

CREATE TABLE idempotency (
    client_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    in_flight_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    response TEXT,
    PRIMARY KEY (client_id, key)
) STRICT;
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);

CREATE TABLE award_changes (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    award_id TEXT NOT NULL REFERENCES awards (id),
    old_json TEXT,
    new_json TEXT NOT NULL
) STRICT;

CREATE TABLE change_consumers (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;
";

/// Version 2 adds the public records of issuer signing keys. `sequence` keeps the order in
/// which keys were added: an issuer's last key is its active one.
const SCHEMA_V2: &str = "
CREATE TABLE signing_keys (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL UNIQUE,
    issuer_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE INDEX signing_keys_by_issuer ON signing_keys (issuer_id, sequence);
";

/// Applies the connection settings and creates or checks the schema.
///
/// `on_disk` selects write-ahead logging, which lets readers in other processes (such as the
/// `accolade` command line beside a running server) work while this one writes.
pub(super) fn prepare(
    connection: &mut Connection,
    busy_timeout: Duration,
    on_disk: bool,
) -> anyhow::Result<()> {
    connection
        .busy_timeout(busy_timeout)
        .context("setting the busy timeout failed")?;
    if on_disk {
        let mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .context("switching to write-ahead logging failed")?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("the file does not support write-ahead logging (journal mode is {mode})");
        }
        // With WAL, NORMAL loses no committed transaction when the process crashes; a power
        // cut may lose the last few, each one whole.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .context("setting synchronous = NORMAL failed")?;
    }
    connection
        .pragma_update(None, "foreign_keys", true)
        .context("enabling foreign keys failed")?;

    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .context("reading the schema version failed; is this an SQLite database?")?;
    match version {
        SCHEMA_VERSION => Ok(()),
        older if (0..SCHEMA_VERSION).contains(&older) => migrate(connection),
        newer if newer > SCHEMA_VERSION => bail!(
            "the file has schema version {newer}, but this build reads version {SCHEMA_VERSION}; \
             run a newer Accolade or use another data folder"
        ),
        other => bail!("the file has an unknown schema version {other}"),
    }
}

fn migrate(connection: &mut Connection) -> anyhow::Result<()> {
    // The migrations and the new version are set in one transaction, so a crash leaves the
    // file at its old version (migrated again on the next open) or at the new one. The
    // version is read again under the write lock because another process may have migrated
    // it meanwhile.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("starting the schema transaction failed")?;
    let version: i64 = transaction
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .context("reading the schema version failed")?;
    let start = usize::try_from(version).unwrap_or(MIGRATIONS.len());
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(start) {
        transaction
            .execute_batch(migration)
            .with_context(|| format!("migrating the schema to version {} failed", index + 1))?;
    }
    if version < SCHEMA_VERSION {
        transaction
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .context("writing the schema version failed")?;
    }
    transaction.commit().context("committing the schema failed")
}
