//! Validating and importing a table: every bad row reported with its line, column and reason; all or nothing.

use std::collections::HashMap;
use std::fmt;

use edu_model::{
    Area, AreaCode, Authority, InstitutionKind, Ownership, PupilNo, PupilStatus, SchoolCode, Sex,
    StaffRole,
};
use edu_store::{
    CertificateWrite, InstitutionWrite, PopulationRecord, PupilWrite, StaffWrite, Upserted,
};
use serde::Serialize;

use super::table::{Table, read_table};
use super::templates::{ImportKind, match_headers};
use super::values::*;
use crate::App;
use crate::access::{Actor, Permission};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Import the good rows and return the bad ones (for a rejects file) instead of importing nothing.
    pub skip_bad_rows: bool,
    /// Validate and count what would change, then roll back.
    pub dry_run: bool,
}

/// One problem: where (file line, data row, column) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line of the file (CSV) or sheet row (xlsx); the header is line 1. 0 for problems of the whole file.
    pub line: usize,
    /// Position among data rows (the first row under the header is 1).
    pub data_row: usize,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "文件 file: {}", self.reason);
        }
        write!(
            f,
            "第 {} 行（数据第 {} 行）line {} (data row {}), 列 column “{}”: {}",
            self.line, self.data_row, self.line, self.data_row, self.column, self.reason
        )
    }
}

/// What an import did (or would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub kind: String,
    pub encoding: String,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    /// Headers and cells of rejected rows, for a rejects file.
    #[serde(skip)]
    pub rejected: Vec<(usize, Vec<String>)>,
    #[serde(skip)]
    pub headers: Vec<String>,
    /// True when the changes were written.
    pub committed: bool,
    pub dry_run: bool,
}

impl ImportReport {
    /// The rejects as CSV (UTF-8 with BOM): original columns, then 行号 and 错误原因.
    pub fn rejects_csv(&self) -> Vec<u8> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        let mut writer = csv::Writer::from_writer(&mut out);
        let mut header = self.headers.clone();
        header.push("行号".to_owned());
        header.push("错误原因".to_owned());
        let _ = writer.write_record(&header);
        for (line, cells) in &self.rejected {
            let reasons: Vec<String> = self
                .errors
                .iter()
                .filter(|e| e.line == *line)
                .map(|e| format!("{}: {}", e.column, e.reason))
                .collect();
            let mut record = cells.clone();
            record.resize(self.headers.len(), String::new());
            record.push(line.to_string());
            record.push(reasons.join("；"));
            let _ = writer.write_record(&record);
        }
        drop(writer);
        out
    }
}

/// Access to a row's cells by template key, recording errors with their column.
struct Row<'a> {
    line: usize,
    data_row: usize,
    cells: &'a [String],
    /// template column index → file position
    positions: &'a HashMap<&'static str, usize>,
    headers: &'a [String],
    errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    fn text(&self, key: &str) -> &'a str {
        self.positions
            .get(key)
            .and_then(|p| self.cells.get(*p))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    fn column_name(&self, key: &str) -> String {
        self.positions
            .get(key)
            .and_then(|p| self.headers.get(*p))
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    fn error(&mut self, key: &str, reason: impl Into<String>) {
        let column = self.column_name(key);
        self.errors.push(RowError {
            line: self.line,
            data_row: self.data_row,
            column,
            reason: reason.into(),
        });
    }

    fn required(&mut self, key: &str) -> Option<&'a str> {
        let value = self.text(key);
        if value.is_empty() {
            self.error(key, "必填项为空 / required value is empty");
            None
        } else {
            Some(value)
        }
    }

    /// Parses a value with `parse`, recording the error; `None` when empty and optional.
    fn parse<T>(
        &mut self,
        key: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = if required {
            self.required(key)?
        } else {
            self.text(key)
        };
        if value.is_empty() {
            return None;
        }
        match parse(value) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.error(key, reason);
                None
            }
        }
    }
}

fn kind_error(e: edu_model::ParseKindError) -> String {
    e.to_string()
}

/// Validated rows, ready to write.
enum Prepared {
    Institution(InstitutionWrite),
    Pupil {
        write: PupilWrite,
        plain_phone: Option<String>,
        plain_address: Option<String>,
        class_name: Option<String>,
    },
    Staff {
        write: StaffWrite,
        plain_phone: Option<String>,
    },
    Population(PopulationRecord),
}

impl App {
    /// Imports a file of the given kind for an actor. Problems with the file or any row are returned in the
    /// report (not as `Err`); `Err` is for permission and storage failures.
    pub async fn import(
        &self,
        actor: &Actor,
        kind: ImportKind,
        bytes: &[u8],
        file_name: &str,
        options: ImportOptions,
        context: &AuditContext,
    ) -> Result<ImportReport, AppError> {
        actor.require(Permission::ImportData)?;
        let mut report = ImportReport {
            kind: kind.code().to_owned(),
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        let table = match read_table(bytes, file_name) {
            Ok(table) => table,
            Err(e) => {
                report.errors.push(RowError {
                    line: 0,
                    data_row: 0,
                    column: String::new(),
                    reason: e.to_string(),
                });
                return Ok(report);
            }
        };
        report.encoding = table.encoding.to_owned();
        report.rows = table.rows.len();
        report.headers = table.headers.clone();
        let positions = match match_headers(kind, &table.headers) {
            Ok(p) => p,
            Err(errors) => {
                for (index, reason) in errors {
                    let column = table.headers.get(index).cloned().unwrap_or_default();
                    report.errors.push(RowError {
                        line: 1,
                        data_row: 0,
                        column,
                        reason,
                    });
                }
                return Ok(report);
            }
        };
        let columns = kind.columns();
        let by_key: HashMap<&'static str, usize> = positions
            .iter()
            .enumerate()
            .map(|(file_pos, col)| (columns[*col].key, file_pos))
            .collect();
        let prepared = self
            .prepare_rows(actor, kind, &table, &by_key, &mut report)
            .await?;
        if !report.errors.is_empty() && !options.skip_bad_rows {
            return Ok(report);
        }
        let today = edu_model::china_time::business_date(self.clock.now()).to_string();
        let now_ms = self.clock.now_ms();
        // Sensitive fields are compared with what is stored by decrypting it. Read everything first: reads go
        // through other connections, which must not wait on the open write transaction.
        let mut same_sensitive = Vec::with_capacity(prepared.len());
        for item in &prepared {
            let same = match item {
                Prepared::Staff { write, plain_phone } => {
                    match self.store.staff_by_no(&write.staff_no).await? {
                        Some(_) => self.staff_phone(&write.staff_no).await? == *plain_phone,
                        None => true,
                    }
                }
                Prepared::Pupil {
                    write,
                    plain_phone,
                    plain_address,
                    ..
                } => {
                    match self.store.pupil_by_index(&write.pupil_no_index).await? {
                        Some(existing) => {
                            let key = &existing.pupil_no_index;
                            let decrypt = |ct: &Option<Vec<u8>>, column: &str| -> Result<Option<String>, AppError> {
                            ct.as_ref().map(|ct| self.keys.decrypt(ct, "pupils", column, key).map(|s| s.to_string())).transpose().map_err(AppError::from)
                        };
                            decrypt(&existing.guardian_phone_enc, "guardian_phone")? == *plain_phone
                                && decrypt(&existing.address_enc, "address")? == *plain_address
                        }
                        None => true,
                    }
                }
                _ => true,
            };
            same_sensitive.push(same);
        }
        let mut tx = self.store.begin().await?;
        for (item, same) in prepared.iter().zip(same_sensitive) {
            let outcome = match item {
                Prepared::Institution(w) => tx.upsert_institution(w, now_ms).await?,
                Prepared::Population(p) => tx.upsert_population(p).await?,
                Prepared::Staff { write, .. } => tx.upsert_staff(write, same, now_ms).await?,
                Prepared::Pupil {
                    write, class_name, ..
                } => {
                    let mut write = write.clone();
                    if let Some(class_name) = class_name {
                        write.class_id = Some(
                            tx.ensure_class(write.institution_id, write.grade, class_name)
                                .await?,
                        );
                    }
                    tx.upsert_pupil(&write, same, now_ms).await?
                }
            };
            match outcome {
                Upserted::Inserted(_) => report.inserted += 1,
                Upserted::Updated(_) => report.updated += 1,
                Upserted::Unchanged(_) => report.unchanged += 1,
            }
        }
        let reason = format!(
            "file={} rows={} inserted={} updated={} unchanged={} rejected={} dry_run={}",
            file_name.chars().take(80).collect::<String>(),
            report.rows,
            report.inserted,
            report.updated,
            report.unchanged,
            report.rejected.len(),
            options.dry_run
        );
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            &format!("import.{}", kind.code()),
            kind.code(),
            &today,
            Outcome::Success,
            &reason,
        ))
        .await?;
        if options.dry_run {
            drop(tx);
        } else {
            tx.commit().await?;
            report.committed = true;
        }
        Ok(report)
    }

    async fn staff_phone(&self, staff_no: &str) -> Result<Option<String>, AppError> {
        let Some(ct) = self.store.staff_phone_enc(staff_no).await? else {
            return Ok(None);
        };
        Ok(Some(
            self.keys
                .decrypt(&ct, "staff", "phone", staff_no)?
                .to_string(),
        ))
    }

    async fn prepare_rows(
        &self,
        actor: &Actor,
        kind: ImportKind,
        table: &Table,
        positions: &HashMap<&'static str, usize>,
        report: &mut ImportReport,
    ) -> Result<Vec<Prepared>, AppError> {
        let institutions: HashMap<String, (i64, String, String)> = self
            .store
            .institution_ids_kinds()
            .await?
            .into_iter()
            .map(|(code, id, district, kind)| (code, (id, district, kind)))
            .collect();
        let today = edu_model::china_time::business_date(self.clock.now());
        let mut seen_keys: HashMap<String, usize> = HashMap::new();
        let mut prepared = Vec::with_capacity(table.rows.len());
        for (index, (line, cells)) in table.rows.iter().enumerate() {
            let mut row = Row {
                line: *line,
                data_row: index + 1,
                cells,
                positions,
                headers: &table.headers,
                errors: Vec::new(),
            };
            let item = match kind {
                ImportKind::Institutions => self.prepare_institution(actor, &mut row, today),
                ImportKind::Pupils => self.prepare_pupil(actor, &mut row, &institutions, today),
                ImportKind::Staff => self.prepare_staff(actor, &mut row, &institutions),
                ImportKind::Population => prepare_population(actor, &mut row),
            };
            if let Some(item) = &item {
                let key = match item {
                    Prepared::Institution(w) => w.code.to_string(),
                    Prepared::Pupil { write, .. } => write.pupil_no_index.clone(),
                    Prepared::Staff { write, .. } => write.staff_no.clone(),
                    Prepared::Population(p) => {
                        format!("{}/{}/{}/{}", p.district_code, p.year, p.age, p.basis)
                    }
                };
                if let Some(first) = seen_keys.get(&key) {
                    let key_column = match kind {
                        ImportKind::Institutions => "code",
                        ImportKind::Pupils => "pupil_no",
                        ImportKind::Staff => "staff_no",
                        ImportKind::Population => "age",
                    };
                    row.error(
                        key_column,
                        format!("与第 {first} 行重复 / duplicates line {first}"),
                    );
                } else {
                    seen_keys.insert(key, *line);
                }
            }
            if row.errors.is_empty() {
                if let Some(item) = item {
                    prepared.push(item);
                }
            } else {
                report.rejected.push((*line, cells.clone()));
                report.errors.append(&mut row.errors);
            }
        }
        Ok(prepared)
    }

    fn prepare_institution(
        &self,
        actor: &Actor,
        row: &mut Row<'_>,
        today: jiff::civil::Date,
    ) -> Option<Prepared> {
        let code = row.parse("code", true, |v| {
            SchoolCode::parse(v).map_err(|e| e.to_string())
        });
        let name = row.required("name").map(str::to_owned);
        if let Some(name) = &name
            && let Err(e) = check_length(name, 100)
        {
            row.error("name", e);
        }
        let district = row.parse("district", true, |v| {
            let code = AreaCode::parse(v).map_err(|e| e.to_string())?;
            edu_model::area::daqing_district(code)
                .map(|d| d.code)
                .ok_or_else(|| format!("{v} 不是大庆市的区县 / not a Daqing district"))
        });
        if let Some(district) = district
            && !actor.scope.contains_district(&district.to_string())
        {
            row.error(
                "district",
                "该区县不在您的管理范围内 / this district is outside your scope",
            );
        }
        let kind = row.parse("kind", true, |v| {
            InstitutionKind::parse(v).map_err(kind_error)
        });
        let ownership = row.parse("ownership", true, |v| {
            Ownership::parse(v).map_err(kind_error)
        });
        let inclusive = row.parse("inclusive", false, parse_bool).unwrap_or(false);
        if inclusive
            && (ownership != Some(Ownership::Private)
                || kind != Some(InstitutionKind::Kindergarten))
        {
            row.error("inclusive", "只有民办幼儿园可认定为普惠性 / only private kindergartens can be recognised as inclusive");
        }
        let area = row.parse("area", true, |v| Area::parse(v).map_err(kind_error));
        let authority = row
            .parse("authority", false, |v| {
                Authority::parse(v).map_err(kind_error)
            })
            .unwrap_or(Authority::District);
        let status = row
            .parse("status", false, parse_institution_status)
            .unwrap_or("open");
        let capacity = row.parse("capacity", false, |v| parse_int(v, 0, 100_000));
        let valid_from = row.parse("valid_from", false, parse_date).unwrap_or(today);
        let address = row.text("address").to_owned();
        let phone = row.text("phone").to_owned();
        let tags: Vec<String> = row
            .text("tags")
            .split([';', '；', ','])
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        let education_group =
            Some(row.text("education_group").to_owned()).filter(|s| !s.is_empty());
        let rural_alliance = Some(row.text("rural_alliance").to_owned()).filter(|s| !s.is_empty());
        if !row.errors.is_empty() {
            return None;
        }
        Some(Prepared::Institution(InstitutionWrite {
            code: code?.to_string(),
            name: name?,
            district_code: district?.to_string(),
            kind: kind?.code().to_owned(),
            ownership: ownership?.code().to_owned(),
            inclusive,
            area: area?.code().to_owned(),
            authority: authority.code().to_owned(),
            status: status.to_owned(),
            address,
            phone,
            capacity,
            valid_from: valid_from.to_string(),
            education_group,
            rural_alliance,
            tags,
        }))
    }

    fn prepare_pupil(
        &self,
        actor: &Actor,
        row: &mut Row<'_>,
        institutions: &HashMap<String, (i64, String, String)>,
        today: jiff::civil::Date,
    ) -> Option<Prepared> {
        let number = row.parse("pupil_no", true, |v| {
            PupilNo::parse(v).map_err(|e| e.to_string())
        });
        let name = row.required("name").map(str::to_owned);
        if let Some(name) = &name
            && let Err(e) = check_length(name, 50)
        {
            row.error("name", e);
        }
        let sex = row.parse("sex", true, |v| Sex::parse(v).map_err(kind_error));
        let birth = row.parse("birth_date", true, parse_date);
        if let (Some(number), Some(birth)) = (&number, birth) {
            if let Some(encoded) = number.birth_date()
                && encoded != birth
            {
                row.error("birth_date", format!("与学籍号中的出生日期 {encoded} 不一致 / differs from the date in the pupil number ({encoded})"));
            }
            if number.form() == edu_model::PupilNoForm::G
                && let (Ok(id), Some(sex)) =
                    (edu_model::IdNumber::parse(&number.as_str()[1..]), sex)
                && id.sex() != sex
            {
                row.error(
                    "sex",
                    "与身份证号中的性别不一致 / differs from the sex in the ID number",
                );
            }
        }
        let school = row.parse("school_code", true, |v| {
            institutions
                .get(v)
                .cloned()
                .map(|i| (v.to_owned(), i))
                .ok_or_else(|| format!("学校标识码 {v} 不存在 / no institution with code {v}"))
        });
        let grade = row.parse("grade", true, parse_grade);
        if let Some((code, (id, district, kind))) = &school {
            if !actor.scope.contains_institution(*id, district) {
                row.error(
                    "school_code",
                    format!(
                        "学校 {code} 不在您的管理范围内 / institution {code} is outside your scope"
                    ),
                );
            }
            if let (Ok(kind), Some(grade)) = (InstitutionKind::parse(kind), grade)
                && !kind.grades().contains(&(grade as u8))
            {
                row.error(
                    "grade",
                    format!(
                        "{} 没有 {} 年级 / a {} has no grade {}",
                        kind.label_zh(),
                        grade,
                        kind.label_en(),
                        grade
                    ),
                );
            }
        }
        let status = row
            .parse("status", false, |v| {
                PupilStatus::parse(v).map_err(kind_error)
            })
            .unwrap_or(PupilStatus::Enrolled);
        let enrolled_on = row.parse("enrolled_on", false, parse_date).unwrap_or(today);
        let special_needs = row
            .parse("special_needs", false, parse_bool)
            .unwrap_or(false);
        let boarder = row.parse("boarder", false, parse_bool).unwrap_or(false);
        let phone = row.parse("guardian_phone", false, parse_mobile);
        let address = Some(row.text("address").to_owned()).filter(|a| !a.is_empty());
        if let Some(address) = &address
            && let Err(e) = check_length(address, 200)
        {
            row.error("address", e);
        }
        let class_name = Some(row.text("class").to_owned()).filter(|c| !c.is_empty());
        let valid_from = row.parse("valid_from", false, parse_date).unwrap_or(today);
        if !row.errors.is_empty() {
            return None;
        }
        let number = number?;
        let index = self.keys.blind_index("pupil_no", number.as_str());
        let encrypt =
            |value: &str, column: &str| self.keys.encrypt(value, "pupils", column, &index);
        let (pupil_no_enc, guardian_phone_enc, address_enc) = match (
            encrypt(number.as_str(), "pupil_no"),
            phone
                .as_deref()
                .map(|p| encrypt(p, "guardian_phone"))
                .transpose(),
            address
                .as_deref()
                .map(|a| encrypt(a, "address"))
                .transpose(),
        ) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            _ => {
                row.error("pupil_no", "加密失败 / encryption failed");
                return None;
            }
        };
        let (_, (institution_id, _, _)) = school?;
        Some(Prepared::Pupil {
            write: PupilWrite {
                pupil_no_index: index,
                pupil_no_enc,
                pupil_no_masked: number.masked(),
                name: name?,
                sex: sex?.code().to_owned(),
                birth_date: birth?.to_string(),
                institution_id,
                grade: grade?,
                class_id: None,
                status: status.code().to_owned(),
                enrolled_on: enrolled_on.to_string(),
                special_needs,
                boarder,
                guardian_phone_enc,
                address_enc,
                valid_from: valid_from.to_string(),
            },
            plain_phone: phone,
            plain_address: address,
            class_name,
        })
    }

    fn prepare_staff(
        &self,
        actor: &Actor,
        row: &mut Row<'_>,
        institutions: &HashMap<String, (i64, String, String)>,
    ) -> Option<Prepared> {
        let staff_no = row.required("staff_no").map(str::to_owned);
        if let Some(no) = &staff_no
            && let Err(e) = check_length(no, 40)
        {
            row.error("staff_no", e);
        }
        let name = row.required("name").map(str::to_owned);
        let sex = row.parse("sex", true, |v| Sex::parse(v).map_err(kind_error));
        let birth = row.parse("birth_date", true, parse_date);
        let school = row.parse("school_code", true, |v| {
            institutions
                .get(v)
                .cloned()
                .ok_or_else(|| format!("学校标识码 {v} 不存在 / no institution with code {v}"))
        });
        if let Some((id, district, _)) = &school
            && !actor.scope.contains_institution(*id, district)
        {
            row.error(
                "school_code",
                "学校不在您的管理范围内 / institution outside your scope",
            );
        }
        let role = row.parse("role", true, |v| StaffRole::parse(v).map_err(kind_error));
        let subjects: Vec<String> = row
            .text("subjects")
            .split([';', '；', ','])
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let hire = row.parse("hire_date", true, parse_date);
        if let (Some(birth), Some(hire)) = (birth, hire)
            && edu_model::china_time::age_on(birth, hire) < 16
        {
            row.error(
                "hire_date",
                "入职时未满 16 周岁 / hired before the age of 16",
            );
        }
        let special_post = row
            .parse("special_post", false, parse_bool)
            .unwrap_or(false);
        let status = row
            .parse("status", false, parse_staff_status)
            .unwrap_or("active");
        let phone = row.parse("phone", false, parse_mobile);
        let cert_kind = row.text("certificate_kind").to_owned();
        let cert_no = row.text("certificate_no").to_owned();
        let cert_expires = row.parse("certificate_expires", false, parse_date);
        if cert_kind.is_empty() != cert_no.is_empty() {
            row.error(
                "certificate_no",
                "证书类型与证书编号须同时填写 / certificate kind and number go together",
            );
        }
        if !row.errors.is_empty() {
            return None;
        }
        let staff_no = staff_no?;
        let phone_enc = match phone
            .as_deref()
            .map(|p| self.keys.encrypt(p, "staff", "phone", &staff_no))
            .transpose()
        {
            Ok(ct) => ct,
            Err(_) => {
                row.error("phone", "加密失败 / encryption failed");
                return None;
            }
        };
        let certificates = if cert_kind.is_empty() {
            Vec::new()
        } else {
            vec![CertificateWrite {
                kind: cert_kind,
                number: cert_no,
                issued_on: None,
                expires_on: cert_expires.map(|d| d.to_string()),
            }]
        };
        Some(Prepared::Staff {
            write: StaffWrite {
                staff_no,
                name: name?,
                sex: sex?.code().to_owned(),
                birth_date: birth?.to_string(),
                institution_id: school?.0,
                role: role?.code().to_owned(),
                subjects: subjects.join(";"),
                hire_date: hire?.to_string(),
                special_post,
                status: status.to_owned(),
                phone_enc,
                certificates,
            },
            plain_phone: phone,
        })
    }
}

fn prepare_population(actor: &Actor, row: &mut Row<'_>) -> Option<Prepared> {
    let district = row.parse("district", true, |v| {
        let code = AreaCode::parse(v).map_err(|e| e.to_string())?;
        edu_model::area::daqing_district(code)
            .map(|d| d.code)
            .ok_or_else(|| format!("{v} 不是大庆市的区县 / not a Daqing district"))
    });
    if let Some(district) = district
        && !actor.scope.contains_district(&district.to_string())
    {
        row.error(
            "district",
            "该区县不在您的管理范围内 / this district is outside your scope",
        );
    }
    let year = row.parse("year", true, |v| parse_int(v, 1990, 2100));
    let age = row.parse("age", true, |v| parse_int(v, 0, 120));
    let basis = row.parse("basis", true, parse_basis);
    let count = row.parse("count", true, |v| parse_int(v, 0, 10_000_000));
    if !row.errors.is_empty() {
        return None;
    }
    Some(Prepared::Population(PopulationRecord {
        district_code: district?.to_string(),
        year: year?,
        age: age?,
        basis: basis?.to_owned(),
        count: count?,
    }))
}
