//! Reconciliation: an attempt whose create may have reached the provider (`sending` after a
//! crash, `unknown` after a lost answer or a duplicate refusal) is looked up by its order id
//! before anything is sent again.
//!
//! - Found: the link is journaled.
//! - Refused by a lookup path that has proved itself (it found a link payrun knows exists in
//!   this run), three times over a growing grace (a lookup can lag its create): the create
//!   never happened, and the row goes back to the queue to be sent with the same order id,
//!   so the provider's duplicate check still guards it. If the create had been refused as a
//!   duplicate, the provider contradicts itself: the row needs a person.
//! - Refused by a path that has not proved itself: payrun looks up a link it knows exists to
//!   prove the path; until it can, the refusal is no evidence, and after the grace the row
//!   needs a person (and is reconciled again, by this run once a lookup finds a link, and by
//!   every later run). A batch with no link at all has nothing to prove the path with: its
//!   rows are sent again after the grace, as if proven, guarded by the duplicate check.
//!
//! Rows that need a person for another reason are looked up once per run: a link found
//! settles them by itself.

use super::{Engine, EngineError};
use crate::journal::{Attempt, Attention, JournalError, RowState, Update};
use crate::provider::{Lookup, Provider, ProviderError};
use std::sync::Arc;

/// Refusals in a row, spaced by the growing grace period, before a create is taken as never
/// having happened (or, from a path not yet proved, before the row is handed to a person).
const CONFIRMATIONS: u32 = 3;

/// What a lookup established.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resolution {
    Found,
    /// Queued to be sent again with the same order id.
    NotFound,
    /// The row needs a person.
    Attention,
    /// No answer could be had; the attempt stays `unknown` for the next run.
    Unresolved,
}

impl<P: Provider> Engine<P> {
    /// Resolves every `sending`, `unknown` and `attention` attempt of the batch.
    pub(super) async fn reconcile(self: &Arc<Self>, batch_id: &str) -> Result<(), EngineError> {
        let pending = self.journal.attempts_in(
            batch_id,
            &[RowState::Sending, RowState::Unknown, RowState::Attention],
        )?;
        if pending.is_empty() {
            return Ok(());
        }
        tracing::info!(
            "reconciling {} rows whose last create had no answer or that need attention",
            pending.len()
        );
        let batch = Arc::new(batch_id.to_string());
        self.each(pending, move |engine, attempt| {
            let batch = Arc::clone(&batch);
            async move {
                match attempt.attention {
                    Some(Attention::UnprovenLookup) | None => {
                        engine.resolve(&batch, &attempt, None).await.map(|_| ())
                    }
                    Some(_) => engine.recheck(&attempt).await,
                }
            }
        })
        .await
    }

    /// One lookup of a row that needs a person: a link found settles it.
    async fn recheck(&self, attempt: &Attempt) -> Result<(), JournalError> {
        if !self.proceeding() {
            return Ok(());
        }
        self.pacer.ready().await;
        match self.status_call(attempt).await {
            Ok(Lookup::Found(info)) => self.record_link(attempt, &info, false).await.map(|_| ()),
            Err(ProviderError::Fatal { code, message }) => {
                self.provider_down(format!("status lookup refused ({code}): {message}"));
                Ok(())
            }
            Err(ProviderError::Retryable {
                after: Some(after), ..
            }) => {
                self.pacer.pause_for(after);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Looks one attempt up by order id, retrying transient failures a few times.
    /// `duplicate` is the provider's answer when the create was refused as a duplicate.
    pub(super) async fn resolve(
        &self,
        batch_id: &str,
        attempt: &Attempt,
        duplicate: Option<&str>,
    ) -> Result<Resolution, JournalError> {
        let mut refusals: Vec<String> = Vec::new();
        let mut unproven: Vec<String> = Vec::new();
        let mut failures = 0;
        let mut probed = false;
        while self.proceeding() {
            self.pacer.ready().await;
            match self.status_call(attempt).await {
                Ok(Lookup::Found(info)) => {
                    self.record_link(attempt, &info, false).await?;
                    return Ok(Resolution::Found);
                }
                Ok(Lookup::NotFound(said)) => {
                    refusals.push(said);
                    if refusals.len() as u32 == CONFIRMATIONS {
                        return self.not_found(attempt, duplicate, &refusals).await;
                    }
                    // A lookup can lag the create it follows: a create that did land must
                    // never be sent again, so "not found" is believed only when it repeats.
                    if !self
                        .nap(self.opts.not_found_grace * refusals.len() as u32)
                        .await
                    {
                        break;
                    }
                }
                Ok(Lookup::Unproven(said)) => {
                    if !probed {
                        probed = true;
                        if self.prove_lookups(batch_id).await? {
                            continue; // the same answer now counts
                        }
                    }
                    unproven.push(said);
                    if unproven.len() as u32 == CONFIRMATIONS {
                        if duplicate.is_none() && self.journal.known_link(batch_id)?.is_none() {
                            // No link of the batch exists to prove the lookup with: the
                            // duplicate check must guard the re-send.
                            return self.not_found(attempt, None, &unproven).await;
                        }
                        return self.unproven(attempt, duplicate, &unproven).await;
                    }
                    if !self
                        .nap(self.opts.not_found_grace * unproven.len() as u32)
                        .await
                    {
                        break;
                    }
                    probed = false;
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
                    failures += 1;
                    if failures >= self.opts.max_tries || !self.nap(self.backoff(failures)).await {
                        break;
                    }
                }
            }
        }
        if attempt.state != RowState::Unknown {
            self.set_state(
                attempt,
                RowState::Unknown,
                None,
                "no answer to the status lookup; run payrun again to reconcile",
            )
            .await?;
        }
        Ok(Resolution::Unresolved)
    }

    /// Looks up a link payrun knows exists, so the lookup path proves itself (the client
    /// learns it). True when it did.
    async fn prove_lookups(&self, batch_id: &str) -> Result<bool, JournalError> {
        let Some(known) = self.journal.known_link(batch_id)? else {
            return Ok(false);
        };
        self.pacer.ready().await;
        // By order id, as the row in question is looked up: the same path answers.
        let answer = self.provider.status(&known.order_id).await;
        self.count(answer.as_ref().err());
        match answer {
            Ok(Lookup::Found(info)) => {
                self.lookups.found();
                self.record_link(&known, &info, false).await?;
                Ok(true)
            }
            Ok(Lookup::NotFound(said) | Lookup::Unproven(said)) => {
                self.known_link_refused(&said);
                Ok(false)
            }
            Err(ProviderError::Retryable {
                after: Some(after), ..
            }) => {
                self.pacer.pause_for(after);
                Ok(false)
            }
            Err(_) => Ok(false),
        }
    }

    /// Proven lookups keep saying "no such link".
    async fn not_found(
        &self,
        attempt: &Attempt,
        duplicate: Option<&str>,
        refusals: &[String],
    ) -> Result<Resolution, JournalError> {
        let said = refusals.last().map(String::as_str).unwrap_or_default();
        if let Some(duplicate) = duplicate {
            let message = format!(
                "the provider refused the create as a duplicate ({duplicate}) while its lookups say there is no such link ({said}); no more creates are sent"
            );
            self.needs_attention(attempt, Attention::Contradiction, &message)
                .await?;
            return Ok(Resolution::Attention);
        }
        self.set_state(
            attempt,
            RowState::Queued,
            None,
            &format!("provider has no link for this order id ({said}); it will be sent again with the same order id"),
        )
        .await?;
        Ok(Resolution::NotFound)
    }

    /// Lookups refused the order id and nothing proved that they work.
    async fn unproven(
        &self,
        attempt: &Attempt,
        duplicate: Option<&str>,
        answers: &[String],
    ) -> Result<Resolution, JournalError> {
        let said = answers.last().map(String::as_str).unwrap_or_default();
        let mut message = format!(
            "lookups answered '{said}', and no lookup of this run found a link payrun knows exists, so that answer proves nothing"
        );
        if let Some(duplicate) = duplicate {
            message.push_str(&format!(
                "; the create was refused as a duplicate ({duplicate})"
            ));
        }
        self.needs_attention(attempt, Attention::UnprovenLookup, &message)
            .await?;
        Ok(Resolution::Attention)
    }

    pub(super) async fn needs_attention(
        &self,
        attempt: &Attempt,
        why: Attention,
        message: &str,
    ) -> Result<(), JournalError> {
        tracing::warn!(order_id = %attempt.order_id, "needs attention: {message}");
        self.set_state(attempt, RowState::Attention, Some(why), message)
            .await
    }

    /// Journals a state change payrun decided, with its reason.
    pub(super) async fn set_state(
        &self,
        attempt: &Attempt,
        state: RowState,
        attention: Option<Attention>,
        message: &str,
    ) -> Result<(), JournalError> {
        let now = self
            .recorder
            .record(
                attempt.id,
                &Update {
                    state: Some(state),
                    message: Some(message),
                    attention,
                    ..Default::default()
                },
            )
            .await?;
        if now != attempt.state {
            self.progress.moved(attempt.state, now, attempt.amount);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::engine_over;
    use crate::journal::{Attention, Journal, RowState};
    use crate::payout::{LinkInfo, LinkState, PayoutRow};
    use crate::provider::{Lookup, Provider, ProviderError};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// A provider that knows one link (`KNOWN`) and answers every other order id as its
    /// lookups' refusal `refusal` says; creates of other ids get `create`.
    struct Scripted {
        refusal: fn(String) -> Lookup,
        create: fn() -> Result<LinkInfo, ProviderError>,
        creates: AtomicU32,
    }

    fn open_link() -> LinkInfo {
        LinkInfo {
            state: LinkState::Open,
            link_id: Some("L-KNOWN".into()),
            link_url: None,
            provider_status: Some("PENDING".into()),
            code: None,
            message: None,
            expires_at: None,
        }
    }

    impl Provider for Scripted {
        async fn create(&self, row: &PayoutRow) -> Result<LinkInfo, ProviderError> {
            self.creates.fetch_add(1, Ordering::Relaxed);
            if row.order_id == "KNOWN" {
                return Ok(open_link());
            }
            (self.create)()
        }

        async fn status(&self, order_id: &str) -> Result<Lookup, ProviderError> {
            Ok(if order_id == "KNOWN" {
                Lookup::Found(open_link())
            } else {
                (self.refusal)(format!("FAILURE PL_030: no link for {order_id}"))
            })
        }

        async fn cancel(&self, _: &str, _: &str) -> Result<(), ProviderError> {
            Ok(())
        }
    }

    async fn run(provider: Scripted) -> (Arc<Journal>, tempfile::TempDir, u32) {
        let provider = Arc::new(provider);
        let (engine, journal, dir) = engine_over(Arc::clone(&provider), &["KNOWN", "DUP"]);
        engine.run("b1").await.unwrap();
        let creates = provider.creates.load(Ordering::Relaxed);
        (journal, dir, creates)
    }

    fn row_of(journal: &Journal, state: RowState) -> Vec<crate::journal::Attempt> {
        journal.attempts_in("b1", &[state]).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_duplicate_that_proven_lookups_cannot_find_needs_a_person() {
        let (journal, _dir, creates) = run(Scripted {
            refusal: Lookup::NotFound,
            create: || {
                Err(ProviderError::Duplicate {
                    code: "PL_040".into(),
                    message: "FAILURE PL_040: Duplicate order id".into(),
                })
            },
            creates: AtomicU32::new(0),
        })
        .await;
        let stuck = row_of(&journal, RowState::Attention);
        assert_eq!(stuck.len(), 1);
        assert_eq!(stuck[0].order_id, "DUP");
        assert_eq!(stuck[0].attention, Some(Attention::Contradiction));
        let said = stuck[0].message.as_deref().unwrap_or_default();
        assert!(said.contains("PL_040") && said.contains("PL_030"), "{said}");
        assert_eq!(creates, 2, "no create after the contradiction");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_from_a_path_that_never_proves_itself_are_no_reason_to_resend() {
        // A link (KNOWN) exists, so the path could have proved itself, but the client calls
        // every refusal unproven: DUP is never sent again on that evidence.
        let (journal, _dir, creates) = run(Scripted {
            refusal: Lookup::Unproven,
            create: || {
                Err(ProviderError::Ambiguous {
                    message: "HTTP 503".into(),
                })
            },
            creates: AtomicU32::new(0),
        })
        .await;
        let stuck = row_of(&journal, RowState::Attention);
        assert_eq!(
            stuck.len(),
            1,
            "a refusal that stays unproven is no evidence"
        );
        assert_eq!(stuck[0].attention, Some(Attention::UnprovenLookup));
        assert_eq!(row_of(&journal, RowState::Queued).len(), 0);
        assert_eq!(creates, 2, "DUP was sent once");
    }
}
