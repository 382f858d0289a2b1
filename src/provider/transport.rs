//! How a provider request travels: over HTTP (reqwest: pooled connections, timeouts, no
//! redirects), or, for deterministic simulation tests, straight into the simulator's router
//! in the same process, on the same runtime and clock. Either way the client sees the same
//! three outcomes, so its classification code cannot tell them apart.

use axum::body::Body;
pub use axum::http::Method;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tower::ServiceExt;

/// What became of a request.
#[derive(Debug)]
pub enum Sent {
    /// The request never left this process (connection refused, DNS failure).
    NotSent(String),
    /// The request was (or may have been) sent, and no answer head came back.
    Lost(String),
    /// An answer head came back. `body` is `Err` when the body was cut off.
    Answer {
        status: u16,
        retry_after: Option<String>,
        body: Result<Vec<u8>, String>,
    },
}

/// What came back from one request, before a provider interprets it: `Sent` with the
/// `Retry-After` read and the body parsed by the provider's envelope parser.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<E> {
    /// The request never left this process (connection refused, DNS failure).
    NotSent(String),
    /// The request was (or may have been) sent, and no answer head came back.
    Lost(String),
    /// An answer head came back; the body is an envelope or a description of what it was.
    Http {
        status: u16,
        retry_after: Option<Duration>,
        body: Result<E, String>,
    },
}

impl<E> Answer<E> {
    pub fn from_sent(sent: Sent, parse: impl FnOnce(&[u8]) -> Result<E, String>) -> Self {
        match sent {
            Sent::NotSent(why) => Answer::NotSent(why),
            Sent::Lost(why) => Answer::Lost(why),
            Sent::Answer {
                status,
                retry_after,
                body,
            } => Answer::Http {
                status,
                retry_after: retry_after
                    .and_then(|v| parse_retry_after(&v, time::OffsetDateTime::now_utc())),
                body: body.and_then(|b| parse(&b)),
            },
        }
    }
}

/// One request's answer as it came, unclassified, for `payrun doctor` to quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The HTTP status; `None` when no answer head came back.
    pub status: Option<u16>,
    /// An excerpt of the body, or what became of the request.
    pub body: String,
    /// The envelope's code (`""` when it has none), when the body is the provider's envelope.
    pub code: Option<String>,
}

impl Probe {
    /// `sent` as a probe; `code` reads the provider's envelope code from a body.
    pub(crate) fn from_sent(sent: Sent, code: impl FnOnce(&[u8]) -> Option<String>) -> Probe {
        match sent {
            Sent::NotSent(why) => Probe::nothing(format!("not sent: {why}")),
            Sent::Lost(why) => Probe::nothing(format!("no answer: {why}")),
            Sent::Answer { status, body, .. } => match body {
                Ok(bytes) => Probe {
                    status: Some(status),
                    body: excerpt(&bytes),
                    code: code(&bytes),
                },
                Err(why) => Probe {
                    status: Some(status),
                    body: why,
                    code: None,
                },
            },
        }
    }

    /// A request that got no answer, and why.
    pub(crate) fn nothing(why: String) -> Probe {
        Probe {
            status: None,
            body: why,
            code: None,
        }
    }

    /// The answer verbatim: `HTTP 404 <html>...`, or why there is none.
    pub fn verbatim(&self) -> String {
        match self.status {
            Some(status) => format!("HTTP {status} {}", self.body)
                .trim_end()
                .to_string(),
            None => self.body.clone(),
        }
    }
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to `now`.
pub(crate) fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    // A date in the past means "now".
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// The start of an answer body as text, for messages that quote the provider verbatim:
/// at most 200 characters, control characters escaped, whitespace runs collapsed.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * MAX)]);
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        if out.chars().count() > MAX {
            out = out.chars().take(MAX).collect();
            out.push('…');
            break;
        }
    }
    out
}

/// The largest answer body payrun reads: provider answers are a few kilobytes, and a body
/// from outside must never make the process allocate without bound.
pub const MAX_BODY: usize = 1 << 20;

/// Set once any request has been handed to a transport: from then on an error cannot say
/// "nothing was sent" (the exit code must tell the truth).
static SENT: AtomicBool = AtomicBool::new(false);

/// Whether this process has sent any provider request.
pub fn requests_sent() -> bool {
    SENT.load(Ordering::Relaxed)
}

/// A body as a JSON object (every provider envelope is one); otherwise what it was.
pub(crate) fn json_object(
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("answer is JSON but not an object".into()),
        Err(_) => Err(format!(
            "answer is not JSON ({} bytes): {}",
            body.len(),
            excerpt(body)
        )),
    }
}

/// A request: method, path (with any query) under the provider's base URL, headers, body.
pub struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug)]
pub enum Transport {
    Http {
        client: reqwest::Client,
        base_url: String,
    },
    /// The simulator's router, called in process; `timeout` is the client's timeout.
    InProcess {
        router: axum::Router,
        timeout: Duration,
    },
}

impl Transport {
    pub fn http(base_url: &str, timeout: Duration) -> Result<Transport, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            // A redirected POST may be replayed as a GET elsewhere; a redirect is a wrong URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("payrun/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Transport::Http {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    pub async fn send(&self, request: Request<'_>) -> Sent {
        SENT.store(true, Ordering::Relaxed);
        match self {
            Transport::Http { client, base_url } => {
                let url = format!("{base_url}{}", request.path);
                let mut builder = client.request(request.method, url);
                for (name, value) in request.headers {
                    builder = builder.header(name, value);
                }
                let response = match builder.body(request.body).send().await {
                    Ok(r) => r,
                    // A connect error (including a connect timeout) means no byte left.
                    Err(e) if e.is_connect() || e.is_builder() => {
                        return Sent::NotSent(describe(e))
                    }
                    Err(e) => return Sent::Lost(describe(e)),
                };
                let status = response.status().as_u16();
                let retry_after = header(response.headers());
                let body = read_capped(response).await;
                Sent::Answer {
                    status,
                    retry_after,
                    body,
                }
            }
            Transport::InProcess { router, timeout } => {
                let mut builder = axum::http::Request::builder()
                    .method(request.method)
                    .uri(request.path);
                for (name, value) in request.headers {
                    builder = builder.header(name, value);
                }
                let Ok(req) = builder.body(Body::from(request.body)) else {
                    return Sent::NotSent("cannot build the request".into());
                };
                let call = async {
                    let response = router
                        .clone()
                        .oneshot(req)
                        .await
                        .map_err(|e| e.to_string())?;
                    let status = response.status().as_u16();
                    let retry_after = header(response.headers());
                    let body = axum::body::to_bytes(response.into_body(), MAX_BODY)
                        .await
                        .map(|b| b.to_vec())
                        .map_err(|e| {
                            format!("answer cut off or larger than {MAX_BODY} bytes: {e}")
                        });
                    Ok::<_, String>(Sent::Answer {
                        status,
                        retry_after,
                        body,
                    })
                };
                match tokio::time::timeout(*timeout, call).await {
                    Ok(Ok(sent)) => sent,
                    Ok(Err(e)) => Sent::Lost(e),
                    Err(_) => Sent::Lost("timed out: no answer within the client timeout".into()),
                }
            }
        }
    }
}

/// The answer body, refused (an unusable answer) once it passes [`MAX_BODY`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_big = || format!("answer larger than {MAX_BODY} bytes: not a provider answer");
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("answer cut off: {}", describe(e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn header(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A transport error in words, without the URL and with the root cause.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "broken answer body"
    } else {
        "connection error"
    };
    let e = e.without_url();
    let mut root: &dyn std::error::Error = &e;
    while let Some(next) = root.source() {
        root = next;
    }
    format!("{kind}: {root}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = time::macros::datetime!(2015-10-21 07:28:00 UTC);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn probes_quote_the_answer_or_what_became_of_the_request() {
        let code = |b: &[u8]| (b.first() == Some(&b'{')).then(|| "PL_030".to_string());
        let answer = |body| Sent::Answer {
            status: 404,
            retry_after: None,
            body,
        };
        let html = Probe::from_sent(answer(Ok(b"<h1>Not\nFound</h1>".to_vec())), code);
        assert_eq!(html.verbatim(), "HTTP 404 <h1>Not Found</h1>");
        assert_eq!(html.code, None);
        let json = Probe::from_sent(answer(Ok(b"{}".to_vec())), code);
        assert_eq!(json.code.as_deref(), Some("PL_030"));
        let cut = Probe::from_sent(answer(Err("answer cut off".into())), code);
        assert_eq!(cut.verbatim(), "HTTP 404 answer cut off");
        let lost = Probe::from_sent(Sent::Lost("timed out".into()), code);
        assert_eq!(
            (lost.status, lost.verbatim()),
            (None, "no answer: timed out".into())
        );
    }

    #[test]
    fn excerpts_are_short_single_line_and_escaped() {
        assert_eq!(
            excerpt(b"<html>\n <h1>404  Not Found</h1>\x07</html>"),
            "<html> <h1>404 Not Found</h1>\\u{7}</html>"
        );
        let long = excerpt(&[b'a'; 5000]);
        assert_eq!(long.chars().count(), 201);
        assert_eq!(excerpt(b""), "");
    }
}
