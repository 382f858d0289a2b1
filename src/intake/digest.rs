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
