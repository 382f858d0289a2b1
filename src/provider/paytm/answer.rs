//! Paytm's answer envelope and the one place where Paytm's answers (HTTP status, envelope
//! codes, transport failures) are classified into `ProviderError` classes, and read into
//! payrun's `LinkInfo` (`docs/PROVIDERS.md`).
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

use super::Op;
use crate::ist;
use crate::payout::{LinkInfo, LinkState};
use crate::provider::{retryable, ProviderError};
use serde_json::{Map, Value};
use std::time::Duration;

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
    let mut map = crate::provider::transport::json_object(body)?;
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
pub(crate) type Answer = crate::provider::transport::Answer<Envelope>;

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

pub(super) fn link_info(env: &Envelope) -> LinkInfo {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
