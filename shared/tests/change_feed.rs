//! The award change log of the SQLite store: images, order, at-least-once delivery across
//! reopening the file, independent consumers and the change notifier.

use std::path::PathBuf;
use std::time::Duration;

use accolade::adapters::contract::fixtures;
use accolade::adapters::sqlite::{AwardChange, SqliteStore};
use accolade::domain::{Award, AwardState, IssuerId};
use accolade::ports::{Store, StoreError};

const SEND_CLAIMS: &str = "send-claims";
const BAKE_IMAGES: &str = "bake-images";

fn temp_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accolade.sqlite3");
    (dir, path)
}

fn new_award(issuer: IssuerId, email: &str) -> Award {
    fixtures::award(issuer, fixtures::achievement(issuer).id, email)
}

/// Creates `count` awards and returns them in creation order.
async fn create_awards(store: &SqliteStore, count: usize) -> Vec<Award> {
    let issuer = fixtures::issuer().id;
    let mut awards = Vec::new();
    for index in 0..count {
        let award = new_award(issuer, &format!("recipient{index}@example.org"));
        store.create_award(&award).await.unwrap();
        awards.push(award);
    }
    awards
}

fn sequences(changes: &[AwardChange]) -> Vec<u64> {
    changes.iter().map(|change| change.sequence).collect()
}

#[tokio::test]
async fn changes_carry_old_and_new_images() {
    let store = SqliteStore::open_in_memory().unwrap();
    let award = create_awards(&store, 1).await.remove(0);
    let claimed = Award {
        state: AwardState::Claimed,
        ..award.next_version()
    };
    store.update_award(&claimed, award.version).await.unwrap();

    let changes = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].old, None);
    assert_eq!(changes[0].new, award);
    assert_eq!(changes[1].old.as_ref(), Some(&award));
    assert_eq!(changes[1].new, claimed);
    assert!(changes[0].sequence < changes[1].sequence);
}

#[tokio::test]
async fn changes_come_in_write_order() {
    let store = SqliteStore::open_in_memory().unwrap();
    let awards = create_awards(&store, 5).await;
    let changes = store.pending_changes(SEND_CLAIMS, 100).await.unwrap();
    let ids: Vec<_> = changes.iter().map(|change| change.new.id).collect();
    let expected: Vec<_> = awards.iter().map(|award| award.id).collect();
    assert_eq!(ids, expected);
    let mut sorted = sequences(&changes);
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, sequences(&changes));
}

#[tokio::test]
async fn failed_writes_record_no_change() {
    let store = SqliteStore::open_in_memory().unwrap();
    let award = create_awards(&store, 1).await.remove(0);

    let duplicate = Award {
        id: accolade::domain::AwardId::from_uuid(uuid::Uuid::new_v4()),
        ..award.clone()
    };
    let duplicate_error = store.create_award(&duplicate).await.unwrap_err();
    assert!(matches!(duplicate_error, StoreError::DuplicateAward { .. }));

    let stale = store
        .update_award(&award.next_version(), award.version + 7)
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict));

    let changes = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
}

#[tokio::test]
async fn pending_changes_respects_limit() {
    let store = SqliteStore::open_in_memory().unwrap();
    create_awards(&store, 5).await;
    let first = store.pending_changes(SEND_CLAIMS, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        store
            .pending_changes(SEND_CLAIMS, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn acknowledged_changes_are_not_repeated() {
    let store = SqliteStore::open_in_memory().unwrap();
    create_awards(&store, 3).await;
    let all = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();

    store
        .acknowledge(SEND_CLAIMS, all[0].sequence)
        .await
        .unwrap();
    let rest = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    assert_eq!(sequences(&rest), sequences(&all[1..]));

    store
        .acknowledge(SEND_CLAIMS, all[2].sequence)
        .await
        .unwrap();
    assert!(
        store
            .pending_changes(SEND_CLAIMS, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unacknowledged_changes_return_after_reopen() {
    let (_dir, path) = temp_file();
    let before;
    {
        let store = SqliteStore::open(&path).unwrap();
        create_awards(&store, 3).await;
        before = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
        store
            .acknowledge(SEND_CLAIMS, before[0].sequence)
            .await
            .unwrap();
        // The consumer stops here, as a crash would, with two changes read but not acknowledged.
    }

    let store = SqliteStore::open(&path).unwrap();
    let after = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    assert_eq!(after, before[1..].to_vec());
}

#[tokio::test]
async fn consumers_keep_separate_positions() {
    let store = SqliteStore::open_in_memory().unwrap();
    create_awards(&store, 2).await;
    let all = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    store
        .acknowledge(SEND_CLAIMS, all[1].sequence)
        .await
        .unwrap();

    assert!(
        store
            .pending_changes(SEND_CLAIMS, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let for_baking = store.pending_changes(BAKE_IMAGES, 10).await.unwrap();
    assert_eq!(for_baking, all);
}

#[tokio::test]
async fn acknowledge_never_moves_backwards() {
    let store = SqliteStore::open_in_memory().unwrap();
    create_awards(&store, 3).await;
    let all = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    store
        .acknowledge(SEND_CLAIMS, all[2].sequence)
        .await
        .unwrap();
    store
        .acknowledge(SEND_CLAIMS, all[0].sequence)
        .await
        .unwrap();
    assert!(
        store
            .pending_changes(SEND_CLAIMS, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn acknowledge_beyond_newest_fails() {
    let store = SqliteStore::open_in_memory().unwrap();
    create_awards(&store, 1).await;
    let newest = store.pending_changes(SEND_CLAIMS, 10).await.unwrap()[0].sequence;

    let error = store
        .acknowledge(SEND_CLAIMS, newest + 1)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)));
    assert!(
        error.to_string().contains(&format!("{}", newest + 1)),
        "{error}"
    );

    let huge = store.acknowledge(SEND_CLAIMS, u64::MAX).await.unwrap_err();
    assert!(matches!(huge, StoreError::Backend(_)));
    assert_eq!(
        store.pending_changes(SEND_CLAIMS, 10).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn invalid_consumer_name_is_rejected() {
    let store = SqliteStore::open_in_memory().unwrap();
    for name in ["", "send claims", "ü", &"x".repeat(65)] {
        let error = store.pending_changes(name, 10).await.unwrap_err();
        assert!(matches!(error, StoreError::Backend(_)), "name {name:?}");
        assert!(store.acknowledge(name, 0).await.is_err(), "name {name:?}");
    }
}

#[tokio::test]
async fn prune_keeps_changes_a_consumer_still_needs() {
    let store = SqliteStore::open_in_memory().unwrap();
    create_awards(&store, 3).await;
    let all = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    store
        .acknowledge(SEND_CLAIMS, all[2].sequence)
        .await
        .unwrap();
    store
        .acknowledge(BAKE_IMAGES, all[0].sequence)
        .await
        .unwrap();

    let deleted = store
        .prune_changes(&[SEND_CLAIMS, BAKE_IMAGES])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let for_baking = store.pending_changes(BAKE_IMAGES, 10).await.unwrap();
    assert_eq!(for_baking, all[1..].to_vec());

    // A consumer that never acknowledged pins the whole remaining log.
    let none = store
        .prune_changes(&[SEND_CLAIMS, "new-consumer"])
        .await
        .unwrap();
    assert_eq!(none, 0);

    // Sequences are never reused after pruning.
    store
        .acknowledge(BAKE_IMAGES, all[2].sequence)
        .await
        .unwrap();
    store
        .prune_changes(&[SEND_CLAIMS, BAKE_IMAGES])
        .await
        .unwrap();
    create_awards(&store, 1).await;
    let next = store.pending_changes(SEND_CLAIMS, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].sequence > all[2].sequence);
}

#[tokio::test]
async fn corrupt_change_names_its_sequence() {
    let (_dir, path) = temp_file();
    let store = SqliteStore::open(&path).unwrap();
    create_awards(&store, 1).await;
    let sequence = store.pending_changes(SEND_CLAIMS, 10).await.unwrap()[0].sequence;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE award_changes SET new_json = '[]'", [])
        .unwrap();

    let error = store.pending_changes(SEND_CLAIMS, 10).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)));
    assert!(
        error.to_string().contains(&format!("change {sequence}")),
        "{error}"
    );
}

#[tokio::test]
async fn notifier_wakes_waiting_consumer() {
    let store = SqliteStore::open_in_memory().unwrap();
    let notifier = store.change_notifier();
    let writer = store.clone();
    let waiter = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(5), notifier.notified()).await
    });
    tokio::task::yield_now().await;
    create_awards(&writer, 1).await;
    assert!(waiter.await.unwrap().is_ok(), "the notifier did not wake");
}

#[tokio::test]
async fn notifier_keeps_wakeup_for_busy_consumer() {
    let store = SqliteStore::open_in_memory().unwrap();
    let send_claims = store.change_notifier();
    let bake_images = store.change_notifier();
    // Neither consumer is waiting when the change is written.
    create_awards(&store, 1).await;
    for notifier in [send_claims, bake_images] {
        let woken = tokio::time::timeout(Duration::from_secs(5), notifier.notified()).await;
        assert!(woken.is_ok(), "a notifier missed the change");
    }
}

#[tokio::test]
async fn notifier_ignores_other_writes() {
    let store = SqliteStore::open_in_memory().unwrap();
    let notifier = store.change_notifier();
    store.create_issuer(&fixtures::issuer()).await.unwrap();
    store
        .put_setting_if_absent("public_base_url", "https://badges.example.org")
        .await
        .unwrap();
    let woken = tokio::time::timeout(Duration::from_millis(100), notifier.notified()).await;
    assert!(
        woken.is_err(),
        "a write that is not an award woke the notifier"
    );
}

#[tokio::test]
async fn update_wakes_notifier() {
    let store = SqliteStore::open_in_memory().unwrap();
    let award = create_awards(&store, 1).await.remove(0);
    let notifier = store.change_notifier();
    store
        .update_award(&award.next_version(), award.version)
        .await
        .unwrap();
    let woken = tokio::time::timeout(Duration::from_secs(5), notifier.notified()).await;
    assert!(woken.is_ok(), "an award update did not wake the notifier");
}
