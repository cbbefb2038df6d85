//! The `accolade` command: the local stack and the operator's tools.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use accolade::domain::IssuerId;
use accolade::keys::SigningAlgorithm;
use accolade_local::admin::StoreArgs;
use accolade_local::import::export::ColumnOptions;
use accolade_local::import::{Credentials, ImportOptions, run_import};
use accolade_local::keys::{GenerateOptions, generate_keys, list_keys};
use accolade_local::serve::{ServeOptions, serve_until_signal};
use clap::{Args, Parser, Subcommand};

mod bench;

#[derive(Debug, Parser)]
#[command(
    name = "accolade",
    version,
    about = "Accolade, an Open Badges issuer: the local stack and its tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every function in one process over the embedded store, with demo data on first start.
    Serve(ServeArgs),
    /// Award an achievement to the people who attended an event, from the event's CSV export.
    ImportCsv(Box<ImportArgs>),
    /// Add and list the issuers' signing keys, in the embedded store or a deployment's
    /// DynamoDB table and SSM parameters.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create issuers and partner clients, list and disable clients, in the embedded store or
    /// a deployment's DynamoDB table.
    Admin(accolade_local::admin::AdminArgs),
    /// Time baking and unbaking of the images that DIR/manifest.json lists; prints JSON lines.
    BenchBake(bench::BenchBakeArgs),
    /// Verify a badge (a baked PNG or SVG, JSON, a compact JWS, or a URL) and print a JSON
    /// report; exits 0 when valid, 1 when not, 2 when the input cannot be read.
    Verify(accolade_local::verify::VerifyArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The folder for the store, files, outbox, keys and demo credentials.
    #[arg(long, default_value = ".accolade")]
    data_dir: PathBuf,
    /// The public base URL that Open Badges ids are minted from [default: http://ADDR].
    /// It is recorded on first start and cannot change afterwards.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a signing key and make it the active one (rotation). Older keys stay published,
    /// so badges signed with them stay verifiable.
    Generate(KeysGenerateArgs),
    /// List every issuer's keys, oldest first.
    List(KeysListArgs),
}

#[derive(Debug, Args)]
struct KeysGenerateArgs {
    /// The issuer to add a key to [default: every issuer].
    #[arg(long)]
    issuer: Option<IssuerId>,
    /// The signing algorithm: RS256 (RSA 2048) or ES256 (P-256). Signed Open Badges 2.0
    /// assertions need an RS256 key.
    #[arg(long, default_value = "RS256")]
    alg: SigningAlgorithm,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
struct KeysListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Print the keys as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The CSV export to read.
    file: PathBuf,
    /// The id of the achievement to award.
    #[arg(long)]
    achievement: String,
    /// The deployment's base URL (the same as PUBLIC_BASE_URL, or the API's URL when they
    /// differ) [default: the URLs in the credentials file].
    #[arg(long)]
    server: Option<String>,
    /// A JSON file with client_id, client_secret, token_url and api_url.
    #[arg(long, default_value = ".accolade/demo-client.json")]
    credentials: PathBuf,
    /// The column with the young person's email address [default: detected].
    #[arg(long)]
    email_column: Option<String>,
    /// The column with a parent's or guardian's email address [default: detected].
    #[arg(long)]
    delivery_email_column: Option<String>,
    /// The column with the full name [default: detected].
    #[arg(long)]
    name_column: Option<String>,
    /// The column with the first name, when there is no full-name column.
    #[arg(long)]
    first_name_column: Option<String>,
    /// The column with the last name, when there is no full-name column.
    #[arg(long)]
    last_name_column: Option<String>,
    /// The booking status column; cancelled and no-show rows are skipped [default: detected].
    #[arg(long)]
    status_column: Option<String>,
    /// The checked-in column; rows marked No are skipped [default: detected].
    #[arg(long)]
    checked_in_column: Option<String>,
    /// A column whose text becomes each award's narrative (it is published in the badge).
    #[arg(long)]
    narrative_column: Option<String>,
    /// The narrative of every award without one of its own: what the young person did.
    #[arg(long)]
    narrative: Option<String>,
    /// Show what would be awarded without sending anything.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve_command(args),
        Command::ImportCsv(args) => import_command(*args),
        Command::Keys(command) => keys_command(command),
        Command::Admin(args) => accolade_local::admin::main(args),
        Command::BenchBake(args) => bench::run(args),
        Command::Verify(args) => accolade_local::verify::main(args),
    }
}

fn serve_command(args: ServeArgs) -> ExitCode {
    accolade_local::logging::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let options = ServeOptions {
        addr: args.addr,
        data_dir: args.data_dir,
        public_url: args.public_url,
    };
    match runtime.block_on(serve_until_signal(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn keys_command(command: KeysCommand) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (result, json) = match command {
        KeysCommand::Generate(args) => {
            let options = GenerateOptions {
                store: args.store,
                issuer: args.issuer,
                algorithm: args.alg,
            };
            (runtime.block_on(generate_keys(&options)), false)
        }
        KeysCommand::List(args) => (runtime.block_on(list_keys(&args.store)), args.json),
    };
    let listings = match result {
        Ok(listings) => listings,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&listings) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("error: cannot write the key list: {error}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    for key in listings {
        println!(
            "issuer {}  {}  {}  created {}{}\n    kid {}",
            key.issuer_id,
            key.algorithm,
            key.key_id,
            key.created_at,
            if key.active { "  (active)" } else { "" },
            key.kid
                .as_deref()
                .unwrap_or("(unknown until `accolade serve` has run once)")
        );
    }
    ExitCode::SUCCESS
}

fn import_command(args: ImportArgs) -> ExitCode {
    let credentials = match read_credentials(&args.credentials) {
        Ok(credentials) => credentials,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let options = ImportOptions {
        file: args.file,
        achievement_id: args.achievement,
        server: args.server,
        credentials,
        columns: ColumnOptions {
            email: args.email_column,
            delivery_email: args.delivery_email_column,
            name: args.name_column,
            first_name: args.first_name_column,
            last_name: args.last_name_column,
            status: args.status_column,
            checked_in: args.checked_in_column,
            narrative: args.narrative_column,
        },
        narrative: args.narrative,
        dry_run: args.dry_run,
    };

    let report = match run_import(&options, &mut std::io::stderr()) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(error) => eprintln!("error: cannot write the report: {error}"),
        }
    } else if let Err(error) = report.write_summary(&mut std::io::stdout()) {
        eprintln!("error: cannot write the summary: {error}");
    }
    if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_credentials(path: &PathBuf) -> Result<Credentials, String> {
    let bytes = std::fs::read(path).map_err(|error| {
        format!(
            "cannot read the credentials file {}: {error}; start `accolade serve` once to create the demo client, or pass --credentials",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|error| {
        format!("the credentials file {} is not valid: {error}; it needs client_id, client_secret, token_url and api_url", path.display())
    })
}
