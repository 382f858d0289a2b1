//! Zip-bomb check for workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.ods` are zip archives).
//!
//! Owns: the limits on what a workbook may unpack to, checked from the archive's central
//! directory before calamine reads a byte of any part. calamine holds a workbook's shared
//! strings whole and each cell's text as it streams a worksheet, so what a part unpacks to
//! is what memory holds. The zip reader stops any part at the size the directory declares,
//! so the declared sizes are the ones that count.

use super::{shown_value, SheetError};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// The most any one part may unpack to: a 500,000-row sheet of ten columns is about 230 MiB
/// of worksheet XML.
pub const MAX_PART_BYTES: u64 = 256 * 1024 * 1024;
/// The most all parts together may unpack to.
pub const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// Spreadsheet XML packs 5 to 50 times smaller; a part that packs far more is made to
/// explode (DEFLATE reaches about 1,000:1 on repeated bytes).
pub const MAX_RATIO: u64 = 250;
/// Parts smaller than this are never refused for their ratio: they cannot hurt.
const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

/// Fails when a part, or the whole workbook, would unpack to more than the limits allow.
/// A file that is not a readable zip is left for calamine to refuse with its own message.
pub fn check(path: &Path, file: File) -> Result<(), SheetError> {
    let Ok(archive) = zip::ZipArchive::new(BufReader::new(file)) else {
        return Ok(());
    };
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_data(i) else {
            continue;
        };
        let (size, packed) = (entry.size(), entry.compressed_size());
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        total = total.saturating_add(size);
        let refuse = |why: String| SheetError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "part '{}' of the workbook {why}; this is not a sheet as Excel saves it \
                 (a damaged or hostile file): open it in Excel and save it again, or ask \
                 for a fresh export",
                shown_value(&name)
            ),
        };
        if size > MAX_PART_BYTES {
            return Err(refuse(format!(
                "would unpack to {}, over payrun's limit of {} per part",
                mib(size),
                mib(MAX_PART_BYTES)
            )));
        }
        if size > RATIO_FLOOR_BYTES && size / packed.max(1) > MAX_RATIO {
            return Err(refuse(format!(
                "would unpack to {} from {} bytes, over {MAX_RATIO} times its packed size",
                mib(size),
                packed
            )));
        }
    }
    if total > MAX_TOTAL_BYTES {
        return Err(SheetError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "the workbook would unpack to {}, over payrun's limit of {}; split the sheet \
                 into smaller workbooks",
                mib(total),
                mib(MAX_TOTAL_BYTES)
            ),
        });
    }
    Ok(())
}

/// A size in MiB with one decimal (rounded down), for messages.
fn mib(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    format!("{}.{} MiB", bytes / MIB, bytes % MIB * 10 / MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_mib() {
        assert_eq!(mib(0), "0.0 MiB");
        assert_eq!(mib(1024 * 1024 * 3 / 2), "1.5 MiB");
        assert_eq!(mib(MAX_TOTAL_BYTES), "512.0 MiB");
    }
}
