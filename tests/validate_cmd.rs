//! `payrun validate`: every issue with its sheet row and column, control totals, exit codes,
//! and no network.

mod common;

use common::*;
use std::process::Command;

fn validate(sheet: &std::path::Path, dir: &tempfile::TempDir) -> std::process::Output {
    Command::new(BIN)
        .arg("--journal")
        .arg(path(dir, "none.db"))
        .arg("validate")
        .arg(sheet)
        .output()
        .unwrap()
}

#[test]
fn every_issue_is_named_by_row_and_column_then_totals() {
    let dir = tempdir();
    let sheet = path(&dir, "bad.csv");
    std::fs::write(
        &sheet,
        "\u{feff}Name,Phone,Amount,Comments\n\
         Asha,9876543210,1500.50,ok\n\
         Ravi,12345,100,ok\n\
         Meena,+91 98765 43211,0.50,ok\n\
         Kiran,09876543212,12.345,ok\n",
    )
    .unwrap();
    let out = validate(&sheet, &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stdout.contains("row 3, column Phone:"), "{stdout}");
    assert!(stdout.contains("row 4, column Amount:"), "{stdout}");
    assert!(stdout.contains("row 5, column Amount:"), "{stdout}");
    assert!(!stdout.contains("row 2,"), "{stdout}");
    assert!(stdout.contains("valid: 1"), "{stdout}");
    assert!(stdout.contains("invalid: 3"), "{stdout}");
    assert!(stdout.contains("₹1,500.50"), "{stdout}");
    assert!(
        !path(&dir, "none.db").exists(),
        "validate never creates a journal"
    );
}

#[test]
fn a_clean_sheet_exits_0_and_a_missing_column_exits_2() {
    let dir = tempdir();
    let good = path(&dir, "good.csv");
    write_csv(&good, &rows(4));
    let out = validate(&good, &dir);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid: 4"));

    let no_amount = path(&dir, "noamount.csv");
    std::fs::write(&no_amount, "Name,Phone\nAsha,9876543210\n").unwrap();
    let out = validate(&no_amount, &dir);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("amount"),
        "{}",
        text(&out)
    );

    let out = validate(&path(&dir, "missing.csv"), &dir);
    assert_eq!(code(&out), 2, "{}", text(&out));
}

#[test]
fn the_samples_are_valid() {
    for sample in ["samples/payouts.csv", "samples/payouts.xlsx"] {
        let dir = tempdir();
        let out = validate(std::path::Path::new(sample), &dir);
        assert_eq!(code(&out), 0, "{sample}: {}", text(&out));
    }
}

#[test]
fn the_samples_warnings_come_one_line_per_kind() {
    let dir = tempdir();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/payouts.csv");
    let out = validate(&sample, &dir);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        ["warning: 9 rows are over 10× the median amount (₹999.00): rows 5, 13, 33, 146, 149 and 4 more; check for a misplaced decimal point"],
        "{stdout}"
    );
    let verbose = Command::new(BIN)
        .arg("--journal")
        .arg(path(&dir, "none.db"))
        .args(["validate", "--verbose"])
        .arg(&sample)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verbose.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.contains("median")).count(),
        9,
        "{stdout}"
    );
}
