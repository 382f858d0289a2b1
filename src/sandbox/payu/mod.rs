//! The PayU Payouts endpoints of the simulator (`docs/PROVIDERS.md`): the OAuth token
//! endpoint (client credentials, password and refresh grants, tokens that expire), Smart Send
//! v2 create, Smart Send Details by merchantRefId, v2 status by linkId, the deprecated Smart
//! Send Status v1, cancel by merchantRefId, extend-expiry and Get Account Details, in PayU's
//! `{status, msg, code, data}` envelope. Where the real API is unknown, the choices are:
//! - A missing, unknown or expired bearer token is HTTP 401 with a Spring-style body, as
//!   PayU's gateway sends; a wrong `pid` is `1100`.
//! - A duplicate merchantRefId is `1103`; Details answers an unknown one with PayU's "record
//!   not found ... fetch details after some time" text and no code.
//! - With `approval` on, a create without `disableApprovalFlow` makes the link and answers
//!   `1127` with the link in `data`; the link shows `APPROVAL_PENDING` until it is approved
//!   (automatically, as the processing phase ends).
//! - The token endpoint sits outside the traffic gate (it is another host at PayU).
//! - Extend-expiry takes the linkId in its path (PayU's `smartSendId` source is undocumented).
//! - A path the dialect's host does not serve (Details, v2 status, Get Account Details) is an
//!   HTTP 404 in Spring's shape, answered before the token check as a gateway would.
//! - Status v1 never lags; it has no answer for a paid link (`1118` "details already
//!   filled"); the beneficiary's details count as submitted for the last half second before
//!   the payout settles.
//! - Get Account Details reports the configured balance less the PayU links paid so far.
//!
//! - `token`: the token endpoint and the tokens issued.
//! - `validate`: what a create must carry, and PayU's codes for what it lacks.
//! - `envelope`: the answers' shapes: the envelope, refusals, Spring's 401 and 404, the data
//!   of a link.

mod envelope;
mod token;
mod validate;

pub(crate) use token::Tokens;

use super::ledger::{Link, LinkSpec, Phase, Protocol};
use super::scenario;
use super::{header_value, lock, Dialect, Duplicates, Gate, Shared, SANDBOX_PAYU_MERCHANT_ID};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{middleware, Form, Router};
use envelope::{
    account_body, busy, details_data, link_data, refuse, status_name, status_name_approval,
    success, transfer_status, v1_data, Denied, Refusal,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;
use validate::{parse_timestamp, validate_create};

const TOKEN: &str = "/oauth/token";
const CREATE: &str = "/payout/v2/smartSend/link";
const DETAILS: &str = "/payout/merchant/smartSend/details";
const LINK_STATUS: &str = "/payout/v2/smartSend/status";
const CANCEL: &str = "/payout/smartPay/cancel";
const EXPIRY: &str = "/payout/v2/smartSend/expiry/{id}";
const SMARTPAY_STATUS: &str = "/payout/smartPay/status";
const ACCOUNT_DETAIL: &str = "/payout/merchant/getAccountDetail";

/// The merchant headers v2 accepts; v1 and the core payout APIs know only the second.
const V2_MERCHANT: &[&str] = &["pid", "payoutmerchantid"];
const V1_MERCHANT: &[&str] = &["payoutmerchantid"];

const LINK_URL: &str = "https://sandbox.payrun.invalid/payu/";

pub(super) fn routes(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let gate = Gate {
        shared: Arc::clone(&shared),
        busy,
    };
    Router::new()
        .route(CREATE, post(create))
        .route(DETAILS, get(details))
        .route(LINK_STATUS, get(link_status))
        .route(CANCEL, post(cancel))
        .route(EXPIRY, put(extend))
        .route(SMARTPAY_STATUS, get(smartpay_status))
        .route(ACCOUNT_DETAIL, get(account_detail))
        .route_layer(middleware::from_fn_with_state(gate, super::traffic))
        .route(TOKEN, post(token::token))
}

/// Whether the dialect's PayU host serves `path`.
fn served(dialect: Dialect, path: &'static str) -> Result<(), Denied> {
    let missing = match dialect {
        Dialect::PayuNoDetails => DETAILS,
        Dialect::PayuNoV2Status => LINK_STATUS,
        Dialect::PayuNoAccountDetail => ACCOUNT_DETAIL,
        _ => return Ok(()),
    };
    if missing == path {
        Err(Denied::NoRoute(path))
    } else {
        Ok(())
    }
}

/// `admit` for the v2 endpoints, which take the merchant id in `pid` (or `payoutmerchantid`).
fn admit(
    shared: &Shared,
    endpoint: &'static str,
    key: &str,
    headers: &HeaderMap,
) -> Result<(), Denied> {
    admit_as(shared, endpoint, key, headers, V2_MERCHANT)
}

/// Injected errors (per endpoint and key), then the bearer token, then the merchant id in
/// the first of `merchant_headers` present.
fn admit_as(
    shared: &Shared,
    endpoint: &'static str,
    key: &str,
    headers: &HeaderMap,
    merchant_headers: &[&str],
) -> Result<(), Denied> {
    if let Some(error) = shared.injected_error(endpoint, key) {
        return Err(Denied::Injected(error));
    }
    let token = header_value(headers, header::AUTHORIZATION.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let live = lock(&shared.payu_tokens)
        .access
        .get(token)
        .is_some_and(|until| Instant::now() < *until);
    if !live {
        return Err(Denied::Unauthorized(endpoint));
    }
    let merchant = merchant_headers
        .iter()
        .find_map(|name| header_value(headers, name));
    if merchant != Some(SANDBOX_PAYU_MERCHANT_ID) {
        let name = merchant_headers.first().copied().unwrap_or_default();
        let message = format!("INVALID_MERCHANT: {name} is not a payout merchant id");
        return Err(refuse("1100", message).into());
    }
    Ok(())
}

async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Denied> {
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let key = parsed
        .as_ref()
        .and_then(|v| v.get("merchantRefId"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    admit(&shared, CREATE, &key, &headers)?;
    let Some(Value::Object(fields)) = parsed else {
        return Err(refuse("1101", "the body is not a JSON object").into());
    };
    let config = shared.config();
    let request = validate_create(&fields, config.approval)?;
    let now = Instant::now();
    let data = {
        let mut ledger = shared.ledger();
        let mut copy = 0;
        if let Some(link) = ledger.by_order(&request.merchant_ref_id) {
            link.create_requests += 1;
            match config.duplicates {
                Duplicates::Reject => {
                    return Err(refuse("1103", "DUPLICATE_MERCHNAT_REF_ID").into())
                }
                Duplicates::Replay => return Ok(success("Success", link_data(link))),
                Duplicates::Accept => copy = link.create_requests,
            }
        }
        let link_id = match copy {
            0 => scenario::link_id(config.seed, &request.merchant_ref_id),
            n => scenario::link_id(config.seed, &format!("{}#{n}", request.merchant_ref_id)),
        };
        // PayU link ids are base64-like and may hold '/' and '+'.
        let link_id = format!("{}/{}+{}", &link_id[..8], &link_id[8..16], &link_id[16..]);
        let spec = LinkSpec {
            link_url: format!("{LINK_URL}{}", &link_id[..8]),
            link_id,
            fate: scenario::fate(&config, &request.merchant_ref_id),
            order_id: request.merchant_ref_id.clone(),
            amount: request.amount,
            phone: request.mobile.unwrap_or_default(),
            name: Some(request.name),
            email: request.email,
            expiry_date: request.expiry_date,
            comments: request.description,
            status_name: if request.approval {
                status_name_approval
            } else {
                status_name
            },
            failure_reopens: true,
            protocol: Protocol::Payu,
        };
        link_data(ledger.insert(spec, now))
    };
    if let Some(kind) = shared.lost_answer(&request.merchant_ref_id) {
        return Ok(super::lost(kind));
    }
    if request.approval {
        return Err(Refusal {
            code: Some("1127"),
            message: "APPROVAL_PENDING: the link is created and waits for approval".into(),
            data,
        }
        .into());
    }
    Ok(success("Success", data))
}

async fn details(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Denied> {
    served(shared.config().dialect, DETAILS)?;
    let reference = query.get("merchantRefId").cloned().unwrap_or_default();
    admit(&shared, DETAILS, &reference, &headers)?;
    if query.get("payoutMerchantId").map(String::as_str) != Some(SANDBOX_PAYU_MERCHANT_ID) {
        return Err(refuse("1100", "INVALID_MERCHANT: payoutMerchantId").into());
    }
    let config = shared.config();
    let now = Instant::now();
    let mut ledger = shared.ledger();
    let not_found = || {
        Refusal {
        code: None,
        message: format!(
            "Smart Send Record not found with merchant reference id - {reference}. Kindly fetch details after some time."
        ),
        data: json!({"merchantRefId": null, "smartSendStatus": null, "linkId": null}),
    }
    };
    let Some(link) = ledger.by_order(&reference) else {
        return Err(not_found().into());
    };
    if link.hidden_lookups < config.not_found_polls {
        link.hidden_lookups += 1;
        return Err(not_found().into());
    }
    link.lookups += 1;
    let mut status = link.status(now);
    if !link.phase(now).is_open() && scenario::flaps(&config, &reference, link.lookups) {
        status = "PENDING";
    }
    Ok(success("Success", details_data(link, now, status)))
}

async fn link_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Denied> {
    served(shared.config().dialect, LINK_STATUS)?;
    let link_id = query.get("linkId").cloned().unwrap_or_default();
    admit(&shared, LINK_STATUS, &link_id, &headers)?;
    let now = Instant::now();
    let mut ledger = shared.ledger();
    let Some(link) = ledger.by_link(&link_id) else {
        return Err(refuse("1112", "SmartPay Link not found").into());
    };
    match link.phase(now) {
        Phase::Cancelled => Err(refuse("1122", "SmartPay Link cancelled").into()),
        Phase::Expired => Err(refuse("1111", "SmartPay Link expired").into()),
        phase => Ok(success(
            "Success",
            json!({
                "linkId": link.spec.link_id,
                "link": link.spec.link_url,
                "status": link.status(now),
                "txnStatus": transfer_status(phase),
                "amount": link.spec.amount,
            }),
        )),
    }
}

/// Smart Send Status v1: by `linkId`, or by `merchantRefId` with `payoutMerchantId`.
async fn smartpay_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Denied> {
    let field = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (link_id, reference) = (field("linkId"), field("merchantRefId"));
    let key = link_id.or(reference).unwrap_or_default();
    admit_as(&shared, SMARTPAY_STATUS, key, &headers, V1_MERCHANT)?;
    if link_id.is_none() && reference.is_none() {
        return Err(refuse("1101", "INVALID_MERCHNAT_REF_ID").into());
    }
    // The merchant is required to search by merchantRefId; given with a linkId, it must match.
    let merchant_ok = match field("payoutMerchantId") {
        Some(merchant) => merchant == SANDBOX_PAYU_MERCHANT_ID,
        None => link_id.is_some(),
    };
    if !merchant_ok {
        return Err(refuse("1100", "INVALID_MERCHANT: payoutMerchantId").into());
    }
    let mut ledger = shared.ledger();
    let link = match link_id {
        Some(id) => ledger.by_link(id),
        None => ledger.by_order(reference.unwrap_or_default()),
    };
    let Some(link) = link else {
        return Err(refuse("1112", "SmartPay Link not found").into());
    };
    v1_answer(link, Instant::now())
}

/// v1's answer by phase. It has no word for a paid link: "details already filled" is all a
/// merchant learns.
fn v1_answer(link: &Link, now: Instant) -> Result<Response, Denied> {
    let refused = |code, message: &str| Err(refuse(code, message).into());
    match link.phase(now) {
        Phase::Paid => refused("1118", "Details already filled"),
        Phase::Failed => refused("1124", "Link transaction failed"),
        Phase::Expired => refused("1111", "SmartPay Link expired"),
        Phase::Cancelled => refused("1122", "SmartPay Link cancelled"),
        Phase::Processing | Phase::Pending
            if link.status(now) == status_name_approval(Phase::Processing) =>
        {
            refused("1127", "Approval pending")
        }
        Phase::Processing | Phase::Pending => {
            let filled = link.detail_filled(now);
            let message = if filled {
                "Account Detail Submitted"
            } else {
                "Account Detail Pending"
            };
            Ok(success(message, v1_data(link, filled)))
        }
    }
}
/// Get Account Details: the configured balance less what PayU links have paid so far.
async fn account_detail(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, Denied> {
    let config = shared.config();
    served(config.dialect, ACCOUNT_DETAIL)?;
    admit_as(&shared, ACCOUNT_DETAIL, "", &headers, V1_MERCHANT)?;
    let paid = shared.ledger().paid_paise(Protocol::Payu, Instant::now());
    Ok(account_body(config.payu_balance_paise.saturating_sub(paid)))
}
async fn cancel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Denied> {
    let reference = form.get("merchantRefId").cloned().unwrap_or_default();
    admit(&shared, CANCEL, &reference, &headers)?;
    let mut ledger = shared.ledger();
    let Some(link) = ledger.by_order(&reference) else {
        return Err(refuse("1112", "SmartPay Link not found").into());
    };
    match link.cancel(Instant::now()) {
        Ok(()) => Ok(success("Smart send link cancelled", Value::Null)),
        Err(_) => Err(refuse(
            "1110",
            "Payout cannot be cancelled as it is already processed or cancelled",
        )
        .into()),
    }
}

async fn extend(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(link_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Denied> {
    admit(&shared, "extend", &link_id, &headers)?;
    let until = form
        .get("expiryDate")
        .and_then(|s| parse_timestamp(s).map(|t| (s.clone(), t)));
    let Some((given, until)) = until else {
        return Err(refuse("1121", "EXPIRY_DATE_INVALID").into());
    };
    let left = until - OffsetDateTime::now_utc();
    if left <= time::Duration::ZERO {
        return Err(refuse("1121", "EXPIRY_DATE_INVALID: the date has passed").into());
    }
    let mut ledger = shared.ledger();
    let Some(link) = ledger.by_link(&link_id) else {
        return Err(refuse("1112", "SmartPay Link not found").into());
    };
    let left = Duration::try_from(left).unwrap_or_default();
    match link.extend(Instant::now(), left) {
        Ok(()) => {
            link.spec.expiry_date = given;
            Ok(success("Expiry date updated", Value::Null))
        }
        Err(_) => Err(refuse("1111", "SmartPay Link expired or settled").into()),
    }
}

#[cfg(test)]
mod tests;
