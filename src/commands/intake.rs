//! Intake: sheet -> validated rows, streamed one at a time into the journal (`run`) or
//! only counted (`validate`), with the issues and control totals both print. Shared by both
//! commands so they can never disagree about a row. Memory holds the issues, never the rows.

use crate::cli::SheetArgs;
use crate::journal::{now_rfc3339, Batch, Journal, JournalError};
use crate::money::Amount;
use crate::payout::{batch_key, derived_order_id, PayoutRow};
use crate::sheet::{self, shown_value, Cell, Sheet, SheetError};
use crate::validate::{ColumnError, Columns, Field, RowIssue, Rules, Validator};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

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

/// What `run` requires of a sheet before it pays it.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Pay the valid rows even when some are invalid.
    pub skip_invalid: bool,
    /// Warnings block like errors.
    pub strict: bool,
    pub expect: Expect,
}

/// Control totals the approver signed (`--expect-rows`, `--expect-total`, `--expect-digest`).
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub rows: Option<u64>,
    pub total: Option<Amount>,
    pub digest: Option<String>,
}

impl Expect {
    /// Whether a batch of `rows` valid rows totalling `total` (with `digest`, when known)
    /// is what was approved.
    pub fn check(&self, rows: u64, total: Amount, digest: Option<&str>) -> Result<(), IntakeError> {
        let mut differ = Vec::new();
        if self.rows.is_some_and(|r| r != rows) {
            differ.push(format!(
                "{rows} rows to pay, not {}",
                self.rows.unwrap_or_default()
            ));
        }
        if self.total.is_some_and(|t| t != total) {
            differ.push(format!(
                "a total of {total}, not {}",
                self.total.unwrap_or(total)
            ));
        }
        if let (Some(wanted), Some(digest)) = (&self.digest, digest) {
            if !wanted.eq_ignore_ascii_case(digest) {
                differ.push(format!("digest {digest}, not {wanted}"));
            }
        }
        if differ.is_empty() {
            Ok(())
        } else {
            Err(IntakeError::Totals(format!(
                "the sheet has {}",
                differ.join(" and ")
            )))
        }
    }
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

/// A warning's threshold: an amount this many times the sheet's median.
const FAR_ABOVE_MEDIAN: i64 = 10;
/// How far back `validate` looks for payments to the same phone.
const RECENT_DAYS: i64 = 30;

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
            self.rows, self.valid, self.invalid, self.total, self.digest
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
    let recent = match journal {
        Some(j) => j.phones_paid_since(RECENT_DAYS)?,
        None => Default::default(),
    };
    let opened = open(args)?;
    let batch_id = opened.batch_id.clone();
    stream(opened, args, &recent, |checked| match journal {
        Some(journal) => reject_used(checked, &batch_id, journal, |id| journal.used_by(id)),
        None => Ok(()),
    })
}

/// Validates the sheet and imports it into `journal` as a new batch, in one transaction.
/// Nothing is kept when rows are invalid (unless `skip_invalid`) or, with `strict`, when
/// there are warnings: the returned intake says why, and `None` says no batch was made.
/// Totals other than the expected ones are an error, and nothing is kept either.
pub fn import(
    opened: Opened,
    args: &SheetArgs,
    journal: &Journal,
    checks: &Checks,
) -> Result<(Intake, Option<Batch>), IntakeError> {
    let sheet = &opened.sheet;
    let batch = Batch {
        id: opened.batch_id.clone(),
        // `sheet::open` refuses a path that is not UTF-8, so this is the path exactly.
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
    let recent = journal.phones_paid_since(RECENT_DAYS)?;
    let mut importer = journal.importer(&batch)?;
    let intake = stream(opened, args, &recent, |checked| {
        reject_used(checked, &batch.id, journal, |id| importer.used_by(id))?;
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
    let blocked = checks.strict && !intake.warnings.is_empty();
    if (intake.invalid_count() > 0 && !checks.skip_invalid) || blocked {
        return Ok((intake, None)); // dropping the importer rolls the batch back
    }
    checks
        .expect
        .check(intake.valid, intake.total, Some(&intake.digest))?;
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
    recent_phones: &std::collections::HashSet<String>,
    mut sink: impl FnMut(&mut Checked) -> Result<(), IntakeError>,
) -> Result<Intake, IntakeError> {
    let Opened { sheet, batch_id } = opened;
    let columns =
        Columns::mapped(&sheet.headers, args.provider, &args.columns).map_err(|error| {
            let hint = if sheet.sheet_names.len() > 1 {
                let names: Vec<String> = sheet.sheet_names.iter().map(|n| shown_value(n)).collect();
                format!("; the workbook has these sheets: {}", names.join(", "))
            } else {
                String::new()
            };
            IntakeError::Columns {
                path: sheet.path.clone(),
                sheet: sheet
                    .sheet_name
                    .as_ref()
                    .map(|n| format!(" (sheet {})", shown_value(n)))
                    .unwrap_or_default(),
                error: Box::new(error),
                hint,
            }
        })?;
    let mut validator = Validator::new(
        columns,
        Rules {
            provider: args.provider,
            today: crate::ist::today(),
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
        digest: String::new(),
        issues: Vec::new(),
        warnings: Vec::new(),
        invalid_rows: Vec::new(),
        invalid: 0,
    };
    let phone_column = validator.header(Field::Phone).to_string();
    let amount_column = validator.header(Field::Amount).to_string();
    let warn = |row_no, column: &str, code, message: String| RowIssue {
        row_no,
        column: column.to_string(),
        code,
        message,
    };
    // What the warnings need of each valid row, 24 bytes apiece.
    let mut paid: Vec<Paid> = Vec::new();
    let mut total = 0i64;
    let mut digest = Sha256::new();
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
                digest.update(p.row_no.to_le_bytes());
                for part in [&p.name, &p.phone, &p.email] {
                    digest.update(part.as_deref().unwrap_or_default());
                    digest.update([0x1f]);
                }
                digest.update(p.amount.paise().to_le_bytes());
                paid.push(Paid {
                    pair: p
                        .phone
                        .as_deref()
                        .map(|phone| pair_key(phone, p.amount.paise())),
                    row_no: p.row_no,
                    paise: p.amount.paise(),
                });
                if let Some(phone) = p.phone.filter(|phone| recent_phones.contains(phone)) {
                    intake.warnings.push(warn(p.row_no, &phone_column, "warning.recently_paid", format!(
                        "{phone} was paid by another batch in the last {RECENT_DAYS} days; check this is not the same payout"
                    )));
                }
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
    intake.digest = hex::encode(&digest.finalize()[..6]);
    if !paid.is_empty() {
        let mut amounts: Vec<i64> = paid.iter().map(|p| p.paise).collect();
        let mid = amounts.len() / 2;
        let median = *amounts.select_nth_unstable(mid).1;
        drop(amounts);
        for p in paid
            .iter()
            .filter(|p| median > 0 && p.paise > median.saturating_mul(FAR_ABOVE_MEDIAN))
        {
            intake.warnings.push(warn(p.row_no, &amount_column, "warning.far_above_median", format!(
                "{} is more than {FAR_ABOVE_MEDIAN} times the sheet's median amount ({}); check for a misplaced decimal point",
                Amount::from_paise(p.paise),
                Amount::from_paise(median)
            )));
        }
        // Rows paying the same phone the same amount end up side by side, first row first.
        paid.sort_unstable_by_key(|p| (p.pair, p.row_no));
        for pair in paid.windows(2) {
            let [first, again] = pair else { continue };
            if first.pair.is_some() && first.pair == again.pair {
                // A third copy names the second: each warning points at an earlier copy.
                intake.warnings.push(warn(
                    again.row_no,
                    &phone_column,
                    "warning.repeated",
                    format!(
                    "pays {} to the same phone as row {}; delete one of the rows if it is a copy",
                    Amount::from_paise(again.paise),
                    first.row_no
                ),
                ));
            }
        }
        intake.warnings.sort_by_key(|w| w.row_no);
    }
    Ok(intake)
}

/// A valid row, as the sheet-wide warnings see it.
struct Paid {
    /// `pair_key` of the row's phone and amount; `None` without a phone.
    pair: Option<u64>,
    row_no: u64,
    paise: i64,
}

/// A 64-bit digest of (phone, amount), to spot the same payment twice.
fn pair_key(phone: &str, paise: i64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (phone, paise).hash(&mut h);
    h.finish()
}

/// An order id is the idempotency key: a valid row whose id another batch already used
/// would be taken by the provider as a duplicate of someone else's payout, so it is made
/// invalid. A derived id holds this batch's key: no other batch can have used it.
fn reject_used(
    checked: &mut Checked,
    batch_id: &str,
    journal: &Journal,
    used_by: impl FnOnce(&str) -> Result<Option<String>, JournalError>,
) -> Result<(), IntakeError> {
    let Ok(p) = &checked.result else {
        return Ok(());
    };
    if p.order_id == derived_order_id(batch_id, checked.row_no) {
        return Ok(());
    }
    if let Some(other) = used_by(&p.order_id)? {
        checked.result = Err(vec![RowIssue {
            row_no: checked.row_no,
            column: "order id".into(),
            code: "order_id.used",
            message: format!(
                "order id '{}' is already used by batch {other} in {}; give this row a new reference",
                p.order_id,
                journal.path().display()
            ),
        }]);
    }
    Ok(())
}
