//! The Paytm Payout Links endpoints of the simulator: create, fetch (v2), deactivate and
//! resend, with Paytm's `x-mid`/`x-checksum` check, field validation codes and answer envelope
//! (`docs/PROVIDERS.md`). Where the real API is unknown, the choices are:
//! - Every protocol answer is HTTP 200 with `{"status":"FAILURE","statusCode":...}`, including
//!   authentication failures. Other HTTP statuses come only from the traffic gate (429),
//!   injected errors (500 with `PL_500`, 503 with an HTML page) and lost answers (504, or a
//!   connection cut mid-body).
//! - `orderId` is mandatory on create (payrun always sends it: it is the only lookup key) and
//!   may hold `[A-Za-z0-9_-]`.
//! - A duplicate `orderId` is `PL_040`; deactivating or resending a link that is not active,
//!   or an unknown link id, is `PL_011`.
//! - An order id fetch finds no link for (unknown, or still hidden by `not_found_polls`) is
//!   answered as the dialect says: `PL_030` (documented and every PayU dialect), `PL_057`,
//!   `PL_011`, `PL_1299`, `SUCCESS` with an empty `result`, or an HTML 404.
//! - Injected errors and throttled requests are not counted in `create_requests`: they never
//!   reach the create logic.
//!
//! - `validate`: what a create must carry, and Paytm's codes for what it lacks.
//! - `envelope`: the answers' shapes: the envelope, refusals, a link's `result`.

mod envelope;
mod validate;

use super::ledger::{LinkSpec, Phase, Protocol};
use super::scenario;
use super::{header_value, Dialect, Duplicates, Gate, Shared, SANDBOX_KEY, SANDBOX_MID};
use crate::provider::checksum;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{middleware, Router};
use envelope::{busy, create_result, fetch_result, status_name, success, Denied, Refusal};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::time::Instant;
use validate::{required, validate_create, Fields, MAX_ORDER_ID};

const CREATE: &str = "/pls/api/v1/payout-link/create";
const FETCH: &str = "/pls/api/v2/payout-link/fetch";
const DEACTIVATE: &str = "/pls/api/v1/payout-link/deactivate";
const RESEND: &str = "/pls/api/v1/payout-link/resend";

const LINK_URL: &str = "https://sandbox.payrun.invalid/l/";

pub(super) fn routes(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let gate = Gate { shared, busy };
    Router::new()
        .route(CREATE, post(create))
        .route(FETCH, post(fetch))
        .route(DEACTIVATE, post(deactivate))
        .route(RESEND, post(resend))
        .route_layer(middleware::from_fn_with_state(gate, super::traffic))
}

/// Everything before an endpoint's own logic: injected errors (keyed by the request's
/// `key_field`, so they are deterministic per order or link id), authentication, parsing.
fn admit(
    shared: &Shared,
    endpoint: &str,
    key_field: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Fields, Denied> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let key = parsed
        .as_ref()
        .and_then(|v| v.get(key_field))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(error) = shared.injected_error(endpoint, key) {
        return Err(Denied::Injected(error));
    }
    authenticate(headers, body)?;
    let fields = match parsed {
        Some(Value::Object(fields)) => fields,
        Some(_) => {
            return Err(Refusal::new(
                "PL_400",
                "Invalid request parameter: expected a JSON object",
            )
            .into())
        }
        None => return Err(Refusal::new("PL_057", "Invalid request: the body is not JSON").into()),
    };
    match fields.get("mid") {
        None | Some(Value::Null) => {}
        Some(Value::String(mid)) if mid == SANDBOX_MID => {}
        Some(_) => {
            return Err(Refusal::new("PL_019", "MID in the body does not match x-mid").into())
        }
    }
    Ok(fields)
}

/// `x-mid` must be ours and `x-checksum` must sign the exact body bytes with our key.
fn authenticate(headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let (Some(mid), Some(signature)) = (
        header_value(headers, "x-mid"),
        header_value(headers, "x-checksum"),
    ) else {
        return Err(Refusal::new(
            "PL_401",
            "Authentication parameters are required",
        ));
    };
    if mid != SANDBOX_MID {
        return Err(Refusal::new("PL_019", "MID is not valid"));
    }
    if !checksum::verify(body, SANDBOX_KEY, signature) {
        return Err(Refusal::new("PL_404", "Unable to authenticate the request"));
    }
    Ok(())
}

/// Fetch's answer for an order id it finds no link for. Paytm documents none, so each
/// dialect is one plausible reality; payrun must finish under all of them.
fn unknown_order(dialect: Dialect) -> Response {
    match dialect {
        Dialect::PaytmPl057 => Refusal::new("PL_057", "Invalid request").into(),
        Dialect::PaytmPl011 => Refusal::new("PL_011", "Invalid value of orderId").into(),
        Dialect::PaytmUnknownCode => {
            Refusal::new("PL_1299", "Request could not be processed").into()
        }
        Dialect::PaytmEmpty => success("Success", Some(json!({}))),
        Dialect::Paytm404 => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>404 Not Found</h1></body></html>",
        )
            .into_response(),
        _ => Refusal::new("PL_030", "No payout link found for the given order id").into(),
    }
}

async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Denied> {
    let fields = admit(&shared, CREATE, "orderId", &headers, &body)?;
    let request = validate_create(&fields, crate::ist::today())?;
    let config = shared.config();
    let now = Instant::now();
    let result = {
        let mut ledger = shared.ledger();
        let mut copy = 0;
        if let Some(link) = ledger.by_order(&request.order_id) {
            link.create_requests += 1;
            match config.duplicates {
                Duplicates::Reject => {
                    return Err(Refusal::new("PL_040", "Duplicate order id").into())
                }
                Duplicates::Replay => {
                    return Ok(success(
                        "Payout link created successfully",
                        Some(create_result(link, now)),
                    ))
                }
                Duplicates::Accept => copy = link.create_requests,
            }
        }
        let link_id = match copy {
            0 => scenario::link_id(config.seed, &request.order_id),
            n => scenario::link_id(config.seed, &format!("{}#{n}", request.order_id)),
        };
        let spec = LinkSpec {
            link_url: format!("{LINK_URL}{link_id}"),
            link_id,
            fate: scenario::fate(&config, &request.order_id),
            order_id: request.order_id.clone(),
            amount: request.amount,
            phone: request.phone,
            name: request.name,
            email: request.email,
            expiry_date: request.expiry_date,
            comments: request.comments,
            status_name,
            failure_reopens: false,
            protocol: Protocol::Paytm,
        };
        create_result(ledger.insert(spec, now), now)
    };
    if let Some(kind) = shared.lost_answer(&request.order_id) {
        return Ok(super::lost(kind));
    }
    Ok(success("Payout link created successfully", Some(result)))
}

async fn fetch(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Denied> {
    let fields = admit(&shared, FETCH, "orderId", &headers, &body)?;
    let order_id = required(&fields, "orderId")?;
    if order_id.len() > MAX_ORDER_ID {
        return Err(Refusal::new("PL_013", "orderId should be 50 characters or less").into());
    }
    let config = shared.config();
    let now = Instant::now();
    let mut ledger = shared.ledger();
    let Some(link) = ledger.by_order(order_id) else {
        return Ok(unknown_order(config.dialect));
    };
    // The provider cannot tell a link it has not caught up with from one it never saw.
    if link.hidden_lookups < config.not_found_polls {
        link.hidden_lookups += 1;
        return Ok(unknown_order(config.dialect));
    }
    link.lookups += 1;
    let mut result = fetch_result(link, now);
    if !link.phase(now).is_open() && scenario::flaps(&config, order_id, link.lookups) {
        result["payoutLinkStatus"] = json!("PENDING");
    }
    Ok(success("Success", Some(result)))
}

async fn deactivate(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Denied> {
    let fields = admit(&shared, DEACTIVATE, "payoutLinkId", &headers, &body)?;
    let link_id = required(&fields, "payoutLinkId")?;
    let mut ledger = shared.ledger();
    let Some(link) = ledger.by_link(link_id) else {
        return Err(Refusal::invalid("payoutLinkId", "no such payout link").into());
    };
    match link.cancel(Instant::now()) {
        Ok(()) => Ok(success("The link is deactivated successfully", None)),
        Err(phase) => Err(not_active(phase).into()),
    }
}

async fn resend(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Denied> {
    let fields = admit(&shared, RESEND, "payoutLinkId", &headers, &body)?;
    let link_id = required(&fields, "payoutLinkId")?;
    let mut ledger = shared.ledger();
    let Some(link) = ledger.by_link(link_id) else {
        return Err(Refusal::invalid("payoutLinkId", "no such payout link").into());
    };
    match link.phase(Instant::now()) {
        phase if phase.is_open() => Ok(success("The link is resent successfully", None)),
        phase => Err(not_active(phase).into()),
    }
}

fn not_active(phase: Phase) -> Refusal {
    let message = format!(
        "The payout link is not active (status {})",
        status_name(phase)
    );
    Refusal::new("PL_011", message)
}

#[cfg(test)]
mod tests;
