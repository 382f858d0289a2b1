//! PayU's answer envelope and the one place where PayU's answers are classified into
//! `ProviderError` classes, and read into payrun's `LinkInfo`.
//!
//! Classification, by what is known about the request (as for Paytm): never sent →
//! `Retryable`; sent without a complete answer or answered 5xx → `Ambiguous` for a create,
//! `Retryable` otherwise; 429 → `Retryable` with `Retry-After`; a body that is not PayU's
//! `{status, msg, code, data}` envelope → `Ambiguous`/`Retryable`, or `Fatal` for 3xx/403/404/405
//! (a wrong URL). Envelope codes: see [`classify_envelope`].

use super::Op;
use crate::payout::{LinkInfo, LinkState};
use crate::provider::retryable;
use crate::provider::ProviderError;
use serde_json::{Map, Value};
use std::time::Duration;

/// PayU's answer envelope `{status: 0|1, msg, code, data}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Envelope {
    pub ok: bool,
    pub code: Option<String>,
    pub message: String,
    pub data: Option<Map<String, Value>>,
}

impl Envelope {
    pub(super) fn field(&self, name: &str) -> Option<String> {
        match self.data.as_ref()?.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub(super) fn code_is(&self, codes: &[&str]) -> bool {
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
    pub(super) fn verbatim(&self) -> String {
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
    let mut map = crate::provider::transport::json_object(body)?;
    let ok = match map.get("status") {
        Some(Value::Number(n)) if n.as_u64() == Some(0) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => false,
        Some(Value::String(s)) if s == "0" => true,
        Some(Value::String(s)) if s == "1" => false,
        _ => {
            return Err(format!(
                "answer is JSON without PayU's status 0 or 1: {}",
                crate::provider::transport::excerpt(body)
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
pub(crate) type Answer = crate::provider::transport::Answer<Envelope>;

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

pub(super) fn link_info(env: &Envelope, default_status: &str) -> LinkInfo {
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

/// The status paths answer a settled link with a failure code naming its state (v1 also
/// answers "details already filled" and the approval and transfer states that way).
pub(super) fn settled(op: Op, code: &str) -> Option<(LinkState, &'static str)> {
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
pub(super) fn v1_info(env: &Envelope) -> LinkInfo {
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
}
