//! The PayU Payouts Smart Send client (`docs/PROVIDERS.md`): the v2 create, the
//! lookups (Smart Send Details by `merchantRefId`, status v2 by `linkId`, status v1 by either),
//! cancel and extend-expiry, and the chain that asks the lookup paths in turn.
//!
//! Lookups: Details is the documented one, v2 status is only on PayU's legacy pages and v1
//! (seed 000) is deprecated. Each is optional: one that answers 404 before ever working is
//! skipped for the run. v1 cannot say "paid": it answers "details already filled" (1118)
//! for a link whose beneficiary has acted, whatever became of the transfer. payrun keeps
//! such a link open and, past its expiry, asks a person instead of calling it expired.
//!
//! - `token`: the OAuth token every request carries, fetched, cached and renewed.
//! - `answer`: PayU's envelope and the one classification of its answers.
//! - `account`: Get Account Details.
//! - `probe`: the raw requests of `payrun doctor`.

mod account;
mod answer;
mod probe;
mod token;

pub use account::Account;
pub use answer::{outcome_unknown, V1_DETAILS_FILLED};
pub(crate) use probe::Probed;

use super::paths::Paths;
use super::transport::{Method, Request, Transport};
use super::{Lookup, Provider, ProviderError};
use crate::pacer::Pacer;
use crate::payout::LinkInfo;
use crate::payout::PayoutRow;
use crate::secret::Secret;
use answer::{classify, link_info, parse_envelope, settled, v1_info, Answer, Verdict};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use time::Date;
use token::Token;

pub const TEST_AUTH_URL: &str = "https://uat-accounts.payu.in";
pub const TEST_BASE_URL: &str = "https://uatoneapi.payu.in";
/// PayU's public client id for username/password logins on the test system (the same for
/// every merchant, published in PayU's documentation).
pub const TEST_PUBLIC_CLIENT_ID: &str =
    "6f8bb4951e030d4d7349e64a144a534778673585f86039617c167166e9154f7e";

const CREATE_PATH: &str = "/payout/v2/smartSend/link";
const DETAILS_PATH: &str = "/payout/merchant/smartSend/details";
const LINK_STATUS_PATH: &str = "/payout/v2/smartSend/status";
const V1_STATUS_PATH: &str = "/payout/smartPay/status";
const ACCOUNT_PATH: &str = "/payout/merchant/getAccountDetail";
const CANCEL_PATH: &str = "/payout/smartPay/cancel";
const EXPIRY_PATH: &str = "/payout/v2/smartSend/expiry/";

/// How payrun logs in to PayU.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// A private client id and secret (`grant_type=client_credentials`); no refresh token,
    /// so an expiring token is replaced by logging in again.
    Client {
        client_id: String,
        client_secret: Secret,
    },
    /// The public client id with the dashboard user's login (`grant_type=password`); the
    /// token is refreshed with its refresh token.
    User {
        client_id: String,
        username: String,
        password: Secret,
    },
}

/// Account and endpoints of one PayU payout merchant; its secrets are [`Secret`]s.
#[derive(Clone, Debug)]
pub struct PayuConfig {
    pub credentials: Credentials,
    /// The payout merchant id (`pid` / `payoutMerchantId`), from the Payouts dashboard.
    pub merchant_id: String,
    /// Scheme and host of the token endpoint, e.g. [`TEST_AUTH_URL`].
    pub auth_url: String,
    /// Scheme and host of the payout API, e.g. [`TEST_BASE_URL`].
    pub base_url: String,
    pub timeout: Duration,
    /// Sends `disableApprovalFlow: true`, for accounts whose maker-checker is optional.
    pub disable_approval: bool,
}

/// The operations payrun uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    /// Smart Send Details by merchantRefId: the documented lookup.
    Details,
    /// Smart Send Status v2 by linkId (only on PayU's legacy pages).
    LinkStatus,
    /// Smart Send Status v1 by linkId or merchantRefId (deprecated, documented).
    V1Status,
    Cancel,
    Extend,
    /// Get Account Details: balance and transferable amount.
    Account,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Details => "details",
            Op::LinkStatus => "link status",
            Op::V1Status => "v1 status",
            Op::Cancel => "cancel",
            Op::Extend => "extend",
            Op::Account => "account details",
        }
    }

    /// The endpoint, without a query.
    fn path(self) -> &'static str {
        match self {
            Op::Create => CREATE_PATH,
            Op::Details => DETAILS_PATH,
            Op::LinkStatus => LINK_STATUS_PATH,
            Op::V1Status => V1_STATUS_PATH,
            Op::Cancel => CANCEL_PATH,
            Op::Extend => EXPIRY_PATH,
            Op::Account => ACCOUNT_PATH,
        }
    }

    /// Operations that ask and change nothing: a 404 there may be a path this PayU host
    /// does not serve, not a wrong configuration.
    fn reads(self) -> bool {
        matches!(
            self,
            Op::Details | Op::LinkStatus | Op::V1Status | Op::Account
        )
    }
}

/// What one lookup path said.
enum Asked {
    Found(LinkInfo),
    Refused(String),
    /// The path is missing at this PayU host (`sent`: this request found that out).
    Skipped {
        sent: bool,
    },
}

/// `yyyy-MM-dd'T'HH:mm:ss.000Z` for the last second of `date` in India, as PayU expects.
pub fn expiry_timestamp(date: Date) -> String {
    let end_ist = crate::ist::end_of_day(date).to_offset(time::UtcOffset::UTC);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");
    end_ist.format(format).unwrap_or_default()
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    merchant_ref_id: &'a str,
    /// Rupees as a string, as PayU's own sample sends it: exact, with no float in between.
    amount: String,
    cust_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cust_mobile: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cust_email: Option<&'a str>,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_date: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disable_approval_flow: bool,
}

/// A PayU Smart Send client.
#[derive(Debug)]
pub struct PayuClient {
    config: PayuConfig,
    auth: Transport,
    api: Transport,
    token: tokio::sync::Mutex<Option<Token>>,
    /// The engine paces each call; a call that needs a second request (a re-send after a
    /// 401, a lookup by link id) waits here for its turn.
    pacer: Option<Arc<Pacer>>,
    paths: Paths,
}

impl PayuClient {
    pub fn new(config: PayuConfig) -> Result<Self, reqwest::Error> {
        let auth = Transport::http(&config.auth_url, config.timeout)?;
        let api = Transport::http(&config.base_url, config.timeout)?;
        Ok(Self::with_transports(config, auth, api))
    }

    /// A client over other transports (the simulator in process, for simulation tests).
    pub fn with_transports(config: PayuConfig, auth: Transport, api: Transport) -> Self {
        PayuClient {
            config,
            auth,
            api,
            token: tokio::sync::Mutex::new(None),
            pacer: None,
            paths: Paths::default(),
        }
    }

    /// Paces the second request of a call with the engine's pacer.
    pub fn paced(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    async fn next_turn(&self) {
        if let Some(pacer) = &self.pacer {
            pacer.ready().await;
        }
    }

    /// Moves a link's expiry to the end of `until` (India time).
    pub async fn extend(&self, link_id: &str, until: Date) -> Result<(), ProviderError> {
        let path = format!("{EXPIRY_PATH}{}", query_value(link_id));
        let body = query(&[("expiryDate", &expiry_timestamp(until))]);
        self.call(Op::Extend, Method::PUT, &path, Body::Form(body), link_id)
            .await
            .map(|_| ())
    }

    /// Asks one lookup path. A path that answers 404/405 before it ever worked is missing at
    /// this PayU host: it is skipped for the rest of the run, with one warning.
    async fn ask(
        &self,
        op: Op,
        query: String,
        id: &str,
        paced: bool,
    ) -> Result<Asked, ProviderError> {
        if self.paths.disabled(op.path()) {
            return Ok(Asked::Skipped { sent: false });
        }
        if paced {
            self.next_turn().await;
        }
        let path = format!("{}?{query}", op.path());
        let verdict = match self.call(op, Method::GET, &path, Body::None, id).await {
            Err(ProviderError::Rejected { code, message }) => match settled(op, &code) {
                Some((state, status)) => {
                    self.paths.prove(op.path());
                    return Ok(Asked::Found(LinkInfo {
                        state,
                        link_id: None,
                        link_url: None,
                        provider_status: Some(status.into()),
                        code: Some(code),
                        message: Some(message),
                        expires_at: None,
                    }));
                }
                None => return Err(ProviderError::Rejected { code, message }),
            },
            other => other?,
        };
        Ok(match verdict {
            Verdict::Done(env) => {
                self.paths.prove(op.path());
                Asked::Found(match op {
                    Op::V1Status => v1_info(&env),
                    _ => link_info(&env, "PENDING"),
                })
            }
            Verdict::Refused(said) => Asked::Refused(said),
            Verdict::Missing(said) => match self.paths.missing(op.path()) {
                Some(first) => {
                    if first {
                        tracing::warn!(
                            "PayU answered {said} at {}: payrun stops using it for this run and asks its other lookup paths",
                            op.path()
                        );
                    }
                    Asked::Skipped { sent: true }
                }
                // A path that has worked answers 404 about this one id.
                None => Asked::Refused(said),
            },
        })
    }

    /// Looks a link up through every path that can find it, in order, until one does:
    /// Smart Send Details by merchantRefId; then, with a link id, status v2 and v1 by link id,
    /// else status v1 by merchantRefId. Details lags new links ("fetch details after some
    /// time") and v2 is only on PayU's legacy pages, so each is optional; only when every
    /// path is missing is the lookup refused for good.
    async fn lookup(&self, order_id: &str, link_id: Option<&str>) -> Result<Lookup, ProviderError> {
        let merchant = self.config.merchant_id.as_str();
        let by_ref = query(&[("payoutMerchantId", merchant), ("merchantRefId", order_id)]);
        let mut plan = vec![(Op::Details, by_ref.clone())];
        match link_id {
            Some(link) => {
                plan.push((Op::LinkStatus, query(&[("linkId", link)])));
                plan.push((Op::V1Status, query(&[("linkId", link)])));
            }
            None => plan.push((Op::V1Status, by_ref)),
        }
        let mut refusals = Vec::new();
        let mut sent = false;
        for (op, q) in plan {
            match self.ask(op, q, order_id, sent).await? {
                Asked::Found(info) => {
                    return Ok(Lookup::Found(LinkInfo {
                        link_id: info.link_id.or_else(|| link_id.map(str::to_string)),
                        ..info
                    }))
                }
                Asked::Refused(said) => {
                    sent = true;
                    refusals.push((op, said));
                }
                Asked::Skipped {
                    sent: skipped_after,
                } => sent |= skipped_after,
            }
        }
        if refusals.is_empty() {
            return Err(ProviderError::Fatal {
                code: "HTTP_404".into(),
                message: "every PayU lookup path (Smart Send Details, status v2, status v1) answered 404; check PAYRUN_PAYU_BASE_URL".into(),
            });
        }
        let said = refusals
            .iter()
            .map(|(op, said)| format!("{} {said}", op.name()))
            .collect::<Vec<_>>()
            .join("; ");
        Ok(
            if refusals.iter().any(|(op, _)| self.paths.proven(op.path())) {
                Lookup::NotFound(said)
            } else {
                Lookup::Unproven(said)
            },
        )
    }

    /// Sends one request with the current token; a 401 renews the token and sends once more.
    async fn call(
        &self,
        op: Op,
        method: Method,
        path: &str,
        body: Body,
        id: &str,
    ) -> Result<Verdict, ProviderError> {
        let mut answer = Answer::NotSent("not sent".into());
        for round in 0..2 {
            if round > 0 {
                self.next_turn().await;
            }
            let token = self.bearer().await?;
            answer = self.send(method.clone(), path, &body, &token).await;
            if !matches!(answer, Answer::Http { status: 401, .. }) {
                break;
            }
            tracing::debug!(op = op.name(), "PayU answered 401; renewing the token");
            self.refused(&token).await;
        }
        let verdict = classify(op, answer);
        match &verdict {
            Ok(Verdict::Done(env)) => {
                tracing::debug!(op = op.name(), id, code = ?env.code, "payu answered")
            }
            Ok(Verdict::Refused(said) | Verdict::Missing(said)) => {
                tracing::debug!(op = op.name(), id, "payu refused: {said}")
            }
            Err(e) => tracing::debug!(op = op.name(), id, "payu call failed: {e}"),
        }
        verdict
    }

    async fn send(&self, method: Method, path: &str, body: &Body, token: &Secret) -> Answer {
        let request = self.request(method, path, body, token);
        Answer::from_sent(self.api.send(request).await, parse_envelope)
    }

    fn request<'a>(
        &self,
        method: Method,
        path: &'a str,
        body: &Body,
        token: &Secret,
    ) -> Request<'a> {
        let mut headers = vec![
            ("authorization", format!("Bearer {}", token.expose())),
            ("pid", self.config.merchant_id.clone()),
            ("payoutmerchantid", self.config.merchant_id.clone()),
        ];
        let bytes = match body {
            Body::None => Vec::new(),
            Body::Json(bytes) => {
                headers.push(("content-type", "application/json".into()));
                bytes.clone()
            }
            Body::Form(form) => {
                headers.push(("content-type", "application/x-www-form-urlencoded".into()));
                form.clone().into_bytes()
            }
        };
        Request {
            method,
            path,
            headers,
            body: bytes,
        }
    }
}

enum Body {
    None,
    Json(Vec<u8>),
    Form(String),
}

/// A path segment or query value, percent-encoded (link ids hold `/` and `+`).
fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Provider for PayuClient {
    async fn create(&self, row: &PayoutRow) -> Result<LinkInfo, ProviderError> {
        let body = CreateBody {
            merchant_ref_id: &row.order_id,
            amount: row.amount.to_rupees_string(),
            cust_name: row.name.as_deref().unwrap_or_default(),
            cust_mobile: row.phone.as_deref(),
            cust_email: row.email.as_deref(),
            description: &row.comments,
            expiry_date: row.expiry.map(expiry_timestamp),
            disable_approval_flow: self.config.disable_approval,
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| ProviderError::Fatal {
            code: "REQUEST".into(),
            message: format!("cannot encode the create request: {e}"),
        })?;
        let verdict = self
            .call(
                Op::Create,
                Method::POST,
                CREATE_PATH,
                Body::Json(bytes),
                &row.order_id,
            )
            .await?;
        match verdict {
            Verdict::Done(env) if env.field("linkId").is_some() => {
                let status = if env.code_is(&["1127"]) {
                    "APPROVAL_PENDING"
                } else {
                    "PENDING"
                };
                Ok(link_info(&env, status))
            }
            _ => Err(ProviderError::Ambiguous {
                message: "create answered without a linkId: look it up".into(),
            }),
        }
    }

    async fn status(&self, order_id: &str) -> Result<Lookup, ProviderError> {
        self.lookup(order_id, None).await
    }

    async fn status_of(&self, order_id: &str, link_id: &str) -> Result<Lookup, ProviderError> {
        self.lookup(order_id, Some(link_id)).await
    }

    fn follows_by_order_id(&self) -> bool {
        !self.paths.disabled(DETAILS_PATH)
    }

    async fn cancel(&self, order_id: &str, _link_id: &str) -> Result<(), ProviderError> {
        let body = query(&[("merchantRefId", order_id)]);
        self.call(
            Op::Cancel,
            Method::POST,
            CANCEL_PATH,
            Body::Form(body),
            order_id,
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
