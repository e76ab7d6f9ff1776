//! Cases and their transitions: who may do what, with which fields and evidence, under which guards; every step
//! recorded in the history with who, when and what changed.

use std::collections::BTreeSet;

use edu_form::china_time::china_date;
use edu_form::{FieldError, ValidationContext, Values, numeric_value, validate_patch};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deadline::state_deadline;
use crate::def::{Guard, LedgerDef, Role, TransitionDef};
use crate::lec::grade_lec;

/// Where the actor works, relative to the case's school (the platform computes it from the org tree).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The actor works at the case's school.
    OwnSchool,
    /// The actor works at the district bureau over the school.
    OwnDistrict,
    /// The actor works at the city bureau.
    City,
    /// Anything else (another school, another district).
    Unrelated,
}

/// Who acts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Person reference (compared with the case's assignee fields).
    pub person: String,
    /// Role.
    pub role: Role,
    /// Relation to the case's school.
    pub relation: Relation,
}

impl Actor {
    /// True when the role may act on a case of a school in this relation: school roles at their own school,
    /// district admins in their district, city admins at the city, investigators and inspectors at district or city,
    /// the system anywhere.
    pub fn in_scope(&self) -> bool {
        match self.role {
            Role::SchoolAdmin | Role::SchoolSafetyOfficer | Role::Teacher => {
                self.relation == Relation::OwnSchool
            }
            Role::DistrictAdmin => self.relation == Relation::OwnDistrict,
            Role::CityAdmin => self.relation == Relation::City,
            Role::Investigator | Role::Inspector => {
                matches!(self.relation, Relation::OwnDistrict | Relation::City)
            }
            Role::System => true,
        }
    }
}

/// One changed field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field id.
    pub field: String,
    /// Value before (`None` = absent).
    pub before: Option<Value>,
    /// Value after.
    pub after: Option<Value>,
}

/// One step of a case's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// 1, 2, …
    pub seq: u32,
    /// When.
    pub at: Timestamp,
    /// Who (person reference).
    pub actor: String,
    /// In which role.
    pub role: Role,
    /// Action.
    pub action: String,
    /// State before (`None` for the creating action).
    pub from: Option<String>,
    /// State after.
    pub to: String,
    /// What changed.
    pub changes: Vec<FieldChange>,
    /// Free note.
    pub note: Option<String>,
}

/// A case of a ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Id (the platform's).
    pub id: String,
    /// Ledger id.
    pub ledger: String,
    /// School (org-unit id) the case belongs to.
    pub school: String,
    /// Current state.
    pub state: String,
    /// Current values.
    pub values: Values,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it entered its current state.
    pub state_entered_at: Timestamp,
    /// Every step, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl Case {
    /// The case as it was at `now`, rebuilt from its history (`None` if created later). Lets status and metrics be
    /// asked as of any past instant.
    pub fn as_of(&self, now: Timestamp) -> Option<Case> {
        let first = self.history.first()?;
        if first.at > now {
            return None;
        }
        if self.history.last().is_some_and(|h| h.at <= now) {
            return Some(self.clone());
        }
        let mut case = Case {
            id: self.id.clone(),
            ledger: self.ledger.clone(),
            school: self.school.clone(),
            state: first.to.clone(),
            values: Values::new(),
            created_at: self.created_at,
            state_entered_at: first.at,
            history: Vec::new(),
        };
        for entry in self.history.iter().take_while(|h| h.at <= now) {
            for change in &entry.changes {
                match &change.after {
                    Some(v) => case.values.insert(change.field.clone(), v.clone()),
                    None => case.values.remove(&change.field),
                };
            }
            if entry.from.as_deref() != Some(entry.to.as_str()) {
                case.state_entered_at = entry.at;
            }
            case.state = entry.to.clone();
            case.history.push(entry.clone());
        }
        Some(case)
    }

    /// True when the case has been in `state`.
    pub fn visited(&self, state: &str) -> bool {
        self.history.iter().any(|h| h.to == state)
    }

    /// True when `person` is named in one of the ledger's assignee fields.
    pub fn is_assigned(&self, def: &LedgerDef, person: &str) -> bool {
        def.assignee_fields
            .iter()
            .any(|f| match self.values.get(f) {
                Some(Value::String(s)) => s == person,
                Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(person)),
                _ => false,
            })
    }
}

/// The rule a refused step broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionRule {
    /// The case belongs to another ledger.
    WrongLedger,
    /// The step is dated before the case's last step.
    TimeOrder,
    /// No such action in the ledger.
    UnknownAction,
    /// The action does not start from the case's state.
    WrongState,
    /// The role may not do this action.
    RoleNotAllowed,
    /// The actor's role does not reach this school.
    OutOfScope,
    /// Only an assigned person may do it.
    NotAssigned,
    /// A supplied field is not part of this step.
    FieldNotAllowed,
    /// A required field was not supplied.
    RequiredField,
    /// A supplied value is invalid.
    InvalidValue,
    /// Not enough evidence attachments.
    EvidenceMissing,
    /// A guard failed.
    GuardFailed,
    /// LEC factors off their scales.
    InvalidLec,
}

/// A refused step, naming the rule (and the field when there is one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{rule:?}: {message_en}")]
pub struct TransitionError {
    /// The rule.
    pub rule: TransitionRule,
    /// The field concerned.
    pub field: Option<String>,
    /// Chinese explanation.
    pub message: String,
    /// English explanation.
    pub message_en: String,
    /// Field errors (for `invalid_value`).
    pub details: Vec<FieldError>,
}

fn refuse(
    rule: TransitionRule,
    field: Option<&str>,
    message: String,
    message_en: String,
) -> TransitionError {
    TransitionError {
        rule,
        field: field.map(str::to_string),
        message,
        message_en,
        details: Vec::new(),
    }
}

/// What a step asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Action name.
    pub action: String,
    /// Field values supplied (a JSON object; `{}` when none).
    #[serde(default = "empty_object")]
    pub supplied: Value,
    /// Free note recorded in the history.
    #[serde(default)]
    pub note: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Opens a case with a creating action.
pub fn open_case(
    def: &LedgerDef,
    case_id: &str,
    school: &str,
    actor: &Actor,
    step: &Step,
    now: Timestamp,
) -> Result<Case, TransitionError> {
    let Some(t) = def
        .transitions
        .iter()
        .find(|t| t.creates && t.action == step.action)
    else {
        return Err(refuse(
            TransitionRule::UnknownAction,
            None,
            format!("“{}”没有新建动作 {}", def.title, step.action),
            format!("ledger {} has no creating action {}", def.id, step.action),
        ));
    };
    let blank = Case {
        id: case_id.to_string(),
        ledger: def.id.clone(),
        school: school.to_string(),
        state: String::new(),
        values: Values::new(),
        created_at: now,
        state_entered_at: now,
        history: Vec::new(),
    };
    run(def, &blank, t, actor, step, now)
}

/// Applies an action to a case: the new case (with a history entry appended) or the rule that refuses it.
///
/// Checks, in order: ledger, time order, action exists, action starts from the case's state, role, scope
/// ([`Actor::in_scope`]), assignment, supplied fields ⊆ requires ∪ allows, values valid, required fields supplied,
/// evidence, guards (on the values after the step), LEC factors.
pub fn apply_action(
    def: &LedgerDef,
    case: &Case,
    actor: &Actor,
    step: &Step,
    now: Timestamp,
) -> Result<Case, TransitionError> {
    if case.ledger != def.id {
        return Err(refuse(
            TransitionRule::WrongLedger,
            None,
            format!("案件属于台账 {}，不属于 {}", case.ledger, def.id),
            format!("the case belongs to ledger {}, not {}", case.ledger, def.id),
        ));
    }
    let candidates: Vec<&TransitionDef> = def
        .transitions
        .iter()
        .filter(|t| !t.creates && t.action == step.action)
        .collect();
    if candidates.is_empty() {
        return Err(refuse(
            TransitionRule::UnknownAction,
            None,
            format!("“{}”没有动作 {}", def.title, step.action),
            format!("ledger {} has no action {}", def.id, step.action),
        ));
    }
    let Some(t) = candidates.iter().find(|t| t.from.contains(&case.state)) else {
        let allowed: BTreeSet<&str> = candidates
            .iter()
            .flat_map(|t| t.from.iter().map(String::as_str))
            .collect();
        let allowed: Vec<&str> = allowed.into_iter().collect();
        return Err(refuse(
            TransitionRule::WrongState,
            None,
            format!(
                "当前状态“{}”不能执行“{}”，只能从 {} 执行",
                state_label(def, &case.state),
                candidates[0].label,
                allowed.join("、")
            ),
            format!(
                "{} is not possible from state {}; allowed from: {}",
                step.action,
                case.state,
                allowed.join(", ")
            ),
        ));
    };
    run(def, case, t, actor, step, now)
}

fn state_label<'a>(def: &'a LedgerDef, state: &'a str) -> &'a str {
    def.state(state).map(|s| s.label.as_str()).unwrap_or(state)
}

fn run(
    def: &LedgerDef,
    case: &Case,
    t: &TransitionDef,
    actor: &Actor,
    step: &Step,
    now: Timestamp,
) -> Result<Case, TransitionError> {
    if let Some(last) = case.history.last()
        && now < last.at
    {
        return Err(refuse(
            TransitionRule::TimeOrder,
            None,
            "操作时间早于该案件上一步".into(),
            "the step is dated before the case's previous step".into(),
        ));
    }
    if !t.roles.contains(&actor.role) {
        let roles: Vec<&str> = t.roles.iter().map(|r| r.as_str()).collect();
        return Err(refuse(
            TransitionRule::RoleNotAllowed,
            None,
            format!(
                "角色 {} 不能执行“{}”，允许的角色：{}",
                actor.role.as_str(),
                t.label,
                roles.join("、")
            ),
            format!(
                "role {} may not {}; allowed: {}",
                actor.role.as_str(),
                t.action,
                roles.join(", ")
            ),
        ));
    }
    if !actor.in_scope() {
        return Err(refuse(
            TransitionRule::OutOfScope,
            None,
            format!("角色 {} 无权处理该校案件", actor.role.as_str()),
            format!(
                "role {} does not reach this school ({:?})",
                actor.role.as_str(),
                actor.relation
            ),
        ));
    }
    if t.assigned_only && !case.is_assigned(def, &actor.person) {
        return Err(refuse(
            TransitionRule::NotAssigned,
            def.assignee_fields.first().map(String::as_str),
            format!("只有被指派的人员才能执行“{}”", t.label),
            format!("only the person assigned to the case may {}", t.action),
        ));
    }
    let Some(supplied) = step.supplied.as_object() else {
        return Err(refuse(
            TransitionRule::InvalidValue,
            None,
            "提交内容应为对象".into(),
            "supplied values must be an object".into(),
        ));
    };
    for key in supplied.keys() {
        if !t.requires.contains(key) && !t.allows.contains(key) {
            return Err(refuse(
                TransitionRule::FieldNotAllowed,
                Some(key),
                format!("“{}”这一步不能填写字段 {key}", t.label),
                format!("field {key} cannot be set by {}", t.action),
            ));
        }
    }
    let ctx = ValidationContext {
        reference_date: Some(china_date(now)),
    };
    let mut merged =
        validate_patch(&def.form, &case.values, &step.supplied, &ctx).map_err(|e| {
            TransitionError {
                rule: TransitionRule::InvalidValue,
                field: e.0.first().map(|f| f.field.clone()),
                message: e.0.first().map(|f| f.message.clone()).unwrap_or_default(),
                message_en: e
                    .0
                    .first()
                    .map(|f| f.message_en.clone())
                    .unwrap_or_default(),
                details: e.0,
            }
        })?;
    for f in &t.requires {
        let given = supplied.get(f).is_some_and(|v| !is_empty(v));
        if !given {
            let label = def.form.field(f).map(|x| x.label.as_str()).unwrap_or(f);
            return Err(refuse(
                TransitionRule::RequiredField,
                Some(f),
                format!("“{}”必须填写“{label}”", t.label),
                format!("{} requires field {f}", t.action),
            ));
        }
    }
    for e in &t.evidence {
        let count = match supplied.get(&e.field) {
            Some(Value::Array(a)) => a.len(),
            Some(Value::String(s)) if !s.trim().is_empty() => 1,
            _ => 0,
        };
        if count < e.min {
            return Err(refuse(
                TransitionRule::EvidenceMissing,
                Some(&e.field),
                format!(
                    "“{}”须上传至少 {} 个佐证材料（已上传 {count} 个）",
                    t.label, e.min
                ),
                format!(
                    "{} needs at least {} attachments in {} (got {count})",
                    t.action, e.min, e.field
                ),
            ));
        }
    }
    apply_lec(def, &mut merged)?;
    let mut probe = case.clone();
    probe.values = merged.clone();
    for g in &t.guards {
        if !guard_holds(def, &probe, g, now) {
            return Err(TransitionError {
                rule: TransitionRule::GuardFailed,
                field: g.field.clone(),
                message: g.message.clone(),
                message_en: if g.message_en.is_empty() {
                    g.message.clone()
                } else {
                    g.message_en.clone()
                },
                details: Vec::new(),
            });
        }
    }
    let keys: BTreeSet<&String> = case.values.keys().chain(merged.keys()).collect();
    let changes: Vec<FieldChange> = keys
        .into_iter()
        .filter(|k| case.values.get(*k) != merged.get(*k))
        .map(|k| FieldChange {
            field: k.clone(),
            before: case.values.get(k).cloned(),
            after: merged.get(k).cloned(),
        })
        .collect();
    let from = if t.creates {
        None
    } else {
        Some(case.state.clone())
    };
    let mut next = case.clone();
    if from.as_deref() != Some(t.to.as_str()) {
        next.state_entered_at = now;
    }
    next.state = t.to.clone();
    next.values = merged;
    next.history.push(HistoryEntry {
        seq: case.history.len() as u32 + 1,
        at: now,
        actor: actor.person.clone(),
        role: actor.role,
        action: t.action.clone(),
        from,
        to: t.to.clone(),
        changes,
        note: step
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
    });
    Ok(next)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn guard_holds(def: &LedgerDef, case: &Case, g: &Guard, now: Timestamp) -> bool {
    if let Some(field) = &g.field {
        let Some(value) = case.values.get(field) else {
            return false;
        };
        let text = as_text(value);
        return match &g.equals {
            Some(want) => &text == want,
            None => g.any_of.contains(&text),
        };
    }
    if let Some(want) = g.overdue {
        let overdue = state_deadline(def, case).is_some_and(|d| now > d);
        return overdue == want;
    }
    if let Some(state) = &g.visited {
        return case.visited(state);
    }
    false
}

/// Computes the LEC score and level fields when the ledger grades by LEC.
fn apply_lec(def: &LedgerDef, values: &mut Values) -> Result<(), TransitionError> {
    let Some(lec) = &def.lec else { return Ok(()) };
    let factors = (
        numeric_value(values, &lec.l),
        numeric_value(values, &lec.e),
        numeric_value(values, &lec.c),
    );
    let (Some(l), Some(e), Some(c)) = factors else {
        values.remove(&lec.score);
        values.remove(&lec.level);
        return Ok(());
    };
    let grade = grade_lec(l, e, c, &lec.thresholds).map_err(|err| {
        let field = match err.factor.as_str() {
            "L" => &lec.l,
            "E" => &lec.e,
            _ => &lec.c,
        };
        refuse(
            TransitionRule::InvalidLec,
            Some(field),
            format!(
                "{} = {} 不在 LEC 取值范围内（可选：{}）",
                err.factor, err.value, err.allowed
            ),
            err.to_string(),
        )
    })?;
    let scale = def
        .form
        .field(&lec.score)
        .map(|f| f.effective_scale())
        .unwrap_or(2)
        .max(grade.d.scale());
    values.insert(
        lec.score.clone(),
        Value::String(grade.d.to_string_with_scale(scale)),
    );
    values.insert(
        lec.level.clone(),
        Value::String(grade.level.as_str().to_string()),
    );
    Ok(())
}

/// An action the actor may take now (guards that depend on values supplied in the step are not evaluated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailableAction {
    /// Action.
    pub action: String,
    /// Chinese label.
    pub label: String,
    /// Target state.
    pub to: String,
    /// Fields required.
    pub requires: Vec<String>,
    /// Fields allowed.
    pub allows: Vec<String>,
}

/// Actions the actor may take on the case now: state, role, scope, assignment and the guards on overdue and visited
/// states match.
pub fn available_actions(
    def: &LedgerDef,
    case: &Case,
    actor: &Actor,
    now: Timestamp,
) -> Vec<AvailableAction> {
    def.transitions
        .iter()
        .filter(|t| !t.creates && t.from.contains(&case.state))
        .filter(|t| t.roles.contains(&actor.role) && actor.in_scope())
        .filter(|t| !t.assigned_only || case.is_assigned(def, &actor.person))
        .filter(|t| {
            t.guards
                .iter()
                .filter(|g| g.field.is_none())
                .all(|g| guard_holds(def, case, g, now))
        })
        .map(|t| AvailableAction {
            action: t.action.clone(),
            label: t.label.clone(),
            to: t.to.clone(),
            requires: t.requires.clone(),
            allows: t.allows.clone(),
        })
        .collect()
}

/// A case as one viewer may see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseView {
    /// Values the viewer may read.
    pub values: Values,
    /// History with hidden fields' changes removed.
    pub history: Vec<HistoryEntry>,
    /// Fields withheld from this viewer.
    pub hidden_fields: Vec<String>,
    /// Sensitive fields shown (the platform masks them by default).
    pub sensitive_fields: Vec<String>,
}

/// The case as `viewer` may see it: a field with `visible_to` is shown only to those roles (and, when the ledger is
/// `confidential_assigned_only`, only if the viewer is assigned to the case); hidden fields are also removed from the
/// history's changes. Whether the viewer may open the case at all is the platform's access control.
pub fn view_case(def: &LedgerDef, case: &Case, viewer: &Actor) -> CaseView {
    let assigned = case.is_assigned(def, &viewer.person);
    let hidden: BTreeSet<String> = def
        .form
        .fields
        .iter()
        .filter(|f| {
            !f.visible_to.is_empty()
                && (!f.visible_to.iter().any(|r| r == viewer.role.as_str())
                    || (def.confidential_assigned_only && !assigned))
        })
        .map(|f| f.id.clone())
        .collect();
    let values: Values = case
        .values
        .iter()
        .filter(|(k, _)| !hidden.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let history = case
        .history
        .iter()
        .map(|h| HistoryEntry {
            changes: h
                .changes
                .iter()
                .filter(|c| !hidden.contains(&c.field))
                .cloned()
                .collect(),
            ..h.clone()
        })
        .collect();
    let sensitive_fields = def
        .form
        .fields
        .iter()
        .filter(|f| f.sensitive && values.contains_key(&f.id))
        .map(|f| f.id.clone())
        .collect();
    CaseView {
        values,
        history,
        hidden_fields: hidden.into_iter().collect(),
        sensitive_fields,
    }
}
