//! Unit tests of the PayU client's own parts: what it shows of itself, the expiry it sends.

use super::*;

#[test]
fn debug_shows_no_credential() {
    let config = |credentials| PayuConfig {
        credentials,
        merchant_id: "42".into(),
        auth_url: "http://127.0.0.1:9".into(),
        base_url: "http://127.0.0.1:9".into(),
        timeout: Duration::from_secs(1),
        disable_approval: false,
    };
    let client = config(Credentials::Client {
        client_id: "cid".into(),
        client_secret: "top-secret-1".into(),
    });
    let user = config(Credentials::User {
        client_id: TEST_PUBLIC_CLIENT_ID.into(),
        username: "ops@example.com".into(),
        password: "pass-word-9".into(),
    });
    let shown = format!(
        "{client:?} {user:?} {:?}",
        PayuClient::new(client.clone()).unwrap()
    );
    assert!(
        !shown.contains("top-secret-1") && !shown.contains("pass-word-9"),
        "{shown}"
    );
    assert!(shown.contains("cid") && shown.contains(crate::secret::MASK));
}

#[test]
fn expiry_is_the_end_of_the_day_in_india() {
    let date = time::macros::date!(2026 - 03 - 20);
    assert_eq!(expiry_timestamp(date), "2026-03-20T18:29:59.000Z");
}
