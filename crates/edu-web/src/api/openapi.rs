//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. A test keeps it in step with the
//! route inventory.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::{Value, json};

fn error_responses() -> Value {
    json!({
        "401": {"description": "Not signed in (missing, expired or unknown token)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "403": {"description": "The role lacks the permission", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "404": {"description": "No such resource, or not in the caller's scope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    })
}

pub(crate) fn op(summary: &str, tag: &str, params: Value, ok: Value) -> Value {
    let mut responses = error_responses();
    if let (Some(map), Some(ok)) = (responses.as_object_mut(), ok.as_object()) {
        for (k, v) in ok {
            map.insert(k.clone(), v.clone());
        }
    }
    json!({"summary": summary, "tags": [tag], "parameters": params, "responses": responses, "security": [{"bearer": []}]})
}

pub(crate) fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "description": description})
}

pub(crate) fn query_param(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": {"type": kind}, "description": description})
}

pub(crate) fn ok(description: &str, schema: Value) -> Value {
    json!({"200": {"description": description, "content": {"application/json": {"schema": schema}}}})
}

/// The document: the registry paths below plus each capability module's own paths.
pub fn spec() -> Value {
    let mut document = core_spec();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for extra in [
            super::plan::openapi_paths(),
            super::obligations::openapi_paths(),
            super::ledgers::openapi_paths(),
            super::fair::openapi_paths(),
            super::timetable::openapi_paths(),
        ] {
            paths.extend(extra);
        }
    }
    document
}

fn core_spec() -> Value {
    let paging = vec![
        query_param("page", "integer", "1-based page"),
        query_param("per_page", "integer", "1–200, default 100"),
    ];
    let mut institution_params = vec![
        query_param("district", "string", "GB/T 2260 district code, e.g. 230602"),
        query_param("kind", "string", "institution kind code, e.g. kindergarten"),
        query_param("q", "string", "name or code contains"),
    ];
    institution_params.extend(paging.clone());
    let mut pupil_params = vec![
        path_param("code", "10-digit 学校标识码"),
        query_param("q", "string", "name prefix, or a full 学籍号"),
        query_param("grade", "integer", "1–12"),
    ];
    pupil_params.extend(paging.clone());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "EduPlan API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "大庆市教育工作计划管理平台 JSON API. Sign in with POST /api/v1/login and send the token as `Authorization: Bearer <token>`. Every answer is limited to the caller's scope (city, district or institution); a resource outside it answers 404. Identifiers of minors are masked."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}}}}},
                "Institution": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}, "district_code": {"type": "string"},
                    "kind": {"type": "string"}, "ownership": {"type": "string", "enum": ["public", "private"]}, "inclusive": {"type": "boolean"},
                    "area": {"type": "string", "enum": ["urban", "rural"]}, "authority": {"type": "string", "enum": ["city", "district"]},
                    "status": {"type": "string", "enum": ["open", "closed"]}, "pupils": {"type": "integer"}}},
                "Pupil": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "pupil_no_masked": {"type": "string", "description": "学籍号, masked e.g. G2306**********214X"},
                    "name": {"type": "string"}, "sex": {"type": "string", "enum": ["M", "F"]}, "birth_date": {"type": "string", "format": "date"},
                    "grade": {"type": "integer"}, "class_name": {"type": ["string", "null"]}, "status": {"type": "string"}, "institution_code": {"type": "string"}}}
            }
        },
        "paths": {
            "/api/v1/login": {"post": {
                "summary": "Sign in; returns a bearer token", "tags": ["auth"], "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
                "responses": {
                    "200": {"description": "Signed in", "content": {"application/json": {"schema": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}, "token_type": {"type": "string"}, "username": {"type": "string"}, "role": {"type": "string"}, "scope": {"type": "string"}, "must_change_password": {"type": "boolean"}, "idle_timeout_minutes": {"type": "integer"}}}}}},
                    "401": {"description": "Wrong username or password", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "403": {"description": "Account locked after repeated failures", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "429": {"description": "Too many attempts from this address", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                }
            }},
            "/api/v1/logout": {"post": op("End this token's session", "auth", json!([]), ok("Signed out", json!({"type": "object"})))},
            "/api/v1/me": {"get": op("The signed-in user, role and scope", "auth", json!([]), ok("The user", json!({"type": "object"})))},
            "/api/v1/org": {"get": op("The org tree (city → districts) with counts, within scope", "registry", json!([]), ok("Org tree", json!({"type": "object"})))},
            "/api/v1/institutions": {"get": op("Institutions in scope", "registry", Value::Array(institution_params),
                ok("A page of institutions", json!({"type": "object", "properties": {"total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Institution"}}}})))},
            "/api/v1/institutions/{code}": {"get": op("One institution with history, groups, tags and classes", "registry", json!([path_param("code", "10-digit 学校标识码")]), ok("The institution", json!({"type": "object"})))},
            "/api/v1/institutions/{code}/pupils": {"get": op("Pupils of an institution (masked identifiers)", "registry", Value::Array(pupil_params.clone()),
                ok("A page of pupils", json!({"type": "object", "properties": {"institution": {"type": "string"}, "total": {"type": "integer"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Pupil"}}}})))},
            "/api/v1/institutions/{code}/staff": {"get": op("Staff of an institution", "registry", Value::Array(pupil_params), ok("A page of staff", json!({"type": "object"})))},
            "/api/v1/pupils/{id}": {"get": op("A pupil's record (masked; every read is audited)", "registry", json!([path_param("id", "internal pupil id")]), ok("The pupil", json!({"type": "object"})))},
            "/api/v1/openapi.json": {"get": {"summary": "This document (administrators, or from the operations network)", "tags": ["meta"], "responses": {"200": {"description": "OpenAPI document"}}}}
        }
    })
}

pub async fn document() -> impl IntoResponse {
    Json(spec())
}
