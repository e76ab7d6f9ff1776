//! China time (UTC+8, no daylight saving): every business date and clock time is in it, every instant is UTC.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// The fixed offset of China Standard Time.
pub const CHINA_OFFSET: Offset = Offset::constant(8);

const SECONDS_PER_DAY: i64 = 86_400;

/// The UTC instant of a China-time date and clock time (`2021-03-05 09:00` → `2021-03-05T01:00:00Z`).
pub fn china_instant(date: Date, time: Time) -> Timestamp {
    // Conversion fails only for civil datetimes within 8 hours of jiff's minimum (year -9999): clamp there.
    CHINA_OFFSET
        .to_timestamp(date.to_datetime(time))
        .unwrap_or(Timestamp::MIN)
}

/// The China-time calendar date of an instant.
pub fn china_date(instant: Timestamp) -> Date {
    china_datetime(instant).date()
}

/// The China-time civil date and time of an instant.
pub fn china_datetime(instant: Timestamp) -> DateTime {
    CHINA_OFFSET.to_datetime(instant)
}

/// Formats an instant as China time, e.g. `2021-03-05 09:00:00`.
pub fn format_china(instant: Timestamp) -> String {
    let dt = china_datetime(instant);
    format!("{} {}", dt.date(), dt.time().strftime("%H:%M:%S"))
}

/// Days since 1970-01-01 (negative before). Lets callers do day arithmetic with plain integers.
pub fn day_number(date: Date) -> i64 {
    date.duration_since(Date::constant(1970, 1, 1))
        .as_secs()
        .div_euclid(SECONDS_PER_DAY)
}

/// The date `days` after (or before, when negative) `date`, clamped to jiff's supported range.
pub fn add_days(date: Date, days: i64) -> Date {
    let shift = SignedDuration::from_secs(days.saturating_mul(SECONDS_PER_DAY));
    date.checked_add(shift)
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

/// Whole days from `from` to `to` (positive when `to` is later).
pub fn days_between(from: Date, to: Date) -> i64 {
    day_number(to) - day_number(from)
}

/// Parses a strict `YYYY-MM-DD` date (jiff alone also accepts `YYYYMMDD`, which forms should not).
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    text.parse().ok()
}

/// Parses a strict `HH:MM` or `HH:MM:SS` clock time.
pub fn parse_time(text: &str) -> Option<Time> {
    let bytes = text.as_bytes();
    let shape_ok = (bytes.len() == 5 || bytes.len() == 8)
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 2 || i == 5 {
                *b == b':'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_in_the_morning_china_is_one_utc() {
        let due = china_instant(Date::constant(2021, 3, 5), Time::constant(9, 0, 0, 0));
        assert_eq!(due.to_string(), "2021-03-05T01:00:00Z");
        let just_after_midnight =
            china_instant(Date::constant(2021, 3, 5), Time::constant(0, 30, 0, 0));
        assert_eq!(just_after_midnight.to_string(), "2021-03-04T16:30:00Z");
        assert_eq!(china_date(just_after_midnight), Date::constant(2021, 3, 5));
        assert_eq!(format_china(due), "2021-03-05 09:00:00");
    }

    #[test]
    fn day_arithmetic() {
        let d = Date::constant(2021, 2, 27);
        assert_eq!(add_days(d, 2), Date::constant(2021, 3, 1));
        assert_eq!(add_days(d, -58), Date::constant(2020, 12, 31));
        assert_eq!(days_between(d, Date::constant(2021, 3, 1)), 2);
        assert_eq!(day_number(Date::constant(1970, 1, 2)), 1);
        assert_eq!(day_number(Date::constant(1969, 12, 31)), -1);
    }

    #[test]
    fn strict_parsing() {
        assert_eq!(parse_date("2021-03-05"), Some(Date::constant(2021, 3, 5)));
        assert_eq!(parse_date("20210305"), None);
        assert_eq!(parse_date("2021-02-30"), None);
        assert_eq!(parse_time("09:00"), Some(Time::constant(9, 0, 0, 0)));
        assert_eq!(parse_time("23:59:59"), Some(Time::constant(23, 59, 59, 0)));
        assert_eq!(parse_time("9:00"), None);
        assert_eq!(parse_time("24:00"), None);
    }
}
