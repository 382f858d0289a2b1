//! What operators do to a batch after its run, in the journal: choosing the latest attempts
//! of some rows, re-issuing rows as new attempts (retry), recording each operator command,
//! and reading the audit trail back.

use super::{insert_event, now_rfc3339, Attempt, Journal, PayoutRow, Result, RowState};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::ops::RangeInclusive;

/// Sheet rows chosen by number (`3,5-9`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSet(pub Vec<RangeInclusive<u64>>);

impl RowSet {
    pub fn contains(&self, row_no: u64) -> bool {
        self.0.iter().any(|r| r.contains(&row_no))
    }
}

impl std::str::FromStr for RowSet {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("'{s}' is not a list of rows; write e.g. 3,5-9");
        let ranges = s
            .split(',')
            .map(|part| {
                let part = part.trim();
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                let (a, b) = (a.trim().parse::<u64>(), b.trim().parse::<u64>());
                match (a, b) {
                    (Ok(a), Ok(b)) if a <= b => Ok(a..=b),
                    _ => Err(bad()),
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RowSet(ranges))
    }
}

/// A row's latest attempt, with what an operator action needs to know about the row.
#[derive(Debug, Clone)]
pub struct Latest {
    pub attempt: Attempt,
    pub attempt_no: u32,
    pub amount_paise: i64,
    /// The cells as imported, for re-validation.
    pub cells: Vec<String>,
    pub payout: PayoutRow,
    /// The order id of the row's first attempt: retries derive theirs from it.
    pub first_order_id: String,
}

/// One row to re-issue.
#[derive(Debug, Clone)]
pub struct Requeue {
    pub previous: i64,
    pub row_no: u64,
    pub attempt_no: u32,
    pub order_id: String,
    pub payout: PayoutRow,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub batch_id: Option<String>,
    pub row_no: Option<u64>,
    pub order_id: Option<String>,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: Option<String>,
}

/// A row's latest attempt as stored: its state, cells and payout are still text, which
/// `latest` checks and parses.
struct StoredLatest {
    /// With a placeholder state until `state` is parsed.
    attempt: Attempt,
    state: String,
    attempt_no: u32,
    amount_paise: i64,
    cells: String,
    payout: Option<String>,
    first_order_id: String,
}

impl Journal {
    /// The latest attempts of the batch's rows in `states` (and in `rows`, when given), in
    /// sheet order.
    pub fn latest(
        &self,
        batch_id: &str,
        states: &[RowState],
        rows: Option<&RowSet>,
    ) -> Result<Vec<Latest>> {
        let conn = self.conn();
        let e = |source| self.err(source);
        let mut stmt = conn
            .prepare_cached(
                "SELECT a.id, a.row_no, a.order_id, a.state, a.link_id, a.polls, a.requests,
                        a.attempt_no, a.amount_paise, r.cells, r.payout,
                        (SELECT f.order_id FROM attempts f
                         WHERE f.batch_id = a.batch_id AND f.row_no = a.row_no AND f.attempt_no = 1)
                 FROM attempts a JOIN rows r ON r.batch_id = a.batch_id AND r.row_no = a.row_no
                 WHERE a.batch_id = ?1 AND a.superseded = 0 ORDER BY a.row_no",
            )
            .map_err(e)?;
        let stored: Vec<StoredLatest> = stmt
            .query_map(params![batch_id], |r| {
                Ok(StoredLatest {
                    attempt: Attempt {
                        id: r.get(0)?,
                        row_no: r.get::<_, i64>(1)? as u64,
                        order_id: r.get(2)?,
                        state: RowState::Invalid,
                        amount: crate::money::Amount::from_paise(r.get(8)?),
                        link_id: r.get(4)?,
                        polls: r.get(5)?,
                        requests: r.get(6)?,
                        expires_at: None,
                        provider_status: None,
                        message: None,
                        attention: None,
                    },
                    state: r.get(3)?,
                    attempt_no: r.get(7)?,
                    amount_paise: r.get(8)?,
                    cells: r.get(9)?,
                    payout: r.get(10)?,
                    first_order_id: r.get(11)?,
                })
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        let mut chosen = Vec::new();
        for StoredLatest {
            mut attempt,
            state,
            attempt_no,
            amount_paise,
            cells,
            payout,
            first_order_id,
        } in stored
        {
            attempt.state = state.parse().map_err(|m: String| self.corrupt(m))?;
            if !states.contains(&attempt.state) || rows.is_some_and(|r| !r.contains(attempt.row_no))
            {
                continue;
            }
            let row_no = attempt.row_no;
            let corrupt = |what: &str, err: serde_json::Error| {
                self.corrupt(format!("row {row_no} {what}: {err}"))
            };
            chosen.push(Latest {
                attempt,
                attempt_no,
                amount_paise,
                cells: serde_json::from_str(&cells).map_err(|err| corrupt("cells", err))?,
                payout: serde_json::from_str(payout.as_deref().unwrap_or("null"))
                    .map_err(|err| corrupt("payout", err))?,
                first_order_id,
            });
        }
        Ok(chosen)
    }

    /// Queues a new attempt for each row and marks the attempt it replaces as superseded,
    /// all in one transaction, with an event per row. The new attempts are sent by the
    /// engine like any queued row.
    pub fn requeue(&self, batch_id: &str, rows: &[Requeue]) -> Result<()> {
        let mut conn = self.conn();
        let e = |source| self.err(source);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let now = now_rfc3339();
        for r in rows {
            let payout = serde_json::to_string(&r.payout)
                .map_err(|err| self.corrupt(format!("row {}: {err}", r.row_no)))?;
            let previous: (String, String) = tx
                .query_row(
                    "UPDATE attempts SET superseded = 1 WHERE id = ?1 AND superseded = 0
                     RETURNING order_id, state",
                    params![r.previous],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(e)?;
            tx.execute(
                "UPDATE rows SET payout = ?3 WHERE batch_id = ?1 AND row_no = ?2",
                params![batch_id, r.row_no as i64, payout],
            )
            .map_err(e)?;
            tx.execute(
                "INSERT INTO attempts (batch_id, row_no, attempt_no, order_id, state, amount_paise, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)",
                params![
                    batch_id,
                    r.row_no as i64,
                    r.attempt_no,
                    r.order_id,
                    r.payout.amount.paise(),
                    now
                ],
            )
            .map_err(e)?;
            insert_event(
                &tx,
                batch_id,
                Some(r.row_no),
                Some(&r.order_id),
                "retry",
                None,
                Some(RowState::Queued),
                &format!(
                    "attempt {} replaces {} ({})",
                    r.attempt_no, previous.0, previous.1
                ),
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// The phones of rows paid (by any batch) in the last `days` days.
    pub fn phones_paid_since(&self, days: i64) -> Result<std::collections::HashSet<String>> {
        let since = (time::OffsetDateTime::now_utc() - time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let conn = self.conn();
        let e = |source| self.err(source);
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT json_extract(r.payout, '$.phone')
                 FROM attempts a JOIN rows r ON r.batch_id = a.batch_id AND r.row_no = a.row_no
                 WHERE a.state = 'paid' AND a.updated_at >= ?1",
            )
            .map_err(e)?;
        let phones = stmt
            .query_map(params![since], |r| r.get::<_, Option<String>>(0))
            .map_err(e)?
            .filter_map(|p| p.transpose())
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        Ok(phones)
    }

    /// Settles rows that need a person, as an operator decided after checking the
    /// provider's dashboard: `Queued` re-sends the row with the same order id (its request
    /// count starts again), `NotCreated` frees it for `retry`. One transaction; an event per
    /// row. Rows no longer in `attention` are left alone; returns how many were settled.
    pub fn settle(
        &self,
        batch_id: &str,
        attempts: &[i64],
        to: RowState,
        why: &str,
    ) -> Result<usize> {
        let mut conn = self.conn();
        let e = |source| self.err(source);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let now = now_rfc3339();
        let mut settled = 0;
        for id in attempts {
            let row: Option<(i64, String)> = tx
                .query_row(
                    "UPDATE attempts SET state = ?2, attention = NULL, next_poll_at = NULL,
                        requests = CASE WHEN ?2 = 'queued' THEN 0 ELSE requests END,
                        provider_message = ?3, updated_at = ?4
                     WHERE id = ?1 AND state = 'attention'
                     RETURNING row_no, order_id",
                    params![id, to.as_str(), why, now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(e)?;
            let Some((row_no, order_id)) = row else {
                continue;
            };
            insert_event(
                &tx,
                batch_id,
                Some(row_no as u64),
                Some(&order_id),
                "operator",
                Some(RowState::Attention),
                Some(to),
                why,
            )
            .map_err(e)?;
            settled += 1;
        }
        tx.commit().map_err(e)?;
        Ok(settled)
    }

    /// Records an operator command (the command line, which never holds a secret).
    pub fn operator(&self, batch_id: &str, command: &str) -> Result<()> {
        let conn = self.conn();
        insert_event(&conn, batch_id, None, None, "operator", None, None, command)
            .map_err(|e| self.err(e))
    }

    /// The batch's audit trail, oldest first.
    pub fn events(&self, batch_id: &str) -> Result<Vec<Event>> {
        let conn = self.conn();
        let e = |source| self.err(source);
        let mut stmt = conn
            .prepare(
                "SELECT id, at, batch_id, row_no, order_id, kind, from_state, to_state, detail
                 FROM events WHERE batch_id = ?1 ORDER BY id",
            )
            .map_err(e)?;
        let events = stmt
            .query_map(params![batch_id], |r| {
                Ok(Event {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    batch_id: r.get(2)?,
                    row_no: r.get::<_, Option<i64>>(3)?.map(|n| n as u64),
                    order_id: r.get(4)?,
                    kind: r.get(5)?,
                    from_state: r.get(6)?,
                    to_state: r.get(7)?,
                    detail: r.get(8)?,
                })
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sets() {
        let set: RowSet = "3, 5-9,12".parse().unwrap();
        assert!(set.contains(3) && set.contains(7) && set.contains(12));
        assert!(!set.contains(4) && !set.contains(10));
        assert!("9-5".parse::<RowSet>().is_err());
        assert!("x".parse::<RowSet>().is_err());
    }
}
