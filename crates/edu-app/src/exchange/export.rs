//! Exports to CSV and .xlsx: scoped, audited, watermarked, safe against formula injection.

use edu_store::{InstitutionQuery, PageRequest, PupilQuery, ScopeFilter, StaffQuery};
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;

use crate::App;
use crate::access::{Actor, Permission};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExportKind {
    Institutions,
    Pupils,
    Staff,
    Population,
}

impl ExportKind {
    pub fn parse(code: &str) -> Option<ExportKind> {
        match code {
            "institutions" => Some(ExportKind::Institutions),
            "pupils" => Some(ExportKind::Pupils),
            "staff" => Some(ExportKind::Staff),
            "population" => Some(ExportKind::Population),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ExportKind::Institutions => "institutions",
            ExportKind::Pupils => "pupils",
            ExportKind::Staff => "staff",
            ExportKind::Population => "population",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// Neutralises spreadsheet formulas in text cells: a value starting with `=`, `+`, `-`, `@`, tab or CR is
/// prefixed with `'` (OWASP CSV injection guidance; SECURITY.md WEB-03).
pub fn escape_formula(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// A cell of an export: text is escaped, numbers stay numbers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(String),
    Number(f64),
}

pub(crate) struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub(crate) fn render(
    sheet: &Sheet,
    format: ExportFormat,
    watermark: &str,
) -> Result<Vec<u8>, AppError> {
    match format {
        ExportFormat::Csv => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            let mut writer = csv::Writer::from_writer(&mut out);
            let _ = writer.write_record(&sheet.headers);
            for row in &sheet.rows {
                let record: Vec<String> = row
                    .iter()
                    .map(|c| match c {
                        Cell::Text(s) => escape_formula(s),
                        Cell::Number(n) => n.to_string(),
                    })
                    .collect();
                let _ = writer.write_record(&record);
            }
            drop(writer);
            Ok(out)
        }
        ExportFormat::Xlsx => {
            let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Config(format!("xlsx: {e}"));
            let mut workbook = Workbook::new();
            let bold = Format::new().set_bold();
            let text = Format::new().set_num_format("@");
            let worksheet = workbook.add_worksheet();
            worksheet.set_name(&sheet.name).map_err(xlsx)?;
            // The watermark prints on every page and sits in the document properties.
            worksheet.set_header(format!("&L{}", watermark.replace('&', "&&")));
            worksheet.set_footer(format!("&L{}&R&P / &N", watermark.replace('&', "&&")));
            for (c, h) in sheet.headers.iter().enumerate() {
                worksheet
                    .write_string_with_format(0, c as u16, h, &bold)
                    .map_err(xlsx)?;
                worksheet.set_column_width(c as u16, 14).map_err(xlsx)?;
            }
            for (r, row) in sheet.rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    match cell {
                        Cell::Text(s) => worksheet.write_string_with_format(
                            r as u32 + 1,
                            c as u16,
                            escape_formula(s),
                            &text,
                        ),
                        Cell::Number(n) => worksheet.write_number(r as u32 + 1, c as u16, *n),
                    }
                    .map_err(xlsx)?;
                }
            }
            let properties = rust_xlsxwriter::DocProperties::new()
                .set_comment(watermark)
                .set_author("EduPlan");
            workbook.set_properties(&properties);
            workbook.save_to_buffer().map_err(xlsx)
        }
    }
}

impl App {
    /// Exports a registry table for the actor's scope (optionally narrowed to an org code inside it). Pupil
    /// exports carry masked 学籍号 only. Every export is audited; files carry a watermark (who, when).
    pub async fn export(
        &self,
        actor: &Actor,
        kind: ExportKind,
        org: Option<&str>,
        format: ExportFormat,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        actor.require(Permission::ExportData)?;
        let scope = self.narrow_scope(actor, org).await?;
        let sheet = match kind {
            ExportKind::Institutions => self.institution_sheet(&scope).await?,
            ExportKind::Pupils => self.pupil_sheet(&scope).await?,
            ExportKind::Staff => self.staff_sheet(&scope).await?,
            ExportKind::Population => self.population_sheet(&scope).await?,
        };
        let now = self.clock.now();
        let stamp = edu_model::china_time::CHINA_OFFSET
            .to_datetime(now)
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        let watermark = format!("EduPlan 导出 {} {} 仅限工作使用", actor.username, stamp);
        let bytes = render(&sheet, format, &watermark)?;
        let extension = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        };
        let file_name = format!(
            "eduplan-{}-{}-{}.{extension}",
            kind.code(),
            org.unwrap_or(actor.scope.code()),
            edu_model::china_time::business_date(now)
        );
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            now.as_millisecond(),
            Some(actor),
            "",
            context,
            &format!("export.{}", kind.code()),
            kind.code(),
            org.unwrap_or(actor.scope.code()),
            Outcome::Success,
            &format!("rows={} format={extension}", sheet.rows.len()),
        ))
        .await?;
        tx.commit().await?;
        Ok((bytes, file_name))
    }

    /// The actor's scope, or a narrower one inside it; anything outside is `NotFound`.
    pub(crate) async fn narrow_scope(
        &self,
        actor: &Actor,
        org: Option<&str>,
    ) -> Result<ScopeFilter, AppError> {
        let own = actor.scope_filter();
        let Some(code) = org.filter(|c| *c != actor.scope.code()) else {
            return Ok(own);
        };
        let wanted = self.filter_for_code(Some(code)).await?;
        let inside = match (&own, &wanted) {
            (ScopeFilter::All, _) => true,
            (ScopeFilter::District(d), ScopeFilter::District(w)) => d == w,
            (ScopeFilter::District(d), ScopeFilter::Institution(id)) => self
                .store
                .institution_by_code(&own, code)
                .await?
                .is_some_and(|i| i.id == *id && &i.district_code == d),
            (ScopeFilter::Institution(own_id), ScopeFilter::Institution(id)) => own_id == id,
            _ => false,
        };
        if inside {
            Ok(wanted)
        } else {
            Err(AppError::NotFound)
        }
    }

    async fn institution_sheet(&self, scope: &ScopeFilter) -> Result<Sheet, AppError> {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .institutions(
                    scope,
                    &InstitutionQuery::default(),
                    PageRequest {
                        offset,
                        limit: 2_000,
                    },
                )
                .await?;
            let n = page.items.len() as i64;
            for i in page.items {
                rows.push(vec![
                    t(i.code),
                    t(i.name),
                    t(i.district_code),
                    t(edu_model::InstitutionKind::parse(&i.kind)
                        .map(|k| k.label_zh())
                        .unwrap_or("")),
                    t(edu_model::Ownership::parse(&i.ownership)
                        .map(|k| k.label_zh())
                        .unwrap_or("")),
                    t(if i.inclusive { "是" } else { "否" }),
                    t(edu_model::Area::parse(&i.area)
                        .map(|k| k.label_zh())
                        .unwrap_or("")),
                    t(edu_model::Authority::parse(&i.authority)
                        .map(|k| k.label_zh())
                        .unwrap_or("")),
                    t(if i.status == "open" {
                        "开办"
                    } else {
                        "停办"
                    }),
                    Cell::Number(i.pupils as f64),
                ]);
            }
            offset += n;
            if n == 0 || offset >= page.total {
                break;
            }
        }
        Ok(Sheet {
            name: "学校".into(),
            headers: [
                "学校标识码",
                "学校名称",
                "区县代码",
                "办学类型",
                "办学性质",
                "普惠性",
                "城乡",
                "举办者",
                "状态",
                "在籍学生数",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        })
    }

    async fn pupil_sheet(&self, scope: &ScopeFilter) -> Result<Sheet, AppError> {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .pupils(
                    scope,
                    &PupilQuery::default(),
                    PageRequest {
                        offset,
                        limit: 5_000,
                    },
                )
                .await?;
            let n = page.items.len() as i64;
            for p in page.items {
                rows.push(vec![
                    t(p.pupil_no_masked),
                    t(p.name),
                    t(if p.sex == "M" { "男" } else { "女" }),
                    t(p.birth_date),
                    t(p.institution_code),
                    Cell::Number(p.grade as f64),
                    t(p.class_name.unwrap_or_default()),
                ]);
            }
            offset += n;
            if n == 0 || offset >= page.total {
                break;
            }
        }
        Ok(Sheet {
            name: "学生".into(),
            headers: [
                "学籍号（脱敏）",
                "姓名",
                "性别",
                "出生日期",
                "学校标识码",
                "年级",
                "班级",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        })
    }

    async fn staff_sheet(&self, scope: &ScopeFilter) -> Result<Sheet, AppError> {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .staff(
                    scope,
                    &StaffQuery::default(),
                    PageRequest {
                        offset,
                        limit: 5_000,
                    },
                )
                .await?;
            let n = page.items.len() as i64;
            for s in page.items {
                rows.push(vec![
                    t(s.staff_no),
                    t(s.name),
                    t(if s.sex == "M" { "男" } else { "女" }),
                    t(s.birth_date),
                    t(s.institution_code),
                    t(edu_model::StaffRole::parse(&s.role)
                        .map(|r| r.label_zh())
                        .unwrap_or("")),
                    t(s.subjects),
                    t(s.hire_date),
                    t(if s.special_post { "是" } else { "否" }),
                    t(s.certificate_expires.unwrap_or_default()),
                ]);
            }
            offset += n;
            if n == 0 || offset >= page.total {
                break;
            }
        }
        Ok(Sheet {
            name: "教职工".into(),
            headers: [
                "教职工号",
                "姓名",
                "性别",
                "出生日期",
                "学校标识码",
                "岗位",
                "任教学科",
                "入职日期",
                "特岗教师",
                "证书有效期至",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        })
    }

    async fn population_sheet(&self, scope: &ScopeFilter) -> Result<Sheet, AppError> {
        let rows = self
            .store
            .population(scope, None)
            .await?
            .into_iter()
            .map(|p| {
                vec![
                    t(p.district_code),
                    Cell::Number(p.year as f64),
                    Cell::Number(p.age as f64),
                    t(if p.basis == "registered" {
                        "户籍"
                    } else {
                        "常住"
                    }),
                    Cell::Number(p.count as f64),
                ]
            })
            .collect();
        Ok(Sheet {
            name: "分年龄人口".into(),
            headers: ["区县代码", "年份", "年龄", "口径", "人数"]
                .map(String::from)
                .to_vec(),
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(escape_formula("=cmd()"), "'=cmd()");
        assert_eq!(escape_formula("+1"), "'+1");
        assert_eq!(escape_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_formula("大庆"), "大庆");
        assert_eq!(escape_formula(""), "");
    }

    #[test]
    fn exported_xlsx_reads_back_escaped() {
        let sheet = Sheet {
            name: "t".into(),
            headers: vec!["a".into(), "n".into()],
            rows: vec![vec![t("=cmd()"), Cell::Number(3.0)]],
        };
        let bytes = render(&sheet, ExportFormat::Xlsx, "watermark").unwrap();
        let table = super::super::read_table(&bytes, "x.xlsx").unwrap();
        assert_eq!(table.rows[0].1, vec!["'=cmd()".to_owned(), "3".to_owned()]);
        let csv = render(&sheet, ExportFormat::Csv, "w").unwrap();
        assert!(String::from_utf8_lossy(&csv).contains("'=cmd()"));
    }
}
