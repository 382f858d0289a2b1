//! Intake: sheet -> validated rows ready for the journal, with the issues and control
//! totals that `validate` prints and `run` checks. Shared by both commands so they can
//! never disagree about a row.

use crate::cli::SheetArgs;
use crate::journal::{ImportRow, Journal, JournalError};
use crate::money::Amount;
use crate::payout::PayoutRow;
use crate::sheet::{self, Sheet, SheetError};
use crate::validate::{batch_key, today_ist, ColumnError, Columns, RowIssue, Rules, Validator};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error("{path}{sheet}: {error}{hint}")]
    Columns {
        path: PathBuf,
        sheet: String,
        error: Box<ColumnError>,
        hint: String,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

pub struct Intake {
    pub sheet_path: PathBuf,
    pub sheet_name: Option<String>,
    pub sheet_sha256: String,
    /// Batch id: derived from the sheet's content and the provider, so the same sheet
    /// resumes the same batch.
    pub batch_id: String,
    pub headers: Vec<String>,
    pub rows: Vec<Checked>,
}

/// One sheet row after validation.
pub struct Checked {
    pub row_no: u64,
    /// The cells as a person sees them, for the report.
    pub cells: Vec<String>,
    pub result: Result<PayoutRow, Vec<RowIssue>>,
}

impl Intake {
    pub fn issues(&self) -> impl Iterator<Item = &RowIssue> {
        self.rows
            .iter()
            .filter_map(|r| r.result.as_ref().err())
            .flatten()
    }

    pub fn valid(&self) -> impl Iterator<Item = &PayoutRow> {
        self.rows.iter().filter_map(|r| r.result.as_ref().ok())
    }

    pub fn invalid_count(&self) -> u64 {
        self.rows.iter().filter(|r| r.result.is_err()).count() as u64
    }

    pub fn total(&self) -> Amount {
        Amount::from_paise(self.valid().map(|p| p.amount.paise()).sum())
    }

    /// Control totals as `validate` prints them.
    pub fn totals_text(&self) -> String {
        format!(
            "rows: {}  valid: {}  invalid: {}  total amount of valid rows: {}",
            self.rows.len(),
            self.valid().count(),
            self.invalid_count(),
            self.total()
        )
    }

    pub fn import_rows(&self) -> Vec<ImportRow> {
        self.rows
            .iter()
            .map(|r| ImportRow {
                row_no: r.row_no,
                cells: r.cells.clone(),
                payout: r
                    .result
                    .clone()
                    .map_err(|issues| issues.iter().map(ToString::to_string).collect()),
            })
            .collect()
    }
}

/// Reads and validates the whole sheet. `journal`, when given, is checked for order ids
/// that another batch already used.
pub fn read(args: &SheetArgs, journal: Option<&Journal>) -> Result<Intake, IntakeError> {
    check(open(args)?, args, journal)
}

/// A sheet opened (hashed, header read) but not yet validated, and its batch id: enough to
/// know whether the journal already holds the batch, without reading every row.
pub struct Opened {
    sheet: Sheet,
    pub batch_id: String,
}

pub fn open(args: &SheetArgs) -> Result<Opened, IntakeError> {
    let sheet = sheet::open(&args.sheet, args.sheet_name.as_deref())?;
    // A workbook's sheets are separate batches: the identity is the file and the sheet.
    let identity = match &sheet.sheet_name {
        Some(name) => format!("{}#{name}", sheet.sha256),
        None => sheet.sha256.clone(),
    };
    let batch_id = batch_key(&identity, args.provider);
    Ok(Opened { sheet, batch_id })
}

/// Validates every row of an opened sheet.
pub fn check(
    opened: Opened,
    args: &SheetArgs,
    journal: Option<&Journal>,
) -> Result<Intake, IntakeError> {
    let Opened { sheet, batch_id } = opened;
    let columns = Columns::from_headers(&sheet.headers, args.provider).map_err(|error| {
        let hint = if sheet.sheet_names.len() > 1 {
            format!(
                "; the workbook has these sheets: {}",
                sheet.sheet_names.join(", ")
            )
        } else {
            String::new()
        };
        IntakeError::Columns {
            path: sheet.path.clone(),
            sheet: sheet
                .sheet_name
                .as_ref()
                .map(|n| format!(" (sheet {n})"))
                .unwrap_or_default(),
            error: Box::new(error),
            hint,
        }
    })?;
    let mut validator = Validator::new(
        columns,
        Rules {
            provider: args.provider,
            today: today_ist(),
            default_comment: args.comment.clone(),
            batch_key: batch_id.clone(),
        },
    );
    let mut rows = Vec::new();
    for raw in sheet.rows {
        let raw = raw?;
        rows.push(Checked {
            row_no: raw.row_no,
            cells: raw.cells.iter().map(|c| c.to_text()).collect(),
            result: validator.check(&raw),
        });
    }
    if let Some(journal) = journal {
        reject_used_order_ids(journal, &batch_id, &mut rows)?;
    }
    Ok(Intake {
        sheet_path: sheet.path,
        sheet_name: sheet.sheet_name,
        sheet_sha256: sheet.sha256,
        batch_id,
        headers: sheet.headers,
        rows,
    })
}

/// An order id is the idempotency key: one used by another batch would make the provider
/// treat this row as a duplicate of someone else's payout.
fn reject_used_order_ids(
    journal: &Journal,
    batch_id: &str,
    rows: &mut [Checked],
) -> Result<(), JournalError> {
    let taken = journal.order_ids_elsewhere(
        batch_id,
        rows.iter()
            .filter_map(|r| r.result.as_ref().ok())
            .map(|p| p.order_id.as_str()),
    )?;
    for row in rows.iter_mut() {
        let Ok(p) = &row.result else { continue };
        if taken.contains(&p.order_id) {
            row.result = Err(vec![RowIssue {
                row_no: row.row_no,
                column: "order id".into(),
                code: "order_id.used",
                message: format!(
                    "order id '{}' was already used by another batch in {}; give this row a new reference",
                    p.order_id,
                    journal.path().display()
                ),
            }]);
        }
    }
    Ok(())
}
