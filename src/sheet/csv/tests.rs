//! Unit tests of the csv reader.

use super::*;
use crate::sheet;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn read_all(sheet: Sheet) -> Vec<Result<RawRow, SheetError>> {
    sheet.rows.collect()
}

fn text_cell(s: &str) -> Cell {
    Cell::Text(s.into())
}

#[test]
fn strips_bom_trims_headers_and_cells() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "p.csv",
        b"\xEF\xBB\xBF\"Name\" , Phone ,Amount\nAsha, 9876543210 , 10\n",
    );
    let sheet = sheet::open(&path, None).expect("open");
    assert_eq!(sheet.headers, ["Name", "Phone", "Amount"]);
    assert_eq!(sheet.header_row, 1);
    assert_eq!(sheet.sheet_name, None);
    let rows = read_all(sheet);
    assert_eq!(rows.len(), 1);
    let row = rows[0].as_ref().expect("row");
    assert_eq!(row.row_no, 2);
    assert_eq!(
        row.cells,
        vec![text_cell("Asha"), text_cell("9876543210"), text_cell("10")]
    );
}

#[test]
fn sha256_is_of_the_file_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "p.csv", b"a,b\n1,2\n");
    let sheet = sheet::open(&path, None).expect("open");
    assert_eq!(sheet.sha256, hex::encode(Sha256::digest(b"a,b\n1,2\n")));
    assert!(read_all(sheet).iter().all(Result::is_ok));
}

#[test]
fn ragged_row_is_malformed_naming_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "p.csv",
        b"name,phone,amount\nA,9876543210,10\nB,9876543211\nC,9876543212,30,extra\n",
    );
    let rows = read_all(sheet::open(&path, None).expect("open"));
    assert!(rows[0].is_ok());
    let short = rows[1]
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        short.contains("line 3 (row 3 in Excel) has 2 fields but the header has 3"),
        "{short}"
    );
    let long = rows[2]
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        long.contains("line 4 (row 4 in Excel) has a value 'extra' in field 4"),
        "{long}"
    );
}

#[test]
fn trailing_empty_fields_beyond_header_are_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "p.csv",
        b"name,phone,amount,\r\nA,9876543210,10,,\r\n",
    );
    let sheet = sheet::open(&path, None).expect("open");
    assert_eq!(sheet.headers, ["name", "phone", "amount"]);
    let rows = read_all(sheet);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].as_ref().map(|r| r.cells.len()).ok(), Some(3));
}

#[test]
fn row_numbers_follow_excel_with_blank_lines_and_multiline_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Excel rows: 1 blank, 2 header, 3 A (two text lines), 4 blank, 5 B, 6 blanks,
    // 7 and 8 blank, 9 C (last line, with or without a final line feed).
    let lf = "\nname,comments\nA,\"two\nlines\"\n\nB,x\n , \n\n\nC,\"y\"";
    for ending in ["", "\n", "\n\n"] {
        for text in [
            format!("{lf}{ending}"),
            format!("{lf}{ending}").replace('\n', "\r\n"),
        ] {
            let path = write(&dir, "p.csv", text.as_bytes());
            let sheet = sheet::open(&path, None).expect("open");
            assert_eq!(sheet.header_row, 2, "{text:?}");
            let rows: Vec<(u64, Vec<Cell>)> = read_all(sheet)
                .into_iter()
                .map(|r| r.map(|r| (r.row_no, r.cells)).expect("row"))
                .collect();
            let want = vec![
                (
                    3,
                    vec![
                        text_cell("A"),
                        text_cell(
                            &"two\nlines"
                                .replace('\n', if text.contains('\r') { "\r\n" } else { "\n" }),
                        ),
                    ],
                ),
                (5, vec![text_cell("B"), text_cell("x")]),
                (9, vec![text_cell("C"), text_cell("y")]),
            ];
            assert_eq!(rows, want, "{text:?}");
        }
    }
}

#[test]
fn multiline_error_names_the_text_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "p.csv", b"a,b\n1,\"x\ny\"\n\n2\n");
    let rows = read_all(sheet::open(&path, None).expect("open"));
    let err = rows[1]
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(err.contains("line 5 (row 4 in Excel)"), "{err}");
}

#[test]
fn tab_and_semicolon_delimiters_are_sniffed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "p.txt",
        b"name\tphone\tamount\nA\t9876543210\t1,500.00\n",
    );
    let sheet = sheet::open(&path, None).expect("open");
    assert_eq!(sheet.headers, ["name", "phone", "amount"]);
    let rows = read_all(sheet);
    assert_eq!(
        rows[0].as_ref().map(|r| r.cells[2].clone()).ok(),
        Some(text_cell("1,500.00"))
    );
    let path = write(&dir, "p.csv", b"name;phone\nA;9876543210\n");
    assert_eq!(
        sheet::open(&path, None).expect("open").headers,
        ["name", "phone"]
    );
}

#[test]
fn an_empty_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "empty.csv", b"\xEF\xBB\xBF\n , \n");
    assert!(matches!(
        sheet::open(&path, None),
        Err(SheetError::Empty { .. })
    ));
}

#[test]
fn file_changed_between_hash_and_parse_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("phone,amount\n");
    for i in 0..20_000 {
        text.push_str(&format!("98765{i:05},10\n"));
    }
    let path = write(&dir, "p.csv", text.as_bytes());
    let sheet = sheet::open(&path, None).expect("open");
    // Same length, one digit different, far beyond what open() has buffered.
    std::fs::write(&path, text.replacen("9876519999,10", "9876519999,90", 1)).expect("rewrite");
    let rows = read_all(sheet);
    assert_eq!(rows.len(), 20_001);
    let err = rows[20_000]
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        err.contains("the file changed while it was being read"),
        "{err}"
    );
}

#[test]
fn utf16_windows_1252_and_pipes_are_read_cr_only_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let utf16 = |big_endian: bool| {
        let text = "Name\tPhone\r\nJosé\t9876543210\r\n";
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            let pair = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            bytes.extend_from_slice(&pair);
        }
        bytes
    };
    for (name, bytes) in [
        ("le.txt", utf16(false)),
        ("be.txt", utf16(true)),
        ("ansi.csv", b"Name,Phone\nJos\xE9,9876543210\n".to_vec()),
        (
            "pipes.csv",
            "Name|Phone\nJosé|9876543210\n".as_bytes().to_vec(),
        ),
    ] {
        let path = write(&dir, name, &bytes);
        let sheet = sheet::open(&path, None).expect(name);
        assert_eq!(sheet.headers, ["Name", "Phone"], "{name}");
        let rows = read_all(sheet);
        let row = rows[0].as_ref().expect(name);
        assert_eq!(row.row_no, 2, "{name}");
        assert_eq!(
            row.cells,
            [text_cell("José"), text_cell("9876543210")],
            "{name}"
        );
    }
    let path = write(&dir, "mac.csv", b"phone,amount\r9876543210,5\r");
    let err = sheet::open(&path, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("CR only"), "{err}");
    let path = write(&dir, "odd.txt", b"\xFF\xFEp\x00h");
    let err = sheet::open(&path, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not valid UTF-16"), "{err}");
}

#[test]
fn missing_file_is_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.csv");
    assert!(matches!(
        sheet::open(&missing, None),
        Err(SheetError::Io { .. })
    ));
}
