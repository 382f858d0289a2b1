//! The simulated PayU driven by payrun's own client: logins, tokens, creates, lookups,
//! cancel and extend, in payrun's terms.

use super::super::{ClaimWindow, InProcessSandbox, Sandbox, SandboxConfig};
use super::*;
use crate::payout::{LinkInfo, LinkState};
use crate::provider::payu::TEST_PUBLIC_CLIENT_ID;
use crate::provider::payu::{Credentials, PayuClient, PayuConfig};
use crate::provider::testing::{found, row};
use crate::provider::transport::Transport;
use crate::provider::{Lookup, Provider, ProviderError};
use crate::sandbox::{
    SANDBOX_PAYU_CLIENT_ID, SANDBOX_PAYU_CLIENT_SECRET, SANDBOX_PAYU_PASSWORD,
    SANDBOX_PAYU_USERNAME,
};
use std::collections::HashSet;

type JoinHandle = tokio::task::JoinHandle<Result<(), ProviderError>>;

fn config(sb: &Sandbox, credentials: Credentials) -> PayuConfig {
    config_for(&sb.base_url(), credentials)
}

fn config_for(url: &str, credentials: Credentials) -> PayuConfig {
    PayuConfig {
        credentials,
        merchant_id: SANDBOX_PAYU_MERCHANT_ID.into(),
        auth_url: url.into(),
        base_url: url.into(),
        timeout: Duration::from_secs(5),
        disable_approval: false,
    }
}

fn secret() -> Credentials {
    Credentials::Client {
        client_id: SANDBOX_PAYU_CLIENT_ID.into(),
        client_secret: SANDBOX_PAYU_CLIENT_SECRET.into(),
    }
}

fn client(sb: &Sandbox) -> PayuClient {
    PayuClient::new(config(sb, secret())).unwrap()
}

#[tokio::test]
async fn create_then_details_find_the_open_link() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let payu = client(&sb);
    let created = payu.create(&row("PU1", 150_050)).await.unwrap();
    assert_eq!(created.state, LinkState::Open);
    let link_id = created.link_id.clone().unwrap();
    assert!(link_id.contains('/') && link_id.contains('+'), "{link_id}");
    let info = found(payu.status("PU1").await.unwrap());
    assert_eq!(info.link_id.as_deref(), Some(link_id.as_str()));
    assert_eq!(info.provider_status.as_deref(), Some("PENDING"));
    let ledger = sb.ledger();
    assert_eq!(
        (ledger[0].amount.as_str(), ledger[0].phone.as_str()),
        ("1500.50", "9876543210")
    );
    assert!(matches!(
        payu.status("NOPE").await.unwrap(),
        Lookup::NotFound(said) if said.contains("not found")
    ));
    assert_eq!(sb.stats().tokens_issued, 1, "one token serves every call");
}

#[tokio::test]
async fn a_user_login_works_and_its_token_is_refreshed_not_replaced() {
    let sb = Sandbox::local(SandboxConfig {
        token_ttl: Duration::from_secs(1),
        ..SandboxConfig::idle()
    })
    .await;
    let payu = PayuClient::new(config(
        &sb,
        Credentials::User {
            client_id: TEST_PUBLIC_CLIENT_ID.into(),
            username: SANDBOX_PAYU_USERNAME.into(),
            password: SANDBOX_PAYU_PASSWORD.into(),
        },
    ))
    .unwrap();
    payu.create(&row("PU2", 10_000)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    found(payu.status("PU2").await.unwrap());
    assert_eq!(sb.stats().tokens_issued, 2);
}

/// On a paused clock: sixteen lookups leave while the token still looks good to the
/// client and reach PayU after it expired; all sixteen get a 401, and one refresh serves
/// all their re-sends.
#[tokio::test(start_paused = true)]
async fn a_token_expiring_with_sixteen_requests_in_flight_is_refreshed_once() {
    let sim = InProcessSandbox::new(SandboxConfig {
        token_ttl: Duration::from_secs(10),
        latency: Duration::from_secs(4),
        ..SandboxConfig::idle()
    });
    let transport = || Transport::InProcess {
        router: sim.router(),
        timeout: Duration::from_secs(30),
    };
    let payu = Arc::new(PayuClient::with_transports(
        PayuConfig {
            base_url: "http://in-process".into(),
            auth_url: "http://in-process".into(),
            ..config_for("http://in-process", secret())
        },
        transport(),
        transport(),
    ));
    let all = |make: fn(Arc<PayuClient>, usize) -> JoinHandle| {
        (0..16)
            .map(|i| make(Arc::clone(&payu), i))
            .collect::<Vec<_>>()
    };
    for task in all(|p, i| {
        tokio::spawn(async move { p.create(&row(&format!("T{i}"), 10_000)).await.map(|_| ()) })
    }) {
        task.await.unwrap().unwrap();
    }
    // The token, issued at 0 s, expires at 10 s and the client renews it from 9 s; the
    // creates are answered at 4 s. Lookups sent at 8.5 s reach PayU at 10.5 s.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let before = sim.arrivals().len();
    for task in all(|p, i| {
        tokio::spawn(async move {
            p.status(&format!("T{i}"))
                .await
                .map(|l| assert!(matches!(l, Lookup::Found(_))))
        })
    }) {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        sim.arrivals().len() - before,
        32,
        "sixteen 401s and sixteen re-sends"
    );
    assert_eq!(sim.stats().tokens_issued, 2, "exactly one refresh");
}

#[tokio::test]
async fn a_token_the_server_forgot_is_renewed_after_a_401() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let payu = client(&sb);
    payu.create(&row("R1", 10_000)).await.unwrap();
    // The simulator restarts its token store: the client's token is now unknown.
    lock(&sb.shared.payu_tokens).access.clear();
    found(payu.status("R1").await.unwrap());
    assert_eq!(sb.stats().tokens_issued, 2);
}

#[tokio::test]
async fn revoked_access_is_fatal_and_wrong_credentials_are_never_shown() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let payu = client(&sb);
    payu.create(&row("V1", 10_000)).await.unwrap();
    sb.revoke_payu_access();
    let err = payu.status("V1").await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Fatal { code, .. } if code == "AUTH"),
        "{err:?}"
    );
    let wrong = PayuClient::new(config(
        &sb,
        Credentials::Client {
            client_id: SANDBOX_PAYU_CLIENT_ID.into(),
            client_secret: "not-the-secret".into(),
        },
    ))
    .unwrap();
    let err = wrong.create(&row("V2", 10_000)).await.unwrap_err();
    assert!(matches!(err, ProviderError::Fatal { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
    assert_eq!(sb.ledger().len(), 1);
}

#[tokio::test]
async fn a_wrong_merchant_id_is_fatal() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let payu = PayuClient::new(PayuConfig {
        merchant_id: "999".into(),
        ..config(&sb, secret())
    })
    .unwrap();
    let err = payu.create(&row("M1", 10_000)).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Fatal { code, .. } if code == "1100"),
        "{err:?}"
    );
    assert!(sb.ledger().is_empty());
}

#[tokio::test]
async fn a_duplicate_reference_is_a_duplicate_and_makes_no_second_link() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let payu = client(&sb);
    payu.create(&row("D1", 10_000)).await.unwrap();
    let again = payu.create(&row("D1", 10_000)).await;
    assert!(
        matches!(&again, Err(ProviderError::Duplicate { code, .. }) if code == "1103"),
        "{again:?}"
    );
    let ledger = sb.ledger();
    assert_eq!((ledger.len(), ledger[0].create_requests), (1, 2));
}

#[tokio::test]
async fn invalid_fields_are_rejected_with_payu_codes() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let payu = client(&sb);
    let code = |r: Result<LinkInfo, ProviderError>| match r {
        Err(ProviderError::Rejected { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    let mut nameless = row("F1", 10_000);
    nameless.name = None;
    assert_eq!(code(payu.create(&nameless).await), "FAILED");
    assert_eq!(code(payu.create(&row("F2", 50)).await), "1104");
    let mut nowhere = row("F3", 10_000);
    nowhere.phone = None;
    assert_eq!(code(payu.create(&nowhere).await), "1108");
    let mut bad_phone = row("F4", 10_000);
    bad_phone.phone = Some("12345".into());
    assert_eq!(code(payu.create(&bad_phone).await), "1105");
    let mut past = row("F5", 10_000);
    past.expiry = crate::ist::parse_iso("2020-01-01");
    assert_eq!(code(payu.create(&past).await), "1121");
    let mut blank = row("F6", 10_000);
    blank.comments = String::new();
    assert_eq!(code(payu.create(&blank).await), "1114");
    assert!(sb.ledger().is_empty());
    let mut email_only = row("F7", 10_000);
    email_only.phone = None;
    email_only.email = Some("asha@example.com".into());
    email_only.expiry = crate::ist::parse_iso("2099-01-01");
    payu.create(&email_only).await.unwrap();
    assert_eq!(sb.ledger()[0].phone, "");
}

#[tokio::test]
async fn record_not_found_right_after_create_is_answered_by_the_link_id() {
    let sb = Sandbox::local(SandboxConfig {
        not_found_polls: 2,
        ..SandboxConfig::idle()
    })
    .await;
    let payu = client(&sb);
    let link_id = payu
        .create(&row("N1", 10_000))
        .await
        .unwrap()
        .link_id
        .unwrap();
    // A lagging Details is never read as "no such link".
    let lagging = payu.status("N1").await.unwrap();
    assert!(!matches!(lagging, Lookup::NotFound(_)), "{lagging:?}");
    let info = found(payu.status_of("N1", &link_id).await.unwrap());
    assert_eq!(
        (info.state, info.link_id.as_deref()),
        (LinkState::Open, Some(link_id.as_str()))
    );
    assert_eq!(sb.ledger().len(), 1);
}

#[tokio::test]
async fn approval_pending_links_are_open() {
    let sb = Sandbox::local(SandboxConfig {
        approval: true,
        ..SandboxConfig::idle()
    })
    .await;
    let payu = client(&sb);
    let info = payu.create(&row("A1", 10_000)).await.unwrap();
    assert_eq!(info.state, LinkState::Open);
    assert_eq!(info.provider_status.as_deref(), Some("APPROVAL_PENDING"));
    let skip = PayuClient::new(PayuConfig {
        disable_approval: true,
        ..config(&sb, secret())
    })
    .unwrap();
    let info = skip.create(&row("A2", 10_000)).await.unwrap();
    assert_eq!(info.provider_status.as_deref(), Some("PENDING"));
}

#[tokio::test]
async fn paid_failed_and_expired_links_in_payrun_terms() {
    let sb = Sandbox::local(SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(50),
            latest: Duration::from_millis(50),
        },
        expire_after: Duration::from_millis(600),
        paid_share: 0.5,
        failed_share: 0.5,
        ..SandboxConfig::fast()
    })
    .await;
    let payu = client(&sb);
    for i in 0..12 {
        payu.create(&row(&format!("S{i}"), 10_000)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen = HashSet::new();
    for i in 0..12 {
        let info = found(payu.status(&format!("S{i}")).await.unwrap());
        seen.insert((info.state, info.provider_status.unwrap()));
    }
    // A failed payout leaves the link open: the beneficiary may try again.
    assert!(
        seen.contains(&(LinkState::Paid, "SUCCESS/SUCCESS".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(LinkState::Open, "FAILED/FAILED".into())),
        "{seen:?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let states: HashSet<LinkState> = states_of(&payu, 12).await;
    assert_eq!(states, HashSet::from([LinkState::Paid, LinkState::Expired]));
}

async fn states_of(payu: &PayuClient, n: usize) -> HashSet<LinkState> {
    let mut states = HashSet::new();
    for i in 0..n {
        states.insert(found(payu.status(&format!("S{i}")).await.unwrap()).state);
    }
    states
}

#[tokio::test]
async fn cancel_by_reference_and_a_paid_link_stays_paid() {
    let sb = Sandbox::local(SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(100),
            latest: Duration::from_millis(100),
        },
        paid_share: 1.0,
        failed_share: 0.0,
        ..SandboxConfig::fast()
    })
    .await;
    let payu = client(&sb);
    let c1 = payu
        .create(&row("C1", 10_000))
        .await
        .unwrap()
        .link_id
        .unwrap();
    payu.cancel("C1", &c1).await.unwrap();
    assert_eq!(
        found(payu.status("C1").await.unwrap()).state,
        LinkState::Cancelled
    );
    // Details knows no such reference, so the link id answers (status v2: 1122).
    let by_link = found(payu.status_of("NO-SUCH-REF", &c1).await.unwrap());
    assert_eq!(by_link.state, LinkState::Cancelled);
    let p1 = payu
        .create(&row("P1", 10_000))
        .await
        .unwrap()
        .link_id
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let refused = payu.cancel("P1", &p1).await;
    assert!(
        matches!(&refused, Err(ProviderError::Rejected { code, .. }) if code == "1110"),
        "{refused:?}"
    );
    assert_eq!(
        found(payu.status("P1").await.unwrap()).state,
        LinkState::Paid
    );
}

#[tokio::test]
async fn extend_moves_an_open_links_expiry() {
    let sb = Sandbox::local(SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_secs(600),
            latest: Duration::from_secs(600),
        },
        expire_after: Duration::from_millis(300),
        ..SandboxConfig::fast()
    })
    .await;
    let payu = client(&sb);
    let link_id = payu
        .create(&row("E1", 10_000))
        .await
        .unwrap()
        .link_id
        .unwrap();
    let until = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    payu.extend(&link_id, until).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        found(payu.status("E1").await.unwrap()).state,
        LinkState::Open
    );
    payu.create(&row("E2", 10_000)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        found(payu.status("E2").await.unwrap()).state,
        LinkState::Expired
    );
}

mod raw;
