//! SQLite implementation of [`crate::PlanStore`].

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::SqliteStore;
use crate::PlanStore;
use crate::error::StoreError;
use crate::plan::{InstitutionFact, PlanSnapshot, PupilCount, StaffFact};

#[async_trait]
impl PlanStore for SqliteStore {
    async fn institution_facts(
        &self,
        as_of: &str,
    ) -> Result<(Vec<InstitutionFact>, Vec<(i64, String)>), StoreError> {
        // The history interval containing the date decides ownership, inclusive and status; an institution with no
        // interval on that date did not exist yet and is left out.
        let facts = sqlx::query_as(
            "SELECT i.id, i.code, i.name, i.district_code, i.kind, h.ownership, h.inclusive, i.area, i.authority, h.status, i.phone \
             FROM institutions i JOIN institution_history h ON h.institution_id = i.id \
             WHERE h.valid_from <= $1 AND (h.valid_to IS NULL OR h.valid_to > $1) ORDER BY i.id",
        )
        .bind(as_of)
        .fetch_all(&self.read)
        .await?;
        let tags = sqlx::query_as(
            "SELECT institution_id, tag FROM institution_tags WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) \
             ORDER BY institution_id, tag",
        )
        .bind(as_of)
        .fetch_all(&self.read)
        .await?;
        Ok((facts, tags))
    }

    async fn registry_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT version FROM data_versions WHERE name = 'registry'")
                .fetch_one(&self.read)
                .await?,
        )
    }

    async fn pupil_counts(
        &self,
        as_of: &str,
        periods: &[(String, String)],
    ) -> Result<Vec<Vec<PupilCount>>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            institution_id: i64,
            sex: String,
            grade: i64,
            age: i64,
            enrolled_on: Option<String>,
            count: i64,
        }
        // Age in completed years on the as-of date, computed from the ISO date strings (portable SQL). Grouped by
        // the enrolment date too (a handful of distinct dates), so each period's new entrants come from one scan.
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT h.institution_id, p.sex, h.grade, \
               CAST(substr($1, 1, 4) AS INTEGER) - CAST(substr(p.birth_date, 1, 4) AS INTEGER) \
                 - CASE WHEN substr($1, 6, 5) < substr(p.birth_date, 6, 5) THEN 1 ELSE 0 END AS age, \
               p.enrolled_on, COUNT(*) AS count \
             FROM pupil_history h JOIN pupils p ON p.id = h.pupil_id \
             WHERE h.status = 'enrolled' AND h.valid_from <= $1 AND (h.valid_to IS NULL OR h.valid_to > $1) \
             GROUP BY h.institution_id, p.sex, h.grade, age, p.enrolled_on",
        )
        .bind(as_of)
        .fetch_all(&self.read)
        .await?;
        Ok(periods
            .iter()
            .map(|(start, end)| {
                let mut merged: std::collections::BTreeMap<(i64, &str, i64, i64, bool), i64> =
                    std::collections::BTreeMap::new();
                for r in &rows {
                    let new_entrant = r
                        .enrolled_on
                        .as_deref()
                        .is_some_and(|d| d >= start.as_str() && d <= end.as_str());
                    *merged
                        .entry((
                            r.institution_id,
                            r.sex.as_str(),
                            r.grade,
                            r.age,
                            new_entrant,
                        ))
                        .or_default() += r.count;
                }
                merged
                    .into_iter()
                    .map(
                        |((institution_id, sex, grade, age, new_entrant), count)| PupilCount {
                            institution_id,
                            sex: sex.to_owned(),
                            grade,
                            age,
                            new_entrant,
                            count,
                        },
                    )
                    .collect()
            })
            .collect())
    }

    async fn staff_facts(&self, as_of: &str) -> Result<Vec<StaffFact>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.institution_id, s.role, s.sex, s.birth_date, s.hire_date, s.special_post, \
               EXISTS (SELECT 1 FROM staff_certificates c WHERE c.staff_id = s.id \
                 AND (c.issued_on IS NULL OR c.issued_on <= $1) AND (c.expires_on IS NULL OR c.expires_on >= $1)) AS certified \
             FROM staff s \
             WHERE s.hire_date <= $1 AND (s.status = 'active' OR (s.left_on IS NOT NULL AND s.left_on > $1))",
        )
        .bind(as_of)
        .fetch_all(&self.read)
        .await?)
    }

    async fn save_plan_snapshots(&self, snapshots: &[PlanSnapshot]) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for chunk in snapshots.chunks(400) {
            let mut b: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new(
                "INSERT INTO plan_snapshots (plan_id, taken_on, org_code, target_id, value, numerator, denominator, status) ",
            );
            b.push_values(chunk, |mut row, s| {
                row.push_bind(&s.plan_id)
                    .push_bind(&s.taken_on)
                    .push_bind(&s.org_code)
                    .push_bind(&s.target_id)
                    .push_bind(s.value)
                    .push_bind(s.numerator)
                    .push_bind(s.denominator)
                    .push_bind(&s.status);
            });
            b.push(
                " ON CONFLICT (plan_id, org_code, target_id, taken_on) DO UPDATE SET value = excluded.value, \
                 numerator = excluded.numerator, denominator = excluded.denominator, status = excluded.status",
            );
            b.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn plan_snapshots(
        &self,
        plan_id: &str,
        org_code: &str,
        target_id: Option<&str>,
    ) -> Result<Vec<PlanSnapshot>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT plan_id, taken_on, org_code, target_id, value, numerator, denominator, status FROM plan_snapshots WHERE plan_id = ",
        );
        b.push_bind(plan_id.to_owned())
            .push(" AND org_code = ")
            .push_bind(org_code.to_owned());
        if let Some(target) = target_id {
            b.push(" AND target_id = ").push_bind(target.to_owned());
        }
        b.push(" ORDER BY target_id, taken_on");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }
}
