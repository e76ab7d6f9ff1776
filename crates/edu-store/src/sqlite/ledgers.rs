//! SQLite implementation of [`crate::LedgerStore`].

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, Transaction};

use super::SqliteStore;
use super::sql::{push_in, push_scope};
use super::tx::append_audit;
use crate::LedgerStore;
use crate::error::StoreError;
use crate::ledgers::*;
use crate::records::{AuditEntry, PageRequest, Paged, ScopeFilter};

/// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters per statement; cases bind 23 per row).
const BULK_ROWS: usize = 400;

/// Kinds of institution that have a campus to guard (the plan's `schools.campus` metric).
const CAMPUS_KINDS: &str = "('kindergarten', 'primary', 'junior', 'senior', 'nine_year', 'twelve_year', 'vocational', 'special')";

const CASE_SELECT: &str = "SELECT c.id, c.ledger, c.case_key, c.institution_id, i.code AS institution_code, \
    i.name AS institution_name, i.district_code, c.state, c.closed, c.severity, c.level, c.title, c.values_json, \
    c.sensitive_enc, c.assignees, c.created_at, c.opened_on, c.state_entered_at, c.updated_at, c.deadline_at, \
    c.district_at, c.city_at, c.closed_at, c.late, c.next_review, c.version \
    FROM ledger_cases c JOIN institutions i ON i.id = c.institution_id";

const HISTORY_SELECT: &str = "SELECT case_id, seq, at_ms, actor, role, action, from_state, to_state, changes_json, \
    sensitive_enc, note, closed, deadline_at, level, late FROM ledger_history";

const ATTACHMENT_SELECT: &str = "SELECT id, token, institution_id, case_id, field, file_name, content_type, size, \
    sha256, uploaded_by, uploaded_at FROM ledger_attachments";

/// The plan's institution filters on alias `i`, with ownership, inclusiveness and tags as they stood on `date`.
fn push_institution_filter(
    b: &mut QueryBuilder<Sqlite>,
    filter: &MetricInstitutionFilter,
    date: &str,
) {
    push_in(b, "i.kind", &filter.kind);
    if let Some(area) = &filter.area {
        b.push(" AND i.area = ").push_bind(area.clone());
    }
    if let Some(authority) = &filter.authority {
        b.push(" AND i.authority = ").push_bind(authority.clone());
    }
    if filter.ownership.is_some() || filter.inclusive.is_some() {
        b.push(
            " AND EXISTS (SELECT 1 FROM institution_history ih WHERE ih.institution_id = i.id AND ih.valid_from <= ",
        )
        .push_bind(date.to_owned())
        .push(" AND (ih.valid_to IS NULL OR ih.valid_to > ")
        .push_bind(date.to_owned())
        .push(")");
        if let Some(ownership) = &filter.ownership {
            b.push(" AND ih.ownership = ").push_bind(ownership.clone());
        }
        if let Some(inclusive) = filter.inclusive {
            b.push(" AND ih.inclusive = ").push_bind(inclusive);
        }
        b.push(")");
    }
    if let Some(tag) = &filter.tag {
        b.push(" AND EXISTS (SELECT 1 FROM institution_tags t WHERE t.institution_id = i.id AND t.tag = ")
            .push_bind(tag.clone())
            .push(" AND t.valid_from <= ")
            .push_bind(date.to_owned())
            .push(" AND (t.valid_to IS NULL OR t.valid_to > ")
            .push_bind(date.to_owned())
            .push("))");
    }
}

/// The China (UTC+8) calendar date of an instant, `YYYY-MM-DD` (civil-from-days, proleptic Gregorian).
pub(crate) fn china_date_of_ms(ms: i64) -> String {
    let days = (ms + 8 * 3_600_000).div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A risk colour or hazard grade of a metric filter → the level stored on cases.
fn stored_level(level: &str) -> &str {
    match level {
        "red" => "major",
        "orange" => "large",
        "yellow" => "general",
        "blue" => "low",
        other => other,
    }
}

async fn insert_history(
    tx: &mut Transaction<'static, Sqlite>,
    case_id: i64,
    entries: &[HistoryWrite],
) -> Result<(), StoreError> {
    for h in entries {
        sqlx::query(
            "INSERT INTO ledger_history (case_id, seq, at_ms, actor, role, action, from_state, to_state, changes_json, \
             sensitive_enc, note, closed, deadline_at, level, late) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(case_id)
        .bind(h.seq)
        .bind(h.at_ms)
        .bind(&h.actor)
        .bind(&h.role)
        .bind(&h.action)
        .bind(&h.from_state)
        .bind(&h.to_state)
        .bind(&h.changes_json)
        .bind(&h.sensitive_enc)
        .bind(&h.note)
        .bind(h.closed)
        .bind(h.deadline_at)
        .bind(&h.level)
        .bind(h.late)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_attachments(
    tx: &mut Transaction<'static, Sqlite>,
    case_id: Option<i64>,
    attachments: &[AttachmentWrite],
) -> Result<(), StoreError> {
    for a in attachments {
        sqlx::query(
            "INSERT INTO ledger_attachments (token, institution_id, case_id, field, file_name, content_type, size, \
             sha256, uploaded_by, uploaded_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&a.token)
        .bind(a.institution_id)
        .bind(case_id)
        .bind(&a.field)
        .bind(&a.file_name)
        .bind(&a.content_type)
        .bind(a.content.len() as i64)
        .bind(&a.sha256)
        .bind(&a.uploaded_by)
        .bind(a.uploaded_at)
        .bind(&a.content)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_runs(
    tx: &mut Transaction<'static, Sqlite>,
    runs: &[ChecklistRunWrite],
) -> Result<(), StoreError> {
    for chunk in runs.chunks(BULK_ROWS) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO checklist_runs (ledger, checklist, institution_id, inspector, run_on, passed, failed, \
             not_applicable, results_json, created_at) ",
        );
        b.push_values(chunk, |mut row, r| {
            row.push_bind(&r.ledger)
                .push_bind(&r.checklist)
                .push_bind(r.institution_id)
                .push_bind(&r.inspector)
                .push_bind(&r.run_on)
                .push_bind(r.passed)
                .push_bind(r.failed)
                .push_bind(r.not_applicable)
                .push_bind(&r.results_json)
                .push_bind(r.created_at);
        });
        b.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn claim_attachments(
    tx: &mut Transaction<'static, Sqlite>,
    case_id: i64,
    institution_id: i64,
    tokens: &[String],
) -> Result<(), StoreError> {
    for token in tokens {
        let done = sqlx::query(
            "UPDATE ledger_attachments SET case_id = $1 WHERE token = $2 AND case_id IS NULL AND institution_id = $3",
        )
        .bind(case_id)
        .bind(token)
        .bind(institution_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "attachment already used or of another institution".into(),
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn ledger_case(
        &self,
        scope: &ScopeFilter,
        id: i64,
    ) -> Result<Option<(CaseRecord, Vec<HistoryRecord>)>, StoreError> {
        let mut b = QueryBuilder::new(CASE_SELECT);
        b.push(" WHERE c.id = ").push_bind(id);
        push_scope(&mut b, scope);
        let Some(case): Option<CaseRecord> = b.build_query_as().fetch_optional(&self.read).await?
        else {
            return Ok(None);
        };
        let history = sqlx::query_as(AssertSqlSafe(format!(
            "{HISTORY_SELECT} WHERE case_id = $1 ORDER BY seq"
        )))
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        Ok(Some((case, history)))
    }

    async fn ledger_cases(
        &self,
        scope: &ScopeFilter,
        query: &CaseQuery,
        page: PageRequest,
    ) -> Result<Paged<CaseRecord>, StoreError> {
        fn filters(b: &mut QueryBuilder<Sqlite>, scope: &ScopeFilter, q: &CaseQuery) {
            push_scope(b, scope);
            if let Some(ledger) = &q.ledger {
                b.push(" AND c.ledger = ").push_bind(ledger.clone());
            }
            if let Some(id) = q.institution_id {
                b.push(" AND c.institution_id = ").push_bind(id);
            }
            if let Some(district) = &q.district {
                b.push(" AND i.district_code = ")
                    .push_bind(district.clone());
            }
            if let Some(state) = &q.state {
                b.push(" AND c.state = ").push_bind(state.clone());
            }
            if let Some(open) = q.open {
                b.push(" AND c.closed = ").push_bind(!open);
            }
            if let Some(at) = q.overdue_at {
                b.push(" AND NOT c.closed AND c.deadline_at < ")
                    .push_bind(at);
            }
            if let Some(level) = &q.level {
                b.push(" AND c.level = ").push_bind(level.clone());
            }
            if let Some(at) = q.district_at {
                b.push(" AND NOT c.closed AND c.district_at <= ")
                    .push_bind(at);
            }
            if let Some(person) = &q.assigned_to {
                b.push(" AND instr(c.assignees, ")
                    .push_bind(format!(" {person} "))
                    .push(") > 0");
            }
        }
        let mut count = QueryBuilder::new(
            "SELECT COUNT(*) FROM ledger_cases c JOIN institutions i ON i.id = c.institution_id WHERE 1 = 1",
        );
        filters(&mut count, scope, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut b = QueryBuilder::new(format!("{CASE_SELECT} WHERE 1 = 1"));
        filters(&mut b, scope, query);
        if query.by_deadline {
            b.push(" ORDER BY c.deadline_at IS NULL, c.deadline_at, c.id");
        } else {
            b.push(" ORDER BY c.id DESC");
        }
        b.push(" LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let items = b.build_query_as().fetch_all(&self.read).await?;
        Ok(Paged { items, total })
    }

    async fn ledger_histories(&self, case_ids: &[i64]) -> Result<Vec<HistoryRecord>, StoreError> {
        let mut out = Vec::new();
        for chunk in case_ids.chunks(500) {
            let mut b = QueryBuilder::new(format!("{HISTORY_SELECT} WHERE case_id IN ("));
            let mut list = b.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(") ORDER BY case_id, seq");
            let rows: Vec<HistoryRecord> = b.build_query_as().fetch_all(&self.read).await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn ledger_counts(
        &self,
        scope: &ScopeFilter,
        ledger: &str,
        now_ms: i64,
        today: &str,
    ) -> Result<Vec<LedgerCountRow>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT i.id AS institution_id, i.code AS institution_code, i.name AS institution_name, i.district_code, \
             COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN NOT c.closed THEN 1 ELSE 0 END), 0) AS open, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.deadline_at < ",
        );
        b.push_bind(now_ms);
        b.push(
            " THEN 1 ELSE 0 END), 0) AS overdue, \
             COALESCE(SUM(CASE WHEN c.closed THEN 1 ELSE 0 END), 0) AS closed, \
             COALESCE(SUM(CASE WHEN c.closed AND NOT c.late THEN 1 ELSE 0 END), 0) AS closed_on_time, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.district_at <= ",
        );
        b.push_bind(now_ms);
        b.push(" AND (c.city_at IS NULL OR c.city_at > ");
        b.push_bind(now_ms);
        b.push(
            ") THEN 1 ELSE 0 END), 0) AS escalated_district, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.city_at <= ",
        );
        b.push_bind(now_ms);
        b.push(
            " THEN 1 ELSE 0 END), 0) AS escalated_city, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.next_review < ",
        );
        b.push_bind(today.to_owned());
        b.push(
            " THEN 1 ELSE 0 END), 0) AS review_overdue, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.level = 'major' THEN 1 ELSE 0 END), 0) AS level_major, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.level = 'large' THEN 1 ELSE 0 END), 0) AS level_large, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.level = 'general' THEN 1 ELSE 0 END), 0) AS level_general, \
             COALESCE(SUM(CASE WHEN NOT c.closed AND c.level = 'low' THEN 1 ELSE 0 END), 0) AS level_low \
             FROM ledger_cases c JOIN institutions i ON i.id = c.institution_id WHERE c.ledger = ",
        );
        b.push_bind(ledger.to_owned());
        push_scope(&mut b, scope);
        b.push(" GROUP BY i.id, i.code, i.name, i.district_code ORDER BY i.district_code, i.code");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn ledger_state_counts(
        &self,
        scope: &ScopeFilter,
        ledger: &str,
    ) -> Result<Vec<(String, String, String, String, i64)>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT i.code, i.name, i.district_code, c.state, COUNT(*) FROM ledger_cases c \
             JOIN institutions i ON i.id = c.institution_id WHERE c.ledger = ",
        );
        b.push_bind(ledger.to_owned());
        push_scope(&mut b, scope);
        b.push(" GROUP BY i.code, i.name, i.district_code, c.state ORDER BY i.district_code, i.code, c.state");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn insert_ledger_cases(
        &self,
        cases: &[NewCase],
        run: Option<&ChecklistRunWrite>,
        audits: &[AuditEntry],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut ids = Vec::with_capacity(cases.len());
        for new in cases {
            let case = &new.case;
            let version = case.history.last().map(|h| h.seq).unwrap_or(0);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO ledger_cases (ledger, case_key, institution_id, state, closed, severity, level, title, \
                 values_json, sensitive_enc, assignees, created_at, opened_on, state_entered_at, updated_at, \
                 deadline_at, district_at, city_at, closed_at, late, next_review, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22) RETURNING id",
            )
            .bind(&case.ledger)
            .bind(&case.case_key)
            .bind(case.institution_id)
            .bind(&case.state)
            .bind(case.closed)
            .bind(&case.severity)
            .bind(&case.level)
            .bind(&case.title)
            .bind(&case.values_json)
            .bind(&case.sensitive_enc)
            .bind(&case.assignees)
            .bind(case.created_at)
            .bind(&case.opened_on)
            .bind(case.state_entered_at)
            .bind(case.updated_at)
            .bind(case.deadline_at)
            .bind(case.district_at)
            .bind(case.city_at)
            .bind(case.closed_at)
            .bind(case.late)
            .bind(&case.next_review)
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
            insert_history(&mut tx, id, &case.history).await?;
            claim_attachments(&mut tx, id, case.institution_id, &new.claim).await?;
            insert_attachments(&mut tx, Some(id), &new.attachments).await?;
            ids.push(id);
        }
        if let Some(run) = run {
            insert_runs(&mut tx, std::slice::from_ref(run)).await?;
        }
        for (i, audit) in audits.iter().enumerate() {
            let mut entry = audit.clone();
            if entry.object_id.is_empty()
                && let Some(id) = ids.get(i)
            {
                entry.object_id = id.to_string();
            }
            append_audit(&mut tx, self.sealer.as_ref(), &entry).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn last_checklist_runs(
        &self,
        institution_id: i64,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT ledger, checklist, MAX(run_on) FROM checklist_runs WHERE institution_id = $1 \
             GROUP BY ledger, checklist ORDER BY ledger, checklist",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn update_ledger_case(
        &self,
        id: i64,
        expected_version: i64,
        case: &CaseWrite,
        attachments: &[AttachmentWrite],
        claim: &[String],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let version = case
            .history
            .last()
            .map(|h| h.seq)
            .unwrap_or(expected_version);
        let done = sqlx::query(
            "UPDATE ledger_cases SET state = $3, closed = $4, severity = $5, level = $6, title = $7, values_json = $8, \
             sensitive_enc = $9, assignees = $10, state_entered_at = $11, updated_at = $12, deadline_at = $13, \
             district_at = $14, city_at = $15, closed_at = $16, late = $17, next_review = $18, version = $19 \
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(&case.state)
        .bind(case.closed)
        .bind(&case.severity)
        .bind(&case.level)
        .bind(&case.title)
        .bind(&case.values_json)
        .bind(&case.sensitive_enc)
        .bind(&case.assignees)
        .bind(case.state_entered_at)
        .bind(case.updated_at)
        .bind(case.deadline_at)
        .bind(case.district_at)
        .bind(case.city_at)
        .bind(case.closed_at)
        .bind(case.late)
        .bind(&case.next_review)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "the case was changed by someone else".into(),
            ));
        }
        insert_history(&mut tx, id, &case.history).await?;
        claim_attachments(&mut tx, id, case.institution_id, claim).await?;
        insert_attachments(&mut tx, Some(id), attachments).await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_ledger_bulk(
        &self,
        bulk: &LedgerBulk,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let max_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM ledger_cases")
            .fetch_one(&mut *tx)
            .await?;
        for (chunk_index, chunk) in bulk.cases.chunks(BULK_ROWS).enumerate() {
            let first_id = max_id + 1 + (chunk_index * BULK_ROWS) as i64;
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO ledger_cases (id, ledger, case_key, institution_id, state, closed, severity, level, title, \
                 values_json, sensitive_enc, assignees, created_at, opened_on, state_entered_at, updated_at, \
                 deadline_at, district_at, city_at, closed_at, late, next_review, version) ",
            );
            b.push_values(chunk.iter().enumerate(), |mut row, (i, c)| {
                row.push_bind(first_id + i as i64)
                    .push_bind(&c.ledger)
                    .push_bind(&c.case_key)
                    .push_bind(c.institution_id)
                    .push_bind(&c.state)
                    .push_bind(c.closed)
                    .push_bind(&c.severity)
                    .push_bind(&c.level)
                    .push_bind(&c.title)
                    .push_bind(&c.values_json)
                    .push_bind(&c.sensitive_enc)
                    .push_bind(&c.assignees)
                    .push_bind(c.created_at)
                    .push_bind(&c.opened_on)
                    .push_bind(c.state_entered_at)
                    .push_bind(c.updated_at)
                    .push_bind(c.deadline_at)
                    .push_bind(c.district_at)
                    .push_bind(c.city_at)
                    .push_bind(c.closed_at)
                    .push_bind(c.late)
                    .push_bind(&c.next_review)
                    .push_bind(c.history.last().map(|h| h.seq).unwrap_or(0));
            });
            b.build().execute(&mut *tx).await?;
            let history: Vec<(i64, &HistoryWrite)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.history.iter().map(move |h| (first_id + i as i64, h)))
                .collect();
            for part in history.chunks(BULK_ROWS) {
                let mut h: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO ledger_history (case_id, seq, at_ms, actor, role, action, from_state, to_state, \
                     changes_json, sensitive_enc, note, closed, deadline_at, level, late) ",
                );
                h.push_values(part, |mut row, (case_id, e)| {
                    row.push_bind(*case_id)
                        .push_bind(e.seq)
                        .push_bind(e.at_ms)
                        .push_bind(&e.actor)
                        .push_bind(&e.role)
                        .push_bind(&e.action)
                        .push_bind(&e.from_state)
                        .push_bind(&e.to_state)
                        .push_bind(&e.changes_json)
                        .push_bind(&e.sensitive_enc)
                        .push_bind(&e.note)
                        .push_bind(e.closed)
                        .push_bind(e.deadline_at)
                        .push_bind(&e.level)
                        .push_bind(e.late);
                });
                h.build().execute(&mut *tx).await?;
            }
        }
        for (index, attachment) in &bulk.attachments {
            let case_id = max_id + 1 + *index as i64;
            insert_attachments(&mut tx, Some(case_id), std::slice::from_ref(attachment)).await?;
        }
        for plan in &bulk.site_plans {
            sqlx::query(
                "INSERT INTO site_plans (institution_id, content_type, width, height, size, sha256, uploaded_by, \
                 uploaded_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(plan.institution_id)
            .bind(&plan.content_type)
            .bind(plan.width)
            .bind(plan.height)
            .bind(plan.content.len() as i64)
            .bind(&plan.sha256)
            .bind(&plan.uploaded_by)
            .bind(plan.uploaded_at)
            .bind(&plan.content)
            .execute(&mut *tx)
            .await?;
        }
        let max_area: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM key_areas")
            .fetch_one(&mut *tx)
            .await?;
        for (chunk_index, chunk) in bulk.key_areas.chunks(BULK_ROWS).enumerate() {
            let first_id = max_area + 1 + (chunk_index * BULK_ROWS) as i64;
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO key_areas (id, institution_id, name, area_type, created_on) ",
            );
            b.push_values(chunk.iter().enumerate(), |mut row, (i, a)| {
                row.push_bind(first_id + i as i64)
                    .push_bind(a.institution_id)
                    .push_bind(&a.name)
                    .push_bind(&a.area_type)
                    .push_bind(&a.created_on);
            });
            b.build().execute(&mut *tx).await?;
            let mut s: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO key_area_states (key_area_id, camera, police_link, cameras, valid_from) ",
            );
            s.push_values(chunk.iter().enumerate(), |mut row, (i, a)| {
                row.push_bind(first_id + i as i64)
                    .push_bind(a.camera)
                    .push_bind(a.police_link)
                    .push_bind(a.cameras)
                    .push_bind(&a.created_on);
            });
            s.build().execute(&mut *tx).await?;
        }
        for chunk in bulk.vetting.chunks(BULK_ROWS) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO vetting_records (institution_id, name, id_number_enc, id_number_masked, id_number_index, \
                 post, employer, checked_on, result, valid_until, note, recorded_by, recorded_at) ",
            );
            b.push_values(chunk, |mut row, v| {
                row.push_bind(v.institution_id)
                    .push_bind(&v.name)
                    .push_bind(&v.id_number_enc)
                    .push_bind(&v.id_number_masked)
                    .push_bind(&v.id_number_index)
                    .push_bind(&v.post)
                    .push_bind(&v.employer)
                    .push_bind(&v.checked_on)
                    .push_bind(&v.result)
                    .push_bind(&v.valid_until)
                    .push_bind(&v.note)
                    .push_bind(&v.recorded_by)
                    .push_bind(v.recorded_at);
            });
            b.build().execute(&mut *tx).await?;
        }
        insert_runs(&mut tx, &bulk.runs).await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ledger_metric(&self, q: &LedgerMetricQuery) -> Result<f64, StoreError> {
        let n: i64 = ledger_metric_query(q, "COUNT(*)")
            .build_query_scalar()
            .fetch_one(&self.read)
            .await?;
        Ok(n as f64)
    }

    async fn ledger_metric_by_institution(
        &self,
        q: &LedgerMetricQuery,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        let mut b = ledger_metric_query(q, "c.institution_id, COUNT(*)");
        b.push(" GROUP BY c.institution_id");
        let rows: Vec<(i64, i64)> = b.build_query_as().fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(|(id, n)| (id, n as f64)).collect())
    }

    async fn key_area_metric(&self, q: &KeyAreaQuery) -> Result<f64, StoreError> {
        let n: i64 = key_area_query(q, "COUNT(*)")
            .build_query_scalar()
            .fetch_one(&self.read)
            .await?;
        Ok(n as f64)
    }

    async fn key_area_metric_by_institution(
        &self,
        q: &KeyAreaQuery,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        let mut b = key_area_query(q, "k.institution_id, COUNT(*)");
        b.push(" GROUP BY k.institution_id");
        let rows: Vec<(i64, i64)> = b.build_query_as().fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(|(id, n)| (id, n as f64)).collect())
    }

    async fn attachment_meta(&self, token: &str) -> Result<Option<AttachmentMeta>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{ATTACHMENT_SELECT} WHERE token = $1"
        )))
        .bind(token)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn attachment_content(&self, token: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT content FROM ledger_attachments WHERE token = $1")
                .bind(token)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn case_attachments(&self, case_id: i64) -> Result<Vec<AttachmentMeta>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{ATTACHMENT_SELECT} WHERE case_id = $1 ORDER BY id"
        )))
        .bind(case_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn insert_attachment(
        &self,
        attachment: &AttachmentWrite,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_attachments(&mut tx, None, std::slice::from_ref(attachment)).await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn site_plan(&self, institution_id: i64) -> Result<Option<SitePlanRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT institution_id, content_type, width, height, size, sha256, uploaded_by, uploaded_at, content \
             FROM site_plans WHERE institution_id = $1",
        )
        .bind(institution_id)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn put_site_plan(
        &self,
        plan: &SitePlanRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO site_plans (institution_id, content_type, width, height, size, sha256, uploaded_by, \
             uploaded_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (institution_id) DO UPDATE SET content_type = excluded.content_type, width = excluded.width, \
             height = excluded.height, size = excluded.size, sha256 = excluded.sha256, \
             uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at, content = excluded.content",
        )
        .bind(plan.institution_id)
        .bind(&plan.content_type)
        .bind(plan.width)
        .bind(plan.height)
        .bind(plan.content.len() as i64)
        .bind(&plan.sha256)
        .bind(&plan.uploaded_by)
        .bind(plan.uploaded_at)
        .bind(&plan.content)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn key_areas(
        &self,
        institution_id: i64,
        on: &str,
    ) -> Result<Vec<KeyAreaRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT k.id, k.institution_id, i.code AS institution_code, k.name, k.area_type, k.created_on, \
             k.retired_on, s.camera, s.police_link, s.cameras, s.valid_from AS state_from \
             FROM key_areas k JOIN institutions i ON i.id = k.institution_id \
             JOIN key_area_states s ON s.key_area_id = k.id AND s.valid_from <= $2 AND (s.valid_to IS NULL OR s.valid_to > $2) \
             WHERE k.institution_id = $1 AND k.created_on <= $2 AND (k.retired_on IS NULL OR k.retired_on > $2) \
             ORDER BY k.area_type, k.id",
        )
        .bind(institution_id)
        .bind(on)
        .fetch_all(&self.read)
        .await?)
    }

    async fn key_area(&self, id: i64) -> Result<Option<KeyAreaRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT k.id, k.institution_id, i.code AS institution_code, k.name, k.area_type, k.created_on, \
             k.retired_on, s.camera, s.police_link, s.cameras, s.valid_from AS state_from \
             FROM key_areas k JOIN institutions i ON i.id = k.institution_id \
             JOIN key_area_states s ON s.id = (SELECT s2.id FROM key_area_states s2 WHERE s2.key_area_id = k.id \
               ORDER BY s2.valid_from DESC, s2.id DESC LIMIT 1) \
             WHERE k.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn key_area_coverage(
        &self,
        scope: &ScopeFilter,
        on: &str,
    ) -> Result<Vec<KeyAreaCoverage>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT i.id AS institution_id, i.code AS institution_code, i.name AS institution_name, i.district_code, \
             COUNT(*) AS areas, COALESCE(SUM(CASE WHEN s.camera THEN 1 ELSE 0 END), 0) AS camera, \
             COALESCE(SUM(CASE WHEN s.police_link THEN 1 ELSE 0 END), 0) AS police_link \
             FROM key_areas k JOIN institutions i ON i.id = k.institution_id \
             JOIN key_area_states s ON s.key_area_id = k.id AND s.valid_from <= ",
        );
        b.push_bind(on.to_owned())
            .push(" AND (s.valid_to IS NULL OR s.valid_to > ")
            .push_bind(on.to_owned())
            .push(") WHERE k.created_on <= ")
            .push_bind(on.to_owned())
            .push(" AND (k.retired_on IS NULL OR k.retired_on > ")
            .push_bind(on.to_owned())
            .push(")");
        push_scope(&mut b, scope);
        b.push(" GROUP BY i.id, i.code, i.name, i.district_code ORDER BY i.district_code, i.code");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn insert_key_area(
        &self,
        area: &KeyAreaWrite,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO key_areas (institution_id, name, area_type, created_on) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(area.institution_id)
        .bind(&area.name)
        .bind(&area.area_type)
        .bind(&area.created_on)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO key_area_states (key_area_id, camera, police_link, cameras, valid_from) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(area.camera)
        .bind(area.police_link)
        .bind(area.cameras)
        .bind(&area.created_on)
        .execute(&mut *tx)
        .await?;
        let mut entry = audit.clone();
        if entry.object_id.is_empty() {
            entry.object_id = id.to_string();
        }
        append_audit(&mut tx, self.sealer.as_ref(), &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn set_key_area_state(
        &self,
        id: i64,
        camera: bool,
        police_link: bool,
        cameras: i64,
        on: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let open: Option<i64> =
            sqlx::query_scalar("SELECT id FROM key_areas WHERE id = $1 AND retired_on IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if open.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE key_area_states SET valid_to = $2 WHERE key_area_id = $1 AND valid_to IS NULL AND valid_from < $2",
        )
        .bind(id)
        .bind(on)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM key_area_states WHERE key_area_id = $1 AND valid_to IS NULL AND valid_from = $2",
        )
        .bind(id)
        .bind(on)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO key_area_states (key_area_id, camera, police_link, cameras, valid_from) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(camera)
        .bind(police_link)
        .bind(cameras)
        .bind(on)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retire_key_area(
        &self,
        id: i64,
        on: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE key_areas SET retired_on = $2 WHERE id = $1 AND retired_on IS NULL",
        )
        .bind(id)
        .bind(on)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE key_area_states SET valid_to = $2 WHERE key_area_id = $1 AND valid_to IS NULL",
        )
        .bind(id)
        .bind(on)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, self.sealer.as_ref(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn vetting_records(&self, institution_id: i64) -> Result<Vec<VettingRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, institution_id, name, id_number_enc, id_number_masked, id_number_index, post, employer, \
             checked_on, result, valid_until, note, recorded_by, recorded_at FROM vetting_records \
             WHERE institution_id = $1 ORDER BY checked_on DESC, id DESC",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn insert_vetting(
        &self,
        v: &VettingWrite,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO vetting_records (institution_id, name, id_number_enc, id_number_masked, id_number_index, \
             post, employer, checked_on, result, valid_until, note, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(v.institution_id)
        .bind(&v.name)
        .bind(&v.id_number_enc)
        .bind(&v.id_number_masked)
        .bind(&v.id_number_index)
        .bind(&v.post)
        .bind(&v.employer)
        .bind(&v.checked_on)
        .bind(&v.result)
        .bind(&v.valid_until)
        .bind(&v.note)
        .bind(&v.recorded_by)
        .bind(v.recorded_at)
        .fetch_one(&mut *tx)
        .await?;
        let mut entry = audit.clone();
        if entry.object_id.is_empty() {
            entry.object_id = id.to_string();
        }
        append_audit(&mut tx, self.sealer.as_ref(), &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn guards(
        &self,
        scope: &ScopeFilter,
        institution_id: Option<i64>,
    ) -> Result<Vec<GuardRecord>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT s.staff_no, s.name, s.institution_id, i.code AS institution_code, c.kind AS certificate_kind, \
             c.number AS certificate_number, c.expires_on AS certificate_expires \
             FROM staff s JOIN institutions i ON i.id = s.institution_id \
             LEFT JOIN staff_certificates c ON c.id = (SELECT c2.id FROM staff_certificates c2 WHERE c2.staff_id = s.id \
               ORDER BY c2.expires_on IS NULL DESC, c2.expires_on DESC, c2.id LIMIT 1) \
             WHERE s.status = 'active' AND s.role = 'security_guard'",
        );
        push_scope(&mut b, scope);
        if let Some(id) = institution_id {
            b.push(" AND s.institution_id = ").push_bind(id);
        }
        b.push(" ORDER BY i.code, s.staff_no");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn campus_guards(
        &self,
        scope: &ScopeFilter,
        today: &str,
        soon: &str,
    ) -> Result<Vec<CampusGuardRow>, StoreError> {
        let guard = "s.institution_id = i.id AND s.status = 'active' AND s.role = 'security_guard'";
        let mut b = QueryBuilder::new(format!(
            "SELECT i.id AS institution_id, i.code AS institution_code, i.name AS institution_name, i.district_code, \
             i.kind, (SELECT COUNT(*) FROM staff s WHERE {guard}) AS guards, \
             (SELECT COUNT(*) FROM staff s WHERE {guard} AND EXISTS (SELECT 1 FROM staff_certificates c \
               WHERE c.staff_id = s.id AND (c.expires_on IS NULL OR c.expires_on >= "
        ));
        b.push_bind(today.to_owned());
        b.push(format!(
            "))) AS certified, (SELECT COUNT(*) FROM staff s WHERE {guard} AND EXISTS (SELECT 1 FROM staff_certificates c \
               WHERE c.staff_id = s.id AND c.expires_on >= "
        ));
        b.push_bind(today.to_owned());
        b.push(
            ") AND NOT EXISTS (SELECT 1 FROM staff_certificates c WHERE c.staff_id = s.id \
               AND (c.expires_on IS NULL OR c.expires_on >= ",
        );
        b.push_bind(soon.to_owned());
        b.push(format!(
            "))) AS expiring FROM institutions i WHERE i.status = 'open' AND i.kind IN {CAMPUS_KINDS}"
        ));
        push_scope(&mut b, scope);
        b.push(" ORDER BY i.district_code, i.code");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn person_users(
        &self,
        institution_code: &str,
        district_code: &str,
        city_code: &str,
    ) -> Result<Vec<PersonUser>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT username, display_name, role, scope_code FROM users WHERE NOT disabled \
             AND scope_code IN ($1, $2, $3) \
             AND role IN ('city_admin', 'district_admin', 'school_admin', 'teacher', 'inspector') \
             ORDER BY length(scope_code) DESC, role, username",
        )
        .bind(institution_code)
        .bind(district_code)
        .bind(city_code)
        .fetch_all(&self.read)
        .await?)
    }
}

/// The query of a `source = "ledger"` metric selecting `select` (a count, or per-institution counts).
fn ledger_metric_query(q: &LedgerMetricQuery, select: &str) -> QueryBuilder<Sqlite> {
    let date = china_date_of_ms(q.as_of_ms);
    let mut b = QueryBuilder::new(format!(
        "SELECT {select} FROM ledger_cases c JOIN institutions i ON i.id = c.institution_id \
             JOIN ledger_history h ON h.case_id = c.id AND h.seq = (SELECT MAX(h2.seq) FROM ledger_history h2 \
             WHERE h2.case_id = c.id AND h2.at_ms <= ",
    ));
    b.push_bind(q.as_of_ms);
    b.push(") WHERE c.ledger = ").push_bind(q.ledger.clone());
    push_scope(&mut b, &q.org);
    push_institution_filter(&mut b, &q.institutions, &date);
    push_in(&mut b, "h.to_state", &q.state);
    match q.open {
        Some(true) => {
            b.push(" AND NOT h.closed");
        }
        Some(false) => {
            b.push(" AND h.closed");
        }
        None => {}
    }
    match q.overdue {
        Some(true) => {
            b.push(" AND NOT h.closed AND h.deadline_at < ")
                .push_bind(q.as_of_ms);
        }
        Some(false) => {
            b.push(" AND (h.closed OR h.deadline_at IS NULL OR h.deadline_at >= ")
                .push_bind(q.as_of_ms)
                .push(")");
        }
        None => {}
    }
    let levels: Vec<String> = q.level.iter().map(|l| stored_level(l).to_owned()).collect();
    push_in(&mut b, "h.level", &levels);
    match (q.opened_in_period, &q.period) {
        (Some(wanted), Some((start, end))) => {
            b.push(if wanted {
                " AND c.opened_on BETWEEN "
            } else {
                " AND c.opened_on NOT BETWEEN "
            })
            .push_bind(start.clone())
            .push(" AND ")
            .push_bind(end.clone());
        }
        (Some(true), None) => {
            b.push(" AND 1 = 0");
        }
        _ => {}
    }
    match q.closed_on_time {
        Some(true) => {
            b.push(" AND h.closed AND NOT h.late");
        }
        Some(false) => {
            b.push(" AND h.closed AND h.late");
        }
        None => {}
    }
    b
}

/// The query of a `source = "key_areas"` metric selecting `select`.
fn key_area_query(q: &KeyAreaQuery, select: &str) -> QueryBuilder<Sqlite> {
    let mut b = QueryBuilder::new(format!(
        "SELECT {select} FROM key_areas k JOIN institutions i ON i.id = k.institution_id \
             JOIN key_area_states s ON s.key_area_id = k.id AND s.valid_from <= ",
    ));
    b.push_bind(q.as_of.clone())
        .push(" AND (s.valid_to IS NULL OR s.valid_to > ")
        .push_bind(q.as_of.clone())
        .push(") WHERE k.created_on <= ")
        .push_bind(q.as_of.clone())
        .push(" AND (k.retired_on IS NULL OR k.retired_on > ")
        .push_bind(q.as_of.clone())
        .push(")");
    push_scope(&mut b, &q.org);
    push_institution_filter(&mut b, &q.institutions, &q.as_of);
    push_in(&mut b, "k.area_type", &q.area_type);
    if let Some(camera) = q.camera {
        b.push(" AND s.camera = ").push_bind(camera);
    }
    if let Some(link) = q.police_link {
        b.push(" AND s.police_link = ").push_bind(link);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_dates_from_instants() {
        // 2021-03-07 15:59:59 UTC is 23:59:59 China time on the 7th; one second later it is the 8th.
        assert_eq!(china_date_of_ms(1_615_132_799_000), "2021-03-07");
        assert_eq!(china_date_of_ms(1_615_132_800_000), "2021-03-08");
        assert_eq!(china_date_of_ms(0), "1970-01-01");
        assert_eq!(china_date_of_ms(951_782_400_000), "2000-02-29");
        assert_eq!(china_date_of_ms(-8 * 3_600_000 - 1), "1969-12-31");
    }

    #[test]
    fn metric_levels_map_to_stored_levels() {
        assert_eq!(stored_level("red"), "major");
        assert_eq!(stored_level("orange"), "large");
        assert_eq!(stored_level("yellow"), "general");
        assert_eq!(stored_level("blue"), "low");
        assert_eq!(stored_level("general"), "general");
    }
}
