//! `accolade admin` and `accolade keys generate` run as commands against both stores: the
//! embedded one in a temporary data folder, and a DynamoDB table with SSM parameters on the
//! moto emulator (`ACCOLADE_MOTO_ENDPOINT`, which `bash infra/scripts/test.sh` starts).

use std::path::Path;
use std::process::{Command, Output};

use accolade::adapters::sqlite::{LocalSigningKeys, SqliteStore};
use accolade::crypto::client_secret_matches;
use accolade::domain::{ClientId, IssuerId, Scope};
use accolade::keys::{KeyFolder, SigningAlgorithm};
use accolade::ports::{PublicKeys, SigningKeys, Store};
use serde_json::Value;

/// Runs `accolade admin` with the store options and the command's arguments.
fn admin(store: &[&str], command: &[&str]) -> Output {
    accolade(&["admin"], store, command)
}

/// Runs `accolade keys` with the command's arguments and the store options.
fn keys_command(store: &[&str], command: &[&str]) -> Output {
    accolade(&["keys", command[0]], &command[1..], store)
}

/// Runs `accolade` with AWS credentials for moto and no AWS profile.
fn accolade(command: &[&str], first: &[&str], second: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accolade"))
        .args(command)
        .args(first)
        .args(second)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("SIGNING_KEY_PARAMETER_PREFIX")
        .output()
        .expect("running accolade failed")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "accolade admin failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("the output is not UTF-8")
}

/// Creates an issuer with its signing key, rotates the key, creates a client, lists, disables
/// and lists again, and checks each result in `store` and `keys`, which read what the
/// commands wrote.
async fn exercise(store_args: &[&str], store: &dyn Store, keys: &dyn SigningKeys) {
    let issuer = stdout_of(&admin(
        store_args,
        &[
            "create-issuer",
            "--name",
            "Riverside Music Service",
            "--url",
            "https://music.example.org",
            "--email",
            "badges@music.example.org",
            "--description",
            "Lessons, ensembles and holiday courses.",
        ],
    ));
    let issuer_id: IssuerId = issuer.trim().parse().expect("create-issuer printed no id");
    let stored = store
        .get_issuer(issuer_id)
        .await
        .unwrap()
        .expect("issuer not stored");
    assert_eq!(stored.name.as_str(), "Riverside Music Service");

    // create-issuer gave the issuer an RS256 key, private half included.
    let first_keys = keys.list_issuer_public_keys(issuer_id).await.unwrap();
    assert_eq!(first_keys.len(), 1, "create-issuer added no signing key");
    assert_eq!(first_keys[0].algorithm, SigningAlgorithm::Rs256);
    let first = keys
        .signing_key(&first_keys[0].key_id)
        .await
        .unwrap()
        .expect("the first key has no private half");
    assert_eq!(first.public(), &first_keys[0]);

    // A rotation adds an ES256 key, makes it active and keeps the first one.
    let rotated = keys_command(
        store_args,
        &[
            "generate",
            "--issuer",
            &issuer_id.to_string(),
            "--alg",
            "ES256",
        ],
    );
    let rotated = stdout_of(&rotated);
    let after = keys.list_issuer_public_keys(issuer_id).await.unwrap();
    assert_eq!(after.len(), 2, "keys generate added no key: {rotated}");
    assert_eq!(after[0], first_keys[0]);
    assert_eq!(after[1].algorithm, SigningAlgorithm::Es256);
    assert!(rotated.contains(after[1].key_id.as_str()), "{rotated}");
    let active = keys
        .active_signing_key(issuer_id)
        .await
        .unwrap()
        .expect("the issuer has no active key");
    assert_eq!(active.key_id(), &after[1].key_id);
    let listed = stdout_of(&keys_command(store_args, &["list", "--json"]));
    let listed: Value = serde_json::from_str(&listed).expect("keys list printed no JSON");
    let listed_ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["issuer_id"] == issuer_id.to_string())
        .map(|key| key["key_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed_ids,
        vec![after[0].key_id.as_str(), after[1].key_id.as_str()]
    );

    let created = stdout_of(&admin(
        store_args,
        &[
            "create-client",
            "--issuer",
            &issuer_id.to_string(),
            "--name",
            "Event booking",
            "--scopes",
            "awards:read,awards:write",
        ],
    ));
    let created: Value = serde_json::from_str(&created).expect("create-client printed no JSON");
    let client_id = ClientId::parse(created["client_id"].as_str().unwrap()).unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    let client = store
        .get_client(&client_id)
        .await
        .unwrap()
        .expect("client not stored");
    assert_eq!(client.issuer_id, issuer_id);
    assert!(client_secret_matches(secret, &client.secret_hash));
    assert!(!client.secret_hash.contains(secret));
    assert!(client.scopes.contains(Scope::AwardsWrite));
    assert!(!client.scopes.contains(Scope::IssuerWrite));

    let listed = stdout_of(&admin(
        store_args,
        &["list-clients", "--issuer", &issuer_id.to_string()],
    ));
    let line = listed
        .lines()
        .find(|line| line.starts_with(client_id.as_str()))
        .unwrap_or_else(|| panic!("list-clients does not show the client: {listed}"));
    assert!(line.contains("\tenabled\t"), "{line}");
    assert!(!listed.contains(secret), "list-clients printed the secret");

    stdout_of(&admin(store_args, &["disable-client", client_id.as_str()]));
    assert!(
        store
            .get_client(&client_id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let listed = stdout_of(&admin(
        store_args,
        &["list-clients", "--issuer", &issuer_id.to_string()],
    ));
    assert!(listed.contains("\tdisabled\t"), "{listed}");
}

#[tokio::test]
async fn admin_on_embedded_store() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_dir_arg = data_dir.path().to_str().unwrap().to_owned();
    let store_args = ["--store", "embedded", "--data-dir", data_dir_arg.as_str()];

    // The commands write the store file; the checks read the same file.
    let first = admin(
        &store_args,
        &[
            "list-clients",
            "--issuer",
            &IssuerId::from_uuid(uuid_v4()).to_string(),
        ],
    );
    assert!(
        !first.status.success(),
        "listing an unknown issuer's clients succeeded"
    );
    let store = SqliteStore::open(data_dir.path().join("accolade.db")).unwrap();
    let keys = LocalSigningKeys::new(store.clone(), KeyFolder::new(data_dir.path().join("keys")));

    exercise(&store_args, &store, &keys).await;
}

#[tokio::test]
async fn admin_rejects_unknown_client_and_scope() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_dir_arg = data_dir.path().to_str().unwrap().to_owned();
    let store_args = ["--data-dir", data_dir_arg.as_str()];

    let disable = admin(&store_args, &["disable-client", "no-such-client"]);
    assert!(!disable.status.success());
    assert!(String::from_utf8_lossy(&disable.stderr).contains("does not exist"));

    let issuer = stdout_of(&admin(
        &store_args,
        &[
            "create-issuer",
            "--name",
            "R",
            "--url",
            "https://r.example.org",
            "--email",
            "a@r.example.org",
        ],
    ));
    let bad_scope = admin(
        &store_args,
        &[
            "create-client",
            "--issuer",
            issuer.trim(),
            "--name",
            "N",
            "--scopes",
            "awards:delete",
        ],
    );
    assert!(!bad_scope.status.success());
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("awards:delete"));
    assert!(Path::new(&data_dir_arg).join("accolade.db").exists());
}

#[tokio::test]
async fn admin_on_dynamodb() {
    const VARIABLE: &str = "ACCOLADE_MOTO_ENDPOINT";
    let endpoint = std::env::var(VARIABLE)
        .ok()
        .filter(|value| value.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| {
            panic!(
                "{VARIABLE} must name a moto server on 127.0.0.1: run the tests with `bash \
                 infra/scripts/test.sh`, or start `.venv/tools/bin/python infra/scripts/moto_serial.py -H \
                 127.0.0.1 -p 5123` and set {VARIABLE}=http://127.0.0.1:5123"
            )
        });
    let sdk = accolade_aws::sdk_config_loader(Some(&endpoint))
        .region(aws_sdk_dynamodb::config::Region::new("eu-west-2"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("accolade-admin-{}", uuid_v4().simple());
    accolade_aws::DynamoStore::create_table_for_tests(&client, &table)
        .await
        .unwrap_or_else(|error| panic!("creating table {table} on moto failed: {error:#}"));
    let store = accolade_aws::DynamoStore::new(client, &table);
    let prefix = format!("/accolade-admin-{}/signing-keys", uuid_v4().simple());
    let keys = accolade_aws::AwsSigningKeys::new(
        store.clone(),
        aws_sdk_ssm::Client::new(&sdk),
        accolade_aws::SigningKeyPrefix::parse(&prefix).unwrap(),
    );
    let store_args = [
        "--store",
        "dynamodb",
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
    ];

    // Without a key prefix, create-issuer stops before it writes anything.
    let without_prefix = admin(
        &store_args,
        &[
            "create-issuer",
            "--name",
            "R",
            "--url",
            "https://r.example.org",
            "--email",
            "a@r.example.org",
        ],
    );
    assert!(!without_prefix.status.success());
    assert!(
        String::from_utf8_lossy(&without_prefix.stderr).contains("--key-prefix"),
        "{}",
        String::from_utf8_lossy(&without_prefix.stderr)
    );
    assert!(store.list_issuers().await.unwrap().is_empty());

    let mut with_prefix = store_args.to_vec();
    with_prefix.extend(["--key-prefix", prefix.as_str()]);
    exercise(&with_prefix, &store, &keys).await;

    // The public keys are in the table, so listing them needs no key prefix.
    let listed = keys_command(&store_args, &["list", "--json"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value =
        serde_json::from_str(&stdout_of(&listed)).expect("keys list printed no JSON");
    let expected = keys.list_public_keys().await.unwrap();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(expected.len()),
        "keys list without --key-prefix lists every key: {listed}"
    );
}

fn uuid_v4() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}
