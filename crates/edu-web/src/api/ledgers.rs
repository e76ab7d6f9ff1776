//! `/api/v1/ledgers/...`: ledgers, cases in scope, one case, opening a case and applying an action (the engine
//! decides; refusals come back as 422 with the rule), attachments, per-unit counts, the safety overview and a
//! school's safety data (risk points with their map positions and colours, guards, key areas).

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::ledgers::{CaseFilter, StepInput, Upload};
use edu_app::{Permission, page};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::openapi::{ok, op, path_param, query_param};
use super::{CallerExt, actor};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

const READ: Access = Access::AnyPermission(&[Permission::ManageCases, Permission::ViewPlan]);
const WRITE: Access = Access::Permission(Permission::ManageCases);

async fn ledgers(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let list = state.app.ledgers(actor).map_err(WebError::api)?;
    Ok(Json(json!({ "items": list })).into_response())
}

#[derive(Deserialize, Default)]
struct CasesQuery {
    state: Option<String>,
    open: Option<bool>,
    overdue: Option<bool>,
    level: Option<String>,
    school: Option<String>,
    district: Option<String>,
    mine: Option<bool>,
    escalated: Option<bool>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn cases(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(ledger): Path<String>,
    Query(q): Query<CasesQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let number = q.page.unwrap_or(1).max(1);
    let size = q.per_page.unwrap_or(100).clamp(1, 200);
    let filter = CaseFilter {
        state: q.state,
        open: q.open,
        overdue: q.overdue.unwrap_or(false),
        level: q.level,
        school: q.school,
        district: q.district,
        mine: q.mine.unwrap_or(false),
        escalated: q.escalated.unwrap_or(false),
    };
    let result = state
        .app
        .ledger_cases(actor, &ledger, &filter, page(number, size))
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({
        "ledger": ledger, "total": result.total, "page": number, "per_page": size, "items": result.items
    }))
    .into_response())
}

#[derive(Deserialize)]
struct OpenRequest {
    /// Institution code (ignored for school users: their own school).
    #[serde(default)]
    school: String,
    /// The creating action (default: the ledger's only one).
    #[serde(default)]
    action: String,
    #[serde(default)]
    values: Map<String, Value>,
    #[serde(default)]
    note: Option<String>,
}

fn bad_json() -> WebError {
    WebError::BadRequest {
        api: true,
        message: "body must be a JSON object: {\"action\", \"values\", \"note\"}".into(),
    }
}

async fn open(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(ledger): Path<String>,
    body: Result<Json<OpenRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let Json(body) = body.map_err(|_| bad_json())?;
    let id = state
        .app
        .open_ledger_case(
            actor,
            &ledger,
            &body.school,
            StepInput {
                action: body.action,
                values: body.values,
                uploads: Vec::new(),
                note: body.note,
                version: None,
            },
            &caller.context,
        )
        .await
        .map_err(WebError::api)?;
    let detail = state
        .app
        .ledger_case(actor, &ledger, id, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "case": detail}))).into_response())
}

async fn case(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((ledger, id)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let detail = state
        .app
        .ledger_case(actor, &ledger, id, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok(Json(detail).into_response())
}

#[derive(Deserialize)]
struct ActionRequest {
    action: String,
    #[serde(default)]
    values: Map<String, Value>,
    #[serde(default)]
    note: Option<String>,
    /// The case version the client saw (`summary.version`); a stale one is refused.
    #[serde(default)]
    version: Option<i64>,
}

async fn apply(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((ledger, id)): Path<(String, i64)>,
    body: Result<Json<ActionRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let Json(body) = body.map_err(|_| bad_json())?;
    let summary = state
        .app
        .apply_ledger_action(
            actor,
            &ledger,
            id,
            StepInput {
                action: body.action,
                values: body.values,
                uploads: Vec::new(),
                note: body.note,
                version: body.version,
            },
            &caller.context,
        )
        .await
        .map_err(WebError::api)?;
    Ok(Json(summary).into_response())
}

async fn metrics(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(ledger): Path<String>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let units = state
        .app
        .ledger_unit_counts(actor, &ledger)
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({"ledger": ledger, "units": units})).into_response())
}

async fn upload(
    State(state): State<WebState>,
    caller: CallerExt,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let bad = || WebError::BadRequest {
        api: true,
        message: "multipart form with `school` and `file` (at most 10 MB)".into(),
    };
    let mut school = String::new();
    let mut file: Option<Upload> = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| bad())? {
        match field.name().unwrap_or("") {
            "school" => school = field.text().await.map_err(|_| bad())?,
            "field" => {}
            _ if field.file_name().is_some() => {
                let bytes = field.bytes().await.map_err(|_| bad())?;
                file = Some(Upload {
                    field: String::new(),
                    bytes: bytes.to_vec(),
                });
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(bad)?;
    let meta = state
        .app
        .upload_ledger_attachment(actor, &school, &file, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok((StatusCode::CREATED, Json(meta)).into_response())
}

async fn overview(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let o = state
        .app
        .safety_overview(actor)
        .await
        .map_err(WebError::api)?;
    Ok(Json(o).into_response())
}

async fn school(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let s = state
        .app
        .school_safety(actor, &code)
        .await
        .map_err(WebError::api)?;
    Ok(Json(s).into_response())
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .api("GET", "/api/v1/ledgers", READ, get(ledgers))
        .api("GET", "/api/v1/ledgers/overview", READ, get(overview))
        .api("GET", "/api/v1/ledgers/schools/{code}", READ, get(school))
        .api(
            "POST",
            "/api/v1/ledgers/attachments",
            WRITE,
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .api("GET", "/api/v1/ledgers/{ledger}/cases", READ, get(cases))
        .api("POST", "/api/v1/ledgers/{ledger}/cases", WRITE, post(open))
        .api(
            "GET",
            "/api/v1/ledgers/{ledger}/cases/{id}",
            READ,
            get(case),
        )
        .api(
            "POST",
            "/api/v1/ledgers/{ledger}/cases/{id}/actions",
            WRITE,
            post(apply),
        )
        .api(
            "GET",
            "/api/v1/ledgers/{ledger}/metrics",
            READ,
            get(metrics),
        )
}

/// This module's entries of the OpenAPI `paths` object.
pub fn openapi_paths() -> Map<String, Value> {
    let ledger = path_param(
        "ledger",
        "ledger id of the plan: risk-points, hazards, tutoring-complaints, negative-list, inspections, inclusive-certification",
    );
    let case_id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "case id"});
    let mut list_params = vec![
        ledger.clone(),
        query_param("state", "string", "current state"),
        query_param(
            "open",
            "boolean",
            "only open (true) or closed (false) cases",
        ),
        query_param(
            "overdue",
            "boolean",
            "only cases past the deadline of their state now",
        ),
        query_param(
            "level",
            "string",
            "level: major/large/general/low (risk) or major/general (hazards)",
        ),
        query_param("school", "string", "institution code"),
        query_param("district", "string", "district code"),
        query_param(
            "mine",
            "boolean",
            "cases naming the caller in an assignee field",
        ),
        query_param(
            "escalated",
            "boolean",
            "open cases escalated to the district or city now",
        ),
    ];
    list_params.push(query_param("page", "integer", "1-based page"));
    list_params.push(query_param("per_page", "integer", "1–200, default 100"));
    let step_body = |with_school: bool| {
        let mut properties = json!({
            "action": {"type": "string", "description": "action name of the ledger's transitions"},
            "values": {"type": "object", "description": "field values supplied in this step (person fields: `u:<username>` or `s:<staff number>`; file fields: tokens from POST /api/v1/ledgers/attachments)"},
            "note": {"type": "string"}
        });
        if with_school && let Some(map) = properties.as_object_mut() {
            map.insert("school".into(), json!({"type": "string", "description": "institution code (district and city users)"}));
        } else if let Some(map) = properties.as_object_mut() {
            map.insert("version".into(), json!({"type": "integer", "description": "the case version seen; a stale one is refused"}));
        }
        json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": properties}}}})
    };
    let refused = json!({"422": {"description": "The engine refused the step; `fields[].reason` names the rule, e.g. [wrong_state], [guard_failed], [evidence_missing]", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}});
    let with = |mut operation: Value, body: Option<Value>, extra: &Value| {
        if let Some(map) = operation.as_object_mut() {
            if let Some(body) = body {
                map.insert("requestBody".into(), body);
            }
            if let (Some(responses), Some(extra)) = (
                map.get_mut("responses").and_then(Value::as_object_mut),
                extra.as_object(),
            ) {
                for (k, v) in extra {
                    responses.insert(k.clone(), v.clone());
                }
            }
        }
        operation
    };
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/ledgers".into(),
        json!({"get": op("Ledgers of the plan the caller may see", "ledgers", json!([]), ok("Ledgers", json!({"type": "object"})))}),
    );
    paths.insert(
        "/api/v1/ledgers/overview".into(),
        json!({"get": op("Safety overview of the caller's scope: per district (city) or school (district) guard and camera coverage, hazards, red risk points; overdue hazards, red risk points, campuses without certified guards", "ledgers", json!([]), ok("Overview", json!({"type": "object"})))}),
    );
    paths.insert(
        "/api/v1/ledgers/schools/{code}".into(),
        json!({"get": op("A school's safety data: risk points (level, colour, map position in % of the site plan), guards with certificates, key areas with camera and police link, vetting (masked), open hazards", "ledgers", json!([path_param("code", "10-digit 学校标识码")]), ok("School safety", json!({"type": "object"})))}),
    );
    paths.insert(
        "/api/v1/ledgers/attachments".into(),
        json!({"post": with(
            op("Upload a photo or PDF (≤ 10 MB; JPEG, PNG or PDF by content; location data removed) for a later step; returns its token", "ledgers", json!([]), json!({"201": {"description": "Stored; `token` goes into a file field's values"}})),
            Some(json!({"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"school": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}}}})),
            &json!({"422": {"description": "Wrong type or too large"}}),
        )}),
    );
    paths.insert(
        "/api/v1/ledgers/{ledger}/cases".into(),
        json!({
            "get": op("Cases of a ledger in the caller's scope, with their status now (deadline, overdue, escalation)", "ledgers", Value::Array(list_params), ok("A page of cases", json!({"type": "object"}))),
            "post": with(
                op("Open a case with the ledger's creating action", "ledgers", json!([ledger.clone()]), json!({"201": {"description": "Opened: {id, case}"}})),
                Some(step_body(true)),
                &refused,
            )
        }),
    );
    paths.insert(
        "/api/v1/ledgers/{ledger}/cases/{id}".into(),
        json!({"get": op("One case as the caller may see it: fields (confidential ones only to the assigned investigator; reading them is audited), history with who and when, the steps the caller may take now", "ledgers", json!([ledger.clone(), case_id.clone()]), ok("The case", json!({"type": "object"})))}),
    );
    paths.insert(
        "/api/v1/ledgers/{ledger}/cases/{id}/actions".into(),
        json!({"post": with(
            op("Apply an action to a case; the engine checks state, role, scope, assignment, fields, evidence and guards", "ledgers", json!([ledger.clone(), case_id]), ok("The case's new summary", json!({"type": "object"}))),
            Some(step_body(false)),
            &refused,
        )}),
    );
    paths.insert(
        "/api/v1/ledgers/{ledger}/metrics".into(),
        json!({"get": op("Counts of a ledger per org unit now: total, open, overdue, closed, closed on time, escalated, by level", "ledgers", json!([ledger]), ok("Counts", json!({"type": "object"})))}),
    );
    paths
}
