//! Login, logout, password change, language switch and the home page.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use edu_app::{AppError, AuthFailure, Permission, SessionKind};
use serde::Deserialize;

use super::{CallerExt, Chrome, render, thousands};
use crate::WebState;
use crate::error::WebError;
use crate::guard::cookie_name;
use crate::i18n::Lang;
use crate::routes::{Access, Routes};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    message: Option<String>,
}

#[derive(Deserialize)]
struct LoginQuery {
    expired: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

fn session_cookie(state: &WebState, token: &str) -> HeaderValue {
    let secure = state.config.secure_cookies;
    let value = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn expired_cookie(state: &WebState) -> HeaderValue {
    let secure = state.config.secure_cookies;
    let value = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login_page(
    Query(query): Query<LoginQuery>,
    caller: CallerExt,
) -> Result<Response, WebError> {
    if caller.actor.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let chrome = Chrome::new(&caller, "/login", "login.title");
    let message = query
        .expired
        .map(|_| chrome.t.s("login.expired").to_owned());
    render(&LoginPage {
        chrome,
        username: String::new(),
        message,
    })
}

async fn login_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    match state
        .app
        .login(
            form.username.trim(),
            &form.password,
            SessionKind::Web,
            &caller.context,
        )
        .await
    {
        Ok(outcome) => {
            let target = if outcome.must_change_password {
                "/password"
            } else {
                "/"
            };
            let mut response = Redirect::to(target).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(&state, &outcome.token));
            Ok(response)
        }
        Err(AppError::Auth(failure)) => {
            let chrome = Chrome::new(&caller, "/login", "login.title");
            let key = match failure {
                AuthFailure::Locked => "login.locked",
                AuthFailure::Throttled => "login.throttled",
                AuthFailure::InitialPasswordExpired => "login.initial_expired",
                _ => "login.failed",
            };
            let message = Some(chrome.t.s(key).to_owned());
            let mut response = render(&LoginPage {
                chrome,
                username: form.username,
                message,
            })?;
            *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(response)
        }
        Err(other) => Err(WebError::page(other)),
    }
}

async fn logout(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    if let Some(actor) = &caller.actor {
        state
            .app
            .logout(actor, &caller.context)
            .await
            .map_err(WebError::page)?;
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, expired_cookie(&state));
    // SECURITY.md RES-01: the browser drops what it kept for this site.
    response.headers_mut().insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    forced: bool,
    errors: Vec<String>,
    done: bool,
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn password_page(caller: CallerExt) -> Result<Response, WebError> {
    let forced = caller
        .actor
        .as_ref()
        .is_some_and(|a| a.must_change_password);
    render(&PasswordPage {
        chrome: Chrome::new(&caller, "/password", "password.title"),
        forced,
        errors: Vec::new(),
        done: false,
    })
}

async fn password_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/password", "password.title");
    let forced = actor.must_change_password;
    if form.new_password != form.confirm_password {
        let errors = vec![chrome.t.s("password.mismatch").to_owned()];
        return render(&PasswordPage {
            chrome,
            forced,
            errors,
            done: false,
        });
    }
    match state
        .app
        .change_password(
            actor,
            &form.current_password,
            &form.new_password,
            &caller.context,
        )
        .await
    {
        Ok(token) => {
            let mut response = render(&PasswordPage {
                chrome,
                forced: false,
                errors: Vec::new(),
                done: true,
            })?;
            // The session is rotated: the old cookie no longer works anywhere.
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(&state, &token));
            Ok(response)
        }
        Err(AppError::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| e.reason).collect();
            render(&PasswordPage {
                chrome,
                forced,
                errors,
                done: false,
            })
        }
        Err(AppError::Password(violations)) => {
            let zh = chrome.t.zh();
            let errors = violations
                .iter()
                .map(|v| if zh { v.message_zh() } else { v.message_en() })
                .collect();
            render(&PasswordPage {
                chrome,
                forced,
                errors,
                done: false,
            })
        }
        Err(other) => Err(WebError::page(other)),
    }
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

/// Switches the interface language (a preference cookie; no server state changes).
async fn switch_lang(headers: HeaderMap, Form(form): Form<LangForm>) -> Response {
    let lang = if form.lang == "en" {
        Lang::En
    } else {
        Lang::Zh
    };
    // Only same-site relative paths are followed.
    let next = form
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| r.split_once("://"))
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        })
        .unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&next).into_response();
    let cookie = format!(
        "lang={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.cookie_code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    scope_label: String,
    role_label: String,
    institutions: String,
    pupils: String,
    staff: String,
    attention: Vec<(String, String, String)>,
    links: Vec<(String, String)>,
}

async fn home(State(state): State<WebState>, caller: CallerExt) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/", "home.title");
    let t = chrome.t;
    let mut attention = Vec::new();
    let mut links = Vec::new();
    let (mut institutions, mut pupils, mut staff) =
        (String::from("—"), String::from("—"), String::from("—"));
    if actor.can(Permission::ViewRegistry) {
        let tree = state.app.org_tree(actor).await.map_err(WebError::page)?;
        institutions = thousands(tree.totals.institutions);
        pupils = thousands(tree.totals.pupils);
        staff = thousands(tree.totals.staff);
        if let edu_app::Scope::Institution { code, .. } = &actor.scope {
            links.push((
                format!("/institutions/{code}"),
                t.s("home.my_school").to_owned(),
            ));
            links.push((
                format!("/institutions/{code}/pupils"),
                t.s("home.my_pupils").to_owned(),
            ));
        } else {
            links.push(("/org".to_owned(), t.s("nav.org").to_owned()));
        }
        for item in state.app.attention(actor).await.map_err(WebError::page)? {
            attention.push((
                item.href,
                t.pick(&item.text_zh, &item.text_en).to_owned(),
                item.level,
            ));
        }
    }
    if actor.can(Permission::ImportData) {
        links.push(("/import".to_owned(), t.s("nav.import").to_owned()));
    }
    if actor.can(Permission::ManageUsers) || actor.can(Permission::ManageSecurity) {
        links.push(("/admin/users".to_owned(), t.s("nav.users").to_owned()));
    }
    if actor.can(Permission::ViewAudit) {
        links.push(("/audit".to_owned(), t.s("nav.audit").to_owned()));
    }
    render(&HomePage {
        scope_label: super::scope_label(actor, t),
        role_label: t
            .pick(actor.role.label_zh(), actor.role.label_en())
            .to_owned(),
        chrome,
        institutions,
        pupils,
        staff,
        attention,
        links,
    })
}

async fn healthz() -> &'static str {
    "ok"
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .page("GET", "/login", Access::Public, get(login_page))
        .page("POST", "/login", Access::Public, post(login_submit))
        .page("POST", "/logout", Access::SignedIn, post(logout))
        .page("GET", "/password", Access::SignedIn, get(password_page))
        .page("POST", "/password", Access::SignedIn, post(password_submit))
        .page("POST", "/lang", Access::Public, post(switch_lang))
        .page("GET", "/", Access::SignedIn, get(home))
        .page("GET", "/healthz", Access::Public, get(healthz))
}
