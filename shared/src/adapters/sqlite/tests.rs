//! Behaviour of the SQLite store that the shared contract suite cannot see: the file itself,
//! its schema, corrupt rows and lock timeouts.

use std::time::Duration;

use rusqlite::Connection;

use super::*;
use crate::adapters::contract::fixtures;
use crate::domain::{AwardState, ClientId};
use crate::ports::{AwardFilter, IdempotencyKey, PageRequest, Store, StoredResponse};

fn temp_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("accolade.sqlite3");
    (dir, path)
}

#[tokio::test]
async fn records_survive_reopen() {
    let (_dir, path) = temp_file();
    let issuer = fixtures::issuer();
    let achievement = fixtures::achievement(issuer.id);
    let award = fixtures::award(issuer.id, achievement.id, "amara@example.org");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_issuer(&issuer).await.unwrap();
        store.create_achievement(&achievement).await.unwrap();
        store.create_award(&award).await.unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.path(), Some(path.as_path()));
    assert_eq!(store.get_issuer(issuer.id).await.unwrap(), Some(issuer));
    assert_eq!(
        store.get_achievement(achievement.id).await.unwrap(),
        Some(achievement)
    );
    assert_eq!(store.get_award(award.id).await.unwrap(), Some(award));
}

#[tokio::test]
async fn file_uses_wal_and_schema_version() {
    let (_dir, path) = temp_file();
    drop(SqliteStore::open(&path).unwrap());
    let connection = Connection::open(&path).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(version, schema::SCHEMA_VERSION);
}

#[test]
fn newer_schema_is_rejected() {
    let (_dir, path) = temp_file();
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(error.contains("schema version 99"), "{error}");
    assert!(error.contains(&path.display().to_string()), "{error}");
}

#[test]
fn file_that_is_not_sqlite_is_rejected() {
    let (_dir, path) = temp_file();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is a text file, not a database, and it is long enough",
    )
    .unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error}");
}

#[tokio::test]
async fn corrupt_award_fails_listing_with_its_id() {
    let (_dir, path) = temp_file();
    let store = SqliteStore::open(&path).unwrap();
    let issuer = fixtures::issuer();
    let achievement = fixtures::achievement(issuer.id);
    let good = fixtures::award(issuer.id, achievement.id, "amara@example.org");
    let bad = fixtures::award(issuer.id, achievement.id, "noah@example.org");
    store.create_award(&good).await.unwrap();
    store.create_award(&bad).await.unwrap();
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE awards SET doc = '{\"id\": 5' WHERE id = ?1",
            [bad.id.to_string()],
        )
        .unwrap();

    let listing = store
        .list_awards(issuer.id, &AwardFilter::default(), &PageRequest::default())
        .await
        .unwrap_err();
    let get = store.get_award(bad.id).await.unwrap_err();
    for error in [listing, get] {
        assert!(matches!(error, StoreError::Backend(_)), "{error}");
        assert!(error.to_string().contains(&bad.id.to_string()), "{error}");
    }
    assert_eq!(store.get_award(good.id).await.unwrap(), Some(good));
}

#[tokio::test]
async fn corrupt_issuer_fails_issuer_listing() {
    let (_dir, path) = temp_file();
    let store = SqliteStore::open(&path).unwrap();
    let issuer = fixtures::issuer();
    store.create_issuer(&issuer).await.unwrap();
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE issuers SET doc = 'not json'", [])
        .unwrap();
    let error = store.list_issuers().await.unwrap_err().to_string();
    assert!(error.contains(&issuer.id.to_string()), "{error}");
    assert!(error.contains("issuers"), "{error}");
}

#[tokio::test]
async fn locked_file_returns_throttled() {
    let (_dir, path) = temp_file();
    let store = SqliteStore::open_with_busy_timeout(&path, Duration::from_millis(100)).unwrap();
    let blocker = Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let error = store.create_issuer(&fixtures::issuer()).await.unwrap_err();
    assert!(matches!(error, StoreError::Throttled), "{error}");

    blocker.execute_batch("COMMIT").unwrap();
    store.create_issuer(&fixtures::issuer()).await.unwrap();
}

#[tokio::test]
async fn update_stores_expected_version_plus_one() {
    let store = SqliteStore::open_in_memory().unwrap();
    let issuer = fixtures::issuer();
    let award = fixtures::award(
        issuer.id,
        fixtures::achievement(issuer.id).id,
        "a@example.org",
    );
    store.create_award(&award).await.unwrap();
    // The caller's copy carries a wrong version; the store writes the one that follows.
    let changed = crate::domain::Award {
        state: AwardState::Claimed,
        version: 40,
        ..award.clone()
    };
    store.update_award(&changed, award.version).await.unwrap();
    let stored = store.get_award(award.id).await.unwrap().unwrap();
    assert_eq!(stored.version, award.version + 1);
    assert_eq!(stored.state, AwardState::Claimed);
}

#[tokio::test]
async fn page_limit_zero_uses_default() {
    let store = SqliteStore::open_in_memory().unwrap();
    let issuer = fixtures::issuer();
    let achievement = fixtures::achievement(issuer.id);
    for index in 0..(DEFAULT_PAGE_LIMIT + 1) {
        let award = fixtures::award(issuer.id, achievement.id, &format!("r{index}@example.org"));
        store.create_award(&award).await.unwrap();
    }
    let page = store
        .list_awards(issuer.id, &AwardFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), DEFAULT_PAGE_LIMIT as usize);
    assert!(page.next_cursor.is_some());
}

#[tokio::test]
async fn complete_without_in_flight_record_conflicts() {
    let store = SqliteStore::open_in_memory().unwrap();
    let key = IdempotencyKey {
        client_id: ClientId::parse("partner").unwrap(),
        key: "key-1".to_owned(),
    };
    let response = StoredResponse {
        status: 201,
        body: "{}".to_owned(),
        location: None,
    };
    let error = store.complete_request(&key, &response).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict), "{error}");
}

#[tokio::test]
async fn dead_idempotency_records_are_deleted() {
    let (_dir, path) = temp_file();
    let store = SqliteStore::open(&path).unwrap();
    let client_id = ClientId::parse("partner").unwrap();
    let old = IdempotencyKey {
        client_id: client_id.clone(),
        key: "old".to_owned(),
    };
    let started = store
        .begin_request(
            &old,
            "h",
            fixtures::at(0),
            fixtures::at(60),
            fixtures::at(86_400),
        )
        .await
        .unwrap();
    assert_eq!(started, crate::ports::IdempotencyBegin::Started);

    let later = IdempotencyKey {
        client_id,
        key: "new".to_owned(),
    };
    let now = fixtures::at(90_000);
    store
        .begin_request(&later, "h", now, now.plus_seconds(60), now.plus_days(1))
        .await
        .unwrap();
    let keys: Vec<String> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT key FROM idempotency")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys, ["new"]);
}

/// Many tasks calling the store at once on a multi-thread runtime, with calls in place on
/// the workers, each get their own records back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_in_place() {
    let store = SqliteStore::open_in_memory().unwrap().with_calls_in_place();
    let issuer = fixtures::issuer();
    let achievement = fixtures::achievement(issuer.id);
    store.create_issuer(&issuer).await.unwrap();
    store.create_achievement(&achievement).await.unwrap();

    let tasks: Vec<_> = (0..50)
        .map(|index| {
            let store = store.clone();
            let email = format!("learner{index}@example.org");
            tokio::spawn(async move {
                let award = fixtures::award(issuer.id, achievement.id, &email);
                store.create_award(&award).await.unwrap();
                let read = store.get_award(award.id).await.unwrap();
                (award, read)
            })
        })
        .collect();

    for task in tasks {
        let (award, read) = task.await.unwrap();
        assert_eq!(read, Some(award));
    }
}

/// A call in place on the only worker thread that waits for another task still finishes:
/// the worker's other tasks move to another thread while the call blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn call_in_place_lets_other_tasks_run() {
    let store = SqliteStore::open_in_memory().unwrap().with_calls_in_place();
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    let sending = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        sender.send(()).unwrap();
    });

    let call = store.run(move |_| {
        receiver
            .recv_timeout(Duration::from_secs(10))
            .map_err(|error| {
                StoreError::Backend(anyhow!("no message from the other task: {error}"))
            })
    });
    let result = tokio::time::timeout(Duration::from_secs(20), call).await;

    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
    sending.await.unwrap();
}

/// Checks that a store call that panics fails with a backend error naming the panic, and
/// leaves the store usable.
async fn check_panicking_call(store: &SqliteStore) {
    let result = store
        .run(|_| -> Result<(), StoreError> { panic!("injected panic in a store call") })
        .await;

    let Err(StoreError::Backend(error)) = result else {
        panic!("not a backend error: {result:?}");
    };
    assert!(
        error.to_string().contains("injected panic in a store call"),
        "{error}"
    );
    assert_eq!(store.list_issuers().await.unwrap(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_call_in_place() {
    check_panicking_call(&SqliteStore::open_in_memory().unwrap().with_calls_in_place()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn panicking_call_on_blocking_pool() {
    check_panicking_call(&SqliteStore::open_in_memory().unwrap()).await;
}
