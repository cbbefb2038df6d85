//! Burst benchmark of the local stack.
//!
//! Starts `accolade serve` as a child process on 127.0.0.1 in a fresh temporary folder, then:
//! 1. awards one achievement to N recipients (default 1,000) in batch calls of up to 500;
//! 2. waits until every claim email is in the outbox;
//! 3. claims every award from its email's link, and waits until every award's PNG and SVG
//!    are baked.
//!
//! It reads the server's CPU time (utime + stime from `/proc/PID/stat`) at the edges of each
//! phase and its peak resident memory (`VmHWM` from `/proc/PID/status`) at the end, and prints
//! a summary and one JSON line. Every wait is bounded; all traffic goes to the child server.
//!
//! Usage: accolade-burst [--accolade PATH] [--recipients N] [--batch-size N]
//!        [--claim-threads N] [--keep]

use std::collections::HashSet;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(60);
const EMAILS_TIMEOUT: Duration = Duration::from_secs(300);
const BAKING_TIMEOUT: Duration = Duration::from_secs(600);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The server counts as idle once its CPU time has not moved for this long.
const SETTLE_WINDOW: Duration = Duration::from_millis(300);
/// How often the outbox is listed. Email times come from the file names, so this only sets
/// how soon the wait notices the last one.
const POLL: Duration = Duration::from_millis(10);
const BAKING_POLL: Duration = Duration::from_millis(50);
/// The batch endpoint takes at most this many items per call.
const MAX_BATCH: usize = 500;

struct Options {
    accolade: PathBuf,
    recipients: usize,
    batch_size: usize,
    claim_threads: usize,
    keep: bool,
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn default_accolade() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target-bench"));
    target.join("release").join("accolade")
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        accolade: default_accolade(),
        recipients: 1_000,
        batch_size: MAX_BATCH,
        claim_threads: 4,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, text: String| {
            text.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("{name} {text:?} is invalid: expected a whole number above 0")
                })
        };
        match arg.as_str() {
            "--accolade" => options.accolade = PathBuf::from(value("--accolade")?),
            "--recipients" => options.recipients = number("--recipients", value("--recipients")?)?,
            "--batch-size" => options.batch_size = number("--batch-size", value("--batch-size")?)?,
            "--claim-threads" => {
                options.claim_threads = number("--claim-threads", value("--claim-threads")?)?
            }
            "--keep" => options.keep = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; expected --accolade PATH, --recipients N, \
                     --batch-size N, --claim-threads N or --keep"
                ));
            }
        }
    }
    if options.batch_size > MAX_BATCH {
        return Err(format!(
            "--batch-size {} is above the batch endpoint's maximum of {MAX_BATCH}",
            options.batch_size
        ));
    }
    if !options.accolade.is_file() {
        return Err(format!(
            "{} does not exist; build it with `cargo build --release -p accolade-local` or pass --accolade",
            options.accolade.display()
        ));
    }
    Ok(options)
}

/// The server's CPU time so far and its memory, from `/proc`.
struct ProcessStats {
    pid: u32,
    ticks_per_second: f64,
}

impl ProcessStats {
    fn new(pid: u32) -> Self {
        // Linux reports utime and stime in clock ticks, 100 per second on every common
        // configuration, and getconf prints the rate when it differs.
        let ticks_per_second = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .unwrap_or(100.0);
        Self {
            pid,
            ticks_per_second,
        }
    }

    /// User plus system CPU time of every thread, in milliseconds.
    fn cpu_ms(&self) -> Result<f64, String> {
        let path = format!("/proc/{}/stat", self.pid);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        // The command name in brackets may hold spaces, so count fields after the last ')'.
        let after_name = text
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| format!("{path} has no command name"))?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 (utime) and 15 (stime) of proc(5); field 3 (state) is index 0 here.
        let ticks = |index: usize| {
            fields
                .get(index)
                .and_then(|value| value.parse::<f64>().ok())
                .ok_or_else(|| format!("{path} field {} is missing", index + 3))
        };
        Ok((ticks(11)? + ticks(12)?) * 1000.0 / self.ticks_per_second)
    }

    /// Reads a `kB` line of `/proc/PID/status`, such as `VmHWM`.
    fn status_kib(&self, key: &str) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| format!("{path} has no {key} line"))
    }

    /// Waits until the CPU time stops moving for [`SETTLE_WINDOW`], so that work queued by
    /// the phase that just ended is counted in it. Returns the CPU time then.
    fn settle(&self) -> Result<f64, String> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let mut last = self.cpu_ms()?;
        loop {
            std::thread::sleep(SETTLE_WINDOW);
            let now = self.cpu_ms()?;
            if now == last || Instant::now() > deadline {
                return Ok(now);
            }
            last = now;
        }
    }
}

/// The child server, stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    data_dir: PathBuf,
    keep: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if self.keep {
            eprintln!("kept the data folder {}", self.data_dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

fn start_server(options: &Options) -> Result<(Server, String), String> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let data_dir =
        std::env::temp_dir().join(format!("accolade-burst-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let log = std::fs::File::create(data_dir.join("server.log"))
        .map_err(|error| format!("cannot create the server log: {error}"))?;
    let log_err = log
        .try_clone()
        .map_err(|error| format!("cannot open the server log twice: {error}"))?;

    let addr = format!("127.0.0.1:{}", free_port()?);
    let child = Command::new(&options.accolade)
        .args(["serve", "--addr", &addr, "--data-dir"])
        .arg(&data_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", options.accolade.display()))?;
    let server = Server {
        child,
        data_dir,
        keep: options.keep,
    };
    Ok((server, format!("http://{addr}")))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn wait_until_ready(agent: &ureq::Agent, base: &str, data_dir: &Path) -> Result<Value, String> {
    let deadline = Instant::now() + SERVER_READY_TIMEOUT;
    let credentials_path = data_dir.join("demo-client.json");
    loop {
        let answered = agent
            .get(&format!("{base}/openapi.json"))
            .call()
            .is_ok_and(|response| response.status() == 200);
        if answered && let Ok(bytes) = std::fs::read(&credentials_path) {
            return serde_json::from_slice(&bytes)
                .map_err(|error| format!("{} is invalid: {error}", credentials_path.display()));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the server did not answer within {SERVER_READY_TIMEOUT:?}; see {}",
                data_dir.join("server.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_json(mut response: ureq::http::Response<ureq::Body>, what: &str) -> Result<Value, String> {
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|error| format!("{what}: cannot read the response: {error}"))?;
    if !(200..300).contains(&status) {
        return Err(format!("{what} answered {status}: {text}"));
    }
    serde_json::from_str(&text)
        .map_err(|error| format!("{what}: the response is not JSON: {error}"))
}

fn access_token(agent: &ureq::Agent, credentials: &Value) -> Result<String, String> {
    let field = |name: &str| {
        credentials[name]
            .as_str()
            .ok_or_else(|| format!("the credentials file has no {name}"))
    };
    let response = agent
        .post(field("token_url")?)
        .send_form([
            ("grant_type", "client_credentials"),
            ("client_id", field("client_id")?),
            ("client_secret", field("client_secret")?),
        ])
        .map_err(|error| format!("the token request failed: {error}"))?;
    let body = read_json(response, "the token endpoint")?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the token response has no access_token".to_owned())
}

fn first_achievement(agent: &ureq::Agent, api: &str, token: &str) -> Result<String, String> {
    let response = agent
        .get(&format!("{api}/achievements"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|error| format!("listing achievements failed: {error}"))?;
    let body = read_json(response, "GET /v1/achievements")?;
    body["items"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the demo issuer has no achievement".to_owned())
}

/// Sends the batch calls; returns the number of created awards and each call's time.
fn issue(
    agent: &ureq::Agent,
    api: &str,
    token: &str,
    achievement: &str,
    options: &Options,
) -> Result<(usize, Vec<Duration>), String> {
    let mut created = 0;
    let mut call_times = Vec::new();
    let indexes: Vec<usize> = (1..=options.recipients).collect();
    for (call, chunk) in indexes.chunks(options.batch_size).enumerate() {
        let items: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({
                    "achievement_id": achievement,
                    "recipient": {
                        "email": format!("burst-{i:05}@example.org"),
                        "name": format!("Burst Recipient {i}"),
                    },
                    "narrative": "Played in the massed ensemble at the end-of-term concert.",
                })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "items": items }))
            .map_err(|error| format!("cannot encode the batch: {error}"))?;
        let start = Instant::now();
        let response = agent
            .post(&format!("{api}/awards/batch"))
            .header("Authorization", &format!("Bearer {token}"))
            .header(
                "Idempotency-Key",
                &format!("burst-{}-{call}", std::process::id()),
            )
            .header("Content-Type", "application/json")
            .send(&body[..])
            .map_err(|error| format!("batch call {call} failed: {error}"))?;
        let result = read_json(response, "POST /v1/awards/batch")?;
        call_times.push(start.elapsed());
        let items = result["items"].as_array().cloned().unwrap_or_default();
        let ok = items
            .iter()
            .filter(|item| item["status"].as_u64() == Some(201))
            .count();
        if ok != chunk.len() {
            let first_error = items
                .iter()
                .find(|item| item["status"].as_u64() != Some(201))
                .map(|item| item["error"].to_string())
                .unwrap_or_default();
            eprintln!(
                "warning: batch call {call} created {ok} of {} awards; first error: {first_error}",
                chunk.len()
            );
        }
        created += ok;
    }
    Ok((created, call_times))
}

fn outbox_files(outbox: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(outbox)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Reads the time the outbox stamped into an email's file name (`YYYYMMDDTHHMMSS.nnnnnnnnnZ-…`,
/// taken from the system clock when the mailer began writing it). File modification times
/// are no substitute: the kernel stores them from a coarse clock, up to a few milliseconds
/// early.
fn stamp_of(file: &Path) -> Option<SystemTime> {
    let name = file.file_name()?.to_str()?;
    let stamp = name.get(..26)?;
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<i64>().ok();
    if stamp.as_bytes().get(8) != Some(&b'T') || stamp.as_bytes().get(25) != Some(&b'Z') {
        return None;
    }
    let days = days_from_civil(number(0..4)?, number(4..6)?, number(6..8)?);
    let seconds = days * 86_400 + number(9..11)? * 3_600 + number(11..13)? * 60 + number(13..15)?;
    let nanos = number(16..25)?;
    let since_epoch = Duration::from_secs(u64::try_from(seconds).ok()?)
        + Duration::from_nanos(u64::try_from(nanos).ok()?);
    Some(SystemTime::UNIX_EPOCH + since_epoch)
}

/// Waits for `count` emails; returns their files and the times the first and the last one
/// were written.
fn wait_for_emails(
    outbox: &Path,
    count: usize,
) -> Result<(Vec<PathBuf>, SystemTime, SystemTime), String> {
    let deadline = Instant::now() + EMAILS_TIMEOUT;
    loop {
        let files = outbox_files(outbox);
        if files.len() >= count {
            let mut times = Vec::with_capacity(files.len());
            for file in &files {
                let stamp = stamp_of(file).ok_or_else(|| {
                    format!(
                        "{} has no time stamp in its name; expected YYYYMMDDTHHMMSS.nnnnnnnnnZ-…",
                        file.display()
                    )
                })?;
                times.push(stamp);
            }
            let first = times
                .iter()
                .min()
                .copied()
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let last = times
                .iter()
                .max()
                .copied()
                .unwrap_or(SystemTime::UNIX_EPOCH);
            return Ok((files, first, last));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {count} emails reached {} within {EMAILS_TIMEOUT:?}",
                files.len(),
                outbox.display()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Decodes a quoted-printable body: soft line breaks are removed and `=XX` becomes the byte.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the claim link of an email file: the first URL under `{base}/claim/`.
fn claim_link(file: &Path, base: &str) -> Result<String, String> {
    let raw = std::fs::read_to_string(file)
        .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let text = decode_quoted_printable(&raw);
    let prefix = format!("{base}/claim/");
    let start = text
        .find(&prefix)
        .ok_or_else(|| format!("{} has no link under {prefix}", file.display()))?;
    let link: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.~:/%".contains(*c))
        .collect();
    Ok(link.trim_end_matches('.').to_owned())
}

/// Claims every link with `threads` clients and returns how many claims returned 303.
fn claim_all(links: &[String], threads: usize) -> Result<usize, String> {
    let per_thread = links.len().div_ceil(threads);
    let results: Vec<Result<usize, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = links
            .chunks(per_thread.max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    let agent = agent();
                    let mut claimed = 0;
                    for link in chunk {
                        let response = agent
                            .post(link)
                            .send_form([("display_name", "Burst Recipient"), ("show_name", "on")])
                            .map_err(|error| format!("claiming failed: {error}"))?;
                        if response.status() == 303 {
                            claimed += 1;
                        } else {
                            eprintln!("warning: a claim returned status {}", response.status());
                        }
                    }
                    Ok(claimed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a claim thread panicked".to_owned()))
            })
            .collect()
    });
    results.into_iter().sum()
}

/// Waits until `count` awards have both their PNG and SVG. Each poll lists the award folders
/// and checks only those not yet complete, so that the poll itself stays cheap beside the
/// server it measures.
fn wait_for_baking(files: &Path, count: usize) -> Result<(), String> {
    let deadline = Instant::now() + BAKING_TIMEOUT;
    let folder = files.join("assertions");
    let mut complete: HashSet<PathBuf> = HashSet::with_capacity(count);
    loop {
        if let Ok(entries) = std::fs::read_dir(&folder) {
            for entry in entries.filter_map(Result::ok) {
                let award = entry.path();
                if !complete.contains(&award)
                    && award.join("image.png").is_file()
                    && award.join("image.svg").is_file()
                {
                    complete.insert(award);
                }
            }
        }
        if complete.len() >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {count} awards had both images baked within {BAKING_TIMEOUT:?}",
                complete.len()
            ));
        }
        std::thread::sleep(BAKING_POLL);
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

fn since(start: SystemTime, at: SystemTime) -> Duration {
    at.duration_since(start).unwrap_or_default()
}

fn run(options: &Options) -> Result<(), String> {
    let load_start = load_average();
    let (server, base) = start_server(options)?;
    let stats = ProcessStats::new(server.child.id());
    let agent = agent();
    let credentials = wait_until_ready(&agent, &base, &server.data_dir)?;
    let api = credentials["api_url"]
        .as_str()
        .ok_or("the credentials file has no api_url")?
        .trim_end_matches('/')
        .to_owned();
    let token = access_token(&agent, &credentials)?;
    let achievement = first_achievement(&agent, &api, &token)?;
    let outbox = server.data_dir.join("outbox");
    let cpu_idle = stats.settle()?;
    let rss_before = stats.status_kib("VmRSS")?;

    // Phase 1: the batch calls.
    let wall_start = SystemTime::now();
    let start = Instant::now();
    let cpu_start = stats.cpu_ms()?;
    let (created, call_times) = issue(&agent, &api, &token, &achievement, options)?;
    let issue_elapsed = start.elapsed();
    let cpu_after_issue = stats.cpu_ms()?;
    let emails_during_issue = outbox_files(&outbox).len();

    // Phase 2: the claim emails.
    let (emails, first_email, last_email) = wait_for_emails(&outbox, created)?;
    let cpu_after_send = stats.settle()?;

    // Phase 3: claims, then baking.
    let links = emails
        .iter()
        .map(|file| claim_link(file, &base))
        .collect::<Result<Vec<_>, _>>()?;
    let claim_start = Instant::now();
    let cpu_before_claims = stats.cpu_ms()?;
    let claimed = claim_all(&links, options.claim_threads)?;
    let claim_elapsed = claim_start.elapsed();
    let cpu_after_claims = stats.cpu_ms()?;
    wait_for_baking(&server.data_dir.join("files"), claimed)?;
    let bake_elapsed = claim_start.elapsed();
    let cpu_after_bake = stats.settle()?;

    let peak_kib = stats.status_kib("VmHWM")?;
    let load_end = load_average();
    let per_award = |cpu: f64, count: usize| {
        if count == 0 {
            f64::NAN
        } else {
            cpu / count as f64
        }
    };

    let result = json!({
        "recipients": options.recipients,
        "batch_calls": call_times.len(),
        "created": created,
        "issue_ms": millis(issue_elapsed),
        "batch_call_ms": call_times.iter().map(|d| millis(*d)).collect::<Vec<_>>(),
        "accepted_per_second": (created as f64 / issue_elapsed.as_secs_f64()).round(),
        "emails_during_issue": emails_during_issue,
        "first_email_ms": millis(since(wall_start, first_email)),
        "last_email_ms": millis(since(wall_start, last_email)),
        "cpu_idle_ms_before": cpu_idle,
        "cpu_ms_per_award_issue": per_award(cpu_after_issue - cpu_start, created),
        "cpu_ms_per_award_send": per_award(cpu_after_send - cpu_after_issue, created),
        "claimed": claimed,
        "claim_ms": millis(claim_elapsed),
        "claims_per_second": (claimed as f64 / claim_elapsed.as_secs_f64()).round(),
        "claim_and_bake_ms": millis(bake_elapsed),
        "cpu_ms_per_award_claim": per_award(cpu_after_claims - cpu_before_claims, claimed),
        "cpu_ms_per_award_bake": per_award(cpu_after_bake - cpu_after_claims, claimed),
        "cpu_ms_per_award_total": per_award(cpu_after_bake - cpu_start, created),
        "rss_before_kib": rss_before,
        "peak_rss_kib": peak_kib,
        "claim_threads": options.claim_threads,
        "load_average_start": load_start,
        "load_average_end": load_end,
    });

    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "issue: {created} awards in {} batch calls, {:.0} ms ({:.0} accepted/s); calls took {} ms",
        call_times.len(),
        millis(issue_elapsed),
        result["accepted_per_second"].as_f64().unwrap_or_default(),
        result["batch_call_ms"]
    );
    let _ = writeln!(
        out,
        "emails: first {:.0} ms and last {:.0} ms after the first request ({} written during the batch calls)",
        millis(since(wall_start, first_email)),
        millis(since(wall_start, last_email)),
        emails_during_issue
    );
    let _ = writeln!(
        out,
        "claims: {claimed} in {:.0} ms ({:.0}/s, {} client threads); all baked {:.0} ms after the first claim",
        millis(claim_elapsed),
        result["claims_per_second"].as_f64().unwrap_or_default(),
        options.claim_threads,
        millis(bake_elapsed)
    );
    let _ = writeln!(
        out,
        "server CPU per award: issue {:.3} ms, send {:.3} ms, claim {:.3} ms, bake {:.3} ms, total {:.3} ms",
        result["cpu_ms_per_award_issue"]
            .as_f64()
            .unwrap_or(f64::NAN),
        result["cpu_ms_per_award_send"].as_f64().unwrap_or(f64::NAN),
        result["cpu_ms_per_award_claim"]
            .as_f64()
            .unwrap_or(f64::NAN),
        result["cpu_ms_per_award_bake"].as_f64().unwrap_or(f64::NAN),
        result["cpu_ms_per_award_total"]
            .as_f64()
            .unwrap_or(f64::NAN),
    );
    let _ = writeln!(
        out,
        "server memory: {} KiB resident before the batch, peak (VmHWM) {} KiB; load average {load_start} at start, {load_end} at end",
        rss_before, peak_kib
    );
    let _ = writeln!(out, "{result}");
    drop(server);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 4), 20_791);
    }

    #[test]
    fn stamp_of_outbox_file_name() {
        let file = Path::new("/tmp/outbox/20261204T224228.000000123Z-abc@example.org.eml");
        let expected = SystemTime::UNIX_EPOCH
            + Duration::from_secs(20_791 * 86_400 + 22 * 3_600 + 42 * 60 + 28)
            + Duration::from_nanos(123);
        assert_eq!(stamp_of(file), Some(expected));
    }

    #[test]
    fn stamp_of_rejects_other_names() {
        assert_eq!(stamp_of(Path::new("/tmp/outbox/message.eml")), None);
    }

    #[test]
    fn quoted_printable_joins_soft_breaks() {
        assert_eq!(
            decode_quoted_printable("http://127.0.0.1:8080/claim/ab=\r\ncd =3D x"),
            "http://127.0.0.1:8080/claim/abcd = x"
        );
    }
}
