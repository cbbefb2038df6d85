//! `accolade import-csv`: turns an event export into awards through the partner API's batch
//! endpoint, so an import takes exactly the path a partner system takes.

pub mod client;
pub mod export;

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use self::client::{ApiClient, BatchItemResult};
use self::export::{ColumnOptions, ImportPlan, RowNote, plan_import};
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
        for (title, notes) in sections {
            if notes.is_empty() {
                continue;
            }
            writeln!(out, "{title}:")?;
            for note in notes {
                writeln!(out, "  line {}: {}", note.line, note.message)?;
            }
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

/// Plans the import and, unless it is a dry run, sends it in batches. Progress goes to
/// `progress` (stderr for the command) once per batch.
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
    if options.dry_run || plan.awards.is_empty() {
        return Ok(report);
    }

    let client = ApiClient::connect(&options.credentials, options.server.as_deref())?;
    // The key depends only on the file, the achievement and the batch, so running the same
    // import again (after a timeout, say) replays the first responses instead of awarding twice.
    let file_key = &sha256_hex(&bytes)[..24];
    let total = plan.awards.len();
    for (batch_number, batch) in plan.awards.chunks(BATCH_SIZE).enumerate() {
        let key = format!(
            "import-{file_key}-{}-{batch_number}",
            options.achievement_id
        );
        let results = client.award_batch(&options.achievement_id, batch, &key)?;
        for (planned, result) in batch.iter().zip(results) {
            match result {
                BatchItemResult::Awarded { award_id } => report.awarded.push(Awarded {
                    line: planned.line,
                    award_id,
                }),
                BatchItemResult::AlreadyAwarded { existing_award_id } => {
                    report.already_awarded.push(RowNote {
                        line: planned.line,
                        message: format!(
                            "this recipient already has this badge (award {existing_award_id})"
                        ),
                    })
                }
                BatchItemResult::Failed {
                    status,
                    code,
                    message,
                } => report.failed.push(RowNote {
                    line: planned.line,
                    message: format!("{status} {code}: {message}"),
                }),
            }
        }
        let done = (batch_number * BATCH_SIZE + batch.len()).min(total);
        let _ = writeln!(progress, "sent {done}/{total} awards");
    }
    Ok(report)
}
