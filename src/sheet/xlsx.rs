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
//!
//! Hostile workbooks: the archive's sizes are checked before calamine opens it
//! (`zipcheck`); a streamed cell is checked against the limits (`MAX_CELL_BYTES`,
//! `MAX_ROW_BYTES`, `MAX_COLUMNS`, the header's width) from its reference before any
//! room is made for it, so `ZZZZZZ2` costs nothing; and a reader thread that stops
//! without saying it is done is an error, never a sheet that merely looks shorter.

use super::{
    hex_digest, open_regular, shown_value, trim_headers, zipcheck, Cell, RawRow, Sheet, SheetError,
    MAX_CELL_BYTES, MAX_COLUMNS, MAX_ROW_BYTES,
};
use calamine::{
    Data, DataRef, ExcelDateTime, ExcelDateTimeType, Range, Reader, SheetType, SheetVisible,
};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

type Source = BufReader<File>;
type Workbook = calamine::Sheets<Source>;

pub(super) fn open(path: &Path, ext: &str, wanted: Option<&str>) -> Result<Sheet, SheetError> {
    let sha256 = hash_file(path)?;
    if ext != "xls" {
        zipcheck::check(path, open_regular(path)?)?;
    }
    let file = open_regular(path)?;
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
                    message: format!("cannot read sheet '{}': {e}", shown_value(&name)),
                })?;
            unchanged(path, &sha256)?;
            let mut rows = XlsxRows::new(path.to_path_buf(), range);
            let Some((header_row, headers)) = rows.read_header()? else {
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
fn hash_file(path: &Path) -> Result<String, SheetError> {
    let mut file = open_regular(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hex_digest(hasher)),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(SheetError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Fails if the file's bytes are no longer the ones hashed at open.
fn unchanged(path: &Path, sha256: &str) -> Result<(), SheetError> {
    if hash_file(path)? == sha256 {
        Ok(())
    } else {
        Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: "the file changed while it was being read; close any program writing it and run again".into(),
        })
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
    /// The worksheet was read to its end and the file is unchanged.
    End,
}

/// Rows in flight between the reader thread and the consumer; each is at most
/// `MAX_ROW_BYTES`, so the channel holds at most 16 MiB.
const CHANNEL_ROWS: usize = 64;

/// Starts the reader thread for worksheet `name` and waits for its header.
fn stream(
    path: &Path,
    book: calamine::Xlsx<Source>,
    name: &str,
    sha256: String,
) -> Result<(u64, Vec<String>, Rows), SheetError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(CHANNEL_ROWS);
    let (path_buf, name_owned) = (path.to_path_buf(), name.to_string());
    std::thread::spawn(move || read_cells(path_buf, book, &name_owned, &sha256, tx));
    let rows = Received {
        path: path.to_path_buf(),
        rx,
        done: false,
    };
    match rows.rx.recv() {
        Ok(Streamed::Header(row_no, headers)) => Ok((row_no, headers, Box::new(rows))),
        Ok(Streamed::Row(Err(e))) => Err(e),
        Ok(Streamed::Row(Ok(_)) | Streamed::End) => Err(SheetError::Empty {
            path: path.to_path_buf(),
        }),
        Err(_) => Err(rows.stopped()),
    }
}

/// The data rows as the reader thread sends them. The thread ends every read with `End`
/// or an error, so a channel closed without either means it died midway: that is an
/// error, never a sheet that merely looks shorter.
struct Received {
    path: PathBuf,
    rx: std::sync::mpsc::Receiver<Streamed>,
    done: bool,
}

impl Received {
    fn stopped(&self) -> SheetError {
        SheetError::Malformed {
            path: self.path.clone(),
            message: "reading the workbook stopped unexpectedly; open it in Excel, save it \
                      again and run again (please report this as a payrun bug)"
                .into(),
        }
    }
}

impl Iterator for Received {
    type Item = Result<RawRow, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.rx.recv() {
                Ok(Streamed::Row(row)) => {
                    self.done = row.is_err();
                    return Some(row);
                }
                Ok(Streamed::Header(..)) => {}
                Ok(Streamed::End) => self.done = true,
                Err(_) => {
                    self.done = true;
                    return Some(Err(self.stopped()));
                }
            }
        }
        None
    }
}

/// The reader thread: cells come in row order; each finished non-empty row is sent, the
/// first as the header, then `End` or the error that stopped the read. It stops early
/// when the receiver is gone.
fn read_cells(
    path: PathBuf,
    mut book: calamine::Xlsx<Source>,
    name: &str,
    sha256: &str,
    tx: std::sync::mpsc::SyncSender<Streamed>,
) {
    let malformed = |e: calamine::XlsxError| SheetError::Malformed {
        path: path.clone(),
        message: format!("cannot read sheet '{}': {e}", shown_value(name)),
    };
    let mut cells = match book.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        Err(e) => {
            let _ = tx.send(Streamed::Row(Err(malformed(e))));
            return;
        }
    };
    let mut rows = Assembly::new(&path, cells.dimensions().start.1);
    loop {
        let message = match cells.next_cell() {
            Ok(Some(cell)) => match rows.add(cell.get_position(), cell.get_value()) {
                Ok(Some(message)) => message,
                Ok(None) => continue,
                Err(e) => Streamed::Row(Err(e)),
            },
            Ok(None) => break,
            Err(e) => Streamed::Row(Err(malformed(e))),
        };
        let failed = matches!(message, Streamed::Row(Err(_)));
        if tx.send(message).is_err() || failed {
            return;
        }
    }
    if let Some(message) = rows.finish() {
        if tx.send(message).is_err() {
            return;
        }
    }
    let _ = tx.send(match unchanged(&path, sha256) {
        Ok(()) => Streamed::End,
        Err(e) => Streamed::Row(Err(e)),
    });
}

/// The row the reader thread is putting together, and what it has learnt of the sheet.
struct Assembly<'a> {
    path: &'a Path,
    /// The leftmost column the worksheet declares; columns count from it.
    origin_col: u32,
    /// The header's width, once the header is read.
    width: Option<usize>,
    row: Option<u32>,
    /// The column of the row's last cell: a valid worksheet lists a row's cells left to
    /// right, each once.
    last_col: Option<usize>,
    cells: Vec<Cell>,
    /// Text bytes in `cells`.
    bytes: usize,
}

impl<'a> Assembly<'a> {
    fn new(path: &'a Path, origin_col: u32) -> Self {
        Assembly {
            path,
            origin_col,
            width: None,
            row: None,
            last_col: None,
            cells: Vec::new(),
            bytes: 0,
        }
    }

    /// Takes one cell. Returns the previous row when this cell starts a new one; fails
    /// when the cell breaks a limit, before any room is made for it.
    fn add(
        &mut self,
        (r, c): (u32, u32),
        value: &DataRef<'_>,
    ) -> Result<Option<Streamed>, SheetError> {
        // Formatting-only cells are skipped wherever they are.
        if matches!(value, DataRef::Empty) {
            return Ok(None);
        }
        let reference = cell_ref(r, c);
        let len = value_text(value).len();
        if len > MAX_CELL_BYTES {
            return Err(too_big(self.path, &reference, value_text(value)));
        }
        let finished = match self.row {
            Some(prev) if r < prev => {
                return Err(self.malformed(format!(
                    "cell {reference} comes after row {} in the file; the workbook is damaged: \
                     open it in Excel and save it again",
                    u64::from(prev) + 1
                )))
            }
            Some(prev) if r > prev => self.finish(),
            _ => None,
        };
        if finished.is_some() || self.row != Some(r) {
            self.last_col = None;
        }
        self.row = Some(r);
        let Some(col) = c.checked_sub(self.origin_col).map(|c| c as usize) else {
            return Err(self.malformed(format!(
                "cell {reference} lies left of the range the worksheet declares (from column \
                 {}); the workbook is damaged: open it in Excel and save it again",
                column_letters(self.origin_col)
            )));
        };
        // A cell at or left of the previous one would silently replace a value (a column
        // reference too long for calamine's arithmetic wraps around to a small one).
        if self.last_col.is_some_and(|last| col <= last) {
            return Err(self.malformed(format!(
                "cell {reference} repeats or precedes an earlier cell of row {}; the workbook is \
                 damaged: open it in Excel and save it again",
                u64::from(r) + 1
            )));
        }
        self.last_col = Some(col);
        let cell = to_cell(&Data::from(value.clone()));
        if cell.is_empty() {
            return Ok(finished);
        }
        match self.width {
            Some(width) if col >= width => {
                return Err(no_header(self.path, &reference, u64::from(r) + 1, &cell))
            }
            None if col >= MAX_COLUMNS => {
                return Err(self.malformed(format!(
                    "cell {reference} is beyond column {}; a sheet may have at most \
                     {MAX_COLUMNS} columns: delete what is beyond them",
                    column_letters(self.origin_col.saturating_add(MAX_COLUMNS as u32 - 1))
                )))
            }
            _ => {}
        }
        self.bytes += len;
        if self.bytes > MAX_ROW_BYTES {
            return Err(self.malformed(format!(
                "row {} holds more than {} KiB of text (at cell {reference}); shorten its cells",
                u64::from(r) + 1,
                MAX_ROW_BYTES / 1024
            )));
        }
        if self.cells.len() <= col {
            self.cells.resize(col + 1, Cell::Empty);
        }
        self.cells[col] = cell;
        Ok(finished)
    }

    /// The row put together so far, as the header (the first non-empty row) or a data row;
    /// `None` when it is empty.
    fn finish(&mut self) -> Option<Streamed> {
        let cells = std::mem::take(&mut self.cells);
        self.bytes = 0;
        let row_no = u64::from(self.row?) + 1;
        if cells.iter().all(Cell::is_empty) {
            return None;
        }
        Some(match self.width {
            None => {
                let headers = trim_headers(
                    cells
                        .iter()
                        .map(|c| c.to_text().trim().to_string())
                        .collect(),
                );
                self.width = Some(headers.len());
                Streamed::Header(row_no, headers)
            }
            Some(width) => Streamed::Row(fit_to_header(
                self.path,
                self.origin_col,
                width,
                row_no,
                cells,
            )),
        })
    }

    fn malformed(&self, message: String) -> SheetError {
        SheetError::Malformed {
            path: self.path.to_path_buf(),
            message,
        }
    }
}

/// The text a cell value holds; numbers, dates and booleans hold none that could be big.
fn value_text<'v>(value: &'v DataRef<'_>) -> &'v str {
    match value {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s,
        DataRef::SharedString(s) => s,
        _ => "",
    }
}

/// A cell over `MAX_CELL_BYTES`, shown by an excerpt.
fn too_big(path: &Path, reference: &str, text: &str) -> SheetError {
    SheetError::Malformed {
        path: path.to_path_buf(),
        message: format!(
            "cell {reference} holds {} KiB of text ('{}'); a cell may hold at most {} KiB: \
             shorten or delete it",
            text.len().div_ceil(1024),
            shown_value(text),
            MAX_CELL_BYTES / 1024
        ),
    }
}

/// `B7` for zero-based row 6, column 1.
fn cell_ref(row: u32, col: u32) -> String {
    format!("{}{}", column_letters(col), u64::from(row) + 1)
}

/// A value in a column without a header: it usually means the row is shifted.
fn no_header(path: &Path, reference: &str, row_no: u64, cell: &Cell) -> SheetError {
    SheetError::Malformed {
        path: path.to_path_buf(),
        message: format!(
            "cell {reference} holds '{}' but its column has no header; row {row_no} may be \
             shifted: delete the value or give the column a header",
            shown_value(&cell.to_text())
        ),
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
        let reference = format!(
            "{}{row_no}",
            column_letters(origin_col.saturating_add(i as u32))
        );
        return Err(no_header(path, &reference, row_no, extra));
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

    /// The row's cells; a cell over `MAX_CELL_BYTES` is an error naming it.
    fn row_cells(&self, rel_row: usize) -> Result<Vec<Cell>, SheetError> {
        (0..self.range.width())
            .map(|c| {
                let Some(data) = self.range.get((rel_row, c)) else {
                    return Ok(Cell::Empty);
                };
                let text = match data {
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.as_str(),
                    _ => "",
                };
                if text.len() > MAX_CELL_BYTES {
                    let row = self.origin.0.saturating_add(rel_row as u32);
                    let col = self.origin.1.saturating_add(c as u32);
                    return Err(too_big(&self.path, &cell_ref(row, col), text));
                }
                Ok(to_cell(data))
            })
            .collect()
    }

    /// Excel's one-based row number of a range-relative row.
    fn row_no(&self, rel_row: usize) -> u64 {
        u64::from(self.origin.0) + rel_row as u64 + 1
    }

    /// Reads up to the first non-empty row and returns its row number and header texts.
    fn read_header(&mut self) -> Result<Option<(u64, Vec<String>)>, SheetError> {
        while self.next < self.range.height() {
            let rel = self.next;
            self.next += 1;
            let cells = self.row_cells(rel)?;
            if cells.iter().all(Cell::is_empty) {
                continue;
            }
            let headers = trim_headers(
                cells
                    .iter()
                    .map(|c| c.to_text().trim().to_string())
                    .collect(),
            );
            if headers.len() > MAX_COLUMNS {
                return Err(SheetError::Malformed {
                    path: self.path.clone(),
                    message: format!(
                        "the header in row {} has {} columns; a sheet may have at most \
                         {MAX_COLUMNS}: delete the columns beyond them",
                        self.row_no(rel),
                        headers.len()
                    ),
                });
            }
            self.width = headers.len();
            return Ok(Some((self.row_no(rel), headers)));
        }
        Ok(None)
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
            let cells = match self.row_cells(rel) {
                Ok(cells) => cells,
                Err(e) => {
                    self.next = self.range.height();
                    return Some(Err(e));
                }
            };
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

    #[test]
    fn a_cell_that_would_replace_one_of_its_row_is_refused() {
        let path = Path::new("pay.xlsx");
        let mut rows = Assembly::new(path, 0);
        let one = DataRef::Float(1.0);
        assert!(rows.add((0, 0), &one).unwrap().is_none());
        assert!(rows.add((0, 1), &one).unwrap().is_none());
        let Err(again) = rows.add((0, 1), &DataRef::Float(99.0)) else {
            panic!("a second B1 was taken");
        };
        let again = again.to_string();
        assert!(again.contains("cell B1 repeats or precedes"), "{again}");
        let mut rows = Assembly::new(path, 0);
        rows.add((0, 3), &one).unwrap();
        assert!(rows.add((0, 2), &one).is_err(), "left of the previous cell");
        // A new row starts from its left edge again.
        let mut rows = Assembly::new(path, 0);
        rows.add((0, 3), &one).unwrap();
        assert!(rows.add((1, 0), &one).is_ok());
    }

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
