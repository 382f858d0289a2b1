//! Unit tests of the journal: import, claim, update, summary and the schema guard.

use super::*;
use crate::money::Amount;
use crate::payout::Notify;
use crate::payout::{LinkInfo, LinkState};

fn payout(row_no: u64, paise: i64) -> PayoutRow {
    PayoutRow {
        row_no,
        order_id: format!("ORD{row_no}"),
        name: Some("Asha".into()),
        phone: Some("9876543210".into()),
        email: None,
        amount: Amount::from_paise(paise),
        expiry: None,
        notify: Notify::default(),
        comments: "c".into(),
    }
}

fn batch(id: &str, rows: u64) -> Batch {
    Batch {
        id: id.into(),
        sheet_path: "s.csv".into(),
        sheet_name: None,
        sheet_sha256: format!("sha-{id}"),
        provider: ProviderKind::Paytm,
        headers: vec!["name".into(), "amount".into()],
        created_at: now_rfc3339(),
        row_count: rows,
        valid_count: rows,
        total_paise: 0,
    }
}

fn open() -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("j.db")).unwrap();
    (dir, j)
}

fn import(j: &Journal, id: &str) {
    let rows = vec![
        ImportRow {
            row_no: 2,
            cells: vec!["A".into(), "10".into()],
            payout: Ok(payout(2, 1000)),
        },
        ImportRow {
            row_no: 3,
            cells: vec!["B".into(), "x".into()],
            payout: Err(vec!["bad amount".into()]),
        },
        ImportRow {
            row_no: 4,
            cells: vec!["C".into(), "25.5".into()],
            payout: Ok(payout(4, 2550)),
        },
    ];
    j.import(&batch(id, 3), &rows).unwrap();
}

fn info(state: LinkState) -> LinkInfo {
    LinkInfo {
        expires_at: None,
        state,
        link_id: Some("L1".into()),
        link_url: Some("https://l/1".into()),
        provider_status: Some("PENDING".into()),
        code: Some("PL_001".into()),
        message: None,
    }
}

#[test]
fn import_then_claim_marks_sending_once() {
    let (_d, j) = open();
    import(&j, "b1");
    assert_eq!(j.batch("b1").unwrap().unwrap().sheet_sha256, "sha-b1");
    let claimed = j.claim("b1", 10, 10, false).unwrap().picked;
    assert_eq!(
        claimed
            .iter()
            .map(|c| c.row.order_id.as_str())
            .collect::<Vec<_>>(),
        ["ORD2", "ORD4"]
    );
    assert_eq!(claimed[0].attempt.requests, 1);
    assert!(
        j.claim("b1", 10, 10, false).unwrap().picked.is_empty(),
        "a sending row is never claimed twice"
    );
    let sending = j.attempts_in("b1", &[RowState::Sending]).unwrap();
    assert_eq!(sending.len(), 2);
}

#[test]
fn requests_are_capped_per_attempt() {
    let (_d, j) = open();
    import(&j, "b1");
    let first = j.claim("b1", 1, 1, false).unwrap().picked;
    j.update(
        first[0].attempt.id,
        &Update {
            state: Some(RowState::Queued),
            ..Default::default()
        },
    )
    .unwrap();
    let next = j.claim("b1", 5, 1, false).unwrap();
    // The capped row's amount goes with it, for the progress a person watches.
    assert_eq!(
        next.capped,
        [Amount::from_paise(first[0].row.amount.paise())]
    );
    let next = next.picked;
    assert_eq!(
        next.iter().map(|c| c.attempt.row_no).collect::<Vec<_>>(),
        [4],
        "row 2 used its one request"
    );
    let capped = j.attempts_in("b1", &[RowState::Attention]).unwrap();
    assert_eq!(
        capped.len(),
        1,
        "a capped row needs a person, it is not left queued"
    );
    assert_eq!(capped[0].row_no, 2);
    assert_eq!(capped[0].attention, Some(Attention::RequestCap));
    // Only rows sent before are re-sent by `poll`.
    let j2 = open();
    import(&j2.1, "b2");
    assert!(j2.1.claim("b2", 5, 10, true).unwrap().picked.is_empty());
}

#[test]
fn terminal_states_do_not_flap_and_summary_counts_amounts() {
    let (_d, j) = open();
    import(&j, "b1");
    let claimed = j.claim("b1", 10, 10, false).unwrap().picked;
    let a = claimed[0].attempt.id;
    assert_eq!(
        j.update(
            a,
            &Update {
                state: Some(RowState::Paid),
                info: Some(&info(LinkState::Paid)),
                ..Default::default()
            }
        )
        .unwrap(),
        RowState::Paid
    );
    assert_eq!(
        j.update(
            a,
            &Update {
                state: Some(RowState::Open),
                ..Default::default()
            }
        )
        .unwrap(),
        RowState::Paid
    );
    let s = j.summary("b1").unwrap();
    assert_eq!((s.rows(RowState::Paid), s.paise(RowState::Paid)), (1, 1000));
    assert_eq!(
        (s.rows(RowState::Sending), s.paise(RowState::Sending)),
        (1, 2550)
    );
    assert_eq!(s.rows(RowState::Invalid), 1);
    let lines = j.report_rows("b1").unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].link_id.as_deref(), Some("L1"));
    assert_eq!(lines[1].provider_message.as_deref(), Some("bad amount"));
    let conn = Connection::open(j.path()).unwrap();
    let ignored: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM events WHERE detail LIKE 'ignored:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ignored, 1);
    assert!(
        conn.execute("DELETE FROM events", []).is_err(),
        "events are append-only"
    );
}

#[test]
fn order_ids_of_other_batches_are_found_and_import_is_all_or_nothing() {
    let (_d, j) = open();
    import(&j, "b1");
    assert_eq!(j.used_by("ORD2").unwrap().as_deref(), Some("b1"));
    assert_eq!(j.used_by("ORD9").unwrap(), None);
    // Same order ids in a second batch violate uniqueness: nothing of it may remain.
    let rows = vec![ImportRow {
        row_no: 2,
        cells: vec![],
        payout: Ok(payout(2, 1)),
    }];
    assert!(j.import(&batch("b2", 1), &rows).is_err());
    assert!(j.batch("b2").unwrap().is_none());
}

#[test]
fn reopening_keeps_everything_and_newer_schemas_are_refused() {
    let (d, j) = open();
    import(&j, "b1");
    drop(j);
    let path = d.path().join("j.db");
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.batches().unwrap().len(), 1);
    drop(j);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Journal::open(&path),
        Err(JournalError::TooNew { found: 99, .. })
    ));
}
