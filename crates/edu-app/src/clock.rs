//! Time is a parameter: use cases ask a [`Clock`], tests advance a [`ManualClock`].

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    fn now_ms(&self) -> i64 {
        self.now().as_millisecond()
    }
}

/// The system clock (the only place the platform reads wall time).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The system clock moved by a fixed offset: the demo city lives in its own school year (2021–22) while
/// time still passes normally, so deadlines, sessions and "today" stay consistent with its data.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: SignedDuration,
}

impl ShiftedClock {
    /// A clock whose "today" is the same month and day in `year` (29 February becomes the 28th).
    pub fn into_year(year: i16) -> ShiftedClock {
        let now = Timestamp::now();
        let china = edu_model::china_time::CHINA_OFFSET;
        let wall = china.to_datetime(now);
        let day = if wall.month() == 2 && wall.day() == 29 {
            28
        } else {
            wall.day()
        };
        let target = jiff::civil::date(year, wall.month(), day).to_datetime(wall.time());
        let offset = china
            .to_timestamp(target)
            .map(|t| t.duration_since(now))
            .unwrap_or(SignedDuration::ZERO);
        ShiftedClock { offset }
    }

    pub fn offset(&self) -> SignedDuration {
        self.offset
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(self.offset)
            .unwrap_or_else(|_| Timestamp::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.checked_add(by).unwrap_or(*now);
    }

    pub fn set(&self, at: Timestamp) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_clock_lands_on_the_same_day_in_the_target_year() {
        let clock = ShiftedClock::into_year(2021);
        let china = edu_model::china_time::CHINA_OFFSET;
        let shifted = china.to_datetime(clock.now());
        let real = china.to_datetime(Timestamp::now());
        assert_eq!(shifted.year(), 2021);
        assert_eq!(shifted.month(), real.month());
        assert!(clock.offset() < SignedDuration::ZERO || real.year() <= 2021);
        let manual = ManualClock::new("2021-03-05T01:00:00Z".parse().unwrap());
        manual.advance(SignedDuration::from_hours(24));
        assert_eq!(manual.now().to_string(), "2021-03-06T01:00:00Z");
    }
}
