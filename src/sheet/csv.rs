//! Streaming reader for delimited text sheets (`.csv`, `.txt`).
//!
//! Owns: encodings, BOM stripping, delimiter sniffing, ragged-row detection and row numbering.
//!
//! Encodings: UTF-8 with or without BOM is streamed. UTF-16 (a BOM, as Excel's "Unicode
//! Text" writes) and, for text that is not valid UTF-8, Windows-1252 (Excel's "CSV (Comma
//! delimited)" on Windows) are decoded whole in memory first: rare, and never ambiguous.
//!
//! Row numbers are the Excel row a person sees when opening the file in Excel: every record
//! is one row even when a quoted field spans several lines, and blank lines count as (empty)
//! rows because Excel shows them. In a file without blank lines this is simply the data
//! record index + 2 (the header is row 1). Structural errors name both the text-editor line
//! and that row.
//!
//! The file is read twice: once to hash it, once to parse it. The parse pass hashes again and
//! fails at the end (when decoding: before parsing) if the bytes changed in between, so rows
//! are never imported under the identity of different content. Both passes open it as a
//! regular file only (`open_regular`).
//!
//! Limits: the parser is fed no more than `MAX_ROW_BYTES` (and a little read-ahead) past
//! the end of the last record, so one huge field, usually a quote never closed, is refused
//! before it is held whole (`Budget`); a field over `MAX_CELL_BYTES` is refused naming its
//! line and column. A file decoded whole must be under `MAX_DECODED_BYTES`.

use super::{
    hex_digest, open_regular, shown_value, trim_headers, Cell, RawRow, Sheet, SheetError,
    MAX_CELL_BYTES, MAX_COLUMNS, MAX_ROW_BYTES,
};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Passes bytes through while hashing them.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// What the CSV parser reads: the file as it is (UTF-8), or its text decoded to UTF-8.
enum Input {
    Utf8(HashingReader<File>),
    Decoded(std::io::Cursor<Vec<u8>>),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Utf8(r) => r.read(buf),
            Input::Decoded(r) => r.read(buf),
        }
    }
}

/// The most a UTF-16 or Windows-1252 file may be: it is decoded whole in memory.
const MAX_DECODED_BYTES: u64 = 128 * 1024 * 1024;
/// What the readers between `Budget` and the parser may hold ahead of the parse (a
/// `BufReader` and the csv reader's own buffer, 8 KiB each), with room to spare.
const READ_AHEAD: u64 = 64 * 1024;

/// The error `Budget` stops the parser with.
#[derive(Debug, thiserror::Error)]
#[error("a record is longer than the limit")]
struct RecordTooLong;

/// Hands the parser bytes up to `limit` (an offset in the input), then fails: the parser
/// buffers a whole record, so this is what bounds the memory one record can take.
struct Budget {
    inner: Input,
    read: u64,
    limit: u64,
}

impl Read for Budget {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self.limit.saturating_sub(self.read);
        if room == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RecordTooLong,
            ));
        }
        let take = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..take])?;
        self.read += n as u64;
        Ok(n)
    }
}

type Source = BufReader<Budget>;

pub(super) fn open(path: &Path) -> Result<Sheet, SheetError> {
    let io_err = |source| SheetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let scan = scan_file(path)?;
    let malformed = |message: &str| SheetError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    };
    let utf16 = scan.prefix.starts_with(b"\xFF\xFE") || scan.prefix.starts_with(b"\xFE\xFF");
    if scan.prefix.contains(&b'\r') && !scan.prefix.contains(&b'\n') && !utf16 {
        return Err(malformed(
            "lines end with CR only (old Mac format); in Excel use Save As \"CSV UTF-8 (Comma delimited)\"",
        ));
    }
    let (input, text_len, last_byte) = if scan.utf8 && !utf16 {
        let input = Input::Utf8(HashingReader {
            inner: open_regular(path)?,
            hasher: Sha256::new(),
        });
        (input, scan.len, scan.last_byte)
    } else {
        let text = decode(path, &scan, utf16)?;
        let (len, last) = (text.len() as u64, text.last().copied());
        (Input::Decoded(std::io::Cursor::new(text)), len, last)
    };
    let mut source = BufReader::new(Budget {
        inner: input,
        read: 0,
        limit: MAX_ROW_BYTES as u64 + READ_AHEAD,
    });
    source.fill_buf().map_err(io_err)?;
    let bom_len = if source.buffer().starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    };
    let delimiter = sniff_delimiter(&source.buffer()[bom_len..]);
    let bom_len_u64 = bom_len as u64;
    source.consume(bom_len);
    let reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        // Only LF ends a record, so CRLF and LF files count lines alike; the CR left at the
        // end of a last field is trimmed like any other whitespace.
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_reader(source);

    let mut rows = CsvRows {
        path: path.to_path_buf(),
        reader,
        expected_sha256: scan.sha256.clone(),
        end_offset: text_len.saturating_sub(bom_len as u64),
        ends_with_newline: last_byte == Some(b'\n'),
        record: ::csv::StringRecord::new(),
        bom_len: bom_len_u64,
        width: 0,
        headers: Vec::new(),
        next_line: 1,
        last_row_no: 0,
        done: false,
    };
    let (header_row, headers) = rows.read_header()?;
    rows.width = headers.len();
    rows.headers = headers.clone();
    Ok(Sheet {
        path: path.to_path_buf(),
        sheet_name: None,
        sheet_names: Vec::new(),
        sha256: scan.sha256,
        headers,
        header_row,
        rows: Box::new(rows),
    })
}

/// What the hashing pass learns about the file.
struct Scan {
    sha256: String,
    len: u64,
    last_byte: Option<u8>,
    /// The first bytes, for BOM and line-end detection.
    prefix: Vec<u8>,
    /// Whether the whole file is valid UTF-8.
    utf8: bool,
}

/// The file's text as UTF-8: UTF-16 by its BOM, anything else that is not UTF-8 as
/// Windows-1252. The bytes decoded must be the bytes hashed.
fn decode(path: &Path, scan: &Scan, utf16: bool) -> Result<Vec<u8>, SheetError> {
    if scan.len > MAX_DECODED_BYTES {
        return Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "the file is not UTF-8 and is over {} MiB, the most payrun decodes; in Excel \
                 use Save As \"CSV UTF-8 (Comma delimited)\"",
                MAX_DECODED_BYTES / (1024 * 1024)
            ),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(scan.len).unwrap_or(0));
    open_regular(path)?
        .read_to_end(&mut bytes)
        .map_err(|source| SheetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if hex_digest(Sha256::new_with_prefix(&bytes)) != scan.sha256 {
        return Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: "the file changed while it was being read; close any program writing it and run again".into(),
        });
    }
    let fallback = if utf16 {
        encoding_rs::UTF_16LE
    } else {
        encoding_rs::WINDOWS_1252
    };
    // `decode` follows a BOM (UTF-16 LE or BE) and strips it.
    let (text, used, malformed) = fallback.decode(&bytes);
    if malformed {
        return Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "the file is not valid {} text; in Excel use Save As \"CSV UTF-8 (Comma delimited)\"",
                used.name()
            ),
        });
    }
    Ok(text.into_owned().into_bytes())
}

fn scan_file(path: &Path) -> Result<Scan, SheetError> {
    const PREFIX_LEN: usize = 64 * 1024;
    let mut file = open_regular(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; PREFIX_LEN];
    let mut scan = Scan {
        sha256: String::new(),
        len: 0,
        last_byte: None,
        prefix: Vec::new(),
        utf8: true,
    };
    // The end of a chunk may cut a character in two: its first bytes wait for the next.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(SheetError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let chunk = &buf[..n];
        hasher.update(chunk);
        if scan.utf8 {
            pending.extend_from_slice(chunk);
            match std::str::from_utf8(&pending) {
                Ok(_) => pending.clear(),
                Err(e) if e.error_len().is_none() => {
                    pending.drain(..e.valid_up_to());
                }
                Err(_) => scan.utf8 = false,
            }
        }
        let room = PREFIX_LEN.saturating_sub(scan.prefix.len());
        scan.prefix.extend_from_slice(&chunk[..room.min(n)]);
        scan.len += n as u64;
        scan.last_byte = chunk.last().copied();
    }
    scan.utf8 &= pending.is_empty();
    scan.sha256 = hex_digest(hasher);
    Ok(scan)
}

/// Picks the delimiter that occurs most in the first line (Excel's "Text (Tab delimited)"
/// `.txt`, semicolon CSVs from some locales, pipes from bank portals); comma when none occurs.
fn sniff_delimiter(start: &[u8]) -> u8 {
    let first_line = start.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first_line.iter().filter(|b| **b == d).count();
    let mut best = (count(b','), b',');
    for d in [b'\t', b';', b'|'] {
        if count(d) > best.0 {
            best = (count(d), d);
        }
    }
    best.1
}

struct CsvRows {
    path: PathBuf,
    reader: ::csv::Reader<Source>,
    expected_sha256: String,
    /// Byte offset (after any BOM) where the file ends, to spot a last line without LF.
    end_offset: u64,
    ends_with_newline: bool,
    record: ::csv::StringRecord,
    /// Bytes of BOM before the text the parser reads.
    bom_len: u64,
    /// Number of header columns; every row is cut or checked to this width.
    width: usize,
    /// The header texts, to name a column in messages.
    headers: Vec<String>,
    /// The text line after the last record read: where the next one begins (or the blank
    /// lines before it).
    next_line: u64,
    last_row_no: u64,
    done: bool,
}

/// A record read from the file, located both ways.
struct Located {
    line: u64,
    row_no: u64,
    cells: Vec<Cell>,
}

impl CsvRows {
    /// The header is the first record with a non-empty cell.
    fn read_header(&mut self) -> Result<(u64, Vec<String>), SheetError> {
        loop {
            let Some(rec) = self.next_record()? else {
                self.check_unchanged()?;
                return Err(SheetError::Empty {
                    path: self.path.clone(),
                });
            };
            if rec.cells.iter().all(Cell::is_empty) {
                continue;
            }
            let headers = trim_headers(rec.cells.iter().map(Cell::to_text).collect());
            if headers.len() > MAX_COLUMNS {
                return Err(self.malformed(format!(
                    "the header on line {} has {} columns; a sheet may have at most \
                     {MAX_COLUMNS}: delete the columns beyond them",
                    rec.line,
                    headers.len()
                )));
            }
            return Ok((rec.row_no, headers));
        }
    }

    fn next_record(&mut self) -> Result<Option<Located>, SheetError> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                // The next record may take the same budget, counted from where this one ends.
                let end = self.reader.position();
                self.next_line = end.line();
                self.reader.get_mut().get_mut().limit =
                    self.bom_len + end.byte() + MAX_ROW_BYTES as u64 + READ_AHEAD;
                let rec = self.locate();
                self.check_sizes(&rec)?;
                Ok(Some(rec))
            }
            Err(e) => Err(self.csv_error(e)),
        }
    }

    /// Fails when the record or one of its fields is over the limits, naming the field.
    fn check_sizes(&self, rec: &Located) -> Result<(), SheetError> {
        let where_ = format!("line {} (row {} in Excel)", rec.line, rec.row_no);
        let bytes = self.record.as_byte_record().as_slice().len();
        if bytes > MAX_ROW_BYTES {
            return Err(self.malformed(format!(
                "{where_} holds more than {} KiB of text; shorten its cells",
                MAX_ROW_BYTES / 1024
            )));
        }
        let Some((i, field)) = self
            .record
            .iter()
            .enumerate()
            .find(|(_, f)| f.len() > MAX_CELL_BYTES)
        else {
            return Ok(());
        };
        let column = match self.headers.get(i) {
            Some(h) => format!("field {} ('{}')", i + 1, shown_value(h)),
            None => format!("field {}", i + 1),
        };
        Err(self.malformed(format!(
            "{where_}, {column} holds {} KiB of text ('{}'); a cell may hold at most {} KiB: \
             shorten or delete it",
            field.len().div_ceil(1024),
            shown_value(field),
            MAX_CELL_BYTES / 1024
        )))
    }

    /// Finds the record's first text line and its Excel row. csv skips blank lines silently
    /// while reading a record, so they are recovered from the number of line feeds the read
    /// consumed: blank lines, line breaks inside quoted fields, and the record's own LF
    /// (absent only on a last line without one).
    fn locate(&mut self) -> Located {
        let call_line = self.record.position().map_or(1, |p| p.line());
        let after = self.reader.position();
        let inside = self
            .record
            .as_byte_record()
            .as_slice()
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        let unterminated = after.byte() >= self.end_offset && !self.ends_with_newline;
        let own_lf = u64::from(!unterminated);
        let blank_lines = after.line().saturating_sub(call_line + inside + own_lf);
        let row_no = self.last_row_no + blank_lines + 1;
        self.last_row_no = row_no;
        Located {
            line: call_line + blank_lines,
            row_no,
            cells: self.record.iter().map(Cell::text).collect(),
        }
    }

    fn csv_error(&self, e: ::csv::Error) -> SheetError {
        // The position is where the read began, so blank lines may sit before the bad line.
        let line = e.position().map_or(1, |p| p.line());
        match e.into_kind() {
            ::csv::ErrorKind::Io(source) if source.get_ref().is_some_and(|e| e.is::<RecordTooLong>()) => {
                self.malformed(format!(
                    "the record from line {} on is longer than {} KiB, the most a row may \
                     hold; usually a quote (\") opens a field and is never closed: close it, or \
                     shorten the row",
                    self.next_line,
                    MAX_ROW_BYTES / 1024
                ))
            }
            ::csv::ErrorKind::Io(source) => SheetError::Io { path: self.path.clone(), source },
            ::csv::ErrorKind::Utf8 { .. } => self.malformed(format!(
                "text at line {line} is not UTF-8; in Excel use Save As \"CSV UTF-8 (Comma delimited)\""
            )),
            other => self.malformed(format!("line {line} cannot be read: {other:?}")),
        }
    }

    fn malformed(&self, message: String) -> SheetError {
        SheetError::Malformed {
            path: self.path.clone(),
            message,
        }
    }

    /// Fails if the bytes just parsed are not the bytes that were hashed at open.
    fn check_unchanged(&self) -> Result<(), SheetError> {
        let Input::Utf8(input) = &self.reader.get_ref().get_ref().inner else {
            return Ok(()); // decoded text was checked before parsing
        };
        let parsed = hex_digest(input.hasher.clone());
        if parsed == self.expected_sha256 {
            Ok(())
        } else {
            Err(self.malformed(
                "the file changed while it was being read; close any program writing it and run again"
                    .into(),
            ))
        }
    }

    /// Checks the record against the header width and cuts empty trailing cells.
    fn fit_to_header(&self, rec: Located) -> Result<RawRow, SheetError> {
        let Located {
            line,
            row_no,
            mut cells,
        } = rec;
        let where_ = format!("line {line} (row {row_no} in Excel)");
        if cells.len() < self.width {
            return Err(self.malformed(format!(
                "{where_} has {} fields but the header has {}; a separator is missing or a \
                 line break is not inside quotes",
                cells.len(),
                self.width
            )));
        }
        if let Some((i, extra)) = cells
            .iter()
            .enumerate()
            .skip(self.width)
            .find(|(_, c)| !c.is_empty())
        {
            return Err(self.malformed(format!(
                "{where_} has a value '{}' in field {} but the header has only {} columns; \
                 remove the extra separator or value, or give that column a header",
                shown_value(&extra.to_text()),
                i + 1,
                self.width
            )));
        }
        cells.truncate(self.width);
        Ok(RawRow { row_no, cells })
    }
}

impl Iterator for CsvRows {
    type Item = Result<RawRow, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let rec = match self.next_record() {
                Ok(Some(rec)) => rec,
                Ok(None) => {
                    self.done = true;
                    return self.check_unchanged().err().map(Err);
                }
                Err(e) => {
                    // After a read error the position in the file is unknown: stop here.
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if rec.cells.iter().all(Cell::is_empty) {
                continue;
            }
            return Some(self.fit_to_header(rec));
        }
        None
    }
}

#[cfg(test)]
mod tests;
