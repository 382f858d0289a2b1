//! The Paytm Payout Links client: the account it signs for, request bodies, the
//! `x-mid`/`x-checksum` signature over the exact bytes sent, and the create, status,
//! deactivate and resend calls (`docs/PROVIDERS.md`).
//!
//! - `answer`: Paytm's envelope and the one classification of its answers (§6.2).
//! - `probe`: the raw requests of `payrun doctor`.

mod answer;
mod probe;

pub(crate) use probe::Probed;

use super::checksum;
use super::paths::Paths;
use super::transport::{Method, Request, Transport};
use super::{Lookup, Provider, ProviderError};
use crate::ist;
use crate::payout::LinkInfo;
use crate::payout::PayoutRow;
use crate::secret::Secret;
use answer::{classify, link_info, parse_envelope, Answer, Verdict};
use serde::Serialize;
use std::time::Duration;

pub const STAGING_URL: &str = "https://staging-dashboard.paytm.com";

/// Account and endpoint of one Paytm merchant. The merchant key is a [`Secret`].
#[derive(Clone, Debug)]
pub struct PaytmConfig {
    pub mid: String,
    pub merchant_key: Secret,
    pub subwallet_guid: String,
    /// Scheme and host without a trailing slash, e.g. [`STAGING_URL`].
    pub base_url: String,
    /// Whole-request timeout (connect, send, answer).
    pub timeout: Duration,
}

/// The Paytm Payout Links API operations payrun uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Status,
    Deactivate,
    Resend,
}

impl Op {
    fn path(self) -> &'static str {
        match self {
            Op::Create => "/pls/api/v1/payout-link/create",
            Op::Status => "/pls/api/v2/payout-link/fetch",
            Op::Deactivate => "/pls/api/v1/payout-link/deactivate",
            Op::Resend => "/pls/api/v1/payout-link/resend",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Status => "status",
            Op::Deactivate => "deactivate",
            Op::Resend => "resend",
        }
    }

    /// Only a create moves money if repeated; everything else is safe to send again.
    fn may_commit(self) -> bool {
        self == Op::Create
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    mid: &'a str,
    order_id: &'a str,
    subwallet_guid: &'a str,
    amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_name: Option<&'a str>,
    /// Validation requires it for Paytm; a row without one is refused by Paytm, not sent blank.
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_phone_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_date: Option<String>,
    notify_mode: Vec<&'static str>,
    comments: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderBody<'a> {
    mid: &'a str,
    order_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkBody<'a> {
    mid: &'a str,
    payout_link_id: &'a str,
}

/// A Paytm Payout Links client: every request signed, sent over one transport.
#[derive(Debug)]
pub struct PaytmClient {
    transport: Transport,
    config: PaytmConfig,
    paths: Paths,
}

impl PaytmClient {
    pub fn new(config: PaytmConfig) -> Result<Self, reqwest::Error> {
        let transport = Transport::http(&config.base_url, config.timeout)?;
        Ok(Self::with_transport(config, transport))
    }

    /// A client over another transport (the simulator in process, for simulation tests).
    pub fn with_transport(config: PaytmConfig, transport: Transport) -> Self {
        PaytmClient {
            transport,
            config,
            paths: Paths::default(),
        }
    }

    /// Re-sends the SMS/e-mail of an active link.
    pub async fn resend(&self, link_id: &str) -> Result<(), ProviderError> {
        let body = LinkBody {
            mid: &self.config.mid,
            payout_link_id: link_id,
        };
        self.call(Op::Resend, &body, link_id).await.map(|_| ())
    }

    /// The body serialized once, and the signature over exactly those bytes.
    fn signed(&self, op: Op, body: &impl Serialize) -> Result<(Vec<u8>, String), ProviderError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ProviderError::Fatal {
            code: "REQUEST".into(),
            message: format!("cannot encode the {} request: {e}", op.name()),
        })?;
        let signature = checksum::sign(&bytes, self.config.merchant_key.expose()).map_err(|e| {
            ProviderError::Fatal {
                code: "CONFIG".into(),
                message: e.to_string(),
            }
        })?;
        Ok((bytes, signature))
    }

    /// Serializes once, signs those bytes, sends the same bytes, classifies the answer.
    async fn call(
        &self,
        op: Op,
        body: &impl Serialize,
        id: &str,
    ) -> Result<Verdict, ProviderError> {
        let (bytes, signature) = self.signed(op, body)?;
        let answer = self.send(op, bytes, signature).await;
        let verdict = classify(op, answer);
        match &verdict {
            Ok(Verdict::Done(env)) => {
                tracing::debug!(op = op.name(), id, code = %env.code, "paytm answered")
            }
            Ok(Verdict::Refused(said)) => {
                tracing::debug!(op = op.name(), id, "paytm refused the lookup: {said}")
            }
            Err(e) => tracing::debug!(op = op.name(), id, "paytm call failed: {e}"),
        }
        verdict
    }

    async fn send(&self, op: Op, bytes: Vec<u8>, signature: String) -> Answer {
        let request = self.request(op, bytes, signature);
        Answer::from_sent(self.transport.send(request).await, parse_envelope)
    }

    fn request(&self, op: Op, bytes: Vec<u8>, signature: String) -> Request<'static> {
        Request {
            method: Method::POST,
            path: op.path(),
            headers: vec![
                ("x-mid", self.config.mid.clone()),
                ("x-checksum", signature),
                ("content-type", "application/json".into()),
            ],
            body: bytes,
        }
    }
}

impl Provider for PaytmClient {
    async fn create(&self, row: &PayoutRow) -> Result<LinkInfo, ProviderError> {
        let body = CreateBody {
            mid: &self.config.mid,
            order_id: &row.order_id,
            subwallet_guid: &self.config.subwallet_guid,
            amount: row.amount.to_rupees_string(),
            beneficiary_name: row.name.as_deref(),
            beneficiary_phone_no: row.phone.as_deref(),
            beneficiary_email: row.email.as_deref(),
            expiry_date: row.expiry.map(ist::iso),
            notify_mode: row.notify.modes(),
            comments: &row.comments,
        };
        match self.call(Op::Create, &body, &row.order_id).await? {
            Verdict::Done(env) => {
                let info = link_info(&env);
                if info.link_id.is_none() {
                    return Err(ProviderError::Ambiguous {
                        message: "create accepted but the answer names no link: look it up".into(),
                    });
                }
                Ok(info)
            }
            // `classify` refuses only status lookups.
            Verdict::Refused(said) => Err(ProviderError::Ambiguous {
                message: format!("create answered without a link ({said}): look it up"),
            }),
        }
    }

    async fn status(&self, order_id: &str) -> Result<Lookup, ProviderError> {
        let body = OrderBody {
            mid: &self.config.mid,
            order_id,
        };
        Ok(match self.call(Op::Status, &body, order_id).await? {
            Verdict::Done(env) => {
                self.paths.prove(Op::Status.path());
                Lookup::Found(link_info(&env))
            }
            Verdict::Refused(said) => self.paths.refusal(Op::Status.path(), said),
        })
    }

    async fn cancel(&self, _order_id: &str, link_id: &str) -> Result<(), ProviderError> {
        let body = LinkBody {
            mid: &self.config.mid,
            payout_link_id: link_id,
        };
        self.call(Op::Deactivate, &body, link_id).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests;
