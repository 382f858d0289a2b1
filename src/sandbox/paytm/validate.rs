//! What the simulated Paytm asks of a create, and the codes it refuses with.

use super::super::SANDBOX_SUBWALLET;
use super::envelope::Refusal;
use crate::money::Amount;
use serde_json::{Map, Value};
use time::Date;

pub(super) const MAX_ORDER_ID: usize = 50;
const MAX_EXPIRY_DAYS: i64 = 10;

pub(super) type Fields = Map<String, Value>;

/// A string field: absent, null or blank is `None`; any other type is invalid.
pub(super) fn text<'a>(fields: &'a Fields, name: &str) -> Result<Option<&'a str>, Refusal> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Refusal::invalid(name, "expected a string")),
    }
}

pub(super) fn required<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, Refusal> {
    text(fields, name)?.ok_or_else(|| Refusal::new("PL_010", format!("{name} is mandatory")))
}

/// A create request that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CreateRequest {
    pub(super) order_id: String,
    pub(super) amount: String,
    pub(super) phone: String,
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
    pub(super) expiry_date: String,
    pub(super) comments: String,
}

pub(super) fn validate_create(fields: &Fields, today: Date) -> Result<CreateRequest, Refusal> {
    let order_id = required(fields, "orderId")?;
    let subwallet = required(fields, "subwalletGuid")?;
    let amount = required(fields, "amount")?;
    let phone = required(fields, "beneficiaryPhoneNo")?;
    let modes = notify_modes(fields)?;
    let comments = required(fields, "comments")?;
    let name = text(fields, "beneficiaryName")?;
    let email = text(fields, "beneficiaryEmail")?;
    let expiry = text(fields, "expiryDate")?;

    check_order_id(order_id)?;
    if subwallet != SANDBOX_SUBWALLET {
        return Err(Refusal::new("PL_054", "subwalletGuid is not correct"));
    }
    check_amount(amount)?;
    check_phone(phone)?;
    match email {
        Some(email) => check_email(email)?,
        None if modes.contains(&"EMAIL") => {
            return Err(Refusal::invalid(
                "beneficiaryEmail",
                "required when notifyMode has EMAIL",
            ))
        }
        None => {}
    }
    Ok(CreateRequest {
        order_id: order_id.into(),
        amount: amount.into(),
        phone: phone.into(),
        name: name.map(Into::into),
        email: email.map(Into::into),
        expiry_date: expiry_date(expiry, today)?,
        comments: comments.into(),
    })
}

pub(super) fn check_order_id(order_id: &str) -> Result<(), Refusal> {
    if order_id.len() > MAX_ORDER_ID {
        return Err(Refusal::new(
            "PL_013",
            format!("orderId should be {MAX_ORDER_ID} characters or less"),
        ));
    }
    if !order_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Refusal::invalid(
            "orderId",
            "only letters, digits, '_' and '-'",
        ));
    }
    Ok(())
}

/// Rupees as `^\d+(\.\d{1,2})?$`, at least 1.00.
pub(super) fn check_amount(amount: &str) -> Result<(), Refusal> {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(int, usize::MAX) || !digits(frac, 2) {
        return Err(Refusal::invalid(
            "amount",
            "rupees with at most two decimals, e.g. 1500.50",
        ));
    }
    match Amount::parse(amount) {
        Ok(a) if a.paise() >= 100 => Ok(()),
        Ok(_) => Err(Refusal::invalid("amount", "the minimum is 1.00")),
        Err(_) => Err(Refusal::invalid("amount", "too large")),
    }
}

/// A ten-digit Indian mobile number.
pub(super) fn check_phone(phone: &str) -> Result<(), Refusal> {
    let ok = phone.len() == 10
        && phone.bytes().all(|b| b.is_ascii_digit())
        && matches!(phone.as_bytes()[0], b'6'..=b'9');
    if ok {
        Ok(())
    } else {
        Err(Refusal::invalid(
            "beneficiaryPhoneNo",
            "a 10-digit mobile number",
        ))
    }
}

pub(super) fn check_email(email: &str) -> Result<(), Refusal> {
    let shaped = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    };
    if shaped {
        Ok(())
    } else {
        Err(Refusal::invalid(
            "beneficiaryEmail",
            "not an e-mail address",
        ))
    }
}

/// `notifyMode`: a non-empty array of `"SMS"` and `"EMAIL"`.
pub(super) fn notify_modes(fields: &Fields) -> Result<Vec<&'static str>, Refusal> {
    let items = match fields.get("notifyMode") {
        None | Some(Value::Null) => return Err(Refusal::new("PL_010", "notifyMode is mandatory")),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(Refusal::new("PL_010", "notifyMode is mandatory"))
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Refusal::invalid("notifyMode", "expected an array")),
    };
    items
        .iter()
        .map(|item| match item.as_str() {
            Some("SMS") => Ok("SMS"),
            Some("EMAIL") => Ok("EMAIL"),
            _ => Err(Refusal::invalid("notifyMode", "only SMS and EMAIL")),
        })
        .collect()
}

/// The given `yyyy-mm-dd` (today up to ten days ahead), or ten days ahead when absent.
pub(super) fn expiry_date(given: Option<&str>, today: Date) -> Result<String, Refusal> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let last = today.saturating_add(time::Duration::days(MAX_EXPIRY_DAYS));
    let Some(given) = given else {
        return last
            .format(format)
            .map_err(|_| Refusal::new("PL_500", "cannot format a date"));
    };
    let bad = |why: &str| Refusal::new("PL_021", format!("Invalid expiryDate: {why}"));
    let date = Date::parse(given, format)
        .ok()
        .filter(|_| given.len() == 10)
        .ok_or_else(|| bad("expected yyyy-mm-dd"))?;
    if date < today {
        return Err(bad("in the past"));
    }
    if date > last {
        return Err(bad("at most 10 days after today"));
    }
    Ok(given.to_string())
}
