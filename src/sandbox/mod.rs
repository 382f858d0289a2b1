//! The simulator behind `payrun sandbox` and `payrun run --sandbox`: a real HTTP server (axum)
//! that speaks the providers' protocols with built-in test credentials, simulates
//! beneficiaries, and injects faults. This module owns what every protocol shares: the
//! state every handler shares, the fault bookkeeping and the built-in test credentials.
//!
//! - `config`: how the simulator behaves (`SandboxConfig`) and its presets.
//! - `gate`: the traffic gate (latency, rate limit, outage, garbling) and the fault answers.
//! - `server`: the router, the `/__sandbox/*` endpoints, starting and stopping.
//! - `dialect`: the plausible realities the simulator can speak where the documentation is
//!   silent, and their names.
//! - `ledger`: the links held, their lazily computed lifecycle, the ledger view.
//! - `scenario`: seeded beneficiary behaviour, link ids and fault decisions.
//! - `paytm`: the Paytm Payout Links endpoints.
//! - `payu`: the PayU Payouts token and Smart Send endpoints.

mod config;
mod dialect;
mod gate;
mod ledger;
mod paytm;
mod payu;
mod scenario;
mod server;

pub use config::{ClaimWindow, Duplicates, Outage, RetryAfter, SandboxConfig};
pub use dialect::{Dialect, UnknownDialect};
pub use ledger::LedgerEntry;
pub use server::{serve_forever, InProcessSandbox, Sandbox};

pub(crate) use gate::{injected, lost, traffic, Gate};

use ledger::Ledger;
use scenario::{InjectedError, LostAnswer};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;
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

/// A request header's trimmed value; absent or blank is `None`.
pub(crate) fn header_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then_some(value)
}
