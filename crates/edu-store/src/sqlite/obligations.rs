//! SQLite implementation of [`crate::ObligationStore`].

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, Transaction};

use super::SqliteStore;
use super::sql::{push_in, push_scope};
use super::tx::append_audit;
use crate::ObligationStore;
use crate::error::StoreError;
use crate::obligations::*;
use crate::records::{AuditEntry, ScopeFilter};

/// Rows per multi-row INSERT in bulk loads (SQLite allows 32,766 bound parameters per statement).
const BULK_ROWS: usize = 500;

const RETURN_SELECT: &str = "SELECT r.id, r.obligation, r.institution_id, i.code AS institution_code, \
     i.name AS institution_name, i.district_code, r.period, r.period_start, r.period_end, r.kind, r.state, \
     r.timeliness, r.late_by_seconds, r.due_at, r.expires_at, r.first_submitted_at, r.updated_at, r.version, \
     r.has_cases, v.values_json, v.sensitive_enc, v.submitted_by, v.at_ms \
     FROM obligation_returns r JOIN institutions i ON i.id = r.institution_id \
     JOIN obligation_return_versions v ON v.return_id = r.id AND v.version = r.version";

const CASE_SELECT: &str = "SELECT c.id, c.obligation, c.institution_id, i.code AS institution_code, \
     i.name AS institution_name, i.district_code, c.case_no, c.person_index, c.person_enc, c.person_masked, \
     c.person_kind, c.class_name, c.onset_date, c.first_reported, c.last_reported, c.status, c.closed_on, \
     c.history_json FROM obligation_health_cases c JOIN institutions i ON i.id = c.institution_id";

const ALERT_SELECT: &str = "SELECT a.id, a.obligation, a.institution_id, i.code AS institution_code, \
     i.name AS institution_name, i.district_code, i.phone, a.kind, a.alert_date, a.subject, a.audience, a.observed, \
     a.baseline, a.threshold, a.explanation, a.explanation_en, a.cases_json, a.raised_at, a.status, a.handled_by, \
     a.handled_at, a.note FROM obligation_alerts a JOIN institutions i ON i.id = a.institution_id";

/// Appends the conditions of a selector on the institutions alias `i` (each prefixed with ` AND `).
fn push_selector(b: &mut QueryBuilder<Sqlite>, s: &InstitutionSelector) {
    push_in(b, "i.kind", &s.kinds);
    push_in(b, "i.ownership", &s.ownership);
    push_in(b, "i.area", &s.area);
    push_in(b, "i.authority", &s.authority);
    if let Some(inclusive) = s.inclusive {
        b.push(" AND i.inclusive = ").push_bind(inclusive);
    }
    if !s.tags.is_empty() {
        b.push(" AND (EXISTS (SELECT 1 FROM institution_tags t WHERE t.institution_id = i.id AND t.valid_to IS NULL AND t.tag IN (");
        let mut list = b.separated(", ");
        for t in &s.tags {
            list.push_bind(t.clone());
        }
        list.push_unseparated("))");
        if s.tags.iter().any(|t| t == "inclusive") {
            b.push(" OR i.inclusive = TRUE");
        }
        b.push(")");
    }
}

/// `AND (sel1 OR sel2 …)`; nothing for an empty list.
fn push_any_selector(b: &mut QueryBuilder<Sqlite>, any: &[InstitutionSelector]) {
    if any.is_empty() {
        return;
    }
    b.push(" AND (");
    for (n, s) in any.iter().enumerate() {
        if n > 0 {
            b.push(" OR ");
        }
        b.push("(1 = 1");
        push_selector(b, s);
        b.push(")");
    }
    b.push(")");
}

/// Institutions of the metric: open, in the org, matching the metric's filters and the obligation's owers.
fn push_metric_institutions(b: &mut QueryBuilder<Sqlite>, q: &ObligationMetricQuery) {
    b.push(" AND i.status = 'open'");
    push_scope(b, &q.org);
    push_selector(b, &q.institutions);
    push_any_selector(b, &q.owed_by);
}

async fn insert_version(
    tx: &mut Transaction<'static, Sqlite>,
    return_id: i64,
    version: i64,
    v: &VersionWrite,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO obligation_return_versions (return_id, version, kind, values_json, sensitive_enc, submitted_by, \
         submitted_by_id, at_ms, reason, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(return_id)
    .bind(version)
    .bind(&v.kind)
    .bind(&v.values_json)
    .bind(&v.sensitive_enc)
    .bind(&v.submitted_by)
    .bind(v.submitted_by_id)
    .bind(v.at_ms)
    .bind(&v.reason)
    .bind(&v.mac)
    .execute(&mut **tx)
    .await?;
    if let Some(z) = &v.zero {
        sqlx::query(
            "INSERT INTO obligation_zero_statements (return_id, version, statement, statement_en, signed_by, \
             signed_by_id, signed_at, note, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(return_id)
        .bind(version)
        .bind(&z.statement)
        .bind(&z.statement_en)
        .bind(&z.signed_by)
        .bind(z.signed_by_id)
        .bind(z.signed_at)
        .bind(&z.note)
        .bind(&z.mac)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn replace_values(
    tx: &mut Transaction<'static, Sqlite>,
    return_id: i64,
    numbers: &[(String, f64)],
    replace: bool,
) -> Result<(), StoreError> {
    if replace {
        sqlx::query("DELETE FROM obligation_return_values WHERE return_id = $1")
            .bind(return_id)
            .execute(&mut **tx)
            .await?;
    }
    if numbers.is_empty() {
        return Ok(());
    }
    let mut b: QueryBuilder<Sqlite> =
        QueryBuilder::new("INSERT INTO obligation_return_values (return_id, field, value) ");
    b.push_values(numbers, |mut row, (field, value)| {
        row.push_bind(return_id).push_bind(field).push_bind(*value);
    });
    b.build().execute(&mut **tx).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut Transaction<'static, Sqlite>,
    return_id: i64,
    kind: &str,
    by: &str,
    by_id: Option<i64>,
    at_ms: i64,
    version: i64,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO obligation_return_events (return_id, kind, by_user, by_user_id, at_ms, version, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(return_id)
    .bind(kind)
    .bind(by)
    .bind(by_id)
    .bind(at_ms)
    .bind(version)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn replace_cases(
    tx: &mut Transaction<'static, Sqlite>,
    cases: &CasesReplace,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM obligation_health_cases WHERE obligation = $1 AND institution_id = $2",
    )
    .bind(&cases.obligation)
    .bind(cases.institution_id)
    .execute(&mut **tx)
    .await?;
    for chunk in cases.cases.chunks(BULK_ROWS) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO obligation_health_cases (obligation, institution_id, case_no, person_index, person_enc, \
             person_masked, person_kind, class_name, onset_date, first_reported, last_reported, status, closed_on, \
             history_json, updated_at) ",
        );
        b.push_values(chunk, |mut row, c| {
            row.push_bind(&cases.obligation)
                .push_bind(cases.institution_id)
                .push_bind(c.case_no)
                .push_bind(&c.person_index)
                .push_bind(&c.person_enc)
                .push_bind(&c.person_masked)
                .push_bind(&c.person_kind)
                .push_bind(&c.class_name)
                .push_bind(&c.onset_date)
                .push_bind(&c.first_reported)
                .push_bind(&c.last_reported)
                .push_bind(&c.status)
                .push_bind(&c.closed_on)
                .push_bind(&c.history_json)
                .push_bind(now_ms);
        });
        b.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn upsert_alerts(
    tx: &mut Transaction<'static, Sqlite>,
    alerts: &[AlertWrite],
    now_ms: i64,
) -> Result<(), StoreError> {
    for chunk in alerts.chunks(BULK_ROWS) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO obligation_alerts (obligation, institution_id, kind, alert_date, subject, audience, observed, \
             baseline, threshold, explanation, explanation_en, cases_json, raised_at) ",
        );
        b.push_values(chunk, |mut row, a| {
            row.push_bind(&a.obligation)
                .push_bind(a.institution_id)
                .push_bind(&a.kind)
                .push_bind(&a.alert_date)
                .push_bind(&a.subject)
                .push_bind(&a.audience)
                .push_bind(a.observed)
                .push_bind(a.baseline)
                .push_bind(a.threshold)
                .push_bind(&a.explanation)
                .push_bind(&a.explanation_en)
                .push_bind(&a.cases_json)
                .push_bind(now_ms);
        });
        b.push(
            " ON CONFLICT (obligation, institution_id, kind, alert_date, subject) DO UPDATE SET \
             observed = excluded.observed, baseline = excluded.baseline, threshold = excluded.threshold, \
             explanation = excluded.explanation, explanation_en = excluded.explanation_en, \
             cases_json = excluded.cases_json",
        );
        b.build().execute(&mut **tx).await?;
    }
    Ok(())
}

impl SqliteStore {
    async fn attach_tags(
        &self,
        institutions: &mut [ObligationInstitution],
    ) -> Result<(), StoreError> {
        if institutions.is_empty() {
            return Ok(());
        }
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT t.institution_id, t.tag FROM institution_tags t WHERE t.valid_to IS NULL",
        );
        if institutions.len() == 1 {
            b.push(" AND t.institution_id = ")
                .push_bind(institutions[0].id);
        }
        let rows: Vec<(i64, String)> = b.build_query_as().fetch_all(&self.read).await?;
        let index: std::collections::HashMap<i64, usize> = institutions
            .iter()
            .enumerate()
            .map(|(n, i)| (i.id, n))
            .collect();
        for (id, tag) in rows {
            if let Some(&n) = index.get(&id)
                && !institutions[n].tags.contains(&tag)
            {
                institutions[n].tags.push(tag);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ObligationStore for SqliteStore {
    async fn obligation_institutions(
        &self,
        scope: &ScopeFilter,
    ) -> Result<Vec<ObligationInstitution>, StoreError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT i.id, i.code, i.name, i.district_code, i.kind, i.ownership, i.inclusive, i.area, i.authority, \
             i.status, i.phone FROM institutions i WHERE 1 = 1",
        );
        push_scope(&mut b, scope);
        b.push(" ORDER BY i.code");
        let mut rows: Vec<ObligationInstitution> = b.build_query_as().fetch_all(&self.read).await?;
        self.attach_tags(&mut rows).await?;
        Ok(rows)
    }

    async fn obligation_institution(
        &self,
        id: i64,
    ) -> Result<Option<ObligationInstitution>, StoreError> {
        let row: Option<ObligationInstitution> = sqlx::query_as(
            "SELECT i.id, i.code, i.name, i.district_code, i.kind, i.ownership, i.inclusive, i.area, i.authority, \
             i.status, i.phone FROM institutions i WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut rows = [row];
        self.attach_tags(&mut rows).await?;
        let [row] = rows;
        Ok(Some(row))
    }

    async fn return_summaries(
        &self,
        obligation: &str,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReturnSummaryRow>, StoreError> {
        // Answered from the covering index `obligation_returns_by_period`; the institutions table is joined only to
        // filter a district.
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT r.institution_id, r.period, r.period_start, r.kind, r.timeliness, r.first_submitted_at \
             FROM obligation_returns r",
        );
        if let ScopeFilter::District(code) = scope {
            b.push(" JOIN institutions i ON i.id = r.institution_id AND i.district_code = ")
                .push_bind(code.clone());
        }
        b.push(" WHERE r.obligation = ")
            .push_bind(obligation.to_owned())
            .push(" AND r.period_start >= ")
            .push_bind(from.to_owned())
            .push(" AND r.period_start <= ")
            .push_bind(to.to_owned());
        if let ScopeFilter::Institution(id) = scope {
            b.push(" AND r.institution_id = ").push_bind(*id);
        }
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn returns_in_range(
        &self,
        obligation: &str,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReturnRow>, StoreError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(RETURN_SELECT);
        b.push(" WHERE r.obligation = ")
            .push_bind(obligation.to_owned())
            .push(" AND r.period_start >= ")
            .push_bind(from.to_owned())
            .push(" AND r.period_start <= ")
            .push_bind(to.to_owned());
        push_scope(&mut b, scope);
        b.push(" ORDER BY r.period_start, i.code");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn institution_returns(
        &self,
        institution_id: i64,
        obligation: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReturnRow>, StoreError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(RETURN_SELECT);
        b.push(" WHERE r.institution_id = ")
            .push_bind(institution_id);
        if let Some(o) = obligation {
            b.push(" AND r.obligation = ").push_bind(o.to_owned());
        }
        b.push(" AND r.period_start >= ")
            .push_bind(from.to_owned())
            .push(" AND r.period_start <= ")
            .push_bind(to.to_owned())
            .push(" ORDER BY r.period_start, r.obligation");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn institution_case_returns(
        &self,
        institution_id: i64,
        obligation: &str,
    ) -> Result<Vec<ReturnRow>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{RETURN_SELECT} WHERE r.institution_id = $1 AND r.obligation = $2 AND r.has_cases = TRUE \
             ORDER BY r.period_start"
        )))
        .bind(institution_id)
        .bind(obligation)
        .fetch_all(&self.read)
        .await?)
    }

    async fn return_by_id(&self, id: i64) -> Result<Option<ReturnRow>, StoreError> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{RETURN_SELECT} WHERE r.id = $1")))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn return_by_key(
        &self,
        obligation: &str,
        institution_id: i64,
        period: &str,
    ) -> Result<Option<ReturnRow>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{RETURN_SELECT} WHERE r.obligation = $1 AND r.institution_id = $2 AND r.period = $3"
        )))
        .bind(obligation)
        .bind(institution_id)
        .bind(period)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn return_versions(&self, return_id: i64) -> Result<Vec<ReturnVersionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT v.return_id, v.version, v.kind, v.values_json, v.sensitive_enc, v.submitted_by, v.submitted_by_id, \
             v.at_ms, v.reason, v.mac, z.statement, z.statement_en, z.signed_by, z.signed_by_id, z.signed_at, z.note, \
             z.mac AS statement_mac FROM obligation_return_versions v \
             LEFT JOIN obligation_zero_statements z ON z.return_id = v.return_id AND z.version = v.version \
             WHERE v.return_id = $1 ORDER BY v.version",
        )
        .bind(return_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn return_events(&self, return_id: i64) -> Result<Vec<ReturnEventRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, return_id, kind, by_user, by_user_id, at_ms, version, reason \
             FROM obligation_return_events WHERE return_id = $1 ORDER BY id",
        )
        .bind(return_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn idempotency_key(
        &self,
        user_id: i64,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, key, obligation, request_hash, return_id, created_at FROM obligation_idempotency \
             WHERE user_id = $1 AND key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn health_cases(
        &self,
        obligation: &str,
        scope: &ScopeFilter,
        open_only: bool,
    ) -> Result<Vec<HealthCaseRow>, StoreError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(CASE_SELECT);
        b.push(" WHERE c.obligation = ")
            .push_bind(obligation.to_owned());
        if open_only {
            b.push(" AND c.closed_on IS NULL");
        }
        push_scope(&mut b, scope);
        b.push(" ORDER BY c.closed_on IS NOT NULL, c.last_reported DESC, i.code, c.case_no");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn open_case_count(
        &self,
        obligation: &str,
        institution_id: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM obligation_health_cases WHERE obligation = $1 AND closed_on IS NULL \
             AND institution_id = $2",
        )
        .bind(obligation)
        .bind(institution_id)
        .fetch_one(&self.read)
        .await?)
    }

    async fn obligation_alerts(
        &self,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(ALERT_SELECT);
        b.push(" WHERE a.alert_date >= ")
            .push_bind(from.to_owned())
            .push(" AND a.alert_date <= ")
            .push_bind(to.to_owned());
        push_scope(&mut b, scope);
        b.push(" ORDER BY a.status = 'acknowledged', a.alert_date DESC, i.code, a.kind, a.subject");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn obligation_alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{ALERT_SELECT} WHERE a.id = $1")))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn obligation_metric(&self, q: &ObligationMetricQuery) -> Result<f64, StoreError> {
        let count_institutions = || {
            let mut b: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT COUNT(*) FROM institutions i WHERE 1 = 1");
            push_metric_institutions(&mut b, q);
            b
        };
        let count_returns = |condition: &str| {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT COUNT(*) FROM obligation_returns r JOIN institutions i ON i.id = r.institution_id \
                 WHERE r.obligation = ",
            );
            b.push_bind(q.obligation.clone())
                .push(" AND r.period_start >= ")
                .push_bind(q.period_from.clone())
                .push(" AND r.period_start <= ")
                .push_bind(q.period_to.clone())
                .push(" AND r.first_submitted_at <= ")
                .push_bind(q.as_of_ms)
                .push(condition);
            push_metric_institutions(&mut b, q);
            b
        };
        let value = match &q.agg {
            ObligationAgg::Sum(field) => {
                let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "SELECT COALESCE(SUM(v.value), 0.0) FROM obligation_returns r \
                     JOIN institutions i ON i.id = r.institution_id \
                     JOIN obligation_return_values v ON v.return_id = r.id AND v.field = ",
                );
                b.push_bind(field.clone())
                    .push(" WHERE r.obligation = ")
                    .push_bind(q.obligation.clone())
                    .push(" AND r.period_start >= ")
                    .push_bind(q.period_from.clone())
                    .push(" AND r.period_start <= ")
                    .push_bind(q.period_to.clone())
                    .push(" AND r.first_submitted_at <= ")
                    .push_bind(q.as_of_ms);
                push_metric_institutions(&mut b, q);
                let sum: f64 = b.build_query_scalar().fetch_one(&self.read).await?;
                return Ok(sum);
            }
            ObligationAgg::Expected | ObligationAgg::Missing => {
                let institutions: i64 = count_institutions()
                    .build_query_scalar()
                    .fetch_one(&self.read)
                    .await?;
                let expected = institutions.saturating_mul(q.expected_periods.max(0));
                if q.agg == ObligationAgg::Expected {
                    expected
                } else {
                    let submitted: i64 = count_returns("")
                        .build_query_scalar()
                        .fetch_one(&self.read)
                        .await?;
                    (expected - submitted).max(0)
                }
            }
            ObligationAgg::Submitted => {
                count_returns("")
                    .build_query_scalar()
                    .fetch_one(&self.read)
                    .await?
            }
            ObligationAgg::OnTime => {
                count_returns(" AND r.timeliness = 'on_time'")
                    .build_query_scalar()
                    .fetch_one(&self.read)
                    .await?
            }
            ObligationAgg::Late => {
                count_returns(" AND r.timeliness = 'late'")
                    .build_query_scalar()
                    .fetch_one(&self.read)
                    .await?
            }
            ObligationAgg::Zero => {
                count_returns(" AND r.kind = 'zero'")
                    .build_query_scalar()
                    .fetch_one(&self.read)
                    .await?
            }
        };
        Ok(value as f64)
    }

    async fn obligation_institution_totals(
        &self,
        obligation: &str,
        period_from: &str,
        period_to: &str,
        as_of_ms: i64,
        sum_fields: &[String],
    ) -> Result<Vec<InstitutionTotals>, StoreError> {
        let counts: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT r.institution_id, COUNT(*), \
               SUM(CASE WHEN r.timeliness = 'on_time' THEN 1 ELSE 0 END), \
               SUM(CASE WHEN r.timeliness = 'late' THEN 1 ELSE 0 END), \
               SUM(CASE WHEN r.kind = 'zero' THEN 1 ELSE 0 END) \
             FROM obligation_returns r \
             WHERE r.obligation = $1 AND r.period_start >= $2 AND r.period_start <= $3 \
               AND r.first_submitted_at <= $4 \
             GROUP BY r.institution_id",
        )
        .bind(obligation)
        .bind(period_from)
        .bind(period_to)
        .bind(as_of_ms)
        .fetch_all(&self.read)
        .await?;
        let sums: Vec<(i64, String, f64)> = if sum_fields.is_empty() {
            Vec::new()
        } else {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT r.institution_id, v.field, SUM(v.value) \
                 FROM obligation_returns r JOIN obligation_return_values v ON v.return_id = r.id \
                 WHERE r.obligation = ",
            );
            b.push_bind(obligation)
                .push(" AND r.period_start >= ")
                .push_bind(period_from)
                .push(" AND r.period_start <= ")
                .push_bind(period_to)
                .push(" AND r.first_submitted_at <= ")
                .push_bind(as_of_ms);
            push_in(&mut b, "v.field", sum_fields);
            b.push(" GROUP BY r.institution_id, v.field");
            b.build_query_as().fetch_all(&self.read).await?
        };
        let mut totals: std::collections::BTreeMap<i64, InstitutionTotals> = counts
            .into_iter()
            .map(|(institution_id, submitted, on_time, late, zero)| {
                let t = InstitutionTotals {
                    institution_id,
                    submitted,
                    on_time,
                    late,
                    zero,
                    sums: Default::default(),
                };
                (institution_id, t)
            })
            .collect();
        for (institution_id, field, sum) in sums {
            totals
                .entry(institution_id)
                .or_insert_with(|| InstitutionTotals {
                    institution_id,
                    ..Default::default()
                })
                .sums
                .insert(field, sum);
        }
        Ok(totals.into_values().collect())
    }

    async fn submit_return(
        &self,
        write: &SubmitWrite,
        audit: &AuditEntry,
    ) -> Result<SubmitStored, StoreError> {
        let mut tx = self.write_tx().await?;
        if let Some((user_id, key, _)) = &write.idempotency {
            let used: Option<IdempotencyRecord> = sqlx::query_as(
                "SELECT user_id, key, obligation, request_hash, return_id, created_at FROM obligation_idempotency \
                 WHERE user_id = $1 AND key = $2",
            )
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(used) = used {
                return Ok(SubmitStored::KeyUsed(used));
            }
        }
        let r = &write.ret;
        let v = &r.version;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO obligation_returns (obligation, institution_id, period, period_start, period_end, kind, state, \
             timeliness, late_by_seconds, due_at, expires_at, first_submitted_at, updated_at, version, has_cases) \
             VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $8, $9, $10, $11, $11, 1, $12) RETURNING id",
        )
        .bind(&r.obligation)
        .bind(r.institution_id)
        .bind(&r.period)
        .bind(&r.period_start)
        .bind(&r.period_end)
        .bind(&v.kind)
        .bind(&r.timeliness)
        .bind(r.late_by_seconds)
        .bind(r.due_at)
        .bind(r.expires_at)
        .bind(v.at_ms)
        .bind(v.has_cases)
        .fetch_one(&mut *tx)
        .await?;
        insert_version(&mut tx, id, 1, v).await?;
        replace_values(&mut tx, id, &v.numbers, false).await?;
        insert_event(
            &mut tx,
            id,
            "submitted",
            &v.submitted_by,
            v.submitted_by_id,
            v.at_ms,
            1,
            None,
        )
        .await?;
        if let Some((user_id, key, hash)) = &write.idempotency {
            sqlx::query(
                "INSERT INTO obligation_idempotency (user_id, key, obligation, request_hash, return_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user_id)
            .bind(key)
            .bind(&r.obligation)
            .bind(hash)
            .bind(id)
            .bind(v.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cases) = &write.cases {
            replace_cases(&mut tx, cases, audit.at_ms).await?;
        }
        upsert_alerts(&mut tx, &write.alerts, audit.at_ms).await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(SubmitStored::Created(id))
    }

    async fn correct_return(
        &self,
        write: &CorrectWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let v = &write.version;
        let next = write.expected_version + 1;
        let moved = sqlx::query(
            "UPDATE obligation_returns SET version = $1, kind = $2, state = 'submitted', updated_at = $3, \
             has_cases = $4 WHERE id = $5 AND version = $6 AND state <> 'approved'",
        )
        .bind(next)
        .bind(&v.kind)
        .bind(v.at_ms)
        .bind(v.has_cases)
        .bind(write.return_id)
        .bind(write.expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(StoreError::Conflict(
                "the return changed meanwhile (corrected or approved)".into(),
            ));
        }
        insert_version(&mut tx, write.return_id, next, v).await?;
        replace_values(&mut tx, write.return_id, &v.numbers, true).await?;
        insert_event(
            &mut tx,
            write.return_id,
            "corrected",
            &v.submitted_by,
            v.submitted_by_id,
            v.at_ms,
            next,
            v.reason.as_deref(),
        )
        .await?;
        if let Some(cases) = &write.cases {
            replace_cases(&mut tx, cases, audit.at_ms).await?;
        }
        upsert_alerts(&mut tx, &write.alerts, audit.at_ms).await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn review_return(&self, w: &ReviewWrite, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let moved = sqlx::query(
            "UPDATE obligation_returns SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4 AND version = $5",
        )
        .bind(&w.to_state)
        .bind(w.at_ms)
        .bind(w.return_id)
        .bind(&w.from_state)
        .bind(w.expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(StoreError::Conflict("the return changed meanwhile".into()));
        }
        insert_event(
            &mut tx,
            w.return_id,
            &w.event_kind,
            &w.by_user,
            w.by_user_id,
            w.at_ms,
            w.expected_version,
            w.reason.as_deref(),
        )
        .await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        at_ms: i64,
        note: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let moved = sqlx::query(
            "UPDATE obligation_alerts SET status = 'acknowledged', handled_by = $1, handled_at = $2, note = $3 \
             WHERE id = $4 AND status = 'open'",
        )
        .bind(by)
        .bind(at_ms)
        .bind(note)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(StoreError::Conflict("the alert is not open".into()));
        }
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_returns_bulk(
        &self,
        returns: &[BulkReturn],
        cases: &[CasesReplace],
        alerts: &[AlertWrite],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let max_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM obligation_returns")
            .fetch_one(&mut *tx)
            .await?;
        for (chunk_index, chunk) in returns.chunks(BULK_ROWS).enumerate() {
            let first_id = max_id + 1 + (chunk_index * BULK_ROWS) as i64;
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO obligation_returns (id, obligation, institution_id, period, period_start, period_end, kind, \
                 state, timeliness, late_by_seconds, due_at, expires_at, first_submitted_at, updated_at, version, \
                 has_cases) ",
            );
            b.push_values(chunk.iter().enumerate(), |mut row, (n, br)| {
                let r = &br.ret;
                let last = br.corrections.last().unwrap_or(&r.version);
                let updated = br
                    .reviews
                    .last()
                    .map(|e| e.2)
                    .unwrap_or(last.at_ms)
                    .max(last.at_ms);
                row.push_bind(first_id + n as i64)
                    .push_bind(&r.obligation)
                    .push_bind(r.institution_id)
                    .push_bind(&r.period)
                    .push_bind(&r.period_start)
                    .push_bind(&r.period_end)
                    .push_bind(&last.kind)
                    .push_bind(&br.state)
                    .push_bind(&r.timeliness)
                    .push_bind(r.late_by_seconds)
                    .push_bind(r.due_at)
                    .push_bind(r.expires_at)
                    .push_bind(r.version.at_ms)
                    .push_bind(updated)
                    .push_bind(1 + br.corrections.len() as i64)
                    .push_bind(last.has_cases);
            });
            b.build().execute(&mut *tx).await?;

            // Versions (first and corrections) and their zero statements.
            let versions: Vec<(i64, i64, &VersionWrite)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(n, br)| {
                    std::iter::once(&br.ret.version)
                        .chain(br.corrections.iter())
                        .enumerate()
                        .map(move |(k, v)| (first_id + n as i64, k as i64 + 1, v))
                })
                .collect();
            for part in versions.chunks(BULK_ROWS) {
                let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO obligation_return_versions (return_id, version, kind, values_json, sensitive_enc, \
                     submitted_by, submitted_by_id, at_ms, reason, mac) ",
                );
                b.push_values(part, |mut row, (id, version, v)| {
                    row.push_bind(*id)
                        .push_bind(*version)
                        .push_bind(&v.kind)
                        .push_bind(&v.values_json)
                        .push_bind(&v.sensitive_enc)
                        .push_bind(&v.submitted_by)
                        .push_bind(v.submitted_by_id)
                        .push_bind(v.at_ms)
                        .push_bind(&v.reason)
                        .push_bind(&v.mac);
                });
                b.build().execute(&mut *tx).await?;
                let zeros: Vec<(i64, i64, &ZeroStatementWrite)> = part
                    .iter()
                    .filter_map(|(id, version, v)| v.zero.as_ref().map(|z| (*id, *version, z)))
                    .collect();
                if !zeros.is_empty() {
                    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                        "INSERT INTO obligation_zero_statements (return_id, version, statement, statement_en, signed_by, \
                         signed_by_id, signed_at, note, mac) ",
                    );
                    b.push_values(zeros, |mut row, (id, version, z)| {
                        row.push_bind(id)
                            .push_bind(version)
                            .push_bind(&z.statement)
                            .push_bind(&z.statement_en)
                            .push_bind(&z.signed_by)
                            .push_bind(z.signed_by_id)
                            .push_bind(z.signed_at)
                            .push_bind(&z.note)
                            .push_bind(&z.mac);
                    });
                    b.build().execute(&mut *tx).await?;
                }
            }

            // Summable values of the current version.
            let numbers: Vec<(i64, &String, f64)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(n, br)| {
                    let last = br.corrections.last().unwrap_or(&br.ret.version);
                    last.numbers
                        .iter()
                        .map(move |(f, v)| (first_id + n as i64, f, *v))
                })
                .collect();
            for part in numbers.chunks(BULK_ROWS * 2) {
                let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO obligation_return_values (return_id, field, value) ",
                );
                b.push_values(part, |mut row, (id, field, value)| {
                    row.push_bind(*id).push_bind(*field).push_bind(*value);
                });
                b.build().execute(&mut *tx).await?;
            }

            // Events: submitted, corrected…, then reviews.
            type Event<'a> = (
                i64,
                &'a str,
                &'a str,
                Option<i64>,
                i64,
                i64,
                Option<&'a str>,
            );
            let events: Vec<Event<'_>> = chunk
                .iter()
                .enumerate()
                .flat_map(|(n, br)| {
                    let id = first_id + n as i64;
                    let versions = 1 + br.corrections.len() as i64;
                    let first = &br.ret.version;
                    std::iter::once((
                        id,
                        "submitted",
                        first.submitted_by.as_str(),
                        first.submitted_by_id,
                        first.at_ms,
                        1,
                        None,
                    ))
                    .chain(br.corrections.iter().enumerate().map(move |(k, v)| {
                        (
                            id,
                            "corrected",
                            v.submitted_by.as_str(),
                            v.submitted_by_id,
                            v.at_ms,
                            k as i64 + 2,
                            v.reason.as_deref(),
                        )
                    }))
                    .chain(br.reviews.iter().map(
                        move |(kind, by, at, reason)| {
                            (
                                id,
                                kind.as_str(),
                                by.as_str(),
                                None,
                                *at,
                                versions,
                                reason.as_deref(),
                            )
                        },
                    ))
                })
                .collect();
            for part in events.chunks(BULK_ROWS) {
                let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO obligation_return_events (return_id, kind, by_user, by_user_id, at_ms, version, reason) ",
                );
                b.push_values(part, |mut row, e| {
                    row.push_bind(e.0)
                        .push_bind(e.1)
                        .push_bind(e.2)
                        .push_bind(e.3)
                        .push_bind(e.4)
                        .push_bind(e.5)
                        .push_bind(e.6);
                });
                b.build().execute(&mut *tx).await?;
            }
        }
        for c in cases {
            replace_cases(&mut tx, c, audit.at_ms).await?;
        }
        upsert_alerts(&mut tx, alerts, audit.at_ms).await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
