//! The engine: drives one batch from the journal through reconcile -> create -> poll.
//! Every decision is taken from a provider answer's class and committed to the journal
//! before the next request about that row. Stages live in their own files.

mod create;
mod operate;
mod poll;
mod reconcile;
mod recorder;

use crate::pacer::{backoff, Pacer};
pub use operate::Operation;

use crate::journal::{now_ms, Attempt, Journal, JournalError, RowState, Update};
use crate::payout::LinkInfo;
use crate::progress::Progress;
use crate::provider::{Lookup, Provider, ProviderError};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Requests in flight at once, creates and polls together.
    pub concurrency: usize,
    /// How long the poll stage may run before the engine gives up and reports open links.
    pub poll_for: Duration,
    /// Retryable answers (429, busy, refused connection) tolerated per request before the
    /// row is put back in the queue and the provider is reported unreachable.
    pub max_tries: u32,
    /// Create requests allowed per attempt over its whole life, so a row that keeps getting
    /// no answer is left for a person instead of being sent forever.
    pub max_requests: u32,
    /// Pauses between two status polls of one link.
    pub poll_interval: PollInterval,
    /// Commit provider answers in groups from a writer thread (true), or each in the
    /// calling task (simulation tests: every commit at a deterministic point).
    pub group_commit: bool,
    /// Seed for retry jitter (simulation tests); `None` draws one.
    pub seed: Option<u64>,
    /// Pause after a first "not found" for a create that may have happened; the second
    /// pause is twice as long. Only then is the create taken as never having happened.
    pub not_found_grace: Duration,
    /// How long after its expiry a link the provider still reports open (or cannot
    /// answer for) is asked about once more and then marked expired.
    pub expiry_grace: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: 8,
            poll_for: Duration::from_secs(120),
            max_tries: 8,
            max_requests: 10,
            poll_interval: PollInterval {
                first: Duration::from_secs(2),
                longest: Duration::from_secs(60),
            },
            group_commit: true,
            seed: None,
            not_found_grace: Duration::from_secs(10),
            expiry_grace: Duration::from_secs(86_400),
        }
    }
}

/// Pauses between two status polls of one link: `first` before its first poll, doubling
/// with each poll after, up to `longest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollInterval {
    pub first: Duration,
    pub longest: Duration,
}

impl PollInterval {
    /// Pause before poll number `polls` (1-based) of a link.
    pub fn before(&self, polls: u32) -> Duration {
        self.first
            .saturating_mul(1 << polls.saturating_sub(1).min(16))
            .min(self.longest)
    }
}

/// How a run ended, in the terms of the exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing left to do for this batch (rows may still be unpaid: see the summary).
    Settled,
    /// Links still open, rows still queued or unresolved, or the run was interrupted.
    Incomplete,
    /// The provider refused our credentials or stayed unreachable: the batch was stopped.
    ProviderDown(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("internal task failed: {0}")]
    Task(String),
}

pub struct Engine<P> {
    journal: Arc<Journal>,
    provider: Arc<P>,
    pacer: Arc<Pacer>,
    opts: EngineOptions,
    stop: CancellationToken,
    /// Set once when the provider refuses us for good; stops every stage.
    down: Mutex<Option<String>>,
    progress: Progress,
    recorder: recorder::Recorder,
    /// Requests in a row without a usable answer; at `BREAKER` the provider is taken as
    /// down and the batch stops, instead of spending every row's retry budget on an outage.
    failures: AtomicU32,
    /// Jitter for retry backoff; seeded in simulation tests so a seed replays exactly.
    rng: Mutex<StdRng>,
    lookups: Lookups,
}

/// What this run has seen of status lookups.
#[derive(Debug, Default)]
struct Lookups {
    /// Lookups that found a link.
    found: AtomicU64,
    /// `found` when unresolved rows were last reconciled.
    reconciled_at: AtomicU64,
    /// Since when, and how often, lookups of links payrun knows exist were refused while
    /// none found anything.
    refused: Mutex<Option<(Instant, u32)>>,
}

impl Lookups {
    fn found(&self) {
        self.found.fetch_add(1, Ordering::Relaxed);
    }
}

/// Refusals of known links, with no lookup finding anything, that mark the lookups broken
/// (together with `BROKEN_AFTER` grace periods): links payrun created cannot all be lagging.
const BROKEN_REFUSALS: u32 = 10;
const BROKEN_AFTER: u32 = 6;

impl<P: Provider> Engine<P> {
    pub fn new(
        journal: Arc<Journal>,
        provider: Arc<P>,
        pacer: Arc<Pacer>,
        opts: EngineOptions,
        stop: CancellationToken,
        progress: Progress,
    ) -> Arc<Self> {
        let recorder = recorder::Recorder::new(Arc::clone(&journal), opts.group_commit);
        let rng = Mutex::new(match opts.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        });
        Arc::new(Engine {
            journal,
            provider,
            pacer,
            opts,
            stop,
            down: Mutex::new(None),
            progress,
            recorder,
            rng,
            failures: AtomicU32::new(0),
            lookups: Lookups::default(),
        })
    }

    /// Reconciles, creates and polls one batch.
    pub async fn run(self: &Arc<Self>, batch_id: &str) -> Result<Outcome, EngineError> {
        self.reconcile(batch_id).await?;
        if self.proceeding() {
            self.create_all(batch_id, false).await?;
        }
        if self.proceeding() {
            let deadline = tokio::time::Instant::now() + self.opts.poll_for;
            self.poll_until(batch_id, deadline, false).await?;
        }
        self.outcome(batch_id)
    }

    /// Resolves unknown rows, then polls open links until settled or `poll_for` ran out.
    /// Rows whose create is found never to have happened are sent again; rows never sent
    /// are left for `run`.
    pub async fn poll(self: &Arc<Self>, batch_id: &str) -> Result<Outcome, EngineError> {
        let deadline = tokio::time::Instant::now() + self.opts.poll_for;
        self.reconcile(batch_id).await?;
        if self.proceeding() {
            self.create_all(batch_id, true).await?;
        }
        if self.proceeding() {
            self.poll_until(batch_id, deadline, true).await?;
        }
        self.outcome(batch_id)
    }

    /// Once a lookup has found a link since unresolved rows were last reconciled, their
    /// refusals may now be evidence: reconcile them again, and send those found never
    /// created.
    async fn reconcile_unresolved(
        self: &Arc<Self>,
        batch_id: &str,
        resends_only: bool,
    ) -> Result<(), EngineError> {
        let found = self.lookups.found.load(Ordering::Relaxed);
        if found == self.lookups.reconciled_at.swap(found, Ordering::Relaxed) {
            return Ok(());
        }
        let unresolved: Vec<Attempt> = self
            .journal
            .attempts_in(batch_id, &[RowState::Unknown, RowState::Attention])?
            .into_iter()
            .filter(|a| {
                a.state == RowState::Unknown
                    || a.attention == Some(crate::journal::Attention::UnprovenLookup)
            })
            .collect();
        if unresolved.is_empty() {
            return Ok(());
        }
        let batch = Arc::new(batch_id.to_string());
        self.each(unresolved, move |engine, attempt| {
            let batch = Arc::clone(&batch);
            async move { engine.resolve(&batch, &attempt, None).await.map(|_| ()) }
        })
        .await?;
        if self.proceeding() {
            self.create_all(batch_id, resends_only).await?;
        }
        Ok(())
    }

    /// Runs `work` on every attempt, at most `concurrency` at once, and waits for all.
    async fn each<F, Fut>(
        self: &Arc<Self>,
        attempts: Vec<Attempt>,
        work: F,
    ) -> Result<(), EngineError>
    where
        F: Fn(Arc<Self>, Attempt) -> Fut,
        Fut: Future<Output = Result<(), JournalError>> + Send + 'static,
    {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for attempt in attempts {
            let slots = Arc::clone(&slots);
            let job = work(Arc::clone(self), attempt);
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await.ok();
                job.await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(join_error)??;
        }
        Ok(())
    }

    fn outcome(&self, batch_id: &str) -> Result<Outcome, EngineError> {
        if let Some(why) = self.down.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(Outcome::ProviderDown(why));
        }
        let summary = self.journal.summary(batch_id)?;
        // Rows that need a person are out of the engine's hands: the batch is as settled
        // as payrun can make it (the exit code says they need attention).
        let unsettled = summary
            .states
            .iter()
            .any(|s| !s.state.is_terminal() && s.state != RowState::Attention && s.rows > 0);
        Ok(if unsettled || self.stop.is_cancelled() {
            Outcome::Incomplete
        } else {
            Outcome::Settled
        })
    }

    /// Why the engine stopped working, if the provider refused or failed it.
    pub fn stopped(&self) -> Option<String> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn proceeding(&self) -> bool {
        !self.stop.is_cancelled()
            && self
                .down
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none()
    }

    /// Records that the provider cannot be used, and stops new work.
    fn provider_down(&self, why: String) {
        tracing::error!("{why}");
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.get_or_insert(why);
    }

    /// `provider.create`, counted by the circuit breaker.
    async fn create_call(&self, row: &crate::payout::PayoutRow) -> Result<LinkInfo, ProviderError> {
        let answer = self.provider.create(row).await;
        self.count(answer.as_ref().err());
        answer
    }

    /// A status lookup of the attempt (by its link id too, once journaled), counted by the
    /// circuit breaker.
    async fn status_call(&self, attempt: &Attempt) -> Result<Lookup, ProviderError> {
        let answer = match &attempt.link_id {
            Some(link_id) => self.provider.status_of(&attempt.order_id, link_id).await,
            None => self.provider.status(&attempt.order_id).await,
        };
        self.count(answer.as_ref().err());
        match &answer {
            Ok(Lookup::Found(_)) => self.lookups.found(),
            Ok(Lookup::Unproven(said)) if attempt.link_id.is_some() => {
                self.known_link_refused(said)
            }
            _ => {}
        }
        answer
    }

    /// A lookup of a link payrun knows exists was refused by a path not yet proved. Links
    /// can lag, but when such refusals keep coming for `BROKEN_AFTER` grace periods and no
    /// lookup finds anything, the lookups are broken (a wrong URL or account): stop.
    fn known_link_refused(&self, said: &str) {
        if self.lookups.found.load(Ordering::Relaxed) > 0 {
            return;
        }
        let mut refused = self
            .lookups
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (since, n) = refused.get_or_insert((Instant::now(), 0));
        *n += 1;
        let waited = Instant::now().saturating_duration_since(*since);
        if *n >= BROKEN_REFUSALS && waited >= self.opts.not_found_grace * BROKEN_AFTER {
            self.provider_down(format!(
                "status lookups refused every link payrun knows exists ({n} lookups over {}s, none found anything; last answer: {said}); check the provider's base URL and account, then run again",
                waited.as_secs()
            ));
        }
    }

    /// The circuit breaker: any usable answer (a refusal with a reason or a "come back at"
    /// included) closes it; `BREAKER` answerless requests in a row open it.
    fn count(&self, error: Option<&ProviderError>) {
        match error {
            None | Some(ProviderError::Rejected { .. } | ProviderError::Fatal { .. }) => {
                self.failures.store(0, Ordering::Relaxed)
            }
            Some(ProviderError::Duplicate { .. }) => self.failures.store(0, Ordering::Relaxed),
            Some(ProviderError::Retryable { after: Some(_), .. }) => {
                self.failures.store(0, Ordering::Relaxed)
            }
            Some(e) => {
                let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if n == BREAKER {
                    self.provider_down(format!(
                        "provider unreachable: {n} requests in a row had no usable answer (last: {e}); run again later to resume"
                    ));
                }
            }
        }
    }

    /// Journals what the provider said about an attempt's link.
    /// `polled` counts the answer as one more status poll of the link.
    async fn record_link(
        &self,
        attempt: &Attempt,
        info: &LinkInfo,
        polled: bool,
    ) -> Result<RowState, JournalError> {
        let mut state = RowState::from(info.state);
        let mut attention = None;
        let mut message = None;
        // A link known only by an answer that cannot say whether it paid, and without a
        // link id that a better lookup could use: nothing payrun can ask will ever settle it.
        let unfollowable = info.link_id.is_none()
            && attempt.link_id.is_none()
            && !self.provider.follows_by_order_id()
            && info
                .provider_status
                .as_deref()
                .is_some_and(crate::provider::outcome_unknown);
        if state == RowState::Open && unfollowable {
            state = RowState::Attention;
            attention = Some(crate::journal::Attention::OutcomeUnknown);
            message = Some("the only lookup that finds this link (PayU status v1, by reference) says the beneficiary submitted details but can say neither whether it paid nor the link id");
        }
        let next = self.now_ms() + self.poll_delay(attempt.polls + 1).as_millis() as i64;
        let now = self
            .recorder
            .record(
                attempt.id,
                &Update {
                    state: Some(state),
                    info: Some(info),
                    message,
                    next_poll_at: Some(next),
                    count_poll: polled,
                    attention,
                    ..Default::default()
                },
            )
            .await?;
        if now != attempt.state {
            self.progress.moved(attempt.state, now, attempt.amount);
        }
        Ok(now)
    }

    /// Unix milliseconds now, on the engine's clock.
    fn now_ms(&self) -> i64 {
        clock_ms()
    }

    /// Backoff before retry number `attempt`, with full jitter from the engine's generator.
    fn backoff(&self, attempt: u32) -> Duration {
        backoff(
            attempt,
            &mut *self.rng.lock().unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Pause before poll number `polls` (1-based) of a link.
    fn poll_delay(&self, polls: u32) -> Duration {
        self.opts.poll_interval.before(polls)
    }

    /// Sleeps for `d` unless the run is stopped first; false when stopped.
    async fn nap(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.stop.cancelled() => false,
        }
    }
}

/// Unix milliseconds on the engine's clock: the wall clock when first asked, advanced by
/// tokio's clock from then on, so poll schedules move with a paused test clock too, and
/// stay consistent across the engines that one process runs one after another.
fn clock_ms() -> i64 {
    static BASE: OnceLock<(i64, Instant)> = OnceLock::new();
    let (wall, at) = BASE.get_or_init(|| (now_ms(), Instant::now()));
    wall + Instant::now().saturating_duration_since(*at).as_millis() as i64
}

/// Answerless requests in a row that stop the batch.
const BREAKER: u32 = 20;

fn join_error(e: tokio::task::JoinError) -> EngineError {
    EngineError::Task(e.to_string())
}

#[cfg(test)]
mod tests;
