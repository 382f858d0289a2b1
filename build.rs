//! Records the commit payrun is built from, for `payrun --version`: `unknown` when the
//! source is not a git checkout (a crate tarball) or git is not installed.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PAYRUN_COMMIT={commit}");
    // Build again when HEAD moves: a commit, a checkout, a fetch into packed refs.
    let head = git(&["rev-parse", "--git-path", "HEAD"]);
    let common = git(&["rev-parse", "--git-common-dir"]);
    let watched = [
        head,
        common.as_ref().map(|c| format!("{c}/refs/heads")),
        common.map(|c| format!("{c}/packed-refs")),
    ];
    for path in watched.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
