//! Batch identity: the batch key that names a batch (and seeds its rows' order ids), and the
//! order id derived for a row that gives none. Both are deterministic, so the same sheet
//! resumes the same batch with the same ids.

use super::ProviderKind;

/// The batch key (and batch id): 16 hex characters of SHA-256 over the sheet's hash and the
/// provider, so the same sheet paid through another provider is another batch whose derived
/// order ids differ.
pub fn batch_key(sheet_sha256: &str, provider: ProviderKind) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{sheet_sha256}:{}", provider.as_str()));
    hex::encode(&digest[..8])
}

/// `PR` + batch key + `N` + row number: deterministic and alphanumeric; with a 16-character
/// key (`batch_key`) at most 39 characters, within payrun's 40 (`validate::MAX_ORDER_ID`).
pub fn derived_order_id(batch_key: &str, row_no: u64) -> String {
    format!("PR{batch_key}N{row_no}")
}

/// The row whose derived id `id` is, if it is one (compared ignoring case).
pub fn derived_row(batch_key: &str, id: &str) -> Option<u64> {
    let prefix = format!("PR{batch_key}N");
    let head = id.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(&prefix) {
        return None;
    }
    id[prefix.len()..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef";

    #[test]
    fn derived_ids_are_deterministic_and_fit_both_providers() {
        assert_eq!(derived_order_id(KEY, 2), "PR0123456789abcdefN2");
        assert!(derived_order_id(KEY, 1_048_576).len() <= 40);
        // Pinned: the same sheet must name the same batch in every build, so a re-run
        // resumes it instead of importing it again.
        let sheet = "be239bf51b337561c0f5ba0191a0984b";
        assert_eq!(batch_key(sheet, ProviderKind::Paytm), "e480860bd249dc52");
        assert_eq!(batch_key(sheet, ProviderKind::Payu), "eb93e38f55d77fc0");
        assert_ne!(
            batch_key(sheet, ProviderKind::Paytm),
            batch_key("0e239bf51b337561c0f5ba0191a0984b", ProviderKind::Paytm)
        );
    }

    #[test]
    fn a_derived_id_names_its_row_and_nothing_else_does() {
        assert_eq!(derived_row(KEY, "PR0123456789abcdefN17"), Some(17));
        assert_eq!(derived_row(KEY, "pr0123456789ABCDEFn17"), Some(17));
        assert_eq!(derived_row(KEY, "PR0123456789abcdeeN17"), None);
        assert_eq!(derived_row(KEY, "INV17"), None);
    }
}
