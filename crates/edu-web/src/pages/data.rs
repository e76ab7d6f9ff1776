//! Import (with the error report in the page), template downloads, and exports.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edu_app::Permission;
use edu_app::exchange::{
    ExportFormat, ExportKind, ImportKind, ImportOptions, ImportReport, template_csv, template_xlsx,
};
use serde::Deserialize;

use super::{CallerExt, Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::routes::{Access, Routes};

pub struct TemplateLink {
    pub kind: String,
    pub label: String,
    pub columns: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    templates: Vec<TemplateLink>,
    report: Option<ImportReport>,
    file_name: String,
    can_export: bool,
}

fn template_links(t: crate::i18n::Tr) -> Vec<TemplateLink> {
    ImportKind::ALL
        .iter()
        .map(|k| TemplateLink {
            kind: k.code().to_owned(),
            label: t.s(&format!("import.kind.{}", k.code())).to_owned(),
            columns: k
                .columns()
                .iter()
                .map(|c| {
                    if c.required {
                        format!("{}*", c.zh)
                    } else {
                        c.zh.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect()
}

async fn import_page(
    State(state): State<WebState>,
    caller: CallerExt,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/import", "import.title");
    let templates = template_links(chrome.t);
    let _ = &state;
    render(&ImportPage {
        chrome,
        templates,
        report: None,
        file_name: String::new(),
        can_export: actor.can(Permission::ExportData),
    })
}

async fn import_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let bad = |message: &str| WebError::BadRequest {
        api: false,
        message: message.to_owned(),
    };
    let mut kind = None;
    let mut options = ImportOptions::default();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| bad("上传失败 / upload failed"))?
    {
        match field.name().unwrap_or("") {
            "kind" => kind = ImportKind::parse(&field.text().await.unwrap_or_default()),
            "skip_bad_rows" => options.skip_bad_rows = true,
            "dry_run" => options.dry_run = true,
            "file" => {
                let name = field
                    .file_name()
                    .unwrap_or("upload")
                    .chars()
                    .take(120)
                    .collect::<String>();
                let bytes = field.bytes().await.map_err(|_| {
                    bad("文件过大或上传中断 / file too large or upload interrupted")
                })?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let kind = kind.ok_or_else(|| bad("请选择导入类型 / choose what to import"))?;
    let (file_name, bytes) = file
        .filter(|(_, b)| !b.is_empty())
        .ok_or_else(|| bad("请选择文件 / choose a file"))?;
    let report = state
        .app
        .import(actor, kind, &bytes, &file_name, options, &caller.context)
        .await
        .map_err(WebError::page)?;
    let chrome = Chrome::new(&caller, "/import", "import.title");
    let templates = template_links(chrome.t);
    let mut response = render(&ImportPage {
        chrome,
        templates,
        report: Some(report.clone()),
        file_name,
        can_export: actor.can(Permission::ExportData),
    })?;
    if !report.errors.is_empty() && !report.committed {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name.
pub fn attachment(file_name: &str) -> HeaderValue {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = super::registry::url_encode(file_name);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

async fn template_download(Path(file): Path<String>) -> Result<Response, WebError> {
    let not_found = || WebError::NotFound { api: false };
    let (kind, extension) = file.rsplit_once('.').ok_or_else(not_found)?;
    let kind = ImportKind::parse(kind).ok_or_else(not_found)?;
    let (bytes, content_type) = match extension {
        "csv" => (template_csv(kind), "text/csv; charset=utf-8"),
        "xlsx" => (
            template_xlsx(kind).map_err(|_| WebError::Internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return Err(not_found()),
    };
    let name = format!("eduplan-template-{}.{extension}", kind.code());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
struct ExportForm {
    kind: String,
    format: String,
    org: Option<String>,
}

async fn export(
    State(state): State<WebState>,
    caller: CallerExt,
    Form(form): Form<ExportForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let kind = ExportKind::parse(&form.kind).ok_or(WebError::NotFound { api: false })?;
    let format = if form.format == "csv" {
        ExportFormat::Csv
    } else {
        ExportFormat::Xlsx
    };
    let org = form.org.as_deref().filter(|o| !o.is_empty());
    let (bytes, name) = state
        .app
        .export(actor, kind, org, format, &caller.context)
        .await
        .map_err(WebError::page)?;
    let content_type = match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .page(
            "GET",
            "/import",
            Access::Permission(Permission::ImportData),
            get(import_page),
        )
        .page(
            "POST",
            "/import",
            Access::Permission(Permission::ImportData),
            post(import_submit),
        )
        .page(
            "GET",
            "/import/templates/{file}",
            Access::Permission(Permission::ImportData),
            get(template_download),
        )
        .page(
            "POST",
            "/export",
            Access::Permission(Permission::ExportData),
            post(export),
        )
}
