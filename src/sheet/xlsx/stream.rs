//! Streaming an `.xlsx`/`.xlsm` worksheet: a reader thread walks its cells in order,
//! assembles rows under the size limits, and hands them over a bounded channel, ending with
//! `End` only when the worksheet was read to its end and the file is unchanged.

use super::{
    cell_ref, column_letters, fit_to_header, no_header, to_cell, too_big, unchanged, Rows, Source,
};
use crate::sheet::{
    shown_value, trim_headers, Cell, RawRow, SheetError, MAX_CELL_BYTES, MAX_COLUMNS, MAX_ROW_BYTES,
};
use calamine::{Data, DataRef};
use std::path::{Path, PathBuf};

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
pub(super) fn stream(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
