//! Reading an event export (CSV from a booking system) into a plan of awards.
//!
//! Exports differ from system to system, so the reader detects the delimiter and the header
//! row, finds the columns by their usual names (or takes them from options), and decides per
//! row: award, skip (cancelled or did not attend), duplicate of an earlier row, or invalid.

use std::collections::HashMap;

use crate::domain::{EmailAddress, Text, TextLimit};
use serde::Serialize;

/// Column names given on the command line, overriding detection.
#[derive(Debug, Clone, Default)]
pub struct ColumnOptions {
    pub email: Option<String>,
    pub delivery_email: Option<String>,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: Option<String>,
    pub checked_in: Option<String>,
    pub narrative: Option<String>,
}

/// The maximum number of data rows in one export: 10 batches of 500 awards.
pub const MAX_ROWS: usize = 5_000;

/// An export that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text; save it as \"CSV UTF-8\" and try again")]
    NotUtf8,
    #[error(
        "no header row with an email column was found in the first 10 lines; name the column with --email-column"
    )]
    NoHeader,
    #[error("column {0:?} was not found in the header row; the columns are: {1}")]
    UnknownColumn(String, String),
    #[error(
        "no column holds the recipient's email or a parent's or guardian's email; name one with --email-column or --delivery-email-column"
    )]
    NoEmailColumn,
    #[error(
        "no column holds the recipient's name; name it with --name-column, or --first-name-column and --last-name-column"
    )]
    NoNameColumn,
    #[error("the file has more than {max} data rows; split it into smaller files")]
    TooManyRows { max: usize },
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// The award the import sends for one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedAward {
    /// The row's line number in the file (the header row's line is 1 in a plain export).
    pub line: u64,
    pub email: Option<String>,
    pub name: String,
    pub delivery_email: Option<String>,
    pub narrative: Option<String>,
}

/// A row that is not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowNote {
    pub line: u64,
    pub message: String,
}

/// The rows of an export, sorted into what happens to each.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportPlan {
    pub data_rows: usize,
    pub awards: Vec<PlannedAward>,
    pub skipped: Vec<RowNote>,
    pub duplicates: Vec<RowNote>,
    pub invalid: Vec<RowNote>,
}

/// Reads an export into a plan. `default_narrative` is used for rows without a narrative.
pub fn plan_import(
    bytes: &[u8],
    options: &ColumnOptions,
    default_narrative: Option<&str>,
) -> Result<ImportPlan, ExportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ExportError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ExportError::Empty);
    }

    let (header_start, delimiter) = find_header(text, options)?;
    // The reader starts at the header row, so blank or title lines above it cannot shift it.
    // Line numbers still count from the start of the file.
    let malformed = |error: csv::Error| {
        let line = error.position().map_or(0, |position| {
            line_at(text, header_start as u64 + position.byte())
        });
        ExportError::Malformed {
            line,
            message: error.to_string(),
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(&text.as_bytes()[header_start..]);

    let mut records = reader.records();
    let header = records
        .next()
        .ok_or(ExportError::NoHeader)?
        .map_err(malformed)?;
    let columns = Columns::detect(&header, options)?;

    let mut plan = ImportPlan::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in records {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, |position| {
            line_at(text, header_start as u64 + position.byte())
        });
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        plan.data_rows += 1;
        if plan.data_rows > MAX_ROWS {
            return Err(ExportError::TooManyRows { max: MAX_ROWS });
        }
        let field = |index: Option<usize>| {
            index
                .and_then(|i| record.get(i))
                .map(str::trim)
                .unwrap_or("")
        };

        if let Some(reason) = not_attending(field(columns.status), field(columns.checked_in)) {
            plan.skipped.push(RowNote {
                line,
                message: reason,
            });
            continue;
        }

        let name = columns.name(&record);
        let email_raw = field(columns.email);
        let delivery_raw = field(columns.delivery_email);
        let email = match parse_optional_email(email_raw) {
            Ok(email) => email,
            Err(message) => {
                plan.invalid.push(RowNote { line, message });
                continue;
            }
        };
        let delivery_email = match parse_optional_email(delivery_raw) {
            Ok(email) => email,
            Err(message) => {
                plan.invalid.push(RowNote {
                    line,
                    message: format!("parent or guardian {message}"),
                });
                continue;
            }
        };
        if email.is_none() && delivery_email.is_none() {
            plan.invalid.push(RowNote {
                line,
                message: "the row has no email address".to_owned(),
            });
            continue;
        }
        let name = match Text::parse("name", &name, TextLimit::NAME) {
            Ok(name) => name.to_string(),
            Err(error) => {
                plan.invalid.push(RowNote {
                    line,
                    message: error.to_string(),
                });
                continue;
            }
        };

        // The same identity rule as the server's deduplication, so a repeated row is reported
        // here with the line it repeats.
        let identity = match (&email, &delivery_email) {
            (Some(email), _) => format!("email:{email}"),
            (None, Some(delivery)) => format!("delivery:{delivery}:{}", name.to_lowercase()),
            (None, None) => unreachable!("rows without any address were rejected above"),
        };
        if let Some(first_line) = seen.get(&identity) {
            plan.duplicates.push(RowNote {
                line,
                message: format!("repeats line {first_line} (same recipient)"),
            });
            continue;
        }
        seen.insert(identity, line);

        let narrative = Some(field(columns.narrative))
            .filter(|value| !value.is_empty())
            .or(default_narrative)
            .map(str::to_owned);
        plan.awards.push(PlannedAward {
            line,
            email: email.map(|email| email.to_string()),
            name,
            delivery_email: delivery_email.map(|email| email.to_string()),
            narrative,
        });
    }
    Ok(plan)
}

/// The 1-based line number, as an editor shows it, of the record that starts at `offset`.
///
/// With CRLF line endings the csv reader ends a record at the `\r` and reports the next
/// record as starting on the `\n`, so line breaks at the offset are skipped first.
fn line_at(text: &str, offset: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    1 + count_line_breaks(&bytes[..start])
}

/// Counts the line breaks in `bytes`: `\r\n`, `\n` and a lone `\r` each end a line, as they
/// end a record for the csv reader. `bytes` must not end between the `\r` and `\n` of a CRLF.
fn count_line_breaks(bytes: &[u8]) -> u64 {
    let lone_returns = bytes
        .iter()
        .enumerate()
        .filter(|(i, byte)| **byte == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        .count();
    let newlines = bytes.iter().filter(|byte| **byte == b'\n').count();
    (lone_returns + newlines) as u64
}

/// Splits `text` into lines, each with its line break (`\r\n`, `\n` or a lone `\r`).
fn lines_with_breaks(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let mut end = start;
        while end < bytes.len() && !matches!(bytes[end], b'\r' | b'\n') {
            end += 1;
        }
        if end < bytes.len() {
            let crlf = bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n');
            end += if crlf { 2 } else { 1 };
        }
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

fn parse_optional_email(raw: &str) -> Result<Option<EmailAddress>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    EmailAddress::parse(raw)
        .map(Some)
        .map_err(|error| error.to_string())
}

/// Returns why a row is skipped, from its booking status and checked-in flag, or `None`.
fn not_attending(status: &str, checked_in: &str) -> Option<String> {
    let status_key = normalise(status);
    const CANCELLED: [&str; 7] = [
        "cancelled",
        "canceled",
        "refunded",
        "withdrawn",
        "declined",
        "notattending",
        "void",
    ];
    if CANCELLED.contains(&status_key.as_str()) {
        return Some(format!("booking status is {status:?}"));
    }
    const ABSENT: [&str; 5] = ["noshow", "absent", "didnotattend", "dna", "notattended"];
    if ABSENT.contains(&status_key.as_str()) {
        return Some(format!("booking status is {status:?}"));
    }
    // Anything else that is not plainly an attending status is reported rather than awarded:
    // awarding a waitlisted or refunded booking cannot be undone once the email has gone.
    if status_key.starts_with("cancel") || status_key.starts_with("refund") {
        return Some(format!("booking status is {status:?}"));
    }
    const ATTENDING: [&str; 10] = [
        "",
        "attending",
        "attended",
        "checkedin",
        "confirmed",
        "booked",
        "paid",
        "complete",
        "completed",
        "present",
    ];
    if !ATTENDING.contains(&status_key.as_str()) {
        return Some(format!(
            "booking status {status:?} is not recognised as attending; correct the row, or name the right column with --status-column"
        ));
    }
    let checked_key = normalise(checked_in);
    if ["no", "n", "false", "0", "notcheckedin"].contains(&checked_key.as_str()) {
        return Some("did not check in (no-show)".to_owned());
    }
    None
}

/// Lower-cases and keeps only letters and digits, so `Parent/Guardian Email` and
/// `parent_guardian_email` compare equal.
fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_guardian_email(key: &str) -> bool {
    key.contains("email")
        && ["parent", "guardian", "carer", "family"]
            .iter()
            .any(|word| key.contains(word))
}

fn is_recipient_email(key: &str) -> bool {
    const NAMES: [&str; 8] = [
        "email",
        "emailaddress",
        "attendeeemail",
        "participantemail",
        "studentemail",
        "pupilemail",
        "youngpersonemail",
        "recipientemail",
    ];
    NAMES.contains(&key)
}

/// Finds the header row (the first of the first 10 non-blank lines that names an email
/// column) and returns its byte offset and the delimiter that splits it into the most fields.
///
/// When `--email-column` or `--delivery-email-column` names a column that no line has, the
/// row that the automatic rules find is returned instead, so the caller reports the unknown
/// column together with the columns the file does have.
fn find_header(text: &str, options: &ColumnOptions) -> Result<(usize, u8), ExportError> {
    let named: Vec<String> = [&options.email, &options.delivery_email]
        .into_iter()
        .flatten()
        .map(|name| normalise(name))
        .collect();
    if !named.is_empty()
        && let Some(found) = header_line(text, &|key| named.iter().any(|name| name == key))
    {
        return Ok(found);
    }
    header_line(text, &|key| {
        is_recipient_email(key) || is_guardian_email(key)
    })
    .ok_or(ExportError::NoHeader)
}

/// Returns the byte offset and delimiter of the first of the first 10 non-blank lines with
/// a cell that `is_email_column` accepts.
fn header_line(text: &str, is_email_column: &dyn Fn(&str) -> bool) -> Option<(usize, u8)> {
    let mut start = 0;
    let mut non_blank = 0;
    for line in lines_with_breaks(text) {
        let line_start = start;
        start += line.len();
        if line.trim().is_empty() {
            continue;
        }
        non_blank += 1;
        if non_blank > 10 {
            break;
        }
        let delimiter = [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|candidate| line.bytes().filter(|byte| byte == candidate).count())
            .unwrap_or(b',');
        let names_email = line
            .trim_end_matches(['\r', '\n'])
            .split(delimiter as char)
            .any(|cell| is_email_column(&normalise(cell.trim_matches('"'))));
        if names_email {
            return Some((line_start, delimiter));
        }
    }
    None
}

/// The column indexes the plan reads.
#[derive(Debug)]
struct Columns {
    email: Option<usize>,
    delivery_email: Option<usize>,
    name: Option<usize>,
    first_name: Option<usize>,
    last_name: Option<usize>,
    status: Option<usize>,
    checked_in: Option<usize>,
    narrative: Option<usize>,
}

impl Columns {
    fn detect(header: &csv::StringRecord, options: &ColumnOptions) -> Result<Self, ExportError> {
        let keys: Vec<String> = header.iter().map(normalise).collect();
        let named = |option: &Option<String>| -> Result<Option<usize>, ExportError> {
            let Some(name) = option else { return Ok(None) };
            let wanted = normalise(name);
            keys.iter()
                .position(|key| *key == wanted)
                .map(Some)
                .ok_or_else(|| {
                    ExportError::UnknownColumn(
                        name.clone(),
                        header.iter().collect::<Vec<_>>().join(", "),
                    )
                })
        };
        let find = |accept: &dyn Fn(&str) -> bool| keys.iter().position(|key| accept(key));

        let email = named(&options.email)?.or_else(|| find(&is_recipient_email));
        let delivery_email = named(&options.delivery_email)?.or_else(|| find(&is_guardian_email));
        let name = named(&options.name)?.or_else(|| {
            find(&|key| {
                [
                    "name",
                    "fullname",
                    "attendeename",
                    "participantname",
                    "studentname",
                    "recipientname",
                ]
                .contains(&key)
            })
        });
        let first_name = named(&options.first_name)?.or_else(|| {
            find(&|key| ["firstname", "forename", "givenname", "first"].contains(&key))
        });
        let last_name = named(&options.last_name)?
            .or_else(|| find(&|key| ["lastname", "surname", "familyname", "last"].contains(&key)));
        let status = named(&options.status)?.or_else(|| {
            find(&|key| {
                [
                    "attendeestatus",
                    "bookingstatus",
                    "status",
                    "attendance",
                    "ticketstatus",
                ]
                .contains(&key)
            })
        });
        let checked_in = named(&options.checked_in)?.or_else(|| {
            find(&|key| ["checkedin", "attended", "present", "checkin"].contains(&key))
        });
        let narrative = named(&options.narrative)?;

        if email.is_none() && delivery_email.is_none() {
            return Err(ExportError::NoEmailColumn);
        }
        if name.is_none() && first_name.is_none() {
            return Err(ExportError::NoNameColumn);
        }
        Ok(Self {
            email,
            delivery_email,
            name,
            first_name,
            last_name,
            status,
            checked_in,
            narrative,
        })
    }

    fn name(&self, record: &csv::StringRecord) -> String {
        let get = |index: Option<usize>| {
            index
                .and_then(|i| record.get(i))
                .map(str::trim)
                .unwrap_or("")
        };
        if self.name.is_some() {
            return get(self.name).to_owned();
        }
        let parts = [get(self.first_name), get(self.last_name)];
        parts
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLIDAY_COURSE: &[u8] =
        include_bytes!("../../infra/local/tests/fixtures/holiday-course-export.csv");

    #[test]
    fn holiday_course_plan() {
        let plan = plan_import(HOLIDAY_COURSE, &ColumnOptions::default(), None).unwrap();

        assert_eq!(plan.data_rows, 20);
        assert_eq!(plan.awards.len(), 16);
        assert_eq!(plan.skipped.len(), 2, "{:?}", plan.skipped);
        assert_eq!(plan.duplicates.len(), 1);
        assert_eq!(plan.invalid.len(), 1);
    }

    #[test]
    fn holiday_course_rows_in_detail() {
        let plan = plan_import(HOLIDAY_COURSE, &ColumnOptions::default(), None).unwrap();
        let award_for = |name: &str| plan.awards.iter().find(|award| award.name == name).unwrap();

        let zoe = award_for("Zoë Fairbrother");
        assert_eq!(zoe.email.as_deref(), Some("zoe.fairbrother@example.org"));
        let li = award_for("Li Wei");
        assert_eq!(li.email, None);
        assert_eq!(
            li.delivery_email.as_deref(),
            Some("guardian.wei@example.com")
        );
        assert_eq!(
            award_for("Kwame Mensah").email.as_deref(),
            Some("kwame.mensah@example.org")
        );

        assert_eq!(
            plan.duplicates[0].message,
            "repeats line 2 (same recipient)"
        );
        assert!(
            plan.invalid[0]
                .message
                .contains("noah.schmidt@@example.org"),
            "{}",
            plan.invalid[0].message
        );
        assert!(
            plan.skipped
                .iter()
                .any(|note| note.message.contains("Cancelled"))
        );
        assert!(
            plan.skipped
                .iter()
                .any(|note| note.message.contains("no-show"))
        );
    }

    #[test]
    fn semicolon_export_with_preamble() {
        let export = "Event report\n\nName;E-mail;Status\nAda Lovelace;ADA@example.org ;Attending\nBob;bob@example.org;Cancelled\n";
        let plan = plan_import(
            export.as_bytes(),
            &ColumnOptions::default(),
            Some("Took part"),
        )
        .unwrap();
        assert_eq!(plan.awards.len(), 1);
        assert_eq!(plan.awards[0].email.as_deref(), Some("ada@example.org"));
        assert_eq!(plan.awards[0].narrative.as_deref(), Some("Took part"));
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.awards[0].line, 4);
        assert_eq!(plan.skipped[0].line, 5);
    }

    #[test]
    fn header_after_whitespace_only_lines() {
        let export = "Holiday course\n   \n\t\nName,Email\nAda,ada@example.org\n";
        let plan = plan_import(export.as_bytes(), &ColumnOptions::default(), None).unwrap();
        assert_eq!(plan.awards.len(), 1);
        assert_eq!(plan.awards[0].name, "Ada");
        assert_eq!(plan.awards[0].line, 5);
    }

    #[test]
    fn unknown_email_column_lists_columns() {
        let export = "Name,Email\nAda,ada@example.org\n";
        let options = ColumnOptions {
            email: Some("Contact".to_owned()),
            ..ColumnOptions::default()
        };
        let error = plan_import(export.as_bytes(), &options, None).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("\"Contact\""), "{message}");
        assert!(message.contains("Name, Email"), "{message}");
    }

    #[test]
    fn unrecognised_status_is_skipped() {
        let export = "Name,Email,Status\nMo,mo@example.org,Cancelled - refunded\nNed,ned@example.org,Waitlisted\nOla,ola@example.org,Attended\n";
        let plan = plan_import(export.as_bytes(), &ColumnOptions::default(), None).unwrap();
        assert_eq!(plan.awards.len(), 1);
        assert_eq!(plan.awards[0].name, "Ola");
        assert_eq!(plan.skipped.len(), 2);
        assert!(
            plan.skipped[1].message.contains("Waitlisted"),
            "{}",
            plan.skipped[1].message
        );
    }

    #[test]
    fn siblings_on_one_guardian_address() {
        let export =
            "First Name,Last Name,Guardian Email\nLi,Wei,g@example.com\nJun,Wei,g@example.com\n";
        let plan = plan_import(export.as_bytes(), &ColumnOptions::default(), None).unwrap();
        assert_eq!(plan.awards.len(), 2);
        assert!(plan.duplicates.is_empty());
    }

    #[test]
    fn named_columns_override_detection() {
        let export = "Who,Contact\nAda,ada@example.org\n";
        let options = ColumnOptions {
            email: Some("Contact".into()),
            name: Some("Who".into()),
            ..Default::default()
        };
        let plan = plan_import(export.as_bytes(), &options, None).unwrap();
        assert_eq!(plan.awards.len(), 1);

        let missing = ColumnOptions {
            email: Some("Mail".into()),
            ..Default::default()
        };
        assert!(matches!(
            plan_import(export.as_bytes(), &missing, None),
            Err(ExportError::NoHeader)
        ));
    }

    #[test]
    fn unreadable_exports() {
        assert!(matches!(
            plan_import(b"", &ColumnOptions::default(), None),
            Err(ExportError::Empty)
        ));
        assert!(matches!(
            plan_import(b"\xff\xfe\x00a", &ColumnOptions::default(), None),
            Err(ExportError::NotUtf8)
        ));
        assert!(matches!(
            plan_import(b"a,b\n1,2\n", &ColumnOptions::default(), None),
            Err(ExportError::NoHeader)
        ));
    }
}
