//! A stored return over time: versions kept on correction, review by the district, and the lock on approval.
//!
//! States and rules:
//! - `submitted` (after the first accepted submission) — the institution may correct it while the window is open;
//!   the reviewer may approve it or send it back.
//! - `sent_back` — the institution may correct it at any time (the window no longer applies); correcting it makes it
//!   `submitted` again.
//! - `approved` — locked: corrections are refused. Only `reopen` (with a reason; the platform restricts it to
//!   city administrators) makes it `sent_back`.
//!
//! Timeliness is that of the first version: a later correction never turns an on-time return late, nor a late one
//! on time. Every change is a new version or event; nothing is overwritten.

use edu_form::china_time::format_china;
use edu_form::{ErrorCode, FieldError, ValidationErrors, Values};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::SchoolCalendar;
use crate::def::ObligationDef;
use crate::institution::Institution;
use crate::status::ReturnSummary;
use crate::submission::{
    AcceptedSubmission, ReportKind, Submission, Timeliness, ZeroStatement, check_content,
    resolve_period,
};

/// Review state of a return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnState {
    /// Submitted, awaiting review.
    Submitted,
    /// Sent back by the reviewer for correction.
    SentBack,
    /// Approved and locked.
    Approved,
}

/// One version of the content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnVersion {
    /// 1, 2, …
    pub version: u32,
    /// Report or zero.
    pub kind: ReportKind,
    /// Normalised values.
    pub values: Values,
    /// Zero statement, for zero reports.
    pub zero_statement: Option<ZeroStatement>,
    /// Submitter.
    pub submitted_by: String,
    /// When.
    pub at: Timestamp,
    /// Why it was corrected (`None` for the first version).
    pub reason: Option<String>,
}

/// What happened to a return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnEventKind {
    /// First submission.
    Submitted,
    /// A new version.
    Corrected,
    /// Approved and locked.
    Approved,
    /// Sent back for correction.
    SentBack,
    /// An approved return unlocked.
    Reopened,
}

/// One event in a return's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnEvent {
    /// What.
    pub kind: ReturnEventKind,
    /// Who.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Version current after the event.
    pub version: u32,
    /// Reason given.
    pub reason: Option<String>,
}

/// A return with all its versions and events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnRecord {
    /// Obligation id.
    pub obligation: String,
    /// Institution.
    pub institution: String,
    /// Period key.
    pub period: String,
    /// State.
    pub state: ReturnState,
    /// Timeliness of the first version.
    pub timeliness: Timeliness,
    /// Versions, oldest first (never empty).
    pub versions: Vec<ReturnVersion>,
    /// Events, oldest first.
    pub events: Vec<ReturnEvent>,
}

impl ReturnRecord {
    /// A record from the first accepted submission.
    pub fn new(first: AcceptedSubmission) -> ReturnRecord {
        let event = ReturnEvent {
            kind: ReturnEventKind::Submitted,
            by: first.submitted_by.clone(),
            at: first.at,
            version: 1,
            reason: None,
        };
        ReturnRecord {
            obligation: first.obligation,
            institution: first.institution,
            period: first.period.key,
            state: ReturnState::Submitted,
            timeliness: first.timeliness,
            versions: vec![ReturnVersion {
                version: 1,
                kind: first.kind,
                values: first.values,
                zero_statement: first.zero_statement,
                submitted_by: first.submitted_by,
                at: first.at,
                reason: None,
            }],
            events: vec![event],
        }
    }

    /// The current version.
    pub fn current(&self) -> Option<&ReturnVersion> {
        self.versions.last()
    }

    /// The summary the status computation needs.
    pub fn summary(&self) -> Option<ReturnSummary> {
        let first = self.versions.first()?;
        let current = self.versions.last()?;
        Some(ReturnSummary {
            institution: self.institution.clone(),
            period: self.period.clone(),
            kind: current.kind,
            timeliness: self.timeliness,
            first_submitted_at: first.at,
        })
    }

    /// A correction: a new version with a reason. Refused when approved (locked), when still `submitted` but the
    /// window has expired (ask the reviewer to send it back), without a reason, for another period or institution,
    /// or when the content is invalid.
    pub fn correct(
        &self,
        def: &ObligationDef,
        calendar: &SchoolCalendar,
        institution: &Institution,
        submission: &Submission,
        reason: &str,
    ) -> Result<ReturnRecord, ValidationErrors> {
        let mut errors = Vec::new();
        if self.state == ReturnState::Approved {
            return Err(ValidationErrors(vec![locked()]));
        }
        if submission.period != self.period
            || submission.institution != self.institution
            || def.id != self.obligation
        {
            errors.push(FieldError::new(
                "period",
                ErrorCode::NotAllowed,
                "更正只能针对同一单位、同一报表、同一报送期",
                "a correction must be for the same institution, return and period",
            ));
        }
        let period = resolve_period(def, calendar, institution, submission, &mut errors);
        if let Some(p) = &period {
            let window = def.window(p);
            if self.state == ReturnState::Submitted && submission.at > window.expires {
                errors.push(FieldError::new(
                    "period",
                    ErrorCode::OutsideWindow,
                    format!("报送期已于 {} 截止，需由审核单位退回后方可更正", format_china(window.expires)),
                    format!("the window closed at {} China time: the reviewer must send the return back first", format_china(window.expires)),
                ));
            }
        }
        let reason = reason.trim();
        if reason.is_empty() {
            errors.push(FieldError::new(
                "reason",
                ErrorCode::Required,
                "更正须说明原因",
                "a correction needs a reason",
            ));
        }
        self.check_time(submission.at, &mut errors);
        let content = check_content(
            def,
            period.as_ref(),
            &submission.content,
            submission,
            &mut errors,
        );
        let (Some((kind, values, zero_statement)), true) = (content, errors.is_empty()) else {
            return Err(ValidationErrors(errors));
        };
        let mut next = self.clone();
        let version = self.versions.len() as u32 + 1;
        next.versions.push(ReturnVersion {
            version,
            kind,
            values,
            zero_statement,
            submitted_by: submission.submitted_by.trim().to_string(),
            at: submission.at,
            reason: Some(reason.to_string()),
        });
        next.events.push(ReturnEvent {
            kind: ReturnEventKind::Corrected,
            by: submission.submitted_by.trim().to_string(),
            at: submission.at,
            version,
            reason: Some(reason.to_string()),
        });
        next.state = ReturnState::Submitted;
        Ok(next)
    }

    /// Approval by the reviewer: locks the return. Only from `submitted`.
    pub fn approve(&self, by: &str, at: Timestamp) -> Result<ReturnRecord, ValidationErrors> {
        self.review(
            ReturnEventKind::Approved,
            ReturnState::Submitted,
            ReturnState::Approved,
            by,
            at,
            None,
        )
    }

    /// Sent back for correction, with a reason. Only from `submitted`.
    pub fn send_back(
        &self,
        by: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<ReturnRecord, ValidationErrors> {
        self.review(
            ReturnEventKind::SentBack,
            ReturnState::Submitted,
            ReturnState::SentBack,
            by,
            at,
            Some(reason),
        )
    }

    /// Unlocks an approved return, with a reason (the platform allows it to city administrators only).
    pub fn reopen(
        &self,
        by: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<ReturnRecord, ValidationErrors> {
        self.review(
            ReturnEventKind::Reopened,
            ReturnState::Approved,
            ReturnState::SentBack,
            by,
            at,
            Some(reason),
        )
    }

    fn review(
        &self,
        kind: ReturnEventKind,
        from: ReturnState,
        to: ReturnState,
        by: &str,
        at: Timestamp,
        reason: Option<&str>,
    ) -> Result<ReturnRecord, ValidationErrors> {
        let mut errors = Vec::new();
        if self.state != from {
            if self.state == ReturnState::Approved {
                return Err(ValidationErrors(vec![locked()]));
            }
            errors.push(FieldError::new(
                "state",
                ErrorCode::InvalidState,
                format!("当前状态为 {:?}，不能执行 {:?}", self.state, kind),
                format!("the return is {:?}: {:?} is not possible", self.state, kind),
            ));
        }
        if by.trim().is_empty() {
            errors.push(FieldError::new(
                "by",
                ErrorCode::Required,
                "须注明操作人",
                "the reviewer must be named",
            ));
        }
        let reason = reason.map(str::trim);
        if reason == Some("") {
            errors.push(FieldError::new(
                "reason",
                ErrorCode::Required,
                "须说明原因",
                "a reason is required",
            ));
        }
        self.check_time(at, &mut errors);
        if !errors.is_empty() {
            return Err(ValidationErrors(errors));
        }
        let mut next = self.clone();
        next.state = to;
        next.events.push(ReturnEvent {
            kind,
            by: by.trim().to_string(),
            at,
            version: self.versions.len() as u32,
            reason: reason.map(str::to_string),
        });
        Ok(next)
    }

    fn check_time(&self, at: Timestamp, errors: &mut Vec<FieldError>) {
        if let Some(last) = self.events.last()
            && at < last.at
        {
            errors.push(FieldError::new(
                "at",
                ErrorCode::InvalidState,
                "操作时间早于上一次操作",
                "the action is dated before the previous one",
            ));
        }
    }
}

fn locked() -> FieldError {
    FieldError::new(
        "state",
        ErrorCode::Locked,
        "报表已审核通过并锁定，不能更改",
        "the return is approved and locked",
    )
}
