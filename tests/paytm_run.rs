//! End to end against the in-process simulator: the `payrun` binary pays sheets through
//! the Paytm protocol, and the outcome is checked where a user would check it: the
//! simulator's ledger, the journal, the report and the exit code.

mod common;

use common::*;
use payrun::journal::JournalLock;
use payrun::sandbox::SandboxConfig;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

async fn run_sheet(
    sheet: &Path,
    journal: &Path,
    report: &Path,
    sb: &payrun::sandbox::Sandbox,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["--rate", "200/s"];
    args.extend_from_slice(extra);
    output(run_cmd(sb, journal, sheet, report, &args)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_sheet_is_paid_exactly_once_and_reported() {
    let sb = sandbox(quick_config(7)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(40));
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 40, code(&out));
    assert!(text(&out).contains("report:"), "{}", text(&out));
    // With these seeds some beneficiaries never claim: the batch is not all paid.
    let states: Vec<String> = journal_rows(&journal).into_iter().map(|r| r.2).collect();
    assert!(states.iter().any(|s| s == "paid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_sheet_is_paid_exactly_once_and_reported() {
    let sb = sandbox(SandboxConfig {
        paid_share: 1.0,
        failed_share: 0.0,
        ..quick_config(3)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "xlsx");
    let rows = rows(25);
    write_xlsx(&sheet, &rows);
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_eq!(code(&out), 0, "everyone paid: {}", text(&out));
    assert_exactly_once(&journal, &sb, 25);
    // Amounts read from numeric XLSX cells reach the provider to the paisa.
    let ledger = ledger(&sb);
    for (r, (_, order_id, state, _, _)) in rows.iter().zip(journal_rows(&journal)) {
        assert_eq!(paise(&ledger[&order_id].amount), paise(&r.amount));
        assert_eq!(state, "paid");
    }
    // The XLSX report opens and holds one line per row plus the header.
    use calamine::{open_workbook_auto, Reader};
    let mut book = open_workbook_auto(&report).unwrap();
    let sheet = book.worksheet_range("Report").unwrap();
    assert_eq!(sheet.height(), 26);
    // Phones stay text; the amount column is a number to the paisa.
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (i, r) in rows.iter().enumerate() {
        let line = sheet.rows().nth(i + 1).unwrap();
        assert_eq!(line[col("Mobile")], calamine::Data::String(r.phone.clone()));
        let calamine::Data::Float(amount) = line[col("amount")] else {
            panic!("amount is not a number: {:?}", line[col("amount")]);
        };
        assert_eq!((amount * 100.0).round() as i64, paise(&r.amount));
    }
    assert!(book.worksheet_range("Summary").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_the_same_sheet_again_resumes_and_sends_nothing_new() {
    let sb = sandbox(quick_config(11)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(10));
    let first = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert!(matches!(code(&first), 0 | 1), "{}", text(&first));
    let second = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_eq!(code(&second), code(&first), "{}", text(&second));
    assert!(text(&second).contains("resuming batch"));
    assert_exactly_once(&journal, &sb, 10);
    assert!(ledger(&sb).values().all(|e| e.create_requests == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_answers_are_reconciled_not_duplicated() {
    let sb = sandbox(SandboxConfig {
        lost_answer_rate: 1.0,
        ..quick_config(5)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(12));
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 12, code(&out));
    // The lookup found every committed link: no create was ever repeated.
    assert!(
        ledger(&sb).values().all(|e| e.create_requests == 1),
        "{:#?}",
        sb.ledger()
    );
    // The journal shows the rows went through `unknown` on the way.
    let conn = rusqlite::Connection::open(&journal).unwrap();
    let unknown: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT order_id) FROM events WHERE to_state = 'unknown'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unknown, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_lookup_is_asked_again_never_answered_with_a_second_create() {
    // Lost answers, and a lookup that says "not found" twice before it sees the new link:
    // payrun asks again after the grace period and finds the one link; it never re-sends.
    let sb = sandbox(SandboxConfig {
        lost_answer_rate: 1.0,
        not_found_polls: 2,
        ..quick_config(6)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(6));
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 6, code(&out));
    assert!(
        ledger(&sb).values().all(|e| e.create_requests == 1),
        "{:#?}",
        sb.ledger()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_by_429_every_row_still_gets_exactly_one_link() {
    let sb = sandbox(SandboxConfig {
        rate_limit: Some(4),
        ..quick_config(9)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(15));
    let out = run_sheet(
        &sheet,
        &journal,
        &report,
        &sb,
        &["--burst", "10", "--concurrency", "8"],
    )
    .await;
    assert_settled(&journal, &report, &sb, 15, code(&out));
    assert!(
        sb.stats().throttled > 0,
        "the simulator must have answered 429"
    );
    assert!(ledger(&sb).values().all(|e| e.create_requests == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_locked_journal_is_refused() {
    let sb = sandbox(quick_config(1)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(3));
    let _held = JournalLock::acquire(&journal).unwrap();
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("in use by another payrun process"),
        "{}",
        text(&out)
    );
    assert!(sb.ledger().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_rows_stop_the_run_unless_skipped() {
    let sb = sandbox(quick_config(2)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    let mut rows = rows(5);
    rows[2].amount = "12.345".into();
    write_csv(&sheet, &rows);
    let refused = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(
        text(&refused).contains("row 4, column Amount (INR):"),
        "{}",
        text(&refused)
    );
    assert!(sb.ledger().is_empty(), "nothing may be sent");

    let skipped = run_sheet(&sheet, &journal, &report, &sb, &["--skip-invalid"]).await;
    assert_eq!(code(&skipped), 1, "{}", text(&skipped));
    assert_eq!(sb.ledger().len(), 4);
    let states = report_states(&report);
    assert_eq!(states.len(), 5);
    assert_eq!(states[2], (String::new(), "invalid".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_then_resume_pays_every_row_exactly_once() {
    // Slow answers keep many creates in flight when the kill lands.
    let sb = sandbox(SandboxConfig {
        latency: Duration::from_millis(40),
        ..quick_config(13)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    let n = 60;
    write_csv(&sheet, &rows(n));
    let mut kills = 0;
    for delay_ms in [250u64, 400, 300, 500] {
        let mut cmd = run_cmd(&sb, &journal, &sheet, &report, &["--rate", "40/s"]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL: no chance to clean up
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 3, "the batch finished before it could be killed");
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, n, code(&out));
    let counts: HashMap<u32, usize> = sb.ledger().iter().fold(HashMap::new(), |mut m, e| {
        *m.entry(e.create_requests).or_default() += 1;
        m
    });
    eprintln!("create requests per order id: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_with_exit_3_and_the_next_run_finishes() {
    let sb = sandbox(SandboxConfig {
        latency: Duration::from_millis(40),
        ..quick_config(17)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(50));
    let mut cmd = run_cmd(&sb, &journal, &sheet, &report, &["--rate", "20/s"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&out), 3, "{}", text(&out));
    // Nothing is left half-done: every row is queued, or has its link journaled.
    for (row_no, order_id, state, link_id, _) in journal_rows(&journal) {
        match state.as_str() {
            "queued" => assert!(
                !ledger(&sb).contains_key(&order_id),
                "row {row_no} queued but has a link"
            ),
            "sending" | "unknown" => panic!("row {row_no} left {state} after a clean stop"),
            _ => assert!(link_id.is_some(), "row {row_no} {state} without a link id"),
        }
    }
    assert!(report.exists(), "the report is written on interrupt too");
    let out = run_sheet(&sheet, &journal, &report, &sb, &[]).await;
    assert_settled(&journal, &report, &sb, 50, code(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sheets_of_one_workbook_are_two_batches() {
    let sb = sandbox(quick_config(23)).await;
    let dir = tempdir();
    let (book, journal, report) = (
        path(&dir, "pay.xlsx"),
        path(&dir, "j.db"),
        path(&dir, "out.csv"),
    );
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, offset) in [("North", 0u64), ("South", 500)] {
        let sheet = wb.add_worksheet().set_name(name).unwrap();
        for (c, h) in ["Name", "Mobile", "Amount", "Comments"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for i in 0..3u64 {
            let r = (i + 1) as u32;
            sheet.write_string(r, 0, format!("{name} {i}")).unwrap();
            sheet
                .write_string(r, 1, format!("98765{:05}", offset + i))
                .unwrap();
            sheet.write_number(r, 2, 100.0 + i as f64).unwrap();
            sheet.write_string(r, 3, "bonus").unwrap();
        }
    }
    wb.save(&book).unwrap();
    for name in ["North", "South"] {
        let out = run_sheet(&book, &journal, &report, &sb, &["--sheet", name]).await;
        assert!(matches!(code(&out), 0 | 1), "{name}: {}", text(&out));
        assert!(
            !text(&out).contains("resuming"),
            "{name} is a batch of its own: {}",
            text(&out)
        );
    }
    assert_exactly_once(&journal, &sb, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchant_key_and_phones_stay_out_of_the_output() {
    // Faults on and every log line on: error paths must not print the key either.
    let sb = sandbox(SandboxConfig {
        lost_answer_rate: 0.3,
        error_rate: 0.3,
        garbled_rate: 0.2,
        ..quick_config(29)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    let rows = rows(10);
    write_csv(&sheet, &rows);
    let mut cmd = run_cmd(&sb, &journal, &sheet, &report, &["--rate", "200/s"]);
    cmd.env("PAYRUN_LOG", "trace");
    let out = output(cmd).await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    let key = payrun::sandbox::SANDBOX_KEY;
    assert!(!text(&out).contains(key), "the key is in the output");
    for r in &rows {
        assert!(
            !text(&out).contains(&r.phone),
            "a beneficiary's phone is in the output"
        );
    }
    for file in [&journal, &report] {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(key),
            "the key is in {}",
            file.display()
        );
    }
    assert!(
        text(&out).contains("paytm answered"),
        "the debug log was on: {}",
        text(&out)
    );
}
