//! `accolade import-csv`: turns an event export into awards through the partner API's batch
//! endpoint, so an import takes exactly the path a partner system takes.

pub mod client;
pub use accolade::export;

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::client::{ApiClient, BatchItemResult};
use self::export::{ColumnOptions, ImportPlan, PlannedAward, RowNote, plan_import};
use accolade::crypto::sha256_hex;

/// The maximum number of awards in one call of the batch endpoint.
pub const BATCH_SIZE: usize = 500;

/// The credentials file written by `accolade serve` (`demo-client.json`), and the shape a
/// partner's credentials take.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub token_url: String,
    pub api_url: String,
}

/// The input file, the achievement to award and the server of an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub file: PathBuf,
    pub achievement_id: String,
    /// The deployment's base URL; when given it overrides the URLs in the credentials file.
    pub server: Option<String>,
    pub credentials: Credentials,
    pub columns: ColumnOptions,
    pub narrative: Option<String>,
    pub dry_run: bool,
}

/// The outcome of an import, row by row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub data_rows: usize,
    /// The awards a dry run would send; empty when the import sends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_award: Vec<PlannedAward>,
    pub awarded: Vec<Awarded>,
    pub already_awarded: Vec<RowNote>,
    pub skipped: Vec<RowNote>,
    pub duplicates: Vec<RowNote>,
    pub invalid: Vec<RowNote>,
    pub failed: Vec<RowNote>,
}

/// One award made by the import.
#[derive(Debug, Clone, Serialize)]
pub struct Awarded {
    pub line: u64,
    pub award_id: String,
}

impl ImportReport {
    fn from_plan(plan: &ImportPlan) -> Self {
        Self {
            data_rows: plan.data_rows,
            skipped: plan.skipped.clone(),
            duplicates: plan.duplicates.clone(),
            invalid: plan.invalid.clone(),
            ..Self::default()
        }
    }

    /// Whether every row that should have become an award did (or already was one).
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// Writes the per-row notes and a summary for a person to read.
    pub fn write_summary(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let sections: [(&str, &Vec<RowNote>); 5] = [
            ("Skipped", &self.skipped),
            ("Duplicate rows", &self.duplicates),
            ("Invalid rows", &self.invalid),
            ("Already awarded", &self.already_awarded),
            ("Failed", &self.failed),
        ];
        if !self.would_award.is_empty() {
            writeln!(out, "Would award (dry run, nothing sent):")?;
            for award in &self.would_award {
                let address = match (&award.email, &award.delivery_email) {
                    (Some(email), Some(delivery)) => format!("{email}, emailed to {delivery}"),
                    (Some(email), None) => email.clone(),
                    (None, Some(delivery)) => format!("emailed to {delivery}"),
                    (None, None) => String::new(),
                };
                writeln!(out, "  line {}: {} <{address}>", award.line, award.name)?;
            }
        }
        for (title, notes) in sections {
            if notes.is_empty() {
                continue;
            }
            writeln!(out, "{title}:")?;
            for note in notes {
                writeln!(out, "  line {}: {}", note.line, note.message)?;
            }
        }
        if !self.would_award.is_empty() {
            return writeln!(
                out,
                "{} rows: {} would be awarded, {} skipped, {} duplicate, {} invalid",
                self.data_rows,
                self.would_award.len(),
                self.skipped.len(),
                self.duplicates.len(),
                self.invalid.len()
            );
        }
        writeln!(
            out,
            "{} rows: {} awarded, {} already awarded, {} skipped, {} duplicate, {} invalid, {} failed",
            self.data_rows,
            self.awarded.len(),
            self.already_awarded.len(),
            self.skipped.len(),
            self.duplicates.len(),
            self.invalid.len(),
            self.failed.len()
        )
    }
}

/// Errors that stop an import before or while it sends.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Export(#[from] export::ExportError),
    #[error(transparent)]
    Api(#[from] client::ClientError),
}

/// The largest batch body the import sends, in bytes: under the API's 2 MiB request limit,
/// with room for long narratives.
pub const MAX_BATCH_BYTES: usize = 1536 * 1024;

/// Plans the import and, unless it is a dry run, sends it in batches. Progress goes to
/// `progress` (stderr for the command) once per batch.
///
/// When a batch cannot be sent (the server is down, or keeps returning 5xx), the import
/// stops there: the report lists that batch's rows and the later ones as failed, with the
/// reason, and the rows already awarded stay in it. Running the same import again is safe.
pub fn run_import(
    options: &ImportOptions,
    progress: &mut dyn Write,
) -> Result<ImportReport, ImportError> {
    let bytes = std::fs::read(&options.file).map_err(|source| ImportError::Read {
        path: options.file.display().to_string(),
        source,
    })?;
    let plan = plan_import(&bytes, &options.columns, options.narrative.as_deref())?;
    let mut report = ImportReport::from_plan(&plan);
    if options.dry_run {
        report.would_award = plan.awards;
        return Ok(report);
    }
    if plan.awards.is_empty() {
        return Ok(report);
    }

    let client = ApiClient::connect(&options.credentials, options.server.as_deref())?;
    client.check_achievement(&options.achievement_id)?;
    let batches = batches(&options.achievement_id, &plan.awards);
    let total = plan.awards.len();
    let mut done = 0;
    for (index, (awards, body)) in batches.iter().enumerate() {
        // The key is the hash of the batch body, so rerunning the same import replays the
        // first responses, and any change (another narrative, a corrected row) is a new request
        // that the server's duplicate check still keeps from awarding anyone twice.
        let key = format!("import-{}", &sha256_hex(body.to_string().as_bytes())[..40]);
        let response = match client.award_batch(body, awards.len(), &key) {
            Ok(response) => response,
            Err(error) => {
                let reason = format!("not sent: {error}");
                for (rest, _) in &batches[index..] {
                    report.failed.extend(rest.iter().map(|planned| RowNote {
                        line: planned.line,
                        message: reason.clone(),
                    }));
                }
                let _ = writeln!(progress, "stopped after {done}/{total} awards: {error}");
                return Ok(report);
            }
        };
        for (planned, result) in awards.iter().zip(response.items) {
            report.record(planned.line, result, response.replayed);
        }
        done += awards.len();
        let _ = writeln!(progress, "sent {done}/{total} awards");
    }
    Ok(report)
}

impl ImportReport {
    fn record(&mut self, line: u64, result: BatchItemResult, replayed: bool) {
        match result {
            BatchItemResult::Awarded { award_id } if replayed => {
                self.already_awarded.push(RowNote {
                    line,
                    message: format!("awarded by an earlier run of this import (award {award_id})"),
                })
            }
            BatchItemResult::Awarded { award_id } => self.awarded.push(Awarded { line, award_id }),
            BatchItemResult::AlreadyAwarded { existing_award_id } => {
                self.already_awarded.push(RowNote {
                    line,
                    message: format!(
                        "this recipient already has this badge (award {existing_award_id})"
                    ),
                })
            }
            BatchItemResult::Failed {
                status,
                code,
                message,
            } => self.failed.push(RowNote {
                line,
                message: format!("{status} {code}: {message}"),
            }),
        }
    }
}

/// Splits the planned awards into batch bodies of at most [`BATCH_SIZE`] items and
/// [`MAX_BATCH_BYTES`] bytes, in file order.
fn batches<'a>(
    achievement_id: &str,
    awards: &'a [PlannedAward],
) -> Vec<(&'a [PlannedAward], Value)> {
    let item = |award: &PlannedAward| {
        json!({
            "achievement_id": achievement_id,
            "recipient": {
                "email": award.email,
                "name": award.name,
                "delivery_email": award.delivery_email,
            },
            "narrative": award.narrative,
        })
    };
    let mut batches = Vec::new();
    let mut start = 0;
    let mut items = Vec::new();
    let mut size = 0;
    for (index, award) in awards.iter().enumerate() {
        let value = item(award);
        let value_size = value.to_string().len() + 1;
        if !items.is_empty() && (items.len() == BATCH_SIZE || size + value_size > MAX_BATCH_BYTES) {
            batches.push((
                &awards[start..index],
                json!({ "items": std::mem::take(&mut items) }),
            ));
            start = index;
            size = 0;
        }
        size += value_size;
        items.push(value);
    }
    if !items.is_empty() {
        batches.push((&awards[start..], json!({ "items": items })));
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(line: u64, narrative_len: usize) -> PlannedAward {
        PlannedAward {
            line,
            email: Some(format!("person{line}@example.org")),
            name: format!("Person {line}"),
            delivery_email: None,
            narrative: Some("n".repeat(narrative_len)),
        }
    }

    #[test]
    fn batches_split_by_count() {
        let awards: Vec<_> = (1..=1_200).map(|line| planned(line, 10)).collect();
        let sizes: Vec<usize> = batches("a", &awards)
            .iter()
            .map(|(rows, _)| rows.len())
            .collect();
        assert_eq!(sizes, [500, 500, 200]);
    }

    #[test]
    fn batches_split_by_size() {
        // 300 narratives of 20,000 characters are about 6 MB: no body may pass the limit.
        let awards: Vec<_> = (1..=300).map(|line| planned(line, 20_000)).collect();
        let batches = batches("a", &awards);
        assert!(batches.len() >= 4, "{} batches", batches.len());
        for (rows, body) in &batches {
            assert!(body.to_string().len() <= MAX_BATCH_BYTES);
            assert_eq!(body["items"].as_array().map(Vec::len), Some(rows.len()));
        }
        let lines: Vec<u64> = batches
            .iter()
            .flat_map(|(rows, _)| rows.iter().map(|row| row.line))
            .collect();
        assert_eq!(lines, (1..=300).collect::<Vec<_>>());
    }
}
