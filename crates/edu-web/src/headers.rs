//! Request IDs, security headers on every response (SECURITY.md WEB-01), panic catching (ERR-01), body limits.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::WebState;
use crate::error::WebError;

/// A random per-request ID, shown on error pages and written to the audit trail and the log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

tokio::task_local! {
    /// The current request's ID, for error pages built far from the request.
    pub static CURRENT_REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    CURRENT_REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_default()
}

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn new_request_id() -> String {
    edu_app::crypto::random_bytes::<8>()
        .map(hex::encode)
        .unwrap_or_else(|_| "0000000000000000".to_owned())
}

async fn security_headers(
    State(state): State<WebState>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = new_request_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let is_asset = request.uri().path().starts_with("/assets/");
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let mut response = CURRENT_REQUEST_ID
        .scope(id.clone(), next.run(request))
        .await;
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(request_id = %id, %method, %path, %status, "request failed");
    } else {
        tracing::debug!(request_id = %id, %method, %path, %status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    }
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), geolocation=(), microphone=()"),
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    if is_asset && status.is_success() {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked");
    WebError::Internal.into_response()
}

pub fn wrap(router: Router<WebState>, state: WebState) -> Router<WebState> {
    let limit = state.config.max_upload_bytes + 64 * 1024;
    router
        // Extractors (forms, multipart uploads) may read up to the configured limit, not axum's default 2 MB.
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_upload_bytes + 64 * 1024,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(middleware::from_fn_with_state(state, security_headers))
}
