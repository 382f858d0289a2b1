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
    /// The median the far-above-median warnings were measured against.
    median: Option<Amount>,
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
            median: None,
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
    /// the median, repeated), and the same warnings as one group per kind.
    pub(super) fn finish_grouped(mut self) -> (Vec<RowIssue>, Vec<WarningGroup>) {
        if !self.paid.is_empty() {
            self.far_above_median();
            self.repeated();
            self.warnings.sort_by_key(|w| w.row_no);
        }
        let kinds = [
            Kind::RecentlyPaid,
            Kind::FarAboveMedian(self.median.unwrap_or_default()),
            Kind::Repeated,
        ];
        let groups = kinds
            .into_iter()
            .filter_map(|kind| {
                let rows: Vec<u64> = self
                    .warnings
                    .iter()
                    .filter(|w| w.code == kind.code())
                    .map(|w| w.row_no)
                    .collect();
                (!rows.is_empty()).then_some(WarningGroup { kind, rows })
            })
            .collect();
        (self.warnings, groups)
    }

    fn far_above_median(&mut self) {
        let mut amounts: Vec<i64> = self.paid.iter().map(|p| p.paise).collect();
        let mid = amounts.len() / 2;
        let median = *amounts.select_nth_unstable(mid).1;
        drop(amounts);
        self.median = Some(Amount::from_paise(median));
        for p in self
            .paid
            .iter()
            .filter(|p| median > 0 && p.paise > median.saturating_mul(FAR_ABOVE_MEDIAN))
        {
            self.warnings.push(warn(p.row_no, &self.amount_column, "warning.far_above_median", format!(
                "{} is more than {FAR_ABOVE_MEDIAN} times the sheet's median amount ({}); check for a misplaced decimal point",
                Amount::from_paise(p.paise).to_indian(),
                Amount::from_paise(median).to_indian()
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
                    Amount::from_paise(again.paise).to_indian(),
                    first.row_no
                ),
                ));
            }
        }
    }
}

/// One kind of warning and every row it names, for a person reading a run: one line however
/// many rows (`--verbose` shows each row's own warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningGroup {
    kind: Kind,
    pub rows: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    RecentlyPaid,
    /// With the sheet's median amount.
    FarAboveMedian(Amount),
    Repeated,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::RecentlyPaid => "warning.recently_paid",
            Kind::FarAboveMedian(_) => "warning.far_above_median",
            Kind::Repeated => "warning.repeated",
        }
    }
}

/// How many rows a warning line names before it only counts the rest.
const ROWS_SHOWN: usize = 5;

impl std::fmt::Display for WarningGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.rows.len();
        let one = n == 1;
        let (rows, are, pay) = if one {
            ("row", "is", "pays")
        } else {
            ("rows", "are", "pay")
        };
        match self.kind {
            Kind::RecentlyPaid => write!(
                f,
                "{n} {rows} {pay} a phone another batch paid in the last {RECENT_DAYS} days"
            )?,
            Kind::FarAboveMedian(median) => write!(
                f,
                "{n} {rows} {are} over {FAR_ABOVE_MEDIAN}× the median amount ({})",
                median.to_indian()
            )?,
            Kind::Repeated => write!(
                f,
                "{n} {rows} {pay} the same phone the same amount as an earlier row"
            )?,
        }
        let shown: Vec<String> = self
            .rows
            .iter()
            .take(ROWS_SHOWN)
            .map(u64::to_string)
            .collect();
        let label = if one { "row" } else { "rows" };
        match n.checked_sub(ROWS_SHOWN) {
            Some(more) if more > 0 => write!(f, ": {label} {} and {more} more", shown.join(", ")),
            _ if n > 1 => {
                let (last, first) = shown.split_last().expect("two rows or more");
                write!(f, ": {label} {} and {last}", first.join(", "))
            }
            _ => write!(f, ": {label} {}", shown.join(", ")),
        }?;
        f.write_str(match self.kind {
            Kind::RecentlyPaid => "; check they are not the same payouts",
            Kind::FarAboveMedian(_) => "; check for a misplaced decimal point",
            Kind::Repeated => "; delete a row if it is a copy",
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payout::Notify;

    fn row(row_no: u64, phone: Option<&str>, paise: i64) -> PayoutRow {
        PayoutRow {
            row_no,
            order_id: format!("R{row_no}"),
            name: None,
            phone: phone.map(str::to_string),
            email: None,
            amount: Amount::from_paise(paise),
            expiry: None,
            notify: Notify::default(),
            comments: "x".into(),
        }
    }

    /// The warnings over `rows` (in sheet order) as (row, column, code, message), with
    /// `recent` the phones another batch paid lately.
    fn warnings(recent: &[&str], rows: &[PayoutRow]) -> Vec<(u64, String, &'static str, String)> {
        let recent: HashSet<String> = recent.iter().map(|p| p.to_string()).collect();
        let mut w = SheetWarnings::new(&recent, "Mobile No", "Amount (INR)");
        for r in rows {
            w.row(r);
        }
        w.finish_grouped()
            .0
            .into_iter()
            .map(|i| (i.row_no, i.column, i.code, i.message))
            .collect()
    }

    fn codes(found: &[(u64, String, &'static str, String)]) -> Vec<(u64, &'static str)> {
        found
            .iter()
            .map(|(row, _, code, _)| (*row, *code))
            .collect()
    }

    #[test]
    fn an_amount_over_ten_times_the_median_is_flagged_and_ten_times_is_not() {
        let rows = [
            row(2, Some("9000000002"), 10_000),
            row(3, Some("9000000003"), 10_000),
            row(4, Some("9000000004"), 10_000),
            row(5, Some("9000000005"), 100_000),
            row(6, Some("9000000006"), 100_001),
        ];
        assert_eq!(
            warnings(&[], &rows),
            [(
                6,
                "Amount (INR)".to_string(),
                "warning.far_above_median",
                "₹1,000.01 is more than 10 times the sheet's median amount (₹100.00); check for a \
                 misplaced decimal point"
                    .to_string()
            )]
        );
    }

    #[test]
    fn the_median_of_an_even_count_is_the_upper_middle_amount() {
        // With the lower middle (1.00) as the median, both 50.00 rows would be flagged.
        let rows = [
            row(2, Some("9000000002"), 100),
            row(3, Some("9000000003"), 100),
            row(4, Some("9000000004"), 5_000),
            row(5, Some("9000000005"), 5_000),
        ];
        assert_eq!(warnings(&[], &rows), []);
        let rows = [rows[0].clone(), rows[1].clone(), rows[2].clone()];
        assert_eq!(
            codes(&warnings(&[], &rows)),
            [(4, "warning.far_above_median")]
        );
    }

    #[test]
    fn a_zero_median_flags_nothing() {
        let rows = [
            row(2, Some("9000000002"), 0),
            row(3, Some("9000000003"), 0),
            row(4, Some("9000000004"), 500),
        ];
        assert_eq!(warnings(&[], &rows), []);
    }

    #[test]
    fn the_same_phone_and_amount_again_points_at_the_earlier_copy() {
        let a = Some("9876543210");
        let rows = [
            row(2, a, 25_000),
            row(3, Some("9123456789"), 25_000), // another phone
            row(4, a, 25_000),
            row(5, a, 30_000), // another amount
            row(6, a, 25_000),
            row(7, None, 25_000), // no phone: never a repeat
            row(8, None, 25_000),
        ];
        let repeat = |row_no, first| {
            (
                row_no,
                "Mobile No".to_string(),
                "warning.repeated",
                format!(
                    "pays ₹250.00 to the same phone as row {first}; delete one of the rows if \
                     it is a copy"
                ),
            )
        };
        assert_eq!(warnings(&[], &rows), [repeat(4, 2), repeat(6, 4)]);
    }

    #[test]
    fn a_phone_paid_lately_by_another_batch_is_flagged() {
        let rows = [
            row(2, Some("9876543210"), 10_000),
            row(3, Some("9123456789"), 10_000),
            row(4, None, 10_000),
        ];
        assert_eq!(
            warnings(&["9876543210", "9000000000"], &rows),
            [(
                2,
                "Mobile No".to_string(),
                "warning.recently_paid",
                "9876543210 was paid by another batch in the last 30 days; check this is not \
                 the same payout"
                    .to_string()
            )]
        );
    }

    #[test]
    fn warnings_come_by_row_and_a_rows_own_in_a_fixed_order() {
        let p = Some("9876543210");
        let rows = [
            row(2, Some("9000000002"), 10_000),
            row(3, Some("9000000003"), 10_000),
            row(4, Some("9000000004"), 10_000),
            row(5, p, 500_000),
            row(6, p, 500_000),
        ];
        assert_eq!(
            codes(&warnings(&["9876543210"], &rows)),
            [
                (5, "warning.recently_paid"),
                (5, "warning.far_above_median"),
                (6, "warning.recently_paid"),
                (6, "warning.far_above_median"),
                (6, "warning.repeated"),
            ]
        );
    }

    fn lines(recent: &[&str], rows: &[PayoutRow]) -> Vec<String> {
        let recent: HashSet<String> = recent.iter().map(|p| p.to_string()).collect();
        let mut w = SheetWarnings::new(&recent, "Mobile No", "Amount (INR)");
        for r in rows {
            w.row(r);
        }
        w.finish_grouped()
            .1
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn warnings_are_grouped_one_line_per_kind() {
        let mut rows: Vec<PayoutRow> = (2..=20)
            .map(|n| row(n, Some(&format!("98765432{n:02}")), 99_900))
            .collect();
        for n in [5, 7, 9, 11, 13, 15, 17] {
            rows[(n - 2) as usize].amount = Amount::from_paise(1_200_000);
        }
        rows.push(row(21, Some("9876543205"), 1_200_000));
        let found = lines(&["9876543203"], &rows);
        assert_eq!(
            found,
            [
                "1 row pays a phone another batch paid in the last 30 days: row 3; check they are not the same payouts",
                "8 rows are over 10× the median amount (₹999.00): rows 5, 7, 9, 11, 13 and 3 more; check for a misplaced decimal point",
                "1 row pays the same phone the same amount as an earlier row: row 21; delete a row if it is a copy",
            ]
        );
    }

    #[test]
    fn a_short_group_names_every_row() {
        let mut rows: Vec<PayoutRow> = (2..=12).map(|n| row(n, None, 10_000)).collect();
        rows[0].amount = Amount::from_paise(1_000_000);
        rows[3].amount = Amount::from_paise(1_000_000);
        assert_eq!(
            lines(&[], &rows),
            ["2 rows are over 10× the median amount (₹100.00): rows 2 and 5; check for a misplaced decimal point"]
        );
        rows[6].amount = Amount::from_paise(1_000_000);
        assert!(lines(&[], &rows)[0].contains(": rows 2, 5 and 8;"));
    }

    #[test]
    fn a_sheet_without_valid_rows_has_no_warnings() {
        assert_eq!(warnings(&["9876543210"], &[]), []);
    }
}
