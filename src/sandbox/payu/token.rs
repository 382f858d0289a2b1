//! The simulated PayU token endpoint (client credentials, password and refresh grants) and
//! the tokens it has issued, which expire and can be revoked.

use super::super::{
    lock, scenario, Shared, SANDBOX_PAYU_CLIENT_ID, SANDBOX_PAYU_CLIENT_SECRET,
    SANDBOX_PAYU_PASSWORD, SANDBOX_PAYU_USERNAME,
};
use crate::provider::payu::TEST_PUBLIC_CLIENT_ID;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

/// Tokens issued and whether the merchant's access was revoked.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub(super) access: HashMap<String, Instant>,
    pub(super) refresh: HashSet<String>,
    pub(super) issued: u64,
    pub(super) revoked: bool,
}

impl Tokens {
    pub(crate) fn issued(&self) -> u64 {
        self.issued
    }

    /// Every token stops working, and no new one is issued.
    pub(crate) fn revoke(&mut self) {
        self.access.clear();
        self.refresh.clear();
        self.revoked = true;
    }

    fn issue(&mut self, seed: u64, ttl: Duration, refreshable: bool) -> Value {
        self.issued += 1;
        let n = self.issued;
        let access = format!("sbx{}", scenario::link_id(seed, &format!("token {n}")));
        self.access.insert(access.clone(), Instant::now() + ttl);
        let mut answer = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
            "scope": "create_payout_transactions",
            "created_at": OffsetDateTime::now_utc().unix_timestamp(),
        });
        if refreshable {
            let refresh = format!("sbr{}", scenario::link_id(seed, &format!("refresh {n}")));
            self.refresh.insert(refresh.clone());
            answer["refresh_token"] = json!(refresh);
        }
        answer
    }
}

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let config = shared.config();
    let mut tokens = lock(&shared.payu_tokens);
    let grant = field("grant_type");
    let accepted = !tokens.revoked
        && match grant {
            "client_credentials" => {
                field("client_id") == SANDBOX_PAYU_CLIENT_ID
                    && field("client_secret") == SANDBOX_PAYU_CLIENT_SECRET
            }
            "password" => {
                field("client_id") == TEST_PUBLIC_CLIENT_ID
                    && field("username") == SANDBOX_PAYU_USERNAME
                    && field("password") == SANDBOX_PAYU_PASSWORD
            }
            "refresh_token" => tokens.refresh.remove(field("refresh_token")),
            _ => false,
        };
    if !accepted {
        let (status, error) = match grant {
            "client_credentials" | "password" => (StatusCode::UNAUTHORIZED, "invalid_client"),
            "refresh_token" => (StatusCode::BAD_REQUEST, "invalid_grant"),
            _ => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        };
        let body = json!({"error": error, "error_description": "The client or grant is not valid"});
        return (status, Json(body)).into_response();
    }
    let refreshable = grant != "client_credentials";
    let answer = tokens.issue(config.seed, config.token_ttl, refreshable);
    Json(answer).into_response()
}
