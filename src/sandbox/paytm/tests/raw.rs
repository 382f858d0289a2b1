//! The simulated Paytm over raw HTTP: signed and unsigned bytes, create validation, and how
//! each dialect answers an unknown order id.

use super::*;

/// Posts raw bytes, signed or not, and returns the HTTP status and JSON answer.
async fn post(sb: &Sandbox, path: &str, body: &[u8], headers: &[(&str, String)]) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", sb.base_url()))
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("x-mid", SANDBOX_MID.to_string()),
        ("x-checksum", checksum::sign(body, SANDBOX_KEY).unwrap()),
    ]
}

#[tokio::test]
async fn raw_requests_get_paytm_codes_and_never_crash_the_server() {
    let sb = Sandbox::local(SandboxConfig::idle()).await;
    let code = |v: &Value| v["statusCode"].as_str().unwrap_or_default().to_string();
    let body = br#"{"orderId":"X1"}"#;

    let (status, v) = post(&sb, FETCH, body, &[]).await;
    assert_eq!((status, code(&v)), (200, "PL_401".into()));
    let mut tampered = signed(body);
    tampered[1].1 = checksum::sign(b"{}", SANDBOX_KEY).unwrap();
    assert_eq!(code(&post(&sb, FETCH, body, &tampered).await.1), "PL_404");
    let garbage_sig = vec![
        ("x-mid", SANDBOX_MID.to_string()),
        ("x-checksum", "!!".to_string()),
    ];
    assert_eq!(
        code(&post(&sb, FETCH, body, &garbage_sig).await.1),
        "PL_404"
    );

    for (bytes, expected) in [
        (&b"not json"[..], "PL_057"),
        (b"", "PL_057"),
        (b"[1,2,3]", "PL_400"),
        (br#"{"orderId":7}"#, "PL_011"),
        (br#"{"mid":"OTHER","orderId":"X"}"#, "PL_019"),
        (br#"{}"#, "PL_010"),
    ] {
        let (status, v) = post(&sb, FETCH, bytes, &signed(bytes)).await;
        assert_eq!(
            (status, code(&v)),
            (200, expected.to_string()),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    for bytes in [
            &br#"{"orderId":"Y","amount":1500}"#[..],
            br#"{"notifyMode":"SMS"}"#,
            br#"{"orderId":null,"amount":{"a":[]}}"#,
            b"\xff\xfe\x00",
            br#"{"orderId":"Z","subwalletGuid":"5a1b2c3d-0000-4000-8000-00000000cafe","amount":"99999999999999999999.00","beneficiaryPhoneNo":"9876543210","notifyMode":["SMS"],"comments":"x"}"#,
        ] {
            let (status, v) = post(&sb, CREATE, bytes, &signed(bytes)).await;
            assert_eq!(status, 200);
            assert_eq!(v["status"], "FAILURE", "{v}");
        }
    for path in [DEACTIVATE, RESEND] {
        let bytes = br#"{"payoutLinkId":""}"#;
        assert_eq!(
            code(&post(&sb, path, bytes, &signed(bytes)).await.1),
            "PL_010"
        );
    }
    assert!(sb.ledger().is_empty());
    // The server is still up.
    assert!(matches!(
        client(&sb).status("X1").await.unwrap(),
        Lookup::Unproven(_)
    ));
}

#[test]
fn create_validation() {
    let today = time::macros::date!(2025 - 03 - 01);
    let base = json!({"orderId": "O1", "subwalletGuid": SANDBOX_SUBWALLET, "amount": "1.00",
            "beneficiaryPhoneNo": "9876543210", "notifyMode": ["SMS"], "comments": "c"});
    let check = |patch: Value| {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        validate_create(body.as_object().unwrap(), today).map_err(|r| r.code)
    };
    let ok = check(json!({})).unwrap();
    assert_eq!(ok.expiry_date, "2025-03-11");
    assert_eq!(
        check(json!({"expiryDate": "2025-03-11"}))
            .unwrap()
            .expiry_date,
        "2025-03-11"
    );
    for amount in ["1", "1.5", "1500.50", "100000"] {
        assert!(check(json!({"amount": amount})).is_ok(), "{amount}");
    }
    for amount in [
        "0.99", "1.001", "1,000", " 10", "1.", ".5", "-1", "1e3", "abc",
    ] {
        assert_eq!(check(json!({"amount": amount})), Err("PL_011"), "{amount}");
    }
    assert_eq!(check(json!({"amount": ""})), Err("PL_010"));
    assert_eq!(
        check(json!({"beneficiaryPhoneNo": "5876543210"})),
        Err("PL_011")
    );
    assert_eq!(
        check(json!({"beneficiaryPhoneNo": "98765432101"})),
        Err("PL_011")
    );
    assert_eq!(check(json!({"notifyMode": []})), Err("PL_010"));
    assert_eq!(check(json!({"notifyMode": ["FAX"]})), Err("PL_011"));
    assert_eq!(
        check(json!({"notifyMode": ["EMAIL"], "beneficiaryEmail": "a@b"})),
        Err("PL_011")
    );
    assert!(check(json!({"notifyMode": ["EMAIL"], "beneficiaryEmail": "a@b.in"})).is_ok());
    assert_eq!(check(json!({"orderId": "a b"})), Err("PL_011"));
    assert_eq!(check(json!({"orderId": "x".repeat(51)})), Err("PL_013"));
    assert!(check(json!({"orderId": "x".repeat(50)})).is_ok());
    assert_eq!(check(json!({"subwalletGuid": "other"})), Err("PL_054"));
    for expiry in [
        "2025-03-12",
        "2025-02-28",
        "2025-3-5",
        "05-03-2025",
        "2025-02-30",
    ] {
        assert_eq!(
            check(json!({"expiryDate": expiry})),
            Err("PL_021"),
            "{expiry}"
        );
    }
}

/// Posts a signed body; the HTTP status, content type and body text.
async fn post_text(sb: &Sandbox, path: &str, body: &[u8]) -> (u16, String, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", sb.base_url()))
        .body(body.to_vec());
    for (name, value) in signed(body) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

async fn raw_fetch(sb: &Sandbox, order_id: &str) -> (u16, String, String) {
    let body = json!({"orderId": order_id}).to_string();
    post_text(sb, FETCH, body.as_bytes()).await
}

async fn raw_create(sb: &Sandbox, order_id: &str) -> Value {
    let body = json!({"orderId": order_id, "subwalletGuid": SANDBOX_SUBWALLET,
            "amount": "100.00", "beneficiaryPhoneNo": "9876543210", "notifyMode": ["SMS"],
            "comments": "refund"})
    .to_string();
    let (status, _, text) = post_text(sb, CREATE, body.as_bytes()).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The fetch of an order id nobody created, under `dialect`: HTTP status and JSON body.
async fn unknown_under(dialect: Dialect) -> (u16, Value) {
    let sb = Sandbox::local(SandboxConfig::idle().with_dialect(dialect)).await;
    let (status, content_type, text) = raw_fetch(&sb, "NEVER1").await;
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    (status, serde_json::from_str(&text).unwrap())
}

fn failure(code: &str, message: &str) -> Value {
    json!({"status": "FAILURE", "statusCode": code, "statusMessage": message})
}

#[tokio::test]
async fn documented_and_payu_dialects_answer_an_unknown_order_pl030() {
    let pl030 = failure("PL_030", "No payout link found for the given order id");
    for dialect in [
        Dialect::Documented,
        Dialect::PayuNoDetails,
        Dialect::PayuNoV2Status,
        Dialect::PayuNoAccountDetail,
        Dialect::DetailsLag(3),
        Dialect::NoDuplicateCheck,
    ] {
        assert_eq!(
            unknown_under(dialect).await,
            (200, pl030.clone()),
            "{dialect}"
        );
    }
}

#[tokio::test]
async fn paytm_pl057_answers_an_unknown_order_invalid_request() {
    assert_eq!(
        unknown_under(Dialect::PaytmPl057).await,
        (200, failure("PL_057", "Invalid request"))
    );
}

#[tokio::test]
async fn paytm_pl011_answers_an_unknown_order_invalid_value() {
    assert_eq!(
        unknown_under(Dialect::PaytmPl011).await,
        (200, failure("PL_011", "Invalid value of orderId"))
    );
}

#[tokio::test]
async fn paytm_unknown_code_answers_an_unknown_order_pl1299() {
    assert_eq!(
        unknown_under(Dialect::PaytmUnknownCode).await,
        (200, failure("PL_1299", "Request could not be processed"))
    );
}

#[tokio::test]
async fn paytm_empty_answers_an_unknown_order_success_without_a_result() {
    let empty = json!({"status": "SUCCESS", "statusCode": "PL_001",
            "statusMessage": "Success", "result": {}});
    assert_eq!(unknown_under(Dialect::PaytmEmpty).await, (200, empty));
}

#[tokio::test]
async fn paytm_404_answers_an_unknown_order_with_an_html_page() {
    let sb = Sandbox::local(SandboxConfig::idle().with_dialect(Dialect::Paytm404)).await;
    let (status, content_type, text) = raw_fetch(&sb, "NEVER1").await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (
            404,
            "text/html",
            "<html><body><h1>404 Not Found</h1></body></html>"
        )
    );
}

#[tokio::test]
async fn a_hidden_new_link_is_answered_in_the_dialect_then_found() {
    let config = SandboxConfig {
        not_found_polls: 1,
        ..SandboxConfig::idle()
    };
    let sb = Sandbox::local(config.with_dialect(Dialect::PaytmPl057)).await;
    raw_create(&sb, "HID1").await;
    let (status, _, text) = raw_fetch(&sb, "HID1").await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, v), (200, failure("PL_057", "Invalid request")));
    let (_, _, text) = raw_fetch(&sb, "HID1").await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&v["statusCode"], &v["result"]["orderId"]),
        (&json!("PL_001"), &json!("HID1"))
    );
}

#[tokio::test]
async fn details_lag_hides_each_new_link_from_its_first_lookups() {
    let sb = Sandbox::local(SandboxConfig::idle().with_dialect(Dialect::DetailsLag(2))).await;
    raw_create(&sb, "LAG1").await;
    for _ in 0..2 {
        let (_, _, text) = raw_fetch(&sb, "LAG1").await;
        assert!(text.contains("PL_030"), "{text}");
    }
    let (_, _, text) = raw_fetch(&sb, "LAG1").await;
    assert!(text.contains(r#""orderId":"LAG1""#), "{text}");
}

#[tokio::test]
async fn no_duplicate_check_makes_a_second_link() {
    let sb = Sandbox::local(SandboxConfig::idle().with_dialect(Dialect::NoDuplicateCheck)).await;
    let first = raw_create(&sb, "DUP1").await;
    let second = raw_create(&sb, "DUP1").await;
    assert_eq!(
        (&first["status"], &second["status"]),
        (&json!("SUCCESS"), &json!("SUCCESS"))
    );
    assert_ne!(
        first["result"]["payoutLinkId"],
        second["result"]["payoutLinkId"]
    );
    assert_eq!(sb.ledger().len(), 2);
}

#[tokio::test]
async fn resend_and_deactivate_of_an_unknown_link_stay_pl011_in_every_dialect() {
    for dialect in Dialect::all() {
        let sb = Sandbox::local(SandboxConfig::idle().with_dialect(dialect)).await;
        let body = br#"{"payoutLinkId":"NOSUCHLINK"}"#;
        for path in [DEACTIVATE, RESEND] {
            let (status, _, text) = post_text(&sb, path, body).await;
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (status, &v["statusCode"]),
                (200, &json!("PL_011")),
                "{dialect}"
            );
        }
    }
}
