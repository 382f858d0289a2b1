//! `payrun run` and `payrun poll`: set up the journal, the provider and the engine, run
//! the batch, then write the report and choose the exit code.

use super::{default_report_path, sheet_options, Exit, Global};
use crate::cli::{EngineArgs, PollArgs, RunArgs};
use crate::config::Settings;
use crate::crashpoint;
use crate::engine::{Engine, EngineOptions, Outcome, PollInterval};
use crate::intake;
use crate::journal::{Batch, Journal, JournalLock, RowState};
use crate::pacer::{Pacer, Rate};
use crate::payout::ProviderKind;
use crate::progress::Progress;
use crate::provider::paytm::PaytmConfig;
use crate::provider::payu::{Credentials, PayuConfig};
use crate::provider::Client;
use crate::provider::ProviderConfig;
use crate::report;
use crate::sandbox::{
    Sandbox, SandboxConfig, SANDBOX_KEY, SANDBOX_MID, SANDBOX_PAYU_CLIENT_ID,
    SANDBOX_PAYU_CLIENT_SECRET, SANDBOX_PAYU_MERCHANT_ID, SANDBOX_SUBWALLET,
};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub(super) const DEFAULT_RATE: &str = "5/s";
const SANDBOX_RATE: &str = "50/s";

pub async fn run(g: &Global, mut args: RunArgs) -> anyhow::Result<Exit> {
    let journal_path = g.journal_path(args.sandbox.then_some(args.sheet.provider));
    let _lock = JournalLock::acquire_within(&journal_path, g.wait_lock).await?;
    let journal = Arc::new(Journal::open(&journal_path)?);
    let sandbox = if args.sandbox {
        let sim = SandboxConfig {
            seed: args.sandbox_seed,
            ..SandboxConfig::fast()
        };
        let sandbox = Sandbox::start(sim, ([127, 0, 0, 1], 0).into())
            .await
            .context("cannot start the built-in simulator")?;
        eprintln!("simulator listening on {}", sandbox.base_url());
        Some(sandbox)
    } else {
        None
    };
    // Settings are checked before anything is imported, so a missing key costs nothing.
    let settings = Settings::load(g.config.as_deref())?;
    let provider = match &sandbox {
        Some(sb) => sandbox_config(sb, args.sheet.provider),
        None => settings.provider(args.sheet.provider)?,
    };
    args.sheet.columns = settings.columns;
    let sheet = sheet_options(&args.sheet);
    let opened = intake::open(&sheet)?;

    // A batch already in the journal was validated when it was imported: resume it
    // without reading the rows again.
    let checks = intake::Checks {
        skip_invalid: args.skip_invalid,
        strict: args.sheet.strict,
        expect: intake::Expect {
            rows: args.expect_rows,
            total: args.expect_total,
            digest: args.expect_digest.clone(),
        },
    };
    let batch = match journal.batch(&opened.batch_id)? {
        Some(batch) => {
            // The rows are not read again; an XLSX reader thread stops with its sheet.
            drop(opened);
            checks.expect.check(
                batch.valid_count,
                crate::money::Amount::from_paise(batch.total_paise),
                None,
            )?;
            eprintln!("resuming batch {} ({})", batch.id, batch.sheet_path);
            batch
        }
        None => {
            let (intake, batch) = intake::import(opened, &sheet, &journal, &checks)?;
            for line in super::warning_lines(&intake, args.sheet.verbose) {
                eprintln!("warning: {line}");
            }
            let Some(batch) = batch else {
                for issue in &intake.issues {
                    eprintln!("{issue}");
                }
                eprintln!("{}: {}", intake.sheet_path.display(), intake.totals_text());
                if intake.invalid_count() > 0 && !args.skip_invalid {
                    eprintln!("nothing was sent: fix the rows above, or pass --skip-invalid to pay only the valid rows");
                } else if intake.valid == 0 {
                    eprintln!(
                        "nothing was sent: {} has no valid payout row below its header",
                        intake.sheet_path.display()
                    );
                } else {
                    eprintln!("nothing was sent: --strict refuses a sheet with warnings; check the rows above");
                }
                return Ok(Exit::Input);
            };
            crashpoint::hit(crashpoint::AFTER_IMPORT);
            eprintln!("batch {}: {}", batch.id, intake.totals_text());
            batch
        }
    };

    let default_rate = if args.sandbox {
        SANDBOX_RATE
    } else {
        DEFAULT_RATE
    };
    let exit = Drive {
        journal: &journal,
        providers: &|_| Ok(provider.clone()),
        args: &args.engine,
        default_rate,
        report_path: args.report.as_deref(),
        create: true,
        check_balance: !args.skip_balance_check,
        json: g.json,
    }
    .batches(&[batch])
    .await?;
    if let Some(sb) = sandbox {
        sb.shutdown().await;
    }
    Ok(exit)
}

pub async fn poll(g: &Global, args: PollArgs) -> anyhow::Result<Exit> {
    let (_lock, journal) = g.lock_existing().await?;
    let settings = Settings::load(g.config.as_deref())?;
    let batches = match &args.batch {
        Some(id) => vec![super::status::find(&journal, id)?],
        None => journal.batches()?,
    };
    Drive {
        journal: &journal,
        providers: &|kind| settings.provider(kind),
        args: &args.engine,
        default_rate: DEFAULT_RATE,
        report_path: None,
        create: false,
        check_balance: false,
        json: g.json,
    }
    .batches(&batches)
    .await
}

/// How to run the engine over batches: with `create`, sending what is queued; always
/// reconciling and polling what is open. Each batch's report is written and its summary
/// printed (text, or one JSON document for all batches with `json`).
pub(super) struct Drive<'a> {
    pub journal: &'a Arc<Journal>,
    pub providers: &'a dyn Fn(ProviderKind) -> Result<ProviderConfig, crate::config::ConfigError>,
    pub args: &'a EngineArgs,
    pub default_rate: &'a str,
    pub report_path: Option<&'a Path>,
    pub create: bool,
    /// Before the first create, check PayU's transferable amount against what the batch
    /// may still pay.
    pub check_balance: bool,
    pub json: bool,
}

impl Drive<'_> {
    /// Runs every batch and returns the most serious exit code.
    pub async fn batches(&self, batches: &[Batch]) -> anyhow::Result<Exit> {
        let Drive {
            journal,
            providers,
            args,
            default_rate,
            report_path,
            create,
            check_balance,
            json,
        } = *self;
        let rate = args
            .rate
            .unwrap_or_else(|| default_rate.parse::<Rate>().expect("default rate parses"));
        let pacer = Arc::new(Pacer::new(
            rate,
            args.burst.unwrap_or_else(|| rate.default_burst()),
        ));
        let stop = CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "interrupted: no new links will be created; finishing the requests in flight"
                );
                on_signal.cancel();
            }
        });
        let opts = EngineOptions {
            concurrency: args.concurrency.into(),
            poll_for: args.poll_for,
            not_found_grace: args.lookup_grace,
            expiry_grace: args.expiry_grace,
            poll_interval: PollInterval {
                first: args.poll_interval,
                longest: EngineOptions::default()
                    .poll_interval
                    .longest
                    .max(args.poll_interval),
            },
            ..EngineOptions::default()
        };
        let mut worst = Exit::Success;
        let mut shown = Vec::new();
        for batch in batches {
            let summary = journal.summary(&batch.id)?;
            let unsettled: u64 = summary
                .states
                .iter()
                .filter(|s| !s.state.is_terminal())
                .map(|s| s.rows)
                .sum();
            if unsettled == 0 && !create {
                // Nothing left to poll: the batch's report stands as written.
                let exit = Exit::settled(&summary);
                worst = worst.max(exit);
                shown.push(Shown {
                    batch: batch.clone(),
                    summary,
                    report: None,
                    exit,
                });
                continue;
            }
            let progress = Progress::new(&summary);
            let client = Client::new(providers(batch.provider)?, &pacer)
                .context("cannot set up the provider's HTTP client")?;
            if let (true, Client::Payu(payu)) = (check_balance, &client) {
                if let Some(exit) = balance_refusal(payu, journal, batch).await? {
                    worst = worst.max(exit);
                    continue;
                }
            }
            let engine = Engine::new(
                Arc::clone(journal),
                Arc::new(client),
                Arc::clone(&pacer),
                opts.clone(),
                stop.clone(),
                progress.clone(),
            );
            let outcome = if create {
                engine.run(&batch.id).await?
            } else {
                engine.poll(&batch.id).await?
            };
            progress.finish();
            let path = report_path
                .map(Path::to_path_buf)
                .unwrap_or_else(|| default_report_path(Path::new(&batch.sheet_path)));
            let summary = super::status::write_report(journal, batch, &path)?;
            let exit = with_attention(journal, &batch.id, &summary, exit_for(&outcome, &summary))?;
            worst = worst.max(exit);
            shown.push(Shown {
                batch: batch.clone(),
                summary,
                report: Some(path),
                exit,
            });
            if stop.is_cancelled() || exit == Exit::ProviderDown {
                break;
            }
        }
        journal.checkpoint();
        Shown::print(&shown, json)?;
        Ok(worst)
    }
}

/// What a command says about one batch at its end.
pub(super) struct Shown {
    pub batch: Batch,
    pub summary: crate::journal::Summary,
    /// The report written, if any.
    pub report: Option<std::path::PathBuf>,
    pub exit: Exit,
}

impl Shown {
    /// The batches' summaries on stdout: text, or one JSON array for schedulers.
    pub fn print(all: &[Shown], json: bool) -> anyhow::Result<()> {
        if json {
            let docs: Vec<_> = all
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "batch": s.batch,
                        "summary": s.summary,
                        "report": s.report,
                        "exit": s.exit as u8,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&docs)?);
            return Ok(());
        }
        for s in all {
            println!("{}", super::status::heading(&s.batch));
            print!("{}", report::summary_text(&s.summary));
            if let Some(path) = &s.report {
                println!("report: {}", path.display());
            }
        }
        Ok(())
    }
}

/// `exit`, unless rows of the batch need a person: then those rows are listed on stderr
/// with their reasons, and the code says so (a provider that is down still comes first).
pub(super) fn with_attention(
    journal: &Journal,
    batch_id: &str,
    summary: &crate::journal::Summary,
    exit: Exit,
) -> anyhow::Result<Exit> {
    if exit == Exit::ProviderDown || summary.rows(RowState::Attention) == 0 {
        return Ok(exit);
    }
    let rows = journal.attempts_in(batch_id, &[RowState::Attention])?;
    eprintln!(
        "{} rows need attention (payrun sends nothing more for them):",
        rows.len()
    );
    for a in &rows {
        let why = a.attention.map_or("", |w| w.advice());
        let said = a.message.as_deref().unwrap_or_default();
        eprintln!(
            "  row {} (order id {}): {why}; {said}",
            a.row_no, a.order_id
        );
    }
    eprintln!("after checking them, settle them with `payrun settle {batch_id} --rows ROWS --outcome resend|not-created`");
    Ok(Exit::Attention)
}

/// The exit code for a batch the engine left in `outcome`, saying why on stderr.
pub(super) fn exit_for(outcome: &Outcome, summary: &crate::journal::Summary) -> Exit {
    match outcome {
        Outcome::ProviderDown(why) => {
            eprintln!("stopped: {}", crate::redact::mask_contacts(why));
            Exit::ProviderDown
        }
        Outcome::Incomplete => {
            eprintln!(
                "links are still open or rows unresolved; run `payrun poll` later to follow them"
            );
            Exit::Incomplete
        }
        Outcome::Settled => Exit::settled(summary),
    }
}

/// Before any create: PayU's transferable amount must cover what the batch may still pay
/// (queued, sent or open rows). `Some(exit)` stops the run, nothing sent. Where Get Account
/// Details is not served, or cannot be asked now, the run goes on with a warning.
async fn balance_refusal(
    client: &crate::provider::payu::PayuClient,
    journal: &Journal,
    batch: &Batch,
) -> anyhow::Result<Option<Exit>> {
    let summary = journal.summary(&batch.id)?;
    let unpaid: i64 = [
        RowState::Queued,
        RowState::Sending,
        RowState::Unknown,
        RowState::Open,
        RowState::Attention,
    ]
    .into_iter()
    .map(|s| summary.paise(s))
    .sum();
    if unpaid == 0 {
        return Ok(None);
    }
    let unpaid = crate::money::Amount::from_paise(unpaid);
    match client.account().await {
        Ok(Some(account)) if account.transferable < unpaid => {
            eprintln!(
                "nothing was sent: PayU's transferable amount is {} but this batch may still pay {} (balance {}); add funds, or pass --skip-balance-check",
                account.transferable.to_indian(),
                unpaid.to_indian(),
                account.balance.to_indian()
            );
            Ok(Some(Exit::Input))
        }
        Ok(Some(account)) => {
            eprintln!(
                "PayU transferable amount {} covers the {} this batch may still pay",
                account.transferable.to_indian(),
                unpaid.to_indian()
            );
            Ok(None)
        }
        Ok(None) => {
            eprintln!("warning: PayU does not serve Get Account Details here (404): the balance is not checked");
            Ok(None)
        }
        Err(crate::provider::ProviderError::Fatal { code, message }) => {
            eprintln!("stopped before sending anything: PayU refused ({code}): {message}");
            Ok(Some(Exit::ProviderDown))
        }
        Err(e) => {
            eprintln!("warning: cannot check PayU's balance now ({e}); going on");
            Ok(None)
        }
    }
}

/// The built-in simulator's account for `provider`.
fn sandbox_config(sandbox: &Sandbox, provider: ProviderKind) -> ProviderConfig {
    let timeout = std::time::Duration::from_secs(10);
    match provider {
        ProviderKind::Paytm => ProviderConfig::Paytm(PaytmConfig {
            mid: SANDBOX_MID.into(),
            merchant_key: SANDBOX_KEY.into(),
            subwallet_guid: SANDBOX_SUBWALLET.into(),
            base_url: sandbox.base_url(),
            timeout,
        }),
        ProviderKind::Payu => ProviderConfig::Payu(PayuConfig {
            credentials: Credentials::Client {
                client_id: SANDBOX_PAYU_CLIENT_ID.into(),
                client_secret: SANDBOX_PAYU_CLIENT_SECRET.into(),
            },
            merchant_id: SANDBOX_PAYU_MERCHANT_ID.into(),
            auth_url: sandbox.base_url(),
            base_url: sandbox.base_url(),
            timeout,
            disable_approval: false,
        }),
    }
}
