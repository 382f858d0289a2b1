//! What `run` requires of a sheet before it pays it: whether invalid rows or warnings block,
//! and the control totals the approver signed.

use super::IntakeError;
use crate::money::Amount;

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
