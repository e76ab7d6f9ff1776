//! Submission acceptance: form values or an explicit zero statement, for a period, at an instant → accepted and
//! classified on time / late, or refused with every reason and the field named.

use edu_form::china_time::{china_date, format_china};
use edu_form::{ErrorCode, FieldError, ValidationContext, ValidationErrors, Values, validate};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::calendar::SchoolCalendar;
use crate::def::ObligationDef;
use crate::institution::Institution;
use crate::period::{Period, Window};

/// The Chinese text of a zero statement.
pub const ZERO_STATEMENT: &str = "本单位本期无应报告情况（零报告）";
/// The English text of a zero statement.
pub const ZERO_STATEMENT_EN: &str =
    "This institution has nothing to report for this period (zero report).";

/// What was submitted: the form's values, or an explicit zero statement — never the same as nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubmissionContent {
    /// The form, filled in.
    Report {
        /// Field id → value (JSON object).
        values: Value,
    },
    /// "Nothing to report": a statement signed by the submitter.
    Zero {
        /// Optional remark.
        #[serde(default)]
        note: Option<String>,
    },
}

/// A submission as the platform receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Institution (org-unit id).
    pub institution: String,
    /// Period key (`2021-03-05`, `2021-W09`, `2021-03`, a term id, `2021`).
    pub period: String,
    /// Content.
    pub content: SubmissionContent,
    /// The person submitting (and, for a zero report, signing the statement).
    pub submitted_by: String,
    /// When the platform received it (UTC).
    pub at: Timestamp,
}

/// Report or zero report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The form was filled in.
    Report,
    /// An explicit zero statement.
    Zero,
}

/// On time (up to the due instant inclusive) or late (after it, up to expiry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// At or before the due instant.
    OnTime,
    /// After the due instant, at or before expiry.
    Late,
}

/// The zero statement as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZeroStatement {
    /// Chinese text.
    pub text: String,
    /// English text.
    pub text_en: String,
    /// Who signed it.
    pub signed_by: String,
    /// When.
    pub signed_at: Timestamp,
    /// Optional remark (trimmed, at most 500 characters).
    pub note: Option<String>,
}

/// An accepted submission, ready to store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptedSubmission {
    /// Obligation id.
    pub obligation: String,
    /// Institution.
    pub institution: String,
    /// The period.
    pub period: Period,
    /// Report or zero.
    pub kind: ReportKind,
    /// Normalised values (empty for a zero report).
    pub values: Values,
    /// The signed statement of a zero report.
    pub zero_statement: Option<ZeroStatement>,
    /// Submitter.
    pub submitted_by: String,
    /// Receipt instant.
    pub at: Timestamp,
    /// The period's window.
    pub window: Window,
    /// On time or late.
    pub timeliness: Timeliness,
    /// Seconds after the due instant (0 when on time).
    pub late_by_seconds: i64,
}

/// Checks a submission and classifies it. Refusals (all collected, each naming its field):
/// `institution` (does not owe the return, closed in that period, or a different institution), `period` (malformed,
/// not a period of this cadence — e.g. not a school day — or outside the window: before it opens or after it
/// expires), `submitted_by` (empty), `kind` (zero report not allowed), and the form's own field errors.
pub fn accept_submission(
    def: &ObligationDef,
    calendar: &SchoolCalendar,
    institution: &Institution,
    submission: &Submission,
) -> Result<AcceptedSubmission, ValidationErrors> {
    let mut errors = Vec::new();
    let period = resolve_period(def, calendar, institution, submission, &mut errors);
    let window = period.as_ref().map(|p| def.window(p));
    if let Some(w) = &window {
        if submission.at < w.opens {
            errors.push(FieldError::new(
                "period",
                ErrorCode::OutsideWindow,
                format!(
                    "本期报送尚未开始：{} 开始受理（北京时间）",
                    format_china(w.opens)
                ),
                format!("the window opens at {} China time", format_china(w.opens)),
            ));
        } else if submission.at > w.expires {
            errors.push(FieldError::new(
                "period",
                ErrorCode::OutsideWindow,
                format!(
                    "本期报送已截止：{} 后不再受理（北京时间）",
                    format_china(w.expires)
                ),
                format!(
                    "the window closed at {} China time",
                    format_china(w.expires)
                ),
            ));
        }
    }
    let content = check_content(
        def,
        period.as_ref(),
        &submission.content,
        submission,
        &mut errors,
    );
    let (Some(period), Some(window), Some((kind, values, zero_statement)), true) =
        (period, window, content, errors.is_empty())
    else {
        return Err(ValidationErrors(errors));
    };
    let late_by_seconds = (submission.at.as_second() - window.due.as_second()).max(0);
    Ok(AcceptedSubmission {
        obligation: def.id.clone(),
        institution: institution.id.clone(),
        period,
        kind,
        values,
        zero_statement,
        submitted_by: submission.submitted_by.trim().to_string(),
        at: submission.at,
        window,
        timeliness: if submission.at <= window.due {
            Timeliness::OnTime
        } else {
            Timeliness::Late
        },
        late_by_seconds,
    })
}

/// Institution and period checks shared by first submissions and corrections.
pub(crate) fn resolve_period(
    def: &ObligationDef,
    calendar: &SchoolCalendar,
    institution: &Institution,
    submission: &Submission,
    errors: &mut Vec<FieldError>,
) -> Option<Period> {
    if submission.institution != institution.id {
        errors.push(FieldError::new(
            "institution",
            ErrorCode::NotAllowed,
            format!(
                "报送单位 {} 与当前单位 {} 不一致",
                submission.institution, institution.id
            ),
            format!(
                "submission names institution {} but was checked for {}",
                submission.institution, institution.id
            ),
        ));
    }
    if !def.owed_by(institution) {
        errors.push(FieldError::new(
            "institution",
            ErrorCode::NotAllowed,
            format!("本单位不在“{}”的报送范围内", def.title),
            format!(
                "this institution does not owe \"{}\"",
                if def.title_en.is_empty() {
                    &def.title
                } else {
                    &def.title_en
                }
            ),
        ));
    }
    let Some(period) = def.period_by_key(calendar, &submission.period) else {
        errors.push(FieldError::new(
            "period",
            ErrorCode::WrongType,
            format!(
                "“{}”不是本报表的报送期（周期：{:?}）",
                submission.period, def.cadence
            ),
            format!(
                "\"{}\" is not a reporting period of this return (cadence {:?})",
                submission.period, def.cadence
            ),
        ));
        return None;
    };
    if !institution.active_during(period.start, period.end) {
        errors.push(FieldError::new(
            "institution",
            ErrorCode::NotAllowed,
            format!("本单位在 {} 期间未开办", period.key),
            format!("the institution was not open during {}", period.key),
        ));
    }
    Some(period)
}

type CheckedContent = (ReportKind, Values, Option<ZeroStatement>);

/// Content checks shared by first submissions and corrections.
pub(crate) fn check_content(
    def: &ObligationDef,
    period: Option<&Period>,
    content: &SubmissionContent,
    submission: &Submission,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedContent> {
    let signer = submission.submitted_by.trim();
    if signer.is_empty() {
        errors.push(FieldError::new(
            "submitted_by",
            ErrorCode::Required,
            "须注明报送人",
            "the submitter must be named",
        ));
    }
    match content {
        SubmissionContent::Zero { note } => {
            if !def.zero_allowed {
                errors.push(FieldError::new(
                    "kind",
                    ErrorCode::NotAllowed,
                    format!("“{}”不接受零报告，请填写报表", def.title),
                    "this return does not accept a zero report: fill in the form",
                ));
                return None;
            }
            let note = note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            if note.as_ref().is_some_and(|n| {
                n.chars().count() > 500 || n.chars().any(|c| c.is_control() && c != '\n')
            }) {
                errors.push(FieldError::new(
                    "note",
                    ErrorCode::TooLong,
                    "备注最多 500 个字符且不含控制字符",
                    "the note has at most 500 characters and no control characters",
                ));
                return None;
            }
            Some((
                ReportKind::Zero,
                Values::new(),
                Some(ZeroStatement {
                    text: ZERO_STATEMENT.into(),
                    text_en: ZERO_STATEMENT_EN.into(),
                    signed_by: signer.to_string(),
                    signed_at: submission.at,
                    note,
                }),
            ))
        }
        SubmissionContent::Report { values } => {
            let submitted_on = china_date(submission.at);
            let reference_date = period
                .map(|p| p.end.min(submitted_on))
                .or(Some(submitted_on));
            match validate(&def.form, values, &ValidationContext { reference_date }) {
                Ok(mut v) => {
                    v.extend(def.computed_values(&v));
                    Some((ReportKind::Report, v, None))
                }
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            }
        }
    }
}
