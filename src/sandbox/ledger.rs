//! The links the simulator holds, in creation order, whichever protocol created them: each
//! link's lifecycle (computed lazily from its fate and the clock, so no timer runs) and the
//! `LedgerEntry` view that tests and `GET /__sandbox/ledger` read, and the money the paid
//! links have moved.

use super::scenario::{Fate, Outcome};
use crate::money::Amount;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
// tokio's clock, so a simulation test with a paused clock drives link lifecycles too.
use tokio::time::Instant;

/// How long a new link reports itself as still being set up.
const PROCESSING: Duration = Duration::from_millis(200);
/// How long before a claim settles the beneficiary has submitted their details: the payout
/// is under way meanwhile, and the link is still open.
const PAYING: Duration = Duration::from_millis(500);

/// Which provider's protocol created a link, so each account pays only its own links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Paytm,
    Payu,
}

/// Where a simulated link stands, in protocol-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Processing,
    Pending,
    Paid,
    Failed,
    Expired,
    Cancelled,
}

impl Phase {
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Phase::Processing | Phase::Pending)
    }
}

/// One link as the simulator's books show it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    pub order_id: String,
    /// As received, e.g. `"1500.50"`.
    pub amount: String,
    pub phone: String,
    pub link_id: String,
    /// The current status in the creating protocol's words (Paytm: `payoutLinkStatus`).
    pub status: String,
    /// Create requests received for this order id, including duplicates.
    pub create_requests: u32,
    /// Unix time in milliseconds.
    pub created_at_ms: u64,
}

/// What a protocol hands over to create a link.
#[derive(Debug, Clone)]
pub(crate) struct LinkSpec {
    pub order_id: String,
    pub link_id: String,
    pub link_url: String,
    pub amount: String,
    pub phone: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub expiry_date: String,
    pub comments: String,
    pub fate: Fate,
    /// The creating protocol's name for each phase.
    pub status_name: fn(Phase) -> &'static str,
    /// A failed payout leaves the link open to the beneficiary until it expires (PayU),
    /// instead of ending it (Paytm).
    pub failure_reopens: bool,
    pub protocol: Protocol,
}

#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub spec: LinkSpec,
    created: Instant,
    created_at_ms: u64,
    pub create_requests: u32,
    /// Status lookups answered "not found" so far (simulated eventual consistency).
    pub hidden_lookups: u32,
    /// Lookups answered so far, for the seeded flapping of settled statuses.
    pub lookups: u64,
    cancelled_after: Option<Duration>,
}

impl Link {
    pub(crate) fn phase(&self, now: Instant) -> Phase {
        let age = now.saturating_duration_since(self.created);
        // A cancel is only accepted while the link is open, so it precedes any settlement.
        if self.cancelled_after.is_some_and(|c| age >= c) {
            return Phase::Cancelled;
        }
        match self.spec.fate.settled(age) {
            Some(Phase::Failed)
                if self.spec.failure_reopens && age >= self.spec.fate.expire_after =>
            {
                Phase::Expired
            }
            Some(phase) => phase,
            None if age < PROCESSING => Phase::Processing,
            None => Phase::Pending,
        }
    }

    /// Whether the beneficiary has submitted their details and the payout is under way: the
    /// last `PAYING` of an open link whose beneficiary will claim it.
    pub(crate) fn detail_filled(&self, now: Instant) -> bool {
        let age = now.saturating_duration_since(self.created);
        let fate = &self.spec.fate;
        let claims = fate.outcome != Outcome::NeverClaims && fate.claim_after < fate.expire_after;
        claims && self.phase(now).is_open() && age + PAYING >= fate.claim_after
    }

    pub(crate) fn status(&self, now: Instant) -> &'static str {
        (self.spec.status_name)(self.phase(now))
    }

    /// Cancels an open link; otherwise returns the phase that prevents it.
    pub(crate) fn cancel(&mut self, now: Instant) -> Result<(), Phase> {
        match self.phase(now) {
            phase if phase.is_open() => {
                self.cancelled_after = Some(now.saturating_duration_since(self.created));
                Ok(())
            }
            phase => Err(phase),
        }
    }

    /// Moves an open link's expiry to `left` from `now`; otherwise returns the phase that
    /// prevents it.
    pub(crate) fn extend(&mut self, now: Instant, left: Duration) -> Result<(), Phase> {
        match self.phase(now) {
            phase if phase.is_open() => {
                self.spec.fate.expire_after = now.saturating_duration_since(self.created) + left;
                Ok(())
            }
            phase => Err(phase),
        }
    }

    fn entry(&self, now: Instant) -> LedgerEntry {
        LedgerEntry {
            order_id: self.spec.order_id.clone(),
            amount: self.spec.amount.clone(),
            phone: self.spec.phone.clone(),
            link_id: self.spec.link_id.clone(),
            status: self.status(now).to_string(),
            create_requests: self.create_requests,
            created_at_ms: self.created_at_ms,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    links: Vec<Link>,
    by_order: HashMap<String, usize>,
    by_link: HashMap<String, usize>,
}

impl Ledger {
    /// Adds a link. An order id seen before (a provider without a duplicate check) adds
    /// another link; lookups by order id keep finding the first.
    pub(crate) fn insert(&mut self, spec: LinkSpec, now: Instant) -> &Link {
        let created_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let index = self.links.len();
        self.by_order.entry(spec.order_id.clone()).or_insert(index);
        self.by_link.insert(spec.link_id.clone(), index);
        self.links.push(Link {
            spec,
            created: now,
            created_at_ms,
            create_requests: 1,
            hidden_lookups: 0,
            lookups: 0,
            cancelled_after: None,
        });
        &self.links[index]
    }

    pub(crate) fn by_order(&mut self, order_id: &str) -> Option<&mut Link> {
        let index = *self.by_order.get(order_id)?;
        self.links.get_mut(index)
    }

    pub(crate) fn by_link(&mut self, link_id: &str) -> Option<&mut Link> {
        let index = *self.by_link.get(link_id)?;
        self.links.get_mut(index)
    }

    pub(crate) fn entries(&self, now: Instant) -> Vec<LedgerEntry> {
        self.links.iter().map(|l| l.entry(now)).collect()
    }

    /// The paise paid out so far through the links `protocol` created.
    pub(crate) fn paid_paise(&self, protocol: Protocol, now: Instant) -> i64 {
        self.links
            .iter()
            .filter(|l| l.spec.protocol == protocol && l.phase(now) == Phase::Paid)
            // Amounts were validated on create; one that does not parse moved no money.
            .filter_map(|l| Amount::parse(&l.spec.amount).ok())
            .map(Amount::paise)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(order_id: &str, outcome: Outcome) -> LinkSpec {
        LinkSpec {
            order_id: order_id.into(),
            link_id: format!("L{order_id}"),
            link_url: String::new(),
            amount: "10.00".into(),
            phone: "9876543210".into(),
            name: None,
            email: None,
            expiry_date: "2030-01-01".into(),
            comments: String::new(),
            fate: Fate {
                claim_after: Duration::from_millis(500),
                outcome,
                expire_after: Duration::from_secs(1),
            },
            status_name: |p| match p {
                Phase::Processing => "processing",
                Phase::Pending => "pending",
                Phase::Paid => "paid",
                Phase::Failed => "failed",
                Phase::Expired => "expired",
                Phase::Cancelled => "cancelled",
            },
            failure_reopens: false,
            protocol: Protocol::Paytm,
        }
    }

    #[test]
    fn lifecycle_follows_the_clock() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        ledger.insert(spec("A", Outcome::Paid), t0);
        let ms = |n| t0 + Duration::from_millis(n);
        let link = ledger.by_order("A").unwrap();
        assert_eq!(link.phase(ms(0)), Phase::Processing);
        assert_eq!(link.phase(ms(300)), Phase::Pending);
        assert_eq!(link.phase(ms(500)), Phase::Paid);
        assert_eq!(link.cancel(ms(600)), Err(Phase::Paid));
        assert_eq!(ledger.entries(ms(600))[0].status, "paid");
    }

    #[test]
    fn a_failed_payu_link_expires_when_its_time_is_up() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        ledger.insert(
            LinkSpec {
                failure_reopens: true,
                ..spec("F", Outcome::Failed)
            },
            t0,
        );
        let link = ledger.by_order("F").unwrap();
        assert_eq!(link.phase(t0 + Duration::from_millis(600)), Phase::Failed);
        assert_eq!(link.phase(t0 + Duration::from_secs(1)), Phase::Expired);
    }

    #[test]
    fn details_are_filled_just_before_a_claim_settles() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        ledger.insert(spec("P", Outcome::Paid), t0);
        ledger.insert(spec("N", Outcome::NeverClaims), t0);
        let ms = |n| t0 + Duration::from_millis(n);
        let paid = ledger.by_order("P").unwrap();
        // The claim settles at 500 ms, so the details are in from the start.
        assert!(paid.detail_filled(ms(0)) && paid.detail_filled(ms(499)));
        assert!(!paid.detail_filled(ms(500)), "paid, no longer in progress");
        let idle = ledger.by_order("N").unwrap();
        assert!(!idle.detail_filled(ms(900)));
    }

    #[test]
    fn paid_paise_counts_only_the_protocols_paid_links() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        let payu = |id: &str, outcome, amount: &str| LinkSpec {
            amount: amount.into(),
            protocol: Protocol::Payu,
            ..spec(id, outcome)
        };
        ledger.insert(payu("A", Outcome::Paid, "1500.50"), t0);
        ledger.insert(payu("B", Outcome::Paid, "0.25"), t0);
        ledger.insert(payu("C", Outcome::Failed, "99.00"), t0);
        ledger.insert(spec("D", Outcome::Paid), t0);
        assert_eq!(ledger.paid_paise(Protocol::Payu, t0), 0);
        let later = t0 + Duration::from_millis(600);
        assert_eq!(ledger.paid_paise(Protocol::Payu, later), 150_075);
        assert_eq!(ledger.paid_paise(Protocol::Paytm, later), 1_000);
    }

    #[test]
    fn a_cancelled_link_stays_cancelled() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        ledger.insert(spec("B", Outcome::Paid), t0);
        let link = ledger.by_link("LB").unwrap();
        assert_eq!(link.cancel(t0 + Duration::from_millis(250)), Ok(()));
        assert_eq!(link.phase(t0 + Duration::from_secs(5)), Phase::Cancelled);
        assert!(ledger.by_order("nope").is_none());
    }
}
