//! Deterministic simulation: one seed drives the simulator's faults and beneficiaries, the
//! moments the process "crashes" (the engine is dropped mid-flight, like a kill: only what
//! was committed survives), and the retry jitter; the simulator is called in process on a
//! paused clock, so hours of backoff and link lifetimes pass in milliseconds. After the
//! crashes, a final run with the faults gone must leave an exact batch.
//!
//! `PAYRUN_SIM_SEEDS=N` sets how many seeds run (default 2000); `PAYRUN_SIM_SEED=S` replays
//! one. A failure prints its seed.

use payrun::engine::{Engine, EngineOptions, Outcome, PollInterval};
use payrun::journal::{now_rfc3339, Attention, Batch, ImportRow, Journal, RowState};
use payrun::money::Amount;
use payrun::pacer::{Pacer, Rate};
use payrun::payout::{Notify, PayoutRow, ProviderKind};
use payrun::progress::Progress;
use payrun::provider::paytm::{PaytmClient, PaytmConfig};
use payrun::provider::payu::{Credentials, PayuClient, PayuConfig};
use payrun::provider::transport::Transport;
use payrun::provider::Client;
use payrun::sandbox::{
    ClaimWindow, Dialect, Duplicates, InProcessSandbox, Outage, RetryAfter, SandboxConfig,
    SANDBOX_KEY, SANDBOX_MID, SANDBOX_PAYU_CLIENT_ID, SANDBOX_PAYU_CLIENT_SECRET,
    SANDBOX_PAYU_MERCHANT_ID, SANDBOX_SUBWALLET,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one seed did, for the totals.
#[derive(Default, Debug)]
struct Tally {
    rows: u64,
    crashes: u64,
    creates: u64,
    faults: u64,
}

fn payout(i: u64, rng: &mut StdRng) -> PayoutRow {
    PayoutRow {
        row_no: i + 2,
        order_id: format!("SIM{i}"),
        name: Some(format!("Beneficiary {i}")),
        phone: Some(format!("9{:09}", rng.random_range(0..1_000_000_000u64))),
        email: None,
        amount: Amount::from_paise(rng.random_range(100..5_000_000)),
        expiry: None,
        notify: Notify::default(),
        comments: "simulation".into(),
    }
}

/// A journal at `path` holding batch `id` of `rows`, all valid (counts are filled in by
/// the import).
fn journal_with(
    path: &Path,
    id: &str,
    provider: ProviderKind,
    rows: &[PayoutRow],
) -> Result<Arc<Journal>, String> {
    let batch = Batch {
        id: id.into(),
        sheet_path: format!("{id}.csv"),
        sheet_name: None,
        sheet_sha256: id.into(),
        provider,
        headers: vec!["order id".into()],
        created_at: now_rfc3339(),
        row_count: 0,
        valid_count: 0,
        total_paise: 0,
    };
    let import: Vec<ImportRow> = rows
        .iter()
        .map(|r| ImportRow {
            row_no: r.row_no,
            cells: vec![r.order_id.clone()],
            payout: Ok(r.clone()),
        })
        .collect();
    let journal = Journal::open(path).map_err(|e| e.to_string())?;
    journal.import(&batch, &import).map_err(|e| e.to_string())?;
    Ok(Arc::new(journal))
}

/// Whether `dialect` changes what `kind`'s protocol says.
fn speaks(dialect: Dialect, kind: ProviderKind) -> bool {
    let name = dialect.name();
    match kind {
        ProviderKind::Paytm => !name.starts_with("payu-"),
        ProviderKind::Payu => !name.starts_with("paytm-"),
    }
}

/// `config` speaking `dialect`. A provider that both forgets order ids and hides new links
/// for as many lookups as payrun's confirmations cannot be paid through safely by anyone:
/// lag that long comes with a duplicate check here.
fn in_dialect(config: SandboxConfig, dialect: Dialect) -> SandboxConfig {
    let config = config.with_dialect(dialect);
    match dialect {
        Dialect::DetailsLag(n) if n >= 3 && config.duplicates == Duplicates::Accept => {
            SandboxConfig {
                duplicates: Duplicates::Reject,
                ..config
            }
        }
        _ => config,
    }
}

/// The dialect a seed's simulator speaks: one of every plausible reality, in turn.
fn dialect_of(seed: u64) -> Dialect {
    let all = Dialect::all();
    all[(seed / 2) as usize % all.len()]
}

fn faulty(seed: u64, rng: &mut StdRng) -> SandboxConfig {
    in_dialect(faults(seed, rng), dialect_of(seed))
}

fn faults(seed: u64, rng: &mut StdRng) -> SandboxConfig {
    let slow = rng.random_bool(0.1);
    SandboxConfig {
        seed,
        latency: if slow {
            Duration::from_secs(3)
        } else {
            Duration::from_millis(rng.random_range(0..200))
        },
        rate_limit: rng.random_bool(0.3).then(|| rng.random_range(2..20)),
        error_rate: rng.random_range(0.0..0.3),
        lost_answer_rate: rng.random_range(0.0..0.4),
        not_found_polls: rng.random_range(0..3),
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(100),
            latest: Duration::from_secs(5),
        },
        expire_after: Duration::from_secs(8),
        paid_share: 0.8,
        failed_share: 0.1,
        // Some providers forget order ids: payrun alone must prevent a second link.
        duplicates: [Duplicates::Reject, Duplicates::Accept, Duplicates::Replay]
            [rng.random_range(0..3)],
        flap_rate: rng.random_range(0.0..0.3),
        retry_after: [
            RetryAfter::Seconds,
            RetryAfter::HttpDate,
            RetryAfter::Absent,
        ][rng.random_range(0..3)],
        garbled_rate: rng.random_range(0.0..0.2),
        outage: rng.random_bool(0.1).then(|| Outage {
            start: Duration::from_millis(rng.random_range(0..2000)),
            length: Duration::from_secs(rng.random_range(1..30)),
        }),
        token_ttl: Duration::from_secs(rng.random_range(5..120)),
        approval: rng.random_bool(0.2),
        ..SandboxConfig::fast()
    }
}

fn calm(faulty: &SandboxConfig) -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_millis(20),
        rate_limit: None,
        error_rate: 0.0,
        lost_answer_rate: 0.0,
        not_found_polls: 0,
        garbled_rate: 0.0,
        flap_rate: 0.0,
        outage: None,
        ..faulty.clone()
    }
}

/// The provider a seed pays through: even seeds Paytm, odd seeds PayU.
fn provider_of(seed: u64) -> ProviderKind {
    if seed.is_multiple_of(2) {
        ProviderKind::Paytm
    } else {
        ProviderKind::Payu
    }
}

fn engine(
    kind: ProviderKind,
    journal: Arc<Journal>,
    sim: &InProcessSandbox,
    seed: u64,
    rate: Rate,
) -> Arc<Engine<Client>> {
    let timeout = Duration::from_secs(2);
    let transport = || Transport::InProcess {
        router: sim.router(),
        timeout,
    };
    let pacer = Arc::new(Pacer::new(rate, rate.default_burst()));
    let opts = EngineOptions {
        concurrency: 6,
        poll_for: Duration::from_secs(600),
        poll_interval: PollInterval {
            first: Duration::from_millis(500),
            longest: Duration::from_secs(10),
        },
        group_commit: false,
        seed: Some(seed),
        ..EngineOptions::default()
    };
    let client = match kind {
        ProviderKind::Paytm => Client::Paytm(PaytmClient::with_transport(
            PaytmConfig {
                mid: SANDBOX_MID.into(),
                merchant_key: SANDBOX_KEY.into(),
                subwallet_guid: SANDBOX_SUBWALLET.into(),
                base_url: "http://in-process".into(),
                timeout,
            },
            transport(),
        )),
        ProviderKind::Payu => Client::Payu(
            PayuClient::with_transports(
                PayuConfig {
                    credentials: Credentials::Client {
                        client_id: SANDBOX_PAYU_CLIENT_ID.into(),
                        client_secret: SANDBOX_PAYU_CLIENT_SECRET.into(),
                    },
                    merchant_id: SANDBOX_PAYU_MERCHANT_ID.into(),
                    auth_url: "http://in-process".into(),
                    base_url: "http://in-process".into(),
                    timeout,
                    disable_approval: false,
                },
                transport(),
                transport(),
            )
            .paced(Arc::clone(&pacer)),
        ),
    };
    Engine::new(
        journal,
        Arc::new(client),
        pacer,
        opts,
        CancellationToken::new(),
        Progress::hidden(),
    )
}

/// Runs one seed; `Err` names the violated invariant.
fn simulate(seed: u64, dir: &Path) -> Result<(Tally, Vec<String>), String> {
    simulate_with(seed, dir, None, true, faulty)
}

/// Runs one seed with the simulator configured by `configure`; with `calm_final`, the
/// faults stop before the final run.
fn simulate_with(
    seed: u64,
    dir: &Path,
    rows: Option<u64>,
    calm_final: bool,
    configure: impl FnOnce(u64, &mut StdRng) -> SandboxConfig,
) -> Result<(Tally, Vec<String>), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let runtime = paused_runtime();
    runtime.block_on(async {
        let config = configure(seed, &mut rng);
        let kind = provider_of(seed);
        let sim = InProcessSandbox::new(config.clone());
        let path = dir.join(format!("sim{seed}.db"));
        let n = rows.unwrap_or_else(|| rng.random_range(1..30u64));
        let rows: Vec<PayoutRow> = (0..n).map(|i| payout(i, &mut rng)).collect();
        let batch_id = format!("sim{seed}");
        drop(journal_with(&path, &batch_id, kind, &rows)?);
        let rate: Rate = format!("{}/s", rng.random_range(5..100))
            .parse()
            .map_err(|e: String| e)?;

        let mut tally = Tally {
            rows: n,
            ..Tally::default()
        };
        // Each engine start: a restarted process forgets its pacing, so the politeness
        // check looks at one engine's life at a time.
        let mut starts = Vec::new();
        for crash in 0..rng.random_range(1..5u64) {
            starts.push(tokio::time::Instant::now());
            let journal = Arc::new(Journal::open(&path).map_err(|e| e.to_string())?);
            let run = engine(kind, journal, &sim, seed * 10 + crash, rate);
            let lifetime = Duration::from_millis(rng.random_range(0..4000));
            if tokio::time::timeout(lifetime, run.run(&batch_id))
                .await
                .is_err()
            {
                tally.crashes += 1;
            }
            // The next process starts strictly after the last request of this one, so the
            // politeness check can tell which life a request belongs to.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if calm_final {
            sim.set_config(calm(&config));
        }
        starts.push(tokio::time::Instant::now());
        let journal = Arc::new(Journal::open(&path).map_err(|e| e.to_string())?);
        engine(kind, Arc::clone(&journal), &sim, seed * 10 + 9, rate)
            .run(&batch_id)
            .await
            .map_err(|e| e.to_string())?;

        polite(&sim.arrivals(), rate, config.latency, &starts)?;
        let stats = sim.stats();
        tally.faults = stats.throttled + stats.injected_errors + stats.lost_answers;
        let entries = sim.ledger();
        let mut links: HashMap<&str, usize> = HashMap::new();
        for e in &entries {
            *links.entry(e.order_id.as_str()).or_default() += 1;
        }
        if let Some((order_id, n)) = links.iter().find(|(_, n)| **n > 1) {
            return Err(format!(
                "order id {order_id} has {n} links at the provider: paid twice"
            ));
        }
        let ledger: HashMap<String, _> = entries
            .into_iter()
            .map(|e| (e.order_id.clone(), e))
            .collect();
        tally.creates = ledger.values().map(|e| u64::from(e.create_requests)).sum();
        // Without Smart Send Details, a link whose create answer was lost is found only by
        // status v1, which cannot say "paid" nor give the link id: such rows rightly need a
        // person. In every other dialect the provider answers everything payrun needs.
        let unfollowable = kind == ProviderKind::Payu && config.dialect == Dialect::PayuNoDetails;
        check(&journal, &batch_id, &rows, &ledger, unfollowable)?;
        Ok((tally, events(&path)))
    })
}

fn check(
    journal: &Journal,
    batch: &str,
    rows: &[PayoutRow],
    ledger: &HashMap<String, payrun::sandbox::LedgerEntry>,
    unfollowable: bool,
) -> Result<(), String> {
    let attention: HashMap<u64, Option<Attention>> = journal
        .attempts_in(batch, &[RowState::Attention])
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|a| (a.row_no, a.attention))
        .collect();
    let lines = journal.report_rows(batch).map_err(|e| e.to_string())?;
    if lines.len() != rows.len() {
        return Err(format!(
            "{} sheet rows but {} journal rows",
            rows.len(),
            lines.len()
        ));
    }
    let ours: std::collections::HashSet<&str> = rows.iter().map(|r| r.order_id.as_str()).collect();
    if let Some(stray) = ledger.keys().find(|k| !ours.contains(k.as_str())) {
        return Err(format!(
            "a link exists for {stray}, which is not in the sheet"
        ));
    }
    for (line, row) in lines.iter().zip(rows) {
        let r = line;
        let state = r.state;
        if unfollowable && attention.get(&r.row_no) == Some(&Some(Attention::OutcomeUnknown)) {
            if !ledger.contains_key(&row.order_id) {
                return Err(format!("row {} needs attention but has no link", r.row_no));
            }
            continue;
        }
        // Every simulated dialect is a consistent provider: no row may need a person.
        if !state.is_terminal() {
            return Err(format!(
                "row {} left {state} after the final run ({})",
                r.row_no,
                r.provider_message.as_deref().unwrap_or("no reason")
            ));
        }
        let entry = ledger
            .get(&row.order_id)
            .ok_or_else(|| format!("row {} ({state}) has no link", r.row_no))?;
        // Status v1 by reference names a settled link's state but not its id.
        let unnamed = unfollowable && r.link_id.is_none();
        if r.link_id.as_deref() != Some(entry.link_id.as_str()) && !unnamed {
            return Err(format!(
                "row {}: journal link {:?}, provider link {}",
                r.row_no, r.link_id, entry.link_id
            ));
        }
        let wanted = match entry.status.as_str() {
            "SUCCESS" => RowState::Paid,
            "FAILURE" | "LINK_FAILED" => RowState::Failed,
            "EXPIRED" => RowState::Expired,
            "CANCELLED" => RowState::Cancelled,
            other => return Err(format!("row {}: provider still says {other}", r.row_no)),
        };
        if state != wanted {
            return Err(format!(
                "row {}: journal {state}, provider {}",
                r.row_no, entry.status
            ));
        }
        let paid = Amount::parse(&entry.amount).map_err(|e| e.to_string())?;
        if paid != row.amount || line.amount_paise != Some(row.amount.paise()) {
            return Err(format!(
                "row {}: amount {} at the provider, {} in the sheet",
                r.row_no, paid, row.amount
            ));
        }
    }
    Ok(())
}

/// The client kept to its rate limit and honoured every `Retry-After`, as the simulator saw
/// it: within one engine's life, no second-long window holds more than the rate plus the
/// burst, and nothing sent after a 429 arrived before its `Retry-After` ran out.
fn polite(
    arrivals: &[payrun::sandbox::Arrival],
    rate: Rate,
    latency: Duration,
    starts: &[tokio::time::Instant],
) -> Result<(), String> {
    let per_second = f64::from(rate.requests.get()) / rate.per.as_secs_f64();
    let ceiling = per_second.ceil() as usize + rate.default_burst().get() as usize;
    let life = |t: tokio::time::Instant| starts.iter().filter(|s| **s <= t).count();
    for (i, a) in arrivals.iter().enumerate() {
        let window = arrivals[i..]
            .iter()
            .take_while(|b| b.at < a.at + Duration::from_secs(1))
            .filter(|b| life(b.at) == life(a.at))
            .count();
        if window > ceiling {
            return Err(format!(
                "{window} requests within one second; the limit allows {ceiling}"
            ));
        }
        if let Some(wait) = a.retry_after {
            // The 429 reaches the client after the outbound half of the latency; requests
            // sent from then until the pause ends would arrive in this span.
            let (from, until) = (a.at + latency, a.at + latency + wait);
            let tolerance = Duration::from_millis(2);
            if let Some(early) = arrivals[i + 1..].iter().find(|b| {
                b.at > from + tolerance && b.at + tolerance < until && life(b.at) == life(a.at)
            }) {
                return Err(format!(
                    "a request arrived {:?} after a 429 that asked for {wait:?}",
                    early.at - a.at
                ));
            }
        }
    }
    Ok(())
}

/// The journal's event trail without timestamps: equal for two runs of one seed.
fn events(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("journal");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");
    let mut stmt = conn
        .prepare("SELECT COALESCE(order_id, ''), kind, COALESCE(from_state, ''), COALESCE(to_state, '') FROM events ORDER BY id")
        .expect("events");
    stmt.query_map([], |r| {
        Ok(format!(
            "{} {} {}->{}",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// One thread, a paused clock: the engine and the simulator share it, so every run of a
/// seed sees the same moments.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// tmpfs when there is one: the journal's fsyncs cost nothing there, and durability is
/// not what this test measures (the crash model drops the process, not the machine).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn seeded_crashes_and_faults_never_pay_twice_or_lose_a_row() {
    let seeds: Vec<u64> = match std::env::var("PAYRUN_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("PAYRUN_SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("PAYRUN_SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(2000);
            (0..n).collect()
        }
    };
    let dir = scratch();
    let mut total = Tally::default();
    let mut dialects: std::collections::BTreeMap<String, u64> = Default::default();
    for &seed in &seeds {
        let dialect = dialect_of(seed);
        if speaks(dialect, provider_of(seed)) {
            *dialects.entry(dialect.name()).or_default() += 1;
        }
        match simulate(seed, dir.path()) {
            Ok((t, _)) => {
                total.rows += t.rows;
                total.crashes += t.crashes;
                total.creates += t.creates;
                total.faults += t.faults;
            }
            Err(violation) => panic!("seed {seed}: {violation}\nreplay: PAYRUN_SIM_SEED={seed} cargo test --test simulation"),
        }
        let _ = std::fs::remove_file(dir.path().join(format!("sim{seed}.db")));
    }
    eprintln!(
        "simulation: {} seeds, {} rows, {} crashes survived, {} faults injected, {} create requests, 0 violations",
        seeds.len(),
        total.rows,
        total.crashes,
        total.faults,
        total.creates
    );
    eprintln!("seeds per dialect spoken: {dialects:?}");
    if seeds.len() > 1 {
        assert_eq!(
            dialects.len(),
            Dialect::all().len(),
            "every dialect is covered"
        );
    }
}

#[test]
fn a_seed_replays_exactly() {
    let dir = scratch();
    for seed in [3, 17] {
        let first = simulate(seed, dir.path()).expect("first run");
        let _ = std::fs::remove_file(dir.path().join(format!("sim{seed}.db")));
        let second = simulate(seed, dir.path()).expect("second run");
        assert_eq!(first.1, second.1, "seed {seed}: the event trails differ");
        assert_eq!(
            (first.0.crashes, first.0.creates),
            (second.0.crashes, second.0.creates)
        );
    }
}

#[test]
fn each_named_fault_alone() {
    let base = |seed| SandboxConfig {
        seed,
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(100),
            latest: Duration::from_secs(5),
        },
        expire_after: Duration::from_secs(8),
        ..SandboxConfig::fast()
    };
    type Fault = fn(SandboxConfig) -> SandboxConfig;
    let faults: [(&str, Fault); 17] = [
        ("commit then lose the answer", |c| SandboxConfig {
            lost_answer_rate: 1.0,
            ..c
        }),
        ("5xx before processing", |c| SandboxConfig {
            error_rate: 0.5,
            ..c
        }),
        ("429 with Retry-After seconds", |c| SandboxConfig {
            rate_limit: Some(3),
            ..c
        }),
        ("429 with an HTTP-date", |c| SandboxConfig {
            rate_limit: Some(3),
            retry_after: RetryAfter::HttpDate,
            ..c
        }),
        ("429 without Retry-After", |c| SandboxConfig {
            rate_limit: Some(3),
            retry_after: RetryAfter::Absent,
            ..c
        }),
        ("latency above the client timeout", |c| SandboxConfig {
            latency: Duration::from_secs(3),
            ..c
        }),
        ("latency just below the client timeout", |c| SandboxConfig {
            latency: Duration::from_millis(1900),
            ..c
        }),
        ("garbled answers after processing", |c| SandboxConfig {
            garbled_rate: 0.5,
            ..c
        }),
        ("status flaps after settling", |c| SandboxConfig {
            flap_rate: 0.5,
            ..c
        }),
        ("duplicate create replayed", |c| SandboxConfig {
            duplicates: Duplicates::Replay,
            lost_answer_rate: 0.5,
            not_found_polls: 2,
            ..c
        }),
        ("lookup lags the create", |c| SandboxConfig {
            not_found_polls: 2,
            lost_answer_rate: 0.5,
            ..c
        }),
        ("no duplicate check", |c| SandboxConfig {
            duplicates: Duplicates::Accept,
            lost_answer_rate: 0.5,
            not_found_polls: 2,
            ..c
        }),
        ("PayU tokens expire every few seconds", |c| SandboxConfig {
            token_ttl: Duration::from_secs(2),
            latency: Duration::from_millis(300),
            ..c
        }),
        ("PayU links await approval", |c| SandboxConfig {
            approval: true,
            lost_answer_rate: 0.5,
            ..c
        }),
        ("outage longer than the retry budget", |c| SandboxConfig {
            outage: Some(Outage {
                start: Duration::ZERO,
                length: Duration::from_secs(600),
            }),
            ..c
        }),
        ("outage mid-batch", |c| SandboxConfig {
            outage: Some(Outage {
                start: Duration::from_millis(500),
                length: Duration::from_secs(20),
            }),
            ..c
        }),
        ("everything at once", |c| SandboxConfig {
            lost_answer_rate: 0.3,
            error_rate: 0.2,
            rate_limit: Some(5),
            garbled_rate: 0.2,
            not_found_polls: 2,
            duplicates: Duplicates::Accept,
            ..c
        }),
    ];
    let dir = scratch();
    for (name, fault) in faults {
        for seed in 0..20 {
            if let Err(violation) =
                simulate_with(seed, dir.path(), None, true, |s, _| fault(base(s)))
            {
                panic!("{name}, seed {seed}: {violation}");
            }
            let _ = std::fs::remove_file(dir.path().join(format!("sim{seed}.db")));
        }
        // Each fault again under every dialect, with the provider(s) the dialect speaks for.
        for dialect in Dialect::all() {
            let seeds = (0..8u64)
                .filter(|s| speaks(dialect, provider_of(*s)))
                .take(4);
            for seed in seeds {
                let configure = |s, _: &mut StdRng| in_dialect(fault(base(s)), dialect);
                if let Err(violation) = simulate_with(seed, dir.path(), None, true, configure) {
                    panic!("{name}, dialect {dialect}, seed {seed}: {violation}");
                }
                let _ = std::fs::remove_file(dir.path().join(format!("sim{seed}.db")));
            }
        }
    }
}

#[test]
fn an_outage_stops_the_batch_in_bounded_time_and_the_next_run_finishes() {
    let dir = scratch();
    let runtime = paused_runtime();
    runtime.block_on(async {
        let mut rng = StdRng::seed_from_u64(42);
        let calm_config = SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_millis(100),
                latest: Duration::from_secs(5),
            },
            expire_after: Duration::from_secs(8),
            ..SandboxConfig::fast()
        };
        let down = SandboxConfig {
            outage: Some(Outage {
                start: Duration::ZERO,
                length: Duration::from_secs(86_400),
            }),
            ..calm_config.clone()
        };
        let sim = InProcessSandbox::new(down);
        let path = dir.path().join("outage.db");
        let rows: Vec<PayoutRow> = (0..60).map(|i| payout(i, &mut rng)).collect();
        let journal = journal_with(&path, "outage", ProviderKind::Paytm, &rows).unwrap();
        let rate: Rate = "20/s".parse().unwrap();

        let started = tokio::time::Instant::now();
        let outcome = engine(ProviderKind::Paytm, Arc::clone(&journal), &sim, 1, rate)
            .run("outage")
            .await
            .unwrap();
        assert!(
            matches!(outcome, Outcome::ProviderDown(ref why) if why.contains("unreachable")),
            "{outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "stopped after {:?}",
            started.elapsed()
        );
        let summary = journal.summary("outage").unwrap();
        assert_eq!(
            summary.rows(RowState::Sending),
            0,
            "nothing left sending: {summary:?}"
        );
        assert!(
            summary.rows(RowState::Queued) >= 30,
            "untouched rows stay queued: {summary:?}"
        );
        assert!(sim.ledger().is_empty());

        sim.set_config(calm_config);
        let outcome = engine(ProviderKind::Paytm, Arc::clone(&journal), &sim, 2, rate)
            .run("outage")
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Settled);
        let ledger = sim
            .ledger()
            .into_iter()
            .map(|e| (e.order_id.clone(), e))
            .collect();
        check(&journal, "outage", &rows, &ledger, false).unwrap();
    });
}

#[test]
fn a_thousand_rows_through_a_thirty_percent_fault_mix() {
    let dir = scratch();
    for seed in 0..3 {
        let mix = |s, _: &mut StdRng| SandboxConfig {
            seed: s,
            latency: Duration::from_millis(50),
            error_rate: 0.1,
            lost_answer_rate: 0.1,
            garbled_rate: 0.1,
            not_found_polls: 1,
            rate_limit: Some(50),
            claim_after: ClaimWindow {
                earliest: Duration::from_millis(100),
                latest: Duration::from_secs(5),
            },
            expire_after: Duration::from_secs(8),
            ..SandboxConfig::fast()
        };
        let (tally, _) = simulate_with(seed, dir.path(), Some(1000), false, mix)
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        assert_eq!(tally.rows, 1000);
        assert!(tally.faults > 300, "faults injected: {}", tally.faults);
    }
}

#[test]
fn a_link_never_settled_by_the_provider_is_expired_after_its_grace() {
    // The provider keeps reporting a link pending long after the expiry it gave: payrun
    // asks once more after the grace period, then marks it expired. A link whose expiry
    // is still ahead stays open. Days pass on a paused clock.
    let dir = scratch();
    let runtime = paused_runtime();
    runtime.block_on(async {
        let sim = InProcessSandbox::new(SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(90 * 86_400),
                latest: Duration::from_secs(90 * 86_400),
            },
            expire_after: Duration::from_secs(90 * 86_400),
            ..SandboxConfig::fast()
        });
        let today = payrun::ist::today();
        let mut rng = StdRng::seed_from_u64(7);
        let rows: Vec<PayoutRow> = [1, 9]
            .iter()
            .enumerate()
            .map(|(i, days)| PayoutRow {
                expiry: Some(today + time::Duration::days(*days)),
                ..payout(i as u64, &mut rng)
            })
            .collect();
        let journal = journal_with(
            &dir.path().join("stuck.db"),
            "stuck",
            ProviderKind::Paytm,
            &rows,
        )
        .unwrap();
        let client = Client::Paytm(PaytmClient::with_transport(
            PaytmConfig {
                mid: SANDBOX_MID.into(),
                merchant_key: SANDBOX_KEY.into(),
                subwallet_guid: SANDBOX_SUBWALLET.into(),
                base_url: "http://in-process".into(),
                timeout: Duration::from_secs(2),
            },
            Transport::InProcess {
                router: sim.router(),
                timeout: Duration::from_secs(2),
            },
        ));
        let rate: Rate = "10/s".parse().unwrap();
        let engine = Engine::new(
            Arc::clone(&journal),
            Arc::new(client),
            Arc::new(Pacer::new(rate, rate.default_burst())),
            EngineOptions {
                poll_for: Duration::from_secs(4 * 86_400),
                poll_interval: PollInterval {
                    first: Duration::from_secs(60),
                    longest: Duration::from_secs(3600),
                },
                expiry_grace: Duration::from_secs(86_400),
                group_commit: false,
                seed: Some(7),
                ..EngineOptions::default()
            },
            CancellationToken::new(),
            Progress::hidden(),
        );
        let outcome = engine.run("stuck").await.unwrap();
        assert_eq!(outcome, Outcome::Incomplete, "the later link is still open");
        let lines = journal.report_rows("stuck").unwrap();
        assert_eq!(lines[0].state, RowState::Expired);
        assert!(
            lines[0]
                .provider_message
                .as_deref()
                .unwrap_or_default()
                .contains("marked expired by payrun"),
            "{:?}",
            lines[0]
        );
        assert_eq!(lines[1].state, RowState::Open);
        assert!(sim.ledger().iter().all(|e| e.status == "PENDING"));
    });
}
