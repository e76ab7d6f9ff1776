//! The storage port for ledgers: cases and their history, attachments; site plans, key areas, vetting records;
//! the registry's security guards as the safety pages need them; and the two metric queries of the plan
//! ([`LedgerStore::ledger_metric`], [`LedgerStore::key_area_metric`]).
//!
//! The store never runs the ledger engine: the application computes each case's state, deadline, escalation
//! instants and level with `edu-ledger` at every step and writes them here, so lists and counts are plain SQL.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::StoreError;
use crate::records::{AuditEntry, PageRequest, Paged, ScopeFilter};

/// A case as written: its current state (computed by the engine) plus the history entries to append (all of
/// them when the case is inserted, the new one when a step is applied).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseWrite {
    pub ledger: String,
    /// Random key naming the case in the AAD of its encrypted columns.
    pub case_key: String,
    pub institution_id: i64,
    pub state: String,
    pub closed: bool,
    pub severity: Option<String>,
    pub level: Option<String>,
    /// Short, non-sensitive display text (the hazard's title, the risk point's place).
    pub title: String,
    /// Values of the non-sensitive fields (JSON object).
    pub values_json: String,
    /// Values of the sensitive fields, encrypted by the application (JSON object).
    pub sensitive_enc: Option<Vec<u8>>,
    /// Person references named in the ledger's assignee fields, space separated with a leading and trailing space.
    pub assignees: String,
    pub created_at: i64,
    /// China business date of creation.
    pub opened_on: String,
    pub state_entered_at: i64,
    pub updated_at: i64,
    /// Deadline of the current state (open cases).
    pub deadline_at: Option<i64>,
    /// From this instant the case has reached the district (immediate rules or overdue + N days).
    pub district_at: Option<i64>,
    /// From this instant the case has reached the city.
    pub city_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Some state was left (or is still held) after its deadline.
    pub late: bool,
    /// Next review date (risk points).
    pub next_review: Option<String>,
    pub history: Vec<HistoryWrite>,
}

/// One history entry with the case's status right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryWrite {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    /// Changes of non-sensitive fields (JSON array of {field, before, after}).
    pub changes_json: String,
    /// Changes of sensitive fields, encrypted.
    pub sensitive_enc: Option<Vec<u8>>,
    pub note: Option<String>,
    pub closed: bool,
    pub deadline_at: Option<i64>,
    pub level: Option<String>,
    pub late: bool,
}

/// A stored case with its institution.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CaseRecord {
    pub id: i64,
    pub ledger: String,
    pub case_key: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub state: String,
    pub closed: bool,
    pub severity: Option<String>,
    pub level: Option<String>,
    pub title: String,
    pub values_json: String,
    #[serde(skip)]
    pub sensitive_enc: Option<Vec<u8>>,
    pub assignees: String,
    pub created_at: i64,
    pub opened_on: String,
    pub state_entered_at: i64,
    pub updated_at: i64,
    pub deadline_at: Option<i64>,
    pub district_at: Option<i64>,
    pub city_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub late: bool,
    pub next_review: Option<String>,
    pub version: i64,
}

/// A stored history entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HistoryRecord {
    pub case_id: i64,
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub changes_json: String,
    #[serde(skip)]
    pub sensitive_enc: Option<Vec<u8>>,
    pub note: Option<String>,
    pub closed: bool,
    pub deadline_at: Option<i64>,
    pub level: Option<String>,
    pub late: bool,
}

/// Which cases a list returns (always within a scope).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub ledger: Option<String>,
    pub institution_id: Option<i64>,
    pub district: Option<String>,
    pub state: Option<String>,
    pub open: Option<bool>,
    /// Open and past the deadline of its current state at this instant.
    pub overdue_at: Option<i64>,
    pub level: Option<String>,
    /// Open and escalated at least to the district at this instant.
    pub district_at: Option<i64>,
    /// Named in an assignee field.
    pub assigned_to: Option<String>,
    /// Oldest deadline first (overdue lists) instead of newest first.
    pub by_deadline: bool,
}

/// Counts of one institution's cases of a ledger at an instant (summed up the org tree by the application).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LedgerCountRow {
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub total: i64,
    pub open: i64,
    pub overdue: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub escalated_district: i64,
    pub escalated_city: i64,
    pub review_overdue: i64,
    /// Open cases by level (`major` is a red risk point or a major hazard).
    pub level_major: i64,
    pub level_large: i64,
    pub level_general: i64,
    pub level_low: i64,
}

/// The plan's institution filters (docs/plan-format.md, "Institution filters"), as text codes. Ownership,
/// inclusiveness and tags are taken at the as-of date from the registry's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricInstitutionFilter {
    /// Any of these kinds (empty: any).
    pub kind: Vec<String>,
    pub ownership: Option<String>,
    pub inclusive: Option<bool>,
    pub area: Option<String>,
    pub authority: Option<String>,
    pub tag: Option<String>,
}

/// A `source = "ledger"` metric for one org unit (docs/plan-format.md): the count of cases of `ledger` owned by
/// institutions of `org` passing `institutions`, with the case filters below, as of `as_of_ms`.
///
/// The case's state at as-of is rebuilt from its history (the last step at or before as-of), so past as-of
/// instants count what was true then. `as_of_ms` is an instant: pass the end of the as-of day in China time
/// (23:59:59.999) for a date. A case created after as-of is not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerMetricQuery {
    pub ledger: String,
    /// The org unit: the city (`All`), a district, or one institution.
    pub org: ScopeFilter,
    pub institutions: MetricInstitutionFilter,
    pub as_of_ms: i64,
    /// The period, inclusive China dates `YYYY-MM-DD`, for `opened_in_period`.
    pub period: Option<(String, String)>,
    /// Current state at as-of is one of these (empty: any).
    pub state: Vec<String>,
    /// Not closed at as-of.
    pub open: Option<bool>,
    /// Open, and the deadline of its state at as-of has passed before as-of.
    pub overdue: Option<bool>,
    /// Any of `red orange yellow blue` (risk colours: major / large / general / low) or `major general` (hazard
    /// grades), matched against the case's level at as-of.
    pub level: Vec<String>,
    /// Created within the period (needs `period`; without one, it matches nothing when true).
    pub opened_in_period: Option<bool>,
    /// Closed at as-of and never past a deadline (true), or closed late (false); open cases never match.
    pub closed_on_time: Option<bool>,
}

/// A `source = "key_areas"` metric for one org unit: key areas registered at the as-of date (created on or before
/// it, not retired by it) of institutions of `org` passing `institutions`, with their camera / police-link state
/// on that date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAreaQuery {
    pub org: ScopeFilter,
    pub institutions: MetricInstitutionFilter,
    /// China date `YYYY-MM-DD`.
    pub as_of: String,
    /// Any of `gate dormitory canteen lab perimeter playground boiler storage other` (empty: any).
    pub area_type: Vec<String>,
    pub camera: Option<bool>,
    pub police_link: Option<bool>,
}

impl LedgerMetricQuery {
    /// A query counting every case of `ledger` in the city at `as_of_ms` (add filters to the fields).
    pub fn new(ledger: &str, as_of_ms: i64) -> LedgerMetricQuery {
        LedgerMetricQuery {
            ledger: ledger.to_owned(),
            org: ScopeFilter::All,
            institutions: MetricInstitutionFilter::default(),
            as_of_ms,
            period: None,
            state: Vec::new(),
            open: None,
            overdue: None,
            level: Vec::new(),
            opened_in_period: None,
            closed_on_time: None,
        }
    }
}

impl KeyAreaQuery {
    /// A query counting every key area of the city on `as_of` (add filters to the fields).
    pub fn new(as_of: &str) -> KeyAreaQuery {
        KeyAreaQuery {
            org: ScopeFilter::All,
            institutions: MetricInstitutionFilter::default(),
            as_of: as_of.to_owned(),
            area_type: Vec::new(),
            camera: None,
            police_link: None,
        }
    }
}

/// An attachment to write.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentWrite {
    pub token: String,
    pub institution_id: i64,
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    pub content: Vec<u8>,
}

/// An attachment without its content.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AttachmentMeta {
    pub id: i64,
    pub token: String,
    pub institution_id: i64,
    pub case_id: Option<i64>,
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

/// A site plan image.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SitePlanRecord {
    pub institution_id: i64,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    pub content: Vec<u8>,
}

/// A key area with its state on a date.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct KeyAreaRecord {
    pub id: i64,
    pub institution_id: i64,
    pub institution_code: String,
    pub name: String,
    pub area_type: String,
    pub created_on: String,
    pub retired_on: Option<String>,
    pub camera: bool,
    pub police_link: bool,
    pub cameras: i64,
    pub state_from: String,
}

/// A key area to register.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyAreaWrite {
    pub institution_id: i64,
    pub name: String,
    pub area_type: String,
    pub created_on: String,
    pub camera: bool,
    pub police_link: bool,
    pub cameras: i64,
}

/// Key-area coverage of one institution on a date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct KeyAreaCoverage {
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub areas: i64,
    pub camera: i64,
    pub police_link: i64,
}

/// A vetting record of an external staff member.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VettingRecord {
    pub id: i64,
    pub institution_id: i64,
    pub name: String,
    #[serde(skip)]
    pub id_number_enc: Vec<u8>,
    pub id_number_masked: String,
    #[serde(skip)]
    pub id_number_index: String,
    pub post: String,
    pub employer: String,
    pub checked_on: String,
    pub result: String,
    pub valid_until: Option<String>,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// A vetting record to write (ID number encrypted by the application).
#[derive(Debug, Clone, PartialEq)]
pub struct VettingWrite {
    pub institution_id: i64,
    pub name: String,
    pub id_number_enc: Vec<u8>,
    pub id_number_masked: String,
    pub id_number_index: String,
    pub post: String,
    pub employer: String,
    pub checked_on: String,
    pub result: String,
    pub valid_until: Option<String>,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// A security guard of the registry with a certificate (the latest-expiring one when several).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GuardRecord {
    pub staff_no: String,
    pub name: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub certificate_kind: Option<String>,
    pub certificate_number: Option<String>,
    pub certificate_expires: Option<String>,
}

/// Guards of one campus on a date (campuses: kindergartens, schools, vocational and special schools).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CampusGuardRow {
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub kind: String,
    pub guards: i64,
    /// Guards with a certificate valid on the date.
    pub certified: i64,
    /// Of those, certificates expiring before the "soon" date.
    pub expiring: i64,
}

/// A platform account that may be named in a person field (`u:<username>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PersonUser {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope_code: String,
}

/// A case to insert with its attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub case: CaseWrite,
    /// New attachments, stored with the case.
    pub attachments: Vec<AttachmentWrite>,
    /// Tokens of attachments uploaded earlier, claimed by the case.
    pub claim: Vec<String>,
}

/// A completed checklist (patrol, inspection): who, where, when, the counts and the answers (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistRunWrite {
    pub ledger: String,
    pub checklist: String,
    pub institution_id: i64,
    pub inspector: String,
    /// China date.
    pub run_on: String,
    pub passed: i64,
    pub failed: i64,
    pub not_applicable: i64,
    pub results_json: String,
    pub created_at: i64,
}

/// Everything the demo generator writes at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerBulk {
    pub cases: Vec<CaseWrite>,
    pub site_plans: Vec<SitePlanRecord>,
    pub key_areas: Vec<KeyAreaWrite>,
    pub vetting: Vec<VettingWrite>,
    pub runs: Vec<ChecklistRunWrite>,
    /// Attachments of the cases, by index into `cases`.
    pub attachments: Vec<(usize, AttachmentWrite)>,
}

/// Storage for ledgers. Write methods take the audit entry and append it in the same transaction (fail closed).
#[async_trait]
pub trait LedgerStore: Send + Sync {
    // --- cases ------------------------------------------------------------------------------------------------
    /// A case in scope with its full history (oldest first).
    async fn ledger_case(
        &self,
        scope: &ScopeFilter,
        id: i64,
    ) -> Result<Option<(CaseRecord, Vec<HistoryRecord>)>, StoreError>;
    async fn ledger_cases(
        &self,
        scope: &ScopeFilter,
        query: &CaseQuery,
        page: PageRequest,
    ) -> Result<Paged<CaseRecord>, StoreError>;
    /// Histories of many cases (for engine-side status of a list), keyed by case id, oldest first.
    async fn ledger_histories(&self, case_ids: &[i64]) -> Result<Vec<HistoryRecord>, StoreError>;
    /// Per-institution counts of a ledger's cases at `now_ms` (`today` is the China date for review dates).
    async fn ledger_counts(
        &self,
        scope: &ScopeFilter,
        ledger: &str,
        now_ms: i64,
        today: &str,
    ) -> Result<Vec<LedgerCountRow>, StoreError>;
    /// Counts of a ledger's cases by state per institution (negative list: refused / approved per school).
    async fn ledger_state_counts(
        &self,
        scope: &ScopeFilter,
        ledger: &str,
    ) -> Result<Vec<(String, String, String, String, i64)>, StoreError>;
    /// Inserts cases with their history in one transaction; for each, claims the listed pre-uploaded attachments
    /// (same institution, unclaimed) and inserts the new ones; records the checklist run that produced them, if
    /// any. `audits` are appended in order; an entry with an empty `object_id` gets the id of the case at the
    /// same position. Returns the case ids.
    async fn insert_ledger_cases(
        &self,
        cases: &[NewCase],
        run: Option<&ChecklistRunWrite>,
        audits: &[AuditEntry],
    ) -> Result<Vec<i64>, StoreError>;
    /// The last run date of each checklist at an institution: (ledger, checklist, date).
    async fn last_checklist_runs(
        &self,
        institution_id: i64,
    ) -> Result<Vec<(String, String, String)>, StoreError>;
    /// Replaces the case's current state and appends its new history entries, if the case is still at
    /// `expected_version` (else `Conflict`); attachments as for insert.
    async fn update_ledger_case(
        &self,
        id: i64,
        expected_version: i64,
        case: &CaseWrite,
        attachments: &[AttachmentWrite],
        claim: &[String],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// The demo: many cases, site plans, key areas and vetting records in bulk, with one audit row.
    async fn insert_ledger_bulk(
        &self,
        bulk: &LedgerBulk,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    // --- metrics for the plan -----------------------------------------------------------------------------------
    /// The value of a `source = "ledger"` metric (a count) for one org unit; see [`LedgerMetricQuery`].
    async fn ledger_metric(&self, query: &LedgerMetricQuery) -> Result<f64, StoreError>;
    /// The value of a `source = "key_areas"` metric (a count) for one org unit; see [`KeyAreaQuery`].
    async fn key_area_metric(&self, query: &KeyAreaQuery) -> Result<f64, StoreError>;
    /// [`LedgerStore::ledger_metric`] counted per institution (institutions with no case are left out), for the
    /// plan to roll up to any org unit and breakdown in memory.
    async fn ledger_metric_by_institution(
        &self,
        query: &LedgerMetricQuery,
    ) -> Result<Vec<(i64, f64)>, StoreError>;
    /// [`LedgerStore::key_area_metric`] counted per institution.
    async fn key_area_metric_by_institution(
        &self,
        query: &KeyAreaQuery,
    ) -> Result<Vec<(i64, f64)>, StoreError>;

    // --- attachments and site plans -----------------------------------------------------------------------------
    async fn attachment_meta(&self, token: &str) -> Result<Option<AttachmentMeta>, StoreError>;
    async fn attachment_content(&self, token: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn case_attachments(&self, case_id: i64) -> Result<Vec<AttachmentMeta>, StoreError>;
    /// An attachment uploaded ahead of the step that will use it (API clients).
    async fn insert_attachment(
        &self,
        attachment: &AttachmentWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn site_plan(&self, institution_id: i64) -> Result<Option<SitePlanRecord>, StoreError>;
    async fn put_site_plan(
        &self,
        plan: &SitePlanRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    // --- key areas, vetting, guards -----------------------------------------------------------------------------
    /// Key areas of an institution registered on `on` (China date) with their state that day.
    async fn key_areas(
        &self,
        institution_id: i64,
        on: &str,
    ) -> Result<Vec<KeyAreaRecord>, StoreError>;
    async fn key_area(&self, id: i64) -> Result<Option<KeyAreaRecord>, StoreError>;
    /// Coverage per institution in scope on a date (institutions with at least one key area).
    async fn key_area_coverage(
        &self,
        scope: &ScopeFilter,
        on: &str,
    ) -> Result<Vec<KeyAreaCoverage>, StoreError>;
    async fn insert_key_area(
        &self,
        area: &KeyAreaWrite,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;
    /// A new state from `on` (closing the open one; a second change on the same day replaces that day's state).
    async fn set_key_area_state(
        &self,
        id: i64,
        camera: bool,
        police_link: bool,
        cameras: i64,
        on: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn retire_key_area(
        &self,
        id: i64,
        on: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn vetting_records(&self, institution_id: i64) -> Result<Vec<VettingRecord>, StoreError>;
    async fn insert_vetting(
        &self,
        record: &VettingWrite,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;
    /// Active security guards (registry) of one institution, or of every institution in scope.
    async fn guards(
        &self,
        scope: &ScopeFilter,
        institution_id: Option<i64>,
    ) -> Result<Vec<GuardRecord>, StoreError>;
    /// Every open campus in scope with its guard counts on `today` (certificates expiring before `soon`).
    async fn campus_guards(
        &self,
        scope: &ScopeFilter,
        today: &str,
        soon: &str,
    ) -> Result<Vec<CampusGuardRow>, StoreError>;
    /// Accounts whose scope is the institution, its district or the city (person-field choices).
    async fn person_users(
        &self,
        institution_code: &str,
        district_code: &str,
        city_code: &str,
    ) -> Result<Vec<PersonUser>, StoreError>;
}
