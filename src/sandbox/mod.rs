//! The simulator behind `payrun sandbox` and `payrun run --sandbox`: a real HTTP server (axum)
//! that speaks the providers' protocols with built-in test credentials, simulates
//! beneficiaries, and injects faults. This module owns what every protocol shares: the
//! configuration, starting and stopping, the router, the traffic gate (latency and rate
//! limit), the fault bookkeeping and the `/__sandbox/*` endpoints tests read.
//!
//! - `dialect`: the plausible realities the simulator can speak where the documentation is
//!   silent, and their names.
//! - `ledger`: the links held, their lazily computed lifecycle, the ledger view.
//! - `scenario`: seeded beneficiary behaviour, link ids and fault decisions.
//! - `paytm`: the Paytm Payout Links endpoints.
//! - `payu`: the PayU Payouts token and Smart Send endpoints.

mod dialect;
mod ledger;
mod paytm;
mod payu;
mod scenario;

pub use dialect::{Dialect, UnknownDialect};
pub use ledger::LedgerEntry;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ledger::Ledger;
use scenario::{Garbled, InjectedError, LostAnswer};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub const SANDBOX_MID: &str = "PAYRUNSANDBOX00000001";
/// 16 bytes, as Paytm's AES-128 checksum needs.
pub const SANDBOX_KEY: &str = "sandboxkey012345";
pub const SANDBOX_SUBWALLET: &str = "5a1b2c3d-0000-4000-8000-00000000cafe";
pub const SANDBOX_PAYU_CLIENT_ID: &str = "payrun-sandbox-client";
pub const SANDBOX_PAYU_CLIENT_SECRET: &str = "payrun-sandbox-secret";
pub const SANDBOX_PAYU_USERNAME: &str = "finance@payrun.invalid";
pub const SANDBOX_PAYU_PASSWORD: &str = "payrun-sandbox-password";
pub const SANDBOX_PAYU_MERCHANT_ID: &str = "1100042";

/// How the simulator behaves. Everything random is seeded by `seed`.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub seed: u64,
    /// Added to every answer: half before the request is processed, half after, so a client
    /// that gives up mid-request can leave both committed and uncommitted creates behind.
    pub latency: Duration,
    /// Requests per second over all protocol endpoints; beyond it HTTP 429 with
    /// `Retry-After: 1` and the protocol's "try later" body. Nothing is processed.
    pub rate_limit: Option<u32>,
    /// Share of requests answered 500, 502, 503 or a cut connection, without processing
    /// anything.
    pub error_rate: f64,
    /// Share of order ids whose first create commits the link and then loses the answer
    /// (connection cut mid-body, or a 504 from a "gateway").
    pub lost_answer_rate: f64,
    /// The first N status lookups of each new link answer "not found".
    pub not_found_polls: u32,
    /// The beneficiary claims the link after a seeded delay in this window.
    pub claim_after: ClaimWindow,
    /// A link never claimed expires this long after it was created.
    pub expire_after: Duration,
    /// Shares of beneficiaries who are paid and whose payout fails; the rest never claim.
    pub paid_share: f64,
    pub failed_share: f64,
    /// What a create with an order id already seen does.
    pub duplicates: Duplicates,
    /// How a 429 says when to come back.
    pub retry_after: RetryAfter,
    /// Share of requests whose answer, after the request was processed (a create is
    /// committed), arrives garbled: truncated JSON, an HTML page, an empty body, the wrong
    /// content type, or an envelope missing its fields.
    pub garbled_rate: f64,
    /// Share of lookups of a settled link that still report it pending: a status that flaps
    /// after being terminal.
    pub flap_rate: f64,
    /// A provider outage: while it lasts, every protocol request is answered 503 and nothing
    /// is processed.
    pub outage: Option<Outage>,
    /// Lifetime of a PayU access token.
    pub token_ttl: Duration,
    /// PayU maker-checker: links created without `disableApprovalFlow` wait for approval.
    pub approval: bool,
    /// Which plausible reality to speak where the documentation is silent.
    pub dialect: Dialect,
    /// The PayU account's balance before any link is paid; Get Account Details subtracts
    /// the PayU links paid so far.
    pub payu_balance_paise: i64,
}

/// How long after its creation a link's beneficiary claims it: a seeded delay between
/// `earliest` and `latest` (either may be the larger; equal means exactly then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimWindow {
    pub earliest: Duration,
    pub latest: Duration,
}

/// A provider outage: from `start` after the simulator started, for `length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    pub start: Duration,
    pub length: Duration,
}

/// ₹1 crore.
const DEFAULT_PAYU_BALANCE_PAISE: i64 = 1_000_000_000;

/// The `Retry-After` of a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 1`
    Seconds,
    /// `Retry-After: <HTTP date one second ahead>`
    HttpDate,
    /// No header: the client must back off on its own.
    Absent,
}

/// The provider's duplicate check on order ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicates {
    /// Refused with the protocol's duplicate code (Paytm `PL_040`).
    Reject,
    /// No check: the create makes another link, as a provider whose duplicate window has
    /// passed would. payrun must never depend on the check to avoid paying twice.
    Accept,
    /// Answered as the original create was: success, with the existing link.
    Replay,
}

impl SandboxConfig {
    /// For `run --sandbox` and tests: beneficiaries act within seconds, no faults.
    pub fn fast() -> Self {
        SandboxConfig {
            seed: 1,
            latency: Duration::ZERO,
            rate_limit: None,
            error_rate: 0.0,
            lost_answer_rate: 0.0,
            not_found_polls: 0,
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(1),
                latest: Duration::from_secs(8),
            },
            expire_after: Duration::from_secs(12),
            paid_share: 0.85,
            failed_share: 0.07,
            duplicates: Duplicates::Reject,
            retry_after: RetryAfter::Seconds,
            garbled_rate: 0.0,
            flap_rate: 0.0,
            outage: None,
            token_ttl: Duration::from_secs(7199),
            approval: false,
            dialect: Dialect::Documented,
            payu_balance_paise: DEFAULT_PAYU_BALANCE_PAISE,
        }
    }
}

impl SandboxConfig {
    /// Speaks `dialect`. The dialects that are a way of behaving rather than an answer preset
    /// the matching fields: `DetailsLag(n)` hides each new link from its first `n` lookups,
    /// `NoDuplicateCheck` accepts a repeated order id.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        match dialect {
            Dialect::DetailsLag(n) => self.not_found_polls = n,
            Dialect::NoDuplicateCheck => self.duplicates = Duplicates::Accept,
            _ => {}
        }
        self
    }
}

#[cfg(test)]
impl Sandbox {
    /// A simulator on a free loopback port, for unit tests.
    pub(crate) async fn local(config: SandboxConfig) -> Sandbox {
        Sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .expect("the simulator starts")
    }
}

#[cfg(test)]
impl SandboxConfig {
    /// Beneficiaries who never act during a test.
    pub(crate) fn idle() -> Self {
        SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(600),
                latest: Duration::from_secs(600),
            },
            expire_after: Duration::from_secs(900),
            ..SandboxConfig::fast()
        }
    }
}

impl Default for SandboxConfig {
    /// Realistic shapes on a scaled clock: network latency, a lookup that lags the create,
    /// claims within a minute, links that expire after two.
    fn default() -> Self {
        SandboxConfig {
            seed: 1,
            latency: Duration::from_millis(50),
            rate_limit: None,
            error_rate: 0.0,
            lost_answer_rate: 0.0,
            not_found_polls: 1,
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(5),
                latest: Duration::from_secs(60),
            },
            expire_after: Duration::from_secs(120),
            paid_share: 0.8,
            failed_share: 0.1,
            duplicates: Duplicates::Reject,
            retry_after: RetryAfter::Seconds,
            garbled_rate: 0.0,
            flap_rate: 0.0,
            outage: None,
            token_ttl: Duration::from_secs(7199),
            approval: false,
            dialect: Dialect::Documented,
            payu_balance_paise: DEFAULT_PAYU_BALANCE_PAISE,
        }
    }
}

/// What the simulator has done so far, for tests and `GET /__sandbox/stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// Protocol requests received (the `/__sandbox/*` endpoints are not counted).
    pub requests: u64,
    /// Answered 429 by the rate limit.
    pub throttled: u64,
    /// Answered 500/503 by `error_rate`.
    pub injected_errors: u64,
    /// Creates committed whose answer was then lost.
    pub lost_answers: u64,
    /// PayU access tokens issued (logins and refreshes).
    pub tokens_issued: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    injected_errors: AtomicU64,
    lost_answers: AtomicU64,
}

/// A fixed one-second window for the rate limit.
#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

/// State shared by every handler. Locks are never held across an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    config: RwLock<SandboxConfig>,
    ledger: Mutex<Ledger>,
    window: Mutex<Window>,
    /// Requests seen per (endpoint, key), so fault draws are per order id, not per arrival.
    request_numbers: Mutex<HashMap<(String, String), u64>>,
    counters: Counters,
    /// When the simulator started, for the outage window.
    started: Instant,
    arrivals: Mutex<Vec<Arrival>>,
    payu_tokens: Mutex<payu::Tokens>,
}

/// One protocol request as the simulator saw it, for politeness checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// When it was processed (after the inbound half of the latency).
    pub at: Instant,
    /// When it was answered 429 with `Retry-After` in seconds: how long the client was asked
    /// to wait.
    pub retry_after: Option<Duration>,
}

impl Shared {
    fn set_config(&self, config: SandboxConfig) {
        *self
            .config
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
    }
}

/// Locks a mutex even if a previous holder panicked: the simulator must keep answering.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn new(config: SandboxConfig) -> Self {
        Shared {
            config: RwLock::new(config),
            ledger: Mutex::default(),
            window: Mutex::new(Window {
                started: Instant::now(),
                count: 0,
            }),
            request_numbers: Mutex::default(),
            counters: Counters::default(),
            started: Instant::now(),
            arrivals: Mutex::default(),
            payu_tokens: Mutex::default(),
        }
    }

    pub(crate) fn config(&self) -> SandboxConfig {
        self.config
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }

    fn stats(&self) -> SandboxStats {
        let c = &self.counters;
        SandboxStats {
            requests: c.requests.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            injected_errors: c.injected_errors.load(Ordering::Relaxed),
            lost_answers: c.lost_answers.load(Ordering::Relaxed),
            tokens_issued: lock(&self.payu_tokens).issued(),
        }
    }

    /// Whether the configured outage is in force now.
    fn in_outage(&self, config: &SandboxConfig) -> bool {
        config.outage.is_some_and(|outage| {
            let age = Instant::now().saturating_duration_since(self.started);
            age >= outage.start && age < outage.start + outage.length
        })
    }

    /// Counts one request against the rate limit; false when it must be refused.
    fn admit(&self, limit: Option<u32>) -> bool {
        let Some(limit) = limit else {
            return true;
        };
        let mut w = lock(&self.window);
        let now = Instant::now();
        if now.saturating_duration_since(w.started) >= Duration::from_secs(1) {
            *w = Window {
                started: now,
                count: 0,
            };
        }
        if w.count >= limit {
            return false;
        }
        w.count += 1;
        true
    }

    /// Whether this request about `key` at `endpoint` is answered by an injected error.
    pub(crate) fn injected_error(&self, endpoint: &str, key: &str) -> Option<InjectedError> {
        let config = self.config();
        if config.error_rate <= 0.0 {
            return None;
        }
        let nth = {
            let mut numbers = lock(&self.request_numbers);
            let n = numbers
                .entry((endpoint.to_string(), key.to_string()))
                .or_default();
            *n += 1;
            *n - 1
        };
        let fault = scenario::injected_error(&config, endpoint, key, nth);
        if fault.is_some() {
            self.counters
                .injected_errors
                .fetch_add(1, Ordering::Relaxed);
        }
        fault
    }

    /// Whether the answer to the create that just committed `order_id` is lost.
    pub(crate) fn lost_answer(&self, order_id: &str) -> Option<LostAnswer> {
        let fault = scenario::lost_answer(&self.config(), order_id);
        if fault.is_some() {
            self.counters.lost_answers.fetch_add(1, Ordering::Relaxed);
        }
        fault
    }
}

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

/// A request header's trimmed value; absent or blank is `None`.
pub(crate) fn header_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then_some(value)
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

/// The ledger over HTTP, with phones masked: the endpoint may be reachable from elsewhere.
async fn ledger_endpoint(State(shared): State<Arc<Shared>>) -> Json<Vec<LedgerEntry>> {
    let mut entries = shared.ledger().entries(Instant::now());
    for e in &mut entries {
        e.phone = crate::redact::mask_contacts(&e.phone);
    }
    Json(entries)
}

async fn stats_endpoint(State(shared): State<Arc<Shared>>) -> Json<SandboxStats> {
    Json(shared.stats())
}

async fn no_such_endpoint() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such endpoint in the payrun sandbox\n",
    )
        .into_response()
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(paytm::routes(Arc::clone(&shared)))
        .merge(payu::routes(Arc::clone(&shared)))
        .route("/__sandbox/ledger", get(ledger_endpoint))
        .route("/__sandbox/stats", get(stats_endpoint))
        .fallback(no_such_endpoint)
        .with_state(shared)
}

/// The simulator without a socket: its router is called directly, on the caller's runtime
/// and clock (simulation tests run it on a paused clock beside the engine).
pub struct InProcessSandbox {
    shared: Arc<Shared>,
}

impl InProcessSandbox {
    pub fn new(config: SandboxConfig) -> InProcessSandbox {
        InProcessSandbox {
            shared: Arc::new(Shared::new(config)),
        }
    }

    pub fn router(&self) -> Router {
        router(Arc::clone(&self.shared))
    }

    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.ledger().entries(Instant::now())
    }

    pub fn stats(&self) -> SandboxStats {
        self.shared.stats()
    }

    /// Every protocol request received so far, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        lock(&self.shared.arrivals).clone()
    }

    /// Replaces the configuration, as `Sandbox::set_config` does.
    pub fn set_config(&self, config: SandboxConfig) {
        self.shared.set_config(config);
    }

    /// As `Sandbox::revoke_payu_access`.
    pub fn revoke_payu_access(&self) {
        lock(&self.shared.payu_tokens).revoke();
    }
}

/// A running simulator. Dropping it stops the server too; `shutdown` also waits for it.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Sandbox {
    /// Binds `listen` (port 0 picks a free port) and serves in the background.
    pub async fn start(config: SandboxConfig, listen: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (stop, stopped) = oneshot::channel::<()>();
        let server =
            axum::serve(listener, router(Arc::clone(&shared))).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
        let task = tokio::spawn(async move { server.await });
        Ok(Sandbox {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`; a wildcard listen address is shown as loopback.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// Every link held, in creation order (the same data as `GET /__sandbox/ledger`).
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.ledger().entries(Instant::now())
    }

    pub fn stats(&self) -> SandboxStats {
        self.shared.stats()
    }

    /// Replaces the configuration; faults and rates apply from the next request, while
    /// existing links keep the beneficiary behaviour drawn when they were created.
    pub fn set_config(&self, config: SandboxConfig) {
        self.shared.set_config(config);
    }

    /// Revokes every PayU token and refuses new ones, as PayU does for a merchant whose API
    /// access was withdrawn.
    pub fn revoke_payu_access(&self) {
        lock(&self.shared.payu_tokens).revoke();
    }

    /// Stops accepting, lets requests in flight finish (at most two seconds), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One line to stdout; a closed stdout (the reader went away) must not stop the simulator.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// `payrun sandbox`: serves until Ctrl-C, after printing where, in which dialect and with
/// which credentials.
pub async fn serve_forever(config: SandboxConfig, listen: SocketAddr) -> std::io::Result<()> {
    let dialect = config.dialect;
    let sandbox = Sandbox::start(config, listen).await?;
    let base = sandbox.base_url();
    // These are the simulator's built-in test credentials, not secrets.
    let addr = sandbox.addr();
    say(format_args!("payrun sandbox listening on {addr} ({base})"));
    if !addr.ip().is_loopback() {
        say(format_args!(
            "warning: {addr} is reachable from other machines: anyone there can use the simulator's built-in credentials and read its ledger; use --listen 127.0.0.1:PORT unless you mean it"
        ));
    }
    say(format_args!("dialect: {dialect}"));
    say(format_args!("point payrun at it (paste into your shell):"));
    let exports = [
        ("PAYRUN_PAYTM_BASE_URL", base.as_str()),
        ("PAYRUN_PAYTM_MID", SANDBOX_MID),
        ("PAYRUN_PAYTM_MERCHANT_KEY", SANDBOX_KEY),
        ("PAYRUN_PAYTM_SUBWALLET_GUID", SANDBOX_SUBWALLET),
        ("PAYRUN_PAYU_AUTH_URL", base.as_str()),
        ("PAYRUN_PAYU_BASE_URL", base.as_str()),
        ("PAYRUN_PAYU_CLIENT_ID", SANDBOX_PAYU_CLIENT_ID),
        ("PAYRUN_PAYU_CLIENT_SECRET", SANDBOX_PAYU_CLIENT_SECRET),
        ("PAYRUN_PAYU_MERCHANT_ID", SANDBOX_PAYU_MERCHANT_ID),
    ];
    for (name, value) in exports {
        say(format_args!("  export {name}={value}"));
    }
    say(format_args!(
        "(the PAYRUN_PAYU_* lines serve runs with --provider payu)"
    ));
    say(format_args!("ledger: {base}/__sandbox/ledger"));
    say(format_args!("press Ctrl-C to stop"));
    let signal = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    signal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_on_a_free_port_serves_the_ledger_and_stops() {
        let sb = Sandbox::start(SandboxConfig::fast(), ([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        assert_ne!(sb.addr().port(), 0);
        assert_eq!(
            sb.base_url(),
            format!("http://127.0.0.1:{}", sb.addr().port())
        );
        let http = reqwest::Client::new();
        let ledger: Vec<LedgerEntry> = http
            .get(format!("{}/__sandbox/ledger", sb.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(ledger.is_empty());
        let missing = http
            .get(format!("{}/nope", sb.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let url = sb.base_url();
        sb.shutdown().await;
        assert!(http
            .get(format!("{url}/__sandbox/ledger"))
            .send()
            .await
            .is_err());
    }

    #[test]
    fn with_dialect_presets_the_behaviour_dialects_and_keeps_the_rest() {
        let lag = SandboxConfig::fast().with_dialect(Dialect::DetailsLag(4));
        assert_eq!(
            (lag.dialect, lag.not_found_polls),
            (Dialect::DetailsLag(4), 4)
        );
        let open = SandboxConfig::fast().with_dialect(Dialect::NoDuplicateCheck);
        assert_eq!(open.duplicates, Duplicates::Accept);
        let plain = SandboxConfig::default().with_dialect(Dialect::Paytm404);
        assert_eq!(
            (plain.not_found_polls, plain.duplicates),
            (1, Duplicates::Reject)
        );
        assert_eq!(SandboxConfig::fast().dialect, Dialect::Documented);
        assert_eq!(SandboxConfig::default().payu_balance_paise, 1_000_000_000);
    }

    #[tokio::test]
    async fn a_wildcard_listen_address_gives_a_loopback_url() {
        let sb = Sandbox::start(SandboxConfig::fast(), ([0, 0, 0, 0], 0).into())
            .await
            .unwrap();
        assert!(sb.base_url().starts_with("http://127.0.0.1:"));
        sb.shutdown().await;
    }
}
