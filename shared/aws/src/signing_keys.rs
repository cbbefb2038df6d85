//! Issuer signing keys on AWS: the public records in the table (see [`DynamoStore`]'s
//! [`PublicKeys`]) and the private keys as SSM Parameter Store SecureString parameters, one
//! per key, named `{prefix}/{key_id}`.
//!
//! Only the function that signs (bake-images) and `accolade keys` or `accolade admin` need
//! [`AwsSigningKeys`]. Functions that only publish or check keys use the [`DynamoStore`] as
//! [`PublicKeys`] and need no access to the parameters.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use accolade::domain::IssuerId;
use accolade::keys::{KeyError, KeyId, PublicKeyRecord, SigningKey};
use accolade::ports::{PublicKeys, SigningKeys, StoreError};
use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::ParameterType;
use zeroize::Zeroizing;

use crate::DynamoStore;

/// The longest prefix accepted. SSM parameter names are at most 1011 characters, and the
/// name adds `/` and the 43-character key id.
const MAX_PREFIX_CHARS: usize = 900;

/// The SSM parameter path under which the private keys are stored, such as
/// `/accolade/prod/signing-keys`, without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyPrefix(String);

/// A prefix that cannot name SSM parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "signing key parameter prefix {value:?} is not valid: {reason}; use a path such as /accolade/prod/signing-keys"
)]
pub struct InvalidSigningKeyPrefix {
    pub value: String,
    pub reason: &'static str,
}

impl SigningKeyPrefix {
    /// Parses a parameter path: `/`, then segments of letters, digits, `.`, `-` and `_`
    /// separated by single `/`. A trailing `/` is dropped. SSM reserves names that start
    /// with `aws` or `ssm`, in any case.
    pub fn parse(value: &str) -> Result<Self, InvalidSigningKeyPrefix> {
        let invalid = |reason| InvalidSigningKeyPrefix {
            value: value.chars().take(80).collect(),
            reason,
        };
        let trimmed = value.trim();
        let path = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let Some(first) = path.strip_prefix('/') else {
            return Err(invalid("it does not start with /"));
        };
        if first.is_empty() {
            return Err(invalid("it names no path below /"));
        }
        if path.chars().count() > MAX_PREFIX_CHARS {
            return Err(invalid("it is longer than 900 characters"));
        }
        if !path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_'))
        {
            return Err(invalid(
                "it contains characters other than letters, digits, '.', '-', '_' and '/'",
            ));
        }
        if path.contains("//") {
            return Err(invalid("it contains an empty segment (//)"));
        }
        let lower = first.to_ascii_lowercase();
        if lower.starts_with("aws") || lower.starts_with("ssm") {
            return Err(invalid("SSM reserves names that start with aws or ssm"));
        }
        Ok(Self(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the name of the parameter that stores the private key of `key_id`.
    pub fn parameter_name(&self, key_id: &KeyId) -> String {
        // Key ids are base64url, which SSM accepts in names.
        format!("{}/{key_id}", self.0)
    }
}

impl std::fmt::Display for SigningKeyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SigningKeyPrefix {
    type Err = InvalidSigningKeyPrefix;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

/// The signing keys of a deployment: public records in the DynamoDB table, private keys in
/// SSM SecureString parameters under a prefix. Private keys are read on first use and cached
/// for the life of the process, which is safe because a key id names one key for good.
pub struct AwsSigningKeys {
    store: DynamoStore,
    ssm: aws_sdk_ssm::Client,
    prefix: SigningKeyPrefix,
    cache: Mutex<HashMap<KeyId, SigningKey>>,
}

impl std::fmt::Debug for AwsSigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSigningKeys")
            .field("table", &self.store.table_name())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl AwsSigningKeys {
    pub fn new(store: DynamoStore, ssm: aws_sdk_ssm::Client, prefix: SigningKeyPrefix) -> Self {
        Self {
            store,
            ssm,
            prefix,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn prefix(&self) -> &SigningKeyPrefix {
        &self.prefix
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

    /// Reads the private key of `record` from its parameter and checks that it is that key.
    async fn read_private_key(&self, record: &PublicKeyRecord) -> Result<SigningKey, KeyError> {
        let name = self.prefix.parameter_name(&record.key_id);
        let location = format!("SSM parameter {name}");
        let output = match self
            .ssm
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                if let Some(GetParameterError::ParameterNotFound(_)) = error.as_service_error() {
                    return Err(KeyError::PrivateKeyMissing {
                        key_id: record.key_id.clone(),
                        location,
                    });
                }
                return Err(KeyError::Backend(anyhow!(
                    "reading {location} failed (the function needs ssm:GetParameter on it, and \
                     kms:Decrypt when it is encrypted with a customer managed key): {}",
                    DisplayErrorContext(&error)
                )));
            }
        };
        let Some(parameter) = output.parameter else {
            return Err(KeyError::PrivateKeyMissing {
                key_id: record.key_id.clone(),
                location,
            });
        };
        if parameter.r#type != Some(ParameterType::SecureString) {
            return Err(KeyError::InvalidPrivateKey {
                location,
                reason: "it is not a SecureString; store private keys only as SecureString \
                         parameters"
                    .to_owned(),
            });
        }
        let pem = Zeroizing::new(parameter.value.unwrap_or_default());
        let key = SigningKey::from_pkcs8_pem(&pem, &location, record.issuer_id, record.created_at)?;
        key.with_record(record.clone())
            .map_err(|found| KeyError::KeyMismatch {
                location,
                expected: record.key_id.clone(),
                found,
            })
    }

    /// Stores the private half of `key` in a new SecureString parameter. When the parameter
    /// exists already, which happens when an earlier attempt stopped before recording the
    /// public half, it succeeds if the parameter contains this very key.
    async fn write_private_key(&self, key: &SigningKey) -> Result<(), KeyError> {
        let name = self.prefix.parameter_name(key.key_id());
        let pem = key.to_pkcs8_pem()?;
        let result = self
            .ssm
            .put_parameter()
            .name(&name)
            .description(format!(
                "Accolade {} signing key of issuer {}",
                key.algorithm(),
                key.issuer_id()
            ))
            .value(pem.as_str())
            .r#type(ParameterType::SecureString)
            .overwrite(false)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(PutParameterError::ParameterAlreadyExists(_)) => {
                    // Fails with KeyMismatch when the parameter contains another key.
                    self.read_private_key(key.public()).await?;
                    tracing::info!(key.id = %key.key_id(), parameter = %name, "the private key parameter exists from an earlier attempt and contains this key");
                    Ok(())
                }
                _ => Err(KeyError::Backend(anyhow!(
                    "writing SSM parameter {name} failed (the caller needs ssm:PutParameter on \
                     it): {}",
                    DisplayErrorContext(&error)
                ))),
            },
        }
    }
}

#[async_trait]
impl PublicKeys for AwsSigningKeys {
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
impl SigningKeys for AwsSigningKeys {
    async fn signing_key(&self, key_id: &KeyId) -> Result<Option<SigningKey>, KeyError> {
        if let Some(key) = self.cached(key_id) {
            return Ok(Some(key));
        }
        let Some(record) = self.store.get_public_key(key_id).await? else {
            return Ok(None);
        };
        let key = self.read_private_key(&record).await?;
        self.remember(&key);
        Ok(Some(key))
    }

    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), KeyError> {
        self.write_private_key(key).await?;
        match self.store.insert_public_key(key.public()).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                return Err(KeyError::AlreadyExists(key.key_id().clone()));
            }
            Err(error) => return Err(error.into()),
        }
        self.remember(key);
        tracing::info!(key.id = %key.key_id(), issuer.id = %key.issuer_id(), algorithm = %key.algorithm(), parameter = %self.prefix.parameter_name(key.key_id()), "added a signing key");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_accepts_parameter_paths() {
        for (value, expected) in [
            ("/accolade/prod/signing-keys", "/accolade/prod/signing-keys"),
            (
                "/accolade/prod/signing-keys/",
                "/accolade/prod/signing-keys",
            ),
            ("/a.b_c-d", "/a.b_c-d"),
        ] {
            assert_eq!(SigningKeyPrefix::parse(value).unwrap().as_str(), expected);
        }
        let prefix = SigningKeyPrefix::parse("/accolade/keys").unwrap();
        let key_id = KeyId::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").unwrap();
        assert_eq!(
            prefix.parameter_name(&key_id),
            "/accolade/keys/NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn prefix_rejects_invalid_paths() {
        let long = format!("/{}", "a".repeat(MAX_PREFIX_CHARS));
        for value in [
            "",
            "/",
            "accolade/keys",
            "/accolade//keys",
            "/accolade keys",
            "/accolade/kéys",
            "/aws/keys",
            "/SSM/keys",
            long.as_str(),
        ] {
            let error = SigningKeyPrefix::parse(value).unwrap_err();
            assert!(
                error.to_string().contains("/accolade/prod/signing-keys"),
                "{error}"
            );
        }
    }
}
