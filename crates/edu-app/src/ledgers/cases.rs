//! Cases of any ledger: list and view in scope, open and act through the engine, with uploads, history and audit.

use std::collections::{BTreeMap, BTreeSet};

use edu_form::china_time::{china_date, days_between, format_china};
use edu_form::{FieldDef, FieldType};
use edu_ledger::{
    Case, LedgerDef, Role as LedgerRole, Step, TransitionError, TransitionRule, apply_action,
    available_actions, case_status, open_case, view_case,
};
use edu_store::ledgers::{
    AttachmentMeta, AttachmentWrite, CaseQuery, CaseRecord, HistoryRecord, LedgerCountRow, NewCase,
};
use edu_store::{PageRequest, Paged, ScopeFilter};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use super::codec::{case_from, case_write, ms, ts};
use super::files::{self, Upload};
use super::{Standing, ledger_visible, require_read, standing};
use crate::App;
use crate::access::{Actor, Permission, Scope};
use crate::audit::{self, AuditContext, Outcome};
use crate::crypto::random_bytes;
use crate::error::{AppError, FieldError};

/// A ledger the actor may see.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerSummary {
    pub id: String,
    pub title: String,
    pub title_en: String,
    pub description: String,
    /// The actor may open cases (their role is in the creating step and holds `ManageCases`).
    pub can_open: bool,
    pub open_label: String,
    pub open_label_en: String,
}

/// Filters of a case list (always within the actor's scope).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<String>,
    pub open: Option<bool>,
    /// Open and past the deadline of its state now.
    pub overdue: bool,
    pub level: Option<String>,
    /// Institution code.
    pub school: Option<String>,
    /// District code.
    pub district: Option<String>,
    /// Cases naming the actor in an assignee field.
    pub mine: bool,
    /// Open and escalated to the district or beyond now.
    pub escalated: bool,
}

/// One row of a case list, with its status at now.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub id: i64,
    pub ledger: String,
    pub school_code: String,
    pub school_name: String,
    pub district_code: String,
    pub state: String,
    pub state_label: String,
    pub state_label_en: String,
    pub closed: bool,
    pub title: String,
    pub level: Option<String>,
    pub level_label: String,
    pub level_label_en: String,
    pub opened_on: String,
    /// Deadline of the current state, China time `YYYY-MM-DD HH:MM:SS`.
    pub deadline: Option<String>,
    pub overdue: bool,
    pub days_overdue: i64,
    /// `school`, `district` or `city` for an escalated open case.
    pub escalation: Option<String>,
    pub late: bool,
    pub next_review: Option<String>,
    pub review_overdue: bool,
    pub version: i64,
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Text,
    Textarea,
    Integer,
    Decimal,
    Date,
    Time,
    Bool,
    Enum,
    Person,
    File,
    /// List fields are entered through the API (JSON rows) or a checklist.
    List,
}

/// One input of a step's form.
#[derive(Debug, Clone, Serialize)]
pub struct FieldInput {
    pub id: String,
    pub label: String,
    pub label_en: String,
    pub kind: InputKind,
    pub required: bool,
    pub multiple: bool,
    /// (value, label, label_en)
    pub options: Vec<(String, String, String)>,
    /// Pre-filled value.
    pub current: String,
    pub unit: String,
    pub help: String,
    /// Files needed at least (evidence rules).
    pub min_files: usize,
}

/// A step the actor may take now, with its form.
#[derive(Debug, Clone, Serialize)]
pub struct ActionForm {
    pub action: String,
    pub label: String,
    pub label_en: String,
    pub to: String,
    pub to_label: String,
    pub to_label_en: String,
    pub inputs: Vec<FieldInput>,
    pub has_files: bool,
}

/// A field as shown to the viewer.
#[derive(Debug, Clone, Serialize)]
pub struct FieldShown {
    pub id: String,
    pub label: String,
    pub label_en: String,
    pub value: String,
    pub value_en: String,
    /// (token, server file name, content type) of file fields.
    pub files: Vec<(String, String, String)>,
    pub sensitive: bool,
    /// The value is masked.
    pub masked: bool,
    /// Rows of list fields: (column label, value) pairs.
    pub rows: Vec<Vec<(String, String)>>,
}

/// One step of the history as shown.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryShown {
    pub seq: u32,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub role_label: String,
    pub role_label_en: String,
    pub action: String,
    pub action_label: String,
    pub action_label_en: String,
    pub from_label: String,
    pub to_label: String,
    pub from_label_en: String,
    pub to_label_en: String,
    /// (field label zh, field label en, before, after)
    pub changes: Vec<(String, String, String, String)>,
    pub note: String,
}

/// A case as one viewer may see it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    pub summary: CaseSummary,
    pub ledger_title: String,
    pub ledger_title_en: String,
    pub explanation: String,
    pub explanation_en: String,
    pub fields: Vec<FieldShown>,
    /// Labels (zh, en) of fields withheld from this viewer.
    pub hidden: Vec<(String, String)>,
    pub history: Vec<HistoryShown>,
    pub actions: Vec<ActionForm>,
    /// Ledger roles the viewer holds on this case.
    pub roles: Vec<String>,
    /// The negative list's suggestion for a registered request (Chinese, English).
    pub suggestion: Option<(String, String)>,
}

/// The states and levels of a ledger, for filters: (value, label, label_en).
#[derive(Debug, Clone, Serialize)]
pub struct LedgerStates {
    pub states: Vec<(String, String, String)>,
    pub levels: Vec<(String, String, String)>,
}

/// The form to open a case.
#[derive(Debug, Clone, Serialize)]
pub struct NewCaseForm {
    pub ledger: LedgerSummary,
    pub action: String,
    /// The school, once chosen (code, name).
    pub school: Option<(String, String)>,
    /// Schools to choose from (district and city users), (code, name).
    pub schools: Vec<(String, String)>,
    pub inputs: Vec<FieldInput>,
    pub has_files: bool,
}

/// Counts of a ledger for one org unit at now (sums over its schools).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnitCounts {
    pub code: String,
    pub name: String,
    /// `city`, `district` or `school`.
    pub level: String,
    pub total: i64,
    pub open: i64,
    pub overdue: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub escalated_district: i64,
    pub escalated_city: i64,
    pub review_overdue: i64,
    pub level_major: i64,
    pub level_large: i64,
    pub level_general: i64,
    pub level_low: i64,
}

impl UnitCounts {
    fn add(&mut self, r: &LedgerCountRow) {
        self.total += r.total;
        self.open += r.open;
        self.overdue += r.overdue;
        self.closed += r.closed;
        self.closed_on_time += r.closed_on_time;
        self.escalated_district += r.escalated_district;
        self.escalated_city += r.escalated_city;
        self.review_overdue += r.review_overdue;
        self.level_major += r.level_major;
        self.level_large += r.level_large;
        self.level_general += r.level_general;
        self.level_low += r.level_low;
    }

    /// Closed on time as a share of closed cases, in percent (None without closed cases).
    pub fn on_time_percent(&self) -> Option<f64> {
        (self.closed > 0).then(|| 100.0 * self.closed_on_time as f64 / self.closed as f64)
    }
}

/// A step as submitted: the action, field values (JSON, as the API sends them, or converted from a form with
/// [`App::ledger_form_values`]), files, a note and the version the user saw (stale submissions are refused).
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub action: String,
    pub values: Map<String, Value>,
    pub uploads: Vec<Upload>,
    pub note: Option<String>,
    pub version: Option<i64>,
}

const ROLE_LABELS: [(&str, &str, &str); 8] = [
    ("school_admin", "学校管理员", "School administrator"),
    (
        "school_safety_officer",
        "学校安全员",
        "School safety officer",
    ),
    ("teacher", "教师", "Teacher"),
    ("district_admin", "区县教育局", "District bureau"),
    ("city_admin", "市教育局", "City bureau"),
    ("investigator", "调查人员", "Investigator"),
    ("inspector", "督导检查人员", "Inspector"),
    ("system", "系统", "System"),
];

pub(crate) fn role_label(code: &str) -> (String, String) {
    ROLE_LABELS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, en)| ((*zh).to_owned(), (*en).to_owned()))
        .unwrap_or_else(|| (code.to_owned(), code.to_owned()))
}

pub(crate) fn state_labels(def: &LedgerDef, state: &str) -> (String, String) {
    def.state(state)
        .map(|s| {
            (
                s.label.clone(),
                if s.label_en.is_empty() {
                    s.label.clone()
                } else {
                    s.label_en.clone()
                },
            )
        })
        .unwrap_or_else(|| (state.to_owned(), state.to_owned()))
}

fn en_or(zh: &str, en: &str) -> String {
    if en.is_empty() {
        zh.to_owned()
    } else {
        en.to_owned()
    }
}

fn action_labels(def: &LedgerDef, action: &str) -> (String, String) {
    def.transitions
        .iter()
        .find(|t| t.action == action)
        .map(|t| (t.label.clone(), en_or(&t.label, &t.label_en)))
        .unwrap_or_else(|| (action.to_owned(), action.to_owned()))
}

pub(crate) fn level_labels(def: &LedgerDef, level: Option<&str>) -> (String, String) {
    let Some(level) = level else {
        return (String::new(), String::new());
    };
    def.level_field()
        .and_then(|f| def.form.field(f))
        .and_then(|f| f.option(level))
        .map(|o| (o.label.clone(), en_or(&o.label, &o.label_en)))
        .unwrap_or_else(|| (level.to_owned(), level.to_owned()))
}

/// The summary of a stored case at `now`.
pub(crate) fn summary_of(def: &LedgerDef, r: &CaseRecord, now: Timestamp) -> CaseSummary {
    let now_ms = ms(now);
    let overdue = !r.closed && r.deadline_at.is_some_and(|d| d < now_ms);
    let days_overdue = match r.deadline_at {
        Some(d) if overdue => days_between(china_date(ts(d)), china_date(now)).max(1),
        _ => 0,
    };
    let escalation = if r.closed {
        None
    } else if r.city_at.is_some_and(|t| t <= now_ms) {
        Some("city")
    } else if r.district_at.is_some_and(|t| t <= now_ms) {
        Some("district")
    } else if overdue {
        Some("school")
    } else {
        None
    };
    let (state_label, state_label_en) = state_labels(def, &r.state);
    let (level_label, level_label_en) = level_labels(def, r.level.as_deref());
    let today = china_date(now).to_string();
    CaseSummary {
        id: r.id,
        ledger: r.ledger.clone(),
        school_code: r.institution_code.clone(),
        school_name: r.institution_name.clone(),
        district_code: r.district_code.clone(),
        state: r.state.clone(),
        state_label,
        state_label_en,
        closed: r.closed,
        title: r.title.clone(),
        level: r.level.clone(),
        level_label,
        level_label_en,
        opened_on: r.opened_on.clone(),
        deadline: if r.closed {
            None
        } else {
            r.deadline_at.map(|d| format_china(ts(d)))
        },
        overdue,
        days_overdue,
        escalation: escalation.map(str::to_owned),
        late: r.late,
        review_overdue: !r.closed && r.next_review.as_deref().is_some_and(|d| d < today.as_str()),
        next_review: if r.closed {
            None
        } else {
            r.next_review.clone()
        },
        version: r.version,
    }
}

fn refusal(error: TransitionError) -> AppError {
    match error.rule {
        TransitionRule::RoleNotAllowed
        | TransitionRule::OutOfScope
        | TransitionRule::NotAssigned => {
            AppError::Forbidden(crate::Forbidden(Permission::ManageCases))
        }
        TransitionRule::InvalidValue if !error.details.is_empty() => AppError::Invalid(
            error
                .details
                .iter()
                .map(|d| FieldError::new(&d.field, format!("{} / {}", d.message, d.message_en)))
                .collect(),
        ),
        rule => {
            let code = serde_json::to_value(rule)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            AppError::Invalid(vec![FieldError::new(
                error.field.as_deref().unwrap_or("action"),
                format!("{} / {} [{code}]", error.message, error.message_en),
            )])
        }
    }
}

fn input_kind(f: &FieldDef) -> InputKind {
    match f.field_type {
        FieldType::Text if f.max_len.unwrap_or(500) > 200 => InputKind::Textarea,
        FieldType::Text => InputKind::Text,
        FieldType::Integer => InputKind::Integer,
        FieldType::Decimal => InputKind::Decimal,
        FieldType::Date => InputKind::Date,
        FieldType::Time => InputKind::Time,
        FieldType::Bool => InputKind::Bool,
        FieldType::Enum => InputKind::Enum,
        FieldType::Person => InputKind::Person,
        FieldType::File => InputKind::File,
        FieldType::List => InputKind::List,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A new random token (attachments, case keys): 24 lower-case letters (about 112 bits). Letters only, so that no
/// run of digits in the database can be mistaken for a phone or ID number by the DATA-01 grep test.
pub(crate) fn new_token() -> Result<String, AppError> {
    Ok(letters(&random_bytes::<24>()?))
}

/// Bytes as lower-case letters (one per byte).
pub(crate) fn letters(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(b'a' + b % 26)).collect()
}

/// Person display names, looked up once per request.
#[derive(Default)]
pub(crate) struct People {
    names: BTreeMap<String, String>,
}

impl People {
    pub(crate) async fn name(&mut self, app: &App, reference: &str) -> String {
        if let Some(n) = self.names.get(reference) {
            return n.clone();
        }
        let name = if let Some(username) = reference.strip_prefix("u:") {
            match app.store.user_by_name(username).await {
                Ok(Some(u)) => u.display_name,
                _ => username.to_owned(),
            }
        } else if let Some(no) = reference.strip_prefix("s:") {
            match app.store.staff_by_no(no).await {
                Ok(Some(s)) => s.name,
                _ => no.to_owned(),
            }
        } else {
            reference.to_owned()
        };
        self.names.insert(reference.to_owned(), name.clone());
        name
    }
}

impl App {
    /// Ledgers the actor may see, in plan order.
    pub fn ledgers(&self, actor: &Actor) -> Result<Vec<LedgerSummary>, AppError> {
        require_read(actor)?;
        Ok(self
            .plan
            .ledgers
            .values()
            .filter(|def| ledger_visible(actor, def))
            .map(|def| self.ledger_summary(actor, def))
            .collect())
    }

    fn ledger_summary(&self, actor: &Actor, def: &LedgerDef) -> LedgerSummary {
        let opening = def.transitions.iter().find(|t| t.creates);
        let roles: Vec<LedgerRole> = match &actor.scope {
            Scope::Institution { id, district, .. } => standing(actor, def, *id, district, None),
            Scope::District { code } => standing(actor, def, -1, code, None),
            Scope::City { .. } => standing(actor, def, -1, "", None),
        }
        .map(|s| s.roles)
        .unwrap_or_default();
        LedgerSummary {
            id: def.id.clone(),
            title: def.title.clone(),
            title_en: en_or(&def.title, &def.title_en),
            description: def.description.clone().unwrap_or_default(),
            can_open: actor.can(Permission::ManageCases)
                && opening.is_some_and(|t| t.roles.iter().any(|r| roles.contains(r))),
            open_label: opening.map(|t| t.label.clone()).unwrap_or_default(),
            open_label_en: opening
                .map(|t| en_or(&t.label, &t.label_en))
                .unwrap_or_default(),
        }
    }

    /// A visible ledger's definition, or 404.
    pub(crate) fn visible_def(&self, actor: &Actor, ledger: &str) -> Result<&LedgerDef, AppError> {
        require_read(actor)?;
        let def = self.ledger_def(ledger)?;
        if !ledger_visible(actor, def) {
            return Err(AppError::NotFound);
        }
        Ok(def)
    }

    /// States and levels of a ledger (for list filters).
    pub fn ledger_states(&self, ledger: &str) -> Result<LedgerStates, AppError> {
        let def = self.ledger_def(ledger)?;
        Ok(LedgerStates {
            states: def
                .states
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        s.label.clone(),
                        en_or(&s.label, &s.label_en),
                    )
                })
                .collect(),
            levels: def
                .level_field()
                .and_then(|f| def.form.field(f))
                .map(|f| {
                    f.options
                        .iter()
                        .map(|o| {
                            (
                                o.value.clone(),
                                o.label.clone(),
                                en_or(&o.label, &o.label_en),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The ledger's summary for the actor.
    pub fn ledger_info(&self, actor: &Actor, ledger: &str) -> Result<LedgerSummary, AppError> {
        let def = self.visible_def(actor, ledger)?;
        Ok(self.ledger_summary(actor, def))
    }

    /// Cases of a ledger in the actor's scope, newest first (oldest deadline first for overdue lists).
    pub async fn ledger_cases(
        &self,
        actor: &Actor,
        ledger: &str,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Paged<CaseSummary>, AppError> {
        let def = self.visible_def(actor, ledger)?;
        let now = self.clock.now();
        let institution_id = match filter.school.as_deref().filter(|s| !s.is_empty()) {
            Some(code) => Some(
                self.store
                    .institution_by_code(&actor.scope_filter(), code)
                    .await?
                    .ok_or(AppError::NotFound)?
                    .id,
            ),
            None => None,
        };
        let query = CaseQuery {
            ledger: Some(def.id.clone()),
            institution_id,
            district: filter.district.clone().filter(|d| !d.is_empty()),
            state: filter.state.clone().filter(|s| !s.is_empty()),
            open: filter.open,
            overdue_at: filter.overdue.then(|| ms(now)),
            level: filter.level.clone().filter(|s| !s.is_empty()),
            district_at: filter.escalated.then(|| ms(now)),
            assigned_to: filter.mine.then(|| super::person_of(actor)),
            by_deadline: filter.overdue,
        };
        let rows = self
            .store
            .ledger_cases(&actor.scope_filter(), &query, page)
            .await?;
        Ok(Paged {
            total: rows.total,
            items: rows.items.iter().map(|r| summary_of(def, r, now)).collect(),
        })
    }

    /// Loads a case of `ledger` in scope with the actor's standing, or 404.
    async fn load_case(
        &self,
        actor: &Actor,
        ledger: &str,
        id: i64,
    ) -> Result<(&LedgerDef, CaseRecord, Vec<HistoryRecord>, Case, Standing), AppError> {
        let def = self.visible_def(actor, ledger)?;
        let (record, history) = self
            .store
            .ledger_case(&actor.scope_filter(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if record.ledger != def.id {
            return Err(AppError::NotFound);
        }
        let case = case_from(&self.keys, &record, &history)?;
        let standing = standing(
            actor,
            def,
            record.institution_id,
            &record.district_code,
            Some(&case),
        )
        .ok_or(AppError::NotFound)?;
        Ok((def, record, history, case, standing))
    }

    /// A case as the actor may see it, with the steps they may take now. Showing a confidential field (one with
    /// `visible_to`, e.g. the complainant's identity to the investigator) is audited.
    pub async fn ledger_case(
        &self,
        actor: &Actor,
        ledger: &str,
        id: i64,
        context: &AuditContext,
    ) -> Result<CaseDetail, AppError> {
        let (def, record, _, case, standing) = self.load_case(actor, ledger, id).await?;
        let now = self.clock.now();
        let viewer = standing.viewer();
        let view = view_case(def, &case, &viewer);
        let status = case_status(def, &case, now);
        let attachments = self.store.case_attachments(record.id).await?;
        let mut people = People::default();
        let confidential: Vec<&str> = def
            .form
            .fields
            .iter()
            .filter(|f| !f.visible_to.is_empty() && view.values.contains_key(&f.id))
            .map(|f| f.id.as_str())
            .collect();
        let mut fields = Vec::new();
        for f in &def.form.fields {
            let Some(value) = view.values.get(&f.id) else {
                continue;
            };
            fields.push(
                self.field_shown(f, value, &attachments, &mut people, f.visible_to.is_empty())
                    .await,
            );
        }
        let hidden = view
            .hidden_fields
            .iter()
            .filter_map(|id| def.form.field(id))
            .map(|f| (f.label.clone(), en_or(&f.label, &f.label_en)))
            .collect();
        let mut history = Vec::new();
        for h in &view.history {
            let (action_label, action_label_en) = action_labels(def, &h.action);
            let (from_label, from_label_en) = h
                .from
                .as_deref()
                .map(|s| state_labels(def, s))
                .unwrap_or_default();
            let (to_label, to_label_en) = state_labels(def, &h.to);
            let (role_zh, role_en) = role_label(h.role.as_str());
            let mut changes = Vec::new();
            for c in &h.changes {
                let Some(f) = def.form.field(&c.field) else {
                    continue;
                };
                let show = |v: &Option<Value>| -> String {
                    match v {
                        None => String::new(),
                        Some(v) => display_plain(f, v, f.sensitive && f.visible_to.is_empty()),
                    }
                };
                let before = show(&c.before);
                let after = show(&c.after);
                changes.push((f.label.clone(), en_or(&f.label, &f.label_en), before, after));
            }
            for (_, _, before, after) in changes.iter_mut() {
                for text in [before, after] {
                    if let Some(reference) = text.strip_prefix("@person:") {
                        *text = people.name(self, reference).await;
                    }
                }
            }
            history.push(HistoryShown {
                seq: h.seq,
                at: format_china(h.at),
                actor: people.name(self, &h.actor).await,
                role: h.role.as_str().to_owned(),
                role_label: role_zh,
                role_label_en: role_en,
                action: h.action.clone(),
                action_label,
                action_label_en,
                from_label,
                to_label,
                from_label_en,
                to_label_en,
                changes,
                note: h.note.clone().unwrap_or_default(),
            });
        }
        let actions = if actor.can(Permission::ManageCases) {
            self.action_forms(def, &record, &case, &standing, now)
                .await?
        } else {
            Vec::new()
        };
        let suggestion = self.negative_suggestion(def, &case);
        if !confidential.is_empty() {
            let mut tx = self.store.begin().await?;
            tx.append_audit(&audit::entry(
                ms(now),
                Some(actor),
                "",
                context,
                "ledger.case.view_confidential",
                "ledger_case",
                &record.id.to_string(),
                Outcome::Success,
                &format!("fields={}", confidential.join(",")),
            ))
            .await?;
            tx.commit().await?;
        }
        let mut summary = summary_of(def, &record, now);
        summary.escalation = status.escalation.map(|e| {
            serde_json::to_value(e)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        });
        Ok(CaseDetail {
            summary,
            ledger_title: def.title.clone(),
            ledger_title_en: en_or(&def.title, &def.title_en),
            explanation: status.explanation,
            explanation_en: status.explanation_en,
            fields,
            hidden,
            history,
            actions,
            roles: standing
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            suggestion,
        })
    }

    async fn field_shown(
        &self,
        f: &FieldDef,
        value: &Value,
        attachments: &[AttachmentMeta],
        people: &mut People,
        mask: bool,
    ) -> FieldShown {
        let masked = mask && f.sensitive && f.field_type != FieldType::File;
        let mut shown = FieldShown {
            id: f.id.clone(),
            label: f.label.clone(),
            label_en: en_or(&f.label, &f.label_en),
            value: String::new(),
            value_en: String::new(),
            files: Vec::new(),
            sensitive: f.sensitive,
            masked,
            rows: Vec::new(),
        };
        match f.field_type {
            FieldType::File => {
                let tokens: Vec<String> = match value {
                    Value::Array(a) => a.iter().map(text_of).collect(),
                    other => vec![text_of(other)],
                };
                for token in tokens {
                    if let Some(a) = attachments.iter().find(|a| a.token == token) {
                        shown
                            .files
                            .push((token, a.file_name.clone(), a.content_type.clone()));
                    }
                }
                shown.value = format!("{} 个文件", shown.files.len());
                shown.value_en = format!("{} file(s)", shown.files.len());
            }
            FieldType::Person => {
                shown.value = people.name(self, &text_of(value)).await;
                if masked {
                    shown.value = edu_model::mask::mask_name(&shown.value);
                }
                shown.value_en = shown.value.clone();
            }
            FieldType::List => {
                if let Value::Array(rows) = value {
                    for row in rows {
                        let mut cells = Vec::new();
                        for c in &f.columns {
                            if let Some(v) = row.get(&c.id) {
                                cells.push((c.label.clone(), display_plain(c, v, false)));
                            }
                        }
                        shown.rows.push(cells);
                    }
                }
                shown.value = format!("{} 条", shown.rows.len());
                shown.value_en = format!("{} row(s)", shown.rows.len());
            }
            _ => {
                shown.value = display_plain(f, value, masked);
                shown.value_en = display_en(f, value, masked);
            }
        }
        shown
    }

    /// Forms of the steps the actor may take now (any of their ledger roles).
    async fn action_forms(
        &self,
        def: &LedgerDef,
        record: &CaseRecord,
        case: &Case,
        standing: &Standing,
        now: Timestamp,
    ) -> Result<Vec<ActionForm>, AppError> {
        let mut seen = BTreeSet::new();
        let mut forms = Vec::new();
        let mut choices: Option<Vec<(String, String, String)>> = None;
        for role in &standing.roles {
            let engine_actor = edu_ledger::Actor {
                person: standing.person.clone(),
                role: *role,
                relation: standing.relation,
            };
            for a in available_actions(def, case, &engine_actor, now) {
                if !seen.insert(a.action.clone()) {
                    continue;
                }
                let Some(t) = def
                    .transitions
                    .iter()
                    .find(|t| !t.creates && t.action == a.action && t.from.contains(&case.state))
                else {
                    continue;
                };
                let needs_people = t.requires.iter().chain(&t.allows).any(|f| {
                    def.form
                        .field(f)
                        .is_some_and(|d| d.field_type == FieldType::Person)
                });
                if needs_people && choices.is_none() {
                    choices = Some(
                        self.person_choices(
                            record.institution_id,
                            &record.institution_code,
                            &record.district_code,
                        )
                        .await?,
                    );
                }
                let prefill = self.prefill(def, case, &t.action);
                let inputs = inputs_for(
                    def,
                    t,
                    &case.values,
                    &prefill,
                    choices.as_deref().unwrap_or(&[]),
                );
                let (to_label, to_label_en) = state_labels(def, &t.to);
                forms.push(ActionForm {
                    action: t.action.clone(),
                    label: t.label.clone(),
                    label_en: en_or(&t.label, &t.label_en),
                    to: t.to.clone(),
                    to_label,
                    to_label_en,
                    has_files: inputs.iter().any(|i| i.kind == InputKind::File),
                    inputs,
                });
            }
        }
        Ok(forms)
    }

    /// Accounts and staff that may be named in person fields of a school's cases, as (reference, label zh, en).
    pub(crate) async fn person_choices(
        &self,
        institution_id: i64,
        institution_code: &str,
        district: &str,
    ) -> Result<Vec<(String, String, String)>, AppError> {
        let mut out = Vec::new();
        for u in self
            .store
            .person_users(institution_code, district, &edu_model::DAQING.to_string())
            .await?
        {
            let role = crate::Role::parse(&u.role);
            out.push((
                format!("u:{}", u.username),
                format!(
                    "{}（{}）",
                    u.display_name,
                    role.map(|r| r.label_zh()).unwrap_or_default()
                ),
                format!(
                    "{} ({})",
                    u.display_name,
                    role.map(|r| r.label_en()).unwrap_or_default()
                ),
            ));
        }
        let staff = self
            .store
            .staff(
                &ScopeFilter::Institution(institution_id),
                &edu_store::StaffQuery {
                    institution_id: Some(institution_id),
                    ..Default::default()
                },
                PageRequest {
                    offset: 0,
                    limit: 200,
                },
            )
            .await?;
        let mut items = staff.items;
        let rank = |role: &str| match role {
            "principal" => 0,
            "security_guard" => 1,
            "doctor" | "nurse" => 2,
            "teacher" => 3,
            _ => 4,
        };
        items.sort_by_key(|s| (rank(&s.role), s.staff_no.clone()));
        for s in items {
            let post = staff_role_label(&s.role);
            out.push((
                format!("s:{}", s.staff_no),
                format!("{}（{}，{}）", s.name, post.0, s.staff_no),
                format!("{} ({}, {})", s.name, post.1, s.staff_no),
            ));
        }
        Ok(out)
    }

    /// Values to pre-fill for a step (the negative list's decision for a registered request).
    fn prefill(&self, def: &LedgerDef, case: &Case, action: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(list) = &def.negative_list else {
            return out;
        };
        let Some(decision) = negative_decision(def, case) else {
            return out;
        };
        out.insert("list_version".into(), Value::String(list.version.clone()));
        let refuse = decision.outcome == edu_ledger::BurdenOutcome::Refuse;
        if (action == "refuse") == refuse {
            out.insert(
                "decision_reason".into(),
                Value::String(decision.explanation.clone()),
            );
        }
        if action == "refuse" && refuse {
            let matched: Vec<String> = decision
                .matched
                .iter()
                .map(|m| format!("{} {}", m.item, m.title))
                .collect();
            let mut text = matched.join("；");
            if text.chars().count() > 200 {
                text = text.chars().take(199).collect::<String>() + "…";
            }
            out.insert("matched_item".into(), Value::String(text));
        }
        out
    }

    fn negative_suggestion(&self, def: &LedgerDef, case: &Case) -> Option<(String, String)> {
        let d = negative_decision(def, case)?;
        Some((d.explanation, d.explanation_en))
    }

    /// The form to open a case of `ledger` (at `school` once chosen).
    pub async fn new_case_form(
        &self,
        actor: &Actor,
        ledger: &str,
        school: Option<&str>,
    ) -> Result<NewCaseForm, AppError> {
        let def = self.visible_def(actor, ledger)?;
        actor.require(Permission::ManageCases)?;
        let summary = self.ledger_summary(actor, def);
        if !summary.can_open {
            return Err(AppError::Forbidden(crate::Forbidden(
                Permission::ManageCases,
            )));
        }
        let t = def
            .transitions
            .iter()
            .find(|t| t.creates)
            .ok_or(AppError::NotFound)?;
        let school_code = match &actor.scope {
            Scope::Institution { code, .. } => Some(code.clone()),
            _ => school
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        };
        let chosen = match &school_code {
            Some(code) => Some(
                self.store
                    .institution_by_code(&actor.scope_filter(), code)
                    .await?
                    .ok_or_else(|| {
                        AppError::invalid(
                            "school",
                            "学校不存在或不在管理范围内 / no such school in your scope",
                        )
                    })?,
            ),
            None => None,
        };
        let schools = match (&actor.scope, &chosen) {
            (Scope::Institution { .. }, _) | (_, Some(_)) => Vec::new(),
            _ => {
                let list = self
                    .store
                    .institutions(
                        &actor.scope_filter(),
                        &edu_store::InstitutionQuery::default(),
                        PageRequest {
                            offset: 0,
                            limit: 3000,
                        },
                    )
                    .await?;
                list.items.into_iter().map(|i| (i.code, i.name)).collect()
            }
        };
        let choices = match &chosen {
            Some(i) => self.person_choices(i.id, &i.code, &i.district_code).await?,
            None => Vec::new(),
        };
        let inputs = inputs_for(def, t, &Default::default(), &Map::new(), &choices);
        Ok(NewCaseForm {
            ledger: summary,
            action: t.action.clone(),
            school: chosen.map(|i| (i.code, i.name)),
            schools,
            has_files: inputs.iter().any(|i| i.kind == InputKind::File),
            inputs,
        })
    }

    /// Converts form fields (name, text) into the JSON values a step takes: numbers and dates as text (the form
    /// engine normalises them), booleans from `true`/`false`, several values of a multiple enum as an array.
    /// Empty values and unknown names are dropped.
    pub fn ledger_form_values(
        &self,
        ledger: &str,
        pairs: &[(String, String)],
    ) -> Result<Map<String, Value>, AppError> {
        let def = self.ledger_def(ledger)?;
        let mut out = Map::new();
        for (name, text) in pairs {
            let Some(f) = def.form.field(name) else {
                continue;
            };
            let text = text.trim();
            if text.is_empty() || f.computed {
                continue;
            }
            let value = match f.field_type {
                FieldType::Bool => match text {
                    "true" | "1" | "yes" | "on" => Value::Bool(true),
                    "false" | "0" | "no" => Value::Bool(false),
                    other => Value::String(other.to_owned()),
                },
                _ => Value::String(text.to_owned()),
            };
            if f.multiple {
                match out
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(a) => a.push(value),
                    other => *other = Value::Array(vec![value]),
                }
            } else {
                out.insert(name.clone(), value);
            }
        }
        Ok(out)
    }

    /// Opens a case at a school (a school user's own; district and city users name it). Returns the case id.
    pub async fn open_ledger_case(
        &self,
        actor: &Actor,
        ledger: &str,
        school: &str,
        input: StepInput,
        context: &AuditContext,
    ) -> Result<i64, AppError> {
        let def = self.visible_def(actor, ledger)?;
        actor.require(Permission::ManageCases)?;
        let code = match &actor.scope {
            Scope::Institution { code, .. } => code.clone(),
            _ => school.trim().to_owned(),
        };
        let institution = self
            .store
            .institution_by_code(&actor.scope_filter(), &code)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "school",
                    "学校不存在或不在管理范围内 / no such school in your scope",
                )
            })?;
        let standing = standing(actor, def, institution.id, &institution.district_code, None)
            .ok_or(AppError::NotFound)?;
        let t = def
            .transitions
            .iter()
            .find(|t| t.creates && t.action == input.action)
            .or_else(|| {
                (input.action.is_empty())
                    .then(|| def.transitions.iter().find(|t| t.creates))
                    .flatten()
            })
            .ok_or_else(|| {
                AppError::invalid("action", "没有这个新建动作 / no such creating action")
            })?;
        let engine_actor = standing.actor_for(&t.roles);
        let now = self.clock.now();
        let (supplied, attachments, claim) = self
            .prepare_step(
                def,
                institution.id,
                &institution.code,
                &institution.district_code,
                None,
                &input,
                &standing.person,
                now,
            )
            .await?;
        let case_key = new_token()?;
        let case = open_case(
            def,
            "new",
            &institution.code,
            &engine_actor,
            &Step {
                action: t.action.clone(),
                supplied: Value::Object(supplied),
                note: input.note.clone(),
            },
            now,
        )
        .map_err(refusal)?;
        let write = case_write(
            &self.keys,
            def,
            &case,
            &case_key,
            institution.id,
            0..case.history.len(),
            now,
        )?;
        let entry = audit::entry(
            ms(now),
            Some(actor),
            "",
            context,
            &format!("ledger.{}.{}", def.id, t.action),
            "ledger_case",
            "",
            Outcome::Success,
            &format!(
                "school={} state={} files={}",
                institution.code,
                case.state,
                attachments.len()
            ),
        );
        let ids = self
            .store
            .insert_ledger_cases(
                &[NewCase {
                    case: write,
                    attachments,
                    claim,
                }],
                None,
                &[entry],
            )
            .await?;
        ids.first().copied().ok_or(AppError::NotFound)
    }

    /// Applies a step to a case: the engine decides; history, attachments and the audit row are written together.
    pub async fn apply_ledger_action(
        &self,
        actor: &Actor,
        ledger: &str,
        id: i64,
        input: StepInput,
        context: &AuditContext,
    ) -> Result<CaseSummary, AppError> {
        actor.require(Permission::ManageCases)?;
        let (def, record, _, case, standing) = self.load_case(actor, ledger, id).await?;
        if let Some(v) = input.version
            && v != record.version
        {
            return Err(AppError::Conflict(
                "案件已被他人更新，请刷新后重试 / the case changed meanwhile: reload and try again"
                    .into(),
            ));
        }
        let allowed: Vec<LedgerRole> = def
            .transitions
            .iter()
            .filter(|t| !t.creates && t.action == input.action && t.from.contains(&case.state))
            .flat_map(|t| t.roles.iter().copied())
            .collect();
        let engine_actor = standing.actor_for(&allowed);
        let now = self.clock.now();
        let (supplied, attachments, claim) = self
            .prepare_step(
                def,
                record.institution_id,
                &record.institution_code,
                &record.district_code,
                Some(record.id),
                &input,
                &standing.person,
                now,
            )
            .await?;
        let next = apply_action(
            def,
            &case,
            &engine_actor,
            &Step {
                action: input.action.clone(),
                supplied: Value::Object(supplied),
                note: input.note.clone(),
            },
            now,
        )
        .map_err(refusal)?;
        let write = case_write(
            &self.keys,
            def,
            &next,
            &record.case_key,
            record.institution_id,
            case.history.len()..next.history.len(),
            now,
        )?;
        let entry = audit::entry(
            ms(now),
            Some(actor),
            "",
            context,
            &format!("ledger.{}.{}", def.id, input.action),
            "ledger_case",
            &record.id.to_string(),
            Outcome::Success,
            &format!(
                "{} -> {} as {} files={}",
                case.state,
                next.state,
                engine_actor.role.as_str(),
                attachments.len()
            ),
        );
        self.store
            .update_ledger_case(
                record.id,
                record.version,
                &write,
                &attachments,
                &claim,
                &entry,
            )
            .await
            .map_err(|e| match e {
                edu_store::StoreError::Conflict(m) => AppError::Conflict(m),
                other => AppError::Store(other),
            })?;
        let (record, _) = self
            .store
            .ledger_case(&actor.scope_filter(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(summary_of(def, &record, now))
    }

    /// Checks person references and files of a step; returns the values to supply, the new attachments and the
    /// tokens of pre-uploaded attachments to claim. Nothing is written here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn prepare_step(
        &self,
        def: &LedgerDef,
        institution_id: i64,
        institution_code: &str,
        district: &str,
        case_id: Option<i64>,
        input: &StepInput,
        uploader: &str,
        now: Timestamp,
    ) -> Result<(Map<String, Value>, Vec<AttachmentWrite>, Vec<String>), AppError> {
        let mut supplied = input.values.clone();
        let mut errors = Vec::new();
        for (key, value) in &supplied {
            let Some(f) = def.form.field(key) else {
                continue;
            };
            if f.field_type == FieldType::Person
                && let Value::String(reference) = value
                && let Err(reason) = self
                    .check_person(reference, institution_code, district)
                    .await
            {
                errors.push(FieldError::new(key, reason));
            }
        }
        let mut claim = Vec::new();
        for (key, value) in &supplied {
            let Some(f) = def.form.field(key) else {
                continue;
            };
            if f.field_type != FieldType::File {
                continue;
            }
            let tokens: Vec<String> = match value {
                Value::Array(a) => a.iter().map(text_of).collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            for token in tokens {
                match self.store.attachment_meta(&token).await? {
                    Some(meta)
                        if meta.institution_id == institution_id && meta.case_id.is_none() =>
                    {
                        claim.push(token)
                    }
                    Some(meta) if meta.case_id.is_some() && meta.case_id == case_id => {}
                    _ => errors.push(FieldError::new(
                        key,
                        "附件不存在或已被使用 / unknown or already used attachment",
                    )),
                }
            }
        }
        let mut attachments = Vec::new();
        for upload in &input.uploads {
            let Some(f) = def
                .form
                .field(&upload.field)
                .filter(|f| f.field_type == FieldType::File)
            else {
                errors.push(FieldError::new(
                    &upload.field,
                    "不是附件字段 / not a file field",
                ));
                continue;
            };
            match files::sniff(&upload.bytes) {
                Err(refusal) => errors.push(FieldError::new(&upload.field, refusal.message())),
                Ok(kind) => {
                    let token = new_token()?;
                    let content = files::strip_location(kind, &upload.bytes);
                    attachments.push(AttachmentWrite {
                        file_name: format!("{token}.{}", kind.extension()),
                        content_type: kind.content_type().to_owned(),
                        sha256: files::sha256_hex(&content),
                        institution_id,
                        field: f.id.clone(),
                        uploaded_by: uploader.to_owned(),
                        uploaded_at: ms(now),
                        content,
                        token: token.clone(),
                    });
                    let entry = supplied.entry(f.id.clone()).or_insert_with(|| {
                        if f.multiple {
                            Value::Array(Vec::new())
                        } else {
                            Value::Null
                        }
                    });
                    match entry {
                        Value::Array(a) => a.push(Value::String(token)),
                        other => *other = Value::String(token),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok((supplied, attachments, claim))
    }

    /// A person reference must name an active account of the school, its district or the city, or a staff member
    /// of the school.
    async fn check_person(
        &self,
        reference: &str,
        institution_code: &str,
        district: &str,
    ) -> Result<(), String> {
        let bad = || {
            "人员不存在或不属于本校、本区县或市教育局 / unknown person, or not of this school, district or city".to_owned()
        };
        if let Some(username) = reference.strip_prefix("u:") {
            let user = self.store.user_by_name(username).await.map_err(|_| bad())?;
            return match user {
                Some(u)
                    if !u.disabled
                        && (u.scope_code == institution_code
                            || u.scope_code == district
                            || u.scope_code == edu_model::DAQING.to_string()) =>
                {
                    Ok(())
                }
                _ => Err(bad()),
            };
        }
        if let Some(no) = reference.strip_prefix("s:") {
            return match self.store.staff_by_no(no).await.map_err(|_| bad())? {
                Some(s) if s.institution_code == institution_code && s.status == "active" => Ok(()),
                _ => Err(bad()),
            };
        }
        Err(bad())
    }

    /// Per org unit counts of a ledger at now: the city (or the actor's district) first, then districts, then (for
    /// a district or school user) schools.
    pub async fn ledger_unit_counts(
        &self,
        actor: &Actor,
        ledger: &str,
    ) -> Result<Vec<UnitCounts>, AppError> {
        let def = self.visible_def(actor, ledger)?;
        let now = self.clock.now();
        let today = china_date(now).to_string();
        let rows = self
            .store
            .ledger_counts(&actor.scope_filter(), &def.id, ms(now), &today)
            .await?;
        Ok(roll_up(actor, &rows))
    }

    /// An attachment of a case the actor may see (the field must be visible to them). Every download is audited.
    pub async fn ledger_attachment(
        &self,
        actor: &Actor,
        token: &str,
        context: &AuditContext,
    ) -> Result<(AttachmentMeta, Vec<u8>), AppError> {
        require_read(actor)?;
        let meta = self
            .store
            .attachment_meta(token)
            .await?
            .ok_or(AppError::NotFound)?;
        match meta.case_id {
            Some(case_id) => {
                let (record, _) = self
                    .store
                    .ledger_case(&actor.scope_filter(), case_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let (def, _, _, case, standing) =
                    self.load_case(actor, &record.ledger, case_id).await?;
                let view = view_case(def, &case, &standing.viewer());
                if view.hidden_fields.contains(&meta.field) {
                    return Err(AppError::NotFound);
                }
            }
            // Unclaimed: only its uploader.
            None if meta.uploaded_by == super::person_of(actor) => {}
            None => return Err(AppError::NotFound),
        }
        let bytes = self
            .store
            .attachment_content(token)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            "ledger.attachment.download",
            "ledger_attachment",
            &meta.id.to_string(),
            Outcome::Success,
            &format!("case={}", meta.case_id.unwrap_or(0)),
        ))
        .await?;
        tx.commit().await?;
        Ok((meta, bytes))
    }

    /// Uploads a file ahead of the step that will use it (API clients): returns its token.
    pub async fn upload_ledger_attachment(
        &self,
        actor: &Actor,
        school: &str,
        upload: &Upload,
        context: &AuditContext,
    ) -> Result<AttachmentMeta, AppError> {
        require_read(actor)?;
        actor.require(Permission::ManageCases)?;
        let code = match &actor.scope {
            Scope::Institution { code, .. } => code.clone(),
            _ => school.trim().to_owned(),
        };
        let institution = self
            .store
            .institution_by_code(&actor.scope_filter(), &code)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "school",
                    "学校不存在或不在管理范围内 / no such school in your scope",
                )
            })?;
        let kind =
            files::sniff(&upload.bytes).map_err(|r| AppError::invalid("file", r.message()))?;
        let now = self.clock.now();
        let token = new_token()?;
        let content = files::strip_location(kind, &upload.bytes);
        let write = AttachmentWrite {
            file_name: format!("{token}.{}", kind.extension()),
            content_type: kind.content_type().to_owned(),
            sha256: files::sha256_hex(&content),
            institution_id: institution.id,
            field: upload.field.clone(),
            uploaded_by: super::person_of(actor),
            uploaded_at: ms(now),
            content,
            token: token.clone(),
        };
        self.store
            .insert_attachment(
                &write,
                &audit::entry(
                    ms(now),
                    Some(actor),
                    "",
                    context,
                    "ledger.attachment.upload",
                    "ledger_attachment",
                    &token,
                    Outcome::Success,
                    &format!(
                        "school={} type={} size={}",
                        institution.code,
                        write.content_type,
                        write.content.len()
                    ),
                ),
            )
            .await?;
        self.store
            .attachment_meta(&token)
            .await?
            .ok_or(AppError::NotFound)
    }
}

/// The negative list's decision for a request registered in `case` (None for other ledgers or other states).
fn negative_decision(def: &LedgerDef, case: &Case) -> Option<edu_ledger::BurdenDecision> {
    let list = def.negative_list.as_ref()?;
    if def.state(&case.state).is_none_or(|s| s.terminal) {
        return None;
    }
    let text = |f: &str| {
        case.values
            .get(f)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let date = text("received_on")
        .and_then(|d| edu_form::china_time::parse_date(&d))
        .unwrap_or_else(|| china_date(case.created_at));
    let request = edu_ledger::BurdenRequest {
        issuer: text("issuer").unwrap_or_default(),
        category: list.category_field.as_deref().and_then(text),
        description: text("description").unwrap_or_default(),
        date,
    };
    Some(edu_ledger::match_request(list, &request))
}

/// The inputs of a step: its required fields first, then the allowed ones, in form order.
fn inputs_for(
    def: &LedgerDef,
    t: &edu_ledger::TransitionDef,
    values: &edu_form::Values,
    prefill: &Map<String, Value>,
    people: &[(String, String, String)],
) -> Vec<FieldInput> {
    let mut out = Vec::new();
    for required in [true, false] {
        for f in &def.form.fields {
            let listed = if required {
                t.requires.contains(&f.id)
            } else {
                t.allows.contains(&f.id) && !t.requires.contains(&f.id)
            };
            if !listed {
                continue;
            }
            let kind = input_kind(f);
            let options = match kind {
                InputKind::Enum => f
                    .options
                    .iter()
                    .map(|o| {
                        (
                            o.value.clone(),
                            o.label.clone(),
                            en_or(&o.label, &o.label_en),
                        )
                    })
                    .collect(),
                InputKind::Person => people.to_vec(),
                _ => Vec::new(),
            };
            let current = prefill
                .get(&f.id)
                .or_else(|| {
                    // Sensitive values are never echoed into forms.
                    (!f.sensitive && kind != InputKind::File)
                        .then(|| values.get(&f.id))
                        .flatten()
                })
                .map(text_of)
                .unwrap_or_default();
            out.push(FieldInput {
                id: f.id.clone(),
                label: f.label.clone(),
                label_en: en_or(&f.label, &f.label_en),
                kind,
                required,
                multiple: f.multiple,
                options,
                current,
                unit: f.unit.clone().unwrap_or_default(),
                help: f.help.clone().unwrap_or_default(),
                min_files: t
                    .evidence
                    .iter()
                    .find(|e| e.field == f.id)
                    .map(|e| e.min)
                    .unwrap_or(0),
            });
        }
    }
    out
}

fn staff_role_label(role: &str) -> (&'static str, &'static str) {
    match role {
        "principal" => ("校长", "principal"),
        "security_guard" => ("保安", "guard"),
        "doctor" => ("校医", "doctor"),
        "nurse" => ("保健员", "nurse"),
        "teacher" => ("教师", "teacher"),
        "cook" => ("厨师", "cook"),
        "driver" => ("驾驶员", "driver"),
        _ => ("职工", "staff"),
    }
}

/// Masks a sensitive text for display: phone numbers keep 3 + 4 digits, other text its first character.
fn mask_text(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_digit() || c == '-') && text.len() >= 7 {
        edu_model::mask::mask_phone(text)
    } else {
        edu_model::mask::mask_name(text)
    }
}

/// A value as Chinese text. Person references come back as `@person:<ref>` for the caller to resolve.
pub(crate) fn display_plain(f: &FieldDef, v: &Value, mask: bool) -> String {
    display(f, v, mask, false)
}

fn display_en(f: &FieldDef, v: &Value, mask: bool) -> String {
    display(f, v, mask, true)
}

fn display(f: &FieldDef, v: &Value, mask: bool, en: bool) -> String {
    let text = match (f.field_type, v) {
        (FieldType::Bool, Value::Bool(b)) => match (b, en) {
            (true, false) => "是".to_owned(),
            (false, false) => "否".to_owned(),
            (true, true) => "yes".to_owned(),
            (false, true) => "no".to_owned(),
        },
        (FieldType::Enum, Value::Array(items)) => items
            .iter()
            .map(|i| option_label(f, &text_of(i), en))
            .collect::<Vec<_>>()
            .join(if en { ", " } else { "、" }),
        (FieldType::Enum, other) => option_label(f, &text_of(other), en),
        (FieldType::Person, other) => format!("@person:{}", text_of(other)),
        (FieldType::File, Value::Array(items)) => {
            if en {
                format!("{} file(s)", items.len())
            } else {
                format!("{} 个文件", items.len())
            }
        }
        (FieldType::List, Value::Array(items)) => {
            if en {
                format!("{} row(s)", items.len())
            } else {
                format!("{} 条", items.len())
            }
        }
        (_, other) => {
            let t = text_of(other);
            match &f.unit {
                Some(u) if !t.is_empty() && f.field_type.is_numeric() => format!("{t} {u}"),
                _ => t,
            }
        }
    };
    if mask && f.field_type != FieldType::Person {
        mask_text(&text)
    } else {
        text
    }
}

fn option_label(f: &FieldDef, value: &str, en: bool) -> String {
    f.option(value)
        .map(|o| {
            if en {
                en_or(&o.label, &o.label_en)
            } else {
                o.label.clone()
            }
        })
        .unwrap_or_else(|| value.to_owned())
}

/// Sums per-school rows into the org units the actor oversees.
fn roll_up(actor: &Actor, rows: &[LedgerCountRow]) -> Vec<UnitCounts> {
    let mut out = Vec::new();
    let district_name = |code: &str| {
        edu_model::DAQING_DISTRICTS
            .iter()
            .find(|d| d.code.to_string() == code)
            .map(|d| d.name.to_owned())
            .unwrap_or_else(|| code.to_owned())
    };
    let mut top = UnitCounts {
        code: actor.scope.code().to_owned(),
        level: match actor.scope {
            Scope::City { .. } => "city",
            Scope::District { .. } => "district",
            Scope::Institution { .. } => "school",
        }
        .to_owned(),
        name: match &actor.scope {
            Scope::City { .. } => "大庆市".to_owned(),
            Scope::District { code } => district_name(code),
            Scope::Institution { .. } => rows
                .first()
                .map(|r| r.institution_name.clone())
                .unwrap_or_default(),
        },
        ..UnitCounts::default()
    };
    for r in rows {
        top.add(r);
    }
    out.push(top);
    if matches!(actor.scope, Scope::City { .. }) {
        for d in edu_model::DAQING_DISTRICTS {
            let code = d.code.to_string();
            let mut unit = UnitCounts {
                code: code.clone(),
                name: d.name.to_owned(),
                level: "district".to_owned(),
                ..UnitCounts::default()
            };
            for r in rows.iter().filter(|r| r.district_code == code) {
                unit.add(r);
            }
            out.push(unit);
        }
    }
    if matches!(actor.scope, Scope::District { .. }) {
        for r in rows {
            let mut unit = UnitCounts {
                code: r.institution_code.clone(),
                name: r.institution_name.clone(),
                level: "school".to_owned(),
                ..UnitCounts::default()
            };
            unit.add(r);
            out.push(unit);
        }
    }
    out
}
