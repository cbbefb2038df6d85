//! `AwsSigningKeys`: the key contract on DynamoDB and SSM, where the private halves are
//! stored, a retry after a write that stopped halfway, and the errors that name parameters.

use std::sync::Arc;

use accolade::adapters::keys_contract::{self, new_issuer, new_key};
use accolade::keys::{KeyError, SigningAlgorithm};
use accolade::ports::{PublicKeys, SigningKeys};
use accolade_aws::{AwsSigningKeys, DynamoStore, SigningKeyPrefix};
use aws_sdk_ssm::types::ParameterType;

use crate::common::{Moto, moto, unique_name};
use crate::dynamo_store::new_store;

struct Fixture {
    store: DynamoStore,
    ssm: aws_sdk_ssm::Client,
    prefix: SigningKeyPrefix,
}

impl Fixture {
    async fn new(moto: &Moto) -> Self {
        let prefix =
            SigningKeyPrefix::parse(&format!("/{}/signing-keys", unique_name("accolade-test")))
                .expect("the test prefix is valid");
        Self {
            store: new_store(moto).await,
            ssm: aws_sdk_ssm::Client::new(&moto.sdk),
            prefix,
        }
    }

    /// A fresh adapter, with an empty cache, over the same table and parameters.
    fn keys(&self) -> AwsSigningKeys {
        AwsSigningKeys::new(self.store.clone(), self.ssm.clone(), self.prefix.clone())
    }

    async fn put_parameter(&self, name: &str, value: &str) {
        self.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "creating parameter {name} on moto failed: {}",
                    aws_sdk_ssm::error::DisplayErrorContext(&error)
                )
            });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_contract_on_dynamodb_and_ssm() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    keys_contract::run_all(Arc::new(fixture.keys())).await;
}

#[tokio::test]
async fn private_key_is_a_secure_string_under_prefix() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    let key = new_key(new_issuer(), SigningAlgorithm::Rs256, 100);
    fixture.keys().add_signing_key(&key).await.unwrap();

    let name = format!("{}/{}", fixture.prefix, key.key_id());
    let parameter = fixture
        .ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .unwrap_or_else(|error| panic!("reading parameter {name} failed: {error:?}"))
        .parameter
        .expect("the parameter has no value");
    assert_eq!(parameter.r#type, Some(ParameterType::SecureString));
    assert_eq!(
        parameter.value.as_deref(),
        Some(key.to_pkcs8_pem().unwrap().as_str())
    );

    // The table alone publishes the key, without access to the parameters.
    let published = fixture.store.get_public_key(key.key_id()).await.unwrap();
    assert_eq!(published.as_ref(), Some(key.public()));
    let listed = fixture
        .store
        .list_issuer_public_keys(key.issuer_id())
        .await
        .unwrap();
    assert_eq!(listed, vec![key.public().clone()]);
}

#[tokio::test]
async fn retry_after_private_half_written_succeeds() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    let key = new_key(new_issuer(), SigningAlgorithm::Es256, 100);
    // A first attempt wrote the private half and stopped before the public record.
    fixture
        .put_parameter(
            &fixture.prefix.parameter_name(key.key_id()),
            &key.to_pkcs8_pem().unwrap(),
        )
        .await;
    let keys = fixture.keys();
    assert!(
        keys.get_public_key(key.key_id()).await.unwrap().is_none(),
        "the key is not published before the retry"
    );

    keys.add_signing_key(&key).await.expect("the retry failed");

    let active = fixture
        .keys()
        .active_signing_key(key.issuer_id())
        .await
        .unwrap()
        .expect("the issuer has no active key after the retry");
    assert_eq!(active.public(), key.public());
}

#[tokio::test]
async fn parameter_of_other_key_is_rejected() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    let issuer = new_issuer();
    let key = new_key(issuer, SigningAlgorithm::Es256, 100);
    let other = new_key(issuer, SigningAlgorithm::Es256, 100);
    let name = fixture.prefix.parameter_name(key.key_id());
    fixture
        .put_parameter(&name, &other.to_pkcs8_pem().unwrap())
        .await;

    let error = fixture.keys().add_signing_key(&key).await.unwrap_err();
    assert!(matches!(error, KeyError::KeyMismatch { .. }), "{error}");
    assert!(error.to_string().contains(&name), "{error}");
    assert!(
        fixture
            .store
            .list_issuer_public_keys(issuer)
            .await
            .unwrap()
            .is_empty(),
        "a key whose parameter holds another key was published"
    );
}

#[tokio::test]
async fn missing_parameter_names_it() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    let key = new_key(new_issuer(), SigningAlgorithm::Es256, 100);
    // A public record whose private half was never stored.
    fixture.store.insert_public_key(key.public()).await.unwrap();

    let error = fixture.keys().signing_key(key.key_id()).await.unwrap_err();
    assert!(
        matches!(error, KeyError::PrivateKeyMissing { .. }),
        "{error}"
    );
    let name = fixture.prefix.parameter_name(key.key_id());
    assert!(error.to_string().contains(&name), "{error}");
    assert!(
        error.to_string().contains("accolade keys generate"),
        "{error}"
    );
}

#[tokio::test]
async fn plain_string_parameter_is_rejected() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    let key = new_key(new_issuer(), SigningAlgorithm::Es256, 100);
    let name = fixture.prefix.parameter_name(key.key_id());
    fixture
        .ssm
        .put_parameter()
        .name(&name)
        .value(key.to_pkcs8_pem().unwrap().as_str())
        .r#type(ParameterType::String)
        .send()
        .await
        .expect("creating the parameter failed");
    fixture.store.insert_public_key(key.public()).await.unwrap();

    let error = fixture.keys().signing_key(key.key_id()).await.unwrap_err();
    assert!(
        matches!(error, KeyError::InvalidPrivateKey { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("SecureString"), "{error}");
    assert!(error.to_string().contains(&name), "{error}");
}

#[tokio::test]
async fn private_key_is_cached_after_first_read() {
    let moto = moto().await;
    let fixture = Fixture::new(&moto).await;
    let key = new_key(new_issuer(), SigningAlgorithm::Es256, 100);
    fixture.keys().add_signing_key(&key).await.unwrap();

    let keys = fixture.keys();
    assert!(keys.signing_key(key.key_id()).await.unwrap().is_some());
    let name = fixture.prefix.parameter_name(key.key_id());
    fixture
        .ssm
        .delete_parameter()
        .name(&name)
        .send()
        .await
        .expect("deleting the parameter failed");

    let cached = keys.signing_key(key.key_id()).await.unwrap();
    assert_eq!(
        cached.map(|key| key.public().clone()).as_ref(),
        Some(key.public())
    );
    let error = fixture
        .keys()
        .signing_key(key.key_id())
        .await
        .expect_err("a fresh adapter read a deleted parameter");
    assert!(
        matches!(error, KeyError::PrivateKeyMissing { .. }),
        "{error}"
    );
}
