//! The commands around a run: `poll` settles what a run left open, `status` and `report`
//! read the journal without the network.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_leaves_links_open_exits_3_and_poll_settles_them() {
    let sb = sandbox(quick_config(21)).await;
    let dir = tempdir();
    let (sheet, journal, report) = (
        path(&dir, "pay.csv"),
        path(&dir, "j.db"),
        path(&dir, "pay.report.csv"),
    );
    write_csv(&sheet, &rows(8));
    let mut run = payrun(&sb, &journal);
    run.arg("run")
        .arg(&sheet)
        .args(["--rate", "100/s", "--poll-for", "0s"]);
    let out = output(run).await;
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(journal_rows(&journal).iter().all(|r| r.2 == "open"));
    assert!(report.exists(), "default report beside the sheet");

    let mut poll = payrun(&sb, &journal);
    poll.args(["poll", "--poll-for", "60s", "--lookup-grace", "200ms"]);
    let out = output(poll).await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    assert_exactly_once(&journal, &sb, 8);
    let rows = journal_rows(&journal);
    assert!(
        rows.iter()
            .all(|r| ["paid", "failed", "expired"].contains(&r.2.as_str())),
        "{rows:?}"
    );
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(
        !report_text.contains(",open,"),
        "poll rewrote the report:\n{report_text}"
    );

    // status --json agrees with the journal, with no network (the simulator is gone).
    drop(sb);
    let out = std::process::Command::new(BIN)
        .arg("--journal")
        .arg(&journal)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let states = json[0]["summary"]["states"].as_array().unwrap();
    let total: u64 = states.iter().map(|s| s["rows"].as_u64().unwrap()).sum();
    assert_eq!(total, 8);
    let paid = rows.iter().filter(|r| r.2 == "paid").count() as u64;
    let paid_json = states
        .iter()
        .find(|s| s["state"] == "paid")
        .map_or(0, |s| s["rows"].as_u64().unwrap());
    assert_eq!(paid_json, paid);

    // report regenerates an XLSX from the journal alone.
    let batch = json[0]["batch"]["id"].as_str().unwrap();
    let xlsx = path(&dir, "again.xlsx");
    let out = std::process::Command::new(BIN)
        .arg("--journal")
        .arg(&journal)
        .args(["report", batch, "--out"])
        .arg(&xlsx)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(xlsx.exists());
}

#[test]
fn missing_credentials_are_a_configuration_error_before_anything_is_journaled() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.csv");
    write_csv(&sheet, &rows(2));
    let journal = path(&dir, "j.db");
    let out = std::process::Command::new(BIN)
        .env_clear()
        .arg("--journal")
        .arg(&journal)
        .arg("run")
        .arg(&sheet)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("PAYRUN_PAYTM_MERCHANT_KEY is not set"),
        "{}",
        text(&out)
    );
}
