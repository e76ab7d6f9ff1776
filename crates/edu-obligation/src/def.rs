//! Obligation definitions as data (`[obligations.<id>]` TOML tables) and their consistency checks.

use std::collections::BTreeMap;

use edu_form::{DefProblem, FieldType, FormDef, Values};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::{SchoolCalendar, Term};
use crate::checks::{FundingRule, HomeworkCaps};
use crate::copy::CopyCheck;
use crate::health::HealthRules;
use crate::institution::{Institution, InstitutionFilter};
use crate::period::{Cadence, Period, Window, WindowDef};
use crate::status::EscalationPolicy;

/// A periodic return that institutions owe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObligationDef {
    /// Id: the table key (`health-daily`); filled in by [`parse_obligation_defs`].
    #[serde(default)]
    pub id: String,
    /// Chinese title.
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: String,
    /// What the return is for, which plan commitment it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How often.
    pub cadence: Cadence,
    /// Leave out week/month/year periods that do not overlap a term (holidays owe nothing).
    #[serde(default)]
    pub only_in_term: bool,
    /// Who owes it: an institution owes the return when it matches any filter.
    pub owed_by: Vec<InstitutionFilter>,
    /// When submissions are accepted, relative to the period.
    pub window: WindowDef,
    /// Whether an explicit zero report ("nothing to report") is accepted instead of the form.
    #[serde(default)]
    pub zero_allowed: bool,
    /// The form.
    pub form: FormDef,
    /// Numeric (or bool, summed as 1/0) top-level fields that plan metrics may sum; each must exist in the form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// When missed periods escalate.
    #[serde(default)]
    pub escalation: EscalationPolicy,
    /// Detection of values copied unchanged period after period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_check: Option<CopyCheck>,
    /// Daily health report specifics (anomaly and cluster alerts, case follow-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthRules>,
    /// Homework caps per grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homework: Option<HomeworkCaps>,
    /// Per-pupil funding standards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<FundingRule>,
    /// Plan targets this return feeds (informational for the plan engine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<Feed>,
}

/// A plan target fed by summing a field of the accepted returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// Target id in the plan file.
    pub target: String,
    /// Numeric field summed over returns.
    pub field: String,
}

/// Why a definitions file was refused: every problem, each located (`obligations.health-daily.form.cases`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct DefsError {
    /// The problems.
    pub problems: Vec<DefProblem>,
}

#[derive(Deserialize)]
struct DefsFile {
    #[serde(default)]
    obligations: BTreeMap<String, ObligationDef>,
}

/// Parses `[obligations.<id>]` tables (other top-level tables, e.g. the rest of a plan file, are ignored) and checks
/// every definition. Ids are `[a-z][a-z0-9-]*`.
pub fn parse_obligation_defs(text: &str) -> Result<BTreeMap<String, ObligationDef>, DefsError> {
    let file: DefsFile = toml::from_str(text).map_err(|e| DefsError {
        problems: vec![DefProblem {
            at: "obligations".into(),
            problem: e.to_string(),
        }],
    })?;
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (id, mut def) in file.obligations {
        if !def.id.is_empty() && def.id != id {
            problems.push(DefProblem {
                at: format!("obligations.{id}.id"),
                problem: "differs from the table key".into(),
            });
        }
        def.id = id.clone();
        for p in def.check() {
            problems.push(DefProblem {
                at: format!("obligations.{id}.{}", p.at),
                problem: p.problem,
            });
        }
        out.insert(id, def);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(DefsError { problems })
    }
}

/// True for obligation and ledger ids: `[a-z][a-z0-9-]*`, at most 64 characters.
pub fn is_valid_def_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl ObligationDef {
    /// True when the institution owes this return at all (ignoring dates).
    pub fn owed_by(&self, institution: &Institution) -> bool {
        self.owed_by.iter().any(|f| f.matches(institution))
    }

    /// The period containing a China-time date.
    pub fn period_containing(&self, calendar: &SchoolCalendar, date: Date) -> Option<Period> {
        self.cadence
            .period_containing(calendar, date)
            .filter(|p| !self.only_in_term || calendar.overlaps_term(p.start, p.end))
    }

    /// The period with this key.
    pub fn period_by_key(&self, calendar: &SchoolCalendar, key: &str) -> Option<Period> {
        self.cadence
            .period_by_key(calendar, key)
            .filter(|p| !self.only_in_term || calendar.overlaps_term(p.start, p.end))
    }

    /// The periods starting in `[from, to]`.
    pub fn periods_starting_between(
        &self,
        calendar: &SchoolCalendar,
        from: Date,
        to: Date,
    ) -> Vec<Period> {
        self.cadence
            .periods_starting_between(calendar, from, to, self.only_in_term)
    }

    /// The values of the form's computed fields, derived from the submitted ones (empty when nothing is computed).
    pub fn computed_values(&self, values: &Values) -> Values {
        self.homework
            .as_ref()
            .map(|h| h.band_totals(values))
            .unwrap_or_default()
    }

    /// The window of a period as UTC instants.
    pub fn window(&self, period: &Period) -> Window {
        self.window.for_period(period)
    }

    /// Problems with the definition; empty when it is usable.
    pub fn check(&self) -> Vec<DefProblem> {
        let mut problems: Vec<DefProblem> = Vec::new();
        let mut problem = |at: &str, p: String| {
            problems.push(DefProblem {
                at: at.into(),
                problem: p,
            })
        };
        if !self.id.is_empty() && !is_valid_def_id(&self.id) {
            problem("id", "must match [a-z][a-z0-9-]*".into());
        }
        if self.title.trim().is_empty() {
            problem("title", "empty".into());
        }
        if self.owed_by.is_empty() {
            problem(
                "owed_by",
                "nobody owes this return: give at least one filter".into(),
            );
        }
        for sample in sample_periods(self.cadence) {
            let w = self.window(&sample);
            if !(w.opens <= w.due && w.due <= w.expires) {
                problem(
                    "window",
                    format!(
                        "for period {} the window is not opens <= due <= expires ({} / {} / {})",
                        sample.key, w.opens, w.due, w.expires
                    ),
                );
                break;
            }
        }
        for p in self.form.check() {
            problem(&format!("form.{}", p.at), p.problem);
        }
        let numeric = |id: &str| {
            self.form
                .field(id)
                .is_some_and(|f| f.field_type.is_numeric())
        };
        for (i, id) in self.fields.iter().enumerate() {
            let summable = self
                .form
                .field(id)
                .is_some_and(|f| f.field_type.is_numeric() || f.field_type == FieldType::Bool);
            if !summable {
                problem(
                    &format!("fields[{i}]"),
                    format!("{id:?} is not a numeric or bool field of the form"),
                );
            }
        }
        let produced: Vec<&str> = self
            .homework
            .iter()
            .flat_map(|h| h.computed_fields())
            .collect();
        for f in self.form.fields.iter().filter(|f| f.computed) {
            if !produced.contains(&f.id.as_str()) {
                problem(
                    &format!("form.{}", f.id),
                    "computed field that no rule of this obligation computes".into(),
                );
            }
        }
        for id in produced {
            if !self.form.field(id).is_some_and(|f| f.computed) {
                problem(
                    "homework",
                    format!("computes {id:?}, which must be a computed field of the form"),
                );
            }
        }
        for (i, feed) in self.feeds.iter().enumerate() {
            if !numeric(&feed.field) {
                problem(
                    &format!("feeds[{i}].field"),
                    format!("{:?} is not a numeric field of the form", feed.field),
                );
            }
        }
        if let Some(c) = &self.copy_check {
            for p in c.check(&self.form) {
                problem(&format!("copy_check.{}", p.at), p.problem);
            }
        }
        if let Some(h) = &self.health {
            for p in h.check(&self.form) {
                problem(&format!("health.{}", p.at), p.problem);
            }
        }
        if let Some(h) = &self.homework {
            for p in h.check(&self.form) {
                problem(&format!("homework.{}", p.at), p.problem);
            }
        }
        if let Some(f) = &self.funding {
            for p in f.check(&self.form) {
                problem(&format!("funding.{}", p.at), p.problem);
            }
        }
        for p in self.escalation.check() {
            problem("escalation", p);
        }
        problems
    }
}

/// Checks that `id` names a field of `form` of one of `types` (or a column of `list` when given).
pub(crate) fn expect_field(
    form: &FormDef,
    list: Option<&str>,
    id: &str,
    types: &[FieldType],
    at: &str,
    problems: &mut Vec<DefProblem>,
) {
    let field = match list {
        None => form.field(id),
        Some(l) => form.field(l).and_then(|f| f.column(id)),
    };
    let place = list
        .map(|l| format!("{l}.{id}"))
        .unwrap_or_else(|| id.to_string());
    match field {
        None => problems.push(DefProblem {
            at: at.into(),
            problem: format!("field {place:?} does not exist"),
        }),
        Some(f) if !types.contains(&f.field_type) => problems.push(DefProblem {
            at: at.into(),
            problem: format!(
                "field {place:?} is {:?}, expected one of {types:?}",
                f.field_type
            ),
        }),
        Some(_) => {}
    }
}

/// Periods of varied lengths to check windows on (a window valid for these is valid for the cadence).
fn sample_periods(cadence: Cadence) -> Vec<Period> {
    let calendar = SchoolCalendar {
        terms: vec![
            Term {
                id: "long".into(),
                name: String::new(),
                start: Date::constant(2021, 3, 1),
                end: Date::constant(2021, 7, 9),
            },
            Term {
                id: "short".into(),
                name: String::new(),
                start: Date::constant(2021, 8, 2),
                end: Date::constant(2021, 8, 2),
            },
        ],
        school_weekdays: vec![1, 2, 3, 4, 5, 6, 7],
        holidays: Vec::new(),
        extra_school_days: Vec::new(),
    };
    [
        Date::constant(2021, 2, 10),
        Date::constant(2021, 3, 31),
        Date::constant(2021, 8, 2),
        Date::constant(2020, 2, 29),
    ]
    .into_iter()
    .filter_map(|d| cadence.period_containing(&calendar, d))
    .collect()
}
