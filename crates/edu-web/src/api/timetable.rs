//! `/api/v1/timetable/...`: choice windows, choices, the instance and solutions in the eduplan-zouban formats.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::Permission;
use edu_app::timetables::{ApiChoice, GridKind, SolveRequest, WindowInfo};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::openapi::{ok, op, path_param, query_param};
use super::{CallerExt, actor};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

const VIEW: Access =
    Access::AnyPermission(&[Permission::SubmitReports, Permission::RunAllocations]);

fn window_json(w: &WindowInfo) -> Value {
    json!({
        "id": w.record.id,
        "institution_code": w.record.institution_code,
        "institution_name": w.record.institution_name,
        "grade": w.record.grade,
        "title": w.record.title,
        "opens_on": w.record.opens_on,
        "closes_on": w.record.closes_on,
        "rule": w.record.rule,
        "open_now": w.open_now,
        "pupils": w.pupils,
        "choices": w.record.choices,
    })
}

/// A document already in its exchange format.
fn json_text(text: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response()
}

async fn windows(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let overview = state
        .app
        .timetable_overview(actor)
        .await
        .map_err(WebError::api)?;
    let items: Vec<Value> = overview.windows.iter().map(window_json).collect();
    Ok(Json(json!({"items": items})).into_response())
}

async fn window(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let d = state
        .app
        .window_dashboard(actor, id)
        .await
        .map_err(WebError::api)?;
    let counts: Vec<Value> = d
        .counts
        .iter()
        .map(|(c, n)| json!({"combination": c.short_zh(), "selective": c.ids(), "count": n}))
        .collect();
    let classes: Vec<Value> = d
        .classes
        .iter()
        .map(|c| json!({"class_id": c.class_id, "class": c.name, "pupils": c.pupils, "entered": c.entered, "missing": c.missing}))
        .collect();
    let mut body = window_json(&d.window);
    if let Some(map) = body.as_object_mut() {
        map.insert("entered".into(), json!(d.entered));
        map.insert("combinations".into(), Value::Array(counts));
        map.insert("classes".into(), Value::Array(classes));
        map.insert("current_run".into(), json!(d.current_run));
        map.insert(
            "runs".into(),
            serde_json::to_value(&d.runs).unwrap_or_default(),
        );
    }
    Ok(Json(body).into_response())
}

async fn choices(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let (window, rows) = state
        .app
        .window_choices(actor, id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({"window": window_json(&window), "items": rows})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoicesBody {
    choices: Vec<ApiChoice>,
}

async fn set_choices(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    body: Result<Json<ChoicesBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let Ok(Json(body)) = body else {
        return Err(WebError::BadRequest {
            api: true,
            message: "body must be JSON {\"choices\": [{\"pupil_id\", \"selective\"}]}".into(),
        });
    };
    let changed = state
        .app
        .set_choices_api(actor, id, &body.choices, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({"ok": true, "changed": changed})).into_response())
}

#[derive(Deserialize, Default)]
struct InstanceQuery {
    allow_missing: Option<bool>,
}

async fn instance(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<InstanceQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let built = state
        .app
        .window_instance(actor, id, query.allow_missing.unwrap_or(false))
        .await
        .map_err(WebError::api)?;
    Ok(json_text(built.instance.to_json()))
}

async fn solve(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    body: Result<Json<SolveRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, WebError> {
    use axum::extract::rejection::JsonRejection;
    let actor = actor(&caller)?;
    let request = match body {
        Ok(Json(b)) => b,
        // No body: the window's settings.
        Err(JsonRejection::MissingJsonContentType(_)) => SolveRequest::default(),
        Err(e) => {
            return Err(WebError::BadRequest {
                api: true,
                message: format!("body must be a JSON object: {e}"),
            });
        }
    };
    let run = state
        .app
        .start_timetable_run(actor, id, &request, &caller.context)
        .await
        .map_err(WebError::api)?;
    let summary = state
        .app
        .run_timetable(actor, run, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok(Json(summary).into_response())
}

async fn current_solution(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let view = state
        .app
        .current_timetable(actor, id)
        .await
        .map_err(WebError::api)?;
    let solution = view.solution.ok_or(WebError::NotFound { api: true })?;
    Ok(json_text(solution.to_json()))
}

async fn run(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let view = state
        .app
        .timetable_run(actor, id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({
        "run": view.summary,
        "running": view.running,
        "window": window_json(&view.window),
        "stats": view.stats,
        "report": view.report,
        "explanation": view.explanation,
    }))
    .into_response())
}

async fn run_solution(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let view = state
        .app
        .timetable_run(actor, id)
        .await
        .map_err(WebError::api)?;
    let solution = view.solution.ok_or(WebError::NotFound { api: true })?;
    Ok(json_text(solution.to_json()))
}

async fn run_instance(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let view = state
        .app
        .timetable_run(actor, id)
        .await
        .map_err(WebError::api)?;
    Ok(json_text(view.instance.to_json()))
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
    let actor = actor(&caller)?;
    // Without both parameters there is no such grid.
    let (Some(kind), Some(of)) = (query.kind, query.of) else {
        return Err(WebError::NotFound { api: true });
    };
    let kind = GridKind::parse(&kind).ok_or(WebError::BadRequest {
        api: true,
        message: "kind must be class, teacher, room or student".into(),
    })?;
    let (_, grid) = state
        .app
        .timetable_grid(actor, id, kind, &of)
        .await
        .map_err(WebError::api)?;
    Ok(Json(grid).into_response())
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .api("GET", "/api/v1/timetable/windows", VIEW, get(windows))
        .api("GET", "/api/v1/timetable/windows/{id}", VIEW, get(window))
        .api(
            "GET",
            "/api/v1/timetable/windows/{id}/choices",
            VIEW,
            get(choices),
        )
        .api(
            "POST",
            "/api/v1/timetable/windows/{id}/choices",
            Access::Permission(Permission::SubmitReports),
            post(set_choices),
        )
        .api(
            "GET",
            "/api/v1/timetable/windows/{id}/instance",
            VIEW,
            get(instance),
        )
        .api(
            "POST",
            "/api/v1/timetable/windows/{id}/solve",
            Access::Permission(Permission::RunAllocations),
            post(solve),
        )
        .api(
            "GET",
            "/api/v1/timetable/windows/{id}/solution",
            VIEW,
            get(current_solution),
        )
        .api("GET", "/api/v1/timetable/runs/{id}", VIEW, get(run))
        .api(
            "GET",
            "/api/v1/timetable/runs/{id}/instance",
            VIEW,
            get(run_instance),
        )
        .api(
            "GET",
            "/api/v1/timetable/runs/{id}/solution",
            VIEW,
            get(run_solution),
        )
        .api("GET", "/api/v1/timetable/runs/{id}/grid", VIEW, get(grid))
}

/// This module's entries of the OpenAPI `paths` object.
pub fn openapi_paths() -> Map<String, Value> {
    let window = || path_param("id", "course-choice window id");
    let run = || path_param("id", "solver run id");
    let object = |d: &str| ok(d, json!({"type": "object"}));
    let spec_instance = json!({"type": "object", "description": "eduplan-zouban/1 instance (shared/specs/zouban.md); students are P<pupil id>, teachers staff numbers"});
    let spec_solution = json!({"type": "object", "description": "eduplan-zouban-solution/1 solution (shared/specs/zouban.md)"});
    let choice_body = json!({"type": "object", "required": ["choices"], "properties": {"choices": {"type": "array", "items": {
        "type": "object", "required": ["pupil_id"], "properties": {
            "pupil_id": {"type": "integer"},
            "selective": {"type": ["array", "null"], "items": {"type": "string", "enum": ["phy", "his", "chem", "bio", "pol", "geo"]},
                "description": "Heilongjiang 3+1+2: one of phy/his and two of chem/bio/pol/geo; null removes the choice"}}}}}});
    let solve_body = json!({"type": "object", "properties": {
        "seed": {"type": "integer"}, "budget_seconds": {"type": "integer", "minimum": 1, "maximum": 120},
        "allow_missing": {"type": "boolean"}, "keep_previous": {"type": "boolean", "description": "re-solve from the newest valid timetable"}}});
    let mut set_choices = op(
        "Enter or remove choices (school admin, teachers of the school; all validated first, each change audited)",
        "timetable",
        json!([window()]),
        object("How many choices changed"),
    );
    let mut solve = op(
        "Build the instance and solve it (waits; only a result with zero hard violations is stored as valid)",
        "timetable",
        json!([window()]),
        object("The finished run: status valid, invalid, infeasible, not_found or failed"),
    );
    for (operation, body) in [(&mut set_choices, choice_body), (&mut solve, solve_body)] {
        if let Some(map) = operation.as_object_mut() {
            map.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": body}}}),
            );
        }
    }
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/timetable/windows".into(),
        json!({"get": op("Course-choice windows in scope", "timetable", json!([]), object("Windows"))}),
    );
    paths.insert(
        "/api/v1/timetable/windows/{id}".into(),
        json!({"get": op("A window: the 12 combination counts, progress per class, runs", "timetable", json!([window()]), object("The window"))}),
    );
    paths.insert(
        "/api/v1/timetable/windows/{id}/choices".into(),
        json!({
            "get": op("Every pupil of the grade with their choice (ids, no names)", "timetable", json!([window()]), object("Choices")),
            "post": set_choices
        }),
    );
    paths.insert(
        "/api/v1/timetable/windows/{id}/instance".into(),
        json!({"get": op("The instance built from the registry, the choices and the settings", "timetable",
            json!([window(), query_param("allow_missing", "boolean", "leave out pupils without a choice instead of refusing")]),
            ok("eduplan-zouban/1", spec_instance.clone()))}),
    );
    paths.insert(
        "/api/v1/timetable/windows/{id}/solve".into(),
        json!({"post": solve}),
    );
    paths.insert(
        "/api/v1/timetable/windows/{id}/solution".into(),
        json!({"get": op("The newest valid timetable of the window", "timetable", json!([window()]), ok("eduplan-zouban-solution/1", spec_solution.clone()))}),
    );
    paths.insert(
        "/api/v1/timetable/runs/{id}".into(),
        json!({"get": op("A run: status, solver statistics, check report, explanation when no timetable exists", "timetable", json!([run()]), object("The run"))}),
    );
    paths.insert(
        "/api/v1/timetable/runs/{id}/instance".into(),
        json!({"get": op("The instance the run solved", "timetable", json!([run()]), ok("eduplan-zouban/1", spec_instance))}),
    );
    paths.insert(
        "/api/v1/timetable/runs/{id}/solution".into(),
        json!({"get": op("The run's solution", "timetable", json!([run()]), ok("eduplan-zouban-solution/1", spec_solution))}),
    );
    paths.insert(
        "/api/v1/timetable/runs/{id}/grid".into(),
        json!({"get": op("One week as a grid: cells[period][day]", "timetable",
            json!([run(), query_param("kind", "string", "class, teacher, room or student"), query_param("of", "string", "the instance id: class name, staff number, room name or P<pupil id>")]),
            object("The grid"))}),
    );
    paths
}
