//! The commented `payrun.toml` that `payrun init` writes for one provider: every setting
//! that provider reads, blank for the operator to fill in, with what each means. A blank
//! value counts as unset, so `payrun doctor` names whatever is still missing.

use super::{
    PAYTM_BASE_URL, PAYTM_MERCHANT_KEY, PAYTM_MID, PAYTM_SUBWALLET_GUID, PAYU_AUTH_URL,
    PAYU_BASE_URL, PAYU_CLIENT_ID, PAYU_CLIENT_SECRET, PAYU_DISABLE_APPROVAL, PAYU_MERCHANT_ID,
    PAYU_PASSWORD, PAYU_USERNAME,
};
use crate::payout::ProviderKind;
use crate::provider::paytm::STAGING_URL;
use crate::provider::payu;

/// The file's text for `provider`.
pub fn template(provider: ProviderKind) -> String {
    let settings = match provider {
        ProviderKind::Paytm => format!(
            r#"# Paytm Payout Links. The values are on the Paytm for Business dashboard
# (Developer settings / API keys).

# Merchant id, sent as x-mid.
{PAYTM_MID} = ""
# Merchant key (16 characters): signs every request. A secret.
{PAYTM_MERCHANT_KEY} = ""
# The sub-wallet the links are paid from (a GUID).
{PAYTM_SUBWALLET_GUID} = ""
# Staging until you switch; production is "https://dashboard.paytm.com".
{PAYTM_BASE_URL} = "{STAGING_URL}"
"#
        ),
        ProviderKind::Payu => format!(
            r#"# PayU Payouts, Smart Send. The values are on the PayU Payouts dashboard; Smart Send
# must be enabled on the account by PayU.

# Either a private client (client id and secret) ...
{PAYU_CLIENT_ID} = ""
{PAYU_CLIENT_SECRET} = ""
# ... or the dashboard login, with PayU's public client id above. The password is a secret.
# {PAYU_USERNAME} = ""
# {PAYU_PASSWORD} = ""

# The payout merchant id from the Payouts dashboard (not the payment merchant id).
{PAYU_MERCHANT_ID} = ""
# Test hosts until you switch; production is "https://accounts.payu.in" and
# "https://payout.payumoney.com".
{PAYU_AUTH_URL} = "{auth}"
{PAYU_BASE_URL} = "{base}"
# "true" sends disableApprovalFlow, when your maker-checker flow is optional.
# {PAYU_DISABLE_APPROVAL} = "false"
"#,
            auth = payu::TEST_AUTH_URL,
            base = payu::TEST_BASE_URL,
        ),
    };
    format!(
        r#"# payrun configuration for {provider}, written by `payrun init`.
# Use it with `payrun --config <this file> ...`; check it with `payrun doctor --config <this file>
# --provider {provider}`. Keys are the environment variables' names, and a variable set in the
# environment overrides the file. Keep the file private (mode 600): it holds secrets.

{settings}
# Sheet headers payrun does not know, mapped to the fields it reads
# (name, phone, email, amount, order_id, expiry, notify, comments):
[columns]
# "Beneficiary Mobile" = "phone"
# "Net Pay" = "amount"
"#,
        provider = provider.as_str(),
    )
}
