//! A validated payout row: the fields every provider needs, already normalised
//! (phone as 10 digits, amount in paise, order id checked). Produced by `validate`,
//! stored by `journal`, sent by `provider`; and the batch identity (`batch`) that names a
//! sheet's batch and its rows' derived order ids.

mod batch;
mod link;

pub use batch::{batch_key, derived_order_id, derived_row};
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
    /// The date in India the link expires at the end of, if the sheet gives one. Stored as
    /// `YYYY-MM-DD`; anything else in a journal is refused when it is read.
    #[serde(with = "iso_date")]
    pub expiry: Option<time::Date>,
    pub notify: Notify,
    pub comments: String,
}

/// `Option<Date>` as `"YYYY-MM-DD"` or `null`.
mod iso_date {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Option<Date>, to: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => to.serialize_str(&crate::ist::iso(*d)),
            None => to.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(from)? {
            None => Ok(None),
            Some(text) => crate::ist::parse_iso(&text).map(Some).ok_or_else(|| {
                D::Error::custom(format!("expiry '{text}' is not a YYYY-MM-DD date"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(expiry: Option<time::Date>) -> PayoutRow {
        PayoutRow {
            row_no: 2,
            order_id: "A1".into(),
            name: None,
            phone: Some("9876543210".into()),
            email: None,
            amount: Amount::from_paise(100),
            expiry,
            notify: Notify::default(),
            comments: String::new(),
        }
    }

    #[test]
    fn expiry_is_stored_as_an_iso_date_and_a_bad_one_is_refused() {
        let date = time::Date::from_calendar_date(2026, time::Month::March, 20).unwrap();
        let text = serde_json::to_string(&row(Some(date))).unwrap();
        assert!(text.contains(r#""expiry":"2026-03-20""#), "{text}");
        assert_eq!(
            serde_json::from_str::<PayoutRow>(&text).unwrap(),
            row(Some(date))
        );
        let none = serde_json::to_string(&row(None)).unwrap();
        assert_eq!(serde_json::from_str::<PayoutRow>(&none).unwrap(), row(None));
        let bad = text.replace("2026-03-20", "20/03/2026");
        let err = serde_json::from_str::<PayoutRow>(&bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expiry '20/03/2026' is not a YYYY-MM-DD date"),
            "{err}"
        );
    }
}
