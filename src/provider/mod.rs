//! The provider boundary: one trait, and the classification of every provider answer into
//! the few classes the engine acts on. The engine never looks at provider codes or strings.

pub mod checksum;
mod paths;
pub mod paytm;
pub mod payu;
pub mod transport;

use crate::pacer::Pacer;
use crate::payout::{LinkInfo, PayoutRow};
use paytm::PaytmClient;
pub use paytm::PaytmConfig;
use payu::PayuClient;
pub use payu::PayuConfig;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The settings of one provider account.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    Paytm(PaytmConfig),
    Payu(PayuConfig),
}

/// Result of a status lookup. A refusal (a failure code, an HTTP 404, a success without a
/// link) is evidence that the provider has no link for the order id only when the same
/// lookup path has proved itself in this run, by answering a link payrun knows exists: the
/// documentation never says how "not found" reads, so payrun learns it (`paths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(LinkInfo),
    /// A proven lookup path refused this order id: no link for it (yet: a lookup can lag
    /// the create it follows). Carries the provider's answer, verbatim.
    NotFound(String),
    /// A refusal from a path that has not yet answered any link: no evidence either way.
    Unproven(String),
}

/// Every answer that is not a success, classified once in the provider module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Nothing happened at the provider; try again later (429, PL_041, 5xx known to be before
    /// processing, connection refused). `after` is the provider's `Retry-After`, if any.
    #[error("provider busy ({code}): {message}")]
    Retryable {
        after: Option<Duration>,
        code: String,
        message: String,
    },
    /// The request may or may not have taken effect (timeout, reset, 5xx after send, a
    /// duplicate-order answer). Resolve with a status lookup on the same order id.
    #[error("no usable answer: {message}")]
    Ambiguous { message: String },
    /// A create refused because the order id is already used (Paytm `PL_040`, PayU
    /// `1103`/`1125`): a link may exist. Resolve with a lookup; if the lookups keep saying
    /// "not found", the provider contradicts itself and a person must look.
    #[error("duplicate order id ({code}): {message}")]
    Duplicate { code: String, message: String },
    /// The provider refused this row for good (validation codes).
    #[error("rejected ({code}): {message}")]
    Rejected { code: String, message: String },
    /// Credentials or checksum refused, configuration broken, or a wait asked for that is
    /// too long: the whole batch would fail.
    #[error("provider refused ({code}): {message}")]
    Fatal { code: String, message: String },
}

/// Whether a link whose provider status is `provider_status` may have paid without the
/// provider being able to say so (PayU status v1's "details filled").
pub fn outcome_unknown(provider_status: &str) -> bool {
    payu::outcome_unknown(provider_status)
}

/// The longest `Retry-After` payrun honours. A provider that asks for more stops the batch
/// (run again later), as the circuit breaker does, instead of a process sleeping for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A `Retryable` error: nothing happened at the provider. A wait beyond
/// [`MAX_RETRY_AFTER`] is `Fatal`: the batch stops with untouched rows still queued.
pub(crate) fn retryable(after: Option<Duration>, code: &str, message: String) -> ProviderError {
    match after {
        Some(wait) if wait > MAX_RETRY_AFTER => ProviderError::Fatal {
            code: code.into(),
            message: format!(
                "the provider asked payrun to wait {}s before trying again (Retry-After), longer than the {}s payrun waits; run again later ({message})",
                wait.as_secs(),
                MAX_RETRY_AFTER.as_secs()
            ),
        },
        _ => ProviderError::Retryable {
            after,
            code: code.into(),
            message,
        },
    }
}

/// A payout-link provider. Implementations classify answers; the engine decides what to do.
pub trait Provider: Send + Sync + 'static {
    /// Creates a link for `row`, using `row.order_id` as the idempotency key.
    fn create(
        &self,
        row: &PayoutRow,
    ) -> impl Future<Output = Result<LinkInfo, ProviderError>> + Send;

    /// Looks a link up by the order id it was created with.
    fn status(&self, order_id: &str) -> impl Future<Output = Result<Lookup, ProviderError>> + Send;

    /// Looks up a link whose id is known (it was journaled): a provider whose lookup by
    /// order id lags may find it by link id instead.
    fn status_of(
        &self,
        order_id: &str,
        _link_id: &str,
    ) -> impl Future<Output = Result<Lookup, ProviderError>> + Send {
        self.status(order_id)
    }

    /// Whether a lookup by order id alone can still tell every state of a link (false once
    /// PayU's Smart Send Details proved missing: status v1 cannot say "paid").
    fn follows_by_order_id(&self) -> bool {
        true
    }

    /// Deactivates (cancels) an open link, named by its order id and link id.
    fn cancel(
        &self,
        order_id: &str,
        link_id: &str,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;
}

/// The client of whichever provider a batch is paid through.
#[derive(Debug)]
pub enum Client {
    Paytm(PaytmClient),
    Payu(PayuClient),
}

impl Client {
    /// A client for `config`; `pacer` paces the extra requests a call may need.
    pub fn new(config: ProviderConfig, pacer: &Arc<Pacer>) -> Result<Client, reqwest::Error> {
        Ok(match config {
            ProviderConfig::Paytm(c) => Client::Paytm(PaytmClient::new(c)?),
            ProviderConfig::Payu(c) => Client::Payu(PayuClient::new(c)?.paced(Arc::clone(pacer))),
        })
    }

    /// Sends an open link's notification again (Paytm only: PayU re-sends on its own).
    pub async fn resend(&self, link_id: &str) -> Result<(), ProviderError> {
        match self {
            Client::Paytm(c) => c.resend(link_id).await,
            Client::Payu(_) => Err(unsupported(
                "PayU has no resend; it re-sends pending links itself",
            )),
        }
    }

    /// Moves an open link's expiry to the end of `until` (PayU only).
    pub async fn extend(&self, link_id: &str, until: time::Date) -> Result<(), ProviderError> {
        match self {
            Client::Payu(c) => c.extend(link_id, until).await,
            Client::Paytm(_) => Err(unsupported(
                "Paytm links cannot be extended; let them expire and retry",
            )),
        }
    }
}

fn unsupported(message: &str) -> ProviderError {
    ProviderError::Rejected {
        code: "UNSUPPORTED".into(),
        message: message.into(),
    }
}

impl Provider for Client {
    async fn create(&self, row: &PayoutRow) -> Result<LinkInfo, ProviderError> {
        match self {
            Client::Paytm(c) => c.create(row).await,
            Client::Payu(c) => c.create(row).await,
        }
    }

    async fn status(&self, order_id: &str) -> Result<Lookup, ProviderError> {
        match self {
            Client::Paytm(c) => c.status(order_id).await,
            Client::Payu(c) => c.status(order_id).await,
        }
    }

    async fn status_of(&self, order_id: &str, link_id: &str) -> Result<Lookup, ProviderError> {
        match self {
            Client::Paytm(c) => c.status_of(order_id, link_id).await,
            Client::Payu(c) => c.status_of(order_id, link_id).await,
        }
    }

    fn follows_by_order_id(&self) -> bool {
        match self {
            Client::Paytm(c) => c.follows_by_order_id(),
            Client::Payu(c) => c.follows_by_order_id(),
        }
    }

    async fn cancel(&self, order_id: &str, link_id: &str) -> Result<(), ProviderError> {
        match self {
            Client::Paytm(c) => c.cancel(order_id, link_id).await,
            Client::Payu(c) => c.cancel(order_id, link_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::transport::parse_retry_after;
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_retry_after_is_a_sane_wait_or_stops_the_batch(value in "\\PC{0,40}", n in proptest::num::u64::ANY) {
            let now = time::OffsetDateTime::now_utc();
            for text in [value, n.to_string()] {
                match retryable(parse_retry_after(&text, now), "HTTP_429", "busy".into()) {
                    ProviderError::Retryable { after, .. } => {
                        proptest::prop_assert!(after.is_none_or(|a| a <= MAX_RETRY_AFTER));
                    }
                    ProviderError::Fatal { message, .. } => {
                        proptest::prop_assert!(message.contains("Retry-After"));
                    }
                    other => proptest::prop_assert!(false, "{other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_wait_of_centuries_stops_the_batch_instead_of_sleeping() {
        let now = time::OffsetDateTime::now_utc();
        let after = parse_retry_after("10000000000000000000", now);
        assert!(matches!(
            retryable(after, "HTTP_429", "busy".into()),
            ProviderError::Fatal { message, .. } if message.contains("10000000000000000000s")
        ));
    }
}

/// Fixtures shared by the provider and simulator tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Lookup;
    use crate::money::Amount;
    use crate::payout::LinkInfo;
    use crate::payout::{Notify, PayoutRow};

    /// A valid row paying `paise` under `order_id`.
    pub(crate) fn row(order_id: &str, paise: i64) -> PayoutRow {
        PayoutRow {
            row_no: 2,
            order_id: order_id.into(),
            name: Some("Asha Rao".into()),
            phone: Some("9876543210".into()),
            email: None,
            amount: Amount::from_paise(paise),
            expiry: None,
            notify: Notify::default(),
            comments: "March incentive".into(),
        }
    }

    pub(crate) fn found(lookup: Lookup) -> LinkInfo {
        match lookup {
            Lookup::Found(info) => info,
            other => panic!("expected a link, got {other:?}"),
        }
    }
}
