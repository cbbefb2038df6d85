//! Private keys kept as files: `{folder}/{key-id}.pem`, PKCS#8 PEM, readable by the owner
//! only. The local stack keeps them in `DATA_DIR/keys/`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use zeroize::Zeroizing;

use super::{KeyError, KeyId, PublicKeyRecord, SigningKey};

/// A folder of private key files. Its methods block on file I/O: call them from a blocking
/// thread in async code.
#[derive(Debug, Clone)]
pub struct KeyFolder {
    root: PathBuf,
}

impl KeyFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a key, whether or not it exists.
    pub fn path_of(&self, key_id: &KeyId) -> PathBuf {
        // Key ids are base64url, so they are safe as file names.
        self.root.join(format!("{key_id}.pem"))
    }

    /// Writes a new key's file with mode 0600 (and the folder with 0700). Never replaces a
    /// file: a second write of the same key fails with `AlreadyExists`.
    pub fn write(&self, key: &SigningKey) -> Result<PathBuf, KeyError> {
        let pem = key.to_pkcs8_pem()?;
        let path = self.path_of(key.key_id());
        create_private_folder(&self.root).map_err(KeyError::Backend)?;

        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(KeyError::AlreadyExists(key.key_id().clone()));
            }
            Err(error) => {
                return Err(KeyError::Backend(
                    anyhow::Error::new(error)
                        .context(format!("cannot create the key file {}", path.display())),
                ));
            }
        };
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write the key file {}", path.display()))
            .map_err(KeyError::Backend)?;
        Ok(path)
    }

    /// Reads the private half of the key that `record` describes. Fails when the file is
    /// missing, unreadable, or holds another key.
    pub fn read(&self, record: &PublicKeyRecord) -> Result<SigningKey, KeyError> {
        let path = self.path_of(&record.key_id);
        let location = path.display().to_string();
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => Zeroizing::new(pem),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::PrivateKeyMissing {
                    key_id: record.key_id.clone(),
                    location,
                });
            }
            Err(error) => {
                return Err(KeyError::Backend(
                    anyhow::Error::new(error)
                        .context(format!("cannot read the key file {location}")),
                ));
            }
        };
        let key = SigningKey::from_pkcs8_pem(&pem, &location, record.issuer_id, record.created_at)?;
        key.with_record(record.clone())
            .map_err(|found| KeyError::KeyMismatch {
                location,
                expected: record.key_id.clone(),
                found,
            })
    }
}

fn create_private_folder(folder: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(folder)
        .with_context(|| format!("cannot create the key folder {}", folder.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IssuerId, Timestamp};
    use crate::keys::SigningAlgorithm;

    fn key() -> SigningKey {
        SigningKey::generate(
            IssuerId::from_uuid(uuid::Uuid::nil()),
            SigningAlgorithm::Es256,
            Timestamp::from_unix_seconds(1_700_000_000),
        )
        .unwrap()
    }

    #[test]
    fn write_then_read_gives_the_same_key() {
        let folder = tempfile::tempdir().unwrap();
        let keys = KeyFolder::new(folder.path().join("keys"));
        let key = key();
        let path = keys.write(&key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let read = keys.read(key.public()).unwrap();
        assert_eq!(read.public(), key.public());
        assert!(matches!(
            keys.write(&key).unwrap_err(),
            KeyError::AlreadyExists(_)
        ));
    }

    #[test]
    fn missing_and_swapped_files_are_reported() {
        let folder = tempfile::tempdir().unwrap();
        let keys = KeyFolder::new(folder.path());
        let first = key();
        let second = key();
        assert!(matches!(
            keys.read(first.public()).unwrap_err(),
            KeyError::PrivateKeyMissing { .. }
        ));
        // The second key's file under the first key's name.
        keys.write(&second).unwrap();
        std::fs::rename(keys.path_of(second.key_id()), keys.path_of(first.key_id())).unwrap();
        assert!(matches!(
            keys.read(first.public()).unwrap_err(),
            KeyError::KeyMismatch { .. }
        ));
    }
}
