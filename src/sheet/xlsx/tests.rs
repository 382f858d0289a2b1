//! Unit tests of the xlsx reader.

use super::*;
use crate::sheet;
use rust_xlsxwriter::{Format, Formula, Workbook as XlsxWriter};

fn save(dir: &tempfile::TempDir, name: &str, mut wb: XlsxWriter) -> PathBuf {
    let path = dir.path().join(name);
    wb.save(&path).expect("save workbook");
    path
}

fn rows(sheet: Sheet) -> Vec<RawRow> {
    sheet.rows.map(|r| r.expect("row")).collect()
}

#[test]
fn maps_cell_types() -> Result<(), rust_xlsxwriter::XlsxError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = XlsxWriter::new();
    let ws = wb.add_worksheet();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in ["text", "int", "float", "bool", "date", "error", "blank"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h)?;
    }
    ws.write_string(1, 0, "  padded  ")?;
    ws.write_number(1, 1, 7777777777.0)?;
    ws.write_number(1, 2, 0.29 + 10.01)?;
    ws.write_boolean(1, 3, true)?;
    ws.write_number_with_format(1, 4, 46096.0, &date_fmt)?;
    ws.write_formula(1, 5, Formula::new("=NA()").set_result("#N/A"))?;
    ws.write_string(1, 6, "   ")?;
    let path = save(&dir, "types.xlsx", wb);

    let sheet = sheet::open(&path, None).expect("open");
    assert_eq!(sheet.sheet_name.as_deref(), Some("Sheet1"));
    assert_eq!(
        sheet.sha256,
        hex::encode(Sha256::digest(std::fs::read(&path).expect("read")))
    );
    let row = &rows(sheet)[0];
    assert_eq!(row.row_no, 2);
    assert_eq!(row.cells[0], Cell::Text("padded".into()));
    // rust_xlsxwriter stores every number as a float; Excel does too.
    assert_eq!(row.cells[1].to_text(), "7777777777");
    assert_eq!(row.cells[2], Cell::Float(0.29 + 10.01));
    assert_eq!(row.cells[3], Cell::Bool(true));
    assert_eq!(row.cells[4], Cell::Date(46096.0));
    assert_eq!(row.cells[5], Cell::Error("#N/A".into()));
    assert_eq!(row.cells[6], Cell::Empty);
    Ok(())
}

#[test]
fn header_not_on_row_one_keeps_excel_row_numbers() -> Result<(), rust_xlsxwriter::XlsxError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = XlsxWriter::new();
    let ws = wb.add_worksheet();
    ws.write_string(2, 1, "Phone")?;
    ws.write_string(2, 2, "Amount")?;
    ws.write_string(3, 1, "9876543210")?;
    ws.write_number(3, 2, 10.0)?;
    ws.write_string(5, 1, "9876543211")?;
    ws.write_number(5, 2, 20.0)?;
    let path = save(&dir, "offset.xlsx", wb);

    let sheet = sheet::open(&path, None).expect("open");
    assert_eq!(sheet.header_row, 3);
    assert_eq!(sheet.headers, ["Phone", "Amount"]);
    let nos: Vec<u64> = rows(sheet).iter().map(|r| r.row_no).collect();
    assert_eq!(nos, vec![4, 6]);
    Ok(())
}

#[test]
fn named_sheet_and_listing_when_missing() -> Result<(), rust_xlsxwriter::XlsxError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = XlsxWriter::new();
    wb.add_worksheet()
        .set_name("Notes")?
        .write_string(0, 0, "read me")?;
    wb.add_worksheet()
        .set_name("March")?
        .write_string(0, 0, "Phone")?;
    let path = save(&dir, "named.xlsx", wb);

    let first = sheet::open(&path, None).expect("open");
    assert_eq!(first.sheet_name.as_deref(), Some("Notes"));
    assert_eq!(first.sheet_names, ["Notes", "March"]);
    let march = sheet::open(&path, Some("march")).expect("open");
    assert_eq!(march.sheet_name.as_deref(), Some("March"));
    assert_eq!(march.headers, ["Phone"]);

    let err = sheet::open(&path, Some("April"))
        .err()
        .expect("no such sheet");
    assert!(matches!(err, SheetError::NoSuchSheet { .. }));
    assert!(
        err.to_string()
            .contains("no sheet named 'April'; the workbook has: 'Notes', 'March'"),
        "{err}"
    );
    Ok(())
}

#[test]
fn value_outside_header_columns_is_malformed() -> Result<(), rust_xlsxwriter::XlsxError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = XlsxWriter::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Phone")?;
    ws.write_string(0, 1, "Amount")?;
    ws.write_string(1, 0, "9876543210")?;
    ws.write_number(1, 1, 5.0)?;
    ws.write_string(2, 1, "9876543211")?;
    ws.write_number(2, 2, 6.0)?;
    let path = save(&dir, "shifted.xlsx", wb);

    let got: Vec<_> = sheet::open(&path, None).expect("open").rows.collect();
    assert!(got[0].is_ok());
    let err = got[1]
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        err.contains("cell C3 holds '6' but its column has no header"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_workbook_changed_while_read_is_an_error() -> Result<(), rust_xlsxwriter::XlsxError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = XlsxWriter::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Amount")?;
    // More rows than the channel holds: the reader waits for us before its last check.
    for r in 1..3000u32 {
        ws.write_number(r, 0, f64::from(r))?;
    }
    let path = save(&dir, "w.xlsx", wb);
    let sheet = sheet::open(&path, None).expect("open");
    // Saved over, as Excel does: a new file renamed into place.
    let newer = dir.path().join("newer.xlsx");
    std::fs::write(&newer, b"something else").expect("write");
    std::fs::rename(&newer, &path).expect("rename");
    let last = sheet.rows.last().expect("rows");
    let err = last.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("the file changed while it was being read"),
        "{err}"
    );
    Ok(())
}

#[test]
fn empty_sheet_and_garbage_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = XlsxWriter::new();
    wb.add_worksheet();
    let path = save(&dir, "empty.xlsx", wb);
    assert!(matches!(
        sheet::open(&path, None),
        Err(SheetError::Empty { .. })
    ));

    let garbage = dir.path().join("garbage.xlsx");
    std::fs::write(&garbage, b"name,phone\n").expect("write");
    let err = sheet::open(&garbage, None)
        .err()
        .expect("garbage is rejected");
    assert!(matches!(err, SheetError::Malformed { .. }), "{err}");
}

#[test]
fn dates_from_1904_workbooks_become_1900_serials() {
    let d1904 = ExcelDateTime::new(44634.0, ExcelDateTimeType::DateTime, true);
    assert_eq!(datetime_cell(&d1904), Cell::Date(46096.0));
    let d1900 = ExcelDateTime::new(46096.0, ExcelDateTimeType::DateTime, false);
    assert_eq!(datetime_cell(&d1900), Cell::Date(46096.0));
    let duration = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
    assert_eq!(datetime_cell(&duration), Cell::Text("36:00:00".into()));
}

#[test]
fn column_letters_like_excel() {
    assert_eq!(column_letters(0), "A");
    assert_eq!(column_letters(25), "Z");
    assert_eq!(column_letters(26), "AA");
    assert_eq!(column_letters(701), "ZZ");
    assert_eq!(column_letters(702), "AAA");
}
