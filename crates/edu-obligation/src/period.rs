//! Period arithmetic: the period containing a date, the periods in a range, and a period's window as UTC instants.

use edu_form::china_time::{add_days, china_instant, parse_date};
use jiff::Timestamp;
use jiff::civil::{Date, ISOWeekDate, Time, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::SchoolCalendar;

/// How often a return is owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cadence {
    /// `daily`: every school day of the calendar (key `2021-03-05`).
    #[serde(rename = "daily")]
    SchoolDay,
    /// `every_day`: every calendar day, holidays included (key `2021-03-05`).
    #[serde(rename = "every_day")]
    Day,
    /// `weekly`: ISO weeks, Monday to Sunday (key `2021-W09`).
    #[serde(rename = "weekly")]
    Week,
    /// `monthly`: calendar months (key `2021-03`).
    #[serde(rename = "monthly")]
    Month,
    /// `term`: terms of the calendar (key = the term id).
    #[serde(rename = "term")]
    Term,
    /// `yearly`: calendar years (key `2021`).
    #[serde(rename = "yearly")]
    Year,
}

/// One reporting period: an inclusive range of China-time dates with a stable key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
    /// Stable key (see [`Cadence`]).
    pub key: String,
}

/// Which end of the period a window point counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The period's first day.
    Start,
    /// The period's last day.
    End,
}

/// A moment relative to a period: `days` after the anchor day, at `time` China time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowPoint {
    /// Anchor day.
    pub from: Anchor,
    /// Days after the anchor day (may be negative).
    #[serde(default)]
    pub days: i32,
    /// China-time clock time (`"09:00"`, `"23:59:59"`).
    pub time: Time,
}

/// When submissions are accepted: from `opens` to `expires` inclusive; on time up to `due` inclusive, late after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowDef {
    /// Submissions accepted from.
    pub opens: WindowPoint,
    /// On time up to.
    pub due: WindowPoint,
    /// Late submissions accepted up to (equal to `due` when no late submission is accepted).
    pub expires: WindowPoint,
}

/// A period's window as UTC instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First accepted instant.
    pub opens: Timestamp,
    /// Last on-time instant.
    pub due: Timestamp,
    /// Last accepted instant.
    pub expires: Timestamp,
}

impl WindowPoint {
    /// The UTC instant of this point for a period.
    pub fn instant(&self, period: &Period) -> Timestamp {
        let anchor = match self.from {
            Anchor::Start => period.start,
            Anchor::End => period.end,
        };
        china_instant(add_days(anchor, i64::from(self.days)), self.time)
    }
}

impl WindowDef {
    /// The window of a period.
    pub fn for_period(&self, period: &Period) -> Window {
        Window {
            opens: self.opens.instant(period),
            due: self.due.instant(period),
            expires: self.expires.instant(period),
        }
    }
}

impl Cadence {
    /// The period containing `date`; `None` when the date is in none (not a school day, outside every term).
    pub fn period_containing(self, calendar: &SchoolCalendar, date: Date) -> Option<Period> {
        match self {
            Cadence::SchoolDay => calendar.is_school_day(date).then(|| day_period(date)),
            Cadence::Day => Some(day_period(date)),
            Cadence::Week => {
                let iso = date.iso_week_date();
                let monday = iso.first_of_week().ok()?.date();
                Some(Period {
                    start: monday,
                    end: add_days(monday, 6),
                    key: format!("{:04}-W{:02}", iso.year(), iso.week()),
                })
            }
            Cadence::Month => Some(Period {
                start: date.first_of_month(),
                end: date.last_of_month(),
                key: format!("{:04}-{:02}", date.year(), date.month()),
            }),
            Cadence::Term => calendar.term_containing(date).map(|t| Period {
                start: t.start,
                end: t.end,
                key: t.id.clone(),
            }),
            Cadence::Year => Some(Period {
                start: date.first_of_year(),
                end: date.last_of_year(),
                key: format!("{:04}", date.year()),
            }),
        }
    }

    /// The period with this key; `None` when the key is malformed or names no period (a non-school day, an unknown
    /// term).
    pub fn period_by_key(self, calendar: &SchoolCalendar, key: &str) -> Option<Period> {
        let start = match self {
            Cadence::SchoolDay | Cadence::Day => parse_date(key)?,
            Cadence::Week => {
                let (year, week) = key.split_once("-W")?;
                if year.len() != 4 || week.len() != 2 {
                    return None;
                }
                let iso = ISOWeekDate::new(year.parse().ok()?, week.parse().ok()?, Weekday::Monday)
                    .ok()?;
                iso.date()
            }
            Cadence::Month => {
                let (year, month) = key.split_once('-')?;
                if year.len() != 4 || month.len() != 2 {
                    return None;
                }
                Date::new(year.parse().ok()?, month.parse().ok()?, 1).ok()?
            }
            Cadence::Term => calendar.term(key)?.start,
            Cadence::Year => {
                if key.len() != 4 {
                    return None;
                }
                Date::new(key.parse().ok()?, 1, 1).ok()?
            }
        };
        self.period_containing(calendar, start)
            .filter(|p| p.key == key)
    }

    /// The periods whose first day lies in `[from, to]`, in order. When `only_in_term`, periods that do not overlap
    /// a term are left out (school-day periods are always in a term).
    pub fn periods_starting_between(
        self,
        calendar: &SchoolCalendar,
        from: Date,
        to: Date,
        only_in_term: bool,
    ) -> Vec<Period> {
        let mut out = Vec::new();
        if to < from {
            return out;
        }
        let keep = |p: &Period| !only_in_term || calendar.overlaps_term(p.start, p.end);
        match self {
            Cadence::Term => {
                let mut terms: Vec<Period> = calendar
                    .terms
                    .iter()
                    .filter(|t| from <= t.start && t.start <= to)
                    .map(|t| Period {
                        start: t.start,
                        end: t.end,
                        key: t.id.clone(),
                    })
                    .collect();
                terms.sort();
                return terms;
            }
            Cadence::SchoolDay | Cadence::Day => {
                let mut d = from;
                while d <= to {
                    if let Some(p) = self.period_containing(calendar, d).filter(keep) {
                        out.push(p);
                    }
                    let next = add_days(d, 1);
                    if next == d {
                        break;
                    }
                    d = next;
                }
            }
            Cadence::Week | Cadence::Month | Cadence::Year => {
                // Start from the period containing `from`; skip it if it started earlier.
                let mut d = from;
                while d <= to {
                    let Some(p) = self.period_containing(calendar, d) else {
                        break;
                    };
                    let next = add_days(p.end, 1);
                    if p.start >= from && keep(&p) {
                        out.push(p);
                    }
                    if next <= d {
                        break;
                    }
                    d = next;
                }
            }
        }
        out
    }
}

fn day_period(date: Date) -> Period {
    Period {
        start: date,
        end: date,
        key: date.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Term;

    fn calendar() -> SchoolCalendar {
        SchoolCalendar {
            terms: vec![Term {
                id: "2020-2021-2".into(),
                name: String::new(),
                start: Date::constant(2021, 3, 1),
                end: Date::constant(2021, 7, 9),
            }],
            school_weekdays: vec![1, 2, 3, 4, 5],
            holidays: vec![Date::constant(2021, 4, 5)],
            extra_school_days: vec![Date::constant(2021, 4, 25)],
        }
    }

    #[test]
    fn keys_round_trip() {
        let cal = calendar();
        let day = Date::constant(2021, 3, 5);
        for cadence in [
            Cadence::SchoolDay,
            Cadence::Day,
            Cadence::Week,
            Cadence::Month,
            Cadence::Term,
            Cadence::Year,
        ] {
            let p = cadence.period_containing(&cal, day).unwrap();
            assert!(p.start <= day && day <= p.end, "{cadence:?}");
            assert_eq!(
                cadence.period_by_key(&cal, &p.key),
                Some(p.clone()),
                "{cadence:?} {}",
                p.key
            );
        }
        assert_eq!(
            Cadence::Week.period_containing(&cal, day).unwrap().key,
            "2021-W09"
        );
        assert_eq!(Cadence::Week.period_by_key(&cal, "2021-W9"), None);
        assert_eq!(
            Cadence::SchoolDay.period_by_key(&cal, "2021-03-06"),
            None,
            "Saturday is no school day"
        );
        assert!(
            Cadence::SchoolDay
                .period_by_key(&cal, "2021-04-25")
                .is_some(),
            "make-up Sunday"
        );
        assert_eq!(
            Cadence::SchoolDay.period_by_key(&cal, "2021-04-05"),
            None,
            "Qingming holiday"
        );
    }

    #[test]
    fn periods_in_a_range() {
        let cal = calendar();
        let days = Cadence::SchoolDay.periods_starting_between(
            &cal,
            Date::constant(2021, 2, 26),
            Date::constant(2021, 3, 7),
            false,
        );
        let keys: Vec<&str> = days.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "2021-03-01",
                "2021-03-02",
                "2021-03-03",
                "2021-03-04",
                "2021-03-05"
            ]
        );
        let months = Cadence::Month.periods_starting_between(
            &cal,
            Date::constant(2021, 1, 15),
            Date::constant(2021, 5, 1),
            false,
        );
        let keys: Vec<&str> = months.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["2021-02", "2021-03", "2021-04", "2021-05"]);
        let in_term = Cadence::Month.periods_starting_between(
            &cal,
            Date::constant(2021, 1, 1),
            Date::constant(2021, 12, 31),
            true,
        );
        assert_eq!(in_term.first().map(|p| p.key.as_str()), Some("2021-03"));
        assert_eq!(in_term.last().map(|p| p.key.as_str()), Some("2021-07"));
    }
}
