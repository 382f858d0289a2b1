//! A validated payout row: the fields every provider needs, already normalised
//! (phone as 10 digits, amount in paise, order id checked). Produced by `validate`,
//! stored by `journal`, sent by `provider`.

mod link;

pub use link::{LinkInfo, LinkState};

use crate::money::Amount;
use serde::{Deserialize, Serialize};

/// Which provider a batch is paid through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Paytm Payout Links.
    Paytm,
    /// PayU Payouts Smart Send.
    Payu,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Paytm => "paytm",
            ProviderKind::Payu => "payu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "paytm" => Some(ProviderKind::Paytm),
            "payu" => Some(ProviderKind::Payu),
            _ => None,
        }
    }
}

/// How the beneficiary is told about the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    pub sms: bool,
    pub email: bool,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            sms: true,
            email: false,
        }
    }
}

impl Notify {
    /// Paytm's `notifyMode` values, in a stable order.
    pub fn modes(self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.sms {
            m.push("SMS");
        }
        if self.email {
            m.push("EMAIL");
        }
        m
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRow {
    /// Row number as Excel shows it (header = 1).
    pub row_no: u64,
    /// Idempotency key at the provider: `[A-Za-z0-9]{1,40}`.
    pub order_id: String,
    pub name: Option<String>,
    /// Ten-digit Indian mobile number, prefixes removed. Paytm requires one; PayU needs
    /// a phone or an e-mail.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub amount: Amount,
    /// Link expiry date (`YYYY-MM-DD`), if the sheet gives one.
    pub expiry: Option<String>,
    pub notify: Notify,
    pub comments: String,
}
