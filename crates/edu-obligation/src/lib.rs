//! Reporting obligations: forms, cadences, windows, zero reports, completeness and timeliness metrics, anomaly
//! alerts. Pure: no I/O, no clock — "now" is always a parameter; business dates are China time (UTC+8).
//!
//! An obligation ([`ObligationDef`], from `[obligations.<id>]` TOML tables) is a form, a cadence, who owes it, a
//! window and whether a zero report is allowed. The platform calls:
//! [`accept_submission`] → store an [`AcceptedSubmission`] as a [`ReturnRecord`] (corrections, approval, lock);
//! [`reporting_status`] → counts per org unit, the missing list, escalations;
//! [`detect_copies`], [`health_alerts`], [`track_cases`], [`homework_compliance`], [`funding_check`].

mod calendar;
mod checks;
mod copy;
mod def;
mod health;
mod institution;
mod period;
mod record;
mod status;
mod submission;

pub use calendar::{SchoolCalendar, Term};
pub use checks::{
    FundingCheck, FundingRule, FundingStandard, GradeCap, GradeCompliance, HomeworkCaps,
    field_total, funding_check, homework_compliance,
};
pub use copy::{CopyCheck, CopyFlag, SeriesPoint, detect_copies};
pub use def::{DefsError, Feed, ObligationDef, is_valid_def_id, parse_obligation_defs};
pub use health::{
    AbsenceSpikeRule, CaseListFields, CaseRef, ClusterRule, DayReport, HealthAlert,
    HealthAlertKind, HealthRules, TrackedCase, health_alerts, track_cases,
};
pub use institution::{
    Area, Authority, Institution, InstitutionFilter, InstitutionKind, Ownership,
};
pub use period::{Anchor, Cadence, Period, Window, WindowDef, WindowPoint};
pub use record::{ReturnEvent, ReturnEventKind, ReturnRecord, ReturnState, ReturnVersion};
pub use status::{
    Escalation, EscalationLevel, EscalationPolicy, ExpectedReturn, MissingReturn, ReportingCounts,
    ReportingData, ReturnStatus, ReturnSummary, StatusReport, UnitStatus, expected_returns,
    reporting_status,
};
pub use submission::{
    AcceptedSubmission, ReportKind, Submission, SubmissionContent, Timeliness, ZERO_STATEMENT,
    ZERO_STATEMENT_EN, ZeroStatement, accept_submission,
};

/// The Daqing 2021 plan file, whose `[obligations.*]` tables are the plan's obligation definitions (the parser
/// ignores the other tables). The plan file is the one source of these definitions.
pub const DAQING_2021_DEFS: &str = include_str!("../../../plans/daqing-2021.toml");
