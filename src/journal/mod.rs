//! The journal: a SQLite database (WAL) that is the only source of truth about a batch.
//! Every state change is committed here before the engine acts on it; the report is
//! regenerated from it. One connection, behind a mutex that is never held across an await.
//!
//! This file owns the handle, its errors, the types every part shares and the event
//! writer; the schema, the engine's queries, the report's reads, import and operator
//! actions live in their own files.

mod attempts;
mod import;
mod lock;
mod ops;
mod read;
mod schema;
mod state;

pub use attempts::{Claim, Claimed, Update};
pub use import::Importer;
pub use lock::{JournalLock, LockError};
pub use ops::{Event, Latest, Requeue, RowSet};
pub use read::{ReportRow, StateTotal, Summary};
pub use state::{Attention, RowState};

use crate::payout::{PayoutRow, ProviderKind};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("journal {path} was written by a newer payrun (schema {found}, this payrun knows {known}); upgrade payrun")]
    TooNew {
        path: PathBuf,
        found: i32,
        known: i32,
    },
    #[error("journal {path}: stored data is damaged: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot create the journal {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.checkpoint();
    }
}

type Result<T> = std::result::Result<T, JournalError>;

/// A batch: one sheet paid through one provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Batch {
    pub id: String,
    pub sheet_path: String,
    pub sheet_name: Option<String>,
    pub sheet_sha256: String,
    pub provider: ProviderKind,
    pub headers: Vec<String>,
    pub created_at: String,
    pub row_count: u64,
    pub valid_count: u64,
    pub total_paise: i64,
}

/// One sheet row to import: its cells as displayed, and the validation outcome.
pub struct ImportRow {
    pub row_no: u64,
    pub cells: Vec<String>,
    pub payout: std::result::Result<PayoutRow, Vec<String>>,
}

/// An attempt the engine works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: i64,
    pub row_no: u64,
    pub order_id: String,
    pub state: RowState,
    /// The attempt's amount, as its row was imported.
    pub amount: crate::money::Amount,
    pub link_id: Option<String>,
    pub polls: u32,
    pub requests: u32,
    /// When the link expires (Unix milliseconds), once the provider said.
    pub expires_at: Option<i64>,
    /// The provider's last status name for the link.
    pub provider_status: Option<String>,
    /// The provider's (or payrun's) last message about the attempt.
    pub message: Option<String>,
    /// Why the row needs a person, in state `attention`.
    pub attention: Option<Attention>,
}

pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Journal {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves everything from the write-ahead log into the database file, so `payrun.db`
    /// alone holds the whole journal (a copy of it is a backup). Commands call it when
    /// their work is done; dropping the journal does too. A reader in another process keeps
    /// part of the log; nothing is lost either way.
    pub fn checkpoint(&self) {
        let _ = self
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back), so a poisoned mutex is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, message: impl Into<String>) -> JournalError {
        JournalError::Corrupt {
            path: self.path.clone(),
            message: message.into(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_event(
    conn: &Connection,
    batch_id: &str,
    row_no: Option<u64>,
    order_id: Option<&str>,
    kind: &str,
    from: Option<RowState>,
    to: Option<RowState>,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (at, batch_id, row_no, order_id, kind, from_state, to_state, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now_rfc3339(),
        batch_id,
        row_no.map(|n| n as i64),
        order_id,
        kind,
        from.map(RowState::as_str),
        to.map(RowState::as_str),
        // Provider messages can quote a phone or an e-mail: the trail keeps them masked.
        crate::redact::mask_contacts(detail),
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests;
