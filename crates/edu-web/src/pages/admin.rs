//! Administration pages: accounts (system / security administrators) and the audit trail (audit administrator).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use edu_app::{AppError, NewUser, Permission, UserSummary, page};
use serde::Deserialize;

use super::{CallerExt, Chrome, render, thousands};
use crate::WebState;
use crate::error::WebError;
use crate::pages::registry::Pager;
use crate::routes::{Access, Routes};

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserSummary>,
    total: String,
    pager: Pager,
    can_manage: bool,
    can_secure: bool,
    message: Option<String>,
    errors: Vec<String>,
    roles: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct UsersQuery {
    page: Option<i64>,
}

async fn users_page_with(
    state: &WebState,
    caller: &CallerExt,
    number: i64,
    message: Option<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let chrome = Chrome::new(caller, "/admin/users", "users.title");
    let t = chrome.t;
    let list = state
        .app
        .list_users(actor, page(number, 100))
        .await
        .map_err(WebError::page)?;
    let pager = Pager::new("/admin/users", &[], number, 100, list.total);
    let roles = edu_app::Role::ALL
        .iter()
        .map(|r| {
            (
                r.code().to_owned(),
                t.pick(r.label_zh(), r.label_en()).to_owned(),
            )
        })
        .collect();
    render(&UsersPage {
        chrome,
        total: thousands(list.total),
        users: list.items,
        pager,
        can_manage: actor.can(Permission::ManageUsers),
        can_secure: actor.can(Permission::ManageSecurity),
        message,
        errors,
        roles,
    })
}

async fn users(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<UsersQuery>,
) -> Result<Response, WebError> {
    users_page_with(
        &state,
        &caller,
        query.page.unwrap_or(1).max(1),
        None,
        Vec::new(),
    )
    .await
}

#[derive(Deserialize)]
struct CreateUserForm {
    username: String,
    display_name: String,
    role: String,
    scope: String,
}

async fn create_user(
    State(state): State<WebState>,
    caller: CallerExt,
    Form(form): Form<CreateUserForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let request = NewUser {
        username: form.username.trim().to_owned(),
        display_name: form.display_name.trim().to_owned(),
        role: form.role,
        scope_code: form.scope.trim().to_owned(),
        password: None,
    };
    let t = crate::i18n::Tr::new(caller.lang);
    match state
        .app
        .create_user(actor, &request, &caller.context)
        .await
    {
        Ok((_, password)) => {
            let message = format!(
                "{} {}：{}",
                t.s("users.created"),
                request.username,
                password
            );
            users_page_with(&state, &caller, 1, Some(message), Vec::new()).await
        }
        Err(AppError::Invalid(errors)) => {
            users_page_with(
                &state,
                &caller,
                1,
                None,
                errors
                    .into_iter()
                    .map(|e| format!("{}: {}", e.field, e.reason))
                    .collect(),
            )
            .await
        }
        Err(AppError::Password(v)) => {
            users_page_with(
                &state,
                &caller,
                1,
                None,
                v.iter().map(|v| v.message_zh()).collect(),
            )
            .await
        }
        Err(other) => Err(WebError::page(other)),
    }
}

async fn user_action(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((username, action)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let t = crate::i18n::Tr::new(caller.lang);
    let message = match action.as_str() {
        "disable" => state
            .app
            .set_user_disabled(actor, &username, true, &caller.context)
            .await
            .map(|_| format!("{} {username}", t.s("users.disabled_done"))),
        "enable" => state
            .app
            .set_user_disabled(actor, &username, false, &caller.context)
            .await
            .map(|_| format!("{} {username}", t.s("users.enabled_done"))),
        "unlock" => state
            .app
            .unlock_user(actor, &username, &caller.context)
            .await
            .map(|_| format!("{} {username}", t.s("users.unlocked_done"))),
        "reset" => state
            .app
            .reset_password(actor, &username, &caller.context)
            .await
            .map(|p| format!("{} {username}：{p}", t.s("users.reset_done"))),
        _ => return Err(WebError::NotFound { api: false }),
    }
    .map_err(WebError::page)?;
    users_page_with(&state, &caller, 1, Some(message), Vec::new()).await
}

#[derive(Deserialize, Default)]
struct AuditQueryParams {
    actor: Option<String>,
    action: Option<String>,
    page: Option<i64>,
}

pub struct AuditLine {
    pub seq: i64,
    pub time: String,
    pub actor: String,
    pub role: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub result: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    lines: Vec<AuditLine>,
    total: String,
    pager: Pager,
    actor: String,
    action: String,
    chain: String,
    chain_ok: bool,
}

async fn audit(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<AuditQueryParams>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/audit", "audit.title");
    let t = chrome.t;
    let number = query.page.unwrap_or(1).max(1);
    let filter_actor = query.actor.clone().unwrap_or_default();
    let filter_action = query.action.clone().unwrap_or_default();
    let rows = state
        .app
        .audit_search(
            actor,
            Some(filter_actor.clone()),
            Some(filter_action.clone()),
            page(number, 100),
            &caller.context,
        )
        .await
        .map_err(WebError::page)?;
    let lines = rows
        .items
        .iter()
        .map(|r| AuditLine {
            seq: r.seq,
            time: jiff::Timestamp::from_millisecond(r.entry.at_ms)
                .map(|ts| {
                    edu_model::china_time::CHINA_OFFSET
                        .to_datetime(ts)
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default(),
            actor: r.entry.actor.clone(),
            role: r.entry.role.clone(),
            ip: r.entry.ip.clone(),
            action: r.entry.action.clone(),
            object: format!("{} {}", r.entry.object_type, r.entry.object_id),
            result: r.entry.result.clone(),
            reason: r.entry.reason.clone(),
        })
        .collect();
    let report = state.app.verify_audit().await.map_err(WebError::page)?;
    let (chain, chain_ok) = match &report.broken {
        None => (
            format!(
                "{} {}",
                t.s("audit.chain_ok"),
                thousands(report.rows_checked)
            ),
            true,
        ),
        Some(b) => (
            format!("{} #{}: {}", t.s("audit.chain_broken"), b.seq, b.reason),
            false,
        ),
    };
    let pager = Pager::new(
        "/audit",
        &[
            ("actor", filter_actor.clone()),
            ("action", filter_action.clone()),
        ],
        number,
        100,
        rows.total,
    );
    render(&AuditPage {
        chrome,
        lines,
        total: thousands(rows.total),
        pager,
        actor: filter_actor,
        action: filter_action,
        chain,
        chain_ok,
    })
}

const ACCOUNT_ADMINS: &[Permission] = &[Permission::ManageUsers, Permission::ManageSecurity];

pub fn routes(routes: Routes) -> Routes {
    routes
        // Either separated administrator may open the page; each action checks its own permission.
        .page(
            "GET",
            "/admin/users",
            Access::AnyPermission(ACCOUNT_ADMINS),
            get(users),
        )
        .page(
            "POST",
            "/admin/users",
            Access::Permission(Permission::ManageUsers),
            post(create_user),
        )
        .page(
            "POST",
            "/admin/users/{username}/{action}",
            Access::AnyPermission(ACCOUNT_ADMINS),
            post(user_action),
        )
        .page(
            "GET",
            "/audit",
            Access::Permission(Permission::ViewAudit),
            get(audit),
        )
}
