//! What the report, `status` and intake read from the journal: batches, which batch uses
//! an order id, rows and amounts per state, and every sheet row with its latest attempt.

use super::{Batch, Journal, Result, RowState};
use crate::payout::ProviderKind;
use rusqlite::{params, Connection};

/// Count and amount of rows per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub states: Vec<StateTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateTotal {
    pub state: RowState,
    pub rows: u64,
    pub paise: i64,
}

impl Summary {
    pub fn rows(&self, state: RowState) -> u64 {
        self.get(state).map_or(0, |s| s.rows)
    }

    pub fn paise(&self, state: RowState) -> i64 {
        self.get(state).map_or(0, |s| s.paise)
    }

    pub fn total_rows(&self) -> u64 {
        self.states.iter().map(|s| s.rows).sum()
    }

    fn get(&self, state: RowState) -> Option<&StateTotal> {
        self.states.iter().find(|s| s.state == state)
    }
}

/// One report line: a sheet row with its latest attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub row_no: u64,
    pub cells: Vec<String>,
    pub order_id: Option<String>,
    pub state: RowState,
    pub link_url: Option<String>,
    pub link_id: Option<String>,
    pub provider_code: Option<String>,
    pub provider_message: Option<String>,
    pub attempts: u32,
    pub updated_at: Option<String>,
    /// The amount of the latest attempt; `None` for an invalid row.
    pub amount_paise: Option<i64>,
}

/// A `batches` row as stored: the provider and the headers are still text, which
/// `batch_from` checks.
struct StoredBatch {
    id: String,
    sheet_path: String,
    sheet_name: Option<String>,
    sheet_sha256: String,
    provider: String,
    headers: String,
    created_at: String,
    row_count: i64,
    valid_count: i64,
    total_paise: i64,
}

impl Journal {
    pub fn batch(&self, id: &str) -> Result<Option<Batch>> {
        self.query_batches("WHERE id = ?1", params![id])
            .map(|mut v| v.pop())
    }

    pub fn batches(&self) -> Result<Vec<Batch>> {
        self.query_batches("ORDER BY created_at, id", params![])
    }

    fn query_batches(&self, tail: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Batch>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, sheet_path, sheet_name, sheet_sha256, provider, headers, created_at,
                    row_count, valid_count, total_paise FROM batches {tail}"
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let stored = stmt
            .query_map(args, |r| {
                Ok(StoredBatch {
                    id: r.get(0)?,
                    sheet_path: r.get(1)?,
                    sheet_name: r.get(2)?,
                    sheet_sha256: r.get(3)?,
                    provider: r.get(4)?,
                    headers: r.get(5)?,
                    created_at: r.get(6)?,
                    row_count: r.get(7)?,
                    valid_count: r.get(8)?,
                    total_paise: r.get(9)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        stored.into_iter().map(|b| self.batch_from(b)).collect()
    }

    fn batch_from(&self, stored: StoredBatch) -> Result<Batch> {
        let StoredBatch {
            id,
            sheet_path,
            sheet_name,
            sheet_sha256,
            provider,
            headers,
            created_at,
            row_count,
            valid_count,
            total_paise,
        } = stored;
        Ok(Batch {
            provider: ProviderKind::parse(&provider)
                .ok_or_else(|| self.corrupt(format!("unknown provider '{provider}'")))?,
            headers: serde_json::from_str(&headers)
                .map_err(|e| self.corrupt(format!("batch {id} headers: {e}")))?,
            id,
            sheet_path,
            sheet_name,
            sheet_sha256,
            created_at,
            row_count: row_count as u64,
            valid_count: valid_count as u64,
            total_paise,
        })
    }

    /// The batch that already uses `order_id`, if any.
    pub fn used_by(&self, order_id: &str) -> Result<Option<String>> {
        used_by(&self.conn(), order_id).map_err(|e| self.err(e))
    }

    /// Rows and amounts per state (invalid rows included), for the summary.
    pub fn summary(&self, batch_id: &str) -> Result<Summary> {
        let conn = self.conn();
        // Both halves are answered from indexes (attempts_summary, rows_invalid): no table
        // row is read, however large the batch.
        let mut stmt = conn
            .prepare_cached(
                "SELECT state, COUNT(*), COALESCE(SUM(amount_paise), 0) FROM attempts
                 WHERE batch_id = ?1 AND superseded = 0 GROUP BY state
                 UNION ALL
                 SELECT 'invalid', COUNT(*), 0 FROM rows WHERE batch_id = ?1 AND payout IS NULL
                 HAVING COUNT(*) > 0",
            )
            .map_err(|e| self.err(e))?;
        let raw: Vec<(String, i64, i64)> = stmt
            .query_map(params![batch_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut states = raw
            .into_iter()
            .map(|(state, rows, paise)| {
                Ok(StateTotal {
                    state: state.parse().map_err(|m: String| self.corrupt(m))?,
                    rows: rows as u64,
                    paise,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        states.sort_by_key(|s| s.state);
        Ok(Summary { states })
    }

    /// Every sheet row of the batch with its latest attempt, in sheet order.
    pub fn report_rows(&self, batch_id: &str) -> Result<Vec<ReportRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT r.row_no, r.cells, a.amount_paise, r.issues,
                        a.order_id, a.state, a.link_url, a.link_id, a.provider_code,
                        a.provider_message, a.updated_at,
                        (SELECT COUNT(*) FROM attempts c WHERE c.batch_id = r.batch_id AND c.row_no = r.row_no)
                 FROM rows r
                 LEFT JOIN attempts a ON a.batch_id = r.batch_id AND a.row_no = r.row_no
                   AND a.attempt_no = (SELECT MAX(attempt_no) FROM attempts m
                                       WHERE m.batch_id = r.batch_id AND m.row_no = r.row_no)
                 WHERE r.batch_id = ?1 ORDER BY r.row_no",
            )
            .map_err(|e| self.err(e))?;
        let lines = stmt
            .query_map(params![batch_id], |r| {
                let cells: String = r.get(1)?;
                let state: Option<String> = r.get(5)?;
                let bad = |i, e: Box<dyn std::error::Error + Send + Sync>| {
                    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
                };
                Ok(ReportRow {
                    row_no: r.get::<_, i64>(0)? as u64,
                    cells: serde_json::from_str(&cells).map_err(|e| bad(1, e.into()))?,
                    order_id: r.get(4)?,
                    state: match state {
                        Some(s) => s.parse().map_err(|m: String| bad(5, m.into()))?,
                        None => RowState::Invalid,
                    },
                    link_url: r.get(6)?,
                    link_id: r.get(7)?,
                    provider_code: r.get(8)?,
                    provider_message: r.get::<_, Option<String>>(9)?.or(r.get(3)?),
                    attempts: r.get(11)?,
                    updated_at: r.get(10)?,
                    amount_paise: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(lines)
    }
}

pub(super) fn used_by(conn: &Connection, order_id: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT batch_id FROM attempts WHERE order_id = ?1")?
        .query_row(params![order_id], |r| r.get(0))
        .optional()
}
