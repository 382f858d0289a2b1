//! Row states (docs/ARCHITECTURE.md "Row states"), which of them are terminal, and why a
//! row can need a person.

use crate::payout::LinkState;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Failed validation; never sent.
    Invalid,
    /// Waiting to be created.
    Queued,
    /// Create intent committed; the request may be on the wire.
    Sending,
    /// Request sent, no usable answer: must be looked up before anything is re-sent.
    Unknown,
    /// Link exists and is not settled yet.
    Open,
    Paid,
    Failed,
    Cancelled,
    Expired,
    /// The provider refused the create for good.
    Rejected,
    /// payrun cannot settle the row from what the provider says (see [`Attention`]): it
    /// sends no more creates for it and waits for `payrun settle`. Lookups go on, and a
    /// link they find settles the row by itself.
    Attention,
    /// An operator checked the provider's dashboard and found no link: free for `retry`.
    NotCreated,
}

/// Why a row needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attention {
    /// The provider refused a create as a duplicate while its lookups said "no such link".
    Contradiction,
    /// Lookups refused the order id, but no lookup in the run found a link payrun knows
    /// exists, so the refusal proved nothing. Reconciling goes on by itself.
    UnprovenLookup,
    /// The row's create was sent the most times payrun allows without an answer.
    RequestCap,
    /// The only answering lookup (PayU status v1) cannot say whether the link paid, and the
    /// link is past its expiry.
    OutcomeUnknown,
}

impl Attention {
    pub const ALL: [Attention; 4] = [
        Attention::Contradiction,
        Attention::UnprovenLookup,
        Attention::RequestCap,
        Attention::OutcomeUnknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attention::Contradiction => "contradiction",
            Attention::UnprovenLookup => "unproven-lookup",
            Attention::RequestCap => "request-cap",
            Attention::OutcomeUnknown => "outcome-unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Attention> {
        Attention::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// What the operator should do, in one sentence.
    pub fn advice(self) -> &'static str {
        match self {
            Attention::Contradiction => "the provider calls the order id a duplicate but cannot find its link: look the order id up on the provider's dashboard",
            Attention::UnprovenLookup => "lookups refused the order id and no lookup of this run found a known link, so payrun cannot tell whether the link exists: look the order id up on the provider's dashboard",
            Attention::RequestCap => "the create was sent the most times payrun allows without a usable answer: look the order id up on the provider's dashboard",
            Attention::OutcomeUnknown => "the link is past its expiry and PayU's status v1 only says the beneficiary submitted details: check on the PayU dashboard whether it paid",
        }
    }
}

impl RowState {
    pub const ALL: [RowState; 12] = [
        RowState::Invalid,
        RowState::Queued,
        RowState::Sending,
        RowState::Unknown,
        RowState::Open,
        RowState::Paid,
        RowState::Failed,
        RowState::Cancelled,
        RowState::Expired,
        RowState::Rejected,
        RowState::Attention,
        RowState::NotCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Invalid => "invalid",
            RowState::Queued => "queued",
            RowState::Sending => "sending",
            RowState::Unknown => "unknown",
            RowState::Open => "open",
            RowState::Paid => "paid",
            RowState::Failed => "failed",
            RowState::Cancelled => "cancelled",
            RowState::Expired => "expired",
            RowState::Rejected => "rejected",
            RowState::Attention => "attention",
            RowState::NotCreated => "not_created",
        }
    }

    /// Settled for good: no request about this attempt will ever be needed again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RowState::Invalid
                | RowState::Paid
                | RowState::Failed
                | RowState::Cancelled
                | RowState::Expired
                | RowState::Rejected
                | RowState::NotCreated
        )
    }
}

impl From<LinkState> for RowState {
    fn from(s: LinkState) -> Self {
        match s {
            LinkState::Open => RowState::Open,
            LinkState::Paid => RowState::Paid,
            LinkState::Failed => RowState::Failed,
            LinkState::Cancelled => RowState::Cancelled,
            LinkState::Expired => RowState::Expired,
        }
    }
}

impl fmt::Display for RowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RowState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RowState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown row state '{s}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in RowState::ALL {
            assert_eq!(s.as_str().parse::<RowState>(), Ok(s));
        }
        assert!("bogus".parse::<RowState>().is_err());
        for a in Attention::ALL {
            assert_eq!(Attention::parse(a.as_str()), Some(a));
        }
    }
}
