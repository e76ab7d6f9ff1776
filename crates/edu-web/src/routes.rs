//! The route builder: every route states who may call it, the builder enforces it and keeps an inventory.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use edu_app::Permission;
use serde::Serialize;

use crate::WebState;
use crate::error::WebError;
use crate::guard::Caller;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Access {
    /// Anyone (login page, assets, public verification pages).
    Public,
    /// Any signed-in user, even one who must change their password first (the password page, logout).
    SignedIn,
    /// A signed-in user holding the permission.
    Permission(Permission),
    /// A signed-in user holding at least one of the permissions (the operation checks the exact one).
    AnyPermission(&'static [Permission]),
    /// Operations endpoints: an administrator, or a request from a configured network (SECURITY.md OPS-01).
    Ops,
}

/// Whether the route is a page (HTML errors, redirect to login) or API (JSON errors, 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Surface {
    Page,
    Api,
    Asset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub surface: Surface,
}

pub struct Routes {
    router: Router<WebState>,
    inventory: Vec<RouteSpec>,
}

async fn enforce(
    State((access, surface)): State<(Access, Surface)>,
    request: Request,
    next: Next,
) -> Response {
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_default();
    let api = surface == Surface::Api;
    match access {
        Access::Public => {}
        Access::SignedIn => {
            if caller.actor.is_none() {
                return WebError::Unauthenticated {
                    api,
                    expired: caller.expired,
                }
                .into_response();
            }
        }
        Access::Permission(permission) => match &caller.actor {
            None => {
                return WebError::Unauthenticated {
                    api,
                    expired: caller.expired,
                }
                .into_response();
            }
            Some(actor) if actor.must_change_password && !api => {
                return WebError::MustChangePassword.into_response();
            }
            Some(actor) if !actor.can(permission) => {
                return WebError::Forbidden { api }.into_response();
            }
            Some(_) => {}
        },
        Access::AnyPermission(permissions) => match &caller.actor {
            None => {
                return WebError::Unauthenticated {
                    api,
                    expired: caller.expired,
                }
                .into_response();
            }
            Some(actor) if actor.must_change_password && !api => {
                return WebError::MustChangePassword.into_response();
            }
            Some(actor) if !permissions.iter().any(|p| actor.can(*p)) => {
                return WebError::Forbidden { api }.into_response();
            }
            Some(_) => {}
        },
        Access::Ops => {
            let admin = caller.actor.as_ref().is_some_and(|a| {
                a.can(Permission::ManageUsers) || a.can(Permission::ManageSecurity)
            });
            if !(admin || caller.from_ops_network) {
                return WebError::Forbidden { api }.into_response();
            }
        }
    }
    next.run(request).await
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            inventory: Vec::new(),
        }
    }

    /// Adds a route. `method` names the HTTP methods the `MethodRouter` handles (for the inventory).
    pub fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        surface: Surface,
        handler: MethodRouter<WebState>,
    ) -> Routes {
        let guarded =
            handler.route_layer(middleware::from_fn_with_state((access, surface), enforce));
        self.router = self.router.route(path, guarded);
        self.inventory.push(RouteSpec {
            method,
            path,
            access,
            surface,
        });
        self
    }

    pub fn page(
        self,
        method: &'static str,
        path: &'static str,
        access: Access,
        handler: MethodRouter<WebState>,
    ) -> Routes {
        self.add(method, path, access, Surface::Page, handler)
    }

    pub fn api(
        self,
        method: &'static str,
        path: &'static str,
        access: Access,
        handler: MethodRouter<WebState>,
    ) -> Routes {
        self.add(method, path, access, Surface::Api, handler)
    }

    pub fn inventory(&self) -> Vec<RouteSpec> {
        self.inventory.clone()
    }

    pub fn into_router(self, state: WebState) -> Router {
        crate::headers::wrap(
            crate::guard::wrap(self.router, state.clone()),
            state.clone(),
        )
        .with_state(state)
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

/// Every route of EduPlan, in one place.
pub fn all_routes() -> Routes {
    let routes = Routes::new();
    let routes = crate::assets::routes(routes);
    let routes = crate::pages::routes(routes);
    crate::api::routes(routes)
}
