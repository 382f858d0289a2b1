//! The Paytm Payout Links endpoints of the simulator: create, fetch (v2), deactivate and
//! resend, with Paytm's `x-mid`/`x-checksum` check, field validation codes and answer envelope
//! (`reference/providers.md` §1). Where the real API is unknown, the choices are:
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

use super::ledger::{Link, LinkSpec, Phase, Protocol};
use super::scenario::{self, InjectedError};
use super::{
    header_value, Dialect, Duplicates, Gate, Shared, SANDBOX_KEY, SANDBOX_MID, SANDBOX_SUBWALLET,
};
use crate::money::Amount;
use crate::provider::checksum;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{middleware, Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::Date;
use tokio::time::Instant;

const CREATE: &str = "/pls/api/v1/payout-link/create";
const FETCH: &str = "/pls/api/v2/payout-link/fetch";
const DEACTIVATE: &str = "/pls/api/v1/payout-link/deactivate";
const RESEND: &str = "/pls/api/v1/payout-link/resend";

const MAX_ORDER_ID: usize = 50;
const MAX_EXPIRY_DAYS: i64 = 10;
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

fn status_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Processing => "LINK_PROCESSING",
        Phase::Pending => "PENDING",
        Phase::Paid => "SUCCESS",
        Phase::Failed => "FAILURE",
        Phase::Expired => "EXPIRED",
        Phase::Cancelled => "CANCELLED",
    }
}

fn envelope(status: &str, code: &str, message: &str, result: Option<Value>) -> Value {
    let mut body = json!({"status": status, "statusCode": code, "statusMessage": message});
    if let Some(result) = result {
        body["result"] = result;
    }
    body
}

fn success(message: &str, result: Option<Value>) -> Response {
    Json(envelope("SUCCESS", "PL_001", message, result)).into_response()
}

/// Paytm's "try after some time", answered by the traffic gate with HTTP 429.
fn busy() -> Response {
    Refusal::new(
        "PL_041",
        "Unable to process the request, please try after some time",
    )
    .into()
}

/// A request Paytm refuses: a `FAILURE` envelope with HTTP 200.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    fn invalid(field: &str, why: &str) -> Self {
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
enum Denied {
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
            Denied::Injected(error) => super::injected(error, || {
                let body = envelope("FAILURE", "PL_500", "Internal server error", None);
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }),
        }
    }
}

type Fields = Map<String, Value>;

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

/// A string field: absent, null or blank is `None`; any other type is invalid.
fn text<'a>(fields: &'a Fields, name: &str) -> Result<Option<&'a str>, Refusal> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Refusal::invalid(name, "expected a string")),
    }
}

fn required<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, Refusal> {
    text(fields, name)?.ok_or_else(|| Refusal::new("PL_010", format!("{name} is mandatory")))
}

/// A create request that passed validation.
#[derive(Debug, Clone, PartialEq)]
struct CreateRequest {
    order_id: String,
    amount: String,
    phone: String,
    name: Option<String>,
    email: Option<String>,
    expiry_date: String,
    comments: String,
}

fn validate_create(fields: &Fields, today: Date) -> Result<CreateRequest, Refusal> {
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

fn check_order_id(order_id: &str) -> Result<(), Refusal> {
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
fn check_amount(amount: &str) -> Result<(), Refusal> {
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
fn check_phone(phone: &str) -> Result<(), Refusal> {
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

fn check_email(email: &str) -> Result<(), Refusal> {
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
fn notify_modes(fields: &Fields) -> Result<Vec<&'static str>, Refusal> {
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
fn expiry_date(given: Option<&str>, today: Date) -> Result<String, Refusal> {
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

fn create_result(link: &Link, now: Instant) -> Value {
    json!({
        "orderId": link.spec.order_id,
        "payoutLinkId": link.spec.link_id,
        "payoutLink": link.spec.link_url,
        "expiryDate": link.spec.expiry_date,
        "payoutLinkStatus": link.status(now),
    })
}

fn fetch_result(link: &Link, now: Instant) -> Value {
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
mod tests {
    use super::super::{ClaimWindow, Sandbox, SandboxConfig};
    use super::*;
    use crate::payout::LinkState;
    use crate::payout::Notify;
    use crate::provider::paytm::{PaytmClient, PaytmConfig};
    use crate::provider::testing::{found, row};
    use crate::provider::{Lookup, Provider, ProviderError};
    use std::time::Duration;

    fn client_with(sb: &Sandbox, mid: &str, key: &str) -> PaytmClient {
        PaytmClient::new(PaytmConfig {
            mid: mid.into(),
            merchant_key: key.into(),
            subwallet_guid: SANDBOX_SUBWALLET.into(),
            base_url: sb.base_url(),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    fn client(sb: &Sandbox) -> PaytmClient {
        client_with(sb, SANDBOX_MID, SANDBOX_KEY)
    }

    #[tokio::test]
    async fn create_then_fetch_finds_the_open_link() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = client(&sb);
        let created = paytm.create(&row("ORD1", 150_050)).await.unwrap();
        assert_eq!(created.state, LinkState::Open);
        assert_eq!(created.provider_status.as_deref(), Some("LINK_PROCESSING"));
        let link_id = created.link_id.clone().unwrap();
        assert_eq!(link_id.len(), 25);
        assert_eq!(created.link_url, Some(format!("{LINK_URL}{link_id}")));

        let info = found(paytm.status("ORD1").await.unwrap());
        assert_eq!(info.state, LinkState::Open);
        assert_eq!(info.link_id, Some(link_id.clone()));
        assert_eq!(info.code.as_deref(), Some("PL_001"));

        let ledger = sb.ledger();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].order_id, "ORD1");
        assert_eq!(ledger[0].amount, "1500.50");
        assert_eq!(ledger[0].phone, "9876543210");
        assert_eq!(ledger[0].link_id, link_id);
        assert_eq!(ledger[0].create_requests, 1);
        assert_eq!(sb.stats().requests, 2);
    }

    #[tokio::test]
    async fn an_unknown_order_id_is_not_found_once_the_lookup_has_found_a_link() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = client(&sb);
        let unproven = paytm.status("NOPE").await.unwrap();
        assert!(
            matches!(&unproven, Lookup::Unproven(said) if said.contains("PL_030")),
            "{unproven:?}"
        );
        paytm.create(&row("K1", 10_000)).await.unwrap();
        found(paytm.status("K1").await.unwrap());
        assert!(matches!(
            paytm.status("NOPE").await.unwrap(),
            Lookup::NotFound(said) if said.contains("PL_030")
        ));
    }

    #[tokio::test]
    async fn a_duplicate_create_is_a_duplicate_and_never_makes_a_second_link() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = client(&sb);
        paytm.create(&row("DUP1", 10_000)).await.unwrap();
        let err = paytm.create(&row("DUP1", 10_000)).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Duplicate { code, message } if code == "PL_040" && message.contains("Duplicate")),
            "{err:?}"
        );
        let ledger = sb.ledger();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].create_requests, 2);
    }

    #[tokio::test]
    async fn concurrent_creates_of_one_order_id_make_one_link() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = Arc::new(client(&sb));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let paytm = Arc::clone(&paytm);
                tokio::spawn(async move { paytm.create(&row("RACE1", 10_000)).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                created += 1;
            }
        }
        assert_eq!(created, 1);
        assert_eq!(sb.ledger().len(), 1);
        assert_eq!(sb.ledger()[0].create_requests, 8);
    }

    #[tokio::test]
    async fn wrong_credentials_are_fatal() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let wrong_key = client_with(&sb, SANDBOX_MID, "0123456789abcdef");
        match wrong_key.create(&row("K1", 10_000)).await {
            Err(ProviderError::Fatal { code, .. }) => assert_eq!(code, "PL_404"),
            other => panic!("{other:?}"),
        }
        match wrong_key.status("K1").await {
            Err(ProviderError::Fatal { code, .. }) => assert_eq!(code, "PL_404"),
            other => panic!("{other:?}"),
        }
        let wrong_mid = client_with(&sb, "SOMEONEELSE", SANDBOX_KEY);
        match wrong_mid.create(&row("K2", 10_000)).await {
            Err(ProviderError::Fatal { code, .. }) => assert_eq!(code, "PL_019"),
            other => panic!("{other:?}"),
        }
        assert!(sb.ledger().is_empty());
    }

    #[tokio::test]
    async fn invalid_fields_are_rejected_with_paytm_codes() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = client(&sb);
        let rejected = |r: Result<crate::payout::LinkInfo, ProviderError>| match r {
            Err(ProviderError::Rejected { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(rejected(paytm.create(&row("A1", 50)).await), "PL_011");
        let mut bad_phone = row("A2", 10_000);
        bad_phone.phone = Some("12345".into());
        assert_eq!(rejected(paytm.create(&bad_phone).await), "PL_011");
        let mut no_email = row("A3", 10_000);
        no_email.notify = Notify {
            sms: true,
            email: true,
        };
        assert_eq!(rejected(paytm.create(&no_email).await), "PL_011");
        let mut no_mode = row("A4", 10_000);
        no_mode.notify = Notify {
            sms: false,
            email: false,
        };
        assert_eq!(rejected(paytm.create(&no_mode).await), "PL_010");
        let mut no_comment = row("A5", 10_000);
        no_comment.comments = String::new();
        assert_eq!(rejected(paytm.create(&no_comment).await), "PL_010");
        assert_eq!(
            rejected(paytm.create(&row(&"L".repeat(51), 10_000)).await),
            "PL_013"
        );
        let mut far = row("A6", 10_000);
        far.expiry = crate::ist::parse_iso("2999-01-01");
        assert_eq!(rejected(paytm.create(&far).await), "PL_021");
        assert!(sb.ledger().is_empty());

        let mut emailed = row("A7", 10_000);
        emailed.notify = Notify {
            sms: true,
            email: true,
        };
        emailed.email = Some("asha@example.com".into());
        paytm.create(&emailed).await.unwrap();
        assert_eq!(sb.ledger().len(), 1);
    }

    #[tokio::test]
    async fn a_wrong_subwallet_is_fatal() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = PaytmClient::new(PaytmConfig {
            mid: SANDBOX_MID.into(),
            merchant_key: SANDBOX_KEY.into(),
            subwallet_guid: "00000000-0000-0000-0000-000000000000".into(),
            base_url: sb.base_url(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let err = paytm.create(&row("W1", 10_000)).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Fatal { code, .. } if code == "PL_054"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn over_the_rate_limit_is_retryable_after_one_second() {
        let sb = Sandbox::local(SandboxConfig {
            rate_limit: Some(1),
            ..SandboxConfig::idle()
        })
        .await;
        let paytm = client(&sb);
        paytm.create(&row("R1", 10_000)).await.unwrap();
        match paytm.create(&row("R2", 10_000)).await {
            Err(ProviderError::Retryable { after, code, .. }) => {
                assert_eq!(after, Some(Duration::from_secs(1)));
                assert_eq!(code, "PL_041");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sb.stats().throttled, 1);
        assert_eq!(sb.ledger().len(), 1, "a throttled create commits nothing");
    }

    #[tokio::test]
    async fn injected_errors_commit_nothing() {
        let sb = Sandbox::local(SandboxConfig {
            error_rate: 1.0,
            ..SandboxConfig::idle()
        })
        .await;
        let paytm = client(&sb);
        for i in 0..6 {
            let err = paytm
                .create(&row(&format!("E{i}"), 10_000))
                .await
                .unwrap_err();
            // The client cannot know a 500 committed nothing.
            assert!(matches!(err, ProviderError::Ambiguous { .. }), "{err:?}");
            let err = paytm.status(&format!("E{i}")).await.unwrap_err();
            assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
        }
        assert!(sb.ledger().is_empty());
        assert_eq!(sb.stats().injected_errors, 12);
        // Faults change at runtime.
        sb.set_config(SandboxConfig::idle());
        paytm.create(&row("E0", 10_000)).await.unwrap();
        assert_eq!(sb.ledger().len(), 1);
    }

    #[tokio::test]
    async fn a_lost_answer_is_ambiguous_but_the_link_is_committed() {
        let sb = Sandbox::local(SandboxConfig {
            lost_answer_rate: 1.0,
            ..SandboxConfig::idle()
        })
        .await;
        let paytm = client(&sb);
        // Several order ids, so both ways of losing an answer (cut body, 504) occur.
        let mut kinds = Vec::new();
        for i in 0..8 {
            let order_id = format!("LOST{i}");
            let kind = scenario::lost_answer(&sb.shared.config(), &order_id).unwrap();
            let err = paytm.create(&row(&order_id, 10_000)).await.unwrap_err();
            let ProviderError::Ambiguous { message } = &err else {
                panic!("{err:?}");
            };
            let cause = match kind {
                scenario::LostAnswer::Reset => "cut off",
                scenario::LostAnswer::GatewayTimeout => "HTTP_504",
            };
            assert!(message.contains(cause), "{kind:?}: {message}");
            kinds.push(kind);
            let info = found(paytm.status(&order_id).await.unwrap());
            assert_eq!(info.state, LinkState::Open);
        }
        assert!(kinds.contains(&scenario::LostAnswer::Reset));
        assert!(kinds.contains(&scenario::LostAnswer::GatewayTimeout));
        let ledger = sb.ledger();
        assert_eq!(ledger.len(), 8);
        assert!(ledger.iter().all(|e| e.create_requests == 1));
        assert_eq!(sb.stats().lost_answers, 8);
    }

    #[tokio::test]
    async fn a_new_link_can_be_invisible_to_the_first_lookups() {
        let sb = Sandbox::local(SandboxConfig {
            not_found_polls: 2,
            ..SandboxConfig::idle()
        })
        .await;
        let paytm = client(&sb);
        paytm.create(&row("NF1", 10_000)).await.unwrap();
        for _ in 0..2 {
            let hidden = paytm.status("NF1").await.unwrap();
            assert!(matches!(hidden, Lookup::Unproven(_)), "{hidden:?}");
        }
        assert_eq!(
            found(paytm.status("NF1").await.unwrap()).state,
            LinkState::Open
        );
    }

    async fn settle(paytm: &PaytmClient, order_id: &str) -> crate::payout::LinkInfo {
        for _ in 0..100 {
            let info = found(paytm.status(order_id).await.unwrap());
            if info.state != LinkState::Open {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{order_id} never settled");
    }

    fn quick(paid_share: f64, failed_share: f64) -> SandboxConfig {
        SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_millis(50),
                latest: Duration::from_millis(100),
            },
            expire_after: Duration::from_millis(300),
            paid_share,
            failed_share,
            ..SandboxConfig::fast()
        }
    }

    #[tokio::test]
    async fn beneficiaries_are_paid_fail_or_let_the_link_expire() {
        for (config, state, status) in [
            (quick(1.0, 0.0), LinkState::Paid, "SUCCESS"),
            (quick(0.0, 1.0), LinkState::Failed, "FAILURE"),
            (quick(0.0, 0.0), LinkState::Expired, "EXPIRED"),
        ] {
            let sb = Sandbox::local(config).await;
            let paytm = client(&sb);
            paytm.create(&row("LIFE1", 10_000)).await.unwrap();
            let info = settle(&paytm, "LIFE1").await;
            assert_eq!(info.state, state);
            assert_eq!(info.provider_status.as_deref(), Some(status));
            assert_eq!(sb.ledger()[0].status, status);
        }
    }

    #[tokio::test]
    async fn a_cancelled_link_stays_cancelled() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let paytm = client(&sb);
        let link_id = paytm
            .create(&row("C1", 10_000))
            .await
            .unwrap()
            .link_id
            .unwrap();
        paytm.resend(&link_id).await.unwrap();
        paytm.cancel("C1", &link_id).await.unwrap();
        let info = found(paytm.status("C1").await.unwrap());
        assert_eq!(info.state, LinkState::Cancelled);
        assert_eq!(sb.ledger()[0].status, "CANCELLED");
        for refused in [
            paytm.cancel("C1", &link_id).await,
            paytm.resend(&link_id).await,
        ] {
            assert!(
                matches!(&refused, Err(ProviderError::Rejected { code, .. }) if code == "PL_011"),
                "{refused:?}"
            );
        }
        let unknown = paytm.cancel("C1", "NOSUCHLINK").await;
        assert!(
            matches!(&unknown, Err(ProviderError::Rejected { code, .. }) if code == "PL_011"),
            "{unknown:?}"
        );
    }

    #[tokio::test]
    async fn a_paid_link_cannot_be_cancelled() {
        let sb = Sandbox::local(quick(1.0, 0.0)).await;
        let paytm = client(&sb);
        let link_id = paytm
            .create(&row("P1", 10_000))
            .await
            .unwrap()
            .link_id
            .unwrap();
        settle(&paytm, "P1").await;
        let refused = paytm.cancel("P1", &link_id).await;
        assert!(
            matches!(&refused, Err(ProviderError::Rejected { code, .. }) if code == "PL_011"),
            "{refused:?}"
        );
        assert_eq!(sb.ledger()[0].status, "SUCCESS");
    }

    #[tokio::test]
    async fn the_same_seed_replays_the_same_scenario() {
        let a = Sandbox::local(SandboxConfig {
            seed: 42,
            ..SandboxConfig::idle()
        })
        .await;
        let b = Sandbox::local(SandboxConfig {
            seed: 42,
            ..SandboxConfig::idle()
        })
        .await;
        let c = Sandbox::local(SandboxConfig {
            seed: 43,
            ..SandboxConfig::idle()
        })
        .await;
        let mut ids = Vec::new();
        for sb in [&a, &b, &c] {
            ids.push(
                client(sb)
                    .create(&row("SEED1", 10_000))
                    .await
                    .unwrap()
                    .link_id
                    .unwrap(),
            );
        }
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
    }

    /// Posts raw bytes, signed or not, and returns the HTTP status and JSON answer.
    async fn post(
        sb: &Sandbox,
        path: &str,
        body: &[u8],
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", sb.base_url()))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
        vec![
            ("x-mid", SANDBOX_MID.to_string()),
            ("x-checksum", checksum::sign(body, SANDBOX_KEY).unwrap()),
        ]
    }

    #[tokio::test]
    async fn raw_requests_get_paytm_codes_and_never_crash_the_server() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let code = |v: &Value| v["statusCode"].as_str().unwrap_or_default().to_string();
        let body = br#"{"orderId":"X1"}"#;

        let (status, v) = post(&sb, FETCH, body, &[]).await;
        assert_eq!((status, code(&v)), (200, "PL_401".into()));
        let mut tampered = signed(body);
        tampered[1].1 = checksum::sign(b"{}", SANDBOX_KEY).unwrap();
        assert_eq!(code(&post(&sb, FETCH, body, &tampered).await.1), "PL_404");
        let garbage_sig = vec![
            ("x-mid", SANDBOX_MID.to_string()),
            ("x-checksum", "!!".to_string()),
        ];
        assert_eq!(
            code(&post(&sb, FETCH, body, &garbage_sig).await.1),
            "PL_404"
        );

        for (bytes, expected) in [
            (&b"not json"[..], "PL_057"),
            (b"", "PL_057"),
            (b"[1,2,3]", "PL_400"),
            (br#"{"orderId":7}"#, "PL_011"),
            (br#"{"mid":"OTHER","orderId":"X"}"#, "PL_019"),
            (br#"{}"#, "PL_010"),
        ] {
            let (status, v) = post(&sb, FETCH, bytes, &signed(bytes)).await;
            assert_eq!(
                (status, code(&v)),
                (200, expected.to_string()),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        for bytes in [
            &br#"{"orderId":"Y","amount":1500}"#[..],
            br#"{"notifyMode":"SMS"}"#,
            br#"{"orderId":null,"amount":{"a":[]}}"#,
            b"\xff\xfe\x00",
            br#"{"orderId":"Z","subwalletGuid":"5a1b2c3d-0000-4000-8000-00000000cafe","amount":"99999999999999999999.00","beneficiaryPhoneNo":"9876543210","notifyMode":["SMS"],"comments":"x"}"#,
        ] {
            let (status, v) = post(&sb, CREATE, bytes, &signed(bytes)).await;
            assert_eq!(status, 200);
            assert_eq!(v["status"], "FAILURE", "{v}");
        }
        for path in [DEACTIVATE, RESEND] {
            let bytes = br#"{"payoutLinkId":""}"#;
            assert_eq!(
                code(&post(&sb, path, bytes, &signed(bytes)).await.1),
                "PL_010"
            );
        }
        assert!(sb.ledger().is_empty());
        // The server is still up.
        assert!(matches!(
            client(&sb).status("X1").await.unwrap(),
            Lookup::Unproven(_)
        ));
    }

    #[test]
    fn create_validation() {
        let today = time::macros::date!(2025 - 03 - 01);
        let base = json!({"orderId": "O1", "subwalletGuid": SANDBOX_SUBWALLET, "amount": "1.00",
            "beneficiaryPhoneNo": "9876543210", "notifyMode": ["SMS"], "comments": "c"});
        let check = |patch: Value| {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            validate_create(body.as_object().unwrap(), today).map_err(|r| r.code)
        };
        let ok = check(json!({})).unwrap();
        assert_eq!(ok.expiry_date, "2025-03-11");
        assert_eq!(
            check(json!({"expiryDate": "2025-03-11"}))
                .unwrap()
                .expiry_date,
            "2025-03-11"
        );
        for amount in ["1", "1.5", "1500.50", "100000"] {
            assert!(check(json!({"amount": amount})).is_ok(), "{amount}");
        }
        for amount in [
            "0.99", "1.001", "1,000", " 10", "1.", ".5", "-1", "1e3", "abc",
        ] {
            assert_eq!(check(json!({"amount": amount})), Err("PL_011"), "{amount}");
        }
        assert_eq!(check(json!({"amount": ""})), Err("PL_010"));
        assert_eq!(
            check(json!({"beneficiaryPhoneNo": "5876543210"})),
            Err("PL_011")
        );
        assert_eq!(
            check(json!({"beneficiaryPhoneNo": "98765432101"})),
            Err("PL_011")
        );
        assert_eq!(check(json!({"notifyMode": []})), Err("PL_010"));
        assert_eq!(check(json!({"notifyMode": ["FAX"]})), Err("PL_011"));
        assert_eq!(
            check(json!({"notifyMode": ["EMAIL"], "beneficiaryEmail": "a@b"})),
            Err("PL_011")
        );
        assert!(check(json!({"notifyMode": ["EMAIL"], "beneficiaryEmail": "a@b.in"})).is_ok());
        assert_eq!(check(json!({"orderId": "a b"})), Err("PL_011"));
        assert_eq!(check(json!({"orderId": "x".repeat(51)})), Err("PL_013"));
        assert!(check(json!({"orderId": "x".repeat(50)})).is_ok());
        assert_eq!(check(json!({"subwalletGuid": "other"})), Err("PL_054"));
        for expiry in [
            "2025-03-12",
            "2025-02-28",
            "2025-3-5",
            "05-03-2025",
            "2025-02-30",
        ] {
            assert_eq!(
                check(json!({"expiryDate": expiry})),
                Err("PL_021"),
                "{expiry}"
            );
        }
    }

    /// Posts a signed body; the HTTP status, content type and body text.
    async fn post_text(sb: &Sandbox, path: &str, body: &[u8]) -> (u16, String, String) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", sb.base_url()))
            .body(body.to_vec());
        for (name, value) in signed(body) {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, content_type, response.text().await.unwrap())
    }

    async fn raw_fetch(sb: &Sandbox, order_id: &str) -> (u16, String, String) {
        let body = json!({"orderId": order_id}).to_string();
        post_text(sb, FETCH, body.as_bytes()).await
    }

    async fn raw_create(sb: &Sandbox, order_id: &str) -> Value {
        let body = json!({"orderId": order_id, "subwalletGuid": SANDBOX_SUBWALLET,
            "amount": "100.00", "beneficiaryPhoneNo": "9876543210", "notifyMode": ["SMS"],
            "comments": "refund"})
        .to_string();
        let (status, _, text) = post_text(sb, CREATE, body.as_bytes()).await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The fetch of an order id nobody created, under `dialect`: HTTP status and JSON body.
    async fn unknown_under(dialect: Dialect) -> (u16, Value) {
        let sb = Sandbox::local(SandboxConfig::idle().with_dialect(dialect)).await;
        let (status, content_type, text) = raw_fetch(&sb, "NEVER1").await;
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        (status, serde_json::from_str(&text).unwrap())
    }

    fn failure(code: &str, message: &str) -> Value {
        json!({"status": "FAILURE", "statusCode": code, "statusMessage": message})
    }

    #[tokio::test]
    async fn documented_and_payu_dialects_answer_an_unknown_order_pl030() {
        let pl030 = failure("PL_030", "No payout link found for the given order id");
        for dialect in [
            Dialect::Documented,
            Dialect::PayuNoDetails,
            Dialect::PayuNoV2Status,
            Dialect::PayuNoAccountDetail,
            Dialect::DetailsLag(3),
            Dialect::NoDuplicateCheck,
        ] {
            assert_eq!(
                unknown_under(dialect).await,
                (200, pl030.clone()),
                "{dialect}"
            );
        }
    }

    #[tokio::test]
    async fn paytm_pl057_answers_an_unknown_order_invalid_request() {
        assert_eq!(
            unknown_under(Dialect::PaytmPl057).await,
            (200, failure("PL_057", "Invalid request"))
        );
    }

    #[tokio::test]
    async fn paytm_pl011_answers_an_unknown_order_invalid_value() {
        assert_eq!(
            unknown_under(Dialect::PaytmPl011).await,
            (200, failure("PL_011", "Invalid value of orderId"))
        );
    }

    #[tokio::test]
    async fn paytm_unknown_code_answers_an_unknown_order_pl1299() {
        assert_eq!(
            unknown_under(Dialect::PaytmUnknownCode).await,
            (200, failure("PL_1299", "Request could not be processed"))
        );
    }

    #[tokio::test]
    async fn paytm_empty_answers_an_unknown_order_success_without_a_result() {
        let empty = json!({"status": "SUCCESS", "statusCode": "PL_001",
            "statusMessage": "Success", "result": {}});
        assert_eq!(unknown_under(Dialect::PaytmEmpty).await, (200, empty));
    }

    #[tokio::test]
    async fn paytm_404_answers_an_unknown_order_with_an_html_page() {
        let sb = Sandbox::local(SandboxConfig::idle().with_dialect(Dialect::Paytm404)).await;
        let (status, content_type, text) = raw_fetch(&sb, "NEVER1").await;
        assert_eq!(
            (status, content_type.as_str(), text.as_str()),
            (
                404,
                "text/html",
                "<html><body><h1>404 Not Found</h1></body></html>"
            )
        );
    }

    #[tokio::test]
    async fn a_hidden_new_link_is_answered_in_the_dialect_then_found() {
        let config = SandboxConfig {
            not_found_polls: 1,
            ..SandboxConfig::idle()
        };
        let sb = Sandbox::local(config.with_dialect(Dialect::PaytmPl057)).await;
        raw_create(&sb, "HID1").await;
        let (status, _, text) = raw_fetch(&sb, "HID1").await;
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!((status, v), (200, failure("PL_057", "Invalid request")));
        let (_, _, text) = raw_fetch(&sb, "HID1").await;
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (&v["statusCode"], &v["result"]["orderId"]),
            (&json!("PL_001"), &json!("HID1"))
        );
    }

    #[tokio::test]
    async fn details_lag_hides_each_new_link_from_its_first_lookups() {
        let sb = Sandbox::local(SandboxConfig::idle().with_dialect(Dialect::DetailsLag(2))).await;
        raw_create(&sb, "LAG1").await;
        for _ in 0..2 {
            let (_, _, text) = raw_fetch(&sb, "LAG1").await;
            assert!(text.contains("PL_030"), "{text}");
        }
        let (_, _, text) = raw_fetch(&sb, "LAG1").await;
        assert!(text.contains(r#""orderId":"LAG1""#), "{text}");
    }

    #[tokio::test]
    async fn no_duplicate_check_makes_a_second_link() {
        let sb =
            Sandbox::local(SandboxConfig::idle().with_dialect(Dialect::NoDuplicateCheck)).await;
        let first = raw_create(&sb, "DUP1").await;
        let second = raw_create(&sb, "DUP1").await;
        assert_eq!(
            (&first["status"], &second["status"]),
            (&json!("SUCCESS"), &json!("SUCCESS"))
        );
        assert_ne!(
            first["result"]["payoutLinkId"],
            second["result"]["payoutLinkId"]
        );
        assert_eq!(sb.ledger().len(), 2);
    }

    #[tokio::test]
    async fn resend_and_deactivate_of_an_unknown_link_stay_pl011_in_every_dialect() {
        for dialect in Dialect::all() {
            let sb = Sandbox::local(SandboxConfig::idle().with_dialect(dialect)).await;
            let body = br#"{"payoutLinkId":"NOSUCHLINK"}"#;
            for path in [DEACTIVATE, RESEND] {
                let (status, _, text) = post_text(&sb, path, body).await;
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    (status, &v["statusCode"]),
                    (200, &json!("PL_011")),
                    "{dialect}"
                );
            }
        }
    }
}
