//! `accolade admin` run as a command against both stores: the embedded one in a temporary data
//! folder, and a DynamoDB table on the moto emulator (`ACCOLADE_MOTO_ENDPOINT`, which `bash
//! infra/scripts/test.sh` starts).

use std::path::Path;
use std::process::{Command, Output};

use accolade::adapters::sqlite::SqliteStore;
use accolade::crypto::client_secret_matches;
use accolade::domain::{ClientId, IssuerId, Scope};
use accolade::ports::Store;
use serde_json::Value;

/// Runs `accolade admin` with the store options and the command's arguments.
fn admin(store: &[&str], command: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accolade"))
        .arg("admin")
        .args(store)
        .args(command)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
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

/// Creates an issuer and a client, lists, disables and lists again, and checks each result in
/// `store`, which reads what the commands wrote.
async fn exercise(store_args: &[&str], store: &dyn Store) {
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

    exercise(&store_args, &store).await;
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
                 infra/scripts/test.sh`, or start `.venv/tools/bin/moto_server -H 127.0.0.1 -p \
                 5123` and set {VARIABLE}=http://127.0.0.1:5123"
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

    exercise(
        &[
            "--store",
            "dynamodb",
            "--table",
            &table,
            "--endpoint-url",
            &endpoint,
        ],
        &store,
    )
    .await;
}

fn uuid_v4() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}
