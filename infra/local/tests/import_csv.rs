//! `accolade import-csv` run as a command on exports at and just over the row limit. Both runs
//! use `--dry-run`, which reads and checks the whole file before it would contact a server.

use std::path::Path;
use std::process::{Command, Output};

const MAX_ROWS: usize = 5_000;

/// Writes an export with a header and `rows` attending pupils.
fn write_export(path: &Path, rows: usize) {
    let mut csv = String::from("First Name,Last Name,Email\n");
    for index in 0..rows {
        csv.push_str(&format!("Pupil,Number {index},pupil{index}@example.org\n"));
    }
    std::fs::write(path, csv).unwrap();
}

fn import_dry_run(dir: &Path, export: &Path) -> Output {
    // A dry run stops after planning, so it never contacts this address.
    let credentials = dir.join("client.json");
    std::fs::write(
        &credentials,
        r#"{"client_id":"c","client_secret":"s","token_url":"http://127.0.0.1:9/oauth/token","api_url":"http://127.0.0.1:9"}"#,
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_accolade"))
        .arg("import-csv")
        .arg(export)
        .args(["--achievement", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"])
        .arg("--credentials")
        .arg(&credentials)
        .arg("--dry-run")
        .output()
        .expect("failed to run the accolade binary")
}

#[test]
fn export_over_5000_rows_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("over.csv");
    write_export(&export, MAX_ROWS + 1);

    let output = import_dry_run(dir.path(), &export);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("error: the file has more than 5000 data rows; split it into smaller files"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "a stopped import plans nothing");
}

#[test]
fn export_of_5000_rows_is_planned() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("at-limit.csv");
    write_export(&export, MAX_ROWS);

    let output = import_dry_run(dir.path(), &export);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("Would award (dry run, nothing sent):\n"),
        "{}",
        &stdout[..stdout.len().min(400)]
    );
    // The header is line 1, so the last pupil is on line 5001.
    assert!(stdout.contains("  line 2: Pupil Number 0 <pupil0@example.org>\n"));
    assert!(stdout.contains("  line 5001: Pupil Number 4999 <pupil4999@example.org>\n"));
    assert_eq!(stdout.matches("  line ").count(), MAX_ROWS);
    assert!(
        stdout.ends_with("5000 rows: 5000 would be awarded, 0 skipped, 0 duplicate, 0 invalid\n"),
        "{}",
        &stdout[stdout.len().saturating_sub(400)..]
    );
}
