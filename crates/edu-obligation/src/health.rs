//! Daily health report specifics: absence-by-illness spikes against a robust baseline, class clusters of
//! symptomatic cases, and follow-up of each case in the line list until it is closed.
//!
//! Spike rule, per watched field (e.g. pupils absent through illness): take the institution's reports of the last
//! `baseline_days` report days before today (zero reports count as 0, days without a report are skipped); with at
//! least `min_history` of them, let `m` = their median and `MAD` = the median of `|x − m|`. Today's value `x`
//! raises an alert when `x ≥ min_count` and `x − m ≥ max(spread_multiplier × 1.4826 × MAD, min_excess)`.
//! (1.4826 × MAD estimates the standard deviation without being pulled by past outbreaks; `min_excess` keeps a
//! school with a flat history of zeros from alerting on one or two absences.)
//!
//! Cluster rule: distinct persons in the line lists with the same class and an onset date (or, without one, the
//! report date) within the `within_days` days ending on the day examined; `min_cases` or more raise an alert.
//! Alerts name rows, not people: they go to the district, where identities are masked.

use std::collections::BTreeMap;

use edu_form::china_time::{add_days, parse_date};
use edu_form::{DefProblem, FieldType, FormDef, Values, numeric_value};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::def::{ObligationDef, expect_field};
use crate::status::EscalationLevel;
use crate::submission::ReportKind;

/// Health settings of an obligation (`[obligations.health-daily.health]`); every part has defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthRules {
    /// Spike rule.
    #[serde(default)]
    pub absence: AbsenceSpikeRule,
    /// Cluster rule.
    #[serde(default)]
    pub cluster: ClusterRule,
    /// Where the line list lives in the form.
    #[serde(default)]
    pub cases: CaseListFields,
}

/// Parameters of the absence spike rule (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbsenceSpikeRule {
    /// Numeric fields watched (default pupils and staff absent through illness).
    #[serde(default = "default_absence_fields")]
    pub fields: Vec<String>,
    /// Report days in the baseline (default 14).
    #[serde(default = "default_baseline_days")]
    pub baseline_days: usize,
    /// Fewest report days needed for a baseline (default 5).
    #[serde(default = "default_min_history")]
    pub min_history: usize,
    /// Multiplier of the robust spread (default 3).
    #[serde(default = "default_multiplier")]
    pub spread_multiplier: f64,
    /// Smallest excess over the median that alerts (default 3 persons).
    #[serde(default = "default_min_excess")]
    pub min_excess: i64,
    /// Smallest value that alerts (default 3 persons).
    #[serde(default = "default_min_count")]
    pub min_count: i64,
}

impl Default for AbsenceSpikeRule {
    fn default() -> Self {
        AbsenceSpikeRule {
            fields: default_absence_fields(),
            baseline_days: default_baseline_days(),
            min_history: default_min_history(),
            spread_multiplier: default_multiplier(),
            min_excess: default_min_excess(),
            min_count: default_min_count(),
        }
    }
}

/// Parameters of the cluster rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterRule {
    /// Cases in one class that make a cluster (default 3).
    #[serde(default = "default_min_cases")]
    pub min_cases: usize,
    /// Days of onset considered, ending on the day examined (default 3).
    #[serde(default = "default_within_days")]
    pub within_days: i64,
}

impl Default for ClusterRule {
    fn default() -> Self {
        ClusterRule {
            min_cases: default_min_cases(),
            within_days: default_within_days(),
        }
    }
}

/// Field ids of the line list (defaults match `plans/daqing-2021.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseListFields {
    /// The list field.
    #[serde(default = "d_list")]
    pub list: String,
    /// Person reference column.
    #[serde(default = "d_person")]
    pub person: String,
    /// Person kind column (pupil / staff).
    #[serde(default = "d_person_kind")]
    pub person_kind: String,
    /// Class column.
    #[serde(default = "d_class")]
    pub class: String,
    /// Onset date column.
    #[serde(default = "d_onset")]
    pub onset_date: String,
    /// Follow-up status column.
    #[serde(default = "d_status")]
    pub follow_up: String,
    /// Follow-up values that close a case.
    #[serde(default = "d_closed")]
    pub closed_statuses: Vec<String>,
}

impl Default for CaseListFields {
    fn default() -> Self {
        CaseListFields {
            list: d_list(),
            person: d_person(),
            person_kind: d_person_kind(),
            class: d_class(),
            onset_date: d_onset(),
            follow_up: d_status(),
            closed_statuses: d_closed(),
        }
    }
}

fn default_absence_fields() -> Vec<String> {
    vec!["absent_pupils_ill".into(), "absent_staff_ill".into()]
}
fn default_baseline_days() -> usize {
    14
}
fn default_min_history() -> usize {
    5
}
fn default_multiplier() -> f64 {
    3.0
}
fn default_min_excess() -> i64 {
    3
}
fn default_min_count() -> i64 {
    3
}
fn default_min_cases() -> usize {
    3
}
fn default_within_days() -> i64 {
    3
}
fn d_list() -> String {
    "cases".into()
}
fn d_person() -> String {
    "person".into()
}
fn d_person_kind() -> String {
    "person_kind".into()
}
fn d_class() -> String {
    "class_name".into()
}
fn d_onset() -> String {
    "onset_date".into()
}
fn d_status() -> String {
    "follow_up".into()
}
fn d_closed() -> Vec<String> {
    vec!["recovered".into(), "ruled_out".into()]
}

impl HealthRules {
    pub(crate) fn check(&self, form: &FormDef) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        for f in &self.absence.fields {
            expect_field(
                form,
                None,
                f,
                &[FieldType::Integer],
                "absence.fields",
                &mut problems,
            );
        }
        let a = &self.absence;
        if a.baseline_days == 0 || a.min_history == 0 || a.min_history > a.baseline_days {
            problems.push(DefProblem {
                at: "absence".into(),
                problem: "needs 1 <= min_history <= baseline_days".into(),
            });
        }
        if !(a.spread_multiplier.is_finite() && a.spread_multiplier >= 0.0)
            || a.min_excess < 1
            || a.min_count < 1
        {
            problems.push(DefProblem {
                at: "absence".into(),
                problem: "spread_multiplier >= 0, min_excess >= 1 and min_count >= 1".into(),
            });
        }
        if self.cluster.min_cases < 2 || self.cluster.within_days < 1 {
            problems.push(DefProblem {
                at: "cluster".into(),
                problem: "min_cases >= 2 and within_days >= 1".into(),
            });
        }
        let c = &self.cases;
        expect_field(
            form,
            None,
            &c.list,
            &[FieldType::List],
            "cases.list",
            &mut problems,
        );
        if form
            .field(&c.list)
            .is_some_and(|f| f.field_type == FieldType::List)
        {
            let l = Some(c.list.as_str());
            expect_field(
                form,
                l,
                &c.person,
                &[FieldType::Person],
                "cases.person",
                &mut problems,
            );
            expect_field(
                form,
                l,
                &c.person_kind,
                &[FieldType::Enum],
                "cases.person_kind",
                &mut problems,
            );
            expect_field(
                form,
                l,
                &c.class,
                &[FieldType::Text, FieldType::Enum],
                "cases.class",
                &mut problems,
            );
            expect_field(
                form,
                l,
                &c.onset_date,
                &[FieldType::Date],
                "cases.onset_date",
                &mut problems,
            );
            expect_field(
                form,
                l,
                &c.follow_up,
                &[FieldType::Enum],
                "cases.follow_up",
                &mut problems,
            );
            if let Some(status) = form.field(&c.list).and_then(|f| f.column(&c.follow_up)) {
                for closed in &c.closed_statuses {
                    if status.option(closed).is_none() {
                        problems.push(DefProblem {
                            at: "cases.closed_statuses".into(),
                            problem: format!(
                                "{closed:?} is not an option of {}.{}",
                                c.list, c.follow_up
                            ),
                        });
                    }
                }
            }
        }
        problems
    }
}

/// One day's submitted health report of an institution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayReport {
    /// The report's date (its period).
    pub date: Date,
    /// Report or zero report (a zero report counts as all zeros and no cases).
    pub kind: ReportKind,
    /// Normalised values.
    #[serde(default)]
    pub values: Values,
}

/// Kind of health alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthAlertKind {
    /// Absences through illness far above the recent level.
    IllnessAbsenceSpike,
    /// Several symptomatic cases in one class within a few days.
    ClassCluster,
}

/// A line-list row named without identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRef {
    /// Date of the report listing it.
    pub reported_on: Date,
    /// Row index in that report's line list (from 0).
    pub row: usize,
    /// Pupil or staff.
    pub person_kind: Option<String>,
    /// Onset date.
    pub onset_date: Option<Date>,
}

/// An alert for the district, with its explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthAlert {
    /// Kind.
    pub kind: HealthAlertKind,
    /// Institution.
    pub institution: String,
    /// Day examined.
    pub date: Date,
    /// Who is alerted (the district).
    pub audience: EscalationLevel,
    /// Watched field (spike alerts).
    pub field: Option<String>,
    /// Class (cluster alerts).
    pub class: Option<String>,
    /// Today's value, or the number of cases in the cluster.
    pub observed: i64,
    /// Median of the baseline (spike alerts).
    pub baseline: Option<f64>,
    /// Smallest value that would alert (spike alerts).
    pub threshold: Option<f64>,
    /// Cases of the cluster.
    pub cases: Vec<CaseRef>,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

/// Alerts for an institution on day `as_of`: spikes in today's report against the earlier reports, and clusters
/// among the cases in all the reports given (pass at least the last `baseline_days` report days). Uses the
/// definition's `health` settings, or the defaults when it has none.
pub fn health_alerts(
    def: &ObligationDef,
    institution: &str,
    reports: &[DayReport],
    as_of: Date,
) -> Vec<HealthAlert> {
    let rules = def.health.clone().unwrap_or_default();
    let mut alerts = Vec::new();
    if let Some(today) = reports.iter().find(|r| r.date == as_of) {
        let mut history: Vec<&DayReport> = reports.iter().filter(|r| r.date < as_of).collect();
        history.sort_by_key(|r| r.date);
        let keep = history.len().saturating_sub(rules.absence.baseline_days);
        let history = &history[keep..];
        for field in &rules.absence.fields {
            if let Some(a) = spike(def, &rules.absence, institution, field, today, history) {
                alerts.push(a);
            }
        }
    }
    alerts.extend(clusters(&rules, institution, reports, as_of));
    alerts
}

fn value_of(report: &DayReport, field: &str) -> i64 {
    if report.kind == ReportKind::Zero {
        return 0;
    }
    numeric_value(&report.values, field)
        .and_then(|d| d.to_i64())
        .unwrap_or(0)
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn spike(
    def: &ObligationDef,
    rule: &AbsenceSpikeRule,
    institution: &str,
    field: &str,
    today: &DayReport,
    history: &[&DayReport],
) -> Option<HealthAlert> {
    if history.len() < rule.min_history {
        return None;
    }
    let x = value_of(today, field);
    let mut past: Vec<f64> = history.iter().map(|r| value_of(r, field) as f64).collect();
    past.sort_by(f64::total_cmp);
    let m = median(&past);
    let mut deviations: Vec<f64> = past.iter().map(|v| (v - m).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = median(&deviations);
    let needed_excess = (rule.spread_multiplier * 1.4826 * mad).max(rule.min_excess as f64);
    let threshold = (m + needed_excess).max(rule.min_count as f64);
    if (x as f64) < threshold {
        return None;
    }
    let label = def
        .form
        .field(field)
        .map(|f| f.label.clone())
        .unwrap_or_else(|| field.to_string());
    let label_en = def
        .form
        .field(field)
        .map(|f| f.label_en.clone())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| field.to_string());
    let n = history.len();
    Some(HealthAlert {
        kind: HealthAlertKind::IllnessAbsenceSpike,
        institution: institution.to_string(),
        date: today.date,
        audience: EscalationLevel::District,
        field: Some(field.to_string()),
        class: None,
        observed: x,
        baseline: Some(m),
        threshold: Some(threshold),
        cases: Vec::new(),
        explanation: format!(
            "{}：{label} {x} 人，近 {n} 个报告日中位数 {m:.1} 人（MAD {mad:.1}），超出 {:.1} 人，达到预警线 {threshold:.1} 人",
            today.date,
            x as f64 - m
        ),
        explanation_en: format!(
            "{}: {label_en} is {x}; the median of the last {n} report days is {m:.1} (MAD {mad:.1}); the excess of {:.1} reaches the alert level {threshold:.1}",
            today.date,
            x as f64 - m
        ),
    })
}

struct Row<'a> {
    reported_on: Date,
    index: usize,
    cells: &'a serde_json::Map<String, Value>,
}

fn rows<'a>(fields: &CaseListFields, reports: &'a [DayReport]) -> Vec<Row<'a>> {
    let mut out = Vec::new();
    let mut sorted: Vec<&DayReport> = reports
        .iter()
        .filter(|r| r.kind == ReportKind::Report)
        .collect();
    sorted.sort_by_key(|r| r.date);
    for r in sorted {
        let Some(Value::Array(list)) = r.values.get(&fields.list) else {
            continue;
        };
        for (index, row) in list.iter().enumerate() {
            if let Some(cells) = row.as_object() {
                out.push(Row {
                    reported_on: r.date,
                    index,
                    cells,
                });
            }
        }
    }
    out
}

fn text<'a>(cells: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    cells
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn clusters(
    rules: &HealthRules,
    institution: &str,
    reports: &[DayReport],
    as_of: Date,
) -> Vec<HealthAlert> {
    let f = &rules.cases;
    let window_start = add_days(as_of, 1 - rules.cluster.within_days);
    // Distinct persons: the earliest row of each person (or each anonymous row) within the window.
    let mut by_person: BTreeMap<String, (String, CaseRef)> = BTreeMap::new();
    for row in rows(f, reports)
        .into_iter()
        .filter(|r| r.reported_on <= as_of)
    {
        let Some(class) = text(row.cells, &f.class) else {
            continue;
        };
        let onset = text(row.cells, &f.onset_date).and_then(parse_date);
        let day = onset.unwrap_or(row.reported_on);
        if day < window_start || day > as_of {
            continue;
        }
        let key = text(row.cells, &f.person)
            .map(|p| format!("p:{p}"))
            .unwrap_or_else(|| format!("r:{}:{}", row.reported_on, row.index));
        by_person.entry(key).or_insert_with(|| {
            (
                class.to_string(),
                CaseRef {
                    reported_on: row.reported_on,
                    row: row.index,
                    person_kind: text(row.cells, &f.person_kind).map(str::to_string),
                    onset_date: onset,
                },
            )
        });
    }
    let mut by_class: BTreeMap<String, Vec<CaseRef>> = BTreeMap::new();
    for (_, (class, case)) in by_person {
        by_class.entry(class).or_default().push(case);
    }
    let mut alerts = Vec::new();
    for (class, mut cases) in by_class {
        if cases.len() < rules.cluster.min_cases {
            continue;
        }
        cases.sort_by_key(|c| (c.onset_date.unwrap_or(c.reported_on), c.reported_on, c.row));
        let n = cases.len();
        let d = rules.cluster.within_days;
        alerts.push(HealthAlert {
            kind: HealthAlertKind::ClassCluster,
            institution: institution.to_string(),
            date: as_of,
            audience: EscalationLevel::District,
            field: None,
            class: Some(class.clone()),
            observed: i64::try_from(n).unwrap_or(i64::MAX),
            baseline: None,
            threshold: Some(rules.cluster.min_cases as f64),
            cases,
            explanation: format!(
                "{class} 在 {window_start} 至 {as_of} 的 {d} 天内出现 {n} 名有症状人员（预警线 {} 名），疑似聚集",
                rules.cluster.min_cases
            ),
            explanation_en: format!(
                "{n} symptomatic persons in class {class} with onset from {window_start} to {as_of} ({d} days; alert level {}): possible cluster",
                rules.cluster.min_cases
            ),
        });
    }
    alerts
}

/// A case followed from first report to closure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedCase {
    /// Person reference (sensitive: the platform masks it outside the school).
    pub person: String,
    /// Pupil or staff.
    pub person_kind: Option<String>,
    /// Class.
    pub class: Option<String>,
    /// Onset date (of the first row).
    pub onset_date: Option<Date>,
    /// First report listing it.
    pub first_reported: Date,
    /// Latest report listing it.
    pub last_reported: Date,
    /// Latest follow-up status.
    pub status: Option<String>,
    /// Day a closing status was reported.
    pub closed_on: Option<Date>,
    /// Open and not updated in the report of `as_of` (the school owes a follow-up).
    pub needs_follow_up: bool,
    /// (report date, follow-up status) of every row.
    pub history: Vec<(Date, Option<String>)>,
}

/// Follows each person listed in the line lists of reports up to `as_of`: a case stays open until a row reports a
/// closing status; a later row for the same person after closure opens a new case. An open case not listed in the
/// report of `as_of` needs follow-up. Cases are ordered by first report, then person.
pub fn track_cases(def: &ObligationDef, reports: &[DayReport], as_of: Date) -> Vec<TrackedCase> {
    let rules = def.health.clone().unwrap_or_default();
    let f = &rules.cases;
    let mut cases: Vec<TrackedCase> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows(f, reports)
        .into_iter()
        .filter(|r| r.reported_on <= as_of)
    {
        let Some(person) = text(row.cells, &f.person) else {
            continue;
        };
        let status = text(row.cells, &f.follow_up).map(str::to_string);
        let closes = status
            .as_ref()
            .is_some_and(|s| f.closed_statuses.contains(s));
        let index = match open.get(person) {
            Some(&i) => i,
            None => {
                cases.push(TrackedCase {
                    person: person.to_string(),
                    person_kind: text(row.cells, &f.person_kind).map(str::to_string),
                    class: text(row.cells, &f.class).map(str::to_string),
                    onset_date: text(row.cells, &f.onset_date).and_then(parse_date),
                    first_reported: row.reported_on,
                    last_reported: row.reported_on,
                    status: None,
                    closed_on: None,
                    needs_follow_up: false,
                    history: Vec::new(),
                });
                open.insert(person.to_string(), cases.len() - 1);
                cases.len() - 1
            }
        };
        let case = &mut cases[index];
        case.last_reported = row.reported_on;
        case.status.clone_from(&status);
        case.history.push((row.reported_on, status));
        if closes {
            case.closed_on = Some(row.reported_on);
            open.remove(person);
        }
    }
    for case in &mut cases {
        case.needs_follow_up = case.closed_on.is_none() && case.last_reported < as_of;
    }
    cases
}
