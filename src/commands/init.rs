//! `payrun init`: writes the commented config file for one provider, readable only by its
//! owner (0600), and never over an existing file.

use super::{Exit, Global};
use crate::cli::InitArgs;
use anyhow::Context;
use std::path::PathBuf;

pub fn init(g: &Global, args: &InitArgs) -> anyhow::Result<Exit> {
    let path = g
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("payrun.toml"));
    let provider = args.provider.as_str();
    let cannot = || format!("cannot write {}", path.display());
    let text = crate::config::template(args.provider);
    let file = crate::staged::staged(&path, text.as_bytes()).with_context(cannot)?;
    if let Err(e) = file.persist_noclobber(&path) {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            eprintln!(
                "{} already exists, and payrun init never overwrites a file: edit it, move it away, or pass --config OTHER.toml",
                path.display()
            );
            return Ok(Exit::Input);
        }
        return Err(e.error).with_context(cannot);
    }
    println!(
        "wrote {} for {provider} (readable only by you): fill in the blank values, then check them with `payrun --config {} doctor --provider {provider}`",
        path.display(),
        path.display()
    );
    Ok(Exit::Success)
}
