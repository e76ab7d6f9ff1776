//! Deadlines, overdue status, escalation level and review schedule of a case at "now"; ledger metrics per org
//! unit rolled up as sums.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use edu_form::china_time::{add_days, china_date, china_instant, days_between};
use edu_form::org::{OrgLevel, OrgTree, roll_up};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Case;
use crate::def::{ClockStart, EscalationLevel, LedgerDef};
use crate::lec::RiskLevel;

const END_OF_DAY: Time = Time::constant(23, 59, 59, 0);

fn severity<'a>(def: &LedgerDef, case: &'a Case) -> Option<&'a str> {
    def.severity_field
        .as_deref()
        .and_then(|f| case.values.get(f))
        .and_then(Value::as_str)
}

/// The deadline of a stint in `state` that started at `entered`: day 1 is the start day (China time), the deadline
/// is 23:59:59 China time of day N.
fn deadline_for(
    def: &LedgerDef,
    case: &Case,
    state: &str,
    entered: Timestamp,
) -> Option<Timestamp> {
    let rule = def.state(state)?.deadline.as_ref()?;
    let days = rule.days_for(severity(def, case))?;
    let start = match rule.from {
        ClockStart::Entered => entered,
        ClockStart::Created => case.created_at,
    };
    let last_day = add_days(china_date(start), i64::from(days) - 1);
    Some(china_instant(last_day, END_OF_DAY))
}

/// The deadline of the case's current state, if that state has one.
pub fn state_deadline(def: &LedgerDef, case: &Case) -> Option<Timestamp> {
    deadline_for(def, case, &case.state, case.state_entered_at)
}

/// True when the case ever left a state after that state's deadline (or is still in one past its deadline at
/// `now`).
pub fn was_late(def: &LedgerDef, case: &Case, now: Timestamp) -> bool {
    let mut entered = case.created_at;
    let mut state: Option<&str> = None;
    for h in &case.history {
        if h.from.as_deref() != Some(h.to.as_str()) {
            if let Some(s) = state
                && deadline_for(def, case, s, entered).is_some_and(|d| h.at > d)
            {
                return true;
            }
            entered = h.at;
            state = Some(h.to.as_str());
        }
    }
    state.is_some_and(|s| deadline_for(def, case, s, entered).is_some_and(|d| now > d))
}

/// A case's status at "now".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseStatus {
    /// Case id.
    pub case: String,
    /// State.
    pub state: String,
    /// In a terminal state.
    pub closed: bool,
    /// Deadline of the current state.
    pub deadline: Option<Timestamp>,
    /// Past that deadline.
    pub overdue: bool,
    /// China-time calendar days past the deadline's day (1 on the first overdue day).
    pub days_overdue: i64,
    /// For a closed case: whether any state was left after its deadline.
    pub closed_late: Option<bool>,
    /// Who is alerted (`None` when nobody needs to be).
    pub escalation: Option<EscalationLevel>,
    /// LEC level (risk points).
    pub risk_level: Option<RiskLevel>,
    /// When the next review is due (risk points).
    pub next_review: Option<Date>,
    /// The review is overdue.
    pub review_overdue: bool,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

/// The status of a case at `now` (pass `case.as_of(now)` to ask about the past).
///
/// Escalation of an open case: immediate rules first (e.g. a major hazard is at the district from its report);
/// once the current state's deadline has passed the school is alerted, `district_after_days` days after the
/// deadline the district, `city_after_days` days after it the city. The highest applicable level wins.
pub fn case_status(def: &LedgerDef, case: &Case, now: Timestamp) -> CaseStatus {
    let closed = def.state(&case.state).is_some_and(|s| s.terminal);
    let deadline = if closed {
        None
    } else {
        state_deadline(def, case)
    };
    let overdue = deadline.is_some_and(|d| now > d);
    let days_overdue = match deadline {
        Some(d) if overdue => days_between(china_date(d), china_date(now)).max(1),
        _ => 0,
    };
    let mut escalation: Option<EscalationLevel> = None;
    let mut reasons: Vec<(String, String)> = Vec::new();
    if !closed {
        for rule in &def.escalation.immediate {
            let hit = case
                .values
                .get(&rule.field)
                .is_some_and(|v| v.as_str() == Some(rule.equals.as_str()));
            if hit && escalation < Some(rule.level) {
                escalation = Some(rule.level);
                reasons.push((
                    format!("{} 为 {}，直接上报", rule.field, rule.equals),
                    format!("{} is {}: raised at once", rule.field, rule.equals),
                ));
            }
        }
        if let Some(d) = deadline.filter(|_| overdue) {
            let after = |days: u32| d.as_second().saturating_add(i64::from(days) * 86_400);
            let level = if now.as_second() > after(def.escalation.city_after_days) {
                EscalationLevel::City
            } else if now.as_second() > after(def.escalation.district_after_days) {
                EscalationLevel::District
            } else {
                EscalationLevel::School
            };
            if escalation < Some(level) {
                escalation = Some(level);
            }
            reasons.push((
                format!("已超期 {days_overdue} 天"),
                format!("{days_overdue} day(s) overdue"),
            ));
        }
    }
    let risk_level = def
        .lec
        .as_ref()
        .and_then(|l| case.values.get(&l.level))
        .and_then(Value::as_str)
        .and_then(RiskLevel::parse);
    let next_review = match (&def.review, risk_level) {
        (Some(r), Some(level)) if !closed => {
            let last = case
                .values
                .get(&r.date_field)
                .and_then(Value::as_str)
                .and_then(edu_form::china_time::parse_date);
            r.next_review(level, last.unwrap_or_else(|| china_date(case.created_at)))
        }
        _ => None,
    };
    let review_overdue = next_review.is_some_and(|d| china_date(now) > d);
    if review_overdue {
        reasons.push(("复核已逾期".into(), "review overdue".into()));
    }
    let state_label = def
        .state(&case.state)
        .map(|s| s.label.clone())
        .unwrap_or_else(|| case.state.clone());
    let (mut explanation, mut explanation_en) = match deadline {
        Some(d) => (
            format!(
                "状态：{state_label}，期限 {}",
                edu_form::china_time::format_china(d)
            ),
            format!(
                "state {}, due {} China time",
                case.state,
                edu_form::china_time::format_china(d)
            ),
        ),
        None => (
            format!("状态：{state_label}"),
            format!("state {}", case.state),
        ),
    };
    for (zh, en) in reasons {
        explanation.push('；');
        explanation.push_str(&zh);
        explanation_en.push_str("; ");
        explanation_en.push_str(&en);
    }
    CaseStatus {
        case: case.id.clone(),
        state: case.state.clone(),
        closed,
        deadline,
        overdue,
        days_overdue,
        closed_late: closed.then(|| was_late(def, case, now)),
        escalation,
        risk_level,
        next_review,
        review_overdue,
        explanation,
        explanation_en,
    }
}

/// Counts of cases for an org unit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCounts {
    /// Cases existing at "now".
    pub total: u64,
    /// Not in a terminal state.
    pub open: u64,
    /// Open and past the current state's deadline.
    pub overdue: u64,
    /// In a terminal state.
    pub closed: u64,
    /// Closed without ever missing a deadline.
    pub closed_on_time: u64,
    /// Closed after missing a deadline.
    pub closed_late: u64,
    /// Open cases escalated to the school.
    pub escalated_school: u64,
    /// Open cases escalated to the district.
    pub escalated_district: u64,
    /// Open cases escalated to the city.
    pub escalated_city: u64,
    /// Open risk points whose review is overdue.
    pub review_overdue: u64,
    /// Cases per current state.
    pub by_state: BTreeMap<String, u64>,
    /// Open cases per level (severity or risk level).
    pub by_level: BTreeMap<String, u64>,
}

impl AddAssign<&LedgerCounts> for LedgerCounts {
    fn add_assign(&mut self, o: &LedgerCounts) {
        self.total += o.total;
        self.open += o.open;
        self.overdue += o.overdue;
        self.closed += o.closed;
        self.closed_on_time += o.closed_on_time;
        self.closed_late += o.closed_late;
        self.escalated_school += o.escalated_school;
        self.escalated_district += o.escalated_district;
        self.escalated_city += o.escalated_city;
        self.review_overdue += o.review_overdue;
        for (k, v) in &o.by_state {
            *self.by_state.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.by_level {
            *self.by_level.entry(k.clone()).or_default() += v;
        }
    }
}

/// Counts of one org unit (over itself and everything below it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitLedgerStatus {
    /// Org unit.
    pub unit: String,
    /// Level.
    pub level: OrgLevel,
    /// Counts.
    pub counts: LedgerCounts,
}

/// Metrics of a ledger at `now` for every unit of the tree (tree order), as sums over the cases of the schools
/// below each unit. Cases are taken as they were at `now` ([`Case::as_of`]); those created later are ignored.
pub fn ledger_metrics(
    def: &LedgerDef,
    tree: &OrgTree,
    cases: &[Case],
    now: Timestamp,
) -> Vec<UnitLedgerStatus> {
    let mut per_school: Vec<(String, LedgerCounts)> = Vec::new();
    for case in cases
        .iter()
        .filter(|c| c.ledger == def.id)
        .filter_map(|c| c.as_of(now))
    {
        let status = case_status(def, &case, now);
        let mut c = LedgerCounts {
            total: 1,
            ..Default::default()
        };
        *c.by_state.entry(case.state.clone()).or_default() += 1;
        if status.closed {
            c.closed = 1;
            if status.closed_late == Some(true) {
                c.closed_late = 1;
            } else {
                c.closed_on_time = 1;
            }
        } else {
            c.open = 1;
            c.overdue = u64::from(status.overdue);
            c.review_overdue = u64::from(status.review_overdue);
            match status.escalation {
                Some(EscalationLevel::School) => c.escalated_school = 1,
                Some(EscalationLevel::District) => c.escalated_district = 1,
                Some(EscalationLevel::City) => c.escalated_city = 1,
                None => {}
            }
            if let Some(level) = def
                .level_field()
                .and_then(|f| case.values.get(f))
                .and_then(Value::as_str)
            {
                *c.by_level.entry(level.to_string()).or_default() += 1;
            }
        }
        per_school.push((case.school.clone(), c));
    }
    let rolled = roll_up(tree, per_school);
    tree.units()
        .iter()
        .map(|u| UnitLedgerStatus {
            unit: u.id.clone(),
            level: u.level,
            counts: rolled.get(&u.id).cloned().unwrap_or_default(),
        })
        .collect()
}
