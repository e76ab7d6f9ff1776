//! The plan scorecard (issue 3): every target with value, local target, national threshold, status and trend; a
//! drill-down from city to districts to the institutions behind the number; every commitment and where it is served;
//! an .xlsx export.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::Permission;
use edu_app::plan::Drilldown;
use edu_plan::{CommitmentKind, PlanDate, Status, TargetResult};
use serde::Deserialize;

use super::{CallerExt, Chrome, kind_label, render};
use crate::WebState;
use crate::error::WebError;
use crate::i18n::Tr;
use crate::routes::{Access, Routes};
use crate::svg::{self, Bar};

pub fn status_code(status: Status) -> &'static str {
    match status {
        Status::Met => "met",
        Status::AtRisk => "at_risk",
        Status::Missed => "missed",
        Status::NoData => "no_data",
    }
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Met => "good",
        Status::AtRisk => "warn",
        Status::Missed => "bad",
        Status::NoData => "muted",
    }
}

fn status_label(status: Status, t: Tr) -> &'static str {
    t.s(match status {
        Status::Met => "plan.status.met",
        Status::AtRisk => "plan.status.at_risk",
        Status::Missed => "plan.status.missed",
        Status::NoData => "plan.status.no_data",
    })
}

/// A number for display: integers without decimals, others with at most two.
pub fn num(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => super::thousands(v as i64),
        Some(v) if v.abs() >= 1000.0 => super::thousands(v.round() as i64),
        Some(v) => format!("{v:.2}"),
    }
}

/// One target row as displayed.
pub struct TargetRow {
    pub id: String,
    pub title: String,
    pub value: String,
    pub unit: String,
    pub comparator: String,
    pub target: String,
    pub threshold: String,
    pub numerator: String,
    pub denominator: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub period: String,
}

fn target_row(t: &TargetResult, tr: Tr) -> TargetRow {
    TargetRow {
        id: t.id.clone(),
        title: t.title.clone(),
        value: num(t.indicator.value),
        unit: t.unit.clone(),
        comparator: t.comparator.symbol().to_owned(),
        target: num(Some(t.target)),
        threshold: num(t.threshold),
        numerator: num(t.indicator.numerator),
        denominator: num(t.indicator.denominator),
        status: status_code(t.status),
        status_label: status_label(t.status, tr),
        period: format!("{} — {}", t.period.start, t.period.end),
    }
}

#[derive(Deserialize, Default)]
struct OrgQuery {
    org: Option<String>,
    as_of: Option<String>,
}

fn parse_as_of(text: Option<&str>) -> Result<Option<PlanDate>, WebError> {
    match text.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<PlanDate>()
            .map(Some)
            .map_err(|e| WebError::BadRequest {
                api: false,
                message: e,
            }),
    }
}

#[derive(Template)]
#[template(path = "plan_scorecard.html")]
struct ScorecardPage {
    chrome: Chrome,
    org: String,
    org_name: String,
    as_of: String,
    plan_title: String,
    rows: Vec<TargetRow>,
    counts: (usize, usize, usize, usize),
    children: Vec<(String, String)>,
    export_action: String,
}

async fn scorecard(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let as_of = parse_as_of(query.as_of.as_deref())?;
    let card = state
        .app
        .scorecard(actor, query.org.as_deref(), as_of)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/plan", "plan.title");
    let t = chrome.t;
    chrome.title = format!("{} · {}", card.org_name, t.s("plan.title"));
    let rows: Vec<TargetRow> = card
        .evaluation
        .targets
        .iter()
        .map(|r| target_row(r, t))
        .collect();
    let count = |s: Status| {
        card.evaluation
            .targets
            .iter()
            .filter(|r| r.status == s)
            .count()
    };
    let counts = (
        count(Status::Met),
        count(Status::AtRisk),
        count(Status::Missed),
        count(Status::NoData),
    );
    render(&ScorecardPage {
        export_action: chrome.action("/plan/export"),
        chrome,
        plan_title: state.app.plan().plan.header().title.clone(),
        org: card.org,
        org_name: card.org_name,
        as_of: card.as_of.to_string(),
        rows,
        counts,
        children: card.children,
    })
}

pub struct DrillView {
    pub name: String,
    pub kind: String,
    pub value: String,
    pub numerator: String,
    pub denominator: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "plan_target.html")]
struct TargetPage {
    chrome: Chrome,
    row: TargetRow,
    indicator: String,
    org: String,
    org_name: String,
    as_of: String,
    breakdowns: Vec<(String, String, String, String, &'static str)>,
    rows: Vec<DrillView>,
    rows_are_institutions: bool,
    bars: String,
    trend: String,
    note: String,
    reason: String,
}

fn breakdown_label(b: &edu_plan::Breakdown, t: Tr) -> String {
    let code = serde_json::to_value(b).ok();
    let text = code
        .as_ref()
        .and_then(|v| v.as_object())
        .and_then(|o| o.values().next())
        .and_then(|v| v.as_str())
        .unwrap_or("");

    edu_model::Area::parse(text)
        .map(|a| t.pick(a.label_zh(), a.label_en()).to_owned())
        .or_else(|_| {
            edu_model::Ownership::parse(text).map(|o| t.pick(o.label_zh(), o.label_en()).to_owned())
        })
        .or_else(|_| {
            edu_model::Sex::parse(text).map(|s| t.pick(s.label_zh(), s.label_en()).to_owned())
        })
        .unwrap_or_else(|_| text.to_owned())
}

async fn target(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<String>,
    Query(query): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let as_of = parse_as_of(query.as_of.as_deref())?;
    let drill: Drilldown = state
        .app
        .target_drilldown(actor, &id, query.org.as_deref(), as_of)
        .await
        .map_err(WebError::page)?;
    let mut chrome = Chrome::new(&caller, "/plan", "plan.title");
    let t = chrome.t;
    chrome.title = format!("{} · {}", drill.result.title, drill.org_name);
    let definition = state.app.plan().plan.target(&id);
    let rows: Vec<DrillView> = drill
        .rows
        .iter()
        .map(|r| DrillView {
            link: if drill.rows_are_institutions {
                Some(format!("/institutions/{}", r.org))
            } else {
                Some(format!("/plan/targets/{id}?org={}", r.org))
            },
            name: r.name.clone(),
            kind: r
                .kind
                .as_deref()
                .map(|k| kind_label(k, t))
                .unwrap_or_default(),
            value: num(r.result.indicator.value),
            numerator: num(r.result.indicator.numerator),
            denominator: num(r.result.indicator.denominator),
            status: status_code(r.result.status),
            status_label: status_label(r.result.status, t),
        })
        .collect();
    let bars: Vec<Bar> = drill
        .rows
        .iter()
        .take(40)
        .map(|r| Bar {
            label: r.name.chars().take(12).collect(),
            value: r.result.indicator.value,
            class: status_class(r.result.status),
            href: if drill.rows_are_institutions {
                None
            } else {
                Some(format!("/plan/targets/{id}?org={}", r.org))
            },
        })
        .collect();
    let bars = if bars.is_empty() {
        String::new()
    } else {
        svg::bar_chart(
            &bars,
            Some(drill.result.target),
            drill.result.threshold,
            &drill.result.unit,
            &drill.result.title,
        )
    };
    let points: Vec<(String, Option<f64>)> = drill
        .trend
        .iter()
        .map(|s| {
            (
                s.taken_on.get(5..).unwrap_or(&s.taken_on).to_owned(),
                s.value,
            )
        })
        .collect();
    let trend = if points.len() >= 2 {
        svg::line_chart(
            &points,
            Some(drill.result.target),
            &drill.result.unit,
            t.s("plan.trend"),
        )
    } else {
        String::new()
    };
    let breakdowns = drill
        .result
        .breakdowns
        .iter()
        .map(|b| {
            (
                breakdown_label(&b.breakdown, t),
                num(b.indicator.value),
                num(b.indicator.numerator),
                num(b.indicator.denominator),
                b.status.map(status_code).unwrap_or("no_data"),
            )
        })
        .collect();
    let reason = drill
        .result
        .reason
        .map(|r| format!("{r:?}"))
        .unwrap_or_default();
    render(&TargetPage {
        row: target_row(&drill.result, t),
        indicator: drill.result.indicator_text.clone(),
        note: definition.and_then(|d| d.note.clone()).unwrap_or_default(),
        org: drill.org.clone(),
        org_name: drill.org_name.clone(),
        as_of: drill.as_of.to_string(),
        breakdowns,
        rows,
        rows_are_institutions: drill.rows_are_institutions,
        bars,
        trend,
        reason,
        chrome,
    })
}

pub struct CommitmentView {
    pub id: String,
    pub text: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub served: String,
    pub link: Option<String>,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "plan_commitments.html")]
struct CommitmentsPage {
    chrome: Chrome,
    sections: Vec<(String, Vec<CommitmentView>)>,
    totals: Vec<(&'static str, usize)>,
    total: usize,
}

fn kind_key(kind: CommitmentKind) -> (&'static str, &'static str) {
    match kind {
        CommitmentKind::Target => ("target", "plan.kind.target"),
        CommitmentKind::Obligation => ("obligation", "plan.kind.obligation"),
        CommitmentKind::Ledger => ("ledger", "plan.kind.ledger"),
        CommitmentKind::Registry => ("registry", "plan.kind.registry"),
        CommitmentKind::Engine => ("engine", "plan.kind.engine"),
        CommitmentKind::NotMeasured => ("not_measured", "plan.kind.not_measured"),
    }
}

/// Where in EduPlan a commitment is served.
fn served_link(kind: &str, id: &str) -> Option<String> {
    match kind {
        "target" => Some(format!("/plan/targets/{id}")),
        "obligation" => Some(format!("/reports?obligation={id}")),
        "ledger" => Some(format!("/ledgers/{id}")),
        "engine" if id.starts_with("fair") => Some("/fair".to_owned()),
        "engine" if id.starts_with("timetable") => Some("/timetable".to_owned()),
        "registry" => Some("/institutions".to_owned()),
        _ => None,
    }
}

async fn commitments(
    State(state): State<WebState>,
    caller: CallerExt,
) -> Result<Response, WebError> {
    let chrome = Chrome::new(&caller, "/plan", "plan.commitments");
    let t = chrome.t;
    let plan = &state.app.plan().plan;
    let mut sections: Vec<(String, Vec<CommitmentView>)> = plan
        .header()
        .sections
        .iter()
        .map(|s| (s.clone(), Vec::new()))
        .collect();
    let mut totals: Vec<(&'static str, usize)> = Vec::new();
    for c in plan.commitments() {
        let (kind, key) = kind_key(c.kind);
        let (served, link) = match &c.served_by {
            Some(s) => {
                let (served_kind, _) = kind_key(s.kind);
                let name = match served_kind {
                    "target" => plan.target(&s.id).map(|t| t.title.clone()),
                    "obligation" => state
                        .app
                        .plan()
                        .obligations
                        .get(&s.id)
                        .map(|o| o.title.clone()),
                    "ledger" => state.app.plan().ledgers.get(&s.id).map(|l| l.title.clone()),
                    _ => None,
                };
                (
                    name.unwrap_or_else(|| s.id.clone()),
                    served_link(served_kind, &s.id),
                )
            }
            None => (String::new(), None),
        };
        let view = CommitmentView {
            id: c.id.clone(),
            text: c.text.clone(),
            kind,
            kind_label: t.s(key),
            served,
            link,
            reason: c.reason.clone().unwrap_or_default(),
        };
        match sections.iter_mut().find(|(name, _)| *name == c.section) {
            Some((_, list)) => list.push(view),
            None => sections.push((c.section.clone(), vec![view])),
        }
        match totals.iter_mut().find(|(k, _)| *k == t.s(key)) {
            Some((_, n)) => *n += 1,
            None => totals.push((t.s(key), 1)),
        }
    }
    sections.retain(|(_, list)| !list.is_empty());
    let total = plan.commitments().len();
    render(&CommitmentsPage {
        chrome,
        sections,
        totals,
        total,
    })
}

#[derive(Deserialize)]
struct ExportForm {
    org: Option<String>,
    as_of: Option<String>,
}

async fn export(
    State(state): State<WebState>,
    caller: CallerExt,
    Form(form): Form<ExportForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let as_of = parse_as_of(form.as_of.as_deref())?;
    let (bytes, name) = state
        .app
        .export_scorecard(
            actor,
            form.org.as_deref().filter(|o| !o.is_empty()),
            as_of,
            &caller.context,
        )
        .await
        .map_err(WebError::page)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (header::CONTENT_DISPOSITION, super::data::attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .page(
            "GET",
            "/plan",
            Access::Permission(Permission::ViewPlan),
            get(scorecard),
        )
        .page(
            "GET",
            "/plan/targets/{id}",
            Access::Permission(Permission::ViewPlan),
            get(target),
        )
        .page(
            "GET",
            "/plan/commitments",
            Access::Permission(Permission::ViewPlan),
            get(commitments),
        )
        .page(
            "POST",
            "/plan/export",
            Access::Permission(Permission::ViewPlan),
            post(export),
        )
}
