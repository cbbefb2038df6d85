//! File stores: [`FolderFileStore`] keeps files under a local folder for the local stack, and
//! [`MemoryFileStore`] keeps them in memory for tests.
//!
//! Both accept the same keys: relative paths of ASCII letters, digits, `-`, `_`, `.` and `/`
//! with no empty segment and no segment that starts with a dot. The dot rule rejects `.` and
//! `..`, so a key never leaves the root folder, and it leaves dot names free for the folder
//! store's own sidecar and temporary files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::anyhow;
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

/// The longest content type accepted, in bytes (RFC 6838 allows 127 for each of the type and
/// the subtype).
pub const MAX_CONTENT_TYPE_LEN: usize = 255;

/// Checks a content type: printable ASCII with a `/`, as it will be sent in a header.
pub fn validate_content_type(content_type: &str) -> Result<(), FileStoreError> {
    let valid = content_type.len() <= MAX_CONTENT_TYPE_LEN
        && content_type
            .bytes()
            .all(|byte| (b' '..=b'~').contains(&byte))
        && content_type
            .split_once('/')
            .is_some_and(|(kind, subtype)| !kind.trim().is_empty() && !subtype.trim().is_empty());
    if valid {
        Ok(())
    } else {
        Err(FileStoreError::Backend(anyhow!(
            "content type {:?} is not valid; pass a media type such as image/png",
            content_type.chars().take(100).collect::<String>()
        )))
    }
}

/// The content type for a file whose sidecar is missing, from its extension.
fn content_type_from_extension(key: &str) -> &'static str {
    let extension = key
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("jsonld") => "application/ld+json",
        Some("html") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader sees the old file or the new one, never a part. The data is flushed to disk before
/// the rename, so a crash cannot leave an empty file under the final name.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let folder = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The dot prefix keeps temporary files out of valid keys and out of `*.eml` listings.
    let temporary = folder.join(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create_new(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        // Best effort: the temporary file may not exist if creating it was what failed.
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

/// Files under a root folder, for the local stack: the file of key `a/b.png` is
/// `{root}/a/b.png`, so a person can open it directly.
///
/// The content type of each file is kept in a sidecar file beside it, `a/.b.png.content-type`.
/// Sidecar names start with a dot, which no key segment may, so they never clash with a key.
/// A file without a sidecar (copied in by hand) gets a type from its extension. Both files
/// are written atomically, the sidecar first.
#[derive(Debug, Clone)]
pub struct FolderFileStore {
    root: PathBuf,
}

impl FolderFileStore {
    /// Makes a store under `root`, which is created on the first `put` when it is missing.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of the file of `key`, whether or not it exists.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, FileStoreError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn sidecar_of(path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        path.with_file_name(format!(".{name}.content-type"))
    }
}

fn backend(context: String, error: std::io::Error) -> FileStoreError {
    FileStoreError::Backend(anyhow::Error::new(error).context(context))
}

async fn run_blocking<T: Send + 'static>(
    operation: impl FnOnce() -> Result<T, FileStoreError> + Send + 'static,
) -> Result<T, FileStoreError> {
    tokio::task::spawn_blocking(operation)
        .await
        .map_err(|error| FileStoreError::Backend(anyhow!("the file store task failed: {error}")))?
}

#[async_trait]
impl FileStore for FolderFileStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), FileStoreError> {
        let path = self.path_of(key)?;
        validate_content_type(content_type)?;
        let content_type = content_type.to_owned();
        run_blocking(move || {
            let context = || format!("writing file {} failed", path.display());
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).map_err(|error| backend(context(), error))?;
            }
            write_atomically(&Self::sidecar_of(&path), content_type.as_bytes())
                .map_err(|error| backend(context(), error))?;
            write_atomically(&path, &bytes).map_err(|error| backend(context(), error))
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<StoredFile>, FileStoreError> {
        let path = self.path_of(key)?;
        let fallback_type = content_type_from_extension(key);
        run_blocking(move || {
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                // A key whose path crosses a file, such as `a/b` when `a` is a file, cannot exist.
                Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
                Err(error) => {
                    return Err(backend(
                        format!("reading file {} failed", path.display()),
                        error,
                    ));
                }
            };
            let sidecar = Self::sidecar_of(&path);
            let content_type = match std::fs::read_to_string(&sidecar) {
                Ok(content_type) => content_type.trim().to_owned(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    fallback_type.to_owned()
                }
                Err(error) => {
                    return Err(backend(
                        format!("reading the content type file {} failed", sidecar.display()),
                        error,
                    ));
                }
            };
            Ok(Some(StoredFile {
                bytes,
                content_type,
            }))
        })
        .await
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
        validate_content_type(content_type)?;
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

    fn folder_entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn folder_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("files");
        let store = FolderFileStore::new(&root);
        store
            .put("awards/a1/badge.svg", b"<svg/>".to_vec(), "image/svg+xml")
            .await
            .unwrap();

        let reopened = FolderFileStore::new(&root);
        let file = reopened.get("awards/a1/badge.svg").await.unwrap().unwrap();
        assert_eq!(file.bytes, b"<svg/>");
        assert_eq!(file.content_type, "image/svg+xml");
        assert_eq!(
            std::fs::read(root.join("awards/a1/badge.svg")).unwrap(),
            b"<svg/>"
        );
        assert_eq!(
            folder_entries(&root.join("awards/a1")),
            [".badge.svg.content-type", "badge.svg"]
        );
    }

    #[tokio::test]
    async fn folder_store_replaces_file_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderFileStore::new(dir.path());
        store.put("image", vec![1], "image/png").await.unwrap();
        store
            .put("image", vec![2, 2], "image/svg+xml")
            .await
            .unwrap();
        let file = store.get("image").await.unwrap().unwrap();
        assert_eq!(file.bytes, vec![2, 2]);
        assert_eq!(file.content_type, "image/svg+xml");
        assert_eq!(folder_entries(dir.path()), [".image.content-type", "image"]);
    }

    #[tokio::test]
    async fn folder_store_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderFileStore::new(dir.path().join("not-created-yet"));
        assert_eq!(store.get("a/b.png").await.unwrap(), None);
        store.put("a", vec![1], "image/png").await.unwrap();
        // `a` is a file, so no key below it can exist.
        assert_eq!(store.get("a/b.png").await.unwrap(), None);
        let error = store
            .put("a/b.png", vec![1], "image/png")
            .await
            .unwrap_err();
        assert!(matches!(error, FileStoreError::Backend(_)), "{error}");
        assert!(error.to_string().contains("a/b.png"), "{error}");
    }

    #[tokio::test]
    async fn folder_store_infers_type_without_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("copied.png"), [137, 80]).unwrap();
        std::fs::write(dir.path().join("copied.bin"), [0]).unwrap();
        let store = FolderFileStore::new(dir.path());
        let png = store.get("copied.png").await.unwrap().unwrap();
        let other = store.get("copied.bin").await.unwrap().unwrap();
        assert_eq!(png.content_type, "image/png");
        assert_eq!(other.content_type, "application/octet-stream");
    }

    #[tokio::test]
    async fn folder_store_rejects_escaping_keys() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let store = FolderFileStore::new(&root);
        for key in ["../outside.png", "/tmp/outside.png", "a/../../outside.png"] {
            let error = store.put(key, vec![1], "image/png").await.unwrap_err();
            assert!(
                matches!(error, FileStoreError::InvalidKey(_)),
                "key {key:?}"
            );
        }
        assert_eq!(folder_entries(dir.path()), Vec::<String>::new());
    }

    #[tokio::test]
    async fn invalid_content_type_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let folder = FolderFileStore::new(dir.path());
        let memory = MemoryFileStore::new();
        for content_type in ["", "png", "image/png\r\nX-Injected: 1", "image/"] {
            assert!(
                folder.put("a.png", vec![1], content_type).await.is_err(),
                "{content_type:?}"
            );
            assert!(
                memory.put("a.png", vec![1], content_type).await.is_err(),
                "{content_type:?}"
            );
        }
        assert_eq!(folder.get("a.png").await.unwrap(), None);
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.eml");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(folder_entries(dir.path()), ["out.eml"]);
    }

    #[test]
    fn atomic_write_into_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.eml");
        assert!(write_atomically(&path, b"x").is_err());
        assert_eq!(folder_entries(dir.path()), Vec::<String>::new());
    }
}
