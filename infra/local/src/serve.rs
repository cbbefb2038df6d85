//! `accolade serve`: the local stack. Every HTTP function's router is mounted in one axum
//! server, and the event-driven functions run from the store's change log, so the code that
//! runs here is the code that runs in Lambda.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use accolade::adapters::files::FolderFileStore;
use accolade::adapters::mail::OutboxMailer;
use accolade::adapters::sqlite::{AwardChange, SqliteStore};
use accolade::adapters::system::{OsRandom, SystemClock};
use accolade::auth::AccessTokens;
use accolade::crypto::Pepper;
use accolade::http::ApiError;
use accolade::ports::{
    Clock, FileStore, MailError, Mailer, OutgoingEmail, PublicKeys, Random, Store,
};
use accolade::urls::PublicUrls;
use anyhow::Context;
use async_trait::async_trait;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::demo::{SeedPorts, ensure_demo};
use crate::events::{ChangeHandler, HandlerError, HandlerFuture, run_consumer};
use crate::import::Credentials;
use crate::keys::{DEFAULT_ALGORITHM, ensure_issuer_keys, local_keys};
use crate::secrets;

/// The setting that pins the public base URL: Open Badges ids are minted from it and can
/// never change once issued.
pub const PUBLIC_URL_SETTING: &str = "public_base_url";
/// The store file inside the data folder.
pub const STORE_FILE: &str = "accolade.db";

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Defaults to `http://ADDR` (with the port actually bound when ADDR has port 0).
    pub public_url: Option<String>,
}

/// Parts of the stack that tests replace, for [`start_with`]. The default replaces nothing.
#[derive(Default)]
pub struct StackOverrides {
    /// Receives the outbox mailer and returns the mailer that send-claims uses, for example
    /// one that fails the first sends and then passes each email on to the outbox.
    pub wrap_mailer: Option<MailerWrapper>,
    /// The partner API's limits in place of `issue_awards::Limits::default()`, for example a
    /// shorter resend interval.
    pub limits: Option<issue_awards::Limits>,
}

/// Wraps the outbox mailer: see [`StackOverrides::wrap_mailer`].
pub type MailerWrapper = Box<dyn FnOnce(Arc<dyn Mailer>) -> Arc<dyn Mailer> + Send>;

/// A started local stack.
pub struct RunningStack {
    pub addr: SocketAddr,
    pub public_url: String,
    pub credentials: Credentials,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningStack {
    /// Stops the server and the event loop, letting in-flight work finish.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        tracing::info!("stopped");
    }
}

/// Starts the stack and runs it until Ctrl-C or SIGTERM.
pub async fn serve_until_signal(options: ServeOptions) -> anyhow::Result<()> {
    let stack = start(options).await?;
    wait_for_signal().await;
    stack.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Opens the data folder, seeds the demo on first start, binds the address and starts the
/// server and the event loop.
pub async fn start(options: ServeOptions) -> anyhow::Result<RunningStack> {
    start_with(options, StackOverrides::default()).await
}

/// Starts the stack like [`start`], with the parts that `overrides` replaces.
pub async fn start_with(
    options: ServeOptions,
    overrides: StackOverrides,
) -> anyhow::Result<RunningStack> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;

    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another server using it? Pass --addr to choose another",
                options.addr
            )
        })?;
    let addr = listener.local_addr()?;
    let requested_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let urls = PublicUrls::parse(&requested_url)?;

    let store = Arc::new(SqliteStore::open(data_dir.join(STORE_FILE))?.with_calls_in_place());
    let pinned = store
        .put_setting_if_absent(PUBLIC_URL_SETTING, urls.base())
        .await?;
    if pinned != urls.base() {
        anyhow::bail!(
            "the data folder {} was first started with the public URL {pinned}, and the ids of every badge issued there use it; \
             start with --public-url {pinned} (and an --addr it reaches), or use another --data-dir",
            data_dir.display()
        );
    }

    let secrets = secrets::load_or_create(data_dir)?;
    let pepper = Pepper::new(secrets.claim_pepper).map_err(anyhow::Error::msg)?;
    let tokens = AccessTokens::new(
        &secrets.token_signing_secret,
        urls.base().to_owned(),
        AccessTokens::DEFAULT_TTL_SECONDS,
    )
    .map_err(anyhow::Error::msg)?;

    let files: Arc<dyn FileStore> = Arc::new(FolderFileStore::new(data_dir.join("files")));
    let outbox = Arc::new(OutboxMailer::new(data_dir.join("outbox")));
    let mut mailer: Arc<dyn Mailer> = Arc::new(LoggedOutbox(outbox));
    if let Some(wrap_mailer) = overrides.wrap_mailer {
        mailer = wrap_mailer(mailer);
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let dyn_store: Arc<dyn Store> = store.clone();

    let credentials = ensure_demo(
        &SeedPorts {
            store: dyn_store.as_ref(),
            files: files.as_ref(),
            clock: clock.as_ref(),
            random: random.as_ref(),
        },
        &urls,
        data_dir,
    )
    .await?;
    let keys = Arc::new(local_keys(&store, data_dir));
    ensure_issuer_keys(
        dyn_store.as_ref(),
        keys.as_ref(),
        clock.as_ref(),
        DEFAULT_ALGORITHM,
    )
    .await
    .context("cannot give every issuer a signing key")?;

    let app = Router::new()
        .merge(
            issue_awards::router(issue_awards::PartnerApi {
                store: dyn_store.clone(),
                files: files.clone(),
                clock: clock.clone(),
                random: random.clone(),
                tokens,
                urls: urls.clone(),
                limits: overrides.limits.unwrap_or_default(),
            })
            // POST /v1/verify checks signatures against the issuers' published keys.
            .layer(axum::Extension::<Arc<dyn PublicKeys>>(keys.clone())),
        )
        .merge(claim_badge::router(claim_badge::ClaimBadge {
            store: dyn_store.clone(),
            clock: clock.clone(),
            random: random.clone(),
            pepper: pepper.clone(),
            urls: urls.clone(),
        }))
        .merge(serve_assertions::router(
            serve_assertions::ServeAssertions {
                store: dyn_store.clone(),
                files: files.clone(),
                keys: keys.clone(),
                urls: urls.clone(),
            },
        ))
        .fallback(not_found);

    let send_claims = Arc::new(SendClaimsHandler(send_claims::SendClaims {
        store: dyn_store.clone(),
        mailer,
        clock: clock.clone(),
        random: random.clone(),
        pepper,
        urls: urls.clone(),
        from: "Riverside Music Service badges <badges@music.example.org>".to_owned(),
        claim_window_days: send_claims::SendClaims::DEFAULT_CLAIM_WINDOW_DAYS,
    }));
    let bake_images = Arc::new(BakeImagesHandler(bake_images::BakeImages {
        store: dyn_store.clone(),
        files: files.clone(),
        keys,
        random: random.clone(),
        urls: urls.clone(),
    }));

    let (shutdown, shutdown_receiver) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let dead_letters = data_dir.join("dead-letters.jsonl");
    tasks.spawn(run_consumer(
        "send-claims",
        store.clone(),
        send_claims,
        dead_letters.clone(),
        shutdown_receiver.clone(),
    ));
    tasks.spawn(run_consumer(
        "bake-images",
        store.clone(),
        bake_images,
        dead_letters,
        shutdown_receiver.clone(),
    ));

    let mut server_shutdown = shutdown_receiver;
    tasks.spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = server_shutdown.wait_for(|stop| *stop).await;
        });
        if let Err(error) = server.await {
            tracing::error!(error = %error, "the HTTP server stopped with an error");
        }
    });

    log_start(&addr, &urls, data_dir, dyn_store.as_ref()).await;
    Ok(RunningStack {
        addr,
        public_url: urls.base().to_owned(),
        credentials,
        shutdown,
        tasks,
    })
}

async fn log_start(addr: &SocketAddr, urls: &PublicUrls, data_dir: &Path, store: &dyn Store) {
    tracing::info!(%addr, public_url = urls.base(), data_dir = %data_dir.display(), "Accolade local stack is serving");
    let Ok(issuers) = store.list_issuers().await else {
        return;
    };
    for issuer in issuers {
        let page = accolade::ports::PageRequest {
            limit: 100,
            cursor: None,
        };
        let Ok(achievements) = store.list_achievements(issuer.id, &page).await else {
            continue;
        };
        for achievement in achievements.items {
            tracing::info!(
                issuer.id = %issuer.id,
                achievement.id = %achievement.id,
                level = achievement.level.map(|level| level.slug()).unwrap_or("none"),
                name = achievement.name.as_str(),
                "achievement available"
            );
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no route matches this path; the partner API is under /v1",
    )
}

/// Writes claim emails to the outbox and logs each file's path (never the claim link).
struct LoggedOutbox(Arc<OutboxMailer>);

#[async_trait]
impl Mailer for LoggedOutbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let file = self.0.write(email).await?;
        tracing::info!(award.id = %email.award_id, path = %file.path.display(), "wrote a claim email to the outbox");
        Ok(file.message_id)
    }
}

struct SendClaimsHandler(send_claims::SendClaims);

impl ChangeHandler for SendClaimsHandler {
    fn handle<'a>(&'a self, change: &'a AwardChange) -> HandlerFuture<'a> {
        Box::pin(async move {
            match send_claims::handle_award_change(&self.0, change.old.as_ref(), &change.new).await
            {
                Ok(_) => Ok(()),
                // Another run holds the send lease: by the time it runs out the email is sent,
                // or that run failed and this one sends.
                Err(error @ send_claims::SendClaimsError::SendInProgress { .. }) => {
                    Err(HandlerError::Retry {
                        error: error.into(),
                        after: Duration::from_secs(send_claims::SEND_LEASE_SECONDS.unsigned_abs()),
                    })
                }
                Err(error) if error.is_retryable() => Err(HandlerError::retry(error)),
                Err(error) => Err(HandlerError::Fatal(error.into())),
            }
        })
    }
}

struct BakeImagesHandler(bake_images::BakeImages);

impl ChangeHandler for BakeImagesHandler {
    fn handle<'a>(&'a self, change: &'a AwardChange) -> HandlerFuture<'a> {
        Box::pin(async move {
            match bake_images::handle_award_change(&self.0, change.old.as_ref(), &change.new).await
            {
                Ok(_) => Ok(()),
                Err(error) if error.is_retryable() => Err(HandlerError::retry(error)),
                Err(error) => Err(HandlerError::Fatal(error.into())),
            }
        })
    }
}
