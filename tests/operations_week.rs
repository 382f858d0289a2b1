//! The operator's week on a compressed clock (links live for a second): run the sheet, poll
//! it three times, retry what failed or expired, cancel links while beneficiaries pay them,
//! and read the report and the audit trail after each step. Also: two `poll` processes at
//! once, and `extend` on PayU.

mod common;

use common::*;
use payrun::sandbox::{ClaimWindow, Sandbox, SandboxConfig};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// `payrun <args>` against `sb` and `journal`.
async fn payrun_do(sb: &Sandbox, journal: &Path, args: &[&str]) -> Output {
    let mut cmd = payrun(sb, journal);
    cmd.args(args);
    output(cmd).await
}

/// `payrun run SHEET` that creates every link and leaves them open (exit 3); the batch id.
async fn run_open(sb: &Sandbox, journal: &Path, sheet: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "run",
        sheet.to_str().unwrap(),
        "--rate",
        "200/s",
        "--poll-for",
        "0s",
    ];
    args.extend_from_slice(extra);
    let out = payrun_do(sb, journal, &args).await;
    assert_eq!(code(&out), 3, "links still open: {}", text(&out));
    batch_id(journal)
}

fn events_csv(dir: &tempfile::TempDir) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path(dir, "events.csv"))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

fn batch_id(journal: &Path) -> String {
    rusqlite::Connection::open(journal)
        .unwrap()
        .query_row("SELECT id FROM batches", [], |r| r.get(0))
        .unwrap()
}

/// (order id, state, attempts) per report line.
fn report_lines(report: &Path) -> Vec<(String, String, u32)> {
    let mut r = csv::Reader::from_path(report).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (o, s, a) = (col("order_id"), col("state"), col("attempts"));
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                rec[o].to_string(),
                rec[s].to_string(),
                rec[a].parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_operations() {
    let sb = sandbox(SandboxConfig {
        paid_share: 0.6,
        failed_share: 0.2,
        ..quick_config(41)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal) = (path(&dir, "pay.csv"), path(&dir, "j.db"));
    let report = path(&dir, "pay.report.csv");
    write_csv(&sheet, &rows(20));

    // Monday: the run creates every link and leaves them open.
    let batch = run_open(&sb, &journal, &sheet, &["--poll-interval", "100ms"]).await;
    assert!(report_lines(&report).iter().all(|l| l.1 == "open"));

    // The scheduler polls three times; the last one may run until everything settles.
    let mut codes = Vec::new();
    for poll_for in ["200ms", "200ms", "30s"] {
        let args = [
            "poll",
            "--for",
            poll_for,
            "--poll-interval",
            "100ms",
            "--json",
        ];
        let out = payrun_do(&sb, &journal, &args).await;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("poll --json: {}", text(&out)));
        assert_eq!(json[0]["exit"].as_u64(), Some(code(&out) as u64));
        codes.push(code(&out));
    }
    assert_eq!(
        codes.last(),
        Some(&1),
        "settled with unpaid rows: {codes:?}"
    );
    let settled = report_lines(&report);
    let unpaid: Vec<_> = settled
        .iter()
        .filter(|l| l.1 == "failed" || l.1 == "expired")
        .collect();
    assert!(
        !unpaid.is_empty() && settled.iter().any(|l| l.1 == "paid"),
        "{settled:?}"
    );
    assert_exactly_once(&journal, &sb, 20);

    // Thursday: retry what failed or expired; this time every beneficiary pays.
    sb.set_config(SandboxConfig {
        paid_share: 1.0,
        failed_share: 0.0,
        ..quick_config(41)
    });
    let refused = payrun_do(&sb, &journal, &["retry", &batch]).await;
    assert_eq!(
        code(&refused),
        2,
        "a scheduler must say --yes: {}",
        text(&refused)
    );
    assert!(text(&refused).contains("--yes"));
    let out = payrun_do(
        &sb,
        &journal,
        &[
            "retry",
            &batch,
            "--states",
            "failed,expired",
            "--yes",
            "--poll-interval",
            "100ms",
            "--poll-for",
            "30s",
        ],
    )
    .await;
    assert_eq!(
        code(&out),
        0,
        "every row paid after the retry: {}",
        text(&out)
    );
    let after = report_lines(&report);
    for (before, now) in settled.iter().zip(&after) {
        if before.1 == "paid" {
            assert_eq!(before, now, "paid rows are untouched");
        } else {
            assert_eq!(now.0, format!("{}R2", before.0));
            assert_eq!((now.1.as_str(), now.2), ("paid", 2));
        }
    }
    // The provider holds one link per order id: the old links and the new ones.
    let ledger = ledger(&sb);
    assert_eq!(ledger.len(), 20 + unpaid.len());
    assert!(ledger.values().all(|e| e.create_requests == 1));
    for before in unpaid.iter() {
        assert_ne!(
            ledger[&before.0].status, "SUCCESS",
            "{} was paid before its retry",
            before.0
        );
    }
    let out = payrun_do(
        &sb,
        &journal,
        &[
            "events",
            &batch,
            "--out",
            path(&dir, "events.csv").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let events = events_csv(&dir);
    assert!(events
        .iter()
        .any(|e| &e[4] == "operator" && e[7].contains("retry")));
    assert_eq!(
        events.iter().filter(|e| &e[4] == "retry").count(),
        unpaid.len()
    );
    // Phones never reach the trail.
    assert!(events.iter().all(|e| !e[7].contains("9812345")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_racing_a_payment_loses_and_the_row_stays_paid() {
    // Half the beneficiaries pay 300 ms after the link is made; the rest never act.
    let sb = sandbox(SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(300),
            latest: Duration::from_millis(300),
        },
        expire_after: Duration::from_secs(600),
        paid_share: 0.5,
        failed_share: 0.0,
        ..quick_config(42)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal) = (path(&dir, "pay.csv"), path(&dir, "j.db"));
    write_csv(&sheet, &rows(12));
    let batch = run_open(&sb, &journal, &sheet, &[]).await;
    // The journal still says open for every row, but half have been paid since.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let out = payrun_do(&sb, &journal, &["cancel", &batch, "--yes"]).await;
    assert_eq!(code(&out), 1, "settled, some cancelled: {}", text(&out));
    let ledger = ledger(&sb);
    let rows = journal_rows(&journal);
    let mut outcomes = std::collections::HashMap::new();
    for (row_no, order_id, state, _, _) in &rows {
        let wanted = match ledger[order_id].status.as_str() {
            "SUCCESS" => "paid",
            "CANCELLED" => "cancelled",
            other => panic!("row {row_no}: provider says {other}"),
        };
        assert_eq!(state, wanted, "row {row_no}");
        *outcomes.entry(wanted).or_insert(0) += 1;
    }
    assert!(
        outcomes.get("paid") > Some(&0) && outcomes.get("cancelled") > Some(&0),
        "{outcomes:?}"
    );
    let out = payrun_do(
        &sb,
        &journal,
        &[
            "events",
            &batch,
            "--out",
            path(&dir, "events.csv").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&out), 0);
    let events = events_csv(&dir);
    // Each paid row shows the refused cancel, then the move to paid.
    for (_, order_id, state, _, _) in rows.iter().filter(|r| r.2 == "paid") {
        let trail: Vec<_> = events.iter().filter(|e| &e[3] == order_id).collect();
        assert!(
            trail.iter().any(|e| e[7].contains("cancel refused")),
            "{order_id} {state}: {trail:?}"
        );
        assert!(trail.iter().any(|e| &e[5] == "open" && &e[6] == "paid"));
    }
    assert!(events
        .iter()
        .any(|e| &e[4] == "operator" && e[7].contains("cancel")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_polls_at_once_never_share_the_journal() {
    let sb = sandbox(SandboxConfig {
        latency: Duration::from_millis(100),
        ..quick_config(43)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal) = (path(&dir, "pay.csv"), path(&dir, "j.db"));
    write_csv(&sheet, &rows(10));
    run_open(&sb, &journal, &sheet, &[]).await;

    let poll = |extra: &'static [&'static str]| {
        let mut cmd = payrun(&sb, &journal);
        cmd.args(["poll", "--for", "3s", "--poll-interval", "100ms"])
            .args(extra);
        output(cmd)
    };
    // While another process holds the journal, a poll leaves at once and says why...
    let held = payrun::journal::JournalLock::acquire(&journal).unwrap();
    let refused = poll(&[]).await;
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(
        text(&refused).contains("in use by another payrun process"),
        "{}",
        text(&refused)
    );
    // ... or, with --wait-lock, waits for it to finish.
    let waiting = tokio::spawn(poll(&["--wait-lock", "60s"]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the poll waits while the lock is held"
    );
    drop(held);
    let out = waiting.await.unwrap();
    assert!(matches!(code(&out), 0 | 1 | 3), "{}", text(&out));
    // Two polls started at once take turns.
    let (a, b) = tokio::join!(poll(&["--wait-lock", "60s"]), poll(&["--wait-lock", "60s"]));
    for out in [a, b] {
        assert!(matches!(code(&out), 0 | 1 | 3), "{}", text(&out));
    }
    assert_exactly_once(&journal, &sb, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extend_keeps_payu_links_alive_and_resend_is_paytms() {
    let sb = sandbox(SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_secs(600),
            latest: Duration::from_secs(600),
        },
        expire_after: Duration::from_secs(5),
        ..quick_config(44)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal) = (path(&dir, "pay.csv"), path(&dir, "j.db"));
    write_csv(&sheet, &rows(4));
    let batch = run_open(&sb, &journal, &sheet, &["--provider", "payu"]).await;
    let resend = payrun_do(&sb, &journal, &["resend", &batch, "--yes"]).await;
    assert_eq!(code(&resend), 2);
    assert!(
        text(&resend).contains("PayU has no resend"),
        "{}",
        text(&resend)
    );
    let until = (time::OffsetDateTime::now_utc().date() + time::Duration::days(5)).to_string();
    let out = payrun_do(
        &sb,
        &journal,
        &[
            "extend", &batch, "--rows", "2-3", "--until", &until, "--yes",
        ],
    )
    .await;
    assert_eq!(code(&out), 3, "links still open: {}", text(&out));
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let out = payrun_do(
        &sb,
        &journal,
        &["poll", "--for", "2s", "--poll-interval", "100ms"],
    )
    .await;
    assert_eq!(
        code(&out),
        3,
        "the extended links stay open: {}",
        text(&out)
    );
    let states: Vec<(u64, String)> = journal_rows(&journal)
        .into_iter()
        .map(|r| (r.0, r.2))
        .collect();
    assert_eq!(
        states,
        [
            (2, "open".into()),
            (3, "open".into()),
            (4, "expired".into()),
            (5, "expired".into())
        ]
    );
}
