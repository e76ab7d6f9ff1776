//! The storage port for the work plan: compact facts from which every registry metric is computed (the platform
//! loads them with a few grouped queries and evaluates all targets, for every org unit, from them), and the daily
//! scorecard snapshots that give the trend.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::StoreError;

/// An institution as it stood on a date: ownership, inclusive recognition and status from its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct InstitutionFact {
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
}

/// Pupils enrolled on the as-of date, counted per institution and attribute combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PupilCount {
    pub institution_id: i64,
    pub sex: String,
    pub grade: i64,
    /// Completed years on the as-of date.
    pub age: i64,
    /// Enrolled during the period (`enrolled_on` within it).
    pub new_entrant: bool,
    pub count: i64,
}

/// One staff member active on the as-of date, with what the staff metrics filter on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StaffFact {
    pub institution_id: i64,
    pub role: String,
    pub sex: String,
    pub birth_date: String,
    pub hire_date: String,
    pub special_post: bool,
    /// Holds a certificate valid on the as-of date.
    pub certified: bool,
}

/// One target's value for one org unit on one day.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PlanSnapshot {
    pub plan_id: String,
    pub taken_on: String,
    pub org_code: String,
    pub target_id: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub status: String,
}

#[async_trait]
pub trait PlanStore: Send + Sync {
    /// The registry's version: it changes in the same transaction as any change to institutions, their history
    /// and tags, pupils and their history, staff and certificates, or population. Facts computed while it stays
    /// the same are still true.
    async fn registry_version(&self) -> Result<i64, StoreError>;
    /// Every institution with its attributes as of `as_of` (YYYY-MM-DD), and the tags valid then.
    async fn institution_facts(
        &self,
        as_of: &str,
    ) -> Result<(Vec<InstitutionFact>, Vec<(i64, String)>), StoreError>;
    /// Enrolled pupils on `as_of`, grouped, once per period of `periods` (`(start, end)`, inclusive ISO dates):
    /// a pupil enrolled within a period is a new entrant of that period. One pass over the registry serves every
    /// period that shares the as-of date.
    async fn pupil_counts(
        &self,
        as_of: &str,
        periods: &[(String, String)],
    ) -> Result<Vec<Vec<PupilCount>>, StoreError>;
    /// Staff active on `as_of`.
    async fn staff_facts(&self, as_of: &str) -> Result<Vec<StaffFact>, StoreError>;
    /// Records snapshots (replacing those of the same plan, day, org and target).
    async fn save_plan_snapshots(&self, snapshots: &[PlanSnapshot]) -> Result<(), StoreError>;
    /// Snapshots of a plan for an org unit (all targets or one), oldest first.
    async fn plan_snapshots(
        &self,
        plan_id: &str,
        org_code: &str,
        target_id: Option<&str>,
    ) -> Result<Vec<PlanSnapshot>, StoreError>;
}
