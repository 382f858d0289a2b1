//! `payrun doctor`: asks a provider account what the documentation leaves open
//! (`docs/PROVIDERS.md`), moving no money. It owns the checklist (one line per
//! check, ✓/✗/–, the provider's answer verbatim), the checks in their order (settings and
//! where each came from, https, a token, a signed lookup, how "not found" reads, which
//! lookup paths and inferred paths exist, the balance, a sheet's total against it) and the
//! text and JSON rendering. Every probe names an id that cannot exist, and nothing is
//! created, so no request can move money.

use super::{Exit, Global};
use crate::cli::DoctorArgs;
use crate::config::{self, Settings, Source};
use crate::intake::{self, SheetOptions};
use crate::money::Amount;
use crate::payout::ProviderKind;
use crate::provider::paytm::{self, PaytmClient, PaytmConfig};
use crate::provider::payu::{self, PayuClient, PayuConfig};
use crate::provider::transport::Probe;
use crate::provider::ProviderConfig;
use serde::Serialize;
use std::path::Path;

/// One check's outcome: `ok` is `None` for information.
#[derive(Debug, Clone, Serialize)]
struct Check {
    check: String,
    ok: Option<bool>,
    detail: String,
}

/// The checks so far and the exit code they add up to.
#[derive(Debug)]
struct Checklist {
    checks: Vec<Check>,
    exit: Exit,
}

impl Checklist {
    fn new() -> Self {
        Checklist {
            checks: Vec::new(),
            exit: Exit::Success,
        }
    }

    fn push(&mut self, check: impl Into<String>, ok: Option<bool>, detail: impl Into<String>) {
        self.checks.push(Check {
            check: check.into(),
            ok,
            detail: detail.into(),
        });
    }

    fn pass(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Some(true), detail);
    }

    fn info(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, None, detail);
    }

    /// A ✗ that payrun can work without: the exit code stays.
    fn optional(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Some(false), format!("{} (optional)", detail.into()));
    }

    /// A ✗ that a run would stop at, with the exit code it calls for.
    fn fail(&mut self, check: impl Into<String>, detail: impl Into<String>, exit: Exit) {
        self.push(check, Some(false), detail);
        self.exit = self.exit.max(exit);
    }

    fn failed(&self) -> bool {
        self.exit != Exit::Success
    }

    fn text(&self, provider: ProviderKind) -> String {
        let mut out = format!("payrun doctor: {}\n", provider.as_str());
        for c in &self.checks {
            let mark = match c.ok {
                Some(true) => '✓',
                Some(false) => '✗',
                None => '–',
            };
            out.push_str(&format!("{mark} {}: {}\n", c.check, c.detail));
        }
        let verdict = match self.exit {
            Exit::Success => "every required check passed",
            Exit::Input => "a setting is missing or wrong; fix it and ask again",
            _ => "the provider refused or lacks something payrun needs",
        };
        out.push_str(&format!("exit {}: {verdict}\n", self.exit as u8));
        out
    }

    fn json(&self, provider: ProviderKind) -> serde_json::Value {
        serde_json::json!({
            "provider": provider.as_str(),
            "checks": self.checks,
            "exit": self.exit as u8,
        })
    }
}

pub async fn doctor(g: &Global, args: &DoctorArgs) -> anyhow::Result<Exit> {
    let mut list = Checklist::new();
    ask(g, args, &mut list).await;
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list.json(args.provider))?
        );
    } else {
        print!("{}", list.text(args.provider));
    }
    Ok(list.exit)
}

/// Runs the checks in order; settings that are missing or unsafe stop it before any request.
async fn ask(g: &Global, args: &DoctorArgs, list: &mut Checklist) {
    let settings = match Settings::load(g.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => return list.fail("config", e.to_string(), Exit::Input),
    };
    let Some(provider) = check_settings(&settings, args.provider, list) else {
        return;
    };
    let funds = match provider {
        ProviderConfig::Paytm(config) => paytm_checks(config, list).await,
        ProviderConfig::Payu(config) => payu_checks(config, list).await,
    };
    if let Some(sheet) = &args.sheet {
        check_sheet(args, sheet, &settings, &funds, list);
    }
}

// --- 1. settings ---------------------------------------------------------------------

/// One line per setting `provider` needs, saying where its value came from; the settings
/// themselves when they make a valid account.
fn check_settings(
    settings: &Settings,
    provider: ProviderKind,
    list: &mut Checklist,
) -> Option<ProviderConfig> {
    match provider {
        ProviderKind::Paytm => {
            for key in [
                config::PAYTM_MID,
                config::PAYTM_MERCHANT_KEY,
                config::PAYTM_SUBWALLET_GUID,
            ] {
                required(settings, key, list);
            }
            defaulted(settings, config::PAYTM_BASE_URL, paytm::STAGING_URL, list);
        }
        ProviderKind::Payu => {
            required(settings, config::PAYU_CLIENT_ID, list);
            payu_login(settings, list);
            required(settings, config::PAYU_MERCHANT_ID, list);
            defaulted(settings, config::PAYU_AUTH_URL, payu::TEST_AUTH_URL, list);
            defaulted(settings, config::PAYU_BASE_URL, payu::TEST_BASE_URL, list);
            defaulted(settings, config::PAYU_DISABLE_APPROVAL, "false", list);
        }
    }
    check_urls(settings, provider, list);
    match settings.provider(provider) {
        Ok(config) if !list.failed() => Some(config),
        // A value that is set but wrong (a short merchant key, a bad boolean): the lines
        // above could not tell.
        Err(e) if !list.failed() => {
            list.fail("config", e.to_string(), Exit::Input);
            None
        }
        _ => None,
    }
}

fn from(source: Source) -> String {
    match source {
        Source::Env => "from the environment".into(),
        Source::File(path) => format!("from {}", path.display()),
        Source::Default => "built-in default".into(),
    }
}

fn required(settings: &Settings, key: &'static str, list: &mut Checklist) {
    match settings.shown(key) {
        Some(value) => list.pass(
            format!("config {key}"),
            format!("{value} ({})", from(settings.source(key))),
        ),
        None => list.fail(
            format!("config {key}"),
            config::ConfigError::Missing { key }.to_string(),
            Exit::Input,
        ),
    }
}

fn defaulted(settings: &Settings, key: &'static str, default: &str, list: &mut Checklist) {
    let value = settings.shown(key).unwrap_or_else(|| default.to_string());
    list.pass(
        format!("config {key}"),
        format!("{value} ({})", from(settings.source(key))),
    );
}

/// PayU logs in with a client secret, or else with a username and password.
fn payu_login(settings: &Settings, list: &mut Checklist) {
    let user = [config::PAYU_USERNAME, config::PAYU_PASSWORD];
    if settings.is_set(config::PAYU_CLIENT_SECRET) {
        required(settings, config::PAYU_CLIENT_SECRET, list);
    } else if user.iter().all(|key| settings.is_set(key)) {
        for key in user {
            required(settings, key, list);
        }
    } else {
        list.fail(
            "config PayU login",
            config::ConfigError::NoPayuLogin.to_string(),
            Exit::Input,
        );
    }
}

// --- 2. https ------------------------------------------------------------------------

fn check_urls(settings: &Settings, provider: ProviderKind, list: &mut Checklist) {
    let urls = match provider {
        ProviderKind::Paytm => vec![(config::PAYTM_BASE_URL, paytm::STAGING_URL)],
        ProviderKind::Payu => vec![
            (config::PAYU_AUTH_URL, payu::TEST_AUTH_URL),
            (config::PAYU_BASE_URL, payu::TEST_BASE_URL),
        ],
    };
    for (key, default) in urls {
        let url = settings.url(key, default);
        let url = url.as_str();
        match config::transport_safety(url) {
            Ok(how) => list.pass(format!("https {key}"), format!("{url} ({how})")),
            Err(why) => list.fail(
                format!("https {key}"),
                format!("{key} = {url}: {why}; nothing was sent"),
                Exit::Input,
            ),
        }
    }
}

// --- 3-8. the provider ---------------------------------------------------------------

/// What the account may transfer, as far as the checks learned it.
enum Funds {
    Transferable(Amount),
    /// Why no figure is known.
    Unknown(&'static str),
}

/// An id no provider can know: a lookup of it is an unknown one, an operation on it moves
/// nothing.
fn random_id() -> String {
    format!("PAYRUNDOCTOR{:016X}", rand::random::<u64>())
}

/// Paytm codes that refuse the request's MID or checksum rather than its order id.
const PAYTM_AUTH_REFUSALS: &[&str] = &["PL_401", "PL_402", "PL_404", "PL_019", "PL_023"];

fn paytm_refuses_auth(probe: &Probe) -> bool {
    matches!(probe.status, Some(401 | 403))
        || probe
            .code
            .as_deref()
            .is_some_and(|c| PAYTM_AUTH_REFUSALS.contains(&c))
}

/// An answer as from a path that does not exist: 404/405 without an envelope, or Paytm's
/// own "API not found" (PL_403).
fn paytm_missing(probe: &Probe) -> bool {
    (matches!(probe.status, Some(404 | 405)) && probe.code.is_none())
        || probe.code.as_deref() == Some("PL_403")
}

async fn paytm_checks(config: PaytmConfig, list: &mut Checklist) -> Funds {
    const NO_BALANCE: &str = "Paytm documents no balance API for payout links";
    let client = match PaytmClient::new(config) {
        Ok(client) => client,
        Err(e) => {
            list.fail("http client", e.to_string(), Exit::Input);
            return Funds::Unknown(NO_BALANCE);
        }
    };
    let order_id = random_id();
    let lookup = client.probe(paytm::Probed::Fetch(&order_id)).await;
    // A 404 may be how this account says "not found", or the path may be missing: a path
    // that exists answers a lookup without an order id in its envelope.
    let blank = if paytm_missing(&lookup) {
        Some(client.probe(paytm::Probed::Fetch("")).await)
    } else {
        None
    };
    signed_lookup(blank.as_ref().unwrap_or(&lookup), list);
    list.info(
        "not found reads",
        format!(
            "a lookup of order id {order_id} answers {}",
            lookup.verbatim()
        ),
    );
    paytm_lookup_path(&lookup, blank.as_ref(), list);
    let link_id = random_id();
    for (name, probed) in [
        ("resend", paytm::Probed::Resend(&link_id)),
        ("deactivate", paytm::Probed::Deactivate(&link_id)),
    ] {
        let probe = client.probe(probed).await;
        inferred(name, probed.path(), &probe, paytm_missing(&probe), list);
    }
    list.info("balance", NO_BALANCE);
    Funds::Unknown(NO_BALANCE)
}

/// Check 4: Paytm verified the MID and the checksum when it answers in its envelope with
/// anything but an authentication refusal.
fn signed_lookup(probe: &Probe, list: &mut Checklist) {
    let said = probe.verbatim();
    if probe.status.is_none() {
        list.fail("signed lookup", said, Exit::ProviderDown);
    } else if paytm_refuses_auth(probe) {
        list.fail(
            "signed lookup",
            format!("refused: {said}; check PAYRUN_PAYTM_MID and PAYRUN_PAYTM_MERCHANT_KEY"),
            Exit::ProviderDown,
        );
    } else if probe.code.is_none() || paytm_missing(probe) {
        list.fail(
            "signed lookup",
            format!("no Paytm answer: {said}; check PAYRUN_PAYTM_BASE_URL"),
            Exit::ProviderDown,
        );
    } else {
        list.pass(
            "signed lookup",
            format!("accepted (MID and checksum verified): {said}"),
        );
    }
}

/// Check 6 for Paytm's one lookup path: without it no batch can be followed.
fn paytm_lookup_path(lookup: &Probe, blank: Option<&Probe>, list: &mut Checklist) {
    let name = format!("lookup {}", paytm::Probed::Fetch("").path());
    match blank {
        None if lookup.status.is_some() => list.pass(name, lookup.verbatim()),
        None => list.fail(name, lookup.verbatim(), Exit::ProviderDown),
        Some(blank) if blank.status.is_some() && !paytm_missing(blank) => list.pass(
            name,
            format!(
                "answers {} to an unknown order id, and {} to a lookup without one: the path exists",
                lookup.verbatim(),
                blank.verbatim()
            ),
        ),
        Some(blank) => list.fail(
            name,
            format!(
                "missing: {}; payrun has no other Paytm lookup",
                blank.verbatim()
            ),
            Exit::ProviderDown,
        ),
    }
}

/// Check 7: a path payrun only inferred exists when it answers in the provider's envelope.
fn inferred(name: &str, path: &str, probe: &Probe, missing: bool, list: &mut Checklist) {
    let check = format!("{name} {path}");
    let said = probe.verbatim();
    if probe.code.is_some() && !missing {
        list.pass(check, format!("exists: {said}"));
    } else if missing || matches!(probe.status, Some(404 | 405)) {
        list.optional(check, format!("missing: {said}"));
    } else {
        list.optional(check, format!("no envelope, cannot tell: {said}"));
    }
}

async fn payu_checks(config: PayuConfig, list: &mut Checklist) -> Funds {
    let token_url = format!("{}/oauth/token", config.auth_url);
    let client = match PayuClient::new(config) {
        Ok(client) => client,
        Err(e) => {
            list.fail("http client", e.to_string(), Exit::Input);
            return Funds::Unknown("no client");
        }
    };
    if let Err(e) = client.check_token().await {
        list.fail("token", e.to_string(), Exit::ProviderDown);
        return Funds::Unknown("PayU issued no token");
    }
    list.pass("token", format!("issued by {token_url}"));
    payu_lookups(&client, list).await;
    let link_id = random_id();
    let tomorrow = crate::ist::today().next_day().unwrap_or(time::Date::MAX);
    let probed = payu::Probed::Extend(&link_id, tomorrow);
    match client.probe(probed).await {
        Ok(probe) => {
            let missing = probe.code.is_none() && matches!(probe.status, Some(404 | 405));
            inferred(
                "extend",
                &format!("{}<id>", probed.path()),
                &probe,
                missing,
                list,
            );
        }
        Err(e) => list.fail("extend", e.to_string(), Exit::ProviderDown),
    }
    account(&client, list).await
}

/// Checks 5 and 6 for PayU: each lookup path asked about ids that cannot exist.
async fn payu_lookups(client: &PayuClient, list: &mut Checklist) {
    let order_id = random_id();
    let link_id = random_id();
    // In the order payrun asks them.
    let plan = [
        (
            "Smart Send Details",
            payu::Probed::Details(&order_id),
            "merchantRefId",
        ),
        ("status v2", payu::Probed::V2Status(&link_id), "linkId"),
        (
            "status v1",
            payu::Probed::V1Status(&order_id),
            "merchantRefId",
        ),
    ];
    let mut answers = Vec::with_capacity(plan.len());
    for (name, probed, by) in plan {
        match client.probe(probed).await {
            Ok(probe) => answers.push((name, probed, by, probe)),
            Err(e) => {
                return list.fail(
                    format!("lookup {}", probed.path()),
                    e.to_string(),
                    Exit::ProviderDown,
                )
            }
        }
    }
    // "Not found" reads as the first path that exists says it.
    let first = answers
        .iter()
        .find(|(.., probe)| probe.status.is_some() && !payu_missing(probe));
    if let Some((name, probed, by, probe)) = first {
        let id = match probed {
            payu::Probed::V2Status(_) => &link_id,
            _ => &order_id,
        };
        list.info(
            "not found reads",
            format!("{name} of {by} {id} answers {}", probe.verbatim()),
        );
    }
    for (name, probed, _, probe) in &answers {
        let check = format!("lookup {}", probed.path());
        if probe.status.is_none() {
            list.fail(check, probe.verbatim(), Exit::ProviderDown);
        } else if payu_missing(probe) {
            list.optional(
                check,
                format!(
                    "{name} missing: {}; payrun skips it and asks the other lookup paths",
                    probe.verbatim()
                ),
            );
        } else {
            list.pass(check, format!("{name} answers: {}", probe.verbatim()));
        }
    }
    if answers.iter().all(|(.., probe)| payu_missing(probe)) {
        list.fail(
            "lookups",
            "every PayU lookup path answers 404/405: payrun cannot follow a link; check PAYRUN_PAYU_BASE_URL",
            Exit::ProviderDown,
        );
    }
}

/// A PayU lookup path is missing when it answers 404/405, whatever the body: so the client
/// reads it too, and skips the path for the run.
fn payu_missing(probe: &Probe) -> bool {
    matches!(probe.status, Some(404 | 405))
}

/// Check 8 for PayU: Get Account Details.
async fn account(client: &PayuClient, list: &mut Checklist) -> Funds {
    const CHECK: &str = "account details";
    match client.account().await {
        Ok(Some(account)) => {
            list.pass(
                CHECK,
                format!(
                    "balance {}, transferable {}",
                    account.balance.to_indian(),
                    account.transferable.to_indian()
                ),
            );
            Funds::Transferable(account.transferable)
        }
        Ok(None) => {
            list.optional(
                CHECK,
                "Get Account Details (/payout/merchant/getAccountDetail) answers 404/405: missing",
            );
            Funds::Unknown("Get Account Details is missing at this PayU host")
        }
        Err(e) => {
            list.fail(CHECK, e.to_string(), Exit::ProviderDown);
            Funds::Unknown("Get Account Details failed")
        }
    }
}

// --- 9. the sheet --------------------------------------------------------------------

fn check_sheet(
    args: &DoctorArgs,
    sheet: &Path,
    settings: &Settings,
    funds: &Funds,
    list: &mut Checklist,
) {
    let options = SheetOptions {
        sheet: sheet.to_path_buf(),
        sheet_name: args.sheet_name.clone(),
        provider: args.provider,
        comment: args.comment.clone(),
        columns: settings.columns.clone(),
    };
    let intake = match intake::validate(&options, None) {
        Ok(intake) => intake,
        Err(e) => return list.fail("sheet", e.to_string(), Exit::Input),
    };
    let total = intake.total;
    let counts = format!(
        "{}: {} valid rows of {} ({} invalid), total {}",
        sheet.display(),
        intake.valid,
        intake.rows,
        intake.invalid_count(),
        total.to_indian()
    );
    match funds {
        Funds::Transferable(can) if *can >= total => list.pass(
            "sheet",
            format!("{counts}; transferable {} covers it", can.to_indian()),
        ),
        Funds::Transferable(can) => list.fail(
            "sheet",
            format!(
                "{counts}; transferable {} is {} short",
                can.to_indian(),
                Amount::from_paise(total.paise() - can.paise()).to_indian()
            ),
            Exit::ProviderDown,
        ),
        Funds::Unknown(why) => list.info(
            "sheet",
            format!("{counts}; {why}, so no balance can be checked"),
        ),
    }
}

#[cfg(test)]
mod tests;
