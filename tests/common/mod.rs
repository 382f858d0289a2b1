//! Test support: sheets written on the fly, an in-process simulator, and the `payrun`
//! binary run as a child process against it (real HTTP, real journal, real exit codes).
#![allow(dead_code)]

use payrun::sandbox::{
    ClaimWindow, LedgerEntry, Sandbox, SandboxConfig, SANDBOX_KEY, SANDBOX_MID,
    SANDBOX_PAYU_CLIENT_ID, SANDBOX_PAYU_CLIENT_SECRET, SANDBOX_PAYU_MERCHANT_ID,
    SANDBOX_SUBWALLET,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_payrun");

/// One generated payout row.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub phone: String,
    pub amount: String,
    pub comments: String,
}

/// `n` valid rows with distinct phones and varied amounts.
pub fn rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| Row {
            name: format!("Beneficiary {i}"),
            phone: format!("9{:09}", 812_345_000 + i),
            amount: format!("{}.{:02}", 100 + (i * 37) % 5000, (i * 13) % 100),
            comments: "November incentive".into(),
        })
        .collect()
}

pub fn write_csv(path: &Path, rows: &[Row]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["Name", "Mobile", "Amount (INR)", "Comments"])
        .unwrap();
    for r in rows {
        w.write_record([&r.name, &r.phone, &r.amount, &r.comments])
            .unwrap();
    }
    w.flush().unwrap();
}

pub fn write_xlsx(path: &Path, rows: &[Row]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Name", "Mobile", "Amount (INR)", "Comments"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        sheet.write_string(row, 0, &r.name).unwrap();
        sheet.write_string(row, 1, &r.phone).unwrap();
        // Amounts as numbers, the way finance sheets hold them.
        sheet
            .write_number(row, 2, r.amount.parse::<f64>().unwrap())
            .unwrap();
        sheet.write_string(row, 3, &r.comments).unwrap();
    }
    book.save(path).unwrap();
}

/// A simulator whose beneficiaries act within a second, so batches settle quickly.
pub fn quick_config(seed: u64) -> SandboxConfig {
    SandboxConfig {
        seed,
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(50),
            latest: Duration::from_millis(600),
        },
        expire_after: Duration::from_millis(900),
        ..SandboxConfig::fast()
    }
}

pub async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

/// The binary, pointed at `sandbox` through the environment like a real deployment, with
/// both providers' accounts (a sheet is paid through Paytm unless `--provider payu`).
pub fn payrun(sandbox: &Sandbox, journal: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PAYRUN_PAYTM_MID", SANDBOX_MID)
        .env("PAYRUN_PAYTM_MERCHANT_KEY", SANDBOX_KEY)
        .env("PAYRUN_PAYTM_SUBWALLET_GUID", SANDBOX_SUBWALLET)
        .env("PAYRUN_PAYTM_BASE_URL", sandbox.base_url())
        .env("PAYRUN_PAYU_CLIENT_ID", SANDBOX_PAYU_CLIENT_ID)
        .env("PAYRUN_PAYU_CLIENT_SECRET", SANDBOX_PAYU_CLIENT_SECRET)
        .env("PAYRUN_PAYU_MERCHANT_ID", SANDBOX_PAYU_MERCHANT_ID)
        .env("PAYRUN_PAYU_AUTH_URL", sandbox.base_url())
        .env("PAYRUN_PAYU_BASE_URL", sandbox.base_url())
        .arg("--journal")
        .arg(journal)
        .stdin(Stdio::null());
    cmd
}

/// `payrun run SHEET --report REPORT` with test timings (poll for up to 60 s, first poll
/// after 200 ms, lookups re-asked after 200 ms), any of which `extra` may override.
pub fn run_cmd(
    sandbox: &Sandbox,
    journal: &Path,
    sheet: &Path,
    report: &Path,
    extra: &[&str],
) -> Command {
    let mut cmd = payrun(sandbox, journal);
    cmd.arg("run").arg(sheet).arg("--report").arg(report);
    for (flag, value) in [
        ("--poll-for", "60s"),
        ("--poll-interval", "200ms"),
        ("--lookup-grace", "200ms"),
    ] {
        if !extra.contains(&flag) {
            cmd.args([flag, value]);
        }
    }
    cmd.args(extra);
    cmd
}

/// Runs a command to completion off the async runtime (the simulator keeps serving).
pub async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Journal rows as (row_no, order_id, state, link_id, amount paise), via SQL like an auditor.
pub fn journal_rows(journal: &Path) -> Vec<(u64, String, String, Option<String>, i64)> {
    let conn = rusqlite::Connection::open(journal).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT a.row_no, a.order_id, a.state, a.link_id, json_extract(r.payout, '$.amount')
             FROM attempts a JOIN rows r ON r.batch_id = a.batch_id AND r.row_no = a.row_no
             ORDER BY a.row_no",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The simulator's ledger keyed by order id.
pub fn ledger(sandbox: &Sandbox) -> HashMap<String, LedgerEntry> {
    sandbox
        .ledger()
        .into_iter()
        .map(|e| (e.order_id.clone(), e))
        .collect()
}

/// Paise from the ledger's rupee string.
pub fn paise(rupees: &str) -> i64 {
    payrun::money::Amount::parse(rupees).unwrap().paise()
}

/// The core guarantee, checked from both sides: every valid row has exactly one link at
/// the provider with the row's exact amount, the journal agrees on the link id, and no
/// link exists for anything outside the journal.
pub fn assert_exactly_once(journal: &Path, sandbox: &Sandbox, expected_rows: usize) {
    let rows = journal_rows(journal);
    let ledger = ledger(sandbox);
    assert_eq!(rows.len(), expected_rows, "journal attempts");
    assert_eq!(
        ledger.len(),
        expected_rows,
        "links at the provider: {ledger:#?}"
    );
    for (row_no, order_id, state, link_id, amount) in &rows {
        let entry = ledger
            .get(order_id)
            .unwrap_or_else(|| panic!("row {row_no} ({order_id}) has no link"));
        assert_eq!(paise(&entry.amount), *amount, "row {row_no} amount");
        assert_eq!(
            link_id.as_deref(),
            Some(entry.link_id.as_str()),
            "row {row_no} link id (state {state})"
        );
    }
}

/// The id of the journal's only batch.
pub fn batch_id(journal: &Path) -> String {
    rusqlite::Connection::open(journal)
        .unwrap()
        .query_row("SELECT id FROM batches", [], |r| r.get(0))
        .unwrap()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// One test's sheet (`pay.<ext>`), journal and report (`out.<ext>`).
pub fn files(dir: &tempfile::TempDir, ext: &str) -> (PathBuf, PathBuf, PathBuf) {
    (
        path(dir, &format!("pay.{ext}")),
        path(dir, "j.db"),
        path(dir, &format!("out.{ext}")),
    )
}

pub fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

pub fn report_states(report: &Path) -> Vec<(String, String)> {
    let mut r = csv::Reader::from_path(report).unwrap();
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (order, state) = (col("order_id"), col("state"));
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[order].to_string(), rec[state].to_string())
        })
        .collect()
}

/// Provider status (Paytm's or PayU's) -> the row state payrun must show for it. A PayU
/// `FAILED` link is open: its beneficiary may try again until it expires.
pub fn expected_state(status: &str) -> &'static str {
    match status {
        "SUCCESS" => "paid",
        "FAILURE" | "LINK_FAILED" | "REJECTED" => "failed",
        "EXPIRED" => "expired",
        "CANCELLED" => "cancelled",
        _ => "open",
    }
}

/// Every row settled, the journal and the report agree with the ledger, and the exit code
/// says whether everyone was paid.
pub fn assert_settled(
    journal: &Path,
    report: &Path,
    sb: &payrun::sandbox::Sandbox,
    n: usize,
    exit: i32,
) {
    assert_exactly_once(journal, sb, n);
    let ledger = ledger(sb);
    let rows = journal_rows(journal);
    for (row_no, order_id, state, _, _) in &rows {
        assert_eq!(
            state,
            expected_state(&ledger[order_id].status),
            "row {row_no}"
        );
    }
    let report = report_states(report);
    let journal_view: Vec<(String, String)> =
        rows.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
    assert_eq!(report, journal_view, "report rows in sheet order");
    let conn = rusqlite::Connection::open(journal).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let all_paid = rows.iter().all(|r| r.2 == "paid");
    assert_eq!(exit, if all_paid { 0 } else { 1 });
}
