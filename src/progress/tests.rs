//! Unit tests of the progress figures and their text.

use super::*;
use crate::journal::StateTotal;

fn summary(states: &[(RowState, u64, i64)]) -> Summary {
    Summary {
        states: states
            .iter()
            .map(|&(state, rows, paise)| StateTotal { state, rows, paise })
            .collect(),
    }
}

fn tally(rows: u64, paise: i64) -> Tally {
    Tally { rows, paise }
}

#[test]
fn money_line_groups_amounts_the_indian_way() {
    let f = Figures::from_summary(&summary(&[
        (RowState::Paid, 213, 41_200_050),
        (RowState::Failed, 10, 900_000),
        (RowState::Expired, 2, 88_000),
        (RowState::Open, 15, 5_663_669),
        (RowState::Invalid, 3, 0),
    ]));
    assert_eq!(
        money_line(&f),
        "paid 213 ₹4,12,000.50 · failed 12 ₹9,880.00 · open 15 ₹56,636.69"
    );
}

#[test]
fn money_line_names_rows_waiting_for_a_person() {
    let f = Figures::from_summary(&summary(&[
        (RowState::Paid, 1, 10_000_000_000),
        (RowState::Attention, 2, 150_001),
    ]));
    assert_eq!(
        money_line(&f),
        "paid 1 ₹10,00,00,000.00 · failed 0 ₹0.00 · open 0 ₹0.00 · attention 2 ₹1,500.01"
    );
}

#[test]
fn pace_gives_the_request_rate_and_the_time_left() {
    let p = Pace {
        requests: 124,
        done: 100,
        left: 140,
        elapsed: Duration::from_secs(10),
    };
    // 140 rows at 10 rows a second.
    assert_eq!(pace_text(&p), "12.4 create req/s · eta 14s");
    let slow = Pace {
        requests: 30,
        done: 20,
        left: 250,
        elapsed: Duration::from_secs(60),
    };
    assert_eq!(pace_text(&slow), "0.5 create req/s · eta 12m30s");
}

#[test]
fn pace_without_a_rate_has_no_eta() {
    let none_done = Pace {
        requests: 3,
        done: 0,
        left: 240,
        elapsed: Duration::from_secs(2),
    };
    assert_eq!(pace_text(&none_done), "1.5 create req/s");
    let at_start = Pace {
        requests: 0,
        done: 0,
        left: 240,
        elapsed: Duration::ZERO,
    };
    assert_eq!(pace_text(&at_start), "0.0 create req/s");
    let finished = Pace {
        requests: 240,
        done: 240,
        left: 0,
        elapsed: Duration::from_secs(12),
    };
    assert_eq!(pace_text(&finished), "20.0 create req/s");
    assert_eq!(pace_text(&Pace::default()), "");
}

#[test]
fn durations_read_as_a_person_says_them() {
    assert_eq!(duration_text(0), "0s");
    assert_eq!(duration_text(59), "59s");
    assert_eq!(duration_text(125), "2m05s");
    assert_eq!(duration_text(3720), "1h02m");
}

#[test]
fn log_lines_carry_counts_money_and_pace() {
    let f = Figures::from_summary(&summary(&[
        (RowState::Queued, 38, 400_000),
        (RowState::Rejected, 2, 20_000),
        (RowState::Paid, 190, 38_000_000),
        (RowState::Open, 10, 100_000),
    ]));
    let p = Pace {
        requests: 198,
        done: 200,
        left: 38,
        elapsed: Duration::from_secs(10),
    };
    assert_eq!(
        created_log_line(&f, &p),
        "created 202/240 · 19.8 create req/s · eta 2s · 2 refused"
    );
    assert_eq!(
        settled_log_line(&f),
        "settled 192/240 · paid 190 ₹3,80,000.00 · failed 2 ₹200.00 · open 10 ₹1,000.00"
    );
}

#[test]
fn moves_carry_rows_and_paise_between_states() {
    let p = Progress::hidden();
    let five = Amount::from_paise(50_000);
    let two = Amount::from_paise(20_001);
    // A fresh batch as `moved` sees it: rows start queued.
    p.inner.rows[slot(RowState::Queued)].store(4, Ordering::Relaxed);
    p.inner.paise[slot(RowState::Queued)].store(50_000 * 2 + 20_001 * 2, Ordering::Relaxed);

    p.moved(RowState::Queued, RowState::Sending, five);
    p.moved(RowState::Sending, RowState::Open, five);
    p.moved(RowState::Open, RowState::Paid, five);
    let f = p.figures();
    assert_eq!(f.paid(), tally(1, 50_000));
    assert_eq!(f.get(RowState::Sending), tally(0, 0));
    assert_eq!(f.to_create(), tally(3, 90_002));
    assert_eq!(p.pace().done, 1);

    p.moved(RowState::Queued, RowState::Sending, five);
    p.moved(RowState::Sending, RowState::Open, five);
    p.moved(RowState::Open, RowState::Failed, five);
    p.moved(RowState::Queued, RowState::Sending, two);
    p.moved(RowState::Sending, RowState::Open, two);
    p.moved(RowState::Open, RowState::Expired, two);
    p.moved(RowState::Queued, RowState::Sending, two);
    p.moved(RowState::Sending, RowState::Rejected, two);
    let f = p.figures();
    assert_eq!(f.paid(), tally(1, 50_000));
    assert_eq!(f.failed(), tally(3, 50_000 + 20_001 * 2));
    assert_eq!(f.open(), tally(0, 0));
    assert_eq!(f.to_create(), tally(0, 0));
    assert_eq!(f.settled_rows(), 4);
    assert_eq!(p.pace().done, 4);
    assert_eq!(p.pace().left, 0);
}

#[test]
fn a_create_sent_back_to_the_queue_is_not_done() {
    let p = Progress::hidden();
    let amount = Amount::from_paise(999);
    p.inner.rows[slot(RowState::Queued)].store(1, Ordering::Relaxed);
    p.inner.paise[slot(RowState::Queued)].store(999, Ordering::Relaxed);
    p.moved(RowState::Queued, RowState::Sending, amount);
    p.moved(RowState::Sending, RowState::Unknown, amount);
    p.moved(RowState::Unknown, RowState::Queued, amount);
    assert_eq!(p.figures().to_create(), tally(1, 999));
    assert_eq!(p.pace().done, 0);
}

#[test]
fn a_row_moved_to_attention_at_its_request_cap_is_no_longer_to_create() {
    let p = Progress::hidden();
    p.inner.rows[slot(RowState::Queued)].store(1, Ordering::Relaxed);
    p.inner.paise[slot(RowState::Queued)].store(999, Ordering::Relaxed);
    p.moved(
        RowState::Queued,
        RowState::Attention,
        Amount::from_paise(999),
    );
    assert_eq!(p.figures().to_create(), tally(0, 0));
    assert_eq!(p.pace().done, 1);
    assert!(
        money_line(&p.figures()).contains("attention 1 ₹9.99"),
        "{}",
        money_line(&p.figures())
    );
}

#[test]
fn a_resumed_batch_starts_from_its_summary() {
    let start = Figures::from_summary(&summary(&[
        (RowState::Invalid, 1, 0),
        (RowState::Paid, 120, 24_000_000),
        (RowState::Open, 100, 2_000_000),
        (RowState::Sending, 20, 400_000),
    ]));
    let p = Progress::with_target(start.clone(), Show::Nothing);
    assert_eq!(p.figures(), start);
    assert_eq!(
        settled_log_line(&p.figures()),
        "settled 120/240 · paid 120 ₹2,40,000.00 · failed 0 ₹0.00 · open 100 ₹20,000.00"
    );
    p.moved(RowState::Open, RowState::Paid, Amount::from_paise(20_000));
    p.moved(
        RowState::Sending,
        RowState::Open,
        Amount::from_paise(20_000),
    );
    let f = p.figures();
    assert_eq!(f.paid(), tally(121, 24_020_000));
    assert_eq!(f.open(), tally(100, 2_000_000));
    assert_eq!(f.to_create(), tally(19, 380_000));
    assert_eq!(f.past_create(), 221);
    assert_eq!(f.valid_rows(), 240);
}
