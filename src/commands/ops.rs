//! The operator's commands after a run: `retry` (re-issue rows whose links can no longer be
//! paid), `settle` (decide rows that need attention), `cancel`, `resend` and `extend` (act
//! on open links), and `events` (the audit trail). Each shows what it will do and its totals, asks unless `--yes`, and records the
//! command in the journal's events.

use super::run::{exit_for, with_attention, Drive, Shown, DEFAULT_RATE};
use super::status::{find, write_report};
use super::{default_report_path, Exit, Global};
use crate::cli::{EventsArgs, RetryArgs, RowsArgs, SettleArgs, SettleOutcome};
use crate::config::Settings;
pub use crate::engine::Operation;
use crate::engine::{Engine, EngineOptions, Outcome};
use crate::journal::{Batch, Journal, Latest, Requeue, RowState, Update};
use crate::money::Amount;
use crate::pacer::{Pacer, Rate};
use crate::payout::LinkState;
use crate::payout::{PayoutRow, ProviderKind};
use crate::progress::Progress;
use crate::provider::{Client, Lookup, Provider};
use crate::report;
use crate::sheet::{Cell, RawRow};
use crate::validate::{ColumnMap, Columns, Rules, Validator, MAX_ORDER_ID};
use anyhow::Context;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// States whose link can never be paid any more: the only ones a retry may re-issue.
const RETRYABLE: [RowState; 5] = [
    RowState::Failed,
    RowState::Expired,
    RowState::Cancelled,
    RowState::Rejected,
    RowState::NotCreated,
];

pub async fn retry(g: &Global, args: RetryArgs) -> anyhow::Result<Exit> {
    if let Some(s) = args.states.iter().find(|s| !RETRYABLE.contains(s)) {
        anyhow::bail!(
            "{s} rows cannot be retried: only failed, expired, cancelled, rejected and not_created rows can, because only their links can no longer be paid"
        );
    }
    let (_lock, journal) = g.lock_existing().await?;
    let batch = find(&journal, &args.rows.batch)?;
    let settings = Settings::load(g.config.as_deref())?;
    let chosen = journal.latest(&batch.id, &args.states, args.rows.rows.as_ref())?;
    if chosen.is_empty() {
        println!("nothing to retry in batch {}", batch.id);
        return Ok(Exit::settled(&journal.summary(&batch.id)?));
    }
    let mut plan = Vec::new();
    for latest in &chosen {
        match next_attempt(&batch, &settings.columns, latest) {
            Ok(requeue) => plan.push((latest, requeue)),
            Err(why) => eprintln!("row {}: not retried: {why}", latest.attempt.row_no),
        }
    }
    if plan.is_empty() {
        return Ok(Exit::Input);
    }
    for (latest, next) in &plan {
        println!(
            "row {:>6}  {:<9} {} -> {}  {:>12}",
            latest.attempt.row_no,
            latest.attempt.state.as_str(),
            latest.attempt.order_id,
            next.order_id,
            next.payout.amount.to_indian()
        );
    }
    let total =
        Amount::from_paise(plan.iter().map(|(_, r)| r.payout.amount.paise()).sum()).to_indian();
    confirm(
        args.rows.yes,
        &format!("re-issue {} rows totalling {total}", plan.len()),
    )?;
    journal.operator(&batch.id, &command_line())?;

    let provider = settings.provider(batch.provider)?;
    let pacer = pacer(args.engine.rate, args.engine.burst);
    let client = Client::new(provider.clone(), &pacer).context("cannot set up the HTTP client")?;
    // The journal says these links cannot be paid; the provider is asked once more before a
    // second link for the same row exists.
    let mut requeue = Vec::new();
    for (latest, next) in plan {
        let attempt = &latest.attempt;
        pacer.ready().await;
        let lookup = match &attempt.link_id {
            Some(link_id) => client.status_of(&attempt.order_id, link_id).await,
            None => client.status(&attempt.order_id).await,
        };
        match lookup {
            Ok(Lookup::Found(info)) if matches!(info.state, LinkState::Paid | LinkState::Open) => {
                eprintln!(
                    "row {}: not retried: the provider now says its link is {:?}",
                    attempt.row_no, info.state
                );
                journal.update(
                    attempt.id,
                    &Update {
                        state: Some(RowState::from(info.state)),
                        info: Some(&info),
                        ..Default::default()
                    },
                )?;
            }
            Ok(_) => requeue.push(next),
            Err(e) => eprintln!(
                "row {}: not retried: cannot confirm its link is settled ({e}); try again later",
                attempt.row_no
            ),
        }
    }
    journal.requeue(&batch.id, &requeue)?;
    eprintln!("{} rows queued as new attempts", requeue.len());
    pay(g, &journal, batch, &provider, &args.engine).await
}

/// The row re-validated against today's rules, as the next attempt with the next order id
/// (`<first order id>R<attempt>`). An expiry that has passed is dropped (the provider's
/// default applies); any other issue keeps the row from being retried.
fn next_attempt(batch: &Batch, map: &ColumnMap, latest: &Latest) -> Result<Requeue, String> {
    let attempt_no = latest.attempt_no + 1;
    let order_id = format!("{}R{attempt_no}", latest.first_order_id);
    if order_id.len() > MAX_ORDER_ID {
        return Err(format!(
            "its next order id {order_id} would be longer than {MAX_ORDER_ID} characters; shorten the row's reference and run it as a new sheet"
        ));
    }
    let columns =
        Columns::mapped(&batch.headers, batch.provider, map).map_err(|e| e.to_string())?;
    let mut validator = Validator::new(
        columns,
        Rules {
            provider: batch.provider,
            today: crate::ist::today(),
            default_comment: Some(latest.payout.comments.clone()),
            batch_key: batch.id.clone(),
        },
    );
    let row = RawRow {
        row_no: latest.attempt.row_no,
        cells: latest.cells.iter().map(|c| Cell::text(c)).collect(),
    };
    let mut payout = match validator.check(&row) {
        Ok(payout) => payout,
        Err(issues) if issues.iter().all(|i| i.code.starts_with("expiry.")) => PayoutRow {
            expiry: None,
            ..latest.payout.clone()
        },
        Err(issues) => {
            let text: Vec<String> = issues.iter().map(|i| i.message.clone()).collect();
            return Err(text.join("; "));
        }
    };
    if payout.amount.paise() != latest.amount_paise {
        return Err("its amount no longer reads the same; pay it from a corrected sheet".into());
    }
    payout.order_id = order_id.clone();
    Ok(Requeue {
        previous: latest.attempt.id,
        row_no: latest.attempt.row_no,
        attempt_no,
        order_id,
        payout,
    })
}

pub async fn operate(g: &Global, args: RowsArgs, op: Operation) -> anyhow::Result<Exit> {
    let (_lock, journal) = g.lock_existing().await?;
    let batch = find(&journal, &args.batch)?;
    match (op, batch.provider) {
        (Operation::Resend, ProviderKind::Payu) => anyhow::bail!(
            "PayU has no resend: it reminds beneficiaries of pending links itself; `payrun extend` gives them more time"
        ),
        (Operation::Extend(_), ProviderKind::Paytm) => anyhow::bail!(
            "Paytm links cannot be extended: let them expire, then `payrun retry` them"
        ),
        _ => {}
    }
    let open = journal.latest(&batch.id, &[RowState::Open], args.rows.as_ref())?;
    if open.is_empty() {
        println!("no open links to {} in batch {}", op.name(), batch.id);
        return Ok(Exit::settled(&journal.summary(&batch.id)?));
    }
    let total = Amount::from_paise(open.iter().map(|l| l.amount_paise).sum()).to_indian();
    confirm(
        args.yes,
        &format!("{} {} open links totalling {total}", op.name(), open.len()),
    )?;
    journal.operator(&batch.id, &command_line())?;
    let settings = Settings::load(g.config.as_deref())?;
    let pacer = pacer(None, None);
    let client = Client::new(settings.provider(batch.provider)?, &pacer)
        .context("cannot set up the HTTP client")?;
    let engine = Engine::new(
        Arc::clone(&journal),
        Arc::new(client),
        pacer,
        EngineOptions::default(),
        CancellationToken::new(),
        Progress::hidden(),
    );
    engine
        .operate(open.into_iter().map(|l| l.attempt).collect(), op)
        .await?;
    let outcome = match engine.stopped() {
        Some(why) => Outcome::ProviderDown(why),
        None => Outcome::Settled,
    };
    finish(g, &journal, &batch, &outcome)
}

/// `payrun settle`: an operator's decision about rows that need attention, after checking
/// the provider's dashboard. Re-sent rows are paid at once, like `retry`.
pub async fn settle(g: &Global, args: SettleArgs) -> anyhow::Result<Exit> {
    let (_lock, journal) = g.lock_existing().await?;
    let batch = find(&journal, &args.rows.batch)?;
    let chosen = journal.latest(&batch.id, &[RowState::Attention], args.rows.rows.as_ref())?;
    if chosen.is_empty() {
        println!("no rows need attention in batch {}", batch.id);
        return Ok(Exit::settled(&journal.summary(&batch.id)?));
    }
    for latest in &chosen {
        println!(
            "row {:>6}  {:<40}  {:>12}",
            latest.attempt.row_no,
            latest.attempt.order_id,
            Amount::from_paise(latest.amount_paise).to_indian()
        );
    }
    let total = Amount::from_paise(chosen.iter().map(|l| l.amount_paise).sum()).to_indian();
    let (what, to, why) = match args.outcome {
        SettleOutcome::Resend => (
            format!("send {} rows totalling {total} again, each with its same order id", chosen.len()),
            RowState::Queued,
            "operator: checked on the provider's dashboard; sent again with the same order id",
        ),
        SettleOutcome::NotCreated => (
            format!("mark {} rows totalling {total} as never created at the provider (free for `payrun retry`)", chosen.len()),
            RowState::NotCreated,
            "operator: checked on the provider's dashboard; no link was created",
        ),
    };
    confirm(args.rows.yes, &what)?;
    journal.operator(&batch.id, &command_line())?;
    let ids: Vec<i64> = chosen.iter().map(|l| l.attempt.id).collect();
    let settled = journal.settle(&batch.id, &ids, to, why)?;
    eprintln!("{settled} rows settled as {to}");
    if to != RowState::Queued {
        return finish(g, &journal, &batch, &Outcome::Settled);
    }
    let settings = Settings::load(g.config.as_deref())?;
    let provider = settings.provider(batch.provider)?;
    pay(g, &journal, batch, &provider, &args.engine).await
}

/// Pays the batch's queued rows like `run` (its report and summary included).
async fn pay(
    g: &Global,
    journal: &Arc<Journal>,
    batch: Batch,
    provider: &crate::provider::ProviderConfig,
    engine: &crate::cli::EngineArgs,
) -> anyhow::Result<Exit> {
    Drive {
        journal,
        providers: &|_| Ok(provider.clone()),
        args: engine,
        default_rate: DEFAULT_RATE,
        report_path: None,
        create: true,
        check_balance: false,
        json: g.json,
    }
    .batches(&[batch])
    .await
}

/// Rewrites the batch's report and prints its summary; the exit code says what is left.
fn finish(g: &Global, journal: &Journal, batch: &Batch, outcome: &Outcome) -> anyhow::Result<Exit> {
    let path = default_report_path(Path::new(&batch.sheet_path));
    let summary = write_report(journal, batch, &path)?;
    journal.checkpoint();
    let open = summary.rows(RowState::Open) > 0;
    let exit = match outcome {
        Outcome::Settled if open => Exit::Incomplete,
        other => exit_for(other, &summary),
    };
    let exit = with_attention(journal, &batch.id, &summary, exit)?;
    Shown::print(
        &[Shown {
            batch: batch.clone(),
            summary,
            report: Some(path),
            exit,
        }],
        g.json,
    )?;
    Ok(exit)
}

pub fn events(g: &Global, args: &EventsArgs) -> anyhow::Result<Exit> {
    let path = g.journal_path(None);
    let journal = super::status::open_existing(&path)?;
    let batch = find(&journal, &args.batch)?;
    let events = journal.events(&batch.id)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(Exit::Success);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id", "at", "row", "order_id", "kind", "from", "to", "detail",
    ])?;
    for e in &events {
        w.write_record([
            e.id.to_string(),
            e.at.clone(),
            e.row_no.map(|n| n.to_string()).unwrap_or_default(),
            e.order_id.clone().unwrap_or_default(),
            e.kind.clone(),
            e.from_state.clone().unwrap_or_default(),
            e.to_state.clone().unwrap_or_default(),
            report::neutralise(e.detail.as_deref().unwrap_or_default()).into_owned(),
        ])?;
    }
    let csv = w.into_inner().context("cannot write the events")?;
    match &args.out {
        // Like a report: owner-only, written whole and renamed, never through a symlink.
        Some(path) => report::write_private(path, &csv)?,
        None => std::io::stdout().lock().write_all(&csv)?,
    }
    Ok(Exit::Success)
}

fn pacer(rate: Option<Rate>, burst: Option<std::num::NonZeroU32>) -> Arc<Pacer> {
    let rate = rate.unwrap_or_else(|| DEFAULT_RATE.parse::<Rate>().expect("default rate parses"));
    Arc::new(Pacer::new(
        rate,
        burst.unwrap_or_else(|| rate.default_burst()),
    ))
}

/// Goes ahead with `yes`; otherwise asks on a terminal, and refuses without one.
fn confirm(yes: bool, what: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("about to {what}; pass --yes to do it without asking");
    }
    eprint!("{what}? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        anyhow::bail!("nothing done")
    }
}

/// The command as typed, for the audit trail (credentials are never flags).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("payrun {}", args.join(" "))
}
