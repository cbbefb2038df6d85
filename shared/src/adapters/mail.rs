//! Mailers: [`MemoryMailer`] records emails for tests.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::ports::{MailError, Mailer, OutgoingEmail};

/// A mailer that keeps every email in memory, for tests. It can be told to fail the next
/// few sends, to test retries.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    sent: Vec<(String, OutgoingEmail)>,
    attempts: usize,
    failures_left: usize,
    failure: Option<MailError>,
}

/// A copy of a mail error; `MailError` itself is not `Clone`.
fn copy_error(error: &MailError) -> MailError {
    match error {
        MailError::Throttled => MailError::Throttled,
        MailError::Transient(message) => MailError::Transient(message.clone()),
        MailError::Rejected(message) => MailError::Rejected(message.clone()),
    }
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The emails sent so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.lock()
            .sent
            .iter()
            .map(|(_, email)| email.clone())
            .collect()
    }

    /// The emails sent so far with the message id each send returned, oldest first.
    pub fn sent_with_ids(&self) -> Vec<(String, OutgoingEmail)> {
        self.lock().sent.clone()
    }

    /// How many times `send` was called, failed sends included.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    /// Makes the next `count` sends fail with `error` and record nothing. Replaces any
    /// failures still pending from an earlier call.
    pub fn fail_next(&self, count: usize, error: MailError) {
        let mut state = self.lock();
        state.failures_left = count;
        state.failure = Some(error);
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // Every update of the state is a few plain assignments with nothing that can panic
        // between them, so a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let mut state = self.lock();
        state.attempts += 1;
        if state.failures_left > 0 {
            state.failures_left -= 1;
            if let Some(error) = &state.failure {
                return Err(copy_error(error));
            }
        }
        let message_id = format!("memory-{:06}", state.sent.len() + 1);
        state.sent.push((message_id.clone(), email.clone()));
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AwardId, EmailAddress};

    fn email(subject: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: EmailAddress::parse("amara@example.org").unwrap(),
            from: "Accolade badges <badges@example.org>".to_owned(),
            subject: subject.to_owned(),
            text: "text".to_owned(),
            html: "<p>html</p>".to_owned(),
            award_id: AwardId::from_uuid(uuid::Uuid::nil()),
        }
    }

    #[tokio::test]
    async fn memory_mailer_records_sends() {
        let mailer = MemoryMailer::new();
        let first = mailer.send(&email("one")).await.unwrap();
        let second = mailer.send(&email("two")).await.unwrap();
        assert_ne!(first, second);
        let subjects: Vec<String> = mailer.sent().into_iter().map(|e| e.subject).collect();
        assert_eq!(subjects, ["one", "two"]);
        assert_eq!(mailer.sent_with_ids()[1].0, second);
    }

    #[tokio::test]
    async fn memory_mailer_fails_next_sends() {
        let mailer = MemoryMailer::new();
        mailer.fail_next(2, MailError::Transient("connection reset".to_owned()));
        for _ in 0..2 {
            let error = mailer.send(&email("retry")).await.unwrap_err();
            assert!(matches!(error, MailError::Transient(ref m) if m == "connection reset"));
            assert!(error.is_retryable());
        }
        assert!(mailer.sent().is_empty());
        mailer.send(&email("retry")).await.unwrap();
        assert_eq!(mailer.sent().len(), 1);
        assert_eq!(mailer.attempts(), 3);
    }
}
