//! `accolade verify FILE|URL [--email ADDRESS] [--at TIME]`: verifies any Open Badges badge
//! and prints one JSON report, `{"valid", "format", "id", "checks": [{"code", "ok",
//! "message"}]}` (see [`accolade::verify`]).
//!
//! Exit status: 0 when the badge is valid, 1 when it is not (an image without badge data
//! is not valid). 2 when the input cannot be read at all (a missing file, an unreachable
//! URL) or the arguments are invalid.
//!
//! Documents are fetched with [`HttpResolver`]: http(s) only, at most 3 redirects, 10
//! seconds per request, and bodies of at most [`DocumentKind::max_bytes`].

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use accolade::adapters::system::SystemClock;
use accolade::domain::{EmailAddress, Timestamp};
use accolade::ports::Clock;
use accolade::verify::{
    self, DocumentKind, FetchError, Fetched, Outcome, Resolver, VerificationReport, VerifyContext,
    VerifyInput, declared_image_kind, is_http_url,
};
use async_trait::async_trait;
use clap::Args;
use ureq::ResponseExt;

/// The arguments of `accolade verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The badge: a file (a baked PNG or SVG, assertion or credential JSON, or a compact JWS)
    /// or the http(s) URL of a hosted assertion, credential or baked image.
    pub input: String,
    /// The recipient's email address: the badge must have been issued to it.
    #[arg(long, value_parser = parse_email)]
    pub email: Option<String>,
    /// Check validity windows and expiry at this RFC 3339 time instead of now.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<Timestamp>,
}

fn parse_email(value: &str) -> Result<String, String> {
    // The address is kept as typed: the verifier also tries the typed form against
    // hashes of issuers that did not normalise.
    EmailAddress::parse(value)
        .map(|_| value.to_owned())
        .map_err(|error| error.to_string())
}

fn parse_time(value: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(value).map_err(|error| {
        format!("{value:?} is not an RFC 3339 time such as 2030-01-01T00:00:00Z: {error}")
    })
}

/// Runs the command, printing the report on standard output.
pub fn main(args: VerifyArgs) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    ExitCode::from(run(&args, &mut stdout))
}

/// Verifies, writes the report as pretty JSON to `out`, and returns the exit status.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> u8 {
    let report = verify_input(args);
    let status = match report.outcome() {
        Outcome::Valid => 0,
        Outcome::Invalid => 1,
        Outcome::Unreadable => 2,
    };
    // A report of plain strings and booleans always serialises.
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    if writeln!(out, "{json}").is_err() {
        return 2;
    }
    status
}

fn verify_input(args: &VerifyArgs) -> VerificationReport {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return VerificationReport::unreadable(format!(
                "cannot start the async runtime: {error}"
            ));
        }
    };
    let resolver = HttpResolver::new();
    let context = VerifyContext {
        resolver: &resolver,
        now: args.at.unwrap_or_else(now),
        email: args.email.as_deref(),
    };
    if is_http_url(&args.input) {
        return runtime.block_on(verify::verify(VerifyInput::Url(&args.input), &context));
    }
    let bytes = match std::fs::read(&args.input) {
        Ok(bytes) => bytes,
        Err(error) => {
            return VerificationReport::unreadable(format!(
                "cannot read the file {}: {error}",
                args.input
            ));
        }
    };
    let input = VerifyInput::Bytes {
        bytes: &bytes,
        declared: declared_image_kind(&args.input),
    };
    runtime.block_on(verify::verify(input, &context))
}

fn now() -> Timestamp {
    SystemClock.now()
}

/// Fetches documents over HTTP(S) for the verifier.
#[derive(Clone)]
pub struct HttpResolver {
    agent: ureq::Agent,
}

impl HttpResolver {
    /// The maximum number of redirects followed for one document.
    pub const MAX_REDIRECTS: u32 = 3;
    /// The maximum time of a whole request, connection and body included.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(Self::MAX_REDIRECTS)
            .max_redirects_will_error(true)
            .timeout_global(Some(Self::TIMEOUT))
            .user_agent(concat!("accolade-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent }
    }

    fn fetch_blocking(&self, url: &str, kind: DocumentKind) -> Result<Fetched, FetchError> {
        if !is_http_url(url) {
            return Err(FetchError::UnsupportedUrl {
                url: url.to_owned(),
            });
        }
        let mut response = self
            .agent
            .get(url)
            .header("Accept", kind.accept())
            .call()
            .map_err(|error| fetch_error(url, error))?;
        let final_url = response.get_uri().to_string();
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .map(Fetched::media_type_of);
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(kind.max_bytes() as u64)
            .read_to_vec()
            .map_err(|error| fetch_error(&final_url, error))?;
        Ok(Fetched {
            url: final_url,
            status,
            media_type,
            body,
        })
    }
}

impl Default for HttpResolver {
    fn default() -> Self {
        Self::new()
    }
}

fn fetch_error(url: &str, error: ureq::Error) -> FetchError {
    let url = url.to_owned();
    match error {
        ureq::Error::Timeout(_) => FetchError::TimedOut {
            url,
            seconds: HttpResolver::TIMEOUT.as_secs(),
        },
        ureq::Error::TooManyRedirects => FetchError::TooManyRedirects {
            url,
            max: HttpResolver::MAX_REDIRECTS,
        },
        ureq::Error::BodyExceedsLimit(max) => FetchError::TooLarge {
            url,
            max_bytes: usize::try_from(max).unwrap_or(usize::MAX),
        },
        ureq::Error::BadUri(_) | ureq::Error::RedirectFailed => FetchError::UnsupportedUrl { url },
        other => FetchError::Unreachable {
            url,
            reason: other.to_string(),
        },
    }
}

#[async_trait]
impl Resolver for HttpResolver {
    async fn fetch(&self, url: &str, kind: DocumentKind) -> Result<Fetched, FetchError> {
        let resolver = self.clone();
        let owned_url = url.to_owned();
        tokio::task::spawn_blocking(move || resolver.fetch_blocking(&owned_url, kind))
            .await
            .unwrap_or_else(|error| {
                Err(FetchError::Unreachable {
                    url: url.to_owned(),
                    reason: format!("the request was cancelled: {error}"),
                })
            })
    }
}
