//! Reconciliation: an attempt whose create may have reached the provider (`sending` after a
//! crash, `unknown` after a lost answer) is looked up by its order id before anything is
//! sent again. Found: the link is journaled. Not found, three times over a grace period (a
//! provider's lookup can lag its create): the create never happened, and the row goes back
//! to the queue to be sent with the same order id.

use super::{Engine, EngineError};
use crate::journal::{Attempt, JournalError, RowState, Update};
use crate::provider::{Lookup, Provider, ProviderError};
use std::sync::Arc;
use tokio::task::JoinSet;

/// "Not found" answers in a row, spaced by the growing grace period, before a create is
/// taken as never having happened.
const NOT_FOUND_CONFIRMATIONS: u32 = 3;

/// What a lookup established.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resolution {
    Found,
    NotFound,
    /// No answer could be had; the attempt stays `unknown` for the next run.
    Unresolved,
}

impl<P: Provider> Engine<P> {
    /// Resolves every `sending` and `unknown` attempt of the batch.
    pub(super) async fn reconcile(self: &Arc<Self>, batch_id: &str) -> Result<(), EngineError> {
        let pending = self
            .journal
            .attempts_in(batch_id, &[RowState::Sending, RowState::Unknown])?;
        if pending.is_empty() {
            return Ok(());
        }
        tracing::info!(
            "reconciling {} rows whose last create had no answer",
            pending.len()
        );
        let slots = Arc::new(tokio::sync::Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for attempt in pending {
            let engine = Arc::clone(self);
            let slots = Arc::clone(&slots);
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await.ok();
                engine.resolve(&attempt).await.map(|_| ())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(super::join_error)??;
        }
        Ok(())
    }

    /// Looks one attempt up by order id, retrying transient failures a few times.
    pub(super) async fn resolve(&self, attempt: &Attempt) -> Result<Resolution, JournalError> {
        let mut not_found = 0;
        for try_no in 1..=self.opts.max_tries {
            if !self.proceeding() {
                break;
            }
            self.pacer.ready().await;
            match self.status_call(attempt).await {
                Ok(Lookup::Found(info)) => {
                    self.record_link(attempt, &info, false).await?;
                    return Ok(Resolution::Found);
                }
                Ok(Lookup::NotFound) if not_found + 1 < NOT_FOUND_CONFIRMATIONS => {
                    // A lookup can lag the create it follows: a create that did land must
                    // never be sent again, so "not found" is believed only when it repeats.
                    not_found += 1;
                    if !self.nap(self.opts.not_found_grace * not_found).await {
                        break;
                    }
                }
                Ok(Lookup::NotFound) => {
                    self.recorder.record(
                        attempt.id,
                        &Update {
                            state: Some(RowState::Queued),
                            message: Some("provider has no link for this order id; it will be sent again with the same order id"),
                            ..Default::default()
                        },
                    ).await?;
                    self.progress.moved(attempt.state, RowState::Queued);
                    return Ok(Resolution::NotFound);
                }
                Err(ProviderError::Fatal { code, message }) => {
                    self.provider_down(format!("status lookup refused ({code}): {message}"));
                    break;
                }
                Err(ProviderError::Retryable {
                    after: Some(after), ..
                }) => {
                    self.pacer.pause_for(after);
                }
                Err(e) => {
                    tracing::warn!(order_id = %attempt.order_id, "status lookup failed: {e}");
                    if !self.nap(self.backoff(try_no)).await {
                        break;
                    }
                }
            }
        }
        if attempt.state != RowState::Unknown {
            self.recorder
                .record(
                    attempt.id,
                    &Update {
                        state: Some(RowState::Unknown),
                        message: Some(
                            "no answer to the status lookup; run payrun again to reconcile",
                        ),
                        ..Default::default()
                    },
                )
                .await?;
            self.progress.moved(attempt.state, RowState::Unknown);
        }
        Ok(Resolution::Unresolved)
    }
}
