//! Workbook reader (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) through calamine.
//!
//! Owns: choosing the worksheet, mapping calamine values to `Cell`, and Excel row numbers.
//!
//! The file is hashed, then parsed from disk; once the sheet is read it is hashed again, and
//! a file that changed in between is an error, so rows are never imported under the
//! identity of different content. An `.xlsx`/`.xlsm` worksheet is streamed: a reader thread
//! walks its cells and hands rows over a bounded channel, so memory holds the workbook's
//! shared strings, not the sheet or the file. Other formats have no streaming reader in
//! calamine: their worksheet is loaded whole, then handed out row by row.
//! Row numbers are the real Excel row numbers: when rows above the header are empty the
//! header is not row 1.

use super::{hex_digest, trim_headers, Cell, RawRow, Sheet, SheetError};
use calamine::{Data, ExcelDateTime, ExcelDateTimeType, Range, Reader, SheetType, SheetVisible};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

type Source = BufReader<File>;
type Workbook = calamine::Sheets<Source>;

pub(super) fn open(path: &Path, ext: &str, wanted: Option<&str>) -> Result<Sheet, SheetError> {
    let io = |source| SheetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let sha256 = hash_file(path).map_err(io)?;
    let file = File::open(path).map_err(io)?;
    let workbook = open_workbook(path, ext, BufReader::new(file))?;
    let sheet_names = workbook.sheet_names();
    let name = pick_sheet(path, &workbook, wanted)?;
    let (header_row, headers, rows) = match workbook {
        calamine::Sheets::Xlsx(book) => stream(path, book, &name, sha256.clone())?,
        mut other => {
            let range = other
                .worksheet_range(&name)
                .map_err(|e| SheetError::Malformed {
                    path: path.to_path_buf(),
                    message: format!("cannot read sheet '{name}': {e}"),
                })?;
            unchanged(path, &sha256)?;
            let mut rows = XlsxRows::new(path.to_path_buf(), range);
            let Some((header_row, headers)) = rows.read_header() else {
                return Err(SheetError::Empty {
                    path: path.to_path_buf(),
                });
            };
            (header_row, headers, Box::new(rows) as Rows)
        }
    };
    Ok(Sheet {
        path: path.to_path_buf(),
        sheet_name: Some(name),
        sheet_names,
        sha256,
        headers,
        header_row,
        rows,
    })
}

/// Lowercase hex SHA-256 of the file's bytes, read in chunks.
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hex_digest(hasher)),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Fails if the file's bytes are no longer the ones hashed at open.
fn unchanged(path: &Path, sha256: &str) -> Result<(), SheetError> {
    match hash_file(path) {
        Ok(now) if now == sha256 => Ok(()),
        Ok(_) => Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: "the file changed while it was being read; close any program writing it and run again".into(),
        }),
        Err(source) => Err(SheetError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn open_workbook(path: &Path, ext: &str, data: Source) -> Result<Workbook, SheetError> {
    use calamine::open_workbook_from_rs as from;
    let opened = match ext {
        "xls" => from(data)
            .map(calamine::Sheets::Xls)
            .map_err(|e| e.to_string()),
        "xlsb" => from(data)
            .map(calamine::Sheets::Xlsb)
            .map_err(|e| e.to_string()),
        "ods" => from(data)
            .map(calamine::Sheets::Ods)
            .map_err(|e| e.to_string()),
        _ => from(data)
            .map(calamine::Sheets::Xlsx)
            .map_err(|e| e.to_string()),
    };
    opened.map_err(|e| SheetError::Malformed {
        path: path.to_path_buf(),
        message: format!(
            "not a readable .{ext} workbook ({e}); open it in Excel and save it again as .xlsx \
             (password-protected workbooks must be saved without a password)"
        ),
    })
}

/// The named sheet (Excel sheet names are case-insensitive), else the first visible worksheet.
fn pick_sheet(
    path: &Path,
    workbook: &Workbook,
    wanted: Option<&str>,
) -> Result<String, SheetError> {
    let sheets = workbook.sheets_metadata();
    let worksheets: Vec<&calamine::Sheet> = sheets
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .collect();
    let found = match wanted {
        Some(w) => {
            let w = w.trim();
            sheets.iter().find(|s| s.name == w).or_else(|| {
                sheets
                    .iter()
                    .find(|s| s.name.to_lowercase() == w.to_lowercase())
            })
        }
        None => worksheets
            .iter()
            .copied()
            .find(|s| s.visible == SheetVisible::Visible)
            .or(worksheets.first().copied()),
    };
    match (found, wanted) {
        (Some(sheet), _) => Ok(sheet.name.clone()),
        // Only chart sheets or macro sheets: there is no table to read.
        (None, None) => Err(SheetError::Empty {
            path: path.to_path_buf(),
        }),
        (None, Some(name)) => Err(SheetError::NoSuchSheet {
            path: path.to_path_buf(),
            name: name.to_string(),
            available: if worksheets.is_empty() {
                "no worksheets".into()
            } else {
                worksheets
                    .iter()
                    .map(|s| format!("'{}'", s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }),
    }
}

/// Maps a calamine value to a `Cell`.
fn to_cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::text(s),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => datetime_cell(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::text(s),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Days between the 1900 and 1904 epochs as Excel serials count them.
const EPOCH_1904_OFFSET: f64 = 1462.0;

fn datetime_cell(dt: &ExcelDateTime) -> Cell {
    if dt.is_duration() {
        // A duration ([h]:mm) is not a date; show it as text so no field takes it for one.
        let secs = (dt.as_f64() * 86_400.0).round() as i64;
        let sign = if secs < 0 { "-" } else { "" };
        let s = secs.unsigned_abs();
        return Cell::Text(format!(
            "{sign}{}:{:02}:{:02}",
            s / 3600,
            s / 60 % 60,
            s % 60
        ));
    }
    // calamine keeps the workbook's epoch private; an equal value built with the 1904 flag
    // reveals it.
    let is_1904 = *dt == ExcelDateTime::new(dt.as_f64(), ExcelDateTimeType::DateTime, true);
    if is_1904 {
        Cell::Date(dt.as_f64() + EPOCH_1904_OFFSET)
    } else {
        Cell::Date(dt.as_f64())
    }
}

type Rows = Box<dyn Iterator<Item = Result<RawRow, SheetError>> + Send>;

/// What the reader thread hands over.
enum Streamed {
    Header(u64, Vec<String>),
    Row(Result<RawRow, SheetError>),
}

/// Starts the reader thread for worksheet `name` and waits for its header.
fn stream(
    path: &Path,
    book: calamine::Xlsx<Source>,
    name: &str,
    sha256: String,
) -> Result<(u64, Vec<String>, Rows), SheetError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    let (path_buf, name_owned) = (path.to_path_buf(), name.to_string());
    std::thread::spawn(move || read_cells(path_buf, book, &name_owned, &sha256, tx));
    let empty = || SheetError::Empty {
        path: path.to_path_buf(),
    };
    match rx.recv().map_err(|_| empty())? {
        Streamed::Header(row_no, headers) => {
            let rows = rx.into_iter().filter_map(|m| match m {
                Streamed::Row(row) => Some(row),
                Streamed::Header(..) => None,
            });
            Ok((row_no, headers, Box::new(rows)))
        }
        Streamed::Row(Err(e)) => Err(e),
        Streamed::Row(Ok(_)) => Err(empty()),
    }
}

/// The reader thread: cells come in row order; each finished non-empty row is sent, the
/// first as the header. It stops when the receiver is gone.
fn read_cells(
    path: PathBuf,
    mut book: calamine::Xlsx<Source>,
    name: &str,
    sha256: &str,
    tx: std::sync::mpsc::SyncSender<Streamed>,
) {
    let malformed = |e: calamine::XlsxError| SheetError::Malformed {
        path: path.clone(),
        message: format!("cannot read sheet '{name}': {e}"),
    };
    let mut cells = match book.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        Err(e) => {
            let _ = tx.send(Streamed::Row(Err(malformed(e))));
            return;
        }
    };
    let origin_col = cells.dimensions().start.1;
    let mut width = None;
    let mut row: Option<u32> = None;
    let mut buf: Vec<Cell> = Vec::new();
    let send_row = |row: u32, buf: &mut Vec<Cell>, width: &mut Option<usize>| -> bool {
        let cells = std::mem::take(buf);
        if cells.iter().all(Cell::is_empty) {
            return true;
        }
        let row_no = u64::from(row) + 1;
        let message = match *width {
            None => {
                let headers = trim_headers(
                    cells
                        .iter()
                        .map(|c| c.to_text().trim().to_string())
                        .collect(),
                );
                *width = Some(headers.len());
                Streamed::Header(row_no, headers)
            }
            Some(width) => Streamed::Row(fit_to_header(&path, origin_col, width, row_no, cells)),
        };
        tx.send(message).is_ok()
    };
    loop {
        match cells.next_cell() {
            Ok(Some(cell)) => {
                let (r, c) = cell.get_position();
                if let Some(prev) = row.filter(|&prev| prev != r) {
                    if !send_row(prev, &mut buf, &mut width) {
                        return;
                    }
                }
                row = Some(r);
                let col = c.saturating_sub(origin_col) as usize;
                if buf.len() <= col {
                    buf.resize(col + 1, Cell::Empty);
                }
                buf[col] = to_cell(&Data::from(cell.get_value().clone()));
            }
            Ok(None) => {
                if let Some(r) = row {
                    send_row(r, &mut buf, &mut width);
                }
                if let Err(e) = unchanged(&path, sha256) {
                    let _ = tx.send(Streamed::Row(Err(e)));
                }
                return;
            }
            Err(e) => {
                let _ = tx.send(Streamed::Row(Err(malformed(e))));
                return;
            }
        }
    }
}

/// A data row cut or padded to the header's width; a value beyond it is an error naming
/// the cell, because it usually means the row is shifted.
fn fit_to_header(
    path: &Path,
    origin_col: u32,
    width: usize,
    row_no: u64,
    mut cells: Vec<Cell>,
) -> Result<RawRow, SheetError> {
    if let Some((i, extra)) = cells
        .iter()
        .enumerate()
        .skip(width)
        .find(|(_, c)| !c.is_empty())
    {
        let cell = format!(
            "{}{row_no}",
            column_letters(origin_col.saturating_add(i as u32))
        );
        return Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "cell {cell} holds '{}' but its column has no header; row {row_no} may be \
                 shifted: delete the value or give the column a header",
                extra.to_text()
            ),
        });
    }
    cells.resize(width, Cell::Empty);
    Ok(RawRow { row_no, cells })
}

/// `A`, `B`, ..., `Z`, `AA`, ... for a zero-based column index.
fn column_letters(mut col: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.iter().rev().map(|b| *b as char).collect()
}

struct XlsxRows {
    path: PathBuf,
    range: Range<Data>,
    /// Absolute zero-based (row, column) of the range's top-left cell.
    origin: (u32, u32),
    /// Next row to read, relative to the range.
    next: usize,
    width: usize,
}

impl XlsxRows {
    fn new(path: PathBuf, range: Range<Data>) -> Self {
        let origin = range.start().unwrap_or((0, 0));
        XlsxRows {
            path,
            range,
            origin,
            next: 0,
            width: 0,
        }
    }

    fn row_cells(&self, rel_row: usize) -> Vec<Cell> {
        (0..self.range.width())
            .map(|c| self.range.get((rel_row, c)).map_or(Cell::Empty, to_cell))
            .collect()
    }

    /// Excel's one-based row number of a range-relative row.
    fn row_no(&self, rel_row: usize) -> u64 {
        u64::from(self.origin.0) + rel_row as u64 + 1
    }

    /// Reads up to the first non-empty row and returns its row number and header texts.
    fn read_header(&mut self) -> Option<(u64, Vec<String>)> {
        while self.next < self.range.height() {
            let rel = self.next;
            self.next += 1;
            let cells = self.row_cells(rel);
            if cells.iter().all(Cell::is_empty) {
                continue;
            }
            let headers = trim_headers(
                cells
                    .iter()
                    .map(|c| c.to_text().trim().to_string())
                    .collect(),
            );
            self.width = headers.len();
            return Some((self.row_no(rel), headers));
        }
        None
    }

    fn fit_to_header(&self, rel: usize, cells: Vec<Cell>) -> Result<RawRow, SheetError> {
        fit_to_header(
            &self.path,
            self.origin.1,
            self.width,
            self.row_no(rel),
            cells,
        )
    }
}

impl Iterator for XlsxRows {
    type Item = Result<RawRow, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.range.height() {
            let rel = self.next;
            self.next += 1;
            let cells = self.row_cells(rel);
            if cells.iter().all(Cell::is_empty) {
                continue;
            }
            return Some(self.fit_to_header(rel, cells));
        }
        None
    }
}

#[cfg(test)]
mod tests {
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
}
