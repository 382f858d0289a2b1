//! Importing a batch: the batch and every sheet row go into the journal in one transaction,
//! streamed row by row, so memory does not grow with the sheet. Dropping the importer
//! before `finish` rolls all of it back: the journal holds the whole sheet or none of it.

use super::read::used_by;
use super::{insert_event, now_rfc3339, Batch, ImportRow, Journal, PayoutRow, Result};
use rusqlite::{params, Connection};
use std::sync::MutexGuard;

/// An import in progress; it holds the journal's connection until it is finished or dropped.
pub struct Importer<'j> {
    journal: &'j Journal,
    conn: MutexGuard<'j, Connection>,
    batch: Batch,
    now: String,
    rows: u64,
    valid: u64,
    total_paise: i64,
    finished: bool,
}

impl Journal {
    /// Starts importing `batch` (its counts are filled in by `finish`).
    pub fn importer(&self, batch: &Batch) -> Result<Importer<'_>> {
        let conn = self.conn();
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        let importer = Importer {
            journal: self,
            conn,
            batch: batch.clone(),
            now: now_rfc3339(),
            rows: 0,
            valid: 0,
            total_paise: 0,
            finished: false,
        };
        importer
            .conn
            .execute(
                "INSERT INTO batches (id, sheet_path, sheet_name, sheet_sha256, provider, headers,
                    created_at, row_count, valid_count, total_paise)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0)",
                params![
                    batch.id,
                    batch.sheet_path,
                    batch.sheet_name,
                    batch.sheet_sha256,
                    batch.provider.as_str(),
                    serde_json::to_string(&batch.headers).unwrap_or_default(),
                    batch.created_at,
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(importer)
    }

    /// Imports a batch and all its rows in one transaction.
    pub fn import(&self, batch: &Batch, rows: &[ImportRow]) -> Result<()> {
        let mut importer = self.importer(batch)?;
        for row in rows {
            let payout = row.payout.as_ref().map_err(|issues| issues.join("; "));
            importer.row(row.row_no, &row.cells, payout)?;
        }
        importer.finish()
    }
}

impl Importer<'_> {
    /// The batch already using `order_id` (this one included), if any.
    pub fn used_by(&self, order_id: &str) -> Result<Option<String>> {
        used_by(&self.conn, order_id).map_err(|e| self.journal.err(e))
    }

    /// Adds one sheet row: its cells as displayed, and the payout or the issues that make
    /// it invalid. A valid row gets attempt 1, queued.
    pub fn row(
        &mut self,
        row_no: u64,
        cells: &[String],
        payout: std::result::Result<&PayoutRow, String>,
    ) -> Result<()> {
        let e = |source| self.journal.err(source);
        let cells = serde_json::to_string(cells).unwrap_or_default();
        let (json, issues) = match &payout {
            Ok(p) => (serde_json::to_string(p).ok(), None),
            Err(issues) => (None, Some(issues.as_str())),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO rows (batch_id, row_no, cells, payout, issues) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![self.batch.id, row_no as i64, cells, json, issues]))
            .map_err(e)?;
        self.rows += 1;
        if let Ok(p) = payout {
            self.conn
                .prepare_cached(
                    "INSERT INTO attempts (batch_id, row_no, attempt_no, order_id, state, amount_paise, updated_at)
                     VALUES (?1, ?2, 1, ?3, 'queued', ?4, ?5)",
                )
                .and_then(|mut s| {
                    s.execute(params![self.batch.id, row_no as i64, p.order_id, p.amount.paise(), self.now])
                })
                .map_err(e)?;
            self.valid += 1;
            self.total_paise += p.amount.paise();
        }
        Ok(())
    }

    /// Records the batch's counts and commits the import.
    pub fn finish(mut self) -> Result<()> {
        let e = |source| self.journal.err(source);
        self.conn
            .execute(
                "UPDATE batches SET row_count = ?2, valid_count = ?3, total_paise = ?4 WHERE id = ?1",
                params![self.batch.id, self.rows as i64, self.valid as i64, self.total_paise],
            )
            .map_err(e)?;
        let detail = format!(
            "{} rows ({} valid) from {}",
            self.rows, self.valid, self.batch.sheet_path
        );
        insert_event(
            &self.conn,
            &self.batch.id,
            None,
            None,
            "import",
            None,
            None,
            &detail,
        )
        .map_err(e)?;
        self.conn.execute_batch("COMMIT").map_err(e)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Importer<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
