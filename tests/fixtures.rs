//! The corpus of awkward sheets in `tests/fixtures/` (rebuilt by `cargo run --example
//! gen_fixtures`), each with exactly what payrun must make of it: the rows it accepts and
//! their total, every issue as (row, column, code), or the error that refuses the file.
//! Then a property test: no input, however broken, makes reading and validation panic.

use payrun::intake::{self, SheetOptions};
use payrun::payout::ProviderKind;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn args(file: &Path, sheet: Option<&str>) -> SheetOptions {
    SheetOptions {
        sheet: file.to_path_buf(),
        sheet_name: sheet.map(str::to_string),
        provider: ProviderKind::Paytm,
        comment: None,
        columns: Vec::new(),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What a fixture must give.
enum Want {
    /// Valid rows, their total, and every issue.
    Rows(
        u64,
        &'static str,
        &'static [(u64, &'static str, &'static str)],
    ),
    /// The file is refused as a whole with a message containing this.
    Refused(&'static str),
}

use Want::{Refused, Rows};

const CASES: &[(&str, Want)] = &[
    // Encodings and delimiters.
    ("bom.csv", Rows(1, "1500.50", &[])),
    ("unicode_text.txt", Rows(1, "100.00", &[])),
    ("windows_1252.csv", Rows(1, "250.00", &[])),
    ("semicolons.csv", Rows(1, "1500.50", &[])),
    ("tabs.txt", Rows(1, "1500.50", &[])),
    ("pipes.csv", Rows(1, "1500.50", &[])),
    ("crlf.csv", Rows(2, "300.00", &[])),
    ("cr_only.csv", Refused("lines end with CR only")),
    // Structure.
    // Row 2's quoted comment spans two text lines; a line break in a comment is refused
    // (a control character, like a tab or an escape), and Ravi is still row 3.
    (
        "quoted_newlines.csv",
        Rows(
            1,
            "200.00",
            &[(2, "Comments", "comments.control_character")],
        ),
    ),
    ("trailing_empty_columns.csv", Rows(1, "100.00", &[])),
    (
        "ragged_row.csv",
        Refused("line 3 (row 3 in Excel) has 2 fields but the header has 4"),
    ),
    (
        "blank_lines.csv",
        Rows(1, "100.00", &[(6, "Phone", "phone.length")]),
    ),
    ("empty.csv", Refused("the sheet is empty")),
    (
        "missing_amount_column.csv",
        Refused("the sheet has no amount column"),
    ),
    (
        "duplicate_headers.csv",
        Refused("columns 'Phone' and 'Mobile' both hold the phone"),
    ),
    // Mangled identifiers and phones.
    (
        "scientific_phone.csv",
        Rows(0, "0.00", &[(2, "Phone", "phone.scientific")]),
    ),
    ("phone_prefixes.csv", Rows(3, "300.00", &[])),
    (
        "short_phone.csv",
        Rows(0, "0.00", &[(2, "Phone", "phone.length")]),
    ),
    (
        "scientific_order_id.csv",
        Rows(0, "0.00", &[(2, "Order ID", "order_id.scientific")]),
    ),
    (
        "duplicate_order_ids.csv",
        Rows(1, "100.00", &[(3, "Order ID", "order_id.duplicate")]),
    ),
    // Amounts.
    (
        "amount_noise.csv",
        Rows(0, "0.00", &[(2, "Amount", "amount.precision")]),
    ),
    (
        "amount_formats.csv",
        Rows(
            2,
            "1700.50",
            &[
                (4, "Amount", "amount.precision"),
                (5, "Amount", "amount.format"),
            ],
        ),
    ),
    ("formula_text.csv", Rows(1, "100.00", &[])),
    // One `'` before a formula character is a guard and dropped; before a digit it is kept.
    (
        "guarded_formulas.csv",
        Rows(1, "100.00", &[(3, "Phone", "phone.format")]),
    ),
    (
        "control_characters.csv",
        Rows(
            1,
            "100.00",
            &[
                (2, "Name", "name.control_character"),
                (3, "Comments", "comments.control_character"),
            ],
        ),
    ),
    // Workbooks.
    ("numbers_as_numbers.xlsx", Rows(2, "1700.50", &[])),
    (
        "phone_lost_digits.xlsx",
        Rows(
            0,
            "0.00",
            &[
                (2, "Phone", "phone.numeric_cell"),
                (3, "Phone", "phone.scientific"),
            ],
        ),
    ),
    (
        "long_id_as_number.xlsx",
        Rows(1, "100.00", &[(2, "Order ID", "order_id.numeric_cell")]),
    ),
    (
        "amount_noise.xlsx",
        Rows(
            0,
            "0.00",
            &[
                (2, "Amount", "amount.precision"),
                (3, "Amount", "amount.too_small"),
            ],
        ),
    ),
    (
        "formulas.xlsx",
        Rows(1, "10.30", &[(3, "Amount", "cell.excel_error")]),
    ),
    (
        "dates.xlsx",
        Rows(
            0,
            "0.00",
            &[(2, "Expiry", "expiry.past"), (3, "Amount", "amount.format")],
        ),
    ),
    ("hidden_first_sheet.xlsx", Rows(1, "100.00", &[])),
    (
        "header_below_title.xlsx",
        Rows(1, "100.00", &[(7, "Phone", "phone.length")]),
    ),
    (
        "booleans_and_errors.xlsx",
        Rows(
            0,
            "0.00",
            &[
                (2, "Phone", "phone.format"),
                (3, "Amount", "cell.excel_error"),
            ],
        ),
    ),
    (
        "value_without_header.xlsx",
        Refused("cell F2 holds 'stray' but its column has no header"),
    ),
    ("only_a_header.xlsx", Rows(0, "0.00", &[])),
];

#[test]
fn every_fixture_reads_as_stated() {
    let on_disk = std::fs::read_dir(fixture("")).unwrap().count();
    assert_eq!(on_disk, CASES.len(), "every fixture has a stated outcome");
    assert!(CASES.len() >= 30);
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let got = intake::validate(&args(&fixture(name), None), None);
        let ok = match (want, &got) {
            (Rows(valid, total, issues), Ok(intake)) => {
                let found: Vec<(u64, &str, &str)> = intake
                    .issues
                    .iter()
                    .map(|i| (i.row_no, i.column.as_str(), i.code))
                    .collect();
                intake.valid == *valid && intake.total.to_string() == *total && found == *issues
            }
            (Refused(text), Err(e)) => e.to_string().contains(text),
            _ => false,
        };
        if !ok {
            let got = match got {
                Ok(i) => format!(
                    "valid {} total {} issues {:?}",
                    i.valid,
                    i.total,
                    i.issues
                        .iter()
                        .map(|i| (i.row_no, i.column.clone(), i.code))
                        .collect::<Vec<_>>()
                ),
                Err(e) => format!("refused: {e}"),
            };
            failures.push(format!("{name}: {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn text_survives_the_odd_encodings() {
    use payrun::sheet;
    for (name, want) in [
        ("unicode_text.txt", "José Ñúñez"),
        ("windows_1252.csv", "José Fernández"),
    ] {
        let s = sheet::open(&fixture(name), None).unwrap();
        let mut rows = s.rows;
        let row = rows.next().unwrap().unwrap();
        assert_eq!(row.cells[0].to_text(), want, "{name}");
    }
}

#[test]
fn a_named_sheet_is_chosen_and_a_wrong_name_lists_the_sheets() {
    let file = fixture("hidden_first_sheet.xlsx");
    let err = intake::validate(&args(&file, Some("payroll")), None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no sheet named 'payroll'; the workbook has: 'Old', 'Payouts'"),
        "{err}"
    );
    let old = intake::validate(&args(&file, Some("old")), None)
        .err()
        .unwrap()
        .to_string();
    assert!(old.contains("the sheet has no phone column"), "{old}");
    assert_eq!(
        intake::validate(&args(&file, Some("Payouts")), None)
            .unwrap()
            .valid,
        1
    );
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,14}",
        "[0-9]{1,6}\\.[0-9]{1,4}",
        "\\+?91[ -]?[6-9][0-9]{9}",
        "[0-9]\\.[0-9]{1,5}E\\+[0-9]{2}",
        "[=+@-][A-Za-z0-9()]{0,8}",
        "\"[^\"]{0,12}\"",
        "\\PC{0,16}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes as a CSV or TXT file: an error or a result, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), txt in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(if txt { "x.txt" } else { "x.csv" });
        std::fs::write(&file, &bytes).unwrap();
        let _ = intake::validate(&args(&file, None), None);
    }

    /// A well-formed header over arbitrary cells: every row is valid or has issues naming
    /// its row, and the valid ones add up.
    #[test]
    fn arbitrary_cells_are_valid_or_named(rows in proptest::collection::vec(proptest::collection::vec(cell(), 5), 0..20)) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.csv");
        let mut w = csv::Writer::from_path(&file).unwrap();
        w.write_record(["Name", "Phone", "Amount", "Order ID", "Comments"]).unwrap();
        for r in &rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        // A sheet with its header is read whatever its cells hold: bad cells are issues.
        let intake = intake::validate(&args(&file, None), None);
        prop_assert!(intake.is_ok(), "{:?}", intake.err().map(|e| e.to_string()));
        let intake = intake.unwrap();
        prop_assert_eq!(intake.valid + intake.invalid_count(), intake.rows);
        prop_assert!(intake.issues.iter().all(|i| i.row_no >= 2 && !i.message.is_empty()));
    }

    /// Arbitrary cells in a workbook, as numbers, text, booleans: never a panic.
    #[test]
    fn arbitrary_workbooks_never_panic(cells in proptest::collection::vec((0u16..5, any::<f64>(), cell(), any::<bool>(), 0u8..3), 0..30)) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["Name", "Phone", "Amount", "Order ID", "Comments"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (i, (col, number, text, flag, kind)) in cells.iter().enumerate() {
            let row = 1 + (i / 5) as u32;
            let _ = match kind {
                0 if number.is_finite() => sheet.write_number(row, *col, *number).map(|_| ()),
                1 => sheet.write_boolean(row, *col, *flag).map(|_| ()),
                _ => sheet.write_string(row, *col, text).map(|_| ()),
            };
        }
        book.save(&file).unwrap();
        let _ = intake::validate(&args(&file, None), None);
    }
}
