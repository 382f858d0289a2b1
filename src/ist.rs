//! India Standard Time (UTC+05:30), the clock both providers date links by: today's date
//! in India, the instant a link dated `d` expires, and the `YYYY-MM-DD` text of a date.

use time::{Date, OffsetDateTime, UtcOffset};

/// India's offset from UTC; India keeps no daylight saving.
pub const OFFSET: UtcOffset = time::macros::offset!(+5:30);

/// Today's date in India.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(OFFSET).date()
}

/// The last second of `date` in India (23:59:59 IST): when a link dated `date` expires.
pub fn end_of_day(date: Date) -> OffsetDateTime {
    date.with_hms(23, 59, 59)
        .expect("23:59:59 is a valid time")
        .assume_offset(OFFSET)
}

/// [`end_of_day`] in Unix milliseconds.
pub fn end_of_day_ms(date: Date) -> i64 {
    end_of_day(date).unix_timestamp() * 1000
}

/// `YYYY-MM-DD`.
pub fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A `YYYY-MM-DD` date, strictly.
pub fn parse_iso(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_in_india_is_utc_today_or_tomorrow() {
        let utc = OffsetDateTime::now_utc().date();
        let ist = today();
        assert!(ist == utc || Some(ist) == utc.next_day(), "{ist} vs {utc}");
    }

    #[test]
    fn a_day_ends_at_18_29_59_utc() {
        let date = Date::from_calendar_date(2026, time::Month::March, 20).unwrap();
        let end = end_of_day(date).to_offset(UtcOffset::UTC);
        assert_eq!(
            (end.date(), end.hour(), end.minute(), end.second()),
            (date, 18, 29, 59)
        );
        assert_eq!(end_of_day_ms(date), end.unix_timestamp() * 1000);
    }

    #[test]
    fn iso_round_trips_and_refuses_other_shapes() {
        let date = Date::from_calendar_date(2026, time::Month::March, 5).unwrap();
        assert_eq!(iso(date), "2026-03-05");
        assert_eq!(parse_iso("2026-03-05"), Some(date));
        for bad in ["2026-3-5x", "05/03/2026", "2026-02-30", ""] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
