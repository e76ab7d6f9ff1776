//! Server-rendered pages. Each page struct carries a [`Chrome`] (language, user bar, navigation, CSRF token)
//! for the shared layout `templates/base.html`.

mod admin;
mod auth;
mod data;
mod fair;
mod ledgers;
pub(crate) mod plan;
pub(crate) mod registry;
mod reports;
mod timetable;

use askama::Template;
use axum::Extension;
use axum::response::{Html, IntoResponse, Response};
use edu_app::{Actor, Permission};

use crate::assets;
use crate::error::WebError;
use crate::guard::Caller;
use crate::i18n::Tr;
use crate::routes::Routes;

/// One navigation entry.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The signed-in user as shown in the header.
#[derive(Debug, Clone)]
pub struct UserBar {
    pub name: String,
    pub username: String,
    pub role: String,
    pub scope: String,
}

/// What every page's layout needs.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub t: Tr,
    pub title: String,
    pub user: Option<UserBar>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    /// The current page (path and query), for the language switch to return to.
    pub path: String,
    pub css: String,
    pub js: String,
    pub icon: &'static str,
}

impl Chrome {
    pub fn new(caller: &Caller, path: &str, title_key: &str) -> Chrome {
        let t = Tr::new(caller.lang);
        let version = assets::version();
        let mut nav = Vec::new();
        if let Some(actor) = &caller.actor {
            // Each area once, for the roles that work in it; a school files reports, a district follows them up.
            let reports = if actor.can(Permission::SubmitReports) {
                Some(("/reports", "nav.reports"))
            } else if actor.can(Permission::ReviewReports) {
                Some(("/reports/follow-up", "nav.reports_follow"))
            } else {
                None
            };
            let candidates: [(&'static str, &'static str, bool); 11] = [
                ("/", "nav.home", true),
                ("/org", "nav.org", actor.can(Permission::ViewRegistry)),
                (
                    "/institutions",
                    "nav.institutions",
                    actor.can(Permission::ViewRegistry),
                ),
                ("/plan", "nav.plan", actor.can(Permission::ViewPlan)),
                (
                    reports.map_or("/reports", |(href, _)| href),
                    reports.map_or("nav.reports", |(_, key)| key),
                    reports.is_some(),
                ),
                (
                    "/ledgers",
                    "nav.ledgers",
                    edu_app::ledgers::may_read_ledgers(actor),
                ),
                ("/fair", "nav.fair", actor.can(Permission::RunAllocations)),
                (
                    "/timetable",
                    "nav.timetable",
                    actor.can(Permission::SubmitReports) || actor.can(Permission::RunAllocations),
                ),
                ("/import", "nav.import", actor.can(Permission::ImportData)),
                (
                    "/admin/users",
                    "nav.users",
                    actor.can(Permission::ManageUsers) || actor.can(Permission::ManageSecurity),
                ),
                ("/audit", "nav.audit", actor.can(Permission::ViewAudit)),
            ];
            for (href, key, allowed) in candidates {
                if allowed {
                    let active = if href == "/" {
                        path == "/"
                    } else {
                        path.starts_with(href)
                    };
                    nav.push(NavItem {
                        href,
                        label: t.s(key),
                        active,
                    });
                }
            }
        }
        Chrome {
            t,
            title: t.s(title_key).to_owned(),
            user: caller.actor.as_ref().map(|a| user_bar(a, t)),
            csrf: caller
                .actor
                .as_ref()
                .map(|a| a.csrf_token.clone())
                .unwrap_or_default(),
            nav,
            path: if caller.uri.starts_with('/') && !caller.uri.starts_with("/lang") {
                caller.uri.clone()
            } else {
                path.to_owned()
            },
            css: format!("{}?v={version}", assets::CSS_PATH),
            js: format!("{}?v={version}", assets::JS_PATH),
            icon: assets::ICON_PATH,
        }
    }

    /// Form action with the CSRF token for signed-in forms.
    pub fn action(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}_csrf={}", self.csrf)
    }
}

fn user_bar(actor: &Actor, t: Tr) -> UserBar {
    UserBar {
        name: actor.display_name.clone(),
        username: actor.username.clone(),
        role: t
            .pick(actor.role.label_zh(), actor.role.label_en())
            .to_owned(),
        scope: scope_label(actor, t),
    }
}

/// "大庆市", "萨尔图区" or the institution code.
pub fn scope_label(actor: &Actor, t: Tr) -> String {
    match &actor.scope {
        edu_app::Scope::City { .. } => t.pick("大庆市", "Daqing").to_owned(),
        edu_app::Scope::District { code } => district_name(code, t),
        edu_app::Scope::Institution { code, .. } => code.clone(),
    }
}

pub fn district_name(code: &str, t: Tr) -> String {
    edu_model::DAQING_DISTRICTS
        .iter()
        .find(|d| d.code.to_string() == code)
        .map(|d| t.pick(d.name, d.name_en).to_owned())
        .unwrap_or_else(|| code.to_owned())
}

pub fn kind_label(code: &str, t: Tr) -> String {
    edu_model::InstitutionKind::parse(code)
        .map(|k| t.pick(k.label_zh(), k.label_en()).to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

/// Renders a template or fails with a logged internal error.
pub fn render(template: &impl Template) -> Result<Response, WebError> {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| {
            tracing::error!(error = %e, "template rendering failed");
            WebError::Internal
        })
}

/// Numbers with thousands separators (both languages use the comma).
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn routes(routes: Routes) -> Routes {
    let routes = auth::routes(routes);
    let routes = registry::routes(routes);
    let routes = data::routes(routes);
    let routes = plan::routes(routes);
    let routes = reports::routes(routes);
    let routes = ledgers::routes(routes);
    let routes = fair::routes(routes);
    let routes = timetable::routes(routes);
    admin::routes(routes)
}

pub(crate) use plan::status_code as plan_status_code;

/// The caller extracted by handlers.
pub type CallerExt = Extension<Caller>;

/// The actor of a route that requires one (the route guard has already checked).
pub fn actor(caller: &Caller) -> Result<&Actor, WebError> {
    caller.actor.as_ref().ok_or(WebError::Unauthenticated {
        api: false,
        expired: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(300_123), "300,123");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }
}
