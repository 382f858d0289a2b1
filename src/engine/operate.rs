//! Operator actions on open links (cancel, resend, extend), under the same pacing, circuit
//! breaker and journal as a run. Each answer is journaled; a cancel is followed by a status
//! lookup, so a link its beneficiary paid in the meantime is recorded as paid.

use super::{Engine, EngineError};
use crate::journal::{Attempt, JournalError, Update};
use crate::provider::{Client, Lookup, Provider, ProviderError};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Cancel,
    Resend,
    /// Move the expiry to the end of this day (India).
    Extend(time::Date),
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Cancel => "cancel",
            Operation::Resend => "resend",
            Operation::Extend(_) => "extend",
        }
    }
}

impl Engine<Client> {
    /// Applies `op` to every attempt's link, `concurrency` at a time.
    pub async fn operate(
        self: &Arc<Self>,
        attempts: Vec<Attempt>,
        op: Operation,
    ) -> Result<(), EngineError> {
        self.each(attempts, move |engine, attempt| async move {
            engine.operate_one(&attempt, op).await
        })
        .await
    }

    async fn operate_one(&self, attempt: &Attempt, op: Operation) -> Result<(), JournalError> {
        let Some(link_id) = attempt.link_id.as_deref() else {
            return Ok(()); // only open links are chosen, and an open link has an id
        };
        if !self.proceeding() {
            return Ok(());
        }
        self.pacer.ready().await;
        let answer = match op {
            Operation::Cancel => self.provider.cancel(&attempt.order_id, link_id).await,
            Operation::Resend => self.provider.resend(link_id).await,
            Operation::Extend(until) => self.provider.extend(link_id, until).await,
        };
        self.count(answer.as_ref().err());
        let (code, message) = match &answer {
            Ok(()) => ("OK".to_string(), format!("{} accepted", op.name())),
            Err(e) => {
                let code = match e {
                    ProviderError::Retryable { code, .. }
                    | ProviderError::Rejected { code, .. }
                    | ProviderError::Fatal { code, .. }
                    | ProviderError::Duplicate { code, .. } => code.clone(),
                    ProviderError::Ambiguous { .. } => "NO_ANSWER".into(),
                };
                (code, format!("{} refused: {e}", op.name()))
            }
        };
        if let Err(ProviderError::Fatal { code, message }) = &answer {
            self.provider_down(format!("provider refused ({code}): {message}"));
        }
        self.recorder
            .record(
                attempt.id,
                &Update {
                    code: Some(&code),
                    message: Some(&message),
                    // Due for a poll now: whatever the answer, the link is looked at again.
                    next_poll_at: Some(self.now_ms()),
                    ..Default::default()
                },
            )
            .await?;
        if op == Operation::Cancel && self.proceeding() {
            self.pacer.ready().await;
            if let Ok(Lookup::Found(info)) = self.status_call(attempt).await {
                self.record_link(attempt, &info, true).await?;
            }
        }
        Ok(())
    }
}
