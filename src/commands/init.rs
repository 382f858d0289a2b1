//! `payrun init`: writes the commented config file for one provider, readable only by its
//! owner (0600), and never over an existing file.

use super::{Exit, Global};
use crate::cli::InitArgs;
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn init(g: &Global, args: &InitArgs) -> anyhow::Result<Exit> {
    let path = g
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("payrun.toml"));
    let provider = args.provider.as_str();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let cannot = || format!("cannot write {}", path.display());
    // A temporary file is created 0600; it takes the name only if nothing holds it yet, so
    // neither a half-written file nor an overwritten one can be left behind.
    let mut file = tempfile::NamedTempFile::new_in(dir).with_context(cannot)?;
    file.write_all(crate::config::template(args.provider).as_bytes())
        .with_context(cannot)?;
    file.as_file().sync_all().with_context(cannot)?;
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
