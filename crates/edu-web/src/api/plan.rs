//! `/api/v1/plan/...`: targets and commitments as JSON.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use edu_app::Permission;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::openapi::{ok, op, query_param};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

#[derive(Deserialize)]
struct TargetsQuery {
    org: Option<String>,
    as_of: Option<String>,
}

#[derive(Serialize)]
struct TargetJson {
    id: String,
    title: String,
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    target: f64,
    threshold: Option<f64>,
    status: &'static str,
    unit: String,
    comparator: &'static str,
    period_start: String,
    period_end: String,
}

async fn targets(
    State(state): State<WebState>,
    caller: axum::Extension<crate::guard::Caller>,
    Query(query): Query<TargetsQuery>,
) -> Result<Response, WebError> {
    let actor = caller.actor.as_ref().ok_or(WebError::Unauthenticated {
        api: true,
        expired: false,
    })?;
    let as_of = match query.as_of.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => {
            Some(
                text.parse::<edu_plan::PlanDate>()
                    .map_err(|e| WebError::BadRequest {
                        api: true,
                        message: e,
                    })?,
            )
        }
        None => None,
    };
    let card = state
        .app
        .scorecard(actor, query.org.as_deref(), as_of)
        .await
        .map_err(WebError::api)?;
    let list: Vec<TargetJson> = card
        .evaluation
        .targets
        .iter()
        .map(|t| TargetJson {
            id: t.id.clone(),
            title: t.title.clone(),
            value: t.indicator.value,
            numerator: t.indicator.numerator,
            denominator: t.indicator.denominator,
            target: t.target,
            threshold: t.threshold,
            status: crate::pages::plan_status_code(t.status),
            unit: t.unit.clone(),
            comparator: t.comparator.symbol(),
            period_start: t.period.start.to_string(),
            period_end: t.period.end.to_string(),
        })
        .collect();
    Ok(Json(list).into_response())
}

async fn commitments(State(state): State<WebState>) -> Response {
    Json(state.app.plan().plan.commitments()).into_response()
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .api(
            "GET",
            "/api/v1/plan/targets",
            Access::Permission(Permission::ViewPlan),
            get(targets),
        )
        .api(
            "GET",
            "/api/v1/plan/commitments",
            Access::Permission(Permission::ViewPlan),
            get(commitments),
        )
}

/// This module's entries of the OpenAPI `paths` object.
pub fn openapi_paths() -> Map<String, Value> {
    let target = json!({"type": "object", "required": ["id", "title", "value", "numerator", "denominator", "target", "threshold", "status"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "value": {"type": ["number", "null"]},
        "numerator": {"type": ["number", "null"]}, "denominator": {"type": ["number", "null"]}, "target": {"type": "number"},
        "threshold": {"type": ["number", "null"]}, "status": {"type": "string", "enum": ["met", "at_risk", "missed", "no_data"]},
        "unit": {"type": "string"}, "comparator": {"type": "string"}, "period_start": {"type": "string", "format": "date"}, "period_end": {"type": "string", "format": "date"}}});
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/plan/targets".into(),
        json!({"get": op("Every target of the plan for an org unit, computed live from the records", "plan",
            json!([query_param("org", "string", "230600 (city, default for city users), a district code or a 10-digit school code; must be in the caller's scope"),
                   query_param("as_of", "string", "YYYY-MM-DD (default: today)")]),
            ok("Targets", json!({"type": "array", "items": target})))}),
    );
    paths.insert(
        "/api/v1/plan/commitments".into(),
        json!({"get": op("Every commitment of the plan with its kind and where it is served", "plan", json!([]), ok("Commitments", json!({"type": "array", "items": {"type": "object"}})))}),
    );
    paths
}
