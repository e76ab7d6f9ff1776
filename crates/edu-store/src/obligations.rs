//! The storage port for reporting obligations: submissions with their versions, signed zero reports, corrections,
//! approvals, idempotency keys, health line-list cases, alerts to the district, and plan metrics over returns.
//!
//! Values travel as JSON text (normalised by the obligation engine), sensitive cells as ciphertext produced by the
//! application. Dates are China-time `YYYY-MM-DD`, instants milliseconds UTC.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::StoreError;
use crate::records::{AuditEntry, ScopeFilter};

/// An institution as the obligation engine needs it: attributes that decide who owes a return, plus the contact
/// shown in follow-up lists (the school's office phone, not personal data).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ObligationInstitution {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub district_code: String,
    pub kind: String,
    pub ownership: String,
    pub inclusive: bool,
    pub area: String,
    pub authority: String,
    pub status: String,
    pub phone: String,
    /// Open registry tags (filled by the store after the row is read).
    #[sqlx(skip)]
    pub tags: Vec<String>,
}

/// Which institutions: every non-empty list must contain the institution's attribute; `inclusive` must match when
/// given; `tags` needs one tag in common (the tag `inclusive` also matches the registry's 普惠 flag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstitutionSelector {
    pub kinds: Vec<String>,
    pub ownership: Vec<String>,
    pub area: Vec<String>,
    pub authority: Vec<String>,
    pub inclusive: Option<bool>,
    pub tags: Vec<String>,
}

/// The aggregate a plan metric asks of an obligation (docs/plan-format.md, `source = "obligation"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ObligationAgg {
    /// Sum of a numeric field over received returns (current version of each).
    Sum(String),
    /// Returns owed (institution owes it, period starts in range, window opened by as-of).
    Expected,
    /// Returns received by as-of, zero reports included.
    Submitted,
    /// Received by the due time.
    OnTime,
    /// Received after the due time.
    Late,
    /// Explicit zero reports.
    Zero,
    /// Owed and not received by as-of (expected − submitted).
    Missing,
}

impl ObligationAgg {
    /// Parses the plan file's `agg` word (`sum` needs the field).
    pub fn parse(agg: &str, field: Option<&str>) -> Option<ObligationAgg> {
        Some(match (agg, field) {
            ("sum", Some(f)) => ObligationAgg::Sum(f.to_owned()),
            ("expected", None) => ObligationAgg::Expected,
            ("submitted", None) => ObligationAgg::Submitted,
            ("on_time", None) => ObligationAgg::OnTime,
            ("late", None) => ObligationAgg::Late,
            ("zero", None) => ObligationAgg::Zero,
            ("missing", None) => ObligationAgg::Missing,
            _ => return None,
        })
    }
}

/// A plan metric over the returns of one obligation, as the store evaluates it.
///
/// Counts and sums are over the returns of `obligation` whose **period starts in `[period_from, period_to]`**, first
/// submitted at or before `as_of_ms`, by institutions that are open, inside `org`, match `institutions` (the
/// metric's filters) and match one of `owed_by` (the obligation's own filters; empty = no restriction).
/// `Expected` = number of such institutions × `expected_periods`; `Missing` = `Expected` − `Submitted` (never
/// negative). The caller computes `expected_periods` from the school calendar: the obligation's periods starting in
/// the range whose window opened by as-of (`App::obligation_metric` does all of this from a plan-friendly query).
#[derive(Debug, Clone, PartialEq)]
pub struct ObligationMetricQuery {
    pub obligation: String,
    pub agg: ObligationAgg,
    pub org: ScopeFilter,
    pub institutions: InstitutionSelector,
    pub owed_by: Vec<InstitutionSelector>,
    pub period_from: String,
    pub period_to: String,
    pub expected_periods: i64,
    pub as_of_ms: i64,
}

/// One institution's returns of one obligation over a range of periods (see
/// [`ObligationStore::obligation_institution_totals`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InstitutionTotals {
    pub institution_id: i64,
    /// Returns received (zero reports included).
    pub submitted: i64,
    pub on_time: i64,
    pub late: i64,
    pub zero: i64,
    /// Sum of each numeric field over the received returns (current version of each).
    pub sums: std::collections::BTreeMap<String, f64>,
}

/// What status computations need about one stored return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReturnSummaryRow {
    pub institution_id: i64,
    pub period: String,
    pub period_start: String,
    pub kind: String,
    pub timeliness: String,
    pub first_submitted_at: i64,
}

/// A return with its current version's content.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ReturnRow {
    pub id: i64,
    pub obligation: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub kind: String,
    pub state: String,
    pub timeliness: String,
    pub late_by_seconds: i64,
    pub due_at: i64,
    pub expires_at: i64,
    pub first_submitted_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub has_cases: bool,
    /// Current version: values without sensitive cells.
    pub values_json: String,
    #[serde(skip)]
    pub sensitive_enc: Option<Vec<u8>>,
    pub submitted_by: String,
    pub at_ms: i64,
}

/// One stored version, with its zero statement when it is a zero report.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ReturnVersionRow {
    pub return_id: i64,
    pub version: i64,
    pub kind: String,
    pub values_json: String,
    #[serde(skip)]
    pub sensitive_enc: Option<Vec<u8>>,
    pub submitted_by: String,
    pub submitted_by_id: Option<i64>,
    pub at_ms: i64,
    pub reason: Option<String>,
    pub mac: String,
    pub statement: Option<String>,
    pub statement_en: Option<String>,
    pub signed_by: Option<String>,
    pub signed_by_id: Option<i64>,
    pub signed_at: Option<i64>,
    pub note: Option<String>,
    pub statement_mac: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReturnEventRow {
    pub id: i64,
    pub return_id: i64,
    pub kind: String,
    pub by_user: String,
    pub by_user_id: Option<i64>,
    pub at_ms: i64,
    pub version: i64,
    pub reason: Option<String>,
}

/// A zero statement to store with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroStatementWrite {
    pub statement: String,
    pub statement_en: String,
    pub signed_by: String,
    pub signed_by_id: Option<i64>,
    pub signed_at: i64,
    pub note: Option<String>,
    pub mac: String,
}

/// A version to append.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionWrite {
    pub kind: String,
    pub values_json: String,
    pub sensitive_enc: Option<Vec<u8>>,
    pub submitted_by: String,
    pub submitted_by_id: Option<i64>,
    pub at_ms: i64,
    pub reason: Option<String>,
    pub mac: String,
    pub zero: Option<ZeroStatementWrite>,
    /// The summable fields of this version (replace the return's values).
    pub numbers: Vec<(String, f64)>,
    pub has_cases: bool,
}

/// A first submission.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReturn {
    pub obligation: String,
    pub institution_id: i64,
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub timeliness: String,
    pub late_by_seconds: i64,
    pub due_at: i64,
    pub expires_at: i64,
    pub version: VersionWrite,
}

/// A client-supplied idempotency key with the hash of the request it first came with.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdempotencyRecord {
    pub user_id: i64,
    pub key: String,
    pub obligation: String,
    pub request_hash: String,
    pub return_id: i64,
    pub created_at: i64,
}

/// One followed case (a person of a school's line list), as recomputed by the application.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCaseWrite {
    pub case_no: i64,
    pub person_index: String,
    pub person_enc: Vec<u8>,
    pub person_masked: String,
    pub person_kind: Option<String>,
    pub class_name: Option<String>,
    pub onset_date: Option<String>,
    pub first_reported: String,
    pub last_reported: String,
    pub status: Option<String>,
    pub closed_on: Option<String>,
    pub history_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HealthCaseRow {
    pub id: i64,
    pub obligation: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub case_no: i64,
    #[serde(skip)]
    pub person_index: String,
    #[serde(skip)]
    pub person_enc: Vec<u8>,
    pub person_masked: String,
    pub person_kind: Option<String>,
    pub class_name: Option<String>,
    pub onset_date: Option<String>,
    pub first_reported: String,
    pub last_reported: String,
    pub status: Option<String>,
    pub closed_on: Option<String>,
    pub history_json: String,
}

/// The cases of one institution and obligation, replaced as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct CasesReplace {
    pub obligation: String,
    pub institution_id: i64,
    pub cases: Vec<HealthCaseWrite>,
}

/// An alert to the district (inserted, or refreshed when the same alert is raised again).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWrite {
    pub obligation: String,
    pub institution_id: i64,
    pub kind: String,
    pub alert_date: String,
    pub subject: String,
    pub audience: String,
    pub observed: i64,
    pub baseline: Option<f64>,
    pub threshold: Option<f64>,
    pub explanation: String,
    pub explanation_en: String,
    pub cases_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub obligation: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub phone: String,
    pub kind: String,
    pub alert_date: String,
    pub subject: String,
    pub audience: String,
    pub observed: i64,
    pub baseline: Option<f64>,
    pub threshold: Option<f64>,
    pub explanation: String,
    pub explanation_en: String,
    pub cases_json: String,
    pub raised_at: i64,
    pub status: String,
    pub handled_by: Option<String>,
    pub handled_at: Option<i64>,
    pub note: Option<String>,
}

/// Everything a first submission writes, in one transaction with its audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitWrite {
    pub ret: NewReturn,
    pub idempotency: Option<(i64, String, String)>,
    pub cases: Option<CasesReplace>,
    pub alerts: Vec<AlertWrite>,
}

/// What a first submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitStored {
    /// Stored as a new return with this id.
    Created(i64),
    /// The idempotency key was already used: nothing was written.
    KeyUsed(IdempotencyRecord),
}

/// A correction (new version) of a return in the given version and not approved.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectWrite {
    pub return_id: i64,
    pub expected_version: i64,
    pub version: VersionWrite,
    pub cases: Option<CasesReplace>,
    pub alerts: Vec<AlertWrite>,
}

/// A review step: the return must still be in `from_state` at `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewWrite {
    pub return_id: i64,
    pub expected_version: i64,
    pub from_state: String,
    pub to_state: String,
    pub event_kind: String,
    pub by_user: String,
    pub by_user_id: Option<i64>,
    pub at_ms: i64,
    pub reason: Option<String>,
}

/// A return generated in bulk (demo data): first version, optional later versions and review events.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkReturn {
    pub ret: NewReturn,
    pub state: String,
    /// Later versions (corrections), in order.
    pub corrections: Vec<VersionWrite>,
    /// (kind, by, at_ms, reason) of review events after the last version.
    pub reviews: Vec<(String, String, i64, Option<String>)>,
}

/// Storage for reporting obligations. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait ObligationStore: Send + Sync {
    /// Open and closed institutions in scope with their open tags, ordered by code.
    async fn obligation_institutions(
        &self,
        scope: &ScopeFilter,
    ) -> Result<Vec<ObligationInstitution>, StoreError>;

    /// One institution (any scope: the caller checks scope) with its tags.
    async fn obligation_institution(
        &self,
        id: i64,
    ) -> Result<Option<ObligationInstitution>, StoreError>;

    /// Returns of an obligation in scope whose period starts in `[from, to]`.
    async fn return_summaries(
        &self,
        obligation: &str,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReturnSummaryRow>, StoreError>;

    /// Returns (current version) of an obligation in scope whose period starts in `[from, to]`, oldest first.
    async fn returns_in_range(
        &self,
        obligation: &str,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReturnRow>, StoreError>;

    /// One institution's returns (every obligation when `obligation` is `None`) with periods starting in
    /// `[from, to]`, oldest first.
    async fn institution_returns(
        &self,
        institution_id: i64,
        obligation: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReturnRow>, StoreError>;

    /// One institution's returns that list cases (for case follow-up), oldest first.
    async fn institution_case_returns(
        &self,
        institution_id: i64,
        obligation: &str,
    ) -> Result<Vec<ReturnRow>, StoreError>;

    async fn return_by_id(&self, id: i64) -> Result<Option<ReturnRow>, StoreError>;

    async fn return_by_key(
        &self,
        obligation: &str,
        institution_id: i64,
        period: &str,
    ) -> Result<Option<ReturnRow>, StoreError>;

    async fn return_versions(&self, return_id: i64) -> Result<Vec<ReturnVersionRow>, StoreError>;

    async fn return_events(&self, return_id: i64) -> Result<Vec<ReturnEventRow>, StoreError>;

    async fn idempotency_key(
        &self,
        user_id: i64,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Cases in scope; `open_only` keeps those not closed.
    async fn health_cases(
        &self,
        obligation: &str,
        scope: &ScopeFilter,
        open_only: bool,
    ) -> Result<Vec<HealthCaseRow>, StoreError>;

    /// Open cases of one institution (whether a new report must recompute follow-up).
    async fn open_case_count(
        &self,
        obligation: &str,
        institution_id: i64,
    ) -> Result<i64, StoreError>;

    /// Alerts in scope raised for dates in `[from, to]`, newest first.
    async fn obligation_alerts(
        &self,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
    ) -> Result<Vec<AlertRow>, StoreError>;

    async fn obligation_alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError>;

    /// A plan metric over returns (see [`ObligationMetricQuery`]).
    async fn obligation_metric(&self, query: &ObligationMetricQuery) -> Result<f64, StoreError>;

    /// Per-institution totals of one obligation's returns whose period starts in `[period_from, period_to]` and
    /// that were first submitted at or before `as_of_ms`: the counts, and the sum of each field of `sum_fields`.
    /// The plan rolls these up to any org unit, filter and breakdown in memory (one scan instead of one query per
    /// metric).
    async fn obligation_institution_totals(
        &self,
        obligation: &str,
        period_from: &str,
        period_to: &str,
        as_of_ms: i64,
        sum_fields: &[String],
    ) -> Result<Vec<InstitutionTotals>, StoreError>;

    /// Stores a first submission. An idempotency key already used by the user returns `KeyUsed` and writes
    /// nothing; a second return for the same (obligation, institution, period) is `StoreError::Conflict`.
    async fn submit_return(
        &self,
        write: &SubmitWrite,
        audit: &AuditEntry,
    ) -> Result<SubmitStored, StoreError>;

    /// Appends a version; `Conflict` when the return moved on (another version, or approved) meanwhile.
    async fn correct_return(
        &self,
        write: &CorrectWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Approve, send back or reopen; `Conflict` when the return is no longer in the expected state and version.
    async fn review_return(
        &self,
        write: &ReviewWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Marks an alert acknowledged with a note.
    async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        at_ms: i64,
        note: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Demo data: returns, cases and alerts in bulk, in one transaction with one audit row.
    async fn insert_returns_bulk(
        &self,
        returns: &[BulkReturn],
        cases: &[CasesReplace],
        alerts: &[AlertWrite],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
}
