//! Status and metrics at "now": expected, submitted, on time, late, zero, missing (the DHIS2 set), rolled up the org
//! tree as sums of counts; the missing list sorted by lateness; escalation after consecutive missed periods.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use edu_form::org::{OrgLevel, OrgTree, roll_up};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::SchoolCalendar;
use crate::def::ObligationDef;
use crate::institution::Institution;
use crate::period::{Period, Window};
use crate::submission::{ReportKind, Timeliness};

/// What the status computation needs to know about a stored return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnSummary {
    /// Institution.
    pub institution: String,
    /// Period key.
    pub period: String,
    /// Current kind (report or zero).
    pub kind: ReportKind,
    /// Timeliness of the first version.
    pub timeliness: Timeliness,
    /// When it was first submitted (returns first submitted after "now" are ignored: status can be asked as of any
    /// past instant).
    pub first_submitted_at: Timestamp,
}

/// The state of one expected return at "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// Submitted at or before the due instant.
    OnTime,
    /// Submitted after the due instant.
    Late,
    /// Not submitted, not yet due.
    NotYetDue,
    /// Not submitted, past due, window still open (a late submission is still accepted).
    Overdue,
    /// Not submitted and the window has closed.
    Missed,
}

/// One expected return: an institution that owes the period, whose window has opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedReturn {
    /// Institution.
    pub institution: String,
    /// Period.
    pub period: Period,
    /// Its window.
    pub window: Window,
    /// Status at "now".
    pub status: ReturnStatus,
    /// Submitted as a zero report.
    pub zero: bool,
}

/// Counts for an org unit. `submitted = on_time + late`; `zero ⊆ submitted`;
/// `missing = expected − submitted = not_yet_due + overdue + missed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportingCounts {
    /// Expected returns (window opened by now).
    pub expected: u64,
    /// Submitted (report or zero).
    pub submitted: u64,
    /// Submitted on time.
    pub on_time: u64,
    /// Submitted late.
    pub late: u64,
    /// Submitted as zero reports.
    pub zero: u64,
    /// Not submitted.
    pub missing: u64,
    /// Not submitted, not yet due.
    pub not_yet_due: u64,
    /// Not submitted, past due, still accepted.
    pub overdue: u64,
    /// Not submitted, window closed.
    pub missed: u64,
}

impl ReportingCounts {
    /// Submitted ÷ expected (`None` when nothing is expected).
    pub fn reporting_rate(&self) -> Option<f64> {
        ratio(self.submitted, self.expected)
    }

    /// On time ÷ expected, as DHIS2's "reporting rate on time" (`None` when nothing is expected).
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.on_time, self.expected)
    }

    fn count(&mut self, r: &ExpectedReturn) {
        self.expected += 1;
        match r.status {
            ReturnStatus::OnTime => {
                self.submitted += 1;
                self.on_time += 1;
            }
            ReturnStatus::Late => {
                self.submitted += 1;
                self.late += 1;
            }
            ReturnStatus::NotYetDue => {
                self.missing += 1;
                self.not_yet_due += 1;
            }
            ReturnStatus::Overdue => {
                self.missing += 1;
                self.overdue += 1;
            }
            ReturnStatus::Missed => {
                self.missing += 1;
                self.missed += 1;
            }
        }
        if r.zero {
            self.zero += 1;
        }
    }
}

impl AddAssign<&ReportingCounts> for ReportingCounts {
    fn add_assign(&mut self, o: &ReportingCounts) {
        self.expected += o.expected;
        self.submitted += o.submitted;
        self.on_time += o.on_time;
        self.late += o.late;
        self.zero += o.zero;
        self.missing += o.missing;
        self.not_yet_due += o.not_yet_due;
        self.overdue += o.overdue;
        self.missed += o.missed;
    }
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Counts and rates of one org unit (rates are computed from the summed counts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitStatus {
    /// Org unit.
    pub unit: String,
    /// Its level.
    pub level: OrgLevel,
    /// Counts over the unit and everything below it.
    pub counts: ReportingCounts,
    /// Submitted ÷ expected.
    pub reporting_rate: Option<f64>,
    /// On time ÷ expected.
    pub on_time_rate: Option<f64>,
}

/// A return not (yet) submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingReturn {
    /// Institution.
    pub institution: String,
    /// Period key.
    pub period: String,
    /// Due instant.
    pub due: Timestamp,
    /// Seconds past due at "now" (0 when not yet due).
    pub overdue_seconds: i64,
    /// Status (not yet due, overdue, missed).
    pub status: ReturnStatus,
    /// Consecutive past-due periods missed by this institution, ending at the latest past-due one.
    pub consecutive_missed: u32,
}

/// Who is alerted when an institution keeps missing returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// The school itself (a reminder).
    School,
    /// The district bureau.
    District,
    /// The city bureau.
    City,
}

/// Thresholds in consecutive missed (past-due, unsubmitted) periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Remind the school from this many (default 1).
    #[serde(default = "one")]
    pub school_after: u32,
    /// Alert the district from this many (default 3).
    #[serde(default = "three")]
    pub district_after: u32,
    /// Alert the city from this many (default 5).
    #[serde(default = "five")]
    pub city_after: u32,
}

fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn five() -> u32 {
    5
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        EscalationPolicy {
            school_after: 1,
            district_after: 3,
            city_after: 5,
        }
    }
}

impl EscalationPolicy {
    /// The level for this many consecutive missed periods.
    pub fn level(&self, consecutive_missed: u32) -> Option<EscalationLevel> {
        if consecutive_missed >= self.city_after {
            Some(EscalationLevel::City)
        } else if consecutive_missed >= self.district_after {
            Some(EscalationLevel::District)
        } else if consecutive_missed >= self.school_after {
            Some(EscalationLevel::School)
        } else {
            None
        }
    }

    pub(crate) fn check(&self) -> Vec<String> {
        if self.school_after == 0
            || self.school_after > self.district_after
            || self.district_after > self.city_after
        {
            vec!["needs 1 <= school_after <= district_after <= city_after".into()]
        } else {
            Vec::new()
        }
    }
}

/// An escalation for one institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// Institution.
    pub institution: String,
    /// Who is alerted.
    pub level: EscalationLevel,
    /// Consecutive missed periods.
    pub consecutive_missed: u32,
    /// First period of the run.
    pub first_missed: String,
    /// Last period of the run.
    pub last_missed: String,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

/// Everything the status computation reads.
#[derive(Clone, Copy, Debug)]
pub struct ReportingData<'a> {
    /// School calendar.
    pub calendar: &'a SchoolCalendar,
    /// Org tree (institutions are its leaves).
    pub tree: &'a OrgTree,
    /// Institutions.
    pub institutions: &'a [Institution],
    /// Stored returns of this obligation.
    pub returns: &'a [ReturnSummary],
}

/// The status of an obligation over a date range at "now".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Obligation id.
    pub obligation: String,
    /// Periods starting from.
    pub from: Date,
    /// Periods starting up to.
    pub to: Date,
    /// As of.
    pub now: Timestamp,
    /// Every org unit of the tree, in tree order.
    pub units: Vec<UnitStatus>,
    /// Returns not submitted, most overdue first.
    pub missing: Vec<MissingReturn>,
    /// Institutions whose consecutive missed periods reach an escalation threshold, highest level first.
    pub escalations: Vec<Escalation>,
}

/// Every expected return for periods starting in `[from, to]` whose window has opened at `now`, with its status.
/// Expected = the institution owes the obligation, was open during the period, and the period exists for the
/// cadence (a school day, a term…). Ordered by institution, then period.
pub fn expected_returns(
    def: &ObligationDef,
    data: &ReportingData<'_>,
    from: Date,
    to: Date,
    now: Timestamp,
) -> Vec<ExpectedReturn> {
    let periods: Vec<(Period, Window)> = def
        .periods_starting_between(data.calendar, from, to)
        .into_iter()
        .map(|p| {
            let w = def.window(&p);
            (p, w)
        })
        .filter(|(_, w)| w.opens <= now)
        .collect();
    let mut submitted: BTreeMap<(&str, &str), &ReturnSummary> = BTreeMap::new();
    for r in data.returns.iter().filter(|r| r.first_submitted_at <= now) {
        let slot = submitted
            .entry((r.institution.as_str(), r.period.as_str()))
            .or_insert(r);
        if r.first_submitted_at < slot.first_submitted_at {
            *slot = r;
        }
    }
    let mut institutions: Vec<&Institution> = data
        .institutions
        .iter()
        .filter(|i| def.owed_by(i))
        .collect();
    institutions.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::new();
    for i in institutions {
        for (p, w) in periods
            .iter()
            .filter(|(p, _)| i.active_during(p.start, p.end))
        {
            let (status, zero) = match submitted.get(&(i.id.as_str(), p.key.as_str())) {
                Some(r) => (
                    match r.timeliness {
                        Timeliness::OnTime => ReturnStatus::OnTime,
                        Timeliness::Late => ReturnStatus::Late,
                    },
                    r.kind == ReportKind::Zero,
                ),
                None if now <= w.due => (ReturnStatus::NotYetDue, false),
                None if now <= w.expires => (ReturnStatus::Overdue, false),
                None => (ReturnStatus::Missed, false),
            };
            out.push(ExpectedReturn {
                institution: i.id.clone(),
                period: p.clone(),
                window: *w,
                status,
                zero,
            });
        }
    }
    out
}

/// Status, metrics rolled up the org tree, the missing list and escalations for periods starting in `[from, to]`.
///
/// Consecutive missed periods are counted within the range only: pass a range long enough for the escalation
/// thresholds (e.g. the last 30 days for a daily return).
pub fn reporting_status(
    def: &ObligationDef,
    data: &ReportingData<'_>,
    from: Date,
    to: Date,
    now: Timestamp,
) -> StatusReport {
    let expected = expected_returns(def, data, from, to, now);
    let mut per_institution: BTreeMap<String, ReportingCounts> = BTreeMap::new();
    for r in &expected {
        per_institution
            .entry(r.institution.clone())
            .or_default()
            .count(r);
    }
    let rolled = roll_up(data.tree, per_institution);
    let units = data
        .tree
        .units()
        .iter()
        .map(|u| {
            let counts = rolled.get(&u.id).copied().unwrap_or_default();
            UnitStatus {
                unit: u.id.clone(),
                level: u.level,
                counts,
                reporting_rate: counts.reporting_rate(),
                on_time_rate: counts.on_time_rate(),
            }
        })
        .collect();

    // Per institution: the run of missed past-due periods ending at its latest past-due period.
    let mut by_institution: BTreeMap<&str, Vec<&ExpectedReturn>> = BTreeMap::new();
    for r in &expected {
        by_institution
            .entry(r.institution.as_str())
            .or_default()
            .push(r);
    }
    let mut runs: BTreeMap<&str, MissedRun<'_>> = BTreeMap::new();
    for (institution, returns) in &by_institution {
        let mut run = MissedRun {
            count: 0,
            first: "",
            last: "",
        };
        for r in returns
            .iter()
            .rev()
            .filter(|r| r.status != ReturnStatus::NotYetDue)
        {
            if !matches!(r.status, ReturnStatus::Overdue | ReturnStatus::Missed) {
                break;
            }
            if run.count == 0 {
                run.last = &r.period.key;
            }
            run.first = &r.period.key;
            run.count += 1;
        }
        runs.insert(institution, run);
    }
    let consecutive = |id: &str| runs.get(id).map(|r| r.count).unwrap_or(0);

    let mut missing: Vec<MissingReturn> = expected
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                ReturnStatus::NotYetDue | ReturnStatus::Overdue | ReturnStatus::Missed
            )
        })
        .map(|r| MissingReturn {
            institution: r.institution.clone(),
            period: r.period.key.clone(),
            due: r.window.due,
            overdue_seconds: (now.as_second() - r.window.due.as_second()).max(0),
            status: r.status,
            consecutive_missed: consecutive(&r.institution),
        })
        .collect();
    missing.sort_by(|a, b| {
        b.overdue_seconds
            .cmp(&a.overdue_seconds)
            .then(b.consecutive_missed.cmp(&a.consecutive_missed))
            .then(a.institution.cmp(&b.institution))
            .then(a.period.cmp(&b.period))
    });

    let mut escalations = Vec::new();
    for (institution, run) in &runs {
        let Some(level) = def.escalation.level(run.count) else {
            continue;
        };
        let (count, first, last) = (run.count, run.first, run.last);
        let audience = match level {
            EscalationLevel::School => ("学校", "the school"),
            EscalationLevel::District => ("区县教育局", "the district bureau"),
            EscalationLevel::City => ("市教育局", "the city bureau"),
        };
        escalations.push(Escalation {
            institution: institution.to_string(),
            level,
            consecutive_missed: count,
            first_missed: first.to_string(),
            last_missed: last.to_string(),
            explanation: format!(
                "“{}”连续 {} 期未报送（{} 至 {}），达到通报{}的阈值",
                def.title, count, first, last, audience.0
            ),
            explanation_en: format!(
                "{count} consecutive periods of \"{}\" missed ({first} to {last}): {} is alerted",
                if def.title_en.is_empty() {
                    &def.title
                } else {
                    &def.title_en
                },
                audience.1
            ),
        });
    }
    escalations.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.consecutive_missed.cmp(&a.consecutive_missed))
            .then(a.institution.cmp(&b.institution))
    });

    StatusReport {
        obligation: def.id.clone(),
        from,
        to,
        now,
        units,
        missing,
        escalations,
    }
}

struct MissedRun<'a> {
    count: u32,
    first: &'a str,
    last: &'a str,
}
