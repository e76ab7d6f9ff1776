//! Reporting obligations (issue 4): submissions and explicit zero reports, corrections with history, approval and
//! lock, DHIS2-style status with the missing list and escalation, a school's calendar, copied submissions, health
//! alerts and line-list follow-up, homework, ice-and-snow and funding checks, plan metrics and .xlsx exports.
//!
//! The rules are the obligation engine's (`edu_obligation`); this module adds who may do what (scope), the school
//! calendar, encryption of the form's sensitive cells, HMAC seals on versions and zero statements, idempotency
//! keys, and the audit row that every write carries.

use std::collections::{BTreeMap, HashMap};

use edu_form::china_time::{add_days, china_date, parse_date};
use edu_form::org::{OrgLevel, OrgTree as EngineTree, OrgUnit};
use edu_form::{FieldType, Values, numeric_value};
use edu_obligation::{
    Area, Authority, DayReport, Escalation, ExpectedReturn, HealthAlert, Institution,
    InstitutionFilter, InstitutionKind, ObligationDef, Ownership, Period, ReportKind,
    ReportingCounts, ReportingData, ReturnStatus, ReturnSummary, SchoolCalendar, SeriesPoint,
    Submission, SubmissionContent, Term, Timeliness, accept_submission, detect_copies,
    expected_returns, funding_check, health_alerts, homework_compliance, reporting_status,
    track_cases,
};
use edu_store::ScopeFilter;
use edu_store::obligations::*;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::App;
use crate::access::{Actor, Permission, Scope};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::{AppError, FieldError};
use crate::registry::AttentionItem;

pub use edu_store::obligations::{InstitutionSelector, ObligationAgg};
/// The obligation engine and the form crate, for the web layer (which depends on this crate only).
pub use {edu_form as form, edu_obligation as engine};

/// The id of the daily health report (the obligation with the one-tap zero report on the school's page).
pub const HEALTH_DAILY: &str = "health-daily";

/// Idempotency keys: 1–128 characters of `A-Z a-z 0-9 - _ . :`.
const MAX_KEY_LEN: usize = 128;

// ------------------------------------------------------------------------------------------------------------
// The school calendar

fn d(y: i16, m: i8, day: i8) -> Date {
    Date::constant(y, m, day)
}

/// The school calendar of Heilongjiang province for the 2020–21 and 2021–22 school years (Daqing follows it):
/// terms, public holidays that fall on school days, and the weekend days worked in exchange (调休).
pub fn daqing_school_calendar() -> SchoolCalendar {
    let term = |id: &str, name: &str, start: Date, end: Date| Term {
        id: id.into(),
        name: name.into(),
        start,
        end,
    };
    let range = |from: Date, to: Date| {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            out.push(day);
            day = add_days(day, 1);
        }
        out
    };
    let mut holidays = Vec::new();
    holidays.extend(range(d(2020, 10, 1), d(2020, 10, 8)));
    holidays.push(d(2021, 1, 1));
    holidays.push(d(2021, 4, 5));
    holidays.extend(range(d(2021, 5, 3), d(2021, 5, 5)));
    holidays.push(d(2021, 6, 14));
    holidays.extend(range(d(2021, 9, 20), d(2021, 9, 21)));
    holidays.extend(range(d(2021, 10, 1), d(2021, 10, 7)));
    holidays.push(d(2022, 1, 3));
    holidays.extend(range(d(2022, 4, 4), d(2022, 4, 5)));
    holidays.extend(range(d(2022, 5, 2), d(2022, 5, 4)));
    holidays.push(d(2022, 6, 3));
    SchoolCalendar {
        terms: vec![
            term(
                "2020-2021-1",
                "2020—2021学年第一学期",
                d(2020, 9, 1),
                d(2021, 1, 15),
            ),
            term(
                "2020-2021-2",
                "2020—2021学年第二学期",
                d(2021, 3, 1),
                d(2021, 7, 9),
            ),
            term(
                "2021-2022-1",
                "2021—2022学年第一学期",
                d(2021, 9, 1),
                d(2022, 1, 14),
            ),
            term(
                "2021-2022-2",
                "2021—2022学年第二学期",
                d(2022, 3, 1),
                d(2022, 7, 8),
            ),
        ],
        school_weekdays: vec![1, 2, 3, 4, 5],
        holidays,
        extra_school_days: vec![
            d(2020, 9, 27),
            d(2020, 10, 10),
            d(2021, 4, 25),
            d(2021, 5, 8),
            d(2021, 9, 18),
            d(2021, 9, 26),
            d(2021, 10, 9),
            d(2022, 4, 2),
            d(2022, 4, 24),
            d(2022, 5, 7),
        ],
    }
}

// ------------------------------------------------------------------------------------------------------------
// Views and requests

/// A submission as a client sends it: form values, or `zero = true` for the signed "nothing to report" statement.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, Serialize)]
pub struct SubmitRequest {
    /// The submitting institution's code; must be the caller's own (optional: defaults to it).
    #[serde(default)]
    pub institution: Option<String>,
    /// Period key (`2021-10-11`, `2021-W41`, `2021-10`, a term id, `2021`).
    pub period: String,
    /// An explicit zero report.
    #[serde(default)]
    pub zero: bool,
    /// Remark on a zero report.
    #[serde(default)]
    pub note: Option<String>,
    /// The form's values (a JSON object) when not a zero report.
    #[serde(default)]
    pub values: Option<Value>,
}

/// What a submission or correction did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmitOutcome {
    pub return_id: i64,
    pub obligation: String,
    pub institution: String,
    pub period: String,
    pub kind: String,
    pub timeliness: String,
    pub late_by_seconds: i64,
    pub version: i64,
    pub state: String,
    pub submitted_at: Timestamp,
    /// True when an idempotency key matched an earlier identical request: nothing new was stored.
    pub replayed: bool,
}

/// An obligation the actor's institution owes, as listed on the "today" page.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReturn {
    pub obligation: String,
    pub title: String,
    pub title_en: String,
    pub zero_allowed: bool,
    pub period: Period,
    pub opens: Timestamp,
    pub due: Timestamp,
    pub expires: Timestamp,
    /// `not_yet_due`, `overdue`, `on_time`, `late`.
    pub status: String,
    pub zero: bool,
    pub return_id: Option<i64>,
    pub state: Option<String>,
}

/// The stored content of one version as the actor may see it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: i64,
    pub kind: String,
    pub values: Values,
    pub submitted_by: String,
    pub at: Timestamp,
    pub reason: Option<String>,
    /// The HMAC seal over the content still matches.
    pub seal_ok: bool,
    pub zero_statement: Option<ZeroStatementView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZeroStatementView {
    pub statement: String,
    pub statement_en: String,
    pub signed_by: String,
    pub signed_at: Timestamp,
    pub note: Option<String>,
    pub seal_ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub kind: String,
    pub by: String,
    pub at: Timestamp,
    pub version: i64,
    pub reason: Option<String>,
}

/// A return with its history, as the actor may see it. Outside the institution, sensitive cells are masked.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnDetail {
    pub id: i64,
    pub obligation: String,
    pub title: String,
    pub title_en: String,
    pub institution_code: String,
    pub institution_name: String,
    pub district_code: String,
    pub period: String,
    pub kind: String,
    pub state: String,
    pub timeliness: String,
    pub late_by_seconds: i64,
    pub due: Timestamp,
    pub expires: Timestamp,
    pub first_submitted_at: Timestamp,
    pub version: i64,
    /// Current values (sensitive cells masked outside the institution).
    pub values: Values,
    pub versions: Vec<VersionView>,
    pub events: Vec<EventView>,
    /// The actor belongs to the institution (sees identities).
    pub inside: bool,
    pub can_correct: bool,
    pub can_review: bool,
    pub can_reopen: bool,
    /// Homework caps per grade (homework returns).
    pub homework: Vec<edu_obligation::GradeCompliance>,
    /// Funding against the standard (funding returns).
    pub funding: Option<edu_obligation::FundingCheck>,
}

/// A unit's counts in a status view.
#[derive(Debug, Clone, Serialize)]
pub struct UnitStatusRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub counts: ReportingCounts,
    pub reporting_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
}

/// A return not received, with the school's contact.
#[derive(Debug, Clone, Serialize)]
pub struct MissingRow {
    pub institution: String,
    pub name: String,
    pub district: String,
    pub phone: String,
    pub period: String,
    pub due: Timestamp,
    pub overdue_seconds: i64,
    pub status: ReturnStatus,
    pub consecutive_missed: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct EscalationRow {
    pub institution: String,
    pub name: String,
    pub district: String,
    pub phone: String,
    #[serde(flatten)]
    pub escalation: Escalation,
}

/// Status of an obligation for an org unit and period (DHIS2's set plus zero reports), with the missing list
/// (most overdue first) and escalations.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub obligation: String,
    pub title: String,
    pub title_en: String,
    pub org: String,
    pub org_name: String,
    pub org_level: String,
    pub date: Date,
    pub period: Option<Period>,
    pub due: Option<Timestamp>,
    pub now: Timestamp,
    pub counts: ReportingCounts,
    pub reporting_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub units: Vec<UnitStatusRow>,
    pub missing: Vec<MissingRow>,
    pub escalations: Vec<EscalationRow>,
}

/// One period of a school's calendar.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarCell {
    pub period: Period,
    /// `on_time`, `late`, `not_yet_due`, `overdue`, `missed`.
    pub status: String,
    pub zero: bool,
    pub return_id: Option<i64>,
    pub state: Option<String>,
}

/// A school's submissions of one obligation over a range of dates.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarView {
    pub obligation: String,
    pub title: String,
    pub title_en: String,
    pub institution_code: String,
    pub institution_name: String,
    pub from: Date,
    pub to: Date,
    pub cells: Vec<CalendarCell>,
    pub counts: ReportingCounts,
}

/// An institution whose reports look copied forward.
#[derive(Debug, Clone, Serialize)]
pub struct CopyView {
    pub institution: String,
    pub name: String,
    pub district: String,
    pub phone: String,
    pub flags: Vec<edu_obligation::CopyFlag>,
}

/// A followed case as the actor may see it (identities masked outside the school).
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub institution: String,
    pub institution_name: String,
    pub district: String,
    pub case_no: i64,
    pub person: String,
    pub person_kind: Option<String>,
    pub class_name: Option<String>,
    pub onset_date: Option<String>,
    pub first_reported: String,
    pub last_reported: String,
    pub status: Option<String>,
    pub closed_on: Option<String>,
    pub needs_follow_up: bool,
    pub history: Vec<(String, Option<String>)>,
}

/// Homework against the caps for a week: band averages and the grades over their cap.
#[derive(Debug, Clone, Serialize)]
pub struct HomeworkView {
    pub period: Option<Period>,
    pub returns: usize,
    /// (band label, cap minutes, total minutes, pupil-days, average) per cap.
    pub bands: Vec<(String, String, f64, f64, Option<f64>)>,
    /// (institution code, name, compliance row) for grades over their cap.
    pub over_cap: Vec<(String, String, edu_obligation::GradeCompliance)>,
}

/// Ice-and-snow pupil-times towards the plan's target, per district.
#[derive(Debug, Clone, Serialize)]
pub struct IceSnowView {
    pub year: i16,
    pub target: f64,
    pub on_pace: f64,
    pub total: f64,
    /// (district code, pupil-times)
    pub districts: Vec<(String, f64)>,
    /// (month key, pupil-times)
    pub months: Vec<(String, f64)>,
}

/// Per-pupil funding of kindergartens for a year.
#[derive(Debug, Clone, Serialize)]
pub struct FundingView {
    pub year: String,
    pub public_pupils: f64,
    pub public_yuan: f64,
    pub inclusive_pupils: f64,
    pub inclusive_yuan: f64,
    /// (code, name, check) of kindergartens funded below their standard.
    pub short: Vec<(String, String, edu_obligation::FundingCheck)>,
    pub returns: usize,
}

/// An alert to the district as listed.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: i64,
    pub institution: String,
    pub institution_name: String,
    pub district: String,
    pub phone: String,
    pub kind: String,
    pub date: String,
    pub subject: String,
    pub observed: i64,
    pub baseline: Option<f64>,
    pub threshold: Option<f64>,
    pub explanation: String,
    pub explanation_en: String,
    pub status: String,
    pub handled_by: Option<String>,
    pub note: Option<String>,
    pub can_acknowledge: bool,
}

/// A plan metric over an obligation's returns, as the plan capability asks for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObligationMetricRequest {
    /// Obligation id (`health-daily`).
    pub obligation: String,
    /// `sum` of a field, or a count (`expected`, `submitted`, `on_time`, `late`, `zero`, `missing`).
    pub agg: ObligationAgg,
    /// Org unit: the city code (230600), a district code, or a 10-digit institution code.
    pub org: String,
    /// The metric's institution filters (kind, ownership, inclusive, area, authority, tag).
    pub institutions: InstitutionSelector,
    /// The plan period, inclusive: returns whose reporting period starts in it count.
    pub from: Date,
    pub to: Date,
    /// Returns received after this instant are ignored; periods whose window has not opened are not expected.
    pub as_of: Timestamp,
}

// ------------------------------------------------------------------------------------------------------------
// Conversions

fn engine_errors(errors: edu_form::ValidationErrors) -> AppError {
    AppError::Invalid(
        errors
            .0
            .into_iter()
            .map(|e| FieldError::new(e.field, format!("{} / {}", e.message, e.message_en)))
            .collect(),
    )
}

fn parse_enum<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
    serde_json::from_value(Value::String(code.to_owned())).ok()
}

fn enum_code<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The engine's view of a registry institution (`None` for a kind the engine does not know).
pub(crate) fn engine_institution(i: &ObligationInstitution) -> Option<Institution> {
    let mut tags = i.tags.clone();
    if i.inclusive && !tags.iter().any(|t| t == "inclusive") {
        tags.push("inclusive".into());
    }
    Some(Institution {
        id: i.code.clone(),
        name: i.name.clone(),
        kind: parse_enum::<InstitutionKind>(&i.kind)?,
        ownership: parse_enum::<Ownership>(&i.ownership)?,
        area: parse_enum::<Area>(&i.area)?,
        authority: parse_enum::<Authority>(&i.authority)?,
        tags,
        active_from: None,
        // A closed institution owes nothing (the registry keeps no closing date in this row).
        active_until: (i.status == "closed").then_some(Date::MIN),
    })
}

/// The obligation's owed-by filters as storage selectors (empty: every institution owes it).
pub(crate) fn owed_by_selectors(def: &ObligationDef) -> Vec<InstitutionSelector> {
    def.owed_by.iter().map(selector_of).collect()
}

fn selector_of(filter: &InstitutionFilter) -> InstitutionSelector {
    InstitutionSelector {
        kinds: filter.kinds.iter().map(enum_code).collect(),
        ownership: filter.ownership.iter().map(enum_code).collect(),
        area: filter.area.iter().map(enum_code).collect(),
        authority: filter.authority.iter().map(enum_code).collect(),
        inclusive: None,
        tags: filter.tags.clone(),
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn instant(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn timeliness_code(t: Timeliness) -> &'static str {
    match t {
        Timeliness::OnTime => "on_time",
        Timeliness::Late => "late",
    }
}

fn kind_code(k: ReportKind) -> &'static str {
    match k {
        ReportKind::Report => "report",
        ReportKind::Zero => "zero",
    }
}

fn status_code(s: ReturnStatus) -> &'static str {
    match s {
        ReturnStatus::OnTime => "on_time",
        ReturnStatus::Late => "late",
        ReturnStatus::NotYetDue => "not_yet_due",
        ReturnStatus::Overdue => "overdue",
        ReturnStatus::Missed => "missed",
    }
}

fn summary_of(row: &ReturnSummaryRow, codes: &HashMap<i64, &str>) -> ReturnSummary {
    ReturnSummary {
        institution: codes
            .get(&row.institution_id)
            .map(|c| (*c).to_owned())
            .unwrap_or_default(),
        period: row.period.clone(),
        kind: if row.kind == "zero" {
            ReportKind::Zero
        } else {
            ReportKind::Report
        },
        timeliness: if row.timeliness == "late" {
            Timeliness::Late
        } else {
            Timeliness::OnTime
        },
        first_submitted_at: instant(row.first_submitted_at),
    }
}

/// Splits normalised values into the part stored in clear and the sensitive cells (same shape: top-level fields,
/// and for lists an array of row objects holding only the sensitive columns). `None` when nothing is sensitive.
fn split_sensitive(def: &ObligationDef, values: &Values) -> (Values, Option<Value>) {
    let mut plain = Values::new();
    let mut secret = Map::new();
    for (key, value) in values {
        let Some(field) = def.form.field(key) else {
            plain.insert(key.clone(), value.clone());
            continue;
        };
        if field.sensitive {
            secret.insert(key.clone(), value.clone());
            continue;
        }
        match (field.field_type, value) {
            (FieldType::List, Value::Array(rows)) if field.columns.iter().any(|c| c.sensitive) => {
                let mut plain_rows = Vec::with_capacity(rows.len());
                let mut secret_rows = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut p = Map::new();
                    let mut s = Map::new();
                    if let Value::Object(cells) = row {
                        for (k, v) in cells {
                            if field.column(k).is_some_and(|c| c.sensitive) {
                                s.insert(k.clone(), v.clone());
                            } else {
                                p.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    plain_rows.push(Value::Object(p));
                    secret_rows.push(Value::Object(s));
                }
                plain.insert(key.clone(), Value::Array(plain_rows));
                secret.insert(key.clone(), Value::Array(secret_rows));
            }
            _ => {
                plain.insert(key.clone(), value.clone());
            }
        }
    }
    let secret = (!secret.is_empty()).then_some(Value::Object(secret));
    (plain, secret)
}

/// How a sensitive cell is shown outside its institution (column or field id, value) → stand-in.
type CellMask<'a> = &'a dyn Fn(&str, &Value) -> Value;

/// Puts sensitive cells back (or, with `mask`, a masked stand-in for each).
fn merge_sensitive(values: &mut Values, secret: &Value, mask: Option<CellMask<'_>>) {
    let Value::Object(secret) = secret else {
        return;
    };
    for (key, value) in secret {
        match (values.get_mut(key), value) {
            (Some(Value::Array(rows)), Value::Array(secret_rows)) => {
                for (row, secret_row) in rows.iter_mut().zip(secret_rows) {
                    if let (Value::Object(cells), Value::Object(secret_cells)) = (row, secret_row) {
                        for (k, v) in secret_cells {
                            let shown = match mask {
                                Some(m) => m(k, v),
                                None => v.clone(),
                            };
                            cells.insert(k.clone(), shown);
                        }
                    }
                }
            }
            _ => {
                let shown = match mask {
                    Some(m) => m(key, value),
                    None => value.clone(),
                };
                values.insert(key.clone(), shown);
            }
        }
    }
}

/// How an identity is shown outside its school: first and last character, the rest starred.
pub fn mask_person(person: &str) -> String {
    edu_model::mask::mask_middle(person, 1, 1)
}

fn masked_cell(column: &str, value: &Value, person_column: &str) -> Value {
    if column == person_column {
        return Value::String(value.as_str().map(mask_person).unwrap_or_default());
    }
    Value::String("***".into())
}

/// The list field's rows that are non-empty (health line lists).
fn list_len(values: &Values, list: &str) -> usize {
    values
        .get(list)
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0)
}

/// The summable fields stored for plan metrics: the obligation's declared `fields`, or every top-level numeric and
/// bool field when it declares none. Zeros are left out (they add nothing to a sum).
fn summable_numbers(def: &ObligationDef, values: &Values) -> Vec<(String, f64)> {
    let ids: Vec<String> = if def.fields.is_empty() {
        def.form
            .fields
            .iter()
            .filter(|f| f.field_type.is_numeric() || f.field_type == FieldType::Bool)
            .map(|f| f.id.clone())
            .collect()
    } else {
        def.fields.clone()
    };
    ids.into_iter()
        .filter_map(|id| {
            let v = numeric_value(values, &id)?.to_f64();
            (v != 0.0).then_some((id, v))
        })
        .collect()
}

fn canonical(values: &Values) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// How far back status looks for consecutive misses (escalation thresholds are a few periods).
fn lookback_days(def: &ObligationDef) -> i64 {
    use edu_obligation::Cadence::*;
    match def.cadence {
        SchoolDay | Day => 14,
        Week => 120,
        Month => 400,
        Term => 800,
        Year => 2000,
    }
}

// ------------------------------------------------------------------------------------------------------------
// Use cases

impl App {
    /// The school calendar the obligations run on.
    pub fn school_calendar(&self) -> SchoolCalendar {
        daqing_school_calendar()
    }

    /// The obligation definitions of the plan in force.
    pub fn obligation_defs(&self) -> &BTreeMap<String, ObligationDef> {
        &self.plan.obligations
    }

    pub(crate) fn obl_obligation_def(&self, id: &str) -> Result<&ObligationDef, AppError> {
        self.plan.obligations.get(id).ok_or(AppError::NotFound)
    }

    fn obl_today(&self) -> Date {
        china_date(self.clock.now())
    }

    /// The actor's own institution (school users), or `Forbidden` for anyone else.
    async fn obl_own_institution(
        &self,
        actor: &Actor,
    ) -> Result<(ObligationInstitution, Institution), AppError> {
        let Scope::Institution { id, .. } = &actor.scope else {
            return Err(AppError::Forbidden(crate::Forbidden(
                Permission::SubmitReports,
            )));
        };
        let row = self
            .store
            .obligation_institution(*id)
            .await?
            .ok_or(AppError::NotFound)?;
        let engine = engine_institution(&row).ok_or(AppError::NotFound)?;
        Ok((row, engine))
    }

    #[allow(clippy::too_many_arguments)]
    fn obl_seal_version(
        &self,
        def: &ObligationDef,
        institution_code: &str,
        period: &str,
        version: i64,
        kind: &str,
        full_values: &Values,
        by: &str,
        at_ms: i64,
    ) -> String {
        self.keys.audit_mac(&[
            b"obligation-return-v1",
            def.id.as_bytes(),
            institution_code.as_bytes(),
            period.as_bytes(),
            &version.to_be_bytes(),
            kind.as_bytes(),
            canonical(full_values).as_bytes(),
            by.as_bytes(),
            &at_ms.to_be_bytes(),
        ])
    }

    #[allow(clippy::too_many_arguments)]
    fn obl_seal_zero(
        &self,
        def: &ObligationDef,
        institution_code: &str,
        period: &str,
        statement: &str,
        signed_by: &str,
        signed_by_id: Option<i64>,
        signed_at: i64,
        note: Option<&str>,
    ) -> String {
        self.keys.audit_mac(&[
            b"zero-statement-v1",
            statement.as_bytes(),
            def.id.as_bytes(),
            institution_code.as_bytes(),
            period.as_bytes(),
            signed_by.as_bytes(),
            signed_by_id.unwrap_or(0).to_string().as_bytes(),
            &signed_at.to_be_bytes(),
            note.unwrap_or("").as_bytes(),
        ])
    }

    fn obl_sensitive_key(
        def: &ObligationDef,
        institution_code: &str,
        period: &str,
        version: i64,
    ) -> String {
        format!("{}/{institution_code}/{period}/v{version}", def.id)
    }

    /// Builds the stored version of accepted content: values split and encrypted, summable numbers, seals.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn obl_version_write(
        &self,
        def: &ObligationDef,
        institution_code: &str,
        period: &str,
        version: i64,
        kind: ReportKind,
        values: &Values,
        zero: Option<&edu_obligation::ZeroStatement>,
        by: &str,
        by_id: Option<i64>,
        at_ms: i64,
        reason: Option<String>,
    ) -> Result<VersionWrite, AppError> {
        let (plain, secret) = split_sensitive(def, values);
        let sensitive_enc = match &secret {
            Some(s) => Some(self.keys.encrypt(
                &s.to_string(),
                "obligation_return_versions",
                "sensitive",
                &Self::obl_sensitive_key(def, institution_code, period, version),
            )?),
            None => None,
        };
        let kind = kind_code(kind);
        let mac = self.obl_seal_version(
            def,
            institution_code,
            period,
            version,
            kind,
            values,
            by,
            at_ms,
        );
        let zero = zero.map(|z| {
            let signed_at = ms(z.signed_at);
            ZeroStatementWrite {
                mac: self.obl_seal_zero(
                    def,
                    institution_code,
                    period,
                    &z.text,
                    by,
                    by_id,
                    signed_at,
                    z.note.as_deref(),
                ),
                statement: z.text.clone(),
                statement_en: z.text_en.clone(),
                signed_by: by.to_owned(),
                signed_by_id: by_id,
                signed_at,
                note: z.note.clone(),
            }
        });
        let has_cases = def
            .health
            .as_ref()
            .is_some_and(|h| list_len(values, &h.cases.list) > 0);
        Ok(VersionWrite {
            kind: kind.to_owned(),
            values_json: canonical(&plain),
            sensitive_enc,
            submitted_by: by.to_owned(),
            submitted_by_id: by_id,
            at_ms,
            reason,
            mac,
            zero,
            numbers: summable_numbers(def, values),
            has_cases,
        })
    }

    /// The full values of a stored version (sensitive cells decrypted).
    fn obl_full_values(
        &self,
        def: &ObligationDef,
        institution_code: &str,
        period: &str,
        version: i64,
        values_json: &str,
        sensitive_enc: Option<&[u8]>,
    ) -> Result<Values, AppError> {
        let mut values: Values = serde_json::from_str(values_json).unwrap_or_default();
        if let Some(enc) = sensitive_enc {
            let text = self.keys.decrypt(
                enc,
                "obligation_return_versions",
                "sensitive",
                &Self::obl_sensitive_key(def, institution_code, period, version),
            )?;
            let secret: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            merge_sensitive(&mut values, &secret, None);
        }
        Ok(values)
    }

    /// Values as `actor` may see them: full inside the institution, sensitive cells masked outside.
    #[allow(clippy::too_many_arguments)]
    fn obl_visible_values(
        &self,
        def: &ObligationDef,
        institution_code: &str,
        period: &str,
        version: i64,
        values_json: &str,
        sensitive_enc: Option<&[u8]>,
        inside: bool,
    ) -> Result<(Values, Values), AppError> {
        let full = self.obl_full_values(
            def,
            institution_code,
            period,
            version,
            values_json,
            sensitive_enc,
        )?;
        if inside {
            return Ok((full.clone(), full));
        }
        let mut shown: Values = serde_json::from_str(values_json).unwrap_or_default();
        let (_, secret) = split_sensitive(def, &full);
        let person_column = def
            .health
            .as_ref()
            .map(|h| h.cases.person.clone())
            .unwrap_or_default();
        if let Some(secret) = secret {
            let mask = |column: &str, value: &Value| masked_cell(column, value, &person_column);
            merge_sensitive(&mut shown, &secret, Some(&mask));
        }
        Ok((shown, full))
    }

    /// Recent health reports of an institution as the engine reads them (sensitive cells decrypted only for
    /// reports that list cases).
    async fn obl_day_reports(
        &self,
        def: &ObligationDef,
        institution: &ObligationInstitution,
        rows: &[ReturnRow],
    ) -> Result<Vec<DayReport>, AppError> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(date) = parse_date(&r.period_start) else {
                continue;
            };
            let values = if r.has_cases {
                self.obl_full_values(
                    def,
                    &institution.code,
                    &r.period,
                    r.version,
                    &r.values_json,
                    r.sensitive_enc.as_deref(),
                )?
            } else {
                serde_json::from_str(&r.values_json).unwrap_or_default()
            };
            out.push(DayReport {
                date,
                kind: if r.kind == "zero" {
                    ReportKind::Zero
                } else {
                    ReportKind::Report
                },
                values,
            });
        }
        Ok(out)
    }

    /// Health follow-up for a new report: alerts to the district (spike, cluster) and the institution's cases
    /// recomputed, when the report can change them.
    async fn obl_health_effects(
        &self,
        def: &ObligationDef,
        institution: &ObligationInstitution,
        date: Date,
        kind: ReportKind,
        values: &Values,
        replacing_period: Option<&str>,
    ) -> Result<(Vec<AlertWrite>, Option<CasesReplace>), AppError> {
        let Some(rules) = &def.health else {
            return Ok((Vec::new(), None));
        };
        let new_report = DayReport {
            date,
            kind,
            values: values.clone(),
        };
        let has_cases = list_len(values, &rules.cases.list) > 0;
        let may_spike = rules.absence.fields.iter().any(|f| {
            numeric_value(values, f)
                .and_then(|v| v.to_i64())
                .is_some_and(|v| v >= rules.absence.min_count)
        });
        let mut alerts = Vec::new();
        if may_spike || has_cases {
            let from = add_days(date, -(rules.absence.baseline_days as i64) * 2 - 10);
            let rows = self
                .store
                .institution_returns(
                    institution.id,
                    Some(&def.id),
                    &from.to_string(),
                    &date.to_string(),
                )
                .await?;
            let rows: Vec<ReturnRow> = rows
                .into_iter()
                .filter(|r| {
                    Some(r.period.as_str()) != replacing_period
                        && r.period_start != date.to_string()
                })
                .collect();
            let mut reports = self.obl_day_reports(def, institution, &rows).await?;
            reports.push(new_report.clone());
            alerts = health_alerts(def, &institution.code, &reports, date)
                .into_iter()
                .map(|a| alert_write(def, institution.id, &a))
                .collect();
        }
        // Cases change only through the line-list rows that name them (`track_cases`): a new report without rows
        // leaves every case as it was, so only a report with rows, or a correction (the report it replaces may have
        // had rows), needs them recomputed — which reads and decrypts the school's case history.
        let recompute = has_cases || replacing_period.is_some();
        let cases = if recompute {
            let rows = self
                .store
                .institution_case_returns(institution.id, &def.id)
                .await?;
            let rows: Vec<ReturnRow> = rows
                .into_iter()
                .filter(|r| {
                    Some(r.period.as_str()) != replacing_period
                        && r.period_start != date.to_string()
                })
                .collect();
            let mut reports = self.obl_day_reports(def, institution, &rows).await?;
            reports.push(new_report);
            Some(self.obl_cases_replace(def, institution, &reports)?)
        } else {
            None
        };
        Ok((alerts, cases))
    }

    /// The institution's cases recomputed by the engine from its reports, encrypted for storage.
    pub(crate) fn obl_cases_replace(
        &self,
        def: &ObligationDef,
        institution: &ObligationInstitution,
        reports: &[DayReport],
    ) -> Result<CasesReplace, AppError> {
        let as_of = reports
            .iter()
            .map(|r| r.date)
            .max()
            .unwrap_or_else(|| self.obl_today());
        let tracked = track_cases(def, reports, as_of);
        let mut cases = Vec::with_capacity(tracked.len());
        for (n, c) in tracked.iter().enumerate() {
            let case_no = n as i64 + 1;
            let row_key = format!("{}/{}/{case_no}", def.id, institution.id);
            cases.push(HealthCaseWrite {
                case_no,
                person_index: self.keys.blind_index(
                    "health_case_person",
                    &format!("{}\u{1f}{}", institution.code, c.person),
                ),
                person_enc: self.keys.encrypt(
                    &c.person,
                    "obligation_health_cases",
                    "person",
                    &row_key,
                )?,
                person_masked: mask_person(&c.person),
                person_kind: c.person_kind.clone(),
                class_name: c.class.clone(),
                onset_date: c.onset_date.map(|d| d.to_string()),
                first_reported: c.first_reported.to_string(),
                last_reported: c.last_reported.to_string(),
                status: c.status.clone(),
                closed_on: c.closed_on.map(|d| d.to_string()),
                history_json: serde_json::to_string(
                    &c.history
                        .iter()
                        .map(|(d, s)| (d.to_string(), s.clone()))
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_else(|_| "[]".into()),
            });
        }
        Ok(CasesReplace {
            obligation: def.id.clone(),
            institution_id: institution.id,
            cases,
        })
    }

    fn obl_outcome(&self, row: &ReturnRow, replayed: bool) -> SubmitOutcome {
        SubmitOutcome {
            return_id: row.id,
            obligation: row.obligation.clone(),
            institution: row.institution_code.clone(),
            period: row.period.clone(),
            kind: row.kind.clone(),
            timeliness: row.timeliness.clone(),
            late_by_seconds: row.late_by_seconds,
            version: row.version,
            state: row.state.clone(),
            submitted_at: instant(row.first_submitted_at),
            replayed,
        }
    }

    /// Files a return (form values, or an explicit zero report) for the actor's own institution.
    ///
    /// Refused with every field named and nothing stored when the engine refuses it (negative count, unknown
    /// field, period outside its window, zero report not allowed…). With an idempotency key, a retried identical
    /// request returns the first result (`replayed`) and counts once; the same key with another request is refused
    /// (field `Idempotency-Key`). A second submission for the same period is `Conflict` (correct it instead).
    pub async fn submit_return(
        &self,
        actor: &Actor,
        obligation: &str,
        request: &SubmitRequest,
        idempotency_key: Option<&str>,
        context: &AuditContext,
    ) -> Result<SubmitOutcome, AppError> {
        actor.require(Permission::SubmitReports)?;
        let def = self.obl_obligation_def(obligation)?;
        let (row, institution) = self.obl_own_institution(actor).await?;
        if let Some(code) = request.institution.as_deref().map(str::trim)
            && !code.is_empty()
            && code != row.code
        {
            // Another school's code: as if it did not exist (scope never leaks).
            return Err(AppError::NotFound);
        }
        let key = match idempotency_key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) if valid_key(k) => Some(k.to_owned()),
            Some(_) => {
                return Err(AppError::invalid(
                    "Idempotency-Key",
                    "幂等键须为 1–128 个字母、数字或 - _ . : / the key must be 1–128 letters, digits or - _ . :",
                ));
            }
            None => None,
        };
        let request_hash = sha256_hex(&canonical(&BTreeMap::from([
            ("obligation".to_owned(), json!(def.id)),
            ("institution".to_owned(), json!(row.code)),
            ("period".to_owned(), json!(request.period.trim())),
            ("zero".to_owned(), json!(request.zero)),
            ("note".to_owned(), json!(request.note)),
            (
                "values".to_owned(),
                request.values.clone().unwrap_or(Value::Null),
            ),
        ])));
        if let Some(k) = &key
            && let Some(used) = self.store.idempotency_key(actor.user_id, k).await?
        {
            return self.obl_replay(&used, &request_hash).await;
        }
        let now = self.clock.now();
        let content = if request.zero {
            SubmissionContent::Zero {
                note: request.note.clone(),
            }
        } else {
            SubmissionContent::Report {
                values: request.values.clone().unwrap_or(Value::Object(Map::new())),
            }
        };
        let submission = Submission {
            institution: row.code.clone(),
            period: request.period.trim().to_owned(),
            content,
            submitted_by: actor.username.clone(),
            at: now,
        };
        let calendar = self.school_calendar();
        let accepted =
            accept_submission(def, &calendar, &institution, &submission).map_err(engine_errors)?;
        let at_ms = ms(now);
        let version = self.obl_version_write(
            def,
            &row.code,
            &accepted.period.key,
            1,
            accepted.kind,
            &accepted.values,
            accepted.zero_statement.as_ref(),
            &actor.username,
            Some(actor.user_id),
            at_ms,
            None,
        )?;
        let (alerts, cases) = self
            .obl_health_effects(
                def,
                &row,
                accepted.period.start,
                accepted.kind,
                &accepted.values,
                None,
            )
            .await?;
        let write = SubmitWrite {
            ret: NewReturn {
                obligation: def.id.clone(),
                institution_id: row.id,
                period: accepted.period.key.clone(),
                period_start: accepted.period.start.to_string(),
                period_end: accepted.period.end.to_string(),
                timeliness: timeliness_code(accepted.timeliness).to_owned(),
                late_by_seconds: accepted.late_by_seconds,
                due_at: ms(accepted.window.due),
                expires_at: ms(accepted.window.expires),
                version,
            },
            idempotency: key
                .as_ref()
                .map(|k| (actor.user_id, k.clone(), request_hash.clone())),
            cases,
            alerts,
        };
        let action = if accepted.kind == ReportKind::Zero {
            "obligation.zero_report"
        } else {
            "obligation.submit"
        };
        let entry = audit::entry(
            at_ms,
            Some(actor),
            "",
            context,
            action,
            "obligation_return",
            &format!("{}/{}/{}", def.id, row.code, accepted.period.key),
            Outcome::Success,
            &format!(
                "{} alerts={}",
                timeliness_code(accepted.timeliness),
                write.alerts.len()
            ),
        );
        match self.store.submit_return(&write, &entry).await {
            Ok(SubmitStored::Created(id)) => Ok(SubmitOutcome {
                return_id: id,
                obligation: def.id.clone(),
                institution: row.code.clone(),
                period: accepted.period.key.clone(),
                kind: kind_code(accepted.kind).to_owned(),
                timeliness: timeliness_code(accepted.timeliness).to_owned(),
                late_by_seconds: accepted.late_by_seconds,
                version: 1,
                state: "submitted".into(),
                submitted_at: now,
                replayed: false,
            }),
            Ok(SubmitStored::KeyUsed(used)) => self.obl_replay(&used, &request_hash).await,
            Err(edu_store::StoreError::Conflict(_)) => Err(AppError::Conflict(
                "本期已报送；如需修改请提交更正 / already submitted for this period: submit a correction"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn obl_replay(
        &self,
        used: &IdempotencyRecord,
        request_hash: &str,
    ) -> Result<SubmitOutcome, AppError> {
        if used.request_hash != request_hash {
            return Err(AppError::invalid(
                "Idempotency-Key",
                "该幂等键已用于另一个请求 / this idempotency key was already used for a different request",
            ));
        }
        let row = self
            .store
            .return_by_id(used.return_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut outcome = self.obl_outcome(&row, true);
        // The first result: the version and state the request created.
        outcome.version = 1;
        Ok(outcome)
    }

    /// A return inside the actor's scope (otherwise `NotFound`), with its definition.
    async fn obl_scoped_return(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(ReturnRow, &ObligationDef), AppError> {
        let row = self
            .store
            .return_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor
            .scope
            .contains_institution(row.institution_id, &row.district_code)
        {
            return Err(AppError::NotFound);
        }
        let def = self.obl_obligation_def(&row.obligation)?;
        Ok((row, def))
    }

    fn obl_is_inside(actor: &Actor, institution_id: i64) -> bool {
        matches!(&actor.scope, Scope::Institution { id, .. } if *id == institution_id)
    }

    /// Reviewers are district and city users: a school never approves its own return.
    fn obl_can_review(actor: &Actor) -> bool {
        actor.can(Permission::ReviewReports) && !matches!(actor.scope, Scope::Institution { .. })
    }

    /// The obligation and period of a return in scope (no content, not audited).
    pub async fn return_key(&self, actor: &Actor, id: i64) -> Result<(String, String), AppError> {
        if !(actor.can(Permission::SubmitReports) || actor.can(Permission::ReviewReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let (row, _) = self.obl_scoped_return(actor, id).await?;
        Ok((row.obligation, row.period))
    }

    /// A return with every version and event. Viewing a health report is a view of a health record: audited.
    pub async fn return_detail(
        &self,
        actor: &Actor,
        id: i64,
        context: &AuditContext,
    ) -> Result<ReturnDetail, AppError> {
        if !(actor.can(Permission::SubmitReports) || actor.can(Permission::ReviewReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let (row, def) = self.obl_scoped_return(actor, id).await?;
        let inside = Self::obl_is_inside(actor, row.institution_id);
        let versions_rows = self.store.return_versions(row.id).await?;
        let mut versions = Vec::with_capacity(versions_rows.len());
        let mut current_values = Values::new();
        let mut current_full = Values::new();
        for v in &versions_rows {
            let (shown, full) = self.obl_visible_values(
                def,
                &row.institution_code,
                &row.period,
                v.version,
                &v.values_json,
                v.sensitive_enc.as_deref(),
                inside,
            )?;
            let seal = self.obl_seal_version(
                def,
                &row.institution_code,
                &row.period,
                v.version,
                &v.kind,
                &full,
                &v.submitted_by,
                v.at_ms,
            );
            let zero_statement = match (&v.statement, &v.signed_by, v.signed_at) {
                (Some(statement), Some(signed_by), Some(signed_at)) => {
                    let expected = self.obl_seal_zero(
                        def,
                        &row.institution_code,
                        &row.period,
                        statement,
                        signed_by,
                        v.signed_by_id,
                        signed_at,
                        v.note.as_deref(),
                    );
                    Some(ZeroStatementView {
                        statement: statement.clone(),
                        statement_en: v.statement_en.clone().unwrap_or_default(),
                        signed_by: signed_by.clone(),
                        signed_at: instant(signed_at),
                        note: v.note.clone(),
                        seal_ok: v.statement_mac.as_deref() == Some(expected.as_str()),
                    })
                }
                _ => None,
            };
            if v.version == row.version {
                current_values = shown.clone();
                current_full = full;
            }
            versions.push(VersionView {
                version: v.version,
                kind: v.kind.clone(),
                values: shown,
                submitted_by: v.submitted_by.clone(),
                at: instant(v.at_ms),
                reason: v.reason.clone(),
                seal_ok: seal == v.mac,
                zero_statement,
            });
        }
        let events = self
            .store
            .return_events(row.id)
            .await?
            .into_iter()
            .map(|e| EventView {
                kind: e.kind,
                by: e.by_user,
                at: instant(e.at_ms),
                version: e.version,
                reason: e.reason,
            })
            .collect();
        if def.health.is_some() {
            let mut tx = self.store.begin().await?;
            tx.append_audit(&audit::entry(
                self.clock.now_ms(),
                Some(actor),
                "",
                context,
                "health_report.view",
                "obligation_return",
                &row.id.to_string(),
                Outcome::Success,
                if inside { "" } else { "masked" },
            ))
            .await?;
            tx.commit().await?;
        }
        let now = self.clock.now();
        let homework = if row.kind == "report" {
            homework_compliance(def, &current_full)
        } else {
            Vec::new()
        };
        let funding = match self
            .store
            .obligation_institution(row.institution_id)
            .await?
        {
            Some(i) => engine_institution(&i).and_then(|e| funding_check(def, &e, &current_full)),
            None => None,
        };
        Ok(ReturnDetail {
            id: row.id,
            obligation: def.id.clone(),
            title: def.title.clone(),
            title_en: def.title_en.clone(),
            institution_code: row.institution_code.clone(),
            institution_name: row.institution_name.clone(),
            district_code: row.district_code.clone(),
            period: row.period.clone(),
            kind: row.kind.clone(),
            state: row.state.clone(),
            timeliness: row.timeliness.clone(),
            late_by_seconds: row.late_by_seconds,
            due: instant(row.due_at),
            expires: instant(row.expires_at),
            first_submitted_at: instant(row.first_submitted_at),
            version: row.version,
            values: current_values,
            versions,
            events,
            inside,
            can_correct: inside
                && actor.can(Permission::SubmitReports)
                && (row.state == "sent_back"
                    || (row.state == "submitted" && ms(now) <= row.expires_at)),
            can_review: Self::obl_can_review(actor) && row.state == "submitted",
            can_reopen: row.state == "approved"
                && actor.can(Permission::ReviewReports)
                && matches!(actor.scope, Scope::City { .. }),
            homework,
            funding,
        })
    }

    /// Engine record of a stored return (for the correction and review rules).
    async fn obl_engine_record(
        &self,
        def: &ObligationDef,
        row: &ReturnRow,
    ) -> Result<edu_obligation::ReturnRecord, AppError> {
        let versions = self.store.return_versions(row.id).await?;
        let events = self.store.return_events(row.id).await?;
        let period = def
            .period_by_key(&self.school_calendar(), &row.period)
            .ok_or(AppError::NotFound)?;
        let mut record_versions = Vec::new();
        for v in &versions {
            let values = self.obl_full_values(
                def,
                &row.institution_code,
                &row.period,
                v.version,
                &v.values_json,
                v.sensitive_enc.as_deref(),
            )?;
            record_versions.push(edu_obligation::ReturnVersion {
                version: v.version as u32,
                kind: if v.kind == "zero" {
                    ReportKind::Zero
                } else {
                    ReportKind::Report
                },
                values,
                zero_statement: None,
                submitted_by: v.submitted_by.clone(),
                at: instant(v.at_ms),
                reason: v.reason.clone(),
            });
        }
        let record_events = events
            .iter()
            .filter_map(|e| {
                let kind = match e.kind.as_str() {
                    "submitted" => edu_obligation::ReturnEventKind::Submitted,
                    "corrected" => edu_obligation::ReturnEventKind::Corrected,
                    "approved" => edu_obligation::ReturnEventKind::Approved,
                    "sent_back" => edu_obligation::ReturnEventKind::SentBack,
                    "reopened" => edu_obligation::ReturnEventKind::Reopened,
                    _ => return None,
                };
                Some(edu_obligation::ReturnEvent {
                    kind,
                    by: e.by_user.clone(),
                    at: instant(e.at_ms),
                    version: e.version as u32,
                    reason: e.reason.clone(),
                })
            })
            .collect();
        let _ = period;
        Ok(edu_obligation::ReturnRecord {
            obligation: row.obligation.clone(),
            institution: row.institution_code.clone(),
            period: row.period.clone(),
            state: match row.state.as_str() {
                "approved" => edu_obligation::ReturnState::Approved,
                "sent_back" => edu_obligation::ReturnState::SentBack,
                _ => edu_obligation::ReturnState::Submitted,
            },
            timeliness: if row.timeliness == "late" {
                Timeliness::Late
            } else {
                Timeliness::OnTime
            },
            versions: record_versions,
            events: record_events,
        })
    }

    /// A correction by the institution: a new version with a reason; earlier versions stay. Refused when the return
    /// is approved (locked), when its window closed and it was not sent back, or when the content is invalid.
    pub async fn correct_return(
        &self,
        actor: &Actor,
        id: i64,
        request: &SubmitRequest,
        reason: &str,
        context: &AuditContext,
    ) -> Result<SubmitOutcome, AppError> {
        actor.require(Permission::SubmitReports)?;
        let (row, def) = self.obl_scoped_return(actor, id).await?;
        if !Self::obl_is_inside(actor, row.institution_id) {
            return Err(AppError::NotFound);
        }
        let (inst_row, institution) = self.obl_own_institution(actor).await?;
        let record = self.obl_engine_record(def, &row).await?;
        let now = self.clock.now();
        let content = if request.zero {
            SubmissionContent::Zero {
                note: request.note.clone(),
            }
        } else {
            SubmissionContent::Report {
                values: request.values.clone().unwrap_or(Value::Object(Map::new())),
            }
        };
        let submission = Submission {
            institution: row.institution_code.clone(),
            period: row.period.clone(),
            content,
            submitted_by: actor.username.clone(),
            at: now,
        };
        let calendar = self.school_calendar();
        let next = record
            .correct(def, &calendar, &institution, &submission, reason)
            .map_err(engine_errors)?;
        let Some(current) = next.current() else {
            return Err(AppError::NotFound);
        };
        let version_no = row.version + 1;
        let at_ms = ms(now);
        let zero = (current.kind == ReportKind::Zero).then(|| edu_obligation::ZeroStatement {
            text: edu_obligation::ZERO_STATEMENT.into(),
            text_en: edu_obligation::ZERO_STATEMENT_EN.into(),
            signed_by: actor.username.clone(),
            signed_at: now,
            note: request
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        });
        let version = self.obl_version_write(
            def,
            &row.institution_code,
            &row.period,
            version_no,
            current.kind,
            &current.values,
            zero.as_ref(),
            &actor.username,
            Some(actor.user_id),
            at_ms,
            Some(reason.trim().to_owned()),
        )?;
        let date = parse_date(&row.period_start).unwrap_or_else(|| self.obl_today());
        let (alerts, cases) = self
            .obl_health_effects(
                def,
                &inst_row,
                date,
                current.kind,
                &current.values,
                Some(&row.period),
            )
            .await?;
        let entry = audit::entry(
            at_ms,
            Some(actor),
            "",
            context,
            "obligation.correct",
            "obligation_return",
            &row.id.to_string(),
            Outcome::Success,
            &format!("version={version_no}"),
        );
        let write = CorrectWrite {
            return_id: row.id,
            expected_version: row.version,
            version,
            cases,
            alerts,
        };
        match self.store.correct_return(&write, &entry).await {
            Ok(()) => {}
            Err(edu_store::StoreError::Conflict(m)) => return Err(AppError::Conflict(m)),
            Err(e) => return Err(e.into()),
        }
        let mut outcome = self.obl_outcome(&row, false);
        outcome.version = version_no;
        outcome.kind = kind_code(current.kind).to_owned();
        outcome.state = "submitted".into();
        Ok(outcome)
    }

    async fn obl_review(
        &self,
        actor: &Actor,
        id: i64,
        step: &str,
        reason: Option<&str>,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        actor.require(Permission::ReviewReports)?;
        let (row, def) = self.obl_scoped_return(actor, id).await?;
        if matches!(actor.scope, Scope::Institution { .. }) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        if step == "reopen" && !matches!(actor.scope, Scope::City { .. }) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let record = self.obl_engine_record(def, &row).await?;
        let now = self.clock.now();
        let reason = reason.map(str::trim);
        let (next, event, from) = match step {
            "approve" => (
                record.approve(&actor.username, now),
                "approved",
                "submitted",
            ),
            "send_back" => (
                record.send_back(&actor.username, now, reason.unwrap_or("")),
                "sent_back",
                "submitted",
            ),
            _ => (
                record.reopen(&actor.username, now, reason.unwrap_or("")),
                "reopened",
                "approved",
            ),
        };
        let next = next.map_err(engine_errors)?;
        let to = match next.state {
            edu_obligation::ReturnState::Approved => "approved",
            edu_obligation::ReturnState::SentBack => "sent_back",
            edu_obligation::ReturnState::Submitted => "submitted",
        };
        let at_ms = ms(now);
        let entry = audit::entry(
            at_ms,
            Some(actor),
            "",
            context,
            &format!("obligation.{step}"),
            "obligation_return",
            &row.id.to_string(),
            Outcome::Success,
            reason.unwrap_or(""),
        );
        let write = ReviewWrite {
            return_id: row.id,
            expected_version: row.version,
            from_state: from.into(),
            to_state: to.into(),
            event_kind: event.into(),
            by_user: actor.username.clone(),
            by_user_id: Some(actor.user_id),
            at_ms,
            reason: reason.filter(|r| !r.is_empty()).map(str::to_owned),
        };
        match self.store.review_return(&write, &entry).await {
            Ok(()) => Ok(()),
            Err(edu_store::StoreError::Conflict(m)) => Err(AppError::Conflict(m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Approves a return (district or city reviewer in scope): it is locked from then on.
    pub async fn approve_return(
        &self,
        actor: &Actor,
        id: i64,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        self.obl_review(actor, id, "approve", None, context).await
    }

    /// Sends a return back to the institution for correction, with a reason.
    pub async fn send_back_return(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        self.obl_review(actor, id, "send_back", Some(reason), context)
            .await
    }

    /// Unlocks an approved return (city administrators only), with a reason.
    pub async fn reopen_return(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        self.obl_review(actor, id, "reopen", Some(reason), context)
            .await
    }

    /// The returns the actor's institution owes whose window is open now, with what was filed.
    pub async fn open_returns(&self, actor: &Actor) -> Result<Vec<OpenReturn>, AppError> {
        actor.require(Permission::SubmitReports)?;
        let (row, institution) = self.obl_own_institution(actor).await?;
        let now = self.clock.now();
        let today = china_date(now);
        let calendar = self.school_calendar();
        let stored = self
            .store
            .institution_returns(
                row.id,
                None,
                &add_days(today, -800).to_string(),
                &add_days(today, 40).to_string(),
            )
            .await?;
        let by_key: HashMap<(&str, &str), &ReturnRow> = stored
            .iter()
            .map(|r| ((r.obligation.as_str(), r.period.as_str()), r))
            .collect();
        let mut out = Vec::new();
        for def in self.plan.obligations.values() {
            if !def.owed_by(&institution) {
                continue;
            }
            let periods = def.periods_starting_between(
                &calendar,
                add_days(today, -lookback_days(def).max(400)),
                add_days(today, 1),
            );
            for period in periods {
                let w = def.window(&period);
                if !(w.opens <= now
                    && now <= w.expires
                    && institution.active_during(period.start, period.end))
                {
                    continue;
                }
                let filed = by_key.get(&(def.id.as_str(), period.key.as_str()));
                let status = match filed {
                    Some(r) => r.timeliness.clone(),
                    None if now <= w.due => "not_yet_due".into(),
                    None => "overdue".into(),
                };
                out.push(OpenReturn {
                    obligation: def.id.clone(),
                    title: def.title.clone(),
                    title_en: def.title_en.clone(),
                    zero_allowed: def.zero_allowed,
                    opens: w.opens,
                    due: w.due,
                    expires: w.expires,
                    status,
                    zero: filed.is_some_and(|r| r.kind == "zero"),
                    return_id: filed.map(|r| r.id),
                    state: filed.map(|r| r.state.clone()),
                    period,
                });
            }
        }
        // The daily health report first, then by due time.
        out.sort_by(|a, b| {
            (a.obligation != HEALTH_DAILY)
                .cmp(&(b.obligation != HEALTH_DAILY))
                .then(a.due.cmp(&b.due))
        });
        Ok(out)
    }

    /// Where a form for `obligation` and `period` stands for the actor's institution: the period, its window and
    /// what was filed (for the form page).
    pub async fn form_context(
        &self,
        actor: &Actor,
        obligation: &str,
        period: &str,
    ) -> Result<(Period, edu_obligation::Window, Option<i64>), AppError> {
        actor.require(Permission::SubmitReports)?;
        let def = self.obl_obligation_def(obligation)?;
        let (row, institution) = self.obl_own_institution(actor).await?;
        if !def.owed_by(&institution) {
            return Err(AppError::NotFound);
        }
        let p = def
            .period_by_key(&self.school_calendar(), period)
            .ok_or(AppError::NotFound)?;
        let w = def.window(&p);
        let filed = self
            .store
            .return_by_key(&def.id, row.id, &p.key)
            .await?
            .map(|r| r.id);
        Ok((p, w, filed))
    }

    /// The rows of the school's latest earlier health report whose cases are still open, to carry into the form of
    /// `date` for follow-up. Reading them is a view of the school's own health records: audited.
    pub async fn health_form_prefill(
        &self,
        actor: &Actor,
        date: Date,
        context: &AuditContext,
    ) -> Result<Map<String, Value>, AppError> {
        actor.require(Permission::SubmitReports)?;
        let def = self.obl_obligation_def(HEALTH_DAILY)?;
        let Some(rules) = &def.health else {
            return Ok(Map::new());
        };
        let (row, _) = self.obl_own_institution(actor).await?;
        if self.store.open_case_count(&def.id, row.id).await? == 0 {
            return Ok(Map::new());
        }
        let returns = self.store.institution_case_returns(row.id, &def.id).await?;
        let day = date.to_string();
        let Some(last) = returns.iter().rev().find(|r| r.period_start < day) else {
            return Ok(Map::new());
        };
        let values = self.obl_full_values(
            def,
            &row.code,
            &last.period,
            last.version,
            &last.values_json,
            last.sensitive_enc.as_deref(),
        )?;
        let closed = |r: &Value| {
            r.get(&rules.cases.follow_up)
                .and_then(Value::as_str)
                .is_some_and(|s| rules.cases.closed_statuses.iter().any(|c| c == s))
        };
        let rows: Vec<Value> = values
            .get(&rules.cases.list)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter(|r| !closed(r)).cloned().collect())
            .unwrap_or_default();
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            "health_report.view",
            "obligation_return",
            &last.id.to_string(),
            Outcome::Success,
            "form prefill",
        ))
        .await?;
        tx.commit().await?;
        let mut out = Map::new();
        if !rows.is_empty() {
            out.insert(rules.cases.list.clone(), Value::Array(rows));
        }
        Ok(out)
    }

    /// Resolves an org code inside the actor's scope: (scope filter, code, name, level).
    async fn obl_org_in_scope(
        &self,
        actor: &Actor,
        org: Option<&str>,
    ) -> Result<(ScopeFilter, String, String, OrgLevel), AppError> {
        let code = org
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or(actor.scope.code())
            .to_owned();
        let filter = self.narrow_scope(actor, Some(&code)).await?;
        let units = self.store.org_units().await?;
        let (name, level) = match &filter {
            ScopeFilter::Institution(id) => {
                let i = self
                    .store
                    .obligation_institution(*id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                return Ok((filter.clone(), i.code, i.name, OrgLevel::Institution));
            }
            ScopeFilter::District(c) => (
                units
                    .iter()
                    .find(|u| &u.code == c)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| c.clone()),
                OrgLevel::District,
            ),
            ScopeFilter::All => (
                units
                    .iter()
                    .find(|u| u.level == "city")
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| code.clone()),
                OrgLevel::City,
            ),
        };
        let code = match &filter {
            ScopeFilter::All => units
                .iter()
                .find(|u| u.level == "city")
                .map(|u| u.code.clone())
                .unwrap_or(code),
            _ => code,
        };
        Ok((filter, code, name, level))
    }

    /// The engine's org tree for the institutions given (city → districts → institutions).
    async fn obl_engine_tree(
        &self,
        institutions: &[ObligationInstitution],
    ) -> Result<EngineTree, AppError> {
        let units = self.store.org_units().await?;
        let mut out = Vec::with_capacity(units.len() + institutions.len());
        for u in &units {
            out.push(OrgUnit {
                id: u.code.clone(),
                parent: u.parent_code.clone(),
                level: if u.level == "city" {
                    OrgLevel::City
                } else {
                    OrgLevel::District
                },
                name: u.name.clone(),
            });
        }
        for i in institutions {
            out.push(OrgUnit {
                id: i.code.clone(),
                parent: Some(i.district_code.clone()),
                level: OrgLevel::Institution,
                name: i.name.clone(),
            });
        }
        EngineTree::new(out).map_err(|e| AppError::Config(format!("org tree: {e}")))
    }

    /// Status of an obligation for an org unit in the actor's scope and the period containing `date` (default
    /// today), or the period with key `period`: counts (expected, submitted, on time, late, zero, missing, rates),
    /// the children's counts, the missing list sorted by lateness with the school's phone, and escalations.
    pub async fn obligation_status(
        &self,
        actor: &Actor,
        obligation: &str,
        org: Option<&str>,
        date: Option<Date>,
        period: Option<&str>,
    ) -> Result<StatusView, AppError> {
        if !(actor.can(Permission::ReviewReports) || actor.can(Permission::SubmitReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let def = self.obl_obligation_def(obligation)?;
        let (filter, org_code, org_name, org_level) = self.obl_org_in_scope(actor, org).await?;
        let now = self.clock.now();
        let calendar = self.school_calendar();
        let date = date.unwrap_or_else(|| china_date(now));
        let period = match period.map(str::trim).filter(|p| !p.is_empty()) {
            Some(key) => Some(def.period_by_key(&calendar, key).ok_or_else(|| {
                AppError::invalid("period", "不是本报表的报送期 / not a period of this return")
            })?),
            None => def.period_containing(&calendar, date),
        };
        let institutions = self.store.obligation_institutions(&filter).await?;
        let engine: Vec<Institution> = institutions.iter().filter_map(engine_institution).collect();
        let tree = self.obl_engine_tree(&institutions).await?;
        let by_code: HashMap<&str, &ObligationInstitution> =
            institutions.iter().map(|i| (i.code.as_str(), i)).collect();
        let codes: HashMap<i64, &str> = institutions
            .iter()
            .map(|i| (i.id, i.code.as_str()))
            .collect();
        let mut view = StatusView {
            obligation: def.id.clone(),
            title: def.title.clone(),
            title_en: def.title_en.clone(),
            org: org_code.clone(),
            org_name,
            org_level: enum_code(&org_level),
            date,
            due: period.as_ref().map(|p| def.window(p).due),
            period: period.clone(),
            now,
            counts: ReportingCounts::default(),
            reporting_rate: None,
            on_time_rate: None,
            units: Vec::new(),
            missing: Vec::new(),
            escalations: Vec::new(),
        };
        let Some(period) = period else {
            return Ok(view);
        };
        let from = add_days(period.start, -lookback_days(def));
        let summaries: Vec<ReturnSummary> = self
            .store
            .return_summaries(
                &def.id,
                &filter,
                &from.to_string(),
                &period.start.to_string(),
            )
            .await?
            .iter()
            .map(|r| summary_of(r, &codes))
            .collect();
        let data = ReportingData {
            calendar: &calendar,
            tree: &tree,
            institutions: &engine,
            returns: &summaries,
        };
        // Escalations and consecutive misses over the look-back; counts and the missing list for the period.
        let history = reporting_status(def, &data, from, period.start, now);
        let report = reporting_status(def, &data, period.start, period.start, now);
        let consecutive: HashMap<&str, u32> = history
            .missing
            .iter()
            .map(|m| (m.institution.as_str(), m.consecutive_missed))
            .collect();
        let district_name = |code: &str| {
            edu_model::DAQING_DISTRICTS
                .iter()
                .find(|d| d.code.to_string() == code)
                .map(|d| d.name.to_owned())
                .unwrap_or_else(|| code.to_owned())
        };
        for u in &report.units {
            if u.unit == org_code {
                view.counts = u.counts;
                view.reporting_rate = u.reporting_rate;
                view.on_time_rate = u.on_time_rate;
            }
        }
        let children: Vec<&str> = tree
            .units()
            .iter()
            .filter(|u| u.parent.as_deref() == Some(org_code.as_str()))
            .map(|u| u.id.as_str())
            .collect();
        for u in &report.units {
            if !children.contains(&u.unit.as_str()) {
                continue;
            }
            let (name, level) = match u.level {
                OrgLevel::Institution => (
                    by_code
                        .get(u.unit.as_str())
                        .map(|i| i.name.clone())
                        .unwrap_or_default(),
                    "institution",
                ),
                OrgLevel::District => (district_name(&u.unit), "district"),
                OrgLevel::City => (u.unit.clone(), "city"),
            };
            if u.counts.expected == 0 && level == "institution" {
                continue;
            }
            view.units.push(UnitStatusRow {
                code: u.unit.clone(),
                name,
                level: level.into(),
                counts: u.counts,
                reporting_rate: u.reporting_rate,
                on_time_rate: u.on_time_rate,
            });
        }
        for m in &report.missing {
            let Some(i) = by_code.get(m.institution.as_str()) else {
                continue;
            };
            view.missing.push(MissingRow {
                institution: m.institution.clone(),
                name: i.name.clone(),
                district: i.district_code.clone(),
                phone: i.phone.clone(),
                period: m.period.clone(),
                due: m.due,
                overdue_seconds: m.overdue_seconds,
                status: m.status,
                consecutive_missed: consecutive
                    .get(m.institution.as_str())
                    .copied()
                    .unwrap_or(m.consecutive_missed),
            });
        }
        view.missing.sort_by(|a, b| {
            b.overdue_seconds
                .cmp(&a.overdue_seconds)
                .then(b.consecutive_missed.cmp(&a.consecutive_missed))
                .then(a.institution.cmp(&b.institution))
        });
        for e in history.escalations {
            let Some(i) = by_code.get(e.institution.as_str()) else {
                continue;
            };
            view.escalations.push(EscalationRow {
                institution: e.institution.clone(),
                name: i.name.clone(),
                district: i.district_code.clone(),
                phone: i.phone.clone(),
                escalation: e,
            });
        }
        Ok(view)
    }

    /// The institution for a calendar or history: the actor's own, or one in scope by code.
    async fn obl_institution_in_scope(
        &self,
        actor: &Actor,
        code: Option<&str>,
    ) -> Result<ObligationInstitution, AppError> {
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        match (&actor.scope, code) {
            (Scope::Institution { id, .. }, None) => self
                .store
                .obligation_institution(*id)
                .await?
                .ok_or(AppError::NotFound),
            (_, Some(code)) => {
                let record = self
                    .store
                    .institution_by_code(&actor.scope_filter(), code)
                    .await?
                    .ok_or(AppError::NotFound)?;
                self.store
                    .obligation_institution(record.id)
                    .await?
                    .ok_or(AppError::NotFound)
            }
            (_, None) => Err(AppError::invalid("school", "请选择学校 / choose a school")),
        }
    }

    /// A school's submissions of one obligation for periods starting in `[from, to]`: one cell per expected period.
    pub async fn submission_calendar(
        &self,
        actor: &Actor,
        obligation: &str,
        school: Option<&str>,
        from: Date,
        to: Date,
    ) -> Result<CalendarView, AppError> {
        if !(actor.can(Permission::ReviewReports) || actor.can(Permission::SubmitReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let def = self.obl_obligation_def(obligation)?;
        let row = self.obl_institution_in_scope(actor, school).await?;
        let institution = engine_institution(&row).ok_or(AppError::NotFound)?;
        let calendar = self.school_calendar();
        let stored = self
            .store
            .institution_returns(row.id, Some(&def.id), &from.to_string(), &to.to_string())
            .await?;
        let summaries: Vec<ReturnSummary> = stored
            .iter()
            .map(|r| ReturnSummary {
                institution: row.code.clone(),
                period: r.period.clone(),
                kind: if r.kind == "zero" {
                    ReportKind::Zero
                } else {
                    ReportKind::Report
                },
                timeliness: if r.timeliness == "late" {
                    Timeliness::Late
                } else {
                    Timeliness::OnTime
                },
                first_submitted_at: instant(r.first_submitted_at),
            })
            .collect();
        let tree = self.obl_engine_tree(std::slice::from_ref(&row)).await?;
        let institutions = [institution];
        let data = ReportingData {
            calendar: &calendar,
            tree: &tree,
            institutions: &institutions,
            returns: &summaries,
        };
        let now = self.clock.now();
        let expected: Vec<ExpectedReturn> = expected_returns(def, &data, from, to, now);
        let mut counts = ReportingCounts::default();
        let by_period: HashMap<&str, &ReturnRow> =
            stored.iter().map(|r| (r.period.as_str(), r)).collect();
        let mut cells = Vec::with_capacity(expected.len());
        for e in expected {
            counts.expected += 1;
            match e.status {
                ReturnStatus::OnTime => {
                    counts.submitted += 1;
                    counts.on_time += 1;
                }
                ReturnStatus::Late => {
                    counts.submitted += 1;
                    counts.late += 1;
                }
                ReturnStatus::NotYetDue => {
                    counts.missing += 1;
                    counts.not_yet_due += 1;
                }
                ReturnStatus::Overdue => {
                    counts.missing += 1;
                    counts.overdue += 1;
                }
                ReturnStatus::Missed => {
                    counts.missing += 1;
                    counts.missed += 1;
                }
            }
            if e.zero {
                counts.zero += 1;
            }
            let filed = by_period.get(e.period.key.as_str());
            cells.push(CalendarCell {
                status: status_code(e.status).into(),
                zero: e.zero,
                return_id: filed.map(|r| r.id),
                state: filed.map(|r| r.state.clone()),
                period: e.period,
            });
        }
        Ok(CalendarView {
            obligation: def.id.clone(),
            title: def.title.clone(),
            title_en: def.title_en.clone(),
            institution_code: row.code.clone(),
            institution_name: row.name.clone(),
            from,
            to,
            cells,
            counts,
        })
    }

    /// Institutions in scope (or under `org`) whose reports of `obligation` repeat the same non-zero values period
    /// after period (the engine's copy check over the last periods).
    pub async fn copied_submissions(
        &self,
        actor: &Actor,
        obligation: &str,
        org: Option<&str>,
    ) -> Result<Vec<CopyView>, AppError> {
        actor.require(Permission::ReviewReports)?;
        let def = self.obl_obligation_def(obligation)?;
        let (filter, ..) = self.obl_org_in_scope(actor, org).await?;
        let calendar = self.school_calendar();
        let now = self.clock.now();
        let today = china_date(now);
        let run = def.copy_check.clone().unwrap_or_default().periods.max(2);
        // The last 3 × run periods that have started.
        let mut periods = def.periods_starting_between(
            &calendar,
            add_days(today, -lookback_days(def) * 3),
            today,
        );
        let keep = periods.len().saturating_sub(run * 3);
        periods.drain(..keep);
        let (Some(first), Some(_)) = (periods.first(), periods.last()) else {
            return Ok(Vec::new());
        };
        let rows = self
            .store
            .returns_in_range(
                &def.id,
                &filter,
                &first.start.to_string(),
                &today.to_string(),
            )
            .await?;
        let institutions = self.store.obligation_institutions(&filter).await?;
        let mut by_institution: HashMap<&str, HashMap<&str, &ReturnRow>> = HashMap::new();
        for r in &rows {
            by_institution
                .entry(r.institution_code.as_str())
                .or_default()
                .insert(r.period.as_str(), r);
        }
        let mut out = Vec::new();
        for i in &institutions {
            let Some(engine) = engine_institution(i) else {
                continue;
            };
            if !def.owed_by(&engine) {
                continue;
            }
            let filed = by_institution.get(i.code.as_str());
            let series: Vec<SeriesPoint> = periods
                .iter()
                .filter(|p| {
                    def.window(p).due <= now
                        || filed.is_some_and(|f| f.contains_key(p.key.as_str()))
                })
                .map(|p| {
                    let r = filed.and_then(|f| f.get(p.key.as_str()));
                    SeriesPoint {
                        period: p.key.clone(),
                        kind: r.map(|r| {
                            if r.kind == "zero" {
                                ReportKind::Zero
                            } else {
                                ReportKind::Report
                            }
                        }),
                        values: r
                            .map(|r| serde_json::from_str(&r.values_json).unwrap_or_default())
                            .unwrap_or_default(),
                    }
                })
                .collect();
            let flags = detect_copies(def, &series);
            if !flags.is_empty() {
                out.push(CopyView {
                    institution: i.code.clone(),
                    name: i.name.clone(),
                    district: i.district_code.clone(),
                    phone: i.phone.clone(),
                    flags,
                });
            }
        }
        Ok(out)
    }

    /// Health alerts raised to the district for dates in `[from, to]`, in scope.
    pub async fn health_alert_list(
        &self,
        actor: &Actor,
        from: Date,
        to: Date,
    ) -> Result<Vec<AlertView>, AppError> {
        if !(actor.can(Permission::ReviewReports) || actor.can(Permission::SubmitReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let rows = self
            .store
            .obligation_alerts(&actor.scope_filter(), &from.to_string(), &to.to_string())
            .await?;
        let reviewer = Self::obl_can_review(actor);
        Ok(rows
            .into_iter()
            .map(|a| AlertView {
                can_acknowledge: reviewer && a.status == "open",
                id: a.id,
                institution: a.institution_code,
                institution_name: a.institution_name,
                district: a.district_code,
                phone: a.phone,
                kind: a.kind,
                date: a.alert_date,
                subject: a.subject,
                observed: a.observed,
                baseline: a.baseline,
                threshold: a.threshold,
                explanation: a.explanation,
                explanation_en: a.explanation_en,
                status: a.status,
                handled_by: a.handled_by,
                note: a.note,
            })
            .collect())
    }

    /// The district (or city) acknowledges an alert, noting what was done.
    pub async fn acknowledge_alert(
        &self,
        actor: &Actor,
        id: i64,
        note: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        actor.require(Permission::ReviewReports)?;
        if !Self::obl_can_review(actor) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let alert = self
            .store
            .obligation_alert(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor
            .scope
            .contains_institution(alert.institution_id, &alert.district_code)
        {
            return Err(AppError::NotFound);
        }
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 500 {
            return Err(AppError::invalid(
                "note",
                "请填写处置情况（最多 500 字） / describe what was done (at most 500 characters)",
            ));
        }
        let now_ms = self.clock.now_ms();
        let entry = audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "obligation.alert_acknowledge",
            "obligation_alert",
            &id.to_string(),
            Outcome::Success,
            "",
        );
        match self
            .store
            .acknowledge_alert(id, &actor.username, now_ms, note, &entry)
            .await
        {
            Ok(()) => Ok(()),
            Err(edu_store::StoreError::Conflict(m)) => Err(AppError::Conflict(m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Line-list cases in scope (health records: the view is audited). Inside the school identities are shown;
    /// outside they are masked.
    pub async fn health_case_list(
        &self,
        actor: &Actor,
        open_only: bool,
        context: &AuditContext,
    ) -> Result<Vec<CaseView>, AppError> {
        if !(actor.can(Permission::ReviewReports) || actor.can(Permission::SubmitReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let today = self.obl_today();
        let rows = self
            .store
            .health_cases(HEALTH_DAILY, &actor.scope_filter(), open_only)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            let inside = Self::obl_is_inside(actor, c.institution_id);
            let person = if inside {
                self.keys
                    .decrypt(
                        &c.person_enc,
                        "obligation_health_cases",
                        "person",
                        &format!("{}/{}/{}", c.obligation, c.institution_id, c.case_no),
                    )?
                    .to_string()
            } else {
                c.person_masked.clone()
            };
            let history: Vec<(String, Option<String>)> =
                serde_json::from_str(&c.history_json).unwrap_or_default();
            out.push(CaseView {
                needs_follow_up: c.closed_on.is_none() && c.last_reported < today.to_string(),
                institution: c.institution_code,
                institution_name: c.institution_name,
                district: c.district_code,
                case_no: c.case_no,
                person,
                person_kind: c.person_kind,
                class_name: c.class_name,
                onset_date: c.onset_date,
                first_reported: c.first_reported,
                last_reported: c.last_reported,
                status: c.status,
                closed_on: c.closed_on,
                history,
            });
        }
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            "health_case.list",
            "obligation_health_case",
            actor.scope.code(),
            Outcome::Success,
            &format!("rows={}", out.len()),
        ))
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A school's returns (every obligation) with periods starting in the last `days` days, newest first.
    pub async fn submission_history(
        &self,
        actor: &Actor,
        school: Option<&str>,
        days: i64,
    ) -> Result<(ObligationInstitution, Vec<ReturnRow>), AppError> {
        if !(actor.can(Permission::ReviewReports) || actor.can(Permission::SubmitReports)) {
            return Err(crate::Forbidden(Permission::ReviewReports).into());
        }
        let row = self.obl_institution_in_scope(actor, school).await?;
        let today = self.obl_today();
        let mut rows = self
            .store
            .institution_returns(
                row.id,
                None,
                &add_days(today, -days.clamp(1, 800)).to_string(),
                &today.to_string(),
            )
            .await?;
        rows.reverse();
        for r in &mut rows {
            r.sensitive_enc = None;
        }
        Ok((row, rows))
    }

    /// Homework against the caps for the week with key `period` (default: the latest week whose report is due).
    pub async fn homework_report(
        &self,
        actor: &Actor,
        period: Option<&str>,
    ) -> Result<HomeworkView, AppError> {
        actor.require(Permission::ReviewReports)?;
        let def = self.obl_obligation_def("homework-load")?;
        let calendar = self.school_calendar();
        let now = self.clock.now();
        let period = match period.map(str::trim).filter(|p| !p.is_empty()) {
            Some(key) => def.period_by_key(&calendar, key),
            None => def
                .periods_starting_between(
                    &calendar,
                    add_days(china_date(now), -120),
                    china_date(now),
                )
                .into_iter()
                .rev()
                .find(|p| def.window(p).due <= now),
        };
        let mut view = HomeworkView {
            period: period.clone(),
            returns: 0,
            bands: Vec::new(),
            over_cap: Vec::new(),
        };
        let Some(period) = period else {
            return Ok(view);
        };
        let rows = self
            .store
            .returns_in_range(
                &def.id,
                &actor.scope_filter(),
                &period.start.to_string(),
                &period.start.to_string(),
            )
            .await?;
        view.returns = rows.len();
        let caps = def.homework.clone();
        let mut totals: Vec<(f64, f64)> = caps
            .iter()
            .flat_map(|h| h.caps.iter().map(|_| (0.0, 0.0)))
            .collect();
        for r in &rows {
            let values: Values = serde_json::from_str(&r.values_json).unwrap_or_default();
            for c in homework_compliance(def, &values) {
                if let Some(h) = &caps
                    && let Some(n) = h
                        .caps
                        .iter()
                        .position(|cap| cap.from <= c.grade && c.grade <= cap.to)
                {
                    totals[n].0 += c.minutes.to_f64();
                    totals[n].1 += c.pupil_days as f64;
                }
                if !c.compliant {
                    view.over_cap
                        .push((r.institution_code.clone(), r.institution_name.clone(), c));
                }
            }
        }
        if let Some(h) = &caps {
            for (cap, (minutes, days)) in h.caps.iter().zip(totals) {
                view.bands.push((
                    cap.rule.clone(),
                    cap.max_minutes.to_string(),
                    minutes,
                    days,
                    (days > 0.0).then(|| minutes / days),
                ));
            }
        }
        Ok(view)
    }

    /// Ice-and-snow pupil-times of the demo year towards the plan's 270,000, per district and month.
    pub async fn ice_snow_progress(&self, actor: &Actor) -> Result<IceSnowView, AppError> {
        actor.require(Permission::ReviewReports)?;
        let def = self.obl_obligation_def("ice-snow")?;
        let now = self.clock.now();
        let today = china_date(now);
        let year = today.year();
        let target = self
            .plan
            .plan
            .target("ice-snow-pupil-times")
            .map(|t| t.target)
            .unwrap_or(270_000.0);
        let start = d(year, 1, 1);
        let end = d(year, 12, 31);
        let elapsed = (edu_form::china_time::days_between(start, today) + 1).clamp(0, 365) as f64;
        let rows = self
            .store
            .returns_in_range(
                &def.id,
                &actor.scope_filter(),
                &start.to_string(),
                &end.to_string(),
            )
            .await?;
        let mut districts: BTreeMap<String, f64> = BTreeMap::new();
        let mut months: BTreeMap<String, f64> = BTreeMap::new();
        let mut total = 0.0;
        for r in &rows {
            let values: Values = serde_json::from_str(&r.values_json).unwrap_or_default();
            let v = numeric_value(&values, "pupil_times")
                .map(|d| d.to_f64())
                .unwrap_or(0.0);
            total += v;
            *districts.entry(r.district_code.clone()).or_default() += v;
            *months.entry(r.period.clone()).or_default() += v;
        }
        Ok(IceSnowView {
            year,
            target,
            on_pace: target * elapsed / 365.0,
            total,
            districts: districts.into_iter().collect(),
            months: months.into_iter().collect(),
        })
    }

    /// Kindergarten per-pupil funding of the latest year with returns (or `year`), against the standards.
    pub async fn funding_report(
        &self,
        actor: &Actor,
        year: Option<&str>,
    ) -> Result<FundingView, AppError> {
        actor.require(Permission::ReviewReports)?;
        let def = self.obl_obligation_def("kg-funding")?;
        let today = self.obl_today();
        let institutions = self
            .store
            .obligation_institutions(&actor.scope_filter())
            .await?;
        let by_id: HashMap<i64, &ObligationInstitution> =
            institutions.iter().map(|i| (i.id, i)).collect();
        let mut candidates: Vec<String> = match year {
            Some(y) => vec![y.to_owned()],
            None => vec![today.year().to_string(), (today.year() - 1).to_string()],
        };
        candidates.dedup();
        let mut view = FundingView {
            year: candidates.first().cloned().unwrap_or_default(),
            public_pupils: 0.0,
            public_yuan: 0.0,
            inclusive_pupils: 0.0,
            inclusive_yuan: 0.0,
            short: Vec::new(),
            returns: 0,
        };
        for y in candidates {
            let rows = self
                .store
                .returns_in_range(
                    &def.id,
                    &actor.scope_filter(),
                    &format!("{y}-01-01"),
                    &format!("{y}-12-31"),
                )
                .await?;
            if rows.is_empty() {
                continue;
            }
            view.year = y;
            view.returns = rows.len();
            for r in &rows {
                let values: Values = serde_json::from_str(&r.values_json).unwrap_or_default();
                let Some(i) = by_id.get(&r.institution_id) else {
                    continue;
                };
                let Some(engine) = engine_institution(i) else {
                    continue;
                };
                let Some(check) = funding_check(def, &engine, &values) else {
                    continue;
                };
                if i.ownership == "public" {
                    view.public_pupils += check.pupils as f64;
                    view.public_yuan += check.disbursed.to_f64();
                } else {
                    view.inclusive_pupils += check.pupils as f64;
                    view.inclusive_yuan += check.disbursed.to_f64();
                }
                if !check.compliant {
                    view.short.push((i.code.clone(), i.name.clone(), check));
                }
            }
            break;
        }
        Ok(view)
    }

    /// A plan metric over an obligation's returns for an org unit inside the actor's scope (see
    /// [`ObligationMetricRequest`] and `edu_store::obligations::ObligationMetricQuery`).
    pub async fn obligation_metric(
        &self,
        actor: &Actor,
        request: &ObligationMetricRequest,
    ) -> Result<f64, AppError> {
        if !(actor.can(Permission::ViewPlan) || actor.can(Permission::ReviewReports)) {
            return Err(crate::Forbidden(Permission::ViewPlan).into());
        }
        let def = self.obl_obligation_def(&request.obligation)?;
        if let ObligationAgg::Sum(field) = &request.agg
            && !def
                .form
                .field(field)
                .is_some_and(|f| f.field_type.is_numeric() || f.field_type == FieldType::Bool)
        {
            return Err(AppError::invalid(
                "field",
                format!("{field} 不是可求和字段 / not a summable field"),
            ));
        }
        let org = self.narrow_scope(actor, Some(&request.org)).await?;
        self.obligation_metric_in(def, request, org).await
    }

    /// [`App::obligation_metric`] for an org unit already resolved to a storage scope (the plan capability
    /// resolves org units itself, for the whole city at once); no permission check.
    pub(crate) async fn obligation_metric_in(
        &self,
        def: &ObligationDef,
        request: &ObligationMetricRequest,
        org: ScopeFilter,
    ) -> Result<f64, AppError> {
        let expected_periods =
            self.obligation_periods_open(def, request.from, request.to, request.as_of);
        let query = ObligationMetricQuery {
            obligation: def.id.clone(),
            agg: request.agg.clone(),
            org,
            institutions: request.institutions.clone(),
            owed_by: def.owed_by.iter().map(selector_of).collect(),
            period_from: request.from.to_string(),
            period_to: request.to.to_string(),
            expected_periods,
            as_of_ms: ms(request.as_of),
        };
        Ok(self.store.obligation_metric(&query).await?)
    }

    /// How many of the obligation's periods start in `[from, to]` and had their window open by `as_of`: the
    /// periods a school could have reported by then.
    pub(crate) fn obligation_periods_open(
        &self,
        def: &ObligationDef,
        from: Date,
        to: Date,
        as_of: Timestamp,
    ) -> i64 {
        let calendar = self.school_calendar();
        def.periods_starting_between(&calendar, from, to)
            .iter()
            .filter(|p| def.window(p).opens <= as_of)
            .count() as i64
    }

    fn obl_watermark(&self, actor: &Actor) -> String {
        let stamp = edu_model::china_time::CHINA_OFFSET
            .to_datetime(self.clock.now())
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        format!("EduPlan 导出 {} {} 仅限工作使用", actor.username, stamp)
    }

    async fn obl_audit_export(
        &self,
        actor: &Actor,
        context: &AuditContext,
        action: &str,
        object: &str,
        rows: usize,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            action,
            "obligation",
            object,
            Outcome::Success,
            &format!("rows={rows} format=xlsx"),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The status view (units and the missing list) as .xlsx, audited and watermarked.
    pub async fn export_status(
        &self,
        actor: &Actor,
        obligation: &str,
        org: Option<&str>,
        date: Option<Date>,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        actor.require(Permission::ExportData)?;
        let view = self
            .obligation_status(actor, obligation, org, date, None)
            .await?;
        let counts = |c: &ReportingCounts| {
            vec![
                XCell::Number(c.expected as f64),
                XCell::Number(c.submitted as f64),
                XCell::Number(c.on_time as f64),
                XCell::Number(c.late as f64),
                XCell::Number(c.zero as f64),
                XCell::Number(c.missing as f64),
            ]
        };
        let rate = |r: Option<f64>| {
            r.map(|r| XCell::Number((r * 1000.0).round() / 10.0))
                .unwrap_or(XCell::Text(String::new()))
        };
        let mut units = vec![{
            let mut row = vec![
                XCell::Text(view.org.clone()),
                XCell::Text(view.org_name.clone()),
            ];
            row.extend(counts(&view.counts));
            row.push(rate(view.reporting_rate));
            row.push(rate(view.on_time_rate));
            row
        }];
        for u in &view.units {
            let mut row = vec![XCell::Text(u.code.clone()), XCell::Text(u.name.clone())];
            row.extend(counts(&u.counts));
            row.push(rate(u.reporting_rate));
            row.push(rate(u.on_time_rate));
            units.push(row);
        }
        let missing: Vec<Vec<XCell>> = view
            .missing
            .iter()
            .map(|m| {
                vec![
                    XCell::Text(m.institution.clone()),
                    XCell::Text(m.name.clone()),
                    XCell::Text(m.district.clone()),
                    XCell::Text(m.phone.clone()),
                    XCell::Text(m.period.clone()),
                    XCell::Text(edu_form::china_time::format_china(m.due)),
                    XCell::Number((m.overdue_seconds as f64 / 360.0).round() / 10.0),
                    XCell::Number(f64::from(m.consecutive_missed)),
                ]
            })
            .collect();
        let sheets = [
            XSheet {
                name: "报送情况".into(),
                headers: [
                    "单位代码",
                    "单位",
                    "应报",
                    "已报",
                    "按时",
                    "迟报",
                    "零报告",
                    "未报",
                    "报告率%",
                    "及时率%",
                ]
                .map(str::to_owned)
                .to_vec(),
                rows: units,
            },
            XSheet {
                name: "未报名单".into(),
                headers: [
                    "学校标识码",
                    "学校",
                    "区县",
                    "联系电话",
                    "报送期",
                    "截止时间",
                    "逾期小时",
                    "连续未报期数",
                ]
                .map(str::to_owned)
                .to_vec(),
                rows: missing,
            },
        ];
        let bytes = write_xlsx(&sheets, &self.obl_watermark(actor))?;
        let rows = sheets.iter().map(|s| s.rows.len()).sum();
        self.obl_audit_export(
            actor,
            context,
            "export.obligation_status",
            &format!("{obligation}/{}", view.org),
            rows,
        )
        .await?;
        let key = view
            .period
            .as_ref()
            .map(|p| p.key.clone())
            .unwrap_or_else(|| view.date.to_string());
        Ok((
            bytes,
            format!("eduplan-status-{obligation}-{}-{key}.xlsx", view.org),
        ))
    }

    /// Returns of an obligation in scope (periods starting in `[from, to]`) as .xlsx: one row per return with its
    /// timeliness, state and the form's scalar values (never sensitive cells), audited and watermarked.
    pub async fn export_submissions(
        &self,
        actor: &Actor,
        obligation: &str,
        org: Option<&str>,
        from: Date,
        to: Date,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        actor.require(Permission::ExportData)?;
        let def = self.obl_obligation_def(obligation)?;
        let (filter, org_code, ..) = self.obl_org_in_scope(actor, org).await?;
        if edu_form::china_time::days_between(from, to) > 400 || to < from {
            return Err(AppError::invalid(
                "to",
                "导出区间最长 400 天 / at most 400 days",
            ));
        }
        let rows = self
            .store
            .returns_in_range(&def.id, &filter, &from.to_string(), &to.to_string())
            .await?;
        let columns: Vec<&edu_form::FieldDef> = def
            .form
            .fields
            .iter()
            .filter(|f| {
                !f.sensitive && f.field_type != FieldType::List && f.field_type != FieldType::File
            })
            .collect();
        let mut headers: Vec<String> = [
            "学校标识码",
            "学校",
            "区县",
            "报送期",
            "类型",
            "及时性",
            "首次报送时间",
            "状态",
            "版本",
        ]
        .map(str::to_owned)
        .to_vec();
        headers.extend(columns.iter().map(|f| f.label.clone()));
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let values: Values = serde_json::from_str(&r.values_json).unwrap_or_default();
            let mut row = vec![
                XCell::Text(r.institution_code.clone()),
                XCell::Text(r.institution_name.clone()),
                XCell::Text(r.district_code.clone()),
                XCell::Text(r.period.clone()),
                XCell::Text(if r.kind == "zero" {
                    "零报告".into()
                } else {
                    "报表".into()
                }),
                XCell::Text(if r.timeliness == "late" {
                    "迟报".into()
                } else {
                    "按时".into()
                }),
                XCell::Text(edu_form::china_time::format_china(instant(
                    r.first_submitted_at,
                ))),
                XCell::Text(r.state.clone()),
                XCell::Number(r.version as f64),
            ];
            for f in &columns {
                row.push(match values.get(&f.id) {
                    None | Some(Value::Null) => XCell::Text(String::new()),
                    Some(v) if f.field_type.is_numeric() => numeric_value(&values, &f.id)
                        .map(|n| XCell::Number(n.to_f64()))
                        .unwrap_or_else(|| XCell::Text(v.to_string())),
                    Some(Value::Bool(b)) => {
                        XCell::Text(if *b { "是".into() } else { "否".into() })
                    }
                    Some(Value::String(s)) => XCell::Text(s.clone()),
                    Some(other) => XCell::Text(other.to_string()),
                });
            }
            out.push(row);
        }
        let n = out.len();
        let sheets = [XSheet {
            name: "报送明细".into(),
            headers,
            rows: out,
        }];
        let bytes = write_xlsx(&sheets, &self.obl_watermark(actor))?;
        self.obl_audit_export(
            actor,
            context,
            "export.obligation_submissions",
            &format!("{obligation}/{org_code}"),
            n,
        )
        .await?;
        Ok((
            bytes,
            format!("eduplan-returns-{obligation}-{org_code}-{from}-{to}.xlsx"),
        ))
    }

    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_obligations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        let mut items = Vec::new();
        if matches!(actor.scope, Scope::Institution { .. }) && actor.can(Permission::SubmitReports)
        {
            let open = self.open_returns(actor).await?;
            let overdue = open.iter().filter(|o| o.status == "overdue").count();
            let waiting = open.iter().filter(|o| o.status == "not_yet_due").count();
            if let Some(health) = open.iter().find(|o| {
                o.obligation == HEALTH_DAILY
                    && o.return_id.is_none()
                    && o.period.start == self.obl_today()
            }) {
                items.push(AttentionItem {
                    href: "/reports".into(),
                    text_zh: format!(
                        "今日（{}）健康日报尚未报送：无异常请一键零报告",
                        health.period.key
                    ),
                    text_en: format!(
                        "Today's health report ({}) is not filed yet: one tap for a zero report",
                        health.period.key
                    ),
                    level: if health.status == "overdue" {
                        "alert"
                    } else {
                        "warn"
                    }
                    .into(),
                });
            }
            if overdue + waiting > 0 {
                items.push(AttentionItem {
                    href: "/reports".into(),
                    text_zh: format!(
                        "{} 份报表待报送（其中 {overdue} 份已逾期）",
                        overdue + waiting
                    ),
                    text_en: format!("{} returns to file ({overdue} overdue)", overdue + waiting),
                    level: if overdue > 0 { "warn" } else { "info" }.into(),
                });
            }
            return Ok(items);
        }
        if !Self::obl_can_review(actor) {
            return Ok(items);
        }
        let today = self.obl_today();
        if self.school_calendar().is_school_day(today) {
            let status = self
                .obligation_status(actor, HEALTH_DAILY, None, Some(today), None)
                .await?;
            if status.counts.missing > 0 {
                items.push(AttentionItem {
                    href: "/reports/follow-up".into(),
                    text_zh: format!(
                        "今日健康日报 {} 所学校（幼儿园）未报",
                        status.counts.missing
                    ),
                    text_en: format!(
                        "{} schools have not filed today's health report",
                        status.counts.missing
                    ),
                    level: "warn".into(),
                });
            }
            let high = status
                .escalations
                .iter()
                .filter(|e| e.escalation.level != edu_obligation::EscalationLevel::School)
                .count();
            if high > 0 {
                items.push(AttentionItem {
                    href: "/reports/follow-up".into(),
                    text_zh: format!("{high} 所学校连续多日未报健康日报，已上报督办"),
                    text_en: format!(
                        "{high} schools have missed the health report several days running"
                    ),
                    level: "alert".into(),
                });
            }
        }
        let alerts = self
            .health_alert_list(actor, add_days(today, -14), today)
            .await?
            .into_iter()
            .filter(|a| a.status == "open")
            .count();
        if alerts > 0 {
            items.push(AttentionItem {
                href: "/reports/alerts".into(),
                text_zh: format!("{alerts} 条健康异常预警待处置"),
                text_en: format!("{alerts} health alerts to handle"),
                level: "alert".into(),
            });
        }
        Ok(items)
    }
}

pub(crate) fn alert_write(def: &ObligationDef, institution_id: i64, a: &HealthAlert) -> AlertWrite {
    AlertWrite {
        obligation: def.id.clone(),
        institution_id,
        kind: enum_code(&a.kind),
        alert_date: a.date.to_string(),
        subject: a.field.clone().or_else(|| a.class.clone()).unwrap_or_default(),
        audience: enum_code(&a.audience),
        observed: a.observed,
        baseline: a.baseline,
        threshold: a.threshold,
        explanation: a.explanation.clone(),
        explanation_en: a.explanation_en.clone(),
        cases_json: serde_json::to_string(
            &a.cases
                .iter()
                .map(|c| json!({"reported_on": c.reported_on.to_string(), "row": c.row, "person_kind": c.person_kind, "onset_date": c.onset_date.map(|d| d.to_string())}))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
    }
}

// ------------------------------------------------------------------------------------------------------------
// .xlsx

enum XCell {
    Text(String),
    Number(f64),
}

struct XSheet {
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<XCell>>,
}

fn write_xlsx(sheets: &[XSheet], watermark: &str) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{DocProperties, Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Config(format!("xlsx: {e}"));
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    for sheet in sheets {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(&sheet.name).map_err(xlsx)?;
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
                    XCell::Text(s) => worksheet
                        .write_string(r as u32 + 1, c as u16, crate::exchange::escape_formula(s))
                        .map(|_| ())
                        .map_err(xlsx)?,
                    XCell::Number(n) => worksheet
                        .write_number(r as u32 + 1, c as u16, *n)
                        .map(|_| ())
                        .map_err(xlsx)?,
                }
            }
        }
    }
    let properties = DocProperties::new()
        .set_comment(watermark)
        .set_author("EduPlan");
    workbook.set_properties(&properties);
    workbook.save_to_buffer().map_err(xlsx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(id: &str) -> ObligationDef {
        edu_obligation::parse_obligation_defs(edu_obligation::DAQING_2021_DEFS)
            .unwrap()
            .remove(id)
            .unwrap()
    }

    #[test]
    fn the_calendar_is_consistent_and_knows_make_up_days() {
        let cal = daqing_school_calendar();
        assert!(cal.check().is_empty(), "{:?}", cal.check());
        // National Day week is a holiday; the Saturday after it is a make-up school day.
        assert!(!cal.is_school_day(d(2021, 10, 4)));
        assert!(cal.is_school_day(d(2021, 10, 9)));
        assert!(cal.is_school_day(d(2021, 10, 11)));
        assert!(!cal.is_school_day(d(2021, 8, 2)));
    }

    #[test]
    fn sensitive_cells_split_and_merge_back() {
        let def = def(HEALTH_DAILY);
        let values: Values = serde_json::from_value(json!({
            "absent_pupils": 1,
            "cases": [{"person_kind": "pupil", "person": "P0301-07", "class_name": "三年一班", "symptoms": ["fever"],
                       "onset_date": "2021-10-10", "measures": ["seen_doctor"], "follow_up": "observing", "note": "x"}]
        }))
        .unwrap();
        let (plain, secret) = split_sensitive(&def, &values);
        let text = serde_json::to_string(&plain).unwrap();
        assert!(
            !text.contains("P0301-07") && !text.contains("fever"),
            "{text}"
        );
        assert!(text.contains("三年一班"));
        let secret = secret.unwrap();
        let mut back = plain.clone();
        merge_sensitive(&mut back, &secret, None);
        assert_eq!(back, values);
        let mut masked = plain;
        let mask = |c: &str, v: &Value| masked_cell(c, v, "person");
        merge_sensitive(&mut masked, &secret, Some(&mask));
        let row = &masked["cases"][0];
        assert_eq!(row["person"], json!("P******7"));
        assert_eq!(row["symptoms"], json!("***"));
    }

    #[test]
    fn idempotency_keys_are_checked() {
        assert!(valid_key("bench-000001:a.b_c"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"k".repeat(129)));
    }

    #[test]
    fn summable_numbers_follow_the_declared_fields() {
        let def = def("ice-snow");
        let values: Values = serde_json::from_value(
            json!({"pupil_times": 120, "activities": 3, "skating_lessons": 9}),
        )
        .unwrap();
        let numbers = summable_numbers(&def, &values);
        assert_eq!(
            numbers,
            vec![
                ("pupil_times".to_owned(), 120.0),
                ("activities".to_owned(), 3.0)
            ]
        );
    }
}
