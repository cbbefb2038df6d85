//! Helpers shared by the end-to-end tests: a local stack on a free port in a temporary
//! folder, a small HTTP client, the outbox reader and the external validators.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use accolade_local::import::Credentials;
use accolade_local::serve::{RunningStack, ServeOptions, StackOverrides, start_with};
use serde_json::Value;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A local stack running on its own thread and runtime, as `accolade serve` runs it.
pub struct TestStack {
    pub data_dir: tempfile::TempDir,
    pub base_url: String,
    pub credentials: Credentials,
    runtime: Option<tokio::runtime::Runtime>,
    stack: Option<RunningStack>,
}

impl TestStack {
    /// Starts a stack on 127.0.0.1 with a free port and a fresh data folder.
    pub fn start() -> Self {
        Self::start_with(StackOverrides::default())
    }

    /// Starts a stack like [`start`](Self::start), with the parts that `overrides` replaces
    /// (a mailer that injects faults, shorter limits).
    pub fn start_with(overrides: StackOverrides) -> Self {
        let data_dir = tempfile::tempdir().expect("cannot make a temporary folder");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot build a runtime");
        let options = ServeOptions {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            data_dir: data_dir.path().to_path_buf(),
            public_url: None,
        };
        let stack = runtime
            .block_on(start_with(options, overrides))
            .expect("the local stack did not start");
        let base_url = stack.public_url.clone();
        let credentials = stack.credentials.clone();
        Self {
            data_dir,
            base_url,
            credentials,
            runtime: Some(runtime),
            stack: Some(stack),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn outbox(&self) -> PathBuf {
        self.data_dir.path().join("outbox")
    }

    /// Returns the paths of the emails in the outbox now, in the order they were written.
    pub fn outbox_emails(&self) -> Vec<PathBuf> {
        let mut emails: Vec<PathBuf> = std::fs::read_dir(self.outbox())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        emails.sort();
        emails
    }

    /// Waits until the outbox holds `count` emails and returns their paths in order.
    pub fn wait_for_emails(&self, count: usize, timeout: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let emails = self.outbox_emails();
            if emails.len() >= count || Instant::now() > deadline {
                assert_eq!(
                    emails.len(),
                    count,
                    "expected {count} emails in the outbox within {timeout:?}"
                );
                return emails;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if let (Some(runtime), Some(stack)) = (self.runtime.take(), self.stack.take()) {
            runtime.block_on(stack.stop());
        }
    }
}

/// Lists the achievements that the bearer `token` can see (the first page, which contains the
/// four of the demo issuer).
pub fn list_achievements(stack: &TestStack, token: &str) -> Vec<Value> {
    let mut response = http()
        .get(&stack.url("/v1/achievements"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("listing achievements failed");
    assert_eq!(response.status(), 200);
    let body: Value = response.body_mut().read_json().expect("JSON list");
    body["items"].as_array().expect("items").clone()
}

/// Returns the id of the Participate achievement among `items` of an achievement list.
pub fn participate_id(items: &[Value]) -> String {
    items
        .iter()
        .find(|item| item["level"] == "participate")
        .and_then(|item| item["id"].as_str())
        .expect("the demo issuer has a Participate achievement")
        .to_owned()
}

/// Returns the id of the demo issuer's Participate achievement, listed with the bearer `token`.
pub fn participate_achievement(stack: &TestStack, token: &str) -> String {
    participate_id(&list_achievements(stack, token))
}

/// A blocking HTTP client that returns every status instead of failing on 4xx and 5xx, and
/// does not follow redirects (tests check them).
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Gets an access token for the demo client.
pub fn access_token(stack: &TestStack) -> String {
    let mut response = http()
        .post(&stack.credentials.token_url)
        .send_form([
            ("grant_type", "client_credentials"),
            ("client_id", stack.credentials.client_id.as_str()),
            ("client_secret", stack.credentials.client_secret.as_str()),
        ])
        .expect("token request failed");
    assert_eq!(response.status(), 200);
    let body: Value = response
        .body_mut()
        .read_json()
        .expect("token response is JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The result of one run of the 1EdTech Open Badges 2.0 validator.
#[derive(Debug)]
pub struct BadgecheckReport {
    pub valid: bool,
    pub report: Value,
}

impl BadgecheckReport {
    /// The validator's messages, for assertion messages.
    pub fn messages(&self) -> String {
        self.report["report"]["messages"].to_string()
    }
}

/// Runs badgecheck (offline) on a URL or a file, with an optional recipient email.
///
/// # Panics
/// When the validator is not installed or fails to run: a missing tool fails the test.
pub fn badgecheck(target: &str, email: Option<&str>) -> BadgecheckReport {
    let runner = std::env::var("ACCOLADE_BADGECHECK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("tests/validators/badgecheck-offline"));
    assert!(
        runner.exists(),
        "the badgecheck runner {} is missing; run `bash infra/scripts/setup-test-tools.sh` (or the test command) first",
        runner.display()
    );
    let mut command = Command::new(&runner);
    command.arg(target);
    if let Some(email) = email {
        command.args(["--email", email]);
    }
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", runner.display()));
    let code = output.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "badgecheck failed to run (exit {code}) on {target}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "badgecheck printed no JSON report ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    BadgecheckReport {
        valid: code == 0,
        report,
    }
}

/// How to install the browser and npm tools, for failure messages.
const SETUP_HINT: &str = "run `bash infra/scripts/setup-test-tools.sh` from the repository root";

/// Finds the claim link in the text part of a claim email: the first URL under `/claim/`.
pub fn find_claim_link(text: &str, base_url: &str) -> String {
    let start = text
        .find(&format!("{base_url}/claim/"))
        .unwrap_or_else(|| panic!("the email has no link under {base_url}/claim/:\n{text}"));
    text[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(['.', ',', ')', '>'])
        .to_owned()
}

/// Returns the folder whose `node_modules` contains the npm tools (`ACCOLADE_NODE_TOOLS`, by
/// default `tests/validators`).
///
/// # Panics
/// When playwright-core or axe-core is not installed there.
pub fn node_tools_dir() -> PathBuf {
    let dir = std::env::var_os("ACCOLADE_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/validators"));
    for module in ["playwright-core", "axe-core"] {
        let path = dir.join("node_modules").join(module);
        assert!(path.is_dir(), "{} is missing; {SETUP_HINT}", path.display());
    }
    dir
}

/// Returns the Chromium executable (`ACCOLADE_CHROMIUM`, by default `/usr/bin/chromium`).
///
/// # Panics
/// When it does not exist.
pub fn chromium_path() -> PathBuf {
    let path = std::env::var_os("ACCOLADE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium is missing at {}; {SETUP_HINT}",
        path.display()
    );
    path
}

/// Runs `node SCRIPT` from the repository root with these extra environment variables and
/// returns its output, whatever its exit status.
///
/// # Panics
/// When `node` cannot be started.
pub fn run_node_script(script: &Path, envs: &[(&str, &str)]) -> std::process::Output {
    Command::new("node")
        .arg(script)
        .current_dir(repo_root())
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `node {}` ({error}); install Node.js 20 or newer, then {SETUP_HINT}",
                script.display()
            )
        })
}
