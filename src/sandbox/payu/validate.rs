//! What the simulated PayU asks of a Smart Send create, and the codes it refuses with; PayU's
//! timestamps.

use super::envelope::{refuse, Refusal};
use crate::money::Amount;
use serde_json::{Map, Value};
use time::OffsetDateTime;

const MAX_REF: usize = 40;
const DEFAULT_EXPIRY_DAYS: i64 = 7;

pub(super) type Fields = Map<String, Value>;

/// A string field (a number is taken as its text); absent, null or blank is `None`.
pub(super) fn text(fields: &Fields, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A create request that passed validation.
#[derive(Debug)]
pub(super) struct CreateRequest {
    pub(super) merchant_ref_id: String,
    pub(super) amount: String,
    pub(super) name: String,
    pub(super) mobile: Option<String>,
    pub(super) email: Option<String>,
    pub(super) description: String,
    pub(super) expiry_date: String,
    pub(super) approval: bool,
}

pub(super) fn validate_create(
    fields: &Fields,
    approval_flow: bool,
) -> Result<CreateRequest, Refusal> {
    let merchant_ref_id = text(fields, "merchantRefId").ok_or_else(|| {
        refuse(
            "1101",
            "INVALID_MERCHNAT_REF_ID: merchantRefId is mandatory",
        )
    })?;
    if merchant_ref_id.len() > MAX_REF {
        return Err(refuse(
            "1102",
            format!("INVALID_MERCHNAT_REF_ID_LENGTH: at most {MAX_REF} characters"),
        ));
    }
    let amount = text(fields, "amount").unwrap_or_default();
    let (int, frac) = amount.split_once('.').unwrap_or((&amount, "0"));
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let amount_ok = digits(int, 12)
        && digits(frac, 2)
        && Amount::parse(&amount).is_ok_and(|a| a.paise() >= 100);
    if !amount_ok {
        return Err(refuse("1104", "INVALID_AMOUNT"));
    }
    let name = text(fields, "custName").ok_or(Refusal {
        code: None,
        message: "custName is mandatory".into(),
        data: Value::Null,
    })?;
    let description =
        text(fields, "description").ok_or_else(|| refuse("1114", "INVALID_DESCRIPTION"))?;
    let mobile = text(fields, "custMobile");
    let email = text(fields, "custEmail");
    if mobile.is_none() && email.is_none() {
        return Err(refuse("1108", "MOBILE_OR_EMAIL_REQUIRED"));
    }
    if let Some(m) = &mobile {
        let ok = m.len() == 10
            && m.bytes().all(|b| b.is_ascii_digit())
            && matches!(m.as_bytes()[0], b'6'..=b'9');
        if !ok {
            return Err(refuse("1105", "INVALID_MOBILE"));
        }
    }
    if let Some(e) = &email {
        let ok = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !e.contains(' '));
        if !ok {
            return Err(refuse("1106", "INVALID_EMAIL"));
        }
    }
    let expiry_date = match text(fields, "expiryDate") {
        Some(given) => {
            let at = parse_timestamp(&given).ok_or_else(|| {
                refuse(
                    "1121",
                    "EXPIRY_DATE_INVALID: expected yyyy-MM-dd'T'HH:mm:ss.SSSZ",
                )
            })?;
            if at <= OffsetDateTime::now_utc() {
                return Err(refuse("1121", "EXPIRY_DATE_INVALID: the date has passed"));
            }
            given
        }
        None => {
            format_timestamp(OffsetDateTime::now_utc() + time::Duration::days(DEFAULT_EXPIRY_DAYS))
        }
    };
    let disabled = fields.get("disableApprovalFlow") == Some(&Value::Bool(true));
    Ok(CreateRequest {
        merchant_ref_id,
        amount,
        name,
        mobile,
        email,
        description,
        expiry_date,
        approval: approval_flow && !disabled,
    })
}

pub(super) fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]Z"
    );
    time::PrimitiveDateTime::parse(s, format)
        .ok()
        .map(|t| t.assume_utc())
}

pub(super) fn format_timestamp(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");
    t.format(format).unwrap_or_default()
}
