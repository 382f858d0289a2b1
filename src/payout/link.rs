//! What a provider says about one payout link, in payrun's terms: the state the engine
//! acts on and the details the journal keeps. The provider clients produce it; the journal
//! stores it without knowing any provider.

/// Where a payout link stands, in payrun's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// Created and not yet settled (including provider statuses payrun does not know).
    Open,
    Paid,
    Failed,
    Cancelled,
    Expired,
}

/// What the provider says about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub state: LinkState,
    pub link_id: Option<String>,
    pub link_url: Option<String>,
    /// The provider's own status name (`PENDING`, `SUCCESS`, ...), kept for the report.
    pub provider_status: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    /// When the link expires (Unix milliseconds), when the provider says.
    pub expires_at: Option<i64>,
}
