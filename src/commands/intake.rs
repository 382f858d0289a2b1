//! Intake: sheet -> validated rows, streamed one at a time into the journal (`run`) or
//! only counted (`validate`), with the issues and control totals both print. Shared by both
//! commands so they can never disagree about a row. Memory holds the issues, never the rows.

use crate::cli::SheetArgs;
use crate::journal::{now_rfc3339, Batch, Journal, JournalError};
use crate::money::Amount;
use crate::payout::PayoutRow;
use crate::sheet::{self, Cell, Sheet, SheetError};
use crate::validate::{
    batch_key, derived_order_id, today_ist, ColumnError, Columns, RowIssue, Rules, Validator,
};
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
    pub issues: Vec<RowIssue>,
    invalid: u64,
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
            "rows: {}  valid: {}  invalid: {}  total amount of valid rows: {}",
            self.rows, self.valid, self.invalid, self.total
        )
    }
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

/// Validates every row of the sheet without keeping any; `journal`, when given, is asked
/// whether a row's order id is already used.
pub fn validate(args: &SheetArgs, journal: Option<&Journal>) -> Result<Intake, IntakeError> {
    stream(open(args)?, args, |checked| {
        if let (Some(journal), Ok(p)) = (journal, &checked.result) {
            if let Some(other) = journal.used_by(&p.order_id)? {
                checked.result = Err(vec![used_issue(
                    checked.row_no,
                    &p.order_id,
                    &other,
                    journal,
                )]);
            }
        }
        Ok(())
    })
}

/// Validates the sheet and imports it into `journal` as a new batch, in one transaction.
/// With invalid rows and without `skip_invalid`, nothing is kept: the returned intake says
/// why, and `None` says no batch was made.
pub fn import(
    opened: Opened,
    args: &SheetArgs,
    journal: &Journal,
    skip_invalid: bool,
) -> Result<(Intake, Option<Batch>), IntakeError> {
    let sheet = &opened.sheet;
    let batch = Batch {
        id: opened.batch_id.clone(),
        sheet_path: sheet.path.display().to_string(),
        sheet_name: sheet.sheet_name.clone(),
        sheet_sha256: sheet.sha256.clone(),
        provider: args.provider,
        headers: sheet.headers.clone(),
        created_at: now_rfc3339(),
        row_count: 0,
        valid_count: 0,
        total_paise: 0,
    };
    let mut importer = journal.importer(&batch)?;
    let intake = stream(opened, args, |checked| {
        if let Ok(p) = &checked.result {
            // A derived id holds this batch's key: no other batch can have used it.
            let derived = p.order_id == derived_order_id(&batch.id, checked.row_no);
            let used = if derived {
                None
            } else {
                importer.used_by(&p.order_id)?
            };
            if let Some(other) = used {
                checked.result = Err(vec![used_issue(
                    checked.row_no,
                    &p.order_id,
                    &other,
                    journal,
                )]);
            }
        }
        let payout = checked.result.as_ref().map_err(|issues| {
            issues
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        });
        importer.row(checked.row_no, &checked.cells, payout)?;
        Ok(())
    })?;
    if intake.invalid_count() > 0 && !skip_invalid {
        return Ok((intake, None)); // dropping the importer rolls the batch back
    }
    importer.finish()?;
    let batch = Batch {
        row_count: intake.rows,
        valid_count: intake.valid,
        total_paise: intake.total.paise(),
        ..batch
    };
    Ok((intake, Some(batch)))
}

/// Validates the opened sheet row by row, handing each row to `sink` (which may find a
/// valid row invalid after all), and totals what the sink leaves.
fn stream(
    opened: Opened,
    args: &SheetArgs,
    mut sink: impl FnMut(&mut Checked) -> Result<(), IntakeError>,
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
    let mut intake = Intake {
        sheet_path: sheet.path,
        sheet_name: sheet.sheet_name,
        sheet_sha256: sheet.sha256,
        batch_id,
        headers: sheet.headers,
        rows: 0,
        valid: 0,
        total: Amount::from_paise(0),
        issues: Vec::new(),
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
            }
            Err(issues) => {
                intake.invalid += 1;
                intake.issues.extend(issues);
            }
        }
    }
    intake.total = Amount::from_paise(total);
    Ok(intake)
}

/// An order id is the idempotency key: one used by another batch would make the provider
/// treat this row as a duplicate of someone else's payout.
fn used_issue(row_no: u64, order_id: &str, batch: &str, journal: &Journal) -> RowIssue {
    RowIssue {
        row_no,
        column: "order id".into(),
        code: "order_id.used",
        message: format!(
            "order id '{order_id}' is already used by batch {batch} in {}; give this row a new reference",
            journal.path().display()
        ),
    }
}
