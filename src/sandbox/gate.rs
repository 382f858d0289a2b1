//! The traffic gate in front of every protocol endpoint (latency, rate limit with its
//! `Retry-After`, outage, garbled answers) and the answers of the network in front of a
//! provider: gateway pages, injected errors, answers lost mid-body.

use super::scenario::{self, Garbled, InjectedError, LostAnswer};
use super::{lock, Arrival, RetryAfter, Shared};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// The traffic gate in front of one protocol's endpoints; `busy` is that protocol's
/// "try again later" answer.
#[derive(Clone)]
pub(crate) struct Gate {
    pub shared: Arc<Shared>,
    pub busy: fn() -> Response,
}

/// Latency and rate limit, for every protocol request.
pub(crate) async fn traffic(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let config = gate.shared.config();
    gate.shared
        .counters
        .requests
        .fetch_add(1, Ordering::Relaxed);
    let before = config.latency / 2;
    tokio::time::sleep(before).await;
    let arrived = Instant::now();
    let number = gate.shared.counters.requests.load(Ordering::Relaxed);
    let response = if gate.shared.in_outage(&config) {
        gate.shared
            .counters
            .injected_errors
            .fetch_add(1, Ordering::Relaxed);
        unavailable()
    } else if gate.shared.admit(config.rate_limit) {
        let response = next.run(request).await;
        match scenario::garbled(&config, number) {
            Some(kind) => {
                gate.shared
                    .counters
                    .injected_errors
                    .fetch_add(1, Ordering::Relaxed);
                garbled(kind)
            }
            None => response,
        }
    } else {
        gate.shared
            .counters
            .throttled
            .fetch_add(1, Ordering::Relaxed);
        let mut busy = (gate.busy)();
        *busy.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        let when = match config.retry_after {
            RetryAfter::Seconds => Some("1".to_string()),
            RetryAfter::HttpDate => Some(http_date(
                std::time::SystemTime::now() + Duration::from_secs(1),
            )),
            RetryAfter::Absent => None,
        };
        if let Some(value) = when.and_then(|w| header::HeaderValue::from_str(&w).ok()) {
            busy.headers_mut().insert(header::RETRY_AFTER, value);
        }
        busy
    };
    let asked_to_wait = (response.status() == StatusCode::TOO_MANY_REQUESTS
        && config.retry_after == RetryAfter::Seconds)
        .then_some(Duration::from_secs(1));
    lock(&gate.shared.arrivals).push(Arrival {
        at: arrived,
        retry_after: asked_to_wait,
    });
    tokio::time::sleep(config.latency.saturating_sub(before)).await;
    response
}

/// An answer that is not what the protocol promises.
pub(crate) fn garbled(kind: Garbled) -> Response {
    let (status, content_type, body): (StatusCode, &str, &'static str) = match kind {
        Garbled::TruncatedJson => (
            StatusCode::OK,
            "application/json",
            r#"{"status":"SUCCESS","statusCode":"PL_0"#,
        ),
        Garbled::HtmlPage => (
            StatusCode::OK,
            "text/html",
            "<html><body>Service error</body></html>",
        ),
        Garbled::Empty => (StatusCode::OK, "application/json", ""),
        Garbled::WrongContentType => (StatusCode::OK, "text/plain", "OK"),
        Garbled::MissingFields => (
            StatusCode::OK,
            "application/json",
            r#"{"status":"SUCCESS"}"#,
        ),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as `Retry-After` carries it.
fn http_date(at: std::time::SystemTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from(at)
        .format(&format)
        .unwrap_or_default()
}

/// A 502 from a gateway: an HTML page, not the protocol's JSON.
pub(crate) fn bad_gateway() -> Response {
    let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "text/html")],
        page,
    )
        .into_response()
}

/// A 503 from a load balancer: an HTML page, not the protocol's JSON.
pub(crate) fn unavailable() -> Response {
    let page = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>";
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html")],
        page,
    )
        .into_response()
}

/// An injected error as the network in front of a protocol answers it; `internal` is the
/// protocol's own 500.
pub(crate) fn injected(error: InjectedError, internal: impl FnOnce() -> Response) -> Response {
    match error {
        InjectedError::Internal => internal(),
        InjectedError::Unavailable => unavailable(),
        InjectedError::BadGateway => bad_gateway(),
        InjectedError::Reset => lost(LostAnswer::Reset),
    }
}

/// The answer to a committed create, lost on the way back.
pub(crate) fn lost(kind: LostAnswer) -> Response {
    match kind {
        LostAnswer::Reset => (
            [(header::CONTENT_TYPE, "application/json")],
            Body::new(Severed { step: 0 }),
        )
            .into_response(),
        LostAnswer::GatewayTimeout => {
            let page = "<html><body><h1>504 Gateway Time-out</h1></body></html>";
            (
                StatusCode::GATEWAY_TIMEOUT,
                [(header::CONTENT_TYPE, "text/html")],
                page,
            )
                .into_response()
        }
    }
}

/// A response body that sends a few bytes and then fails, so the server cuts the connection
/// and the client sees its answer end mid-body.
struct Severed {
    step: u8,
}

impl HttpBody for Severed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.step = self.step.saturating_add(1);
        match self.step {
            1 => {
                let start = Bytes::from_static(br#"{"status":"SUCC"#);
                Poll::Ready(Some(Ok(http_body::Frame::data(start))))
            }
            // Yielding once lets the server flush the head and the first bytes, so the client
            // has a 200 in hand when the body breaks off.
            2 => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            _ => {
                let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "answer lost");
                Poll::Ready(Some(Err(cut)))
            }
        }
    }
}
