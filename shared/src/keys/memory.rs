//! Signing keys held in memory, for tests of the components that sign and publish.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{KeyError, KeyId, PublicKeyRecord, SigningKey};
use crate::domain::IssuerId;
use crate::ports::{PublicKeys, SigningKeys};

/// Keys in a list, in the order they were added. Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemorySigningKeys {
    keys: Mutex<Vec<SigningKey>>,
}

impl MemorySigningKeys {
    pub fn new() -> Self {
        Self::default()
    }

    fn snapshot(&self) -> Vec<SigningKey> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl PublicKeys for MemorySigningKeys {
    async fn list_public_keys(&self) -> Result<Vec<PublicKeyRecord>, KeyError> {
        Ok(self
            .snapshot()
            .iter()
            .map(|key| key.public().clone())
            .collect())
    }

    async fn list_issuer_public_keys(
        &self,
        issuer: IssuerId,
    ) -> Result<Vec<PublicKeyRecord>, KeyError> {
        Ok(self
            .snapshot()
            .iter()
            .filter(|key| key.issuer_id() == issuer)
            .map(|key| key.public().clone())
            .collect())
    }

    async fn get_public_key(&self, key_id: &KeyId) -> Result<Option<PublicKeyRecord>, KeyError> {
        Ok(self
            .snapshot()
            .iter()
            .find(|key| key.key_id() == key_id)
            .map(|key| key.public().clone()))
    }
}

#[async_trait]
impl SigningKeys for MemorySigningKeys {
    async fn signing_key(&self, key_id: &KeyId) -> Result<Option<SigningKey>, KeyError> {
        Ok(self
            .snapshot()
            .into_iter()
            .find(|key| key.key_id() == key_id))
    }

    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), KeyError> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys
            .iter()
            .any(|existing| existing.key_id() == key.key_id())
        {
            return Err(KeyError::AlreadyExists(key.key_id().clone()));
        }
        keys.push(key.clone());
        Ok(())
    }
}
