//! The sheet digest: 12 hex characters of SHA-256 over each valid row's number, payee (name,
//! phone, e-mail) and amount, so two sheets with the same digest pay the same people the
//! same amounts, whatever their format.

use crate::payout::PayoutRow;
use sha2::{Digest, Sha256};

/// The digest of the valid rows seen so far.
pub(super) struct SheetDigest(Sha256);

impl SheetDigest {
    pub(super) fn new() -> Self {
        SheetDigest(Sha256::new())
    }

    pub(super) fn row(&mut self, p: &PayoutRow) {
        let digest = &mut self.0;
        digest.update(p.row_no.to_le_bytes());
        for part in [&p.name, &p.phone, &p.email] {
            digest.update(part.as_deref().unwrap_or_default());
            // A separator, so moving text between name, phone and e-mail changes the digest.
            digest.update([0x1f]);
        }
        digest.update(p.amount.paise().to_le_bytes());
    }

    pub(super) fn finish(self) -> String {
        hex::encode(&self.0.finalize()[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Amount;
    use crate::payout::Notify;

    fn digest(rows: &[(u64, Option<&str>, Option<&str>, i64)]) -> String {
        let mut d = SheetDigest::new();
        for (row_no, name, phone, paise) in rows {
            d.row(&PayoutRow {
                row_no: *row_no,
                order_id: "A1".into(),
                name: name.map(str::to_string),
                phone: phone.map(str::to_string),
                email: None,
                amount: Amount::from_paise(*paise),
                expiry: None,
                notify: Notify::default(),
                comments: "x".into(),
            });
        }
        d.finish()
    }

    #[test]
    fn the_digest_is_stable_and_changes_with_row_payee_and_amount() {
        let base = digest(&[(2, Some("Asha"), Some("9876543210"), 100)]);
        assert_eq!(base.len(), 12);
        assert!(base.bytes().all(|b| b.is_ascii_hexdigit()), "{base}");
        assert_eq!(base, digest(&[(2, Some("Asha"), Some("9876543210"), 100)]));
        for other in [
            digest(&[(3, Some("Asha"), Some("9876543210"), 100)]),
            digest(&[(2, Some("Asha"), Some("9876543210"), 101)]),
            digest(&[(2, Some("Asha9"), Some("876543210"), 100)]),
            digest(&[
                (2, Some("Asha"), Some("9876543210"), 100),
                (3, None, None, 0),
            ]),
        ] {
            assert_ne!(base, other);
        }
    }
}
