//! How the simulator behaves: `SandboxConfig`, its parts (claim window, outage, duplicate
//! check, `Retry-After`) and its presets (`fast`, `default`, `idle`, `with_dialect`).

use super::Dialect;
use std::time::Duration;

/// How the simulator behaves. Everything random is seeded by `seed`.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub seed: u64,
    /// Added to every answer: half before the request is processed, half after, so a client
    /// that gives up mid-request can leave both committed and uncommitted creates behind.
    pub latency: Duration,
    /// Requests per second over all protocol endpoints; beyond it HTTP 429 with
    /// `Retry-After: 1` and the protocol's "try later" body. Nothing is processed.
    pub rate_limit: Option<u32>,
    /// Share of requests answered 500, 502, 503 or a cut connection, without processing
    /// anything.
    pub error_rate: f64,
    /// Share of order ids whose first create commits the link and then loses the answer
    /// (connection cut mid-body, or a 504 from a "gateway").
    pub lost_answer_rate: f64,
    /// The first N status lookups of each new link answer "not found".
    pub not_found_polls: u32,
    /// The beneficiary claims the link after a seeded delay in this window.
    pub claim_after: ClaimWindow,
    /// A link never claimed expires this long after it was created.
    pub expire_after: Duration,
    /// Shares of beneficiaries who are paid and whose payout fails; the rest never claim.
    pub paid_share: f64,
    pub failed_share: f64,
    /// What a create with an order id already seen does.
    pub duplicates: Duplicates,
    /// How a 429 says when to come back.
    pub retry_after: RetryAfter,
    /// Share of requests whose answer, after the request was processed (a create is
    /// committed), arrives garbled: truncated JSON, an HTML page, an empty body, the wrong
    /// content type, or an envelope missing its fields.
    pub garbled_rate: f64,
    /// Share of lookups of a settled link that still report it pending: a status that flaps
    /// after being terminal.
    pub flap_rate: f64,
    /// A provider outage: while it lasts, every protocol request is answered 503 and nothing
    /// is processed.
    pub outage: Option<Outage>,
    /// Lifetime of a PayU access token.
    pub token_ttl: Duration,
    /// PayU maker-checker: links created without `disableApprovalFlow` wait for approval.
    pub approval: bool,
    /// Which plausible reality to speak where the documentation is silent.
    pub dialect: Dialect,
    /// The PayU account's balance before any link is paid; Get Account Details subtracts
    /// the PayU links paid so far.
    pub payu_balance_paise: i64,
}

/// How long after its creation a link's beneficiary claims it: a seeded delay between
/// `earliest` and `latest` (either may be the larger; equal means exactly then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimWindow {
    pub earliest: Duration,
    pub latest: Duration,
}

/// A provider outage: from `start` after the simulator started, for `length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    pub start: Duration,
    pub length: Duration,
}

/// ₹1 crore.
const DEFAULT_PAYU_BALANCE_PAISE: i64 = 1_000_000_000;

/// The `Retry-After` of a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 1`
    Seconds,
    /// `Retry-After: <HTTP date one second ahead>`
    HttpDate,
    /// No header: the client must back off on its own.
    Absent,
}

/// The provider's duplicate check on order ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicates {
    /// Refused with the protocol's duplicate code (Paytm `PL_040`).
    Reject,
    /// No check: the create makes another link, as a provider whose duplicate window has
    /// passed would. payrun must never depend on the check to avoid paying twice.
    Accept,
    /// Answered as the original create was: success, with the existing link.
    Replay,
}

impl SandboxConfig {
    /// For `run --sandbox` and tests: beneficiaries act within seconds, no faults.
    pub fn fast() -> Self {
        SandboxConfig {
            seed: 1,
            latency: Duration::ZERO,
            rate_limit: None,
            error_rate: 0.0,
            lost_answer_rate: 0.0,
            not_found_polls: 0,
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(1),
                latest: Duration::from_secs(8),
            },
            expire_after: Duration::from_secs(12),
            paid_share: 0.85,
            failed_share: 0.07,
            duplicates: Duplicates::Reject,
            retry_after: RetryAfter::Seconds,
            garbled_rate: 0.0,
            flap_rate: 0.0,
            outage: None,
            token_ttl: Duration::from_secs(7199),
            approval: false,
            dialect: Dialect::Documented,
            payu_balance_paise: DEFAULT_PAYU_BALANCE_PAISE,
        }
    }
}

impl SandboxConfig {
    /// Speaks `dialect`. The dialects that are a way of behaving rather than an answer preset
    /// the matching fields: `DetailsLag(n)` hides each new link from its first `n` lookups,
    /// `NoDuplicateCheck` accepts a repeated order id.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        match dialect {
            Dialect::DetailsLag(n) => self.not_found_polls = n,
            Dialect::NoDuplicateCheck => self.duplicates = Duplicates::Accept,
            _ => {}
        }
        self
    }
}

#[cfg(test)]
impl SandboxConfig {
    /// Beneficiaries who never act during a test.
    pub(crate) fn idle() -> Self {
        SandboxConfig {
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(600),
                latest: Duration::from_secs(600),
            },
            expire_after: Duration::from_secs(900),
            ..SandboxConfig::fast()
        }
    }
}

impl Default for SandboxConfig {
    /// Realistic shapes on a scaled clock: network latency, a lookup that lags the create,
    /// claims within a minute, links that expire after two.
    fn default() -> Self {
        SandboxConfig {
            latency: Duration::from_millis(50),
            not_found_polls: 1,
            claim_after: ClaimWindow {
                earliest: Duration::from_secs(5),
                latest: Duration::from_secs(60),
            },
            expire_after: Duration::from_secs(120),
            paid_share: 0.8,
            failed_share: 0.1,
            ..SandboxConfig::fast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_dialect_presets_the_behaviour_dialects_and_keeps_the_rest() {
        let lag = SandboxConfig::fast().with_dialect(Dialect::DetailsLag(4));
        assert_eq!(
            (lag.dialect, lag.not_found_polls),
            (Dialect::DetailsLag(4), 4)
        );
        let open = SandboxConfig::fast().with_dialect(Dialect::NoDuplicateCheck);
        assert_eq!(open.duplicates, Duplicates::Accept);
        let plain = SandboxConfig::default().with_dialect(Dialect::Paytm404);
        assert_eq!(
            (plain.not_found_polls, plain.duplicates),
            (1, Duplicates::Reject)
        );
        assert_eq!(SandboxConfig::fast().dialect, Dialect::Documented);
        assert_eq!(SandboxConfig::default().payu_balance_paise, 1_000_000_000);
    }
}
