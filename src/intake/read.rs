//! Reading the sheet: opening it (hashed, header read) with the batch id it names, and
//! mapping its header to a row `Validator`, or saying why the header cannot be used.

use super::{IntakeError, SheetOptions};
use crate::payout::batch_key;
use crate::sheet::{self, shown_value, Sheet};
use crate::validate::{Columns, Rules, Validator};

/// A sheet opened (hashed, header read) but not yet validated, and its batch id: enough to
/// know whether the journal already holds the batch, without reading every row.
pub struct Opened {
    pub(super) sheet: Sheet,
    pub batch_id: String,
}

pub fn open(options: &SheetOptions) -> Result<Opened, IntakeError> {
    let sheet = sheet::open(&options.sheet, options.sheet_name.as_deref())?;
    // A workbook's sheets are separate batches: the identity is the file and the sheet.
    let identity = match &sheet.sheet_name {
        Some(name) => format!("{}#{name}", sheet.sha256),
        None => sheet.sha256.clone(),
    };
    let batch_id = batch_key(&identity, options.provider);
    Ok(Opened { sheet, batch_id })
}

/// The validator for the sheet's rows: its header mapped to fields (the user's names
/// first), today's rules for the provider, and the batch id seeding derived order ids.
pub(super) fn validator(
    sheet: &Sheet,
    options: &SheetOptions,
    batch_id: &str,
) -> Result<Validator, IntakeError> {
    let columns =
        Columns::mapped(&sheet.headers, options.provider, &options.columns).map_err(|error| {
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
    Ok(Validator::new(
        columns,
        Rules {
            provider: options.provider,
            today: crate::ist::today(),
            default_comment: options.comment.clone(),
            batch_key: batch_id.to_string(),
        },
    ))
}
