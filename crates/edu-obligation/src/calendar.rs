//! The school calendar parameter: terms, school weekdays, holidays and make-up school days (调休).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// One term (学期).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// Stable id used as the period key, e.g. `2020-2021-2`.
    pub id: String,
    /// Display name, e.g. `2020—2021学年第二学期`.
    #[serde(default)]
    pub name: String,
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
}

/// Which dates are school days.
///
/// A date is a school day when it lies in a term and either (its ISO weekday is in `school_weekdays` and it is not in
/// `holidays`) or it is in `extra_school_days` (weekend days worked in exchange for a holiday).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolCalendar {
    /// Terms, not overlapping.
    pub terms: Vec<Term>,
    /// ISO weekdays with lessons, 1 = Monday … 7 = Sunday (default Monday to Friday).
    #[serde(default = "default_weekdays")]
    pub school_weekdays: Vec<u8>,
    /// Days without lessons inside terms (public holidays, closures).
    #[serde(default)]
    pub holidays: Vec<Date>,
    /// Extra school days (make-up weekend days).
    #[serde(default)]
    pub extra_school_days: Vec<Date>,
}

fn default_weekdays() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

impl SchoolCalendar {
    /// The term containing `date`.
    pub fn term_containing(&self, date: Date) -> Option<&Term> {
        self.terms.iter().find(|t| t.start <= date && date <= t.end)
    }

    /// The term with this id.
    pub fn term(&self, id: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.id == id)
    }

    /// True when `[start, end]` overlaps some term.
    pub fn overlaps_term(&self, start: Date, end: Date) -> bool {
        self.terms.iter().any(|t| t.start <= end && start <= t.end)
    }

    /// True when `date` is a school day.
    pub fn is_school_day(&self, date: Date) -> bool {
        if self.term_containing(date).is_none() {
            return false;
        }
        if self.extra_school_days.contains(&date) {
            return true;
        }
        let weekday = date.weekday().to_monday_one_offset();
        self.school_weekdays
            .iter()
            .any(|&w| i8::try_from(w) == Ok(weekday))
            && !self.holidays.contains(&date)
    }

    /// Problems with the calendar: a term ending before it starts, overlapping terms, repeated ids, bad weekdays.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, t) in self.terms.iter().enumerate() {
            if t.end < t.start {
                problems.push(format!("term {} ends before it starts", t.id));
            }
            for other in &self.terms[i + 1..] {
                if other.id == t.id {
                    problems.push(format!("term id {} repeated", t.id));
                }
                if other.start <= t.end && t.start <= other.end {
                    problems.push(format!("terms {} and {} overlap", t.id, other.id));
                }
            }
        }
        if self.school_weekdays.iter().any(|&w| !(1..=7).contains(&w)) {
            problems.push("school_weekdays must be 1 (Monday) to 7 (Sunday)".into());
        }
        problems
    }
}
