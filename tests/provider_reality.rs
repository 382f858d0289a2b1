//! Where the providers' documentation is silent, the simulator speaks each plausible reality
//! (a dialect), and the `payrun` binary must finish every batch in all of them: one link per
//! row, every row settled, the exit code true. Also the balance check before money moves,
//! and the operator's `settle` for rows that need attention.

mod common;

use common::*;
use payrun::sandbox::{Dialect, Sandbox, SandboxConfig};
use std::path::Path;

fn in_dialect(seed: u64, dialect: Dialect) -> SandboxConfig {
    SandboxConfig {
        // Creates answered 5xx before anything is committed: the rows are `unknown` until
        // a lookup settles them, which is where the dialects differ.
        error_rate: 0.2,
        ..quick_config(seed)
    }
    .with_dialect(dialect)
}

async fn pay(
    sb: &Sandbox,
    dir: &tempfile::TempDir,
    n: usize,
    extra: &[&str],
) -> std::process::Output {
    let (sheet, journal, report) = files(dir, "csv");
    write_csv(&sheet, &rows(n));
    let mut args = vec!["--rate", "200/s"];
    args.extend_from_slice(extra);
    output(run_cmd(sb, &journal, &sheet, &report, &args)).await
}

fn settled(dir: &tempfile::TempDir, sb: &Sandbox, n: usize, out: &std::process::Output) {
    let (_, journal, report) = files(dir, "csv");
    assert!(!text(out).contains("panicked"), "{}", text(out));
    assert_settled(&journal, &report, sb, n, code(out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paytm_batch_with_pre_commit_5xx_finishes_in_every_dialect() {
    for (i, dialect) in Dialect::all().into_iter().enumerate() {
        if dialect.name().starts_with("payu-") {
            continue;
        }
        let sb = sandbox(in_dialect(40 + i as u64, dialect)).await;
        let dir = tempdir();
        let out = pay(&sb, &dir, 40, &[]).await;
        assert!(
            sb.stats().injected_errors > 0,
            "{dialect}: the fault was injected"
        );
        settled(&dir, &sb, 40, &out);
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payu_batch_finishes_without_status_v2_and_without_details() {
    for (seed, dialect) in [(61, Dialect::PayuNoV2Status), (62, Dialect::PayuNoDetails)] {
        let sb = sandbox(in_dialect(seed, dialect)).await;
        let dir = tempdir();
        let out = pay(&sb, &dir, 40, &["--provider", "payu"]).await;
        settled(&dir, &sb, 40, &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A missing path is dropped at most once, with one warning, and never stops the
        // batch; without Details every lookup by reference meets it.
        let warned = stderr.matches("stops using it for this run").count();
        let expected = if dialect == Dialect::PayuNoDetails {
            1..=1
        } else {
            0..=1
        };
        assert!(
            expected.contains(&warned),
            "{dialect}: {warned} warnings: {stderr}"
        );
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_above_the_payu_balance_is_refused_before_any_link() {
    let sb = sandbox(SandboxConfig {
        payu_balance_paise: 10_000,
        ..quick_config(71)
    })
    .await;
    let dir = tempdir();
    let out = pay(&sb, &dir, 5, &["--provider", "payu"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("transferable amount is ₹100.00") && stderr.contains("nothing was sent"),
        "{stderr}"
    );
    assert!(sb.ledger().is_empty(), "no link was created");
    // The operator knows better: the check can be skipped.
    let (sheet, journal, report) = files(&dir, "csv");
    let out = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &[
            "--provider",
            "payu",
            "--rate",
            "200/s",
            "--skip-balance-check",
        ],
    ))
    .await;
    assert_settled(&journal, &report, &sb, 5, code(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_get_account_details_the_run_warns_and_goes_on() {
    let sb = sandbox(quick_config(72).with_dialect(Dialect::PayuNoAccountDetail)).await;
    let dir = tempdir();
    let out = pay(&sb, &dir, 5, &["--provider", "payu"]).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("balance is not checked"),
        "{}",
        text(&out)
    );
    settled(&dir, &sb, 5, &out);
}

/// Puts a row of the journal into `attention`, as the engine does when the provider
/// contradicts itself.
fn needs_attention(journal: &Path, row_no: u64) {
    rusqlite::Connection::open(journal)
        .unwrap()
        .execute(
            "UPDATE attempts SET state = 'attention', attention = 'contradiction',
                 provider_message = 'duplicate while lookups say not found' WHERE row_no = ?1",
            [row_no as i64],
        )
        .unwrap();
}

fn events_of(journal: &Path, kind: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(journal).unwrap();
    let mut stmt = conn
        .prepare("SELECT COALESCE(detail, '') || ' ' || COALESCE(to_state, '') FROM events WHERE kind = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([kind], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_needing_attention_are_shown_and_settled_only_with_confirmation() {
    let sb = sandbox(quick_config(81)).await;
    let dir = tempdir();
    let (_, journal, _) = files(&dir, "csv");
    let out = pay(&sb, &dir, 6, &[]).await;
    settled(&dir, &sb, 6, &out);
    needs_attention(&journal, 2);
    needs_attention(&journal, 3);
    let batch = batch_id(&journal);

    let status = output({
        let mut cmd = payrun(&sb, &journal);
        cmd.arg("status");
        cmd
    })
    .await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("attention") && l.contains(" 2 ")),
        "{shown}"
    );

    let settle = |rows: &str, outcome: &str, yes: bool| {
        let mut cmd = payrun(&sb, &journal);
        cmd.args([
            "settle",
            &batch,
            "--rows",
            rows,
            "--outcome",
            outcome,
            "--rate",
            "200/s",
        ]);
        cmd.args(["--poll-for", "20s", "--poll-interval", "200ms"]);
        if yes {
            cmd.arg("--yes");
        }
        cmd
    };
    // Without a terminal and without --yes nothing happens.
    let refused = output(settle("2", "not-created", false)).await;
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(text(&refused).contains("pass --yes"), "{}", text(&refused));
    assert!(events_of(&journal, "operator").is_empty());
    let states = journal_rows(&journal);
    assert_eq!(
        (states[0].2.as_str(), states[1].2.as_str()),
        ("attention", "attention")
    );

    // Row 2: the dashboard shows no link; row 3: send again with the same order id.
    let out = output(settle("2", "not-created", true)).await;
    assert_eq!(code(&out), 5, "row 3 still needs attention: {}", text(&out));
    let out = output(settle("3", "resend", true)).await;
    assert_eq!(code(&out), 1, "nothing needs attention now: {}", text(&out));
    let rows = journal_rows(&journal);
    assert_eq!(rows[0].2, "not_created");
    assert_ne!(rows[1].2, "attention");
    let operator = events_of(&journal, "operator");
    assert!(
        operator
            .iter()
            .any(|e| e.contains(" settle ") && e.contains("--outcome not-created")),
        "{operator:?}"
    );
    assert!(
        operator.iter().any(|e| e.ends_with("not_created")),
        "{operator:?}"
    );
    assert!(
        operator.iter().any(|e| e.ends_with("queued")),
        "{operator:?}"
    );
    // The re-send used the same order id: the provider's duplicate check kept one link.
    assert_exactly_once(&journal, &sb, 6);
    // A row marked not created is free for retry, under a new order id.
    let mut retry = payrun(&sb, &journal);
    retry.args([
        "retry",
        &batch,
        "--states",
        "not_created",
        "--yes",
        "--rate",
        "200/s",
    ]);
    retry.args(["--poll-for", "20s", "--poll-interval", "200ms"]);
    let out = output(retry).await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    let order_ids: Vec<String> = journal_rows(&journal)
        .into_iter()
        .filter(|r| r.0 == 2)
        .map(|r| r.1)
        .collect();
    assert_eq!(order_ids.len(), 2, "{order_ids:?}");
    assert!(order_ids[1].ends_with("R2"), "{order_ids:?}");
}
