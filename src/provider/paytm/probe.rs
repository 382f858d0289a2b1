//! The requests `payrun doctor` sends raw to Paytm, signed like any other: none can move
//! money, and their answers come back unclassified.

use super::answer::parse_envelope;
use super::{LinkBody, Op, OrderBody, PaytmClient};
use crate::provider::transport::Probe;

/// The requests `payrun doctor` sends raw, by the id each names: none can move money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probed<'a> {
    /// A status lookup of an order id.
    Fetch(&'a str),
    /// A resend of a link id.
    Resend(&'a str),
    /// A deactivate of a link id.
    Deactivate(&'a str),
}

impl Probed<'_> {
    fn op(self) -> Op {
        match self {
            Probed::Fetch(_) => Op::Status,
            Probed::Resend(_) => Op::Resend,
            Probed::Deactivate(_) => Op::Deactivate,
        }
    }

    /// The endpoint the probe asks.
    pub(crate) fn path(self) -> &'static str {
        self.op().path()
    }
}

impl PaytmClient {
    /// Sends one signed request that cannot move money and returns the answer as it came,
    /// unclassified (`payrun doctor`).
    pub(crate) async fn probe(&self, probed: Probed<'_>) -> Probe {
        let mid = self.config.mid.as_str();
        let signed = match probed {
            Probed::Fetch(order_id) => self.signed(probed.op(), &OrderBody { mid, order_id }),
            Probed::Resend(payout_link_id) | Probed::Deactivate(payout_link_id) => self.signed(
                probed.op(),
                &LinkBody {
                    mid,
                    payout_link_id,
                },
            ),
        };
        let (bytes, signature) = match signed {
            Ok(signed) => signed,
            Err(e) => return Probe::nothing(format!("not sent: {e}")),
        };
        let sent = self
            .transport
            .send(self.request(probed.op(), bytes, signature))
            .await;
        Probe::from_sent(sent, |b| parse_envelope(b).ok().map(|e| e.code))
    }
}
