//! `accolade bench-bake DIR`: times Accolade's baking and unbaking on the inputs that
//! `DIR/manifest.json` lists, in this process, with each input in memory and each output
//! kept in memory, and prints one JSON line per input and operation.
//!
//! The rules match the peer harnesses in `bench/peers/`, so the figures compare: one checked
//! call that is not timed, a warm-up of at least [`WARMUP_CALLS`] calls and
//! [`WARMUP_SECONDS`], then N calls, each timed on its own. N is `BENCH_N`, or else as many
//! calls as fill `BENCH_SECONDS` (default 1.0) at the warm-up's mean, clamped to
//! [`MIN_CALLS`]..=[`MAX_CALLS`]. Percentiles use linear interpolation between the closest
//! ranks (numpy's default).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use accolade::baking::{self, BadgeFormat, BakeInput, Unbaked};
use clap::Args;
use serde::{Deserialize, Serialize};

/// Minimum number of warm-up calls.
pub const WARMUP_CALLS: usize = 5;
/// Minimum warm-up time, in seconds.
pub const WARMUP_SECONDS: f64 = 0.25;
/// Fewest timed calls, so that p10 and p90 rest on more than a couple of samples.
pub const MIN_CALLS: usize = 15;
/// Most timed calls, so that sub-microsecond operations finish quickly.
pub const MAX_CALLS: usize = 5_000;
/// Timed seconds per operation when neither `BENCH_N` nor `BENCH_SECONDS` is set.
pub const DEFAULT_SECONDS: f64 = 1.0;

#[derive(Debug, Args)]
pub struct BenchBakeArgs {
    /// The folder with `manifest.json`, the inputs it lists and `baked/<name>` for unbaking.
    dir: PathBuf,
    /// Write each input's `bake-json` output to `DIR/baked/<name>` before timing `unbake`.
    #[arg(long)]
    write_baked: bool,
}

/// `DIR/manifest.json`.
#[derive(Debug, Deserialize)]
struct Manifest {
    /// `v2` (Open Badges 2.0, the only version the peer bakers write) or `v3`.
    #[serde(default = "default_format")]
    format: String,
    /// The hosted assertion's URL, the payload of `bake-url`.
    assertion_url: String,
    /// The file with the assertion JSON, relative to DIR: the payload of `bake-json`.
    assertion: PathBuf,
    inputs: Vec<ManifestInput>,
}

fn default_format() -> String {
    "v2".to_owned()
}

#[derive(Debug, Deserialize)]
struct ManifestInput {
    /// The name printed in results; the baked copy is `DIR/baked/<name>`.
    name: String,
    /// The image, relative to DIR.
    path: PathBuf,
}

/// How many calls to time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CallCount {
    /// Exactly this many (`BENCH_N`).
    Fixed(usize),
    /// As many as fill this many seconds at the warm-up's mean (`BENCH_SECONDS`).
    Seconds(f64),
}

impl CallCount {
    /// Reads `BENCH_N` and `BENCH_SECONDS`; `BENCH_N` wins when both are set.
    pub fn from_env() -> Result<Self, String> {
        if let Ok(value) = std::env::var("BENCH_N") {
            return match value.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(CallCount::Fixed(n)),
                _ => Err(format!(
                    "BENCH_N={value:?} is invalid: expected a whole number of calls above 0"
                )),
            };
        }
        if let Ok(value) = std::env::var("BENCH_SECONDS") {
            return match value.trim().parse::<f64>() {
                Ok(seconds) if seconds.is_finite() && seconds > 0.0 => {
                    Ok(CallCount::Seconds(seconds))
                }
                _ => Err(format!(
                    "BENCH_SECONDS={value:?} is invalid: expected a number of seconds above 0"
                )),
            };
        }
        Ok(CallCount::Seconds(DEFAULT_SECONDS))
    }

    /// The number of timed calls, given the warm-up's mean time per call.
    pub fn calls(self, mean_seconds: f64) -> usize {
        match self {
            CallCount::Fixed(n) => n,
            CallCount::Seconds(seconds) => {
                let fitting = if mean_seconds > 0.0 {
                    (seconds / mean_seconds).ceil()
                } else {
                    f64::INFINITY
                };
                // `as` saturates, and the clamp bounds the result either way.
                (fitting as usize).clamp(MIN_CALLS, MAX_CALLS)
            }
        }
    }
}

/// The summary of one operation's timed calls, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
}

/// The `p` quantile (0 to 1) of sorted samples by linear interpolation between the closest
/// ranks, as numpy's default and Python's `statistics.quantiles(method="inclusive")` compute it.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower as f64)
}

/// Summarises samples given in seconds.
pub fn summarise(mut samples: Vec<f64>) -> Summary {
    samples.sort_by(f64::total_cmp);
    let micros = |seconds: f64| (seconds * 1e9).round() / 1e3;
    Summary {
        n: samples.len(),
        median_us: micros(percentile(&samples, 0.5)),
        p10_us: micros(percentile(&samples, 0.1)),
        p90_us: micros(percentile(&samples, 0.9)),
    }
}

/// Warms `call` up, then times it N times, each call on its own. Stops at the first error.
pub fn measure<T>(
    count: CallCount,
    mut call: impl FnMut() -> Result<T, String>,
) -> Result<Summary, String> {
    let warmup_start = Instant::now();
    let warmup_floor = Duration::from_secs_f64(WARMUP_SECONDS);
    let mut warmup_calls = 0usize;
    while warmup_calls < WARMUP_CALLS || warmup_start.elapsed() < warmup_floor {
        black_box(call()?);
        warmup_calls += 1;
    }
    let mean = warmup_start.elapsed().as_secs_f64() / warmup_calls as f64;

    let n = count.calls(mean);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let output = call();
        let elapsed = start.elapsed();
        // Dropping the output (freeing the baked image) is left out of the time.
        black_box(output?);
        samples.push(elapsed.as_secs_f64());
    }
    Ok(summarise(samples))
}

/// One line of output, with the keys in this order; absent fields are left out.
#[derive(Debug, Serialize)]
struct ResultLine<'a> {
    tool: &'static str,
    op: &'static str,
    input: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    median_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p10_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p90_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The operations, in the order they run for each input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    /// Bake a hosted assertion: Accolade writes the assertion JSON together with its URL (in
    /// an SVG the URL goes in `verify`; a PNG's JSON carries it as its `id`), because it reads
    /// a bare URL from legacy bakes but never writes one.
    BakeUrl,
    /// Bake the assertion JSON alone.
    BakeJson,
    /// Read the badge data back from `DIR/baked/<name>`.
    Unbake,
}

impl Operation {
    const ALL: [Operation; 3] = [Operation::BakeUrl, Operation::BakeJson, Operation::Unbake];

    fn name(self) -> &'static str {
        match self {
            Operation::BakeUrl => "bake-url",
            Operation::BakeJson => "bake-json",
            Operation::Unbake => "unbake",
        }
    }
}

/// What every operation of one run shares.
struct Run {
    dir: PathBuf,
    format: BadgeFormat,
    assertion_url: String,
    assertion: String,
    count: CallCount,
    write_baked: bool,
}

/// Runs the benchmark and prints one JSON line per input and operation on stdout.
pub fn run(args: BenchBakeArgs) -> ExitCode {
    let (run, manifest) = match prepare(&args) {
        Ok(prepared) => prepared,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };

    let mut failures = 0usize;
    for input in &manifest.inputs {
        for operation in Operation::ALL {
            let mut line = ResultLine {
                tool: "accolade",
                op: operation.name(),
                input: &input.name,
                n: None,
                median_us: None,
                p10_us: None,
                p90_us: None,
                error: None,
            };
            match run.time(input, operation) {
                Ok(summary) => {
                    line.n = Some(summary.n);
                    line.median_us = Some(summary.median_us);
                    line.p10_us = Some(summary.p10_us);
                    line.p90_us = Some(summary.p90_us);
                }
                Err(error) => {
                    failures += 1;
                    line.error = Some(error);
                }
            }
            match serde_json::to_string(&line) {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("error: cannot write a result line: {error}"),
            }
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {failures} operations failed; their lines hold the reason");
        ExitCode::FAILURE
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join("manifest.json");
    let bytes =
        std::fs::read(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|error| {
        format!(
            "{} is invalid: {error}; it needs assertion_url, assertion and inputs [{{name, path}}]",
            path.display()
        )
    })
}

fn prepare(args: &BenchBakeArgs) -> Result<(Run, Manifest), String> {
    let manifest = read_manifest(&args.dir)?;
    let format = match manifest.format.as_str() {
        "v2" => BadgeFormat::V2,
        "v3" => BadgeFormat::V3,
        other => {
            return Err(format!(
                "the manifest's format {other:?} is invalid: expected \"v2\" or \"v3\""
            ));
        }
    };
    let assertion_path = args.dir.join(&manifest.assertion);
    let assertion = std::fs::read_to_string(&assertion_path)
        .map_err(|error| format!("cannot read {}: {error}", assertion_path.display()))?;
    let run = Run {
        dir: args.dir.clone(),
        format,
        assertion_url: manifest.assertion_url.clone(),
        assertion,
        count: CallCount::from_env()?,
        write_baked: args.write_baked,
    };
    Ok((run, manifest))
}

impl Run {
    fn time(&self, input: &ManifestInput, operation: Operation) -> Result<Summary, String> {
        match operation {
            Operation::BakeUrl | Operation::BakeJson => {
                let path = self.dir.join(&input.path);
                let image = std::fs::read(&path)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
                let payload = if operation == Operation::BakeUrl {
                    BakeInput::hosted(&self.assertion, &self.assertion_url)
                } else {
                    BakeInput::json(&self.assertion)
                };
                let bake = || {
                    baking::bake(&image, self.format, payload).map_err(|error| error.to_string())
                };

                let baked = bake()?;
                self.check_bake(&baked, operation)?;
                if operation == Operation::BakeJson && self.write_baked {
                    self.write_baked_copy(input, &baked)?;
                }
                measure(self.count, bake)
            }
            Operation::Unbake => {
                let path = self.dir.join("baked").join(&input.name);
                let baked = std::fs::read(&path).map_err(|error| {
                    format!(
                        "cannot read {}: {error}; run with --write-baked to make it",
                        path.display()
                    )
                })?;
                let unbake = || match baking::unbake(&baked) {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => Err(format!("{} carries no badge data", path.display())),
                    Err(error) => Err(error.to_string()),
                };

                let found = unbake()?;
                self.check_unbaked(&found)?;
                measure(self.count, unbake)
            }
        }
    }

    /// Checks that the baked image gives back what was baked.
    fn check_bake(&self, baked: &[u8], operation: Operation) -> Result<(), String> {
        let found = baking::unbake(baked)
            .map_err(|error| format!("the baked image cannot be read back: {error}"))?
            .ok_or("the baked image carries no badge data")?;
        if found.format != self.format || found.text != self.assertion {
            return Err("the baked image gives back another payload than was baked".to_owned());
        }
        let is_svg = baking::sniff(baked) == Some(baking::ImageKind::Svg);
        if operation == Operation::BakeUrl
            && is_svg
            && found.verify_url.as_deref() != Some(self.assertion_url.as_str())
        {
            return Err(format!(
                "the baked SVG's verify attribute is {:?}, expected the assertion URL",
                found.verify_url
            ));
        }
        Ok(())
    }

    /// Checks that an unbaked image holds the assertion or its URL.
    fn check_unbaked(&self, found: &Unbaked) -> Result<(), String> {
        if found.text == self.assertion || found.text == self.assertion_url {
            Ok(())
        } else {
            Err("the baked image holds neither the assertion JSON nor its URL".to_owned())
        }
    }

    fn write_baked_copy(&self, input: &ManifestInput, baked: &[u8]) -> Result<(), String> {
        let folder = self.dir.join("baked");
        std::fs::create_dir_all(&folder)
            .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        let path = folder.join(&input.name);
        std::fs::write(&path, baked)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_between_ranks() {
        let samples = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&samples, 0.5), 3.0);
        assert_eq!(percentile(&samples, 0.1), 1.4);
        assert!((percentile(&samples, 0.9) - 4.6).abs() < 1e-12);
        assert_eq!(percentile(&samples, 0.0), 1.0);
        assert_eq!(percentile(&samples, 1.0), 5.0);
    }

    #[test]
    fn percentile_of_one_sample() {
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn summary_sorts_and_converts_to_microseconds() {
        let summary = summarise(vec![0.000_003, 0.000_001, 0.000_002]);
        assert_eq!(summary.n, 3);
        assert_eq!(summary.median_us, 2.0);
        assert_eq!(summary.p10_us, 1.2);
        assert_eq!(summary.p90_us, 2.8);
    }

    #[test]
    fn call_count_fills_seconds_within_bounds() {
        let count = CallCount::Seconds(1.0);
        assert_eq!(count.calls(0.01), 100);
        assert_eq!(count.calls(1.0), MIN_CALLS);
        assert_eq!(count.calls(1e-9), MAX_CALLS);
        assert_eq!(count.calls(0.0), MAX_CALLS);
        assert_eq!(CallCount::Fixed(3).calls(1e-9), 3);
    }

    #[test]
    fn measure_counts_fixed_calls() {
        let mut calls = 0usize;
        let summary = measure(CallCount::Fixed(20), || {
            calls += 1;
            Ok::<_, String>(calls)
        })
        .unwrap();
        assert_eq!(summary.n, 20);
        assert!(calls >= 20 + WARMUP_CALLS);
    }

    #[test]
    fn measure_stops_at_first_error() {
        let error = measure(CallCount::Fixed(20), || Err::<(), _>("broken".to_owned()));
        assert_eq!(error.unwrap_err(), "broken");
    }
}
