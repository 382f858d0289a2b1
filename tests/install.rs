//! What someone installing payrun checks first: the version names the release and the
//! commit it was built from.

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
