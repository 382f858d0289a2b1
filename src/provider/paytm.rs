//! The Paytm Payout Links client: request bodies, the `x-mid`/`x-checksum` signature over the
//! exact bytes sent, and the one place where Paytm's answers (HTTP status, envelope codes,
//! transport failures) are classified into `ProviderError` classes (`reference/providers.md`
//! §1 and §6.2).
//!
//! Classification rules, by what is known about the request:
//! - Never sent (connection refused, DNS): `Retryable`.
//! - Sent, no complete answer (timeout, reset, body cut off): `Ambiguous` for a create (it may
//!   have committed), `Retryable` for status, deactivate and resend (repeating them is safe).
//! - HTTP 429: `Retryable` with `Retry-After`. HTTP 5xx: `Ambiguous` for a create, `Retryable`
//!   otherwise — unless the envelope says `PL_041`, which promises nothing was done.
//! - A body that is not a Paytm envelope: `Ambiguous` for a create, `Retryable` otherwise;
//!   but 3xx/401/403/404/405 without an envelope mean a wrong base URL or credentials: `Fatal`.
//! - Envelope codes: see [`classify`].

use super::checksum;
use super::paths::Paths;
use super::transport::{Method, Probe, Request, Transport};
use super::{retryable, Lookup, Provider, ProviderError};
use crate::ist;
use crate::payout::PayoutRow;
use crate::payout::{LinkInfo, LinkState};
use crate::secret::Secret;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

pub const STAGING_URL: &str = "https://staging-dashboard.paytm.com";

/// Account and endpoint of one Paytm merchant. The merchant key is a [`Secret`].
#[derive(Clone, Debug)]
pub struct PaytmConfig {
    pub mid: String,
    pub merchant_key: Secret,
    pub subwallet_guid: String,
    /// Scheme and host without a trailing slash, e.g. [`STAGING_URL`].
    pub base_url: String,
    /// Whole-request timeout (connect, send, answer).
    pub timeout: Duration,
}

/// The Paytm Payout Links API operations payrun uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Status,
    Deactivate,
    Resend,
}

/// The requests `payrun doctor` sends raw, by the id each names: none can move money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probed<'a> {
    /// A status lookup of an order id.
    Fetch(&'a str),
    /// A resend of a link id.
    Resend(&'a str),
    /// A deactivate of a link id.
    Deactivate(&'a str),
}

impl Probed<'_> {
    fn op(self) -> Op {
        match self {
            Probed::Fetch(_) => Op::Status,
            Probed::Resend(_) => Op::Resend,
            Probed::Deactivate(_) => Op::Deactivate,
        }
    }

    /// The endpoint the probe asks.
    pub(crate) fn path(self) -> &'static str {
        self.op().path()
    }
}

impl Op {
    fn path(self) -> &'static str {
        match self {
            Op::Create => "/pls/api/v1/payout-link/create",
            Op::Status => "/pls/api/v2/payout-link/fetch",
            Op::Deactivate => "/pls/api/v1/payout-link/deactivate",
            Op::Resend => "/pls/api/v1/payout-link/resend",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Status => "status",
            Op::Deactivate => "deactivate",
            Op::Resend => "resend",
        }
    }

    /// Only a create moves money if repeated; everything else is safe to send again.
    fn may_commit(self) -> bool {
        self == Op::Create
    }
}

/// A Paytm answer envelope `{status, statusCode, statusMessage, result}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Envelope {
    pub status: String,
    pub code: String,
    pub message: String,
    /// `result`, when it is a non-empty object.
    pub result: Option<Map<String, Value>>,
}

impl Envelope {
    fn is_success(&self) -> bool {
        self.code == "PL_001" || self.status.eq_ignore_ascii_case("SUCCESS")
    }

    fn field(&self, name: &str) -> Option<String> {
        match self.result.as_ref()?.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A result that names a link proves the link exists, whatever else the answer says.
    fn names_link(&self) -> bool {
        self.field("payoutLinkId").is_some()
    }

    fn says(&self, words: &[&str]) -> bool {
        let message = self.message.to_ascii_lowercase();
        words.iter().any(|w| message.contains(w))
    }

    fn describe(&self) -> String {
        if self.message.is_empty() {
            format!("status {}", self.status)
        } else {
            self.message.clone()
        }
    }

    /// The answer as Paytm gave it, for the journal: `FAILURE PL_057: Invalid request`.
    fn verbatim(&self) -> String {
        let mut text = format!("{} {}: {}", self.status, self.code, self.message);
        if self.result.is_none() {
            text.push_str(" (no result)");
        }
        text
    }
}

/// Parses a body as a Paytm envelope; anything else is an error describing the body.
pub(crate) fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let mut map = super::transport::json_object(body)?;
    let text = |map: &Map<String, Value>, key: &str| match map.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => String::new(),
    };
    let envelope = Envelope {
        status: text(&map, "status"),
        code: text(&map, "statusCode"),
        message: text(&map, "statusMessage"),
        result: match map.remove("result") {
            Some(Value::Object(r)) if !r.is_empty() => Some(r),
            _ => None,
        },
    };
    if envelope.status.is_empty() && envelope.code.is_empty() {
        return Err("answer is JSON without status or statusCode".into());
    }
    Ok(envelope)
}

/// What came back from one Paytm request, before interpretation.
pub(crate) type Answer = super::transport::Answer<Envelope>;

/// A usable answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Done(Envelope),
    /// A status lookup refused the order id without naming a link (any failure code, an
    /// HTTP 404, a success without a result), quoted. Whether that means "no such link"
    /// depends on whether the lookup has proved itself (`Paths`).
    Refused(String),
}

/// Envelope codes that mean our account, credentials or configuration are wrong: every other
/// request would fail the same way.
const FATAL_CODES: &[&str] = &[
    "PL_019", // MID not valid
    "PL_023", // MID not active
    "PL_054", // subwalletGuid not correct
    "PL_401", // authentication parameters required
    "PL_402", // access denied
    "PL_403", // API not found (wrong base URL or path)
    "PL_404", // unable to authenticate (checksum)
    "PL_405", // remote address not allowed (inferred)
];

/// The one classification of a Paytm answer for operation `op`. Envelope codes:
/// `PL_001`/SUCCESS → done; `PL_041` → retryable; [`FATAL_CODES`] → fatal; `PL_500` → ambiguous
/// on create, retryable otherwise; `PL_040` or a "duplicate" message on create → duplicate
/// (look the order id up); on a status lookup, any other failure, a success without a result
/// or an HTTP 404 → refused (Paytm never documented how an unknown order id is answered);
/// any other failure → rejected.
pub(crate) fn classify(op: Op, answer: Answer) -> Result<Verdict, ProviderError> {
    match answer {
        Answer::NotSent(detail) => Err(retryable(None, "network", format!("not sent: {detail}"))),
        Answer::Lost(detail) => Err(no_answer(op, "network", format!("no answer: {detail}"))),
        Answer::Http {
            status,
            retry_after,
            body,
        } => classify_http(op, status, retry_after, body),
    }
}

fn classify_http(
    op: Op,
    status: u16,
    retry_after: Option<Duration>,
    body: Result<Envelope, String>,
) -> Result<Verdict, ProviderError> {
    let http_code = format!("HTTP_{status}");
    if op == Op::Status && status == 404 {
        let said = match &body {
            Ok(env) => env.verbatim(),
            Err(detail) => detail.clone(),
        };
        return Ok(Verdict::Refused(format!("HTTP 404: {said}")));
    }
    match body {
        Ok(env) if env.code == "PL_041" => Err(retryable(retry_after, &env.code, env.describe())),
        Ok(env) if status == 429 => {
            let code = if env.code.is_empty() {
                &http_code
            } else {
                &env.code
            };
            Err(retryable(retry_after, code, env.describe()))
        }
        Err(detail) if status == 429 => Err(retryable(retry_after, &http_code, detail)),
        // A 5xx may come after the create committed (a gateway timing out, a crash mid-way).
        Ok(env) if status >= 500 => Err(server_error(op, retry_after, &http_code, env.describe())),
        Err(detail) if status >= 500 => Err(server_error(op, retry_after, &http_code, detail)),
        Ok(env) => classify_envelope(op, env, retry_after),
        Err(detail) => classify_unreadable(op, status, &http_code, detail),
    }
}

fn classify_envelope(
    op: Op,
    env: Envelope,
    retry_after: Option<Duration>,
) -> Result<Verdict, ProviderError> {
    if matches!(op, Op::Create | Op::Status) && env.names_link() {
        return Ok(Verdict::Done(env));
    }
    if env.is_success() {
        if op == Op::Status {
            return Ok(Verdict::Refused(env.verbatim()));
        }
        return Ok(Verdict::Done(env));
    }
    let code = if env.code.is_empty() {
        "FAILURE".to_string()
    } else {
        env.code.clone()
    };
    let message = env.describe();
    // Fatal codes go first: "API not found" must never read as "link not found".
    if FATAL_CODES.contains(&code.as_str()) {
        return Err(ProviderError::Fatal { code, message });
    }
    if code == "PL_041" {
        return Err(retryable(retry_after, &code, message));
    }
    if code == "PL_500" {
        return Err(server_error(op, retry_after, &code, message));
    }
    if op == Op::Create && (code == "PL_040" || env.says(&["duplicate"])) {
        return Err(ProviderError::Duplicate {
            message: env.verbatim(),
            code,
        });
    }
    if op == Op::Status {
        return Ok(Verdict::Refused(env.verbatim()));
    }
    Err(ProviderError::Rejected { code, message })
}

/// An answer head with a body that is not a Paytm envelope (a proxy page, garbage, a cut body).
fn classify_unreadable(
    op: Op,
    status: u16,
    http_code: &str,
    detail: String,
) -> Result<Verdict, ProviderError> {
    match status {
        300..=399 => Err(ProviderError::Fatal {
            code: http_code.into(),
            message: format!("redirected ({detail}); check the Paytm base URL"),
        }),
        401 | 403 => Err(ProviderError::Fatal {
            code: http_code.into(),
            message: format!("access refused ({detail}); check the Paytm credentials"),
        }),
        404 | 405 => Err(ProviderError::Fatal {
            code: http_code.into(),
            message: format!("no such endpoint ({detail}); check the Paytm base URL"),
        }),
        408 => Err(retryable(None, http_code, detail)),
        _ => Err(no_answer(op, http_code, detail)),
    }
}

/// The request reached Paytm but the answer says nothing usable.
fn no_answer(op: Op, code: &str, message: String) -> ProviderError {
    if op.may_commit() {
        ProviderError::Ambiguous {
            message: format!("{message} ({code}); the link may exist: look it up"),
        }
    } else {
        retryable(None, code, message)
    }
}

fn server_error(op: Op, after: Option<Duration>, code: &str, message: String) -> ProviderError {
    if op.may_commit() {
        no_answer(op, code, format!("server error: {message}"))
    } else {
        retryable(after, code, format!("server error: {message}"))
    }
}

/// Paytm's `payoutLinkStatus` in payrun's terms.
pub(crate) fn link_state(status: &str) -> LinkState {
    match status.trim().to_ascii_uppercase().as_str() {
        "LINK_PROCESSING" | "PENDING" | "ACTIVE" | "INITIATED" => LinkState::Open,
        "SUCCESS" => LinkState::Paid,
        "FAILURE" | "LINK_FAILED" => LinkState::Failed,
        "CANCELLED" => LinkState::Cancelled,
        "EXPIRED" => LinkState::Expired,
        other => {
            tracing::warn!(
                status = other,
                "unknown Paytm payoutLinkStatus; treating the link as open"
            );
            LinkState::Open
        }
    }
}

fn link_info(env: &Envelope) -> LinkInfo {
    let provider_status = env.field("payoutLinkStatus");
    LinkInfo {
        state: provider_status
            .as_deref()
            .map_or(LinkState::Open, link_state),
        link_id: env.field("payoutLinkId"),
        link_url: env.field("payoutLink"),
        provider_status,
        code: Some(env.code.clone()).filter(|c| !c.is_empty()),
        message: Some(env.message.clone()).filter(|m| !m.is_empty()),
        expires_at: env
            .field("expiryDate")
            .and_then(|d| ist::parse_iso(&d))
            .map(ist::end_of_day_ms),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    mid: &'a str,
    order_id: &'a str,
    subwallet_guid: &'a str,
    amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_name: Option<&'a str>,
    /// Validation requires it for Paytm; a row without one is refused by Paytm, not sent blank.
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_phone_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_date: Option<String>,
    notify_mode: Vec<&'static str>,
    comments: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderBody<'a> {
    mid: &'a str,
    order_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkBody<'a> {
    mid: &'a str,
    payout_link_id: &'a str,
}

/// A Paytm Payout Links client: every request signed, sent over one transport.
#[derive(Debug)]
pub struct PaytmClient {
    transport: Transport,
    config: PaytmConfig,
    paths: Paths,
}

impl PaytmClient {
    pub fn new(config: PaytmConfig) -> Result<Self, reqwest::Error> {
        let transport = Transport::http(&config.base_url, config.timeout)?;
        Ok(Self::with_transport(config, transport))
    }

    /// A client over another transport (the simulator in process, for simulation tests).
    pub fn with_transport(config: PaytmConfig, transport: Transport) -> Self {
        PaytmClient {
            transport,
            config,
            paths: Paths::default(),
        }
    }

    /// Re-sends the SMS/e-mail of an active link.
    pub async fn resend(&self, link_id: &str) -> Result<(), ProviderError> {
        let body = LinkBody {
            mid: &self.config.mid,
            payout_link_id: link_id,
        };
        self.call(Op::Resend, &body, link_id).await.map(|_| ())
    }

    /// Sends one signed request that cannot move money and returns the answer as it came,
    /// unclassified (`payrun doctor`).
    pub(crate) async fn probe(&self, probed: Probed<'_>) -> Probe {
        let mid = self.config.mid.as_str();
        let signed = match probed {
            Probed::Fetch(order_id) => self.signed(probed.op(), &OrderBody { mid, order_id }),
            Probed::Resend(payout_link_id) | Probed::Deactivate(payout_link_id) => self.signed(
                probed.op(),
                &LinkBody {
                    mid,
                    payout_link_id,
                },
            ),
        };
        let (bytes, signature) = match signed {
            Ok(signed) => signed,
            Err(e) => return Probe::nothing(format!("not sent: {e}")),
        };
        let sent = self
            .transport
            .send(self.request(probed.op(), bytes, signature))
            .await;
        Probe::from_sent(sent, |b| parse_envelope(b).ok().map(|e| e.code))
    }

    /// The body serialized once, and the signature over exactly those bytes.
    fn signed(&self, op: Op, body: &impl Serialize) -> Result<(Vec<u8>, String), ProviderError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ProviderError::Fatal {
            code: "REQUEST".into(),
            message: format!("cannot encode the {} request: {e}", op.name()),
        })?;
        let signature = checksum::sign(&bytes, self.config.merchant_key.expose()).map_err(|e| {
            ProviderError::Fatal {
                code: "CONFIG".into(),
                message: e.to_string(),
            }
        })?;
        Ok((bytes, signature))
    }

    /// Serializes once, signs those bytes, sends the same bytes, classifies the answer.
    async fn call(
        &self,
        op: Op,
        body: &impl Serialize,
        id: &str,
    ) -> Result<Verdict, ProviderError> {
        let (bytes, signature) = self.signed(op, body)?;
        let answer = self.send(op, bytes, signature).await;
        let verdict = classify(op, answer);
        match &verdict {
            Ok(Verdict::Done(env)) => {
                tracing::debug!(op = op.name(), id, code = %env.code, "paytm answered")
            }
            Ok(Verdict::Refused(said)) => {
                tracing::debug!(op = op.name(), id, "paytm refused the lookup: {said}")
            }
            Err(e) => tracing::debug!(op = op.name(), id, "paytm call failed: {e}"),
        }
        verdict
    }

    async fn send(&self, op: Op, bytes: Vec<u8>, signature: String) -> Answer {
        let request = self.request(op, bytes, signature);
        Answer::from_sent(self.transport.send(request).await, parse_envelope)
    }

    fn request(&self, op: Op, bytes: Vec<u8>, signature: String) -> Request<'static> {
        Request {
            method: Method::POST,
            path: op.path(),
            headers: vec![
                ("x-mid", self.config.mid.clone()),
                ("x-checksum", signature),
                ("content-type", "application/json".into()),
            ],
            body: bytes,
        }
    }
}

impl Provider for PaytmClient {
    async fn create(&self, row: &PayoutRow) -> Result<LinkInfo, ProviderError> {
        let body = CreateBody {
            mid: &self.config.mid,
            order_id: &row.order_id,
            subwallet_guid: &self.config.subwallet_guid,
            amount: row.amount.to_rupees_string(),
            beneficiary_name: row.name.as_deref(),
            beneficiary_phone_no: row.phone.as_deref(),
            beneficiary_email: row.email.as_deref(),
            expiry_date: row.expiry.map(ist::iso),
            notify_mode: row.notify.modes(),
            comments: &row.comments,
        };
        match self.call(Op::Create, &body, &row.order_id).await? {
            Verdict::Done(env) => {
                let info = link_info(&env);
                if info.link_id.is_none() {
                    return Err(ProviderError::Ambiguous {
                        message: "create accepted but the answer names no link: look it up".into(),
                    });
                }
                Ok(info)
            }
            // `classify` refuses only status lookups.
            Verdict::Refused(said) => Err(ProviderError::Ambiguous {
                message: format!("create answered without a link ({said}): look it up"),
            }),
        }
    }

    async fn status(&self, order_id: &str) -> Result<Lookup, ProviderError> {
        let body = OrderBody {
            mid: &self.config.mid,
            order_id,
        };
        Ok(match self.call(Op::Status, &body, order_id).await? {
            Verdict::Done(env) => {
                self.paths.prove(Op::Status.path());
                Lookup::Found(link_info(&env))
            }
            Verdict::Refused(said) => self.paths.refusal(Op::Status.path(), said),
        })
    }

    async fn cancel(&self, _order_id: &str, link_id: &str) -> Result<(), ProviderError> {
        let body = LinkBody {
            mid: &self.config.mid,
            payout_link_id: link_id,
        };
        self.call(Op::Deactivate, &body, link_id).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::row;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    fn env(status: &str, code: &str, message: &str, result: Option<Value>) -> Envelope {
        let mut body = json!({"status": status, "statusCode": code, "statusMessage": message});
        if let Some(r) = result {
            body["result"] = r;
        }
        parse_envelope(body.to_string().as_bytes()).unwrap()
    }

    fn http(status: u16, body: Result<Envelope, String>) -> Answer {
        Answer::Http {
            status,
            retry_after: None,
            body,
        }
    }

    fn failure(code: &str, message: &str) -> Answer {
        http(200, Ok(env("FAILURE", code, message, None)))
    }

    fn class(r: Result<Verdict, ProviderError>) -> &'static str {
        match r {
            Ok(Verdict::Done(_)) => "done",
            Ok(Verdict::Refused(_)) => "refused",
            Err(ProviderError::Retryable { .. }) => "retryable",
            Err(ProviderError::Ambiguous { .. }) => "ambiguous",
            Err(ProviderError::Duplicate { .. }) => "duplicate",
            Err(ProviderError::Rejected { .. }) => "rejected",
            Err(ProviderError::Fatal { .. }) => "fatal",
        }
    }

    #[test]
    fn transport_failures_depend_on_whether_the_request_left() {
        let not_sent = || Answer::NotSent("refused".into());
        let lost = || Answer::Lost("timed out".into());
        assert_eq!(class(classify(Op::Create, not_sent())), "retryable");
        assert_eq!(class(classify(Op::Create, lost())), "ambiguous");
        assert_eq!(class(classify(Op::Status, lost())), "retryable");
        assert_eq!(class(classify(Op::Deactivate, lost())), "retryable");
        assert_eq!(class(classify(Op::Resend, lost())), "retryable");
    }

    #[test]
    fn http_statuses() {
        let busy = Answer::Http {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
            body: Err("not JSON".into()),
        };
        match classify(Op::Create, busy) {
            Err(ProviderError::Retryable { after, code, .. }) => {
                assert_eq!(after, Some(Duration::from_secs(3)));
                assert_eq!(code, "HTTP_429");
            }
            other => panic!("{other:?}"),
        }
        for status in [500, 502, 503, 504] {
            assert_eq!(
                class(classify(Op::Create, http(status, Err("x".into())))),
                "ambiguous"
            );
            assert_eq!(
                class(classify(Op::Status, http(status, Err("x".into())))),
                "retryable"
            );
            let pl500 = || http(status, Ok(env("FAILURE", "PL_500", "oops", None)));
            assert_eq!(class(classify(Op::Create, pl500())), "ambiguous");
            assert_eq!(class(classify(Op::Deactivate, pl500())), "retryable");
        }
        // PL_041 promises nothing was done, even behind a 503.
        let throttled = http(503, Ok(env("FAILURE", "PL_041", "try later", None)));
        assert_eq!(class(classify(Op::Create, throttled)), "retryable");
    }

    #[test]
    fn unreadable_bodies() {
        assert_eq!(
            class(classify(Op::Create, http(200, Err("html".into())))),
            "ambiguous"
        );
        assert_eq!(
            class(classify(Op::Status, http(200, Err("html".into())))),
            "retryable"
        );
        assert_eq!(
            class(classify(Op::Create, http(400, Err("html".into())))),
            "ambiguous"
        );
        assert_eq!(
            class(classify(Op::Create, http(408, Err("html".into())))),
            "retryable"
        );
        for status in [301, 401, 403, 405] {
            assert_eq!(
                class(classify(Op::Status, http(status, Err("x".into())))),
                "fatal",
                "{status}"
            );
        }
        // A 404 to a lookup may be how Paytm says "no such order id": a refusal, never fatal.
        assert_eq!(
            class(classify(Op::Status, http(404, Err("x".into())))),
            "refused"
        );
        assert_eq!(
            class(classify(Op::Create, http(404, Err("x".into())))),
            "fatal"
        );
        assert!(parse_envelope(b"<html>").is_err());
        assert!(parse_envelope(b"[1,2]").is_err());
        assert!(parse_envelope(br#"{"result":{}}"#).is_err());
    }

    #[test]
    fn envelope_codes() {
        let ok = http(
            200,
            Ok(env(
                "SUCCESS",
                "PL_001",
                "ok",
                Some(json!({"payoutLinkId": "L1"})),
            )),
        );
        assert_eq!(class(classify(Op::Create, ok)), "done");
        assert_eq!(
            class(classify(
                Op::Create,
                failure("PL_041", "try after some time")
            )),
            "retryable"
        );
        for code in [
            "PL_404", "PL_401", "PL_402", "PL_019", "PL_023", "PL_405", "PL_054", "PL_403",
        ] {
            assert_eq!(
                class(classify(Op::Create, failure(code, "nope"))),
                "fatal",
                "{code}"
            );
            assert_eq!(
                class(classify(Op::Status, failure(code, "API not found"))),
                "fatal",
                "{code}"
            );
        }
        assert_eq!(
            class(classify(
                Op::Create,
                failure("PL_040", "Duplicate order id")
            )),
            "duplicate"
        );
        assert_eq!(
            class(classify(
                Op::Create,
                failure("PL_1210", "Duplicate OrderId")
            )),
            "duplicate"
        );
        for code in [
            "PL_010", "PL_011", "PL_013", "PL_021", "PL_057", "PL_400", "PL_9999",
        ] {
            match classify(Op::Create, failure(code, "bad field")) {
                Err(ProviderError::Rejected { code: c, message }) => {
                    assert_eq!(c, code);
                    assert_eq!(message, "bad field");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        assert_eq!(
            class(classify(Op::Create, failure("PL_500", "error"))),
            "ambiguous"
        );
        assert_eq!(
            class(classify(Op::Status, failure("PL_500", "error"))),
            "retryable"
        );
        let retry = Answer::Http {
            status: 200,
            retry_after: Some(Duration::from_secs(2)),
            body: Ok(env("FAILURE", "PL_041", "busy", None)),
        };
        assert!(matches!(
            classify(Op::Status, retry),
            Err(ProviderError::Retryable { after: Some(a), .. }) if a == Duration::from_secs(2)
        ));
    }

    #[test]
    fn every_lookup_refusal_that_names_no_link_is_quoted() {
        let msg = "No payout link found for the given order id";
        for (code, text) in [
            ("PL_030", msg),
            ("PL_057", "Invalid request"),
            ("PL_011", "Invalid value of orderId"),
            ("PL_1299", "Request could not be processed"),
        ] {
            match classify(Op::Status, failure(code, text)) {
                Ok(Verdict::Refused(said)) => {
                    assert_eq!(said, format!("FAILURE {code}: {text} (no result)"))
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        let empty = http(200, Ok(env("SUCCESS", "PL_001", "ok", Some(json!({})))));
        assert_eq!(class(classify(Op::Status, empty)), "refused");
        let absent = http(200, Ok(env("SUCCESS", "PL_001", "ok", None)));
        assert_eq!(class(classify(Op::Status, absent)), "refused");
        let html = parse_envelope(b"<html><h1>404 Not Found</h1></html>");
        match classify(Op::Status, http(404, html)) {
            Ok(Verdict::Refused(said)) => assert!(said.contains("404 Not Found"), "{said}"),
            other => panic!("{other:?}"),
        }
        // Only lookups have a "not found" outcome; a deactivate of an unknown link is refused.
        assert_eq!(
            class(classify(Op::Deactivate, failure("PL_030", msg))),
            "rejected"
        );
        // A result naming a link means it exists, even when the envelope says FAILURE.
        let failed = env(
            "FAILURE",
            "DE_002",
            "payout failed",
            Some(json!({"payoutLinkId": "L", "payoutLinkStatus": "FAILURE"})),
        );
        assert_eq!(class(classify(Op::Status, http(200, Ok(failed)))), "done");
    }

    #[test]
    fn link_statuses() {
        for s in [
            "LINK_PROCESSING",
            "PENDING",
            "ACTIVE",
            "INITIATED",
            "SOMETHING_NEW",
            "",
        ] {
            assert_eq!(link_state(s), LinkState::Open, "{s}");
        }
        assert_eq!(link_state("SUCCESS"), LinkState::Paid);
        assert_eq!(link_state("FAILURE"), LinkState::Failed);
        assert_eq!(link_state("LINK_FAILED"), LinkState::Failed);
        assert_eq!(link_state("CANCELLED"), LinkState::Cancelled);
        assert_eq!(link_state("expired"), LinkState::Expired);
    }

    #[test]
    fn link_info_from_a_fetch_answer() {
        let e = env(
            "SUCCESS",
            "PL_001",
            "Success",
            Some(
                json!({"payoutLinkId": "ABC", "payoutLink": "https://x/l/ABC", "payoutLinkStatus": "SUCCESS"}),
            ),
        );
        let info = link_info(&e);
        assert_eq!(info.state, LinkState::Paid);
        assert_eq!(info.link_id.as_deref(), Some("ABC"));
        assert_eq!(info.link_url.as_deref(), Some("https://x/l/ABC"));
        assert_eq!(info.provider_status.as_deref(), Some("SUCCESS"));
        assert_eq!(info.code.as_deref(), Some("PL_001"));
        assert_eq!(info.message.as_deref(), Some("Success"));
    }

    const KEY: &str = "abcdefghijklmnop";

    fn config(base_url: String, timeout: Duration) -> PaytmConfig {
        PaytmConfig {
            mid: "MID0001".into(),
            merchant_key: KEY.into(),
            subwallet_guid: "28054249-0000-0000-af8f-fa163e429e83".into(),
            base_url,
            timeout,
        }
    }

    #[test]
    fn debug_hides_the_merchant_key() {
        let c = config("http://x".into(), Duration::from_secs(1));
        let shown = format!("{c:?} {:?}", PaytmClient::new(c.clone()).unwrap());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    type Captured = Arc<Mutex<Vec<(String, axum::http::HeaderMap, Vec<u8>)>>>;

    /// A server that records every request and answers with `reply` after `delay`.
    async fn capture(reply: Value, delay: Duration) -> (String, Captured) {
        let seen: Captured = Arc::default();
        let store = Arc::clone(&seen);
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let store = Arc::clone(&store);
                let reply = reply.clone();
                async move {
                    store
                        .lock()
                        .unwrap()
                        .push((uri.path().to_string(), headers, body.to_vec()));
                    tokio::time::sleep(delay).await;
                    axum::Json(reply)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), seen)
    }

    #[tokio::test]
    async fn sends_the_exact_bytes_it_signed() {
        let reply = json!({"status": "SUCCESS", "statusCode": "PL_001", "statusMessage": "ok",
            "result": {"payoutLinkId": "L1", "payoutLink": "https://l/L1", "payoutLinkStatus": "LINK_PROCESSING"}});
        let (base, seen) = capture(reply, Duration::ZERO).await;
        let client = PaytmClient::new(config(base, Duration::from_secs(5))).unwrap();
        let info = client.create(&row("ORD1", 150_050)).await.unwrap();
        assert_eq!(info.link_id.as_deref(), Some("L1"));
        assert_eq!(info.state, LinkState::Open);
        client.status("ORD1").await.unwrap();
        client.cancel("O1", "L1").await.unwrap();
        client.resend("L1").await.unwrap();

        let seen = seen.lock().unwrap();
        let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                Op::Create.path(),
                Op::Status.path(),
                Op::Deactivate.path(),
                Op::Resend.path()
            ]
        );
        for (_, headers, body) in seen.iter() {
            assert_eq!(headers["x-mid"], "MID0001");
            assert_eq!(headers["content-type"], "application/json");
            let sig = headers["x-checksum"].to_str().unwrap();
            assert_eq!(sig.len(), 108);
            assert!(checksum::verify(body, KEY, sig));
        }
        let create: Value = serde_json::from_slice(&seen[0].2).unwrap();
        assert_eq!(
            create,
            json!({"mid": "MID0001", "orderId": "ORD1", "subwalletGuid": "28054249-0000-0000-af8f-fa163e429e83",
                "amount": "1500.50", "beneficiaryName": "Asha Rao", "beneficiaryPhoneNo": "9876543210",
                "notifyMode": ["SMS"], "comments": "March incentive"})
        );
        let status: Value = serde_json::from_slice(&seen[1].2).unwrap();
        assert_eq!(status, json!({"mid": "MID0001", "orderId": "ORD1"}));
        let cancel: Value = serde_json::from_slice(&seen[2].2).unwrap();
        assert_eq!(cancel, json!({"mid": "MID0001", "payoutLinkId": "L1"}));
    }

    #[tokio::test]
    async fn a_create_without_a_link_id_is_ambiguous() {
        let (base, _) = capture(
            json!({"status": "SUCCESS", "statusCode": "PL_001"}),
            Duration::ZERO,
        )
        .await;
        let client = PaytmClient::new(config(base, Duration::from_secs(5))).unwrap();
        let err = client.create(&row("ORD2", 100)).await.unwrap_err();
        assert!(matches!(err, ProviderError::Ambiguous { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_timeout_is_ambiguous_for_create_and_retryable_for_status() {
        let (base, seen) = capture(json!({}), Duration::from_secs(5)).await;
        let client = PaytmClient::new(config(base, Duration::from_millis(200))).unwrap();
        let err = client.create(&row("ORD3", 100)).await.unwrap_err();
        assert!(matches!(err, ProviderError::Ambiguous { .. }), "{err:?}");
        let err = client.status("ORD3").await.unwrap_err();
        assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
        assert_eq!(
            seen.lock().unwrap().len(),
            2,
            "both requests reached the server"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable_even_for_create() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client =
            PaytmClient::new(config(format!("http://{addr}"), Duration::from_secs(2))).unwrap();
        let err = client.create(&row("ORD4", 100)).await.unwrap_err();
        assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_bad_merchant_key_is_fatal_and_never_shown() {
        let mut c = config("http://127.0.0.1:9".into(), Duration::from_secs(1));
        c.merchant_key = "short-secret".into();
        let err = PaytmClient::new(c)
            .unwrap()
            .create(&row("ORD5", 100))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::Fatal { .. }), "{err:?}");
        assert!(!err.to_string().contains("short-secret"));
    }
}
