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
/// keeps failing cannot hold up every change after it.
pub const MAX_ATTEMPTS: u32 = 5;
/// Changes read per poll.
const BATCH: usize = 100;

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

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
    for attempt in 1..=MAX_ATTEMPTS {
        match handler.handle(change).await {
            Ok(()) => return,
            Err(error) if attempt < MAX_ATTEMPTS => {
                let delay = Duration::from_millis(100 * 2u64.pow(attempt));
                tracing::warn!(consumer = name, award.id = %award_id, sequence = change.sequence, attempt, error = %format!("{error:#}"), "handler failed; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(error) => {
                tracing::error!(consumer = name, award.id = %award_id, sequence = change.sequence, error = %format!("{error:#}"), "handler failed for good; the change is set aside in the dead-letter file");
                let line = serde_json::json!({
                    "consumer": name,
                    "sequence": change.sequence,
                    "award_id": award_id.to_string(),
                    "error": format!("{error:#}"),
                });
                if let Err(write_error) = append_line(dead_letters, &line.to_string()) {
                    tracing::error!(path = %dead_letters.display(), error = %write_error, "cannot write the dead-letter file");
                }
            }
        }
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
