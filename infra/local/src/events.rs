//! The local event loop: reads the store's durable change log and runs the event-driven
//! functions (send claims, bake images) on each award change, as DynamoDB Streams and Lambda
//! do in AWS. Delivery is at least once: a change is acknowledged only after its handler
//! finished, so a crash replays it on the next start and every handler must be idempotent.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use accolade::adapters::sqlite::{AwardChange, SqliteStore};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Attempts per change before it is set aside in the dead-letter file, so one change that
/// keeps failing cannot hold up every change after it (as a stream's maximum retry attempts
/// and on-failure queue do in AWS).
pub const MAX_ATTEMPTS: u32 = 10;
/// The first wait before a retry; each later wait doubles, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Changes read per poll.
const BATCH: usize = 100;
/// Awards of one batch handled at the same time. Their store calls take turns on the one
/// SQLite connection, but file writes, fsync waits and the CPU work in between overlap.
const CONCURRENT_AWARDS: usize = 8;

/// Why a handler did not finish a change.
#[derive(Debug)]
pub enum HandlerError {
    /// Trying again later can succeed; wait at least `after` (zero: use the backoff).
    Retry {
        error: anyhow::Error,
        after: Duration,
    },
    /// Trying again cannot help; the change goes to the dead-letter file at once.
    Fatal(anyhow::Error),
}

impl HandlerError {
    pub fn retry(error: impl Into<anyhow::Error>) -> Self {
        Self::Retry {
            error: error.into(),
            after: Duration::ZERO,
        }
    }
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;

/// A function that handles one award change.
pub trait ChangeHandler: Send + Sync + 'static {
    fn handle<'a>(&'a self, change: &'a AwardChange) -> HandlerFuture<'a>;
}

/// Runs one named consumer until `shutdown` turns true.
///
/// Each polled batch is split by award: the changes of one award are handled in order, and
/// up to [`CONCURRENT_AWARDS`] awards are handled at the same time, as Lambda handles the
/// shards of a DynamoDB stream. The batch is acknowledged once every change in it has been
/// handled (or set aside), so a crash in the middle replays the whole batch.
pub async fn run_consumer(
    name: &'static str,
    store: Arc<SqliteStore>,
    handler: Arc<dyn ChangeHandler>,
    dead_letters: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) {
    let notifier = store.change_notifier();
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Register interest before reading, so a change written in between still wakes us.
        let notified = notifier.notified();
        let changes = match store.pending_changes(name, BATCH).await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::error!(consumer = name, error = %error, "cannot read the change log; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(last_sequence) = changes.last().map(|change| change.sequence) else {
            tokio::select! {
                () = notified => {}
                _ = shutdown.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            continue;
        };
        let batch = Batch {
            consumer: name,
            handler: handler.clone(),
            dead_letters: dead_letters.clone(),
            shutdown: shutdown.clone(),
        };
        if !batch.handle(changes).await {
            // Stopped part-way: the changes of this batch are handled again on the next start.
            return;
        }
        if let Err(error) = store.acknowledge(name, last_sequence).await {
            tracing::error!(consumer = name, sequence = last_sequence, error = %error, "cannot acknowledge a batch of changes; it will be handled again");
        }
    }
}

/// One polled batch of a consumer's changes.
struct Batch {
    consumer: &'static str,
    handler: Arc<dyn ChangeHandler>,
    dead_letters: PathBuf,
    shutdown: watch::Receiver<bool>,
}

impl Batch {
    /// Handles every change, one task per award, and returns `false` when a shutdown
    /// stopped it before every change was handled.
    async fn handle(&self, changes: Vec<AwardChange>) -> bool {
        let permits = Arc::new(Semaphore::new(CONCURRENT_AWARDS));
        let mut tasks = JoinSet::new();
        let mut sequences_by_task = HashMap::new();
        for group in group_by_award(changes) {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                unreachable!("the semaphore is never closed");
            };
            let award_id = group[0].new.id;
            let sequences: Vec<u64> = group.iter().map(|change| change.sequence).collect();
            let (consumer, handler, dead_letters, shutdown) = (
                self.consumer,
                self.handler.clone(),
                self.dead_letters.clone(),
                self.shutdown.clone(),
            );
            let task = tasks.spawn(async move {
                let _permit = permit;
                for change in &group {
                    if *shutdown.borrow() {
                        return false;
                    }
                    handle_with_retries(consumer, handler.as_ref(), change, &dead_letters).await;
                }
                true
            });
            sequences_by_task.insert(task.id(), (award_id, sequences));
        }

        let mut all_handled = true;
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, handled)) => all_handled &= handled,
                Err(error) => {
                    // A handler panicked. Its award's changes are set aside like a fatal
                    // error, so one faulty change cannot stop the consumer for good.
                    let Some((award_id, sequences)) = sequences_by_task.remove(&error.id()) else {
                        tracing::error!(consumer = self.consumer, error = %error, "a handler task failed");
                        continue;
                    };
                    tracing::error!(
                        consumer = self.consumer,
                        award.id = %award_id,
                        sequences = ?sequences,
                        error = %error,
                        "a handler panicked; the award's changes are set aside in the dead-letter file"
                    );
                    let line = serde_json::json!({
                        "consumer": self.consumer,
                        "sequences": sequences,
                        "award_id": award_id.to_string(),
                        "error": format!("the handler panicked: {error}"),
                    });
                    write_dead_letter(&self.dead_letters, &line);
                }
            }
        }
        all_handled
    }
}

/// Splits changes into one list per award, each in log order, the lists ordered by their
/// first change.
fn group_by_award(changes: Vec<AwardChange>) -> Vec<Vec<AwardChange>> {
    let mut groups: Vec<Vec<AwardChange>> = Vec::new();
    let mut index_of_award: HashMap<_, usize> = HashMap::new();
    for change in changes {
        match index_of_award.get(&change.new.id) {
            Some(&index) => groups[index].push(change),
            None => {
                index_of_award.insert(change.new.id, groups.len());
                groups.push(vec![change]);
            }
        }
    }
    groups
}

async fn handle_with_retries(
    name: &'static str,
    handler: &dyn ChangeHandler,
    change: &AwardChange,
    dead_letters: &PathBuf,
) {
    let award_id = change.new.id;
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        let error = match handler.handle(change).await {
            Ok(()) => return,
            Err(HandlerError::Retry { error, after }) if attempt < MAX_ATTEMPTS => {
                let delay = backoff.max(after);
                tracing::warn!(
                    consumer = name,
                    award.id = %award_id,
                    sequence = change.sequence,
                    attempt,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %format!("{error:#}"),
                    "handler failed; retrying"
                );
                tokio::time::sleep(delay).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(HandlerError::Retry { error, .. } | HandlerError::Fatal(error)) => error,
        };
        tracing::error!(
            consumer = name,
            award.id = %award_id,
            sequence = change.sequence,
            attempt,
            error = %format!("{error:#}"),
            "handler failed for good; the change is set aside in the dead-letter file"
        );
        let line = serde_json::json!({
            "consumer": name,
            "sequence": change.sequence,
            "award_id": award_id.to_string(),
            "error": format!("{error:#}"),
        });
        write_dead_letter(dead_letters, &line);
        return;
    }
}

/// Appends one JSON line to the dead-letter file. The line goes out in one `write` call
/// on a file opened for appending, so lines from concurrent tasks do not interleave.
fn write_dead_letter(path: &PathBuf, line: &serde_json::Value) {
    use std::io::Write;
    let text = format!("{line}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = written {
        tracing::error!(path = %path.display(), error = %error, "cannot write the dead-letter file");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use accolade::adapters::contract::fixtures;
    use accolade::domain::AwardId;
    use accolade::ports::Store;

    use super::*;

    type Outcome = fn() -> Result<(), HandlerError>;

    /// A handler that returns outcomes from a script and counts its calls.
    struct ScriptedHandler {
        outcomes: Mutex<Vec<Outcome>>,
        calls: Mutex<u32>,
    }

    impl ScriptedHandler {
        fn new(outcomes: Vec<Outcome>) -> Arc<Self> {
            Arc::new(Self {
                outcomes: Mutex::new(outcomes),
                calls: Mutex::new(0),
            })
        }

        fn calls(&self) -> u32 {
            *self.calls.lock().unwrap()
        }
    }

    impl ChangeHandler for ScriptedHandler {
        fn handle<'a>(&'a self, _change: &'a AwardChange) -> HandlerFuture<'a> {
            *self.calls.lock().unwrap() += 1;
            let mut outcomes = self.outcomes.lock().unwrap();
            let outcome = if outcomes.is_empty() {
                Ok(())
            } else {
                (outcomes.remove(0))()
            };
            Box::pin(async move { outcome })
        }
    }

    fn retry() -> Result<(), HandlerError> {
        Err(HandlerError::retry(anyhow::anyhow!(
            "mail service throttled"
        )))
    }

    fn fatal() -> Result<(), HandlerError> {
        Err(HandlerError::Fatal(anyhow::anyhow!(
            "achievement has no image"
        )))
    }

    async fn store_with_one_change() -> (tempfile::TempDir, Arc<SqliteStore>, AwardChange) {
        let folder = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(folder.path().join("store.db")).unwrap());
        let issuer = fixtures::issuer();
        let achievement = fixtures::achievement(issuer.id);
        store
            .create_award(&fixtures::award(
                issuer.id,
                achievement.id,
                "amara@example.org",
            ))
            .await
            .unwrap();
        let change = store.pending_changes("test", 10).await.unwrap().remove(0);
        (folder, store, change)
    }

    fn dead_letters(folder: &tempfile::TempDir) -> Vec<serde_json::Value> {
        std::fs::read_to_string(folder.path().join("dead.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failure_then_success() {
        let (folder, _store, change) = store_with_one_change().await;
        let handler = ScriptedHandler::new(vec![retry, retry]);

        handle_with_retries(
            "test",
            handler.as_ref(),
            &change,
            &folder.path().join("dead.jsonl"),
        )
        .await;

        assert_eq!(handler.calls(), 3);
        assert!(dead_letters(&folder).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_failure_is_set_aside_at_once() {
        let (folder, _store, change) = store_with_one_change().await;
        let handler = ScriptedHandler::new(vec![fatal]);

        handle_with_retries(
            "test",
            handler.as_ref(),
            &change,
            &folder.path().join("dead.jsonl"),
        )
        .await;

        assert_eq!(handler.calls(), 1);
        let letters = dead_letters(&folder);
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0]["award_id"], change.new.id.to_string());
        assert!(letters[0]["error"].as_str().unwrap().contains("no image"));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_max_attempts() {
        let (folder, _store, change) = store_with_one_change().await;
        let handler = ScriptedHandler::new(vec![retry; MAX_ATTEMPTS as usize + 5]);

        handle_with_retries(
            "test",
            handler.as_ref(),
            &change,
            &folder.path().join("dead.jsonl"),
        )
        .await;

        assert_eq!(handler.calls(), MAX_ATTEMPTS);
        assert_eq!(dead_letters(&folder).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_waits_at_least_the_requested_delay() {
        let (folder, _store, change) = store_with_one_change().await;
        fn lease() -> Result<(), HandlerError> {
            Err(HandlerError::Retry {
                error: anyhow::anyhow!("send in progress"),
                after: Duration::from_secs(120),
            })
        }
        let handler = ScriptedHandler::new(vec![lease]);
        let started = tokio::time::Instant::now();

        handle_with_retries(
            "test",
            handler.as_ref(),
            &change,
            &folder.path().join("dead.jsonl"),
        )
        .await;

        assert_eq!(handler.calls(), 2);
        assert!(started.elapsed() >= Duration::from_secs(120));
    }

    /// A handler that records the order of the changes it handles and how many of them
    /// were in flight at once.
    #[derive(Default)]
    struct RecordingHandler {
        handled: Mutex<Vec<(AwardId, u64)>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    impl ChangeHandler for RecordingHandler {
        fn handle<'a>(&'a self, change: &'a AwardChange) -> HandlerFuture<'a> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                self.handled
                    .lock()
                    .unwrap()
                    .push((change.new.id, change.sequence));
                Ok(())
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn batch_keeps_award_order_and_overlaps_awards() {
        let folder = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(folder.path().join("store.db")).unwrap());
        let issuer = fixtures::issuer();
        let achievement = fixtures::achievement(issuer.id);
        let mut awards = Vec::new();
        for n in 0..4 {
            let email = format!("learner{n}@example.org");
            let award = fixtures::award(issuer.id, achievement.id, &email);
            store.create_award(&award).await.unwrap();
            awards.push(award);
        }
        // Two more changes of the first award, logged after the other awards' changes.
        let mut first = awards[0].clone();
        for _ in 0..2 {
            let next = first.next_version();
            store.update_award(&next, first.version).await.unwrap();
            first = next;
        }
        let changes = store.pending_changes("test", 100).await.unwrap();
        assert_eq!(changes.len(), 6);
        let expected_first: Vec<u64> = changes
            .iter()
            .filter(|change| change.new.id == awards[0].id)
            .map(|change| change.sequence)
            .collect();
        let handler = Arc::new(RecordingHandler::default());
        let (_shutdown, receiver) = watch::channel(false);
        let batch = Batch {
            consumer: "test",
            handler: handler.clone(),
            dead_letters: folder.path().join("dead.jsonl"),
            shutdown: receiver,
        };

        assert!(batch.handle(changes).await, "the whole batch is handled");

        let handled = handler.handled.lock().unwrap().clone();
        assert_eq!(handled.len(), 6, "every change is handled once");
        let handled_first: Vec<u64> = handled
            .iter()
            .filter(|(award_id, _)| *award_id == awards[0].id)
            .map(|(_, sequence)| *sequence)
            .collect();
        assert_eq!(
            handled_first, expected_first,
            "one award's changes keep log order"
        );
        assert!(
            handler.max_in_flight.load(Ordering::SeqCst) > 1,
            "changes of different awards overlap"
        );
        assert!(dead_letters(&folder).is_empty());
    }

    #[tokio::test]
    async fn consumer_handles_changes_and_acknowledges() {
        let (folder, store, _change) = store_with_one_change().await;
        let handler = ScriptedHandler::new(vec![]);
        let (shutdown, receiver) = watch::channel(false);

        let task = tokio::spawn(run_consumer(
            "mailer",
            store.clone(),
            handler.clone(),
            folder.path().join("dead.jsonl"),
            receiver,
        ));
        for _ in 0..200 {
            if store
                .pending_changes("mailer", 10)
                .await
                .unwrap()
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shutdown.send(true).unwrap();
        task.await.unwrap();

        assert_eq!(handler.calls(), 1);
        assert!(
            store
                .pending_changes("mailer", 10)
                .await
                .unwrap()
                .is_empty(),
            "the change is acknowledged"
        );
    }
}
