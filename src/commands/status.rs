//! `payrun status` and `payrun report`: read-only views of the journal. No network.

use super::{default_report_path, Exit, Global};
use crate::cli::{ReportArgs, StatusArgs};
use crate::journal::{Batch, Journal, JournalError, RowState, Summary};
use crate::money::Amount;
use crate::report;
use anyhow::Context;
use std::path::Path;

pub fn status(g: &Global, args: &StatusArgs) -> anyhow::Result<Exit> {
    let journal_path = &g.journal_path(None);
    let journal = open_existing(journal_path)?;
    let batches = match &args.batch {
        Some(id) => vec![find(&journal, id)?],
        None => journal.batches()?,
    };
    let mut views = Vec::new();
    for batch in batches {
        let summary = journal.summary(&batch.id)?;
        let next_poll = journal.next_poll_at(&batch.id)?.map(rfc3339_ms);
        views.push((batch, summary, next_poll));
    }
    if g.json {
        let json: Vec<_> = views
            .iter()
            .map(|(b, s, next)| {
                serde_json::json!({
                    "batch": b,
                    "summary": s,
                    "open_links": s.rows(RowState::Open),
                    "next_poll_at": next,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(Exit::Success);
    }
    if views.is_empty() {
        println!("no batches in {}", journal_path.display());
    }
    for (batch, summary, next_poll) in &views {
        println!("{}", heading(batch));
        print!("{}", report::summary_text(summary));
        if let Some(next) = next_poll {
            println!(
                "open links: {}  next poll due: {next}",
                summary.rows(RowState::Open)
            );
        }
        if args.batch.is_some() {
            print_rows(&journal, batch)?;
        }
        println!();
    }
    Ok(Exit::Success)
}

fn print_rows(journal: &Journal, batch: &Batch) -> Result<(), JournalError> {
    let lines = journal.report_rows(&batch.id)?;
    for state in RowState::ALL {
        let rows: Vec<_> = lines.iter().filter(|l| l.state == state).collect();
        if rows.is_empty() {
            continue;
        }
        println!("{state}:");
        for l in rows {
            println!(
                "  row {:>6}  {:<40}  {:>12}  {}",
                l.row_no,
                l.order_id.as_deref().unwrap_or("-"),
                Amount::from_paise(l.amount_paise.unwrap_or(0)).to_indian(),
                l.provider_message.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

pub fn report(journal_path: &Path, args: &ReportArgs) -> anyhow::Result<Exit> {
    let journal = open_existing(journal_path)?;
    let batch = find(&journal, &args.batch)?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| default_report_path(Path::new(&batch.sheet_path)));
    let summary = write_report(&journal, &batch, &path)?;
    println!("{}", heading(&batch));
    print!("{}", report::summary_text(&summary));
    println!("report: {}", path.display());
    Ok(Exit::Success)
}

/// One line naming a batch: id, provider, when it was imported, from which sheet.
pub fn heading(batch: &Batch) -> String {
    format!(
        "batch {}  provider {}  created {}  sheet {}",
        batch.id,
        batch.provider.as_str(),
        batch.created_at,
        batch.sheet_path
    )
}

/// Writes a batch's report from the journal and returns its summary.
pub fn write_report(journal: &Journal, batch: &Batch, path: &Path) -> anyhow::Result<Summary> {
    let rows = journal.report_rows(&batch.id)?;
    let summary = journal.summary(&batch.id)?;
    report::write(path, &batch.headers, &rows, &summary)?;
    Ok(summary)
}

pub(super) fn open_existing(path: &Path) -> anyhow::Result<Journal> {
    if !path.exists() {
        anyhow::bail!(
            "journal {} does not exist; pass --journal PATH",
            path.display()
        );
    }
    Ok(Journal::open(path)?)
}

/// Unix milliseconds as an RFC 3339 UTC time.
fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub(super) fn find(journal: &Journal, id: &str) -> anyhow::Result<Batch> {
    journal.batch(id)?.with_context(|| {
        format!(
            "no batch {id} in {}; `payrun status` lists the batches",
            journal.path().display()
        )
    })
}
