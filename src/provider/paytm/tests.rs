//! The Paytm client against a server that records what it was sent: the signed bytes, the
//! bodies, and what timeouts and refused connections become.

use super::*;
use crate::payout::LinkState;
use crate::provider::testing::row;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const KEY: &str = "abcdefghijklmnop";

fn config(base_url: String, timeout: Duration) -> PaytmConfig {
    PaytmConfig {
        mid: "MID0001".into(),
        merchant_key: KEY.into(),
        subwallet_guid: "28054249-0000-0000-af8f-fa163e429e83".into(),
        base_url,
        timeout,
    }
}

#[test]
fn debug_hides_the_merchant_key() {
    let c = config("http://x".into(), Duration::from_secs(1));
    let shown = format!("{c:?} {:?}", PaytmClient::new(c.clone()).unwrap());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"));
}

type Captured = Arc<Mutex<Vec<(String, axum::http::HeaderMap, Vec<u8>)>>>;

/// A server that records every request and answers with `reply` after `delay`.
async fn capture(reply: Value, delay: Duration) -> (String, Captured) {
    let seen: Captured = Arc::default();
    let store = Arc::clone(&seen);
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let store = Arc::clone(&store);
            let reply = reply.clone();
            async move {
                store
                    .lock()
                    .unwrap()
                    .push((uri.path().to_string(), headers, body.to_vec()));
                tokio::time::sleep(delay).await;
                axum::Json(reply)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn sends_the_exact_bytes_it_signed() {
    let reply = json!({"status": "SUCCESS", "statusCode": "PL_001", "statusMessage": "ok",
            "result": {"payoutLinkId": "L1", "payoutLink": "https://l/L1", "payoutLinkStatus": "LINK_PROCESSING"}});
    let (base, seen) = capture(reply, Duration::ZERO).await;
    let client = PaytmClient::new(config(base, Duration::from_secs(5))).unwrap();
    let info = client.create(&row("ORD1", 150_050)).await.unwrap();
    assert_eq!(info.link_id.as_deref(), Some("L1"));
    assert_eq!(info.state, LinkState::Open);
    client.status("ORD1").await.unwrap();
    client.cancel("O1", "L1").await.unwrap();
    client.resend("L1").await.unwrap();

    let seen = seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            Op::Create.path(),
            Op::Status.path(),
            Op::Deactivate.path(),
            Op::Resend.path()
        ]
    );
    for (_, headers, body) in seen.iter() {
        assert_eq!(headers["x-mid"], "MID0001");
        assert_eq!(headers["content-type"], "application/json");
        let sig = headers["x-checksum"].to_str().unwrap();
        assert_eq!(sig.len(), 108);
        assert!(checksum::verify(body, KEY, sig));
    }
    let create: Value = serde_json::from_slice(&seen[0].2).unwrap();
    assert_eq!(
        create,
        json!({"mid": "MID0001", "orderId": "ORD1", "subwalletGuid": "28054249-0000-0000-af8f-fa163e429e83",
                "amount": "1500.50", "beneficiaryName": "Asha Rao", "beneficiaryPhoneNo": "9876543210",
                "notifyMode": ["SMS"], "comments": "March incentive"})
    );
    let status: Value = serde_json::from_slice(&seen[1].2).unwrap();
    assert_eq!(status, json!({"mid": "MID0001", "orderId": "ORD1"}));
    let cancel: Value = serde_json::from_slice(&seen[2].2).unwrap();
    assert_eq!(cancel, json!({"mid": "MID0001", "payoutLinkId": "L1"}));
}

#[tokio::test]
async fn a_create_without_a_link_id_is_ambiguous() {
    let (base, _) = capture(
        json!({"status": "SUCCESS", "statusCode": "PL_001"}),
        Duration::ZERO,
    )
    .await;
    let client = PaytmClient::new(config(base, Duration::from_secs(5))).unwrap();
    let err = client.create(&row("ORD2", 100)).await.unwrap_err();
    assert!(matches!(err, ProviderError::Ambiguous { .. }), "{err:?}");
}

#[tokio::test]
async fn a_timeout_is_ambiguous_for_create_and_retryable_for_status() {
    let (base, seen) = capture(json!({}), Duration::from_secs(5)).await;
    let client = PaytmClient::new(config(base, Duration::from_millis(200))).unwrap();
    let err = client.create(&row("ORD3", 100)).await.unwrap_err();
    assert!(matches!(err, ProviderError::Ambiguous { .. }), "{err:?}");
    let err = client.status("ORD3").await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "both requests reached the server"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retryable_even_for_create() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client =
        PaytmClient::new(config(format!("http://{addr}"), Duration::from_secs(2))).unwrap();
    let err = client.create(&row("ORD4", 100)).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_bad_merchant_key_is_fatal_and_never_shown() {
    let mut c = config("http://127.0.0.1:9".into(), Duration::from_secs(1));
    c.merchant_key = "short-secret".into();
    let err = PaytmClient::new(c)
        .unwrap()
        .create(&row("ORD5", 100))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Fatal { .. }), "{err:?}");
    assert!(!err.to_string().contains("short-secret"));
}
