//! The store contract suite against the SQLite store, on a file and in memory.

use std::sync::Arc;

use accolade::adapters::contract::run_all;
use accolade::adapters::sqlite::SqliteStore;
use accolade::ports::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_meets_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_all(|| {
        let index = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("store-{index}.sqlite3"));
        async move { Arc::new(SqliteStore::open(path).unwrap()) as Arc<dyn Store> }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_meets_store_contract() {
    run_all(|| async { Arc::new(SqliteStore::open_in_memory().unwrap()) as Arc<dyn Store> }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shared_file_meets_store_contract() {
    // Every case on one file, as the suite runs against a shared DynamoDB table, which
    // checks that the cases' records stay apart.
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("shared.sqlite3")).unwrap());
    run_all(|| {
        let store = Arc::clone(&store);
        async move { store }
    })
    .await;
}
