//! Inputs found by the `csv_import` fuzz target (fuzz/), kept as fixtures in
//! `tests/fixtures/fuzz/`.

use accolade_local::import::export::{ColumnOptions, ImportPlan, plan_import};

fn plan(bytes: &[u8]) -> ImportPlan {
    plan_import(bytes, &ColumnOptions::default(), None).expect("the export is readable")
}

fn line_of(plan: &ImportPlan, email: &str) -> u64 {
    plan.awards
        .iter()
        .find(|award| award.email.as_deref() == Some(email))
        .unwrap_or_else(|| panic!("no award to {email}"))
        .line
}

/// A lone carriage return ends a record for the csv reader, so it must end a line in the line
/// numbers too, or the rows on either side of it report the same line.
#[test]
fn lone_carriage_return_ends_line() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/lone-carriage-return.csv"),
    )
    .expect("the fixture is readable");
    let plan = plan(&bytes);

    assert_eq!(line_of(&plan, "kwame.mensah@example.org"), 13);
    assert_eq!(line_of(&plan, "aleksandra.nowak@example.pl"), 14);
    let lines: Vec<u64> = plan.awards.iter().map(|award| award.line).collect();
    assert!(
        lines.windows(2).all(|pair| pair[0] < pair[1]),
        "award lines are not strictly increasing: {lines:?}"
    );
}

#[test]
fn carriage_return_only_export() {
    let plan =
        plan(b"Title\r\rName,Email\rAmara Okafor,amara@example.org\rLi Wei,li@example.org\r");

    assert_eq!(plan.data_rows, 2);
    assert_eq!(line_of(&plan, "amara@example.org"), 4);
    assert_eq!(line_of(&plan, "li@example.org"), 5);
}

#[test]
fn mixed_line_breaks_count_once() {
    let plan = plan(b"Name,Email\r\nAmara Okafor,amara@example.org\nLi Wei,li@example.org\rMei,mei@example.org\r\n");

    assert_eq!(line_of(&plan, "amara@example.org"), 2);
    assert_eq!(line_of(&plan, "li@example.org"), 3);
    assert_eq!(line_of(&plan, "mei@example.org"), 4);
}
