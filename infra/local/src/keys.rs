//! Issuer signing keys in either store. On the local stack the private keys are PKCS#8 PEM
//! files in `DATA_DIR/keys/` (mode 0600) and the public records are in the store's
//! `signing_keys` table. On a deployment the public records are in the DynamoDB table and the
//! private keys are SSM SecureString parameters under `--key-prefix`.
//!
//! `accolade serve` gives every issuer without a key an RS256 key on start, the demo issuer
//! included, and `accolade admin create-issuer` gives the new issuer its first key.
//! `accolade keys generate` adds a key and makes it the active one, which is how keys rotate.
//! Keys are never removed, so credentials signed with an older key stay verifiable. Only key
//! ids are printed or logged.

use std::path::Path;
use std::sync::Arc;

use accolade::adapters::sqlite::{LocalSigningKeys, SqliteStore};
use accolade::adapters::system::SystemClock;
use accolade::domain::{IssuerId, Timestamp};
use accolade::keys::{KeyFolder, KeyId, PublicKeyRecord, SigningAlgorithm, SigningKey, key_url};
use accolade::ports::{Clock, PublicKeys, SigningKeys, Store};
use accolade::urls::PublicUrls;
use accolade_aws::{AwsSigningKeys, DynamoStore, SigningKeyPrefix};
use anyhow::{Context, anyhow};
use serde::Serialize;

use crate::admin::{StoreArgs, StoreKind};
use crate::serve::{PUBLIC_URL_SETTING, STORE_FILE};

/// The folder of private key files inside the data folder.
pub const KEYS_FOLDER: &str = "keys";
/// The algorithm of keys made without `--alg`.
pub const DEFAULT_ALGORITHM: SigningAlgorithm = SigningAlgorithm::Rs256;

/// Opens the signing keys of a data folder over its open store.
pub fn local_keys(store: &SqliteStore, data_dir: &Path) -> LocalSigningKeys {
    LocalSigningKeys::new(store.clone(), KeyFolder::new(data_dir.join(KEYS_FOLDER)))
}

/// Generates a key on a blocking thread, because RSA key generation takes up to seconds.
pub async fn generate_key(
    issuer: IssuerId,
    algorithm: SigningAlgorithm,
    created_at: Timestamp,
) -> anyhow::Result<SigningKey> {
    let key =
        tokio::task::spawn_blocking(move || SigningKey::generate(issuer, algorithm, created_at))
            .await
            .context("the key generation task failed")??;
    Ok(key)
}

/// Gives every issuer that has no signing key a new one of `algorithm`. Returns the keys
/// added.
pub async fn ensure_issuer_keys(
    store: &dyn Store,
    keys: &dyn SigningKeys,
    clock: &dyn Clock,
    algorithm: SigningAlgorithm,
) -> anyhow::Result<Vec<PublicKeyRecord>> {
    let mut added = Vec::new();
    for issuer in store.list_issuers().await? {
        if !keys.list_issuer_public_keys(issuer.id).await?.is_empty() {
            continue;
        }
        let key = generate_key(issuer.id, algorithm, clock.now()).await?;
        keys.add_signing_key(&key).await?;
        tracing::info!(issuer.id = %issuer.id, key.id = %key.key_id(), algorithm = %algorithm, "generated the issuer's first signing key");
        added.push(key.public().clone());
    }
    Ok(added)
}

/// A store and the signing keys beside it.
pub struct OpenKeys {
    pub store: Arc<dyn Store>,
    pub keys: Arc<dyn SigningKeys>,
}

/// Opens the signing keys of the store that `args` names: the embedded store of an existing
/// data folder, or a deployment's table with the SSM parameters under `--key-prefix`.
pub async fn open_keys(args: &StoreArgs) -> anyhow::Result<OpenKeys> {
    match args.store {
        StoreKind::Embedded => {
            let store = open_embedded_store(&args.data_dir)?;
            let keys = local_keys(&store, &args.data_dir);
            Ok(OpenKeys {
                store: Arc::new(store),
                keys: Arc::new(keys),
            })
        }
        StoreKind::Dynamodb => {
            let table = args.dynamodb_table()?;
            let prefix = args.key_prefix.as_deref().ok_or_else(|| {
                anyhow!(
                    "--store dynamodb needs --key-prefix (or SIGNING_KEY_PARAMETER_PREFIX) to store signing keys: the stack's SigningKeyParameterPrefix parameter, such as /accolade/prod/signing-keys"
                )
            })?;
            let prefix = SigningKeyPrefix::parse(prefix)?;
            let sdk = accolade_aws::sdk_config(args.endpoint_url.as_deref()).await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
            let keys = AwsSigningKeys::new(store.clone(), aws_sdk_ssm::Client::new(&sdk), prefix);
            Ok(OpenKeys {
                store: Arc::new(store),
                keys: Arc::new(keys),
            })
        }
    }
}

/// Opens the store that `args` names for reading its public key records, which are kept in
/// the store itself, so a DynamoDB table needs no `--key-prefix` here.
async fn open_public_keys(
    args: &StoreArgs,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn PublicKeys>)> {
    match args.store {
        StoreKind::Embedded => {
            let store = Arc::new(open_embedded_store(&args.data_dir)?);
            Ok((store.clone(), store))
        }
        StoreKind::Dynamodb => {
            let table = args.dynamodb_table()?;
            let sdk = accolade_aws::sdk_config(args.endpoint_url.as_deref()).await;
            let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
            Ok((store.clone(), store))
        }
    }
}

/// Opens the store of an existing data folder, without creating one.
fn open_embedded_store(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    let path = data_dir.join(STORE_FILE);
    if !path.exists() {
        anyhow::bail!(
            "there is no store at {}; start `accolade serve --data-dir {}` once, or pass the --data-dir of a running stack",
            path.display(),
            data_dir.display()
        );
    }
    Ok(SqliteStore::open(&path)?)
}

/// Returns the public base URL the store recorded, for the `kid` URLs; `None` before the
/// first start.
async fn recorded_urls(store: &dyn Store) -> anyhow::Result<Option<PublicUrls>> {
    match store.get_setting(PUBLIC_URL_SETTING).await? {
        Some(base) => Ok(Some(PublicUrls::parse(&base)?)),
        None => Ok(None),
    }
}

/// Names the store of `args` in messages.
fn store_name(args: &StoreArgs) -> String {
    match args.store {
        StoreKind::Embedded => args.data_dir.display().to_string(),
        StoreKind::Dynamodb => format!("table {}", args.table.as_deref().unwrap_or_default()),
    }
}

/// The options of `accolade keys generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub store: StoreArgs,
    /// The issuer to add a key to; `None` adds one to every issuer.
    pub issuer: Option<IssuerId>,
    pub algorithm: SigningAlgorithm,
}

/// A key as `accolade keys generate` and `accolade keys list` print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyListing {
    pub issuer_id: IssuerId,
    pub key_id: KeyId,
    pub algorithm: SigningAlgorithm,
    pub created_at: Timestamp,
    /// Whether this is the issuer's active key, the one that signs new credentials.
    pub active: bool,
    /// The JOSE `kid`, the URL that returns the key as a JWK; `None` before the first start
    /// has recorded the public URL.
    pub kid: Option<String>,
}

/// Adds a key to one issuer, or to every issuer, and makes it active: the rotation command.
/// Returns the new keys.
pub async fn generate_keys(options: &GenerateOptions) -> anyhow::Result<Vec<KeyListing>> {
    let OpenKeys { store, keys } = open_keys(&options.store).await?;
    let urls = recorded_urls(store.as_ref()).await?;
    let issuers = match options.issuer {
        Some(id) => match store.get_issuer(id).await? {
            Some(issuer) => vec![issuer],
            None => anyhow::bail!(
                "issuer {id} does not exist in {}; `accolade keys list` shows the issuers that have keys",
                store_name(&options.store)
            ),
        },
        None => store.list_issuers().await?,
    };
    if issuers.is_empty() {
        anyhow::bail!(
            "the store in {} has no issuers yet; start `accolade serve` once to create the demo \
             issuer, or create one with `accolade admin create-issuer`",
            store_name(&options.store)
        );
    }

    let mut generated = Vec::new();
    for issuer in issuers {
        let key = generate_key(issuer.id, options.algorithm, SystemClock.now()).await?;
        keys.add_signing_key(&key).await?;
        generated.push(listing(key.public(), true, urls.as_ref()));
    }
    Ok(generated)
}

/// Lists every key of every issuer, oldest first, marking each issuer's active key.
pub async fn list_keys(args: &StoreArgs) -> anyhow::Result<Vec<KeyListing>> {
    let (store, keys) = open_public_keys(args).await?;
    let urls = recorded_urls(store.as_ref()).await?;
    let records = keys.list_public_keys().await?;
    let listings = records
        .iter()
        .map(|record| {
            let newer_exists = records
                .iter()
                .skip_while(|other| other.key_id != record.key_id)
                .skip(1)
                .any(|other| other.issuer_id == record.issuer_id);
            listing(record, !newer_exists, urls.as_ref())
        })
        .collect();
    Ok(listings)
}

fn listing(record: &PublicKeyRecord, active: bool, urls: Option<&PublicUrls>) -> KeyListing {
    KeyListing {
        issuer_id: record.issuer_id,
        key_id: record.key_id.clone(),
        algorithm: record.algorithm,
        created_at: record.created_at,
        active,
        kid: urls.map(|urls| key_url(urls, &record.key_id)),
    }
}

#[cfg(test)]
mod tests {
    use accolade::adapters::contract::fixtures;
    use accolade::adapters::system::FixedClock;

    use super::*;

    #[tokio::test]
    async fn first_start_keys_then_rotation() {
        let folder = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(folder.path().join(STORE_FILE)).unwrap();
        store
            .put_setting_if_absent(PUBLIC_URL_SETTING, "http://127.0.0.1:8080")
            .await
            .unwrap();
        let issuer = fixtures::issuer();
        store.create_issuer(&issuer).await.unwrap();
        let keys = local_keys(&store, folder.path());
        let clock = FixedClock::new(Timestamp::from_unix_seconds(1_700_000_000));

        let added = ensure_issuer_keys(&store, &keys, &clock, DEFAULT_ALGORITHM)
            .await
            .unwrap();
        assert_eq!(added.len(), 1);
        let again = ensure_issuer_keys(&store, &keys, &clock, DEFAULT_ALGORITHM)
            .await
            .unwrap();
        assert!(again.is_empty(), "an issuer with a key gets no second one");

        let rotated = generate_keys(&GenerateOptions {
            store: StoreArgs::embedded(folder.path()),
            issuer: Some(issuer.id),
            algorithm: SigningAlgorithm::Es256,
        })
        .await
        .unwrap();
        assert_eq!(rotated.len(), 1);
        assert_eq!(rotated[0].algorithm, SigningAlgorithm::Es256);
        assert_eq!(
            rotated[0].kid.as_deref(),
            Some(format!("http://127.0.0.1:8080/keys/{}", rotated[0].key_id).as_str())
        );

        let listed = list_keys(&StoreArgs::embedded(folder.path()))
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].key_id, added[0].key_id);
        assert!(!listed[0].active, "the first key is no longer active");
        assert!(listed[1].active);
        let active = keys.active_signing_key(issuer.id).await.unwrap().unwrap();
        assert_eq!(active.key_id(), &rotated[0].key_id);
    }

    #[tokio::test]
    async fn unknown_issuer_and_missing_store_fail() {
        let folder = tempfile::tempdir().unwrap();
        let options = GenerateOptions {
            store: StoreArgs::embedded(folder.path()),
            issuer: None,
            algorithm: DEFAULT_ALGORITHM,
        };
        let error = generate_keys(&options).await.unwrap_err();
        assert!(error.to_string().contains("accolade serve"), "{error}");

        SqliteStore::open(folder.path().join(STORE_FILE)).unwrap();
        let missing = fixtures::issuer().id;
        let error = generate_keys(&GenerateOptions {
            issuer: Some(missing),
            ..options
        })
        .await
        .unwrap_err();
        assert!(error.to_string().contains(&missing.to_string()), "{error}");
    }
}
