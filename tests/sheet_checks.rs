//! What a finance team does around a sheet before paying it: fix the invalid rows from the
//! errors file, heed warnings (or let `--strict` refuse them), and run only what the approver
//! signed (`--expect-*`). Each check is made where the user would make it: the exit code,
//! the printed lines, the files written, the journal and the simulator's ledger.

mod common;

use common::*;
use payrun::sandbox::SandboxConfig;
use std::path::Path;
use std::process::Output;

fn validate(dir: &tempfile::TempDir, sheet: &Path, extra: &[&str]) -> Output {
    std::process::Command::new(BIN)
        .arg("--journal")
        .arg(path(dir, "j.db"))
        .arg("validate")
        .arg(sheet)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

#[test]
fn the_errors_file_lists_invalid_rows_to_fix_and_feed_back() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.csv");
    std::fs::write(
        &sheet,
        "Name,Phone,Amount,Comments,Cost centre\n\
         Asha,9876543210,1500.50,ok,CC1\n\
         Ravi,12345,100,ok,CC2\n\
         Meena,9876543211,0.50,ok,CC3\n\
         Kiran,9876543212,12.345,=HYPERLINK(\"x\"),CC4\n",
    )
    .unwrap();
    let errors = path(&dir, "errors.csv");
    let out = validate(&dir, &sheet, &["--errors", errors.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("3 invalid rows written to"),
        "{}",
        text(&out)
    );
    let (headers, rows) = csv_rows(&errors);
    assert_eq!(
        headers,
        [
            "Name",
            "Phone",
            "Amount",
            "Comments",
            "Cost centre",
            "error"
        ]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][..5], ["Ravi", "12345", "100", "ok", "CC2"]);
    assert!(rows[0][5].starts_with("Phone: "), "{:?}", rows[0]);
    assert!(rows[1][5].starts_with("Amount: "), "{:?}", rows[1]);
    // A formula-like cell is neutralised, so the errors file is safe to open.
    assert_eq!(rows[2][3], "'=HYPERLINK(\"x\")");

    // The operator fixes the three rows in the errors file and feeds it back.
    let fixed = path(&dir, "fixed.csv");
    let mut w = csv::Writer::from_path(&fixed).unwrap();
    w.write_record(&headers[..5]).unwrap();
    w.write_record(["Ravi", "9876543219", "100", "ok", "CC2"])
        .unwrap();
    w.write_record(["Meena", "9876543211", "1.50", "ok", "CC3"])
        .unwrap();
    w.write_record(["Kiran", "9876543212", "12.35", "ok", "CC4"])
        .unwrap();
    w.flush().unwrap();
    let out = validate(&dir, &fixed, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // As XLSX, the errors file opens with the same rows.
    let xlsx = path(&dir, "errors.xlsx");
    let out = validate(&dir, &sheet, &["--errors", xlsx.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(&xlsx).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    assert_eq!(range.height(), 4);
    assert_eq!(range.get((1, 1)).unwrap().to_string(), "12345");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_never_block_unless_strict() {
    let sb = sandbox(quick_config(51)).await;
    let dir = tempdir();
    let sheet = path(&dir, "pay.csv");
    std::fs::write(
        &sheet,
        "Name,Phone,Amount,Comments\n\
         Asha,9876543210,100,ok\n\
         Ravi,9876543211,120,ok\n\
         Asha again,9876543210,100,ok\n\
         Meena,9876543212,50000,ok\n",
    )
    .unwrap();
    let out = validate(&dir, &sheet, &[]);
    assert_eq!(
        code(&out),
        0,
        "warnings do not make a sheet invalid: {}",
        text(&out)
    );
    // One line per kind of warning, naming the rows; --verbose gives each row's own.
    let said = stdout(&out);
    assert_eq!(
        said.lines().filter(|l| l.starts_with("warning:")).collect::<Vec<_>>(),
        [
            "warning: 1 row is over 10× the median amount (₹120.00): row 5; check for a misplaced decimal point",
            "warning: 1 row pays the same phone the same amount as an earlier row: row 4; delete a row if it is a copy",
        ],
        "{said}"
    );
    let said = stdout(&validate(&dir, &sheet, &["--verbose"]));
    assert!(
        said.contains("warning: row 4, column Phone: pays ₹100.00 to the same phone as row 2"),
        "{said}"
    );
    assert!(
        said.contains(
            "warning: row 5, column Amount: ₹50,000.00 is more than 10 times the sheet's median"
        ),
        "{said}"
    );
    let out = validate(&dir, &sheet, &["--strict"]);
    assert_eq!(code(&out), 1, "{}", text(&out));

    let report = path(&dir, "out.csv");
    let journal = path(&dir, "j.db");
    let strict = output(run_cmd(&sb, &journal, &sheet, &report, &["--strict"])).await;
    assert_eq!(code(&strict), 2, "{}", text(&strict));
    assert!(text(&strict).contains("--strict refuses a sheet with warnings"));
    assert!(sb.ledger().is_empty(), "nothing was sent");
    let out = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--rate", "100/s"],
    ))
    .await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    assert_eq!(sb.ledger().len(), 4);

    // A phone paid by that batch is flagged in the next sheet that pays it.
    let paid: Vec<String> = journal_rows(&journal)
        .into_iter()
        .filter(|r| r.2 == "paid")
        .map(|r| r.1)
        .collect();
    assert!(!paid.is_empty());
    let phone = &ledger(&sb)[&paid[0]].phone;
    let next = path(&dir, "next.csv");
    std::fs::write(
        &next,
        format!("Name,Phone,Amount,Comments\nX,{phone},75,ok\n"),
    )
    .unwrap();
    let out = validate(&dir, &next, &[]);
    assert!(
        stdout(&out)
            .contains("warning: 1 row pays a phone another batch paid in the last 30 days: row 2"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_totals_other_than_the_approved_ones() {
    let sb = sandbox(SandboxConfig {
        paid_share: 1.0,
        failed_share: 0.0,
        ..quick_config(52)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(6));
    let out = validate(&dir, &sheet, &[]);
    let line = stdout(&out);
    let totals = line.lines().last().unwrap();
    let total = totals
        .split("total amount of valid rows: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let digest = totals.split("digest: ").nth(1).unwrap().trim().to_string();
    assert_eq!(digest.len(), 12);

    for wrong in [
        vec!["--expect-rows", "7"],
        vec!["--expect-total", "1.00"],
        vec!["--expect-digest", "000000000000"],
    ] {
        let out = output(run_cmd(&sb, &journal, &sheet, &report, &wrong)).await;
        assert_eq!(code(&out), 2, "{wrong:?}: {}", text(&out));
        assert!(text(&out).contains("nothing was sent"), "{}", text(&out));
        assert!(sb.ledger().is_empty());
        let batches: i64 = rusqlite::Connection::open(&journal)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM batches", [], |r| r.get(0))
            .unwrap();
        assert_eq!(batches, 0, "a refused sheet leaves no batch behind");
    }
    let signed = [
        "--expect-rows",
        "6",
        "--expect-total",
        total,
        "--expect-digest",
        &digest,
        "--rate",
        "100/s",
    ];
    let out = output(run_cmd(&sb, &journal, &sheet, &report, &signed)).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_exactly_once(&journal, &sb, 6);
    // A resumed batch is held to the same totals.
    let out = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--expect-rows", "5"],
    ))
    .await;
    assert_eq!(code(&out), 2, "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_rows_of_a_report_validate_as_a_new_sheet() {
    let sb = sandbox(SandboxConfig {
        paid_share: 0.5,
        failed_share: 0.5,
        ..quick_config(53)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(12));
    let out = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--rate", "100/s"],
    ))
    .await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let (headers, lines) = csv_rows(&report);
    let state = headers.iter().position(|h| h == "state").unwrap();
    let original = headers.iter().position(|h| h == "order_id").unwrap();
    let failed: Vec<&Vec<String>> = lines.iter().filter(|l| l[state] == "failed").collect();
    assert!(!failed.is_empty());
    let again = path(&dir, "again.csv");
    let mut w = csv::Writer::from_path(&again).unwrap();
    w.write_record(&headers[..original]).unwrap();
    for l in &failed {
        w.write_record(&l[..original]).unwrap();
    }
    w.flush().unwrap();
    let out = validate(&dir, &again, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains(&format!("valid: {}", failed.len())));
}

#[test]
fn a_config_columns_table_maps_a_banks_headers() {
    let dir = tempdir();
    let sheet = path(&dir, "bank.csv");
    std::fs::write(
        &sheet,
        "Payee,Beneficiary Mobile,Net Pay,Narration,Branch\nAsha,9876543210,1500.50,Bonus,Pune\n",
    )
    .unwrap();
    let out = validate(&dir, &sheet, &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("the sheet has no phone column"),
        "{}",
        text(&out)
    );
    let config = path(&dir, "payrun.toml");
    std::fs::write(
        &config,
        "[columns]\n\"Payee\" = \"name\"\n\"beneficiary mobile\" = \"phone\"\n\"Net Pay\" = \"amount\"\n\"Narration\" = \"comments\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--journal")
        .arg(path(&dir, "j.db"))
        .arg("validate")
        .arg(&sheet)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains("valid: 1  invalid: 0  total amount of valid rows: ₹1,500.50"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_id_another_batch_used_is_refused() {
    let sb = sandbox(quick_config(54)).await;
    let dir = tempdir();
    let (journal, report) = (path(&dir, "j.db"), path(&dir, "out.csv"));
    let first = path(&dir, "march.csv");
    std::fs::write(
        &first,
        "Name,Phone,Amount,Comments,Order ID\nAsha,9876543210,100,ok,INV7\n",
    )
    .unwrap();
    let out = output(run_cmd(
        &sb,
        &journal,
        &first,
        &report,
        &["--rate", "100/s"],
    ))
    .await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    let second = path(&dir, "april.csv");
    std::fs::write(&second, "Name,Phone,Amount,Comments,Order ID\nRavi,9876543211,200,ok,INV7\nMeena,9876543212,300,ok,INV8\n").unwrap();
    let out = validate(&dir, &second, &[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("row 2, column order id: order id 'INV7' is already used by batch"),
        "{}",
        text(&out)
    );
    let out = output(run_cmd(&sb, &journal, &second, &report, &[])).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert_eq!(sb.ledger().len(), 1, "nothing of the second sheet was sent");
}
