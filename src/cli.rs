//! Command-line definitions (clap): every subcommand, flag and help text, and the parsers of
//! flag values (durations, dates, amounts). Credentials are never flags: they come
//! from the environment or the `--config` file.

use crate::journal::{RowSet, RowState};
use crate::pacer::Rate;
use crate::payout::ProviderKind;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const EXIT_CODES: &str = "Exit codes:
  0  every row settled as paid
  1  finished, some rows not paid (invalid, rejected, failed, expired, cancelled)
  2  usage, configuration or input-file error (nothing sent)
  3  incomplete: links still open or run interrupted (run `payrun poll` later)
  4  provider unreachable or authentication failed
  5  rows need attention: payrun cannot settle them from what the provider says (listed
     at the end of run and poll, counted by status); links may still be open";

/// `0.1.0 (commit 1a2b3c4d5e6f)`: the release and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PAYRUN_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(name = "payrun", version = VERSION, propagate_version = true, about = "Pay a sheet of people through payout links, resumably.", after_help = EXIT_CODES)]
pub struct Cli {
    /// Journal file (SQLite). Default: payrun.db, or with --sandbox payrun-sandbox.db
    /// (payrun-sandbox-payu.db with --provider payu).
    #[arg(long, global = true, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Configuration file (TOML) with provider credentials, e.g. payrun.toml.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON on stdout instead of the text summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log lines on stderr as text or as JSON objects (one per line).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// When another payrun process holds the journal, wait up to this long for it
    /// (e.g. 10m) instead of exiting at once.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub wait_lock: Duration,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a blank payout sheet (.csv or .xlsx) with the headers payrun reads, to fill in
    /// and validate. No network.
    Template(TemplateArgs),
    /// Check every row of a sheet and print the issues and control totals. No network.
    Validate(ValidateArgs),
    /// Validate, create a payout link for every row, follow them, and write the report.
    Run(RunArgs),
    /// Refresh open links of one batch or of every batch in the journal.
    Poll(PollArgs),
    /// Show batches and their rows per state. No network.
    Status(StatusArgs),
    /// Write a batch's report again from the journal.
    Report(ReportArgs),
    /// Re-issue failed, expired, cancelled or rejected rows as new attempts, and pay them.
    Retry(RetryArgs),
    /// Deactivate open links of a batch (all, or --rows).
    Cancel(RowsArgs),
    /// Send open links' notifications again (Paytm).
    Resend(RowsArgs),
    /// Move open links' expiry to a later date (PayU).
    Extend(ExtendArgs),
    /// Export a batch's audit trail: every state change, provider answer and operator command.
    Events(EventsArgs),
    /// Settle rows that need attention, after checking them on the provider's dashboard:
    /// re-send them with the same order id, or mark them as never created (free for retry).
    Settle(SettleArgs),
    /// Ask the provider account what the documentation leaves open (settings, token, how
    /// "not found" reads, which paths exist, balance). Moves no money.
    Doctor(DoctorArgs),
    /// Write a commented config file for a provider (payrun.toml, or --config PATH),
    /// readable only by you. Never overwrites a file.
    Init(InitArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `payrun man | man -l -`; with --dir, write payrun.1 and
    /// one page per subcommand (payrun-run.1, ...) there.
    Man(ManArgs),
    /// Run the provider simulator as an HTTP server.
    Sandbox(SandboxArgs),
}

#[derive(Debug, Args)]
pub struct SheetArgs {
    /// Payout sheet: .csv or .xlsx.
    pub sheet: PathBuf,
    /// Worksheet name in an XLSX workbook (default: the first sheet).
    #[arg(long = "sheet", value_name = "NAME")]
    pub sheet_name: Option<String>,
    /// Payment provider.
    #[arg(long, value_enum, default_value = "paytm")]
    pub provider: ProviderKind,
    /// Comment (PayU: description) sent with rows whose comments cell is empty; both
    /// providers require one.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Treat warnings (the same phone and amount twice, a phone paid in the last 30 days,
    /// an amount far above the sheet's median) as errors.
    #[arg(long)]
    pub strict: bool,
    /// Print every row's own warning instead of one line per kind of warning.
    #[arg(long, short)]
    pub verbose: bool,
    /// The config file's `[columns]` table (filled by the command, not a flag).
    #[arg(skip)]
    pub columns: crate::validate::ColumnMap,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// File to write: .csv (a header line) or .xlsx (formatted columns, drop-downs and an
    /// Instructions sheet). An existing file is never replaced.
    pub file: PathBuf,
    /// Payment provider whose columns and rules the template holds.
    #[arg(long, value_enum, default_value = "paytm")]
    pub provider: ProviderKind,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    /// Write the invalid rows, in the sheet's own columns plus an `error` column, to this
    /// .csv or .xlsx file: fix it and feed it back.
    #[arg(long, value_name = "PATH")]
    pub errors: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Report file (.csv or .xlsx). Default: <sheet>.report.csv beside the sheet.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Pay the valid rows even when some rows are invalid (they are reported as invalid).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Refuse to start unless the sheet has exactly this many rows to pay (as `validate`
    /// counts its valid rows).
    #[arg(long, value_name = "N")]
    pub expect_rows: Option<u64>,
    /// Refuse to start unless the rows to pay total exactly this amount (478516.19, or as
    /// validate prints it: '₹4,78,516.19').
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
    pub expect_total: Option<crate::money::Amount>,
    /// Refuse to start unless the valid rows have this digest (as `validate` prints it).
    #[arg(long, value_name = "DIGEST")]
    pub expect_digest: Option<String>,
    /// Create links even when PayU's transferable amount is below the batch's unpaid total
    /// (checked with Get Account Details before the first create).
    #[arg(long)]
    pub skip_balance_check: bool,
    /// Run against the built-in simulator, started in-process, instead of the provider.
    #[arg(long)]
    pub sandbox: bool,
    /// Simulator seed for --sandbox (beneficiary behaviour is deterministic per seed).
    #[arg(long, default_value_t = 1, requires = "sandbox")]
    pub sandbox_seed: u64,
}

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Request rate limit for creates and polls together, e.g. 5/s or 300/m.
    /// Default: 5/s, or 50/s with --sandbox.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<Rate>,
    /// Requests allowed at once after an idle spell. Default: 50 ms worth of the rate
    /// (at least 1), which absorbs timer jitter without exceeding the rate on average.
    #[arg(long)]
    pub burst: Option<std::num::NonZeroU32>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// How long to keep polling open links before exiting with code 3 (`--for` in `poll`).
    #[arg(long, alias = "for", value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub poll_for: Duration,
    /// After a create without an answer, how long to wait before asking again when the
    /// provider says it has no such link (asked three times, waiting this, then twice this),
    /// before the create is taken as never having happened and is sent again.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub lookup_grace: Duration,
    /// A link the provider still reports open this long after its expiry is asked once
    /// more, then marked expired.
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_duration)]
    pub expiry_grace: Duration,
    /// First pause between two status polls of a link; it doubles up to 60 s.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub poll_interval: Duration,
}

#[derive(Debug, Args)]
pub struct PollArgs {
    /// Batch id (default: every batch with open links).
    pub batch: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Batch id: show its rows by state instead of the list of batches.
    pub batch: Option<String>,
}

#[derive(Debug, Args)]
pub struct RowsArgs {
    pub batch: String,
    /// Sheet rows to act on, e.g. 3,5-9 (default: every row the command applies to).
    #[arg(long, value_name = "ROWS")]
    pub rows: Option<RowSet>,
    /// Act without asking (for schedulers).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    #[command(flatten)]
    pub rows: RowsArgs,
    /// Row states to re-issue.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "failed,expired,cancelled,rejected"
    )]
    pub states: Vec<RowState>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct ExtendArgs {
    #[command(flatten)]
    pub rows: RowsArgs,
    /// New expiry date (YYYY-MM-DD); links expire at the end of that day in India.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: time::Date,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    pub batch: String,
    /// Write CSV to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SettleArgs {
    #[command(flatten)]
    pub rows: RowsArgs,
    /// What the provider's dashboard showed for these order ids.
    #[arg(long, value_enum)]
    pub outcome: SettleOutcome,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SettleOutcome {
    /// No link, or one you deactivated: send the create again with the same order id, so
    /// the provider's duplicate check still guards it.
    Resend,
    /// No link, and none should be made under this order id: mark the row not created,
    /// which frees it for `payrun retry` (a new order id).
    NotCreated,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Payment provider whose account to ask.
    #[arg(long, value_enum, default_value = "paytm")]
    pub provider: ProviderKind,
    /// A payout sheet (.csv or .xlsx): its valid rows' total is compared with what the
    /// account may transfer now.
    #[arg(long, value_name = "FILE")]
    pub sheet: Option<PathBuf>,
    /// Worksheet name in an XLSX workbook (default: the first sheet).
    #[arg(long, value_name = "NAME", requires = "sheet")]
    pub sheet_name: Option<String>,
    /// Comment for rows whose comments cell is empty, as `validate --comment`.
    #[arg(long, value_name = "TEXT", requires = "sheet")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The provider whose settings the file holds.
    #[arg(long, value_enum, default_value = "paytm")]
    pub provider: ProviderKind,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages into, e.g. /usr/local/share/man/man1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

fn parse_amount(s: &str) -> Result<crate::money::Amount, String> {
    crate::money::Amount::parse(s.trim()).map_err(|e| format!("'{s}': {e}"))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<time::Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), format)
        .map_err(|_| format!("'{s}' is not a date; write YYYY-MM-DD"))
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub batch: String,
    /// Report file (.csv or .xlsx). Default: the sheet's <sheet>.report.csv.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub listen: SocketAddr,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Added latency per answer, e.g. 100ms.
    #[arg(long, value_parser = parse_duration, default_value = "0ms")]
    pub latency: Duration,
    /// Requests per second beyond which the simulator answers 429.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Share of requests answered with a 5xx and not processed (0.0-1.0).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of creates that are committed but whose answer is lost (0.0-1.0).
    #[arg(long, default_value_t = 0.0)]
    pub lost_answer_rate: f64,
    /// Beneficiaries act within seconds instead of minutes.
    #[arg(long)]
    pub fast: bool,
    /// Lifetime of a PayU access token, e.g. 30s (PayU's own is about two hours).
    #[arg(long, value_parser = parse_duration, default_value = "7199s")]
    pub token_ttl: Duration,
    /// PayU links created without disableApprovalFlow wait for maker-checker approval.
    #[arg(long)]
    pub approval: bool,
    /// How to answer where the providers' documentation is silent: documented, paytm-pl057,
    /// paytm-pl011, paytm-404, paytm-empty, paytm-unknown-code, payu-no-details,
    /// payu-no-v2-status, payu-no-account-detail, details-lag-N, no-duplicate-check.
    #[arg(long, value_name = "NAME", default_value_t = crate::sandbox::Dialect::Documented)]
    pub dialect: crate::sandbox::Dialect,
    /// The PayU account's balance in rupees, before any link is paid.
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount, default_value = "10000000")]
    pub balance: crate::money::Amount,
}

/// The longest duration a flag takes: a year. Anything longer is a typo, and no clock
/// arithmetic on a flag may overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

/// Parses `500ms`, `30s`, `2m`, `1h`, `1d` or a plain number of seconds, up to
/// [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("'{s}' is not a duration; write e.g. 30s, 2m or 1h");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(|| format!("'{s}' is longer than payrun allows (366 days)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_duration("366d"), Ok(MAX_DURATION));
        assert!(parse_duration("367d").is_err());
        assert!(parse_duration("18446744073709551615d").is_err());
        assert!(parse_duration("99999999999999999999999s").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_flag_value_parses_to_a_sane_duration_or_an_error(s in "\\PC{0,30}", n in proptest::num::u64::ANY, unit in "(ms|s|m|min|h|d|)") {
            for text in [s, format!("{n}{unit}")] {
                if let Ok(d) = parse_duration(&text) {
                    proptest::prop_assert!(d <= MAX_DURATION);
                }
            }
        }
    }
}
