//! Target evaluation: metric values from a [`MetricSource`] → value, numerator, denominator and status per target.
//!
//! Ratios are computed from the sums the source returns for the whole org unit (Σ numerators ÷ Σ denominators), never
//! as an average of the children's ratios.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::metric::{Breakdown, MetricDef};
use crate::plan::{Comparator, Plan, PlanDate, Target};

/// The period a metric is computed over: `start..=end`, with records counted as they stand on `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EvalPeriod {
    pub start: PlanDate,
    pub end: PlanDate,
    /// The as-of date: `start <= as_of <= end`.
    pub as_of: PlanDate,
}

impl EvalPeriod {
    /// The period `start..=end` judged on `as_of`, clamped into the period.
    pub fn new(start: PlanDate, end: PlanDate, as_of: PlanDate) -> EvalPeriod {
        EvalPeriod {
            start,
            end,
            as_of: as_of.clamp(start, end),
        }
    }

    /// The year whose population a `population` metric uses: the year the period starts in.
    pub fn population_year(&self) -> i32 {
        self.start.year()
    }

    /// Share of the period's days elapsed on `as_of` (1.0 on the last day).
    pub fn elapsed_fraction(&self) -> f64 {
        let total = self.end.days_since_epoch() - self.start.days_since_epoch() + 1;
        let elapsed = self.as_of.days_since_epoch() - self.start.days_since_epoch() + 1;
        // Periods are at least one day long (the parser refuses end < start), so `total >= 1`.
        elapsed as f64 / total.max(1) as f64
    }
}

/// One metric value the platform must compute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricRequest<'a> {
    pub name: &'a str,
    pub metric: &'a MetricDef,
    /// Org unit code: the city or a district / county (6 digits), or an institution (10-digit 学校标识码).
    pub org: &'a str,
    pub period: EvalPeriod,
    pub breakdown: Option<Breakdown>,
}

impl MetricRequest<'_> {
    pub fn key(&self) -> MetricKey {
        MetricKey {
            metric: self.name.to_owned(),
            org: self.org.to_owned(),
            period: self.period,
            breakdown: self.breakdown,
        }
    }
}

/// Identity of a metric value, for precomputed maps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MetricKey {
    pub metric: String,
    pub org: String,
    pub period: EvalPeriod,
    pub breakdown: Option<Breakdown>,
}

/// Where metric values come from: the platform implements this over its database.
pub trait MetricSource {
    /// The metric's count or sum for the org unit (summed over everything under it), or `None` when the source cannot
    /// say (no data loaded, breakdown not recorded).
    fn value(&self, request: &MetricRequest<'_>) -> Option<f64>;

    /// Many values at once (same order as `requests`); override to group queries.
    fn values(&self, requests: &[MetricRequest<'_>]) -> Vec<Option<f64>> {
        requests.iter().map(|request| self.value(request)).collect()
    }
}

/// Precomputed values by key: the platform fills it from a few grouped queries, then evaluates from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricValues(pub BTreeMap<MetricKey, f64>);

impl MetricSource for MetricValues {
    fn value(&self, request: &MetricRequest<'_>) -> Option<f64> {
        self.0.get(&request.key()).copied()
    }
}

/// How a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    AtRisk,
    Missed,
    NoData,
}

/// Why a target is at risk or has no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusReason {
    /// Not met, but within the at-risk margin of the target.
    WithinMargin,
    /// Not met locally, but the national threshold is met.
    MeetsNationalThreshold,
    /// A cumulative target not reached yet, but on pace (at or above the target pro-rated to the elapsed period).
    OnPace,
    /// Some metric of the indicator has no value.
    MissingMetric,
    /// The denominator is zero.
    ZeroDenominator,
}

/// The value of an indicator with what it is made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorValue {
    pub value: Option<f64>,
    /// The indicator's numerator (for `100 * a / b`: the value of `a`); for a plain count, the count.
    pub numerator: Option<f64>,
    /// The denominator for a ratio (`b`); `None` for a plain count or sum.
    pub denominator: Option<f64>,
    /// The constant factor (100 for a percentage).
    pub scale: f64,
    /// Metric values used, by name.
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// One cell of a target's breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownResult {
    pub breakdown: Breakdown,
    #[serde(flatten)]
    pub indicator: IndicatorValue,
    /// Judged only for ratios (a share of a count is not judged against the whole count's target).
    pub status: Option<Status>,
}

/// The evaluation of one target for one org unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetResult {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub indicator_text: String,
    pub comparator: Comparator,
    pub target: f64,
    /// The value the status was judged against: the target, or for a cumulative target before the period ends, the
    /// target pro-rated to the elapsed share of the period.
    pub judged_against: f64,
    pub threshold: Option<f64>,
    pub period: EvalPeriod,
    #[serde(flatten)]
    pub indicator: IndicatorValue,
    pub status: Status,
    pub reason: Option<StatusReason>,
    pub breakdowns: Vec<BreakdownResult>,
}

/// Every target of a plan for one org unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub plan: String,
    pub org: String,
    pub as_of: PlanDate,
    pub targets: Vec<TargetResult>,
}

impl Plan {
    /// The evaluation period of a target on `as_of`.
    pub fn eval_period(&self, target: &Target, as_of: PlanDate) -> Option<EvalPeriod> {
        self.target_period(target)
            .map(|period| EvalPeriod::new(period.start, period.end, as_of))
    }

    /// Every distinct metric value needed to evaluate all targets (and their breakdowns) for `org` on `as_of`.
    pub fn metric_requests<'p>(&'p self, org: &'p str, as_of: PlanDate) -> Vec<MetricRequest<'p>> {
        let mut seen = BTreeSet::new();
        let mut requests = Vec::new();
        for target in &self.targets {
            let Some(period) = self.eval_period(target, as_of) else {
                continue;
            };
            let cells = std::iter::once(None).chain(
                target
                    .breakdowns
                    .iter()
                    .flat_map(|dimension| dimension.values().into_iter().map(Some)),
            );
            for breakdown in cells {
                for name in target.indicator.metric_names() {
                    let Some((name, metric)) = self.metrics.get_key_value(name) else {
                        continue;
                    };
                    if seen.insert((name.as_str(), period, breakdown)) {
                        requests.push(MetricRequest {
                            name,
                            metric,
                            org,
                            period,
                            breakdown,
                        });
                    }
                }
            }
        }
        requests
    }

    /// The distinct metric definitions the targets use, by name.
    pub fn used_metrics(&self) -> BTreeMap<&str, &MetricDef> {
        self.targets
            .iter()
            .flat_map(|target| target.indicator.metric_names())
            .filter_map(|name| self.metrics.get_key_value(name))
            .map(|(name, metric)| (name.as_str(), metric))
            .collect()
    }
}

/// Evaluates every target of `plan` for the org unit `org` on `as_of`, asking `source` for all metric values in one
/// batch.
pub fn evaluate(plan: &Plan, source: &dyn MetricSource, org: &str, as_of: PlanDate) -> Evaluation {
    evaluate_only(plan, source, org, as_of, None)
}

/// One target of [`evaluate`], asking the source only for that target's metrics (drill-downs evaluate one target
/// for many org units). `None` when the plan has no such target or it has no period on `as_of`.
pub fn evaluate_target(
    plan: &Plan,
    target_id: &str,
    source: &dyn MetricSource,
    org: &str,
    as_of: PlanDate,
) -> Option<TargetResult> {
    evaluate_only(plan, source, org, as_of, Some(target_id))
        .targets
        .into_iter()
        .next()
}

fn evaluate_only(
    plan: &Plan,
    source: &dyn MetricSource,
    org: &str,
    as_of: PlanDate,
    only: Option<&str>,
) -> Evaluation {
    let mut requests = plan.metric_requests(org, as_of);
    if let Some(id) = only {
        let names = plan
            .target(id)
            .map(|t| t.indicator.metric_names())
            .unwrap_or_default();
        requests.retain(|r| names.contains(&r.name));
    }
    let values = source.values(&requests);
    let table: BTreeMap<(&str, EvalPeriod, Option<Breakdown>), Option<f64>> = requests
        .iter()
        .zip(values)
        .map(|(request, value)| ((request.name, request.period, request.breakdown), value))
        .collect();
    let table = &table;
    let targets = plan
        .targets
        .iter()
        .filter(|target| only.is_none_or(|id| target.id == id))
        .filter_map(|target| {
            let period = plan.eval_period(target, as_of)?;
            let lookup = move |breakdown: Option<Breakdown>| {
                move |name: &str| table.get(&(name, period, breakdown)).copied().flatten()
            };
            let margin = target.at_risk_margin.unwrap_or(plan.header.at_risk_margin);
            let indicator = indicator_value(target, &lookup(None));
            let (status, reason, judged_against) = judge(target, &indicator, period, margin);
            let is_ratio = indicator.denominator.is_some()
                || target.indicator.ratio_form().denominator.is_some();
            let breakdowns = target
                .breakdowns
                .iter()
                .flat_map(|dimension| dimension.values())
                .map(|breakdown| {
                    let indicator = indicator_value(target, &lookup(Some(breakdown)));
                    let status = is_ratio.then(|| judge(target, &indicator, period, margin).0);
                    BreakdownResult {
                        breakdown,
                        indicator,
                        status,
                    }
                })
                .collect();
            Some(TargetResult {
                id: target.id.clone(),
                title: target.title.clone(),
                unit: target.unit.clone(),
                indicator_text: target.indicator_text.clone(),
                comparator: target.comparator,
                target: target.target,
                judged_against,
                threshold: target.threshold,
                period,
                indicator,
                status,
                reason,
                breakdowns,
            })
        })
        .collect();
    Evaluation {
        plan: plan.header.id.clone(),
        org: org.to_owned(),
        as_of,
        targets,
    }
}

/// Computes an indicator from metric values.
pub fn indicator_value(target: &Target, lookup: &dyn Fn(&str) -> Option<f64>) -> IndicatorValue {
    let metrics: BTreeMap<String, Option<f64>> = target
        .indicator
        .metric_names()
        .into_iter()
        .map(|name| (name.to_owned(), lookup(name)))
        .collect();
    let form = target.indicator.ratio_form();
    let numerator = match &form.numerator {
        Some(expr) => expr.eval(lookup).ok(),
        None => Some(1.0),
    };
    let denominator = form
        .denominator
        .as_ref()
        .and_then(|expr| expr.eval(lookup).ok());
    let value = match (numerator, &form.denominator, denominator) {
        (Some(numerator), None, _) => Some(form.scale * numerator),
        (Some(numerator), Some(_), Some(denominator)) if denominator != 0.0 => {
            Some(form.scale * numerator / denominator)
        }
        _ => None,
    };
    IndicatorValue {
        value,
        numerator,
        denominator,
        scale: form.scale,
        metrics,
    }
}

/// Status of an indicator value against a target: see docs/plan-format.md, "Status".
fn judge(
    target: &Target,
    indicator: &IndicatorValue,
    period: EvalPeriod,
    margin: f64,
) -> (Status, Option<StatusReason>, f64) {
    let comparator = target.comparator;
    let running = target.cumulative && period.as_of < period.end;
    let judged_against = if running {
        target.target * period.elapsed_fraction()
    } else {
        target.target
    };
    let Some(value) = indicator.value else {
        let reason = if indicator.metrics.values().any(Option::is_none) {
            StatusReason::MissingMetric
        } else {
            StatusReason::ZeroDenominator
        };
        return (Status::NoData, Some(reason), judged_against);
    };
    if comparator.holds(value, target.target) {
        return (Status::Met, None, judged_against);
    }
    if running && comparator.holds(value, judged_against) {
        return (Status::AtRisk, Some(StatusReason::OnPace), judged_against);
    }
    let slack = margin * judged_against.abs();
    let within_margin = match comparator {
        Comparator::Ge | Comparator::Gt => value >= judged_against - slack,
        Comparator::Le | Comparator::Lt => value <= judged_against + slack,
        Comparator::Eq => (value - judged_against).abs() <= slack,
    };
    if within_margin {
        return (
            Status::AtRisk,
            Some(StatusReason::WithinMargin),
            judged_against,
        );
    }
    if target
        .threshold
        .is_some_and(|threshold| comparator.holds(value, threshold))
    {
        return (
            Status::AtRisk,
            Some(StatusReason::MeetsNationalThreshold),
            judged_against,
        );
    }
    (Status::Missed, None, judged_against)
}
