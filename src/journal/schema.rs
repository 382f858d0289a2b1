//! The journal's schema and how a file becomes a journal: the SQL of each schema version,
//! migration in place to the newest, and opening (creating the file private to its owner).

use super::{Journal, JournalError, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA_VERSION: i32 = 3;

const SCHEMA_V1: &str = "
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    sheet_path   TEXT NOT NULL,
    sheet_name   TEXT,
    sheet_sha256 TEXT NOT NULL,
    provider     TEXT NOT NULL,
    headers      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    row_count    INTEGER NOT NULL,
    valid_count  INTEGER NOT NULL,
    total_paise  INTEGER NOT NULL
);
CREATE TABLE rows (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    row_no   INTEGER NOT NULL,
    cells    TEXT NOT NULL,
    payout   TEXT,
    issues   TEXT,
    PRIMARY KEY (batch_id, row_no)
);
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    batch_id         TEXT NOT NULL,
    row_no           INTEGER NOT NULL,
    attempt_no       INTEGER NOT NULL,
    order_id         TEXT NOT NULL UNIQUE,
    state            TEXT NOT NULL,
    link_id          TEXT,
    link_url         TEXT,
    provider_status  TEXT,
    provider_code    TEXT,
    provider_message TEXT,
    amount_paise     INTEGER NOT NULL,
    -- 1 once a later attempt of the same row exists (a retry): only the latest counts.
    superseded       INTEGER NOT NULL DEFAULT 0,
    requests         INTEGER NOT NULL DEFAULT 0,
    polls            INTEGER NOT NULL DEFAULT 0,
    next_poll_at     INTEGER,
    updated_at       TEXT NOT NULL,
    UNIQUE (batch_id, row_no, attempt_no),
    FOREIGN KEY (batch_id, row_no) REFERENCES rows(batch_id, row_no)
);
CREATE INDEX attempts_by_state ON attempts (batch_id, state, next_poll_at);
CREATE INDEX attempts_summary ON attempts (batch_id, superseded, state, amount_paise);
CREATE INDEX rows_invalid ON rows (batch_id) WHERE payout IS NULL;
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    batch_id   TEXT,
    row_no     INTEGER,
    order_id   TEXT,
    kind       TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT
);
CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_d BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
";

/// v2: when each link expires, as the provider said (Unix milliseconds).
const SCHEMA_V2: &str = "ALTER TABLE attempts ADD COLUMN expires_at INTEGER;";

/// v3: why a row in state `attention` needs a person (`Attention::as_str`).
const SCHEMA_V3: &str = "ALTER TABLE attempts ADD COLUMN attention TEXT;";

/// Creates `path` with mode 0600 unless it exists: the journal holds every beneficiary's
/// name, phone and amount, and SQLite would create it under the process's umask.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Journal {
    /// Opens (creating if needed) and migrates the journal at `path`. A new journal is
    /// created readable by its owner only; SQLite gives its `-wal` and `-shm` files the same
    /// mode.
    pub fn open(path: &Path) -> Result<Journal> {
        let err = |source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        create_private(path).map_err(|source| JournalError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        // FULL: a committed `sending` intent survives power loss, not just a process crash.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        // 32 MiB of page cache (the default is 2): a million-row import keeps its indexes
        // in memory instead of re-reading pages it just wrote.
        conn.pragma_update(None, "cache_size", -32_768)
            .map_err(err)?;
        let journal = Journal {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        };
        journal.migrate()?;
        Ok(journal)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn();
        let version: i32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(JournalError::TooNew {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        for (to, sql) in [(1, SCHEMA_V1), (2, SCHEMA_V2), (3, SCHEMA_V3)] {
            if version < to {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| self.err(e))?;
                tx.execute_batch(sql).map_err(|e| self.err(e))?;
                tx.pragma_update(None, "user_version", to)
                    .map_err(|e| self.err(e))?;
                tx.commit().map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }
}
