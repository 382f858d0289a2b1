//! Importing a sheet into the journal as a new batch: every row streamed into one
//! transaction, kept only when the sheet passes `Checks`.

use super::used_ids::reject_used;
use super::warnings::RECENT_DAYS;
use super::{stream, Checks, Intake, IntakeError, Opened, SheetOptions};
use crate::journal::{now_rfc3339, Batch, Journal};

/// Validates the sheet and imports it into `journal` as a new batch, in one transaction.
/// Nothing is kept when rows are invalid (unless `skip_invalid`), when no row is left to
/// pay, or, with `strict`, when there are warnings: the returned intake says why, and
/// `None` says no batch was made.
/// Totals other than the expected ones are an error, and nothing is kept either.
pub fn import(
    opened: Opened,
    options: &SheetOptions,
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
        provider: options.provider,
        headers: sheet.headers.clone(),
        created_at: now_rfc3339(),
        row_count: 0,
        valid_count: 0,
        total_paise: 0,
    };
    let recent = journal.phones_paid_since(RECENT_DAYS)?;
    let mut importer = journal.importer(&batch)?;
    let intake = stream(opened, options, &recent, |checked| {
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
    if (intake.invalid_count() > 0 && !checks.skip_invalid) || intake.valid == 0 || blocked {
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
