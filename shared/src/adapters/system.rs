//! The clock and randomness of the running system, and the fixed versions tests use.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::domain::Timestamp;
use crate::ports::{Clock, Random};

/// The system clock, truncated to whole seconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(time::OffsetDateTime::now_utc())
    }
}

/// A clock that stays where a test puts it.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self(AtomicI64::new(at.unix_seconds()))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.store(at.unix_seconds(), Ordering::SeqCst);
    }

    pub fn advance_seconds(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_seconds(self.0.load(Ordering::SeqCst))
    }
}

/// Randomness from the operating system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

/// Fills a buffer from the operating system's generator.
///
/// # Panics
/// When the operating system has no random source, which no supported platform lacks;
/// continuing would mint guessable tokens.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

impl Random for OsRandom {
    fn uuid(&self) -> Uuid {
        uuid::Builder::from_random_bytes(random_bytes::<16>()).into_uuid()
    }

    fn salt(&self) -> String {
        hex::encode(random_bytes::<16>())
    }

    fn token(&self) -> String {
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    }
}

/// Deterministic randomness for tests: counting UUIDs and tokens, and a salt the test sets.
#[derive(Debug)]
pub struct SequenceRandom {
    counter: AtomicU64,
    salt: Mutex<Option<String>>,
}

impl SequenceRandom {
    pub fn new() -> Self {
        Self {
            counter: AtomicU64::new(1),
            salt: Mutex::new(None),
        }
    }

    /// Makes every later `salt()` return this value.
    pub fn fix_salt(&self, salt: &str) {
        if let Ok(mut guard) = self.salt.lock() {
            *guard = Some(salt.to_owned());
        }
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }
}

impl Default for SequenceRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Random for SequenceRandom {
    fn uuid(&self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&self.next().to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn salt(&self) -> String {
        let fixed = self.salt.lock().ok().and_then(|guard| guard.clone());
        fixed.unwrap_or_else(|| format!("salt{:012}", self.next()))
    }

    fn token(&self) -> String {
        format!("test-token-{:020}", self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_uuid_is_v4() {
        assert_eq!(OsRandom.uuid().get_version_num(), 4);
    }

    #[test]
    fn os_random_token_has_256_bits() {
        let token = OsRandom.token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
    }

    #[test]
    fn sequence_random_uuids_are_v4_and_distinct() {
        let random = SequenceRandom::new();
        let (first, second) = (random.uuid(), random.uuid());
        assert_ne!(first, second);
        assert_eq!(first.get_version_num(), 4);
    }
}
