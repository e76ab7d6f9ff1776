//! The storage port: what the application may ask of a database.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::records::*;

/// Seals an audit entry into the hash chain. Implemented by the application (which holds the key), called by the
/// store inside the transaction that writes the entry, so the chain head cannot move between read and write.
pub trait AuditSealer: Send + Sync {
    /// The hash of the row `seq` given the previous row's hash. An error aborts the whole transaction.
    fn seal(&self, prev_hash: &str, seq: i64, entry: &AuditEntry) -> Result<String, String>;
}

/// Reads, and the start of units of work. A `Store` also provides every capability's port.
#[async_trait]
pub trait Store:
    crate::PlanStore
    + crate::ObligationStore
    + crate::LedgerStore
    + crate::AllocationStore
    + crate::TimetableStore
    + Send
    + Sync
{
    /// Starts a unit of work. Writes are serialised; dropping the transaction without `commit` rolls it back.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Closes every connection (SQLite checkpoints its WAL into the main file).
    async fn close(&self);

    // --- org tree and registry -------------------------------------------------------------------------------
    async fn org_units(&self) -> Result<Vec<OrgUnitRecord>, StoreError>;
    async fn district_counts(&self, scope: &ScopeFilter)
    -> Result<Vec<DistrictCounts>, StoreError>;
    async fn institutions(
        &self,
        scope: &ScopeFilter,
        query: &InstitutionQuery,
        page: PageRequest,
    ) -> Result<Paged<InstitutionListItem>, StoreError>;
    async fn institution_by_code(
        &self,
        scope: &ScopeFilter,
        code: &str,
    ) -> Result<Option<InstitutionRecord>, StoreError>;
    /// (code, id, district, kind) for every institution; used to resolve references in imports.
    async fn institution_ids_kinds(&self)
    -> Result<Vec<(String, i64, String, String)>, StoreError>;
    async fn institution_history(
        &self,
        institution_id: i64,
    ) -> Result<Vec<InstitutionHistoryRecord>, StoreError>;
    async fn institution_groups(
        &self,
        institution_id: i64,
    ) -> Result<Vec<GroupMembership>, StoreError>;
    async fn institution_tags(&self, institution_id: i64) -> Result<Vec<String>, StoreError>;
    async fn classes(&self, institution_id: i64) -> Result<Vec<ClassRecord>, StoreError>;
    async fn pupils(
        &self,
        scope: &ScopeFilter,
        query: &PupilQuery,
        page: PageRequest,
    ) -> Result<Paged<PupilListItem>, StoreError>;
    async fn pupil(&self, scope: &ScopeFilter, id: i64) -> Result<Option<PupilRecord>, StoreError>;
    async fn pupil_by_index(&self, pupil_no_index: &str)
    -> Result<Option<PupilRecord>, StoreError>;
    async fn pupil_history(&self, pupil_id: i64) -> Result<Vec<PupilHistoryRecord>, StoreError>;
    async fn staff(
        &self,
        scope: &ScopeFilter,
        query: &StaffQuery,
        page: PageRequest,
    ) -> Result<Paged<StaffListItem>, StoreError>;
    async fn staff_by_no(&self, staff_no: &str) -> Result<Option<StaffListItem>, StoreError>;
    async fn staff_phone_enc(&self, staff_no: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn guard_summary(
        &self,
        scope: &ScopeFilter,
        today: &str,
        soon: &str,
    ) -> Result<GuardSummary, StoreError>;
    async fn population(
        &self,
        scope: &ScopeFilter,
        year: Option<i64>,
    ) -> Result<Vec<PopulationRecord>, StoreError>;

    // --- users and sessions -----------------------------------------------------------------------------------
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, StoreError>;
    async fn users(&self, page: PageRequest) -> Result<Paged<UserRecord>, StoreError>;
    async fn password_history(&self, user_id: i64, last: i64) -> Result<Vec<String>, StoreError>;
    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    async fn sessions_of(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError>;

    // --- audit ------------------------------------------------------------------------------------------------
    /// Rows with `seq > after`, in order, at most `limit`.
    async fn audit_rows(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError>;
    async fn audit_search(
        &self,
        query: &AuditQuery,
        page: PageRequest,
    ) -> Result<Paged<AuditRow>, StoreError>;
}

/// One unit of work. Every write use case appends its audit row through the same transaction (fail closed).
#[async_trait]
pub trait StoreTx: Send {
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Appends and seals an audit row; returns its sequence number.
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64, StoreError>;

    // --- registry ---------------------------------------------------------------------------------------------
    async fn upsert_org_unit(&mut self, unit: &OrgUnitRecord) -> Result<(), StoreError>;
    async fn upsert_institution(
        &mut self,
        institution: &InstitutionWrite,
        now_ms: i64,
    ) -> Result<Upserted, StoreError>;
    /// Finds or creates a class by (institution, grade, name).
    async fn ensure_class(
        &mut self,
        institution_id: i64,
        grade: i64,
        name: &str,
    ) -> Result<i64, StoreError>;
    async fn upsert_room(
        &mut self,
        institution_id: i64,
        name: &str,
        kind: &str,
        capacity: i64,
    ) -> Result<i64, StoreError>;
    /// Insert or update by blind index. `Unchanged` when every stored field equals the write (ciphertexts are
    /// compared by the caller through `same_sensitive`, since encryption is randomised).
    async fn upsert_pupil(
        &mut self,
        pupil: &PupilWrite,
        same_sensitive: bool,
        now_ms: i64,
    ) -> Result<Upserted, StoreError>;
    async fn upsert_staff(
        &mut self,
        staff: &StaffWrite,
        same_sensitive: bool,
        now_ms: i64,
    ) -> Result<Upserted, StoreError>;
    async fn upsert_population(&mut self, row: &PopulationRecord) -> Result<Upserted, StoreError>;
    /// Bulk insert for generators: plain inserts without change detection or history beyond the first interval.
    async fn insert_pupils_bulk(
        &mut self,
        pupils: &[PupilWrite],
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn insert_staff_bulk(
        &mut self,
        staff: &[StaffWrite],
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Adds a dated status interval for an institution (closing the open one), e.g. a handover to public ownership.
    async fn change_institution_status(
        &mut self,
        institution_id: i64,
        ownership: &str,
        inclusive: bool,
        status: &str,
        valid_from: &str,
        note: &str,
    ) -> Result<(), StoreError>;

    // --- users and sessions -----------------------------------------------------------------------------------
    async fn insert_user(&mut self, user: &UserWrite, now_ms: i64) -> Result<i64, StoreError>;
    async fn set_password(
        &mut self,
        user_id: i64,
        hash: &str,
        must_change: bool,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn set_user_disabled(&mut self, user_id: i64, disabled: bool) -> Result<(), StoreError>;
    async fn record_login_failure(
        &mut self,
        user_id: i64,
        failed_logins: i64,
        first_failed_at: Option<i64>,
        locked_until: Option<i64>,
    ) -> Result<(), StoreError>;
    async fn record_login_success(&mut self, user_id: i64, now_ms: i64) -> Result<(), StoreError>;
    async fn insert_session(&mut self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn touch_session(&mut self, token_hash: &str, now_ms: i64) -> Result<(), StoreError>;
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Deletes every session of a user except `keep`; returns how many were removed.
    async fn delete_sessions_of(
        &mut self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64, StoreError>;
}
