//! Named crash points for crash tests: with `PAYRUN_CRASH_AT=<point>[:<nth>]` in the
//! environment, the process aborts (no destructors, no flushing, like SIGKILL) the nth time
//! (default: first) it reaches that point. Without the variable every point is a no-op.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// After the batch import transaction committed.
pub const AFTER_IMPORT: &str = "after-import";
/// After a group of rows was committed as `sending`, before any of their requests left.
pub const AFTER_SENDING_COMMIT: &str = "after-sending-commit";
/// After a create answer arrived, before it is journaled.
pub const AFTER_CREATE_ANSWER: &str = "after-create-answer";
/// Inside a status-poll transaction, before it commits.
pub const IN_POLL_COMMIT: &str = "in-poll-commit";
/// After the report's temporary file was written, before it is renamed into place.
pub const WRITING_REPORT: &str = "writing-report";

pub const ALL: [&str; 5] = [
    AFTER_IMPORT,
    AFTER_SENDING_COMMIT,
    AFTER_CREATE_ANSWER,
    IN_POLL_COMMIT,
    WRITING_REPORT,
];

pub const ENV: &str = "PAYRUN_CRASH_AT";

static SPEC: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

/// Aborts the process if the crash test asked for this point and this is the nth hit.
pub fn hit(point: &str) {
    let spec = SPEC.get_or_init(|| {
        let value = std::env::var(ENV).ok()?;
        let (name, nth) = match value.split_once(':') {
            Some((name, nth)) => (name.to_string(), nth.parse().unwrap_or(1)),
            None => (value, 1),
        };
        Some((name, nth))
    });
    if let Some((name, nth)) = spec {
        if name == point && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
            eprintln!("crash point {point} reached: aborting");
            std::process::abort();
        }
    }
}
