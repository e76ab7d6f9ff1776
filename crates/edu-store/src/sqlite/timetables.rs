//! SQLite implementation of [`crate::TimetableStore`].

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use super::sql::push_scope;
use crate::TimetableStore;
use crate::error::StoreError;
use crate::records::{AuditEntry, ScopeFilter};
use crate::timetables::*;

/// Rows per multi-row INSERT (7 parameters a row, far below SQLite's limit).
const CHOICE_ROWS: usize = 400;

const WINDOW_SELECT: &str = "SELECT w.id, w.institution_id, i.code AS institution_code, i.name AS institution_name, \
     i.district_code, w.grade, w.title, w.opens_on, w.closes_on, w.rule, w.settings_json, w.created_by, \
     w.created_at, w.updated_at, \
     (SELECT COUNT(*) FROM tt_choices c WHERE c.window_id = w.id) AS choices \
     FROM tt_windows w JOIN institutions i ON i.id = w.institution_id WHERE 1 = 1";

const RUN_COLUMNS: &str = "r.id, r.window_id, r.status, r.seed, r.budget_seconds, r.hint_run_id, r.started_by, \
     r.started_at, r.finished_at, r.solve_ms, r.students, r.teaching_classes, r.lower_bound, r.hard_violations, r.note";

#[async_trait]
impl TimetableStore for SqliteStore {
    async fn choice_windows(
        &self,
        scope: &ScopeFilter,
    ) -> Result<Vec<ChoiceWindowRecord>, StoreError> {
        let mut b = QueryBuilder::new(WINDOW_SELECT);
        push_scope(&mut b, scope);
        b.push(" ORDER BY w.opens_on DESC, w.id DESC");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn choice_window(
        &self,
        scope: &ScopeFilter,
        id: i64,
    ) -> Result<Option<ChoiceWindowRecord>, StoreError> {
        let mut b = QueryBuilder::new(WINDOW_SELECT);
        b.push(" AND w.id = ").push_bind(id);
        push_scope(&mut b, scope);
        Ok(b.build_query_as().fetch_optional(&self.read).await?)
    }

    async fn insert_choice_window(
        &self,
        window: &ChoiceWindowWrite,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tt_windows (institution_id, grade, title, opens_on, closes_on, rule, settings_json, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(window.institution_id)
        .bind(window.grade)
        .bind(&window.title)
        .bind(&window.opens_on)
        .bind(&window.closes_on)
        .bind(&window.rule)
        .bind(&window.settings_json)
        .bind(&window.created_by)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit.clone();
        if audit.object_id.is_empty() {
            audit.object_id = id.to_string();
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_choice_window(
        &self,
        id: i64,
        opens_on: &str,
        closes_on: &str,
        settings_json: &str,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE tt_windows SET opens_on = $1, closes_on = $2, settings_json = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(opens_on)
        .bind(closes_on)
        .bind(settings_json)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grade_classes(
        &self,
        institution_id: i64,
        grade: i64,
    ) -> Result<Vec<GradeClassRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT c.id AS class_id, c.name, \
             (SELECT COUNT(*) FROM pupils p WHERE p.class_id = c.id AND p.status = 'enrolled') AS pupils, \
             r.name AS room_name, r.capacity AS room_capacity \
             FROM classes c LEFT JOIN rooms r ON r.id = c.room_id \
             WHERE c.institution_id = $1 AND c.grade = $2 \
             AND EXISTS (SELECT 1 FROM pupils p WHERE p.class_id = c.id AND p.status = 'enrolled') \
             ORDER BY LENGTH(c.name), c.name, c.id",
        )
        .bind(institution_id)
        .bind(grade)
        .fetch_all(&self.read)
        .await?)
    }

    async fn grade_pupils(
        &self,
        institution_id: i64,
        grade: i64,
    ) -> Result<Vec<GradePupilRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT p.id AS pupil_id, p.name, p.sex, p.class_id FROM pupils p \
             WHERE p.institution_id = $1 AND p.grade = $2 AND p.status = 'enrolled' \
             ORDER BY p.class_id, p.id",
        )
        .bind(institution_id)
        .bind(grade)
        .fetch_all(&self.read)
        .await?)
    }

    async fn school_teachers(
        &self,
        institution_id: i64,
    ) -> Result<Vec<SchoolTeacherRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.staff_no, s.name, s.subjects FROM staff s \
             WHERE s.institution_id = $1 AND s.role = 'teacher' AND s.status = 'active' ORDER BY s.staff_no",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn school_rooms(&self, institution_id: i64) -> Result<Vec<SchoolRoomRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, kind, capacity FROM rooms WHERE institution_id = $1 ORDER BY name",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn course_choices(&self, window_id: i64) -> Result<Vec<CourseChoiceRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT pupil_id, track, elective_1, elective_2, entered_by, entered_at FROM tt_choices \
             WHERE window_id = $1 ORDER BY pupil_id",
        )
        .bind(window_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn set_course_choices(
        &self,
        window_id: i64,
        writes: &[CourseChoiceWrite],
        entered_by: &str,
        now_ms: i64,
        audits: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let removed: Vec<i64> = writes
            .iter()
            .filter(|w| w.subjects.is_none())
            .map(|w| w.pupil_id)
            .collect();
        for chunk in removed.chunks(CHOICE_ROWS) {
            let mut b = QueryBuilder::<Sqlite>::new("DELETE FROM tt_choices WHERE window_id = ");
            b.push_bind(window_id).push(" AND pupil_id IN (");
            let mut list = b.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            b.push(")");
            b.build().execute(&mut *tx).await?;
        }
        let stored: Vec<(i64, &(String, String, String))> = writes
            .iter()
            .filter_map(|w| w.subjects.as_ref().map(|s| (w.pupil_id, s)))
            .collect();
        for chunk in stored.chunks(CHOICE_ROWS) {
            let mut b = QueryBuilder::<Sqlite>::new(
                "INSERT INTO tt_choices (window_id, pupil_id, track, elective_1, elective_2, entered_by, entered_at) ",
            );
            b.push_values(chunk, |mut row, (pupil_id, (track, first, second))| {
                row.push_bind(window_id)
                    .push_bind(*pupil_id)
                    .push_bind(track.clone())
                    .push_bind(first.clone())
                    .push_bind(second.clone())
                    .push_bind(entered_by.to_owned())
                    .push_bind(now_ms);
            });
            b.push(
                " ON CONFLICT (window_id, pupil_id) DO UPDATE SET track = excluded.track, \
                 elective_1 = excluded.elective_1, elective_2 = excluded.elective_2, \
                 entered_by = excluded.entered_by, entered_at = excluded.entered_at",
            );
            b.build().execute(&mut *tx).await?;
        }
        for audit in audits {
            super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn start_timetable_run(
        &self,
        run: &TimetableRunStart,
        stale_before_ms: i64,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tt_runs WHERE window_id = $1 AND status = 'running' AND started_at > $2",
        )
        .bind(run.window_id)
        .bind(stale_before_ms)
        .fetch_one(&mut *tx)
        .await?;
        if running > 0 {
            return Err(StoreError::Conflict(
                "a timetable run of this window is still running".into(),
            ));
        }
        // Older rows still marked running were interrupted (the server stopped while they ran).
        sqlx::query(
            "UPDATE tt_runs SET status = 'failed', note = 'interrupted' \
             WHERE window_id = $1 AND status = 'running'",
        )
        .bind(run.window_id)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tt_runs (window_id, status, seed, budget_seconds, hint_run_id, started_by, started_at, \
             students, instance_json, note) VALUES ($1, 'running', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(run.window_id)
        .bind(run.seed)
        .bind(run.budget_seconds)
        .bind(run.hint_run_id)
        .bind(&run.started_by)
        .bind(run.started_at)
        .bind(run.students)
        .bind(&run.instance_json)
        .bind(&run.note)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit.clone();
        if audit.object_id.is_empty() {
            audit.object_id = id.to_string();
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn finish_timetable_run(
        &self,
        id: i64,
        result: &TimetableRunResult,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE tt_runs SET status = $1, finished_at = $2, solve_ms = $3, teaching_classes = $4, \
             lower_bound = $5, hard_violations = $6, solution_json = $7, report_json = $8, stats_json = $9, \
             explanation_json = $10 WHERE id = $11 AND status = 'running'",
        )
        .bind(&result.status)
        .bind(result.finished_at)
        .bind(result.solve_ms)
        .bind(result.teaching_classes)
        .bind(result.lower_bound)
        .bind(result.hard_violations)
        .bind(&result.solution_json)
        .bind(&result.report_json)
        .bind(&result.stats_json)
        .bind(&result.explanation_json)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn timetable_runs(&self, window_id: i64) -> Result<Vec<TimetableRunSummary>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM tt_runs r WHERE r.window_id = $1 ORDER BY r.id DESC"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(window_id)
            .fetch_all(&self.read)
            .await?)
    }

    async fn timetable_run(
        &self,
        scope: &ScopeFilter,
        id: i64,
    ) -> Result<Option<TimetableRunRecord>, StoreError> {
        let mut b = QueryBuilder::new(format!(
            "SELECT {RUN_COLUMNS}, r.instance_json, r.solution_json, r.report_json, r.stats_json, \
             r.explanation_json FROM tt_runs r JOIN tt_windows w ON w.id = r.window_id \
             JOIN institutions i ON i.id = w.institution_id WHERE r.id = "
        ));
        b.push_bind(id);
        push_scope(&mut b, scope);
        Ok(b.build_query_as().fetch_optional(&self.read).await?)
    }

    async fn latest_valid_run(
        &self,
        window_id: i64,
    ) -> Result<Option<TimetableRunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS}, r.instance_json, r.solution_json, r.report_json, r.stats_json, \
             r.explanation_json FROM tt_runs r WHERE r.window_id = $1 AND r.status = 'valid' \
             ORDER BY r.id DESC LIMIT 1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(window_id)
            .fetch_optional(&self.read)
            .await?)
    }
}
