//! The journal: a SQLite database (WAL) that is the only source of truth about a batch.
//! Every state change is committed here before the engine acts on it; the report is
//! regenerated from it. One connection, behind a mutex that is never held across an await.

mod import;
mod lock;
mod ops;
mod state;

pub use import::Importer;
pub use lock::{JournalLock, LockError};
pub use ops::{Event, Latest, Requeue, RowSet};
pub use state::{Attention, RowState};

use crate::payout::{LinkInfo, PayoutRow, ProviderKind};
use rusqlite::{params, Connection, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

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
        let raw = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raw.into_iter()
            .map(
                |(id, sheet_path, sheet_name, sha, provider, headers, created_at, rc, vc, tp)| {
                    Ok(Batch {
                        provider: ProviderKind::parse(&provider).ok_or_else(|| {
                            self.corrupt(format!("unknown provider '{provider}'"))
                        })?,
                        headers: serde_json::from_str(&headers)
                            .map_err(|e| self.corrupt(format!("batch {id} headers: {e}")))?,
                        id,
                        sheet_path,
                        sheet_name,
                        sheet_sha256: sha,
                        created_at,
                        row_count: rc as u64,
                        valid_count: vc as u64,
                        total_paise: tp,
                    })
                },
            )
            .collect()
    }

    /// The batch that already uses `order_id`, if any.
    pub fn used_by(&self, order_id: &str) -> Result<Option<String>> {
        used_by(&self.conn(), order_id).map_err(|e| self.err(e))
    }

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
    ) -> Result<Vec<Claimed>> {
        let mut conn = self.conn();
        let e = |source| self.err(source);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let now = now_rfc3339();
        let capped: Vec<(i64, String)> = tx
            .prepare_cached(
                "UPDATE attempts SET state = 'attention', attention = 'request-cap', updated_at = ?3
                 WHERE batch_id = ?1 AND state = 'queued' AND next_poll_at IS NULL
                   AND requests >= ?2
                 RETURNING row_no, order_id",
            )
            .map_err(e)?
            .query_map(params![batch_id, max_requests, now], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        for (row_no, order_id) in capped {
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
                    "SELECT a.id, a.row_no, a.order_id, a.link_id, a.polls, a.requests, r.payout
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
        let mut claimed = Vec::with_capacity(picked.len());
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
            claimed.push(Claimed { attempt, row });
        }
        tx.commit().map_err(e)?;
        Ok(claimed)
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
                    provider_status, provider_message, attention FROM attempts {tail}"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let raw: Vec<(Attempt, String)> = stmt
            .query_map(args, |r| {
                let attempt = Attempt {
                    id: r.get(0)?,
                    row_no: r.get::<_, i64>(1)? as u64,
                    order_id: r.get(2)?,
                    state: RowState::Invalid,
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
        let (batch_id, row_no, order_id, current): (String, i64, String, String) = tx
            .query_row(
                "SELECT batch_id, row_no, order_id, state FROM attempts WHERE id = ?1",
                params![attempt_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(e)?;
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

fn used_by(conn: &Connection, order_id: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT batch_id FROM attempts WHERE order_id = ?1")?
        .query_row(params![order_id], |r| r.get(0))
        .optional()
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
mod tests {
    use super::*;
    use crate::money::Amount;
    use crate::payout::LinkState;
    use crate::payout::Notify;

    fn payout(row_no: u64, paise: i64) -> PayoutRow {
        PayoutRow {
            row_no,
            order_id: format!("ORD{row_no}"),
            name: Some("Asha".into()),
            phone: Some("9876543210".into()),
            email: None,
            amount: Amount::from_paise(paise),
            expiry: None,
            notify: Notify::default(),
            comments: "c".into(),
        }
    }

    fn batch(id: &str, rows: u64) -> Batch {
        Batch {
            id: id.into(),
            sheet_path: "s.csv".into(),
            sheet_name: None,
            sheet_sha256: format!("sha-{id}"),
            provider: ProviderKind::Paytm,
            headers: vec!["name".into(), "amount".into()],
            created_at: now_rfc3339(),
            row_count: rows,
            valid_count: rows,
            total_paise: 0,
        }
    }

    fn open() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).unwrap();
        (dir, j)
    }

    fn import(j: &Journal, id: &str) {
        let rows = vec![
            ImportRow {
                row_no: 2,
                cells: vec!["A".into(), "10".into()],
                payout: Ok(payout(2, 1000)),
            },
            ImportRow {
                row_no: 3,
                cells: vec!["B".into(), "x".into()],
                payout: Err(vec!["bad amount".into()]),
            },
            ImportRow {
                row_no: 4,
                cells: vec!["C".into(), "25.5".into()],
                payout: Ok(payout(4, 2550)),
            },
        ];
        j.import(&batch(id, 3), &rows).unwrap();
    }

    fn info(state: LinkState) -> LinkInfo {
        LinkInfo {
            expires_at: None,
            state,
            link_id: Some("L1".into()),
            link_url: Some("https://l/1".into()),
            provider_status: Some("PENDING".into()),
            code: Some("PL_001".into()),
            message: None,
        }
    }

    #[test]
    fn import_then_claim_marks_sending_once() {
        let (_d, j) = open();
        import(&j, "b1");
        assert_eq!(j.batch("b1").unwrap().unwrap().sheet_sha256, "sha-b1");
        let claimed = j.claim("b1", 10, 10, false).unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(|c| c.row.order_id.as_str())
                .collect::<Vec<_>>(),
            ["ORD2", "ORD4"]
        );
        assert_eq!(claimed[0].attempt.requests, 1);
        assert!(
            j.claim("b1", 10, 10, false).unwrap().is_empty(),
            "a sending row is never claimed twice"
        );
        let sending = j.attempts_in("b1", &[RowState::Sending]).unwrap();
        assert_eq!(sending.len(), 2);
    }

    #[test]
    fn requests_are_capped_per_attempt() {
        let (_d, j) = open();
        import(&j, "b1");
        let first = j.claim("b1", 1, 1, false).unwrap();
        j.update(
            first[0].attempt.id,
            &Update {
                state: Some(RowState::Queued),
                ..Default::default()
            },
        )
        .unwrap();
        let next = j.claim("b1", 5, 1, false).unwrap();
        assert_eq!(
            next.iter().map(|c| c.attempt.row_no).collect::<Vec<_>>(),
            [4],
            "row 2 used its one request"
        );
        let capped = j.attempts_in("b1", &[RowState::Attention]).unwrap();
        assert_eq!(
            capped.len(),
            1,
            "a capped row needs a person, it is not left queued"
        );
        assert_eq!(capped[0].row_no, 2);
        assert_eq!(capped[0].attention, Some(Attention::RequestCap));
        // Only rows sent before are re-sent by `poll`.
        let j2 = open();
        import(&j2.1, "b2");
        assert!(j2.1.claim("b2", 5, 10, true).unwrap().is_empty());
    }

    #[test]
    fn terminal_states_do_not_flap_and_summary_counts_amounts() {
        let (_d, j) = open();
        import(&j, "b1");
        let claimed = j.claim("b1", 10, 10, false).unwrap();
        let a = claimed[0].attempt.id;
        assert_eq!(
            j.update(
                a,
                &Update {
                    state: Some(RowState::Paid),
                    info: Some(&info(LinkState::Paid)),
                    ..Default::default()
                }
            )
            .unwrap(),
            RowState::Paid
        );
        assert_eq!(
            j.update(
                a,
                &Update {
                    state: Some(RowState::Open),
                    ..Default::default()
                }
            )
            .unwrap(),
            RowState::Paid
        );
        let s = j.summary("b1").unwrap();
        assert_eq!((s.rows(RowState::Paid), s.paise(RowState::Paid)), (1, 1000));
        assert_eq!(
            (s.rows(RowState::Sending), s.paise(RowState::Sending)),
            (1, 2550)
        );
        assert_eq!(s.rows(RowState::Invalid), 1);
        let lines = j.report_rows("b1").unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].link_id.as_deref(), Some("L1"));
        assert_eq!(lines[1].provider_message.as_deref(), Some("bad amount"));
        let conn = Connection::open(j.path()).unwrap();
        let ignored: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE detail LIKE 'ignored:%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ignored, 1);
        assert!(
            conn.execute("DELETE FROM events", []).is_err(),
            "events are append-only"
        );
    }

    #[test]
    fn order_ids_of_other_batches_are_found_and_import_is_all_or_nothing() {
        let (_d, j) = open();
        import(&j, "b1");
        assert_eq!(j.used_by("ORD2").unwrap().as_deref(), Some("b1"));
        assert_eq!(j.used_by("ORD9").unwrap(), None);
        // Same order ids in a second batch violate uniqueness: nothing of it may remain.
        let rows = vec![ImportRow {
            row_no: 2,
            cells: vec![],
            payout: Ok(payout(2, 1)),
        }];
        assert!(j.import(&batch("b2", 1), &rows).is_err());
        assert!(j.batch("b2").unwrap().is_none());
    }

    #[test]
    fn reopening_keeps_everything_and_newer_schemas_are_refused() {
        let (d, j) = open();
        import(&j, "b1");
        drop(j);
        let path = d.path().join("j.db");
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.batches().unwrap().len(), 1);
        drop(j);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            Journal::open(&path),
            Err(JournalError::TooNew { found: 99, .. })
        ));
    }
}
