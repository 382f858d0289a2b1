//! End to end through PayU Smart Send: the `payrun` binary pays sheets with `--provider payu`
//! against the in-process simulator, and the outcome is checked in the simulator's ledger,
//! the journal, the report and the exit code.

mod common;

use common::*;
use payrun::sandbox::{ClaimWindow, Sandbox, SandboxConfig};
use std::path::Path;
use std::time::Duration;

async fn pay(
    sheet: &Path,
    journal: &Path,
    report: &Path,
    sb: &Sandbox,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["--provider", "payu"];
    if !extra.contains(&"--rate") {
        args.extend(["--rate", "200/s"]);
    }
    args.extend_from_slice(extra);
    output(run_cmd(sb, journal, sheet, report, &args)).await
}

fn journal_count(journal: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(journal)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_is_paid_through_payu_exactly_once_and_reported() {
    let sb = sandbox(quick_config(21)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(40));
    let out = pay(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 40, code(&out));
    let states: Vec<String> = journal_rows(&journal).into_iter().map(|r| r.2).collect();
    assert!(states.iter().any(|s| s == "paid"), "{states:?}");
    assert!(sb.ledger().iter().all(|e| e.create_requests == 1));
    assert_eq!(sb.stats().tokens_issued, 1, "one token for the whole batch");
    let provider: String = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row("SELECT provider FROM batches", [], |r| r.get(0))
        .unwrap();
    assert_eq!(provider, "payu");

    let status = output({
        let mut cmd = payrun(&sb, &journal);
        cmd.arg("status");
        cmd
    })
    .await;
    assert!(text(&status).contains("payu"), "{}", text(&status));
    // The same sheet through Paytm is another batch with other order ids.
    let paytm = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--rate", "200/s"],
    ))
    .await;
    assert!(!text(&paytm).contains("resuming"), "{}", text(&paytm));
    assert_eq!(sb.ledger().len(), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payu_rules_are_checked_before_anything_is_sent() {
    let sb = sandbox(quick_config(22)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    std::fs::write(
        &sheet,
        "Name,Phone,Email,Amount,Comments\n\
         Asha Rao,9876543210,,100,Bonus\n\
         ,9876543211,,100,Bonus\n\
         Ravi Kumar,,,100,Bonus\n\
         Meena Iyer,,meena@example.com,100,Bonus\n",
    )
    .unwrap();
    let validate = output({
        let mut cmd = payrun(&sb, &journal);
        cmd.args(["validate", "--provider", "payu"]).arg(&sheet);
        cmd
    })
    .await;
    assert_eq!(code(&validate), 1, "{}", text(&validate));
    let said = text(&validate);
    assert!(said.contains("row 3, column Name"), "{said}");
    assert!(said.contains("row 4, column Phone"), "{said}");
    assert!(
        !said.contains("row 5"),
        "an e-mail alone is enough for PayU: {said}"
    );

    let out = pay(&sheet, &journal, &report, &sb, &[]).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        sb.ledger().is_empty(),
        "nothing is sent while rows are invalid"
    );
    let out = pay(&sheet, &journal, &report, &sb, &["--skip-invalid"]).await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    let ledger = ledger(&sb);
    assert_eq!(ledger.len(), 2, "the two valid rows: {ledger:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_and_a_lagging_lookup_never_make_a_second_link() {
    // Every create's answer is lost, and Smart Send Details says "record not found" for the
    // first lookups after each create: payrun asks again, never re-creating a link that
    // exists.
    let sb = sandbox(SandboxConfig {
        lost_answer_rate: 1.0,
        not_found_polls: 2,
        ..quick_config(23)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(12));
    let out = pay(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 12, code(&out));
    assert!(
        sb.ledger().iter().all(|e| e.create_requests == 1),
        "{:#?}",
        sb.ledger()
    );
    let unknown = journal_count(
        &journal,
        "SELECT COUNT(DISTINCT order_id) FROM events WHERE to_state = 'unknown'",
    );
    assert_eq!(unknown, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_not_found_after_a_good_create_is_pending_not_absent() {
    // Creates are answered, but Details cannot find the links for many lookups: polling
    // falls back to the link id and never sends a second create.
    let sb = sandbox(SandboxConfig {
        not_found_polls: 50,
        ..quick_config(24)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(10));
    let out = pay(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 10, code(&out));
    assert!(sb.ledger().iter().all(|e| e.create_requests == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_waited_out() {
    let sb = sandbox(SandboxConfig {
        rate_limit: Some(8),
        ..quick_config(25)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(30));
    let out = pay(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 30, code(&out));
    assert!(sb.stats().throttled > 0, "{:?}", sb.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_mid_batch_are_refreshed_not_fatal() {
    let sb = sandbox(SandboxConfig {
        token_ttl: Duration::from_secs(1),
        ..quick_config(26)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(30));
    let out = pay(&sheet, &journal, &report, &sb, &["--rate", "20/s"]).await;
    assert_settled(&journal, &report, &sb, 30, code(&out));
    assert!(sb.stats().tokens_issued > 1, "{:?}", sb.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_access_stops_the_batch_with_exit_4_after_journaling_what_was_sent() {
    let sb = sandbox(SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_secs(600),
            latest: Duration::from_secs(600),
        },
        expire_after: Duration::from_secs(900),
        ..quick_config(27)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(60));
    let run = tokio::task::spawn_blocking({
        let mut cmd = run_cmd(
            &sb,
            &journal,
            &sheet,
            &report,
            &["--provider", "payu", "--rate", "15/s"],
        );
        move || cmd.output().unwrap()
    });
    while sb.ledger().len() < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sb.revoke_payu_access();
    let out = run.await.unwrap();
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        text(&out).contains("PayU refused to issue a token"),
        "{}",
        text(&out)
    );
    // Every link PayU made is in the journal with its id; the rest wait in the queue.
    let ledger = ledger(&sb);
    let rows = journal_rows(&journal);
    assert_eq!(rows.len(), 60);
    for (row_no, order_id, state, link_id, _) in &rows {
        match ledger.get(order_id) {
            Some(entry) => assert_eq!(
                link_id.as_deref(),
                Some(entry.link_id.as_str()),
                "row {row_no}"
            ),
            None => assert_eq!(state, "queued", "row {row_no}"),
        }
    }
    assert!(ledger.len() < 60, "the batch stopped early");
}

#[test]
fn practice_runs_of_one_sheet_through_both_providers_keep_their_own_journals() {
    // The README's two practice runs: the same sheet (same references) through the Paytm and
    // the PayU simulator. In one journal the second would be refused (its references are
    // used by the first batch, as they must be for real batches); each simulated provider
    // has its own default journal.
    let dir = tempdir();
    std::fs::write(
        path(&dir, "pay.csv"),
        "Name,Phone,Amount,Comments,Order ID\nAsha,9876543210,100,ok,INV1\n",
    )
    .unwrap();
    for provider in ["paytm", "payu"] {
        let out = std::process::Command::new(BIN)
            .current_dir(dir.path())
            .args([
                "run",
                "pay.csv",
                "--sandbox",
                "--poll-for",
                "0s",
                "--provider",
                provider,
            ])
            .output()
            .unwrap();
        assert_eq!(code(&out), 3, "{provider}: {}", text(&out));
    }
    assert!(path(&dir, "payrun-sandbox.db").exists());
    assert!(path(&dir, "payrun-sandbox-payu.db").exists());
}
