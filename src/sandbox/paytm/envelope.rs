//! The shapes of the simulated Paytm's answers: the `{status, statusCode, statusMessage,
//! result}` envelope, a refusal, an injected error, and a link's `result` for create and fetch.

use super::super::ledger::{Link, Phase};
use super::super::scenario::InjectedError;
use super::super::SANDBOX_SUBWALLET;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::time::Instant;

pub(super) fn status_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Processing => "LINK_PROCESSING",
        Phase::Pending => "PENDING",
        Phase::Paid => "SUCCESS",
        Phase::Failed => "FAILURE",
        Phase::Expired => "EXPIRED",
        Phase::Cancelled => "CANCELLED",
    }
}

pub(super) fn envelope(status: &str, code: &str, message: &str, result: Option<Value>) -> Value {
    let mut body = json!({"status": status, "statusCode": code, "statusMessage": message});
    if let Some(result) = result {
        body["result"] = result;
    }
    body
}

pub(super) fn success(message: &str, result: Option<Value>) -> Response {
    Json(envelope("SUCCESS", "PL_001", message, result)).into_response()
}

/// Paytm's "try after some time", answered by the traffic gate with HTTP 429.
pub(super) fn busy() -> Response {
    Refusal::new(
        "PL_041",
        "Unable to process the request, please try after some time",
    )
    .into()
}

/// A request Paytm refuses: a `FAILURE` envelope with HTTP 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) code: &'static str,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    pub(super) fn invalid(field: &str, why: &str) -> Self {
        Refusal::new("PL_011", format!("Invalid value of {field}: {why}"))
    }
}

impl From<Refusal> for Response {
    fn from(r: Refusal) -> Response {
        Json(envelope("FAILURE", r.code, &r.message, None)).into_response()
    }
}

/// Why a request gets no normal answer.
#[derive(Debug)]
pub(super) enum Denied {
    Refused(Refusal),
    Injected(InjectedError),
}

impl From<Refusal> for Denied {
    fn from(r: Refusal) -> Self {
        Denied::Refused(r)
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Refused(r) => r.into(),
            Denied::Injected(error) => super::super::injected(error, || {
                let body = envelope("FAILURE", "PL_500", "Internal server error", None);
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }),
        }
    }
}

pub(super) fn create_result(link: &Link, now: Instant) -> Value {
    json!({
        "orderId": link.spec.order_id,
        "payoutLinkId": link.spec.link_id,
        "payoutLink": link.spec.link_url,
        "expiryDate": link.spec.expiry_date,
        "payoutLinkStatus": link.status(now),
    })
}

pub(super) fn fetch_result(link: &Link, now: Instant) -> Value {
    let s = &link.spec;
    let mut result = json!({
        "orderId": s.order_id,
        "subwalletGuid": SANDBOX_SUBWALLET,
        "beneficiaryPhoneNo": s.phone,
        "amount": s.amount,
        "comments": s.comments,
        "payoutLinkId": s.link_id,
        "payoutLink": s.link_url,
        "expiryDate": s.expiry_date,
        "payoutLinkStatus": link.status(now),
    });
    if let Some(name) = &s.name {
        result["beneficiaryName"] = json!(name);
    }
    if let Some(email) = &s.email {
        result["beneficiaryEmail"] = json!(email);
    }
    result
}
