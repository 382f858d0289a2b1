//! The simulated Paytm driven by payrun's own client: creates, lookups, faults, beneficiaries
//! and cancels, in payrun's terms.

use super::super::{ClaimWindow, Sandbox, SandboxConfig};
use super::*;
use crate::payout::LinkState;
use crate::payout::Notify;
use crate::provider::paytm::{PaytmClient, PaytmConfig};
use crate::provider::testing::{found, row};
use crate::provider::{Lookup, Provider, ProviderError};
use crate::sandbox::SANDBOX_SUBWALLET;
use std::time::Duration;

fn client_with(sb: &Sandbox, mid: &str, key: &str) -> PaytmClient {
    PaytmClient::new(PaytmConfig {
        mid: mid.into(),
        merchant_key: key.into(),
        subwallet_guid: SANDBOX_SUBWALLET.into(),
        base_url: sb.base_url(),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn client(sb: &Sandbox) -> PaytmClient {
    client_with(sb, SANDBOX_MID, SANDBOX_KEY)
}

#[tokio::test]
async fn create_then_fetch_finds_the_open_link() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = client(&sb);
    let created = paytm.create(&row("ORD1", 150_050)).await.unwrap();
    assert_eq!(created.state, LinkState::Open);
    assert_eq!(created.provider_status.as_deref(), Some("LINK_PROCESSING"));
    let link_id = created.link_id.clone().unwrap();
    assert_eq!(link_id.len(), 25);
    assert_eq!(created.link_url, Some(format!("{LINK_URL}{link_id}")));

    let info = found(paytm.status("ORD1").await.unwrap());
    assert_eq!(info.state, LinkState::Open);
    assert_eq!(info.link_id, Some(link_id.clone()));
    assert_eq!(info.code.as_deref(), Some("PL_001"));

    let ledger = sb.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].order_id, "ORD1");
    assert_eq!(ledger[0].amount, "1500.50");
    assert_eq!(ledger[0].phone, "9876543210");
    assert_eq!(ledger[0].link_id, link_id);
    assert_eq!(ledger[0].create_requests, 1);
    assert_eq!(sb.stats().requests, 2);
}

#[tokio::test]
async fn an_unknown_order_id_is_not_found_once_the_lookup_has_found_a_link() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = client(&sb);
    let unproven = paytm.status("NOPE").await.unwrap();
    assert!(
        matches!(&unproven, Lookup::Unproven(said) if said.contains("PL_030")),
        "{unproven:?}"
    );
    paytm.create(&row("K1", 10_000)).await.unwrap();
    found(paytm.status("K1").await.unwrap());
    assert!(matches!(
        paytm.status("NOPE").await.unwrap(),
        Lookup::NotFound(said) if said.contains("PL_030")
    ));
}

#[tokio::test]
async fn a_duplicate_create_is_a_duplicate_and_never_makes_a_second_link() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = client(&sb);
    paytm.create(&row("DUP1", 10_000)).await.unwrap();
    let err = paytm.create(&row("DUP1", 10_000)).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Duplicate { code, message } if code == "PL_040" && message.contains("Duplicate")),
        "{err:?}"
    );
    let ledger = sb.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].create_requests, 2);
}

#[tokio::test]
async fn concurrent_creates_of_one_order_id_make_one_link() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = Arc::new(client(&sb));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let paytm = Arc::clone(&paytm);
            tokio::spawn(async move { paytm.create(&row("RACE1", 10_000)).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(sb.ledger().len(), 1);
    assert_eq!(sb.ledger()[0].create_requests, 8);
}

#[tokio::test]
async fn wrong_credentials_are_fatal() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let wrong_key = client_with(&sb, SANDBOX_MID, "0123456789abcdef");
    match wrong_key.create(&row("K1", 10_000)).await {
        Err(ProviderError::Fatal { code, .. }) => assert_eq!(code, "PL_404"),
        other => panic!("{other:?}"),
    }
    match wrong_key.status("K1").await {
        Err(ProviderError::Fatal { code, .. }) => assert_eq!(code, "PL_404"),
        other => panic!("{other:?}"),
    }
    let wrong_mid = client_with(&sb, "SOMEONEELSE", SANDBOX_KEY);
    match wrong_mid.create(&row("K2", 10_000)).await {
        Err(ProviderError::Fatal { code, .. }) => assert_eq!(code, "PL_019"),
        other => panic!("{other:?}"),
    }
    assert!(sb.ledger().is_empty());
}

#[tokio::test]
async fn invalid_fields_are_rejected_with_paytm_codes() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = client(&sb);
    let rejected = |r: Result<crate::payout::LinkInfo, ProviderError>| match r {
        Err(ProviderError::Rejected { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    assert_eq!(rejected(paytm.create(&row("A1", 50)).await), "PL_011");
    let mut bad_phone = row("A2", 10_000);
    bad_phone.phone = Some("12345".into());
    assert_eq!(rejected(paytm.create(&bad_phone).await), "PL_011");
    let mut no_email = row("A3", 10_000);
    no_email.notify = Notify {
        sms: true,
        email: true,
    };
    assert_eq!(rejected(paytm.create(&no_email).await), "PL_011");
    let mut no_mode = row("A4", 10_000);
    no_mode.notify = Notify {
        sms: false,
        email: false,
    };
    assert_eq!(rejected(paytm.create(&no_mode).await), "PL_010");
    let mut no_comment = row("A5", 10_000);
    no_comment.comments = String::new();
    assert_eq!(rejected(paytm.create(&no_comment).await), "PL_010");
    assert_eq!(
        rejected(paytm.create(&row(&"L".repeat(51), 10_000)).await),
        "PL_013"
    );
    let mut far = row("A6", 10_000);
    far.expiry = crate::ist::parse_iso("2999-01-01");
    assert_eq!(rejected(paytm.create(&far).await), "PL_021");
    assert!(sb.ledger().is_empty());

    let mut emailed = row("A7", 10_000);
    emailed.notify = Notify {
        sms: true,
        email: true,
    };
    emailed.email = Some("asha@example.com".into());
    paytm.create(&emailed).await.unwrap();
    assert_eq!(sb.ledger().len(), 1);
}

#[tokio::test]
async fn a_wrong_subwallet_is_fatal() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = PaytmClient::new(PaytmConfig {
        mid: SANDBOX_MID.into(),
        merchant_key: SANDBOX_KEY.into(),
        subwallet_guid: "00000000-0000-0000-0000-000000000000".into(),
        base_url: sb.base_url(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let err = paytm.create(&row("W1", 10_000)).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Fatal { code, .. } if code == "PL_054"),
        "{err:?}"
    );
}

#[tokio::test]
async fn over_the_rate_limit_is_retryable_after_one_second() {
    let sb = Sandbox::local(SandboxConfig {
        rate_limit: Some(1),
        ..SandboxConfig::idle()
    })
    .await;
    let paytm = client(&sb);
    paytm.create(&row("R1", 10_000)).await.unwrap();
    match paytm.create(&row("R2", 10_000)).await {
        Err(ProviderError::Retryable { after, code, .. }) => {
            assert_eq!(after, Some(Duration::from_secs(1)));
            assert_eq!(code, "PL_041");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.stats().throttled, 1);
    assert_eq!(sb.ledger().len(), 1, "a throttled create commits nothing");
}

#[tokio::test]
async fn injected_errors_commit_nothing() {
    let sb = Sandbox::local(SandboxConfig {
        error_rate: 1.0,
        ..SandboxConfig::idle()
    })
    .await;
    let paytm = client(&sb);
    for i in 0..6 {
        let err = paytm
            .create(&row(&format!("E{i}"), 10_000))
            .await
            .unwrap_err();
        // The client cannot know a 500 committed nothing.
        assert!(matches!(err, ProviderError::Ambiguous { .. }), "{err:?}");
        let err = paytm.status(&format!("E{i}")).await.unwrap_err();
        assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
    }
    assert!(sb.ledger().is_empty());
    assert_eq!(sb.stats().injected_errors, 12);
    // Faults change at runtime.
    sb.set_config(SandboxConfig::idle());
    paytm.create(&row("E0", 10_000)).await.unwrap();
    assert_eq!(sb.ledger().len(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_ambiguous_but_the_link_is_committed() {
    let sb = Sandbox::local(SandboxConfig {
        lost_answer_rate: 1.0,
        ..SandboxConfig::idle()
    })
    .await;
    let paytm = client(&sb);
    // Several order ids, so both ways of losing an answer (cut body, 504) occur.
    let mut kinds = Vec::new();
    for i in 0..8 {
        let order_id = format!("LOST{i}");
        let kind = scenario::lost_answer(&sb.shared.config(), &order_id).unwrap();
        let err = paytm.create(&row(&order_id, 10_000)).await.unwrap_err();
        let ProviderError::Ambiguous { message } = &err else {
            panic!("{err:?}");
        };
        let cause = match kind {
            scenario::LostAnswer::Reset => "cut off",
            scenario::LostAnswer::GatewayTimeout => "HTTP_504",
        };
        assert!(message.contains(cause), "{kind:?}: {message}");
        kinds.push(kind);
        let info = found(paytm.status(&order_id).await.unwrap());
        assert_eq!(info.state, LinkState::Open);
    }
    assert!(kinds.contains(&scenario::LostAnswer::Reset));
    assert!(kinds.contains(&scenario::LostAnswer::GatewayTimeout));
    let ledger = sb.ledger();
    assert_eq!(ledger.len(), 8);
    assert!(ledger.iter().all(|e| e.create_requests == 1));
    assert_eq!(sb.stats().lost_answers, 8);
}

#[tokio::test]
async fn a_new_link_can_be_invisible_to_the_first_lookups() {
    let sb = Sandbox::local(SandboxConfig {
        not_found_polls: 2,
        ..SandboxConfig::idle()
    })
    .await;
    let paytm = client(&sb);
    paytm.create(&row("NF1", 10_000)).await.unwrap();
    for _ in 0..2 {
        let hidden = paytm.status("NF1").await.unwrap();
        assert!(matches!(hidden, Lookup::Unproven(_)), "{hidden:?}");
    }
    assert_eq!(
        found(paytm.status("NF1").await.unwrap()).state,
        LinkState::Open
    );
}

async fn settle(paytm: &PaytmClient, order_id: &str) -> crate::payout::LinkInfo {
    for _ in 0..100 {
        let info = found(paytm.status(order_id).await.unwrap());
        if info.state != LinkState::Open {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{order_id} never settled");
}

fn quick(paid_share: f64, failed_share: f64) -> SandboxConfig {
    SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(50),
            latest: Duration::from_millis(100),
        },
        expire_after: Duration::from_millis(300),
        paid_share,
        failed_share,
        ..SandboxConfig::fast()
    }
}

#[tokio::test]
async fn beneficiaries_are_paid_fail_or_let_the_link_expire() {
    for (config, state, status) in [
        (quick(1.0, 0.0), LinkState::Paid, "SUCCESS"),
        (quick(0.0, 1.0), LinkState::Failed, "FAILURE"),
        (quick(0.0, 0.0), LinkState::Expired, "EXPIRED"),
    ] {
        let sb = Sandbox::local(config).await;
        let paytm = client(&sb);
        paytm.create(&row("LIFE1", 10_000)).await.unwrap();
        let info = settle(&paytm, "LIFE1").await;
        assert_eq!(info.state, state);
        assert_eq!(info.provider_status.as_deref(), Some(status));
        assert_eq!(sb.ledger()[0].status, status);
    }
}

#[tokio::test]
async fn a_cancelled_link_stays_cancelled() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let paytm = client(&sb);
    let link_id = paytm
        .create(&row("C1", 10_000))
        .await
        .unwrap()
        .link_id
        .unwrap();
    paytm.resend(&link_id).await.unwrap();
    paytm.cancel("C1", &link_id).await.unwrap();
    let info = found(paytm.status("C1").await.unwrap());
    assert_eq!(info.state, LinkState::Cancelled);
    assert_eq!(sb.ledger()[0].status, "CANCELLED");
    for refused in [
        paytm.cancel("C1", &link_id).await,
        paytm.resend(&link_id).await,
    ] {
        assert!(
            matches!(&refused, Err(ProviderError::Rejected { code, .. }) if code == "PL_011"),
            "{refused:?}"
        );
    }
    let unknown = paytm.cancel("C1", "NOSUCHLINK").await;
    assert!(
        matches!(&unknown, Err(ProviderError::Rejected { code, .. }) if code == "PL_011"),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn a_paid_link_cannot_be_cancelled() {
    let sb = Sandbox::local(quick(1.0, 0.0)).await;
    let paytm = client(&sb);
    let link_id = paytm
        .create(&row("P1", 10_000))
        .await
        .unwrap()
        .link_id
        .unwrap();
    settle(&paytm, "P1").await;
    let refused = paytm.cancel("P1", &link_id).await;
    assert!(
        matches!(&refused, Err(ProviderError::Rejected { code, .. }) if code == "PL_011"),
        "{refused:?}"
    );
    assert_eq!(sb.ledger()[0].status, "SUCCESS");
}

#[tokio::test]
async fn the_same_seed_replays_the_same_scenario() {
    let a = Sandbox::local(SandboxConfig {
        seed: 42,
        ..SandboxConfig::idle()
    })
    .await;
    let b = Sandbox::local(SandboxConfig {
        seed: 42,
        ..SandboxConfig::idle()
    })
    .await;
    let c = Sandbox::local(SandboxConfig {
        seed: 43,
        ..SandboxConfig::idle()
    })
    .await;
    let mut ids = Vec::new();
    for sb in [&a, &b, &c] {
        ids.push(
            client(sb)
                .create(&row("SEED1", 10_000))
                .await
                .unwrap()
                .link_id
                .unwrap(),
        );
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
}

mod raw;
