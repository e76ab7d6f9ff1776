//! Reads of the SQLite store.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite};

use super::SqliteStore;
use super::sql::push_scope;
use super::tx::SqliteTx;
use crate::error::StoreError;
use crate::port::{Store, StoreTx};
use crate::records::*;

/// Escapes LIKE wildcards so a search for "50%" finds "50%", not everything.
fn like_prefix(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn like_contains(text: &str) -> String {
    format!("%{}", like_prefix(text))
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let tx = self.write.begin().await?;
        Ok(Box::new(SqliteTx {
            tx,
            sealer: self.sealer.clone(),
        }))
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn org_units(&self) -> Result<Vec<OrgUnitRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT code, parent_code, level, name, name_en, is_county FROM org_units ORDER BY code")
            .fetch_all(&self.read)
            .await?)
    }

    async fn district_counts(
        &self,
        scope: &ScopeFilter,
    ) -> Result<Vec<DistrictCounts>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT i.district_code AS district_code, COUNT(*) AS institutions, \
             COALESCE(SUM(p.n), 0) AS pupils, COALESCE(SUM(s.n), 0) AS staff \
             FROM institutions i \
             LEFT JOIN (SELECT institution_id, COUNT(*) AS n FROM pupils WHERE status = 'enrolled' GROUP BY institution_id) p \
               ON p.institution_id = i.id \
             LEFT JOIN (SELECT institution_id, COUNT(*) AS n FROM staff WHERE status = 'active' GROUP BY institution_id) s \
               ON s.institution_id = i.id \
             WHERE 1 = 1",
        );
        push_scope(&mut b, scope);
        b.push(" GROUP BY i.district_code ORDER BY i.district_code");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn institutions(
        &self,
        scope: &ScopeFilter,
        query: &InstitutionQuery,
        page: PageRequest,
    ) -> Result<Paged<InstitutionListItem>, StoreError> {
        fn filters(b: &mut QueryBuilder<Sqlite>, scope: &ScopeFilter, query: &InstitutionQuery) {
            push_scope(b, scope);
            if let Some(district) = &query.district {
                b.push(" AND i.district_code = ")
                    .push_bind(district.clone());
            }
            if let Some(kind) = &query.kind {
                b.push(" AND i.kind = ").push_bind(kind.clone());
            }
            if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND (i.name LIKE ")
                    .push_bind(like_contains(search))
                    .push(" ESCAPE '\\' OR i.code LIKE ")
                    .push_bind(like_prefix(search))
                    .push(" ESCAPE '\\')");
            }
        }
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM institutions i WHERE 1 = 1");
        filters(&mut count, scope, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut b = QueryBuilder::new(
            "SELECT i.id, i.code, i.name, i.district_code, i.kind, i.ownership, i.inclusive, i.area, i.authority, i.status, \
             (SELECT COUNT(*) FROM pupils p WHERE p.institution_id = i.id AND p.status = 'enrolled') AS pupils \
             FROM institutions i WHERE 1 = 1",
        );
        filters(&mut b, scope, query);
        b.push(" ORDER BY i.district_code, i.kind, i.code LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let items = b.build_query_as().fetch_all(&self.read).await?;
        Ok(Paged { items, total })
    }

    async fn institution_by_code(
        &self,
        scope: &ScopeFilter,
        code: &str,
    ) -> Result<Option<InstitutionRecord>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT i.id, i.code, i.name, i.district_code, i.kind, i.ownership, i.inclusive, i.area, i.authority, \
             i.status, i.address, i.phone, i.capacity FROM institutions i WHERE i.code = ",
        );
        b.push_bind(code.to_owned());
        push_scope(&mut b, scope);
        Ok(b.build_query_as().fetch_optional(&self.read).await?)
    }

    async fn institution_ids_kinds(
        &self,
    ) -> Result<Vec<(String, i64, String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT code, id, district_code, kind FROM institutions")
                .fetch_all(&self.read)
                .await?,
        )
    }

    async fn institution_history(
        &self,
        institution_id: i64,
    ) -> Result<Vec<InstitutionHistoryRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT ownership, inclusive, status, valid_from, valid_to, note FROM institution_history \
             WHERE institution_id = $1 ORDER BY valid_from, id",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn institution_groups(
        &self,
        institution_id: i64,
    ) -> Result<Vec<GroupMembership>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT g.kind, g.name FROM org_group_members m JOIN org_groups g ON g.id = m.group_id \
             WHERE m.institution_id = $1 ORDER BY g.kind, g.name",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn institution_tags(&self, institution_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT tag FROM institution_tags WHERE institution_id = $1 AND valid_to IS NULL ORDER BY tag",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn classes(&self, institution_id: i64) -> Result<Vec<ClassRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.institution_id, c.grade, c.name, \
             (SELECT COUNT(*) FROM pupils p WHERE p.class_id = c.id AND p.status = 'enrolled') AS pupils \
             FROM classes c WHERE c.institution_id = $1 ORDER BY c.grade, c.name",
        )
        .bind(institution_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn pupils(
        &self,
        scope: &ScopeFilter,
        query: &PupilQuery,
        page: PageRequest,
    ) -> Result<Paged<PupilListItem>, StoreError> {
        fn filters(b: &mut QueryBuilder<Sqlite>, scope: &ScopeFilter, query: &PupilQuery) {
            push_scope(b, scope);
            if let Some(id) = query.institution_id {
                b.push(" AND p.institution_id = ").push_bind(id);
            }
            b.push(" AND p.status = ").push_bind(
                query
                    .status
                    .clone()
                    .unwrap_or_else(|| "enrolled".to_owned()),
            );
            if let Some(grade) = query.grade {
                b.push(" AND p.grade = ").push_bind(grade);
            }
            if let Some(class_id) = query.class_id {
                b.push(" AND p.class_id = ").push_bind(class_id);
            }
            if let Some(name) = query.name_prefix.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND p.name LIKE ")
                    .push_bind(like_prefix(name))
                    .push(" ESCAPE '\\'");
            }
            if let Some(index) = &query.pupil_no_index {
                b.push(" AND p.pupil_no_index = ").push_bind(index.clone());
            }
        }
        let mut count = QueryBuilder::new(
            "SELECT COUNT(*) FROM pupils p JOIN institutions i ON i.id = p.institution_id WHERE 1 = 1",
        );
        filters(&mut count, scope, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut b = QueryBuilder::new(
            "SELECT p.id, p.pupil_no_masked, p.name, p.sex, p.birth_date, p.grade, c.name AS class_name, p.status, \
             i.code AS institution_code \
             FROM pupils p JOIN institutions i ON i.id = p.institution_id LEFT JOIN classes c ON c.id = p.class_id \
             WHERE 1 = 1",
        );
        filters(&mut b, scope, query);
        b.push(" ORDER BY p.institution_id, p.grade, p.class_id, p.id LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let items = b.build_query_as().fetch_all(&self.read).await?;
        Ok(Paged { items, total })
    }

    async fn pupil(&self, scope: &ScopeFilter, id: i64) -> Result<Option<PupilRecord>, StoreError> {
        let mut b = QueryBuilder::new(PUPIL_SELECT);
        b.push(" WHERE p.id = ").push_bind(id);
        push_scope(&mut b, scope);
        Ok(b.build_query_as().fetch_optional(&self.read).await?)
    }

    async fn pupil_by_index(
        &self,
        pupil_no_index: &str,
    ) -> Result<Option<PupilRecord>, StoreError> {
        let mut b = QueryBuilder::new(PUPIL_SELECT);
        b.push(" WHERE p.pupil_no_index = ")
            .push_bind(pupil_no_index.to_owned());
        Ok(b.build_query_as().fetch_optional(&self.read).await?)
    }

    async fn pupil_history(&self, pupil_id: i64) -> Result<Vec<PupilHistoryRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT h.status, i.code AS institution_code, h.grade, h.valid_from, h.valid_to, h.reason \
             FROM pupil_history h JOIN institutions i ON i.id = h.institution_id \
             WHERE h.pupil_id = $1 ORDER BY h.valid_from, h.id",
        )
        .bind(pupil_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn staff(
        &self,
        scope: &ScopeFilter,
        query: &StaffQuery,
        page: PageRequest,
    ) -> Result<Paged<StaffListItem>, StoreError> {
        fn filters(b: &mut QueryBuilder<Sqlite>, scope: &ScopeFilter, query: &StaffQuery) {
            push_scope(b, scope);
            if let Some(id) = query.institution_id {
                b.push(" AND s.institution_id = ").push_bind(id);
            }
            if let Some(role) = &query.role {
                b.push(" AND s.role = ").push_bind(role.clone());
            }
            if let Some(name) = query.name_prefix.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND s.name LIKE ")
                    .push_bind(like_prefix(name))
                    .push(" ESCAPE '\\'");
            }
        }
        let mut count = QueryBuilder::new(
            "SELECT COUNT(*) FROM staff s JOIN institutions i ON i.id = s.institution_id WHERE s.status = 'active'",
        );
        filters(&mut count, scope, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut b = QueryBuilder::new(STAFF_SELECT);
        b.push(" WHERE s.status = 'active'");
        filters(&mut b, scope, query);
        b.push(" ORDER BY s.institution_id, s.role, s.id LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let items = b.build_query_as().fetch_all(&self.read).await?;
        Ok(Paged { items, total })
    }

    async fn staff_by_no(&self, staff_no: &str) -> Result<Option<StaffListItem>, StoreError> {
        let mut b = QueryBuilder::new(STAFF_SELECT);
        b.push(" WHERE s.staff_no = ")
            .push_bind(staff_no.to_owned());
        Ok(b.build_query_as().fetch_optional(&self.read).await?)
    }

    async fn staff_phone_enc(&self, staff_no: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let phone: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT phone_enc FROM staff WHERE staff_no = $1")
                .bind(staff_no)
                .fetch_optional(&self.read)
                .await?;
        Ok(phone.flatten())
    }

    async fn guard_summary(
        &self,
        scope: &ScopeFilter,
        today: &str,
        soon: &str,
    ) -> Result<GuardSummary, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT COUNT(*) AS guards, \
             COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM staff_certificates c WHERE c.staff_id = s.id \
               AND (c.expires_on IS NULL OR c.expires_on >= ",
        );
        b.push_bind(today.to_owned());
        b.push(")) THEN 1 ELSE 0 END), 0) AS uncertified, COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM staff_certificates c WHERE c.staff_id = s.id AND c.expires_on >= ");
        b.push_bind(today.to_owned());
        b.push(" AND c.expires_on < ");
        b.push_bind(soon.to_owned());
        b.push(") THEN 1 ELSE 0 END), 0) AS expiring, 0 AS campuses_without_certified \
             FROM staff s JOIN institutions i ON i.id = s.institution_id WHERE s.status = 'active' AND s.role = 'security_guard'");
        push_scope(&mut b, scope);
        let mut summary: GuardSummary = b.build_query_as().fetch_one(&self.read).await?;
        let mut c = QueryBuilder::new(
            "SELECT COUNT(*) FROM institutions i WHERE i.status = 'open' \
             AND i.kind IN ('kindergarten', 'primary', 'junior', 'senior', 'nine_year', 'twelve_year', 'vocational', 'special') \
             AND NOT EXISTS (SELECT 1 FROM staff s JOIN staff_certificates c ON c.staff_id = s.id \
               WHERE s.institution_id = i.id AND s.status = 'active' AND s.role = 'security_guard' \
               AND (c.expires_on IS NULL OR c.expires_on >= ",
        );
        c.push_bind(today.to_owned());
        c.push("))");
        push_scope(&mut c, scope);
        summary.campuses_without_certified = c.build_query_scalar().fetch_one(&self.read).await?;
        Ok(summary)
    }

    async fn population(
        &self,
        scope: &ScopeFilter,
        year: Option<i64>,
    ) -> Result<Vec<PopulationRecord>, StoreError> {
        let mut b = QueryBuilder::new(
            "SELECT district_code, year, age, basis, count FROM population WHERE 1 = 1",
        );
        match scope {
            ScopeFilter::All => {}
            ScopeFilter::District(code) => {
                b.push(" AND district_code = ").push_bind(code.clone());
            }
            // An institution has no population of its own.
            ScopeFilter::Institution(_) => {
                b.push(" AND 1 = 0");
            }
        }
        if let Some(year) = year {
            b.push(" AND year = ").push_bind(year);
        }
        b.push(" ORDER BY district_code, year, basis, age");
        Ok(b.build_query_as().fetch_all(&self.read).await?)
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{USER_SELECT} WHERE username = $1")))
                .bind(username)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{USER_SELECT} WHERE id = $1")))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn users(&self, page: PageRequest) -> Result<Paged<UserRecord>, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?;
        let items = sqlx::query_as(AssertSqlSafe(format!(
            "{USER_SELECT} ORDER BY id LIMIT $1 OFFSET $2"
        )))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.read)
        .await?;
        Ok(Paged { items, total })
    }

    async fn password_history(&self, user_id: i64, last: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(last)
        .fetch_all(&self.read)
        .await?)
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{SESSION_SELECT} WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn sessions_of(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{SESSION_SELECT} WHERE user_id = $1 ORDER BY created_at"
        )))
        .bind(user_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn audit_rows(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{AUDIT_SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn audit_search(
        &self,
        query: &AuditQuery,
        page: PageRequest,
    ) -> Result<Paged<AuditRow>, StoreError> {
        fn filters(b: &mut QueryBuilder<Sqlite>, query: &AuditQuery) {
            if let Some(actor) = query.actor.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND actor = ").push_bind(actor.to_owned());
            }
            if let Some(action) = query.action.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND action LIKE ")
                    .push_bind(like_prefix(action))
                    .push(" ESCAPE '\\'");
            }
            if let Some(object_type) = query.object_type.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND object_type = ")
                    .push_bind(object_type.to_owned());
            }
            if let Some(from) = query.from_ms {
                b.push(" AND at_ms >= ").push_bind(from);
            }
            if let Some(to) = query.to_ms {
                b.push(" AND at_ms < ").push_bind(to);
            }
        }
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM audit_log WHERE 1 = 1");
        filters(&mut count, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut b = QueryBuilder::new(format!("{AUDIT_SELECT} WHERE 1 = 1"));
        filters(&mut b, query);
        b.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let items = b.build_query_as().fetch_all(&self.read).await?;
        Ok(Paged { items, total })
    }
}

const PUPIL_SELECT: &str = "SELECT p.id, p.pupil_no_index, p.pupil_no_enc, p.pupil_no_masked, p.name, p.sex, p.birth_date, \
    p.institution_id, i.code AS institution_code, i.name AS institution_name, i.district_code, p.grade, p.class_id, \
    c.name AS class_name, p.status, p.enrolled_on, p.special_needs, p.boarder, p.guardian_phone_enc, p.address_enc \
    FROM pupils p JOIN institutions i ON i.id = p.institution_id LEFT JOIN classes c ON c.id = p.class_id";

const STAFF_SELECT: &str = "SELECT s.id, s.staff_no, s.name, s.sex, s.birth_date, s.role, s.subjects, s.hire_date, \
    s.special_post, s.status, i.code AS institution_code, \
    (SELECT MIN(expires_on) FROM staff_certificates c WHERE c.staff_id = s.id) AS certificate_expires \
    FROM staff s JOIN institutions i ON i.id = s.institution_id";

const USER_SELECT: &str = "SELECT id, username, display_name, role, scope_code, password_hash, must_change_password, \
    password_changed_at, disabled, failed_logins, first_failed_at, locked_until, last_login_at, expires_at, created_at FROM users";

const SESSION_SELECT: &str = "SELECT token_hash, user_id, kind, csrf_token, created_at, last_seen_at, ip, user_agent FROM sessions";

pub(crate) const AUDIT_SELECT: &str = "SELECT seq, at_ms, tz, actor_id, actor, role, scope, ip, user_agent, action, \
    object_type, object_id, result, reason, request_id, prev_hash, hash FROM audit_log";
