//! One function per subcommand, returning the exit code. This is the edge: errors from the
//! modules arrive here as typed errors and leave as `anyhow` with context for a person.

mod doctor;
mod init;
mod ops;
mod run;
mod status;
mod template;

use crate::cli::{Cli, Command, SandboxArgs, SheetArgs, ValidateArgs};
use crate::intake::{self, SheetOptions};
use crate::journal::{Journal, JournalLock, RowState, Summary};
use crate::payout::ProviderKind;
use crate::sandbox::{self, SandboxConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit codes for schedulers (README, `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what it was asked; for `run` and `poll`: every row paid.
    Success = 0,
    /// 1: `run`/`poll` finished with rows not paid; `validate` found rows it would not send.
    SomeUnpaid = 1,
    Input = 2,
    Incomplete = 3,
    ProviderDown = 4,
    /// Rows need a person (`payrun status BATCH` lists them); other rows may still be open.
    Attention = 5,
}

impl Exit {
    /// Which of two batches' codes a command reports: the provider being down first, then
    /// rows a person must settle, then work still in progress.
    fn severity(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::SomeUnpaid => 1,
            Exit::Input => 2,
            Exit::Incomplete => 3,
            Exit::Attention => 4,
            Exit::ProviderDown => 5,
        }
    }
}

impl PartialOrd for Exit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

impl Exit {
    /// The code for a batch that ran to its end: `Success` when every row is paid, else
    /// `SomeUnpaid`.
    pub fn settled(summary: &Summary) -> Exit {
        if summary.rows(RowState::Paid) == summary.total_rows() {
            Exit::Success
        } else {
            Exit::SomeUnpaid
        }
    }
}

/// The options every command shares.
pub struct Global {
    pub journal: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub json: bool,
    pub wait_lock: Duration,
}

impl Global {
    fn journal_path(&self, sandbox: Option<ProviderKind>) -> PathBuf {
        journal_path(self.journal.clone(), sandbox)
    }

    /// An existing journal, opened under its lock (waiting up to `--wait-lock`).
    async fn lock_existing(&self) -> anyhow::Result<(JournalLock, Arc<Journal>)> {
        let path = self.journal_path(None);
        if !path.exists() {
            anyhow::bail!(
                "journal {} does not exist; run a sheet first, or pass --journal",
                path.display()
            );
        }
        let lock = JournalLock::acquire_within(&path, self.wait_lock).await?;
        Ok((lock, Arc::new(Journal::open(&path)?)))
    }
}

pub async fn execute(cli: Cli) -> anyhow::Result<Exit> {
    let g = Global {
        journal: cli.journal.clone(),
        config: cli.config.clone(),
        json: cli.json,
        wait_lock: cli.wait_lock,
    };
    match cli.command {
        Command::Template(args) => template::template(&args),
        Command::Validate(mut args) => {
            args.sheet.columns = crate::config::Settings::load(g.config.as_deref())?.columns;
            validate(g.journal.as_deref(), &args)
        }
        Command::Run(args) => run::run(&g, args).await,
        Command::Poll(args) => run::poll(&g, args).await,
        Command::Status(args) => status::status(&g, &args),
        Command::Report(args) => status::report(&g.journal_path(None), &args),
        Command::Retry(args) => ops::retry(&g, args).await,
        Command::Cancel(args) => ops::operate(&g, args, ops::Operation::Cancel).await,
        Command::Resend(args) => ops::operate(&g, args, ops::Operation::Resend).await,
        Command::Extend(args) => {
            ops::operate(&g, args.rows, ops::Operation::Extend(args.until)).await
        }
        Command::Events(args) => ops::events(&g, &args),
        Command::Settle(args) => ops::settle(&g, args).await,
        Command::Doctor(args) => doctor::doctor(&g, &args).await,
        Command::Init(args) => init::init(&g, &args),
        Command::Man(args) => man(args.dir.as_deref()),
        Command::Completions(args) => {
            let mut cli = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cli, "payrun", &mut std::io::stdout());
            Ok(Exit::Success)
        }
        Command::Sandbox(args) => serve_sandbox(&args).await,
    }
}

/// The journal to use: the one given, else `payrun.db`. Simulator runs (`sandbox` names
/// the simulated provider) use `payrun-sandbox.db` or `payrun-sandbox-payu.db`, so practice
/// batches never mix with real ones, nor one provider's practice with the other's (the
/// same sample's references would count as used by the other batch, as they must for real
/// batches).
pub fn journal_path(given: Option<PathBuf>, sandbox: Option<ProviderKind>) -> PathBuf {
    given.unwrap_or_else(|| {
        PathBuf::from(match sandbox {
            None => "payrun.db",
            Some(ProviderKind::Paytm) => "payrun-sandbox.db",
            Some(ProviderKind::Payu) => "payrun-sandbox-payu.db",
        })
    })
}

/// What intake needs of the sheet flags (`--strict` is the command's to apply).
fn sheet_options(args: &SheetArgs) -> SheetOptions {
    SheetOptions {
        sheet: args.sheet.clone(),
        sheet_name: args.sheet_name.clone(),
        provider: args.provider,
        comment: args.comment.clone(),
        columns: args.columns.clone(),
    }
}

/// The manual: one page on stdout, or every page (one per subcommand) into `dir`.
fn man(dir: Option<&Path>) -> anyhow::Result<Exit> {
    let cli = <Cli as clap::CommandFactory>::command();
    match dir {
        None => clap_mangen::Man::new(cli).render(&mut std::io::stdout())?,
        Some(dir) => {
            clap_mangen::generate_to(cli, dir).map_err(|e| {
                anyhow::anyhow!("cannot write the manual pages into {}: {e}", dir.display())
            })?;
            println!(
                "wrote payrun.1 and a page per subcommand into {}",
                dir.display()
            );
        }
    }
    Ok(Exit::Success)
}

/// The sheet's warnings as printed: one line per kind, or with `--verbose` one per row.
fn warning_lines(intake: &intake::Intake, verbose: bool) -> Vec<String> {
    if verbose {
        intake.warnings.iter().map(ToString::to_string).collect()
    } else {
        intake
            .warning_groups
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

/// Default report: `<sheet>.report.csv` beside the sheet.
pub fn default_report_path(sheet: &Path) -> PathBuf {
    sheet.with_extension("report.csv")
}

fn validate(journal: Option<&Path>, args: &ValidateArgs) -> anyhow::Result<Exit> {
    // Validation never creates a journal; it only consults an existing one.
    let path = journal_path(journal.map(Path::to_path_buf), None);
    let journal = if path.exists() {
        Some(Journal::open(&path)?)
    } else {
        None
    };
    let intake = intake::validate(&sheet_options(&args.sheet), journal.as_ref())?;
    for issue in &intake.issues {
        println!("{issue}");
    }
    for line in warning_lines(&intake, args.sheet.verbose) {
        println!("warning: {line}");
    }
    if intake.rows == 0 {
        println!(
            "{}: no payout rows below the header; fill in one row per payee, then validate again",
            intake.sheet_path.display()
        );
    }
    println!("{}: {}", intake.sheet_path.display(), intake.totals_text());
    if let Some(path) = &args.errors {
        let mut headers = intake.headers.clone();
        headers.push("error".into());
        let rows: Vec<Vec<String>> = intake
            .invalid_rows
            .iter()
            .map(|r| r.cells.iter().cloned().chain([r.error.clone()]).collect())
            .collect();
        crate::report::write_table(path, &headers, &rows)?;
        println!("{} invalid rows written to {}", rows.len(), path.display());
    }
    if intake.rows == 0 {
        return Ok(Exit::Input);
    }
    let blocked = args.sheet.strict && !intake.warnings.is_empty();
    Ok(if intake.invalid_count() == 0 && !blocked {
        Exit::Success
    } else {
        Exit::SomeUnpaid
    })
}

async fn serve_sandbox(args: &SandboxArgs) -> anyhow::Result<Exit> {
    let base = if args.fast {
        SandboxConfig::fast()
    } else {
        SandboxConfig::default()
    };
    let config = SandboxConfig {
        seed: args.seed,
        latency: args.latency,
        rate_limit: args.rate_limit,
        error_rate: args.error_rate,
        lost_answer_rate: args.lost_answer_rate,
        token_ttl: args.token_ttl,
        approval: args.approval,
        payu_balance_paise: args.balance.paise(),
        ..base
    }
    .with_dialect(args.dialect);
    sandbox::serve_forever(config, args.listen).await?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn rows_needing_a_person_outrank_open_links_but_not_a_provider_down() {
        assert_eq!(Exit::Incomplete.max(Exit::Attention), Exit::Attention);
        assert_eq!(Exit::Attention.max(Exit::ProviderDown), Exit::ProviderDown);
        assert_eq!(Exit::SomeUnpaid.max(Exit::Incomplete), Exit::Incomplete);
        assert_eq!(Exit::Attention as u8, 5);
    }
}
