//! Sheet-wide warnings: likely mistakes that do not make a row invalid, found by looking at
//! the valid rows together (a phone paid by another batch lately, an amount far above the
//! sheet's median, the same phone paid the same amount twice). `--strict` makes them block.

use crate::money::Amount;
use crate::payout::PayoutRow;
use crate::validate::RowIssue;
use std::collections::HashSet;

/// A warning's threshold: an amount this many times the sheet's median.
const FAR_ABOVE_MEDIAN: i64 = 10;
/// How far back `validate` looks for payments to the same phone.
pub(super) const RECENT_DAYS: i64 = 30;

/// Collects what the warnings need of each valid row (24 bytes apiece, never the row), and
/// gives the warnings once the whole sheet is read.
pub(super) struct SheetWarnings<'a> {
    /// Phones another batch paid in the last `RECENT_DAYS` days.
    recent_phones: &'a HashSet<String>,
    phone_column: String,
    amount_column: String,
    paid: Vec<Paid>,
    warnings: Vec<RowIssue>,
}

/// A valid row, as the sheet-wide warnings see it.
struct Paid {
    /// `pair_key` of the row's phone and amount; `None` without a phone.
    pair: Option<u64>,
    row_no: u64,
    paise: i64,
}

impl<'a> SheetWarnings<'a> {
    /// Warnings name the phone and amount columns as the sheet spells them.
    pub(super) fn new(
        recent_phones: &'a HashSet<String>,
        phone_column: &str,
        amount_column: &str,
    ) -> Self {
        SheetWarnings {
            recent_phones,
            phone_column: phone_column.to_string(),
            amount_column: amount_column.to_string(),
            paid: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// One valid row, in sheet order.
    pub(super) fn row(&mut self, p: &PayoutRow) {
        self.paid.push(Paid {
            pair: p
                .phone
                .as_deref()
                .map(|phone| pair_key(phone, p.amount.paise())),
            row_no: p.row_no,
            paise: p.amount.paise(),
        });
        if let Some(phone) = p
            .phone
            .as_deref()
            .filter(|phone| self.recent_phones.contains(*phone))
        {
            self.warnings.push(warn(p.row_no, &self.phone_column, "warning.recently_paid", format!(
                "{phone} was paid by another batch in the last {RECENT_DAYS} days; check this is not the same payout"
            )));
        }
    }

    /// Every warning, by row (a row's own warnings in the order: recently paid, far above
    /// the median, repeated).
    pub(super) fn finish(mut self) -> Vec<RowIssue> {
        if self.paid.is_empty() {
            return self.warnings;
        }
        self.far_above_median();
        self.repeated();
        self.warnings.sort_by_key(|w| w.row_no);
        self.warnings
    }

    fn far_above_median(&mut self) {
        let mut amounts: Vec<i64> = self.paid.iter().map(|p| p.paise).collect();
        let mid = amounts.len() / 2;
        let median = *amounts.select_nth_unstable(mid).1;
        drop(amounts);
        for p in self
            .paid
            .iter()
            .filter(|p| median > 0 && p.paise > median.saturating_mul(FAR_ABOVE_MEDIAN))
        {
            self.warnings.push(warn(p.row_no, &self.amount_column, "warning.far_above_median", format!(
                "{} is more than {FAR_ABOVE_MEDIAN} times the sheet's median amount ({}); check for a misplaced decimal point",
                Amount::from_paise(p.paise),
                Amount::from_paise(median)
            )));
        }
    }

    fn repeated(&mut self) {
        // Rows paying the same phone the same amount end up side by side, first row first.
        self.paid.sort_unstable_by_key(|p| (p.pair, p.row_no));
        for pair in self.paid.windows(2) {
            let [first, again] = pair else { continue };
            if first.pair.is_some() && first.pair == again.pair {
                // A third copy names the second: each warning points at an earlier copy.
                self.warnings.push(warn(
                    again.row_no,
                    &self.phone_column,
                    "warning.repeated",
                    format!(
                    "pays {} to the same phone as row {}; delete one of the rows if it is a copy",
                    Amount::from_paise(again.paise),
                    first.row_no
                ),
                ));
            }
        }
    }
}

fn warn(row_no: u64, column: &str, code: &'static str, message: String) -> RowIssue {
    RowIssue {
        row_no,
        column: column.to_string(),
        code,
        message,
    }
}

/// A 64-bit digest of (phone, amount), to spot the same payment twice.
fn pair_key(phone: &str, paise: i64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (phone, paise).hash(&mut h);
    h.finish()
}
