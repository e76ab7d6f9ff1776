//! `/api/v1/fair/...`: allocation runs and verification.
//!
//! `POST /api/v1/fair/verify` is public (anyone may check a draw): `{"published": id}` re-checks a published draw
//! from its stored files; `{"files": {"bundle.json": "…", "pupils.csv": "…", "assignment.csv": "…"}}` checks
//! uploaded files (inputs by their role's file name, outputs by name). The answer lists every check.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::Permission;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::openapi::{ok, op, path_param, query_param};
use super::{CallerExt, actor};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

#[derive(Deserialize)]
struct VerifyRequest {
    published: Option<i64>,
    #[serde(default)]
    files: BTreeMap<String, String>,
}

async fn verify(
    State(state): State<WebState>,
    body: Result<Json<VerifyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, WebError> {
    let Ok(Json(body)) = body else {
        return Err(WebError::BadRequest {
            api: true,
            message: "body must be JSON {\"published\": id} or {\"files\": {name: text}}".into(),
        });
    };
    let report = match body.published {
        Some(id) => state
            .app
            .verify_published_allocation(id)
            .await
            .map_err(WebError::api)?,
        None => state
            .app
            .verify_allocation_upload(
                body.files
                    .into_iter()
                    .map(|(name, text)| (name, text.into_bytes()))
                    .collect(),
            )
            .map_err(WebError::api)?,
    };
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn runs(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let number = query.page.unwrap_or(1).max(1);
    let size = query.per_page.unwrap_or(50).clamp(1, 200);
    let result = state
        .app
        .allocation_runs(actor, edu_app::page(number, size))
        .await
        .map_err(WebError::api)?;
    Ok(Json(
        json!({"total": result.total, "page": number, "per_page": size, "items": result.items}),
    )
    .into_response())
}

async fn run(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let view = state
        .app
        .allocation_run(actor, id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(view).into_response())
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .api("POST", "/api/v1/fair/verify", Access::Public, post(verify))
        .api(
            "GET",
            "/api/v1/fair/runs",
            Access::Permission(Permission::RunAllocations),
            get(runs),
        )
        .api(
            "GET",
            "/api/v1/fair/runs/{id}",
            Access::Permission(Permission::RunAllocations),
            get(run),
        )
}

/// This module's entries of the OpenAPI `paths` object.
pub fn openapi_paths() -> Map<String, Value> {
    let report = json!({"type": "object", "properties": {
        "ok": {"type": "boolean"},
        "checks": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"}, "detail": {"type": "string"}}}},
        "differing_outputs": {"type": "array", "items": {"type": "string"}}
    }});
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/fair/verify".into(),
        json!({"post": {
            "summary": "Verify a draw (public): re-checks the bundle digest, inputs, input digest, commitment and seed, re-runs the draw and compares every output",
            "tags": ["fair"], "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "published": {"type": "integer", "description": "id of a published draw"},
                "files": {"type": "object", "additionalProperties": {"type": "string"}, "description": "file name → text: bundle.json, the inputs (pupils.csv, applicants.csv, …) and the outputs"}
            }}}}},
            "responses": {
                "200": {"description": "The verification report (ok = genuine)", "content": {"application/json": {"schema": report}}},
                "404": {"description": "No such published draw", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "422": {"description": "No bundle.json, or an unreadable one", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }}),
    );
    paths.insert(
        "/api/v1/fair/runs".into(),
        json!({"get": op(
            "Allocation runs (class division, admission, teacher draw, seating, duty, election) in scope, newest first",
            "fair",
            json!([query_param("page", "integer", "1-based page"), query_param("per_page", "integer", "1–200, default 50")]),
            ok("A page of runs", json!({"type": "object"}))
        )}),
    );
    paths.insert(
        "/api/v1/fair/runs/{id}".into(),
        json!({"get": op(
            "One run: commitment, input digest, ceremony, files and result (names masked)",
            "fair",
            json!([path_param("id", "run id")]),
            ok("The run", json!({"type": "object"}))
        )}),
    );
    paths
}
