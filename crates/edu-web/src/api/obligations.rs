//! `/api/v1/obligations/...`: idempotent submissions and reporting status, for machine clients.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::obligations::{SubmitRequest, form};
use edu_app::{AppError, Permission};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::openapi::{op, path_param, query_param};
use super::{CallerExt, actor};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

const ANY: &[Permission] = &[Permission::SubmitReports, Permission::ReviewReports];

/// The body of a submission: the request plus an optional idempotency key (the header wins when both are given).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmissionBody {
    #[serde(default)]
    institution: Option<String>,
    #[serde(default)]
    period: Option<String>,
    /// Alias of `period` for daily returns.
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    zero: bool,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    values: Option<Value>,
    #[serde(default, rename = "idempotency_key")]
    idempotency_key: Option<String>,
}

fn conflict(message: String) -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({"error": "conflict", "message": message})),
    )
        .into_response()
}

async fn submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(obligation): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let Ok(Json(raw)) = body else {
        return Err(WebError::BadRequest {
            api: true,
            message: "body must be a JSON object: {\"period\", \"values\" | \"zero\": true}".into(),
        });
    };
    // Unknown top-level keys are named in a 422 like the form's own unknown fields.
    let body: SubmissionBody = match serde_json::from_value(raw) {
        Ok(b) => b,
        Err(e) => {
            let text = e.to_string();
            let field = text
                .split('`')
                .nth(1)
                .filter(|_| text.contains("unknown field"))
                .unwrap_or("body")
                .to_owned();
            return Err(WebError::api(AppError::invalid(&field, text)));
        }
    };
    let header_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let key = header_key.or(body.idempotency_key.clone());
    let period = body.period.or(body.date).unwrap_or_default();
    let request = SubmitRequest {
        institution: body.institution,
        period,
        zero: body.zero,
        note: body.note,
        values: body.values,
    };
    match state
        .app
        .submit_return(
            actor,
            &obligation,
            &request,
            key.as_deref(),
            &caller.context,
        )
        .await
    {
        Ok(outcome) => {
            let status = if outcome.replayed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut response = (status, Json(outcome)).into_response();
            if let Some(k) = key
                && let Ok(v) = axum::http::HeaderValue::from_str(&k)
            {
                response.headers_mut().insert("idempotency-key", v);
            }
            Ok(response)
        }
        Err(AppError::Conflict(message)) => Ok(conflict(message)),
        Err(e) => Err(WebError::api(e)),
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    org: Option<String>,
    date: Option<String>,
    period: Option<String>,
}

#[derive(Serialize)]
struct MissingOut<'a> {
    institution: &'a str,
    name: &'a str,
    district: &'a str,
    phone: &'a str,
    period: &'a str,
    due: jiff::Timestamp,
    overdue_seconds: i64,
    status: &'a edu_app::obligations::engine::ReturnStatus,
    consecutive_missed: u32,
}

async fn status(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(obligation): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(form::china_time::parse_date(d).ok_or_else(|| {
            WebError::api(AppError::invalid(
                "date",
                "日期格式应为 YYYY-MM-DD / use YYYY-MM-DD",
            ))
        })?),
    };
    let view = state
        .app
        .obligation_status(
            actor,
            &obligation,
            q.org.as_deref(),
            date,
            q.period.as_deref(),
        )
        .await
        .map_err(WebError::api)?;
    let c = &view.counts;
    let missing: Vec<MissingOut<'_>> = view
        .missing
        .iter()
        .map(|m| MissingOut {
            institution: &m.institution,
            name: &m.name,
            district: &m.district,
            phone: &m.phone,
            period: &m.period,
            due: m.due,
            overdue_seconds: m.overdue_seconds,
            status: &m.status,
            consecutive_missed: m.consecutive_missed,
        })
        .collect();
    let mut out = Map::new();
    out.insert("obligation".into(), json!(view.obligation));
    out.insert("org".into(), json!(view.org));
    out.insert("org_level".into(), json!(view.org_level));
    out.insert("date".into(), json!(view.date.to_string()));
    out.insert(
        "period".into(),
        json!(view.period.as_ref().map(|p| p.key.clone())),
    );
    out.insert("due".into(), json!(view.due));
    out.insert("as_of".into(), json!(view.now));
    out.insert("expected".into(), json!(c.expected));
    out.insert("submitted".into(), json!(c.submitted));
    out.insert("on_time".into(), json!(c.on_time));
    out.insert("late".into(), json!(c.late));
    out.insert("zero".into(), json!(c.zero));
    out.insert("missing".into(), json!(c.missing));
    out.insert("not_yet_due".into(), json!(c.not_yet_due));
    out.insert("overdue".into(), json!(c.overdue));
    out.insert("missed".into(), json!(c.missed));
    out.insert("reporting_rate".into(), json!(view.reporting_rate));
    out.insert("on_time_rate".into(), json!(view.on_time_rate));
    out.insert("units".into(), json!(view.units));
    out.insert("missing_institutions".into(), json!(missing));
    out.insert("escalations".into(), json!(view.escalations));
    Ok(Json(Value::Object(out)).into_response())
}

async fn list(State(state): State<WebState>) -> Response {
    let defs: Vec<Value> = state
        .app
        .obligation_defs()
        .values()
        .map(|d| {
            json!({
                "id": d.id, "title": d.title, "title_en": d.title_en, "cadence": d.cadence,
                "zero_allowed": d.zero_allowed, "window": d.window, "form": d.form,
            })
        })
        .collect();
    Json(json!({ "obligations": defs })).into_response()
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .api(
            "GET",
            "/api/v1/obligations",
            Access::AnyPermission(ANY),
            get(list),
        )
        .api(
            "POST",
            "/api/v1/obligations/{id}/submissions",
            Access::Permission(Permission::SubmitReports),
            post(submit),
        )
        .api(
            "GET",
            "/api/v1/obligations/{id}/status",
            Access::AnyPermission(ANY),
            get(status),
        )
}

/// This module's entries of the OpenAPI `paths` object.
pub fn openapi_paths() -> Map<String, Value> {
    let counts = json!({
        "expected": {"type": "integer"}, "submitted": {"type": "integer", "description": "on_time + late (zero reports included)"},
        "on_time": {"type": "integer"}, "late": {"type": "integer"}, "zero": {"type": "integer", "description": "explicit zero reports (part of submitted)"},
        "missing": {"type": "integer", "description": "expected − submitted = not_yet_due + overdue + missed"},
        "not_yet_due": {"type": "integer"}, "overdue": {"type": "integer"}, "missed": {"type": "integer"},
        "reporting_rate": {"type": ["number", "null"]}, "on_time_rate": {"type": ["number", "null"]}
    });
    let mut status_props = counts.as_object().cloned().unwrap_or_default();
    for (k, v) in [
        ("obligation", json!({"type": "string"})),
        ("org", json!({"type": "string"})),
        (
            "org_level",
            json!({"type": "string", "enum": ["city", "district", "institution"]}),
        ),
        ("date", json!({"type": "string", "format": "date"})),
        (
            "period",
            json!({"type": ["string", "null"], "description": "the period containing the date (null: none, e.g. not a school day)"}),
        ),
        (
            "due",
            json!({"type": ["string", "null"], "format": "date-time"}),
        ),
        ("as_of", json!({"type": "string", "format": "date-time"})),
        (
            "units",
            json!({"type": "array", "description": "the org unit's children with their counts", "items": {"type": "object"}}),
        ),
        (
            "missing_institutions",
            json!({"type": "array", "description": "returns not received, most overdue first, with the school's phone", "items": {"type": "object", "properties": {
            "institution": {"type": "string"}, "name": {"type": "string"}, "district": {"type": "string"}, "phone": {"type": "string"},
            "period": {"type": "string"}, "due": {"type": "string", "format": "date-time"}, "overdue_seconds": {"type": "integer"},
            "status": {"type": "string", "enum": ["not_yet_due", "overdue", "missed"]}, "consecutive_missed": {"type": "integer"}}}}),
        ),
        (
            "escalations",
            json!({"type": "array", "items": {"type": "object"}}),
        ),
    ] {
        status_props.insert(k.into(), v);
    }
    let outcome = json!({"type": "object", "properties": {
        "return_id": {"type": "integer"}, "obligation": {"type": "string"}, "institution": {"type": "string"}, "period": {"type": "string"},
        "kind": {"type": "string", "enum": ["report", "zero"]}, "timeliness": {"type": "string", "enum": ["on_time", "late"]},
        "late_by_seconds": {"type": "integer"}, "version": {"type": "integer"}, "state": {"type": "string"},
        "submitted_at": {"type": "string", "format": "date-time"}, "replayed": {"type": "boolean", "description": "true when the idempotency key matched an earlier identical request: nothing new was stored"}}});
    let error = json!({"$ref": "#/components/schemas/Error"});
    let mut submit = op(
        "File a return for the caller's own institution: form values, or an explicit zero report (zero=true). Idempotent with a client-supplied key.",
        "obligations",
        json!([
            path_param("id", "obligation id, e.g. health-daily"),
            {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 128},
             "description": "1–128 of A-Z a-z 0-9 - _ . : ; a retried request with the same key and body counts once (200, replayed=true); the same key with another body is refused (422)"}
        ]),
        json!({
            "201": {"description": "Stored", "content": {"application/json": {"schema": outcome.clone()}}},
            "200": {"description": "Replay of an earlier identical request with the same key: nothing new stored", "content": {"application/json": {"schema": outcome}}},
            "409": {"description": "A return for this period exists already (submit a correction instead)", "content": {"application/json": {"schema": error.clone()}}},
            "422": {"description": "Refused, nothing stored: every problem with its field (negative count, unknown field, period outside its window, zero report not allowed, idempotency key reused with another body)", "content": {"application/json": {"schema": error.clone()}}}
        }),
    );
    if let Some(o) = submit.as_object_mut() {
        o.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
                "institution": {"type": "string", "description": "10-digit 学校标识码; must be the caller's own (default)"},
                "period": {"type": "string", "description": "period key: 2021-10-11 (daily), 2021-W41, 2021-10, a term id, 2021"},
                "date": {"type": "string", "format": "date", "description": "alias of period for daily returns"},
                "zero": {"type": "boolean", "description": "an explicit, signed zero report (nothing to report)"},
                "note": {"type": "string", "description": "remark on a zero report"},
                "values": {"type": "object", "description": "the form's fields (GET /api/v1/obligations lists every form)"},
                "idempotency_key": {"type": "string", "description": "alternative to the Idempotency-Key header"}}},
                "example": {"institution": "2230200001", "period": "2021-10-12", "values": {"absent_pupils": 2, "absent_pupils_ill": 1, "absent_pupils_personal": 1, "absent_pupils_other": 0, "absent_staff": 0, "absent_staff_ill": 0, "absent_staff_personal": 0, "absent_staff_other": 0, "symptomatic_pupils": 0, "symptomatic_staff": 0}}}}}),
        );
    }
    let status = op(
        "Reporting status of an obligation for an org unit in the caller's scope and the period containing a date: expected, submitted, on time, late, zero, missing, rates, and the institutions missing (most overdue first, with contact)",
        "obligations",
        json!([
            path_param("id", "obligation id, e.g. health-daily"),
            query_param(
                "org",
                "string",
                "city (230600), district (e.g. 230602) or institution code; default: the caller's scope"
            ),
            query_param("date", "string", "YYYY-MM-DD (China time), default today"),
            query_param("period", "string", "a period key instead of a date"),
        ]),
        json!({
            "200": {"description": "Status", "content": {"application/json": {"schema": {"type": "object", "properties": Value::Object(status_props)}}}},
            "422": {"description": "Bad date or period", "content": {"application/json": {"schema": error}}}
        }),
    );
    let list = op(
        "The obligations of the plan in force with their forms, cadences and windows",
        "obligations",
        json!([]),
        json!({"200": {"description": "Obligations", "content": {"application/json": {"schema": {"type": "object"}}}}}),
    );
    let mut paths = Map::new();
    paths.insert("/api/v1/obligations".into(), json!({"get": list}));
    paths.insert(
        "/api/v1/obligations/{id}/submissions".into(),
        json!({"post": submit}),
    );
    paths.insert(
        "/api/v1/obligations/{id}/status".into(),
        json!({"get": status}),
    );
    paths
}
