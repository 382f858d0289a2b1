//! What someone installing and setting up payrun meets first: the version names the release
//! and the commit it was built from, the manual covers every subcommand, and `init` writes a
//! private config file without ever replacing one.

use std::process::Command;

fn payrun(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_payrun"))
        .args(args)
        .output()
        .expect("run payrun")
}

#[test]
fn version_names_the_release_and_the_commit() {
    let out = payrun(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        text.trim(),
        format!("payrun {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}

/// The subcommands `payrun --help` lists.
fn subcommands() -> Vec<String> {
    let help = String::from_utf8(payrun(&["--help"]).stdout).unwrap();
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(names.len() >= 15, "{help}");
    names
}

#[test]
fn the_manual_names_every_subcommand() {
    let out = payrun(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH payrun 1"),
        "{page}"
    );
    for name in subcommands() {
        assert!(
            page.contains(&format!("payrun\\-{name}(1)")),
            "the manual does not name {name}"
        );
    }
    // --dir writes the top page and one per subcommand.
    let dir = tempfile::tempdir().unwrap();
    let out = payrun(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("payrun.1").is_file());
    for name in subcommands() {
        let page = dir.path().join(format!("payrun-{name}.1"));
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        assert!(
            text.contains(&format!(".TH payrun-{name} 1")),
            "{}: {text}",
            page.display()
        );
    }
}

#[test]
fn init_writes_a_private_config_and_never_overwrites_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("payu.toml");
    let config_arg = config.to_str().unwrap();
    let out = payrun(&["--config", config_arg, "init", "--provider", "payu"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let written = std::fs::read_to_string(&config).unwrap();
    for key in [
        "PAYRUN_PAYU_CLIENT_ID",
        "PAYRUN_PAYU_CLIENT_SECRET",
        "PAYRUN_PAYU_MERCHANT_ID",
        "PAYRUN_PAYU_BASE_URL",
    ] {
        assert!(written.contains(&format!("{key} = ")), "{key}: {written}");
    }
    assert!(!written.contains("PAYRUN_PAYTM_"), "{written}");
    // The blank file is valid TOML that payrun reads: doctor names what is still missing.
    let doctor = Command::new(env!("CARGO_BIN_EXE_payrun"))
        .args(["--config", config_arg, "doctor", "--provider", "payu"])
        .env_remove("PAYRUN_PAYU_CLIENT_ID")
        .env_remove("PAYRUN_PAYU_MERCHANT_ID")
        .output()
        .unwrap();
    assert_eq!(doctor.status.code(), Some(2));
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        said.contains("PAYRUN_PAYU_MERCHANT_ID is not set"),
        "{said}"
    );

    std::fs::write(&config, "PAYRUN_PAYU_MERCHANT_ID = \"mine\"\n").unwrap();
    let again = payrun(&["--config", config_arg, "init", "--provider", "payu"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "PAYRUN_PAYU_MERCHANT_ID = \"mine\"\n"
    );
    // Nothing else was left in the directory (no temporary file).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
