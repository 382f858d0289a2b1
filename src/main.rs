//! The `payrun` binary: parse the command line, set up logging, run the command, and turn
//! its outcome into an exit code (README "Exit codes").

use clap::Parser;
use payrun::cli::{Cli, LogFormat};
use payrun::commands::{self, Exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYRUN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("payrun=info")),
        );
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
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
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Input.into()
        }
    }
}
