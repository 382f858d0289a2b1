//! The create stage: queued rows are claimed in groups (one commit marks the whole group
//! `sending`), then sent under the rate limit and the in-flight cap. Each answer is
//! journaled before anything else happens to that row.

use super::reconcile::Resolution;
use super::{Engine, EngineError};
use crate::crashpoint;
use crate::journal::{Claimed, JournalError, RowState, Update};
use crate::provider::{Provider, ProviderError};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

impl<P: Provider> Engine<P> {
    /// Sends every queued row of the batch (with `resends_only`, only rows sent before whose
    /// create was found never to have happened), until none is left or the run stops.
    pub(super) async fn create_all(
        self: &Arc<Self>,
        batch_id: &str,
        resends_only: bool,
    ) -> Result<(), EngineError> {
        let batch = Arc::new(batch_id.to_string());
        let slots = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        loop {
            // Reap finished tasks first: a journal error must stop the stage.
            while let Some(done) = tasks.try_join_next() {
                done.map_err(super::join_error)??;
            }
            if !self.proceeding() {
                break;
            }
            let permits = self.free_slots(&slots).await;
            // The wait for a slot is when the breaker opens or a stop comes: claim nothing then.
            if !self.proceeding() {
                break;
            }
            let claim = self.journal.claim(
                batch_id,
                permits.len(),
                self.opts.max_requests,
                resends_only,
            )?;
            for amount in claim.capped {
                self.progress
                    .moved(RowState::Queued, RowState::Attention, amount);
            }
            let claimed = claim.picked;
            if !claimed.is_empty() {
                crashpoint::hit(crashpoint::AFTER_SENDING_COMMIT);
            }
            if claimed.is_empty() {
                drop(permits);
                // Rows in flight may come back to the queue (a lookup that finds nothing).
                match tasks.join_next().await {
                    Some(done) => {
                        done.map_err(super::join_error)??;
                        continue;
                    }
                    None => break,
                }
            }
            for (claim, permit) in claimed.into_iter().zip(permits) {
                self.progress
                    .moved(RowState::Queued, RowState::Sending, claim.row.amount);
                let engine = Arc::clone(self);
                let batch = Arc::clone(&batch);
                tasks.spawn(async move { engine.create_one(&batch, claim, permit).await });
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(super::join_error)??;
        }
        Ok(())
    }

    /// Waits for one free in-flight slot, then takes every other slot free right now, so
    /// a whole group can be claimed in one commit.
    async fn free_slots(&self, slots: &Arc<Semaphore>) -> Vec<OwnedSemaphorePermit> {
        let mut permits = Vec::new();
        tokio::select! {
            p = Arc::clone(slots).acquire_owned() => permits.extend(p.ok()),
            _ = self.stop.cancelled() => return permits,
        }
        while let Ok(p) = Arc::clone(slots).try_acquire_owned() {
            permits.push(p);
        }
        permits
    }

    async fn create_one(
        &self,
        batch_id: &str,
        claim: Claimed,
        _slot: OwnedSemaphorePermit,
    ) -> Result<(), JournalError> {
        let Claimed { attempt, row } = claim;
        for try_no in 1..=self.opts.max_tries {
            self.pacer.ready().await;
            self.progress.request_sent();
            let answer = self.create_call(&row).await;
            crashpoint::hit(crashpoint::AFTER_CREATE_ANSWER);
            match answer {
                Ok(info) => {
                    self.record_link(&attempt, &info, false).await?;
                    return Ok(());
                }
                Err(ProviderError::Rejected { code, message }) => {
                    self.recorder
                        .record(
                            attempt.id,
                            &Update {
                                state: Some(RowState::Rejected),
                                code: Some(&code),
                                message: Some(&message),
                                ..Default::default()
                            },
                        )
                        .await?;
                    self.progress
                        .moved(RowState::Sending, RowState::Rejected, row.amount);
                    return Ok(());
                }
                Err(ProviderError::Fatal { code, message }) => {
                    // Refused before anything was created (credentials, configuration, a
                    // wait too long): the row can wait in the queue.
                    self.put_back(&attempt, &format!("not sent: provider refused ({code})"))
                        .await?;
                    self.provider_down(format!("provider refused ({code}): {message}"));
                    return Ok(());
                }
                Err(ProviderError::Ambiguous { message }) => {
                    tracing::warn!(order_id = %attempt.order_id, "create had no usable answer: {message}");
                    self.look_up_after(batch_id, &attempt, &message, None)
                        .await?;
                    return Ok(());
                }
                Err(ProviderError::Duplicate { code, message }) => {
                    tracing::info!(order_id = %attempt.order_id, "create refused as a duplicate ({code}): looking it up");
                    let said = format!("create refused as a duplicate: {message}");
                    self.look_up_after(batch_id, &attempt, &said, Some(&message))
                        .await?;
                    return Ok(());
                }
                Err(ProviderError::Retryable {
                    after,
                    code,
                    message,
                }) => {
                    tracing::debug!(order_id = %attempt.order_id, "provider busy ({code}): {message}");
                    if let Some(after) = after {
                        self.pacer.pause_for(after);
                    }
                    if try_no == self.opts.max_tries {
                        self.put_back(
                            &attempt,
                            &format!("not sent: provider busy ({code}) after {try_no} tries"),
                        )
                        .await?;
                        self.provider_down(format!(
                            "provider unreachable or busy after {try_no} tries ({code}): {message}"
                        ));
                        return Ok(());
                    }
                    if self.stop.is_cancelled() || !self.nap(self.backoff(try_no)).await {
                        self.put_back(
                            &attempt,
                            &format!("not sent: run stopped while the provider was busy ({code})"),
                        )
                        .await?;
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// A create that may have happened: the row is `unknown` until a lookup settles it.
    /// NotFound puts it back in the queue; the stage claims it again.
    async fn look_up_after(
        &self,
        batch_id: &str,
        attempt: &crate::journal::Attempt,
        message: &str,
        duplicate: Option<&str>,
    ) -> Result<(), JournalError> {
        self.set_state(attempt, RowState::Unknown, None, message)
            .await?;
        let unknown = crate::journal::Attempt {
            state: RowState::Unknown,
            ..attempt.clone()
        };
        let _: Resolution = self.resolve(batch_id, &unknown, duplicate).await?;
        Ok(())
    }

    /// Returns a row to the queue: its create never reached the provider.
    async fn put_back(
        &self,
        attempt: &crate::journal::Attempt,
        message: &str,
    ) -> Result<(), JournalError> {
        self.set_state(attempt, RowState::Queued, None, message)
            .await
    }
}
