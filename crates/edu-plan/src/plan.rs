//! The validated plan: header, periods, metric catalogue, targets, commitments and their seed coverage.
//!
//! A [`Plan`] is only built by [`crate::parse_plan`], so every reference inside it resolves.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::expr::Expr;
use crate::metric::{BreakdownDim, InstitutionFilter, MetricDef};

/// A calendar date (proleptic Gregorian), as written in the plan file (`2021-09-01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanDate {
    year: i32,
    month: u8,
    day: u8,
}

impl PlanDate {
    /// A valid date, or `None`.
    pub fn new(year: i32, month: u8, day: u8) -> Option<PlanDate> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(PlanDate { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for PlanDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for PlanDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::str::FromStr for PlanDate {
    type Err = String;

    fn from_str(text: &str) -> Result<PlanDate, String> {
        let mut parts = text.splitn(3, '-');
        let mut next = || parts.next().and_then(|part| part.parse::<i32>().ok());
        let (Some(year), Some(month), Some(day)) = (next(), next(), next()) else {
            return Err(format!("`{text}` is not a date (YYYY-MM-DD)"));
        };
        let month = u8::try_from(month).ok();
        let day = u8::try_from(day).ok();
        month
            .zip(day)
            .and_then(|(month, day)| PlanDate::new(year, month, day))
            .ok_or_else(|| format!("`{text}` is not a valid date"))
    }
}

/// The plan header (`[plan]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanHeader {
    pub id: String,
    pub title: String,
    pub year: i32,
    /// GB/T 2260 code of the city the plan belongs to (Daqing: 230600).
    pub city: String,
    pub source: SourceDocument,
    pub default_period: String,
    /// Relative margin below which a missed target counts as at risk (0.02 = within 2 % of the target value).
    pub at_risk_margin: f64,
    /// The plan's sections, in order; every commitment names one.
    pub sections: Vec<String>,
}

/// The document the plan was transcribed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceDocument {
    pub document: String,
    pub title: String,
    pub publisher: Option<String>,
    pub published: Option<PlanDate>,
    pub script: Option<String>,
    pub note: Option<String>,
}

/// A named period (`[periods.<id>]`), inclusive of both ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub title: String,
    pub start: PlanDate,
    pub end: PlanDate,
}

/// A comparison between an indicator value and a target value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparator {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
}

impl Comparator {
    pub const ALL: [Comparator; 5] = [
        Comparator::Ge,
        Comparator::Le,
        Comparator::Eq,
        Comparator::Gt,
        Comparator::Lt,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Ge => ">=",
            Comparator::Le => "<=",
            Comparator::Eq => "==",
            Comparator::Gt => ">",
            Comparator::Lt => "<",
        }
    }

    pub fn parse(text: &str) -> Option<Comparator> {
        Comparator::ALL
            .into_iter()
            .find(|comparator| comparator.symbol() == text)
    }

    /// Whether `value <comparator> target` holds; `==` allows a relative tolerance of 1e-9.
    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Comparator::Ge => value >= target,
            Comparator::Le => value <= target,
            Comparator::Gt => value > target,
            Comparator::Lt => value < target,
            Comparator::Eq => (value - target).abs() <= 1e-9 * target.abs().max(1.0),
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// Org levels at which a target is evaluated and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    City,
    District,
    Institution,
}

/// Which org levels and institutions a target applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    pub levels: Vec<OrgLevel>,
    /// The institutions the target concerns: the drill-down lists these.
    pub institutions: InstitutionFilter,
}

/// A numeric target (`[targets.<id>]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub id: String,
    pub title: String,
    /// The indicator as written.
    pub indicator_text: String,
    pub indicator: Expr,
    pub comparator: Comparator,
    pub target: f64,
    /// National threshold (e.g. the county-level threshold of the MoE), where one exists.
    pub threshold: Option<f64>,
    pub threshold_source: Option<String>,
    pub unit: String,
    pub period: String,
    /// The value accumulates over the period (pupil-times, hires): before the period ends it is judged against the
    /// target pro-rated to the elapsed share of the period.
    pub cumulative: bool,
    pub at_risk_margin: Option<f64>,
    pub scope: Scope,
    pub breakdowns: Vec<BreakdownDim>,
    pub note: Option<String>,
}

/// A registry the platform must hold (`[registries.<id>]`): education groups, pilot kindergartens, …
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Registry {
    pub title: String,
    /// The institution tag this registry assigns (usable as a metric filter `tag`).
    pub tag: Option<String>,
    pub description: Option<String>,
}

/// What kind of thing a commitment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentKind {
    Target,
    Obligation,
    Ledger,
    Registry,
    Engine,
    NotMeasured,
}

impl CommitmentKind {
    pub const ALL: [CommitmentKind; 6] = [
        CommitmentKind::Target,
        CommitmentKind::Obligation,
        CommitmentKind::Ledger,
        CommitmentKind::Registry,
        CommitmentKind::Engine,
        CommitmentKind::NotMeasured,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CommitmentKind::Target => "target",
            CommitmentKind::Obligation => "obligation",
            CommitmentKind::Ledger => "ledger",
            CommitmentKind::Registry => "registry",
            CommitmentKind::Engine => "engine",
            CommitmentKind::NotMeasured => "not_measured",
        }
    }

    pub fn parse(text: &str) -> Option<CommitmentKind> {
        CommitmentKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
    }
}

impl fmt::Display for CommitmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The engines of the platform a commitment may be served by (code, so a fixed list).
pub const ENGINES: [(&str, &str); 6] = [
    ("fair.admit", "入学：学区划片与公开摇号（零择校）"),
    ("fair.classes", "均衡分班（零择班）"),
    ("fair.seats", "排座（零择座）"),
    ("fair.teachers", "师班抽签（零指定）"),
    ("fair.cadres", "班干部选任（选干公平）"),
    ("timetable.select", "选课走班：教学班编排与排课"),
];

/// Where in EduPlan a commitment is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedBy {
    pub kind: CommitmentKind,
    pub id: String,
}

/// One commitment of the plan: a sentence or clause of the seed with its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commitment {
    pub id: String,
    pub section: String,
    /// The original sentence or clause, in Simplified Chinese.
    pub text: String,
    pub kind: CommitmentKind,
    /// `None` only for `not_measured`.
    pub served_by: Option<ServedBy>,
    /// Why a `not_measured` commitment is not measured.
    pub reason: Option<String>,
    /// Locator of the seed sentence (`p5.s1` = paragraph 5, sentence 1).
    pub seed: String,
    pub note: Option<String>,
}

/// One sentence of the seed document and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageEntry {
    /// `p<paragraph>.s<sentence>`, both 1-based; a paragraph is a line of the seed.
    pub seed: String,
    /// The sentence in Simplified Chinese.
    pub text: String,
    /// Why the sentence carries no commitment (headline, news framing).
    pub none: Option<String>,
    /// Clauses of the sentence that carry no commitment of their own (framing, purpose).
    pub framing: Vec<String>,
}

/// A validated plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub(crate) header: PlanHeader,
    pub(crate) periods: BTreeMap<String, Period>,
    pub(crate) metrics: BTreeMap<String, MetricDef>,
    pub(crate) targets: Vec<Target>,
    pub(crate) obligations: BTreeMap<String, toml::Table>,
    pub(crate) ledgers: BTreeMap<String, toml::Table>,
    pub(crate) registries: BTreeMap<String, Registry>,
    pub(crate) commitments: Vec<Commitment>,
    pub(crate) coverage: Vec<CoverageEntry>,
}

impl Plan {
    pub fn header(&self) -> &PlanHeader {
        &self.header
    }

    pub fn periods(&self) -> &BTreeMap<String, Period> {
        &self.periods
    }

    /// The metric catalogue, by name.
    pub fn metrics(&self) -> &BTreeMap<String, MetricDef> {
        &self.metrics
    }

    pub fn metric(&self, name: &str) -> Option<&MetricDef> {
        self.metrics.get(name)
    }

    /// Targets in file order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    pub fn target(&self, id: &str) -> Option<&Target> {
        self.targets.iter().find(|target| target.id == id)
    }

    /// Obligation declarations, raw: their schema belongs to the obligation engine.
    pub fn obligations(&self) -> &BTreeMap<String, toml::Table> {
        &self.obligations
    }

    /// Ledger declarations, raw: their schema belongs to the ledger engine.
    pub fn ledgers(&self) -> &BTreeMap<String, toml::Table> {
        &self.ledgers
    }

    pub fn registries(&self) -> &BTreeMap<String, Registry> {
        &self.registries
    }

    /// Commitments in file order (the order of the seed).
    pub fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }

    pub fn coverage(&self) -> &[CoverageEntry] {
        &self.coverage
    }

    /// The period a target is measured over.
    pub fn target_period(&self, target: &Target) -> Option<&Period> {
        self.periods.get(&target.period)
    }

    /// Number of commitments of each kind.
    pub fn commitment_counts(&self) -> BTreeMap<CommitmentKind, usize> {
        let mut counts = BTreeMap::new();
        for commitment in &self.commitments {
            *counts.entry(commitment.kind).or_insert(0) += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_validate_and_count_days() {
        assert!(PlanDate::new(2021, 2, 29).is_none());
        assert!(PlanDate::new(2020, 2, 29).is_some());
        assert!(PlanDate::new(2021, 13, 1).is_none());
        let start = PlanDate::new(2021, 1, 1).map(PlanDate::days_since_epoch);
        let end = PlanDate::new(2021, 12, 31).map(PlanDate::days_since_epoch);
        assert_eq!(start.zip(end).map(|(s, e)| e - s), Some(364));
        assert_eq!(
            PlanDate::new(1970, 1, 1).map(PlanDate::days_since_epoch),
            Some(0)
        );
        assert_eq!(
            "2021-09-01".parse::<PlanDate>().map(|d| d.to_string()),
            Ok("2021-09-01".to_owned())
        );
        assert!("2021-02-30".parse::<PlanDate>().is_err());
    }

    #[test]
    fn comparators_hold() {
        assert!(Comparator::Ge.holds(96.0, 96.0));
        assert!(!Comparator::Gt.holds(96.0, 96.0));
        assert!(Comparator::Eq.holds(100.0, 100.0 + 1e-12));
        assert!(Comparator::Le.holds(59.0, 60.0));
        assert_eq!(Comparator::parse("=>"), None);
    }
}
