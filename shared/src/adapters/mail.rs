//! Mailers: [`OutboxMailer`] writes each email as an `.eml` file in an outbox folder for the
//! local stack, and [`MemoryMailer`] records emails for tests. [`read_eml`] reads an outbox
//! file back.

mod eml;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use uuid::Uuid;

use crate::adapters::files::write_atomically;
use crate::ports::{MailError, Mailer, OutgoingEmail};

pub use eml::{AWARD_ID_HEADER, EmlError, ParsedEmail, read_eml};

/// A mailer that writes each email as an RFC 5322 `.eml` file in an outbox folder, where a
/// person can open it with a mail client or a text editor.
///
/// Files are named `{UTC time}-{message id}.eml`, with the time to the nanosecond, so sorting
/// the names lists the emails in the order they were sent. Each file appears whole or not at
/// all. The mailer logs nothing, because the caller knows which award an email is for.
#[derive(Debug)]
pub struct OutboxMailer {
    folder: PathBuf,
    /// The time of the latest file name, in Unix nanoseconds, so names stay in send order
    /// even when the clock steps back or two sends share a nanosecond.
    last_stamp: Mutex<i128>,
}

/// An email written to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFile {
    /// The `Message-ID` without its angle brackets, which `send` returns.
    pub message_id: String,
    pub path: PathBuf,
}

impl OutboxMailer {
    /// Makes a mailer for `folder`, which is created on the first send when it is missing.
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
            last_stamp: Mutex::new(i128::MIN),
        }
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Writes the email to the outbox and returns its message id and file.
    ///
    /// Fails with `Rejected` when the `From` value cannot be written as a header, and with
    /// `Transient` when the file cannot be written.
    pub async fn write(&self, email: &OutgoingEmail) -> Result<OutboxFile, MailError> {
        let message_id = format!(
            "{}@{}",
            Uuid::new_v4().simple(),
            message_id_domain(&email.from)
        );
        let now = OffsetDateTime::now_utc();
        let date = now.format(&Rfc2822).map_err(|error| {
            MailError::Transient(format!("formatting the Date header failed: {error}"))
        })?;
        let boundary = format!("=_accolade_{}", Uuid::new_v4().simple());
        let message = eml::write_message(&eml::Message {
            from: &email.from,
            to: email.to.as_str(),
            subject: &email.subject,
            date: &date,
            message_id: &message_id,
            award_id: email.award_id,
            boundary: &boundary,
            text: &email.text,
            html: &email.html,
        })
        .map_err(|error| MailError::Rejected(error.to_string()))?;

        let stamp = self.next_stamp(now);
        let path = self.folder.join(format!("{stamp}-{message_id}.eml"));
        let folder = self.folder.clone();
        let target = path.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&folder)?;
            write_atomically(&target, message.as_bytes())
        })
        .await
        .map_err(|error| MailError::Transient(format!("the outbox write task failed: {error}")))?
        .map_err(|error| {
            MailError::Transient(format!(
                "writing the email file {} failed: {error}",
                path.display()
            ))
        })?;
        Ok(OutboxFile { message_id, path })
    }

    /// Finds the file of an email that this outbox wrote, by the message id `send` returned.
    pub fn file_of(&self, message_id: &str) -> std::io::Result<Option<PathBuf>> {
        let suffix = format!("-{message_id}.eml");
        for entry in std::fs::read_dir(&self.folder)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().ends_with(&suffix) {
                return Ok(Some(entry.path()));
            }
        }
        Ok(None)
    }

    /// The email files in the outbox, oldest first.
    pub fn files(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.folder)? {
            let path = entry?.path();
            if path.extension().is_some_and(|extension| extension == "eml") {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// The sortable UTC time for the next file name, later than every earlier one.
    fn next_stamp(&self, now: OffsetDateTime) -> String {
        let mut last = self
            .last_stamp
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let nanos = now.unix_timestamp_nanos().max(last.saturating_add(1));
        *last = nanos;
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(now);
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.nanosecond()
        )
    }
}

/// The domain of the `From` address for message ids, or `accolade.invalid` when it has
/// characters that do not belong in a file name.
fn message_id_domain(from: &str) -> String {
    let address = from
        .rsplit_once('<')
        .map_or(from, |(_, rest)| rest.trim_end().trim_end_matches('>'));
    let domain = address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_ascii_lowercase());
    match domain {
        Some(domain)
            if !domain.is_empty()
                && domain.len() <= 253
                && domain
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-') =>
        {
            domain
        }
        _ => "accolade.invalid".to_owned(),
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        self.write(email).await.map(|file| file.message_id)
    }
}

/// A mailer that keeps every email in memory, for tests. [`fail_next`](Self::fail_next)
/// makes the next few sends fail, to test retries.
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

    fn rich_email() -> OutgoingEmail {
        let long_line = "Ω".repeat(1_000) + &"x".repeat(4_000);
        OutgoingEmail {
            subject: "Your badge: Safety & Co — سلامة 🎻".to_owned(),
            text: format!(
                "Hello Amara,\n\n{long_line}\n. a line that starts with a dot\nتهانينا 🎉 "
            ),
            html: "<p><b>Safety & Co</b> — سلامة 🎉</p>\n<p>=?not-a-word?= a=b</p>".to_owned(),
            ..email("unused")
        }
    }

    #[tokio::test]
    async fn outbox_round_trips_non_ascii() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path().join("outbox"));
        let sent = rich_email();
        let message_id = mailer.send(&sent).await.unwrap();
        let path = mailer.file_of(&message_id).unwrap().unwrap();
        let bytes = std::fs::read(&path).unwrap();

        let parsed = read_eml(&bytes).unwrap();
        assert_eq!(parsed.subject, sent.subject);
        assert_eq!(parsed.text, sent.text);
        assert_eq!(parsed.html, sent.html);
        assert_eq!(parsed.to, "amara@example.org");
        assert_eq!(parsed.from, sent.from);
        assert_eq!(parsed.award_id, sent.award_id);
        assert_eq!(parsed.message_id, message_id);
        assert!(message_id.ends_with("@example.org"), "{message_id}");
    }

    #[tokio::test]
    async fn outbox_file_is_valid_rfc_5322() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path());
        let file = mailer.write(&rich_email()).await.unwrap();
        let bytes = std::fs::read(&file.path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();

        assert!(bytes.is_ascii(), "the file has raw non-ASCII bytes");
        for line in text.split("\r\n") {
            assert!(line.len() <= 998, "a line has {} octets", line.len());
            assert!(!line.contains('\n'), "a line ends with a bare LF");
        }
        let (headers, _) = text.split_once("\r\n\r\n").unwrap();
        for name in [
            "From: ",
            "To: amara@example.org",
            "Subject: =?UTF-8?B?",
            "Date: ",
            "Message-ID: <",
            "X-Accolade-Award-Id: 00000000-0000-0000-0000-000000000000",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=",
        ] {
            assert!(headers.contains(name), "header {name:?} is missing");
        }
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8"));
        assert!(text.contains("Content-Transfer-Encoding: quoted-printable"));
        let date = headers
            .lines()
            .find_map(|line| line.strip_prefix("Date: "))
            .unwrap();
        assert!(OffsetDateTime::parse(date, &Rfc2822).is_ok(), "{date}");
    }

    #[tokio::test]
    async fn outbox_files_sort_in_send_order() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path());
        let mut ids = Vec::new();
        for index in 0..20 {
            ids.push(
                mailer
                    .send(&email(&format!("email {index}")))
                    .await
                    .unwrap(),
            );
        }
        let files = mailer.files().unwrap();
        assert_eq!(files.len(), 20);
        for (index, file) in files.iter().enumerate() {
            let parsed = read_eml(&std::fs::read(file).unwrap()).unwrap();
            assert_eq!(parsed.subject, format!("email {index}"));
            assert_eq!(parsed.message_id, ids[index]);
        }
    }

    #[tokio::test]
    async fn outbox_rejects_from_with_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path());
        let injected = OutgoingEmail {
            from: "Badges <badges@example.org>\r\nBcc: someone@example.org".to_owned(),
            ..email("subject")
        };
        let error = mailer.send(&injected).await.unwrap_err();
        assert!(matches!(error, MailError::Rejected(_)), "{error}");
        assert!(mailer.files().unwrap().is_empty());
    }

    #[tokio::test]
    async fn outbox_write_failure_is_transient() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("outbox");
        std::fs::write(&blocked, b"a file where the folder should be").unwrap();
        let mailer = OutboxMailer::new(&blocked);
        let error = mailer.send(&email("subject")).await.unwrap_err();
        assert!(matches!(error, MailError::Transient(_)), "{error}");
        assert!(error.is_retryable());
    }

    #[test]
    fn message_id_domain_comes_from_sender() {
        assert_eq!(
            message_id_domain("Badges <badges@Music.Example.org>"),
            "music.example.org"
        );
        assert_eq!(message_id_domain("badges@example.org"), "example.org");
        assert_eq!(
            message_id_domain("Badges <badges@exämple.org>"),
            "accolade.invalid"
        );
        assert_eq!(message_id_domain("no address"), "accolade.invalid");
    }
}
