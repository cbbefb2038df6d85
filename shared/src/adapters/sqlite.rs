//! The embedded store: every record of the [`Store`](crate::ports::Store) port in one SQLite
//! file, and a durable change log of awards that the local stack reads in place of the
//! DynamoDB stream.
//!
//! # Schema (version 2, kept in `PRAGMA user_version`)
//!
//! Each record is a JSON document in a `doc` column, beside the few columns that queries
//! filter or sort on. Those columns are derived from the document on every write, so they
//! never drift from it.
//!
//! | table | key | other columns | indexes |
//! |---|---|---|---|
//! | `settings` | `name` | `value` | |
//! | `issuers` | `id` | `created_at`, `version`, `doc` | |
//! | `clients` | `client_id` | `issuer_id`, `created_at`, `doc` | `(issuer_id, created_at, client_id)` |
//! | `achievements` | `id` | `issuer_id`, `created_at`, `doc` | `(issuer_id, created_at, id)` |
//! | `awards` | `id` | `issuer_id`, `achievement_id`, `state`, `issued_on`, `claim_token_hash`, `version`, `doc` | `(issuer_id, issued_on, id)`, the same with `achievement_id` or `state` after `issuer_id`, `claim_token_hash` |
//! | `award_dedup` | `dedup_key` | `award_id` → `awards` | |
//! | `idempotency` | `(client_id, key)` | `request_hash`, `in_flight_until`, `expires_at`, `response` (NULL while in flight) | `expires_at` |
//! | `award_changes` | `sequence` (never reused) | `award_id` → `awards`, `old_json`, `new_json` | |
//! | `change_consumers` | `name` | `position` (the last acknowledged sequence) | |
//! | `signing_keys` | `sequence` (order of addition) | `key_id` (unique), `issuer_id`, `created_at`, `doc` | `(issuer_id, sequence)` |
//!
//! Version 2 added `signing_keys`; opening a version 1 file adds the table. The public key
//! records live here and the private keys beside the store ([`LocalSigningKeys`]).
//!
//! Times are Unix seconds. Ids are stored in their hyphenated lower-case form, so text
//! order is UUID order.
//!
//! # Policies
//!
//! - Listings are ordered oldest first: awards by `(issued_on, id)`, achievements, clients
//!   and issuers by `(created_at, id)`. A page contains at most `limit` items, clamped to
//!   1..=[`MAX_PAGE_LIMIT`]; a `limit` of 0 means [`DEFAULT_PAGE_LIMIT`]. Cursors are opaque
//!   and bound to the listing that made them: a cursor of another issuer, filter or record
//!   kind is rejected with `InvalidCursor`.
//! - Every update is an `UPDATE … WHERE id = ? AND version = ?` inside a write transaction.
//!   The stored record carries `expected_version + 1`, whatever version the caller's copy had.
//! - An idempotency record is live while `now < in_flight_until` (in flight) or
//!   `now < expires_at` (completed); a record that is not live counts as absent. Each
//!   `begin_request` also deletes up to 100 dead records, in place of DynamoDB's TTL.
//! - SQLite's busy and locked errors, which arrive once the busy timeout has passed, become
//!   `StoreError::Throttled`.
//! - A stored JSON document that does not decode fails the whole call with
//!   `StoreError::Backend` naming the record, so a listing never skips a record silently.

mod changes;
mod keys;
mod rows;
mod schema;
mod store;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use anyhow::anyhow;
use rusqlite::{Connection, ErrorCode};
use tokio::sync::Notify;

use crate::ports::StoreError;

pub use changes::AwardChange;
pub use keys::LocalSigningKeys;

/// The page size of a request with `limit: 0`.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// The largest page a listing returns; larger limits are lowered to this.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// How long a call waits for another connection's write lock before it fails with
/// `Throttled`, unless the store was opened with another timeout.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded store over one SQLite file (or an in-memory database for tests).
///
/// Cloning is cheap and every clone shares one connection. Store calls run one at a time per
/// store, on Tokio's blocking thread pool or, after
/// [`with_calls_in_place`](Self::with_calls_in_place), on the calling worker thread. Opening is
/// a plain blocking call, meant for startup.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// Whether calls run with `block_in_place` on the calling worker thread.
    in_place: bool,
}

struct Inner {
    connection: Mutex<Connection>,
    /// One notifier per `change_notifier` caller. Each gets its own permit per write, so no
    /// consumer misses a wake-up while another one is busy.
    notifiers: Mutex<Vec<Weak<Notify>>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store file at `path`, creating the file, its parent folders and the schema
    /// when they are missing.
    ///
    /// Fails when the file is not an SQLite database or was written by a newer schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_busy_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// Opens the store file like [`open`](Self::open), waiting at most `busy_timeout` for
    /// another process's write lock before a call fails with `Throttled`.
    pub fn open_with_busy_timeout(
        path: impl AsRef<Path>,
        busy_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let open_error = |error: anyhow::Error| {
            StoreError::Backend(
                error.context(format!("opening the store file {} failed", path.display())),
            )
        };
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| open_error(error.into()))?;
        }
        let mut connection = Connection::open(path).map_err(|error| open_error(error.into()))?;
        schema::prepare(&mut connection, busy_timeout, true).map_err(open_error)?;
        Ok(Self::from_connection(connection, Some(path.to_path_buf())))
    }

    /// Opens a private in-memory store, empty on every call, for tests of other components.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let open_error = |error: anyhow::Error| {
            StoreError::Backend(error.context("opening an in-memory store failed"))
        };
        let mut connection =
            Connection::open_in_memory().map_err(|error| open_error(error.into()))?;
        schema::prepare(&mut connection, DEFAULT_BUSY_TIMEOUT, false).map_err(open_error)?;
        Ok(Self::from_connection(connection, None))
    }

    fn from_connection(connection: Connection, path: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                connection: Mutex::new(connection),
                notifiers: Mutex::new(Vec::new()),
                path,
            }),
            in_place: false,
        }
    }

    /// Makes store calls run on the calling worker thread through `block_in_place`, which
    /// moves the worker's other tasks to another thread, instead of handing each call to the
    /// blocking pool and waiting to be woken. In a burst of 1,000 awards on 2 cores this
    /// took the claim path from about 230 to about 650 claims per second.
    ///
    /// Only for stores used from tasks of a multi-thread runtime outside any `LocalSet`,
    /// where `block_in_place` is allowed. Calls on a current-thread runtime still use the
    /// blocking pool.
    pub fn with_calls_in_place(mut self) -> Self {
        self.in_place = true;
        self
    }

    /// The file this store was opened on; `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Runs `operation` on the connection: in place on the worker when the store was made
    /// with [`with_calls_in_place`](Self::with_calls_in_place) and the runtime is a
    /// multi-thread one, else in Tokio's blocking thread pool.
    async fn run<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let work = move || {
            // A panic while the lock was held dropped its open transaction, which rolled it
            // back, so the connection is still consistent and the poison can be ignored.
            let mut connection = inner
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            operation(&mut connection)
        };
        let failed =
            |reason: &str| StoreError::Backend(anyhow!("the store call did not finish: {reason}"));
        // `block_in_place` panics on a current-thread runtime, which therefore keeps
        // `spawn_blocking`.
        if self.in_place
            && tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return tokio::task::block_in_place(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|text| (*text).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".to_owned());
                    failed(&format!("it panicked: {message}"))
                })?
            });
        }
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| failed(&error.to_string()))?
    }

    /// Wakes every live change notifier after a committed award write.
    fn notify_change(&self) {
        let mut notifiers = self
            .inner
            .notifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        notifiers.retain(|weak| match weak.upgrade() {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        });
    }
}

/// Turns an SQLite error into a store error, with `context` naming what was being done.
fn sql_error(context: impl Into<String>, error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &error
        && matches!(
            failure.code,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
        )
    {
        return StoreError::Throttled;
    }
    StoreError::Backend(anyhow::Error::new(error).context(context.into()))
}

/// Adds the context of a failed SQLite call.
trait SqlContext<T> {
    fn context_sql(self, context: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn context_sql(self, context: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|error| sql_error(context(), error))
    }
}

#[cfg(test)]
mod tests;
