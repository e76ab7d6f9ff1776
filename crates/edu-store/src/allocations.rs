//! The storage port for fair-allocation runs (四零承诺): commitments, inputs, bundles, published results.
//!
//! A run's public directory (bundle, inputs, outputs) travels as one opaque archive with the application's HMAC;
//! the store keeps it and never interprets it. Pseudonym → person links ([`AllocationMemberWrite`]) stay here and
//! are never published. Reads that return persons (`allocation_*_pupils`, `allocation_teachers`) are for the
//! application's prepare step, which has already checked the actor's scope.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::StoreError;
use crate::records::{AuditEntry, PageRequest, Paged, ScopeFilter};

/// A run as prepared: inputs frozen, commitment recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationRunWrite {
    pub kind: String,
    pub title: String,
    pub district_code: String,
    pub institution_id: Option<i64>,
    pub grade: Option<i64>,
    pub class_id: Option<i64>,
    /// `registry` or `upload`.
    pub source: String,
    pub options_json: String,
    pub policy_note: String,
    /// base64url of the 32-byte input digest.
    pub input_digest: String,
    /// base64url of SHA-256(secret).
    pub commitment: String,
    /// `system` (generated and shown once) or `notary` (entered).
    pub commitment_by: String,
    pub archive: Vec<u8>,
    pub mac: String,
    pub created_by: String,
    pub created_at: i64,
}

/// The pseudonym of one person in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationMemberWrite {
    pub pseudonym: String,
    pub pupil_id: Option<i64>,
    pub staff_id: Option<i64>,
}

/// What the draw adds to a prepared run.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationDrawWrite {
    pub run_id: i64,
    pub archive: Vec<u8>,
    pub mac: String,
    pub beacon: String,
    pub draw_time: String,
    pub drawn_by: String,
    pub drawn_at: i64,
}

/// A run in a list (without its archive).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AllocationRunListItem {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub district_code: String,
    pub institution_id: Option<i64>,
    pub institution_code: Option<String>,
    pub institution_name: Option<String>,
    pub grade: Option<i64>,
    pub class_id: Option<i64>,
    pub class_name: Option<String>,
    pub status: String,
    /// base64url digests (the application shows them as hex).
    pub input_digest: String,
    pub commitment: String,
    pub created_by: String,
    pub created_at: i64,
    pub drawn_at: Option<i64>,
    pub published_at: Option<i64>,
    pub applied_at: Option<i64>,
}

/// A run with everything stored about it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AllocationRunRecord {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub district_code: String,
    pub institution_id: Option<i64>,
    pub institution_code: Option<String>,
    pub institution_name: Option<String>,
    pub institution_kind: Option<String>,
    pub grade: Option<i64>,
    pub class_id: Option<i64>,
    pub class_name: Option<String>,
    pub source: String,
    pub options_json: String,
    pub policy_note: String,
    pub input_digest: String,
    pub commitment: String,
    pub commitment_by: String,
    pub status: String,
    pub archive: Vec<u8>,
    pub mac: String,
    pub beacon: String,
    pub draw_time: String,
    pub created_by: String,
    pub created_at: i64,
    pub drawn_by: String,
    pub drawn_at: Option<i64>,
    pub published_at: Option<i64>,
    pub applied_at: Option<i64>,
}

/// A pseudonym with the person behind it (name for masking, current class for overrides and apply).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AllocationMemberRecord {
    pub pseudonym: String,
    pub pupil_id: Option<i64>,
    pub staff_id: Option<i64>,
    /// The person's name (to be masked before it leaves the school).
    pub name: String,
}

/// A manual change after the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AllocationOverrideRecord {
    pub id: i64,
    pub run_id: i64,
    pub pseudonym: String,
    pub from_value: String,
    pub to_value: String,
    pub reason: String,
    pub actor: String,
    pub at_ms: i64,
    pub mac: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationOverrideWrite {
    pub run_id: i64,
    pub pseudonym: String,
    pub from_value: String,
    pub to_value: String,
    pub reason: String,
    pub actor: String,
    pub at_ms: i64,
    pub mac: String,
}

/// A pupil as the prepare step reads it: the non-merit attributes a class division may balance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AllocationPupilRow {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub special_needs: bool,
    pub boarder: bool,
    pub institution_code: String,
    pub class_id: Option<i64>,
    pub class_name: Option<String>,
    /// The most recent earlier institution in the pupil's history (previous school), when known.
    pub origin_code: Option<String>,
}

/// A staff member who can be drawn for a class.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AllocationStaffRow {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub subjects: String,
}

/// What applying a class division to the registry did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AllocationApplied {
    /// Pupils whose class was set.
    pub moved: i64,
    /// Members no longer enrolled in the run's school and grade (left untouched).
    pub skipped: i64,
    /// Classes created because the grade had fewer than the draw's classes.
    pub classes_created: i64,
}

/// Storage for fair-allocation runs (四零承诺): commitments, inputs, bundles, published results. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait AllocationStore: Send + Sync {
    /// Runs in scope, newest first (district runs are outside an institution's scope).
    async fn allocation_runs(
        &self,
        scope: &ScopeFilter,
        page: PageRequest,
    ) -> Result<Paged<AllocationRunListItem>, StoreError>;

    /// Runs in one status, most recent first (the public pages list `prepared` commitments and `published` draws).
    async fn allocation_runs_with_status(
        &self,
        status: &str,
        limit: i64,
    ) -> Result<Vec<AllocationRunListItem>, StoreError>;

    /// One run, whatever its scope: the caller checks scope or publication.
    async fn allocation_run(&self, id: i64) -> Result<Option<AllocationRunRecord>, StoreError>;

    async fn allocation_members(
        &self,
        run_id: i64,
    ) -> Result<Vec<AllocationMemberRecord>, StoreError>;

    async fn allocation_overrides(
        &self,
        run_id: i64,
    ) -> Result<Vec<AllocationOverrideRecord>, StoreError>;

    /// Enrolled pupils per grade of an institution (with or without a class): (grade, pupils), by grade.
    async fn allocation_grade_counts(
        &self,
        institution_id: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError>;

    /// Enrolled pupils of a grade of an institution, by id.
    async fn allocation_grade_pupils(
        &self,
        institution_id: i64,
        grade: i64,
    ) -> Result<Vec<AllocationPupilRow>, StoreError>;

    /// Enrolled pupils of a class, by id.
    async fn allocation_class_pupils(
        &self,
        class_id: i64,
    ) -> Result<Vec<AllocationPupilRow>, StoreError>;

    /// Enrolled pupils of a grade in every institution of a district, by id.
    async fn allocation_district_pupils(
        &self,
        district_code: &str,
        grade: i64,
    ) -> Result<Vec<AllocationPupilRow>, StoreError>;

    /// Active teachers of an institution, by id.
    async fn allocation_teachers(
        &self,
        institution_id: i64,
    ) -> Result<Vec<AllocationStaffRow>, StoreError>;

    /// Stores a prepared run and its pseudonyms; the audit entry's empty `object_id` is filled with the new id.
    async fn insert_allocation_run(
        &self,
        run: &AllocationRunWrite,
        members: &[AllocationMemberWrite],
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;

    /// Records the draw of a prepared run; `Conflict` when it is no longer `prepared`.
    async fn record_allocation_draw(
        &self,
        draw: &AllocationDrawWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Marks a drawn run published; `Conflict` when it is not `drawn`.
    async fn publish_allocation_run(
        &self,
        run_id: i64,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    async fn insert_allocation_override(
        &self,
        change: &AllocationOverrideWrite,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;

    /// Sets each pupil's class to the class named `class_name` of the institution and grade (created when
    /// missing), for pupils still enrolled there; marks the run applied. `Conflict` when already applied.
    async fn apply_allocation_classes(
        &self,
        run_id: i64,
        institution_id: i64,
        grade: i64,
        assignments: &[(i64, String)],
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<AllocationApplied, StoreError>;
}
