//! Units of work on the SQLite store.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::error::StoreError;
use crate::port::{AuditSealer, StoreTx};
use crate::records::*;

pub(crate) struct SqliteTx {
    pub(crate) tx: Transaction<'static, Sqlite>,
    pub(crate) sealer: Arc<dyn AuditSealer>,
}

/// The hash before the first audit row (32 zero bytes, base64url like every chain hash).
pub const GENESIS_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Appends and seals an audit row inside a transaction (on the single writer, so the chain head cannot move).
/// Every capability's write goes through this, in the same transaction as the write it records.
pub(crate) async fn append_audit(
    tx: &mut Transaction<'static, Sqlite>,
    sealer: &dyn AuditSealer,
    entry: &AuditEntry,
) -> Result<i64, StoreError> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let hash = sealer
        .seal(&prev_hash, seq, entry)
        .map_err(StoreError::Audit)?;
    sqlx::query(
        "INSERT INTO audit_log (seq, at_ms, tz, actor_id, actor, role, scope, ip, user_agent, action, object_type, \
         object_id, result, reason, request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(seq)
    .bind(entry.at_ms)
    .bind(&entry.tz)
    .bind(entry.actor_id)
    .bind(&entry.actor)
    .bind(&entry.role)
    .bind(&entry.scope)
    .bind(&entry.ip)
    .bind(&entry.user_agent)
    .bind(&entry.action)
    .bind(&entry.object_type)
    .bind(&entry.object_id)
    .bind(&entry.result)
    .bind(&entry.reason)
    .bind(&entry.request_id)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await
    .map_err(|e| StoreError::Audit(e.to_string()))?;
    Ok(seq)
}

/// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters per statement).
const BULK_ROWS: usize = 400;

#[derive(sqlx::FromRow)]
struct InstitutionState {
    id: i64,
    name: String,
    district_code: String,
    kind: String,
    ownership: String,
    inclusive: bool,
    area: String,
    authority: String,
    status: String,
    address: String,
    phone: String,
    capacity: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct PupilState {
    id: i64,
    name: String,
    sex: String,
    birth_date: String,
    institution_id: i64,
    grade: i64,
    class_id: Option<i64>,
    status: String,
    enrolled_on: String,
    special_needs: bool,
    boarder: bool,
    pupil_no_masked: String,
}

#[derive(sqlx::FromRow)]
struct StaffState {
    id: i64,
    name: String,
    sex: String,
    birth_date: String,
    institution_id: i64,
    role: String,
    subjects: String,
    hire_date: String,
    special_post: bool,
    status: String,
}

impl SqliteTx {
    async fn ensure_group(
        &mut self,
        kind: &str,
        name: &str,
        district: &str,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO org_groups (kind, name, district_code) VALUES ($1, $2, $3) \
             ON CONFLICT (kind, name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(kind)
        .bind(name)
        .bind(district)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Makes the institution's membership of `kind` exactly `name` (or none); returns whether anything changed.
    async fn set_group(
        &mut self,
        institution_id: i64,
        kind: &str,
        name: Option<&str>,
        district: &str,
    ) -> Result<bool, StoreError> {
        let current: Option<String> = sqlx::query_scalar(
            "SELECT g.name FROM org_group_members m JOIN org_groups g ON g.id = m.group_id \
             WHERE m.institution_id = $1 AND g.kind = $2",
        )
        .bind(institution_id)
        .bind(kind)
        .fetch_optional(&mut *self.tx)
        .await?;
        let wanted = name.map(str::trim).filter(|n| !n.is_empty());
        if current.as_deref() == wanted {
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM org_group_members WHERE institution_id = $1 \
             AND group_id IN (SELECT id FROM org_groups WHERE kind = $2)",
        )
        .bind(institution_id)
        .bind(kind)
        .execute(&mut *self.tx)
        .await?;
        if let Some(name) = wanted {
            let group_id = self.ensure_group(kind, name, district).await?;
            sqlx::query("INSERT INTO org_group_members (group_id, institution_id) VALUES ($1, $2)")
                .bind(group_id)
                .bind(institution_id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(true)
    }

    /// Makes the open tags of an institution exactly `tags`; closes removed ones at `on`.
    async fn set_tags(
        &mut self,
        institution_id: i64,
        tags: &[String],
        on: &str,
    ) -> Result<bool, StoreError> {
        let mut current: Vec<String> = sqlx::query_scalar(
            "SELECT tag FROM institution_tags WHERE institution_id = $1 AND valid_to IS NULL",
        )
        .bind(institution_id)
        .fetch_all(&mut *self.tx)
        .await?;
        current.sort();
        current.dedup();
        let mut wanted: Vec<String> = tags
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        wanted.sort();
        wanted.dedup();
        if current == wanted {
            return Ok(false);
        }
        for tag in current.iter().filter(|t| !wanted.contains(t)) {
            sqlx::query("UPDATE institution_tags SET valid_to = $1 WHERE institution_id = $2 AND tag = $3 AND valid_to IS NULL")
                .bind(on)
                .bind(institution_id)
                .bind(tag)
                .execute(&mut *self.tx)
                .await?;
        }
        for tag in wanted.iter().filter(|t| !current.contains(t)) {
            sqlx::query(
                "INSERT INTO institution_tags (institution_id, tag, valid_from) VALUES ($1, $2, $3) \
                 ON CONFLICT (institution_id, tag, valid_from) DO UPDATE SET valid_to = NULL",
            )
            .bind(institution_id)
            .bind(tag)
            .bind(on)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(true)
    }

    async fn open_pupil_interval(
        &mut self,
        pupil_id: i64,
        pupil: &PupilWrite,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pupil_history SET valid_to = $1 WHERE pupil_id = $2 AND valid_to IS NULL AND valid_from < $1",
        )
        .bind(&pupil.valid_from)
        .bind(pupil_id)
        .execute(&mut *self.tx)
        .await?;
        // A second change on the same day replaces that day's interval instead of leaving an empty one.
        sqlx::query("DELETE FROM pupil_history WHERE pupil_id = $1 AND valid_to IS NULL AND valid_from = $2")
            .bind(pupil_id)
            .bind(&pupil.valid_from)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO pupil_history (pupil_id, status, institution_id, grade, valid_from, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(pupil_id)
        .bind(&pupil.status)
        .bind(pupil.institution_id)
        .bind(pupil.grade)
        .bind(&pupil.valid_from)
        .bind(reason)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn replace_certificates(
        &mut self,
        staff_id: i64,
        certificates: &[CertificateWrite],
    ) -> Result<bool, StoreError> {
        let mut current: Vec<CertificateWrite> = sqlx::query_as(
            "SELECT kind, number, issued_on, expires_on FROM staff_certificates WHERE staff_id = $1 ORDER BY kind",
        )
        .bind(staff_id)
        .fetch_all(&mut *self.tx)
        .await?;
        current.sort_by(|a, b| a.kind.cmp(&b.kind));
        let mut wanted = certificates.to_vec();
        wanted.sort_by(|a, b| a.kind.cmp(&b.kind));
        if current == wanted {
            return Ok(false);
        }
        sqlx::query("DELETE FROM staff_certificates WHERE staff_id = $1")
            .bind(staff_id)
            .execute(&mut *self.tx)
            .await?;
        for c in &wanted {
            sqlx::query(
                "INSERT INTO staff_certificates (staff_id, kind, number, issued_on, expires_on) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(staff_id)
            .bind(&c.kind)
            .bind(&c.number)
            .bind(&c.issued_on)
            .bind(&c.expires_on)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(true)
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO app_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64, StoreError> {
        append_audit(&mut self.tx, self.sealer.as_ref(), entry).await
    }

    async fn upsert_org_unit(&mut self, unit: &OrgUnitRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO org_units (code, parent_code, level, name, name_en, is_county) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (code) DO UPDATE SET parent_code = excluded.parent_code, level = excluded.level, \
             name = excluded.name, name_en = excluded.name_en, is_county = excluded.is_county",
        )
        .bind(&unit.code)
        .bind(&unit.parent_code)
        .bind(&unit.level)
        .bind(&unit.name)
        .bind(&unit.name_en)
        .bind(unit.is_county)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn upsert_institution(
        &mut self,
        w: &InstitutionWrite,
        now_ms: i64,
    ) -> Result<Upserted, StoreError> {
        let existing: Option<InstitutionState> = sqlx::query_as(
            "SELECT id, name, district_code, kind, ownership, inclusive, area, authority, status, address, phone, capacity \
             FROM institutions WHERE code = $1",
        )
        .bind(&w.code)
        .fetch_optional(&mut *self.tx)
        .await?;
        let (id, outcome_changed, inserted) = match existing {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO institutions (code, name, district_code, kind, ownership, inclusive, area, authority, status, \
                     address, phone, capacity, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
                )
                .bind(&w.code)
                .bind(&w.name)
                .bind(&w.district_code)
                .bind(&w.kind)
                .bind(&w.ownership)
                .bind(w.inclusive)
                .bind(&w.area)
                .bind(&w.authority)
                .bind(&w.status)
                .bind(&w.address)
                .bind(&w.phone)
                .bind(w.capacity)
                .bind(now_ms)
                .fetch_one(&mut *self.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO institution_history (institution_id, ownership, inclusive, status, valid_from) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(&w.ownership)
                .bind(w.inclusive)
                .bind(&w.status)
                .bind(&w.valid_from)
                .execute(&mut *self.tx)
                .await?;
                (id, true, true)
            }
            Some(s) => {
                let status_changed = s.ownership != w.ownership
                    || s.inclusive != w.inclusive
                    || s.status != w.status;
                let changed = status_changed
                    || s.name != w.name
                    || s.district_code != w.district_code
                    || s.kind != w.kind
                    || s.area != w.area
                    || s.authority != w.authority
                    || s.address != w.address
                    || s.phone != w.phone
                    || s.capacity != w.capacity;
                if changed {
                    sqlx::query(
                        "UPDATE institutions SET name = $2, district_code = $3, kind = $4, ownership = $5, inclusive = $6, \
                         area = $7, authority = $8, status = $9, address = $10, phone = $11, capacity = $12, updated_at = $13 \
                         WHERE id = $1",
                    )
                    .bind(s.id)
                    .bind(&w.name)
                    .bind(&w.district_code)
                    .bind(&w.kind)
                    .bind(&w.ownership)
                    .bind(w.inclusive)
                    .bind(&w.area)
                    .bind(&w.authority)
                    .bind(&w.status)
                    .bind(&w.address)
                    .bind(&w.phone)
                    .bind(w.capacity)
                    .bind(now_ms)
                    .execute(&mut *self.tx)
                    .await?;
                }
                if status_changed {
                    self.change_institution_status(
                        s.id,
                        &w.ownership,
                        w.inclusive,
                        &w.status,
                        &w.valid_from,
                        "import",
                    )
                    .await?;
                }
                (s.id, changed, false)
            }
        };
        let group_changed = self
            .set_group(
                id,
                "education_group",
                w.education_group.as_deref(),
                &w.district_code,
            )
            .await?;
        let alliance_changed = self
            .set_group(
                id,
                "rural_alliance",
                w.rural_alliance.as_deref(),
                &w.district_code,
            )
            .await?;
        let tags_changed = self.set_tags(id, &w.tags, &w.valid_from).await?;
        Ok(if inserted {
            Upserted::Inserted(id)
        } else if outcome_changed || group_changed || alliance_changed || tags_changed {
            Upserted::Updated(id)
        } else {
            Upserted::Unchanged(id)
        })
    }

    async fn change_institution_status(
        &mut self,
        institution_id: i64,
        ownership: &str,
        inclusive: bool,
        status: &str,
        valid_from: &str,
        note: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE institution_history SET valid_to = $1 WHERE institution_id = $2 AND valid_to IS NULL AND valid_from < $1",
        )
        .bind(valid_from)
        .bind(institution_id)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM institution_history WHERE institution_id = $1 AND valid_to IS NULL AND valid_from = $2")
            .bind(institution_id)
            .bind(valid_from)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO institution_history (institution_id, ownership, inclusive, status, valid_from, note) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(institution_id)
        .bind(ownership)
        .bind(inclusive)
        .bind(status)
        .bind(valid_from)
        .bind(note)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE institutions SET ownership = $2, inclusive = $3, status = $4 WHERE id = $1",
        )
        .bind(institution_id)
        .bind(ownership)
        .bind(inclusive)
        .bind(status)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn ensure_class(
        &mut self,
        institution_id: i64,
        grade: i64,
        name: &str,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO classes (institution_id, grade, name) VALUES ($1, $2, $3) \
             ON CONFLICT (institution_id, grade, name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(institution_id)
        .bind(grade)
        .bind(name)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn upsert_room(
        &mut self,
        institution_id: i64,
        name: &str,
        kind: &str,
        capacity: i64,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (institution_id, name, kind, capacity) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (institution_id, name) DO UPDATE SET kind = excluded.kind, capacity = excluded.capacity RETURNING id",
        )
        .bind(institution_id)
        .bind(name)
        .bind(kind)
        .bind(capacity)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn upsert_pupil(
        &mut self,
        p: &PupilWrite,
        same_sensitive: bool,
        now_ms: i64,
    ) -> Result<Upserted, StoreError> {
        let existing: Option<PupilState> = sqlx::query_as(
            "SELECT id, name, sex, birth_date, institution_id, grade, class_id, status, enrolled_on, special_needs, boarder, \
             pupil_no_masked FROM pupils WHERE pupil_no_index = $1",
        )
        .bind(&p.pupil_no_index)
        .fetch_optional(&mut *self.tx)
        .await?;
        match existing {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO pupils (pupil_no_index, pupil_no_enc, pupil_no_masked, name, sex, birth_date, institution_id, \
                     grade, class_id, status, enrolled_on, special_needs, boarder, guardian_phone_enc, address_enc, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
                )
                .bind(&p.pupil_no_index)
                .bind(&p.pupil_no_enc)
                .bind(&p.pupil_no_masked)
                .bind(&p.name)
                .bind(&p.sex)
                .bind(&p.birth_date)
                .bind(p.institution_id)
                .bind(p.grade)
                .bind(p.class_id)
                .bind(&p.status)
                .bind(&p.enrolled_on)
                .bind(p.special_needs)
                .bind(p.boarder)
                .bind(&p.guardian_phone_enc)
                .bind(&p.address_enc)
                .bind(now_ms)
                .fetch_one(&mut *self.tx)
                .await?;
                self.open_pupil_interval(id, p, "import").await?;
                Ok(Upserted::Inserted(id))
            }
            Some(s) => {
                let placement_changed = s.status != p.status
                    || s.institution_id != p.institution_id
                    || s.grade != p.grade;
                let changed = placement_changed
                    || !same_sensitive
                    || s.name != p.name
                    || s.sex != p.sex
                    || s.birth_date != p.birth_date
                    || s.class_id != p.class_id
                    || s.enrolled_on != p.enrolled_on
                    || s.special_needs != p.special_needs
                    || s.boarder != p.boarder
                    || s.pupil_no_masked != p.pupil_no_masked;
                if !changed {
                    return Ok(Upserted::Unchanged(s.id));
                }
                sqlx::query(
                    "UPDATE pupils SET name = $2, sex = $3, birth_date = $4, institution_id = $5, grade = $6, class_id = $7, \
                     status = $8, enrolled_on = $9, special_needs = $10, boarder = $11, updated_at = $12 WHERE id = $1",
                )
                .bind(s.id)
                .bind(&p.name)
                .bind(&p.sex)
                .bind(&p.birth_date)
                .bind(p.institution_id)
                .bind(p.grade)
                .bind(p.class_id)
                .bind(&p.status)
                .bind(&p.enrolled_on)
                .bind(p.special_needs)
                .bind(p.boarder)
                .bind(now_ms)
                .execute(&mut *self.tx)
                .await?;
                if !same_sensitive {
                    sqlx::query("UPDATE pupils SET pupil_no_enc = $2, guardian_phone_enc = $3, address_enc = $4 WHERE id = $1")
                        .bind(s.id)
                        .bind(&p.pupil_no_enc)
                        .bind(&p.guardian_phone_enc)
                        .bind(&p.address_enc)
                        .execute(&mut *self.tx)
                        .await?;
                }
                if placement_changed {
                    self.open_pupil_interval(s.id, p, "import").await?;
                }
                Ok(Upserted::Updated(s.id))
            }
        }
    }

    async fn upsert_staff(
        &mut self,
        w: &StaffWrite,
        same_sensitive: bool,
        now_ms: i64,
    ) -> Result<Upserted, StoreError> {
        let existing: Option<StaffState> = sqlx::query_as(
            "SELECT id, name, sex, birth_date, institution_id, role, subjects, hire_date, special_post, status \
             FROM staff WHERE staff_no = $1",
        )
        .bind(&w.staff_no)
        .fetch_optional(&mut *self.tx)
        .await?;
        match existing {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO staff (staff_no, name, sex, birth_date, institution_id, role, subjects, hire_date, special_post, \
                     status, phone_enc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
                     RETURNING id",
                )
                .bind(&w.staff_no)
                .bind(&w.name)
                .bind(&w.sex)
                .bind(&w.birth_date)
                .bind(w.institution_id)
                .bind(&w.role)
                .bind(&w.subjects)
                .bind(&w.hire_date)
                .bind(w.special_post)
                .bind(&w.status)
                .bind(&w.phone_enc)
                .bind(now_ms)
                .fetch_one(&mut *self.tx)
                .await?;
                self.replace_certificates(id, &w.certificates).await?;
                Ok(Upserted::Inserted(id))
            }
            Some(s) => {
                let changed = !same_sensitive
                    || s.name != w.name
                    || s.sex != w.sex
                    || s.birth_date != w.birth_date
                    || s.institution_id != w.institution_id
                    || s.role != w.role
                    || s.subjects != w.subjects
                    || s.hire_date != w.hire_date
                    || s.special_post != w.special_post
                    || s.status != w.status;
                if changed {
                    sqlx::query(
                        "UPDATE staff SET name = $2, sex = $3, birth_date = $4, institution_id = $5, role = $6, subjects = $7, \
                         hire_date = $8, special_post = $9, status = $10, updated_at = $11 WHERE id = $1",
                    )
                    .bind(s.id)
                    .bind(&w.name)
                    .bind(&w.sex)
                    .bind(&w.birth_date)
                    .bind(w.institution_id)
                    .bind(&w.role)
                    .bind(&w.subjects)
                    .bind(&w.hire_date)
                    .bind(w.special_post)
                    .bind(&w.status)
                    .bind(now_ms)
                    .execute(&mut *self.tx)
                    .await?;
                    if !same_sensitive {
                        sqlx::query("UPDATE staff SET phone_enc = $2 WHERE id = $1")
                            .bind(s.id)
                            .bind(&w.phone_enc)
                            .execute(&mut *self.tx)
                            .await?;
                    }
                }
                let certificates_changed = self.replace_certificates(s.id, &w.certificates).await?;
                Ok(if changed || certificates_changed {
                    Upserted::Updated(s.id)
                } else {
                    Upserted::Unchanged(s.id)
                })
            }
        }
    }

    async fn upsert_population(&mut self, row: &PopulationRecord) -> Result<Upserted, StoreError> {
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT count FROM population WHERE district_code = $1 AND year = $2 AND age = $3 AND basis = $4",
        )
        .bind(&row.district_code)
        .bind(row.year)
        .bind(row.age)
        .bind(&row.basis)
        .fetch_optional(&mut *self.tx)
        .await?;
        if existing == Some(row.count) {
            return Ok(Upserted::Unchanged(0));
        }
        sqlx::query(
            "INSERT INTO population (district_code, year, age, basis, count) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (district_code, year, age, basis) DO UPDATE SET count = excluded.count",
        )
        .bind(&row.district_code)
        .bind(row.year)
        .bind(row.age)
        .bind(&row.basis)
        .bind(row.count)
        .execute(&mut *self.tx)
        .await?;
        Ok(if existing.is_some() {
            Upserted::Updated(0)
        } else {
            Upserted::Inserted(0)
        })
    }

    async fn insert_pupils_bulk(
        &mut self,
        pupils: &[PupilWrite],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let max_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM pupils")
            .fetch_one(&mut *self.tx)
            .await?;
        for (chunk_index, chunk) in pupils.chunks(BULK_ROWS).enumerate() {
            let first_id = max_id + 1 + (chunk_index * BULK_ROWS) as i64;
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO pupils (id, pupil_no_index, pupil_no_enc, pupil_no_masked, name, sex, birth_date, institution_id, \
                 grade, class_id, status, enrolled_on, special_needs, boarder, guardian_phone_enc, address_enc, created_at, \
                 updated_at) ",
            );
            b.push_values(chunk.iter().enumerate(), |mut row, (i, p)| {
                row.push_bind(first_id + i as i64)
                    .push_bind(&p.pupil_no_index)
                    .push_bind(&p.pupil_no_enc)
                    .push_bind(&p.pupil_no_masked)
                    .push_bind(&p.name)
                    .push_bind(&p.sex)
                    .push_bind(&p.birth_date)
                    .push_bind(p.institution_id)
                    .push_bind(p.grade)
                    .push_bind(p.class_id)
                    .push_bind(&p.status)
                    .push_bind(&p.enrolled_on)
                    .push_bind(p.special_needs)
                    .push_bind(p.boarder)
                    .push_bind(&p.guardian_phone_enc)
                    .push_bind(&p.address_enc)
                    .push_bind(now_ms)
                    .push_bind(now_ms);
            });
            b.build().execute(&mut *self.tx).await?;
            let mut h: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO pupil_history (pupil_id, status, institution_id, grade, valid_from, reason) ",
            );
            h.push_values(chunk.iter().enumerate(), |mut row, (i, p)| {
                row.push_bind(first_id + i as i64)
                    .push_bind(&p.status)
                    .push_bind(p.institution_id)
                    .push_bind(p.grade)
                    .push_bind(&p.valid_from)
                    .push_bind("enrolment");
            });
            h.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn insert_staff_bulk(
        &mut self,
        staff: &[StaffWrite],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let max_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM staff")
            .fetch_one(&mut *self.tx)
            .await?;
        for (chunk_index, chunk) in staff.chunks(BULK_ROWS).enumerate() {
            let first_id = max_id + 1 + (chunk_index * BULK_ROWS) as i64;
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO staff (id, staff_no, name, sex, birth_date, institution_id, role, subjects, hire_date, special_post, \
                 status, phone_enc, created_at, updated_at) ",
            );
            b.push_values(chunk.iter().enumerate(), |mut row, (i, s)| {
                row.push_bind(first_id + i as i64)
                    .push_bind(&s.staff_no)
                    .push_bind(&s.name)
                    .push_bind(&s.sex)
                    .push_bind(&s.birth_date)
                    .push_bind(s.institution_id)
                    .push_bind(&s.role)
                    .push_bind(&s.subjects)
                    .push_bind(&s.hire_date)
                    .push_bind(s.special_post)
                    .push_bind(&s.status)
                    .push_bind(&s.phone_enc)
                    .push_bind(now_ms)
                    .push_bind(now_ms);
            });
            b.build().execute(&mut *self.tx).await?;
            let certificates: Vec<(i64, &CertificateWrite)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(i, s)| s.certificates.iter().map(move |c| (first_id + i as i64, c)))
                .collect();
            for part in certificates.chunks(BULK_ROWS) {
                let mut c: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO staff_certificates (staff_id, kind, number, issued_on, expires_on) ",
                );
                c.push_values(part, |mut row, (staff_id, cert)| {
                    row.push_bind(*staff_id)
                        .push_bind(&cert.kind)
                        .push_bind(&cert.number)
                        .push_bind(&cert.issued_on)
                        .push_bind(&cert.expires_on);
                });
                c.build().execute(&mut *self.tx).await?;
            }
        }
        Ok(())
    }

    async fn insert_user(&mut self, user: &UserWrite, now_ms: i64) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, scope_code, password_hash, must_change_password, \
             password_changed_at, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7) RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.role)
        .bind(&user.scope_code)
        .bind(&user.password_hash)
        .bind(user.must_change_password)
        .bind(now_ms)
        .bind(user.expires_at)
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(&user.password_hash)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn set_password(
        &mut self,
        user_id: i64,
        hash: &str,
        must_change: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = $4, failed_logins = 0, \
             first_failed_at = NULL, locked_until = NULL WHERE id = $1",
        )
        .bind(user_id)
        .bind(hash)
        .bind(must_change)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn set_user_disabled(&mut self, user_id: i64, disabled: bool) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET disabled = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
        )
        .bind(user_id)
        .bind(disabled)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn record_login_failure(
        &mut self,
        user_id: i64,
        failed_logins: i64,
        first_failed_at: Option<i64>,
        locked_until: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET failed_logins = $2, first_failed_at = $3, locked_until = $4 WHERE id = $1")
            .bind(user_id)
            .bind(failed_logins)
            .bind(first_failed_at)
            .bind(locked_until)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn record_login_success(&mut self, user_id: i64, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, first_failed_at = NULL, locked_until = NULL, last_login_at = $2 WHERE id = $1",
        )
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_session(&mut self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, kind, csrf_token, created_at, last_seen_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.token_hash)
        .bind(s.user_id)
        .bind(&s.kind)
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn touch_session(&mut self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now_ms)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_sessions_of(
        &mut self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *self.tx)
            .await?;
        Ok(result.rows_affected())
    }
}
