//! Named crash points: the binary aborts (like SIGKILL) at each point where a crash could
//! cost money or rows, then a plain re-run must finish the batch with every invariant intact,
//! through either provider.

mod common;

use common::*;
use payrun::crashpoint;
use std::time::Duration;

async fn crash_then_resume(point: &'static str, nth: u32, seed: u64) {
    let sb = sandbox(payrun::sandbox::SandboxConfig {
        latency: Duration::from_millis(5),
        ..quick_config(seed)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    let n = 24;
    write_csv(&sheet, &rows(n));
    let run = |crash: Option<String>| {
        // Odd seeds pay through PayU, even seeds through Paytm.
        let provider = if seed % 2 == 1 { "payu" } else { "paytm" };
        let mut cmd = run_cmd(
            &sb,
            &journal,
            &sheet,
            &report,
            &[
                "--rate",
                "500/s",
                "--concurrency",
                "4",
                "--poll-for",
                "30s",
                "--provider",
                provider,
            ],
        );
        if let Some(spec) = crash {
            cmd.env(crashpoint::ENV, spec);
        }
        cmd
    };
    let crashed = output(run(Some(format!("{point}:{nth}")))).await;
    assert_eq!(
        crashed.status.code(),
        None,
        "{point}:{nth} must abort: {}",
        text(&crashed)
    );
    assert!(text(&crashed).contains("crash point"), "{}", text(&crashed));
    let resumed = output(run(None)).await;
    assert_settled(&journal, &report, &sb, n, code(&resumed));
}

/// Seeds per crash point: `PAYRUN_CRASH_SEEDS` (default 25).
fn seeds() -> u64 {
    std::env::var("PAYRUN_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_point_resumes_to_an_exact_batch() {
    // The nth time a point is reached varies with the seed, so the crash lands on the
    // first group, a middle one, or late in the batch.
    let mut cases: Vec<(&'static str, u32, u64)> = Vec::new();
    for (p, point) in crashpoint::ALL.iter().enumerate() {
        for seed in 0..seeds() {
            let nth = match *point {
                crashpoint::AFTER_CREATE_ANSWER => 1 + (seed as u32 * 7) % 24,
                // Creates are claimed in groups and polls committed in groups: fewer hits.
                crashpoint::AFTER_SENDING_COMMIT | crashpoint::IN_POLL_COMMIT => {
                    1 + seed as u32 % 3
                }
                _ => 1,
            };
            cases.push((point, nth, 1000 * p as u64 + seed));
        }
    }
    // Scenarios are independent (own simulator, journal, sheet): run a few at once.
    let mut set = tokio::task::JoinSet::new();
    for (point, nth, seed) in cases {
        set.spawn(crash_then_resume(point, nth, seed));
        if set.len() == 4 {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}
