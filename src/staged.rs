//! How payrun writes a whole file (a report, an export, a template, a config): the bytes go
//! to a new owner-only (0600) temporary file beside the final name and are synced there;
//! the caller then renames it into place, replacing what is there or refusing to. A crash
//! leaves the old file or the new one, never half of one, and never a file others can read.

use std::io::Write;
use std::path::Path;
use tempfile::NamedTempFile;

/// `bytes` in a synced 0600 temporary file in `path`'s directory, ready to be persisted as
/// `path` (`persist` replaces a file there; `persist_noclobber` refuses to).
pub fn staged(path: &Path, bytes: &[u8]) -> std::io::Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}
