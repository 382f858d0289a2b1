//! Progress for a person watching: indicatif bars on a terminal, periodic log lines
//! otherwise. Counts rows as they move between states; never touches the journal.

use crate::journal::RowState;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    created: ProgressBar,
    settled: ProgressBar,
    bars: bool,
    created_n: AtomicU64,
    settled_n: AtomicU64,
    total: u64,
}

impl Progress {
    /// `to_send` rows still need a link, `to_settle` rows still need a final state.
    pub fn new(to_send: u64, to_settle: u64) -> Progress {
        let bars = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let style = ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let created = multi.add(
            ProgressBar::new(to_send)
                .with_style(style.clone())
                .with_prefix("created"),
        );
        let settled = multi.add(
            ProgressBar::new(to_settle)
                .with_style(style)
                .with_prefix("settled"),
        );
        Progress {
            inner: Arc::new(Inner {
                created,
                settled,
                bars,
                created_n: AtomicU64::new(0),
                settled_n: AtomicU64::new(0),
                total: to_settle,
            }),
        }
    }

    /// A progress that shows nothing (tests, `--quiet`).
    pub fn hidden() -> Progress {
        let p = Progress::new(0, 0);
        p.inner
            .created
            .set_draw_target(ProgressDrawTarget::hidden());
        p.inner
            .settled
            .set_draw_target(ProgressDrawTarget::hidden());
        p
    }

    pub fn moved(&self, from: RowState, to: RowState) {
        let i = &self.inner;
        let was_sent = matches!(
            from,
            RowState::Queued | RowState::Sending | RowState::Unknown
        );
        if was_sent && (to == RowState::Open || to.is_terminal()) {
            i.created.inc(1);
            let n = i.created_n.fetch_add(1, Ordering::Relaxed) + 1;
            if !i.bars && n.is_multiple_of(100) {
                tracing::info!("created {n} links");
            }
        }
        if to.is_terminal() && !from.is_terminal() {
            i.settled.inc(1);
            let n = i.settled_n.fetch_add(1, Ordering::Relaxed) + 1;
            if !i.bars && (n.is_multiple_of(100) || n == i.total) {
                tracing::info!("settled {n}/{} rows", i.total);
            }
        }
    }

    pub fn finish(&self) {
        self.inner.created.finish_and_clear();
        self.inner.settled.finish_and_clear();
    }
}
