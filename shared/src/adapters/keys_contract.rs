//! The contract every [`SigningKeys`] implementation must meet, as cases that run against
//! any of them. Built only for tests and with the `contract-tests` feature.
//!
//! Each case makes keys for fresh random issuers, so the cases may share one key store.
//! Cases that look at [`PublicKeys::list_public_keys`] check the relative order of their own
//! keys only, because other cases may add keys to the same store meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jsonwebtoken::{Header, Validation};

use crate::domain::{IssuerId, Timestamp};
use crate::keys::{KeyError, KeyId, SigningAlgorithm, SigningKey};
use crate::ports::SigningKeys;

/// The future of one contract case.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// One contract case: it panics when the key store breaks the contract.
pub type Case = fn(Arc<dyn SigningKeys>) -> CaseFuture;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every contract case, by name.
        pub const CASES: &[(&str, Case)] = &[
            $((stringify!($name), |keys| Box::pin($name(keys)))),*
        ];
    };
}

cases![
    keys_listed_oldest_first,
    active_key_is_last_added,
    rotation_keeps_old_keys,
    key_found_by_id,
    unknown_key_id_is_none,
    private_key_round_trips_and_signs,
    adding_key_twice_is_rejected,
];

/// Runs every case on `keys` and panics at the end naming every case that failed.
pub async fn run_all(keys: Arc<dyn SigningKeys>) {
    let mut failures = Vec::new();
    for (name, case) in CASES {
        // Each case runs as its own task, so a panic fails that case and the others still run.
        match tokio::spawn(case(keys.clone())).await {
            Ok(()) => println!("key contract case {name}: ok"),
            Err(error) => {
                let message = match error.try_into_panic() {
                    Ok(panic) => panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                        .unwrap_or_else(|| "panicked".to_owned()),
                    Err(error) => error.to_string(),
                };
                println!("key contract case {name}: FAILED: {message}");
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} key contract cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// A fresh issuer id that no other case uses.
pub fn new_issuer() -> IssuerId {
    IssuerId::from_uuid(uuid::Uuid::new_v4())
}

/// Generates a key of `algorithm` for `issuer`, created at `unix_seconds`.
pub fn new_key(issuer: IssuerId, algorithm: SigningAlgorithm, unix_seconds: i64) -> SigningKey {
    SigningKey::generate(
        issuer,
        algorithm,
        Timestamp::from_unix_seconds(unix_seconds),
    )
    .expect("generating a key failed")
}

async fn issuer_key_ids(keys: &dyn SigningKeys, issuer: IssuerId) -> Vec<KeyId> {
    keys.list_issuer_public_keys(issuer)
        .await
        .expect("listing the issuer's keys failed")
        .into_iter()
        .map(|record| record.key_id)
        .collect()
}

pub async fn keys_listed_oldest_first(keys: Arc<dyn SigningKeys>) {
    let issuer = new_issuer();
    let other = new_issuer();
    // All three share one creation second, so only the order of addition can decide.
    let first = new_key(issuer, SigningAlgorithm::Es256, 100);
    let theirs = new_key(other, SigningAlgorithm::Es256, 100);
    let second = new_key(issuer, SigningAlgorithm::Es256, 100);
    for key in [&first, &theirs, &second] {
        keys.add_signing_key(key)
            .await
            .expect("adding a key failed");
    }

    assert_eq!(
        issuer_key_ids(keys.as_ref(), issuer).await,
        vec![first.key_id().clone(), second.key_id().clone()]
    );
    assert_eq!(
        issuer_key_ids(keys.as_ref(), other).await,
        vec![theirs.key_id().clone()]
    );
    let all: Vec<KeyId> = keys
        .list_public_keys()
        .await
        .expect("listing every key failed")
        .into_iter()
        .map(|record| record.key_id)
        .filter(|id| [first.key_id(), theirs.key_id(), second.key_id()].contains(&id))
        .collect();
    assert_eq!(
        all,
        vec![
            first.key_id().clone(),
            theirs.key_id().clone(),
            second.key_id().clone()
        ]
    );
}

pub async fn active_key_is_last_added(keys: Arc<dyn SigningKeys>) {
    let issuer = new_issuer();
    assert!(
        keys.active_signing_key(issuer)
            .await
            .expect("reading the active key failed")
            .is_none(),
        "an issuer without keys has no active key"
    );
    let rsa = new_key(issuer, SigningAlgorithm::Rs256, 200);
    let ec = new_key(issuer, SigningAlgorithm::Es256, 100);
    keys.add_signing_key(&rsa)
        .await
        .expect("adding a key failed");
    keys.add_signing_key(&ec)
        .await
        .expect("adding a key failed");

    // The EC key is older by its creation time but was added last.
    let active = keys
        .active_signing_key(issuer)
        .await
        .expect("reading the active key failed")
        .expect("the issuer has no active key");
    assert_eq!(active.key_id(), ec.key_id());
    let latest_rsa = keys
        .latest_signing_key(issuer, SigningAlgorithm::Rs256)
        .await
        .expect("reading the latest RS256 key failed")
        .expect("the issuer has no RS256 key");
    assert_eq!(latest_rsa.key_id(), rsa.key_id());
}

pub async fn rotation_keeps_old_keys(keys: Arc<dyn SigningKeys>) {
    let issuer = new_issuer();
    let old = new_key(issuer, SigningAlgorithm::Es256, 100);
    let new = new_key(issuer, SigningAlgorithm::Es256, 200);
    keys.add_signing_key(&old)
        .await
        .expect("adding a key failed");
    keys.add_signing_key(&new).await.expect("rotating failed");

    assert_eq!(issuer_key_ids(keys.as_ref(), issuer).await.len(), 2);
    let old_public = keys
        .get_public_key(old.key_id())
        .await
        .expect("reading the old key failed");
    assert_eq!(old_public.as_ref(), Some(old.public()));
    let old_private = keys
        .signing_key(old.key_id())
        .await
        .expect("reading the old private key failed")
        .expect("the old private key is gone");
    assert_eq!(old_private.public(), old.public());
    let active = keys
        .active_signing_key(issuer)
        .await
        .expect("reading the active key failed")
        .expect("the issuer has no active key");
    assert_eq!(active.key_id(), new.key_id());
}

pub async fn key_found_by_id(keys: Arc<dyn SigningKeys>) {
    let key = new_key(new_issuer(), SigningAlgorithm::Rs256, 300);
    keys.add_signing_key(&key)
        .await
        .expect("adding a key failed");
    let found = keys
        .get_public_key(key.key_id())
        .await
        .expect("reading the key failed");
    assert_eq!(found.as_ref(), Some(key.public()));
}

pub async fn unknown_key_id_is_none(keys: Arc<dyn SigningKeys>) {
    let unknown = new_key(new_issuer(), SigningAlgorithm::Es256, 1);
    assert!(
        keys.get_public_key(unknown.key_id())
            .await
            .expect("reading an unknown key failed")
            .is_none()
    );
    assert!(
        keys.signing_key(unknown.key_id())
            .await
            .expect("reading an unknown private key failed")
            .is_none()
    );
}

#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
struct Claims {
    iss: String,
}

pub async fn private_key_round_trips_and_signs(keys: Arc<dyn SigningKeys>) {
    for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
        let key = new_key(new_issuer(), algorithm, 400);
        keys.add_signing_key(&key)
            .await
            .expect("adding a key failed");
        let read = keys
            .signing_key(key.key_id())
            .await
            .expect("reading the private key failed")
            .expect("the private key is missing");
        assert_eq!(read.public(), key.public());

        let claims = Claims {
            iss: "https://badges.example.org/issuers/x".to_owned(),
        };
        let token = read
            .sign(&Header::new(algorithm.jwt_algorithm()), &claims)
            .expect("signing failed");
        let public = keys
            .get_public_key(key.key_id())
            .await
            .expect("reading the public key failed")
            .expect("the public key is missing");
        let mut validation = Validation::new(algorithm.jwt_algorithm());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<Claims>(
            &token,
            &public.decoding_key().expect("the public key is not usable"),
            &validation,
        )
        .expect("the signature does not verify with the published key");
        assert_eq!(decoded.claims, claims);
    }
}

pub async fn adding_key_twice_is_rejected(keys: Arc<dyn SigningKeys>) {
    let issuer = new_issuer();
    let key = new_key(issuer, SigningAlgorithm::Es256, 500);
    keys.add_signing_key(&key)
        .await
        .expect("adding a key failed");
    let error = keys
        .add_signing_key(&key)
        .await
        .expect_err("a second add of one key succeeded");
    assert!(matches!(error, KeyError::AlreadyExists(_)), "{error}");
    assert_eq!(issuer_key_ids(keys.as_ref(), issuer).await.len(), 1);
}
