//! The JSON API under `/api/v1`: the same use cases and scoping as the pages, bearer tokens instead of cookies.

mod fair;
mod ledgers;
mod obligations;
mod openapi;
mod plan;
mod timetable;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::{AppError, AuthFailure, Permission, SessionKind, page};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::WebState;
use crate::error::WebError;
use crate::guard::Caller;
use crate::routes::{Access, Routes};

type CallerExt = axum::Extension<Caller>;

fn actor(caller: &Caller) -> Result<&edu_app::Actor, WebError> {
    caller.actor.as_ref().ok_or(WebError::Unauthenticated {
        api: true,
        expired: false,
    })
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    token_type: &'static str,
    username: String,
    role: String,
    scope: String,
    must_change_password: bool,
    idle_timeout_minutes: i64,
}

async fn login(
    State(state): State<WebState>,
    caller: CallerExt,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return WebError::BadRequest {
            api: true,
            message: "body must be JSON {\"username\", \"password\"}".into(),
        }
        .into_response();
    };
    match state
        .app
        .login(
            body.username.trim(),
            &body.password,
            SessionKind::Api,
            &caller.context,
        )
        .await
    {
        Ok(outcome) => Json(LoginResponse {
            token: outcome.token,
            token_type: "Bearer",
            username: outcome.actor.username.clone(),
            role: outcome.actor.role.code().to_owned(),
            scope: outcome.actor.scope.code().to_owned(),
            must_change_password: outcome.must_change_password,
            idle_timeout_minutes: state.app.settings().idle_timeout_minutes,
        })
        .into_response(),
        Err(AppError::Auth(failure)) => {
            let (status, message) = match failure {
                AuthFailure::Locked => (
                    axum::http::StatusCode::FORBIDDEN,
                    "账号已锁定 / account locked",
                ),
                AuthFailure::Throttled => (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "尝试过于频繁 / too many attempts",
                ),
                _ => (
                    axum::http::StatusCode::UNAUTHORIZED,
                    "用户名或密码错误 / wrong username or password",
                ),
            };
            (
                status,
                Json(json!({"error": "login failed", "message": message})),
            )
                .into_response()
        }
        Err(other) => WebError::api(other).into_response(),
    }
}

async fn logout(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    state
        .app
        .logout(actor, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({"ok": true})).into_response())
}

async fn me(caller: CallerExt) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    Ok(Json(json!({
        "username": actor.username,
        "display_name": actor.display_name,
        "role": actor.role.code(),
        "scope": actor.scope.code(),
        "must_change_password": actor.must_change_password,
    }))
    .into_response())
}

async fn org(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let tree = state.app.org_tree(actor).await.map_err(WebError::api)?;
    Ok(Json(tree).into_response())
}

#[derive(Deserialize)]
struct InstitutionsQuery {
    district: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn institutions(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<InstitutionsQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let number = query.page.unwrap_or(1).max(1);
    let size = query.per_page.unwrap_or(100).clamp(1, 200);
    let filter = edu_app::views::InstitutionQuery {
        district: query.district.filter(|d| !d.is_empty()),
        kind: query.kind.filter(|k| !k.is_empty()),
        search: query.q.filter(|q| !q.is_empty()),
    };
    let result = state
        .app
        .institutions(actor, &filter, page(number, size))
        .await
        .map_err(WebError::api)?;
    Ok(Json(
        json!({"total": result.total, "page": number, "per_page": size, "items": result.items}),
    )
    .into_response())
}

async fn institution(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let view = state
        .app
        .institution(actor, &code)
        .await
        .map_err(WebError::api)?;
    Ok(Json(view).into_response())
}

#[derive(Deserialize)]
struct PupilsQuery {
    q: Option<String>,
    grade: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn pupils(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(query): Query<PupilsQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let number = query.page.unwrap_or(1).max(1);
    let size = query.per_page.unwrap_or(100).clamp(1, 200);
    let result = state
        .app
        .institution_pupils(
            actor,
            &code,
            query.q.as_deref(),
            query.grade,
            page(number, size),
        )
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({"institution": code, "total": result.total, "page": number, "per_page": size, "items": result.items})).into_response())
}

async fn pupil(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let detail = state
        .app
        .pupil_detail(actor, id, None, &caller.context)
        .await
        .map_err(WebError::api)?;
    Ok(Json(detail).into_response())
}

async fn staff(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(query): Query<PupilsQuery>,
) -> Result<Response, WebError> {
    let actor = actor(&caller)?;
    let number = query.page.unwrap_or(1).max(1);
    let size = query.per_page.unwrap_or(100).clamp(1, 200);
    let result = state
        .app
        .institution_staff(actor, &code, None, query.q, page(number, size))
        .await
        .map_err(WebError::api)?;
    Ok(Json(json!({"institution": code, "total": result.total, "page": number, "per_page": size, "items": result.items})).into_response())
}

async fn not_found() -> WebError {
    WebError::NotFound { api: true }
}

pub fn routes(routes: Routes) -> Routes {
    let routes = routes
        .api("POST", "/api/v1/login", Access::Public, post(login))
        .api("POST", "/api/v1/logout", Access::SignedIn, post(logout))
        .api("GET", "/api/v1/me", Access::SignedIn, get(me))
        .api(
            "GET",
            "/api/v1/org",
            Access::Permission(Permission::ViewRegistry),
            get(org),
        )
        .api(
            "GET",
            "/api/v1/institutions",
            Access::Permission(Permission::ViewRegistry),
            get(institutions),
        )
        .api(
            "GET",
            "/api/v1/institutions/{code}",
            Access::Permission(Permission::ViewRegistry),
            get(institution),
        )
        .api(
            "GET",
            "/api/v1/institutions/{code}/pupils",
            Access::Permission(Permission::ViewPupils),
            get(pupils),
        )
        .api(
            "GET",
            "/api/v1/institutions/{code}/staff",
            Access::Permission(Permission::ViewRegistry),
            get(staff),
        )
        .api(
            "GET",
            "/api/v1/pupils/{id}",
            Access::Permission(Permission::ViewPupilDetail),
            get(pupil),
        )
        .api(
            "GET",
            "/api/v1/openapi.json",
            Access::Ops,
            get(openapi::document),
        );
    let routes = plan::routes(routes);
    let routes = obligations::routes(routes);
    let routes = ledgers::routes(routes);
    let routes = fair::routes(routes);
    let routes = timetable::routes(routes);
    routes.api("GET", "/api/v1/{*rest}", Access::Public, get(not_found))
}
