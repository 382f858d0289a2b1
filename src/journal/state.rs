//! Row states (DESIGN.md "Row states") and which of them are terminal.

use crate::provider::LinkState;
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
}

impl RowState {
    pub const ALL: [RowState; 10] = [
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
    }
}
