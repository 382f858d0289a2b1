//! One function per subcommand, returning the exit code. This is the edge: errors from the
//! modules arrive here as typed errors and leave as `anyhow` with context for a person.

mod run;
mod status;

pub mod intake;

use crate::cli::{Cli, Command, SandboxArgs, ValidateArgs};
use crate::journal::{Journal, RowState, Summary};
use crate::sandbox::{self, SandboxConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes for schedulers (README, `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    AllPaid = 0,
    SomeUnpaid = 1,
    Input = 2,
    Incomplete = 3,
    ProviderDown = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

impl Exit {
    /// The code for a batch that ran to its end: 0 when every row is paid, else 1.
    pub fn settled(summary: &Summary) -> Exit {
        if summary.rows(RowState::Paid) == summary.total_rows() {
            Exit::AllPaid
        } else {
            Exit::SomeUnpaid
        }
    }
}

pub async fn execute(cli: Cli) -> anyhow::Result<Exit> {
    let journal = cli.journal.clone();
    match cli.command {
        Command::Validate(args) => validate(journal.as_deref(), &args),
        Command::Run(args) => run::run(journal, cli.config.as_deref(), args).await,
        Command::Poll(args) => run::poll(journal, cli.config.as_deref(), args).await,
        Command::Status(args) => status::status(&journal_path(journal, false), &args),
        Command::Report(args) => status::report(&journal_path(journal, false), &args),
        Command::Sandbox(args) => serve_sandbox(&args).await,
    }
}

/// The journal to use: the one given, else `payrun.db` (or `payrun-sandbox.db` for
/// simulator runs, so practice batches never mix with real ones).
pub fn journal_path(given: Option<PathBuf>, sandbox: bool) -> PathBuf {
    given.unwrap_or_else(|| {
        PathBuf::from(if sandbox {
            "payrun-sandbox.db"
        } else {
            "payrun.db"
        })
    })
}

/// Default report: `<sheet>.report.csv` beside the sheet.
pub fn default_report_path(sheet: &Path) -> PathBuf {
    sheet.with_extension("report.csv")
}

fn validate(journal: Option<&Path>, args: &ValidateArgs) -> anyhow::Result<Exit> {
    // Validation never creates a journal; it only consults an existing one.
    let path = journal_path(journal.map(Path::to_path_buf), false);
    let journal = if path.exists() {
        Some(Journal::open(&path)?)
    } else {
        None
    };
    let intake = intake::read(&args.sheet, journal.as_ref())?;
    for issue in intake.issues() {
        println!("{issue}");
    }
    println!("{}: {}", intake.sheet_path.display(), intake.totals_text());
    Ok(if intake.invalid_count() == 0 {
        Exit::AllPaid
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
        ..base
    };
    sandbox::serve_forever(config, args.listen).await?;
    Ok(Exit::AllPaid)
}
