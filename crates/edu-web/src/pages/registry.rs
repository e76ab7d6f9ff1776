//! Registry pages: org tree, district, institution list and page, pupils (masked), pupil record, staff.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use edu_app::views::{InstitutionListItem, PupilListItem, StaffListItem};
use edu_app::{InstitutionView, Permission, PupilDetail, page};
use serde::Deserialize;

use super::{CallerExt, Chrome, district_name, kind_label, render, thousands};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

pub struct DistrictRow {
    pub code: String,
    pub name: String,
    pub institutions: String,
    pub pupils: String,
    pub staff: String,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    chrome: Chrome,
    city: String,
    totals: DistrictRow,
    districts: Vec<DistrictRow>,
}

async fn org(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/org", "org.title");
    let t = chrome.t;
    let tree = state.app.org_tree(actor).await.map_err(WebError::page)?;
    let districts = tree
        .districts
        .iter()
        .map(|d| DistrictRow {
            code: d.unit.code.clone(),
            name: t.pick(&d.unit.name, &d.unit.name_en).to_owned(),
            institutions: thousands(d.counts.institutions),
            pupils: thousands(d.counts.pupils),
            staff: thousands(d.counts.staff),
        })
        .collect();
    let city = tree
        .city
        .as_ref()
        .map(|c| t.pick(&c.name, &c.name_en).to_owned())
        .unwrap_or_default();
    let totals = DistrictRow {
        code: tree.totals.district_code.clone(),
        name: city.clone(),
        institutions: thousands(tree.totals.institutions),
        pupils: thousands(tree.totals.pupils),
        staff: thousands(tree.totals.staff),
    };
    render(&OrgPage {
        chrome,
        city,
        totals,
        districts,
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    district: Option<String>,
    page: Option<i64>,
}

pub struct InstitutionRow {
    pub code: String,
    pub name: String,
    pub district: String,
    pub kind: String,
    pub ownership: String,
    pub area: String,
    pub pupils: String,
}

#[derive(Template)]
#[template(path = "institutions.html")]
struct InstitutionsPage {
    chrome: Chrome,
    heading: String,
    q: String,
    kind: String,
    district: String,
    kinds: Vec<(String, String)>,
    rows: Vec<InstitutionRow>,
    total: String,
    pager: Pager,
}

/// Previous/next links keeping the query.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(base: &str, params: &[(&str, String)], page: i64, size: i64, total: i64) -> Pager {
        let pages = ((total + size - 1) / size).max(1);
        let link = |p: i64| {
            let mut query: Vec<String> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={}", url_encode(v)))
                .collect();
            query.push(format!("page={p}"));
            format!("{base}?{}", query.join("&"))
        };
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

pub fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn institution_row(i: &InstitutionListItem, t: crate::i18n::Tr) -> InstitutionRow {
    let ownership = edu_model::Ownership::parse(&i.ownership)
        .map(|o| t.pick(o.label_zh(), o.label_en()).to_owned())
        .unwrap_or_default();
    InstitutionRow {
        code: i.code.clone(),
        name: i.name.clone(),
        district: district_name(&i.district_code, t),
        kind: kind_label(&i.kind, t),
        ownership: if i.inclusive {
            format!("{ownership}（{}）", t.s("inst.inclusive"))
        } else {
            ownership
        },
        area: edu_model::Area::parse(&i.area)
            .map(|a| t.pick(a.label_zh(), a.label_en()).to_owned())
            .unwrap_or_default(),
        pupils: thousands(i.pupils),
    }
}

async fn institutions(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    list_institutions(state, caller, query, None).await
}

async fn district(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    if !actor.scope.contains_district(&code) {
        return Err(WebError::NotFound { api: false });
    }
    list_institutions(state, caller, query, Some(code)).await
}

async fn list_institutions(
    state: WebState,
    caller: CallerExt,
    query: ListQuery,
    district: Option<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/institutions", "inst.title");
    let t = chrome.t;
    let district = district
        .or(query.district.clone())
        .filter(|d| !d.is_empty());
    let q = query.q.clone().unwrap_or_default();
    let kind = query.kind.clone().unwrap_or_default();
    let number = query.page.unwrap_or(1).max(1);
    let request = page(number, 50);
    let filter = edu_app::views::InstitutionQuery {
        district: district.clone(),
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        search: Some(q.clone()).filter(|s| !s.is_empty()),
    };
    let result = state
        .app
        .institutions(actor, &filter, request)
        .await
        .map_err(WebError::page)?;
    let rows = result.items.iter().map(|i| institution_row(i, t)).collect();
    let heading = match &district {
        Some(code) => district_name(code, t),
        None => t.s("inst.title").to_owned(),
    };
    let kinds = edu_model::InstitutionKind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_owned(),
                t.pick(k.label_zh(), k.label_en()).to_owned(),
            )
        })
        .collect();
    let base = match &district {
        Some(code) => format!("/org/{code}"),
        None => "/institutions".to_owned(),
    };
    let pager = Pager::new(
        &base,
        &[("q", q.clone()), ("kind", kind.clone())],
        number,
        50,
        result.total,
    );
    render(&InstitutionsPage {
        chrome,
        heading,
        q,
        kind,
        district: district.unwrap_or_default(),
        kinds,
        rows,
        total: thousands(result.total),
        pager,
    })
}

#[derive(Template)]
#[template(path = "institution.html")]
struct InstitutionPage {
    chrome: Chrome,
    view: InstitutionView,
    kind: String,
    ownership: String,
    area: String,
    authority: String,
    district: String,
    pupils_total: String,
    can_pupils: bool,
    history: Vec<(String, String, String)>,
    grades: Vec<(String, Vec<(String, i64)>)>,
}

fn grade_label(kind: &str, grade: i64, t: crate::i18n::Tr) -> String {
    if kind == "kindergarten" {
        return match grade {
            1 => t.pick("小班", "Nursery 1"),
            2 => t.pick("中班", "Nursery 2"),
            _ => t.pick("大班", "Nursery 3"),
        }
        .to_owned();
    }
    if t.zh() {
        const N: [&str; 12] = [
            "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
        ];
        match grade {
            7..=9 => format!("初{}", N[(grade - 7) as usize]),
            10..=12 => format!("高{}", N[(grade - 10) as usize]),
            g => format!("{}年级", N[((g - 1).clamp(0, 11)) as usize]),
        }
    } else {
        format!("Grade {grade}")
    }
}

async fn institution(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let view = state
        .app
        .institution(actor, &code)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/institutions", "inst.title");
    chrome.title = view.record.name.clone();
    let t = chrome.t;
    let r = &view.record;
    let history = view
        .history
        .iter()
        .map(|h| {
            let ownership = edu_model::Ownership::parse(&h.ownership)
                .map(|o| t.pick(o.label_zh(), o.label_en()).to_owned())
                .unwrap_or_default();
            let state = if h.inclusive {
                format!("{ownership}·{}", t.s("inst.inclusive"))
            } else {
                ownership
            };
            let period = format!(
                "{} — {}",
                h.valid_from,
                h.valid_to
                    .clone()
                    .unwrap_or_else(|| t.s("inst.now").to_owned())
            );
            (period, state, h.note.clone())
        })
        .collect();
    let mut grades: Vec<(String, Vec<(String, i64)>)> = Vec::new();
    for class in &view.classes {
        let label = grade_label(&r.kind, class.grade, t);
        match grades.last_mut() {
            Some((l, list)) if *l == label => list.push((class.name.clone(), class.pupils)),
            _ => grades.push((label, vec![(class.name.clone(), class.pupils)])),
        }
    }
    let pupils_total: i64 = view.classes.iter().map(|c| c.pupils).sum();
    render(&InstitutionPage {
        kind: kind_label(&r.kind, t),
        ownership: edu_model::Ownership::parse(&r.ownership)
            .map(|o| t.pick(o.label_zh(), o.label_en()).to_owned())
            .unwrap_or_default(),
        area: edu_model::Area::parse(&r.area)
            .map(|a| t.pick(a.label_zh(), a.label_en()).to_owned())
            .unwrap_or_default(),
        authority: edu_model::Authority::parse(&r.authority)
            .map(|a| t.pick(a.label_zh(), a.label_en()).to_owned())
            .unwrap_or_default(),
        district: district_name(&r.district_code, t),
        pupils_total: thousands(pupils_total),
        can_pupils: actor.can(Permission::ViewPupils),
        history,
        grades,
        chrome,
        view,
    })
}

#[derive(Deserialize, Default)]
struct PupilQuery {
    q: Option<String>,
    grade: Option<String>,
    page: Option<i64>,
}

pub struct PupilRow {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub grade: String,
    pub class: String,
}

#[derive(Template)]
#[template(path = "pupils.html")]
struct PupilsPage {
    chrome: Chrome,
    code: String,
    institution: String,
    q: String,
    grade: String,
    grades: Vec<(String, String)>,
    rows: Vec<PupilRow>,
    total: String,
    pager: Pager,
    can_detail: bool,
}

fn pupil_row(p: &PupilListItem, kind: &str, t: crate::i18n::Tr) -> PupilRow {
    PupilRow {
        id: p.id,
        number: p.pupil_no_masked.clone(),
        name: p.name.clone(),
        sex: edu_model::Sex::parse(&p.sex)
            .map(|s| t.pick(s.label_zh(), s.label_en()).to_owned())
            .unwrap_or_default(),
        birth_date: p.birth_date.clone(),
        grade: grade_label(kind, p.grade, t),
        class: p.class_name.clone().unwrap_or_default(),
    }
}

async fn pupils(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(query): Query<PupilQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let institution = state
        .app
        .institution(actor, &code)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/institutions", "pupils.title");
    let t = chrome.t;
    chrome.title = format!("{} · {}", institution.record.name, t.s("pupils.title"));
    let q = query.q.clone().unwrap_or_default();
    let grade = query.grade.clone().unwrap_or_default();
    let number = query.page.unwrap_or(1).max(1);
    let result = state
        .app
        .institution_pupils(actor, &code, Some(&q), grade.parse().ok(), page(number, 50))
        .await
        .map_err(WebError::page)?;
    let kind = institution.record.kind.clone();
    let grades = edu_model::InstitutionKind::parse(&kind)
        .map(|k| {
            k.grades()
                .map(|g| (g.to_string(), grade_label(&kind, i64::from(g), t)))
                .collect()
        })
        .unwrap_or_default();
    let rows = result
        .items
        .iter()
        .map(|p| pupil_row(p, &kind, t))
        .collect();
    let pager = Pager::new(
        &format!("/institutions/{code}/pupils"),
        &[("q", q.clone()), ("grade", grade.clone())],
        number,
        50,
        result.total,
    );
    render(&PupilsPage {
        chrome,
        institution: institution.record.name.clone(),
        code,
        q,
        grade,
        grades,
        rows,
        total: thousands(result.total),
        pager,
        can_detail: actor.can(Permission::ViewPupilDetail),
    })
}

#[derive(Template)]
#[template(path = "pupil.html")]
struct PupilPage {
    chrome: Chrome,
    pupil: PupilDetail,
    sex: String,
    grade: String,
    can_reveal: bool,
    reveal_action: String,
    history: Vec<(String, String, String, String)>,
}

#[derive(Deserialize)]
struct RevealForm {
    reason: String,
}

async fn pupil_view(
    state: WebState,
    caller: CallerExt,
    id: i64,
    reveal: Option<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let pupil = state
        .app
        .pupil_detail(actor, id, reveal.as_deref(), &caller.context)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/institutions", "pupil.title");
    let t = chrome.t;
    chrome.title = format!("{} · {}", pupil.name, t.s("pupil.title"));
    let kind = state
        .app
        .institution(actor, &pupil.institution_code)
        .await
        .map(|i| i.record.kind)
        .unwrap_or_default();
    let history = pupil
        .history
        .iter()
        .map(|h| {
            let status = edu_model::PupilStatus::parse(&h.status)
                .map(|s| t.pick(s.label_zh(), s.label_en()).to_owned())
                .unwrap_or_default();
            (
                format!(
                    "{} — {}",
                    h.valid_from,
                    h.valid_to
                        .clone()
                        .unwrap_or_else(|| t.s("inst.now").to_owned())
                ),
                status,
                h.institution_code.clone(),
                grade_label(&kind, h.grade, t),
            )
        })
        .collect();
    render(&PupilPage {
        sex: edu_model::Sex::parse(&pupil.sex)
            .map(|s| t.pick(s.label_zh(), s.label_en()).to_owned())
            .unwrap_or_default(),
        grade: grade_label(&kind, pupil.grade, t),
        can_reveal: actor.can(Permission::RevealSensitive) && !pupil.revealed,
        reveal_action: chrome.action(&format!("/pupils/{}/reveal", pupil.id)),
        history,
        chrome,
        pupil,
    })
}

async fn pupil(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    pupil_view(state, caller, id, None).await
}

async fn pupil_reveal(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<RevealForm>,
) -> Result<Response, WebError> {
    pupil_view(state, caller, id, Some(form.reason)).await
}

#[derive(Deserialize, Default)]
struct StaffQueryParams {
    q: Option<String>,
    role: Option<String>,
    page: Option<i64>,
}

pub struct StaffRow {
    pub staff_no: String,
    pub name: String,
    pub sex: String,
    pub role: String,
    pub subjects: String,
    pub hire_date: String,
    pub certificate: String,
    pub certificate_class: &'static str,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    chrome: Chrome,
    code: String,
    institution: String,
    q: String,
    role: String,
    roles: Vec<(String, String)>,
    rows: Vec<StaffRow>,
    total: String,
    pager: Pager,
}

fn staff_row(s: &StaffListItem, today: &str, soon: &str, t: crate::i18n::Tr) -> StaffRow {
    let (certificate, class) = match &s.certificate_expires {
        None => (String::new(), ""),
        Some(date) if date.as_str() < today => (format!("{date} {}", t.s("staff.expired")), "bad"),
        Some(date) if date.as_str() < soon => (format!("{date} {}", t.s("staff.expiring")), "warn"),
        Some(date) => (date.clone(), ""),
    };
    StaffRow {
        staff_no: s.staff_no.clone(),
        name: s.name.clone(),
        sex: edu_model::Sex::parse(&s.sex)
            .map(|x| t.pick(x.label_zh(), x.label_en()).to_owned())
            .unwrap_or_default(),
        role: edu_model::StaffRole::parse(&s.role)
            .map(|r| t.pick(r.label_zh(), r.label_en()).to_owned())
            .unwrap_or_default(),
        subjects: s.subjects.replace(';', "、"),
        hire_date: s.hire_date.clone(),
        certificate,
        certificate_class: class,
    }
}

async fn staff(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(query): Query<StaffQueryParams>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let institution = state
        .app
        .institution(actor, &code)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/institutions", "staff.title");
    let t = chrome.t;
    chrome.title = format!("{} · {}", institution.record.name, t.s("staff.title"));
    let q = query.q.clone().unwrap_or_default();
    let role = query.role.clone().unwrap_or_default();
    let number = query.page.unwrap_or(1).max(1);
    let result = state
        .app
        .institution_staff(
            actor,
            &code,
            Some(role.clone()).filter(|r| !r.is_empty()),
            Some(q.clone()).filter(|s| !s.is_empty()),
            page(number, 50),
        )
        .await
        .map_err(WebError::page)?;
    let today = edu_model::china_time::business_date(state.app.now());
    let soon = today
        .checked_add(jiff::Span::new().days(30))
        .unwrap_or(today)
        .to_string();
    let rows = result
        .items
        .iter()
        .map(|s| staff_row(s, &today.to_string(), &soon, t))
        .collect();
    let roles = edu_model::StaffRole::ALL
        .iter()
        .map(|r| {
            (
                r.code().to_owned(),
                t.pick(r.label_zh(), r.label_en()).to_owned(),
            )
        })
        .collect();
    let pager = Pager::new(
        &format!("/institutions/{code}/staff"),
        &[("q", q.clone()), ("role", role.clone())],
        number,
        50,
        result.total,
    );
    render(&StaffPage {
        chrome,
        institution: institution.record.name.clone(),
        code,
        q,
        role,
        roles,
        rows,
        total: thousands(result.total),
        pager,
    })
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .page(
            "GET",
            "/org",
            Access::Permission(Permission::ViewRegistry),
            get(org),
        )
        .page(
            "GET",
            "/org/{district}",
            Access::Permission(Permission::ViewRegistry),
            get(district),
        )
        .page(
            "GET",
            "/institutions",
            Access::Permission(Permission::ViewRegistry),
            get(institutions),
        )
        .page(
            "GET",
            "/institutions/{code}",
            Access::Permission(Permission::ViewRegistry),
            get(institution),
        )
        .page(
            "GET",
            "/institutions/{code}/pupils",
            Access::Permission(Permission::ViewPupils),
            get(pupils),
        )
        .page(
            "GET",
            "/institutions/{code}/staff",
            Access::Permission(Permission::ViewRegistry),
            get(staff),
        )
        .page(
            "GET",
            "/pupils/{id}",
            Access::Permission(Permission::ViewPupilDetail),
            get(pupil),
        )
        .page(
            "POST",
            "/pupils/{id}/reveal",
            Access::Permission(Permission::RevealSensitive),
            post(pupil_reveal),
        )
}
