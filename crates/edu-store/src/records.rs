//! Plain records exchanged through the storage port.

use serde::{Deserialize, Serialize};

/// Which rows a read may return; built by the application's access control, never by a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeFilter {
    /// The whole city.
    All,
    /// One county-level unit (district code).
    District(String),
    /// One institution (internal id).
    Institution(i64),
}

/// Offset paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// What an upsert did, so re-importing the same file can report "nothing changed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Upserted {
    Inserted(i64),
    Updated(i64),
    Unchanged(i64),
}

impl Upserted {
    pub fn id(self) -> i64 {
        match self {
            Upserted::Inserted(id) | Upserted::Updated(id) | Upserted::Unchanged(id) => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OrgUnitRecord {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: String,
    pub name: String,
    pub name_en: String,
    pub is_county: bool,
}

/// Per-unit counts for the org tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct DistrictCounts {
    pub district_code: String,
    pub institutions: i64,
    pub pupils: i64,
    pub staff: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct InstitutionRecord {
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
    pub address: String,
    pub phone: String,
    pub capacity: Option<i64>,
}

/// An institution as written by imports and the demo generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstitutionWrite {
    pub code: String,
    pub name: String,
    pub district_code: String,
    pub kind: String,
    pub ownership: String,
    pub inclusive: bool,
    pub area: String,
    pub authority: String,
    pub status: String,
    pub address: String,
    pub phone: String,
    pub capacity: Option<i64>,
    /// Business date from which this state holds (starts a new history interval when the status changes).
    pub valid_from: String,
    /// Membership by group name (created on first use).
    pub education_group: Option<String>,
    pub rural_alliance: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct InstitutionListItem {
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
    pub pupils: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct InstitutionHistoryRecord {
    pub ownership: String,
    pub inclusive: bool,
    pub status: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GroupMembership {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionQuery {
    pub district: Option<String>,
    pub kind: Option<String>,
    /// Matches the name or the code.
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ClassRecord {
    pub id: i64,
    pub institution_id: i64,
    pub grade: i64,
    pub name: String,
    pub pupils: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PupilListItem {
    pub id: i64,
    pub pupil_no_masked: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub grade: i64,
    pub class_name: Option<String>,
    pub status: String,
    pub institution_code: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PupilRecord {
    pub id: i64,
    pub pupil_no_index: String,
    pub pupil_no_enc: Vec<u8>,
    pub pupil_no_masked: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub grade: i64,
    pub class_id: Option<i64>,
    pub class_name: Option<String>,
    pub status: String,
    pub enrolled_on: String,
    pub special_needs: bool,
    pub boarder: bool,
    pub guardian_phone_enc: Option<Vec<u8>>,
    pub address_enc: Option<Vec<u8>>,
}

/// A pupil as written by imports and the demo generator; sensitive fields already encrypted by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct PupilWrite {
    pub pupil_no_index: String,
    pub pupil_no_enc: Vec<u8>,
    pub pupil_no_masked: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub institution_id: i64,
    pub grade: i64,
    pub class_id: Option<i64>,
    pub status: String,
    pub enrolled_on: String,
    pub special_needs: bool,
    pub boarder: bool,
    pub guardian_phone_enc: Option<Vec<u8>>,
    pub address_enc: Option<Vec<u8>>,
    /// Business date of this state (opens a history interval when status, institution or grade change).
    pub valid_from: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PupilHistoryRecord {
    pub status: String,
    pub institution_code: String,
    pub grade: i64,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PupilQuery {
    pub institution_id: Option<i64>,
    pub grade: Option<i64>,
    pub class_id: Option<i64>,
    /// Matches the start of the name (pupil numbers are searched by blind index instead).
    pub name_prefix: Option<String>,
    pub pupil_no_index: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StaffListItem {
    pub id: i64,
    pub staff_no: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub role: String,
    pub subjects: String,
    pub hire_date: String,
    pub special_post: bool,
    pub status: String,
    pub institution_code: String,
    /// The earliest certificate expiry, if any.
    pub certificate_expires: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffQuery {
    pub institution_id: Option<i64>,
    pub role: Option<String>,
    pub name_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaffWrite {
    pub staff_no: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub institution_id: i64,
    pub role: String,
    pub subjects: String,
    pub hire_date: String,
    pub special_post: bool,
    pub status: String,
    pub phone_enc: Option<Vec<u8>>,
    pub certificates: Vec<CertificateWrite>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CertificateWrite {
    pub kind: String,
    pub number: String,
    pub issued_on: Option<String>,
    pub expires_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct PopulationRecord {
    pub district_code: String,
    pub year: i64,
    pub age: i64,
    pub basis: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope_code: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub password_changed_at: i64,
    pub disabled: bool,
    pub failed_logins: i64,
    pub first_failed_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub last_login_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserWrite {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope_code: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: i64,
    pub kind: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub user_agent: String,
}

/// One audit event, before it is sealed into the chain. Holds no personal data values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub tz: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub role: String,
    pub scope: String,
    pub ip: String,
    pub user_agent: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub result: String,
    pub reason: String,
    pub request_id: String,
}

/// A sealed audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Certified security staff in a scope (SECURITY section of the plan: every campus staffed with certified guards).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct GuardSummary {
    pub guards: i64,
    /// Guards whose certificate expired before `today`, or who hold none.
    pub uncertified: i64,
    /// Certificates expiring between `today` and `soon`.
    pub expiring: i64,
    /// Campuses (schools and kindergartens) without a guard holding a valid certificate.
    pub campuses_without_certified: i64,
}
