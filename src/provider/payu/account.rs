//! Get Account Details: what the PayU merchant holds and may transfer now.

use super::answer::Verdict;
use super::{Body, Op, PayuClient, ACCOUNT_PATH};
use crate::provider::transport::Method;
use crate::provider::ProviderError;

/// What Get Account Details says the merchant holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub balance: crate::money::Amount,
    /// What may be paid out now.
    pub transferable: crate::money::Amount,
}

impl PayuClient {
    /// Get Account Details: what the merchant holds and may transfer now. `None` when this
    /// PayU host does not serve it.
    pub async fn account(&self) -> Result<Option<Account>, ProviderError> {
        match self
            .call(
                Op::Account,
                Method::GET,
                ACCOUNT_PATH,
                Body::None,
                "account",
            )
            .await?
        {
            Verdict::Done(env) => {
                let amount = |name: &str| {
                    let text = env.field(name)?;
                    crate::money::Amount::parse(&text).ok()
                };
                match (amount("balance"), amount("transferableAmount")) {
                    (Some(balance), Some(transferable)) => Ok(Some(Account {
                        balance,
                        transferable,
                    })),
                    _ => Err(ProviderError::Rejected {
                        code: "ACCOUNT".into(),
                        message: format!(
                            "Get Account Details answered without a readable balance: {}",
                            env.verbatim()
                        ),
                    }),
                }
            }
            Verdict::Refused(_) | Verdict::Missing(_) => Ok(None),
        }
    }
}
