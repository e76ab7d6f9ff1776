//! Detection of returns copied unchanged period after period: the same non-zero values for N consecutive periods.

use edu_form::{DefProblem, FormDef, Values};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::def::ObligationDef;
use crate::submission::ReportKind;

/// Settings of copy detection (`[obligations.<id>.copy_check]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyCheck {
    /// Flag a run of at least this many consecutive identical reports (default 5, at least 2).
    #[serde(default = "default_periods")]
    pub periods: usize,
    /// Fields compared; empty = every integer and decimal field of the form.
    #[serde(default)]
    pub fields: Vec<String>,
}

fn default_periods() -> usize {
    5
}

impl Default for CopyCheck {
    fn default() -> Self {
        CopyCheck {
            periods: default_periods(),
            fields: Vec::new(),
        }
    }
}

impl CopyCheck {
    pub(crate) fn check(&self, form: &FormDef) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        if self.periods < 2 {
            problems.push(DefProblem {
                at: "periods".into(),
                problem: "must be at least 2".into(),
            });
        }
        for f in &self.fields {
            if form.field(f).is_none() {
                problems.push(DefProblem {
                    at: "fields".into(),
                    problem: format!("field {f:?} does not exist"),
                });
            }
        }
        problems
    }

    fn compared_fields(&self, form: &FormDef) -> Vec<String> {
        if !self.fields.is_empty() {
            return self.fields.clone();
        }
        form.fields
            .iter()
            .filter(|f| f.field_type.is_numeric())
            .map(|f| f.id.clone())
            .collect()
    }
}

/// One period of an institution's series, in period order. Put every expected period in, submitted or not: a gap
/// (nothing submitted) or a zero report breaks a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Period key.
    pub period: String,
    /// What was submitted (`None` = nothing).
    pub kind: Option<ReportKind>,
    /// Current normalised values.
    #[serde(default)]
    pub values: Values,
}

/// A run of identical reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CopyFlag {
    /// First period of the run.
    pub first_period: String,
    /// Last period of the run.
    pub last_period: String,
    /// Length of the run.
    pub periods: usize,
    /// The repeated values of the compared fields.
    pub values: Values,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

/// Every maximal run of at least `copy_check.periods` consecutive reports (zero reports and gaps break runs) whose
/// compared fields are identical and not all zero/empty. Uses the definition's `copy_check`, or the defaults
/// (5 periods, all numeric fields) when it has none.
pub fn detect_copies(def: &ObligationDef, series: &[SeriesPoint]) -> Vec<CopyFlag> {
    let check = def.copy_check.clone().unwrap_or_default();
    let fields = check.compared_fields(&def.form);
    let min_run = check.periods.max(2);
    let project = |p: &SeriesPoint| -> Option<Values> {
        if p.kind != Some(ReportKind::Report) {
            return None;
        }
        let projected: Values = fields
            .iter()
            .filter_map(|f| p.values.get(f).map(|v| (f.clone(), v.clone())))
            .collect();
        projected.values().any(is_non_zero).then_some(projected)
    };
    let mut flags = Vec::new();
    let mut i = 0;
    while i < series.len() {
        let Some(first) = project(&series[i]) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < series.len() && project(&series[j]).as_ref() == Some(&first) {
            j += 1;
        }
        let run = j - i;
        if run >= min_run {
            let shown: Vec<String> = first
                .iter()
                .map(|(k, v)| {
                    let label = def.form.field(k).map(|f| f.label.as_str()).unwrap_or(k);
                    format!("{label}={}", display(v))
                })
                .collect();
            let shown_en: Vec<String> = first
                .iter()
                .map(|(k, v)| format!("{k}={}", display(v)))
                .collect();
            flags.push(CopyFlag {
                first_period: series[i].period.clone(),
                last_period: series[j - 1].period.clone(),
                periods: run,
                explanation: format!(
                    "连续 {run} 期（{} 至 {}）报送的数据完全相同：{}。请核实是否照抄往期数据",
                    series[i].period,
                    series[j - 1].period,
                    shown.join("，")
                ),
                explanation_en: format!(
                    "{run} consecutive reports ({} to {}) carry identical values: {}. Check they were not copied forward",
                    series[i].period,
                    series[j - 1].period,
                    shown_en.join(", ")
                ),
                values: first,
            });
        }
        i = j;
    }
    flags
}

fn is_non_zero(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => edu_form::Decimal::parse(s).map_or(!s.is_empty(), |d| !d.is_zero()),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
