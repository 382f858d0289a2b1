//! The engine's side of the journal: claiming queued attempts for create requests, reading
//! the attempts a stage works on, and applying provider answers (one or a group per commit).

use super::{insert_event, now_rfc3339, Attempt, Attention, Journal, Result, RowState};
use crate::money::Amount;
use crate::payout::{LinkInfo, PayoutRow};
use rusqlite::{params, Connection, TransactionBehavior};

/// What one claim did: the attempts it claimed for create requests, and the amounts of the
/// queued attempts it moved to attention instead, having used every request they may send.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    pub picked: Vec<Claimed>,
    pub capped: Vec<Amount>,
}

/// An attempt claimed for a create request: the row to send, with this attempt's order id.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub attempt: Attempt,
    pub row: PayoutRow,
}

/// A state change with what the provider said.
#[derive(Debug, Clone, Default)]
pub struct Update<'a> {
    pub state: Option<RowState>,
    pub info: Option<&'a LinkInfo>,
    pub code: Option<&'a str>,
    pub message: Option<&'a str>,
    /// Unix milliseconds of the next status poll (`None` clears it).
    pub next_poll_at: Option<i64>,
    pub count_poll: bool,
    /// With state `attention`: why.
    pub attention: Option<Attention>,
}

/// Whose attempt an update applies to, and its state before (as stored).
struct Before {
    batch_id: String,
    row_no: i64,
    order_id: String,
    state: String,
}

impl Journal {
    /// Moves up to `limit` queued attempts to `sending` in one transaction and returns them,
    /// in the order they were queued (sheet order). A queued attempt never has a poll time,
    /// and saying so lets the `attempts_by_state` index deliver them already in order: no
    /// sort of the whole queue per claim.
    /// The commit happens before any of their requests leaves the process. Attempts that
    /// already had `max_requests` create requests need a person: they move to `attention`.
    /// With `resends_only`, only attempts already sent before are claimed.
    pub fn claim(
        &self,
        batch_id: &str,
        limit: usize,
        max_requests: u32,
        resends_only: bool,
    ) -> Result<Claim> {
        let mut conn = self.conn();
        let e = |source| self.err(source);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let now = now_rfc3339();
        let capped: Vec<(i64, String, i64)> = tx
            .prepare_cached(
                "UPDATE attempts SET state = 'attention', attention = 'request-cap', updated_at = ?3
                 WHERE batch_id = ?1 AND state = 'queued' AND next_poll_at IS NULL
                   AND requests >= ?2
                 RETURNING row_no, order_id, amount_paise",
            )
            .map_err(e)?
            .query_map(params![batch_id, max_requests, now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        let mut claim = Claim::default();
        for (row_no, order_id, paise) in capped {
            claim.capped.push(Amount::from_paise(paise));
            insert_event(
                &tx,
                batch_id,
                Some(row_no as u64),
                Some(&order_id),
                "transition",
                Some(RowState::Queued),
                Some(RowState::Attention),
                &format!(
                    "{max_requests} create requests without a usable answer: {}",
                    Attention::RequestCap.advice()
                ),
            )
            .map_err(e)?;
        }
        let picked: Vec<(Attempt, String)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT a.id, a.row_no, a.order_id, a.link_id, a.polls, a.requests, r.payout,
                            a.amount_paise
                     FROM attempts a JOIN rows r ON r.batch_id = a.batch_id AND r.row_no = a.row_no
                     WHERE a.batch_id = ?1 AND a.state = 'queued' AND a.next_poll_at IS NULL
                       AND a.requests < ?3 AND (?4 = 0 OR a.requests > 0)
                     ORDER BY a.id LIMIT ?2",
                )
                .map_err(e)?;
            let picked = stmt
                .query_map(
                    params![batch_id, limit as i64, max_requests, resends_only],
                    |r| {
                        Ok((
                            Attempt {
                                id: r.get(0)?,
                                row_no: r.get::<_, i64>(1)? as u64,
                                order_id: r.get(2)?,
                                state: RowState::Sending,
                                amount: Amount::from_paise(r.get(7)?),
                                link_id: r.get(3)?,
                                polls: r.get(4)?,
                                requests: r.get::<_, u32>(5)? + 1,
                                expires_at: None,
                                provider_status: None,
                                message: None,
                                attention: None,
                            },
                            r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        ))
                    },
                )
                .map_err(e)?
                .collect::<std::result::Result<_, _>>()
                .map_err(e)?;
            picked
        };
        for (attempt, payout) in picked {
            let mut row: PayoutRow = serde_json::from_str(&payout)
                .map_err(|err| self.corrupt(format!("row {} payout: {err}", attempt.row_no)))?;
            row.order_id = attempt.order_id.clone();
            tx.execute(
                "UPDATE attempts SET state = 'sending', requests = requests + 1, updated_at = ?2
                 WHERE id = ?1",
                params![attempt.id, now],
            )
            .map_err(e)?;
            insert_event(
                &tx,
                batch_id,
                Some(attempt.row_no),
                Some(&attempt.order_id),
                "transition",
                Some(RowState::Queued),
                Some(RowState::Sending),
                "create intent",
            )
            .map_err(e)?;
            claim.picked.push(Claimed { attempt, row });
        }
        tx.commit().map_err(e)?;
        Ok(claim)
    }

    /// Attempts of a batch in any of `states`, in sheet order.
    pub fn attempts_in(&self, batch_id: &str, states: &[RowState]) -> Result<Vec<Attempt>> {
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>();
        self.query_attempts(
            &format!(
                "WHERE batch_id = ?1 AND state IN ({}) ORDER BY row_no",
                list.join(",")
            ),
            params![batch_id],
        )
    }

    /// An attempt of the batch whose link payrun knows exists (open or paid, with a link
    /// id), the one looked up most: a lookup of it shows whether a lookup path works.
    pub fn known_link(&self, batch_id: &str) -> Result<Option<Attempt>> {
        self.query_attempts(
            "WHERE batch_id = ?1 AND state IN ('open', 'paid') AND link_id IS NOT NULL
             ORDER BY polls DESC, id LIMIT 1",
            params![batch_id],
        )
        .map(|mut found| found.pop())
    }

    /// Open attempts whose next poll is due at `now_ms`, earliest first.
    pub fn due_polls(&self, batch_id: &str, now_ms: i64, limit: usize) -> Result<Vec<Attempt>> {
        self.query_attempts(
            "WHERE batch_id = ?1 AND state = 'open' AND COALESCE(next_poll_at, 0) <= ?2
             ORDER BY next_poll_at, row_no LIMIT ?3",
            params![batch_id, now_ms, limit as i64],
        )
    }

    /// When the next open attempt of the batch is due for a poll.
    pub fn next_poll_at(&self, batch_id: &str) -> Result<Option<i64>> {
        self.conn()
            .query_row(
                "SELECT MIN(COALESCE(next_poll_at, 0)) FROM attempts WHERE batch_id = ?1 AND state = 'open'",
                params![batch_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn query_attempts(&self, tail: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Attempt>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, row_no, order_id, state, link_id, polls, requests, expires_at,
                    provider_status, provider_message, attention, amount_paise FROM attempts {tail}"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let raw: Vec<(Attempt, String)> = stmt
            .query_map(args, |r| {
                let attempt = Attempt {
                    id: r.get(0)?,
                    row_no: r.get::<_, i64>(1)? as u64,
                    order_id: r.get(2)?,
                    state: RowState::Invalid,
                    amount: Amount::from_paise(r.get(11)?),
                    link_id: r.get(4)?,
                    polls: r.get(5)?,
                    requests: r.get(6)?,
                    expires_at: r.get(7)?,
                    provider_status: r.get(8)?,
                    message: r.get(9)?,
                    attention: r
                        .get::<_, Option<String>>(10)?
                        .as_deref()
                        .and_then(Attention::parse),
                };
                Ok((attempt, r.get(3)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        raw.into_iter()
            .map(|(attempt, state)| {
                Ok(Attempt {
                    state: state.parse().map_err(|m: String| self.corrupt(m))?,
                    ..attempt
                })
            })
            .collect()
    }

    /// Applies an update to one attempt and appends the matching event, in one transaction.
    /// A terminal state is final: a later answer that disagrees (a provider status that
    /// flaps) is recorded as an event but does not change the state. Returns the state the
    /// attempt has afterwards.
    pub fn update(&self, attempt_id: i64, u: &Update<'_>) -> Result<RowState> {
        let mut states = self.update_many(&[(attempt_id, u.clone())])?;
        states
            .pop()
            .ok_or_else(|| self.corrupt("update returned no state"))
    }

    /// Applies several updates in one transaction (group commit): one disk sync for all.
    /// Returns each attempt's state afterwards, in order.
    pub fn update_many(&self, updates: &[(i64, Update<'_>)]) -> Result<Vec<RowState>> {
        let mut conn = self.conn();
        let e = |source| self.err(source);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let mut states = Vec::with_capacity(updates.len());
        for (attempt_id, u) in updates {
            states.push(self.apply(&tx, *attempt_id, u)?);
        }
        if updates.iter().any(|(_, u)| u.count_poll) {
            crate::crashpoint::hit(crate::crashpoint::IN_POLL_COMMIT);
        }
        tx.commit().map_err(e)?;
        Ok(states)
    }

    fn apply(&self, tx: &Connection, attempt_id: i64, u: &Update<'_>) -> Result<RowState> {
        let e = |source| self.err(source);
        let before = tx
            .query_row(
                "SELECT batch_id, row_no, order_id, state FROM attempts WHERE id = ?1",
                params![attempt_id],
                |r| {
                    Ok(Before {
                        batch_id: r.get(0)?,
                        row_no: r.get(1)?,
                        order_id: r.get(2)?,
                        state: r.get(3)?,
                    })
                },
            )
            .map_err(e)?;
        let Before {
            batch_id,
            row_no,
            order_id,
            state: current,
        } = before;
        let current: RowState = current.parse().map_err(|m: String| self.corrupt(m))?;
        let wanted = u.state.unwrap_or(current);
        let flap = current.is_terminal() && wanted != current;
        let new_state = if flap { current } else { wanted };
        let info = u.info;
        let code = u.code.or(info.and_then(|i| i.code.as_deref()));
        let message = u.message.or(info.and_then(|i| i.message.as_deref()));
        tx.execute(
            "UPDATE attempts SET state = ?2,
                link_id = COALESCE(?3, link_id), link_url = COALESCE(?4, link_url),
                provider_status = COALESCE(?5, provider_status),
                provider_code = COALESCE(?6, provider_code),
                provider_message = COALESCE(?7, provider_message),
                next_poll_at = ?8, polls = polls + ?9, updated_at = ?10,
                expires_at = COALESCE(?11, expires_at),
                attention = CASE WHEN ?2 = 'attention' THEN COALESCE(?12, attention) END
             WHERE id = ?1",
            params![
                attempt_id,
                new_state.as_str(),
                info.and_then(|i| i.link_id.as_deref()),
                info.and_then(|i| i.link_url.as_deref()),
                info.and_then(|i| i.provider_status.as_deref()),
                code,
                message,
                if new_state == RowState::Open {
                    u.next_poll_at
                } else {
                    None
                },
                u.count_poll as i64,
                now_rfc3339(),
                info.and_then(|i| i.expires_at),
                u.attention.map(Attention::as_str),
            ],
        )
        .map_err(e)?;
        if current != wanted || code.is_some() {
            let mut detail = String::new();
            if let Some(s) = info.and_then(|i| i.provider_status.as_deref()) {
                detail.push_str(&format!("status {s}; "));
            }
            if let Some(c) = code {
                detail.push_str(&format!("code {c}; "));
            }
            if let Some(m) = message {
                detail.push_str(m);
            }
            if flap {
                detail = format!("ignored: provider now says {wanted} after {current}; {detail}");
            }
            let kind = if current != wanted {
                "transition"
            } else {
                "provider_answer"
            };
            insert_event(
                tx,
                &batch_id,
                Some(row_no as u64),
                Some(&order_id),
                kind,
                Some(current),
                Some(new_state),
                detail.trim_end_matches("; "),
            )
            .map_err(e)?;
        }
        Ok(new_state)
    }
}
