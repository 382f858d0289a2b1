//! The shapes of the simulated PayU's answers: the `{status, msg, code, data}` envelope, a
//! refusal, Spring's 401 and 404 bodies, the data of a link in each lookup's terms, and Get
//! Account Details' body.

use super::super::ledger::{Link, Phase};
use super::super::scenario::InjectedError;
use super::super::{SANDBOX_PAYU_CLIENT_ID, SANDBOX_PAYU_MERCHANT_ID};
use crate::money::Amount;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::time::Instant;

/// PayU flags a balance under ₹10,000 as low.
const LOW_BALANCE_PAISE: i64 = 1_000_000;

pub(super) fn status_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Processing | Phase::Pending => "PENDING",
        Phase::Paid => "SUCCESS",
        Phase::Failed => "FAILED",
        Phase::Expired => "EXPIRED",
        Phase::Cancelled => "CANCELLED",
    }
}

pub(super) fn status_name_approval(phase: Phase) -> &'static str {
    match phase {
        Phase::Processing => "APPROVAL_PENDING",
        other => status_name(other),
    }
}

pub(super) fn transfer_status(phase: Phase) -> Value {
    match phase {
        Phase::Paid => json!("SUCCESS"),
        Phase::Failed => json!("FAILED"),
        _ => Value::Null,
    }
}

pub(super) fn envelope(ok: bool, code: Option<&str>, message: &str, data: Value) -> Value {
    let code = code.map_or(Value::Null, |c| json!(c.parse::<u64>().unwrap_or(0)));
    json!({"status": if ok { 0 } else { 1 }, "msg": message, "code": code, "data": data})
}

pub(super) fn success(message: &str, data: Value) -> Response {
    Json(envelope(true, None, message, data)).into_response()
}

pub(super) fn busy() -> Response {
    Json(envelope(
        false,
        None,
        "Too many requests, please try after some time",
        Value::Null,
    ))
    .into_response()
}

/// A request PayU refuses: `status: 1` with a code (or none) and a message, HTTP 200.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) code: Option<&'static str>,
    pub(super) message: String,
    pub(super) data: Value,
}

pub(super) fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code: Some(code),
        message: message.into(),
        data: Value::Null,
    }
}

/// Why a request gets no normal answer.
#[derive(Debug)]
pub(super) enum Denied {
    Refused(Refusal),
    Unauthorized(&'static str),
    Injected(InjectedError),
    /// A path this PayU host does not serve.
    NoRoute(&'static str),
}

impl From<Refusal> for Denied {
    fn from(r: Refusal) -> Self {
        Denied::Refused(r)
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Refused(r) => Json(envelope(false, r.code, &r.message, r.data)).into_response(),
            // PayU's gateway answers an unusable token in Spring's error shape.
            Denied::Unauthorized(path) => {
                let body = json!({
                    "timestamp": OffsetDateTime::now_utc().unix_timestamp() * 1000,
                    "status": 401,
                    "error": "Unauthorized",
                    "message": "Access is denied",
                    "path": path,
                });
                (StatusCode::UNAUTHORIZED, Json(body)).into_response()
            }
            Denied::Injected(error) => super::super::injected(error, || {
                let body = envelope(false, None, "Internal Server Error", Value::Null);
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }),
            Denied::NoRoute(path) => {
                let timestamp = OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let body = json!({
                    "timestamp": timestamp,
                    "status": 404,
                    "error": "Not Found",
                    "path": path,
                });
                (StatusCode::NOT_FOUND, Json(body)).into_response()
            }
        }
    }
}

pub(super) fn link_data(link: &Link) -> Value {
    json!({
        "link": link.spec.link_url,
        "linkId": link.spec.link_id,
        "expiryDate": link.spec.expiry_date,
    })
}

pub(super) fn details_data(link: &Link, now: Instant, status: &str) -> Value {
    let s = &link.spec;
    json!({
        "merchantRefId": s.order_id,
        "payoutMerchantId": SANDBOX_PAYU_MERCHANT_ID.parse::<u64>().unwrap_or(0),
        "smartSendStatus": status,
        "txnStatus": transfer_status(link.phase(now)),
        "linkId": s.link_id,
        "link": s.link_url,
        "amount": s.amount,
        "custName": s.name,
        "custMobile": s.phone,
        "custEmail": s.email,
        "description": s.comments,
        "expiryDate": s.expiry_date,
        "txnSource": "SMART_SEND",
    })
}

pub(super) fn v1_data(link: &Link, detail_filled: bool) -> Value {
    let s = &link.spec;
    let amount =
        Amount::parse(&s.amount).map_or_else(|_| s.amount.clone(), Amount::to_rupees_string);
    json!({
        "link": s.link_url,
        "linkId": s.link_id,
        "merchantRefId": s.order_id,
        "custEmail": s.email,
        "custName": s.name,
        // PayU's own spelling.
        "custMoblie": (!s.phone.is_empty()).then_some(&s.phone),
        "merchantName": null,
        "amount": amount,
        "isOtpVerified": null,
        "linkExpiryDate": s.expiry_date,
        "detailFilled": detail_filled,
        "isLinkValid": true,
        "allowedMethod": "both",
    })
}

pub(super) fn account_body(balance_paise: i64) -> Response {
    let rupees = Amount::from_paise(balance_paise).to_rupees_string();
    let low = balance_paise < LOW_BALANCE_PAISE;
    // serde_json would write 1234.50 as 1234.5, so the body is written out here; every value
    // spliced in is a constant, a decimal number or a boolean.
    let body = format!(
        concat!(
            r#"{{"status":0,"msg":"Success","code":null,"data":{{"#,
            r#""payoutMerchantId":{mid},"virtualAccountNumber":"PAYU0000{mid}","#,
            r#""transferableAmount":{rupees},"balance":{rupees},"lowBalance":{low},"#,
            r#""ifsc":"YESB0CMSNOC","type":"PAYOUT","clientId":"{client}"}}}}"#
        ),
        mid = SANDBOX_PAYU_MERCHANT_ID,
        rupees = rupees,
        low = low,
        client = SANDBOX_PAYU_CLIENT_ID,
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
