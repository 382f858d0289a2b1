//! The requests `payrun doctor` sends raw to PayU: none can move money, and their answers
//! come back unclassified.

use super::answer::parse_envelope;
use super::{
    expiry_timestamp, query, query_value, Body, PayuClient, DETAILS_PATH, EXPIRY_PATH,
    LINK_STATUS_PATH, V1_STATUS_PATH,
};
use crate::provider::transport::{Method, Probe};
use crate::provider::ProviderError;
use time::Date;

/// The requests `payrun doctor` sends raw, by the id each names: none can move money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probed<'a> {
    /// Smart Send Details of a merchantRefId.
    Details(&'a str),
    /// Smart Send Status v2 of a link id.
    V2Status(&'a str),
    /// Smart Send Status v1 of a merchantRefId.
    V1Status(&'a str),
    /// Extend expiry of a link id to the end of a date.
    Extend(&'a str, Date),
}

impl Probed<'_> {
    /// The endpoint the probe asks, without its query.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Probed::Details(_) => DETAILS_PATH,
            Probed::V2Status(_) => LINK_STATUS_PATH,
            Probed::V1Status(_) => V1_STATUS_PATH,
            Probed::Extend(..) => EXPIRY_PATH,
        }
    }
}

impl PayuClient {
    /// Sends one authorized request that cannot move money and returns the answer as it
    /// came, unclassified (`payrun doctor`). Only getting a token can fail.
    pub(crate) async fn probe(&self, probed: Probed<'_>) -> Result<Probe, ProviderError> {
        let merchant = self.config.merchant_id.as_str();
        let (method, path, body) = match probed {
            Probed::Details(order_id) | Probed::V1Status(order_id) => {
                let q = query(&[("payoutMerchantId", merchant), ("merchantRefId", order_id)]);
                (Method::GET, format!("{}?{q}", probed.path()), Body::None)
            }
            Probed::V2Status(link_id) => {
                let q = query(&[("linkId", link_id)]);
                (Method::GET, format!("{LINK_STATUS_PATH}?{q}"), Body::None)
            }
            Probed::Extend(link_id, until) => {
                let form = query(&[("expiryDate", &expiry_timestamp(until))]);
                let path = format!("{EXPIRY_PATH}{}", query_value(link_id));
                (Method::PUT, path, Body::Form(form))
            }
        };
        let token = self.bearer().await?;
        let sent = self
            .api
            .send(self.request(method, &path, &body, &token))
            .await;
        Ok(Probe::from_sent(sent, |b| {
            parse_envelope(b).ok().map(|e| e.code.unwrap_or_default())
        }))
    }
}
