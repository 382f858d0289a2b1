//! Sheet reading: CSV and XLSX files streamed as header + typed cells per data row.
//! Nothing here knows what a payout is; `validate` gives the cells meaning.
//!
//! Owns: dispatch by file extension, the file's content hash (the batch identity), the
//! `Cell` model shared by both readers, Excel date serials, the limits a hostile sheet
//! meets (regular files only, cell and row sizes), and how outside text is shown in
//! messages (`excerpt`, `escape_for_terminal`).
//!
//! Invariants every reader keeps:
//! - `RawRow::cells.len() == Sheet::headers.len()`: a value outside the header's columns is
//!   a `SheetError::Malformed` (it usually means a row shifted by a stray separator or a
//!   pasted block, and money must not follow a shifted column).
//! - Rows whose cells are all empty are skipped, but still counted in `row_no`.
//! - Any `Err` from `Sheet::rows` means the file as a whole cannot be trusted: a consumer
//!   that imports rows must discard what it read so far.
//! - No cell holds more than `MAX_CELL_BYTES`, no row more than `MAX_ROW_BYTES` or
//!   `MAX_COLUMNS` cells: a bigger one is a `SheetError::Malformed` naming the cell, found
//!   before it is held in memory whole where the format allows.

pub mod csv;
pub mod xlsx;
mod zipcheck;

use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The largest cell payrun reads. Names and comments are at most a few hundred
/// characters; anything this big is a paste gone wrong or a hostile file.
pub const MAX_CELL_BYTES: usize = 32 * 1024;
/// The largest row payrun reads, all cells together (CSV: the record's text).
pub const MAX_ROW_BYTES: usize = 256 * 1024;
/// The most columns a sheet may have (Excel allows 16,384; a payout sheet has a dozen).
pub const MAX_COLUMNS: usize = 1024;
/// How many characters of a cell's value a message repeats.
const EXCERPT_CHARS: usize = 40;

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

    /// `Empty` for blank text, otherwise the trimmed text without the apostrophe that
    /// guards a formula (`unguard`).
    pub(crate) fn text(raw: &str) -> Cell {
        let t = unguard(raw.trim()).trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t.to_string())
        }
    }
}

/// Characters that make a spreadsheet read a typed cell as a formula.
pub const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Drops one leading `'` that only guards a formula character, as written by payrun's own
/// CSV errors files and reports (`'+919876543210`) and by people who know the Excel trick:
/// the value meant is what follows it. Any other leading `'` is kept.
pub fn unguard(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => text,
    }
}

/// At most `EXCERPT_CHARS` characters of `text`, with `…` when cut: outside values are
/// repeated in messages, never at any length.
pub fn excerpt(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

/// Whether a terminal could act on `c` instead of showing it: C0 and C1 controls, DEL,
/// and the bidirectional overrides that make text read in another order than it is.
fn unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character a terminal could act on written as `\u{1b}`: a sheet's
/// text printed in a message can neither move the cursor, recolour, nor fake a line.
pub fn escape_for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_for_terminal) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_for_terminal(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A cell's value for a message: cut to an excerpt and escaped.
pub fn shown_value(text: &str) -> String {
    escape_for_terminal(&excerpt(text)).into_owned()
}

/// A path for a message, escaped (the name may come from anywhere); bytes that are not
/// UTF-8 are shown as `\xff`.
pub fn shown_path(path: &Path) -> String {
    let mut text = String::new();
    for chunk in path.as_os_str().as_encoded_bytes().utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02x}"));
        }
    }
    escape_for_terminal(&text).into_owned()
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
    #[error("{}: cannot read the file: {source}", shown_path(.path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: unsupported file type; use .csv or .xlsx", shown_path(.path))]
    UnsupportedType { path: PathBuf },
    #[error("{}: {message}", shown_path(.path))]
    Malformed { path: PathBuf, message: String },
    #[error("{}: the sheet is empty (no header row)", shown_path(.path))]
    Empty { path: PathBuf },
    #[error("{}: no sheet named '{}'; the workbook has: {}", shown_path(.path), shown_value(.name), escape_for_terminal(.available))]
    NoSuchSheet {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error(
        "{}: not a regular file (it is {kind}); save the sheet as a file on disk and pass that file",
        shown_path(.path)
    )]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error(
        "{}: the file name is not valid UTF-8 or holds control characters, and the journal \
         records it as text; rename the file (letters, digits, spaces, - and _ are safe)",
        shown_path(.path)
    )]
    BadPath { path: PathBuf },
}

/// Refuses a path the journal could not record exactly, or a terminal could act on.
fn check_path(path: &Path) -> Result<(), SheetError> {
    match path.to_str() {
        Some(text) if !text.chars().any(char::is_control) => Ok(()),
        _ => Err(SheetError::BadPath {
            path: path.to_path_buf(),
        }),
    }
}

/// What a file that is not a regular file is, for the message.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    if meta.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    "not a plain file"
}

/// Opens a sheet that must be a regular file. The type is checked before opening, because
/// opening a named pipe waits for a writer forever, and again on the open file, so a path
/// swapped in between is caught too.
pub(crate) fn open_regular(path: &Path) -> Result<File, SheetError> {
    let io = |source| SheetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = |meta: &std::fs::Metadata| SheetError::NotAFile {
        path: path.to_path_buf(),
        kind: file_kind(meta),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    Ok(file)
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
///
/// The path must be valid UTF-8 without control characters and name a regular file.
pub fn open(path: &Path, sheet: Option<&str>) -> Result<Sheet, SheetError> {
    check_path(path)?;
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
    fn a_quote_is_dropped_only_where_it_guards_a_formula() {
        assert_eq!(unguard("'+919876543210"), "+919876543210");
        assert_eq!(unguard("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unguard("''+91"), "''+91");
        assert_eq!(unguard("'Asha"), "'Asha");
        assert_eq!(unguard("'"), "'");
        assert_eq!(Cell::text("  '-5  "), Cell::Text("-5".into()));
        assert_eq!(Cell::text("'\tx"), Cell::Text("x".into()));
    }

    #[test]
    fn shown_values_are_cut_and_escaped() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(40)));
        assert_eq!(
            escape_for_terminal("a\u{1b}[2Jb\n\u{7f}\u{9b}"),
            "a\\u{1b}[2Jb\\u{a}\\u{7f}\\u{9b}"
        );
        assert_eq!(escape_for_terminal("abc\u{202e}txt"), "abc\\u{202e}txt");
        assert_eq!(escape_for_terminal("José"), "José");
        assert_eq!(shown_value(&"\u{7}".repeat(50)), "\\u{7}".repeat(40) + "…");
    }

    #[cfg(unix)]
    #[test]
    fn paths_must_be_utf8_without_controls() {
        use std::os::unix::ffi::OsStrExt;
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"pay\xff.csv"));
        let err = open(bad, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("pay\\xff.csv: the file name is not valid UTF-8"),
            "{err}"
        );
        let err = open(Path::new("pay\u{1b}.csv"), None).err();
        assert!(matches!(err, Some(SheetError::BadPath { .. })));
    }

    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("folder.csv");
        std::fs::create_dir(&folder).expect("mkdir");
        let err = open(&folder, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("not a regular file (it is a directory)"),
            "{err}"
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
