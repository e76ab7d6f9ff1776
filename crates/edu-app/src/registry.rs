//! Registry reads for an actor: org tree, institutions, pupils (masked; each personal record view audited), staff.

use edu_model::{DAQING_DISTRICTS, PupilNo};
use edu_store::{
    ClassRecord, DistrictCounts, GroupMembership, InstitutionHistoryRecord, InstitutionListItem,
    InstitutionQuery, InstitutionRecord, OrgUnitRecord, PageRequest, Paged, PopulationRecord,
    PupilHistoryRecord, PupilListItem, PupilQuery, ScopeFilter, StaffListItem, StaffQuery,
};
use serde::Serialize;

use crate::App;
use crate::access::{Actor, Permission};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::AppError;

/// The org tree as the actor may see it.
#[derive(Debug, Clone, Serialize)]
pub struct OrgTree {
    pub city: Option<OrgUnitRecord>,
    pub districts: Vec<OrgTreeDistrict>,
    pub totals: DistrictCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgTreeDistrict {
    pub unit: OrgUnitRecord,
    pub counts: DistrictCounts,
}

/// One institution with its history, groups, tags and classes.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionView {
    pub record: InstitutionRecord,
    pub district_name: String,
    pub history: Vec<InstitutionHistoryRecord>,
    pub groups: Vec<GroupMembership>,
    pub tags: Vec<String>,
    pub classes: Vec<ClassRecord>,
}

/// Something a user should look at, with a link.
#[derive(Debug, Clone, Serialize)]
pub struct AttentionItem {
    pub href: String,
    pub text_zh: String,
    pub text_en: String,
    /// "alert", "warn" or "info".
    pub level: String,
}

/// A pupil's personal record as shown to an authorised user: identifiers masked unless revealed.
#[derive(Debug, Clone, Serialize)]
pub struct PupilDetail {
    pub id: i64,
    pub pupil_no: String,
    pub revealed: bool,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub institution_code: String,
    pub institution_name: String,
    pub grade: i64,
    pub class_name: Option<String>,
    pub status: String,
    pub enrolled_on: String,
    pub special_needs: bool,
    pub boarder: bool,
    pub guardian_phone: Option<String>,
    pub address: Option<String>,
    pub history: Vec<PupilHistoryRecord>,
}

/// A page request clamped to sane bounds.
pub fn page(number: i64, size: i64) -> PageRequest {
    let size = size.clamp(1, 200);
    PageRequest {
        offset: (number.max(1) - 1) * size,
        limit: size,
    }
}

impl App {
    pub async fn org_tree(&self, actor: &Actor) -> Result<OrgTree, AppError> {
        actor.require(Permission::ViewRegistry)?;
        let units = self.store.org_units().await?;
        let counts = self.store.district_counts(&actor.scope_filter()).await?;
        let city = units.iter().find(|u| u.level == "city").cloned();
        let mut totals = DistrictCounts {
            district_code: city.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
            ..DistrictCounts::default()
        };
        let mut districts = Vec::new();
        for unit in units.into_iter().filter(|u| u.level == "district") {
            let visible = actor.scope.contains_district(&unit.code)
                || matches!(&actor.scope, crate::Scope::Institution { district, .. } if *district == unit.code);
            if !visible {
                continue;
            }
            let counts = counts
                .iter()
                .find(|c| c.district_code == unit.code)
                .cloned()
                .unwrap_or_else(|| DistrictCounts {
                    district_code: unit.code.clone(),
                    ..DistrictCounts::default()
                });
            totals.institutions += counts.institutions;
            totals.pupils += counts.pupils;
            totals.staff += counts.staff;
            districts.push(OrgTreeDistrict { unit, counts });
        }
        Ok(OrgTree {
            city,
            districts,
            totals,
        })
    }

    pub async fn institutions(
        &self,
        actor: &Actor,
        query: &InstitutionQuery,
        page: PageRequest,
    ) -> Result<Paged<InstitutionListItem>, AppError> {
        actor.require(Permission::ViewRegistry)?;
        Ok(self
            .store
            .institutions(&actor.scope_filter(), query, page)
            .await?)
    }

    /// An institution inside the actor's scope; anything else is `NotFound` (existence does not leak).
    pub async fn institution(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<InstitutionView, AppError> {
        actor.require(Permission::ViewRegistry)?;
        let record = self
            .store
            .institution_by_code(&actor.scope_filter(), code)
            .await?
            .ok_or(AppError::NotFound)?;
        let district_name = DAQING_DISTRICTS
            .iter()
            .find(|d| d.code.to_string() == record.district_code)
            .map(|d| d.name.to_owned())
            .unwrap_or_default();
        Ok(InstitutionView {
            history: self.store.institution_history(record.id).await?,
            groups: self.store.institution_groups(record.id).await?,
            tags: self.store.institution_tags(record.id).await?,
            classes: self.store.classes(record.id).await?,
            district_name,
            record,
        })
    }

    /// Pupils of an institution in scope, with masked numbers. `search` is a name prefix or a full 学籍号.
    pub async fn institution_pupils(
        &self,
        actor: &Actor,
        code: &str,
        search: Option<&str>,
        grade: Option<i64>,
        page: PageRequest,
    ) -> Result<Paged<PupilListItem>, AppError> {
        actor.require(Permission::ViewPupils)?;
        let institution = self
            .store
            .institution_by_code(&actor.scope_filter(), code)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut query = PupilQuery {
            institution_id: Some(institution.id),
            grade,
            ..PupilQuery::default()
        };
        if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
            match PupilNo::parse(search) {
                Ok(number) => {
                    query.pupil_no_index = Some(self.keys.blind_index("pupil_no", number.as_str()))
                }
                Err(_) => query.name_prefix = Some(search.to_owned()),
            }
        }
        Ok(self
            .store
            .pupils(&actor.scope_filter(), &query, page)
            .await?)
    }

    /// A pupil's personal record; every view is audited in the same transaction as it is granted (fail closed).
    /// `reveal` asks for the full 学籍号 and contact details and needs a reason.
    pub async fn pupil_detail(
        &self,
        actor: &Actor,
        id: i64,
        reveal: Option<&str>,
        context: &AuditContext,
    ) -> Result<PupilDetail, AppError> {
        actor.require(Permission::ViewPupilDetail)?;
        let reveal_reason = match reveal.map(str::trim) {
            Some("") => {
                return Err(AppError::invalid(
                    "reason",
                    "查看完整信息须填写事由 / a reason is required",
                ));
            }
            Some(reason) => {
                actor.require(Permission::RevealSensitive)?;
                Some(reason.to_owned())
            }
            None => None,
        };
        let now_ms = self.clock.now_ms();
        let Some(record) = self.store.pupil(&actor.scope_filter(), id).await? else {
            // A probe for another school's pupil is itself worth recording.
            let mut tx = self.store.begin().await?;
            tx.append_audit(&audit::entry(
                now_ms,
                Some(actor),
                "",
                context,
                "pupil.view",
                "pupil",
                &id.to_string(),
                Outcome::Denied,
                "not in scope or no such pupil",
            ))
            .await?;
            tx.commit().await?;
            return Err(AppError::NotFound);
        };
        let row_key = record.pupil_no_index.clone();
        let decrypt = |ct: &Option<Vec<u8>>, column: &str| -> Result<Option<String>, AppError> {
            ct.as_ref()
                .map(|bytes| {
                    self.keys
                        .decrypt(bytes, "pupils", column, &row_key)
                        .map(|s| s.to_string())
                })
                .transpose()
                .map_err(AppError::from)
        };
        let (pupil_no, guardian_phone, address) = if reveal_reason.is_some() {
            let number = self
                .keys
                .decrypt(&record.pupil_no_enc, "pupils", "pupil_no", &row_key)?;
            (
                number.to_string(),
                decrypt(&record.guardian_phone_enc, "guardian_phone")?,
                decrypt(&record.address_enc, "address")?,
            )
        } else {
            let phone = decrypt(&record.guardian_phone_enc, "guardian_phone")?
                .map(|p| edu_model::mask::mask_phone(&p));
            let address = decrypt(&record.address_enc, "address")?.map(|a| mask_address(&a));
            (record.pupil_no_masked.clone(), phone, address)
        };
        let history = self.store.pupil_history(record.id).await?;
        let (action, reason) = match &reveal_reason {
            Some(reason) => ("pupil.reveal", reason.as_str()),
            None => ("pupil.view", ""),
        };
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            action,
            "pupil",
            &record.id.to_string(),
            Outcome::Success,
            reason,
        ))
        .await?;
        tx.commit().await?;
        Ok(PupilDetail {
            id: record.id,
            pupil_no,
            revealed: reveal_reason.is_some(),
            name: record.name,
            sex: record.sex,
            birth_date: record.birth_date,
            institution_code: record.institution_code,
            institution_name: record.institution_name,
            grade: record.grade,
            class_name: record.class_name,
            status: record.status,
            enrolled_on: record.enrolled_on,
            special_needs: record.special_needs,
            boarder: record.boarder,
            guardian_phone,
            address,
            history,
        })
    }

    pub async fn institution_staff(
        &self,
        actor: &Actor,
        code: &str,
        role: Option<String>,
        search: Option<String>,
        page: PageRequest,
    ) -> Result<Paged<StaffListItem>, AppError> {
        actor.require(Permission::ViewRegistry)?;
        let institution = self
            .store
            .institution_by_code(&actor.scope_filter(), code)
            .await?
            .ok_or(AppError::NotFound)?;
        let query = StaffQuery {
            institution_id: Some(institution.id),
            role,
            name_prefix: search,
        };
        Ok(self
            .store
            .staff(&actor.scope_filter(), &query, page)
            .await?)
    }

    /// What needs the actor's attention now, most urgent first. Each capability adds its items here.
    pub async fn attention(&self, actor: &Actor) -> Result<Vec<AttentionItem>, AppError> {
        actor.require(Permission::ViewRegistry)?;
        let today = edu_model::china_time::business_date(self.clock.now());
        let soon = today
            .checked_add(jiff::Span::new().days(30))
            .unwrap_or(today);
        let guards = self
            .store
            .guard_summary(&actor.scope_filter(), &today.to_string(), &soon.to_string())
            .await?;
        let mut items = Vec::new();
        if guards.campuses_without_certified > 0 {
            items.push(AttentionItem {
                href: "/institutions".to_owned(),
                text_zh: format!(
                    "{} 所学校（幼儿园）没有持有效证件的专职安保人员",
                    guards.campuses_without_certified
                ),
                text_en: format!(
                    "{} campuses have no security guard with a valid certificate",
                    guards.campuses_without_certified
                ),
                level: "alert".to_owned(),
            });
        }
        if guards.uncertified > 0 {
            items.push(AttentionItem {
                href: "/institutions".to_owned(),
                text_zh: format!("{} 名安保人员无证或证件已过期", guards.uncertified),
                text_en: format!(
                    "{} security guards hold no valid certificate",
                    guards.uncertified
                ),
                level: "warn".to_owned(),
            });
        }
        if guards.expiring > 0 {
            items.push(AttentionItem {
                href: "/institutions".to_owned(),
                text_zh: format!("{} 名安保人员的证件将在 30 天内到期", guards.expiring),
                text_en: format!(
                    "{} security guard certificates expire within 30 days",
                    guards.expiring
                ),
                level: "info".to_owned(),
            });
        }
        items.extend(self.attention_obligations(actor).await?);
        items.extend(self.attention_ledgers(actor).await?);
        items.extend(self.attention_plan(actor).await?);
        items.extend(self.attention_allocations(actor).await?);
        items.extend(self.attention_timetables(actor).await?);
        // Most urgent first: alert, warn, info.
        items.sort_by_key(|i| match i.level.as_str() {
            "alert" => 0,
            "warn" => 1,
            _ => 2,
        });
        Ok(items)
    }

    /// The audit trail for the audit administrator; the search itself is audited.
    pub async fn audit_search(
        &self,
        actor: &Actor,
        by_actor: Option<String>,
        action: Option<String>,
        page: PageRequest,
        context: &AuditContext,
    ) -> Result<Paged<edu_store::AuditRow>, AppError> {
        actor.require(Permission::ViewAudit)?;
        let query = edu_store::AuditQuery {
            actor: by_actor,
            action,
            ..edu_store::AuditQuery::default()
        };
        let rows = self.store.audit_search(&query, page).await?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            "audit.view",
            "audit_log",
            "",
            Outcome::Success,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Population by age for the districts in scope.
    pub async fn population(
        &self,
        actor: &Actor,
        year: Option<i64>,
    ) -> Result<Vec<PopulationRecord>, AppError> {
        actor.require(Permission::ViewRegistry)?;
        Ok(self.store.population(&actor.scope_filter(), year).await?)
    }

    /// Resolves a scope filter for operator commands (CLI export) from an org code.
    pub(crate) async fn filter_for_code(
        &self,
        code: Option<&str>,
    ) -> Result<ScopeFilter, AppError> {
        let Some(code) = code else {
            return Ok(ScopeFilter::All);
        };
        if code.len() == 10 {
            let institution = self
                .store
                .institution_by_code(&ScopeFilter::All, code)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok(ScopeFilter::Institution(institution.id));
        }
        let area = edu_model::AreaCode::parse(code)
            .map_err(|e| AppError::invalid("org", e.to_string()))?;
        Ok(if area.is_city() {
            ScopeFilter::All
        } else {
            ScopeFilter::District(code.to_owned())
        })
    }
}

/// Keeps the district part of an address: `萨尔图区****`.
fn mask_address(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    let keep = chars
        .iter()
        .position(|c| matches!(c, '区' | '县'))
        .map(|i| i + 1)
        .unwrap_or(3)
        .min(chars.len());
    format!(
        "{}{}",
        chars[..keep].iter().collect::<String>(),
        "*".repeat(4)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_only_the_district() {
        assert_eq!(mask_address("萨尔图区东风街道12号"), "萨尔图区****");
        assert_eq!(mask_address("某地"), "某地****");
    }

    #[test]
    fn pages_are_clamped() {
        assert_eq!(
            page(0, 50),
            PageRequest {
                offset: 0,
                limit: 50
            }
        );
        assert_eq!(
            page(3, 1000),
            PageRequest {
                offset: 400,
                limit: 200
            }
        );
    }
}
