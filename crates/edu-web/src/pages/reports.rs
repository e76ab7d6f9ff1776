//! Reporting obligations (issue 4): the school's "today" page with one-tap zero reports, the forms (the daily
//! health report with its line list), a return's history with correction and review, a school's calendar and
//! history, and the district / city follow-up pages (missing today with contact, escalations, alerts, cases,
//! copied submissions, checks) with .xlsx exports.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use edu_app::obligations::{
    CalendarView, HEALTH_DAILY, OpenReturn, ReturnDetail, StatusView, SubmitRequest, engine, form,
};
use edu_app::{AppError, Permission, Scope};
use form::FieldType;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CallerExt, Chrome, district_name, render, thousands};
use crate::WebState;
use crate::error::WebError;
use crate::i18n::Tr;
use crate::routes::{Access, Routes};

const ANY: &[Permission] = &[Permission::SubmitReports, Permission::ReviewReports];

// ------------------------------------------------------------------------------------------------------------
// Helpers

fn china(t: Timestamp) -> String {
    let dt = edu_model::china_time::CHINA_OFFSET.to_datetime(t);
    dt.strftime("%Y-%m-%d %H:%M").to_string()
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn hours(seconds: i64) -> String {
    if seconds <= 0 {
        return "—".into();
    }
    let h = seconds / 3600;
    let m = (seconds % 3600) / 60;
    if h >= 48 {
        format!("{}d {}h", h / 24, h % 24)
    } else {
        format!("{h}h {m:02}m")
    }
}

fn title_of(t: Tr, zh: &str, en: &str) -> String {
    if en.is_empty() {
        zh.to_owned()
    } else {
        t.pick(zh, en).to_owned()
    }
}

/// Label of a status code (`on_time`, `late`, `not_yet_due`, `overdue`, `missed`, and states).
fn status_label(t: Tr, code: &str) -> String {
    let key = match code {
        "on_time" => "reports.status.on_time",
        "late" => "reports.status.late",
        "not_yet_due" => "reports.status.not_yet_due",
        "overdue" => "reports.status.overdue",
        "missed" => "reports.status.missed",
        "submitted" => "reports.state.submitted",
        "sent_back" => "reports.state.sent_back",
        "approved" => "reports.state.approved",
        "zero" => "reports.kind.zero",
        "report" => "reports.kind.report",
        _ => return code.to_owned(),
    };
    t.s(key).to_owned()
}

fn status_class(code: &str) -> &'static str {
    match code {
        "on_time" | "approved" => "good",
        "late" | "overdue" | "sent_back" => "warn",
        "missed" => "bad",
        _ => "muted",
    }
}

fn parse_day(text: Option<&str>) -> Result<Option<Date>, WebError> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => form::china_time::parse_date(s)
            .map(Some)
            .ok_or_else(|| WebError::Invalid {
                api: false,
                errors: vec![edu_app::FieldError::new(
                    "date",
                    "日期格式应为 YYYY-MM-DD / use YYYY-MM-DD",
                )],
            }),
    }
}

fn defs_for_select(state: &WebState, t: Tr, selected: &str) -> Vec<(String, String, bool)> {
    state
        .app
        .obligation_defs()
        .values()
        .map(|d| {
            (
                d.id.clone(),
                title_of(t, &d.title, &d.title_en),
                d.id == selected,
            )
        })
        .collect()
}

/// Org units the actor may pick: their own scope, and for the city its districts.
fn org_choices(actor: &edu_app::Actor, t: Tr, selected: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    match &actor.scope {
        Scope::City { code } => {
            out.push((
                code.clone(),
                t.pick("大庆市", "Daqing").to_owned(),
                selected == code.as_str(),
            ));
            for d in edu_model::DAQING_DISTRICTS {
                let c = d.code.to_string();
                let sel = selected == c;
                out.push((c, t.pick(d.name, d.name_en).to_owned(), sel));
            }
        }
        Scope::District { code } => {
            out.push((code.clone(), district_name(code, t), true));
        }
        Scope::Institution { code, .. } => out.push((code.clone(), code.clone(), true)),
    }
    out
}

// ------------------------------------------------------------------------------------------------------------
// Form rendering and parsing (generic over the obligation's form definition)

/// One input of a rendered form.
pub struct Input {
    pub name: String,
    pub label: String,
    pub unit: String,
    /// `number`, `decimal`, `text`, `textarea`, `bool`, `enum`, `multi`, `date`, `time`.
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    pub values: Vec<String>,
    pub options: Vec<(String, String)>,
    pub min: String,
    pub max: String,
    pub help: String,
    pub error: String,
}

impl Input {
    pub fn has(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }
}

pub struct ListInput {
    pub label: String,
    pub help: String,
    pub rows: Vec<Vec<Input>>,
    pub more_rows: usize,
}

pub struct FormView {
    pub scalars: Vec<Input>,
    pub lists: Vec<ListInput>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn input_for(f: &form::FieldDef, name: String, value: Option<&Value>, t: Tr) -> Option<Input> {
    let kind = match f.field_type {
        FieldType::Integer => "number",
        FieldType::Decimal => "decimal",
        FieldType::Text if f.effective_max_len() > 120 => "textarea",
        FieldType::Text | FieldType::Person => "text",
        FieldType::Bool => "bool",
        FieldType::Enum if f.multiple => "multi",
        FieldType::Enum => "enum",
        FieldType::Date => "date",
        FieldType::Time => "time",
        FieldType::File | FieldType::List => return None,
    };
    let values: Vec<String> = match value {
        Some(Value::Array(a)) => a.iter().map(text_of).collect(),
        Some(v) => vec![text_of(v)],
        None => Vec::new(),
    };
    Some(Input {
        name,
        label: title_of(t, &f.label, &f.label_en),
        unit: f.unit.clone().unwrap_or_default(),
        kind,
        required: f.required,
        value: values.first().cloned().unwrap_or_default(),
        values,
        options: f
            .options
            .iter()
            .map(|o| (o.value.clone(), title_of(t, &o.label, &o.label_en)))
            .collect(),
        min: f.effective_min().map(|m| m.to_string()).unwrap_or_default(),
        max: f.max.as_ref().map(|m| m.to_string()).unwrap_or_default(),
        help: f.help.clone().unwrap_or_default(),
        error: String::new(),
    })
}

/// The form of `def` prefilled with `values` (lists get their rows plus `extra_rows` empty ones).
fn form_view(
    def: &engine::ObligationDef,
    values: &Map<String, Value>,
    extra_rows: usize,
    t: Tr,
) -> FormView {
    let mut scalars = Vec::new();
    let mut lists = Vec::new();
    for f in def.form.fields.iter().filter(|f| !f.computed) {
        if f.field_type == FieldType::List {
            let rows_in: Vec<Map<String, Value>> = values
                .get(&f.id)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
                .unwrap_or_default();
            let total = rows_in.len()
                + extra_rows.max(usize::from(f.min_rows.unwrap_or(0) > rows_in.len()));
            let mut rows = Vec::with_capacity(total);
            for r in 0..total {
                let cells = rows_in.get(r);
                rows.push(
                    f.columns
                        .iter()
                        .filter_map(|c| {
                            input_for(
                                c,
                                format!("l_{}_{r}_{}", f.id, c.id),
                                cells.and_then(|m| m.get(&c.id)),
                                t,
                            )
                        })
                        .collect(),
                );
            }
            lists.push(ListInput {
                label: title_of(t, &f.label, &f.label_en),
                help: f.help.clone().unwrap_or_default(),
                rows,
                more_rows: total + 3,
            });
        } else if let Some(input) = input_for(f, format!("f_{}", f.id), values.get(&f.id), t) {
            scalars.push(input);
        }
    }
    FormView { scalars, lists }
}

/// The JSON object a form post describes: empty inputs are absent, empty list rows are dropped.
fn values_from_form(def: &engine::ObligationDef, pairs: &[(String, String)]) -> Map<String, Value> {
    let get_all = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let cell = |f: &form::FieldDef, name: &str| -> Option<Value> {
        let found = get_all(name);
        match f.field_type {
            FieldType::Enum | FieldType::File if f.multiple => (!found.is_empty()).then(|| {
                Value::Array(found.iter().map(|s| Value::String(s.to_string())).collect())
            }),
            _ => found.first().map(|s| Value::String(s.to_string())),
        }
    };
    let mut out = Map::new();
    for f in def.form.fields.iter().filter(|f| !f.computed) {
        if f.field_type == FieldType::List {
            let prefix = format!("l_{}_", f.id);
            let max_row = pairs
                .iter()
                .filter_map(|(k, _)| k.strip_prefix(&prefix))
                .filter_map(|rest| rest.split('_').next()?.parse::<usize>().ok())
                .max();
            let mut rows = Vec::new();
            for r in 0..=max_row.unwrap_or(0) {
                let mut row = Map::new();
                for c in &f.columns {
                    if let Some(v) = cell(c, &format!("l_{}_{r}_{}", f.id, c.id)) {
                        row.insert(c.id.clone(), v);
                    }
                }
                if !row.is_empty() {
                    rows.push(Value::Object(row));
                }
            }
            if !rows.is_empty() {
                out.insert(f.id.clone(), Value::Array(rows));
            }
        } else if let Some(v) = cell(f, &format!("f_{}", f.id)) {
            out.insert(f.id.clone(), v);
        }
    }
    out
}

/// A value for display: option labels, 是/否, lists as rows.
fn display(f: &form::FieldDef, v: &Value, t: Tr) -> String {
    match (f.field_type, v) {
        (_, Value::Null) => "—".into(),
        (FieldType::Bool, Value::Bool(b)) => {
            t.s(if *b { "common.yes" } else { "common.no" }).to_owned()
        }
        (FieldType::Enum, Value::String(s)) => f
            .option(s)
            .map(|o| title_of(t, &o.label, &o.label_en))
            .unwrap_or_else(|| s.clone()),
        (FieldType::Enum, Value::Array(a)) => a
            .iter()
            .map(|x| display(f, x, t))
            .collect::<Vec<_>>()
            .join("、"),
        (_, Value::Array(a)) => a.iter().map(text_of).collect::<Vec<_>>().join("、"),
        (_, other) => text_of(other),
    }
}

/// (label, value, unit) rows and list tables of stored values.
pub struct ValueTable {
    pub rows: Vec<(String, String, String)>,
    pub lists: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
}

fn value_table(def: &engine::ObligationDef, values: &form::Values, t: Tr) -> ValueTable {
    let mut rows = Vec::new();
    let mut lists = Vec::new();
    for f in &def.form.fields {
        let Some(v) = values.get(&f.id) else {
            continue;
        };
        if f.field_type == FieldType::List {
            let headers = f
                .columns
                .iter()
                .map(|c| title_of(t, &c.label, &c.label_en))
                .collect();
            let body = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|row| {
                            f.columns
                                .iter()
                                .map(|c| {
                                    row.get(&c.id).map(|x| display(c, x, t)).unwrap_or_default()
                                })
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            lists.push((title_of(t, &f.label, &f.label_en), headers, body));
        } else {
            rows.push((
                title_of(t, &f.label, &f.label_en),
                display(f, v, t),
                f.unit.clone().unwrap_or_default(),
            ));
        }
    }
    ValueTable { rows, lists }
}

// ------------------------------------------------------------------------------------------------------------
// Today (school) and the forms

pub struct TodayItem {
    pub obligation: String,
    pub title: String,
    pub period: String,
    pub due: String,
    pub expires: String,
    pub status: String,
    pub status_class: &'static str,
    pub filed: bool,
    pub zero_allowed: bool,
    pub health: bool,
    pub return_id: i64,
    pub state: String,
    pub zero_action: String,
}

#[derive(Template)]
#[template(path = "reports_today.html")]
struct TodayPage {
    chrome: Chrome,
    school: String,
    flash: String,
    items: Vec<TodayItem>,
    can_review: bool,
}

#[derive(Deserialize, Default)]
struct FlashQuery {
    ok: Option<String>,
}

fn flash_text(t: Tr, ok: Option<&str>) -> String {
    let key = match ok {
        Some("zero") => "reports.flash.zero",
        Some("submitted") => "reports.flash.submitted",
        Some("corrected") => "reports.flash.corrected",
        Some("approved") => "reports.flash.approved",
        Some("sent_back") => "reports.flash.sent_back",
        Some("reopened") => "reports.flash.reopened",
        Some("acknowledged") => "reports.flash.acknowledged",
        _ => return String::new(),
    };
    t.s(key).to_owned()
}

fn today_item(o: &OpenReturn, chrome: &Chrome) -> TodayItem {
    let t = chrome.t;
    let status = if o.zero {
        "zero".to_owned()
    } else {
        o.status.clone()
    };
    TodayItem {
        obligation: o.obligation.clone(),
        title: title_of(t, &o.title, &o.title_en),
        period: o.period.key.clone(),
        due: china(o.due),
        expires: china(o.expires),
        status_class: status_class(&o.status),
        status: match (o.return_id, o.zero) {
            (Some(_), true) => format!(
                "{}（{}）",
                status_label(t, &o.status),
                status_label(t, "zero")
            ),
            _ => status_label(t, &status),
        },
        filed: o.return_id.is_some(),
        zero_allowed: o.zero_allowed,
        health: o.obligation == HEALTH_DAILY,
        return_id: o.return_id.unwrap_or(0),
        state: o
            .state
            .as_deref()
            .map(|s| status_label(t, s))
            .unwrap_or_default(),
        zero_action: chrome.action(&format!("/reports/zero/{}/{}", o.obligation, o.period.key)),
    }
}

async fn today(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<FlashQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    if !matches!(actor.scope, Scope::Institution { .. }) || !actor.can(Permission::SubmitReports) {
        return Ok(Redirect::to("/reports/follow-up").into_response());
    }
    let chrome = Chrome::new(&caller, "/reports", "reports.today.title");
    let t = chrome.t;
    let open = state
        .app
        .open_returns(actor)
        .await
        .map_err(WebError::page)?;
    render(&TodayPage {
        school: actor.scope.code().to_owned(),
        flash: flash_text(t, q.ok.as_deref()),
        items: open.iter().map(|o| today_item(o, &chrome)).collect(),
        can_review: actor.can(Permission::ReviewReports),
        chrome,
    })
}

#[derive(Deserialize)]
struct ZeroForm {
    #[serde(default)]
    note: Option<String>,
}

async fn zero_report(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((obligation, period)): Path<(String, String)>,
    Form(form): Form<ZeroForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let request = SubmitRequest {
        institution: None,
        period,
        zero: true,
        note: form.note.filter(|n| !n.trim().is_empty()),
        values: None,
    };
    match state
        .app
        .submit_return(actor, &obligation, &request, None, &caller.context)
        .await
    {
        Ok(_) => Ok(Redirect::to("/reports?ok=zero").into_response()),
        Err(AppError::Conflict(m)) => Err(WebError::BadRequest {
            api: false,
            message: m,
        }),
        Err(e) => Err(WebError::page(e)),
    }
}

#[derive(Template)]
#[template(path = "reports_form.html")]
struct FormPage {
    chrome: Chrome,
    title: String,
    obligation: String,
    period: String,
    due: String,
    expires: String,
    zero_allowed: bool,
    zero_action: String,
    action: String,
    form: FormView,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct RowsQuery {
    rows: Option<usize>,
}

async fn form_page(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((obligation, period)): Path<(String, String)>,
    Query(q): Query<RowsQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.form.title");
    let t = chrome.t;
    let (p, w, filed) = state
        .app
        .form_context(actor, &obligation, &period)
        .await
        .map_err(WebError::page)?;
    if let Some(id) = filed {
        return Ok(Redirect::to(&format!("/reports/return/{id}")).into_response());
    }
    let def = state
        .app
        .obligation_defs()
        .get(&obligation)
        .ok_or(WebError::NotFound { api: false })?;
    let prefill = if obligation == HEALTH_DAILY {
        state
            .app
            .health_form_prefill(actor, p.start, &caller.context)
            .await
            .map_err(WebError::page)?
    } else {
        Map::new()
    };
    let extra = q.rows.unwrap_or(2).min(50);
    render(&FormPage {
        title: title_of(t, &def.title, &def.title_en),
        obligation: obligation.clone(),
        period: p.key.clone(),
        due: china(w.due),
        expires: china(w.expires),
        zero_allowed: def.zero_allowed,
        zero_action: chrome.action(&format!("/reports/zero/{obligation}/{}", p.key)),
        action: chrome.action(&format!("/reports/form/{obligation}/{}", p.key)),
        form: form_view(def, &prefill, extra, t),
        errors: Vec::new(),
        chrome,
    })
}

async fn form_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((obligation, period)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let def = state
        .app
        .obligation_defs()
        .get(&obligation)
        .ok_or(WebError::NotFound { api: false })?
        .clone();
    let values = values_from_form(&def, &pairs);
    let request = SubmitRequest {
        institution: None,
        period: period.clone(),
        zero: false,
        note: None,
        values: Some(Value::Object(values.clone())),
    };
    match state
        .app
        .submit_return(actor, &obligation, &request, None, &caller.context)
        .await
    {
        Ok(_) => Ok(Redirect::to("/reports?ok=submitted").into_response()),
        Err(AppError::Invalid(errors)) => {
            let chrome = Chrome::new(&caller, "/reports", "reports.form.title");
            let t = chrome.t;
            let (p, w, _) = state
                .app
                .form_context(actor, &obligation, &period)
                .await
                .map_err(WebError::page)?;
            let mut form = form_view(&def, &values, 1, t);
            mark_errors(&mut form, &errors);
            let page = FormPage {
                title: title_of(t, &def.title, &def.title_en),
                obligation: obligation.clone(),
                period: p.key.clone(),
                due: china(w.due),
                expires: china(w.expires),
                zero_allowed: def.zero_allowed,
                zero_action: chrome.action(&format!("/reports/zero/{obligation}/{}", p.key)),
                action: chrome.action(&format!("/reports/form/{obligation}/{}", p.key)),
                form,
                errors: errors
                    .iter()
                    .map(|e| (e.field.clone(), e.reason.clone()))
                    .collect(),
                chrome,
            };
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(AppError::Conflict(m)) => Err(WebError::BadRequest {
            api: false,
            message: m,
        }),
        Err(e) => Err(WebError::page(e)),
    }
}

/// Puts each top-level field's error beside its input (`absent_pupils` → `f_absent_pupils`), and row errors
/// (`cases[1].onset_date`) beside the cell.
fn mark_errors(form: &mut FormView, errors: &[edu_app::FieldError]) {
    for e in errors {
        let name = match e.field.split_once('[') {
            Some((list, rest)) => {
                let (row, col) = rest
                    .split_once("].")
                    .unwrap_or((rest.trim_end_matches(']'), ""));
                format!("l_{list}_{row}_{col}")
            }
            None => format!("f_{}", e.field),
        };
        for input in form.scalars.iter_mut().chain(
            form.lists
                .iter_mut()
                .flat_map(|l| l.rows.iter_mut().flatten()),
        ) {
            if input.name == name {
                input.error = e.reason.clone();
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------------------
// A return: history, correction, review

pub struct VersionRow {
    pub version: i64,
    pub kind: String,
    pub by: String,
    pub at: String,
    pub reason: String,
    pub seal_ok: bool,
    pub zero: String,
    pub table: ValueTable,
}

#[derive(Template)]
#[template(path = "reports_return.html")]
struct ReturnPage {
    chrome: Chrome,
    flash: String,
    d: ReturnDetail,
    title: String,
    school: String,
    state: String,
    state_class: &'static str,
    timeliness: String,
    kind: String,
    due: String,
    first_at: String,
    late: String,
    current: ValueTable,
    versions: Vec<VersionRow>,
    events: Vec<(String, String, String, i64, String)>,
    correction: Option<FormView>,
    homework: Vec<(i64, String, String, bool)>,
    funding: String,
    funding_ok: bool,
    review_action: String,
    correct_action: String,
}

async fn return_page(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.return.title");
    let t = chrome.t;
    let d = state
        .app
        .return_detail(actor, id, &caller.context)
        .await
        .map_err(WebError::page)?;
    let def = state
        .app
        .obligation_defs()
        .get(&d.obligation)
        .ok_or(WebError::NotFound { api: false })?;
    let versions = d
        .versions
        .iter()
        .rev()
        .map(|v| VersionRow {
            version: v.version,
            kind: status_label(t, &v.kind),
            by: v.submitted_by.clone(),
            at: china(v.at),
            reason: v.reason.clone().unwrap_or_default(),
            seal_ok: v.seal_ok,
            zero: v
                .zero_statement
                .as_ref()
                .map(|z| {
                    format!(
                        "{}（{} · {}{}）",
                        t.pick(&z.statement, &z.statement_en),
                        z.signed_by,
                        china(z.signed_at),
                        if z.seal_ok {
                            ""
                        } else {
                            " · 签名校验失败"
                        }
                    )
                })
                .unwrap_or_default(),
            table: value_table(def, &v.values, t),
        })
        .collect();
    let events = d
        .events
        .iter()
        .map(|e| {
            (
                t.s(&format!("reports.event.{}", e.kind)).to_owned(),
                e.by.clone(),
                china(e.at),
                e.version,
                e.reason.clone().unwrap_or_default(),
            )
        })
        .collect();
    let correction = d.can_correct.then(|| {
        let values: Map<String, Value> = d.values.clone().into_iter().collect();
        form_view(def, &values, 1, t)
    });
    let homework = d
        .homework
        .iter()
        .map(|h| {
            (
                h.grade,
                t.pick(&h.explanation, &h.explanation_en).to_owned(),
                h.average_minutes
                    .map(|a| format!("{a:.1}"))
                    .unwrap_or_default(),
                h.compliant,
            )
        })
        .collect();
    let (funding, funding_ok) = d
        .funding
        .as_ref()
        .map(|f| {
            (
                t.pick(&f.explanation, &f.explanation_en).to_owned(),
                f.compliant,
            )
        })
        .unwrap_or_default();
    render(&ReturnPage {
        flash: flash_text(t, q.ok.as_deref()),
        title: title_of(t, &d.title, &d.title_en),
        school: format!("{} {}", d.institution_code, d.institution_name),
        state: status_label(t, &d.state),
        state_class: status_class(&d.state),
        timeliness: status_label(t, &d.timeliness),
        kind: status_label(t, &d.kind),
        due: china(d.due),
        first_at: china(d.first_submitted_at),
        late: hours(d.late_by_seconds),
        current: value_table(def, &d.values, t),
        versions,
        events,
        correction,
        homework,
        funding,
        funding_ok,
        review_action: chrome.action(&format!("/reports/return/{id}/review")),
        correct_action: chrome.action(&format!("/reports/return/{id}/correct")),
        d,
        chrome,
    })
}

async fn correct_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let reason = field("reason").unwrap_or_default();
    let zero = field("zero").as_deref() == Some("1");
    let (obligation, period) = state
        .app
        .return_key(actor, id)
        .await
        .map_err(WebError::page)?;
    let def = state
        .app
        .obligation_defs()
        .get(&obligation)
        .ok_or(WebError::NotFound { api: false })?;
    let request = SubmitRequest {
        institution: None,
        period,
        zero,
        note: None,
        values: (!zero).then(|| Value::Object(values_from_form(def, &pairs))),
    };
    match state
        .app
        .correct_return(actor, id, &request, &reason, &caller.context)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/reports/return/{id}?ok=corrected")).into_response()),
        Err(AppError::Conflict(m)) => Err(WebError::BadRequest {
            api: false,
            message: m,
        }),
        Err(e) => Err(WebError::page(e)),
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    action: String,
    #[serde(default)]
    reason: String,
}

async fn review_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let app = &state.app;
    let (result, ok) = match form.action.as_str() {
        "approve" => (
            app.approve_return(actor, id, &caller.context).await,
            "approved",
        ),
        "send_back" => (
            app.send_back_return(actor, id, &form.reason, &caller.context)
                .await,
            "sent_back",
        ),
        "reopen" => (
            app.reopen_return(actor, id, &form.reason, &caller.context)
                .await,
            "reopened",
        ),
        _ => {
            return Err(WebError::BadRequest {
                api: false,
                message: "unknown action".into(),
            });
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/reports/return/{id}?ok={ok}")).into_response()),
        Err(AppError::Conflict(m)) => Err(WebError::BadRequest {
            api: false,
            message: m,
        }),
        Err(e) => Err(WebError::page(e)),
    }
}

// ------------------------------------------------------------------------------------------------------------
// History and calendar

#[derive(Deserialize, Default)]
struct SchoolQuery {
    school: Option<String>,
    obligation: Option<String>,
    month: Option<String>,
}

/// (return id, obligation, period, kind, timeliness, its class, state, first filed)
type HistoryRow = (
    i64,
    String,
    String,
    String,
    String,
    &'static str,
    String,
    String,
);

#[derive(Template)]
#[template(path = "reports_history.html")]
struct HistoryPage {
    chrome: Chrome,
    school: String,
    code: String,
    rows: Vec<HistoryRow>,
}

async fn history(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<SchoolQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.history.title");
    let t = chrome.t;
    let (school, rows) = state
        .app
        .submission_history(actor, q.school.as_deref(), 120)
        .await
        .map_err(WebError::page)?;
    let defs = state.app.obligation_defs();
    let rows = rows
        .iter()
        .map(|r| {
            let title = defs
                .get(&r.obligation)
                .map(|d| title_of(t, &d.title, &d.title_en))
                .unwrap_or_else(|| r.obligation.clone());
            (
                r.id,
                title,
                r.period.clone(),
                status_label(t, &r.kind),
                status_label(t, &r.timeliness),
                status_class(&r.timeliness),
                status_label(t, &r.state),
                china(
                    Timestamp::from_millisecond(r.first_submitted_at)
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                ),
            )
        })
        .collect();
    render(&HistoryPage {
        school: school.name.clone(),
        code: school.code.clone(),
        rows,
        chrome,
    })
}

pub struct CalCell {
    pub day: String,
    pub label: String,
    pub class: &'static str,
    pub href: String,
}

#[derive(Template)]
#[template(path = "reports_calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    view: CalendarView,
    title: String,
    obligations: Vec<(String, String, bool)>,
    month: String,
    prev: String,
    next: String,
    daily: bool,
    weeks: Vec<Vec<CalCell>>,
    list: Vec<CalCell>,
    school_param: String,
    weekdays: Vec<String>,
}

fn month_bounds(month: &str) -> Option<(Date, Date)> {
    let (y, m) = month.split_once('-')?;
    let start = Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()?;
    let end = start.last_of_month();
    Some((start, end))
}

async fn calendar(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<SchoolQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.calendar.title");
    let t = chrome.t;
    let obligation = q
        .obligation
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| HEALTH_DAILY.to_owned());
    let def = state
        .app
        .obligation_defs()
        .get(&obligation)
        .ok_or(WebError::NotFound { api: false })?
        .clone();
    let today = edu_model::china_time::business_date(state.app.now());
    let daily = matches!(
        def.cadence,
        engine::Cadence::SchoolDay | engine::Cadence::Day
    );
    let month = q
        .month
        .clone()
        .filter(|m| month_bounds(m).is_some())
        .unwrap_or_else(|| format!("{:04}-{:02}", today.year(), today.month()));
    let (from, to) = if daily {
        month_bounds(&month).ok_or(WebError::NotFound { api: false })?
    } else {
        (form::china_time::add_days(today, -400), today)
    };
    let view = state
        .app
        .submission_calendar(actor, &obligation, q.school.as_deref(), from, to)
        .await
        .map_err(WebError::page)?;
    let cell_of = |c: &edu_app::obligations::CalendarCell| {
        let code = if c.zero { "zero" } else { c.status.as_str() };
        CalCell {
            day: if daily {
                c.period.start.day().to_string()
            } else {
                c.period.key.clone()
            },
            label: status_label(t, code),
            class: if c.zero {
                "good"
            } else {
                status_class(&c.status)
            },
            href: c
                .return_id
                .map(|id| format!("/reports/return/{id}"))
                .unwrap_or_default(),
        }
    };
    let mut weeks = Vec::new();
    if daily {
        let mut day = from;
        let mut week: Vec<CalCell> = (1..from.weekday().to_monday_one_offset())
            .map(|_| CalCell {
                day: String::new(),
                label: String::new(),
                class: "muted",
                href: String::new(),
            })
            .collect();
        while day <= to {
            let cell = match view.cells.iter().find(|c| c.period.start == day) {
                Some(c) => cell_of(c),
                None => CalCell {
                    day: day.day().to_string(),
                    label: if def
                        .period_containing(&state.app.school_calendar(), day)
                        .is_none()
                    {
                        t.s("reports.calendar.no_school").to_owned()
                    } else {
                        String::new()
                    },
                    class: "muted",
                    href: String::new(),
                },
            };
            week.push(cell);
            if week.len() == 7 {
                weeks.push(std::mem::take(&mut week));
            }
            day = form::china_time::add_days(day, 1);
        }
        if !week.is_empty() {
            while week.len() < 7 {
                week.push(CalCell {
                    day: String::new(),
                    label: String::new(),
                    class: "muted",
                    href: String::new(),
                });
            }
            weeks.push(week);
        }
    }
    let list = if daily {
        Vec::new()
    } else {
        view.cells.iter().rev().map(cell_of).collect()
    };
    let shift = |months: i32| {
        let (start, _) = month_bounds(&month).unwrap_or((today, today));
        let moved = start
            .checked_add(jiff::Span::new().months(months))
            .unwrap_or(start);
        format!("{:04}-{:02}", moved.year(), moved.month())
    };
    render(&CalendarPage {
        title: title_of(t, &view.title, &view.title_en),
        obligations: defs_for_select(&state, t, &obligation),
        prev: shift(-1),
        next: shift(1),
        month,
        daily,
        weeks,
        list,
        school_param: q.school.clone().unwrap_or_default(),
        weekdays: (1..=7)
            .map(|d| t.s(&format!("reports.weekday.{d}")).to_owned())
            .collect(),
        view,
        chrome,
    })
}

// ------------------------------------------------------------------------------------------------------------
// Follow-up (district, city)

#[derive(Deserialize, Default)]
struct FollowQuery {
    obligation: Option<String>,
    org: Option<String>,
    date: Option<String>,
}

pub struct UnitLine {
    pub name: String,
    pub href: String,
    pub expected: String,
    pub submitted: String,
    pub on_time: String,
    pub late: String,
    pub zero: String,
    pub missing: String,
    pub rate: String,
    pub on_time_rate: String,
}

/// (code, name, district, phone, due, overdue, its class, consecutive missed)
type MissingLine = (
    String,
    String,
    String,
    String,
    String,
    String,
    &'static str,
    u32,
);

#[derive(Template)]
#[template(path = "reports_follow.html")]
struct FollowPage {
    chrome: Chrome,
    view: StatusView,
    title: String,
    obligations: Vec<(String, String, bool)>,
    orgs: Vec<(String, String, bool)>,
    date: String,
    period: String,
    due: String,
    now: String,
    total: UnitLine,
    units: Vec<UnitLine>,
    missing: Vec<MissingLine>,
    escalations: Vec<(String, String, String, String, String, &'static str)>,
    export_query: String,
    can_export: bool,
}

fn unit_line(
    name: &str,
    href: String,
    c: &engine::ReportingCounts,
    rate: Option<f64>,
    on_time: Option<f64>,
) -> UnitLine {
    let n = |x: u64| thousands(x as i64);
    UnitLine {
        name: name.to_owned(),
        href,
        expected: n(c.expected),
        submitted: n(c.submitted),
        on_time: n(c.on_time),
        late: n(c.late),
        zero: n(c.zero),
        missing: n(c.missing),
        rate: pct(rate),
        on_time_rate: pct(on_time),
    }
}

async fn follow_up(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<FollowQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.follow.title");
    let t = chrome.t;
    let obligation = q
        .obligation
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| HEALTH_DAILY.to_owned());
    let date = parse_day(q.date.as_deref())?;
    let view = state
        .app
        .obligation_status(actor, &obligation, q.org.as_deref(), date, None)
        .await
        .map_err(WebError::page)?;
    let date_text = view.date.to_string();
    let href_for = |code: &str, level: &str| {
        if level == "institution" {
            format!("/reports/calendar?school={code}&obligation={obligation}")
        } else {
            format!("/reports/follow-up?obligation={obligation}&org={code}&date={date_text}")
        }
    };
    let units = view
        .units
        .iter()
        .map(|u| {
            let name = if u.level == "district" {
                district_name(&u.code, t)
            } else {
                u.name.clone()
            };
            unit_line(
                &name,
                href_for(&u.code, &u.level),
                &u.counts,
                u.reporting_rate,
                u.on_time_rate,
            )
        })
        .collect();
    let org_name = if view.org_level == "district" {
        district_name(&view.org, t)
    } else if view.org_level == "city" {
        t.pick("大庆市", "Daqing").to_owned()
    } else {
        view.org_name.clone()
    };
    let total = unit_line(
        &org_name,
        String::new(),
        &view.counts,
        view.reporting_rate,
        view.on_time_rate,
    );
    let missing = view
        .missing
        .iter()
        .map(|m| {
            let code = status_code_of(m.status);
            (
                m.institution.clone(),
                m.name.clone(),
                district_name(&m.district, t),
                m.phone.clone(),
                china(m.due),
                hours(m.overdue_seconds),
                status_class(code),
                m.consecutive_missed,
            )
        })
        .collect();
    let escalations = view
        .escalations
        .iter()
        .map(|e| {
            let level = format!("{:?}", e.escalation.level).to_lowercase();
            (
                e.institution.clone(),
                e.name.clone(),
                e.phone.clone(),
                t.s(&format!("reports.level.{level}")).to_owned(),
                t.pick(&e.escalation.explanation, &e.escalation.explanation_en)
                    .to_owned(),
                if level == "school" { "warn" } else { "bad" },
            )
        })
        .collect();
    render(&FollowPage {
        title: title_of(t, &view.title, &view.title_en),
        obligations: defs_for_select(&state, t, &obligation),
        orgs: org_choices(actor, t, &view.org),
        date: date_text.clone(),
        period: view
            .period
            .as_ref()
            .map(|p| p.key.clone())
            .unwrap_or_default(),
        due: view.due.map(china).unwrap_or_default(),
        now: china(view.now),
        total,
        units,
        missing,
        escalations,
        export_query: format!("obligation={obligation}&org={}&date={date_text}", view.org),
        can_export: actor.can(Permission::ExportData),
        view,
        chrome,
    })
}

fn status_code_of(s: engine::ReturnStatus) -> &'static str {
    use engine::ReturnStatus::*;
    match s {
        OnTime => "on_time",
        Late => "late",
        NotYetDue => "not_yet_due",
        Overdue => "overdue",
        Missed => "missed",
    }
}

#[derive(Template)]
#[template(path = "reports_copies.html")]
struct CopiesPage {
    chrome: Chrome,
    title: String,
    obligations: Vec<(String, String, bool)>,
    rows: Vec<(String, String, String, String, String, String)>,
}

async fn copies(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<FollowQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.copies.title");
    let t = chrome.t;
    let obligation = q
        .obligation
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| HEALTH_DAILY.to_owned());
    let found = state
        .app
        .copied_submissions(actor, &obligation, q.org.as_deref())
        .await
        .map_err(WebError::page)?;
    let def = state
        .app
        .obligation_defs()
        .get(&obligation)
        .ok_or(WebError::NotFound { api: false })?;
    let mut rows = Vec::new();
    for c in &found {
        for f in &c.flags {
            rows.push((
                c.institution.clone(),
                c.name.clone(),
                district_name(&c.district, t),
                c.phone.clone(),
                format!("{} — {}（{}）", f.first_period, f.last_period, f.periods),
                t.pick(&f.explanation, &f.explanation_en).to_owned(),
            ));
        }
    }
    render(&CopiesPage {
        title: title_of(t, &def.title, &def.title_en),
        obligations: defs_for_select(&state, t, &obligation),
        rows,
        chrome,
    })
}

// ------------------------------------------------------------------------------------------------------------
// Alerts and cases

#[derive(Template)]
#[template(path = "reports_alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    flash: String,
    alerts: Vec<edu_app::obligations::AlertView>,
    kinds: Vec<String>,
    districts: Vec<String>,
    explanations: Vec<String>,
    ack_actions: Vec<String>,
}

async fn alerts(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<FlashQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.alerts.title");
    let t = chrome.t;
    let today = edu_model::china_time::business_date(state.app.now());
    let alerts = state
        .app
        .health_alert_list(actor, form::china_time::add_days(today, -60), today)
        .await
        .map_err(WebError::page)?;
    render(&AlertsPage {
        flash: flash_text(t, q.ok.as_deref()),
        kinds: alerts
            .iter()
            .map(|a| t.s(&format!("reports.alert.{}", a.kind)).to_owned())
            .collect(),
        districts: alerts
            .iter()
            .map(|a| district_name(&a.district, t))
            .collect(),
        explanations: alerts
            .iter()
            .map(|a| t.pick(&a.explanation, &a.explanation_en).to_owned())
            .collect(),
        ack_actions: alerts
            .iter()
            .map(|a| chrome.action(&format!("/reports/alerts/{}/ack", a.id)))
            .collect(),
        alerts,
        chrome,
    })
}

#[derive(Deserialize)]
struct AckForm {
    #[serde(default)]
    note: String,
}

async fn acknowledge(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<AckForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    match state
        .app
        .acknowledge_alert(actor, id, &form.note, &caller.context)
        .await
    {
        Ok(()) => Ok(Redirect::to("/reports/alerts?ok=acknowledged").into_response()),
        Err(AppError::Conflict(m)) => Err(WebError::BadRequest {
            api: false,
            message: m,
        }),
        Err(e) => Err(WebError::page(e)),
    }
}

#[derive(Deserialize, Default)]
struct CasesQuery {
    all: Option<String>,
}

#[derive(Template)]
#[template(path = "reports_cases.html")]
struct CasesPage {
    chrome: Chrome,
    all: bool,
    cases: Vec<edu_app::obligations::CaseView>,
    labels: Vec<(String, String, String)>,
}

async fn cases(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<CasesQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.cases.title");
    let t = chrome.t;
    let all = q.all.as_deref() == Some("1");
    let cases = state
        .app
        .health_case_list(actor, !all, &caller.context)
        .await
        .map_err(WebError::page)?;
    let def = state.app.obligation_defs().get(HEALTH_DAILY).cloned();
    let column = |col: &str, v: &Option<String>| -> String {
        let Some(v) = v else { return "—".into() };
        def.as_ref()
            .and_then(|d| d.form.field("cases"))
            .and_then(|f| f.column(col))
            .and_then(|c| c.option(v))
            .map(|o| title_of(t, &o.label, &o.label_en))
            .unwrap_or_else(|| v.clone())
    };
    let labels = cases
        .iter()
        .map(|c| {
            (
                column("person_kind", &c.person_kind),
                column("follow_up", &c.status),
                district_name(&c.district, t),
            )
        })
        .collect();
    render(&CasesPage {
        all,
        cases,
        labels,
        chrome,
    })
}

// ------------------------------------------------------------------------------------------------------------
// Checks: homework, ice-and-snow, funding

#[derive(Template)]
#[template(path = "reports_checks.html")]
struct ChecksPage {
    chrome: Chrome,
    week: String,
    homework_returns: usize,
    bands: Vec<(String, String, String, bool)>,
    over_cap: Vec<(String, String, String)>,
    ice_total: String,
    ice_target: String,
    ice_pace: String,
    ice_on_pace: bool,
    ice_districts: Vec<(String, String)>,
    ice_months: Vec<(String, String)>,
    funding_year: String,
    funding_public: String,
    funding_inclusive: String,
    funding_short: Vec<(String, String, String)>,
    funding_returns: usize,
}

async fn checks(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/reports", "reports.checks.title");
    let t = chrome.t;
    let hw = state
        .app
        .homework_report(actor, None)
        .await
        .map_err(WebError::page)?;
    let ice = state
        .app
        .ice_snow_progress(actor)
        .await
        .map_err(WebError::page)?;
    let funding = state
        .app
        .funding_report(actor, None)
        .await
        .map_err(WebError::page)?;
    let per = |yuan: f64, pupils: f64| {
        if pupils > 0.0 {
            format!("{:.1}", yuan / pupils)
        } else {
            "—".into()
        }
    };
    render(&ChecksPage {
        week: hw
            .period
            .as_ref()
            .map(|p| p.key.clone())
            .unwrap_or_default(),
        homework_returns: hw.returns,
        bands: hw
            .bands
            .iter()
            .map(|(rule, cap, _, _, avg)| {
                let ok = avg.is_none_or(|a| a <= cap.parse::<f64>().unwrap_or(f64::MAX));
                (
                    rule.clone(),
                    cap.clone(),
                    avg.map(|a| format!("{a:.1}")).unwrap_or_else(|| "—".into()),
                    ok,
                )
            })
            .collect(),
        over_cap: hw
            .over_cap
            .iter()
            .map(|(code, name, c)| {
                (
                    code.clone(),
                    name.clone(),
                    t.pick(&c.explanation, &c.explanation_en).to_owned(),
                )
            })
            .collect(),
        ice_total: thousands(ice.total.round() as i64),
        ice_target: thousands(ice.target.round() as i64),
        ice_pace: thousands(ice.on_pace.round() as i64),
        ice_on_pace: ice.total >= ice.on_pace,
        ice_districts: ice
            .districts
            .iter()
            .map(|(d, v)| (district_name(d, t), thousands(v.round() as i64)))
            .collect(),
        ice_months: ice
            .months
            .iter()
            .map(|(m, v)| (m.clone(), thousands(v.round() as i64)))
            .collect(),
        funding_year: funding.year.clone(),
        funding_public: per(funding.public_yuan, funding.public_pupils),
        funding_inclusive: per(funding.inclusive_yuan, funding.inclusive_pupils),
        funding_short: funding
            .short
            .iter()
            .map(|(code, name, c)| {
                (
                    code.clone(),
                    name.clone(),
                    t.pick(&c.explanation, &c.explanation_en).to_owned(),
                )
            })
            .collect(),
        funding_returns: funding.returns,
        chrome,
    })
}

// ------------------------------------------------------------------------------------------------------------
// Exports

#[derive(Deserialize, Default)]
struct ExportQuery {
    obligation: Option<String>,
    org: Option<String>,
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn xlsx(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (header::CONTENT_DISPOSITION, super::data::attachment(name)),
        ],
        bytes,
    )
        .into_response()
}

async fn export_status(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<ExportQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let obligation = q
        .obligation
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| HEALTH_DAILY.to_owned());
    let date = parse_day(q.date.as_deref())?;
    let (bytes, name) = state
        .app
        .export_status(actor, &obligation, q.org.as_deref(), date, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(xlsx(bytes, &name))
}

async fn export_returns(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(q): Query<ExportQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let obligation = q
        .obligation
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| HEALTH_DAILY.to_owned());
    let today = edu_model::china_time::business_date(state.app.now());
    let to = parse_day(q.to.as_deref())?.unwrap_or(today);
    let from = parse_day(q.from.as_deref().or(q.date.as_deref()))?
        .unwrap_or_else(|| form::china_time::add_days(to, -30));
    let (bytes, name) = state
        .app
        .export_submissions(
            actor,
            &obligation,
            q.org.as_deref(),
            from,
            to,
            &caller.context,
        )
        .await
        .map_err(WebError::page)?;
    Ok(xlsx(bytes, &name))
}

pub fn routes(routes: Routes) -> Routes {
    let submit = Access::Permission(Permission::SubmitReports);
    let review = Access::Permission(Permission::ReviewReports);
    routes
        .page("GET", "/reports", Access::AnyPermission(ANY), get(today))
        .page(
            "POST",
            "/reports/zero/{obligation}/{period}",
            submit,
            post(zero_report),
        )
        .page(
            "GET",
            "/reports/form/{obligation}/{period}",
            submit,
            get(form_page),
        )
        .page(
            "POST",
            "/reports/form/{obligation}/{period}",
            submit,
            post(form_submit),
        )
        .page(
            "GET",
            "/reports/return/{return_id}",
            Access::AnyPermission(ANY),
            get(return_page),
        )
        .page(
            "POST",
            "/reports/return/{return_id}/correct",
            submit,
            post(correct_submit),
        )
        .page(
            "POST",
            "/reports/return/{return_id}/review",
            review,
            post(review_submit),
        )
        .page(
            "GET",
            "/reports/history",
            Access::AnyPermission(ANY),
            get(history),
        )
        .page(
            "GET",
            "/reports/calendar",
            Access::AnyPermission(ANY),
            get(calendar),
        )
        .page("GET", "/reports/follow-up", review, get(follow_up))
        .page("GET", "/reports/copies", review, get(copies))
        .page(
            "GET",
            "/reports/alerts",
            Access::AnyPermission(ANY),
            get(alerts),
        )
        .page(
            "POST",
            "/reports/alerts/{id}/ack",
            review,
            post(acknowledge),
        )
        .page(
            "GET",
            "/reports/cases",
            Access::AnyPermission(ANY),
            get(cases),
        )
        .page("GET", "/reports/checks", review, get(checks))
        .page(
            "GET",
            "/reports/export/status.xlsx",
            Access::Permission(Permission::ExportData),
            get(export_status),
        )
        .page(
            "GET",
            "/reports/export/returns.xlsx",
            Access::Permission(Permission::ExportData),
            get(export_returns),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> engine::ObligationDef {
        engine::parse_obligation_defs(engine::DAQING_2021_DEFS)
            .unwrap()
            .remove(HEALTH_DAILY)
            .unwrap()
    }

    #[test]
    fn a_form_post_becomes_the_json_object_it_describes() {
        let def = health();
        let pairs: Vec<(String, String)> = [
            ("f_absent_pupils", "2"),
            ("f_absent_pupils_ill", "1"),
            ("f_remarks", ""),
            ("l_cases_0_person", "P01"),
            ("l_cases_0_symptoms", "fever"),
            ("l_cases_0_symptoms", "cough"),
            ("l_cases_1_person", ""),
            ("l_cases_1_class_name", ""),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let values = values_from_form(&def, &pairs);
        assert_eq!(values["absent_pupils"], Value::String("2".into()));
        assert!(!values.contains_key("remarks"));
        let rows = values["cases"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "the empty second row is dropped");
        assert_eq!(rows[0]["symptoms"], serde_json::json!(["fever", "cough"]));
    }

    #[test]
    fn errors_land_beside_their_inputs() {
        let def = health();
        let mut form = form_view(&def, &Map::new(), 2, Tr::new(crate::i18n::Lang::Zh));
        mark_errors(
            &mut form,
            &[
                edu_app::FieldError::new("absent_pupils", "below"),
                edu_app::FieldError::new("cases[1].onset_date", "future"),
            ],
        );
        assert!(
            form.scalars
                .iter()
                .any(|i| i.name == "f_absent_pupils" && i.error == "below")
        );
        assert!(
            form.lists[0].rows[1]
                .iter()
                .any(|i| i.name == "l_cases_1_onset_date" && i.error == "future")
        );
    }
}
