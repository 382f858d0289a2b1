//! The `payrun` binary: parse the command line, set up logging, run the command, and turn
//! its outcome into an exit code (README "Exit codes"). An error is exit 2 ("nothing
//! sent") only while no provider request has left the process.

use clap::Parser;
use payrun::cli::{Cli, LogFormat};
use payrun::commands::{self, Exit};
use std::process::ExitCode;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

fn main() -> ExitCode {
    leave_quietly_when_stdout_closes();
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(|| AboveBars)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(tracing::Level::TRACE);
    match cli.log_format {
        LogFormat::Text => logs.finish().with(log_filter()).init(),
        LogFormat::Json => logs.json().finish().with(log_filter()).init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Input.into();
        }
    };
    match runtime.block_on(commands::execute(cli)) {
        Ok(exit) => exit.into(),
        Err(e) if payrun::provider::transport::requests_sent() => {
            eprintln!("error: {e:#}");
            eprintln!("requests had already been sent to the provider, and every link it created is in the journal: run the same command again to resume (`payrun status` shows the batch)");
            Exit::Incomplete.into()
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Input.into()
        }
    }
}

/// `PAYRUN_LOG` as targets and levels (`debug`, `payrun=debug,reqwest=info`); payrun's own
/// information lines otherwise.
fn log_filter() -> Targets {
    std::env::var("PAYRUN_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_target("payrun", tracing::Level::INFO))
}

/// A reader that stops reading (`payrun status | head`) makes the next print fail, which
/// Rust turns into a panic. That is no crash: leave at once and quietly, with the code the
/// run has earned so far (3 once a request was sent: run the command again to resume).
fn leave_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            let exit = if payrun::provider::transport::requests_sent() {
                Exit::Incomplete
            } else {
                Exit::Input
            };
            std::process::exit(exit as i32);
        }
        default(info);
    }));
}

/// Log lines go to stderr with phones and e-mails masked, above the progress bars.
struct AboveBars;

impl std::io::Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        payrun::progress::above_bars(|| payrun::redact::MaskedStderr.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        payrun::redact::MaskedStderr.flush()
    }
}
