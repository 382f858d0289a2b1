//! Named crash points: the binary aborts (like SIGKILL) at each point where a crash could
//! cost money or rows, then a plain re-run must finish the batch with every invariant intact.

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
    let (sheet, journal, report) = (
        path(&dir, "pay.csv"),
        path(&dir, "j.db"),
        path(&dir, "out.csv"),
    );
    let n = 24;
    write_csv(&sheet, &rows(n));
    let run = |crash: Option<String>| {
        let mut cmd = payrun(&sb, &journal);
        cmd.arg("run")
            .arg(&sheet)
            .arg("--report")
            .arg(&report)
            .args([
                "--rate",
                "500/s",
                "--concurrency",
                "4",
                "--poll-for",
                "30s",
                "--poll-interval",
                "200ms",
                "--lookup-grace",
                "100ms",
            ]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_point_resumes_to_an_exact_batch() {
    let cases: Vec<(&'static str, u32)> = vec![
        (crashpoint::AFTER_IMPORT, 1),
        (crashpoint::AFTER_SENDING_COMMIT, 1),
        (crashpoint::AFTER_SENDING_COMMIT, 3),
        (crashpoint::AFTER_CREATE_ANSWER, 1),
        (crashpoint::AFTER_CREATE_ANSWER, 7),
        (crashpoint::AFTER_CREATE_ANSWER, 20),
        (crashpoint::IN_POLL_COMMIT, 1),
        (crashpoint::IN_POLL_COMMIT, 9),
        (crashpoint::WRITING_REPORT, 1),
    ];
    assert!(
        crashpoint::ALL
            .iter()
            .all(|p| cases.iter().any(|(c, _)| c == p)),
        "every point is covered"
    );
    // Scenarios are independent (own simulator, journal, sheet): run a few at once.
    let mut set = tokio::task::JoinSet::new();
    for (i, (point, nth)) in cases.into_iter().enumerate() {
        set.spawn(crash_then_resume(point, nth, 100 + i as u64));
        if set.len() == 3 {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}
