//! Unit tests of the engine's own rules: the circuit breaker (`BREAKER` answerless requests
//! in a row stop the batch; any usable answer closes it) and the poll interval.

use super::{Engine, EngineOptions, Outcome, PollInterval, BREAKER};
use crate::journal::{now_rfc3339, Batch, ImportRow, Journal, RowState};
use crate::pacer::{Pacer, Rate};
use crate::payout::{LinkInfo, LinkState, PayoutRow, ProviderKind};
use crate::progress::Progress;
use crate::provider::testing::row;
use crate::provider::{Lookup, Provider, ProviderError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A provider that gives every create and lookup the answer `next` holds, and counts the
/// requests it was sent.
struct Scripted {
    next: Mutex<Answer>,
    calls: AtomicU32,
}

#[derive(Debug, Clone)]
enum Answer {
    Link,
    Fails(ProviderError),
}

impl Scripted {
    fn new() -> Scripted {
        Scripted {
            next: Mutex::new(Answer::Link),
            calls: AtomicU32::new(0),
        }
    }

    fn answer(&self) -> Result<LinkInfo, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match self.next.lock().unwrap().clone() {
            Answer::Link => Ok(LinkInfo {
                state: LinkState::Open,
                link_id: Some("L1".into()),
                link_url: None,
                provider_status: Some("PENDING".into()),
                code: None,
                message: None,
                expires_at: None,
            }),
            Answer::Fails(e) => Err(e),
        }
    }
}

impl Provider for Scripted {
    async fn create(&self, _: &PayoutRow) -> Result<LinkInfo, ProviderError> {
        self.answer()
    }

    async fn status(&self, _: &str) -> Result<Lookup, ProviderError> {
        self.answer().map(Lookup::Found)
    }

    async fn cancel(&self, _: &str, _: &str) -> Result<(), ProviderError> {
        self.answer().map(|_| ())
    }
}

fn no_answer() -> ProviderError {
    ProviderError::Ambiguous {
        message: "HTTP 504".into(),
    }
}

struct Harness {
    engine: Arc<Engine<Scripted>>,
    provider: Arc<Scripted>,
    journal: Arc<Journal>,
    _dir: tempfile::TempDir,
}

/// An engine over a journal holding batch `b1` with `rows` queued rows.
fn harness(rows: u64) -> Harness {
    let ids: Vec<String> = (2..rows + 2).map(|row_no| format!("ORD{row_no}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let provider = Arc::new(Scripted::new());
    let (engine, journal, dir) = engine_over(Arc::clone(&provider), &ids);
    Harness {
        engine,
        provider,
        journal,
        _dir: dir,
    }
}

/// A fast single-slot engine over `provider`, and its journal (in the returned directory)
/// holding batch `b1` with one queued row per order id, from sheet row 2 on.
pub(super) fn engine_over<P: Provider>(
    provider: Arc<P>,
    order_ids: &[&str],
) -> (Arc<Engine<P>>, Arc<Journal>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.db")).unwrap());
    let batch = Batch {
        id: "b1".into(),
        sheet_path: "s.csv".into(),
        sheet_name: None,
        sheet_sha256: "x".into(),
        provider: ProviderKind::Paytm,
        headers: vec!["order".into()],
        created_at: now_rfc3339(),
        row_count: 0,
        valid_count: 0,
        total_paise: 0,
    };
    let rows: Vec<ImportRow> = (2..)
        .zip(order_ids)
        .map(|(row_no, id)| ImportRow {
            row_no,
            cells: vec![id.to_string()],
            payout: Ok(PayoutRow {
                row_no,
                ..row(id, 10_000)
            }),
        })
        .collect();
    journal.import(&batch, &rows).unwrap();
    let rate: Rate = "1000/s".parse().unwrap();
    let engine = Engine::new(
        Arc::clone(&journal),
        provider,
        Arc::new(Pacer::new(rate, rate.default_burst())),
        EngineOptions {
            concurrency: 1,
            poll_for: Duration::from_secs(1),
            not_found_grace: Duration::from_millis(5),
            group_commit: false,
            seed: Some(1),
            ..EngineOptions::default()
        },
        CancellationToken::new(),
        Progress::hidden(),
    );
    (engine, journal, dir)
}

impl Harness {
    /// Sends `n` create requests, each answered with `answer`.
    async fn creates(&self, n: u32, answer: Answer) {
        *self.provider.next.lock().unwrap() = answer;
        let row = row("ORD2", 10_000);
        for _ in 0..n {
            let _ = self.engine.create_call(&row).await;
        }
    }

    /// Sends `n` status lookups, each answered with `answer`.
    async fn lookups(&self, n: u32, answer: Answer) {
        *self.provider.next.lock().unwrap() = answer;
        let attempt = self.journal.attempts_in("b1", &[RowState::Queued]);
        let attempt = attempt.unwrap().remove(0);
        for _ in 0..n {
            let _ = self.engine.status_call(&attempt).await;
        }
    }
}

#[tokio::test]
async fn the_breaker_opens_at_the_twentieth_answerless_request_in_a_row() {
    assert_eq!(BREAKER, 20);
    let h = harness(1);
    h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
    assert_eq!(h.engine.stopped(), None, "19 in a row: still closed");
    assert!(h.engine.proceeding());
    h.creates(1, Answer::Fails(no_answer())).await;
    let why = h.engine.stopped().expect("20 in a row open the breaker");
    assert!(
        why.starts_with("provider unreachable: 20 requests in a row had no usable answer"),
        "{why}"
    );
    assert!(why.contains("HTTP 504"), "names the last answer: {why}");
    assert!(!h.engine.proceeding(), "an open breaker stops new work");
}

#[tokio::test]
async fn an_answer_after_nineteen_answerless_requests_closes_the_breaker() {
    let h = harness(1);
    h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
    h.creates(1, Answer::Link).await;
    // Had the answer not closed it, the next answerless request would be the 20th.
    h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
    assert_eq!(h.engine.stopped(), None);
    h.creates(1, Answer::Fails(no_answer())).await;
    assert!(h.engine.stopped().is_some(), "counting starts again from 0");
}

#[tokio::test]
async fn a_refusal_with_a_reason_or_a_come_back_at_is_a_usable_answer() {
    let usable = [
        ProviderError::Rejected {
            code: "PL_010".into(),
            message: "invalid phone".into(),
        },
        ProviderError::Fatal {
            code: "PL_001".into(),
            message: "checksum".into(),
        },
        ProviderError::Duplicate {
            code: "PL_040".into(),
            message: "duplicate order id".into(),
        },
        ProviderError::Retryable {
            after: Some(Duration::from_secs(3)),
            code: "429".into(),
            message: "slow down".into(),
        },
    ];
    for answer in usable {
        let h = harness(1);
        h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
        h.creates(1, Answer::Fails(answer.clone())).await;
        h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
        assert_eq!(h.engine.stopped(), None, "{answer:?} closes the breaker");
    }
}

#[tokio::test]
async fn busy_without_a_come_back_at_counts_as_no_answer() {
    let h = harness(1);
    h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
    h.creates(
        1,
        Answer::Fails(ProviderError::Retryable {
            after: None,
            code: "503".into(),
            message: "busy".into(),
        }),
    )
    .await;
    let why = h.engine.stopped().expect("the 20th answerless request");
    assert!(why.contains("20 requests in a row"), "{why}");
}

#[tokio::test]
async fn lookups_and_creates_count_in_the_same_row() {
    let h = harness(1);
    h.creates(10, Answer::Fails(no_answer())).await;
    h.lookups(BREAKER - 11, Answer::Fails(no_answer())).await;
    assert_eq!(h.engine.stopped(), None);
    h.lookups(1, Answer::Fails(no_answer())).await;
    assert!(h.engine.stopped().is_some(), "10 creates and 10 lookups");
    let h = harness(1);
    h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
    h.lookups(1, Answer::Link).await;
    h.creates(BREAKER - 1, Answer::Fails(no_answer())).await;
    assert_eq!(h.engine.stopped(), None, "a link found closes it too");
}

#[tokio::test(start_paused = true)]
async fn a_run_against_a_provider_that_never_answers_stops_with_provider_down() {
    let h = harness(5);
    *h.provider.next.lock().unwrap() = Answer::Fails(no_answer());
    let outcome = h.engine.run("b1").await.unwrap();
    let Outcome::ProviderDown(why) = outcome else {
        panic!("expected the provider down, got {outcome:?}");
    };
    assert!(why.contains("20 requests in a row"), "{why}");
    // Not one request after the one that opened the breaker.
    assert_eq!(h.provider.calls.load(Ordering::Relaxed), BREAKER);
    // Rows whose create went out are unknown (to be looked up by the next run); the rest
    // were never sent.
    let summary = h.journal.summary("b1").unwrap();
    assert!(summary.rows(RowState::Queued) >= 1, "{summary:?}");
    assert_eq!(
        summary.rows(RowState::Queued) + summary.rows(RowState::Unknown),
        5,
        "{summary:?}"
    );
    assert_eq!(
        summary.rows(RowState::Paid) + summary.rows(RowState::Open),
        0
    );
}

#[test]
fn poll_interval_doubles_from_the_first_up_to_the_longest() {
    let i = PollInterval {
        first: Duration::from_secs(2),
        longest: Duration::from_secs(60),
    };
    let pauses: Vec<u64> = (1..=7).map(|n| i.before(n).as_secs()).collect();
    assert_eq!(pauses, [2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(i.before(u32::MAX), Duration::from_secs(60));
}
