//! Ledgers and campus safety (issue 7): case lists and cases of every ledger, the school safety page with the
//! risk map, the printable board and cards (A4 SVG, .xlsx), guards, key areas, vetting, checklist patrols, and the
//! district and city overviews.

pub(crate) mod svg;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use edu_app::ledgers::{
    ActionForm, CaseDetail, CaseFilter, CaseSummary, ChecklistItemInput, ChecklistRunInput,
    FieldInput, InputKind, KeyAreaInput, SafetyOverview, SchoolSafetyRow, StepInput, UnitCounts,
    Upload, VettingInput,
};
use edu_app::{AppError, Permission, page};
use serde::Deserialize;

use super::registry::Pager;
use super::{CallerExt, Chrome, district_name, render};
use crate::WebState;
use crate::error::WebError;
use crate::i18n::Tr;
use crate::routes::{Access, Routes};

const READ: Access = Access::AnyPermission(&[Permission::ManageCases, Permission::ViewPlan]);
const WRITE: Access = Access::Permission(Permission::ManageCases);

// --- view models -------------------------------------------------------------------------------------------------

/// A case in a list.
pub struct CaseRow {
    pub href: String,
    pub id: i64,
    pub school: String,
    pub title: String,
    pub state: String,
    pub level: String,
    pub fill: &'static str,
    pub deadline: String,
    pub status: String,
    pub status_class: &'static str,
}

fn escalation_text(e: &str, t: Tr) -> &'static str {
    match e {
        "city" => t.pick("已升级至市级", "escalated to the city"),
        "district" => t.pick("已推送区县", "escalated to the district"),
        _ => t.pick("学校督办", "school alerted"),
    }
}

fn case_row(c: &CaseSummary, t: Tr) -> CaseRow {
    let (status, class) = if c.closed {
        if c.late {
            (t.pick("已办结（逾期）", "closed late").to_owned(), "warn")
        } else {
            (t.pick("已办结", "closed").to_owned(), "good")
        }
    } else if c.overdue {
        let mut s = format!(
            "{} {} {}",
            t.pick("逾期", "overdue"),
            c.days_overdue,
            t.pick("天", "day(s)")
        );
        if let Some(e) = &c.escalation {
            s.push_str(" · ");
            s.push_str(escalation_text(e, t));
        }
        (s, "bad")
    } else if c.review_overdue {
        (t.pick("复核逾期", "review overdue").to_owned(), "warn")
    } else if let Some(e) = &c.escalation {
        (escalation_text(e, t).to_owned(), "warn")
    } else {
        (String::new(), "")
    };
    CaseRow {
        href: format!("/ledgers/cases/{}/{}", c.ledger, c.id),
        id: c.id,
        school: c.school_name.clone(),
        title: c.title.clone(),
        state: t.pick(&c.state_label, &c.state_label_en).to_owned(),
        level: t.pick(&c.level_label, &c.level_label_en).to_owned(),
        fill: svg::fill(c.level.as_deref().unwrap_or("")),
        deadline: c
            .deadline
            .clone()
            .or_else(|| c.next_review.clone())
            .unwrap_or_default(),
        status,
        status_class: class,
    }
}

/// One input of a form, ready for the template.
pub struct InputView {
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub multiple: bool,
    /// (value, label, selected)
    pub options: Vec<(String, String, bool)>,
    pub current: String,
    pub unit: String,
    pub help: String,
    pub accept: &'static str,
    pub capture: bool,
    pub min_files: usize,
}

fn input_view(i: &FieldInput, t: Tr) -> InputView {
    let kind = match i.kind {
        InputKind::Text => "text",
        InputKind::Textarea => "textarea",
        InputKind::Integer | InputKind::Decimal => "number",
        InputKind::Date => "date",
        InputKind::Time => "time",
        InputKind::Bool => "bool",
        InputKind::Enum => "enum",
        InputKind::Person => "person",
        InputKind::File => "file",
        InputKind::List => "list",
    };
    let photo = i.id.contains("photo");
    InputView {
        id: i.id.clone(),
        label: t.pick(&i.label, &i.label_en).to_owned(),
        kind,
        required: i.required,
        multiple: i.multiple,
        options: i
            .options
            .iter()
            .map(|(v, zh, en)| (v.clone(), t.pick(zh, en).to_owned(), *v == i.current))
            .collect(),
        current: i.current.clone(),
        unit: i.unit.clone(),
        help: i.help.clone(),
        accept: if photo {
            "image/*"
        } else {
            "image/jpeg,image/png,application/pdf"
        },
        capture: photo,
        min_files: i.min_files,
    }
}

pub struct ActionView {
    pub action: String,
    pub label: String,
    pub to: String,
    pub inputs: Vec<InputView>,
}

fn action_view(a: &ActionForm, t: Tr) -> ActionView {
    ActionView {
        action: a.action.clone(),
        label: t.pick(&a.label, &a.label_en).to_owned(),
        to: t.pick(&a.to_label, &a.to_label_en).to_owned(),
        inputs: a.inputs.iter().map(|i| input_view(i, t)).collect(),
    }
}

/// Reads a multipart form: text fields as (name, value) pairs, files as uploads (empty file parts are skipped).
async fn read_multipart(
    mut multipart: Multipart,
) -> Result<(Vec<(String, String)>, Vec<Upload>), WebError> {
    let bad = || WebError::BadRequest {
        api: false,
        message: "上传失败或文件过大（上限 10 MB）/ upload failed or file too large (10 MB limit)"
            .into(),
    };
    let mut pairs = Vec::new();
    let mut uploads = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|_| bad())? {
        let name = field.name().unwrap_or("").to_owned();
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(|_| bad())?;
            if !bytes.is_empty() {
                uploads.push(Upload {
                    field: name,
                    bytes: bytes.to_vec(),
                });
            }
        } else {
            let text = field.text().await.map_err(|_| bad())?;
            pairs.push((name, text));
        }
    }
    Ok((pairs, uploads))
}

fn value_of<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn invalid_messages(error: &AppError) -> Option<Vec<String>> {
    match error {
        AppError::Invalid(errors) => Some(
            errors
                .iter()
                .map(|e| format!("{}：{}", e.field, e.reason))
                .collect(),
        ),
        AppError::Conflict(message) => Some(vec![message.clone()]),
        _ => None,
    }
}

fn percent(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1}%"))
        .unwrap_or_else(|| "—".into())
}

// --- home and overview --------------------------------------------------------------------------------------------

pub struct LedgerLink {
    pub href: String,
    pub title: String,
    pub description: String,
    pub new_href: Option<String>,
    pub open_label: String,
}

pub struct OverviewRow {
    pub name: String,
    pub href: String,
    pub campuses: i64,
    pub without: i64,
    pub guard_pct: String,
    pub key_areas: i64,
    pub camera_pct: String,
    pub police: i64,
    pub open: i64,
    pub overdue: i64,
    pub on_time_pct: String,
    pub red: i64,
}

fn overview_row(r: &SchoolSafetyRow, schools: bool, t: Tr) -> OverviewRow {
    OverviewRow {
        name: if schools {
            r.name.clone()
        } else {
            district_name(&r.code, t)
        },
        href: if schools {
            format!("/ledgers/schools/{}", r.code)
        } else {
            format!("/ledgers/cases/hazards?district={}&open=1", r.code)
        },
        campuses: r.campuses,
        without: r.without_certified_guard,
        guard_pct: percent(r.guard_percent()),
        key_areas: r.key_areas,
        camera_pct: percent(r.camera_percent()),
        police: r.key_areas_police,
        open: r.hazards_open,
        overdue: r.hazards_overdue,
        on_time_pct: percent(
            (r.hazards_closed > 0)
                .then(|| 100.0 * r.hazards_closed_on_time as f64 / r.hazards_closed as f64),
        ),
        red: r.red_points,
    }
}

pub struct OverviewView {
    pub schools: bool,
    pub total: OverviewRow,
    pub rows: Vec<OverviewRow>,
    pub overdue: Vec<CaseRow>,
    pub overdue_total: i64,
    pub red: Vec<CaseRow>,
    pub red_total: i64,
    /// (href, name, district, guards)
    pub without_guards: Vec<(String, String, String, i64)>,
    /// (href, name, registered, refused, approved)
    pub negative: Vec<(String, String, i64, i64, i64)>,
}

fn overview_view(o: &SafetyOverview, t: Tr) -> OverviewView {
    OverviewView {
        schools: o.rows_are_schools,
        total: overview_row(&o.total, true, t),
        rows: o
            .rows
            .iter()
            .map(|r| overview_row(r, o.rows_are_schools, t))
            .collect(),
        overdue: o.overdue_hazards.iter().map(|c| case_row(c, t)).collect(),
        overdue_total: o.overdue_total,
        red: o.red_points.iter().map(|c| case_row(c, t)).collect(),
        red_total: o.red_total,
        without_guards: o
            .without_guards
            .iter()
            .map(|c| {
                (
                    format!("/ledgers/schools/{}", c.institution_code),
                    c.institution_name.clone(),
                    district_name(&c.district_code, t),
                    c.guards,
                )
            })
            .collect(),
        negative: o
            .negative_list
            .iter()
            .map(|(code, name, n, refused, approved)| {
                (
                    format!("/ledgers/cases/negative-list?school={code}"),
                    name.clone(),
                    *n,
                    *refused,
                    *approved,
                )
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "ledgers_home.html")]
struct HomePage {
    chrome: Chrome,
    ledgers: Vec<LedgerLink>,
    my_school: Option<(String, String)>,
    patrols: Vec<(String, String, bool)>,
    overview: Option<OverviewView>,
}

async fn home(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/ledgers", "ledgers.title");
    let t = chrome.t;
    let ledgers = state
        .app
        .ledgers(actor)
        .map_err(WebError::page)?
        .into_iter()
        .map(|l| LedgerLink {
            href: format!("/ledgers/cases/{}", l.id),
            title: t.pick(&l.title, &l.title_en).to_owned(),
            description: l.description.clone(),
            new_href: l.can_open.then(|| format!("/ledgers/cases/{}/new", l.id)),
            open_label: t.pick(&l.open_label, &l.open_label_en).to_owned(),
        })
        .collect();
    let (my_school, patrols, overview) = match &actor.scope {
        edu_app::Scope::Institution { code, .. } => {
            let s = state
                .app
                .school_safety(actor, code)
                .await
                .map_err(WebError::page)?;
            let patrols = if s.can_patrol {
                s.checklists
                    .iter()
                    .map(|c| {
                        (
                            format!(
                                "/ledgers/checklists/{}/{}?school={}",
                                c.ledger, c.id, s.code
                            ),
                            t.pick(&c.title, &c.title_en).to_owned(),
                            c.due,
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            (Some((s.code.clone(), s.name.clone())), patrols, None)
        }
        _ => {
            let o = state
                .app
                .safety_overview(actor)
                .await
                .map_err(WebError::page)?;
            (None, Vec::new(), Some(overview_view(&o, t)))
        }
    };
    render(&HomePage {
        chrome,
        ledgers,
        my_school,
        patrols,
        overview,
    })
}

// --- case lists ---------------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    open: Option<String>,
    overdue: Option<String>,
    level: Option<String>,
    school: Option<String>,
    district: Option<String>,
    mine: Option<String>,
    escalated: Option<String>,
    page: Option<i64>,
}

fn flag(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty() && v != "0")
}

pub struct UnitRow {
    pub name: String,
    pub href: String,
    pub total: i64,
    pub open: i64,
    pub overdue: i64,
    pub closed: i64,
    pub on_time: String,
    pub escalated: i64,
    pub major: i64,
}

fn unit_row(u: &UnitCounts, ledger: &str, t: Tr) -> UnitRow {
    UnitRow {
        name: if u.level == "district" {
            district_name(&u.code, t)
        } else {
            u.name.clone()
        },
        href: match u.level.as_str() {
            "school" => format!("/ledgers/cases/{ledger}?school={}", u.code),
            _ => format!("/ledgers/cases/{ledger}"),
        },
        total: u.total,
        open: u.open,
        overdue: u.overdue,
        closed: u.closed,
        on_time: percent(u.on_time_percent()),
        escalated: u.escalated_district + u.escalated_city,
        major: u.level_major,
    }
}

#[derive(Template)]
#[template(path = "ledgers_list.html")]
struct ListPage {
    chrome: Chrome,
    heading: String,
    description: String,
    new_href: Option<String>,
    open_label: String,
    /// (value, label, selected)
    states: Vec<(String, String, bool)>,
    levels: Vec<(String, String, bool)>,
    open: bool,
    overdue: bool,
    mine: bool,
    school: String,
    rows: Vec<CaseRow>,
    total: i64,
    pager: Pager,
    units: Vec<UnitRow>,
}

async fn list(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(ledger): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let mut chrome = Chrome::new(&caller, "/ledgers", "ledgers.title");
    let t = chrome.t;
    let info = state
        .app
        .ledger_info(actor, &ledger)
        .map_err(WebError::page)?;
    chrome.title = t.pick(&info.title, &info.title_en).to_owned();
    let states_def = state.app.ledger_states(&ledger).map_err(WebError::page)?;
    let state_filter = q.state.clone().unwrap_or_default();
    let level_filter = q.level.clone().unwrap_or_default();
    let filter = CaseFilter {
        state: Some(state_filter.clone()).filter(|s| !s.is_empty()),
        open: flag(&q.open).then_some(true),
        overdue: flag(&q.overdue),
        level: Some(level_filter.clone()).filter(|s| !s.is_empty()),
        school: q.school.clone().filter(|s| !s.is_empty()),
        district: q.district.clone().filter(|s| !s.is_empty()),
        mine: flag(&q.mine),
        escalated: flag(&q.escalated),
    };
    let number = q.page.unwrap_or(1).max(1);
    let result = state
        .app
        .ledger_cases(actor, &ledger, &filter, page(number, 50))
        .await
        .map_err(WebError::page)?;
    let units = state
        .app
        .ledger_unit_counts(actor, &ledger)
        .await
        .map_err(WebError::page)?
        .iter()
        .filter(|u| {
            q.district
                .as_deref()
                .is_none_or(|d| d.is_empty() || u.code == d || u.level != "district")
        })
        .map(|u| unit_row(u, &ledger, t))
        .collect();
    let pager = Pager::new(
        &format!("/ledgers/cases/{ledger}"),
        &[
            ("state", state_filter.clone()),
            ("level", level_filter.clone()),
            ("open", q.open.clone().unwrap_or_default()),
            ("overdue", q.overdue.clone().unwrap_or_default()),
            ("school", q.school.clone().unwrap_or_default()),
            ("district", q.district.clone().unwrap_or_default()),
            ("mine", q.mine.clone().unwrap_or_default()),
        ],
        number,
        50,
        result.total,
    );
    render(&ListPage {
        heading: chrome.title.clone(),
        description: info.description.clone(),
        new_href: info
            .can_open
            .then(|| format!("/ledgers/cases/{ledger}/new")),
        open_label: t.pick(&info.open_label, &info.open_label_en).to_owned(),
        states: states_def
            .states
            .iter()
            .map(|(v, zh, en)| (v.clone(), t.pick(zh, en).to_owned(), *v == state_filter))
            .collect(),
        levels: states_def
            .levels
            .iter()
            .map(|(v, zh, en)| (v.clone(), t.pick(zh, en).to_owned(), *v == level_filter))
            .collect(),
        open: flag(&q.open),
        overdue: flag(&q.overdue),
        mine: flag(&q.mine),
        school: q.school.clone().unwrap_or_default(),
        rows: result.items.iter().map(|c| case_row(c, t)).collect(),
        total: result.total,
        pager,
        units,
        chrome,
    })
}

// --- one case ------------------------------------------------------------------------------------------------------

pub struct FieldRow {
    pub label: String,
    pub value: String,
    pub masked: bool,
    /// (href, name)
    pub files: Vec<(String, String)>,
    pub rows: Vec<Vec<(String, String)>>,
}

pub struct HistoryRow {
    pub seq: u32,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from: String,
    pub to: String,
    /// (field, before, after)
    pub changes: Vec<(String, String, String)>,
    pub note: String,
}

#[derive(Template)]
#[template(path = "ledgers_case.html")]
struct CasePage {
    chrome: Chrome,
    ledger: String,
    post_href: String,
    ledger_title: String,
    row: CaseRow,
    school_href: String,
    explanation: String,
    fields: Vec<FieldRow>,
    hidden: Vec<String>,
    history: Vec<HistoryRow>,
    actions: Vec<ActionView>,
    version: i64,
    suggestion: String,
    errors: Vec<String>,
    done: bool,
    card_href: Option<String>,
}

fn case_page(
    chrome: Chrome,
    ledger: &str,
    d: &CaseDetail,
    errors: Vec<String>,
    done: bool,
) -> CasePage {
    let t = chrome.t;
    let fields = d
        .fields
        .iter()
        .map(|f| FieldRow {
            label: t.pick(&f.label, &f.label_en).to_owned(),
            value: t.pick(&f.value, &f.value_en).to_owned(),
            masked: f.masked,
            files: f
                .files
                .iter()
                .map(|(token, name, _)| (format!("/ledgers/files/{token}"), name.clone()))
                .collect(),
            rows: f.rows.clone(),
        })
        .collect();
    let history = d
        .history
        .iter()
        .map(|h| HistoryRow {
            seq: h.seq,
            at: h.at.clone(),
            actor: h.actor.clone(),
            role: t.pick(&h.role_label, &h.role_label_en).to_owned(),
            action: t.pick(&h.action_label, &h.action_label_en).to_owned(),
            from: t.pick(&h.from_label, &h.from_label_en).to_owned(),
            to: t.pick(&h.to_label, &h.to_label_en).to_owned(),
            changes: h
                .changes
                .iter()
                .map(|(zh, en, before, after)| {
                    (t.pick(zh, en).to_owned(), before.clone(), after.clone())
                })
                .collect(),
            note: h.note.clone(),
        })
        .collect();
    CasePage {
        ledger: ledger.to_owned(),
        post_href: format!("/ledgers/cases/{ledger}/{}", d.summary.id),
        ledger_title: t.pick(&d.ledger_title, &d.ledger_title_en).to_owned(),
        row: case_row(&d.summary, t),
        school_href: format!("/ledgers/schools/{}", d.summary.school_code),
        explanation: t.pick(&d.explanation, &d.explanation_en).to_owned(),
        fields,
        hidden: d
            .hidden
            .iter()
            .map(|(zh, en)| t.pick(zh, en).to_owned())
            .collect(),
        history,
        actions: d.actions.iter().map(|a| action_view(a, t)).collect(),
        version: d.summary.version,
        suggestion: d
            .suggestion
            .as_ref()
            .map(|(zh, en)| t.pick(zh, en).to_owned())
            .unwrap_or_default(),
        errors,
        done,
        card_href: (ledger == "risk-points").then(|| format!("/ledgers/cards/{}", d.summary.id)),
        chrome,
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
    school: Option<String>,
}

async fn case(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((ledger, id)): Path<(String, i64)>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let detail = state
        .app
        .ledger_case(actor, &ledger, id, &caller.context)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/ledgers", "ledgers.case");
    chrome.title = format!("{} #{id}", detail.summary.title);
    render(&case_page(
        chrome,
        &ledger,
        &detail,
        Vec::new(),
        flag(&q.done),
    ))
}

async fn act(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((ledger, id)): Path<(String, i64)>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (pairs, uploads) = read_multipart(multipart).await?;
    let values = state
        .app
        .ledger_form_values(&ledger, &pairs)
        .map_err(WebError::page)?;
    let input = StepInput {
        action: value_of(&pairs, "action").to_owned(),
        values,
        uploads,
        note: Some(value_of(&pairs, "note").to_owned()).filter(|n| !n.trim().is_empty()),
        version: value_of(&pairs, "version").parse().ok(),
    };
    match state
        .app
        .apply_ledger_action(actor, &ledger, id, input, &caller.context)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/ledgers/cases/{ledger}/{id}?done=1")).into_response()),
        Err(error) => {
            let Some(errors) = invalid_messages(&error) else {
                return Err(WebError::page(error));
            };
            let detail = state
                .app
                .ledger_case(actor, &ledger, id, &caller.context)
                .await
                .map_err(WebError::page)?;
            let mut chrome = Chrome::new(&caller, "/ledgers", "ledgers.case");
            chrome.title = format!("{} #{id}", detail.summary.title);
            let mut response = render(&case_page(chrome, &ledger, &detail, errors, false))?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

// --- new case ------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "ledgers_new.html")]
struct NewPage {
    chrome: Chrome,
    post_href: String,
    heading: String,
    action: String,
    school: Option<(String, String)>,
    schools: Vec<(String, String)>,
    inputs: Vec<InputView>,
    errors: Vec<String>,
}

async fn new_page(
    state: &WebState,
    caller: &CallerExt,
    ledger: &str,
    school: Option<&str>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let form = state
        .app
        .new_case_form(actor, ledger, school)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(caller, "/ledgers", "ledgers.new");
    let t = chrome.t;
    chrome.title = format!(
        "{} · {}",
        t.pick(&form.ledger.title, &form.ledger.title_en),
        t.pick(&form.ledger.open_label, &form.ledger.open_label_en)
    );
    render(&NewPage {
        post_href: format!("/ledgers/cases/{ledger}/new"),
        heading: chrome.title.clone(),
        action: form.action.clone(),
        school: form.school.clone(),
        schools: form.schools.clone(),
        inputs: form.inputs.iter().map(|i| input_view(i, t)).collect(),
        errors,
        chrome,
    })
}

async fn new_form(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(ledger): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    new_page(&state, &caller, &ledger, q.school.as_deref(), Vec::new()).await
}

async fn create(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(ledger): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (pairs, uploads) = read_multipart(multipart).await?;
    let values = state
        .app
        .ledger_form_values(&ledger, &pairs)
        .map_err(WebError::page)?;
    let school = value_of(&pairs, "school").to_owned();
    let input = StepInput {
        action: value_of(&pairs, "action").to_owned(),
        values,
        uploads,
        note: Some(value_of(&pairs, "note").to_owned()).filter(|n| !n.trim().is_empty()),
        version: None,
    };
    match state
        .app
        .open_ledger_case(actor, &ledger, &school, input, &caller.context)
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/ledgers/cases/{ledger}/{id}?done=1")).into_response()),
        Err(error) => {
            let Some(errors) = invalid_messages(&error) else {
                return Err(WebError::page(error));
            };
            let mut response = new_page(
                &state,
                &caller,
                &ledger,
                Some(&school).filter(|s| !s.is_empty()).map(|s| s.as_str()),
                errors,
            )
            .await?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

async fn file(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (meta, bytes) = state
        .app
        .ledger_attachment(actor, &token, &caller.context)
        .await
        .map_err(WebError::page)?;
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, inline(&meta.file_name)),
        ],
        bytes,
    )
        .into_response())
}

/// `inline` with the server-generated (ASCII) name.
fn inline(name: &str) -> HeaderValue {
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    HeaderValue::from_str(&format!("inline; filename=\"{safe}\""))
        .unwrap_or(HeaderValue::from_static("inline"))
}

// --- school safety -------------------------------------------------------------------------------------------------

pub struct PointRow {
    pub number: usize,
    pub place: String,
    pub hazard: String,
    pub level: String,
    pub fill: &'static str,
    pub score: String,
    pub responsible: String,
    pub review: String,
    pub review_overdue: bool,
    pub placed: bool,
    pub case_href: String,
    pub card_href: String,
}

pub struct GuardRow {
    pub name: String,
    pub staff_no: String,
    pub certificate: String,
    pub expires: String,
    pub status: String,
    pub class: &'static str,
}

pub struct AreaRow {
    pub post_href: String,
    pub name: String,
    pub kind: String,
    pub camera: bool,
    pub police: bool,
    pub cameras: i64,
    pub since: String,
}

pub struct VettingRow {
    pub name: String,
    pub id_number: String,
    pub post: String,
    pub employer: String,
    pub checked_on: String,
    pub result: String,
    pub class: &'static str,
    pub valid_until: String,
}

fn area_label(code: &str, t: Tr) -> String {
    let (zh, en) = match code {
        "gate" => ("校门", "Gate"),
        "dormitory" => ("宿舍", "Dormitory"),
        "canteen" => ("食堂", "Canteen"),
        "lab" => ("实验室", "Laboratory"),
        "perimeter" => ("周界围墙", "Perimeter"),
        "playground" => ("操场", "Playground"),
        "boiler" => ("锅炉房", "Boiler room"),
        "storage" => ("危化品库房", "Storage"),
        _ => ("其他", "Other"),
    };
    t.pick(zh, en).to_owned()
}

fn post_label(code: &str, t: Tr) -> String {
    let (zh, en) = match code {
        "security" => ("保安", "Security"),
        "canteen" => ("食堂从业人员", "Canteen"),
        "cleaning" => ("保洁", "Cleaning"),
        "driver" => ("驾驶员", "Driver"),
        "contractor" => ("施工人员", "Contractor"),
        "tutor" => ("外聘教练", "External tutor"),
        _ => ("其他", "Other"),
    };
    t.pick(zh, en).to_owned()
}

const AREA_CODES: [&str; 9] = [
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
const POST_CODES: [&str; 7] = [
    "security",
    "canteen",
    "cleaning",
    "driver",
    "contractor",
    "tutor",
    "other",
];

#[derive(Template)]
#[template(path = "ledgers_school.html")]
struct SchoolPage {
    chrome: Chrome,
    code: String,
    plan_href: String,
    areas_href: String,
    vetting_href: String,
    name: String,
    district: String,
    map: String,
    has_plan: bool,
    points: Vec<PointRow>,
    unplaced: usize,
    guards: Vec<GuardRow>,
    certified: usize,
    areas: Vec<AreaRow>,
    camera_pct: String,
    police: usize,
    can_see_vetting: bool,
    vetting: Vec<VettingRow>,
    hazards: Vec<CaseRow>,
    /// (href, title, last run, due)
    checklists: Vec<(String, String, String, bool)>,
    can_edit: bool,
    can_patrol: bool,
    area_types: Vec<(String, String)>,
    posts: Vec<(String, String)>,
    today: String,
    done: bool,
}

async fn school(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let s = state
        .app
        .school_safety(actor, &code)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/ledgers", "ledgers.school");
    let t = chrome.t;
    chrome.title = s.name.clone();
    let map = svg::risk_map(
        &s.name,
        s.site_plan,
        &format!("/ledgers/schools/{}/site-plan", s.code),
        &s.points,
        !t.zh(),
        false,
    );
    let points = s
        .points
        .iter()
        .map(|p| PointRow {
            number: p.number,
            place: p.place.clone(),
            hazard: t.pick(&p.hazard_type, &p.hazard_type_en).to_owned(),
            level: t.pick(&p.level_label, &p.level_label_en).to_owned(),
            fill: svg::fill(&p.level),
            score: p.score.clone(),
            responsible: p.responsible.clone(),
            review: p.next_review.clone().unwrap_or_default(),
            review_overdue: p.review_overdue,
            placed: p.x.is_some() && p.y.is_some(),
            case_href: format!("/ledgers/cases/risk-points/{}", p.id),
            card_href: format!("/ledgers/cards/{}", p.id),
        })
        .collect::<Vec<_>>();
    let unplaced = points.iter().filter(|p| !p.placed).count();
    let guards = s
        .guards
        .iter()
        .map(|g| {
            let (status, class) = match g.status.as_str() {
                "valid" => (t.pick("有效", "valid"), "good"),
                "expiring" => (t.pick("30 天内到期", "expires within 30 days"), "warn"),
                "expired" => (t.pick("已过期", "expired"), "bad"),
                _ => (t.pick("无证", "no certificate"), "bad"),
            };
            GuardRow {
                name: g.name.clone(),
                staff_no: g.staff_no.clone(),
                certificate: g.certificate.clone(),
                expires: g.expires.clone(),
                status: status.to_owned(),
                class,
            }
        })
        .collect();
    let areas = s
        .key_areas
        .iter()
        .map(|a| AreaRow {
            post_href: format!("/ledgers/key-areas/{}", a.id),
            name: a.name.clone(),
            kind: area_label(&a.area_type, t),
            camera: a.camera,
            police: a.police_link,
            cameras: a.cameras,
            since: a.state_from.clone(),
        })
        .collect();
    let vetting = s
        .vetting
        .iter()
        .map(|v| {
            let (result, class) = match v.result.as_str() {
                "clear" => (t.pick("通过", "clear"), "good"),
                "flagged" => (t.pick("不宜聘用", "flagged"), "bad"),
                _ => (t.pick("审查中", "pending"), "warn"),
            };
            VettingRow {
                name: v.name.clone(),
                id_number: v.id_number.clone(),
                post: post_label(&v.post, t),
                employer: v.employer.clone(),
                checked_on: v.checked_on.clone(),
                result: result.to_owned(),
                class: if v.expired { "warn" } else { class },
                valid_until: v.valid_until.clone(),
            }
        })
        .collect();
    let camera_pct = percent(
        (!s.key_areas.is_empty())
            .then(|| 100.0 * s.key_areas_camera as f64 / s.key_areas.len() as f64),
    );
    render(&SchoolPage {
        plan_href: format!("/ledgers/schools/{}/site-plan", s.code),
        areas_href: format!("/ledgers/schools/{}/key-areas", s.code),
        vetting_href: format!("/ledgers/schools/{}/vetting", s.code),
        code: s.code.clone(),
        name: s.name.clone(),
        district: district_name(&s.district_code, t),
        map,
        has_plan: s.site_plan.is_some(),
        points,
        unplaced,
        guards,
        certified: s.certified_guards,
        areas,
        camera_pct,
        police: s.key_areas_police,
        can_see_vetting: s.can_see_vetting,
        vetting,
        hazards: s.hazards.iter().map(|c| case_row(c, t)).collect(),
        checklists: s
            .checklists
            .iter()
            .map(|c| {
                (
                    format!(
                        "/ledgers/checklists/{}/{}?school={}",
                        c.ledger, c.id, s.code
                    ),
                    t.pick(&c.title, &c.title_en).to_owned(),
                    c.last_run.clone().unwrap_or_else(|| "—".into()),
                    c.due,
                )
            })
            .collect(),
        can_edit: s.can_edit,
        can_patrol: s.can_patrol,
        area_types: AREA_CODES
            .iter()
            .map(|c| ((*c).to_owned(), area_label(c, t)))
            .collect(),
        posts: POST_CODES
            .iter()
            .map(|c| ((*c).to_owned(), post_label(c, t)))
            .collect(),
        today: s.today.clone(),
        done: flag(&q.done),
        chrome,
    })
}

async fn site_plan(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (content_type, bytes) = state
        .app
        .site_plan_image(actor, &code)
        .await
        .map_err(WebError::page)?;
    let content_type = HeaderValue::from_str(&content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

async fn upload_site_plan(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (_, uploads) = read_multipart(multipart).await?;
    let file = uploads.into_iter().next().ok_or(WebError::BadRequest {
        api: false,
        message: "请选择图片 / choose an image".into(),
    })?;
    state
        .app
        .upload_site_plan(actor, &code, &file.bytes, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/ledgers/schools/{code}?done=1")).into_response())
}

fn svg_response(svg: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml; charset=utf-8"),
        )],
        svg,
    )
        .into_response()
}

async fn map_svg(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let s = state
        .app
        .school_safety(actor, &code)
        .await
        .map_err(WebError::page)?;
    Ok(svg_response(svg::risk_map(
        &s.name,
        s.site_plan,
        &format!("/ledgers/schools/{}/site-plan", s.code),
        &s.points,
        caller.lang == crate::i18n::Lang::En,
        true,
    )))
}

#[derive(Template)]
#[template(path = "ledgers_print.html")]
struct PrintPage {
    chrome: Chrome,
    heading: String,
    back: String,
    svg_href: String,
    xlsx_href: String,
    svg: String,
}

async fn board(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let data = state
        .app
        .risk_board(actor, &code)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/ledgers", "ledgers.board");
    chrome.title = format!("{} · {}", data.name, chrome.t.s("ledgers.board"));
    render(&PrintPage {
        heading: chrome.title.clone(),
        back: format!("/ledgers/schools/{code}"),
        svg_href: format!("/ledgers/schools/{code}/board/svg"),
        xlsx_href: format!("/ledgers/schools/{code}/board/xlsx"),
        svg: svg::board(&data, &format!("/ledgers/schools/{code}/site-plan"), false),
        chrome,
    })
}

async fn board_svg(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let data = state
        .app
        .risk_board(actor, &code)
        .await
        .map_err(WebError::page)?;
    Ok(svg_response(svg::board(
        &data,
        &format!("/ledgers/schools/{code}/site-plan"),
        true,
    )))
}

fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (header::CONTENT_DISPOSITION, super::data::attachment(name)),
        ],
        bytes,
    )
        .into_response()
}

async fn board_xlsx(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (bytes, name) = state
        .app
        .risk_export_xlsx(actor, &code, None, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(xlsx_response(bytes, &name))
}

async fn card_page(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let data = state
        .app
        .risk_card(actor, id)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/ledgers", "ledgers.card");
    chrome.title = format!("{} · {}", data.point.place, chrome.t.s("ledgers.card"));
    render(&PrintPage {
        heading: chrome.title.clone(),
        back: format!("/ledgers/schools/{}", data.code),
        svg_href: format!("/ledgers/cards/{id}/svg"),
        xlsx_href: format!("/ledgers/cards/{id}/xlsx"),
        svg: svg::card(&data, false),
        chrome,
    })
}

async fn card_svg(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let data = state
        .app
        .risk_card(actor, id)
        .await
        .map_err(WebError::page)?;
    Ok(svg_response(svg::card(&data, true)))
}

async fn card_xlsx(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let data = state
        .app
        .risk_card(actor, id)
        .await
        .map_err(WebError::page)?;
    let (bytes, name) = state
        .app
        .risk_export_xlsx(actor, &data.code, Some(id), &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(xlsx_response(bytes, &name))
}

#[derive(Deserialize)]
struct KeyAreaForm {
    name: Option<String>,
    area_type: Option<String>,
    camera: Option<String>,
    police_link: Option<String>,
    cameras: Option<String>,
    retire: Option<String>,
}

impl KeyAreaForm {
    fn input(&self) -> KeyAreaInput {
        KeyAreaInput {
            name: self.name.clone().unwrap_or_default(),
            area_type: self.area_type.clone().unwrap_or_default(),
            camera: flag(&self.camera),
            police_link: flag(&self.police_link),
            cameras: self
                .cameras
                .as_deref()
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0),
        }
    }
}

async fn add_key_area(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<KeyAreaForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    state
        .app
        .add_key_area(actor, &code, &form.input(), &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/ledgers/schools/{code}?done=1#key-areas")).into_response())
}

async fn update_key_area(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<KeyAreaForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let code = state
        .app
        .update_key_area(
            actor,
            id,
            &form.input(),
            flag(&form.retire),
            &caller.context,
        )
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/ledgers/schools/{code}?done=1#key-areas")).into_response())
}

#[derive(Deserialize)]
struct VettingForm {
    name: String,
    id_number: String,
    post: String,
    employer: Option<String>,
    checked_on: String,
    result: String,
    valid_until: Option<String>,
    note: Option<String>,
}

async fn add_vetting(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<VettingForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    state
        .app
        .add_vetting(
            actor,
            &code,
            &VettingInput {
                name: form.name,
                id_number: form.id_number,
                post: form.post,
                employer: form.employer.unwrap_or_default(),
                checked_on: form.checked_on,
                result: form.result,
                valid_until: form.valid_until.unwrap_or_default(),
                note: form.note.unwrap_or_default(),
            },
            &caller.context,
        )
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/ledgers/schools/{code}?done=1#vetting")).into_response())
}

// --- checklists (patrols) ---------------------------------------------------------------------------------------------

pub struct ItemView {
    pub item: String,
    pub text: String,
    /// (value, label, selected)
    pub severities: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "ledgers_checklist.html")]
struct ChecklistPage {
    chrome: Chrome,
    heading: String,
    school: String,
    school_code: String,
    post_href: String,
    items: Vec<ItemView>,
    errors: Vec<String>,
    result: Option<RunSummary>,
}

/// A recorded run: (links to the cases opened, passed, failed, not applicable).
type RunSummary = (Vec<(String, i64)>, usize, usize, usize);

async fn checklist_page(
    state: &WebState,
    caller: &CallerExt,
    ledger: &str,
    checklist: &str,
    school: &str,
    errors: Vec<String>,
    result: Option<RunSummary>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let form = state
        .app
        .checklist_form(actor, ledger, checklist, school)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(caller, "/ledgers", "ledgers.checklist");
    let t = chrome.t;
    chrome.title = t.pick(&form.title, &form.title_en).to_owned();
    let items = form
        .items
        .iter()
        .map(|i| ItemView {
            item: i.item.clone(),
            text: t.pick(&i.text, &i.text_en).to_owned(),
            severities: form
                .severities
                .iter()
                .map(|(v, zh, en, days)| {
                    (
                        v.clone(),
                        format!(
                            "{}（{} {}）",
                            t.pick(zh, en),
                            days,
                            t.pick("天内整改", "days")
                        ),
                        *v == i.severity,
                    )
                })
                .collect(),
        })
        .collect();
    render(&ChecklistPage {
        heading: chrome.title.clone(),
        school: form.school_name.clone(),
        school_code: form.school_code.clone(),
        post_href: format!("/ledgers/checklists/{ledger}/{checklist}"),
        items,
        errors,
        result,
        chrome,
    })
}

async fn checklist_form(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((ledger, checklist)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let school = match &actor.scope {
        edu_app::Scope::Institution { code, .. } => code.clone(),
        _ => q.school.clone().unwrap_or_default(),
    };
    checklist_page(
        &state,
        &caller,
        &ledger,
        &checklist,
        &school,
        Vec::new(),
        None,
    )
    .await
}

async fn checklist_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((ledger, checklist)): Path<(String, String)>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (pairs, uploads) = read_multipart(multipart).await?;
    let school = value_of(&pairs, "school").to_owned();
    let items: Vec<ChecklistItemInput> = pairs
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("outcome_")
                .map(|item| (item.to_owned(), v.clone()))
        })
        .map(|(item, outcome)| ChecklistItemInput {
            note: value_of(&pairs, &format!("note_{item}")).to_owned(),
            severity: value_of(&pairs, &format!("severity_{item}")).to_owned(),
            location: value_of(&pairs, &format!("location_{item}")).to_owned(),
            outcome,
            item,
            ..ChecklistItemInput::default()
        })
        .collect();
    let input = ChecklistRunInput {
        items,
        location: value_of(&pairs, "location").to_owned(),
        uploads,
    };
    match state
        .app
        .run_checklist(actor, &ledger, &checklist, &school, &input, &caller.context)
        .await
    {
        Ok(result) => {
            let cases = result
                .cases
                .iter()
                .map(|id| (format!("/ledgers/cases/{ledger}/{id}"), *id))
                .collect();
            checklist_page(
                &state,
                &caller,
                &ledger,
                &checklist,
                &school,
                Vec::new(),
                Some((cases, result.passed, result.failed, result.not_applicable)),
            )
            .await
        }
        Err(error) => {
            let Some(errors) = invalid_messages(&error) else {
                return Err(WebError::page(error));
            };
            let mut response =
                checklist_page(&state, &caller, &ledger, &checklist, &school, errors, None).await?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// Uploads are bounded by the router's body limit (10 MiB + form overhead), not axum's 2 MB default.
fn upload(handler: axum::routing::MethodRouter<WebState>) -> axum::routing::MethodRouter<WebState> {
    handler.layer(DefaultBodyLimit::disable())
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .page("GET", "/ledgers", READ, get(home))
        .page("GET", "/ledgers/cases/{ledger}", READ, get(list))
        .page("GET", "/ledgers/cases/{ledger}/new", WRITE, get(new_form))
        .page(
            "POST",
            "/ledgers/cases/{ledger}/new",
            WRITE,
            upload(post(create)),
        )
        .page("GET", "/ledgers/cases/{ledger}/{id}", READ, get(case))
        .page(
            "POST",
            "/ledgers/cases/{ledger}/{id}",
            WRITE,
            upload(post(act)),
        )
        .page("GET", "/ledgers/files/{token}", READ, get(file))
        .page("GET", "/ledgers/schools/{code}", READ, get(school))
        .page(
            "GET",
            "/ledgers/schools/{code}/site-plan",
            READ,
            get(site_plan),
        )
        .page(
            "POST",
            "/ledgers/schools/{code}/site-plan",
            WRITE,
            upload(post(upload_site_plan)),
        )
        .page("GET", "/ledgers/schools/{code}/map", READ, get(map_svg))
        .page("GET", "/ledgers/schools/{code}/board", READ, get(board))
        .page(
            "GET",
            "/ledgers/schools/{code}/board/svg",
            READ,
            get(board_svg),
        )
        .page(
            "GET",
            "/ledgers/schools/{code}/board/xlsx",
            READ,
            get(board_xlsx),
        )
        .page(
            "POST",
            "/ledgers/schools/{code}/key-areas",
            WRITE,
            post(add_key_area),
        )
        .page(
            "POST",
            "/ledgers/schools/{code}/vetting",
            WRITE,
            post(add_vetting),
        )
        .page(
            "POST",
            "/ledgers/key-areas/{id}",
            WRITE,
            post(update_key_area),
        )
        .page("GET", "/ledgers/cards/{id}", READ, get(card_page))
        .page("GET", "/ledgers/cards/{id}/svg", READ, get(card_svg))
        .page("GET", "/ledgers/cards/{id}/xlsx", READ, get(card_xlsx))
        .page(
            "GET",
            "/ledgers/checklists/{ledger}/{checklist}",
            WRITE,
            get(checklist_form),
        )
        .page(
            "POST",
            "/ledgers/checklists/{ledger}/{checklist}",
            WRITE,
            upload(post(checklist_submit)),
        )
}
