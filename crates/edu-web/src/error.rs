//! The one web error type: maps application errors to status codes and generic bodies. Causes go to the log,
//! never to the client (SECURITY.md ERR-01).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use edu_app::{AppError, FieldError};
use serde_json::json;

#[derive(Debug)]
pub enum WebError {
    Unauthenticated {
        api: bool,
        expired: bool,
    },
    MustChangePassword,
    Forbidden {
        api: bool,
    },
    NotFound {
        api: bool,
    },
    Invalid {
        api: bool,
        errors: Vec<FieldError>,
    },
    BadRequest {
        api: bool,
        message: String,
    },
    CsrfRejected,
    Internal,
    /// A failure behind an API route: JSON, like every other API answer.
    InternalApi,
}

impl WebError {
    pub fn from_app(error: AppError, api: bool) -> WebError {
        match error {
            AppError::NotFound => WebError::NotFound { api },
            AppError::Forbidden(_) => WebError::Forbidden { api },
            AppError::Invalid(errors) => WebError::Invalid { api, errors },
            AppError::Password(violations) => WebError::Invalid {
                api,
                errors: violations
                    .iter()
                    .map(|v| {
                        FieldError::new(
                            "new_password",
                            format!("{} / {}", v.message_zh(), v.message_en()),
                        )
                    })
                    .collect(),
            },
            AppError::Auth(_) => WebError::Unauthenticated {
                api,
                expired: false,
            },
            AppError::Conflict(message) => WebError::BadRequest { api, message },
            other => {
                tracing::error!(error = %other, "request failed");
                if api {
                    WebError::InternalApi
                } else {
                    WebError::Internal
                }
            }
        }
    }

    pub fn page(error: AppError) -> WebError {
        WebError::from_app(error, false)
    }

    pub fn api(error: AppError) -> WebError {
        WebError::from_app(error, true)
    }
}

fn error_page(status: StatusCode, title_zh: &str, title_en: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title_zh}</title><link rel=\"stylesheet\" href=\"{css}\"></head><body class=\"error-page\"><main class=\"narrow\">\
         <h1>{code} {title_zh}</h1><p lang=\"en\">{title_en}</p><p>{detail}</p><p class=\"muted\">请求编号 Request ID: <code>{request_id}</code></p>\
         <p><a href=\"/\">返回首页 / Home</a></p></main></body></html>",
        code = status.as_u16(),
        css = crate::assets::CSS_PATH,
        detail = html_escape(detail),
        request_id = html_escape(&crate::headers::current_request_id()),
    );
    (status, Html(body)).into_response()
}

pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Unauthenticated { api: true, .. } => {
                let mut r = (StatusCode::UNAUTHORIZED, Json(json!({"error": "authentication required", "message": "请先登录 / sign in first"}))).into_response();
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            WebError::Unauthenticated { api: false, expired } => {
                Redirect::to(if expired { "/login?expired=1" } else { "/login" }).into_response()
            }
            WebError::MustChangePassword => Redirect::to("/password").into_response(),
            WebError::Forbidden { api: true } => {
                (StatusCode::FORBIDDEN, Json(json!({"error": "forbidden", "message": "无权访问 / not allowed"}))).into_response()
            }
            WebError::Forbidden { api: false } => error_page(StatusCode::FORBIDDEN, "无权访问", "Not allowed", "您的角色或管理范围不包含此内容。"),
            WebError::NotFound { api: true } => {
                (StatusCode::NOT_FOUND, Json(json!({"error": "not found", "message": "未找到 / not found"}))).into_response()
            }
            WebError::NotFound { api: false } => error_page(StatusCode::NOT_FOUND, "未找到", "Not found", "页面不存在，或不在您的管理范围内。"),
            WebError::Invalid { api: true, errors } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": "invalid input", "message": "输入有误 / invalid input", "fields": errors})),
            )
                .into_response(),
            WebError::Invalid { api: false, errors } => {
                let detail: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
                error_page(StatusCode::UNPROCESSABLE_ENTITY, "输入有误", "Invalid input", &detail.join("；"))
            }
            WebError::BadRequest { api: true, message } => {
                (StatusCode::BAD_REQUEST, Json(json!({"error": "bad request", "message": message}))).into_response()
            }
            WebError::BadRequest { api: false, message } => error_page(StatusCode::BAD_REQUEST, "请求有误", "Bad request", &message),
            WebError::CsrfRejected => error_page(
                StatusCode::FORBIDDEN,
                "请求被拒绝",
                "Request refused (cross-site or expired form)",
                "表单已过期或来自其他网站。请返回页面刷新后重试。",
            ),
            WebError::InternalApi => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({
                    "error": "internal",
                    "message": "处理请求时出错，已记录 / the request failed and was logged",
                    "request_id": crate::headers::current_request_id(),
                })),
            )
                .into_response(),
            WebError::Internal => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务器错误",
                "Server error",
                "处理请求时出错，已记录。请将下方的请求编号告知管理员。",
            ),
        }
    }
}
