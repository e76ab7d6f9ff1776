//! Ledgers: case workflows with deadlines and escalation, LEC risk grading, checklists, the negative list and
//! ledger metrics. Pure: no I/O, no clock — "now" is always a parameter; business dates are China time (UTC+8).
//!
//! A ledger ([`LedgerDef`], from `[ledgers.<id>]` TOML tables) is a form, states and transitions. The platform
//! calls [`open_case`] and [`apply_action`] (each returns the new case with its history entry, or a
//! [`TransitionError`] naming the rule), [`case_status`] and [`ledger_metrics`] at "now", [`view_case`] for field
//! visibility, [`grade_lec`], [`evaluate_checklist`] and [`match_request`].

mod case;
mod checklist;
mod deadline;
mod def;
mod lec;
mod negative;

pub use case::{
    Actor, AvailableAction, Case, CaseView, FieldChange, HistoryEntry, Relation, Step,
    TransitionError, TransitionRule, apply_action, available_actions, open_case, view_case,
};
pub use checklist::{
    Checklist, ChecklistItem, ChecklistOutcome, ChecklistRun, Finding, FindingFields, ItemOutcome,
    ItemResult, evaluate_checklist,
};
pub use deadline::{
    CaseStatus, LedgerCounts, UnitLedgerStatus, case_status, ledger_metrics, state_deadline,
    was_late,
};
pub use def::{
    ClockStart, DeadlineRule, DefsError, EscalationLevel, EscalationRule, EvidenceRule, Guard,
    ImmediateEscalation, LecFields, LedgerDef, Role, StateDef, TransitionDef, parse_ledger_defs,
};
pub use lec::{
    C_SCALE, E_SCALE, L_SCALE, LecError, LecGrade, LecThresholds, ReviewSchedule, RiskLevel,
    grade_lec,
};
pub use negative::{
    BurdenDecision, BurdenOutcome, BurdenRequest, MatchReason, NegativeItem, NegativeList,
    NegativeMatch, match_request,
};

/// The Daqing 2021 plan file, whose `[ledgers.*]` tables are the plan's ledger definitions (the parser ignores
/// the other tables). The plan file is the one source of these definitions.
pub const DAQING_2021_DEFS: &str = include_str!("../../../plans/daqing-2021.toml");
