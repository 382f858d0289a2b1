//! Progress for a person watching, in rows and money: indicatif bars on a terminal,
//! periodic log lines otherwise. Starts from the batch's journal summary and follows rows
//! as the engine moves them between states; never touches the journal itself. The text of
//! every line comes from plain functions of [`Figures`] and [`Pace`].

use crate::journal::{RowState, Summary};
use crate::money::Amount;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows still before or inside their create: they need a link.
const TO_CREATE: &[RowState] = &[RowState::Queued, RowState::Sending, RowState::Unknown];
/// Settled without paying. A person reads them the same way, money that did not go out;
/// the report names the state of each row.
const FAILED: &[RowState] = &[
    RowState::Failed,
    RowState::Cancelled,
    RowState::Expired,
    RowState::Rejected,
    RowState::NotCreated,
];
/// Log a line every this many rows.
const LOG_EVERY: u64 = 100;

/// Rows and their amount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub rows: u64,
    pub paise: i64,
}

impl Tally {
    fn plus(self, other: Tally) -> Tally {
        Tally {
            rows: self.rows + other.rows,
            paise: self.paise + other.paise,
        }
    }
}

/// Rows and paise per state of one batch, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    by_state: [Tally; RowState::ALL.len()],
}

fn slot(state: RowState) -> usize {
    RowState::ALL
        .iter()
        .position(|s| *s == state)
        .expect("RowState::ALL lists every state")
}

impl Figures {
    pub fn from_summary(summary: &Summary) -> Figures {
        let mut f = Figures::default();
        for s in &summary.states {
            f.by_state[slot(s.state)] = f.by_state[slot(s.state)].plus(Tally {
                rows: s.rows,
                paise: s.paise,
            });
        }
        f
    }

    pub fn get(&self, state: RowState) -> Tally {
        self.by_state[slot(state)]
    }

    fn sum(&self, states: &[RowState]) -> Tally {
        states
            .iter()
            .fold(Tally::default(), |t, s| t.plus(self.get(*s)))
    }

    pub fn paid(&self) -> Tally {
        self.get(RowState::Paid)
    }

    pub fn failed(&self) -> Tally {
        self.sum(FAILED)
    }

    pub fn open(&self) -> Tally {
        self.get(RowState::Open)
    }

    pub fn attention(&self) -> Tally {
        self.get(RowState::Attention)
    }

    pub fn to_create(&self) -> Tally {
        self.sum(TO_CREATE)
    }

    /// Rows payrun works on: every row but the invalid ones.
    pub fn valid_rows(&self) -> u64 {
        RowState::ALL
            .iter()
            .filter(|s| **s != RowState::Invalid)
            .map(|s| self.get(*s).rows)
            .sum()
    }

    /// Rows whose create is behind them: a link exists, or the create was refused.
    pub fn past_create(&self) -> u64 {
        self.valid_rows().saturating_sub(self.to_create().rows)
    }

    pub fn settled_rows(&self) -> u64 {
        RowState::ALL
            .iter()
            .filter(|s| s.is_terminal() && **s != RowState::Invalid)
            .map(|s| self.get(*s).rows)
            .sum()
    }
}

/// This run's create work: requests sent, rows that left the create stage, rows still in
/// it, and the time it took (up to now, or up to the moment the last create finished).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    pub requests: u64,
    pub done: u64,
    pub left: u64,
    pub elapsed: Duration,
}

/// `paid 213 ₹4,12,000.50 · failed 12 ₹9,880.00 · open 15 ₹56,636.69`, and the rows
/// waiting for a person when there are any: they need someone before the batch can end.
pub fn money_line(f: &Figures) -> String {
    let part = |name: &str, t: Tally| {
        format!(
            "{name} {} {}",
            t.rows,
            Amount::from_paise(t.paise).to_indian()
        )
    };
    let mut parts = vec![
        part("paid", f.paid()),
        part("failed", f.failed()),
        part("open", f.open()),
    ];
    if f.attention().rows > 0 {
        parts.push(part("attention", f.attention()));
    }
    parts.join(" · ")
}

/// `12.4 create req/s · eta 1m05s`: create requests actually sent per second, averaged over
/// the run's creating so far (retries count, lookups do not), and the time left at the pace
/// rows have been leaving the create stage. No ETA before a first row is done; nothing at
/// all when this run has nothing to create.
pub fn pace_text(p: &Pace) -> String {
    if p.requests == 0 && p.left == 0 {
        return String::new();
    }
    let ms = p.elapsed.as_millis() as u64;
    let tenths = (p.requests * 10_000).checked_div(ms).unwrap_or(0);
    let mut text = format!("{}.{} create req/s", tenths / 10, tenths % 10);
    if p.left > 0 && p.done > 0 && ms > 0 {
        let secs = (p.left * ms).div_ceil(p.done * 1000);
        text.push_str(&format!(" · eta {}", duration_text(secs)));
    }
    text
}

/// `45s`, `2m05s`, `1h02m`.
pub fn duration_text(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// What follows the created bar: the pace, and the refused creates when there are any
/// (the bar counts them as done; their money is under "failed").
fn created_tail(f: &Figures, p: &Pace) -> String {
    let mut parts = vec![pace_text(p)];
    let refused = f.get(RowState::Rejected).rows;
    if refused > 0 {
        parts.push(format!("{refused} refused"));
    }
    parts.retain(|s| !s.is_empty());
    parts.join(" · ")
}

/// `created 200/240 · 19.8 create req/s · eta 3s`
pub fn created_log_line(f: &Figures, p: &Pace) -> String {
    let mut line = format!("created {}/{}", f.past_create(), f.valid_rows());
    let tail = created_tail(f, p);
    if !tail.is_empty() {
        line.push_str(" · ");
        line.push_str(&tail);
    }
    line
}

/// `settled 200/240 · paid 190 ₹3,80,000.00 · failed 10 ₹9,000.00 · open 40 ₹41,000.00`
pub fn settled_log_line(f: &Figures) -> String {
    format!(
        "settled {}/{} · {}",
        f.settled_rows(),
        f.valid_rows(),
        money_line(f)
    )
}

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    Bars,
    Log,
    Nothing,
}

#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    created: ProgressBar,
    settled: ProgressBar,
    money: ProgressBar,
    show: Show,
    rows: [AtomicI64; RowState::ALL.len()],
    paise: [AtomicI64; RowState::ALL.len()],
    requests: AtomicU64,
    /// Rows of this run that left the create stage.
    done: AtomicU64,
    /// Rows of this run that settled.
    settled_n: AtomicU64,
    started: Instant,
    /// Milliseconds from `started` to the end of creating; `u64::MAX` while it goes on.
    create_ms: AtomicU64,
}

impl Progress {
    /// Starts from the batch as the journal has it, so a resumed batch shows what it has
    /// already paid.
    pub fn new(summary: &Summary) -> Progress {
        Progress::with_target(
            Figures::from_summary(summary),
            if std::io::stderr().is_terminal() {
                Show::Bars
            } else {
                Show::Log
            },
        )
    }

    /// A progress that shows nothing (tests, `--quiet`).
    pub fn hidden() -> Progress {
        Progress::with_target(Figures::default(), Show::Nothing)
    }

    fn with_target(start: Figures, show: Show) -> Progress {
        let multi = MultiProgress::with_draw_target(if show == Show::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let line = ProgressStyle::with_template("{prefix:>8} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = |prefix: &'static str, style: &ProgressStyle| {
            multi.add(
                ProgressBar::new(start.valid_rows())
                    .with_style(style.clone())
                    .with_prefix(prefix),
            )
        };
        let created = bar("created", &style);
        let settled = bar("settled", &style);
        let money = bar("", &line);
        let progress = Progress {
            inner: Arc::new(Inner {
                created,
                settled,
                money,
                show,
                rows: std::array::from_fn(|i| AtomicI64::new(start.by_state[i].rows as i64)),
                paise: std::array::from_fn(|i| AtomicI64::new(start.by_state[i].paise)),
                requests: AtomicU64::new(0),
                done: AtomicU64::new(0),
                settled_n: AtomicU64::new(0),
                started: Instant::now(),
                create_ms: AtomicU64::new(u64::MAX),
            }),
        };
        if show == Show::Bars {
            *drawing() = Some(multi);
        }
        progress.draw();
        progress
    }

    /// The batch now, as far as the moves reported so far tell.
    pub fn figures(&self) -> Figures {
        let i = &self.inner;
        Figures {
            by_state: std::array::from_fn(|n| Tally {
                // A snapshot taken in the middle of a move may see its row nowhere.
                rows: i.rows[n].load(Ordering::Relaxed).max(0) as u64,
                paise: i.paise[n].load(Ordering::Relaxed),
            }),
        }
    }

    pub fn pace(&self) -> Pace {
        let i = &self.inner;
        let frozen = i.create_ms.load(Ordering::Relaxed);
        Pace {
            requests: i.requests.load(Ordering::Relaxed),
            done: i.done.load(Ordering::Relaxed),
            left: self.figures().to_create().rows,
            elapsed: if frozen == u64::MAX {
                i.started.elapsed()
            } else {
                Duration::from_millis(frozen)
            },
        }
    }

    /// One create request went to the provider.
    pub fn request_sent(&self) {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        self.draw();
    }

    /// A row of `amount` moved from state `from` to state `to`.
    pub fn moved(&self, from: RowState, to: RowState, amount: Amount) {
        let i = &self.inner;
        i.rows[slot(from)].fetch_sub(1, Ordering::Relaxed);
        i.paise[slot(from)].fetch_sub(amount.paise(), Ordering::Relaxed);
        i.rows[slot(to)].fetch_add(1, Ordering::Relaxed);
        i.paise[slot(to)].fetch_add(amount.paise(), Ordering::Relaxed);
        if TO_CREATE.contains(&from) && !TO_CREATE.contains(&to) {
            let n = i.done.fetch_add(1, Ordering::Relaxed) + 1;
            let last = self.figures().to_create().rows == 0;
            if last {
                let ms = i.started.elapsed().as_millis() as u64;
                let _ = i.create_ms.compare_exchange(
                    u64::MAX,
                    ms,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            if i.show == Show::Log && (n.is_multiple_of(LOG_EVERY) || last) {
                tracing::info!("{}", created_log_line(&self.figures(), &self.pace()));
            }
        }
        if to.is_terminal() && !from.is_terminal() {
            let n = i.settled_n.fetch_add(1, Ordering::Relaxed) + 1;
            if i.show == Show::Log && n.is_multiple_of(LOG_EVERY) {
                tracing::info!("{}", settled_log_line(&self.figures()));
            }
        }
        self.draw();
    }

    fn draw(&self) {
        let i = &self.inner;
        if i.show != Show::Bars {
            return;
        }
        let f = self.figures();
        let len = f.valid_rows();
        i.created.set_length(len);
        i.created.set_position(f.past_create());
        i.created.set_message(created_tail(&f, &self.pace()));
        i.settled.set_length(len);
        i.settled.set_position(f.settled_rows());
        i.money.set_message(money_line(&f));
    }

    /// Clears the bars; without them, logs where the batch ended.
    pub fn finish(&self) {
        let i = &self.inner;
        if i.show == Show::Log
            && (i.settled_n.load(Ordering::Relaxed) > 0 || i.done.load(Ordering::Relaxed) > 0)
        {
            tracing::info!("{}", settled_log_line(&self.figures()));
        }
        i.created.finish_and_clear();
        i.settled.finish_and_clear();
        i.money.finish_and_clear();
        *drawing() = None;
    }
}

/// The bars on the terminal now, if any.
fn drawing() -> std::sync::MutexGuard<'static, Option<MultiProgress>> {
    static DRAWING: std::sync::Mutex<Option<MultiProgress>> = std::sync::Mutex::new(None);
    DRAWING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `write` (a log line on stderr) with the bars lifted off the terminal and drawn
/// again below it, so a line written during a run never tears through them.
pub fn above_bars<R>(write: impl FnOnce() -> R) -> R {
    match drawing().as_ref() {
        Some(multi) => multi.suspend(write),
        None => write(),
    }
}

#[cfg(test)]
mod tests;
