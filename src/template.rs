//! Blank payout sheets (`payrun template`): the headers payrun reads for a provider, as a CSV
//! header line or as an XLSX workbook whose columns carry the cell formats that keep phones
//! and references as text, with drop-downs and an `Instructions` sheet. Every rule the
//! instructions state comes from the validator's own `Policy`, so the two cannot disagree.

use crate::payout::ProviderKind;
use crate::validate::{Field, Policy, MAX_ORDER_ID, NOTIFY_MODES};
use rust_xlsxwriter::{
    DataValidation, DataValidationRule, Format, Formula, Workbook, Worksheet, XlsxError,
};
use std::path::{Path, PathBuf};

/// The worksheet payrun reads: the first, so `validate` needs no `--sheet`.
pub const DATA_SHEET: &str = "Payouts";
pub const INSTRUCTIONS_SHEET: &str = "Instructions";
/// Rows below the header that get the drop-downs and date checks (Excel rows 2 to 10001).
const DATA_ROWS: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{path} already exists; payrun does not overwrite it: choose another name or delete the file first", path = .path.display())]
    Exists { path: PathBuf },
    #[error("{path}: unsupported extension; use .csv or .xlsx", path = .path.display())]
    Extension { path: PathBuf },
    #[error("cannot write the template {path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot build the template {path}: {source}", path = .path.display())]
    Xlsx { path: PathBuf, source: XlsxError },
}

/// A template's file format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csv,
    Xlsx,
}

impl Kind {
    pub fn of(path: &Path) -> Result<Kind, TemplateError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Kind::Csv),
            Some("xlsx") => Ok(Kind::Xlsx),
            _ => Err(TemplateError::Extension { path: path.into() }),
        }
    }
}

/// One column of the template and what the validator asks of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRule {
    pub field: Field,
    pub header: &'static str,
    pub required: String,
    pub format: String,
    pub limits: String,
}

/// The columns the provider's links use, in the sample sheet's order, with their rules.
pub fn columns(provider: ProviderKind) -> Vec<ColumnRule> {
    let p = Policy::of(provider);
    Field::ALL
        .into_iter()
        .filter(|f| p.reads(*f))
        .map(|field| {
            let (required, format, limits) = rule(field, &p);
            ColumnRule {
                field,
                header: field.header(),
                required,
                format: format.into(),
                limits,
            }
        })
        .collect()
}

fn rule(field: Field, p: &Policy) -> (String, &'static str, String) {
    let needed = |yes: bool| if yes { "required" } else { "optional" }.to_string();
    match field {
        Field::Name => (
            needed(p.name_required),
            "text",
            format!("at most {} characters", p.max_name_chars),
        ),
        Field::Phone => (
            if p.phone_required {
                needed(true)
            } else {
                "required unless Email is filled".into()
            },
            "text: a 10-digit Indian mobile number like 9876543210 (+91 or a leading 0 may come first)",
            "starts with 6, 7, 8 or 9".into(),
        ),
        Field::Email => (
            match (p.phone_required, p.notify_mode) {
                (false, _) => "required unless Phone is filled".into(),
                (true, true) => "optional; required when Notify includes EMAIL".into(),
                (true, false) => needed(false),
            },
            "an address like name@example.com",
            "one address".into(),
        ),
        Field::Amount => (
            needed(true),
            "rupees with at most two decimals, like 1500 or 249.50",
            format!("at least {} rupees", p.min_amount),
        ),
        Field::OrderId => (
            "optional: payrun makes one when it is empty".into(),
            "text: letters A-Z and digits only (leading zeros are kept)",
            format!(
                "at most {MAX_ORDER_ID} characters; unique in the sheet and not used by an earlier batch"
            ),
        ),
        Field::Expiry => (
            format!("optional: empty leaves the expiry to {}", p.provider),
            "a date, YYYY-MM-DD (DD/MM/YYYY is read too)",
            format!(
                "after today (India time), at most {} days ahead",
                p.max_expiry_days
            ),
        ),
        Field::Notify => (
            "optional: empty means SMS".into(),
            "one of the drop-down's values",
            format!("{}; EMAIL needs the Email filled", NOTIFY_MODES.join(" or ")),
        ),
        Field::Comments => (
            if p.comments_required {
                "required, unless validate and run are given --comment".into()
            } else {
                needed(false)
            },
            "text",
            format!("at most {} characters", p.max_comment_chars),
        ),
    }
}

/// Writes the template for `provider` to `path` (`.csv` or `.xlsx`), refusing an existing
/// file. The file appears whole or not at all.
pub fn write(path: &Path, provider: ProviderKind) -> Result<Kind, TemplateError> {
    let kind = Kind::of(path)?;
    if path.symlink_metadata().is_ok() {
        return Err(TemplateError::Exists { path: path.into() });
    }
    let cols = columns(provider);
    let bytes = match kind {
        Kind::Csv => csv_bytes(&cols),
        Kind::Xlsx => {
            xlsx_bytes(&cols, &Policy::of(provider)).map_err(|source| TemplateError::Xlsx {
                path: path.into(),
                source,
            })?
        }
    };
    persist_new(path, &bytes)?;
    Ok(kind)
}

fn csv_bytes(cols: &[ColumnRule]) -> Vec<u8> {
    let line: Vec<&str> = cols.iter().map(|c| c.header).collect();
    format!("{}\n", line.join(",")).into_bytes()
}

/// Written beside its name and renamed into place without replacing anything, so a file
/// that appeared meanwhile is still not overwritten. The temporary file is 0600, which
/// the template keeps: once filled, it holds beneficiaries' data.
fn persist_new(path: &Path, bytes: &[u8]) -> Result<(), TemplateError> {
    let io = |source| TemplateError::Io {
        path: path.into(),
        source,
    };
    match crate::staged::staged(path, bytes)
        .map_err(io)?
        .persist_noclobber(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(TemplateError::Exists { path: path.into() })
        }
        Err(e) => Err(io(e.error)),
    }
}

/// Column width in characters, wide enough for the header and a typical value.
fn width(field: Field) -> f64 {
    match field {
        Field::Name => 28.0,
        Field::Phone => 16.0,
        Field::Email => 30.0,
        Field::Amount => 16.0,
        Field::OrderId => 20.0,
        Field::Expiry => 14.0,
        Field::Notify => 12.0,
        Field::Comments => 40.0,
    }
}

fn xlsx_bytes(cols: &[ColumnRule], p: &Policy) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    // Excel's built-in ids, as Excel writes them when a column is formatted from its menu:
    // 49 is Text (`@`), 4 is `#,##0.00`.
    let text = Format::new().set_num_format_index(49);
    let rupees = Format::new().set_num_format_index(4);
    let date = Format::new().set_num_format("yyyy-mm-dd");

    let sheet = book.add_worksheet().set_name(DATA_SHEET)?;
    for (i, c) in cols.iter().enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, width(c.field))?;
        // A column format applies to what is typed later, so a phone or reference typed
        // into an empty template stays text with its leading zeros.
        match c.field {
            Field::Phone | Field::OrderId => sheet.set_column_format(col, &text)?,
            Field::Amount => sheet.set_column_format(col, &rupees)?,
            Field::Expiry => sheet.set_column_format(col, &date)?,
            _ => sheet,
        };
        sheet.write_string_with_format(0, col, c.header, &bold)?;
        if let Some(check) = data_check(c.field, p)? {
            sheet.add_data_validation(1, col, DATA_ROWS, col, &check)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.set_landscape().set_print_fit_to_pages(1, 0);

    let sheet = book.add_worksheet().set_name(INSTRUCTIONS_SHEET)?;
    instructions(sheet, cols, &bold)?;
    book.save_to_buffer()
}

/// The data validation of a column, where Excel can check what the validator will.
fn data_check(field: Field, p: &Policy) -> Result<Option<DataValidation>, XlsxError> {
    let length = |max: usize| {
        DataValidation::new().allow_text_length(DataValidationRule::LessThanOrEqualTo(max as u32))
    };
    Ok(match field {
        Field::Notify => Some(DataValidation::new().allow_list_strings(&NOTIFY_MODES)?),
        Field::Expiry => Some(
            DataValidation::new()
                .allow_date_formula(DataValidationRule::Between(
                    Formula::new("TODAY()+1"),
                    Formula::new(format!("TODAY()+{}", p.max_expiry_days)),
                ))
                .set_error_message(format!(
                    "{} takes an expiry after today and at most {} days ahead.",
                    p.provider, p.max_expiry_days
                ))?,
        ),
        Field::Name => Some(length(p.max_name_chars)),
        Field::Comments => Some(length(p.max_comment_chars)),
        Field::OrderId => Some(length(MAX_ORDER_ID)),
        _ => None,
    })
}

fn instructions(
    sheet: &mut Worksheet,
    cols: &[ColumnRule],
    bold: &Format,
) -> Result<(), XlsxError> {
    let headers = ["Column", "Required", "Format", "Limits"];
    for (c, (h, w)) in headers.iter().zip([16.0, 40.0, 50.0, 50.0]).enumerate() {
        sheet.set_column_width(c as u16, w)?;
        sheet.write_string_with_format(0, c as u16, *h, bold)?;
    }
    // Long rules wrap inside their column instead of running into the next one.
    let wrapped = Format::new()
        .set_text_wrap()
        .set_align(rust_xlsxwriter::FormatAlign::Top);
    for (r, c) in cols.iter().enumerate() {
        let row = (r + 1) as u32;
        for (i, cell) in [c.header, &c.required, &c.format, &c.limits]
            .into_iter()
            .enumerate()
        {
            sheet.write_string_with_format(row, i as u16, cell, &wrapped)?;
        }
        // Spreadsheets do not grow a row for wrapped text they did not wrap themselves.
        let lines = [
            (c.required.len(), 40),
            (c.format.len(), 50),
            (c.limits.len(), 50),
        ]
        .iter()
        .map(|(chars, width)| chars.div_ceil(*width - 4))
        .max()
        .unwrap_or(1)
        .max(1);
        sheet.set_row_height(row, 15.0 * lines as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.set_landscape().set_print_fit_to_pages(1, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paytm_reads_notify_and_payu_does_not() {
        let headers = |p| -> Vec<&str> { columns(p).iter().map(|c| c.header).collect() };
        assert_eq!(
            headers(ProviderKind::Paytm),
            [
                "Name",
                "Phone",
                "Email",
                "Amount (INR)",
                "Order ID",
                "Expiry Date",
                "Notify",
                "Comments"
            ]
        );
        assert!(!headers(ProviderKind::Payu).contains(&"Notify"));
    }

    #[test]
    fn the_instructions_state_the_validators_limits() {
        let expiry = |p| {
            columns(p)
                .into_iter()
                .find(|c| c.field == Field::Expiry)
                .unwrap()
                .limits
        };
        assert!(expiry(ProviderKind::Paytm).contains("at most 10 days"));
        assert!(expiry(ProviderKind::Payu).contains("at most 60 days"));
    }
}
