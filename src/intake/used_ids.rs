//! Order ids across batches: a sheet's own order id that another batch in the journal
//! already used makes its row invalid.

use super::{Checked, IntakeError};
use crate::journal::{Journal, JournalError};
use crate::payout::derived_order_id;
use crate::validate::RowIssue;

/// An order id is the idempotency key: a valid row whose id another batch already used
/// would be taken by the provider as a duplicate of someone else's payout, so it is made
/// invalid. A derived id holds this batch's key: no other batch can have used it.
pub(super) fn reject_used(
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
