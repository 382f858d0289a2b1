//! Sheet reading: CSV and XLSX files streamed as header + typed cells per data row.
//! Nothing here knows what a payout is; `validate` gives the cells meaning.
//!
//! Owns: dispatch by file extension, the file's content hash (the batch identity), the
//! `Cell` model shared by both readers, and Excel date serials.
//!
//! Invariants every reader keeps:
//! - `RawRow::cells.len() == Sheet::headers.len()`: a value outside the header's columns is
//!   a `SheetError::Malformed` (it usually means a row shifted by a stray separator or a
//!   pasted block, and money must not follow a shifted column).
//! - Rows whose cells are all empty are skipped, but still counted in `row_no`.
//! - Any `Err` from `Sheet::rows` means the file as a whole cannot be trusted: a consumer
//!   that imports rows must discard what it read so far.

pub mod csv;
pub mod xlsx;

use std::path::{Path, PathBuf};

/// One spreadsheet cell as the file holds it. CSV yields only `Text` and `Empty`; XLSX keeps
/// numbers as numbers so that amounts convert exactly and mangled identifiers can be detected.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Excel date serial (days since the workbook's epoch, fraction = time of day),
    /// already converted to the 1900 system.
    Date(f64),
    /// An Excel error value such as `#N/A` or `#REF!`.
    Error(String),
}

impl Cell {
    /// The text a person sees in the cell: numbers as Excel shows them (15 significant
    /// digits), dates as `YYYY-MM-DD` (with ` HH:MM:SS` when there is a time of day),
    /// booleans as `TRUE`/`FALSE`, errors as their code (`#N/A`).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => crate::money::excel_decimal(*f),
            Cell::Bool(true) => "TRUE".into(),
            Cell::Bool(false) => "FALSE".into(),
            Cell::Date(serial) => date_serial_text(*serial),
            Cell::Error(code) => code.clone(),
        }
    }

    /// As `to_text`, reusing a text cell's string.
    pub fn into_text(self) -> String {
        match self {
            Cell::Text(t) => t,
            other => other.to_text(),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// `Empty` for blank text, otherwise the trimmed text.
    pub(crate) fn text(raw: &str) -> Cell {
        let t = raw.trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t.to_string())
        }
    }
}

/// One data row. `row_no` is the number a person sees in Excel or a text editor
/// (the header row is 1, the first data row 2).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub row_no: u64,
    pub cells: Vec<Cell>,
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unsupported file type; use .csv or .xlsx")]
    UnsupportedType { path: PathBuf },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: the sheet is empty (no header row)")]
    Empty { path: PathBuf },
    #[error("{path}: no sheet named '{name}'; the workbook has: {available}")]
    NoSuchSheet {
        path: PathBuf,
        name: String,
        available: String,
    },
}

/// An open sheet: its header, its content hash, and a stream of data rows.
pub struct Sheet {
    pub path: PathBuf,
    /// Name of the worksheet read (XLSX) or `None` for CSV.
    pub sheet_name: Option<String>,
    /// All sheet names in the workbook (XLSX), for error messages.
    pub sheet_names: Vec<String>,
    /// Lowercase hex SHA-256 of the file's bytes: the batch identity.
    pub sha256: String,
    /// Header texts, trimmed, as written in the file; trailing empty header cells dropped.
    pub headers: Vec<String>,
    /// Row number of the header as a person sees it (1 unless rows above it are empty).
    pub header_row: u64,
    pub rows: Box<dyn Iterator<Item = Result<RawRow, SheetError>> + Send>,
}

/// Opens a CSV or XLSX sheet by extension; `sheet` picks an XLSX worksheet (default: first).
///
/// `.csv` and `.txt` are read as delimited text (delimiter sniffed from the header line:
/// comma, tab or semicolon); `.xlsx`, `.xlsm`, `.xlsb`, `.xls` and `.ods` as workbooks.
/// `sheet` is ignored for text files.
pub fn open(path: &Path, sheet: Option<&str>) -> Result<Sheet, SheetError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" => csv::open(path),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => xlsx::open(path, &ext, sheet),
        _ => Err(SheetError::UnsupportedType {
            path: path.to_path_buf(),
        }),
    }
}

/// Lowercase hex SHA-256 of a finished hasher.
pub(crate) fn hex_digest(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    hex::encode(hasher.finalize())
}

/// Drops trailing empty header cells (a trailing separator, formatting on empty columns).
pub(crate) fn trim_headers(mut headers: Vec<String>) -> Vec<String> {
    while headers.last().is_some_and(|h| h.is_empty()) {
        headers.pop();
    }
    headers
}

/// Converts an Excel 1900-system serial to a date and seconds into the day.
///
/// Excel counts 1900-02-29, a day that never existed (serial 60); serials from 61 on are
/// days since 1899-12-30, serials 1..=59 days since 1899-12-31. Serial 60 and values outside
/// Excel's range (0 to 9999-12-31) give `None`.
pub fn date_from_serial(serial: f64) -> Option<(time::Date, u32)> {
    const MAX_SERIAL: f64 = 2_958_466.0; // 10000-01-01
    if !(0.0..MAX_SERIAL).contains(&serial) {
        return None;
    }
    let mut days = serial.floor() as i64;
    // Excel stores time as a fraction of a day; whole seconds are what it displays.
    let mut secs = ((serial - serial.floor()) * 86_400.0).round() as u32;
    if secs >= 86_400 {
        secs = 0;
        days += 1;
    }
    let epoch = match days {
        60 => return None,
        0..=59 => time::macros::date!(1899 - 12 - 31),
        _ => time::macros::date!(1899 - 12 - 30),
    };
    let date = epoch.checked_add(time::Duration::days(days))?;
    Some((date, secs))
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, or `HH:MM:SS` for a time-only serial (< 1).
fn date_serial_text(serial: f64) -> String {
    if serial == 60.0 {
        return "1900-02-29".into();
    }
    let Some((date, secs)) = date_from_serial(serial) else {
        return crate::money::excel_decimal(serial);
    };
    let time = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let day = format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    if serial < 1.0 {
        time
    } else if secs == 0 {
        day
    } else {
        format!("{day} {time}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_text_shows_what_excel_shows() {
        assert_eq!(Cell::Empty.to_text(), "");
        assert_eq!(Cell::Text("abc".into()).to_text(), "abc");
        assert_eq!(Cell::Int(7777777777).to_text(), "7777777777");
        assert_eq!(Cell::Float(0.29 + 10.01).to_text(), "10.3");
        assert_eq!(Cell::Float(f64::NAN).to_text(), "NaN");
        assert_eq!(Cell::Bool(true).to_text(), "TRUE");
        assert_eq!(Cell::Bool(false).to_text(), "FALSE");
        assert_eq!(Cell::Error("#N/A".into()).to_text(), "#N/A");
        assert_eq!(Cell::Date(46096.0).to_text(), "2026-03-15");
        assert_eq!(Cell::Date(46096.5).to_text(), "2026-03-15 12:00:00");
        assert_eq!(Cell::Date(0.75).to_text(), "18:00:00");
        assert_eq!(Cell::Date(60.0).to_text(), "1900-02-29");
        assert_eq!(Cell::Date(-3.0).to_text(), "-3");
    }

    #[test]
    fn date_serials_follow_excel_1900_system() {
        let d = |s| date_from_serial(s).map(|(d, _)| d.to_string());
        assert_eq!(d(1.0).as_deref(), Some("1900-01-01"));
        assert_eq!(d(59.0).as_deref(), Some("1900-02-28"));
        assert_eq!(d(60.0), None);
        assert_eq!(d(61.0).as_deref(), Some("1900-03-01"));
        assert_eq!(d(45943.541).as_deref(), Some("2025-10-13"));
        assert_eq!(d(2958465.0).as_deref(), Some("9999-12-31"));
        assert_eq!(d(f64::NAN), None);
        assert_eq!(d(1e300), None);
        // 23:59:59.9 rounds into the next day.
        assert_eq!(
            d(1000.0 + 86_399.9 / 86_400.0).as_deref(),
            d(1001.0).as_deref()
        );
    }

    #[test]
    fn unknown_extension_is_rejected() {
        let err = open(Path::new("payouts.pdf"), None).err();
        assert!(matches!(err, Some(SheetError::UnsupportedType { .. })));
        let err = open(Path::new("no-extension"), None).err();
        assert!(matches!(err, Some(SheetError::UnsupportedType { .. })));
    }
}
