//! Sessions and CSRF: resolves the caller (cookie session or bearer token) once per request and refuses
//! cross-site state changes.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use edu_app::{Actor, AppError, AuditContext, SessionKind};

use crate::WebState;
use crate::error::WebError;
use crate::headers::RequestId;
use crate::i18n::Lang;

/// Who is calling, resolved once per request and put in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub actor: Option<Actor>,
    /// A session existed but timed out (the login page says so).
    pub expired: bool,
    pub via_bearer: bool,
    pub from_ops_network: bool,
    pub context: AuditContext,
    pub lang: Lang,
    /// The raw session token (to rotate or end it).
    pub token: Option<String>,
    /// Path and query of the request (the language switch returns here).
    pub uri: String,
}

pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-sid" } else { "sid" }
}

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn client_ip(state: &WebState, request: &Request) -> String {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        if crate::in_networks(peer, &state.config.trusted_proxies)
            && let Some(forwarded) = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
            && let Some(first) = forwarded
                .split(',')
                .next()
                .and_then(|s| s.trim().parse::<IpAddr>().ok())
        {
            return first.to_string();
        }
        return peer.to_string();
    }
    "unknown".to_owned()
}

async fn resolve(State(state): State<WebState>, mut request: Request, next: Next) -> Response {
    let headers = request.headers().clone();
    let ip = client_ip(&state, &request);
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let mut caller = Caller {
        context: AuditContext {
            ip: ip.clone(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(256)
                .collect(),
            request_id,
        },
        lang: Lang::from_headers(&headers),
        uri: request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned()),
        from_ops_network: ip
            .parse::<IpAddr>()
            .is_ok_and(|ip| crate::in_networks(ip, &state.config.ops_networks)),
        ..Caller::default()
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let (token, kind) = match bearer {
        Some(token) => (Some(token), SessionKind::Api),
        None => (
            cookie_value(&headers, cookie_name(state.config.secure_cookies)).map(str::to_owned),
            SessionKind::Web,
        ),
    };
    caller.via_bearer = kind == SessionKind::Api && token.is_some();
    if let Some(token) = token {
        match state.app.authenticate(&token, kind).await {
            Ok(actor) => {
                caller.actor = Some(actor);
                caller.token = Some(token);
            }
            Err(AppError::Auth(edu_app::AuthFailure::SessionExpired)) => caller.expired = true,
            Err(AppError::Auth(_)) => {}
            Err(other) => {
                tracing::error!(error = %other, "session lookup failed");
                return WebError::Internal.into_response();
            }
        }
    }
    // CSRF (SECURITY.md WEB-02): a state-changing request riding on a cookie must come from our own pages:
    // not cross-site by Fetch Metadata, matching Origin when sent, and carrying the session's token.
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !caller.via_bearer {
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site" || v == "same-site");
        let origin_mismatch = match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some(origin), Some(host)) => {
                origin != "null" && origin.split("://").nth(1) != Some(host)
            }
            (Some("null"), None) => true,
            _ => false,
        };
        let token_ok = match &caller.actor {
            // Signed-in forms carry the session's CSRF token in the query string (`?_csrf=`), so multipart
            // uploads are covered without reading the body here.
            Some(actor) => request
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("_csrf=")))
                .is_some_and(|t| constant_time_eq(t.as_bytes(), actor.csrf_token.as_bytes())),
            // Without a session (the login form) only the origin checks apply.
            None => true,
        };
        if cross_site || origin_mismatch || !token_ok {
            tracing::warn!(path = %request.uri().path(), cross_site, origin_mismatch, token_ok, "CSRF check refused a request");
            return WebError::CsrfRejected.into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn wrap(router: Router<WebState>, state: WebState) -> Router<WebState> {
    router.layer(middleware::from_fn_with_state(state, resolve))
}
