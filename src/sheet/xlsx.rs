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
    MAX_CELL_BYTES, MAX_COLUMNS,
};
use calamine::{Data, ExcelDateTime, ExcelDateTimeType, Range, Reader, SheetType, SheetVisible};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

type Source = BufReader<File>;
type Workbook = calamine::Sheets<Source>;

mod stream;
use stream::stream;

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
mod tests;
