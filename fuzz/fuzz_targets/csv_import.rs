//! Reads arbitrary bytes as an event export (`accolade::export::plan_import`, the reader of
//! `accolade import-csv`) and checks that every data row is accounted for exactly once, on
//! its own line, and that each planned award carries normalised, valid values.

#![no_main]

use std::collections::HashSet;

use accolade::domain::{EmailAddress, Text, TextLimit};
use accolade::export::{ColumnOptions, ExportError, ImportPlan, MAX_ROWS, plan_import};
use libfuzzer_sys::fuzz_target;

/// The narrative given on the command line in the second run.
const DEFAULT_NARRATIVE: &str = "Took part in the course.";

/// Counts the lines an editor shows: `\r\n`, `\n` and a lone `\r` each end one.
fn line_count(bytes: &[u8]) -> u64 {
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|(i, byte)| {
            **byte == b'\n' || (**byte == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        })
        .count();
    1 + breaks as u64
}

fn check_plan(plan: &ImportPlan, lines: u64, narrative: Option<&str>) {
    assert!(plan.data_rows <= MAX_ROWS, "{} rows read", plan.data_rows);
    let sorted =
        plan.awards.len() + plan.skipped.len() + plan.duplicates.len() + plan.invalid.len();
    assert_eq!(sorted, plan.data_rows, "rows lost or counted twice");

    // Each row starts on its own line, after the header row and inside the file.
    let mut row_lines: Vec<u64> = plan.awards.iter().map(|award| award.line).collect();
    for notes in [&plan.skipped, &plan.duplicates, &plan.invalid] {
        row_lines.extend(notes.iter().map(|note| note.line));
    }
    for line in &row_lines {
        assert!(
            (2..=lines).contains(line),
            "row line {line} outside 2..={lines}"
        );
    }
    let distinct: HashSet<u64> = row_lines.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        row_lines.len(),
        "two rows on one line: {row_lines:?}"
    );
    assert!(
        plan.awards
            .windows(2)
            .all(|pair| pair[0].line < pair[1].line),
        "awards out of file order"
    );

    let mut recipients = HashSet::new();
    for award in &plan.awards {
        assert!(
            award.email.is_some() || award.delivery_email.is_some(),
            "{award:?}"
        );
        for email in [&award.email, &award.delivery_email].into_iter().flatten() {
            let parsed = EmailAddress::parse(email).expect("a planned email parses");
            assert_eq!(parsed.as_str(), email, "a planned email is not normalised");
        }
        let name =
            Text::parse("name", &award.name, TextLimit::NAME).expect("a planned name parses");
        assert_eq!(name.as_str(), award.name, "a planned name is not trimmed");
        if let Some(email) = &award.email {
            assert!(recipients.insert(email.clone()), "{email} is awarded twice");
        }
        match (&award.narrative, narrative) {
            (Some(text), _) => assert!(!text.is_empty(), "an empty narrative"),
            (None, Some(_)) => panic!("the default narrative was not used on line {}", award.line),
            (None, None) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let lines = line_count(data);
    let options = ColumnOptions::default();
    let plain = plan_import(data, &options, None);
    let narrated = plan_import(data, &options, Some(DEFAULT_NARRATIVE));
    match (&plain, &narrated) {
        (Ok(plain), Ok(narrated)) => {
            check_plan(plain, lines, None);
            check_plan(narrated, lines, Some(DEFAULT_NARRATIVE));
            // The default narrative changes the narratives and nothing else.
            assert_eq!(plain.awards.len(), narrated.awards.len());
            for (without, with) in plain.awards.iter().zip(&narrated.awards) {
                assert_eq!(
                    (without.line, &without.email, &without.name),
                    (with.line, &with.email, &with.name)
                );
            }
        }
        (Err(plain), Err(narrated)) => {
            assert_eq!(plain.to_string(), narrated.to_string());
            if let ExportError::Malformed { line, .. } = plain {
                assert!(
                    (1..=lines).contains(line),
                    "malformed line {line} outside 1..={lines}"
                );
            }
        }
        _ => {
            panic!("the default narrative changed whether the file reads: {plain:?} / {narrated:?}")
        }
    }
});
