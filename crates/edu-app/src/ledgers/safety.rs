//! Campus safety around the ledgers: the risk map / board / card data of a school, security guards (registry),
//! key areas with video and police link, vetting of external staff, site plans, checklist patrols, and the
//! district and city overviews (overdue hazards, red risk points, campuses without certified guards).

use edu_form::china_time::china_date;
use edu_ledger::{
    ChecklistRun, ItemOutcome, ItemResult, LedgerDef, Step, evaluate_checklist, open_case,
};
use edu_store::ledgers::{
    CampusGuardRow, CaseQuery, CaseRecord, ChecklistRunWrite, KeyAreaRecord, KeyAreaWrite, NewCase,
    SitePlanRecord, VettingWrite,
};
use edu_store::{InstitutionRecord, PageRequest, ScopeFilter};
use serde::Serialize;
use serde_json::{Map, Value};

use super::cases::{CaseSummary, People, new_token, summary_of};
use super::codec::{case_from, case_write, ms};
use super::files::{self, Upload};
use super::{require_read, standing};
use crate::App;
use crate::access::{Actor, Permission, Role, Scope};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::{AppError, FieldError};

/// The ledger of risk points and the ledger of hazards in the plan.
pub const RISK_LEDGER: &str = "risk-points";
pub const HAZARD_LEDGER: &str = "hazards";

/// One risk point as the map, the board and the card show it.
#[derive(Debug, Clone, Serialize)]
pub struct RiskPointView {
    pub id: i64,
    /// 1, 2, … on the map and the board (most severe first).
    pub number: usize,
    pub place: String,
    pub hazard_type: String,
    pub hazard_type_en: String,
    pub description: String,
    /// `major`, `large`, `general`, `low`.
    pub level: String,
    /// `red`, `orange`, `yellow`, `blue` (`grey` when not graded).
    pub colour: String,
    pub level_label: String,
    pub level_label_en: String,
    pub score: String,
    pub lec: String,
    pub controls: String,
    pub emergency_steps: String,
    pub responsible: String,
    /// The emergency contact phone, in full: the board and the card are posted so that people can call it.
    pub contact_phone: String,
    /// Position on the site plan, percent of width and height.
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub next_review: Option<String>,
    pub review_overdue: bool,
}

/// A security guard with the state of their certificate today.
#[derive(Debug, Clone, Serialize)]
pub struct GuardView {
    pub staff_no: String,
    pub name: String,
    pub certificate: String,
    pub expires: String,
    /// `valid`, `expiring` (within 30 days), `expired`, `none`.
    pub status: String,
}

/// A vetting record as shown (ID number masked).
#[derive(Debug, Clone, Serialize)]
pub struct VettingView {
    pub id: i64,
    pub name: String,
    pub id_number: String,
    pub post: String,
    pub employer: String,
    pub checked_on: String,
    pub result: String,
    pub valid_until: String,
    pub expired: bool,
    pub note: String,
}

/// A checklist's last run at a school.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistState {
    pub ledger: String,
    pub id: String,
    pub title: String,
    pub title_en: String,
    pub frequency: String,
    pub last_run: Option<String>,
    /// A daily checklist not run today, a weekly one not run in the last 7 days.
    pub due: bool,
}

/// A school's safety page.
#[derive(Debug, Clone, Serialize)]
pub struct SchoolSafety {
    pub code: String,
    pub name: String,
    pub district_code: String,
    pub kind: String,
    pub address: String,
    pub phone: String,
    /// (width, height) of the site plan image, when there is one.
    pub site_plan: Option<(i64, i64)>,
    pub points: Vec<RiskPointView>,
    pub guards: Vec<GuardView>,
    pub certified_guards: usize,
    pub key_areas: Vec<KeyAreaRecord>,
    pub key_areas_camera: usize,
    pub key_areas_police: usize,
    pub vetting: Vec<VettingView>,
    /// The actor may see vetting records (administrators).
    pub can_see_vetting: bool,
    pub hazards: Vec<CaseSummary>,
    pub checklists: Vec<ChecklistState>,
    /// The actor may change the site plan, key areas and vetting records.
    pub can_edit: bool,
    /// The actor may run checklists (patrols).
    pub can_patrol: bool,
    pub today: String,
}

/// The printable risk notice board (一栏) of a school.
#[derive(Debug, Clone, Serialize)]
pub struct BoardData {
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub site_plan: Option<(i64, i64)>,
    pub points: Vec<RiskPointView>,
    /// (who, phone)
    pub contacts: Vec<(String, String)>,
    pub date: String,
}

/// The printable risk notification card (一卡) of one risk point.
#[derive(Debug, Clone, Serialize)]
pub struct CardData {
    pub code: String,
    pub name: String,
    pub phone: String,
    pub point: RiskPointView,
    pub date: String,
}

/// A row of an overview: a district (city view) or a school (district view).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchoolSafetyRow {
    pub code: String,
    pub name: String,
    pub campuses: i64,
    pub without_certified_guard: i64,
    pub guards: i64,
    pub certified_guards: i64,
    pub key_areas: i64,
    pub key_areas_camera: i64,
    pub key_areas_police: i64,
    pub hazards_open: i64,
    pub hazards_overdue: i64,
    pub hazards_closed: i64,
    pub hazards_closed_on_time: i64,
    pub red_points: i64,
}

impl SchoolSafetyRow {
    pub fn camera_percent(&self) -> Option<f64> {
        (self.key_areas > 0).then(|| 100.0 * self.key_areas_camera as f64 / self.key_areas as f64)
    }

    pub fn guard_percent(&self) -> Option<f64> {
        (self.campuses > 0).then(|| {
            100.0 * (self.campuses - self.without_certified_guard) as f64 / self.campuses as f64
        })
    }
}

/// The district or city overview.
#[derive(Debug, Clone, Serialize)]
pub struct SafetyOverview {
    pub total: SchoolSafetyRow,
    /// Districts (city view) or schools (district view).
    pub rows: Vec<SchoolSafetyRow>,
    pub rows_are_schools: bool,
    pub overdue_hazards: Vec<CaseSummary>,
    pub overdue_total: i64,
    pub red_points: Vec<CaseSummary>,
    pub red_total: i64,
    pub without_guards: Vec<CampusGuardRow>,
    /// (school code, name, registered, refused, approved)
    pub negative_list: Vec<(String, String, i64, i64, i64)>,
}

/// A key area to register or change.
#[derive(Debug, Clone, Default)]
pub struct KeyAreaInput {
    pub name: String,
    pub area_type: String,
    pub camera: bool,
    pub police_link: bool,
    pub cameras: i64,
}

/// A vetting record to add.
#[derive(Debug, Clone, Default)]
pub struct VettingInput {
    pub name: String,
    pub id_number: String,
    pub post: String,
    pub employer: String,
    pub checked_on: String,
    pub result: String,
    pub valid_until: String,
    pub note: String,
}

/// A checklist to fill in.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistForm {
    pub ledger: String,
    pub id: String,
    pub title: String,
    pub title_en: String,
    pub frequency: String,
    pub school_code: String,
    pub school_name: String,
    pub items: Vec<ChecklistItemInput>,
    /// (value, label, label_en, days to rectify)
    pub severities: Vec<(String, String, String, u32)>,
}

/// One item of a checklist (as a form row, and as the answer coming back).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChecklistItemInput {
    pub item: String,
    pub text: String,
    pub text_en: String,
    pub severity: String,
    /// `pass`, `fail`, `not_applicable`.
    pub outcome: String,
    pub note: String,
    pub location: String,
}

/// A completed checklist as submitted.
#[derive(Debug, Clone, Default)]
pub struct ChecklistRunInput {
    pub items: Vec<ChecklistItemInput>,
    /// Where failures are, when an item names no location.
    pub location: String,
    /// Photos, field `photo_<item id>`.
    pub uploads: Vec<Upload>,
}

/// What a checklist run produced.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistRunResult {
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
    /// Hazard cases opened, one per failed item.
    pub cases: Vec<i64>,
}

const AREA_TYPES: [&str; 9] = [
    "gate",
    "dormitory",
    "canteen",
    "lab",
    "perimeter",
    "playground",
    "boiler",
    "storage",
    "other",
];
const POSTS: [&str; 7] = [
    "security",
    "canteen",
    "cleaning",
    "driver",
    "contractor",
    "tutor",
    "other",
];
const RESULTS: [&str; 3] = ["clear", "flagged", "pending"];

pub(crate) fn colour_of(level: &str) -> &'static str {
    match level {
        "major" => "red",
        "large" => "orange",
        "general" => "yellow",
        "low" => "blue",
        _ => "grey",
    }
}

fn str_value(values: &edu_form::Values, id: &str) -> String {
    match values.get(id) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn rank(level: &str) -> u8 {
    match level {
        "major" => 0,
        "large" => 1,
        "general" => 2,
        "low" => 3,
        _ => 4,
    }
}

impl App {
    /// An institution in the actor's scope, for the safety pages (404 otherwise).
    async fn safety_institution(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<InstitutionRecord, AppError> {
        require_read(actor)?;
        self.store
            .institution_by_code(&actor.scope_filter(), code)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// May the actor change the school's safety registers (site plan, key areas, vetting)? School administrators
    /// of the school, district administrators of its district, city administrators.
    fn may_edit_safety(&self, actor: &Actor, institution: &InstitutionRecord) -> bool {
        actor.can(Permission::ManageCases)
            && matches!(
                actor.role,
                Role::SchoolAdmin | Role::DistrictAdmin | Role::CityAdmin
            )
            && super::relation(actor, institution.id, &institution.district_code)
                != edu_ledger::Relation::Unrelated
    }

    fn require_edit_safety(
        &self,
        actor: &Actor,
        institution: &InstitutionRecord,
    ) -> Result<(), AppError> {
        if self.may_edit_safety(actor, institution) {
            Ok(())
        } else {
            Err(AppError::Forbidden(crate::Forbidden(
                Permission::ManageCases,
            )))
        }
    }

    /// The active risk points of a school, most severe first, numbered.
    async fn risk_points(
        &self,
        institution: &InstitutionRecord,
    ) -> Result<Vec<RiskPointView>, AppError> {
        let Ok(def) = self.ledger_def(RISK_LEDGER) else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let today = china_date(now).to_string();
        let rows = self
            .store
            .ledger_cases(
                &ScopeFilter::Institution(institution.id),
                &CaseQuery {
                    ledger: Some(def.id.clone()),
                    institution_id: Some(institution.id),
                    open: Some(true),
                    ..CaseQuery::default()
                },
                PageRequest {
                    offset: 0,
                    limit: 500,
                },
            )
            .await?;
        let mut people = People::default();
        let mut points = Vec::new();
        for r in &rows.items {
            points.push(self.risk_point_view(def, r, &today, &mut people).await?);
        }
        points.sort_by(|a, b| rank(&a.level).cmp(&rank(&b.level)).then(a.id.cmp(&b.id)));
        for (i, p) in points.iter_mut().enumerate() {
            p.number = i + 1;
        }
        Ok(points)
    }

    async fn risk_point_view(
        &self,
        def: &LedgerDef,
        r: &CaseRecord,
        today: &str,
        people: &mut People,
    ) -> Result<RiskPointView, AppError> {
        let case = case_from(&self.keys, r, &[])?;
        let v = &case.values;
        let level = r.level.clone().unwrap_or_default();
        let (level_label, level_label_en) = super::cases::level_labels(def, r.level.as_deref());
        let hazard = def.form.field("hazard_type");
        let hazard_value = str_value(v, "hazard_type");
        let (hazard_type, hazard_type_en) = hazard
            .and_then(|f| f.option(&hazard_value))
            .map(|o| {
                (
                    o.label.clone(),
                    if o.label_en.is_empty() {
                        o.label.clone()
                    } else {
                        o.label_en.clone()
                    },
                )
            })
            .unwrap_or_else(|| (hazard_value.clone(), hazard_value.clone()));
        let responsible = match v.get("responsible_person").and_then(Value::as_str) {
            Some(reference) => people.name(self, reference).await,
            None => String::new(),
        };
        let coordinate = |id: &str| {
            str_value(v, id)
                .parse::<f64>()
                .ok()
                .filter(|x| (0.0..=100.0).contains(x))
        };
        let lec = ["lec_l", "lec_e", "lec_c"]
            .iter()
            .map(|f| str_value(v, f))
            .collect::<Vec<_>>();
        Ok(RiskPointView {
            id: r.id,
            number: 0,
            place: str_value(v, "place"),
            hazard_type,
            hazard_type_en,
            description: str_value(v, "description"),
            colour: colour_of(&level).to_owned(),
            level,
            level_label,
            level_label_en,
            score: str_value(v, "lec_d"),
            lec: format!("L={} E={} C={}", lec[0], lec[1], lec[2]),
            controls: str_value(v, "controls"),
            emergency_steps: str_value(v, "emergency_steps"),
            responsible,
            contact_phone: str_value(v, "contact_phone"),
            x: coordinate("map_x"),
            y: coordinate("map_y"),
            review_overdue: r.next_review.as_deref().is_some_and(|d| d < today),
            next_review: r.next_review.clone(),
        })
    }

    /// A school's safety page: risk points (the map), guards, key areas, vetting, hazards, patrols.
    pub async fn school_safety(&self, actor: &Actor, code: &str) -> Result<SchoolSafety, AppError> {
        let institution = self.safety_institution(actor, code).await?;
        let now = self.clock.now();
        let today = china_date(now);
        let soon = edu_form::china_time::add_days(today, 30).to_string();
        let today_s = today.to_string();
        let plan = self.store.site_plan(institution.id).await?;
        let points = self.risk_points(&institution).await?;
        let guards: Vec<GuardView> = self
            .store
            .guards(
                &ScopeFilter::Institution(institution.id),
                Some(institution.id),
            )
            .await?
            .into_iter()
            .map(|g| {
                let status = match g.certificate_expires.as_deref() {
                    _ if g.certificate_number.is_none() => "none",
                    None => "valid",
                    Some(e) if e < today_s.as_str() => "expired",
                    Some(e) if e < soon.as_str() => "expiring",
                    Some(_) => "valid",
                };
                GuardView {
                    staff_no: g.staff_no,
                    name: g.name,
                    certificate: g.certificate_number.unwrap_or_default(),
                    expires: g.certificate_expires.unwrap_or_default(),
                    status: status.to_owned(),
                }
            })
            .collect();
        let certified_guards = guards
            .iter()
            .filter(|g| g.status == "valid" || g.status == "expiring")
            .count();
        let key_areas = self.store.key_areas(institution.id, &today_s).await?;
        let can_see_vetting = matches!(
            actor.role,
            Role::SchoolAdmin | Role::DistrictAdmin | Role::CityAdmin | Role::Inspector
        );
        let vetting = if can_see_vetting {
            self.store
                .vetting_records(institution.id)
                .await?
                .into_iter()
                .map(|v| VettingView {
                    id: v.id,
                    expired: v
                        .valid_until
                        .as_deref()
                        .is_some_and(|d| d < today_s.as_str()),
                    name: v.name,
                    id_number: v.id_number_masked,
                    post: v.post,
                    employer: v.employer,
                    checked_on: v.checked_on,
                    result: v.result,
                    valid_until: v.valid_until.unwrap_or_default(),
                    note: v.note,
                })
                .collect()
        } else {
            Vec::new()
        };
        let hazards = match self.ledger_def(HAZARD_LEDGER) {
            Ok(def) if super::ledger_visible(actor, def) => self
                .store
                .ledger_cases(
                    &actor.scope_filter(),
                    &CaseQuery {
                        ledger: Some(def.id.clone()),
                        institution_id: Some(institution.id),
                        open: Some(true),
                        by_deadline: true,
                        ..CaseQuery::default()
                    },
                    PageRequest {
                        offset: 0,
                        limit: 50,
                    },
                )
                .await?
                .items
                .iter()
                .map(|r| summary_of(def, r, now))
                .collect(),
            _ => Vec::new(),
        };
        let runs = self.store.last_checklist_runs(institution.id).await?;
        let mut checklists = Vec::new();
        for def in self
            .plan
            .ledgers
            .values()
            .filter(|d| d.findings.as_ref().is_some_and(|f| f.list.is_none()))
        {
            for (id, c) in &def.checklists {
                let last = runs
                    .iter()
                    .find(|(l, cid, _)| *l == def.id && cid == id)
                    .map(|(_, _, d)| d.clone());
                let due = match c.frequency.as_str() {
                    "daily" => last.as_deref() != Some(today_s.as_str()),
                    "weekly" => last.as_deref().is_none_or(|d| {
                        edu_form::china_time::parse_date(d)
                            .is_none_or(|d| edu_form::china_time::days_between(d, today) >= 7)
                    }),
                    _ => false,
                };
                checklists.push(ChecklistState {
                    ledger: def.id.clone(),
                    id: id.clone(),
                    title: c.title.clone(),
                    title_en: if c.title_en.is_empty() {
                        c.title.clone()
                    } else {
                        c.title_en.clone()
                    },
                    frequency: c.frequency.clone(),
                    last_run: last,
                    due,
                });
            }
        }
        let can_patrol = actor.can(Permission::ManageCases)
            && self.ledger_def(HAZARD_LEDGER).is_ok_and(|def| {
                standing(actor, def, institution.id, &institution.district_code, None).is_some_and(
                    |s| {
                        def.transitions
                            .iter()
                            .filter(|t| t.creates)
                            .any(|t| s.roles.iter().any(|r| t.roles.contains(r)))
                    },
                )
            });
        Ok(SchoolSafety {
            key_areas_camera: key_areas.iter().filter(|k| k.camera).count(),
            key_areas_police: key_areas.iter().filter(|k| k.police_link).count(),
            can_edit: self.may_edit_safety(actor, &institution),
            code: institution.code,
            name: institution.name,
            district_code: institution.district_code,
            kind: institution.kind,
            address: institution.address,
            phone: institution.phone,
            site_plan: plan.map(|p| (p.width, p.height)),
            points,
            guards,
            certified_guards,
            key_areas,
            vetting,
            can_see_vetting,
            hazards,
            checklists,
            can_patrol,
            today: today_s,
        })
    }

    /// The school's site plan image (content type, bytes).
    pub async fn site_plan_image(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<(String, Vec<u8>), AppError> {
        let institution = self.safety_institution(actor, code).await?;
        let plan = self
            .store
            .site_plan(institution.id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((plan.content_type, plan.content))
    }

    /// Replaces the school's site plan with an uploaded PNG or JPEG (location data removed).
    pub async fn upload_site_plan(
        &self,
        actor: &Actor,
        code: &str,
        bytes: &[u8],
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let institution = self.safety_institution(actor, code).await?;
        self.require_edit_safety(actor, &institution)?;
        let kind = files::sniff(bytes).map_err(|r| AppError::invalid("file", r.message()))?;
        if !kind.is_image() {
            return Err(AppError::invalid(
                "file",
                "平面图须为 JPEG 或 PNG 图片 / the site plan must be a JPEG or PNG image",
            ));
        }
        let content = files::strip_location(kind, bytes);
        let (width, height) = files::image_size(kind, &content).ok_or_else(|| {
            AppError::invalid("file", "无法读取图片尺寸 / cannot read the image size")
        })?;
        let now = self.clock.now_ms();
        let record = SitePlanRecord {
            institution_id: institution.id,
            content_type: kind.content_type().to_owned(),
            width: i64::from(width),
            height: i64::from(height),
            size: content.len() as i64,
            sha256: files::sha256_hex(&content),
            uploaded_by: super::person_of(actor),
            uploaded_at: now,
            content,
        };
        self.store
            .put_site_plan(
                &record,
                &audit::entry(
                    now,
                    Some(actor),
                    "",
                    context,
                    "ledger.site_plan.upload",
                    "institution",
                    &institution.code,
                    Outcome::Success,
                    &format!("{}x{} {}", width, height, record.content_type),
                ),
            )
            .await?;
        Ok(())
    }

    /// The printable risk notice board of a school.
    pub async fn risk_board(&self, actor: &Actor, code: &str) -> Result<BoardData, AppError> {
        let institution = self.safety_institution(actor, code).await?;
        let plan = self.store.site_plan(institution.id).await?;
        let points = self.risk_points(&institution).await?;
        let mut contacts: Vec<(String, String)> = Vec::new();
        if !institution.phone.is_empty() {
            contacts.push((
                "学校值班室 School duty office".into(),
                institution.phone.clone(),
            ));
        }
        for p in &points {
            if p.responsible.is_empty() || p.contact_phone.is_empty() {
                continue;
            }
            if !contacts.iter().any(|(w, _)| w.starts_with(&p.responsible)) && contacts.len() < 4 {
                contacts.push((
                    format!("{}（{}）", p.responsible, p.place),
                    p.contact_phone.clone(),
                ));
            }
        }
        Ok(BoardData {
            code: institution.code,
            name: institution.name,
            address: institution.address,
            phone: institution.phone,
            site_plan: plan.map(|p| (p.width, p.height)),
            points,
            contacts,
            date: china_date(self.clock.now()).to_string(),
        })
    }

    /// The printable risk notification card of one risk point (a case of the risk-point ledger in scope).
    pub async fn risk_card(&self, actor: &Actor, id: i64) -> Result<CardData, AppError> {
        require_read(actor)?;
        let def = self.ledger_def(RISK_LEDGER)?;
        let (record, _) = self
            .store
            .ledger_case(&actor.scope_filter(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if record.ledger != def.id {
            return Err(AppError::NotFound);
        }
        let institution = self
            .safety_institution(actor, &record.institution_code)
            .await?;
        let points = self.risk_points(&institution).await?;
        let today = china_date(self.clock.now()).to_string();
        let point = match points.into_iter().find(|p| p.id == id) {
            Some(p) => p,
            // A retired point still has its card (marked by its state in the ledger).
            None => {
                self.risk_point_view(def, &record, &today, &mut People::default())
                    .await?
            }
        };
        Ok(CardData {
            code: institution.code,
            name: institution.name,
            phone: institution.phone,
            point,
            date: today,
        })
    }

    /// Exports the board (every risk point) or a card (one) as .xlsx: A4, fit to one page, watermarked, audited.
    pub async fn risk_export_xlsx(
        &self,
        actor: &Actor,
        code: &str,
        card: Option<i64>,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        let now = self.clock.now();
        let stamp = edu_form::china_time::format_china(now);
        let watermark = format!("EduPlan 导出 {} {} 仅限工作使用", actor.username, stamp);
        let (bytes, name, object) = match card {
            Some(id) => {
                let data = self.risk_card(actor, id).await?;
                if data.code != code {
                    return Err(AppError::NotFound);
                }
                let bytes = super::export::card_xlsx(&data, &watermark)?;
                (
                    bytes,
                    format!("风险告知卡-{}-{}.xlsx", data.code, data.point.number.max(1)),
                    id.to_string(),
                )
            }
            None => {
                let data = self.risk_board(actor, code).await?;
                let bytes = super::export::board_xlsx(&data, &watermark)?;
                (
                    bytes,
                    format!("风险公告栏-{}.xlsx", data.code),
                    data.code.clone(),
                )
            }
        };
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            ms(now),
            Some(actor),
            "",
            context,
            if card.is_some() {
                "ledger.card.export"
            } else {
                "ledger.board.export"
            },
            if card.is_some() {
                "ledger_case"
            } else {
                "institution"
            },
            &object,
            Outcome::Success,
            "xlsx",
        ))
        .await?;
        tx.commit().await?;
        Ok((bytes, name))
    }

    /// Registers a key area of a school.
    pub async fn add_key_area(
        &self,
        actor: &Actor,
        code: &str,
        input: &KeyAreaInput,
        context: &AuditContext,
    ) -> Result<i64, AppError> {
        let institution = self.safety_institution(actor, code).await?;
        self.require_edit_safety(actor, &institution)?;
        let mut errors = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                "请填写部位名称（100 字以内）/ name required, up to 100 characters",
            ));
        }
        if !AREA_TYPES.contains(&input.area_type.as_str()) {
            errors.push(FieldError::new(
                "area_type",
                format!("类型应为 / type must be one of {}", AREA_TYPES.join(", ")),
            ));
        }
        if input.police_link && !input.camera {
            errors.push(FieldError::new(
                "police_link",
                "未覆盖视频监控的部位不能联网 / an area without cameras cannot be linked",
            ));
        }
        if !(0..=500).contains(&input.cameras) {
            errors.push(FieldError::new(
                "cameras",
                "摄像头数量应为 0–500 / cameras must be 0–500",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let now = self.clock.now();
        let today = china_date(now).to_string();
        Ok(self
            .store
            .insert_key_area(
                &KeyAreaWrite {
                    institution_id: institution.id,
                    name: name.to_owned(),
                    area_type: input.area_type.clone(),
                    created_on: today,
                    camera: input.camera,
                    police_link: input.police_link,
                    cameras: if input.camera {
                        input.cameras.max(1)
                    } else {
                        0
                    },
                },
                &audit::entry(
                    ms(now),
                    Some(actor),
                    "",
                    context,
                    "ledger.key_area.create",
                    "key_area",
                    "",
                    Outcome::Success,
                    &format!(
                        "school={} type={} camera={} police={}",
                        institution.code, input.area_type, input.camera, input.police_link
                    ),
                ),
            )
            .await?)
    }

    /// Changes a key area's camera coverage and police link from today, or retires it.
    pub async fn update_key_area(
        &self,
        actor: &Actor,
        id: i64,
        input: &KeyAreaInput,
        retire: bool,
        context: &AuditContext,
    ) -> Result<String, AppError> {
        require_read(actor)?;
        let area = self.store.key_area(id).await?.ok_or(AppError::NotFound)?;
        let institution = self
            .safety_institution(actor, &area.institution_code)
            .await?;
        self.require_edit_safety(actor, &institution)?;
        if area.retired_on.is_some() {
            return Err(AppError::NotFound);
        }
        if input.police_link && !input.camera && !retire {
            return Err(AppError::invalid(
                "police_link",
                "未覆盖视频监控的部位不能联网 / an area without cameras cannot be linked",
            ));
        }
        let now = self.clock.now();
        let today = china_date(now).to_string();
        let entry = audit::entry(
            ms(now),
            Some(actor),
            "",
            context,
            if retire {
                "ledger.key_area.retire"
            } else {
                "ledger.key_area.update"
            },
            "key_area",
            &id.to_string(),
            Outcome::Success,
            &format!("camera={} police={}", input.camera, input.police_link),
        );
        if retire {
            self.store.retire_key_area(id, &today, &entry).await?;
        } else {
            self.store
                .set_key_area_state(
                    id,
                    input.camera,
                    input.police_link,
                    if input.camera {
                        input.cameras.max(1)
                    } else {
                        0
                    },
                    &today,
                    &entry,
                )
                .await?;
        }
        Ok(institution.code)
    }

    /// Records the background check of an external staff member (ID number encrypted, shown masked).
    pub async fn add_vetting(
        &self,
        actor: &Actor,
        code: &str,
        input: &VettingInput,
        context: &AuditContext,
    ) -> Result<i64, AppError> {
        let institution = self.safety_institution(actor, code).await?;
        self.require_edit_safety(actor, &institution)?;
        let mut errors = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            errors.push(FieldError::new("name", "请填写姓名 / name required"));
        }
        let id_number = edu_model::IdNumber::parse(input.id_number.trim().to_uppercase().as_str());
        if let Err(e) = &id_number {
            errors.push(FieldError::new(
                "id_number",
                format!("身份证号无效 / invalid ID number: {e}"),
            ));
        }
        if !POSTS.contains(&input.post.as_str()) {
            errors.push(FieldError::new(
                "post",
                format!("岗位应为 / post must be one of {}", POSTS.join(", ")),
            ));
        }
        if !RESULTS.contains(&input.result.as_str()) {
            errors.push(FieldError::new(
                "result",
                format!("结论应为 / result must be one of {}", RESULTS.join(", ")),
            ));
        }
        let today = china_date(self.clock.now());
        let checked = edu_form::china_time::parse_date(input.checked_on.trim());
        match checked {
            Some(d) if d <= today => {}
            _ => errors.push(FieldError::new(
                "checked_on",
                "审查日期无效或晚于今天 / date invalid or in the future",
            )),
        }
        let valid_until = input.valid_until.trim();
        if !valid_until.is_empty() && edu_form::china_time::parse_date(valid_until).is_none() {
            errors.push(FieldError::new("valid_until", "日期无效 / invalid date"));
        }
        if input.employer.chars().count() > 200 || input.note.chars().count() > 500 {
            errors.push(FieldError::new("note", "内容过长 / too long"));
        }
        let (Ok(id_number), true) = (id_number, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let index = self
            .keys
            .blind_index("vetting_id_number", id_number.as_str());
        let now = self.clock.now_ms();
        Ok(self
            .store
            .insert_vetting(
                &VettingWrite {
                    institution_id: institution.id,
                    name: name.to_owned(),
                    id_number_enc: self.keys.encrypt(
                        id_number.as_str(),
                        "vetting_records",
                        "id_number",
                        &index,
                    )?,
                    id_number_masked: id_number.masked(),
                    id_number_index: index,
                    post: input.post.clone(),
                    employer: input.employer.trim().to_owned(),
                    checked_on: input.checked_on.trim().to_owned(),
                    result: input.result.clone(),
                    valid_until: (!valid_until.is_empty()).then(|| valid_until.to_owned()),
                    note: input.note.trim().to_owned(),
                    recorded_by: super::person_of(actor),
                    recorded_at: now,
                },
                &audit::entry(
                    now,
                    Some(actor),
                    "",
                    context,
                    "ledger.vetting.create",
                    "vetting_record",
                    "",
                    Outcome::Success,
                    &format!(
                        "school={} post={} result={}",
                        institution.code, input.post, input.result
                    ),
                ),
            )
            .await?)
    }

    /// The form of a checklist for a school.
    pub async fn checklist_form(
        &self,
        actor: &Actor,
        ledger: &str,
        checklist: &str,
        code: &str,
    ) -> Result<ChecklistForm, AppError> {
        let def = self.visible_def(actor, ledger)?;
        let institution = self.safety_institution(actor, code).await?;
        let c = def.checklists.get(checklist).ok_or(AppError::NotFound)?;
        if def.findings.as_ref().is_none_or(|f| f.list.is_some()) {
            return Err(AppError::NotFound);
        }
        let severities = def
            .severity_field
            .as_deref()
            .and_then(|f| def.form.field(f))
            .map(|f| {
                f.options
                    .iter()
                    .map(|o| {
                        (
                            o.value.clone(),
                            o.label.clone(),
                            if o.label_en.is_empty() {
                                o.label.clone()
                            } else {
                                o.label_en.clone()
                            },
                            def.days_for_severity(&o.value).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ChecklistForm {
            ledger: def.id.clone(),
            id: checklist.to_owned(),
            title: c.title.clone(),
            title_en: if c.title_en.is_empty() {
                c.title.clone()
            } else {
                c.title_en.clone()
            },
            frequency: c.frequency.clone(),
            school_code: institution.code,
            school_name: institution.name,
            items: c
                .items
                .iter()
                .map(|i| ChecklistItemInput {
                    item: i.id.clone(),
                    text: i.text.clone(),
                    text_en: if i.text_en.is_empty() {
                        i.text.clone()
                    } else {
                        i.text_en.clone()
                    },
                    severity: i.severity.clone().unwrap_or_default(),
                    outcome: "pass".into(),
                    note: String::new(),
                    location: String::new(),
                })
                .collect(),
            severities,
        })
    }

    /// Records a checklist run at a school; every failed item becomes a case of the ledger (a hazard reported
    /// with its severity, category, note and photos). All or nothing: the run and its cases are written in one
    /// transaction, each with its audit row.
    pub async fn run_checklist(
        &self,
        actor: &Actor,
        ledger: &str,
        checklist: &str,
        code: &str,
        input: &ChecklistRunInput,
        context: &AuditContext,
    ) -> Result<ChecklistRunResult, AppError> {
        let def = self.visible_def(actor, ledger)?;
        actor.require(Permission::ManageCases)?;
        let institution = self.safety_institution(actor, code).await?;
        if !def.checklists.contains_key(checklist)
            || def.findings.as_ref().is_none_or(|f| f.list.is_some())
        {
            return Err(AppError::NotFound);
        }
        let standing = standing(actor, def, institution.id, &institution.district_code, None)
            .ok_or(AppError::NotFound)?;
        let opening = def
            .transitions
            .iter()
            .find(|t| t.creates)
            .ok_or(AppError::NotFound)?;
        let engine_actor = standing.actor_for(&opening.roles);
        if !opening.roles.contains(&engine_actor.role) {
            return Err(AppError::Forbidden(crate::Forbidden(
                Permission::ManageCases,
            )));
        }
        let now = self.clock.now();
        let today = china_date(now);
        let mut errors = Vec::new();
        let mut results = Vec::new();
        for (i, item) in input.items.iter().enumerate() {
            let outcome = match item.outcome.as_str() {
                "pass" => ItemOutcome::Pass,
                "fail" => ItemOutcome::Fail,
                "not_applicable" | "na" => ItemOutcome::NotApplicable,
                _ => {
                    errors.push(FieldError::new(
                        format!("items[{i}].outcome"),
                        "请选择合格、不合格或不适用 / choose pass, fail or not applicable",
                    ));
                    continue;
                }
            };
            let location = Some(item.location.trim())
                .filter(|l| !l.is_empty())
                .or(Some(input.location.trim()).filter(|l| !l.is_empty()))
                .unwrap_or("全校")
                .to_owned();
            results.push(ItemResult {
                item: item.item.clone(),
                outcome,
                note: Some(item.note.trim().to_owned()).filter(|n| !n.is_empty()),
                severity: Some(item.severity.clone()).filter(|s| !s.is_empty()),
                photos: Vec::new(),
                location: Some(location),
            });
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let outcome = evaluate_checklist(
            def,
            &ChecklistRun {
                checklist: checklist.to_owned(),
                school: institution.code.clone(),
                inspector: standing.person.clone(),
                date: today,
                results: results.clone(),
            },
        )
        .map_err(|errs| {
            AppError::Invalid(
                errs.into_iter()
                    .map(|e| FieldError::new(e.field, format!("{} / {}", e.message, e.message_en)))
                    .collect(),
            )
        })?;
        let mapping = def.findings.clone().unwrap_or_default();
        let mut new_cases = Vec::new();
        let mut audits = Vec::new();
        for finding in &outcome.findings {
            let photos: Vec<Upload> = input
                .uploads
                .iter()
                .filter(|u| u.field == format!("photo_{}", finding.item))
                .map(|u| Upload {
                    field: mapping.photos.clone().unwrap_or_default(),
                    bytes: u.bytes.clone(),
                })
                .collect();
            let values: Map<String, Value> = finding.values.clone();
            let step_input = super::cases::StepInput {
                action: opening.action.clone(),
                values,
                uploads: photos,
                note: None,
                version: None,
            };
            let (supplied, attachments, claim) = self
                .prepare_step(
                    def,
                    institution.id,
                    &institution.code,
                    &institution.district_code,
                    None,
                    &step_input,
                    &standing.person,
                    now,
                )
                .await
                .map_err(|e| match e {
                    AppError::Invalid(errs) => AppError::Invalid(
                        errs.into_iter()
                            .map(|f| FieldError::new(format!("photo_{}", finding.item), f.reason))
                            .collect(),
                    ),
                    other => other,
                })?;
            let case = open_case(
                def,
                "new",
                &institution.code,
                &engine_actor,
                &Step {
                    action: opening.action.clone(),
                    supplied: Value::Object(supplied),
                    note: Some(format!("{} / {}", outcome.checklist, finding.item)),
                },
                now,
            )
            .map_err(|e| {
                AppError::Invalid(vec![FieldError::new(
                    format!("items.{}", finding.item),
                    format!("{} / {}", e.message, e.message_en),
                )])
            })?;
            let key = new_token()?;
            new_cases.push(NewCase {
                case: case_write(
                    &self.keys,
                    def,
                    &case,
                    &key,
                    institution.id,
                    0..case.history.len(),
                    now,
                )?,
                attachments,
                claim,
            });
            audits.push(audit::entry(
                ms(now),
                Some(actor),
                "",
                context,
                &format!("ledger.{}.{}", def.id, opening.action),
                "ledger_case",
                "",
                Outcome::Success,
                &format!(
                    "school={} checklist={}/{}",
                    institution.code, checklist, finding.item
                ),
            ));
        }
        let run = ChecklistRunWrite {
            ledger: def.id.clone(),
            checklist: checklist.to_owned(),
            institution_id: institution.id,
            inspector: standing.person.clone(),
            run_on: today.to_string(),
            passed: outcome.passed as i64,
            failed: outcome.failed as i64,
            not_applicable: outcome.not_applicable as i64,
            results_json: serde_json::to_string(&results).unwrap_or_default(),
            created_at: ms(now),
        };
        audits.push(audit::entry(
            ms(now),
            Some(actor),
            "",
            context,
            "ledger.checklist.run",
            "checklist_run",
            &format!("{}/{}", def.id, checklist),
            Outcome::Success,
            &format!(
                "school={} passed={} failed={} na={}",
                institution.code, outcome.passed, outcome.failed, outcome.not_applicable
            ),
        ));
        let cases = self
            .store
            .insert_ledger_cases(&new_cases, Some(&run), &audits)
            .await?;
        Ok(ChecklistRunResult {
            passed: outcome.passed,
            failed: outcome.failed,
            not_applicable: outcome.not_applicable,
            cases,
        })
    }

    /// The district or city overview: overdue hazards, red risk points, campuses without certified guards,
    /// key-area coverage and hazard counts per district (city) or per school (district).
    pub async fn safety_overview(&self, actor: &Actor) -> Result<SafetyOverview, AppError> {
        require_read(actor)?;
        let now = self.clock.now();
        let now_ms = ms(now);
        let today = china_date(now);
        let today_s = today.to_string();
        let soon = edu_form::china_time::add_days(today, 30).to_string();
        let scope = actor.scope_filter();
        let campuses = self.store.campus_guards(&scope, &today_s, &soon).await?;
        let coverage = self.store.key_area_coverage(&scope, &today_s).await?;
        let hazards = self
            .store
            .ledger_counts(&scope, HAZARD_LEDGER, now_ms, &today_s)
            .await?;
        let risks = self
            .store
            .ledger_counts(&scope, RISK_LEDGER, now_ms, &today_s)
            .await?;
        let rows_are_schools = !matches!(actor.scope, Scope::City { .. });
        let key_of = |code: &str, district: &str| -> String {
            if rows_are_schools {
                code.to_owned()
            } else {
                district.to_owned()
            }
        };
        let mut rows: Vec<SchoolSafetyRow> = Vec::new();
        if rows_are_schools {
            for c in &campuses {
                rows.push(SchoolSafetyRow {
                    code: c.institution_code.clone(),
                    name: c.institution_name.clone(),
                    ..SchoolSafetyRow::default()
                });
            }
        } else {
            for d in edu_model::DAQING_DISTRICTS {
                rows.push(SchoolSafetyRow {
                    code: d.code.to_string(),
                    name: d.name.to_owned(),
                    ..SchoolSafetyRow::default()
                });
            }
        }
        let mut total = SchoolSafetyRow {
            code: actor.scope.code().to_owned(),
            ..SchoolSafetyRow::default()
        };
        fn find<'a>(
            rows: &'a mut [SchoolSafetyRow],
            code: &str,
        ) -> Option<&'a mut SchoolSafetyRow> {
            rows.iter_mut().find(|r| r.code == code)
        }
        for c in &campuses {
            for row in [
                find(&mut rows, &key_of(&c.institution_code, &c.district_code)),
                Some(&mut total),
            ]
            .into_iter()
            .flatten()
            {
                row.campuses += 1;
                row.guards += c.guards;
                row.certified_guards += c.certified;
                row.without_certified_guard += i64::from(c.certified == 0);
            }
        }
        for k in &coverage {
            for row in [
                find(&mut rows, &key_of(&k.institution_code, &k.district_code)),
                Some(&mut total),
            ]
            .into_iter()
            .flatten()
            {
                row.key_areas += k.areas;
                row.key_areas_camera += k.camera;
                row.key_areas_police += k.police_link;
            }
        }
        for h in &hazards {
            for row in [
                find(&mut rows, &key_of(&h.institution_code, &h.district_code)),
                Some(&mut total),
            ]
            .into_iter()
            .flatten()
            {
                row.hazards_open += h.open;
                row.hazards_overdue += h.overdue;
                row.hazards_closed += h.closed;
                row.hazards_closed_on_time += h.closed_on_time;
            }
        }
        for r in &risks {
            for row in [
                find(&mut rows, &key_of(&r.institution_code, &r.district_code)),
                Some(&mut total),
            ]
            .into_iter()
            .flatten()
            {
                row.red_points += r.level_major;
            }
        }
        let list = |ledger: &str, query: CaseQuery| {
            let scope = scope.clone();
            let ledger = ledger.to_owned();
            async move {
                let def = self.ledger_def(&ledger)?;
                let page = self
                    .store
                    .ledger_cases(
                        &scope,
                        &CaseQuery {
                            ledger: Some(def.id.clone()),
                            ..query
                        },
                        PageRequest {
                            offset: 0,
                            limit: 50,
                        },
                    )
                    .await?;
                Ok::<_, AppError>((
                    page.total,
                    page.items
                        .iter()
                        .map(|r| summary_of(def, r, now))
                        .collect::<Vec<_>>(),
                ))
            }
        };
        let (overdue_total, overdue_hazards) = if self.ledger_def(HAZARD_LEDGER).is_ok() {
            list(
                HAZARD_LEDGER,
                CaseQuery {
                    overdue_at: Some(now_ms),
                    by_deadline: true,
                    ..CaseQuery::default()
                },
            )
            .await?
        } else {
            (0, Vec::new())
        };
        let (red_total, red_points) = if self.ledger_def(RISK_LEDGER).is_ok() {
            list(
                RISK_LEDGER,
                CaseQuery {
                    open: Some(true),
                    level: Some("major".into()),
                    ..CaseQuery::default()
                },
            )
            .await?
        } else {
            (0, Vec::new())
        };
        let without_guards: Vec<CampusGuardRow> = campuses
            .into_iter()
            .filter(|c| c.certified == 0)
            .take(200)
            .collect();
        let mut negative_list: Vec<(String, String, i64, i64, i64)> = Vec::new();
        if let Ok(def) = self.ledger_def("negative-list")
            && super::ledger_visible(actor, def)
        {
            for (code, name, _, state, n) in self.store.ledger_state_counts(&scope, &def.id).await?
            {
                let at = match negative_list.iter().position(|r| r.0 == code) {
                    Some(i) => i,
                    None => {
                        negative_list.push((code, name, 0, 0, 0));
                        negative_list.len() - 1
                    }
                };
                let row = &mut negative_list[at];
                row.2 += n;
                match state.as_str() {
                    "refused" => row.3 += n,
                    "approved" => row.4 += n,
                    _ => {}
                }
            }
        }
        Ok(SafetyOverview {
            total,
            rows,
            rows_are_schools,
            overdue_hazards,
            overdue_total,
            red_points,
            red_total,
            without_guards,
            negative_list,
        })
    }
}
