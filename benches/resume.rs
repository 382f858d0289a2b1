//! Resume benchmark: a journal of 1,000,000 rows (default) of which 100,000 hold open
//! links. Measures `payrun status` on it, and the time from starting `payrun run` on the
//! same sheet until the simulator sees its first request.
//! `cargo bench --bench resume -- [ROWS]`

use payrun::intake::{self, SheetOptions};
use payrun::journal::Journal;
use payrun::payout::ProviderKind;
use payrun::sandbox::{SANDBOX_KEY, SANDBOX_MID, SANDBOX_SUBWALLET};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let open = rows / 10;
    let dir = tempfile::tempdir().expect("tempdir");
    let sheet = dir.path().join("resume.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&sheet).expect("sheet"));
    writeln!(f, "Name,Mobile,Amount,Comments").expect("write");
    for i in 0..rows {
        writeln!(
            f,
            "Beneficiary {i},9{:09},{}.{:02},Monthly payout",
            i % 1_000_000_000,
            100 + i % 50_000,
            i % 100
        )
        .expect("write");
    }
    drop(f);
    let journal_path = dir.path().join("resume.db");
    let setup = Instant::now();
    let args = SheetOptions {
        sheet: sheet.clone(),
        sheet_name: None,
        provider: ProviderKind::Paytm,
        comment: None,
        columns: Vec::new(),
    };
    let journal = Journal::open(&journal_path).expect("journal");
    let opened = intake::open(&args).expect("open sheet");
    let (_, batch) = intake::import(opened, &args, &journal, &Default::default()).expect("import");
    assert!(batch.is_some(), "generated rows are valid");
    drop(journal);
    let conn = rusqlite::Connection::open(&journal_path).expect("open");
    conn.execute_batch(&format!(
        "UPDATE attempts SET state = 'paid', link_id = 'L' || id WHERE row_no > {open} + 1;
         UPDATE attempts SET state = 'open', link_id = 'L' || id, next_poll_at = 0 WHERE row_no <= {open} + 1;"
    ))
    .expect("states");
    drop(conn);
    println!(
        "journal of {rows} rows with {open} open links built in {:.1?}",
        setup.elapsed()
    );

    let bin = env!("CARGO_BIN_EXE_payrun");
    let t = Instant::now();
    let status = Command::new(bin)
        .arg("--journal")
        .arg(&journal_path)
        .arg("status")
        .output()
        .expect("status");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    println!("payrun status: {:.3} s", t.elapsed().as_secs_f64());

    let mut sandbox = Command::new(bin)
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("sandbox");
    let first = BufReader::new(sandbox.stdout.take().expect("stdout"))
        .lines()
        .next()
        .expect("line")
        .expect("utf-8");
    let url = first.rsplit(' ').next().expect("url").to_string();
    let stats = format!("{url}/__sandbox/stats");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let requests = || -> u64 {
        runtime.block_on(async {
            let Ok(answer) = http.get(&stats).send().await else {
                return 0;
            };
            let v: serde_json::Value = answer.json().await.unwrap_or_default();
            v["requests"].as_u64().unwrap_or(0)
        })
    };
    let t = Instant::now();
    let mut run = Command::new(bin)
        .env("PAYRUN_PAYTM_MID", SANDBOX_MID)
        .env("PAYRUN_PAYTM_MERCHANT_KEY", SANDBOX_KEY)
        .env("PAYRUN_PAYTM_SUBWALLET_GUID", SANDBOX_SUBWALLET)
        .env("PAYRUN_PAYTM_BASE_URL", &url)
        .arg("--journal")
        .arg(&journal_path)
        .arg("run")
        .arg(&sheet)
        .args(["--poll-for", "3s", "--rate", "1000/s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    while requests() == 0 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "payrun run: first request {:.3} s after start",
        t.elapsed().as_secs_f64()
    );
    let _ = run.kill();
    let _ = run.wait();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}
