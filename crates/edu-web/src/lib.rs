//! The web face of EduPlan: server-rendered pages in Simplified Chinese (English switch) and the JSON API under
//! `/api/v1`. The only crate that knows HTTP and HTML.
//!
//! Every route is declared through [`routes::Routes`], which records its access rule (public, signed in, or a
//! [`edu_app::Permission`]) in an inventory and enforces it; there is no other way to add a route, so a route
//! without a declared permission cannot exist (SECURITY.md ACL-01). Sessions, CSRF and security headers are
//! middleware applied to the whole router.

mod api;
mod assets;
mod error;
mod guard;
mod headers;
pub mod i18n;
pub(crate) mod pages;
pub mod routes;
mod svg;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use edu_app::App;
use serde::{Deserialize, Serialize};

pub use routes::{Access, RouteSpec};

/// Web settings (from the `[web]` table of the configuration file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` and use the `__Host-` prefix (HTTPS deployments, at the proxy or here).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security` (only behind HTTPS).
    pub hsts: bool,
    /// Networks from which the API description and health details are reachable without an admin session.
    pub ops_networks: Vec<String>,
    /// Trust `X-Forwarded-For` from these proxies for the client address in the audit trail.
    pub trusted_proxies: Vec<String>,
    /// Largest request body (uploads), bytes.
    pub max_upload_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: true,
            hsts: false,
            ops_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
            trusted_proxies: Vec::new(),
            max_upload_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Shared state of the web layer.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub config: Arc<WebConfig>,
}

/// The complete router with every middleware.
pub fn router(app: App, config: WebConfig) -> Router {
    let state = WebState {
        app,
        config: Arc::new(config),
    };
    let routes = routes::all_routes();
    routes.into_router(state)
}

/// The route inventory (for tests and `eduplan routes`).
pub fn route_inventory() -> Vec<RouteSpec> {
    routes::all_routes().inventory()
}

/// Serves until Ctrl-C / SIGTERM.
pub async fn serve(app: App, config: WebConfig, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, app, config).await
}

/// Serves on a bound listener (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: App,
    config: WebConfig,
) -> std::io::Result<()> {
    let router = router(app, config);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Whether `ip` lies in one of the CIDR networks (`a.b.c.d/n` or IPv6).
pub(crate) fn in_networks(ip: IpAddr, networks: &[String]) -> bool {
    networks.iter().any(|net| {
        let (base, bits) = match net.split_once('/') {
            Some((b, n)) => (b, n.parse::<u32>().ok()),
            None => (net.as_str(), None),
        };
        match (base.parse::<IpAddr>(), ip) {
            (Ok(IpAddr::V4(base)), IpAddr::V4(ip)) => {
                let bits = bits.unwrap_or(32).min(32);
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                (u32::from(base) & mask) == (u32::from(ip) & mask)
            }
            (Ok(IpAddr::V6(base)), IpAddr::V6(ip)) => {
                let bits = bits.unwrap_or(128).min(128);
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                (u128::from(base) & mask) == (u128::from(ip) & mask)
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let nets = vec![
            "127.0.0.0/8".to_owned(),
            "10.1.0.0/16".to_owned(),
            "::1/128".to_owned(),
        ];
        assert!(in_networks("127.0.0.1".parse().unwrap(), &nets));
        assert!(in_networks("10.1.200.3".parse().unwrap(), &nets));
        assert!(!in_networks("10.2.0.1".parse().unwrap(), &nets));
        assert!(in_networks("::1".parse().unwrap(), &nets));
        assert!(!in_networks("192.168.1.1".parse().unwrap(), &nets));
    }
}
