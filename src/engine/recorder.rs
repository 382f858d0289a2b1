//! Group commit for what the provider answered. Answers from many in-flight requests are
//! queued to one writer thread, which commits every answer waiting at that moment in one
//! transaction: one disk sync for many rows. Each sender waits for its own commit before it
//! acts further on that row. (Intents are not batched here: `claim` commits them before any
//! request leaves. An answer lost to a crash before its commit is recovered by reconciling
//! the still-`sending` row.)

use crate::journal::{Attention, Journal, JournalError, RowState, Update};
use crate::payout::LinkInfo;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most answers committed in one transaction.
const MAX_GROUP: usize = 256;

/// An `Update` that owns its data, to cross to the writer thread.
#[derive(Debug, Default)]
struct Owned {
    state: Option<RowState>,
    info: Option<LinkInfo>,
    code: Option<String>,
    message: Option<String>,
    next_poll_at: Option<i64>,
    count_poll: bool,
    attention: Option<Attention>,
}

impl Owned {
    fn from(u: &Update<'_>) -> Owned {
        Owned {
            state: u.state,
            info: u.info.cloned(),
            code: u.code.map(str::to_string),
            message: u.message.map(str::to_string),
            next_poll_at: u.next_poll_at,
            count_poll: u.count_poll,
            attention: u.attention,
        }
    }

    fn as_update(&self) -> Update<'_> {
        Update {
            state: self.state,
            info: self.info.as_ref(),
            code: self.code.as_deref(),
            message: self.message.as_deref(),
            next_poll_at: self.next_poll_at,
            count_poll: self.count_poll,
            attention: self.attention,
        }
    }
}

struct Job {
    attempt_id: i64,
    update: Owned,
    reply: oneshot::Sender<Result<RowState, JournalError>>,
}

pub(super) struct Recorder {
    /// `None`: no writer thread, each update commits in the calling task.
    jobs: Option<mpsc::UnboundedSender<Job>>,
    journal: Arc<Journal>,
}

impl Recorder {
    /// With `group_commit`, starts the writer thread; it ends when the recorder is dropped.
    pub(super) fn new(journal: Arc<Journal>, group_commit: bool) -> Recorder {
        if !group_commit {
            return Recorder {
                jobs: None,
                journal,
            };
        }
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let writer = Arc::clone(&journal);
        std::thread::Builder::new()
            .name("payrun-journal".into())
            .spawn(move || {
                while let Some(first) = queue.blocking_recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match queue.try_recv() {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    commit(&writer, group);
                }
            })
            .expect("spawn the journal writer thread");
        Recorder {
            jobs: Some(jobs),
            journal,
        }
    }

    /// Journals one update and waits until it is committed.
    pub(super) async fn record(
        &self,
        attempt_id: i64,
        update: &Update<'_>,
    ) -> Result<RowState, JournalError> {
        let Some(jobs) = &self.jobs else {
            return self.journal.update(attempt_id, update);
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            attempt_id,
            update: Owned::from(update),
            reply,
        };
        if jobs.send(job).is_err() {
            // The writer is gone (it only stops when the recorder drops): write directly.
            return self.journal.update(attempt_id, update);
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => self.journal.update(attempt_id, update),
        }
    }
}

fn commit(journal: &Journal, group: Vec<Job>) {
    let updates: Vec<(i64, Update<'_>)> = group
        .iter()
        .map(|j| (j.attempt_id, j.update.as_update()))
        .collect();
    match journal.update_many(&updates) {
        Ok(states) => {
            drop(updates);
            for (job, state) in group.into_iter().zip(states) {
                let _ = job.reply.send(Ok(state));
            }
        }
        Err(_) => {
            // One bad update must not fail its neighbours: retry each alone for its own answer.
            drop(updates);
            for job in group {
                let result = journal.update(job.attempt_id, &job.update.as_update());
                let _ = job.reply.send(result);
            }
        }
    }
}
