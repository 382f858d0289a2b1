//! `payrun doctor` through the binary against the in-process simulator: in every dialect
//! and for both providers it shows how the account answers, fails with the right exit code
//! on a short balance, an unsafe URL or missing settings, never shows a secret, and never
//! moves money.

mod common;

use common::*;
use payrun::sandbox::{
    Dialect, Sandbox, SandboxConfig, SANDBOX_KEY, SANDBOX_MID, SANDBOX_PAYU_CLIENT_SECRET,
    SANDBOX_SUBWALLET,
};
use std::process::{Command, Output};

/// `payrun doctor --provider PROVIDER EXTRA...` against `sb`.
async fn doctor(sb: &Sandbox, provider: &str, extra: &[&str]) -> Output {
    let dir = tempdir();
    let mut cmd = payrun(sb, &path(&dir, "j.db"));
    cmd.args(["doctor", "--provider", provider]).args(extra);
    output(cmd).await
}

/// The line of check `name` (`✓ name: ...`), whatever its mark.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.get(4..)
                .is_some_and(|rest| rest.starts_with(&format!("{name}:")))
        })
        .unwrap_or_else(|| panic!("no line for {name} in\n{out}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Nothing panicked and no secret was shown, on either stream.
fn assert_clean(out: &Output) {
    let all = text(out);
    assert!(!all.contains("panicked"), "{all}");
    for secret in [SANDBOX_KEY, SANDBOX_PAYU_CLIENT_SECRET] {
        assert!(!all.contains(secret), "{secret} shown:\n{all}");
    }
}

/// How the simulator's Paytm says "no such order id" in `dialect`.
fn paytm_not_found(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::PaytmPl057 => "PL_057",
        Dialect::PaytmPl011 => "PL_011",
        Dialect::Paytm404 => "HTTP 404",
        Dialect::PaytmEmpty => "SUCCESS",
        Dialect::PaytmUnknownCode => "PL_1299",
        _ => "PL_030",
    }
}

const DETAILS: &str = "lookup /payout/merchant/smartSend/details";
const V2: &str = "lookup /payout/v2/smartSend/status";
const V1: &str = "lookup /payout/smartPay/status";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_is_asked_and_answered_verbatim() {
    for dialect in Dialect::all() {
        let sb = sandbox(SandboxConfig::fast().with_dialect(dialect)).await;
        let out = doctor(&sb, "paytm", &[]).await;
        assert_clean(&out);
        let said = stdout(&out);
        assert_eq!(code(&out), 0, "{dialect}: {}", text(&out));
        assert!(line(&said, "signed lookup").starts_with('✓'), "{said}");
        let not_found = line(&said, "not found reads");
        assert!(not_found.starts_with('–'), "{said}");
        assert!(
            not_found.contains(paytm_not_found(dialect)),
            "{dialect}: {said}"
        );
        assert!(line(&said, "lookup /pls/api/v2/payout-link/fetch").starts_with('✓'));
        assert!(line(&said, "resend /pls/api/v1/payout-link/resend").starts_with('✓'));
        assert!(line(&said, "balance").contains("no balance API"), "{said}");

        let out = doctor(&sb, "payu", &[]).await;
        assert_clean(&out);
        let said = stdout(&out);
        assert_eq!(code(&out), 0, "{dialect}: {}", text(&out));
        assert!(line(&said, "token").starts_with('✓'), "{said}");
        let missing = match dialect {
            Dialect::PayuNoDetails => Some(DETAILS),
            Dialect::PayuNoV2Status => Some(V2),
            Dialect::PayuNoAccountDetail => Some("account details"),
            _ => None,
        };
        for check in [DETAILS, V2, V1, "account details"] {
            let l = line(&said, check);
            if Some(check) == missing {
                assert!(l.starts_with('✗') && l.contains("(optional)"), "{said}");
            } else {
                assert!(l.starts_with('✓'), "{dialect}: {said}");
            }
        }
        assert!(
            line(&said, "not found reads").contains("not found"),
            "{said}"
        );
        assert!(sb.ledger().is_empty(), "doctor created a link");
        sb.shutdown().await;
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_says_the_exit_code_the_process_returns() {
    let sb = sandbox(SandboxConfig::fast()).await;
    for provider in ["paytm", "payu"] {
        let out = doctor(&sb, provider, &["--json"]).await;
        assert_clean(&out);
        let doc = json(&out);
        assert_eq!(doc["provider"], provider);
        assert_eq!(doc["exit"], code(&out));
        assert_eq!(code(&out), 0, "{}", text(&out));
        let checks = doc["checks"].as_array().unwrap();
        assert!(checks.iter().all(|c| c["check"].is_string()
            && c["detail"].is_string()
            && (c["ok"].is_boolean() || c["ok"].is_null())));
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_beyond_the_transferable_amount_fails_and_moves_no_money() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.csv");
    write_csv(&sheet, &rows(3));
    let sheet = sheet.to_str().unwrap();
    let sb = sandbox(SandboxConfig {
        payu_balance_paise: 15_000, // ₹150
        ..SandboxConfig::fast()
    })
    .await;
    let out = doctor(&sb, "payu", &["--sheet", sheet, "--json"]).await;
    assert_clean(&out);
    let doc = json(&out);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert_eq!(doc["exit"], 4);
    let checks = doc["checks"].as_array().unwrap();
    let check = checks.iter().find(|c| c["check"] == "sheet").unwrap();
    assert_eq!(check["ok"], false);
    let detail = check["detail"].as_str().unwrap();
    // 100.00 + 137.13 + 174.26 against 150.00.
    assert!(
        detail.contains("411.39") && detail.contains("150.00"),
        "{detail}"
    );
    assert!(sb.ledger().is_empty(), "doctor created a link");
    sb.shutdown().await;

    let sb = sandbox(SandboxConfig::fast()).await;
    let out = doctor(&sb, "payu", &["--sheet", sheet]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(line(&stdout(&out), "sheet").starts_with('✓'));
    let out = doctor(&sb, "paytm", &["--sheet", sheet]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let said = stdout(&out);
    let sheet_line = line(&said, "sheet");
    assert!(
        sheet_line.starts_with('–') && sheet_line.contains("411.39"),
        "{said}"
    );
    assert!(sb.ledger().is_empty());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_url_to_another_host_is_refused_before_any_request() {
    let sb = sandbox(SandboxConfig::fast()).await;
    for (provider, key) in [
        ("paytm", "PAYRUN_PAYTM_BASE_URL"),
        ("payu", "PAYRUN_PAYU_AUTH_URL"),
        ("payu", "PAYRUN_PAYU_BASE_URL"),
    ] {
        let dir = tempdir();
        let mut cmd = payrun(&sb, &path(&dir, "j.db"));
        cmd.env(key, "http://example.invalid")
            .args(["doctor", "--provider", provider]);
        let out = output(cmd).await;
        assert_clean(&out);
        assert_eq!(code(&out), 2, "{}", text(&out));
        let said = stdout(&out);
        let l = line(&said, &format!("https {key}"));
        assert!(
            l.starts_with('✗') && l.contains("example.invalid"),
            "{said}"
        );
    }
    assert_eq!(sb.stats().requests, 0);
    sb.shutdown().await;
}

/// The binary with no settings but those given.
fn bare(settings: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(settings.iter().copied());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_settings_exit_2_and_say_which() {
    for provider in ["paytm", "payu"] {
        let mut cmd = bare(&[]);
        cmd.args(["doctor", "--provider", provider, "--json"]);
        let out = output(cmd).await;
        assert_clean(&out);
        assert_eq!(code(&out), 2, "{}", text(&out));
        assert_eq!(json(&out)["exit"], 2);
    }
    let mut cmd = bare(&[
        ("PAYRUN_PAYU_CLIENT_ID", "cid"),
        ("PAYRUN_PAYU_MERCHANT_ID", "42"),
    ]);
    cmd.args(["doctor", "--provider", "payu"]);
    let out = output(cmd).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    let said = stdout(&out);
    assert!(line(&said, "config PayU login").starts_with('✗'), "{said}");
    assert!(line(&said, "config PAYRUN_PAYU_BASE_URL").contains("built-in default"));
    // A key of the wrong length is set, but not valid: still a configuration problem.
    let mut cmd = bare(&[
        ("PAYRUN_PAYTM_MID", "M"),
        ("PAYRUN_PAYTM_MERCHANT_KEY", "short-secret"),
        ("PAYRUN_PAYTM_SUBWALLET_GUID", "g"),
    ]);
    cmd.arg("doctor");
    let out = output(cmd).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(!text(&out).contains("short-secret"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_from_a_config_file_name_the_file() {
    let sb = sandbox(SandboxConfig::fast()).await;
    let dir = tempdir();
    let file = path(&dir, "payrun.toml");
    std::fs::write(
        &file,
        format!(
            "PAYRUN_PAYTM_MID = \"{SANDBOX_MID}\"\nPAYRUN_PAYTM_MERCHANT_KEY = \"{SANDBOX_KEY}\"\nPAYRUN_PAYTM_SUBWALLET_GUID = \"{SANDBOX_SUBWALLET}\"\n"
        ),
    )
    .unwrap();
    let base = sb.base_url();
    let mut cmd = bare(&[("PAYRUN_PAYTM_BASE_URL", base.as_str())]);
    cmd.arg("--config").arg(&file).arg("doctor");
    let out = output(cmd).await;
    assert_clean(&out);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let said = stdout(&out);
    let mid = line(&said, "config PAYRUN_PAYTM_MID");
    assert!(mid.contains(SANDBOX_MID) && mid.contains(&file.display().to_string()));
    assert!(line(&said, "config PAYRUN_PAYTM_MERCHANT_KEY").contains("set (from"));
    assert!(line(&said, "config PAYRUN_PAYTM_BASE_URL").contains("from the environment"));
    sb.shutdown().await;
}
