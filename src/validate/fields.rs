//! Field parsers: one function per field (amount, phone, email, notify, expiry, comments,
//! name, order id) that turns a cell into the field's value or a `Problem` saying what is
//! wrong and what to do, plus the checks every field shares (control characters, Excel error
//! values). Limits that differ between providers come in as a `Policy`.

use super::columns::Field;
use super::rules::Policy;
use crate::ist;
use crate::money::{excel_decimal, Amount, AmountError};
use crate::payout::Notify;
use crate::sheet::{date_from_serial, escape_for_terminal, shown_value, Cell};
use time::Date;

/// A problem found by a field parser, before it is placed in a row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub(super) code: &'static str,
    pub(super) message: String,
}

fn problem(code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        code,
        message: message.into(),
    }
}

/// A control character (U+0000 to U+001F, or DEL) in a field payrun reads: nobody types
/// one on purpose, and it would reach the provider, the SMS and the report. Tabs and line
/// breaks are refused too: names, references and comments are one line of text.
pub(super) fn no_controls(field: Field, cell: &Cell) -> Result<(), Problem> {
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

pub(super) fn excel_error(code: &str) -> Problem {
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

pub(super) fn amount(cell: &Cell, policy: &Policy) -> Result<Amount, Problem> {
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

pub(super) fn phone(cell: &Cell) -> Result<String, Problem> {
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

pub(super) fn email(cell: &Cell) -> Result<Option<String>, Problem> {
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

pub(super) fn contact_required(policy: &Policy) -> Problem {
    problem(
        "phone.required",
        format!(
            "{} needs a phone or an e-mail to send the link to; enter the beneficiary's mobile number or e-mail",
            policy.provider
        ),
    )
}

pub(super) fn email_required() -> Problem {
    problem(
        "email.required",
        "notify includes EMAIL but the email is empty; add the email address or set notify to SMS",
    )
}

/// The notify values a template's drop-down offers; `notify` reads each of them. Both modes
/// are joined with `+`, because a comma separates the choices of an Excel list.
pub(crate) const NOTIFY_MODES: [&str; 3] = ["SMS", "EMAIL", "SMS+EMAIL"];

pub(super) fn notify(cell: &Cell) -> Result<Notify, Problem> {
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

pub(super) fn expiry(cell: &Cell, today: Date, policy: &Policy) -> Result<Option<Date>, Problem> {
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

pub(super) fn comments(
    cell: &Cell,
    default: Option<&str>,
    policy: &Policy,
) -> Result<String, Problem> {
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

pub(super) fn name(cell: &Cell, policy: &Policy) -> Result<Option<String>, Problem> {
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

/// payrun's limit on order ids, a retry's `R<n>` included: one id then fits both providers
/// (Paytm documents at most 50 characters, PayU no limit; see docs/PROVIDERS.md).
pub const MAX_ORDER_ID: usize = 40;

/// `None` when the cell is empty (an id will be derived).
pub(super) fn order_id(cell: &Cell) -> Result<Option<String>, Problem> {
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

pub(super) fn duplicate_order_id(id: &str, first: u64) -> Problem {
    problem(
        "order_id.duplicate",
        format!(
            "order id '{id}' is already used by row {first} (ids are compared ignoring case); \
             every row needs its own reference"
        ),
    )
}
