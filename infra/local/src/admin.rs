//! `accolade admin`: creates the first issuer and its partner clients, and lists and disables
//! clients, directly in the configured store: the embedded one of a data folder, or the
//! DynamoDB table of a deployment. The partner API needs a client before anyone can call it,
//! so these commands are how a new deployment gets its first one.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{OsRandom, SystemClock};
use accolade::crypto::client_secret_hash;
use accolade::domain::{
    ApiClient, ClientId, EmailAddress, HttpsUrl, Issuer, IssuerId, Scopes, Text, TextLimit,
};
use accolade::keys::SigningAlgorithm;
use accolade::ports::{Clock, Random, Store};
use accolade_aws::DynamoStore;
use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::keys::{OpenKeys, generate_key, open_keys};

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The store that the commands read and write.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The store: the embedded one of --data-dir, or the DynamoDB table of a deployment.
    #[arg(long, value_enum, default_value_t = StoreKind::Embedded, global = true)]
    pub store: StoreKind,
    /// The data folder of the embedded store.
    #[arg(long, default_value = ".accolade", global = true)]
    pub data_dir: PathBuf,
    /// The DynamoDB table (the stack's TableName output); needed with --store dynamodb.
    #[arg(long, env = "TABLE_NAME", global = true)]
    pub table: Option<String>,
    /// Sends DynamoDB calls to this endpoint instead of AWS, such as an emulator on
    /// http://127.0.0.1:5000. Credentials and region come from the usual AWS variables and
    /// profiles either way.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub endpoint_url: Option<String>,
    /// The SSM path under which the issuers' private signing keys are stored (the stack's
    /// SigningKeyParameterPrefix parameter, such as /accolade/prod/signing-keys); needed with
    /// --store dynamodb by the commands that add keys.
    #[arg(long, env = "SIGNING_KEY_PARAMETER_PREFIX", global = true)]
    pub key_prefix: Option<String>,
}

impl StoreArgs {
    /// Names the embedded store of `data_dir`.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            store: StoreKind::Embedded,
            data_dir: data_dir.into(),
            table: None,
            endpoint_url: None,
            key_prefix: None,
        }
    }

    /// Returns the DynamoDB table's name, or an error saying how to give it.
    pub fn dynamodb_table(&self) -> anyhow::Result<&str> {
        self.table.as_deref().ok_or_else(|| {
            anyhow!("--store dynamodb needs --table (or TABLE_NAME): the stack's TableName output")
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The SQLite store in DATA_DIR/accolade.db, as `accolade serve` uses it.
    Embedded,
    /// A deployment's DynamoDB table.
    Dynamodb,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an issuer with its first signing key and print its id.
    CreateIssuer {
        /// The issuer's name, as badges show it.
        #[arg(long)]
        name: String,
        /// The issuer's website (https).
        #[arg(long)]
        url: String,
        /// The issuer's contact address, published in its Open Badges profile.
        #[arg(long)]
        email: String,
        /// A sentence or two about the issuer.
        #[arg(long)]
        description: Option<String>,
        /// The algorithm of the issuer's first signing key: RS256 (RSA 2048) or ES256
        /// (P-256). Signed Open Badges 2.0 assertions need an RS256 key.
        #[arg(long, default_value = "RS256")]
        alg: SigningAlgorithm,
    },
    /// Create a partner client of an issuer and print its client_id and secret. The secret is
    /// shown only this once; the store keeps only its hash.
    CreateClient {
        /// The id of the issuer whose objects the client may read and write.
        #[arg(long)]
        issuer: String,
        /// A name that sets the client apart from the others, such as "Event booking system".
        #[arg(long)]
        name: String,
        /// The scopes the client may request [default: all of them].
        #[arg(long, num_args = 1.., value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// List the partner clients of an issuer, oldest first.
    ListClients {
        /// The issuer's id.
        #[arg(long)]
        issuer: String,
    },
    /// Disable a partner client: its secret no longer gets access tokens.
    DisableClient {
        /// The client's id.
        client_id: String,
    },
}

/// The output of `create-client`, the only place the secret is ever shown.
#[derive(Debug, Serialize)]
struct CreatedClient<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    issuer_id: String,
    scopes: String,
}

/// Runs `accolade admin` on a runtime of its own, printing the result to stdout and an error
/// to stderr. Exits 1 when the command fails.
pub fn main(args: AdminArgs) -> ExitCode {
    crate::logging::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, &mut std::io::stdout())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one admin command and writes its result to `out`.
pub async fn run(args: AdminArgs, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let store = open_store(&args.store).await?;
    let clock = SystemClock;
    let random = OsRandom;
    match args.command {
        AdminCommand::CreateIssuer {
            name,
            url,
            email,
            description,
            alg,
        } => {
            // Opened first, so a missing --key-prefix stops the command before it writes.
            let OpenKeys { keys, .. } = open_keys(&args.store).await?;
            let now = clock.now();
            let issuer = Issuer {
                id: IssuerId::from_uuid(random.uuid()),
                name: Text::parse("name", &name, TextLimit::NAME)?,
                url: HttpsUrl::parse("url", &url)?,
                email: EmailAddress::parse(&email)?,
                description: description
                    .map(|text| Text::parse("description", &text, TextLimit::LONG))
                    .transpose()?,
                image: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            store
                .create_issuer(&issuer)
                .await
                .context("creating the issuer failed")?;
            tracing::info!(issuer.id = %issuer.id, "issuer created");
            let key = generate_key(issuer.id, alg, now).await?;
            keys.add_signing_key(&key).await.with_context(|| {
                format!(
                    "issuer {} was created, but adding its signing key failed; add one with \
                     `accolade keys generate --issuer {}` and the same store options",
                    issuer.id, issuer.id
                )
            })?;
            tracing::info!(issuer.id = %issuer.id, key.id = %key.key_id(), algorithm = %alg, "issuer's first signing key added");
            writeln!(out, "{}", issuer.id)?;
        }
        AdminCommand::CreateClient {
            issuer,
            name,
            scopes,
        } => {
            let issuer_id = find_issuer(store.as_ref(), &issuer).await?;
            let scopes = if scopes.is_empty() {
                Scopes::all()
            } else {
                Scopes::parse(&scopes.join(" ")).map_err(|reason| anyhow!(reason))?
            };
            let client_id = ClientId::parse(&random.uuid().simple().to_string())?;
            let secret = random.token();
            let client = ApiClient {
                client_id: client_id.clone(),
                issuer_id,
                name: Text::parse("name", &name, TextLimit::NAME)?,
                secret_hash: client_secret_hash(&secret),
                scopes: scopes.clone(),
                disabled: false,
                created_at: clock.now(),
            };
            if store.get_client(&client_id).await?.is_some() {
                bail!("a client with the new id {client_id} exists already; run the command again");
            }
            store
                .put_client(&client)
                .await
                .context("creating the client failed")?;
            tracing::info!(issuer.id = %issuer_id, client.id = %client_id, "partner client created");
            let created = CreatedClient {
                client_id: client_id.as_str(),
                client_secret: &secret,
                issuer_id: issuer_id.to_string(),
                scopes: scopes.to_string(),
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&created)?)?;
        }
        AdminCommand::ListClients { issuer } => {
            let issuer_id = find_issuer(store.as_ref(), &issuer).await?;
            let clients = store.list_clients(issuer_id).await?;
            writeln!(out, "client_id\tstatus\tcreated_at\tscopes\tname")?;
            for client in clients {
                let status = if client.disabled {
                    "disabled"
                } else {
                    "enabled"
                };
                writeln!(
                    out,
                    "{}\t{status}\t{}\t{}\t{}",
                    client.client_id,
                    client.created_at,
                    client.scopes,
                    client.name.as_str()
                )?;
            }
        }
        AdminCommand::DisableClient { client_id } => {
            let client_id = ClientId::parse(&client_id)?;
            let Some(mut client) = store.get_client(&client_id).await? else {
                bail!(
                    "client {client_id} does not exist; list an issuer's clients with `accolade admin list-clients --issuer ID`"
                );
            };
            if client.disabled {
                writeln!(out, "client {client_id} was disabled already")?;
            } else {
                client.disabled = true;
                store
                    .put_client(&client)
                    .await
                    .context("disabling the client failed")?;
                tracing::info!(client.id = %client_id, "partner client disabled");
                writeln!(out, "client {client_id} disabled")?;
            }
        }
    }
    Ok(())
}

/// Parses an issuer id and checks that the issuer exists.
async fn find_issuer(store: &dyn Store, id: &str) -> anyhow::Result<IssuerId> {
    let issuer_id: IssuerId = id
        .trim()
        .parse()
        .map_err(|_| anyhow!("issuer id {id:?} is not a UUID"))?;
    if store.get_issuer(issuer_id).await?.is_none() {
        bail!(
            "issuer {issuer_id} does not exist in this store; create one with `accolade admin create-issuer`"
        );
    }
    Ok(issuer_id)
}

async fn open_store(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    match args.store {
        StoreKind::Embedded => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| {
                format!("cannot create the data folder {}", args.data_dir.display())
            })?;
            let store = SqliteStore::open(args.data_dir.join("accolade.db"))?;
            Ok(Arc::new(store))
        }
        StoreKind::Dynamodb => {
            let table = args.dynamodb_table()?;
            let sdk = accolade_aws::sdk_config(args.endpoint_url.as_deref()).await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            Ok(Arc::new(DynamoStore::new(client, table)))
        }
    }
}
