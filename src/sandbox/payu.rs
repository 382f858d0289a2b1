//! The PayU Payouts endpoints of the simulator (`reference/providers.md` §2): the OAuth token
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

use super::ledger::{Link, LinkSpec, Phase, Protocol};
use super::scenario::{self, InjectedError};
use super::{
    header_value, lock, Dialect, Duplicates, Gate, Shared, SANDBOX_PAYU_CLIENT_ID,
    SANDBOX_PAYU_CLIENT_SECRET, SANDBOX_PAYU_MERCHANT_ID, SANDBOX_PAYU_PASSWORD,
    SANDBOX_PAYU_USERNAME,
};
use crate::money::Amount;
use crate::provider::payu::TEST_PUBLIC_CLIENT_ID;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{middleware, Form, Json, Router};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

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
/// PayU flags a balance under ₹10,000 as low.
const LOW_BALANCE_PAISE: i64 = 1_000_000;

const MAX_REF: usize = 40;
const DEFAULT_EXPIRY_DAYS: i64 = 7;
const LINK_URL: &str = "https://sandbox.payrun.invalid/payu/";

/// Tokens issued and whether the merchant's access was revoked.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    issued: u64,
    revoked: bool,
}

impl Tokens {
    pub(crate) fn issued(&self) -> u64 {
        self.issued
    }

    /// Every token stops working, and no new one is issued.
    pub(crate) fn revoke(&mut self) {
        self.access.clear();
        self.refresh.clear();
        self.revoked = true;
    }

    fn issue(&mut self, seed: u64, ttl: Duration, refreshable: bool) -> Value {
        self.issued += 1;
        let n = self.issued;
        let access = format!("sbx{}", scenario::link_id(seed, &format!("token {n}")));
        self.access.insert(access.clone(), Instant::now() + ttl);
        let mut answer = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
            "scope": "create_payout_transactions",
            "created_at": OffsetDateTime::now_utc().unix_timestamp(),
        });
        if refreshable {
            let refresh = format!("sbr{}", scenario::link_id(seed, &format!("refresh {n}")));
            self.refresh.insert(refresh.clone());
            answer["refresh_token"] = json!(refresh);
        }
        answer
    }
}

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
        .route(TOKEN, post(token))
}

fn status_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Processing | Phase::Pending => "PENDING",
        Phase::Paid => "SUCCESS",
        Phase::Failed => "FAILED",
        Phase::Expired => "EXPIRED",
        Phase::Cancelled => "CANCELLED",
    }
}

fn status_name_approval(phase: Phase) -> &'static str {
    match phase {
        Phase::Processing => "APPROVAL_PENDING",
        other => status_name(other),
    }
}

fn transfer_status(phase: Phase) -> Value {
    match phase {
        Phase::Paid => json!("SUCCESS"),
        Phase::Failed => json!("FAILED"),
        _ => Value::Null,
    }
}

fn envelope(ok: bool, code: Option<&str>, message: &str, data: Value) -> Value {
    let code = code.map_or(Value::Null, |c| json!(c.parse::<u64>().unwrap_or(0)));
    json!({"status": if ok { 0 } else { 1 }, "msg": message, "code": code, "data": data})
}

fn success(message: &str, data: Value) -> Response {
    Json(envelope(true, None, message, data)).into_response()
}

fn busy() -> Response {
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
struct Refusal {
    code: Option<&'static str>,
    message: String,
    data: Value,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code: Some(code),
        message: message.into(),
        data: Value::Null,
    }
}

/// Why a request gets no normal answer.
#[derive(Debug)]
enum Denied {
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
            Denied::Injected(error) => super::injected(error, || {
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

async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let config = shared.config();
    let mut tokens = lock(&shared.payu_tokens);
    let grant = field("grant_type");
    let accepted = !tokens.revoked
        && match grant {
            "client_credentials" => {
                field("client_id") == SANDBOX_PAYU_CLIENT_ID
                    && field("client_secret") == SANDBOX_PAYU_CLIENT_SECRET
            }
            "password" => {
                field("client_id") == TEST_PUBLIC_CLIENT_ID
                    && field("username") == SANDBOX_PAYU_USERNAME
                    && field("password") == SANDBOX_PAYU_PASSWORD
            }
            "refresh_token" => tokens.refresh.remove(field("refresh_token")),
            _ => false,
        };
    if !accepted {
        let (status, error) = match grant {
            "client_credentials" | "password" => (StatusCode::UNAUTHORIZED, "invalid_client"),
            "refresh_token" => (StatusCode::BAD_REQUEST, "invalid_grant"),
            _ => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        };
        let body = json!({"error": error, "error_description": "The client or grant is not valid"});
        return (status, Json(body)).into_response();
    }
    let refreshable = grant != "client_credentials";
    let answer = tokens.issue(config.seed, config.token_ttl, refreshable);
    Json(answer).into_response()
}

type Fields = Map<String, Value>;

/// A string field (a number is taken as its text); absent, null or blank is `None`.
fn text(fields: &Fields, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A create request that passed validation.
#[derive(Debug)]
struct CreateRequest {
    merchant_ref_id: String,
    amount: String,
    name: String,
    mobile: Option<String>,
    email: Option<String>,
    description: String,
    expiry_date: String,
    approval: bool,
}

fn validate_create(fields: &Fields, approval_flow: bool) -> Result<CreateRequest, Refusal> {
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

fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]Z"
    );
    time::PrimitiveDateTime::parse(s, format)
        .ok()
        .map(|t| t.assume_utc())
}

fn format_timestamp(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");
    t.format(format).unwrap_or_default()
}

fn link_data(link: &Link) -> Value {
    json!({
        "link": link.spec.link_url,
        "linkId": link.spec.link_id,
        "expiryDate": link.spec.expiry_date,
    })
}

fn details_data(link: &Link, now: Instant, status: &str) -> Value {
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

fn v1_data(link: &Link, detail_filled: bool) -> Value {
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

fn account_body(balance_paise: i64) -> Response {
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
mod tests {
    use super::super::{ClaimWindow, InProcessSandbox, Sandbox, SandboxConfig};
    use super::*;
    use crate::payout::{LinkInfo, LinkState};
    use crate::provider::payu::{Credentials, PayuClient, PayuConfig};
    use crate::provider::testing::{found, row};
    use crate::provider::transport::Transport;
    use crate::provider::{Lookup, Provider, ProviderError};
    use crate::sandbox::{SANDBOX_PAYU_PASSWORD, SANDBOX_PAYU_USERNAME};

    type JoinHandle = tokio::task::JoinHandle<Result<(), ProviderError>>;

    fn config(sb: &Sandbox, credentials: Credentials) -> PayuConfig {
        config_for(&sb.base_url(), credentials)
    }

    fn config_for(url: &str, credentials: Credentials) -> PayuConfig {
        PayuConfig {
            credentials,
            merchant_id: SANDBOX_PAYU_MERCHANT_ID.into(),
            auth_url: url.into(),
            base_url: url.into(),
            timeout: Duration::from_secs(5),
            disable_approval: false,
        }
    }

    fn secret() -> Credentials {
        Credentials::Client {
            client_id: SANDBOX_PAYU_CLIENT_ID.into(),
            client_secret: SANDBOX_PAYU_CLIENT_SECRET.into(),
        }
    }

    fn client(sb: &Sandbox) -> PayuClient {
        PayuClient::new(config(sb, secret())).unwrap()
    }

    #[tokio::test]
    async fn create_then_details_find_the_open_link() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let payu = client(&sb);
        let created = payu.create(&row("PU1", 150_050)).await.unwrap();
        assert_eq!(created.state, LinkState::Open);
        let link_id = created.link_id.clone().unwrap();
        assert!(link_id.contains('/') && link_id.contains('+'), "{link_id}");
        let info = found(payu.status("PU1").await.unwrap());
        assert_eq!(info.link_id.as_deref(), Some(link_id.as_str()));
        assert_eq!(info.provider_status.as_deref(), Some("PENDING"));
        let ledger = sb.ledger();
        assert_eq!(
            (ledger[0].amount.as_str(), ledger[0].phone.as_str()),
            ("1500.50", "9876543210")
        );
        assert!(matches!(
            payu.status("NOPE").await.unwrap(),
            Lookup::NotFound(said) if said.contains("not found")
        ));
        assert_eq!(sb.stats().tokens_issued, 1, "one token serves every call");
    }

    #[tokio::test]
    async fn a_user_login_works_and_its_token_is_refreshed_not_replaced() {
        let sb = Sandbox::local(SandboxConfig {
            token_ttl: Duration::from_secs(1),
            ..SandboxConfig::idle()
        })
        .await;
        let payu = PayuClient::new(config(
            &sb,
            Credentials::User {
                client_id: TEST_PUBLIC_CLIENT_ID.into(),
                username: SANDBOX_PAYU_USERNAME.into(),
                password: SANDBOX_PAYU_PASSWORD.into(),
            },
        ))
        .unwrap();
        payu.create(&row("PU2", 10_000)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        found(payu.status("PU2").await.unwrap());
        assert_eq!(sb.stats().tokens_issued, 2);
    }

    /// On a paused clock: sixteen lookups leave while the token still looks good to the
    /// client and reach PayU after it expired; all sixteen get a 401, and one refresh serves
    /// all their re-sends.
    #[tokio::test(start_paused = true)]
    async fn a_token_expiring_with_sixteen_requests_in_flight_is_refreshed_once() {
        let sim = InProcessSandbox::new(SandboxConfig {
            token_ttl: Duration::from_secs(10),
            latency: Duration::from_secs(4),
            ..SandboxConfig::idle()
        });
        let transport = || Transport::InProcess {
            router: sim.router(),
            timeout: Duration::from_secs(30),
        };
        let payu = Arc::new(PayuClient::with_transports(
            PayuConfig {
                base_url: "http://in-process".into(),
                auth_url: "http://in-process".into(),
                ..config_for("http://in-process", secret())
            },
            transport(),
            transport(),
        ));
        let all = |make: fn(Arc<PayuClient>, usize) -> JoinHandle| {
            (0..16)
                .map(|i| make(Arc::clone(&payu), i))
                .collect::<Vec<_>>()
        };
        for task in all(|p, i| {
            tokio::spawn(async move { p.create(&row(&format!("T{i}"), 10_000)).await.map(|_| ()) })
        }) {
            task.await.unwrap().unwrap();
        }
        // The token, issued at 0 s, expires at 10 s and the client renews it from 9 s; the
        // creates are answered at 4 s. Lookups sent at 8.5 s reach PayU at 10.5 s.
        tokio::time::sleep(Duration::from_millis(4_500)).await;
        let before = sim.arrivals().len();
        for task in all(|p, i| {
            tokio::spawn(async move {
                p.status(&format!("T{i}"))
                    .await
                    .map(|l| assert!(matches!(l, Lookup::Found(_))))
            })
        }) {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            sim.arrivals().len() - before,
            32,
            "sixteen 401s and sixteen re-sends"
        );
        assert_eq!(sim.stats().tokens_issued, 2, "exactly one refresh");
    }

    #[tokio::test]
    async fn a_token_the_server_forgot_is_renewed_after_a_401() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let payu = client(&sb);
        payu.create(&row("R1", 10_000)).await.unwrap();
        // The simulator restarts its token store: the client's token is now unknown.
        lock(&sb.shared.payu_tokens).access.clear();
        found(payu.status("R1").await.unwrap());
        assert_eq!(sb.stats().tokens_issued, 2);
    }

    #[tokio::test]
    async fn revoked_access_is_fatal_and_wrong_credentials_are_never_shown() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let payu = client(&sb);
        payu.create(&row("V1", 10_000)).await.unwrap();
        sb.revoke_payu_access();
        let err = payu.status("V1").await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Fatal { code, .. } if code == "AUTH"),
            "{err:?}"
        );
        let wrong = PayuClient::new(config(
            &sb,
            Credentials::Client {
                client_id: SANDBOX_PAYU_CLIENT_ID.into(),
                client_secret: "not-the-secret".into(),
            },
        ))
        .unwrap();
        let err = wrong.create(&row("V2", 10_000)).await.unwrap_err();
        assert!(matches!(err, ProviderError::Fatal { .. }), "{err:?}");
        assert!(!err.to_string().contains("not-the-secret"), "{err}");
        assert_eq!(sb.ledger().len(), 1);
    }

    #[tokio::test]
    async fn a_wrong_merchant_id_is_fatal() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let payu = PayuClient::new(PayuConfig {
            merchant_id: "999".into(),
            ..config(&sb, secret())
        })
        .unwrap();
        let err = payu.create(&row("M1", 10_000)).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Fatal { code, .. } if code == "1100"),
            "{err:?}"
        );
        assert!(sb.ledger().is_empty());
    }

    #[tokio::test]
    async fn a_duplicate_reference_is_a_duplicate_and_makes_no_second_link() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let payu = client(&sb);
        payu.create(&row("D1", 10_000)).await.unwrap();
        let again = payu.create(&row("D1", 10_000)).await;
        assert!(
            matches!(&again, Err(ProviderError::Duplicate { code, .. }) if code == "1103"),
            "{again:?}"
        );
        let ledger = sb.ledger();
        assert_eq!((ledger.len(), ledger[0].create_requests), (1, 2));
    }

    #[tokio::test]
    async fn invalid_fields_are_rejected_with_payu_codes() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let payu = client(&sb);
        let code = |r: Result<LinkInfo, ProviderError>| match r {
            Err(ProviderError::Rejected { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        let mut nameless = row("F1", 10_000);
        nameless.name = None;
        assert_eq!(code(payu.create(&nameless).await), "FAILED");
        assert_eq!(code(payu.create(&row("F2", 50)).await), "1104");
        let mut nowhere = row("F3", 10_000);
        nowhere.phone = None;
        assert_eq!(code(payu.create(&nowhere).await), "1108");
        let mut bad_phone = row("F4", 10_000);
        bad_phone.phone = Some("12345".into());
        assert_eq!(code(payu.create(&bad_phone).await), "1105");
        let mut past = row("F5", 10_000);
        past.expiry = crate::ist::parse_iso("2020-01-01");
        assert_eq!(code(payu.create(&past).await), "1121");
        let mut blank = row("F6", 10_000);
        blank.comments = String::new();
        assert_eq!(code(payu.create(&blank).await), "1114");
        assert!(sb.ledger().is_empty());
        let mut email_only = row("F7", 10_000);
        email_only.phone = None;
        email_only.email = Some("asha@example.com".into());
        email_only.expiry = crate::ist::parse_iso("2099-01-01");
        payu.create(&email_only).await.unwrap();
        assert_eq!(sb.ledger()[0].phone, "");
    }

    #[tokio::test]
    async fn record_not_found_right_after_create_is_answered_by_the_link_id() {
        let sb = Sandbox::local(SandboxConfig {
            not_found_polls: 2,
            ..SandboxConfig::idle()
        })
        .await;
        let payu = client(&sb);
        let link_id = payu
            .create(&row("N1", 10_000))
            .await
            .unwrap()
            .link_id
            .unwrap();
        // A lagging Details is never read as "no such link".
        let lagging = payu.status("N1").await.unwrap();
        assert!(!matches!(lagging, Lookup::NotFound(_)), "{lagging:?}");
        let info = found(payu.status_of("N1", &link_id).await.unwrap());
        assert_eq!(
            (info.state, info.link_id.as_deref()),
            (LinkState::Open, Some(link_id.as_str()))
        );
        assert_eq!(sb.ledger().len(), 1);
    }

    #[tokio::test]
    async fn approval_pending_links_are_open() {
        let sb = Sandbox::local(SandboxConfig {
            approval: true,
            ..SandboxConfig::idle()
        })
        .await;
        let payu = client(&sb);
        let info = payu.create(&row("A1", 10_000)).await.unwrap();
        assert_eq!(info.state, LinkState::Open);
        assert_eq!(info.provider_status.as_deref(), Some("APPROVAL_PENDING"));
        let skip = PayuClient::new(PayuConfig {
            disable_approval: true,
            ..config(&sb, secret())
        })
        .unwrap();
        let info = skip.create(&row("A2", 10_000)).await.unwrap();
        assert_eq!(info.provider_status.as_deref(), Some("PENDING"));
    }

    #[tokio::test]
    async fn paid_failed_and_expired_links_in_payrun_terms() {
        let sb = Sandbox::local(SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_millis(50),
                latest: Duration::from_millis(50),
            },
            expire_after: Duration::from_millis(600),
            paid_share: 0.5,
            failed_share: 0.5,
            ..SandboxConfig::fast()
        })
        .await;
        let payu = client(&sb);
        for i in 0..12 {
            payu.create(&row(&format!("S{i}"), 10_000)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut seen = HashSet::new();
        for i in 0..12 {
            let info = found(payu.status(&format!("S{i}")).await.unwrap());
            seen.insert((info.state, info.provider_status.unwrap()));
        }
        // A failed payout leaves the link open: the beneficiary may try again.
        assert!(
            seen.contains(&(LinkState::Paid, "SUCCESS/SUCCESS".into())),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(LinkState::Open, "FAILED/FAILED".into())),
            "{seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        let states: HashSet<LinkState> = states_of(&payu, 12).await;
        assert_eq!(states, HashSet::from([LinkState::Paid, LinkState::Expired]));
    }

    async fn states_of(payu: &PayuClient, n: usize) -> HashSet<LinkState> {
        let mut states = HashSet::new();
        for i in 0..n {
            states.insert(found(payu.status(&format!("S{i}")).await.unwrap()).state);
        }
        states
    }

    #[tokio::test]
    async fn cancel_by_reference_and_a_paid_link_stays_paid() {
        let sb = Sandbox::local(SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_millis(100),
                latest: Duration::from_millis(100),
            },
            paid_share: 1.0,
            failed_share: 0.0,
            ..SandboxConfig::fast()
        })
        .await;
        let payu = client(&sb);
        let c1 = payu
            .create(&row("C1", 10_000))
            .await
            .unwrap()
            .link_id
            .unwrap();
        payu.cancel("C1", &c1).await.unwrap();
        assert_eq!(
            found(payu.status("C1").await.unwrap()).state,
            LinkState::Cancelled
        );
        // Details knows no such reference, so the link id answers (status v2: 1122).
        let by_link = found(payu.status_of("NO-SUCH-REF", &c1).await.unwrap());
        assert_eq!(by_link.state, LinkState::Cancelled);
        let p1 = payu
            .create(&row("P1", 10_000))
            .await
            .unwrap()
            .link_id
            .unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let refused = payu.cancel("P1", &p1).await;
        assert!(
            matches!(&refused, Err(ProviderError::Rejected { code, .. }) if code == "1110"),
            "{refused:?}"
        );
        assert_eq!(
            found(payu.status("P1").await.unwrap()).state,
            LinkState::Paid
        );
    }

    #[tokio::test]
    async fn extend_moves_an_open_links_expiry() {
        let sb = Sandbox::local(SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(600),
                latest: Duration::from_secs(600),
            },
            expire_after: Duration::from_millis(300),
            ..SandboxConfig::fast()
        })
        .await;
        let payu = client(&sb);
        let link_id = payu
            .create(&row("E1", 10_000))
            .await
            .unwrap()
            .link_id
            .unwrap();
        let until = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
        payu.extend(&link_id, until).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            found(payu.status("E1").await.unwrap()).state,
            LinkState::Open
        );
        payu.create(&row("E2", 10_000)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            found(payu.status("E2").await.unwrap()).state,
            LinkState::Expired
        );
    }

    // Raw HTTP from here on: these answers are asserted as PayU would send them, without a
    // client's reading of them.

    async fn raw_token(sb: &Sandbox) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", SANDBOX_PAYU_CLIENT_ID),
            ("client_secret", SANDBOX_PAYU_CLIENT_SECRET),
            ("scope", "create_payout_transactions"),
        ];
        let answer: Value = reqwest::Client::new()
            .post(format!("{}{TOKEN}", sb.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"].as_str().unwrap().to_string()
    }

    /// The v1 headers: bearer token and `payoutmerchantid`.
    fn v1_headers(token: &str) -> Vec<(&'static str, String)> {
        vec![
            ("authorization", format!("Bearer {token}")),
            ("payoutmerchantid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
        ]
    }

    /// A GET with `query` (URL-encoded) and `headers`: the HTTP status, the body as text and
    /// as JSON (null when it is not JSON).
    async fn raw_get(
        sb: &Sandbox,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&'static str, String)],
    ) -> (u16, String, Value) {
        let mut request = reqwest::Client::new()
            .get(format!("{}{path}", sb.base_url()))
            .query(query);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, text, json)
    }

    /// Creates a link by raw v2 create and returns its linkId.
    async fn raw_create(sb: &Sandbox, token: &str, reference: &str, amount: &str) -> String {
        let body = json!({"merchantRefId": reference, "amount": amount, "custName": "Asha",
            "custMobile": "9876543210", "description": "Refund"});
        let answer: Value = reqwest::Client::new()
            .post(format!("{}{CREATE}", sb.base_url()))
            .bearer_auth(token)
            .header("pid", SANDBOX_PAYU_MERCHANT_ID)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"]["linkId"].as_str().unwrap().to_string()
    }

    async fn v1_by_link(sb: &Sandbox, token: &str, link_id: &str) -> Value {
        let (status, _, v) = raw_get(
            sb,
            SMARTPAY_STATUS,
            &[("linkId", link_id)],
            &v1_headers(token),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    /// `{status:1, code, msg, data:null}`.
    fn assert_refused(v: &Value, code: u64, msg: &str) {
        assert_eq!(
            v,
            &json!({"status": 1, "msg": msg, "code": code, "data": null})
        );
    }

    fn beneficiaries(claim_ms: u64, paid: f64, failed: f64, expire_ms: u64) -> SandboxConfig {
        SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_millis(claim_ms),
                latest: Duration::from_millis(claim_ms),
            },
            paid_share: paid,
            failed_share: failed,
            expire_after: Duration::from_millis(expire_ms),
            ..SandboxConfig::fast()
        }
    }

    /// Under `dialect`, `path` is a Spring 404 even without a token; the other optional
    /// paths are still served.
    async fn assert_missing(dialect: Dialect, path: &str) {
        let sb = Sandbox::local(SandboxConfig::idle().with_dialect(dialect)).await;
        let (status, _, v) = raw_get(&sb, path, &[], &[]).await;
        assert_eq!(status, 404, "{v}");
        assert_eq!(
            (&v["status"], &v["error"], &v["path"]),
            (&json!(404), &json!("Not Found"), &json!(path))
        );
        let stamp = v["timestamp"].as_str().unwrap();
        let rfc3339 = &time::format_description::well_known::Rfc3339;
        assert!(OffsetDateTime::parse(stamp, rfc3339).is_ok(), "{stamp}");
        let token = raw_token(&sb).await;
        let headers = vec![
            ("authorization", format!("Bearer {token}")),
            ("pid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
            ("payoutmerchantid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
        ];
        let query = [
            ("merchantRefId", "NONE"),
            ("payoutMerchantId", SANDBOX_PAYU_MERCHANT_ID),
            ("linkId", "NONE"),
        ];
        for other in [DETAILS, LINK_STATUS, ACCOUNT_DETAIL, SMARTPAY_STATUS] {
            if other != path {
                let (status, _, v) = raw_get(&sb, other, &query, &headers).await;
                assert_eq!(status, 200, "{other}: {v}");
            }
        }
    }

    #[tokio::test]
    async fn payu_no_details_has_no_details_path() {
        assert_missing(Dialect::PayuNoDetails, DETAILS).await;
    }

    #[tokio::test]
    async fn payu_no_v2_status_has_no_v2_status_path() {
        assert_missing(Dialect::PayuNoV2Status, LINK_STATUS).await;
    }

    #[tokio::test]
    async fn payu_no_account_detail_has_no_account_detail_path() {
        assert_missing(Dialect::PayuNoAccountDetail, ACCOUNT_DETAIL).await;
    }

    #[tokio::test]
    async fn v1_follows_a_paid_link_from_pending_to_details_already_filled() {
        let sb = Sandbox::local(beneficiaries(800, 1.0, 0.0, 10_000)).await;
        let token = raw_token(&sb).await;
        let link_id = raw_create(&sb, &token, "V1P", "1500.5").await;
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_eq!(
            (&v["status"], &v["msg"], &v["code"]),
            (&json!(0), &json!("Account Detail Pending"), &Value::Null)
        );
        let data = &v["data"];
        assert_eq!(data["linkId"], json!(link_id));
        assert_eq!(data["merchantRefId"], "V1P");
        assert_eq!(data["amount"], "1500.50");
        assert_eq!(data["custMoblie"], "9876543210");
        assert_eq!(data["custName"], "Asha");
        assert_eq!(data["custEmail"], Value::Null);
        assert_eq!(data["merchantName"], Value::Null);
        assert_eq!(data["detailFilled"], false);
        assert_eq!(data["isLinkValid"], true);
        assert_eq!(data["allowedMethod"], "both");
        assert!(data["link"].as_str().unwrap().starts_with(LINK_URL));
        assert!(data["linkExpiryDate"].is_string());
        // By merchantRefId, the same answer.
        let query = [
            ("merchantRefId", "V1P"),
            ("payoutMerchantId", SANDBOX_PAYU_MERCHANT_ID),
        ];
        let (_, _, by_ref) = raw_get(&sb, SMARTPAY_STATUS, &query, &v1_headers(&token)).await;
        assert_eq!(by_ref, v);

        // The claim settles at 800 ms; the details are in from 300 ms.
        tokio::time::sleep(Duration::from_millis(550)).await;
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_eq!(
            (&v["status"], &v["msg"]),
            (&json!(0), &json!("Account Detail Submitted"))
        );
        assert_eq!(v["data"]["detailFilled"], true);

        tokio::time::sleep(Duration::from_millis(400)).await;
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_refused(&v, 1118, "Details already filled");
    }

    #[tokio::test]
    async fn v1_a_failed_payout_is_1124() {
        let sb = Sandbox::local(beneficiaries(50, 0.0, 1.0, 10_000)).await;
        let token = raw_token(&sb).await;
        let link_id = raw_create(&sb, &token, "V1F", "10").await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_refused(&v, 1124, "Link transaction failed");
    }

    #[tokio::test]
    async fn v1_an_expired_link_is_1111() {
        let sb = Sandbox::local(beneficiaries(50, 0.0, 0.0, 100)).await;
        let token = raw_token(&sb).await;
        let link_id = raw_create(&sb, &token, "V1E", "10").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_refused(&v, 1111, "SmartPay Link expired");
    }

    #[tokio::test]
    async fn v1_a_cancelled_link_is_1122() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let token = raw_token(&sb).await;
        let link_id = raw_create(&sb, &token, "V1C", "10").await;
        let cancelled: Value = reqwest::Client::new()
            .post(format!("{}{CANCEL}", sb.base_url()))
            .bearer_auth(&token)
            .header("payoutmerchantid", SANDBOX_PAYU_MERCHANT_ID)
            .form(&[("merchantRefId", "V1C")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cancelled["status"], 0, "{cancelled}");
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_refused(&v, 1122, "SmartPay Link cancelled");
    }

    #[tokio::test]
    async fn v1_an_unknown_link_is_1112_and_no_key_is_1101() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let token = raw_token(&sb).await;
        assert_refused(
            &v1_by_link(&sb, &token, "NO/SUCH+LINK").await,
            1112,
            "SmartPay Link not found",
        );
        let query = [
            ("merchantRefId", "NOPE"),
            ("payoutMerchantId", SANDBOX_PAYU_MERCHANT_ID),
        ];
        let (_, _, v) = raw_get(&sb, SMARTPAY_STATUS, &query, &v1_headers(&token)).await;
        assert_refused(&v, 1112, "SmartPay Link not found");
        let (_, _, v) = raw_get(&sb, SMARTPAY_STATUS, &[], &v1_headers(&token)).await;
        assert_refused(&v, 1101, "INVALID_MERCHNAT_REF_ID");
    }

    #[tokio::test]
    async fn v1_a_link_awaiting_approval_is_1127() {
        let sb = Sandbox::local(SandboxConfig {
            approval: true,
            ..SandboxConfig::idle()
        })
        .await;
        let token = raw_token(&sb).await;
        let link_id = raw_create(&sb, &token, "V1A", "10").await;
        let v = v1_by_link(&sb, &token, &link_id).await;
        assert_refused(&v, 1127, "Approval pending");
    }

    #[tokio::test]
    async fn v1_checks_the_token_and_the_merchant() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let token = raw_token(&sb).await;
        let link_id = raw_create(&sb, &token, "V1M", "10").await;
        let by_link = [("linkId", link_id.as_str())];
        let (status, _, v) = raw_get(&sb, SMARTPAY_STATUS, &by_link, &[]).await;
        assert_eq!((status, &v["error"]), (401, &json!("Unauthorized")), "{v}");
        let bearer = ("authorization", format!("Bearer {token}"));
        for merchant in [
            vec![bearer.clone()],
            vec![bearer.clone(), ("payoutmerchantid", "999".to_string())],
            // v1 does not know v2's header.
            vec![
                bearer.clone(),
                ("pid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
            ],
        ] {
            let (status, _, v) = raw_get(&sb, SMARTPAY_STATUS, &by_link, &merchant).await;
            assert_eq!(
                (status, &v["status"], &v["code"]),
                (200, &json!(1), &json!(1100))
            );
        }
        for query in [
            vec![("merchantRefId", "V1M"), ("payoutMerchantId", "999")],
            vec![("merchantRefId", "V1M")],
            vec![("linkId", link_id.as_str()), ("payoutMerchantId", "999")],
        ] {
            let (_, _, v) = raw_get(&sb, SMARTPAY_STATUS, &query, &v1_headers(&token)).await;
            assert_eq!(
                (&v["status"], &v["code"]),
                (&json!(1), &json!(1100)),
                "{query:?}"
            );
        }
    }

    #[tokio::test]
    async fn account_detail_reports_the_balance_less_the_paid_links() {
        let sb = Sandbox::local(SandboxConfig {
            payu_balance_paise: 1_100_000,
            ..beneficiaries(100, 1.0, 0.0, 10_000)
        })
        .await;
        let token = raw_token(&sb).await;
        let account = |headers: Vec<(&'static str, String)>| {
            let sb = &sb;
            async move { raw_get(sb, ACCOUNT_DETAIL, &[], &headers).await }
        };
        let (status, text, v) = account(v1_headers(&token)).await;
        assert_eq!(status, 200, "{text}");
        assert!(text.contains(r#""balance":11000.00,"#), "{text}");
        assert_eq!(
            v,
            json!({"status": 0, "msg": "Success", "code": null, "data": {
                "payoutMerchantId": 1100042, "virtualAccountNumber": "PAYU00001100042",
                "transferableAmount": 11000.0, "balance": 11000.0, "lowBalance": false,
                "ifsc": "YESB0CMSNOC", "type": "PAYOUT", "clientId": "payrun-sandbox-client"}})
        );
        raw_create(&sb, &token, "AD1", "1500.50").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, text, v) = account(v1_headers(&token)).await;
        assert!(text.contains(r#""transferableAmount":9499.50,"#), "{text}");
        assert!(text.contains(r#""balance":9499.50,"#), "{text}");
        assert_eq!(v["data"]["lowBalance"], true, "under ₹10,000");

        let (status, _, v) = account(vec![]).await;
        assert_eq!((status, &v["status"]), (401, &json!(401)));
        let mut wrong = v1_headers(&token);
        wrong[1].1 = "999".into();
        let (_, _, v) = account(wrong).await;
        assert_eq!((&v["status"], &v["code"]), (&json!(1), &json!(1100)));
    }

    #[tokio::test]
    async fn extending_an_unknown_link_is_1112() {
        let sb = Sandbox::local(SandboxConfig::idle()).await;
        let token = raw_token(&sb).await;
        let until = format_timestamp(OffsetDateTime::now_utc() + time::Duration::days(2));
        let v: Value = reqwest::Client::new()
            .put(format!(
                "{}/payout/v2/smartSend/expiry/NOSUCHLINK",
                sb.base_url()
            ))
            .bearer_auth(&token)
            .header("pid", SANDBOX_PAYU_MERCHANT_ID)
            .form(&[("expiryDate", until)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_refused(&v, 1112, "SmartPay Link not found");
    }
}
