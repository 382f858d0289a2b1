//! Unit tests of validation, sharing the helpers below: a validator over the eight
//! canonical headers, a valid row in their order, and one-issue shorthands.

use super::*;
use crate::ist;
use crate::money::Amount;
use crate::payout::{batch_key, Notify, PayoutRow, ProviderKind};
use crate::sheet::{self, Cell, RawRow};
use time::macros::date;

mod columns;
mod fields;
mod rows;
mod sheets;

const HEADERS: [&str; 8] = [
    "Name", "Phone", "Email", "Amount", "Order ID", "Expiry", "Notify", "Comments",
];
const KEY: &str = "0123456789abcdef";

fn headers(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| s.to_string()).collect()
}

fn rules() -> Rules {
    Rules {
        provider: ProviderKind::Paytm,
        today: date!(2026 - 03 - 15),
        default_comment: None,
        batch_key: KEY.into(),
    }
}

fn validator() -> Validator {
    Validator::new(
        Columns::from_headers(&headers(&HEADERS), ProviderKind::Paytm).expect("columns"),
        rules(),
    )
}

fn t(s: &str) -> Cell {
    Cell::text(s)
}

/// A valid row in `HEADERS` order.
fn good() -> Vec<Cell> {
    vec![
        t("Asha Rao"),
        t("9876543210"),
        t(""),
        t("1500"),
        t(""),
        t(""),
        t(""),
        t("March incentive"),
    ]
}

fn with(col: usize, cell: Cell) -> Vec<Cell> {
    let mut cells = good();
    cells[col] = cell;
    cells
}

fn check(v: &mut Validator, row_no: u64, cells: Vec<Cell>) -> Result<PayoutRow, Vec<RowIssue>> {
    v.check(&RawRow { row_no, cells })
}

/// The single issue of a row in a fresh validator: (column, code, message).
fn issue(cells: Vec<Cell>) -> (String, &'static str, String) {
    let issues = check(&mut validator(), 7, cells).expect_err("row should be invalid");
    assert_eq!(issues.len(), 1, "{issues:?}");
    let i = &issues[0];
    assert_eq!(i.row_no, 7);
    (i.column.clone(), i.code, i.message.clone())
}

fn ok(cells: Vec<Cell>) -> PayoutRow {
    check(&mut validator(), 7, cells).expect("row should be valid")
}
