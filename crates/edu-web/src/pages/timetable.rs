//! 选课走班 (issue 6): course choices, combination counts, solving, timetable views and exports.
//!
//! Pages live under `/timetable`. Choice entry is a per-class form that works on a phone; the combination chart
//! is server-rendered SVG; solving runs in a background task (the solver itself on a blocking thread) while the
//! run page refreshes itself; grids, print pages and .xlsx exports read the stored run.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use edu_app::timetables::{
    ChoiceImportReport, ChoiceInput, Combination, GridKind, GridView, RECHOSEN, RunView,
    SolveRequest, TRACKS, TimetableRunSummary, TimetableSettings, WindowInfo, entities, grid_of,
    lesson_text,
};
use edu_app::{AppError, FieldError, Permission};
use serde::Deserialize;

use super::{CallerExt, Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::i18n::Tr;
use crate::routes::{Access, Routes};

const VIEW: Access =
    Access::AnyPermission(&[Permission::SubmitReports, Permission::RunAllocations]);
const WEEKDAYS: [(&str, &str); 7] = [
    ("周一", "Mon"),
    ("周二", "Tue"),
    ("周三", "Wed"),
    ("周四", "Thu"),
    ("周五", "Fri"),
    ("周六", "Sat"),
    ("周日", "Sun"),
];

fn status_label(status: &str, t: Tr) -> &'static str {
    match status {
        "running" => t.s("timetable.status.running"),
        "valid" => t.s("timetable.status.valid"),
        "invalid" => t.s("timetable.status.invalid"),
        "infeasible" => t.s("timetable.status.infeasible"),
        "not_found" => t.s("timetable.status.not_found"),
        _ => t.s("timetable.status.failed"),
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "valid" => "good",
        "running" => "warn",
        _ => "bad",
    }
}

fn china_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            edu_model::china_time::CHINA_OFFSET
                .to_datetime(t)
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn seconds(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "—".to_owned()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn combination_label(c: &Combination, t: Tr) -> String {
    if t.zh() { c.short_zh() } else { c.short_en() }
}

fn kind_label(kind: GridKind, t: Tr) -> &'static str {
    t.pick(kind.label_zh(), kind.label_en())
}

fn day_label(day: u32, t: Tr) -> String {
    WEEKDAYS
        .get(day as usize)
        .map(|d| t.pick(d.0, d.1).to_owned())
        .unwrap_or_else(|| format!("{}", day + 1))
}

fn unprocessable(mut response: Response) -> Response {
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
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
            (header::CONTENT_DISPOSITION, attachment(name)),
        ],
        bytes,
    )
        .into_response()
}

/// RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name.
fn attachment(file_name: &str) -> HeaderValue {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = super::registry::url_encode(file_name);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

// --- overview -----------------------------------------------------------------------------------------------

pub struct WindowRow {
    pub id: i64,
    pub school: String,
    pub code: String,
    pub grade: &'static str,
    pub title: String,
    pub dates: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub progress: String,
}

fn window_row(w: &WindowInfo, t: Tr) -> WindowRow {
    let (state, state_class) = if w.open_now {
        (t.s("timetable.window.open"), "good")
    } else if w.closed {
        (t.s("timetable.window.closed"), "")
    } else {
        (t.s("timetable.window.upcoming"), "warn")
    };
    WindowRow {
        id: w.record.id,
        school: w.record.institution_name.clone(),
        code: w.record.institution_code.clone(),
        grade: match w.record.grade {
            10 => t.s("timetable.grade.10"),
            11 => t.s("timetable.grade.11"),
            _ => t.s("timetable.grade.12"),
        },
        title: w.record.title.clone(),
        dates: format!("{} – {}", w.record.opens_on, w.record.closes_on),
        state,
        state_class,
        progress: format!(
            "{} / {}（{}）",
            w.record.choices,
            w.pupils,
            percent(w.record.choices, w.pupils)
        ),
    }
}

#[derive(Template)]
#[template(path = "timetable_index.html")]
struct IndexPage {
    chrome: Chrome,
    windows: Vec<WindowRow>,
    school: Option<(String, String)>,
    title: String,
    opens_on: String,
    closes_on: String,
    errors: Vec<FieldError>,
}

async fn index_page(
    state: &WebState,
    caller: &CallerExt,
    form: Option<(OpenForm, Vec<FieldError>)>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let chrome = Chrome::new(caller, "/timetable", "timetable.title");
    let overview = state
        .app
        .timetable_overview(actor)
        .await
        .map_err(WebError::page)?;
    let t = chrome.t;
    let windows = overview.windows.iter().map(|w| window_row(w, t)).collect();
    let today: jiff::civil::Date = overview.today.parse().unwrap_or_default();
    let later = today
        .checked_add(jiff::Span::new().days(14))
        .unwrap_or(today);
    let (title, opens_on, closes_on, errors) = match form {
        Some((f, errors)) => (f.title, f.opens_on, f.closes_on, errors),
        None => (
            format!("{}级选科", today.year()),
            today.to_string(),
            later.to_string(),
            Vec::new(),
        ),
    };
    let failed = !errors.is_empty();
    let response = render(&IndexPage {
        chrome,
        windows,
        school: overview.can_open_for,
        title,
        opens_on,
        closes_on,
        errors,
    })?;
    Ok(if failed {
        unprocessable(response)
    } else {
        response
    })
}

async fn index(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    index_page(&state, &caller, None).await
}

#[derive(Deserialize, Clone)]
struct OpenForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
}

async fn open_window(
    State(state): State<WebState>,
    caller: CallerExt,
    Form(form): Form<OpenForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let grade = form.grade.trim().parse::<i64>().unwrap_or(0);
    match state
        .app
        .open_choice_window(
            actor,
            grade,
            &form.title,
            &form.opens_on,
            &form.closes_on,
            &caller.context,
        )
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/timetable/windows/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => index_page(&state, &caller, Some((form, errors))).await,
        Err(e) => Err(WebError::page(e)),
    }
}

// --- window dashboard ---------------------------------------------------------------------------------------

/// One bar of the combination chart (SVG coordinates).
pub struct Bar {
    pub label: String,
    pub names: String,
    pub count: i64,
    pub share: String,
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    pub value_x: u32,
    pub fill: &'static str,
}

pub struct Chart {
    pub height: u32,
    pub bars: Vec<Bar>,
    pub axis_x: u32,
}

const CHART_LABEL: u32 = 76;
const CHART_BAR_MAX: u32 = 440;
const CHART_ROW: u32 = 28;

fn chart(counts: &[(Combination, i64)], total: i64, t: Tr) -> Chart {
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (c, n))| {
            let y = 8 + i as u32 * CHART_ROW;
            let width = ((*n as f64 / max as f64) * f64::from(CHART_BAR_MAX)).round() as u32;
            Bar {
                label: combination_label(c, t),
                names: c.names_zh(),
                count: *n,
                share: percent(*n, total),
                y,
                text_y: y + 15,
                width,
                value_x: CHART_LABEL + width + 6,
                fill: if c.track() == "phy" {
                    "#2f6fd0"
                } else {
                    "#f28e2b"
                },
            }
        })
        .collect();
    Chart {
        height: 16 + counts.len() as u32 * CHART_ROW,
        bars,
        axis_x: CHART_LABEL,
    }
}

pub struct RunRow {
    pub id: i64,
    pub started: String,
    pub by: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub seconds: String,
    pub classes: String,
    pub hard: String,
    pub students: i64,
    pub hinted: bool,
}

fn run_row(r: &TimetableRunSummary, t: Tr) -> RunRow {
    RunRow {
        id: r.id,
        started: china_time(r.started_at),
        by: r.started_by.clone(),
        status: status_label(&r.status, t),
        status_class: status_class(&r.status),
        seconds: r.solve_ms.map(seconds).unwrap_or_default(),
        classes: match (r.teaching_classes, r.lower_bound) {
            (Some(c), Some(b)) => format!("{c} / {b}"),
            (Some(c), None) => c.to_string(),
            _ => String::new(),
        },
        hard: r.hard_violations.map(|h| h.to_string()).unwrap_or_default(),
        students: r.students,
        hinted: r.hint_run_id.is_some(),
    }
}

#[derive(Template)]
#[template(path = "timetable_window.html")]
struct WindowPage {
    chrome: Chrome,
    row: WindowRow,
    window_id: i64,
    pupils: i64,
    entered: i64,
    missing: i64,
    physics_share: String,
    chart: Chart,
    classes: Vec<edu_app::timetables::ClassProgress>,
    runs: Vec<RunRow>,
    current_run: Option<i64>,
    can_enter: bool,
    can_manage: bool,
    can_export: bool,
    opens_on: String,
    closes_on: String,
    flash: Option<String>,
    budget: u32,
    seed: u64,
    has_valid: bool,
    sheet_action: String,
    solve_action: String,
    dates_action: String,
}

#[derive(Deserialize, Default)]
struct FlashQuery {
    saved: Option<usize>,
    dates: Option<u8>,
    settings: Option<u8>,
}

async fn window(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<FlashQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/timetable", "timetable.window.title");
    let t = chrome.t;
    let d = state
        .app
        .window_dashboard(actor, id)
        .await
        .map_err(WebError::page)?;
    let flash = if let Some(n) = query.saved {
        Some(format!("{} {n}", t.s("timetable.flash.saved")))
    } else if query.dates.is_some() {
        Some(t.s("timetable.flash.dates").to_owned())
    } else if query.settings.is_some() {
        Some(t.s("timetable.flash.settings").to_owned())
    } else {
        None
    };
    let runs: Vec<RunRow> = d.runs.iter().map(|r| run_row(r, t)).collect();
    render(&WindowPage {
        row: window_row(&d.window, t),
        window_id: id,
        pupils: d.window.pupils,
        entered: d.entered,
        missing: (d.window.pupils - d.entered).max(0),
        physics_share: percent(d.physics, d.entered),
        chart: chart(&d.counts, d.entered, t),
        classes: d.classes.clone(),
        runs,
        current_run: d.current_run,
        can_enter: d.can_enter,
        can_manage: d.can_manage,
        can_export: actor.can(Permission::ExportData) && d.names_visible,
        opens_on: d.window.record.opens_on.clone(),
        closes_on: d.window.record.closes_on.clone(),
        flash,
        budget: d.window.settings.budget_seconds,
        seed: d.window.settings.seed,
        has_valid: d.current_run.is_some(),
        sheet_action: chrome.action(&format!("/timetable/windows/{id}/sheet")),
        solve_action: chrome.action(&format!("/timetable/windows/{id}/solve")),
        dates_action: chrome.action(&format!("/timetable/windows/{id}/dates")),
        chrome,
    })
}

#[derive(Deserialize)]
struct DatesForm {
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
}

async fn window_dates(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<DatesForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    state
        .app
        .set_window_dates(actor, id, &form.opens_on, &form.closes_on, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/timetable/windows/{id}?dates=1")).into_response())
}

// --- choice entry -------------------------------------------------------------------------------------------

/// A radio button or checkbox of the entry form.
pub struct Opt {
    pub value: &'static str,
    pub full: &'static str,
    pub checked: bool,
}

pub struct EntryRow {
    pub pupil_id: i64,
    pub name: String,
    pub tracks: Vec<Opt>,
    pub no_track: bool,
    pub electives: Vec<Opt>,
    pub current: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "timetable_entry.html")]
struct EntryPage {
    chrome: Chrome,
    window_id: i64,
    window_title: String,
    class_name: String,
    rows: Vec<EntryRow>,
    editable: bool,
    open_now: bool,
    entered: usize,
    track_heads: Vec<(&'static str, &'static str)>,
    elective_heads: Vec<(&'static str, &'static str)>,
    errors: usize,
    flash: Option<String>,
    form_action: String,
}

#[derive(Deserialize)]
struct ClassQuery {
    class: Option<i64>,
    saved: Option<usize>,
}

fn options(
    list: &[(&'static str, &'static str, &'static str, &'static str)],
    checked: impl Fn(&str) -> bool,
    t: Tr,
) -> Vec<Opt> {
    list.iter()
        .map(|(id, zh, en, _)| Opt {
            value: id,
            full: if t.zh() { zh } else { en },
            checked: checked(id),
        })
        .collect()
}

fn heads(
    list: &[(&'static str, &'static str, &'static str, &'static str)],
    t: Tr,
) -> Vec<(&'static str, &'static str)> {
    list.iter()
        .map(|(_, zh, en, short)| {
            if t.zh() {
                (*short, *zh)
            } else {
                (&en[..3], *en)
            }
        })
        .collect()
}

async fn entry_page(
    state: &WebState,
    caller: &CallerExt,
    id: i64,
    class: i64,
    submitted: Option<(&BTreeMap<i64, ChoiceInput>, &[FieldError])>,
    saved: Option<usize>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let chrome = Chrome::new(caller, "/timetable", "timetable.entry.title");
    let t = chrome.t;
    let form = state
        .app
        .class_choices(actor, id, class)
        .await
        .map_err(WebError::page)?;
    let rows: Vec<EntryRow> = form
        .pupils
        .iter()
        .map(|p| {
            let (track, electives): (String, Vec<String>) =
                match submitted.and_then(|(s, _)| s.get(&p.pupil_id)) {
                    Some(input) => (input.track.clone(), input.electives.clone()),
                    None if submitted.is_some() => (String::new(), Vec::new()),
                    None => match p.choice {
                        Some(c) => (
                            c.track().to_owned(),
                            c.electives().iter().map(|e| (*e).to_owned()).collect(),
                        ),
                        None => (String::new(), Vec::new()),
                    },
                };
            let error = submitted.and_then(|(_, errors)| {
                errors
                    .iter()
                    .find(|e| {
                        e.field == format!("sel.{}", p.pupil_id)
                            || e.field == format!("track.{}", p.pupil_id)
                    })
                    .map(|e| e.reason.clone())
            });
            EntryRow {
                pupil_id: p.pupil_id,
                name: p.name.clone(),
                tracks: options(&TRACKS, |id| id == track, t),
                no_track: track.is_empty(),
                electives: options(&RECHOSEN, |id| electives.iter().any(|e| e == id), t),
                current: p
                    .choice
                    .map(|c| combination_label(&c, t))
                    .unwrap_or_default(),
                error,
            }
        })
        .collect();
    let errors = submitted.map(|(_, e)| e.len()).unwrap_or(0);
    let entered = form.pupils.iter().filter(|p| p.choice.is_some()).count();
    let response = render(&EntryPage {
        window_id: id,
        window_title: form.window.record.title.clone(),
        class_name: form.class_name.clone(),
        rows,
        editable: form.editable,
        open_now: form.window.open_now,
        entered,
        track_heads: heads(&TRACKS, t),
        elective_heads: heads(&RECHOSEN, t),
        errors,
        flash: saved.map(|n| format!("{} {n}", t.s("timetable.flash.saved"))),
        form_action: chrome.action(&format!("/timetable/windows/{id}/entry?class={class}")),
        chrome,
    })?;
    Ok(if errors > 0 {
        unprocessable(response)
    } else {
        response
    })
}

async fn entry(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<ClassQuery>,
) -> Result<Response, WebError> {
    let class = query.class.ok_or(WebError::NotFound { api: false })?;
    entry_page(&state, &caller, id, class, None, query.saved).await
}

/// Reads `track.<id>` / `sel.<id>` pairs (checkboxes repeat their key).
fn entry_inputs(pairs: &[(String, String)]) -> BTreeMap<i64, ChoiceInput> {
    let mut inputs: BTreeMap<i64, ChoiceInput> = BTreeMap::new();
    for (key, value) in pairs {
        if let Some(id) = key.strip_prefix("track.").and_then(|i| i.parse().ok()) {
            inputs.entry(id).or_default().track = value.clone();
        } else if let Some(id) = key.strip_prefix("sel.").and_then(|i| i.parse().ok()) {
            inputs.entry(id).or_default().electives.push(value.clone());
        } else if let Some(id) = key.strip_prefix("row.").and_then(|i| i.parse().ok()) {
            inputs.entry(id).or_default();
        }
    }
    inputs
}

async fn entry_save(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<ClassQuery>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let class = query.class.ok_or(WebError::NotFound { api: false })?;
    let inputs = entry_inputs(&pairs);
    match state
        .app
        .set_class_choices(actor, id, class, &inputs, &caller.context)
        .await
    {
        Ok(n) => Ok(Redirect::to(&format!(
            "/timetable/windows/{id}/entry?class={class}&saved={n}"
        ))
        .into_response()),
        Err(AppError::Invalid(errors)) if errors.iter().any(|e| e.field.contains('.')) => {
            entry_page(&state, &caller, id, class, Some((&inputs, &errors)), None).await
        }
        Err(e) => Err(WebError::page(e)),
    }
}

// --- import -------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "timetable_import.html")]
struct ImportPage {
    chrome: Chrome,
    window_id: i64,
    window_title: String,
    report: Option<ChoiceImportReport>,
    error: Option<String>,
    can_export: bool,
    upload_action: String,
    sheet_action: String,
}

async fn import_page_for(
    state: &WebState,
    caller: &CallerExt,
    id: i64,
    report: Option<ChoiceImportReport>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let chrome = Chrome::new(caller, "/timetable", "timetable.import.title");
    let d = state
        .app
        .window_dashboard(actor, id)
        .await
        .map_err(WebError::page)?;
    if !d.can_manage {
        return Err(WebError::Forbidden { api: false });
    }
    let failed = error.is_some() || report.as_ref().is_some_and(|r| !r.committed);
    let response = render(&ImportPage {
        window_id: id,
        window_title: d.window.record.title.clone(),
        report,
        error,
        can_export: actor.can(Permission::ExportData),
        upload_action: chrome.action(&format!("/timetable/windows/{id}/import")),
        sheet_action: chrome.action(&format!("/timetable/windows/{id}/sheet")),
        chrome,
    })?;
    Ok(if failed {
        unprocessable(response)
    } else {
        response
    })
}

async fn import_page(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    import_page_for(&state, &caller, id, None, None).await
}

async fn import_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let bad = |message: &str| WebError::BadRequest {
        api: false,
        message: message.to_owned(),
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| bad("上传失败 / upload failed"))?
    {
        if field.name() == Some("file") {
            let name = field
                .file_name()
                .unwrap_or("upload")
                .chars()
                .take(120)
                .collect::<String>();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| bad("文件过大或上传中断 / file too large or upload interrupted"))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return import_page_for(
            &state,
            &caller,
            id,
            None,
            Some("请选择文件 / choose a file".to_owned()),
        )
        .await;
    };
    match state
        .app
        .import_choices(actor, id, &bytes, &name, &caller.context)
        .await
    {
        Ok(report) => import_page_for(&state, &caller, id, Some(report), None).await,
        Err(AppError::Invalid(errors)) => {
            let text = errors
                .iter()
                .map(|e| e.reason.clone())
                .collect::<Vec<_>>()
                .join("；");
            import_page_for(&state, &caller, id, None, Some(text)).await
        }
        Err(e) => Err(WebError::page(e)),
    }
}

async fn choice_sheet(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (bytes, name) = state
        .app
        .choice_sheet(actor, id, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(xlsx_response(bytes, &name))
}

// --- settings -----------------------------------------------------------------------------------------------

pub struct TeacherRow {
    pub staff_no: String,
    pub name: String,
    pub registry_subjects: String,
    pub subjects: String,
    pub include: bool,
    pub max_periods: String,
}

#[derive(Template)]
#[template(path = "timetable_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    window_id: i64,
    window_title: String,
    s: TimetableSettings,
    blocked: String,
    extra_rooms: String,
    teachers: Vec<TeacherRow>,
    unmapped: usize,
    vacancies: Vec<(String, String, u32)>,
    errors: Vec<FieldError>,
    form_action: String,
}

fn blocked_text(blocked: &[(u32, u32)]) -> String {
    blocked
        .iter()
        .map(|(d, p)| format!("{}-{}", d + 1, p + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn settings_page_for(
    state: &WebState,
    caller: &CallerExt,
    id: i64,
    submitted: Option<(TimetableSettings, Vec<FieldError>)>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let chrome = Chrome::new(caller, "/timetable", "timetable.settings.title");
    let (window, teachers) = state
        .app
        .timetable_teachers(actor, id)
        .await
        .map_err(WebError::page)?;
    let (s, errors) = submitted.unwrap_or_else(|| (window.settings.clone(), Vec::new()));
    let names: BTreeMap<String, String> = s
        .compulsory
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .chain(
            TRACKS
                .iter()
                .chain(RECHOSEN.iter())
                .map(|x| (x.0.to_owned(), x.1.to_owned())),
        )
        .collect();
    let unmapped = teachers.iter().filter(|(_, ids)| ids.is_empty()).count();
    let rows = teachers
        .iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(t, ids)| {
            let setting = s.teachers.get(&t.staff_no).cloned().unwrap_or_default();
            TeacherRow {
                staff_no: t.staff_no.clone(),
                name: t.name.clone(),
                registry_subjects: t.subjects.clone(),
                subjects: ids
                    .iter()
                    .map(|i| names.get(*i).cloned().unwrap_or_else(|| (*i).to_owned()))
                    .collect::<Vec<_>>()
                    .join("、"),
                include: setting.include,
                max_periods: setting
                    .max_periods
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let vacancies = names
        .iter()
        .map(|(id, name)| {
            (
                id.clone(),
                name.clone(),
                s.vacancies.get(id).copied().unwrap_or(0),
            )
        })
        .collect();
    let failed = !errors.is_empty();
    let response = render(&SettingsPage {
        form_action: chrome.action(&format!("/timetable/windows/{id}/settings")),
        chrome,
        window_id: id,
        window_title: window.record.title.clone(),
        blocked: blocked_text(&s.blocked),
        extra_rooms: s.extra_rooms.map(|n| n.to_string()).unwrap_or_default(),
        teachers: rows,
        unmapped,
        vacancies,
        errors,
        s,
    })?;
    Ok(if failed {
        unprocessable(response)
    } else {
        response
    })
}

async fn settings_page(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    settings_page_for(&state, &caller, id, None).await
}

/// Reads the settings form over the stored settings; number fields that do not parse are named.
fn settings_from_form(
    base: &TimetableSettings,
    pairs: &[(String, String)],
) -> (TimetableSettings, Vec<FieldError>) {
    let mut s = base.clone();
    let mut errors = Vec::new();
    let mut number = |field: &str, value: &str| -> Option<u32> {
        match value.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    "请填写非负整数 / a whole number is required",
                ));
                None
            }
        }
    };
    let mut included: Vec<String> = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    let mut blocked_field = None;
    let mut seed_error = false;
    for (key, value) in pairs {
        match key.as_str() {
            "days" => s.days = number(key, value).unwrap_or(s.days),
            "periods_per_day" => {
                s.periods_per_day = number(key, value).unwrap_or(s.periods_per_day)
            }
            "selective_periods" => {
                s.selective_periods = number(key, value).unwrap_or(s.selective_periods)
            }
            "proficiency_periods" => {
                s.proficiency_periods = number(key, value).unwrap_or(s.proficiency_periods)
            }
            "max_class_size" => s.max_class_size = number(key, value).unwrap_or(s.max_class_size),
            "teacher_max_periods" => {
                s.teacher_max_periods = number(key, value).unwrap_or(s.teacher_max_periods)
            }
            "seed" => match value.trim().parse::<u64>() {
                Ok(n) => s.seed = n,
                Err(_) => seed_error = true,
            },
            "budget_seconds" => s.budget_seconds = number(key, value).unwrap_or(s.budget_seconds),
            "extra_rooms" => {
                s.extra_rooms = if value.trim().is_empty() {
                    None
                } else {
                    number(key, value)
                }
            }
            "blocked" => blocked_field = Some(value.clone()),
            _ => {
                if let Some(id) = key.strip_prefix("c.") {
                    let n = number(key, value);
                    if let (Some(c), Some(n)) = (s.compulsory.iter_mut().find(|c| c.id == id), n) {
                        c.periods = n;
                    }
                } else if let Some(subject) = key.strip_prefix("vac.") {
                    if let Some(n) = number(key, value) {
                        if n == 0 {
                            s.vacancies.remove(subject);
                        } else {
                            s.vacancies.insert(subject.to_owned(), n);
                        }
                    }
                } else if let Some(staff) = key.strip_prefix("t.") {
                    listed.push(staff.to_owned());
                } else if let Some(staff) = key.strip_prefix("inc.") {
                    included.push(staff.to_owned());
                } else if let Some(staff) = key.strip_prefix("max.") {
                    let max = if value.trim().is_empty() {
                        None
                    } else {
                        number(key, value)
                    };
                    s.teachers.entry(staff.to_owned()).or_default().max_periods = max;
                }
            }
        }
    }
    if seed_error {
        errors.push(FieldError::new(
            "seed",
            "请填写非负整数 / a whole number is required",
        ));
    }
    for staff in listed {
        let entry = s.teachers.entry(staff.clone()).or_default();
        entry.include = included.contains(&staff);
    }
    // Only differences from the default are kept.
    s.teachers
        .retain(|_, t| *t != edu_app::timetables::TeacherSetting::default());
    if let Some(text) = blocked_field {
        let mut slots = Vec::new();
        for part in text
            .split([',', '，', ';', '；', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let parsed = part.split_once('-').and_then(|(d, p)| {
                Some((d.trim().parse::<u32>().ok()?, p.trim().parse::<u32>().ok()?))
            });
            match parsed {
                Some((d, p)) if d >= 1 && p >= 1 => slots.push((d - 1, p - 1)),
                _ => errors.push(FieldError::new(
                    "blocked",
                    format!("“{part}”应写成 星期-节次，如 1-1 / write day-period, e.g. 1-1"),
                )),
            }
        }
        slots.sort_unstable();
        slots.dedup();
        s.blocked = slots;
    }
    (s, errors)
}

async fn settings_save(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (window, _) = state
        .app
        .timetable_teachers(actor, id)
        .await
        .map_err(WebError::page)?;
    let (settings, mut errors) = settings_from_form(&window.settings, &pairs);
    if errors.is_empty() {
        match state
            .app
            .set_timetable_settings(actor, id, &settings, &caller.context)
            .await
        {
            Ok(()) => {
                return Ok(
                    Redirect::to(&format!("/timetable/windows/{id}?settings=1")).into_response()
                );
            }
            Err(AppError::Invalid(more)) => errors = more,
            Err(e) => return Err(WebError::page(e)),
        }
    }
    settings_page_for(&state, &caller, id, Some((settings, errors))).await
}

// --- solving ------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SolveForm {
    seed: Option<String>,
    budget_seconds: Option<String>,
    allow_missing: Option<String>,
    keep_previous: Option<String>,
}

async fn solve(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<SolveForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let request = SolveRequest {
        seed: form.seed.and_then(|s| s.trim().parse().ok()),
        budget_seconds: form.budget_seconds.and_then(|s| s.trim().parse().ok()),
        allow_missing: form.allow_missing.is_some(),
        keep_previous: form.keep_previous.is_some(),
    };
    let run = state
        .app
        .start_timetable_run(actor, id, &request, &caller.context)
        .await
        .map_err(WebError::page)?;
    // The solve continues after this response; the run page shows its progress and result.
    let app = state.app.clone();
    let actor = actor.clone();
    let context = caller.context.clone();
    tokio::spawn(async move {
        if let Err(e) = app.run_timetable(&actor, run, &context).await {
            tracing::error!(error = %e, run, "timetable run failed");
        }
    });
    Ok(Redirect::to(&format!("/timetable/runs/{run}")).into_response())
}

// --- runs and views -----------------------------------------------------------------------------------------

pub struct Tile {
    pub value: String,
    pub label: &'static str,
}

pub struct GroupRow {
    pub subject: String,
    pub level: &'static str,
    pub demand: u64,
    pub classes: u64,
    pub lower_bound: u64,
    pub sizes: String,
    pub at_bound: bool,
}

pub struct ShortageRow {
    pub text: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "timetable_run.html")]
struct RunPage {
    chrome: Chrome,
    run_id: i64,
    window_id: i64,
    window_title: String,
    school: String,
    status: &'static str,
    status_class: &'static str,
    running: bool,
    elapsed: String,
    budget: i64,
    started: String,
    started_by: String,
    note: String,
    tiles: Vec<Tile>,
    stability: Option<(String, String)>,
    groups: Vec<GroupRow>,
    shortages: Vec<ShortageRow>,
    summary: String,
    violations: Vec<String>,
    more_violations: usize,
    has_solution: bool,
    classes: Vec<(String, String)>,
    teachers: Vec<(String, String)>,
    rooms: Vec<(String, String)>,
    can_manage: bool,
    can_export: bool,
    valid: bool,
    export_action: String,
    solve_action: String,
}

fn shortage_text(resource: &str, needed: u64, available: u64, t: Tr) -> String {
    let (what, rest) = resource.split_once(':').unwrap_or((resource, ""));
    let subject = edu_app::timetables::subject_names(rest)
        .map(|(zh, en)| t.pick(zh, en).to_owned())
        .unwrap_or_else(|| rest.to_owned());
    let amounts = format!(
        "{} {needed}，{} {available}",
        t.s("timetable.short.needed"),
        t.s("timetable.short.available")
    );
    match what {
        "teachers" if rest.is_empty() => format!(
            "{}：{amounts}（{}）",
            t.s("timetable.short.teachers_all"),
            t.s("timetable.short.unit_periods")
        ),
        "teachers" => format!(
            "{}「{subject}」：{amounts}（{}）",
            t.s("timetable.short.teachers"),
            t.s("timetable.short.unit_periods")
        ),
        "rooms" => format!(
            "{}{}：{amounts}",
            t.s("timetable.short.rooms"),
            if rest.is_empty() {
                String::new()
            } else {
                format!("（{rest}）")
            }
        ),
        "periods" => format!("{}：{amounts}", t.s("timetable.short.periods")),
        _ => format!("{resource}：{amounts}"),
    }
}

async fn run(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/timetable", "timetable.run.title");
    let t = chrome.t;
    let view = state
        .app
        .timetable_run(actor, id)
        .await
        .map_err(WebError::page)?;
    let s = &view.summary;
    let own = view.names_visible;
    let mut tiles = vec![
        Tile {
            value: s.students.to_string(),
            label: t.s("timetable.run.students"),
        },
        Tile {
            value: format!("{} s", seconds(s.solve_ms.unwrap_or(view.elapsed_ms))),
            label: t.s("timetable.run.solve_time"),
        },
    ];
    if let (Some(c), Some(b)) = (s.teaching_classes, s.lower_bound) {
        tiles.push(Tile {
            value: format!("{c} / {b}"),
            label: t.s("timetable.run.classes_bound"),
        });
    }
    if let Some(h) = s.hard_violations {
        tiles.push(Tile {
            value: h.to_string(),
            label: t.s("timetable.run.hard"),
        });
    }
    let mut groups = Vec::new();
    if let Some(report) = &view.report {
        let q = &report.quality;
        tiles.push(Tile {
            value: q.student_idle_periods.to_string(),
            label: t.s("timetable.run.student_idle"),
        });
        tiles.push(Tile {
            value: q.teacher_idle_periods.to_string(),
            label: t.s("timetable.run.teacher_idle"),
        });
        tiles.push(Tile {
            value: q.same_subject_twice_a_day.to_string(),
            label: t.s("timetable.run.twice"),
        });
        tiles.push(Tile {
            value: q.max_size_range.to_string(),
            label: t.s("timetable.run.size_range"),
        });
        for g in &q.groups {
            groups.push(GroupRow {
                subject: view
                    .subject_names
                    .get(&g.subject)
                    .cloned()
                    .unwrap_or_else(|| g.subject.clone()),
                level: if g.level == "selective" {
                    t.s("timetable.level.selective")
                } else {
                    t.s("timetable.level.proficiency")
                },
                demand: g.demand,
                classes: g.classes,
                lower_bound: g.lower_bound,
                sizes: if g.classes == 0 {
                    "—".into()
                } else {
                    format!("{}–{}", g.min_size, g.max_size)
                },
                at_bound: g.classes == g.lower_bound,
            });
        }
    }
    if let Some(stats) = &view.stats
        && !stats.method.is_empty()
    {
        tiles.push(Tile {
            value: stats.method.clone(),
            label: t.s("timetable.run.method"),
        });
    }
    let stability = view.stats.as_ref().and_then(|s| s.stability).map(|k| {
        (
            format!("{:.1}%", k.enrolments_kept * 100.0),
            format!("{:.1}%", k.admin_lessons_kept * 100.0),
        )
    });
    let (summary, shortages) = match &view.explanation {
        Some(e) => (
            e.summary.clone(),
            e.shortages
                .iter()
                .map(|s| ShortageRow {
                    text: shortage_text(&s.resource, s.needed, s.available, t),
                    detail: s.message.clone(),
                })
                .collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    let (violations, more_violations) = match &view.report {
        Some(r) => (
            r.violations
                .iter()
                .take(30)
                .map(|v| format!("[{}] {}", v.constraint, v.message))
                .collect(),
            r.violations.len().saturating_sub(30),
        ),
        None => (Vec::new(), 0),
    };
    let has_solution = view.solution.is_some();
    let mut response = render(&RunPage {
        run_id: id,
        window_id: view.window.record.id,
        window_title: view.window.record.title.clone(),
        school: view.window.record.institution_name.clone(),
        status: if view.running || s.status != "running" {
            status_label(&s.status, t)
        } else {
            t.s("timetable.status.interrupted")
        },
        status_class: status_class(&s.status),
        running: view.running,
        elapsed: seconds(view.elapsed_ms),
        budget: s.budget_seconds,
        started: china_time(s.started_at),
        started_by: s.started_by.clone(),
        note: s.note.clone(),
        tiles,
        stability,
        groups,
        shortages,
        summary,
        violations,
        more_violations,
        has_solution,
        classes: entities(&view, GridKind::AdminClass),
        teachers: entities(&view, GridKind::Teacher),
        rooms: entities(&view, GridKind::Room),
        can_manage: own && actor.can(Permission::RunAllocations),
        can_export: actor.can(Permission::ExportData),
        valid: s.status == "valid",
        export_action: chrome.action(&format!("/timetable/runs/{id}/export")),
        solve_action: chrome.action(&format!(
            "/timetable/windows/{}/solve",
            view.window.record.id
        )),
        chrome,
    })?;
    if view.running {
        response
            .headers_mut()
            .insert(header::REFRESH, HeaderValue::from_static("2"));
    }
    Ok(response)
}

pub struct GridCellView {
    pub blocked: bool,
    pub lessons: Vec<LessonView>,
}

pub struct LessonView {
    pub subject: String,
    pub level: &'static str,
    pub level_class: &'static str,
    pub line: String,
}

pub struct GridRowView {
    pub period: u32,
    pub cells: Vec<GridCellView>,
}

pub struct GridTable {
    pub heading: String,
    pub days: Vec<String>,
    pub rows: Vec<GridRowView>,
}

fn grid_table(grid: &GridView, t: Tr) -> GridTable {
    let rows = grid
        .cells
        .iter()
        .enumerate()
        .map(|(period, days)| GridRowView {
            period: period as u32 + 1,
            cells: days
                .iter()
                .enumerate()
                .map(|(day, lessons)| GridCellView {
                    blocked: grid.is_blocked(day as u32, period as u32),
                    lessons: lessons
                        .iter()
                        .map(|l| {
                            let full = lesson_text(l, grid.kind);
                            let line = full
                                .split_once(' ')
                                .map(|(_, rest)| rest.to_owned())
                                .unwrap_or_default();
                            LessonView {
                                subject: l.subject_name.clone(),
                                level: match l.level {
                                    Some("selective") => t.s("timetable.level.selective_short"),
                                    Some(_) => t.s("timetable.level.proficiency_short"),
                                    None => "",
                                },
                                level_class: match l.level {
                                    Some("selective") => "good",
                                    Some(_) => "warn",
                                    None => "",
                                },
                                line,
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    GridTable {
        heading: format!("{}：{}", kind_label(grid.kind, t), grid.title),
        days: (0..grid.days).map(|d| day_label(d, t)).collect(),
        rows,
    }
}

#[derive(Template)]
#[template(path = "timetable_grid.html")]
struct GridPage {
    chrome: Chrome,
    run_id: i64,
    window_title: String,
    kind: &'static str,
    of: String,
    table: GridTable,
    students: Vec<(String, String)>,
    can_export: bool,
    options: Vec<(String, String)>,
    export_action: String,
}

#[derive(Deserialize)]
struct GridQuery {
    kind: Option<String>,
    of: Option<String>,
}

async fn grid(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<GridQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/timetable", "timetable.grid.title");
    let t = chrome.t;
    let (Some(kind), Some(of)) = (query.kind.as_deref().and_then(GridKind::parse), query.of) else {
        return Err(WebError::NotFound { api: false });
    };
    let (view, grid) = state
        .app
        .timetable_grid(actor, id, kind, &of)
        .await
        .map_err(WebError::page)?;
    let students = if kind == GridKind::AdminClass {
        view.instance
            .students
            .iter()
            .filter(|s| s.admin_class == of)
            .map(|s| {
                (
                    s.id.clone(),
                    view.student_names.get(&s.id).cloned().unwrap_or_default(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let options = if kind == GridKind::Student {
        Vec::new()
    } else {
        entities(&view, kind)
    };
    render(&GridPage {
        run_id: id,
        window_title: view.window.record.title.clone(),
        kind: kind.code(),
        of,
        table: grid_table(&grid, t),
        students,
        can_export: actor.can(Permission::ExportData),
        options,
        export_action: chrome.action(&format!("/timetable/runs/{id}/export")),
        chrome,
    })
}

#[derive(Template)]
#[template(path = "timetable_print.html")]
struct PrintPage {
    chrome: Chrome,
    run_id: i64,
    school: String,
    window_title: String,
    kind_label: &'static str,
    tables: Vec<GridTable>,
}

#[derive(Deserialize)]
struct PrintQuery {
    kind: Option<String>,
}

async fn print(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<PrintQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/timetable", "timetable.print.title");
    let t = chrome.t;
    let kind = query
        .kind
        .as_deref()
        .and_then(GridKind::parse)
        .filter(|k| *k != GridKind::Student)
        .ok_or(WebError::NotFound { api: false })?;
    let view: RunView = state
        .app
        .timetable_run(actor, id)
        .await
        .map_err(WebError::page)?;
    let tables = entities(&view, kind)
        .iter()
        .filter_map(|(of, _)| grid_of(&view, kind, of))
        .map(|g| grid_table(&g, t))
        .collect();
    render(&PrintPage {
        run_id: id,
        school: view.window.record.institution_name.clone(),
        window_title: view.window.record.title.clone(),
        kind_label: kind_label(kind, t),
        tables,
        chrome,
    })
}

#[derive(Deserialize)]
struct ExportForm {
    kind: String,
    of: Option<String>,
}

async fn export(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<ExportForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let kind = GridKind::parse(&form.kind).ok_or(WebError::NotFound { api: false })?;
    let of = form.of.as_deref().filter(|o| !o.is_empty());
    let (bytes, name) = state
        .app
        .timetable_workbook(actor, id, kind, of, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(xlsx_response(bytes, &name))
}

pub fn routes(routes: Routes) -> Routes {
    let manage = Access::Permission(Permission::RunAllocations);
    routes
        .page("GET", "/timetable", VIEW, get(index))
        .page("POST", "/timetable/windows", manage, post(open_window))
        .page("GET", "/timetable/windows/{id}", VIEW, get(window))
        .page(
            "POST",
            "/timetable/windows/{id}/dates",
            manage,
            post(window_dates),
        )
        .page(
            "GET",
            "/timetable/windows/{id}/entry",
            Access::Permission(Permission::SubmitReports),
            get(entry),
        )
        .page(
            "POST",
            "/timetable/windows/{id}/entry",
            Access::Permission(Permission::SubmitReports),
            post(entry_save),
        )
        .page(
            "GET",
            "/timetable/windows/{id}/import",
            manage,
            get(import_page),
        )
        .page(
            "POST",
            "/timetable/windows/{id}/import",
            manage,
            post(import_submit),
        )
        .page(
            "POST",
            "/timetable/windows/{id}/sheet",
            Access::Permission(Permission::ExportData),
            post(choice_sheet),
        )
        .page(
            "GET",
            "/timetable/windows/{id}/settings",
            manage,
            get(settings_page),
        )
        .page(
            "POST",
            "/timetable/windows/{id}/settings",
            manage,
            post(settings_save),
        )
        .page("POST", "/timetable/windows/{id}/solve", manage, post(solve))
        .page("GET", "/timetable/runs/{id}", VIEW, get(run))
        .page("GET", "/timetable/runs/{id}/grid", VIEW, get(grid))
        .page("GET", "/timetable/runs/{id}/print", VIEW, get(print))
        .page(
            "POST",
            "/timetable/runs/{id}/export",
            Access::Permission(Permission::ExportData),
            post(export),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_inputs_collect_repeated_checkboxes() {
        let pairs = vec![
            ("row.7".to_owned(), String::new()),
            ("track.7".to_owned(), "phy".to_owned()),
            ("sel.7".to_owned(), "chem".to_owned()),
            ("sel.7".to_owned(), "bio".to_owned()),
            ("row.8".to_owned(), String::new()),
        ];
        let inputs = entry_inputs(&pairs);
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[&7].track, "phy");
        assert_eq!(inputs[&7].electives, vec!["chem", "bio"]);
        assert!(inputs[&8].track.is_empty());
    }

    #[test]
    fn settings_form_names_bad_fields_and_reads_blocked_slots() {
        let base = TimetableSettings::default();
        let pairs = vec![
            ("blocked".to_owned(), "1-1, 5-9".to_owned()),
            ("days".to_owned(), "five".to_owned()),
            ("c.chn".to_owned(), "6".to_owned()),
            ("t.T1".to_owned(), String::new()),
            ("vac.phy".to_owned(), "2".to_owned()),
        ];
        let (s, errors) = settings_from_form(&base, &pairs);
        assert_eq!(s.blocked, vec![(0, 0), (4, 8)]);
        assert!(errors.iter().any(|e| e.field == "days"));
        assert_eq!(s.compulsory[0].periods, 6);
        assert_eq!(s.teachers.get("T1").map(|t| t.include), Some(false));
        assert_eq!(s.vacancies.get("phy"), Some(&2));
    }

    #[test]
    fn chart_scales_to_the_largest_bar() {
        let counts: Vec<(Combination, i64)> = Combination::all()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, i as i64))
            .collect();
        let chart = chart(&counts, 66, Tr::new(crate::i18n::Lang::Zh));
        assert_eq!(chart.bars.len(), 12);
        assert_eq!(chart.bars[11].width, CHART_BAR_MAX);
        assert_eq!(chart.bars[0].width, 0);
        assert!(chart.bars.windows(2).all(|w| w[0].y < w[1].y));
    }
}
