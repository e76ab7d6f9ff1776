//! The work plan as data: plan file, metric catalogue, indicator expressions and target evaluation. Pure.
//!
//! - [`parse_plan`] / [`check_plan`] read a plan file (TOML, specified in docs/plan-format.md) and report every
//!   problem with line and column;
//! - [`Plan`] is the validated plan: metrics, targets, commitments, obligation and ledger declarations, coverage of
//!   the seed document;
//! - [`evaluate`] computes every target for an org unit from a [`MetricSource`] the platform implements;
//! - [`diff_plans`] compares two plans (one year against the next).

mod coverage;
mod diagnostic;
mod diff;
mod eval;
mod expr;
mod memory;
mod metric;
mod parse;
mod plan;

pub use coverage::{SeedSentence, check_seed_coverage, seed_sentences};
pub use diagnostic::{Diagnostic, LineIndex, PlanErrors, Severity};
pub use diff::{Changes, FieldChange, ItemChange, PlanDiff, diff_plans};
pub use eval::{
    BreakdownResult, EvalPeriod, Evaluation, IndicatorValue, MetricKey, MetricRequest,
    MetricSource, MetricValues, Status, StatusReason, TargetResult, evaluate, evaluate_target,
    indicator_value,
};
pub use expr::{
    BinOp, Expr, ExprEvalError, ExprSyntaxError, ParsedExpr, RatioForm, is_metric_name, parse_expr,
};
pub use memory::{
    InMemorySource, Institution, KeyAreaRecord, PopulationRecord, PupilRecord, StaffRecord,
};
pub use metric::*;
pub use parse::{check_plan, parse_plan};
pub use plan::*;

/// The Daqing 2021 plan as shipped (`plans/daqing-2021.toml`): the platform's default plan.
pub const DAQING_2021: &str = include_str!("../../../plans/daqing-2021.toml");
