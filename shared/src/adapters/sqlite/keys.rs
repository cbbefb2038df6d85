//! Signing keys on the local stack: the public records in the `signing_keys` table and the
//! private keys as PEM files in a [`KeyFolder`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use anyhow::anyhow;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::rows::{from_json, to_json};
use super::store::{begin_write, commit};
use super::{SqlContext, SqliteStore};
use crate::domain::IssuerId;
use crate::keys::{KeyError, KeyFolder, KeyId, PublicKeyRecord, SigningKey};
use crate::ports::{PublicKeys, SigningKeys, StoreError};

const TABLE: &str = "signing_keys";

impl SqliteStore {
    /// Records a key's public half as the issuer's newest (active) key; `AlreadyExists` when
    /// the key id is recorded already.
    pub async fn insert_public_key(&self, record: &PublicKeyRecord) -> Result<(), StoreError> {
        let key_id = record.key_id.to_string();
        let doc = to_json("signing key", &key_id, record)?;
        let issuer_id = record.issuer_id.to_string();
        let created_at = record.created_at.unix_seconds();
        self.run(move |connection| {
            let transaction = begin_write(connection)?;
            let inserted = transaction
                .execute(
                    "INSERT INTO signing_keys (key_id, issuer_id, created_at, doc)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (key_id) DO NOTHING",
                    params![key_id, issuer_id, created_at, doc],
                )
                .context_sql(|| format!("recording signing key {key_id} failed"))?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists);
            }
            commit(transaction)
        })
        .await
    }

    async fn read_public_keys(
        &self,
        issuer: Option<IssuerId>,
    ) -> Result<Vec<PublicKeyRecord>, StoreError> {
        let issuer = issuer.map(|id| id.to_string());
        self.run(move |connection| {
            let context = || format!("reading table {TABLE} failed");
            let mut statement = connection
                .prepare_cached(
                    "SELECT key_id, doc FROM signing_keys
                     WHERE ?1 IS NULL OR issuer_id = ?1
                     ORDER BY sequence",
                )
                .context_sql(context)?;
            let rows = statement
                .query_map([&issuer], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .context_sql(context)?;
            let mut records = Vec::new();
            for row in rows {
                let (key_id, doc) = row.context_sql(context)?;
                records.push(from_json(TABLE, &key_id, &doc)?);
            }
            Ok(records)
        })
        .await
    }
}

#[async_trait]
impl PublicKeys for SqliteStore {
    async fn list_public_keys(&self) -> Result<Vec<PublicKeyRecord>, KeyError> {
        Ok(self.read_public_keys(None).await?)
    }

    async fn list_issuer_public_keys(
        &self,
        issuer: IssuerId,
    ) -> Result<Vec<PublicKeyRecord>, KeyError> {
        Ok(self.read_public_keys(Some(issuer)).await?)
    }

    async fn get_public_key(&self, key_id: &KeyId) -> Result<Option<PublicKeyRecord>, KeyError> {
        let key_id = key_id.to_string();
        let found = self
            .run(move |connection| {
                let doc: Option<String> = connection
                    .query_row(
                        "SELECT doc FROM signing_keys WHERE key_id = ?1",
                        [&key_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .context_sql(|| format!("reading signing key {key_id} failed"))?;
                doc.map(|doc| from_json(TABLE, &key_id, &doc)).transpose()
            })
            .await?;
        Ok(found)
    }
}

/// The local stack's signing keys: public records in the SQLite store, private keys in a
/// folder (`DATA_DIR/keys/{key-id}.pem`, mode 0600). Private keys are cached after the
/// first read, which is safe because a key id names one key for good.
pub struct LocalSigningKeys {
    store: SqliteStore,
    folder: KeyFolder,
    cache: Mutex<HashMap<KeyId, SigningKey>>,
}

impl std::fmt::Debug for LocalSigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigningKeys")
            .field("store", &self.store)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl LocalSigningKeys {
    pub fn new(store: SqliteStore, folder: KeyFolder) -> Self {
        Self {
            store,
            folder,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn folder(&self) -> &KeyFolder {
        &self.folder
    }

    fn cached(&self, key_id: &KeyId) -> Option<SigningKey> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key_id)
            .cloned()
    }

    fn remember(&self, key: &SigningKey) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.key_id().clone(), key.clone());
    }
}

async fn blocking<T: Send + 'static>(
    operation: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
) -> Result<T, KeyError> {
    tokio::task::spawn_blocking(operation)
        .await
        .map_err(|error| KeyError::Backend(anyhow!("the key folder task failed: {error}")))?
}

#[async_trait]
impl PublicKeys for LocalSigningKeys {
    async fn list_public_keys(&self) -> Result<Vec<PublicKeyRecord>, KeyError> {
        self.store.list_public_keys().await
    }

    async fn list_issuer_public_keys(
        &self,
        issuer: IssuerId,
    ) -> Result<Vec<PublicKeyRecord>, KeyError> {
        self.store.list_issuer_public_keys(issuer).await
    }

    async fn get_public_key(&self, key_id: &KeyId) -> Result<Option<PublicKeyRecord>, KeyError> {
        self.store.get_public_key(key_id).await
    }
}

#[async_trait]
impl SigningKeys for LocalSigningKeys {
    async fn signing_key(&self, key_id: &KeyId) -> Result<Option<SigningKey>, KeyError> {
        if let Some(key) = self.cached(key_id) {
            return Ok(Some(key));
        }
        let Some(record) = self.store.get_public_key(key_id).await? else {
            return Ok(None);
        };
        let folder = self.folder.clone();
        let key = blocking(move || folder.read(&record)).await?;
        self.remember(&key);
        Ok(Some(key))
    }

    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), KeyError> {
        let folder = self.folder.clone();
        let to_write = key.clone();
        blocking(move || folder.write(&to_write).map(|_| ())).await?;
        match self.store.insert_public_key(key.public()).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                return Err(KeyError::AlreadyExists(key.key_id().clone()));
            }
            Err(error) => return Err(error.into()),
        }
        self.remember(key);
        tracing::info!(key.id = %key.key_id(), issuer.id = %key.issuer_id(), algorithm = %key.algorithm(), "added a signing key");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::contract::fixtures;
    use crate::domain::Timestamp;
    use crate::keys::SigningAlgorithm;
    use crate::ports::Store;

    fn keys(folder: &tempfile::TempDir) -> (SqliteStore, LocalSigningKeys) {
        let store = SqliteStore::open(folder.path().join("store.db")).unwrap();
        let keys = LocalSigningKeys::new(store.clone(), KeyFolder::new(folder.path().join("keys")));
        (store, keys)
    }

    fn key(issuer: IssuerId, algorithm: SigningAlgorithm, at: i64) -> SigningKey {
        SigningKey::generate(issuer, algorithm, Timestamp::from_unix_seconds(at)).unwrap()
    }

    #[tokio::test]
    async fn last_added_key_is_active_and_old_keys_stay() {
        let folder = tempfile::tempdir().unwrap();
        let (store, keys) = keys(&folder);
        let issuer = fixtures::issuer();
        store.create_issuer(&issuer).await.unwrap();
        let other = IssuerId::from_uuid(uuid::Uuid::new_v4());

        assert!(keys.active_signing_key(issuer.id).await.unwrap().is_none());
        // Both keys share one creation second: the order of addition decides.
        let first = key(issuer.id, SigningAlgorithm::Rs256, 100);
        let second = key(issuer.id, SigningAlgorithm::Es256, 100);
        let theirs = key(other, SigningAlgorithm::Es256, 50);
        keys.add_signing_key(&first).await.unwrap();
        keys.add_signing_key(&theirs).await.unwrap();
        keys.add_signing_key(&second).await.unwrap();

        let active = keys.active_signing_key(issuer.id).await.unwrap().unwrap();
        assert_eq!(active.key_id(), second.key_id());
        let rsa = keys
            .latest_signing_key(issuer.id, SigningAlgorithm::Rs256)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rsa.key_id(), first.key_id());

        let mine: Vec<KeyId> = keys
            .list_issuer_public_keys(issuer.id)
            .await
            .unwrap()
            .into_iter()
            .map(|record| record.key_id)
            .collect();
        assert_eq!(mine, vec![first.key_id().clone(), second.key_id().clone()]);
        assert_eq!(keys.list_public_keys().await.unwrap().len(), 3);
        assert_eq!(
            keys.get_public_key(theirs.key_id()).await.unwrap().as_ref(),
            Some(theirs.public())
        );
    }

    #[tokio::test]
    async fn key_contract_on_local_keys() {
        let folder = tempfile::tempdir().unwrap();
        let (_store, keys) = keys(&folder);
        crate::adapters::keys_contract::run_all(std::sync::Arc::new(keys)).await;
    }

    #[tokio::test]
    async fn key_contract_on_memory_keys() {
        let keys = crate::keys::MemorySigningKeys::new();
        crate::adapters::keys_contract::run_all(std::sync::Arc::new(keys)).await;
    }

    #[tokio::test]
    async fn private_keys_are_read_back_from_files() {
        let folder = tempfile::tempdir().unwrap();
        let (store, keys) = keys(&folder);
        let issuer = IssuerId::from_uuid(uuid::Uuid::new_v4());
        let added = key(issuer, SigningAlgorithm::Rs256, 100);
        keys.add_signing_key(&added).await.unwrap();

        // A fresh adapter has an empty cache, so it reads the PEM file.
        let reopened = LocalSigningKeys::new(store, KeyFolder::new(folder.path().join("keys")));
        let read = reopened.signing_key(added.key_id()).await.unwrap().unwrap();
        assert_eq!(read.public(), added.public());
        assert!(
            reopened
                .signing_key(&KeyId::parse(&"A".repeat(43)).unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn adding_a_key_twice_is_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let (_store, keys) = keys(&folder);
        let added = key(
            IssuerId::from_uuid(uuid::Uuid::new_v4()),
            SigningAlgorithm::Es256,
            1,
        );
        keys.add_signing_key(&added).await.unwrap();
        assert!(matches!(
            keys.add_signing_key(&added).await.unwrap_err(),
            KeyError::AlreadyExists(_)
        ));
        assert_eq!(keys.list_public_keys().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn version_1_file_gains_the_key_table() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("old.db");
        {
            let connection = rusqlite::Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
                     INSERT INTO settings VALUES ('public_base_url', 'https://badges.example.org');
                     PRAGMA user_version = 1;",
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store
                .get_setting("public_base_url")
                .await
                .unwrap()
                .as_deref(),
            Some("https://badges.example.org")
        );
        let added = key(
            IssuerId::from_uuid(uuid::Uuid::new_v4()),
            SigningAlgorithm::Es256,
            1,
        );
        store.insert_public_key(added.public()).await.unwrap();
        drop(store);
        let version: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, 2);
    }
}
