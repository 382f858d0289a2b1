//! The PayU OAuth token: one for all concurrent requests, fetched on first use, refreshed
//! shortly before it expires and once when a request is answered 401. The refresh happens
//! under a lock, so however many requests notice an expired token, one refresh is in flight
//! and the others wait for its result. A 401 with a fresh token, or a token endpoint refusing
//! the credentials, is `Fatal`: the batch stops.

use super::{query, Credentials, PayuClient};
use crate::provider::retryable;
use crate::provider::transport::{Method, Request, Sent};
use crate::provider::ProviderError;
use crate::secret::Secret;
use std::time::Duration;
use tokio::time::Instant;

const TOKEN_PATH: &str = "/oauth/token";
const SCOPE: &str = "create_payout_transactions";

/// A token and when to stop using it.
#[derive(Debug)]
pub(super) struct Token {
    access: Secret,
    refresh: Option<Secret>,
    renew_at: Instant,
}

/// What the token endpoint answered.
#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

enum Grant<'a> {
    Login,
    Refresh(&'a str),
}

impl PayuClient {
    /// Fetches a token, as the first request of a run would (`payrun doctor`).
    pub async fn check_token(&self) -> Result<(), ProviderError> {
        self.bearer().await.map(|_| ())
    }

    /// The bearer token to use now: the current one, or a new one if it is due for renewal.
    /// The lock is held while a new one is fetched, so there is one fetch at a time.
    pub(super) async fn bearer(&self) -> Result<Secret, ProviderError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref() {
            if Instant::now() < token.renew_at {
                return Ok(token.access.clone());
            }
        }
        let refresh = slot.as_ref().and_then(|t| t.refresh.clone());
        let fresh = match refresh {
            Some(refresh) => match self.fetch_token(Grant::Refresh(refresh.expose())).await {
                Ok(token) => token,
                // A refused refresh token: log in again with the credentials.
                Err(ProviderError::Fatal { .. }) => self.fetch_token(Grant::Login).await?,
                Err(e) => return Err(e),
            },
            None => self.fetch_token(Grant::Login).await?,
        };
        let access = fresh.access.clone();
        *slot = Some(fresh);
        Ok(access)
    }

    /// Forgets `used` after PayU refused it, unless another request already replaced it.
    pub(super) async fn refused(&self, used: &Secret) {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_mut().filter(|t| &t.access == used) {
            token.renew_at = Instant::now();
        }
    }

    async fn fetch_token(&self, grant: Grant<'_>) -> Result<Token, ProviderError> {
        let mut pairs: Vec<(&str, &str)> = vec![("scope", SCOPE)];
        match (&grant, &self.config.credentials) {
            (Grant::Refresh(token), Credentials::User { client_id, .. })
            | (Grant::Refresh(token), Credentials::Client { client_id, .. }) => pairs.extend([
                ("grant_type", "refresh_token"),
                ("client_id", client_id.as_str()),
                ("refresh_token", token),
            ]),
            (
                Grant::Login,
                Credentials::Client {
                    client_id,
                    client_secret,
                },
            ) => pairs.extend([
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
            ]),
            (
                Grant::Login,
                Credentials::User {
                    client_id,
                    username,
                    password,
                },
            ) => pairs.extend([
                ("grant_type", "password"),
                ("client_id", client_id.as_str()),
                ("username", username.as_str()),
                ("password", password.expose()),
            ]),
        }
        let request = Request {
            method: Method::POST,
            path: TOKEN_PATH,
            headers: vec![("content-type", "application/x-www-form-urlencoded".into())],
            body: query(&pairs).into_bytes(),
        };
        let (status, body) = match self.auth.send(request).await {
            Sent::NotSent(why) | Sent::Lost(why) => {
                return Err(retryable(None, "AUTH", format!("no token: {why}")))
            }
            Sent::Answer { status, body, .. } => (status, body),
        };
        let answer = body
            .ok()
            .and_then(|b| serde_json::from_slice::<TokenAnswer>(&b).ok());
        match (status, answer) {
            (
                200,
                Some(TokenAnswer {
                    access_token: Some(access),
                    expires_in,
                    refresh_token,
                    ..
                }),
            ) => {
                let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
                // Renew a tenth of the lifetime early (at most five minutes), so no request
                // carries a token that expires on the way.
                let margin = (lifetime / 10).min(Duration::from_secs(300));
                tracing::debug!(?lifetime, "PayU token issued");
                Ok(Token {
                    access: access.into(),
                    refresh: refresh_token.map(Secret::from),
                    renew_at: Instant::now() + lifetime - margin,
                })
            }
            (429 | 500.., _) => Err(retryable(
                None,
                &format!("HTTP_{status}"),
                "PayU's token endpoint is busy".into(),
            )),
            (_, answer) => {
                let why = answer
                    .map(|a| {
                        let error = a.error.unwrap_or_else(|| "no token in the answer".into());
                        match a.error_description {
                            Some(d) => format!("{error}: {d}"),
                            None => error,
                        }
                    })
                    .unwrap_or_else(|| "the answer is not a token".into());
                Err(ProviderError::Fatal {
                    code: "AUTH".into(),
                    message: format!(
                        "PayU refused to issue a token (HTTP {status}, {why}); check PAYRUN_PAYU_CLIENT_ID and the secret or username and password"
                    ),
                })
            }
        }
    }
}
