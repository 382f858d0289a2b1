//! Unit tests of the doctor's checklist.

use super::*;

fn probe(status: Option<u16>, code: Option<&str>) -> Probe {
    Probe {
        status,
        body: "body".into(),
        code: code.map(str::to_string),
    }
}

#[test]
fn paytm_answers_read_as_refusals_or_missing_paths() {
    assert!(paytm_refuses_auth(&probe(Some(200), Some("PL_404"))));
    assert!(paytm_refuses_auth(&probe(Some(403), None)));
    assert!(!paytm_refuses_auth(&probe(Some(200), Some("PL_057"))));
    assert!(paytm_missing(&probe(Some(404), None)));
    assert!(paytm_missing(&probe(Some(200), Some("PL_403"))));
    assert!(!paytm_missing(&probe(Some(404), Some("PL_030"))));
}

#[test]
fn the_exit_code_is_the_worst_required_failure() {
    let mut list = Checklist::new();
    list.pass("a", "fine");
    list.optional("b", "missing");
    assert_eq!(list.exit, Exit::Success);
    list.fail("c", "refused", Exit::ProviderDown);
    list.fail("d", "unset", Exit::Input);
    assert_eq!(list.exit, Exit::ProviderDown);
    let text = list.text(ProviderKind::Paytm);
    assert!(
        text.contains("✓ a: fine\n✗ b: missing (optional)\n✗ c: refused"),
        "{text}"
    );
    assert!(text.ends_with("exit 4: the provider refused or lacks something payrun needs\n"));
    let json = list.json(ProviderKind::Paytm);
    assert_eq!(json["exit"], 4);
    assert_eq!(json["checks"][1]["ok"], false);
}
