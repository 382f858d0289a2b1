//! The poll stage: open links are looked up when their next poll is due, with a doubling
//! interval, until every link is settled, the deadline passes or the run stops.

use super::{Engine, EngineError};
use crate::journal::{Attempt, Attention, JournalError, RowState, Update};
use crate::payout::LinkState;
use crate::provider::{Lookup, Provider, ProviderError};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

impl<P: Provider> Engine<P> {
    pub(super) async fn poll_until(
        self: &Arc<Self>,
        batch_id: &str,
        deadline: Instant,
        resends_only: bool,
    ) -> Result<(), EngineError> {
        while self.proceeding() && Instant::now() < deadline {
            self.reconcile_unresolved(batch_id, resends_only).await?;
            let due = self.journal.due_polls(batch_id, self.now_ms(), 512)?;
            if due.is_empty() {
                let Some(next) = self.journal.next_poll_at(batch_id)? else {
                    break; // nothing open
                };
                let wait = Duration::from_millis((next - self.now_ms()).max(10) as u64);
                if Instant::now() + wait > deadline {
                    break; // nothing falls due before the deadline: no point waiting for it
                }
                if !self.nap(wait).await {
                    break;
                }
                continue;
            }
            self.each(due, |engine, attempt| async move {
                engine.poll_one(&attempt).await
            })
            .await?;
        }
        Ok(())
    }

    /// Whether the attempt's link expired more than `expiry_grace` ago.
    fn overdue(&self, attempt: &Attempt) -> bool {
        let grace = self.opts.expiry_grace.as_millis() as i64;
        attempt
            .expires_at
            .is_some_and(|at| self.now_ms() > at.saturating_add(grace))
    }

    async fn poll_one(&self, attempt: &Attempt) -> Result<(), JournalError> {
        if !self.proceeding() {
            return Ok(());
        }
        self.pacer.ready().await;
        let later = |polls: u32| self.now_ms() + self.poll_delay(polls).as_millis() as i64;
        let lookup = self.status_call(attempt).await;
        let settled = matches!(&lookup, Ok(Lookup::Found(i)) if i.state != LinkState::Open);
        let refused = matches!(lookup, Err(ProviderError::Fatal { .. }));
        if self.overdue(attempt) && !settled && !refused {
            let status = match &lookup {
                Ok(Lookup::Found(info)) => info.provider_status.as_deref(),
                _ => attempt.provider_status.as_deref(),
            };
            if status.is_some_and(crate::provider::outcome_unknown) {
                let message = format!(
                    "the link is past its expiry and the provider's only answer ({}) cannot say whether it paid",
                    status.unwrap_or_default()
                );
                return self
                    .needs_attention(attempt, Attention::OutcomeUnknown, &message)
                    .await;
            }
            // This poll was the last ask: a link long past its expiry cannot be paid.
            let message = "marked expired by payrun: the link's expiry passed more than the grace period ago and the provider still gave no final status";
            self.recorder
                .record(
                    attempt.id,
                    &Update {
                        state: Some(RowState::Expired),
                        message: Some(message),
                        count_poll: true,
                        ..Default::default()
                    },
                )
                .await?;
            self.progress
                .moved(attempt.state, RowState::Expired, attempt.amount);
            return Ok(());
        }
        match lookup {
            Ok(Lookup::Found(info)) => {
                self.record_link(attempt, &info, true).await?;
            }
            Ok(Lookup::NotFound(_) | Lookup::Unproven(_)) => {
                // The link was created and journaled; a provider that briefly cannot find it
                // is asked again later, never answered with a second link.
                tracing::warn!(order_id = %attempt.order_id, "provider cannot find an open link; asking again later");
                self.recorder
                    .record(
                        attempt.id,
                        &Update {
                            message: Some("provider could not find this link at the last poll"),
                            next_poll_at: Some(later(attempt.polls + 1)),
                            count_poll: true,
                            ..Default::default()
                        },
                    )
                    .await?;
            }
            Err(ProviderError::Fatal { code, message }) => {
                self.provider_down(format!("status lookup refused ({code}): {message}"));
            }
            Err(e) => {
                if let ProviderError::Retryable {
                    after: Some(after), ..
                } = &e
                {
                    self.pacer.pause_for(*after);
                }
                tracing::debug!(order_id = %attempt.order_id, "status poll failed: {e}");
                let retry_in = self
                    .backoff(attempt.polls.max(1))
                    .max(Duration::from_secs(1));
                self.recorder
                    .record(
                        attempt.id,
                        &Update {
                            next_poll_at: Some(self.now_ms() + retry_in.as_millis() as i64),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
