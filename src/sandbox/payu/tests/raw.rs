//! The simulated PayU over raw HTTP: its answers asserted as PayU would send them, without a
//! client's reading of them (status v1, the dialects' missing paths, Get Account Details).

use super::super::validate::format_timestamp;
use super::*;

async fn raw_token(sb: &Sandbox) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", SANDBOX_PAYU_CLIENT_ID),
        ("client_secret", SANDBOX_PAYU_CLIENT_SECRET),
        ("scope", "create_payout_transactions"),
    ];
    let answer: Value = reqwest::Client::new()
        .post(format!("{}{TOKEN}", sb.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_string()
}

/// The v1 headers: bearer token and `payoutmerchantid`.
fn v1_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {token}")),
        ("payoutmerchantid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
    ]
}

/// A GET with `query` (URL-encoded) and `headers`: the HTTP status, the body as text and
/// as JSON (null when it is not JSON).
async fn raw_get(
    sb: &Sandbox,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&'static str, String)],
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", sb.base_url()))
        .query(query);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, text, json)
}

/// Creates a link by raw v2 create and returns its linkId.
async fn raw_create(sb: &Sandbox, token: &str, reference: &str, amount: &str) -> String {
    let body = json!({"merchantRefId": reference, "amount": amount, "custName": "Asha",
            "custMobile": "9876543210", "description": "Refund"});
    let answer: Value = reqwest::Client::new()
        .post(format!("{}{CREATE}", sb.base_url()))
        .bearer_auth(token)
        .header("pid", SANDBOX_PAYU_MERCHANT_ID)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"]["linkId"].as_str().unwrap().to_string()
}

async fn v1_by_link(sb: &Sandbox, token: &str, link_id: &str) -> Value {
    let (status, _, v) = raw_get(
        sb,
        SMARTPAY_STATUS,
        &[("linkId", link_id)],
        &v1_headers(token),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// `{status:1, code, msg, data:null}`.
fn assert_refused(v: &Value, code: u64, msg: &str) {
    assert_eq!(
        v,
        &json!({"status": 1, "msg": msg, "code": code, "data": null})
    );
}

fn beneficiaries(claim_ms: u64, paid: f64, failed: f64, expire_ms: u64) -> SandboxConfig {
    SandboxConfig {
        claim_after: ClaimWindow {
            earliest: Duration::from_millis(claim_ms),
            latest: Duration::from_millis(claim_ms),
        },
        paid_share: paid,
        failed_share: failed,
        expire_after: Duration::from_millis(expire_ms),
        ..SandboxConfig::fast()
    }
}

/// Under `dialect`, `path` is a Spring 404 even without a token; the other optional
/// paths are still served.
async fn assert_missing(dialect: Dialect, path: &str) {
    let sb = Sandbox::local(SandboxConfig::idle().with_dialect(dialect)).await;
    let (status, _, v) = raw_get(&sb, path, &[], &[]).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(
        (&v["status"], &v["error"], &v["path"]),
        (&json!(404), &json!("Not Found"), &json!(path))
    );
    let stamp = v["timestamp"].as_str().unwrap();
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    assert!(OffsetDateTime::parse(stamp, rfc3339).is_ok(), "{stamp}");
    let token = raw_token(&sb).await;
    let headers = vec![
        ("authorization", format!("Bearer {token}")),
        ("pid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
        ("payoutmerchantid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
    ];
    let query = [
        ("merchantRefId", "NONE"),
        ("payoutMerchantId", SANDBOX_PAYU_MERCHANT_ID),
        ("linkId", "NONE"),
    ];
    for other in [DETAILS, LINK_STATUS, ACCOUNT_DETAIL, SMARTPAY_STATUS] {
        if other != path {
            let (status, _, v) = raw_get(&sb, other, &query, &headers).await;
            assert_eq!(status, 200, "{other}: {v}");
        }
    }
}

#[tokio::test]
async fn payu_no_details_has_no_details_path() {
    assert_missing(Dialect::PayuNoDetails, DETAILS).await;
}

#[tokio::test]
async fn payu_no_v2_status_has_no_v2_status_path() {
    assert_missing(Dialect::PayuNoV2Status, LINK_STATUS).await;
}

#[tokio::test]
async fn payu_no_account_detail_has_no_account_detail_path() {
    assert_missing(Dialect::PayuNoAccountDetail, ACCOUNT_DETAIL).await;
}

#[tokio::test]
async fn v1_follows_a_paid_link_from_pending_to_details_already_filled() {
    let sb = Sandbox::local(beneficiaries(800, 1.0, 0.0, 10_000)).await;
    let token = raw_token(&sb).await;
    let link_id = raw_create(&sb, &token, "V1P", "1500.5").await;
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_eq!(
        (&v["status"], &v["msg"], &v["code"]),
        (&json!(0), &json!("Account Detail Pending"), &Value::Null)
    );
    let data = &v["data"];
    assert_eq!(data["linkId"], json!(link_id));
    assert_eq!(data["merchantRefId"], "V1P");
    assert_eq!(data["amount"], "1500.50");
    assert_eq!(data["custMoblie"], "9876543210");
    assert_eq!(data["custName"], "Asha");
    assert_eq!(data["custEmail"], Value::Null);
    assert_eq!(data["merchantName"], Value::Null);
    assert_eq!(data["detailFilled"], false);
    assert_eq!(data["isLinkValid"], true);
    assert_eq!(data["allowedMethod"], "both");
    assert!(data["link"].as_str().unwrap().starts_with(LINK_URL));
    assert!(data["linkExpiryDate"].is_string());
    // By merchantRefId, the same answer.
    let query = [
        ("merchantRefId", "V1P"),
        ("payoutMerchantId", SANDBOX_PAYU_MERCHANT_ID),
    ];
    let (_, _, by_ref) = raw_get(&sb, SMARTPAY_STATUS, &query, &v1_headers(&token)).await;
    assert_eq!(by_ref, v);

    // The claim settles at 800 ms; the details are in from 300 ms.
    tokio::time::sleep(Duration::from_millis(550)).await;
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_eq!(
        (&v["status"], &v["msg"]),
        (&json!(0), &json!("Account Detail Submitted"))
    );
    assert_eq!(v["data"]["detailFilled"], true);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_refused(&v, 1118, "Details already filled");
}

#[tokio::test]
async fn v1_a_failed_payout_is_1124() {
    let sb = Sandbox::local(beneficiaries(50, 0.0, 1.0, 10_000)).await;
    let token = raw_token(&sb).await;
    let link_id = raw_create(&sb, &token, "V1F", "10").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_refused(&v, 1124, "Link transaction failed");
}

#[tokio::test]
async fn v1_an_expired_link_is_1111() {
    let sb = Sandbox::local(beneficiaries(50, 0.0, 0.0, 100)).await;
    let token = raw_token(&sb).await;
    let link_id = raw_create(&sb, &token, "V1E", "10").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_refused(&v, 1111, "SmartPay Link expired");
}

#[tokio::test]
async fn v1_a_cancelled_link_is_1122() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let token = raw_token(&sb).await;
    let link_id = raw_create(&sb, &token, "V1C", "10").await;
    let cancelled: Value = reqwest::Client::new()
        .post(format!("{}{CANCEL}", sb.base_url()))
        .bearer_auth(&token)
        .header("payoutmerchantid", SANDBOX_PAYU_MERCHANT_ID)
        .form(&[("merchantRefId", "V1C")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], 0, "{cancelled}");
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_refused(&v, 1122, "SmartPay Link cancelled");
}

#[tokio::test]
async fn v1_an_unknown_link_is_1112_and_no_key_is_1101() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let token = raw_token(&sb).await;
    assert_refused(
        &v1_by_link(&sb, &token, "NO/SUCH+LINK").await,
        1112,
        "SmartPay Link not found",
    );
    let query = [
        ("merchantRefId", "NOPE"),
        ("payoutMerchantId", SANDBOX_PAYU_MERCHANT_ID),
    ];
    let (_, _, v) = raw_get(&sb, SMARTPAY_STATUS, &query, &v1_headers(&token)).await;
    assert_refused(&v, 1112, "SmartPay Link not found");
    let (_, _, v) = raw_get(&sb, SMARTPAY_STATUS, &[], &v1_headers(&token)).await;
    assert_refused(&v, 1101, "INVALID_MERCHNAT_REF_ID");
}

#[tokio::test]
async fn v1_a_link_awaiting_approval_is_1127() {
    let sb = Sandbox::local(SandboxConfig {
        approval: true,
        ..SandboxConfig::idle()
    })
    .await;
    let token = raw_token(&sb).await;
    let link_id = raw_create(&sb, &token, "V1A", "10").await;
    let v = v1_by_link(&sb, &token, &link_id).await;
    assert_refused(&v, 1127, "Approval pending");
}

#[tokio::test]
async fn v1_checks_the_token_and_the_merchant() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let token = raw_token(&sb).await;
    let link_id = raw_create(&sb, &token, "V1M", "10").await;
    let by_link = [("linkId", link_id.as_str())];
    let (status, _, v) = raw_get(&sb, SMARTPAY_STATUS, &by_link, &[]).await;
    assert_eq!((status, &v["error"]), (401, &json!("Unauthorized")), "{v}");
    let bearer = ("authorization", format!("Bearer {token}"));
    for merchant in [
        vec![bearer.clone()],
        vec![bearer.clone(), ("payoutmerchantid", "999".to_string())],
        // v1 does not know v2's header.
        vec![
            bearer.clone(),
            ("pid", SANDBOX_PAYU_MERCHANT_ID.to_string()),
        ],
    ] {
        let (status, _, v) = raw_get(&sb, SMARTPAY_STATUS, &by_link, &merchant).await;
        assert_eq!(
            (status, &v["status"], &v["code"]),
            (200, &json!(1), &json!(1100))
        );
    }
    for query in [
        vec![("merchantRefId", "V1M"), ("payoutMerchantId", "999")],
        vec![("merchantRefId", "V1M")],
        vec![("linkId", link_id.as_str()), ("payoutMerchantId", "999")],
    ] {
        let (_, _, v) = raw_get(&sb, SMARTPAY_STATUS, &query, &v1_headers(&token)).await;
        assert_eq!(
            (&v["status"], &v["code"]),
            (&json!(1), &json!(1100)),
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn account_detail_reports_the_balance_less_the_paid_links() {
    let sb = Sandbox::local(SandboxConfig {
        payu_balance_paise: 1_100_000,
        ..beneficiaries(100, 1.0, 0.0, 10_000)
    })
    .await;
    let token = raw_token(&sb).await;
    let account = |headers: Vec<(&'static str, String)>| {
        let sb = &sb;
        async move { raw_get(sb, ACCOUNT_DETAIL, &[], &headers).await }
    };
    let (status, text, v) = account(v1_headers(&token)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(r#""balance":11000.00,"#), "{text}");
    assert_eq!(
        v,
        json!({"status": 0, "msg": "Success", "code": null, "data": {
                "payoutMerchantId": 1100042, "virtualAccountNumber": "PAYU00001100042",
                "transferableAmount": 11000.0, "balance": 11000.0, "lowBalance": false,
                "ifsc": "YESB0CMSNOC", "type": "PAYOUT", "clientId": "payrun-sandbox-client"}})
    );
    raw_create(&sb, &token, "AD1", "1500.50").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, text, v) = account(v1_headers(&token)).await;
    assert!(text.contains(r#""transferableAmount":9499.50,"#), "{text}");
    assert!(text.contains(r#""balance":9499.50,"#), "{text}");
    assert_eq!(v["data"]["lowBalance"], true, "under ₹10,000");

    let (status, _, v) = account(vec![]).await;
    assert_eq!((status, &v["status"]), (401, &json!(401)));
    let mut wrong = v1_headers(&token);
    wrong[1].1 = "999".into();
    let (_, _, v) = account(wrong).await;
    assert_eq!((&v["status"], &v["code"]), (&json!(1), &json!(1100)));
}

#[tokio::test]
async fn extending_an_unknown_link_is_1112() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let token = raw_token(&sb).await;
    let until = format_timestamp(OffsetDateTime::now_utc() + time::Duration::days(2));
    let v: Value = reqwest::Client::new()
        .put(format!(
            "{}/payout/v2/smartSend/expiry/NOSUCHLINK",
            sb.base_url()
        ))
        .bearer_auth(&token)
        .header("pid", SANDBOX_PAYU_MERCHANT_ID)
        .form(&[("expiryDate", until)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_refused(&v, 1112, "SmartPay Link not found");
}
