//! Row rules: what a batch is validated against (`Rules`, and the provider's limits in
//! `Policy`), and the `Validator` that checks one row at a time into a `PayoutRow` or every
//! `RowIssue` it has, including the checks across a row's fields and across rows (order ids
//! unique in the sheet).

use super::columns::{Columns, Field};
use super::fields::{
    amount, comments, contact_required, duplicate_order_id, email, email_required, excel_error,
    expiry, name, no_controls, notify, order_id, phone, Problem,
};
use crate::money::Amount;
use crate::payout::{derived_order_id, derived_row, PayoutRow, ProviderKind};
use crate::sheet::{escape_for_terminal, Cell, RawRow};
use std::collections::HashMap;
use std::fmt;
use time::Date;

/// One problem with one cell of one row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowIssue {
    pub row_no: u64,
    /// The header text as in the file, or the field name if the sheet has no such column.
    pub column: String,
    /// Stable machine-readable code, `<field>.<problem>` (e.g. `amount.precision`).
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Column and message hold the sheet's text: escaped, they cannot drive a terminal.
        write!(
            f,
            "row {}, column {}: {}",
            self.row_no,
            escape_for_terminal(&self.column),
            escape_for_terminal(&self.message)
        )
    }
}

/// What a batch is validated against.
#[derive(Debug, Clone)]
pub struct Rules {
    pub provider: ProviderKind,
    /// Today's date in India (IST); expiry dates are checked against it.
    pub today: Date,
    /// Used when a row has no comments (`--comment`).
    pub default_comment: Option<String>,
    /// 16 hex chars, a prefix of the sheet's SHA-256 (see `batch_key`); seeds derived ids.
    pub batch_key: String,
}

/// Provider limits the checks depend on; `template` writes its instructions from the same
/// values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) provider: &'static str,
    pub(crate) min_amount: Amount,
    /// Latest allowed expiry, in days after today.
    pub(crate) max_expiry_days: i64,
    pub(crate) comments_required: bool,
    pub(crate) max_comment_chars: usize,
    pub(crate) name_required: bool,
    pub(crate) max_name_chars: usize,
    /// Paytm sends every link by SMS; PayU needs a phone or an e-mail.
    pub(crate) phone_required: bool,
    /// Whether the provider's create takes a notify mode (Paytm's `notifyMode`); PayU's has
    /// none, so a Notify column changes nothing there.
    pub(crate) notify_mode: bool,
}

impl Policy {
    pub(crate) fn of(provider: ProviderKind) -> Policy {
        match provider {
            ProviderKind::Paytm => Policy {
                provider: "Paytm",
                min_amount: Amount::from_paise(100),
                max_expiry_days: 10,
                comments_required: true,
                max_comment_chars: 200,
                name_required: false,
                max_name_chars: 100,
                phone_required: true,
                notify_mode: true,
            },
            // PayU documents no expiry limit; 60 days catches a mistyped year (inferred).
            ProviderKind::Payu => Policy {
                provider: "PayU",
                min_amount: Amount::from_paise(100),
                max_expiry_days: 60,
                comments_required: true,
                max_comment_chars: 200,
                name_required: true,
                max_name_chars: 100,
                phone_required: false,
                notify_mode: false,
            },
        }
    }

    /// Whether the provider's create sends the field anywhere.
    pub(crate) fn reads(&self, field: Field) -> bool {
        field != Field::Notify || self.notify_mode
    }
}

/// Checks rows one at a time, remembering order ids for in-sheet uniqueness.
pub struct Validator {
    columns: Columns,
    rules: Rules,
    policy: Policy,
    /// `id_key` of each order id the sheet gives -> first row that used it.
    seen: HashMap<u64, u64>,
}

/// The row being checked and the issues found in it so far.
struct RowCheck<'a> {
    row: &'a RawRow,
    columns: &'a Columns,
    found: Vec<(Option<usize>, RowIssue)>,
}

impl RowCheck<'_> {
    /// Parses the field's cell (`Empty` when the sheet has no such column); `None` after
    /// recording the problem. An Excel error value is a problem in any field.
    fn field<T>(&mut self, f: Field, parse: impl FnOnce(&Cell) -> Result<T, Problem>) -> Option<T> {
        let cell = self
            .columns
            .index(f)
            .and_then(|i| self.row.cells.get(i))
            .unwrap_or(&Cell::Empty);
        let parsed = match cell {
            Cell::Error(code) => Err(excel_error(code)),
            cell => no_controls(f, cell).and_then(|()| parse(cell)),
        };
        parsed.map_err(|p| self.push(f, p)).ok()
    }

    fn push(&mut self, field: Field, p: Problem) {
        let column = self
            .columns
            .header(field)
            .unwrap_or(field.name())
            .to_string();
        let issue = RowIssue {
            row_no: self.row.row_no,
            column,
            code: p.code,
            message: p.message,
        };
        self.found.push((self.columns.index(field), issue));
    }

    /// Issues in column order, left to right; issues without a column last.
    fn into_sorted(mut self) -> Vec<RowIssue> {
        self.found.sort_by_key(|(col, _)| col.unwrap_or(usize::MAX));
        self.found.into_iter().map(|(_, issue)| issue).collect()
    }
}

impl Validator {
    pub fn new(columns: Columns, rules: Rules) -> Self {
        let policy = Policy::of(rules.provider);
        Validator {
            columns,
            rules,
            policy,
            seen: HashMap::new(),
        }
    }

    /// The header of `field`'s column as the file spells it, or the field's name.
    pub fn header(&self, field: Field) -> &str {
        self.columns.header(field).unwrap_or(field.name())
    }

    /// Validates one row; keeps the set of order ids seen so far for in-sheet uniqueness.
    /// An order id is remembered even when other cells of its row are wrong, so the second
    /// use of it is still reported after the first row is fixed.
    pub fn check(&mut self, row: &RawRow) -> Result<PayoutRow, Vec<RowIssue>> {
        let (policy, rules) = (&self.policy, &self.rules);
        let mut rc = RowCheck {
            row,
            columns: &self.columns,
            found: Vec::new(),
        };

        let name = rc.field(Field::Name, |c| name(c, policy));
        let phone = rc.field(Field::Phone, |c| match c {
            Cell::Empty if !policy.phone_required => Ok(None),
            c => phone(c).map(Some),
        });
        let email = rc.field(Field::Email, email);
        let amount = rc.field(Field::Amount, |c| amount(c, policy));
        let order_id = rc.field(Field::OrderId, order_id);
        let expiry = rc.field(Field::Expiry, |c| expiry(c, rules.today, policy));
        let notify = rc.field(Field::Notify, notify);
        let comments = rc.field(Field::Comments, |c| {
            comments(c, rules.default_comment.as_deref(), policy)
        });

        if notify.is_some_and(|n| n.email) && email == Some(None) {
            rc.push(Field::Email, email_required());
        }
        if phone == Some(None) && email == Some(None) {
            rc.push(Field::Phone, contact_required(policy));
        }
        // Derived ids hold their row number, so only the sheet's own ids can repeat: with
        // each other, or with the id derived for another row.
        if let Some(Some(id)) = &order_id {
            let first = match derived_row(&rules.batch_key, id) {
                Some(other) => other,
                None => *self.seen.entry(id_key(id)).or_insert(row.row_no),
            };
            if first != row.row_no {
                rc.push(Field::OrderId, duplicate_order_id(id, first));
            }
        }

        let order_id =
            order_id.map(|id| id.unwrap_or_else(|| derived_order_id(&rules.batch_key, row.row_no)));
        let payout = (|| {
            Some(PayoutRow {
                row_no: row.row_no,
                order_id: order_id?,
                name: name?,
                phone: phone?,
                email: email?,
                amount: amount?,
                expiry: expiry?,
                notify: notify?,
                comments: comments?,
            })
        })();
        let issues = rc.into_sorted();
        match payout {
            Some(payout) if issues.is_empty() => Ok(payout),
            _ if !issues.is_empty() => Err(issues),
            // Every failed field records an issue, so this cannot happen; say so rather than panic.
            _ => Err(vec![RowIssue {
                row_no: row.row_no,
                column: String::new(),
                code: "row.internal",
                message: "the row could not be checked; please report this as a payrun bug".into(),
            }]),
        }
    }
}

/// A 64-bit digest of an order id, ignoring case: a million ids cost 16 MB, not 100. Two
/// ids sharing a digest (odds about 1 in 10^13 per pair) would be refused as duplicates,
/// never paid twice.
fn id_key(id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    for b in id.bytes() {
        h.write_u8(b.to_ascii_uppercase());
    }
    h.finish()
}
