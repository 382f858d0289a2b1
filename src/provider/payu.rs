//! The PayU Payouts Smart Send client (`reference/providers.md` §2): the OAuth token every
//! request carries, the v2 create, the lookups (Smart Send Details by `merchantRefId`, status
//! v2 by `linkId`, status v1 by either), cancel, extend-expiry and Get Account Details; and
//! the one place where PayU's answers are classified into `ProviderError` classes.
//!
//! Lookups: Details is the documented one, v2 status is only on PayU's legacy pages and v1
//! (seed 000) is deprecated. Each is optional: one that answers 404 before ever working is
//! skipped for the run. v1 cannot say "paid": it answers "details already filled" (1118)
//! for a link whose beneficiary has acted, whatever became of the transfer. payrun keeps
//! such a link open and, past its expiry, asks a person instead of calling it expired.
//!
//! The token: one for all concurrent requests, fetched on first use, refreshed shortly before
//! it expires and once when a request is answered 401. The refresh happens under a lock, so
//! however many requests notice an expired token, one refresh is in flight and the others wait
//! for its result. A 401 with a fresh token, or a token endpoint refusing the credentials, is
//! `Fatal`: the batch stops.
//!
//! Classification, by what is known about the request (as for Paytm): never sent →
//! `Retryable`; sent without a complete answer or answered 5xx → `Ambiguous` for a create,
//! `Retryable` otherwise; 429 → `Retryable` with `Retry-After`; a body that is not PayU's
//! `{status, msg, code, data}` envelope → `Ambiguous`/`Retryable`, or `Fatal` for 3xx/403/404/405
//! (a wrong URL). Envelope codes: see [`classify_envelope`].

use super::paths::Paths;
use super::transport::{Method, Probe, Request, Sent, Transport};
use super::{retryable, Lookup, Provider, ProviderError};
use crate::pacer::Pacer;
use crate::payout::PayoutRow;
use crate::payout::{LinkInfo, LinkState};
use crate::secret::Secret;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use time::Date;
use tokio::time::Instant;

pub const TEST_AUTH_URL: &str = "https://uat-accounts.payu.in";
pub const TEST_BASE_URL: &str = "https://uatoneapi.payu.in";
/// PayU's public client id for username/password logins on the test system (the same for
/// every merchant, published in PayU's documentation).
pub const TEST_PUBLIC_CLIENT_ID: &str =
    "6f8bb4951e030d4d7349e64a144a534778673585f86039617c167166e9154f7e";

const TOKEN_PATH: &str = "/oauth/token";
const CREATE_PATH: &str = "/payout/v2/smartSend/link";
const DETAILS_PATH: &str = "/payout/merchant/smartSend/details";
const LINK_STATUS_PATH: &str = "/payout/v2/smartSend/status";
const V1_STATUS_PATH: &str = "/payout/smartPay/status";
const ACCOUNT_PATH: &str = "/payout/merchant/getAccountDetail";
const CANCEL_PATH: &str = "/payout/smartPay/cancel";
const EXPIRY_PATH: &str = "/payout/v2/smartSend/expiry/";
const SCOPE: &str = "create_payout_transactions";

/// How payrun logs in to PayU.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// A private client id and secret (`grant_type=client_credentials`); no refresh token,
    /// so an expiring token is replaced by logging in again.
    Client {
        client_id: String,
        client_secret: Secret,
    },
    /// The public client id with the dashboard user's login (`grant_type=password`); the
    /// token is refreshed with its refresh token.
    User {
        client_id: String,
        username: String,
        password: Secret,
    },
}

/// Account and endpoints of one PayU payout merchant; its secrets are [`Secret`]s.
#[derive(Clone, Debug)]
pub struct PayuConfig {
    pub credentials: Credentials,
    /// The payout merchant id (`pid` / `payoutMerchantId`), from the Payouts dashboard.
    pub merchant_id: String,
    /// Scheme and host of the token endpoint, e.g. [`TEST_AUTH_URL`].
    pub auth_url: String,
    /// Scheme and host of the payout API, e.g. [`TEST_BASE_URL`].
    pub base_url: String,
    pub timeout: Duration,
    /// Sends `disableApprovalFlow: true`, for accounts whose maker-checker is optional.
    pub disable_approval: bool,
}

/// The operations payrun uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    /// Smart Send Details by merchantRefId: the documented lookup.
    Details,
    /// Smart Send Status v2 by linkId (only on PayU's legacy pages).
    LinkStatus,
    /// Smart Send Status v1 by linkId or merchantRefId (deprecated, documented).
    V1Status,
    Cancel,
    Extend,
    /// Get Account Details: balance and transferable amount.
    Account,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Details => "details",
            Op::LinkStatus => "link status",
            Op::V1Status => "v1 status",
            Op::Cancel => "cancel",
            Op::Extend => "extend",
            Op::Account => "account details",
        }
    }

    /// The endpoint, without a query.
    fn path(self) -> &'static str {
        match self {
            Op::Create => CREATE_PATH,
            Op::Details => DETAILS_PATH,
            Op::LinkStatus => LINK_STATUS_PATH,
            Op::V1Status => V1_STATUS_PATH,
            Op::Cancel => CANCEL_PATH,
            Op::Extend => EXPIRY_PATH,
            Op::Account => ACCOUNT_PATH,
        }
    }

    /// Operations that ask and change nothing: a 404 there may be a path this PayU host
    /// does not serve, not a wrong configuration.
    fn reads(self) -> bool {
        matches!(
            self,
            Op::Details | Op::LinkStatus | Op::V1Status | Op::Account
        )
    }
}

/// The requests `payrun doctor` sends raw, by the id each names: none can move money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probed<'a> {
    /// Smart Send Details of a merchantRefId.
    Details(&'a str),
    /// Smart Send Status v2 of a link id.
    V2Status(&'a str),
    /// Smart Send Status v1 of a merchantRefId.
    V1Status(&'a str),
    /// Extend expiry of a link id to the end of a date.
    Extend(&'a str, Date),
}

impl Probed<'_> {
    /// The endpoint the probe asks, without its query.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Probed::Details(_) => DETAILS_PATH,
            Probed::V2Status(_) => LINK_STATUS_PATH,
            Probed::V1Status(_) => V1_STATUS_PATH,
            Probed::Extend(..) => EXPIRY_PATH,
        }
    }
}

/// PayU's answer envelope `{status: 0|1, msg, code, data}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Envelope {
    pub ok: bool,
    pub code: Option<String>,
    pub message: String,
    pub data: Option<Map<String, Value>>,
}

impl Envelope {
    fn field(&self, name: &str) -> Option<String> {
        match self.data.as_ref()?.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn code_is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }

    fn says(&self, words: &[&str]) -> bool {
        let message = self.message.to_ascii_lowercase();
        words.iter().any(|w| message.contains(w))
    }

    fn code_or(&self, fallback: &str) -> String {
        self.code.clone().unwrap_or_else(|| fallback.to_string())
    }

    /// The answer as PayU gave it, for the journal: `status 1, code 1112: SmartPay Link not found`.
    fn verbatim(&self) -> String {
        let code = self.code.as_deref().unwrap_or("null");
        format!(
            "status {}, code {code}: {}",
            u8::from(!self.ok),
            self.message
        )
    }
}

/// Parses a body as PayU's envelope; anything else is an error describing the body.
pub(crate) fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let mut map = super::transport::json_object(body)?;
    let ok = match map.get("status") {
        Some(Value::Number(n)) if n.as_u64() == Some(0) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => false,
        Some(Value::String(s)) if s == "0" => true,
        Some(Value::String(s)) if s == "1" => false,
        _ => {
            return Err(format!(
                "answer is JSON without PayU's status 0 or 1: {}",
                super::transport::excerpt(body)
            ))
        }
    };
    let code = match map.get("code") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let message = match map.get("msg") {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => String::new(),
    };
    let data = match map.remove("data") {
        Some(Value::Object(d)) if d.values().any(|v| !v.is_null()) => Some(d),
        _ => None,
    };
    Ok(Envelope {
        ok,
        code,
        message,
        data,
    })
}

/// What came back from one PayU request, before interpretation.
pub(crate) type Answer = super::transport::Answer<Envelope>;

/// A usable answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Done(Envelope),
    /// A lookup found no record of the merchantRefId or link (1112, or Details' "record not
    /// found ... fetch details after some time"), quoted: evidence only from a proven path.
    Refused(String),
    /// A read-only endpoint answered 404/405: it may not exist on this PayU host.
    Missing(String),
}

/// Codes that mean the merchant account or its setup is wrong: every request would fail.
const FATAL_CODES: &[&str] = &["1100", "1126"];
/// A create refused because the merchantRefId is already used: the link may exist.
const DUPLICATE_CODES: &[&str] = &["1103", "1115", "1125", "1002"];

/// The one classification of a PayU answer for `op`.
pub(crate) fn classify(op: Op, answer: Answer) -> Result<Verdict, ProviderError> {
    let (status, retry_after, body) = match answer {
        Answer::NotSent(detail) => {
            return Err(retryable(None, "network", format!("not sent: {detail}")))
        }
        Answer::Lost(detail) => {
            return Err(no_answer(op, "network", format!("no answer: {detail}")))
        }
        Answer::Http {
            status,
            retry_after,
            body,
        } => (status, retry_after, body),
    };
    let http_code = format!("HTTP_{status}");
    let detail = match &body {
        Ok(env) => env.message.clone(),
        Err(detail) => detail.clone(),
    };
    match (status, body) {
        (429, _) => Err(retryable(retry_after, &http_code, detail)),
        // A 5xx may come after the create committed (a gateway timing out, a crash mid-way).
        (500.., _) if op == Op::Create => Err(no_answer(op, &http_code, format!("server error: {detail}"))),
        (500.., _) => Err(retryable(retry_after, &http_code, format!("server error: {detail}"))),
        (404 | 405, body) if op.reads() => Ok(Verdict::Missing(match body {
            Ok(env) => format!("HTTP {status}: {}", env.verbatim()),
            Err(detail) => format!("HTTP {status}: {detail}"),
        })),
        (401, _) => Err(ProviderError::Fatal {
            code: http_code,
            message: "PayU refused a freshly issued token; check PAYRUN_PAYU_MERCHANT_ID and that the token's user may create payouts".into(),
        }),
        (_, Ok(env)) => classify_envelope(op, env, retry_after),
        (300..=399, Err(detail)) => Err(ProviderError::Fatal {
            code: http_code,
            message: format!("redirected ({detail}); check PAYRUN_PAYU_BASE_URL"),
        }),
        (403..=405, Err(detail)) => Err(ProviderError::Fatal {
            code: http_code,
            message: format!("no such endpoint or access refused ({detail}); check PAYRUN_PAYU_BASE_URL and the IP allow-list"),
        }),
        (408, Err(detail)) => Err(retryable(None, &http_code, detail)),
        (_, Err(detail)) => Err(no_answer(op, &http_code, detail)),
    }
}

/// Envelope rules: a create answer naming a `linkId` proves the link exists (also with
/// 1127, approval pending); status 0 → done; [`FATAL_CODES`] → fatal; a duplicate code on
/// create → duplicate, 1127 without a link → ambiguous (look the merchantRefId up); "not
/// found" (Details says so in words, with no code) or 1112 on a lookup → refused; "try after
/// some time" → retryable; anything else (1101–1109, 1114, 1121, and the settled-link codes
/// of the status paths, which [`settled`] reads) → rejected.
pub(crate) fn classify_envelope(
    op: Op,
    env: Envelope,
    retry_after: Option<Duration>,
) -> Result<Verdict, ProviderError> {
    if op == Op::Create && env.field("linkId").is_some() {
        return Ok(Verdict::Done(env));
    }
    if env.ok {
        return Ok(Verdict::Done(env));
    }
    let code = env.code_or("FAILED");
    let message = if env.message.is_empty() {
        "PayU gave no reason".to_string()
    } else {
        env.message.clone()
    };
    if env.code_is(FATAL_CODES) {
        return Err(ProviderError::Fatal { code, message });
    }
    if op == Op::Create && (env.code_is(DUPLICATE_CODES) || env.says(&["duplicate"])) {
        return Err(ProviderError::Duplicate {
            message: env.verbatim(),
            code,
        });
    }
    if op == Op::Create && env.code_is(&["1127"]) {
        return Err(ProviderError::Ambiguous {
            message: format!("link awaits approval: look it up ({code}: {message})"),
        });
    }
    if matches!(op, Op::Details | Op::LinkStatus | Op::V1Status)
        && (env.code_is(&["1112"]) || (env.code.is_none() && env.says(&["not found"])))
    {
        return Ok(Verdict::Refused(env.verbatim()));
    }
    if env.says(&["try after", "too many"]) {
        return Err(retryable(retry_after, &code, message));
    }
    Err(ProviderError::Rejected { code, message })
}

/// The request reached PayU but the answer says nothing usable.
fn no_answer(op: Op, code: &str, message: String) -> ProviderError {
    if op == Op::Create {
        ProviderError::Ambiguous {
            message: format!("{message} ({code}); the link may exist: look it up"),
        }
    } else {
        retryable(None, code, message)
    }
}

/// Smart Send status and transfer status in payrun's terms (§2.9, §6.3). `SUCCESS` is paid
/// only once the transfer succeeded; a `FAILED` link stays open, because the beneficiary may
/// try again until it expires, so re-issuing it could pay twice.
pub(crate) fn link_state(smart_send: &str, transfer: Option<&str>) -> LinkState {
    let transfer = transfer.map(str::to_ascii_uppercase);
    match smart_send.trim().to_ascii_uppercase().as_str() {
        "APPROVAL_PENDING" | "APPROVED" | "PENDING" | "INITIATED" | "FAILED" => LinkState::Open,
        "SUCCESS" => match transfer.as_deref() {
            Some("SUCCESS") => LinkState::Paid,
            Some("FAILED" | "REVERSED") => LinkState::Failed,
            _ => LinkState::Open,
        },
        "REJECTED" => LinkState::Failed,
        "EXPIRED" => LinkState::Expired,
        "CANCELLED" => LinkState::Cancelled,
        other => {
            tracing::warn!(
                status = other,
                "unknown PayU smartSendStatus; treating the link as open"
            );
            LinkState::Open
        }
    }
}

fn link_info(env: &Envelope, default_status: &str) -> LinkInfo {
    let status = env
        .field("smartSendStatus")
        .or_else(|| env.field("status"))
        .unwrap_or_else(|| default_status.to_string());
    let transfer = env.field("txnStatus");
    LinkInfo {
        state: link_state(&status, transfer.as_deref()),
        link_id: env.field("linkId"),
        link_url: env.field("link"),
        provider_status: Some(match &transfer {
            Some(t) => format!("{status}/{t}"),
            None => status,
        }),
        code: env.code.clone(),
        message: Some(env.message.clone()).filter(|m| !m.is_empty()),
        expires_at: env.field("expiryDate").and_then(|t| parse_timestamp_ms(&t)),
    }
}

/// What one lookup path said.
enum Asked {
    Found(LinkInfo),
    Refused(String),
    /// The path is missing at this PayU host (`sent`: this request found that out).
    Skipped {
        sent: bool,
    },
}

/// The status paths answer a settled link with a failure code naming its state (v1 also
/// answers "details already filled" and the approval and transfer states that way).
fn settled(op: Op, code: &str) -> Option<(LinkState, &'static str)> {
    if !matches!(op, Op::LinkStatus | Op::V1Status) {
        return None;
    }
    Some(match code {
        "1111" => (LinkState::Expired, "LINK_EXPIRED"),
        "1122" => (LinkState::Cancelled, "LINK_CANCELLED"),
        "1123" => (LinkState::Failed, "LINK_REJECTED"),
        "1118" if op == Op::V1Status => (LinkState::Open, V1_DETAILS_FILLED),
        // As with v2's FAILED: the beneficiary may try again until the link expires.
        "1124" if op == Op::V1Status => (LinkState::Open, "LINK_TRANSACTION_FAILED"),
        "1127" if op == Op::V1Status => (LinkState::Open, "APPROVAL_PENDING"),
        _ => return None,
    })
}

/// The provider status payrun records when Smart Send Status v1 says the beneficiary has
/// submitted their details. v1 has no "paid" answer: a link it calls filled may have paid
/// or may still be paying, and only Details or v2 could say which.
pub const V1_DETAILS_FILLED: &str = "DETAILS_FILLED (v1)";

/// Whether `provider_status` is one from which payrun cannot tell whether the link paid:
/// such a link is never marked expired by payrun, it needs a person (`payrun settle`).
pub fn outcome_unknown(provider_status: &str) -> bool {
    provider_status == V1_DETAILS_FILLED
}

/// A v1 status answer (`status 0`): the link is valid, its details pending or filled.
fn v1_info(env: &Envelope) -> LinkInfo {
    let filled = env
        .data
        .as_ref()
        .and_then(|d| d.get("detailFilled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    LinkInfo {
        state: LinkState::Open,
        link_id: env.field("linkId"),
        link_url: env.field("link"),
        provider_status: Some(
            if filled {
                V1_DETAILS_FILLED
            } else {
                "DETAIL_PENDING (v1)"
            }
            .into(),
        ),
        code: env.code.clone(),
        message: Some(env.message.clone()).filter(|m| !m.is_empty()),
        expires_at: env
            .field("linkExpiryDate")
            .and_then(|t| parse_timestamp_ms(&t)),
    }
}

/// What Get Account Details says the merchant holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub balance: crate::money::Amount,
    /// What may be paid out now.
    pub transferable: crate::money::Amount,
}

/// PayU's timestamps, `2021-07-21T12:19:04.882+0000` or `2021-07-23T10:00:49.778Z`, in Unix
/// milliseconds.
fn parse_timestamp_ms(t: &str) -> Option<i64> {
    let (local, offset) = match t.strip_suffix('Z') {
        Some(local) => (local, time::UtcOffset::UTC),
        None => {
            let (local, zone) = t.split_at(t.len().checked_sub(5)?);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hours: i8 = zone.get(1..3)?.parse().ok()?;
            let minutes: i8 = zone.get(3..5)?.parse().ok()?;
            let offset = time::UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?;
            (local, offset)
        }
    };
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"
    );
    let at = time::PrimitiveDateTime::parse(local, format)
        .ok()?
        .assume_offset(offset);
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `yyyy-MM-dd'T'HH:mm:ss.000Z` for the last second of `date` in India, as PayU expects.
pub fn expiry_timestamp(date: Date) -> String {
    let end_ist = crate::ist::end_of_day(date).to_offset(time::UtcOffset::UTC);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");
    end_ist.format(format).unwrap_or_default()
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    merchant_ref_id: &'a str,
    /// Rupees as a string, as PayU's own sample sends it: exact, with no float in between.
    amount: String,
    cust_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cust_mobile: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cust_email: Option<&'a str>,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_date: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disable_approval_flow: bool,
}

/// A token and when to stop using it.
#[derive(Debug)]
struct Token {
    access: Secret,
    refresh: Option<Secret>,
    renew_at: Instant,
}

/// A PayU Smart Send client.
#[derive(Debug)]
pub struct PayuClient {
    config: PayuConfig,
    auth: Transport,
    api: Transport,
    token: tokio::sync::Mutex<Option<Token>>,
    /// The engine paces each call; a call that needs a second request (a re-send after a
    /// 401, a lookup by link id) waits here for its turn.
    pacer: Option<Arc<Pacer>>,
    paths: Paths,
}

/// What the token endpoint answered.
#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl PayuClient {
    pub fn new(config: PayuConfig) -> Result<Self, reqwest::Error> {
        let auth = Transport::http(&config.auth_url, config.timeout)?;
        let api = Transport::http(&config.base_url, config.timeout)?;
        Ok(Self::with_transports(config, auth, api))
    }

    /// A client over other transports (the simulator in process, for simulation tests).
    pub fn with_transports(config: PayuConfig, auth: Transport, api: Transport) -> Self {
        PayuClient {
            config,
            auth,
            api,
            token: tokio::sync::Mutex::new(None),
            pacer: None,
            paths: Paths::default(),
        }
    }

    /// Paces the second request of a call with the engine's pacer.
    pub fn paced(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    async fn next_turn(&self) {
        if let Some(pacer) = &self.pacer {
            pacer.ready().await;
        }
    }

    /// Moves a link's expiry to the end of `until` (India time).
    pub async fn extend(&self, link_id: &str, until: Date) -> Result<(), ProviderError> {
        let path = format!("{EXPIRY_PATH}{}", query_value(link_id));
        let body = query(&[("expiryDate", &expiry_timestamp(until))]);
        self.call(Op::Extend, Method::PUT, &path, Body::Form(body), link_id)
            .await
            .map(|_| ())
    }

    /// Fetches a token, as the first request of a run would (`payrun doctor`).
    pub async fn check_token(&self) -> Result<(), ProviderError> {
        self.bearer().await.map(|_| ())
    }

    /// Sends one authorized request that cannot move money and returns the answer as it
    /// came, unclassified (`payrun doctor`). Only getting a token can fail.
    pub(crate) async fn probe(&self, probed: Probed<'_>) -> Result<Probe, ProviderError> {
        let merchant = self.config.merchant_id.as_str();
        let (method, path, body) = match probed {
            Probed::Details(order_id) | Probed::V1Status(order_id) => {
                let q = query(&[("payoutMerchantId", merchant), ("merchantRefId", order_id)]);
                (Method::GET, format!("{}?{q}", probed.path()), Body::None)
            }
            Probed::V2Status(link_id) => {
                let q = query(&[("linkId", link_id)]);
                (Method::GET, format!("{LINK_STATUS_PATH}?{q}"), Body::None)
            }
            Probed::Extend(link_id, until) => {
                let form = query(&[("expiryDate", &expiry_timestamp(until))]);
                let path = format!("{EXPIRY_PATH}{}", query_value(link_id));
                (Method::PUT, path, Body::Form(form))
            }
        };
        let token = self.bearer().await?;
        let sent = self
            .api
            .send(self.request(method, &path, &body, &token))
            .await;
        Ok(Probe::from_sent(sent, |b| {
            parse_envelope(b).ok().map(|e| e.code.unwrap_or_default())
        }))
    }

    /// Asks one lookup path. A path that answers 404/405 before it ever worked is missing at
    /// this PayU host: it is skipped for the rest of the run, with one warning.
    async fn ask(
        &self,
        op: Op,
        query: String,
        id: &str,
        paced: bool,
    ) -> Result<Asked, ProviderError> {
        if self.paths.disabled(op.path()) {
            return Ok(Asked::Skipped { sent: false });
        }
        if paced {
            self.next_turn().await;
        }
        let path = format!("{}?{query}", op.path());
        let verdict = match self.call(op, Method::GET, &path, Body::None, id).await {
            Err(ProviderError::Rejected { code, message }) => match settled(op, &code) {
                Some((state, status)) => {
                    self.paths.prove(op.path());
                    return Ok(Asked::Found(LinkInfo {
                        state,
                        link_id: None,
                        link_url: None,
                        provider_status: Some(status.into()),
                        code: Some(code),
                        message: Some(message),
                        expires_at: None,
                    }));
                }
                None => return Err(ProviderError::Rejected { code, message }),
            },
            other => other?,
        };
        Ok(match verdict {
            Verdict::Done(env) => {
                self.paths.prove(op.path());
                Asked::Found(match op {
                    Op::V1Status => v1_info(&env),
                    _ => link_info(&env, "PENDING"),
                })
            }
            Verdict::Refused(said) => Asked::Refused(said),
            Verdict::Missing(said) => match self.paths.missing(op.path()) {
                Some(first) => {
                    if first {
                        tracing::warn!(
                            "PayU answered {said} at {}: payrun stops using it for this run and asks its other lookup paths",
                            op.path()
                        );
                    }
                    Asked::Skipped { sent: true }
                }
                // A path that has worked answers 404 about this one id.
                None => Asked::Refused(said),
            },
        })
    }

    /// Looks a link up through every path that can find it, in order, until one does:
    /// Smart Send Details by merchantRefId; then, with a link id, status v2 and v1 by link id,
    /// else status v1 by merchantRefId. Details lags new links ("fetch details after some
    /// time") and v2 is only on PayU's legacy pages, so each is optional; only when every
    /// path is missing is the lookup refused for good.
    async fn lookup(&self, order_id: &str, link_id: Option<&str>) -> Result<Lookup, ProviderError> {
        let merchant = self.config.merchant_id.as_str();
        let by_ref = query(&[("payoutMerchantId", merchant), ("merchantRefId", order_id)]);
        let mut plan = vec![(Op::Details, by_ref.clone())];
        match link_id {
            Some(link) => {
                plan.push((Op::LinkStatus, query(&[("linkId", link)])));
                plan.push((Op::V1Status, query(&[("linkId", link)])));
            }
            None => plan.push((Op::V1Status, by_ref)),
        }
        let mut refusals = Vec::new();
        let mut sent = false;
        for (op, q) in plan {
            match self.ask(op, q, order_id, sent).await? {
                Asked::Found(info) => {
                    return Ok(Lookup::Found(LinkInfo {
                        link_id: info.link_id.or_else(|| link_id.map(str::to_string)),
                        ..info
                    }))
                }
                Asked::Refused(said) => {
                    sent = true;
                    refusals.push((op, said));
                }
                Asked::Skipped {
                    sent: skipped_after,
                } => sent |= skipped_after,
            }
        }
        if refusals.is_empty() {
            return Err(ProviderError::Fatal {
                code: "HTTP_404".into(),
                message: "every PayU lookup path (Smart Send Details, status v2, status v1) answered 404; check PAYRUN_PAYU_BASE_URL".into(),
            });
        }
        let said = refusals
            .iter()
            .map(|(op, said)| format!("{} {said}", op.name()))
            .collect::<Vec<_>>()
            .join("; ");
        Ok(
            if refusals.iter().any(|(op, _)| self.paths.proven(op.path())) {
                Lookup::NotFound(said)
            } else {
                Lookup::Unproven(said)
            },
        )
    }

    /// Get Account Details: what the merchant holds and may transfer now. `None` when this
    /// PayU host does not serve it.
    pub async fn account(&self) -> Result<Option<Account>, ProviderError> {
        match self
            .call(
                Op::Account,
                Method::GET,
                ACCOUNT_PATH,
                Body::None,
                "account",
            )
            .await?
        {
            Verdict::Done(env) => {
                let amount = |name: &str| {
                    let text = env.field(name)?;
                    crate::money::Amount::parse(&text).ok()
                };
                match (amount("balance"), amount("transferableAmount")) {
                    (Some(balance), Some(transferable)) => Ok(Some(Account {
                        balance,
                        transferable,
                    })),
                    _ => Err(ProviderError::Rejected {
                        code: "ACCOUNT".into(),
                        message: format!(
                            "Get Account Details answered without a readable balance: {}",
                            env.verbatim()
                        ),
                    }),
                }
            }
            Verdict::Refused(_) | Verdict::Missing(_) => Ok(None),
        }
    }

    /// The bearer token to use now: the current one, or a new one if it is due for renewal.
    /// The lock is held while a new one is fetched, so there is one fetch at a time.
    async fn bearer(&self) -> Result<Secret, ProviderError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref() {
            if Instant::now() < token.renew_at {
                return Ok(token.access.clone());
            }
        }
        let refresh = slot.as_ref().and_then(|t| t.refresh.clone());
        let fresh = match refresh {
            Some(refresh) => match self.fetch_token(Grant::Refresh(refresh.expose())).await {
                Ok(token) => token,
                // A refused refresh token: log in again with the credentials.
                Err(ProviderError::Fatal { .. }) => self.fetch_token(Grant::Login).await?,
                Err(e) => return Err(e),
            },
            None => self.fetch_token(Grant::Login).await?,
        };
        let access = fresh.access.clone();
        *slot = Some(fresh);
        Ok(access)
    }

    /// Forgets `used` after PayU refused it, unless another request already replaced it.
    async fn refused(&self, used: &Secret) {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_mut().filter(|t| &t.access == used) {
            token.renew_at = Instant::now();
        }
    }

    async fn fetch_token(&self, grant: Grant<'_>) -> Result<Token, ProviderError> {
        let mut pairs: Vec<(&str, &str)> = vec![("scope", SCOPE)];
        match (&grant, &self.config.credentials) {
            (Grant::Refresh(token), Credentials::User { client_id, .. })
            | (Grant::Refresh(token), Credentials::Client { client_id, .. }) => pairs.extend([
                ("grant_type", "refresh_token"),
                ("client_id", client_id.as_str()),
                ("refresh_token", token),
            ]),
            (
                Grant::Login,
                Credentials::Client {
                    client_id,
                    client_secret,
                },
            ) => pairs.extend([
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
            ]),
            (
                Grant::Login,
                Credentials::User {
                    client_id,
                    username,
                    password,
                },
            ) => pairs.extend([
                ("grant_type", "password"),
                ("client_id", client_id.as_str()),
                ("username", username.as_str()),
                ("password", password.expose()),
            ]),
        }
        let request = Request {
            method: Method::POST,
            path: TOKEN_PATH,
            headers: vec![("content-type", "application/x-www-form-urlencoded".into())],
            body: query(&pairs).into_bytes(),
        };
        let (status, body) = match self.auth.send(request).await {
            Sent::NotSent(why) | Sent::Lost(why) => {
                return Err(retryable(None, "AUTH", format!("no token: {why}")))
            }
            Sent::Answer { status, body, .. } => (status, body),
        };
        let answer = body
            .ok()
            .and_then(|b| serde_json::from_slice::<TokenAnswer>(&b).ok());
        match (status, answer) {
            (
                200,
                Some(TokenAnswer {
                    access_token: Some(access),
                    expires_in,
                    refresh_token,
                    ..
                }),
            ) => {
                let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
                // Renew a tenth of the lifetime early (at most five minutes), so no request
                // carries a token that expires on the way.
                let margin = (lifetime / 10).min(Duration::from_secs(300));
                tracing::debug!(?lifetime, "PayU token issued");
                Ok(Token {
                    access: access.into(),
                    refresh: refresh_token.map(Secret::from),
                    renew_at: Instant::now() + lifetime - margin,
                })
            }
            (429 | 500.., _) => Err(retryable(
                None,
                &format!("HTTP_{status}"),
                "PayU's token endpoint is busy".into(),
            )),
            (_, answer) => {
                let why = answer
                    .map(|a| {
                        let error = a.error.unwrap_or_else(|| "no token in the answer".into());
                        match a.error_description {
                            Some(d) => format!("{error}: {d}"),
                            None => error,
                        }
                    })
                    .unwrap_or_else(|| "the answer is not a token".into());
                Err(ProviderError::Fatal {
                    code: "AUTH".into(),
                    message: format!(
                        "PayU refused to issue a token (HTTP {status}, {why}); check PAYRUN_PAYU_CLIENT_ID and the secret or username and password"
                    ),
                })
            }
        }
    }

    /// Sends one request with the current token; a 401 renews the token and sends once more.
    async fn call(
        &self,
        op: Op,
        method: Method,
        path: &str,
        body: Body,
        id: &str,
    ) -> Result<Verdict, ProviderError> {
        let mut answer = Answer::NotSent("not sent".into());
        for round in 0..2 {
            if round > 0 {
                self.next_turn().await;
            }
            let token = self.bearer().await?;
            answer = self.send(method.clone(), path, &body, &token).await;
            if !matches!(answer, Answer::Http { status: 401, .. }) {
                break;
            }
            tracing::debug!(op = op.name(), "PayU answered 401; renewing the token");
            self.refused(&token).await;
        }
        let verdict = classify(op, answer);
        match &verdict {
            Ok(Verdict::Done(env)) => {
                tracing::debug!(op = op.name(), id, code = ?env.code, "payu answered")
            }
            Ok(Verdict::Refused(said) | Verdict::Missing(said)) => {
                tracing::debug!(op = op.name(), id, "payu refused: {said}")
            }
            Err(e) => tracing::debug!(op = op.name(), id, "payu call failed: {e}"),
        }
        verdict
    }

    async fn send(&self, method: Method, path: &str, body: &Body, token: &Secret) -> Answer {
        let request = self.request(method, path, body, token);
        Answer::from_sent(self.api.send(request).await, parse_envelope)
    }

    fn request<'a>(
        &self,
        method: Method,
        path: &'a str,
        body: &Body,
        token: &Secret,
    ) -> Request<'a> {
        let mut headers = vec![
            ("authorization", format!("Bearer {}", token.expose())),
            ("pid", self.config.merchant_id.clone()),
            ("payoutmerchantid", self.config.merchant_id.clone()),
        ];
        let bytes = match body {
            Body::None => Vec::new(),
            Body::Json(bytes) => {
                headers.push(("content-type", "application/json".into()));
                bytes.clone()
            }
            Body::Form(form) => {
                headers.push(("content-type", "application/x-www-form-urlencoded".into()));
                form.clone().into_bytes()
            }
        };
        Request {
            method,
            path,
            headers,
            body: bytes,
        }
    }
}

enum Grant<'a> {
    Login,
    Refresh(&'a str),
}

enum Body {
    None,
    Json(Vec<u8>),
    Form(String),
}

/// A path segment or query value, percent-encoded (link ids hold `/` and `+`).
fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Provider for PayuClient {
    async fn create(&self, row: &PayoutRow) -> Result<LinkInfo, ProviderError> {
        let body = CreateBody {
            merchant_ref_id: &row.order_id,
            amount: row.amount.to_rupees_string(),
            cust_name: row.name.as_deref().unwrap_or_default(),
            cust_mobile: row.phone.as_deref(),
            cust_email: row.email.as_deref(),
            description: &row.comments,
            expiry_date: row.expiry.map(expiry_timestamp),
            disable_approval_flow: self.config.disable_approval,
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| ProviderError::Fatal {
            code: "REQUEST".into(),
            message: format!("cannot encode the create request: {e}"),
        })?;
        let verdict = self
            .call(
                Op::Create,
                Method::POST,
                CREATE_PATH,
                Body::Json(bytes),
                &row.order_id,
            )
            .await?;
        match verdict {
            Verdict::Done(env) if env.field("linkId").is_some() => {
                let status = if env.code_is(&["1127"]) {
                    "APPROVAL_PENDING"
                } else {
                    "PENDING"
                };
                Ok(link_info(&env, status))
            }
            _ => Err(ProviderError::Ambiguous {
                message: "create answered without a linkId: look it up".into(),
            }),
        }
    }

    async fn status(&self, order_id: &str) -> Result<Lookup, ProviderError> {
        self.lookup(order_id, None).await
    }

    async fn status_of(&self, order_id: &str, link_id: &str) -> Result<Lookup, ProviderError> {
        self.lookup(order_id, Some(link_id)).await
    }

    fn follows_by_order_id(&self) -> bool {
        !self.paths.disabled(DETAILS_PATH)
    }

    async fn cancel(&self, order_id: &str, _link_id: &str) -> Result<(), ProviderError> {
        let body = query(&[("merchantRefId", order_id)]);
        self.call(
            Op::Cancel,
            Method::POST,
            CANCEL_PATH,
            Body::Form(body),
            order_id,
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(status: u8, code: Option<u64>, msg: &str, data: Value) -> Envelope {
        let body = json!({"status": status, "msg": msg, "code": code, "data": data});
        parse_envelope(body.to_string().as_bytes()).unwrap()
    }

    fn class(r: Result<Verdict, ProviderError>) -> String {
        match r {
            Ok(Verdict::Done(_)) => "done".into(),
            Ok(Verdict::Refused(_)) => "refused".into(),
            Ok(Verdict::Missing(_)) => "missing".into(),
            Err(ProviderError::Retryable { .. }) => "retryable".into(),
            Err(ProviderError::Duplicate { code, .. }) => format!("duplicate {code}"),
            Err(ProviderError::Ambiguous { .. }) => "ambiguous".into(),
            Err(ProviderError::Rejected { code, .. }) => format!("rejected {code}"),
            Err(ProviderError::Fatal { code, .. }) => format!("fatal {code}"),
        }
    }

    fn refused(op: Op, code: u64) -> String {
        class(classify_envelope(
            op,
            env(1, Some(code), "refused", Value::Null),
            None,
        ))
    }

    #[test]
    fn error_codes_are_classified_once() {
        for code in [1103, 1115, 1125] {
            assert_eq!(refused(Op::Create, code), format!("duplicate {code}"));
        }
        for code in [1101, 1102, 1104, 1105, 1106, 1107, 1108, 1109, 1114, 1121] {
            assert_eq!(refused(Op::Create, code), format!("rejected {code}"));
        }
        assert_eq!(refused(Op::Create, 1100), "fatal 1100");
        assert_eq!(refused(Op::Create, 1126), "fatal 1126");
        assert_eq!(refused(Op::Create, 1127), "ambiguous");
        assert_eq!(refused(Op::LinkStatus, 1112), "refused");
        assert_eq!(refused(Op::V1Status, 1112), "refused");
        for code in [1111, 1118, 1122, 1123, 1124, 1127] {
            assert_eq!(refused(Op::V1Status, code), format!("rejected {code}"));
            assert!(settled(Op::V1Status, &code.to_string()).is_some(), "{code}");
        }
        assert_eq!(
            settled(Op::V1Status, "1118"),
            Some((LinkState::Open, V1_DETAILS_FILLED))
        );
        assert_eq!(settled(Op::LinkStatus, "1118"), None);
        assert_eq!(settled(Op::Details, "1111"), None);
        assert_eq!(refused(Op::Cancel, 1110), "rejected 1110");
        // An approval-pending create that names its link proves the link exists.
        let pending = env(
            1,
            Some(1127),
            "APPROVAL_PENDING",
            json!({"linkId": "a/b+c"}),
        );
        assert_eq!(class(classify_envelope(Op::Create, pending, None)), "done");
        let not_found = env(
            1,
            None,
            "Smart Send Record not found with merchant reference id - X. Kindly fetch details after some time.",
            json!({"merchantRefId": null}),
        );
        assert_eq!(
            class(classify_envelope(Op::Details, not_found.clone(), None)),
            "refused"
        );
        assert_eq!(
            class(classify_envelope(Op::Create, not_found, None)),
            "rejected FAILED"
        );
        let busy = env(
            1,
            None,
            "Payout transaction in progress. Try after sometime!",
            Value::Null,
        );
        assert_eq!(
            class(classify_envelope(Op::Cancel, busy, None)),
            "retryable"
        );
    }

    #[test]
    fn http_and_transport_failures() {
        let http = |status, body: Result<Envelope, String>| Answer::Http {
            status,
            retry_after: Some(Duration::from_secs(2)),
            body,
        };
        assert_eq!(
            class(classify(Op::Create, Answer::NotSent("refused".into()))),
            "retryable"
        );
        assert_eq!(
            class(classify(Op::Create, Answer::Lost("reset".into()))),
            "ambiguous"
        );
        assert_eq!(
            class(classify(Op::Details, Answer::Lost("reset".into()))),
            "retryable"
        );
        assert_eq!(
            class(classify(Op::Create, http(502, Err("html".into())))),
            "ambiguous"
        );
        assert_eq!(
            class(classify(Op::Details, http(503, Err("html".into())))),
            "retryable"
        );
        match classify(Op::Create, http(429, Err("html".into()))) {
            Err(ProviderError::Retryable { after, .. }) => {
                assert_eq!(after, Some(Duration::from_secs(2)))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            class(classify(Op::Create, http(200, Err("html".into())))),
            "ambiguous"
        );
        // A read-only path that answers 404 may be missing at this host; a create may not.
        for op in [Op::Details, Op::LinkStatus, Op::V1Status, Op::Account] {
            assert_eq!(
                class(classify(op, http(404, Err("html".into())))),
                "missing"
            );
        }
        assert_eq!(
            class(classify(Op::Create, http(404, Err("html".into())))),
            "fatal HTTP_404"
        );
        assert_eq!(
            class(classify(Op::Extend, http(405, Err("html".into())))),
            "fatal HTTP_405"
        );
        assert_eq!(
            class(classify(Op::Details, http(401, Err("spring".into())))),
            "fatal HTTP_401"
        );
        // Paytm's envelope is not PayU's.
        assert!(parse_envelope(br#"{"status":"SUCCESS","statusCode":"PL_001"}"#).is_err());
    }

    #[test]
    fn statuses_in_payrun_terms() {
        use LinkState::*;
        for (smart, transfer, state) in [
            ("APPROVAL_PENDING", None, Open),
            ("APPROVED", None, Open),
            ("PENDING", None, Open),
            ("INITIATED", None, Open),
            ("SUCCESS", Some("IN_PROGRESS"), Open),
            ("SUCCESS", None, Open),
            ("SUCCESS", Some("SUCCESS"), Paid),
            ("SUCCESS", Some("REVERSED"), Failed),
            ("FAILED", Some("FAILED"), Open),
            ("REJECTED", None, Failed),
            ("EXPIRED", None, Expired),
            ("CANCELLED", None, Cancelled),
            ("SOMETHING_NEW", None, Open),
        ] {
            assert_eq!(link_state(smart, transfer), state, "{smart}/{transfer:?}");
        }
    }

    #[test]
    fn payu_timestamps() {
        assert_eq!(
            parse_timestamp_ms("1970-01-01T00:00:01.500+0000"),
            Some(1500)
        );
        assert_eq!(parse_timestamp_ms("1970-01-01T05:30:00.000+0530"), Some(0));
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:02.000Z"), Some(2000));
        assert_eq!(parse_timestamp_ms("soon"), None);
    }

    #[test]
    fn debug_shows_no_credential() {
        let config = |credentials| PayuConfig {
            credentials,
            merchant_id: "42".into(),
            auth_url: "http://127.0.0.1:9".into(),
            base_url: "http://127.0.0.1:9".into(),
            timeout: Duration::from_secs(1),
            disable_approval: false,
        };
        let client = config(Credentials::Client {
            client_id: "cid".into(),
            client_secret: "top-secret-1".into(),
        });
        let user = config(Credentials::User {
            client_id: TEST_PUBLIC_CLIENT_ID.into(),
            username: "ops@example.com".into(),
            password: "pass-word-9".into(),
        });
        let shown = format!(
            "{client:?} {user:?} {:?}",
            PayuClient::new(client.clone()).unwrap()
        );
        assert!(
            !shown.contains("top-secret-1") && !shown.contains("pass-word-9"),
            "{shown}"
        );
        assert!(shown.contains("cid") && shown.contains(crate::secret::MASK));
    }

    #[test]
    fn expiry_is_the_end_of_the_day_in_india() {
        let date = time::macros::date!(2026 - 03 - 20);
        assert_eq!(expiry_timestamp(date), "2026-03-20T18:29:59.000Z");
    }
}
