//! The storage port for 选课走班: choice windows, course choices, solved timetables.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::StoreError;
use crate::records::{AuditEntry, ScopeFilter};

/// A course-choice window of one school and grade, with the school it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ChoiceWindowRecord {
    pub id: i64,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub grade: i64,
    pub title: String,
    /// First and last day choices may be entered, 'YYYY-MM-DD' (China time), both inclusive.
    pub opens_on: String,
    pub closes_on: String,
    pub rule: String,
    /// The timetable settings, as JSON written by the application.
    pub settings_json: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Pupils with a stored choice.
    pub choices: i64,
}

/// A new window.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceWindowWrite {
    pub institution_id: i64,
    pub grade: i64,
    pub title: String,
    pub opens_on: String,
    pub closes_on: String,
    pub rule: String,
    pub settings_json: String,
    pub created_by: String,
}

/// An administrative class of a grade, with its registered room when it has one.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GradeClassRecord {
    pub class_id: i64,
    pub name: String,
    pub pupils: i64,
    pub room_name: Option<String>,
    pub room_capacity: Option<i64>,
}

/// An enrolled pupil of a grade (name for the school's own pages only).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GradePupilRecord {
    pub pupil_id: i64,
    pub name: String,
    pub sex: String,
    pub class_id: Option<i64>,
}

/// An active teacher of a school and the subjects the registry records for them (free text, e.g. "物理").
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SchoolTeacherRecord {
    pub staff_no: String,
    pub name: String,
    pub subjects: String,
}

/// A registered room of a school.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SchoolRoomRecord {
    pub name: String,
    pub kind: String,
    pub capacity: i64,
}

/// A stored course choice: the first subject and two re-chosen subjects (subject ids of the exchange format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CourseChoiceRecord {
    pub pupil_id: i64,
    pub track: String,
    pub elective_1: String,
    pub elective_2: String,
    pub entered_by: String,
    pub entered_at: i64,
}

/// A choice to store, or to remove (`subjects: None`). `subjects` = (track, elective_1, elective_2) with
/// elective_1 < elective_2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseChoiceWrite {
    pub pupil_id: i64,
    pub subjects: Option<(String, String, String)>,
}

/// A solver run as it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct TimetableRunStart {
    pub window_id: i64,
    pub seed: i64,
    pub budget_seconds: i64,
    pub hint_run_id: Option<i64>,
    pub started_by: String,
    pub started_at: i64,
    pub students: i64,
    pub instance_json: String,
    pub note: String,
}

/// What a finished run leaves behind.
#[derive(Debug, Clone, PartialEq)]
pub struct TimetableRunResult {
    /// 'valid', 'invalid', 'infeasible', 'not_found' or 'failed'.
    pub status: String,
    pub finished_at: i64,
    pub solve_ms: i64,
    pub teaching_classes: Option<i64>,
    pub lower_bound: Option<i64>,
    pub hard_violations: Option<i64>,
    pub solution_json: Option<String>,
    pub report_json: Option<String>,
    pub stats_json: Option<String>,
    pub explanation_json: Option<String>,
}

/// A run without its documents (for lists).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TimetableRunSummary {
    pub id: i64,
    pub window_id: i64,
    pub status: String,
    pub seed: i64,
    pub budget_seconds: i64,
    pub hint_run_id: Option<i64>,
    pub started_by: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub solve_ms: Option<i64>,
    pub students: i64,
    pub teaching_classes: Option<i64>,
    pub lower_bound: Option<i64>,
    pub hard_violations: Option<i64>,
    pub note: String,
}

/// A run with its documents.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TimetableRunRecord {
    #[sqlx(flatten)]
    pub summary: TimetableRunSummary,
    pub instance_json: String,
    pub solution_json: Option<String>,
    pub report_json: Option<String>,
    pub stats_json: Option<String>,
    pub explanation_json: Option<String>,
}

/// Storage for 选课走班: choice windows, course choices, solved timetables. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait TimetableStore: Send + Sync {
    /// Windows of the institutions in scope, newest first.
    async fn choice_windows(
        &self,
        scope: &ScopeFilter,
    ) -> Result<Vec<ChoiceWindowRecord>, StoreError>;
    /// One window, if its institution is in scope.
    async fn choice_window(
        &self,
        scope: &ScopeFilter,
        id: i64,
    ) -> Result<Option<ChoiceWindowRecord>, StoreError>;
    async fn insert_choice_window(
        &self,
        window: &ChoiceWindowWrite,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;
    /// Changes the dates and/or the settings of a window.
    async fn update_choice_window(
        &self,
        id: i64,
        opens_on: &str,
        closes_on: &str,
        settings_json: &str,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Classes of a grade with at least one enrolled pupil, in name order (numeric-aware by length).
    async fn grade_classes(
        &self,
        institution_id: i64,
        grade: i64,
    ) -> Result<Vec<GradeClassRecord>, StoreError>;
    /// Enrolled pupils of a grade, by class and id.
    async fn grade_pupils(
        &self,
        institution_id: i64,
        grade: i64,
    ) -> Result<Vec<GradePupilRecord>, StoreError>;
    /// Active teachers of a school (role 'teacher'), by staff number.
    async fn school_teachers(
        &self,
        institution_id: i64,
    ) -> Result<Vec<SchoolTeacherRecord>, StoreError>;
    /// Registered rooms of a school, by name.
    async fn school_rooms(&self, institution_id: i64) -> Result<Vec<SchoolRoomRecord>, StoreError>;

    /// Stored choices of a window, by pupil id.
    async fn course_choices(&self, window_id: i64) -> Result<Vec<CourseChoiceRecord>, StoreError>;
    /// Stores or removes choices and appends every audit entry, in one transaction.
    async fn set_course_choices(
        &self,
        window_id: i64,
        writes: &[CourseChoiceWrite],
        entered_by: &str,
        now_ms: i64,
        audits: &[AuditEntry],
    ) -> Result<(), StoreError>;

    /// Records a run as running. `Conflict` when the window already has a run still running that started after
    /// `stale_before_ms` (older running rows count as interrupted).
    async fn start_timetable_run(
        &self,
        run: &TimetableRunStart,
        stale_before_ms: i64,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;
    async fn finish_timetable_run(
        &self,
        id: i64,
        result: &TimetableRunResult,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Runs of a window, newest first.
    async fn timetable_runs(&self, window_id: i64) -> Result<Vec<TimetableRunSummary>, StoreError>;
    /// One run with its documents, if its window's institution is in scope.
    async fn timetable_run(
        &self,
        scope: &ScopeFilter,
        id: i64,
    ) -> Result<Option<TimetableRunRecord>, StoreError>;
    /// The newest run of a window with status 'valid'.
    async fn latest_valid_run(
        &self,
        window_id: i64,
    ) -> Result<Option<TimetableRunRecord>, StoreError>;
}
