//! File stores: [`FolderFileStore`] keeps files under a local folder for the local stack, and
//! [`MemoryFileStore`] keeps them in memory for tests.
//!
//! Both accept the same keys: relative paths of ASCII letters, digits, `-`, `_`, `.` and `/`
//! with no empty segment and no segment that starts with a dot. The dot rule rejects `.` and
//! `..`, so a key never leaves the root folder, and it leaves dot names free for the folder
//! store's own sidecar and temporary files.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::ports::{FileStore, FileStoreError, StoredFile};

/// The longest key accepted, in bytes. S3 allows 1,024; the same limit keeps both stores
/// interchangeable.
pub const MAX_KEY_LEN: usize = 1024;

/// Checks a file key against the rules in the module documentation.
pub fn validate_key(key: &str) -> Result<(), FileStoreError> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
    let valid = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.split('/').all(|segment| {
            !segment.is_empty() && !segment.starts_with('.') && segment.bytes().all(allowed)
        });
    if valid {
        Ok(())
    } else {
        Err(FileStoreError::InvalidKey(key.chars().take(200).collect()))
    }
}

/// Files kept in memory, for tests of components that store images.
#[derive(Debug, Default)]
pub struct MemoryFileStore {
    files: Mutex<BTreeMap<String, StoredFile>>,
}

impl MemoryFileStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys stored so far, in byte order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredFile>> {
        // Each map operation is a single insert or read, so a panic elsewhere cannot leave
        // the map half-written.
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl FileStore for MemoryFileStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), FileStoreError> {
        validate_key(key)?;
        let file = StoredFile {
            bytes,
            content_type: content_type.to_owned(),
        };
        self.lock().insert(key.to_owned(), file);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<StoredFile>, FileStoreError> {
        validate_key(key)?;
        Ok(self.lock().get(key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_keys_are_accepted() {
        for key in [
            "image.png",
            "achievements/123e4567-e89b-42d3-a456-426614174000/image.png",
            "awards/a_b/baked-v2.svg",
            "a/b/c/d.e.f",
        ] {
            assert!(validate_key(key).is_ok(), "key {key:?} was rejected");
        }
    }

    #[test]
    fn invalid_keys_are_rejected() {
        let long = "a".repeat(MAX_KEY_LEN + 1);
        for key in [
            "",
            "/etc/passwd",
            "../secret",
            "a/../b",
            "a/./b",
            ".hidden",
            "a/.content-type",
            "a//b",
            "a/",
            "a b.png",
            "a\\b.png",
            "ímage.png",
            "a\0b",
            long.as_str(),
        ] {
            assert!(
                matches!(validate_key(key), Err(FileStoreError::InvalidKey(_))),
                "key {key:?} was accepted"
            );
        }
    }

    #[tokio::test]
    async fn memory_store_round_trips() {
        let store = MemoryFileStore::new();
        store
            .put("a/image.png", vec![1, 2, 3], "image/png")
            .await
            .unwrap();
        let file = store.get("a/image.png").await.unwrap().unwrap();
        assert_eq!(file.bytes, vec![1, 2, 3]);
        assert_eq!(file.content_type, "image/png");
        assert_eq!(store.get("a/other.png").await.unwrap(), None);
        assert_eq!(store.keys(), vec!["a/image.png".to_owned()]);
    }

    #[tokio::test]
    async fn memory_store_rejects_invalid_key() {
        let store = MemoryFileStore::new();
        let error = store.put("../x", vec![], "image/png").await.unwrap_err();
        assert!(matches!(error, FileStoreError::InvalidKey(key) if key == "../x"));
        assert!(store.get("/x").await.is_err());
    }
}
