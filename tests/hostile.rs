//! Hardening, one named case per point of the issue: beneficiaries' data stays private on
//! disk, hostile provider answers and flags get a clear outcome (never a panic, never
//! unbounded memory or sleep), and exit codes tell the truth. Each case asserts what a user
//! would check: the exit code, the message, a file's mode, the journal. Hostile sheets
//! (points 7 to 11) are in `hostile/sheets.rs`.

mod common;
#[path = "hostile/sheets.rs"]
mod sheets;

use common::*;
use payrun::sandbox::{SandboxConfig, SANDBOX_KEY, SANDBOX_MID, SANDBOX_SUBWALLET};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `cmd` run by a shell with umask 022, the common default under which files are created
/// readable by every local user unless payrun says otherwise.
fn under_umask(cmd: &Command) -> Command {
    let mut sh = Command::new("sh");
    sh.env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(std::process::Stdio::null());
    sh
}

fn no_panic(out: &std::process::Output) {
    assert!(!text(out).contains("panicked"), "{}", text(out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p1_journal_reports_and_exports_are_owner_only_under_umask_022() {
    let sb = sandbox(quick_config(101)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(4));
    let run = run_cmd(&sb, &journal, &sheet, &report, &["--rate", "200/s"]);
    let out = output(under_umask(&run)).await;
    no_panic(&out);
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    assert_eq!(mode(&journal), 0o600, "journal");
    for side in ["-wal", "-shm"] {
        let p = journal.with_file_name(format!("j.db{side}"));
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }
    assert_eq!(mode(&report), 0o600, "report");
    assert_eq!(mode(&path(&dir, "out.summary.csv")), 0o600, "summary");

    // The events export replaces a symlink at its path instead of writing through it.
    let target = path(&dir, "precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    let export = path(&dir, "events.csv");
    std::os::unix::fs::symlink(&target, &export).unwrap();
    let batch = batch_id(&journal);
    let mut events = payrun(&sb, &journal);
    events.args(["events", &batch, "--out"]).arg(&export);
    let out = output(under_umask(&events)).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(!std::fs::symlink_metadata(&export).unwrap().is_symlink());
    assert_eq!(mode(&export), 0o600, "events export");
    assert!(std::fs::read_to_string(&export)
        .unwrap()
        .contains("transition"));
}

#[test]
fn p2_a_config_file_with_secrets_others_may_change_is_refused() {
    let dir = tempdir();
    let (sheet, _, _) = files(&dir, "csv");
    write_csv(&sheet, &rows(2));
    let config = path(&dir, "payrun.toml");
    std::fs::write(
        &config,
        format!("PAYRUN_PAYTM_MERCHANT_KEY = \"{SANDBOX_KEY}\"\n"),
    )
    .unwrap();
    let validate = |mode: u32| {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
        Command::new(BIN)
            .env_clear()
            .args(["--config"])
            .arg(&config)
            .arg("validate")
            .arg(&sheet)
            .output()
            .unwrap()
    };
    let refused = validate(0o666);
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(text(&refused).contains("chmod 600"), "{}", text(&refused));
    assert!(!text(&refused).contains(SANDBOX_KEY));
    let warned = validate(0o644);
    assert_eq!(code(&warned), 0, "{}", text(&warned));
    assert!(text(&warned).contains("may read it"), "{}", text(&warned));
    let quiet = validate(0o600);
    assert_eq!(code(&quiet), 0);
    assert!(!text(&quiet).contains("chmod"), "{}", text(&quiet));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p3_a_finished_run_leaves_the_whole_journal_in_the_database_file() {
    let sb = sandbox(quick_config(103)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(6));
    let out = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--rate", "200/s"],
    ))
    .await;
    assert!(matches!(code(&out), 0 | 1), "{}", text(&out));
    // A backup made by copying payrun.db alone, as people do.
    let copy = path(&dir, "copy.db");
    std::fs::copy(&journal, &copy).unwrap();
    let attempts: i64 = rusqlite::Connection::open(&copy)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM attempts WHERE link_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p4_an_http_url_to_another_host_is_refused_before_any_request() {
    let sb = sandbox(quick_config(104)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(2));
    for (var, provider) in [
        ("PAYRUN_PAYTM_BASE_URL", "paytm"),
        ("PAYRUN_PAYU_AUTH_URL", "payu"),
        ("PAYRUN_PAYU_BASE_URL", "payu"),
    ] {
        let mut cmd = run_cmd(&sb, &journal, &sheet, &report, &["--provider", provider]);
        cmd.env(var, "http://payments.example.invalid");
        let out = output(cmd).await;
        assert_eq!(code(&out), 2, "{var}: {}", text(&out));
        assert!(
            text(&out).contains(var) && text(&out).contains("https"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(sb.stats().requests, 0, "nothing was sent");
    let batches: i64 = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM batches", [], |r| r.get(0))
        .unwrap();
    assert_eq!(batches, 0, "nothing was imported either");
}

/// A provider from elsewhere: every request is answered by `answer(request head)`, raw.
async fn hostile(answer: fn(&str) -> Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let reply = answer(&head);
                if reply.is_empty() {
                    // An endless chunked body of zeros, until the client hangs up.
                    let start = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    if socket.write_all(start).await.is_err() {
                        return;
                    }
                    let chunk = [b'0'; 65536];
                    loop {
                        let frame = [b"10000\r\n".as_slice(), &chunk, b"\r\n"].concat();
                        if socket.write_all(&frame).await.is_err() {
                            return;
                        }
                    }
                }
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, seen)
}

fn reply(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The binary pointed at a hostile Paytm, with the simulator's (valid-looking) account.
fn at_paytm(url: &str, journal: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PAYRUN_PAYTM_MID", SANDBOX_MID)
        .env("PAYRUN_PAYTM_MERCHANT_KEY", SANDBOX_KEY)
        .env("PAYRUN_PAYTM_SUBWALLET_GUID", SANDBOX_SUBWALLET)
        .env("PAYRUN_PAYTM_BASE_URL", url)
        .arg("--journal")
        .arg(journal)
        .stdin(std::process::Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p5_an_endless_answer_body_is_unusable_and_memory_stays_bounded() {
    let (url, seen) = hostile(|_| Vec::new()).await;
    let dir = tempdir();
    let mut doctor = at_paytm(&url, &path(&dir, "j.db"));
    doctor.arg("doctor");
    // 512 MiB of address space: reading a 1 GiB body whole would abort.
    let mut limited = Command::new("sh");
    limited
        .env_clear()
        .envs(doctor.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" \"$@\"")
        .arg(doctor.get_program())
        .args(doctor.get_args());
    let out = output(limited).await;
    no_panic(&out);
    assert!(seen.load(Ordering::Relaxed) > 0);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        text(&out).contains("larger than 1048576 bytes"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("memory allocation"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p6_log_lines_mask_the_phones_and_emails_a_provider_quotes() {
    let (url, _) = hostile(|head| {
        if head.contains("/create") {
            reply(
                "500 Internal Server Error",
                "content-type: text/html\r\n",
                "<html>beneficiary 9876543210 asha.rao@example.com not processed</html>",
            )
        } else {
            let body = r#"{"status":"FAILURE","statusCode":"PL_404","statusMessage":"Unable to authenticate 9876543210"}"#;
            reply("200 OK", "content-type: application/json\r\n", body)
        }
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(1));
    let mut cmd = at_paytm(&url, &journal);
    cmd.arg("run").arg(&sheet).arg("--report").arg(&report);
    cmd.args(["--poll-for", "0s"])
        .env("PAYRUN_LOG", "payrun=trace");
    let out = output(cmd).await;
    no_panic(&out);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("beneficiary 98******10"), "{shown}");
    assert!(
        !shown.contains("9876543210") && !shown.contains("asha.rao@"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p12_a_retry_after_of_centuries_stops_the_batch_instead_of_sleeping() {
    let (url, _) = hostile(|_| {
        reply(
            "429 Too Many Requests",
            "retry-after: 10000000000000000000\r\ncontent-type: application/json\r\n",
            r#"{"status":"FAILURE","statusCode":"PL_041","statusMessage":"try later"}"#,
        )
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(3));
    let mut cmd = at_paytm(&url, &journal);
    cmd.arg("run").arg(&sheet).arg("--report").arg(&report);
    let out = output(cmd).await;
    no_panic(&out);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        text(&out).contains("wait 10000000000000000000s"),
        "{}",
        text(&out)
    );
    let states: Vec<String> = journal_rows(&journal).into_iter().map(|r| r.2).collect();
    assert_eq!(states, ["queued"; 3], "untouched rows stay queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p12_an_absurd_duration_flag_is_a_usage_error_before_anything_is_sent() {
    let sb = sandbox(quick_config(112)).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(2));
    for flag in [
        "--poll-for",
        "--lookup-grace",
        "--expiry-grace",
        "--poll-interval",
    ] {
        for value in ["99999999999999999d", "18446744073709551615s", "400d"] {
            let out = output(run_cmd(&sb, &journal, &sheet, &report, &[flag, value])).await;
            no_panic(&out);
            assert_eq!(code(&out), 2, "{flag} {value}: {}", text(&out));
            assert!(text(&out).contains("366 days"), "{}", text(&out));
        }
    }
    let mut poll = payrun(&sb, &journal);
    poll.args(["poll", "--for", "99999999999999d"]);
    assert_eq!(code(&output(poll).await), 2);
    assert_eq!(sb.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p13_an_error_after_links_were_created_is_not_exit_2() {
    let sb = sandbox(quick_config(113)).await;
    let dir = tempdir();
    let (sheet, journal, _) = files(&dir, "csv");
    write_csv(&sheet, &rows(3));
    // The report cannot be written (its folder does not exist), after every link exists.
    let report = path(&dir, "no-such-folder/out.csv");
    let out = output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--rate", "200/s"],
    ))
    .await;
    no_panic(&out);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        text(&out).contains("run the same command again"),
        "{}",
        text(&out)
    );
    assert_eq!(sb.ledger().len(), 3, "the links were created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p14_the_simulator_warns_off_loopback_and_masks_phones_in_its_ledger() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["sandbox", "--listen", "0.0.0.0:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("payrun sandbox listening on 0.0.0.0:"),
        "{first}"
    );
    assert!(
        !first.contains("0.0.0.0:0 "),
        "the real port is shown: {first}"
    );
    assert!(
        second.starts_with("warning:") && second.contains("other machines"),
        "{second}"
    );

    let sb = sandbox(SandboxConfig::fast()).await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    write_csv(&sheet, &rows(2));
    output(run_cmd(
        &sb,
        &journal,
        &sheet,
        &report,
        &["--poll-for", "0s"],
    ))
    .await;
    let ledger = reqwest::get(format!("{}/__sandbox/ledger", sb.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ledger.contains("98******"), "{ledger}");
    assert!(
        !rows(2).iter().any(|r| ledger.contains(&r.phone)),
        "{ledger}"
    );
}

#[test]
fn a_reader_that_stops_reading_ends_payrun_quietly() {
    let dir = tempdir();
    let sheet = path(&dir, "same.csv");
    // Every row pays the same phone the same amount: one warning line each with --verbose,
    // far more than a pipe holds, so payrun is still printing when the reader goes away.
    let mut csv = String::from("Name,Phone,Amount,Comments\n");
    for _ in 0..2000 {
        csv.push_str("Asha,9876543210,100,ok\n");
    }
    std::fs::write(&sheet, csv).unwrap();
    let mut child = Command::new(BIN)
        .arg("--journal")
        .arg(path(&dir, "none.db"))
        .args(["validate", "--verbose"])
        .arg(&sheet)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    // Nothing was sent: exit 2, and no panic on the terminal.
    assert_eq!(code(&out), 2, "{}", text(&out));
    no_panic(&out);
}
