//! Engine benchmarks against `payrun sandbox` running as a separate process:
//!
//! - `create`: creates/s at a rate limit with 100 ms simulator latency (target >= 97% of it);
//! - `ceiling`: creates/s with no limit and no latency, next to a bare HTTP loop sending the
//!   same signed requests with the same concurrency (target >= 0.5x the bare loop);
//! - `poll`: one full status pass over every open link, next to a bare loop.
//!
//! `cargo bench --bench engine -- [create|ceiling|poll] [ROWS] [RATE]`
//! (defaults: all three; 20000 rows; 200/s).

use payrun::engine::{Engine, EngineOptions, PollInterval};
use payrun::journal::{now_rfc3339, Batch, ImportRow, Journal, RowState};
use payrun::money::Amount;
use payrun::pacer::{Pacer, Rate};
use payrun::payout::{Notify, PayoutRow, ProviderKind};
use payrun::progress::Progress;
use payrun::provider::checksum;
use payrun::provider::paytm::{PaytmClient, PaytmConfig};
use payrun::sandbox::{SANDBOX_KEY, SANDBOX_MID, SANDBOX_SUBWALLET};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

const CONCURRENCY: usize = 32;

struct SandboxProcess {
    child: Child,
    url: String,
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox(latency_ms: u64) -> SandboxProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payrun"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--latency",
            &format!("{latency_ms}ms"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start payrun sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a line")
        .expect("utf-8");
    let url = first.rsplit(' ').next().expect("url").to_string();
    SandboxProcess { child, url }
}

fn row(i: u64, tag: &str) -> PayoutRow {
    PayoutRow {
        row_no: i + 2,
        order_id: format!("B{tag}{i}"),
        name: Some(format!("Beneficiary {i}")),
        phone: Some(format!("9{:09}", i % 1_000_000_000)),
        email: None,
        amount: Amount::from_paise(10_000 + (i as i64 % 5000)),
        expiry: None,
        notify: Notify::default(),
        comments: "Benchmark payout".into(),
    }
}

fn journal_with(dir: &std::path::Path, rows: u64, tag: &str) -> (Arc<Journal>, String) {
    let journal = Journal::open(&dir.join(format!("{tag}.db"))).expect("journal");
    let batch = Batch {
        id: format!("bench{tag}"),
        sheet_path: "bench.csv".into(),
        sheet_name: None,
        sheet_sha256: format!("sha{tag}"),
        provider: ProviderKind::Paytm,
        headers: vec!["name".into()],
        created_at: now_rfc3339(),
        row_count: rows,
        valid_count: rows,
        total_paise: 0,
    };
    let import: Vec<ImportRow> = (0..rows)
        .map(|i| ImportRow {
            row_no: i + 2,
            cells: vec![format!("r{i}")],
            payout: Ok(row(i, tag)),
        })
        .collect();
    journal.import(&batch, &import).expect("import");
    (Arc::new(journal), batch.id)
}

fn client(url: &str) -> Arc<PaytmClient> {
    Arc::new(
        PaytmClient::new(PaytmConfig {
            mid: SANDBOX_MID.into(),
            merchant_key: SANDBOX_KEY.into(),
            subwallet_guid: SANDBOX_SUBWALLET.into(),
            base_url: url.into(),
            timeout: Duration::from_secs(30),
        })
        .expect("client"),
    )
}

fn engine(
    journal: &Arc<Journal>,
    url: &str,
    rate: Rate,
    poll_for: Duration,
) -> Arc<Engine<PaytmClient>> {
    Engine::new(
        Arc::clone(journal),
        client(url),
        Arc::new(Pacer::new(rate, rate.default_burst())),
        EngineOptions {
            concurrency: CONCURRENCY,
            poll_for,
            poll_interval: PollInterval {
                first: Duration::from_secs(3600),
                longest: Duration::from_secs(3600),
            },
            ..EngineOptions::default()
        },
        CancellationToken::new(),
        Progress::hidden(),
    )
}

/// Runs the create stage only; returns creates per second.
async fn create_stage(
    journal: &Arc<Journal>,
    batch: &str,
    url: &str,
    rate: Rate,
    rows: u64,
) -> f64 {
    let start = Instant::now();
    engine(journal, url, rate, Duration::ZERO)
        .run(batch)
        .await
        .expect("run");
    let elapsed = start.elapsed();
    let open = journal
        .summary(batch)
        .expect("summary")
        .rows(RowState::Open);
    assert_eq!(
        open,
        rows,
        "every row created: {:?}",
        journal.summary(batch)
    );
    rows as f64 / elapsed.as_secs_f64()
}

/// Sends `n` signed requests to `path` with the engine's concurrency; returns requests/s.
async fn bare_loop(url: &str, path: &str, n: u64, body: impl Fn(u64) -> String) -> f64 {
    let http = reqwest::Client::new();
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&slots).acquire_owned().await.expect("semaphore");
        let bytes = body(i).into_bytes();
        let sig = checksum::sign(&bytes, SANDBOX_KEY).expect("sign");
        let req = http
            .post(format!("{url}{path}"))
            .header("x-mid", SANDBOX_MID)
            .header("x-checksum", sig)
            .header("content-type", "application/json")
            .body(bytes);
        tasks.spawn(async move {
            let answer = req.send().await.expect("send").bytes().await.expect("body");
            drop(permit);
            answer.len()
        });
    }
    while tasks.join_next().await.is_some() {}
    n as f64 / start.elapsed().as_secs_f64()
}

fn create_body(i: u64) -> String {
    format!(
        r#"{{"mid":"{SANDBOX_MID}","orderId":"BARE{i}","subwalletGuid":"{SANDBOX_SUBWALLET}","amount":"100.00","beneficiaryPhoneNo":"9876543210","notifyMode":["SMS"],"comments":"bench"}}"#
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let which: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| a.parse::<u64>().is_err() && !a.contains('/'))
        .collect();
    let rows: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let rate: Rate = args
        .iter()
        .find(|a| a.contains('/'))
        .map_or("200/s".parse().unwrap(), |a| a.parse().expect("rate"));
    let wants = |name: &str| which.is_empty() || which.contains(&name);
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "machine: {} cores; rows: {rows}; concurrency: {CONCURRENCY}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    if wants("create") {
        let sb = sandbox(100);
        let (journal, batch) = journal_with(dir.path(), rows, "c");
        let per_s = create_stage(&journal, &batch, &sb.url, rate, rows).await;
        let limit = rate.requests.get() as f64 / rate.per.as_secs_f64();
        println!(
            "create at {rate} with 100 ms latency: {per_s:.1} creates/s = {:.3} of the limit",
            per_s / limit
        );
    }
    if wants("ceiling") || wants("poll") {
        let sb = sandbox(0);
        let unlimited: Rate = "1000000/s".parse().unwrap();
        let (journal, batch) = journal_with(dir.path(), rows, "u");
        let engine_rate = create_stage(&journal, &batch, &sb.url, unlimited, rows).await;
        let bare = bare_loop(&sb.url, "/pls/api/v1/payout-link/create", rows, create_body).await;
        println!(
            "ceiling: engine {engine_rate:.0} creates/s (journaled), bare loop {bare:.0}/s: ratio {:.2}",
            engine_rate / bare
        );
        if wants("poll") {
            let conn = rusqlite::Connection::open(journal.path()).expect("open");
            conn.execute(
                "UPDATE attempts SET next_poll_at = 0 WHERE state = 'open'",
                [],
            )
            .expect("due");
            let open = journal
                .summary(&batch)
                .expect("summary")
                .rows(RowState::Open);
            let start = Instant::now();
            engine(&journal, &sb.url, unlimited, Duration::from_secs(600))
                .poll(&batch)
                .await
                .expect("poll");
            let engine_rate = open as f64 / start.elapsed().as_secs_f64();
            let bare = bare_loop(&sb.url, "/pls/api/v2/payout-link/fetch", open, |i| {
                format!(r#"{{"mid":"{SANDBOX_MID}","orderId":"Bu{}"}}"#, i)
            })
            .await;
            println!(
                "poll pass over {open} open links: engine {engine_rate:.0} polls/s, bare loop {bare:.0}/s: ratio {:.2}",
                engine_rate / bare
            );
        }
    }
}
