//! Validation: header mapping (`Columns`) and per-row checks (`Validator`) that turn a
//! `RawRow` of typed cells into a `PayoutRow`, or into every `RowIssue` the row has.
//!
//! Owns the meaning of columns and the provider's field rules. Rules that differ between
//! providers live in `Policy`; the parsers below take it as a parameter, so adding a provider
//! means adding a `Policy` arm, not new checks.
//!
//! Every issue names the row (as Excel shows it), the column (as the file spells it), the value
//! and what to do. A row's issues are all collected; checking stops at nothing.

use crate::ist;
use crate::money::{excel_decimal, Amount, AmountError};
use crate::payout::{derived_order_id, derived_row, Notify, PayoutRow, ProviderKind};
use crate::sheet::{date_from_serial, escape_for_terminal, shown_value, Cell, RawRow};
use std::collections::HashMap;
use std::fmt;
use time::Date;

/// A column the validator understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Phone,
    Email,
    Amount,
    OrderId,
    Expiry,
    Notify,
    Comments,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Name,
        Field::Phone,
        Field::Email,
        Field::Amount,
        Field::OrderId,
        Field::Expiry,
        Field::Notify,
        Field::Comments,
    ];

    /// The field's name in messages, also its canonical header.
    pub fn name(self) -> &'static str {
        self.aliases()[0]
    }

    /// Accepted headers, compared after `normalise_header`.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["name", "beneficiary name", "beneficiaryname"],
            Field::Phone => &[
                "phone",
                "mobile",
                "mobile number",
                "phone number",
                "beneficiaryphoneno",
                "beneficiary phone",
                "mobile no",
                "mobile no.",
                "phone no",
                "phone no.",
            ],
            Field::Email => &["email", "e-mail", "beneficiary email", "beneficiaryemail"],
            Field::Amount => &["amount", "amount (inr)", "amount inr", "amount(inr)"],
            Field::OrderId => &["order id", "orderid", "reference", "reference id", "ref"],
            Field::Expiry => &["expiry", "expiry date", "expirydate"],
            Field::Notify => &["notify", "notify mode", "notifymode"],
            Field::Comments => &["comments", "comment", "description", "purpose", "remarks"],
        }
    }

    fn slot(self) -> usize {
        self as usize
    }

    /// The issue code for a control character in the field's cell.
    fn control_code(self) -> &'static str {
        match self {
            Field::Name => "name.control_character",
            Field::Phone => "phone.control_character",
            Field::Email => "email.control_character",
            Field::Amount => "amount.control_character",
            Field::OrderId => "order_id.control_character",
            Field::Expiry => "expiry.control_character",
            Field::Notify => "notify.control_character",
            Field::Comments => "comments.control_character",
        }
    }

    fn from_header(header: &str) -> Option<Field> {
        let wanted = normalise_header(header);
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().iter().any(|a| normalise_header(a) == wanted))
    }

    /// The field a config file's `[columns]` entry names: its canonical name, with `_` or
    /// spaces (`order_id`, `order id`).
    pub fn from_name(name: &str) -> Option<Field> {
        let wanted = normalise_header(name);
        Field::ALL
            .into_iter()
            .find(|f| normalise_header(f.name()) == wanted)
    }
}

/// Headers mapped to fields by the user (a config file's `[columns]` table), before the
/// built-in aliases.
pub type ColumnMap = Vec<(String, Field)>;

/// Header comparison ignores case, whitespace and underscores (`Order_ID` = `order id`).
fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which column holds which field.
#[derive(Debug, Clone)]
pub struct Columns {
    index: [Option<usize>; 8],
    headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error(
        "the sheet has no {field} column (its headers are: {}); add one or rename a header to \
         one of: {}. If the data is on another worksheet, choose it with --sheet",
        quoted_list(headers),
        accepted_headers(field)
    )]
    Missing {
        field: &'static str,
        headers: Vec<String>,
    },
    #[error(
        "columns '{}' and '{}' both hold the {field}; rename or delete one of them",
        shown_value(.first),
        shown_value(.second)
    )]
    Duplicate {
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("columns {first} and {second} have the same header '{}'; rename one of them so the report can tell them apart", shown_value(.header))]
    SameHeader {
        header: String,
        first: usize,
        second: usize,
    },
}

fn quoted_list(items: &[String]) -> String {
    let shown: Vec<String> = items
        .iter()
        .filter(|h| !h.is_empty())
        .map(|h| format!("'{}'", shown_value(h)))
        .collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}

fn accepted_headers(field: &str) -> String {
    Field::ALL
        .into_iter()
        .find(|f| f.name() == field)
        .map(|f| f.aliases().join(", "))
        .unwrap_or_default()
}

impl Columns {
    /// Maps headers to fields. Amount is required, and the phone (Paytm) or a phone or
    /// e-mail column (PayU); two headers for one field are an error because the validator
    /// could not know which one to pay from.
    pub fn from_headers(
        headers: &[String],
        provider: ProviderKind,
    ) -> Result<Columns, ColumnError> {
        Columns::mapped(headers, provider, &[])
    }

    /// As `from_headers`, with the user's own header names taking precedence.
    pub fn mapped(
        headers: &[String],
        provider: ProviderKind,
        map: &[(String, Field)],
    ) -> Result<Columns, ColumnError> {
        let mut index: [Option<usize>; 8] = [None; 8];
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, header) in headers.iter().enumerate() {
            let wanted = normalise_header(header);
            if !wanted.is_empty() {
                if let Some(first) = seen.insert(wanted.clone(), i) {
                    return Err(ColumnError::SameHeader {
                        header: header.clone(),
                        first: first + 1,
                        second: i + 1,
                    });
                }
            }
            let mapped = map
                .iter()
                .find(|(h, _)| normalise_header(h) == wanted)
                .map(|(_, f)| *f);
            let Some(field) = mapped.or_else(|| Field::from_header(header)) else {
                continue;
            };
            if let Some(first) = index[field.slot()] {
                return Err(ColumnError::Duplicate {
                    field: field.name(),
                    first: headers[first].clone(),
                    second: header.clone(),
                });
            }
            index[field.slot()] = Some(i);
        }
        let contact = match provider {
            ProviderKind::Paytm => Field::Phone,
            ProviderKind::Payu if index[Field::Email.slot()].is_some() => Field::Email,
            ProviderKind::Payu => Field::Phone,
        };
        for required in [contact, Field::Amount] {
            if index[required.slot()].is_none() {
                return Err(ColumnError::Missing {
                    field: required.name(),
                    headers: headers.to_vec(),
                });
            }
        }
        Ok(Columns {
            index,
            headers: headers.to_vec(),
        })
    }

    /// The header text of the field's column, as written in the file.
    pub fn header(&self, f: Field) -> Option<&str> {
        self.index(f)
            .and_then(|i| self.headers.get(i))
            .map(String::as_str)
    }

    /// The zero-based column index of the field.
    pub fn index(&self, f: Field) -> Option<usize> {
        self.index[f.slot()]
    }
}

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

/// Provider limits the checks depend on.
#[derive(Debug, Clone, Copy)]
struct Policy {
    provider: &'static str,
    min_amount: Amount,
    /// Latest allowed expiry, in days after today.
    max_expiry_days: i64,
    comments_required: bool,
    max_comment_chars: usize,
    name_required: bool,
    max_name_chars: usize,
    /// Paytm sends every link by SMS; PayU needs a phone or an e-mail.
    phone_required: bool,
}

impl Policy {
    fn of(provider: ProviderKind) -> Policy {
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
            },
        }
    }
}

/// Checks rows one at a time, remembering order ids for in-sheet uniqueness.
pub struct Validator {
    columns: Columns,
    rules: Rules,
    policy: Policy,
    /// Upper-cased order id -> first row that used it.
    /// `id_key` of each order id the sheet gives -> first row that used it.
    seen: HashMap<u64, u64>,
}

/// A problem found by a field parser, before it is placed in a row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    code: &'static str,
    message: String,
}

fn problem(code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        code,
        message: message.into(),
    }
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

/// A control character (U+0000 to U+001F, or DEL) in a field payrun reads: nobody types
/// one on purpose, and it would reach the provider, the SMS and the report. Tabs and line
/// breaks are refused too: names, references and comments are one line of text.
fn no_controls(field: Field, cell: &Cell) -> Result<(), Problem> {
    let Cell::Text(t) = cell else {
        return Ok(());
    };
    let Some((i, c)) = t.chars().enumerate().find(|(_, c)| c.is_ascii_control()) else {
        return Ok(());
    };
    let what = match c {
        '\t' => "a tab",
        '\n' | '\r' => "a line break",
        _ => "a control character",
    };
    Err(problem(
        field.control_code(),
        format!(
            "{} '{}' holds {what} ({}) at character {}; retype it as one line of plain text",
            field.name(),
            shown_value(t),
            escape_for_terminal(&c.to_string()),
            i + 1
        ),
    ))
}

fn excel_error(code: &str) -> Problem {
    problem(
        "cell.excel_error",
        format!("cell holds the Excel error {code}; fix the formula or type the value"),
    )
}

/// A cell's value for messages, cut and escaped (`shown_value`): `'abc'`, `'2026-03-15' (a date)`, `'TRUE' (a TRUE/FALSE value)`.
fn shown(cell: &Cell) -> String {
    match cell {
        Cell::Date(_) => format!("'{}' (a date)", cell.to_text()),
        Cell::Bool(_) => format!("'{}' (a TRUE/FALSE value)", cell.to_text()),
        other => format!("'{}'", shown_value(&other.to_text())),
    }
}

/// True for text Excel produced by showing a long number in scientific notation.
fn looks_scientific(t: &str) -> bool {
    let upper = t.to_ascii_uppercase();
    upper.contains("E+")
        && upper
            .chars()
            .all(|c| c.is_ascii_digit() || ".E+".contains(c))
}

// ---- amount ---------------------------------------------------------------------------------

const AMOUNT_HOW: &str = "enter rupees with at most two decimals, like 1500 or 249.50";

fn amount(cell: &Cell, policy: &Policy) -> Result<Amount, Problem> {
    let parsed = match cell {
        Cell::Empty => {
            return Err(problem(
                "amount.required",
                format!("amount is required; {AMOUNT_HOW}"),
            ))
        }
        Cell::Text(t) => Amount::parse(t),
        Cell::Int(i) => Amount::parse(&i.to_string()),
        Cell::Float(f) => Amount::from_spreadsheet_number(*f),
        Cell::Bool(_) | Cell::Date(_) | Cell::Error(_) => {
            return Err(problem(
                "amount.format",
                format!("{} is not an amount; {AMOUNT_HOW}", shown(cell)),
            ));
        }
    };
    let amount = parsed.map_err(|e| amount_problem(e, matches!(cell, Cell::Float(_))))?;
    if amount < policy.min_amount {
        return Err(problem(
            "amount.too_small",
            format!(
                "amount {amount} is below the {} minimum of {}; correct it or remove the row",
                policy.provider, policy.min_amount
            ),
        ));
    }
    Ok(amount)
}

fn amount_problem(e: AmountError, numeric_cell: bool) -> Problem {
    let v = |v: &str| shown_value(v);
    match e {
        AmountError::Empty => problem(
            "amount.required",
            format!("amount is required; {AMOUNT_HOW}"),
        ),
        AmountError::NotANumber(x) => problem(
            "amount.format",
            format!("'{}' is not an amount in rupees; {AMOUNT_HOW}", v(&x)),
        ),
        AmountError::TooPrecise(x) if numeric_cell => problem(
            "amount.precision",
            format!(
                "the cell holds {}, which has more than two decimals (Excel may display it \
                 rounded); round it to paise, e.g. with =ROUND(...,2), or retype the amount",
                v(&x)
            ),
        ),
        AmountError::TooPrecise(x) => problem(
            "amount.precision",
            format!(
                "'{}' has more than two decimals; amounts are rupees and paise, like 249.50",
                v(&x)
            ),
        ),
        AmountError::TooLarge(x) => problem(
            "amount.too_large",
            format!("'{}' is too large for a payout; check the amount", v(&x)),
        ),
    }
}

// ---- phone ----------------------------------------------------------------------------------

const PHONE_AS_TEXT: &str = "format the phone column as Text in Excel and re-enter the numbers";

fn phone(cell: &Cell) -> Result<String, Problem> {
    match cell {
        Cell::Empty => Err(problem(
            "phone.required",
            "phone is required; enter the beneficiary's 10-digit mobile number",
        )),
        Cell::Text(t) => phone_from_text(t),
        Cell::Int(i) => phone_from_number(&i.to_string()),
        Cell::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
            phone_from_number(&excel_decimal(*f))
        }
        Cell::Float(f) => Err(problem(
            "phone.numeric_cell",
            format!(
                "phone '{}' is stored as a number that is not a whole number; {PHONE_AS_TEXT}",
                excel_decimal(*f)
            ),
        )),
        Cell::Bool(_) | Cell::Date(_) | Cell::Error(_) => Err(problem(
            "phone.format",
            format!(
                "{} is not a phone number; enter a 10-digit mobile number like 9876543210",
                shown(cell)
            ),
        )),
    }
}

/// A phone stored as a number has lost any leading zero or `+`, so only exactly 10 digits,
/// or 12 starting with the country code 91, can be trusted.
fn phone_from_number(digits: &str) -> Result<String, Problem> {
    let ten = match digits.len() {
        10 => digits,
        12 if digits.starts_with("91") => &digits[2..],
        n => {
            return Err(problem(
                "phone.numeric_cell",
                format!(
                    "phone {digits} is stored as a number with {n} digits, so digits may have \
                     been lost; {PHONE_AS_TEXT}"
                ),
            ))
        }
    };
    mobile(ten, digits)
}

fn phone_from_text(text: &str) -> Result<String, Problem> {
    let t = &shown_value(text);
    if looks_scientific(text) {
        return Err(problem(
            "phone.scientific",
            format!("'{t}' is a number Excel showed in scientific notation, so its digits are lost; {PHONE_AS_TEXT}"),
        ));
    }
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !"-()".contains(*c))
        .collect();
    let (plus, digits) = match cleaned.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(
            "phone.format",
            format!("'{t}' is not a phone number; enter a 10-digit mobile number like 9876543210"),
        ));
    }
    let ten = match digits.len() {
        12 if digits.starts_with("91") => &digits[2..],
        11 if !plus && digits.starts_with('0') => &digits[1..],
        10 if !plus => digits,
        _ if plus && !digits.starts_with("91") => {
            return Err(problem(
                "phone.country",
                format!("'{t}' is not an Indian number; payout links go to Indian (+91) mobile numbers only"),
            ))
        }
        n => {
            return Err(problem(
                "phone.length",
                format!(
                    "'{t}' has {n} digits; an Indian mobile number has 10 (optionally after +91 \
                     or 0); check the number"
                ),
            ))
        }
    };
    mobile(ten, text)
}

fn mobile(ten: &str, written: &str) -> Result<String, Problem> {
    let written = shown_value(written);
    if ten.starts_with(['6', '7', '8', '9']) {
        Ok(ten.to_string())
    } else {
        Err(problem(
            "phone.not_mobile",
            format!("'{written}' is not an Indian mobile number (those start with 6, 7, 8 or 9); check the number"),
        ))
    }
}

// ---- email and notify -----------------------------------------------------------------------

fn email(cell: &Cell) -> Result<Option<String>, Problem> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Text(t) if is_email_shaped(t) => Ok(Some(t.clone())),
        other => Err(problem(
            "email.format",
            format!(
                "{} is not an email address; write it like name@example.com",
                shown(other)
            ),
        )),
    }
}

/// `local@domain.tld`: one `@`, no spaces, a dot inside the domain, no empty dot-separated part.
fn is_email_shaped(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let parts_ok = |p: &str| !p.is_empty() && p.split('.').all(|label| !label.is_empty());
    !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
        && parts_ok(local)
        && parts_ok(domain)
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

fn contact_required(policy: &Policy) -> Problem {
    problem(
        "phone.required",
        format!(
            "{} needs a phone or an e-mail to send the link to; enter the beneficiary's mobile number or e-mail",
            policy.provider
        ),
    )
}

fn email_required() -> Problem {
    problem(
        "email.required",
        "notify includes EMAIL but the email is empty; add the email address or set notify to SMS",
    )
}

fn notify(cell: &Cell) -> Result<Notify, Problem> {
    let t = match cell {
        Cell::Empty => return Ok(Notify::default()),
        Cell::Text(t) => t,
        other => return Err(bad_notify(&shown(other))),
    };
    let mut n = Notify {
        sms: false,
        email: false,
    };
    let mut unknown = Vec::new();
    for token in t
        .split(|c: char| ",;|+/".contains(c) || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        match token.to_ascii_uppercase().as_str() {
            "SMS" => n.sms = true,
            "EMAIL" => n.email = true,
            _ => unknown.push(format!("'{}'", shown_value(token))),
        }
    }
    if !unknown.is_empty() || !(n.sms || n.email) {
        return Err(bad_notify(&format!("'{}'", shown_value(t))));
    }
    Ok(n)
}

fn bad_notify(value: &str) -> Problem {
    problem(
        "notify.format",
        format!("{value} is not a notify mode; write SMS, EMAIL or SMS,EMAIL (empty means SMS)"),
    )
}

// ---- expiry ---------------------------------------------------------------------------------

fn expiry(cell: &Cell, today: Date, policy: &Policy) -> Result<Option<Date>, Problem> {
    let date = match cell {
        Cell::Empty => return Ok(None),
        Cell::Text(t) => parse_date_text(t),
        Cell::Date(serial) => date_from_serial(*serial).map(|(d, _)| d),
        _ => None,
    };
    let Some(date) = date else {
        return Err(problem(
            "expiry.format",
            format!(
                "{} is not a date; write YYYY-MM-DD (like 2026-03-20) or DD/MM/YYYY",
                shown(cell)
            ),
        ));
    };
    let first = today.next_day().unwrap_or(today);
    let last = today
        .checked_add(time::Duration::days(policy.max_expiry_days))
        .unwrap_or(today);
    if date <= today || date > last {
        let when = if date <= today {
            "is not after today"
        } else {
            "is too far ahead"
        };
        return Err(problem(
            if date <= today {
                "expiry.past"
            } else {
                "expiry.too_far"
            },
            format!(
                "expiry {} {when} ({} in India); {} accepts {} to {}, or leave it empty",
                ist::iso(date),
                ist::iso(today),
                policy.provider,
                ist::iso(first),
                ist::iso(last)
            ),
        ));
    }
    Ok(Some(date))
}

/// `YYYY-MM-DD` (or `YYYY/MM/DD`), or Indian day-first `DD/MM/YYYY` / `DD-MM-YYYY`. A time
/// of exactly midnight may follow (`2026-03-20 00:00:00`, ISO `T00:00`), as exports write.
fn parse_date_text(t: &str) -> Option<Date> {
    let (day_part, time_part) = match t.split_once([' ', 'T']) {
        Some((d, rest)) => (d, rest.trim()),
        None => (t, ""),
    };
    if !time_part.chars().all(|c| "0:.".contains(c)) {
        return None;
    }
    let parts: Vec<&str> = day_part.split(['-', '/']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if ![a, b, c]
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|x| x.is_ascii_digit()))
    {
        return None;
    }
    let (y, m, d) = match (a.len(), b.len(), c.len()) {
        (4, 1..=2, 1..=2) => (a, b, c),
        (1..=2, 1..=2, 4) => (c, b, a),
        _ => return None,
    };
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

// ---- comments and name ----------------------------------------------------------------------

fn comments(cell: &Cell, default: Option<&str>, policy: &Policy) -> Result<String, Problem> {
    let text = match cell {
        Cell::Empty => match default.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => d.to_string(),
            None if policy.comments_required => {
                return Err(problem(
                    "comments.required",
                    format!(
                        "comments are required by {}; add a comments column or pass --comment",
                        policy.provider
                    ),
                ))
            }
            None => String::new(),
        },
        other => other.to_text(),
    };
    let n = text.chars().count();
    if n > policy.max_comment_chars {
        return Err(problem(
            "comments.too_long",
            format!(
                "comments are {n} characters long; {} takes at most {}: shorten them",
                policy.provider, policy.max_comment_chars
            ),
        ));
    }
    Ok(text)
}

fn name(cell: &Cell, policy: &Policy) -> Result<Option<String>, Problem> {
    match cell {
        Cell::Empty if policy.name_required => Err(problem(
            "name.required",
            format!(
                "{} requires the beneficiary's name; add a name column or fill in the name",
                policy.provider
            ),
        )),
        Cell::Empty => Ok(None),
        Cell::Text(t) if t.chars().count() > policy.max_name_chars => Err(problem(
            "name.too_long",
            format!(
                "name '{}' is {} characters long; at most {} are allowed: shorten it",
                shown_value(t),
                t.chars().count(),
                policy.max_name_chars
            ),
        )),
        Cell::Text(t) => Ok(Some(t.clone())),
        other => Err(problem(
            "name.format",
            format!(
                "{} is not a name; check that the columns are in the right place",
                shown(other)
            ),
        )),
    }
}

// ---- order id -------------------------------------------------------------------------------

/// Order ids are at most 40 characters at both providers.
pub const MAX_ORDER_ID: usize = 40;

/// `None` when the cell is empty (an id will be derived).
fn order_id(cell: &Cell) -> Result<Option<String>, Problem> {
    let numeric_as_text = "Excel keeps only 15 digits of a number; format the column as Text and re-enter the references";
    let id = match cell {
        Cell::Empty => return Ok(None),
        Cell::Text(t) if looks_scientific(t) => {
            return Err(problem(
                "order_id.scientific",
                format!("'{}' is a number Excel showed in scientific notation, so its digits are lost; {numeric_as_text}", shown_value(t)),
            ))
        }
        Cell::Text(t) => t.clone(),
        Cell::Int(i) if *i >= 0 => i.to_string(),
        Cell::Float(f) if f.is_finite() && *f >= 1e15 => {
            return Err(problem(
                "order_id.numeric_cell",
                format!("order id {} is stored as a long number and may have lost digits; {numeric_as_text}", excel_decimal(*f)),
            ))
        }
        Cell::Float(f) if f.is_finite() && *f >= 0.0 && f.fract() == 0.0 => excel_decimal(*f),
        Cell::Float(f) => {
            return Err(problem(
                "order_id.numeric_cell",
                format!("order id {} is stored as a number that is not a whole number; {numeric_as_text}", excel_decimal(*f)),
            ))
        }
        other => {
            return Err(problem(
                "order_id.format",
                format!("{} is not a reference; use letters A-Z and digits only", shown(other)),
            ))
        }
    };
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(problem(
            "order_id.format",
            format!("reference '{}' may contain only letters A-Z and digits (no spaces or symbols); change it", shown_value(&id)),
        ));
    }
    if id.len() > MAX_ORDER_ID {
        return Err(problem(
            "order_id.too_long",
            format!("reference '{}' is {} characters long; at most {MAX_ORDER_ID} are allowed: shorten it", shown_value(&id), id.len()),
        ));
    }
    Ok(Some(id))
}

fn duplicate_order_id(id: &str, first: u64) -> Problem {
    problem(
        "order_id.duplicate",
        format!(
            "order id '{id}' is already used by row {first} (ids are compared ignoring case); \
             every row needs its own reference"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payout::batch_key;
    use crate::sheet;
    use time::macros::date;

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

    // ---- columns ----

    #[test]
    fn header_aliases_ignore_case_spaces_and_underscores() {
        let h = headers(&[
            "Beneficiary Name",
            " MOBILE NUMBER ",
            "E-Mail",
            "Amount(INR)",
            "order_id",
            "ExpiryDate",
            "Notify Mode",
            "Purpose",
            "Something else",
        ]);
        let c = Columns::from_headers(&h, ProviderKind::Paytm).expect("columns");
        for (field, want) in [
            (Field::Name, "Beneficiary Name"),
            (Field::Phone, " MOBILE NUMBER "),
            (Field::Email, "E-Mail"),
            (Field::Amount, "Amount(INR)"),
            (Field::OrderId, "order_id"),
            (Field::Expiry, "ExpiryDate"),
            (Field::Notify, "Notify Mode"),
            (Field::Comments, "Purpose"),
        ] {
            assert_eq!(c.header(field), Some(want), "{field:?}");
        }
        let c = Columns::from_headers(
            &headers(&["beneficiaryphoneno", "Amount INR", "Ref"]),
            ProviderKind::Paytm,
        )
        .expect("columns");
        assert_eq!(c.index(Field::Phone), Some(0));
        assert_eq!(c.header(Field::OrderId), Some("Ref"));
        assert_eq!(c.header(Field::Name), None);
    }

    #[test]
    fn missing_and_duplicate_columns() {
        let err = Columns::from_headers(&headers(&["Name", "Amount"]), ProviderKind::Paytm)
            .expect_err("no phone");
        assert_eq!(
            err,
            ColumnError::Missing {
                field: "phone",
                headers: headers(&["Name", "Amount"])
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("no phone column (its headers are: 'Name', 'Amount')"),
            "{msg}"
        );
        assert!(
            msg.contains("mobile number") && msg.contains("--sheet"),
            "{msg}"
        );

        let err = Columns::from_headers(&headers(&["Phone", "Name"]), ProviderKind::Paytm)
            .expect_err("no amount");
        assert!(matches!(
            err,
            ColumnError::Missing {
                field: "amount",
                ..
            }
        ));

        let err = Columns::from_headers(
            &headers(&["Phone", "Mobile", "Amount"]),
            ProviderKind::Paytm,
        )
        .expect_err("two phones");
        assert_eq!(
            err,
            ColumnError::Duplicate {
                field: "phone",
                first: "Phone".into(),
                second: "Mobile".into()
            }
        );
        assert!(err.to_string().contains("rename or delete one"), "{err}");
        let err = Columns::from_headers(
            &headers(&["Phone", "Amount", "Branch", "BRANCH"]),
            ProviderKind::Paytm,
        )
        .expect_err("same header twice");
        assert_eq!(
            err.to_string(),
            "columns 3 and 4 have the same header 'BRANCH'; rename one of them so the report can tell them apart"
        );
    }

    // ---- a valid row ----

    #[test]
    fn valid_row_is_normalised() {
        let row = ok(vec![
            t(" Asha Rao "),
            t("+91 98765-43210"),
            t("Asha.Rao@Example.com"),
            t("1,500.50"),
            t("INV001"),
            t("2026-03-20"),
            t("sms, Email"),
            t("March incentive"),
        ]);
        assert_eq!(
            row,
            PayoutRow {
                row_no: 7,
                order_id: "INV001".into(),
                name: Some("Asha Rao".into()),
                phone: Some("9876543210".into()),
                email: Some("Asha.Rao@Example.com".into()),
                amount: Amount::from_paise(150_050),
                expiry: ist::parse_iso("2026-03-20"),
                notify: Notify {
                    sms: true,
                    email: true
                },
                comments: "March incentive".into(),
            }
        );
    }

    #[test]
    fn minimal_row_gets_defaults_and_derived_id() {
        let columns = Columns::from_headers(&headers(&["phone", "amount"]), ProviderKind::Paytm)
            .expect("columns");
        let mut v = Validator::new(
            columns,
            Rules {
                default_comment: Some("Payout".into()),
                ..rules()
            },
        );
        let row = check(&mut v, 12, vec![t("9876543210"), t("10")]).expect("valid");
        assert_eq!(row.order_id, "PR0123456789abcdefN12");
        assert_eq!(row.notify, Notify::default());
        assert_eq!(row.comments, "Payout");
        assert_eq!((row.name, row.email, row.expiry), (None, None, None));
    }

    #[test]
    fn payu_needs_a_name_and_a_phone_or_email_but_not_both() {
        let payu = |h: &[&str]| {
            let columns = Columns::from_headers(&headers(h), ProviderKind::Payu)?;
            Ok::<_, ColumnError>(Validator::new(
                columns,
                Rules {
                    provider: ProviderKind::Payu,
                    ..rules()
                },
            ))
        };
        // An e-mail column alone is enough for PayU, not for Paytm.
        let mut v = payu(&["Name", "Email", "Amount", "Comments"]).expect("email column");
        let row = check(&mut v, 2, vec![t("Asha"), t("a@b.in"), t("10"), t("Bonus")])
            .expect("email only");
        assert_eq!((row.phone, row.email.as_deref()), (None, Some("a@b.in")));
        assert!(matches!(
            payu(&["Name", "Amount"]).err(),
            Some(ColumnError::Missing { field: "phone", .. })
        ));
        assert!(
            Columns::from_headers(&headers(&["Email", "Amount"]), ProviderKind::Paytm).is_err()
        );

        let mut v = payu(&HEADERS).expect("columns");
        let codes = |v: &mut Validator, cells| -> Vec<(String, &'static str)> {
            check(v, 3, cells)
                .expect_err("invalid")
                .into_iter()
                .map(|i| (i.column, i.code))
                .collect()
        };
        let mut nameless = good();
        nameless[0] = Cell::Empty;
        assert_eq!(
            codes(&mut v, nameless),
            [("Name".to_string(), "name.required")]
        );
        let mut nowhere = good();
        nowhere[1] = Cell::Empty;
        assert_eq!(
            codes(&mut v, nowhere),
            [("Phone".to_string(), "phone.required")]
        );
        // PayU takes expiries further ahead than Paytm's ten days.
        let mut later = good();
        later[5] = t("2026-04-10");
        assert_eq!(
            check(&mut v, 4, later.clone()).expect("payu").expiry,
            ist::parse_iso("2026-04-10")
        );
        assert_eq!(issue(later).1, "expiry.too_far");
    }

    // ---- amount ----

    #[test]
    fn amount_rules() {
        assert_eq!(ok(with(3, t("249.5"))).amount.paise(), 24_950);
        assert_eq!(ok(with(3, t("₹ 1,00,000"))).amount.paise(), 10_000_000);
        assert_eq!(ok(with(3, Cell::Int(12000))).amount.paise(), 1_200_000);
        assert_eq!(ok(with(3, Cell::Float(0.29 + 10.01))).amount.paise(), 1030);
        assert_eq!(ok(with(3, t("1.00"))).amount.paise(), 100);

        let cases = [
            (t(""), "amount.required", "amount is required"),
            (
                t("0.99"),
                "amount.too_small",
                "amount 0.99 is below the Paytm minimum of 1.00",
            ),
            (
                t("12.345"),
                "amount.precision",
                "'12.345' has more than two decimals",
            ),
            (
                Cell::Float(1000.0000000001),
                "amount.precision",
                "the cell holds 1000.0000000001",
            ),
            (
                t("1500/-"),
                "amount.format",
                "'1500/-' is not an amount in rupees",
            ),
            (t("-500"), "amount.format", "'-500' is not an amount"),
            (Cell::Int(-5), "amount.format", "'-5' is not an amount"),
            (
                t("99999999999999"),
                "amount.too_large",
                "'99999999999999' is too large",
            ),
            (
                Cell::Bool(true),
                "amount.format",
                "'TRUE' (a TRUE/FALSE value) is not an amount",
            ),
            (
                Cell::Date(46096.0),
                "amount.format",
                "'2026-03-15' (a date) is not an amount",
            ),
            (
                Cell::Float(f64::NAN),
                "amount.format",
                "'NaN' is not an amount",
            ),
        ];
        for (cell, code, text) in cases {
            let (column, got, message) = issue(with(3, cell));
            assert_eq!((column.as_str(), got), ("Amount", code), "{message}");
            assert!(message.contains(text), "{message}");
        }
    }

    // ---- phone ----

    #[test]
    fn phone_text_rules() {
        for written in [
            "9876543210",
            "98765 43210",
            "98765-43210",
            "(987) 654-3210",
            "+919876543210",
            "+91 98765 43210",
            "919876543210",
            "09876543210",
        ] {
            assert_eq!(
                ok(with(1, t(written))).phone.as_deref(),
                Some("9876543210"),
                "{written}"
            );
        }
        let cases = [
            ("", "phone.required", "phone is required"),
            (
                "5876543210",
                "phone.not_mobile",
                "'5876543210' is not an Indian mobile number",
            ),
            ("987654321", "phone.length", "'987654321' has 9 digits"),
            ("98765432101", "phone.length", "has 11 digits"),
            (
                "+14155550100",
                "phone.country",
                "'+14155550100' is not an Indian number",
            ),
            (
                "98765x4321",
                "phone.format",
                "'98765x4321' is not a phone number",
            ),
            ("9.87654E+09", "phone.scientific", "scientific notation"),
        ];
        for (written, code, text) in cases {
            let (column, got, message) = issue(with(1, t(written)));
            assert_eq!(
                (column.as_str(), got),
                ("Phone", code),
                "{written}: {message}"
            );
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn phone_number_cells_must_be_exact_integers_of_valid_length() {
        assert_eq!(
            ok(with(1, Cell::Float(7777777777.0))).phone.as_deref(),
            Some("7777777777")
        );
        assert_eq!(
            ok(with(1, Cell::Int(7777777777))).phone.as_deref(),
            Some("7777777777")
        );
        assert_eq!(
            ok(with(1, Cell::Float(917777777777.0))).phone.as_deref(),
            Some("7777777777")
        );
        let cases = [
            (
                Cell::Float(777777777.0),
                "phone.numeric_cell",
                "with 9 digits",
            ),
            (
                Cell::Int(777777777),
                "phone.numeric_cell",
                "format the phone column as Text",
            ),
            (
                Cell::Float(7777777777.5),
                "phone.numeric_cell",
                "not a whole number",
            ),
            (
                Cell::Float(5555555555.0),
                "phone.not_mobile",
                "'5555555555'",
            ),
            (Cell::Date(46096.0), "phone.format", "(a date)"),
        ];
        for (cell, code, text) in cases {
            let (column, got, message) = issue(with(1, cell));
            assert_eq!((column.as_str(), got), ("Phone", code), "{message}");
            assert!(message.contains(text), "{message}");
        }
    }

    // ---- email and notify ----

    #[test]
    fn email_rules() {
        assert_eq!(
            ok(with(2, t("a.b+c@mail.example.co.in"))).email.as_deref(),
            Some("a.b+c@mail.example.co.in")
        );
        for bad in [
            "asha",
            "asha@",
            "@example.com",
            "asha@example",
            "asha rao@example.com",
            "a@b@example.com",
            ".asha@example.com",
            "asha@example.com.",
            "asha@example..com",
        ] {
            let (column, code, message) = issue(with(2, t(bad)));
            assert_eq!((column.as_str(), code), ("Email", "email.format"), "{bad}");
            assert!(
                message.contains(&format!("'{bad}' is not an email address")),
                "{message}"
            );
        }
    }

    #[test]
    fn email_is_required_when_notify_includes_email() {
        let (column, code, message) = issue(with(6, t("SMS,EMAIL")));
        assert_eq!((column.as_str(), code), ("Email", "email.required"));
        assert!(message.contains("set notify to SMS"), "{message}");

        let columns = Columns::from_headers(
            &headers(&["phone", "amount", "notify", "comments"]),
            ProviderKind::Paytm,
        )
        .expect("columns");
        let issues = check(
            &mut Validator::new(columns, rules()),
            3,
            vec![t("9876543210"), t("5"), t("email"), t("x")],
        )
        .expect_err("no email column");
        assert_eq!(issues[0].column, "email");
        assert_eq!(issues[0].code, "email.required");
    }

    #[test]
    fn notify_rules() {
        let mut cells = with(2, t("asha@example.com"));
        for (written, sms, email) in [
            ("", true, false),
            ("sms", true, false),
            ("EMAIL", false, true),
            ("SMS;EMAIL", true, true),
            ("email | sms", true, true),
            ("SMS+EMAIL", true, true),
            ("SMS/EMAIL", true, true),
        ] {
            cells[6] = t(written);
            assert_eq!(ok(cells.clone()).notify, Notify { sms, email }, "{written}");
        }
        for bad in ["WhatsApp", "SMS,push", ","] {
            let (column, code, message) = issue(with(6, t(bad)));
            assert_eq!(
                (column.as_str(), code),
                ("Notify", "notify.format"),
                "{bad}"
            );
            assert!(
                message.contains(&format!("'{bad}' is not a notify mode")),
                "{message}"
            );
        }
    }

    // ---- expiry ----

    #[test]
    fn expiry_rules() {
        // today is 2026-03-15; Paytm allows up to 10 days ahead.
        for (written, want) in [
            ("2026-03-16", "2026-03-16"),
            ("25/03/2026", "2026-03-25"),
            ("20-3-2026", "2026-03-20"),
            ("2026/03/20", "2026-03-20"),
            ("2026-03-20 00:00:00", "2026-03-20"),
        ] {
            assert_eq!(
                ok(with(5, t(written))).expiry,
                ist::parse_iso(want),
                "{written}"
            );
        }
        assert_eq!(
            ok(with(5, Cell::Date(46100.0))).expiry,
            ist::parse_iso("2026-03-19")
        );
        assert_eq!(
            ok(with(5, Cell::Date(46100.75))).expiry,
            ist::parse_iso("2026-03-19")
        );

        let cases = [
            (t("2026-03-15"), "expiry.past", "expiry 2026-03-15 is not after today (2026-03-15 in India); Paytm accepts 2026-03-16 to 2026-03-25"),
            (t("2026-03-26"), "expiry.too_far", "expiry 2026-03-26 is too far ahead"),
            (Cell::Date(46080.0), "expiry.past", "expiry 2026-02-27"),
            (t("2026-02-30"), "expiry.format", "'2026-02-30' is not a date"),
            (t("03/20/2026"), "expiry.format", "'03/20/2026' is not a date"),
            (t("next week"), "expiry.format", "'next week' is not a date"),
            (t("2026-03-20 10:30"), "expiry.format", "is not a date"),
            (Cell::Int(46100), "expiry.format", "'46100' is not a date"),
        ];
        for (cell, code, text) in cases {
            let (column, got, message) = issue(with(5, cell));
            assert_eq!((column.as_str(), got), ("Expiry", code), "{message}");
            assert!(message.contains(text), "{message}");
        }
    }

    // ---- comments and name ----

    #[test]
    fn comments_rules() {
        let (column, code, message) = issue(with(7, t("")));
        assert_eq!((column.as_str(), code), ("Comments", "comments.required"));
        assert!(
            message.contains("add a comments column or pass --comment"),
            "{message}"
        );

        let columns =
            Columns::from_headers(&headers(&HEADERS), ProviderKind::Paytm).expect("columns");
        let mut v = Validator::new(
            columns,
            Rules {
                default_comment: Some("Default".into()),
                ..rules()
            },
        );
        assert_eq!(
            check(&mut v, 2, with(7, t(""))).expect("valid").comments,
            "Default"
        );
        assert_eq!(
            check(&mut v, 3, with(7, t("Own"))).expect("valid").comments,
            "Own"
        );
        assert_eq!(ok(with(7, Cell::Int(2026))).comments, "2026");

        let (column, code, message) = issue(with(7, t(&"x".repeat(201))));
        assert_eq!((column.as_str(), code), ("Comments", "comments.too_long"));
        assert!(message.contains("201 characters"), "{message}");
        assert_eq!(
            ok(with(7, t(&"₹".repeat(200)))).comments.chars().count(),
            200
        );
    }

    #[test]
    fn name_rules() {
        assert_eq!(ok(with(0, t(""))).name, None);
        assert_eq!(
            ok(with(0, t(&"अ".repeat(100))))
                .name
                .map(|n| n.chars().count()),
            Some(100)
        );
        let (column, code, _) = issue(with(0, t(&"a".repeat(101))));
        assert_eq!((column.as_str(), code), ("Name", "name.too_long"));
        let (column, code, message) = issue(with(0, Cell::Float(1500.0)));
        assert_eq!((column.as_str(), code), ("Name", "name.format"));
        assert!(message.contains("'1500' is not a name"), "{message}");
    }

    // ---- order id ----

    #[test]
    fn order_id_rules() {
        assert_eq!(ok(with(4, t("INV2026031501"))).order_id, "INV2026031501");
        assert_eq!(
            ok(with(4, Cell::Float(123456789012345.0))).order_id,
            "123456789012345"
        );
        assert_eq!(ok(with(4, Cell::Int(42))).order_id, "42");
        assert_eq!(ok(with(4, t(&"A".repeat(40)))).order_id.len(), 40);
        let cases = [
            (
                t("INV-001"),
                "order_id.format",
                "'INV-001' may contain only letters A-Z and digits",
            ),
            (t("INV 001"), "order_id.format", "no spaces or symbols"),
            (t("ÄBC"), "order_id.format", "'ÄBC'"),
            (t(&"A".repeat(41)), "order_id.too_long", "41 characters"),
            (
                Cell::Float(1234567890123456.0),
                "order_id.numeric_cell",
                "Excel keeps only 15 digits",
            ),
            (
                Cell::Float(12.5),
                "order_id.numeric_cell",
                "not a whole number",
            ),
            (
                t("1.23457E+15"),
                "order_id.scientific",
                "scientific notation",
            ),
            (Cell::Bool(false), "order_id.format", "'FALSE'"),
        ];
        for (cell, code, text) in cases {
            let (column, got, message) = issue(with(4, cell));
            assert_eq!((column.as_str(), got), ("Order ID", code), "{message}");
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn order_ids_are_unique_in_the_sheet_ignoring_case() {
        let mut v = validator();
        assert!(check(&mut v, 2, with(4, t("INV1"))).is_ok());
        // An invalid row still claims its id.
        let mut bad = with(4, t("INV2"));
        bad[3] = t("abc");
        assert!(check(&mut v, 3, bad).is_err());
        let issues = check(&mut v, 9, with(4, t("inv1"))).expect_err("duplicate");
        assert_eq!(issues.len(), 1);
        assert_eq!(
            (issues[0].row_no, issues[0].column.as_str(), issues[0].code),
            (9, "Order ID", "order_id.duplicate")
        );
        assert!(
            issues[0]
                .message
                .contains("'inv1' is already used by row 2"),
            "{}",
            issues[0].message
        );
        let issues = check(&mut v, 10, with(4, t("INV2"))).expect_err("duplicate of invalid row");
        assert!(issues[0].message.contains("row 3"), "{}", issues[0].message);
        // A reference that equals another row's derived id is caught too.
        assert!(check(&mut v, 11, good()).is_ok());
        let issues = check(&mut v, 12, with(4, t("PR0123456789abcdefN11")))
            .expect_err("collides with derived");
        assert_eq!(issues[0].code, "order_id.duplicate");
    }

    // ---- whole rows ----

    #[test]
    fn all_issues_of_a_row_are_reported_in_column_order() {
        let cells = vec![
            t(""),
            t("12345"),
            t("nope"),
            t("0"),
            t("A-1"),
            t("yesterday"),
            t("fax"),
            t(""),
        ];
        let issues = check(&mut validator(), 5, cells).expect_err("invalid");
        let got: Vec<(&str, &str)> = issues.iter().map(|i| (i.column.as_str(), i.code)).collect();
        assert_eq!(
            got,
            vec![
                ("Phone", "phone.length"),
                ("Email", "email.format"),
                ("Amount", "amount.too_small"),
                ("Order ID", "order_id.format"),
                ("Expiry", "expiry.format"),
                ("Notify", "notify.format"),
                ("Comments", "comments.required"),
            ]
        );
        assert!(issues.iter().all(|i| i.row_no == 5));
        assert!(
            issues[0]
                .to_string()
                .starts_with("row 5, column Phone: '12345' has 5 digits"),
            "{}",
            issues[0]
        );
    }

    #[test]
    fn excel_errors_are_issues_in_any_mapped_column() {
        for (col, header) in HEADERS.into_iter().enumerate() {
            let issues = check(&mut validator(), 4, with(col, Cell::Error("#N/A".into())))
                .expect_err("error cell");
            assert_eq!(issues.len(), 1, "{issues:?}");
            assert_eq!(
                (issues[0].column.as_str(), issues[0].code),
                (header, "cell.excel_error")
            );
            assert!(
                issues[0]
                    .message
                    .contains("cell holds the Excel error #N/A; fix the formula"),
                "{}",
                issues[0]
            );
        }
    }

    #[test]
    fn short_rows_do_not_panic() {
        let issues = check(&mut validator(), 2, vec![t("Asha")]).expect_err("empty required cells");
        let codes: Vec<&str> = issues.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            ["phone.required", "amount.required", "comments.required"]
        );
    }

    // ---- through the sheet readers ----

    #[test]
    fn xlsx_cells_validate_end_to_end() -> Result<(), rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Formula, Workbook};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cells.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        for (c, h) in ["Phone", "Amount", "Expiry", "Comments"].iter().enumerate() {
            ws.write_string(1, c as u16, *h)?; // header on row 2
        }
        let rows: [(f64, f64, Option<f64>); 5] = [
            (7777777777.0, 0.29 + 10.01, None),
            (777777777.0, 10.0, None),
            (9876543210.0, 1000.0000000001, None),
            (9876543210.0, 5.0, Some(46100.0)),
            (9876543210.0, 5.0, Some(46200.0)),
        ];
        for (i, (phone, amount, expiry)) in rows.iter().enumerate() {
            let r = i as u32 + 2;
            ws.write_number(r, 0, *phone)?;
            ws.write_number(r, 1, *amount)?;
            if let Some(serial) = expiry {
                ws.write_number_with_format(r, 2, *serial, &date)?;
            }
            ws.write_string(r, 3, "x")?;
        }
        ws.write_number(7, 0, 9876543210.0)?;
        ws.write_formula(7, 1, Formula::new("=NA()").set_result("#N/A"))?;
        ws.write_string(7, 3, "x")?;
        wb.save(&path)?;

        let sheet = sheet::open(&path, None).expect("open");
        let columns = Columns::from_headers(&sheet.headers, ProviderKind::Paytm).expect("columns");
        let mut v = Validator::new(
            columns,
            Rules {
                batch_key: batch_key(&sheet.sha256, ProviderKind::Paytm),
                ..rules()
            },
        );
        let results: Vec<_> = sheet.rows.map(|r| v.check(&r.expect("row"))).collect();

        let first = results[0].as_ref().expect("row 3 valid");
        assert_eq!(
            (
                first.row_no,
                first.phone.as_deref().unwrap_or_default(),
                first.amount.paise()
            ),
            (3, "7777777777", 1030)
        );
        assert_eq!(first.order_id, format!("PR{}N3", &sheet_key(&path)));
        let only = |i: usize| {
            let issues = results[i].as_ref().expect_err("invalid");
            assert_eq!(issues.len(), 1, "{issues:?}");
            (issues[0].row_no, issues[0].column.clone(), issues[0].code)
        };
        assert_eq!(only(1), (4, "Phone".into(), "phone.numeric_cell"));
        assert_eq!(only(2), (5, "Amount".into(), "amount.precision"));
        assert_eq!(
            results[3].as_ref().map(|r| r.expiry).ok(),
            Some(ist::parse_iso("2026-03-19"))
        );
        assert_eq!(only(4), (7, "Expiry".into(), "expiry.too_far"));
        assert_eq!(only(5), (8, "Amount".into(), "cell.excel_error"));
        Ok(())
    }

    fn sheet_key(path: &std::path::Path) -> String {
        use sha2::Digest;
        batch_key(
            &hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read"))),
            ProviderKind::Paytm,
        )
    }

    #[test]
    fn csv_with_bom_and_aliases_validates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.csv");
        std::fs::write(&path, "\u{feff}Beneficiary Name,Mobile Number,Amount (INR),Remarks\r\nAsha,98765 43210,\"1,500.00\",Bonus\r\n")
            .expect("write");
        let sheet = sheet::open(&path, None).expect("open");
        let mut v = Validator::new(
            Columns::from_headers(&sheet.headers, ProviderKind::Paytm).expect("columns"),
            rules(),
        );
        let rows: Vec<PayoutRow> = sheet
            .rows
            .map(|r| v.check(&r.expect("row")).expect("valid"))
            .collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].row_no,
                rows[0].phone.as_deref().unwrap_or_default(),
                rows[0].amount.paise()
            ),
            (2, "9876543210", 150_000)
        );
        assert_eq!(rows[0].comments, "Bonus");
    }

    #[test]
    fn every_sample_row_validates_for_both_providers() {
        let files = ["payouts.csv", "payouts.xlsx"];
        for (provider, file) in [ProviderKind::Paytm, ProviderKind::Payu]
            .into_iter()
            .flat_map(|p| files.map(|f| (p, f)))
        {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("samples")
                .join(file);
            let sheet = sheet::open(&path, None).expect("sample opens");
            let columns = Columns::from_headers(&sheet.headers, provider).expect("sample columns");
            let mut v = Validator::new(
                columns,
                Rules {
                    provider,
                    batch_key: batch_key(&sheet.sha256, provider),
                    ..rules()
                },
            );
            let mut total = 0i64;
            let mut count = 0;
            for row in sheet.rows {
                let row = row.expect("sample row reads");
                let payout = v
                    .check(&row)
                    .unwrap_or_else(|issues| panic!("{file}: {issues:?}"));
                total += payout.amount.paise();
                count += 1;
            }
            assert_eq!(count, 240, "{file}");
            assert!(total > 0);
        }
    }

    #[test]
    fn samples_have_the_same_rows_in_both_formats() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let read = |file: &str| -> Vec<(String, Option<String>, i64)> {
            let sheet = sheet::open(&dir.join(file), None).expect("sample opens");
            let mut v = Validator::new(
                Columns::from_headers(&sheet.headers, ProviderKind::Paytm).expect("columns"),
                Rules {
                    batch_key: KEY.into(),
                    ..rules()
                },
            );
            sheet
                .rows
                .map(|r| v.check(&r.expect("row")).expect("valid"))
                .map(|p| (p.order_id, p.phone, p.amount.paise()))
                .collect()
        };
        assert_eq!(read("payouts.csv"), read("payouts.xlsx"));
    }
}
