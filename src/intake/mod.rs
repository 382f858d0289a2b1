//! Intake: sheet -> validated rows, streamed one at a time into the journal (`import`, for
//! `run`) or only counted (`validate`), with the issues, warnings and control totals both
//! print. Shared by every command that reads a sheet so they can never disagree about a row.
//! Memory holds the issues, never the rows.
//!
//! This file orchestrates; `read` opens the sheet and maps its header, `warnings` looks at
//! the valid rows together, `digest` fingerprints them, `used_ids` checks order ids against
//! other batches, `import` keeps the batch, `expect` holds what `run` requires.

mod digest;
mod expect;
mod import;
mod read;
mod used_ids;
mod warnings;

pub use expect::{Checks, Expect};
pub use import::import;
pub use read::{open, Opened};

use crate::journal::{Journal, JournalError};
use crate::money::Amount;
use crate::payout::{PayoutRow, ProviderKind};
use crate::sheet::{Cell, SheetError};
use crate::validate::{ColumnError, ColumnMap, Field, RowIssue};
use digest::SheetDigest;
use std::collections::HashSet;
use std::path::PathBuf;
use used_ids::reject_used;
pub use warnings::WarningGroup;
use warnings::{SheetWarnings, RECENT_DAYS};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error("{}{sheet}: {error}{hint}", crate::sheet::shown_path(.path))]
    Columns {
        path: PathBuf,
        sheet: String,
        error: Box<ColumnError>,
        hint: String,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}; nothing was sent: check the sheet against what was approved")]
    Totals(String),
}

/// Which sheet to read and how to read it.
#[derive(Debug, Clone)]
pub struct SheetOptions {
    /// Payout sheet: .csv or .xlsx.
    pub sheet: PathBuf,
    /// Worksheet name in an XLSX workbook (default: the first sheet).
    pub sheet_name: Option<String>,
    pub provider: ProviderKind,
    /// Comment sent with rows whose comments cell is empty.
    pub comment: Option<String>,
    /// Headers mapped to fields before the built-in aliases (a config file's `[columns]`).
    pub columns: ColumnMap,
}

/// What validating a whole sheet found: its identity, control totals and every issue.
pub struct Intake {
    pub sheet_path: PathBuf,
    pub sheet_name: Option<String>,
    pub sheet_sha256: String,
    /// Batch id: derived from the sheet's content and the provider, so the same sheet
    /// resumes the same batch.
    pub batch_id: String,
    pub headers: Vec<String>,
    pub rows: u64,
    pub valid: u64,
    pub total: Amount,
    /// 12 hex characters of SHA-256 over each valid row's number, payee (name, phone,
    /// e-mail) and amount: two sheets with the same digest pay the same people the same
    /// amounts, whatever their format.
    pub digest: String,
    pub issues: Vec<RowIssue>,
    /// Likely mistakes that do not make a row invalid (`--strict` makes them block).
    pub warnings: Vec<RowIssue>,
    /// The same warnings, one group per kind, as a person reads them.
    pub warning_groups: Vec<WarningGroup>,
    /// The invalid rows as they were read, with their issues, for `validate --errors`.
    pub invalid_rows: Vec<InvalidRow>,
    invalid: u64,
}

/// An invalid row in the sheet's own columns, and what is wrong with it.
pub struct InvalidRow {
    pub row_no: u64,
    pub cells: Vec<String>,
    pub error: String,
}

/// One sheet row after validation.
pub struct Checked {
    pub row_no: u64,
    /// The cells as a person sees them, for the report.
    pub cells: Vec<String>,
    pub result: Result<PayoutRow, Vec<RowIssue>>,
}

impl Intake {
    pub fn invalid_count(&self) -> u64 {
        self.invalid
    }

    /// Control totals as `validate` prints them.
    pub fn totals_text(&self) -> String {
        format!(
            "rows: {}  valid: {}  invalid: {}  total amount of valid rows: {}  digest: {}",
            self.rows,
            self.valid,
            self.invalid,
            self.total.to_indian(),
            self.digest
        )
    }
}

/// Validates every row of the sheet without keeping any; `journal`, when given, is asked
/// whether a row's order id is already used.
pub fn validate(options: &SheetOptions, journal: Option<&Journal>) -> Result<Intake, IntakeError> {
    let recent = match journal {
        Some(j) => j.phones_paid_since(RECENT_DAYS)?,
        None => Default::default(),
    };
    let opened = open(options)?;
    let batch_id = opened.batch_id.clone();
    stream(opened, options, &recent, |checked| match journal {
        Some(journal) => reject_used(checked, &batch_id, journal, |id| journal.used_by(id)),
        None => Ok(()),
    })
}

/// Validates the opened sheet row by row, handing each row to `sink` (which may find a
/// valid row invalid after all), and totals what the sink leaves.
fn stream(
    opened: Opened,
    options: &SheetOptions,
    recent_phones: &HashSet<String>,
    mut sink: impl FnMut(&mut Checked) -> Result<(), IntakeError>,
) -> Result<Intake, IntakeError> {
    let Opened { sheet, batch_id } = opened;
    let mut validator = read::validator(&sheet, options, &batch_id)?;
    let mut warnings = SheetWarnings::new(
        recent_phones,
        validator.header(Field::Phone),
        validator.header(Field::Amount),
    );
    let mut digest = SheetDigest::new();
    let mut intake = Intake {
        sheet_path: sheet.path,
        sheet_name: sheet.sheet_name,
        sheet_sha256: sheet.sha256,
        batch_id,
        headers: sheet.headers,
        rows: 0,
        valid: 0,
        total: Amount::from_paise(0),
        digest: String::new(),
        issues: Vec::new(),
        warnings: Vec::new(),
        warning_groups: Vec::new(),
        invalid_rows: Vec::new(),
        invalid: 0,
    };
    let mut total = 0i64;
    for raw in sheet.rows {
        let raw = raw?;
        let result = validator.check(&raw);
        let mut checked = Checked {
            row_no: raw.row_no,
            cells: raw.cells.into_iter().map(Cell::into_text).collect(),
            result,
        };
        sink(&mut checked)?;
        intake.rows += 1;
        match checked.result {
            Ok(p) => {
                intake.valid += 1;
                total += p.amount.paise();
                digest.row(&p);
                warnings.row(&p);
            }
            Err(issues) => {
                intake.invalid += 1;
                intake.invalid_rows.push(InvalidRow {
                    row_no: checked.row_no,
                    cells: checked.cells,
                    error: issues
                        .iter()
                        .map(|i| format!("{}: {}", i.column, i.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                });
                intake.issues.extend(issues);
            }
        }
    }
    intake.total = Amount::from_paise(total);
    intake.digest = digest.finish();
    (intake.warnings, intake.warning_groups) = warnings.finish_grouped();
    Ok(intake)
}
