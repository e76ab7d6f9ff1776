//! Business dates are in China time (UTC+8, no daylight saving); instants are stored in UTC.

use jiff::{Timestamp, civil::Date, tz::Offset};

/// China Standard Time, UTC+8.
pub const CHINA_OFFSET: Offset = Offset::constant(8);

/// The China-time calendar date of an instant.
pub fn business_date(instant: Timestamp) -> Date {
    CHINA_OFFSET.to_datetime(instant).date()
}

/// The UTC instant of a China-time wall-clock moment on a date, e.g. 09:00 on the 5th → 01:00 UTC on the 5th.
pub fn china_instant(date: Date, hour: i8, minute: i8) -> Timestamp {
    let wall = date.at(hour, minute, 0, 0);
    // A fixed offset has no gaps or folds, so conversion cannot fail for in-range dates.
    CHINA_OFFSET.to_timestamp(wall).unwrap_or(Timestamp::MIN)
}

/// Age in completed years on a date.
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = i32::from(on.year()) - i32::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn due_times_convert_to_utc() {
        let due = china_instant(date(2021, 3, 5), 9, 0);
        assert_eq!(due.to_string(), "2021-03-05T01:00:00Z");
        let late_evening = china_instant(date(2021, 3, 5), 23, 30);
        assert_eq!(late_evening.to_string(), "2021-03-05T15:30:00Z");
        assert_eq!(business_date(late_evening), date(2021, 3, 5));
        // 17:00 UTC is already the next day in China.
        let utc_evening: Timestamp = "2021-03-05T17:00:00Z".parse().unwrap();
        assert_eq!(business_date(utc_evening), date(2021, 3, 6));
    }

    #[test]
    fn ages() {
        assert_eq!(age_on(date(2015, 9, 1), date(2021, 8, 31)), 5);
        assert_eq!(age_on(date(2015, 9, 1), date(2021, 9, 1)), 6);
        assert_eq!(age_on(date(2016, 2, 29), date(2021, 2, 28)), 4);
    }
}
