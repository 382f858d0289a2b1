//! The simulator as a server: the router with the `/__sandbox/*` endpoints tests read, the
//! in-process form simulation tests call directly, starting, stopping, and `payrun sandbox`.

use super::{
    lock, paytm, payu, Arrival, LedgerEntry, SandboxConfig, SandboxStats, Shared, SANDBOX_KEY,
    SANDBOX_MID, SANDBOX_PAYU_CLIENT_ID, SANDBOX_PAYU_CLIENT_SECRET, SANDBOX_PAYU_MERCHANT_ID,
    SANDBOX_SUBWALLET,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

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
    pub(super) shared: Arc<Shared>,
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
impl Sandbox {
    /// A simulator on a free loopback port, for unit tests.
    pub(crate) async fn local(config: SandboxConfig) -> Sandbox {
        Sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .expect("the simulator starts")
    }
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

    #[tokio::test]
    async fn a_wildcard_listen_address_gives_a_loopback_url() {
        let sb = Sandbox::start(SandboxConfig::fast(), ([0, 0, 0, 0], 0).into())
            .await
            .unwrap();
        assert!(sb.base_url().starts_with("http://127.0.0.1:"));
        sb.shutdown().await;
    }
}
