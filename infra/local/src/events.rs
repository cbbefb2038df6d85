//! The local event loop: reads the store's durable change log and runs the event-driven
//! functions (send claims, bake images) on each award change, as DynamoDB Streams and Lambda
//! do in AWS. Delivery is at least once: a change is acknowledged only after its handler
//! finished, so a crash replays it on the next start and every handler must be idempotent.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use accolade::adapters::sqlite::{AwardChange, SqliteStore};
use tokio::sync::watch;

/// Attempts per change before it is set aside in the dead-letter file, so one change that
/// keeps failing cannot hold up every change after it (as a stream's maximum retry attempts
/// and on-failure queue do in AWS).
pub const MAX_ATTEMPTS: u32 = 10;
/// The first wait before a retry; each later wait doubles, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Changes read per poll.
const BATCH: usize = 100;

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
        if changes.is_empty() {
            tokio::select! {
                () = notified => {}
                _ = shutdown.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            continue;
        }
        for change in &changes {
            if *shutdown.borrow() {
                return;
            }
            handle_with_retries(name, handler.as_ref(), change, &dead_letters).await;
            if let Err(error) = store.acknowledge(name, change.sequence).await {
                tracing::error!(consumer = name, sequence = change.sequence, error = %error, "cannot acknowledge a change; it will be handled again");
            }
        }
    }
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
        if let Err(write_error) = append_line(dead_letters, &line.to_string()) {
            tracing::error!(path = %dead_letters.display(), error = %write_error, "cannot write the dead-letter file");
        }
        return;
    }
}

fn append_line(path: &PathBuf, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{line}")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use accolade::adapters::contract::fixtures;
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
