//! SQLite implementation of [`crate::AllocationStore`].

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use crate::AllocationStore;
use crate::allocations::*;
use crate::error::StoreError;
use crate::records::{AuditEntry, PageRequest, Paged, ScopeFilter};

/// Runs joined with their institution and class (names for lists and pages).
const RUN_LIST_SELECT: &str = "SELECT r.id, r.kind, r.title, r.district_code, r.institution_id, \
     i.code AS institution_code, i.name AS institution_name, r.grade, r.class_id, c.name AS class_name, r.status, \
     r.input_digest, r.commitment, r.created_by, r.created_at, r.drawn_at, r.published_at, r.applied_at \
     FROM allocation_runs r LEFT JOIN institutions i ON i.id = r.institution_id \
     LEFT JOIN classes c ON c.id = r.class_id";

const PUPIL_ROW_SELECT: &str = "SELECT p.id, p.name, p.sex, p.birth_date, p.special_needs, p.boarder, \
     i.code AS institution_code, p.class_id, c.name AS class_name, \
     (SELECT oi.code FROM pupil_history h JOIN institutions oi ON oi.id = h.institution_id \
      WHERE h.pupil_id = p.id AND h.institution_id <> p.institution_id \
      ORDER BY h.valid_from DESC, h.id DESC LIMIT 1) AS origin_code \
     FROM pupils p JOIN institutions i ON i.id = p.institution_id LEFT JOIN classes c ON c.id = p.class_id \
     WHERE p.status = 'enrolled'";

fn push_run_scope(b: &mut QueryBuilder<Sqlite>, scope: &ScopeFilter) {
    match scope {
        ScopeFilter::All => {}
        ScopeFilter::District(code) => {
            b.push(" AND r.district_code = ").push_bind(code.clone());
        }
        ScopeFilter::Institution(id) => {
            b.push(" AND r.institution_id = ").push_bind(*id);
        }
    }
}

fn with_object_id(audit: &AuditEntry, id: i64) -> AuditEntry {
    let mut entry = audit.clone();
    if entry.object_id.is_empty() {
        entry.object_id = id.to_string();
    }
    entry
}

#[async_trait]
impl AllocationStore for SqliteStore {
    async fn allocation_runs(
        &self,
        scope: &ScopeFilter,
        page: PageRequest,
    ) -> Result<Paged<AllocationRunListItem>, StoreError> {
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM allocation_runs r WHERE 1 = 1");
        push_run_scope(&mut count, scope);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut b = QueryBuilder::new(RUN_LIST_SELECT);
        b.push(" WHERE 1 = 1");
        push_run_scope(&mut b, scope);
        b.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let items = b.build_query_as().fetch_all(&self.read).await?;
        Ok(Paged { items, total })
    }

    async fn allocation_runs_with_status(
        &self,
        status: &str,
        limit: i64,
    ) -> Result<Vec<AllocationRunListItem>, StoreError> {
        let mut b = QueryBuilder::new(RUN_LIST_SELECT);
        b.push(" WHERE r.status = ")
            .push_bind(status.to_owned())
            .push(" ORDER BY COALESCE(r.published_at, r.created_at) DESC, r.id DESC LIMIT ")
            .push_bind(limit);
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn allocation_run(&self, id: i64) -> Result<Option<AllocationRunRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.kind, r.title, r.district_code, r.institution_id, i.code AS institution_code, \
             i.name AS institution_name, i.kind AS institution_kind, r.grade, r.class_id, c.name AS class_name, \
             r.source, r.options_json, r.policy_note, r.input_digest, r.commitment, r.commitment_by, r.status, \
             r.archive, r.mac, r.beacon, r.draw_time, r.created_by, r.created_at, r.drawn_by, r.drawn_at, \
             r.published_at, r.applied_at \
             FROM allocation_runs r LEFT JOIN institutions i ON i.id = r.institution_id \
             LEFT JOIN classes c ON c.id = r.class_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn allocation_members(
        &self,
        run_id: i64,
    ) -> Result<Vec<AllocationMemberRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.pseudonym, m.pupil_id, m.staff_id, COALESCE(p.name, s.name, '') AS name \
             FROM allocation_members m LEFT JOIN pupils p ON p.id = m.pupil_id \
             LEFT JOIN staff s ON s.id = m.staff_id WHERE m.run_id = $1 ORDER BY m.pseudonym",
        )
        .bind(run_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn allocation_overrides(
        &self,
        run_id: i64,
    ) -> Result<Vec<AllocationOverrideRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, run_id, pseudonym, from_value, to_value, reason, actor, at_ms, mac \
             FROM allocation_overrides WHERE run_id = $1 ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn allocation_grade_counts(
        &self,
        institution_id: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT grade, COUNT(*) FROM pupils WHERE institution_id = $1 AND status = 'enrolled' \
             GROUP BY grade ORDER BY grade",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn allocation_grade_pupils(
        &self,
        institution_id: i64,
        grade: i64,
    ) -> Result<Vec<AllocationPupilRow>, StoreError> {
        let mut b = QueryBuilder::new(PUPIL_ROW_SELECT);
        b.push(" AND p.institution_id = ")
            .push_bind(institution_id)
            .push(" AND p.grade = ")
            .push_bind(grade)
            .push(" ORDER BY p.id");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn allocation_class_pupils(
        &self,
        class_id: i64,
    ) -> Result<Vec<AllocationPupilRow>, StoreError> {
        let mut b = QueryBuilder::new(PUPIL_ROW_SELECT);
        b.push(" AND p.class_id = ")
            .push_bind(class_id)
            .push(" ORDER BY p.id");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn allocation_district_pupils(
        &self,
        district_code: &str,
        grade: i64,
    ) -> Result<Vec<AllocationPupilRow>, StoreError> {
        let mut b = QueryBuilder::new(PUPIL_ROW_SELECT);
        b.push(" AND i.district_code = ")
            .push_bind(district_code.to_owned())
            .push(" AND p.grade = ")
            .push_bind(grade)
            .push(" ORDER BY p.id");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn allocation_teachers(
        &self,
        institution_id: i64,
    ) -> Result<Vec<AllocationStaffRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, sex, subjects FROM staff \
             WHERE institution_id = $1 AND role = 'teacher' AND status = 'active' ORDER BY id",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn insert_allocation_run(
        &self,
        run: &AllocationRunWrite,
        members: &[AllocationMemberWrite],
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO allocation_runs (kind, title, district_code, institution_id, grade, class_id, source, \
             options_json, policy_note, input_digest, commitment, commitment_by, status, archive, mac, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'prepared', $13, $14, $15, $16) \
             RETURNING id",
        )
        .bind(&run.kind)
        .bind(&run.title)
        .bind(&run.district_code)
        .bind(run.institution_id)
        .bind(run.grade)
        .bind(run.class_id)
        .bind(&run.source)
        .bind(&run.options_json)
        .bind(&run.policy_note)
        .bind(&run.input_digest)
        .bind(&run.commitment)
        .bind(&run.commitment_by)
        .bind(&run.archive)
        .bind(&run.mac)
        .bind(&run.created_by)
        .bind(run.created_at)
        .fetch_one(&mut *tx)
        .await?;
        // Multi-row inserts: 4 parameters a row, well under SQLite's limit per statement.
        for chunk in members.chunks(2_000) {
            let mut b = QueryBuilder::new(
                "INSERT INTO allocation_members (run_id, pseudonym, pupil_id, staff_id) ",
            );
            b.push_values(chunk, |mut row, m| {
                row.push_bind(id)
                    .push_bind(m.pseudonym.clone())
                    .push_bind(m.pupil_id)
                    .push_bind(m.staff_id);
            });
            b.build().execute(&mut *tx).await?;
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), &with_object_id(audit, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn record_allocation_draw(
        &self,
        draw: &AllocationDrawWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE allocation_runs SET status = 'drawn', archive = $2, mac = $3, beacon = $4, draw_time = $5, \
             drawn_by = $6, drawn_at = $7 WHERE id = $1 AND status = 'prepared'",
        )
        .bind(draw.run_id)
        .bind(&draw.archive)
        .bind(&draw.mac)
        .bind(&draw.beacon)
        .bind(&draw.draw_time)
        .bind(&draw.drawn_by)
        .bind(draw.drawn_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "the run is not awaiting its draw".into(),
            ));
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn publish_allocation_run(
        &self,
        run_id: i64,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE allocation_runs SET status = 'published', published_at = $2 WHERE id = $1 AND status = 'drawn'",
        )
        .bind(run_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "only a drawn run can be published".into(),
            ));
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_allocation_override(
        &self,
        change: &AllocationOverrideWrite,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM allocation_runs WHERE id = $1")
                .bind(change.run_id)
                .fetch_optional(&mut *tx)
                .await?;
        if !matches!(status.as_deref(), Some("drawn" | "published")) {
            return Err(StoreError::Conflict(
                "only a drawn run can be changed".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO allocation_overrides (run_id, pseudonym, from_value, to_value, reason, actor, at_ms, mac) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(change.run_id)
        .bind(&change.pseudonym)
        .bind(&change.from_value)
        .bind(&change.to_value)
        .bind(&change.reason)
        .bind(&change.actor)
        .bind(change.at_ms)
        .bind(&change.mac)
        .fetch_one(&mut *tx)
        .await?;
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn apply_allocation_classes(
        &self,
        run_id: i64,
        institution_id: i64,
        grade: i64,
        assignments: &[(i64, String)],
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<AllocationApplied, StoreError> {
        let mut tx = self.write_tx().await?;
        let marked = sqlx::query(
            "UPDATE allocation_runs SET applied_at = $2 WHERE id = $1 AND applied_at IS NULL \
             AND status IN ('drawn', 'published')",
        )
        .bind(run_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "the run is not drawn or was already applied".into(),
            ));
        }
        let mut applied = AllocationApplied::default();
        let mut class_ids: std::collections::BTreeMap<&str, i64> =
            std::collections::BTreeMap::new();
        for (_, name) in assignments {
            if class_ids.contains_key(name.as_str()) {
                continue;
            }
            let created = sqlx::query(
                "INSERT INTO classes (institution_id, grade, name) VALUES ($1, $2, $3) \
                 ON CONFLICT (institution_id, grade, name) DO NOTHING",
            )
            .bind(institution_id)
            .bind(grade)
            .bind(name)
            .execute(&mut *tx)
            .await?;
            applied.classes_created += created.rows_affected() as i64;
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM classes WHERE institution_id = $1 AND grade = $2 AND name = $3",
            )
            .bind(institution_id)
            .bind(grade)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
            class_ids.insert(name.as_str(), id);
        }
        for (pupil_id, name) in assignments {
            let class_id = class_ids.get(name.as_str()).copied();
            let done = sqlx::query(
                "UPDATE pupils SET class_id = $1, updated_at = $2 WHERE id = $3 AND institution_id = $4 \
                 AND grade = $5 AND status = 'enrolled'",
            )
            .bind(class_id)
            .bind(now_ms)
            .bind(pupil_id)
            .bind(institution_id)
            .bind(grade)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                applied.moved += 1;
            } else {
                applied.skipped += 1;
            }
        }
        super::tx::append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(applied)
    }
}
