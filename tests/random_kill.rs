//! Random SIGKILL: the binary is killed at random moments, at least three times per batch,
//! with faults on, then resumed until it finishes; every batch must end exact. Runs:
//! `PAYRUN_KILL_RUNS` (default 50).

mod common;

use common::*;
use payrun::sandbox::SandboxConfig;
use rand::{Rng, SeedableRng};
use std::time::Duration;

async fn killed_batch(seed: u64) -> u32 {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sb = sandbox(SandboxConfig {
        latency: Duration::from_millis(20),
        lost_answer_rate: 0.1,
        error_rate: 0.1,
        ..quick_config(seed)
    })
    .await;
    let dir = tempdir();
    let (sheet, journal, report) = files(&dir, "csv");
    let n = 30;
    write_csv(&sheet, &rows(n));
    let run = || {
        let mut cmd = run_cmd(&sb, &journal, &sheet, &report, &["--rate", "60/s"]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let mut kills = 0;
    while kills < 3 {
        let mut child = run().spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..900))).await;
        if child.try_wait().unwrap().is_some() {
            break; // the run finished before the kill landed: the batch is done
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    let out = output(run()).await;
    assert_settled(&journal, &report, &sb, n, code(&out));
    kills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_never_pay_twice_or_lose_a_row() {
    let runs: u64 = std::env::var("PAYRUN_KILL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut set = tokio::task::JoinSet::new();
    let mut kills = 0;
    for seed in 0..runs {
        set.spawn(killed_batch(seed));
        if set.len() == 4 {
            kills += set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = set.join_next().await {
        kills += done.unwrap();
    }
    eprintln!("random kill: {runs} batches, {kills} kills survived, 0 violations");
    assert!(
        kills >= 3 * runs as u32 / 2,
        "most batches must have been killed three times"
    );
}
