//! Ledger definitions as data (`[ledgers.<id>]` TOML tables): fields, states, transitions, deadlines, escalation,
//! LEC grading, review schedule, checklists and the negative list; and their consistency checks.

use std::collections::{BTreeMap, BTreeSet};

use edu_form::{DefProblem, FieldType, FormDef};
use serde::{Deserialize, Serialize};

use crate::checklist::{Checklist, FindingFields};
use crate::lec::{LecThresholds, ReviewSchedule, RiskLevel};
use crate::negative::NegativeList;

/// Who acts on a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 学校管理员 (principal's office).
    SchoolAdmin,
    /// 学校安全员.
    SchoolSafetyOfficer,
    /// 教师.
    Teacher,
    /// 区县教育局管理员.
    DistrictAdmin,
    /// 市教育局管理员.
    CityAdmin,
    /// 调查人员 (complaints).
    Investigator,
    /// 督导检查人员.
    Inspector,
    /// The platform itself (scheduled escalation); never a person.
    System,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SchoolAdmin => "school_admin",
            Role::SchoolSafetyOfficer => "school_safety_officer",
            Role::Teacher => "teacher",
            Role::DistrictAdmin => "district_admin",
            Role::CityAdmin => "city_admin",
            Role::Investigator => "investigator",
            Role::Inspector => "inspector",
            Role::System => "system",
        }
    }

    /// All roles.
    pub const ALL: [Role; 8] = [
        Role::SchoolAdmin,
        Role::SchoolSafetyOfficer,
        Role::Teacher,
        Role::DistrictAdmin,
        Role::CityAdmin,
        Role::Investigator,
        Role::Inspector,
        Role::System,
    ];
}

/// A ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerDef {
    /// Id: the table key; filled in by [`parse_ledger_defs`].
    #[serde(default)]
    pub id: String,
    /// Chinese title.
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: String,
    /// What the ledger is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enum field whose value selects deadlines by severity (e.g. `severity`: `major` / `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_field: Option<String>,
    /// Field counted by level in metrics (default: `severity_field`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_field: Option<String>,
    /// Person fields naming who is assigned to the case (responsible person, investigator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignee_fields: Vec<String>,
    /// Fields restricted by `visible_to` are shown to an allowed role only when the viewer is also assigned.
    #[serde(default)]
    pub confidential_assigned_only: bool,
    /// The fields.
    pub form: FormDef,
    /// States, in display order.
    pub states: Vec<StateDef>,
    /// Transitions.
    pub transitions: Vec<TransitionDef>,
    /// Escalation of overdue cases.
    #[serde(default)]
    pub escalation: EscalationRule,
    /// LEC grading of the case (risk points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lec: Option<LecFields>,
    /// Review schedule by risk level (risk points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSchedule>,
    /// Inspection checklists whose failed items become findings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checklists: BTreeMap<String, Checklist>,
    /// Where failed checklist items go (new cases of this ledger, or rows of a list field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingFields>,
    /// The negative list of non-teaching demands (negative-list ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_list: Option<NegativeList>,
}

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateDef {
    /// Name (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// A closed state: no transition leaves it (unless declared), counted as closed.
    #[serde(default)]
    pub terminal: bool,
    /// Time allowed in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineRule>,
}

/// Where a deadline's clock starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// When the case entered the state.
    #[default]
    Entered,
    /// When the case was created (e.g. a hazard's rectification deadline counts from its report).
    Created,
}

/// Days allowed, counting the start day as day 1: due at 23:59:59 China time of day N, overdue from day N + 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    /// Where the clock starts.
    #[serde(default)]
    pub from: ClockStart,
    /// Days when no severity rule applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Days by the value of `severity_field`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub days_by_severity: BTreeMap<String, u32>,
}

impl DeadlineRule {
    /// Days for a severity value (falls back to `days`).
    pub fn days_for(&self, severity: Option<&str>) -> Option<u32> {
        severity
            .and_then(|s| self.days_by_severity.get(s).copied())
            .or(self.days)
    }
}

/// A transition (or, with `creates`, the action that opens a case).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionDef {
    /// Action name (`assign`, `close`); the same action may appear for several `from` states.
    pub action: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// Opens a new case (then `from` must be empty).
    #[serde(default)]
    pub creates: bool,
    /// States it may start from.
    #[serde(default)]
    pub from: Vec<String>,
    /// State it leads to.
    pub to: String,
    /// Roles allowed.
    pub roles: Vec<Role>,
    /// Only a person named in one of the ledger's `assignee_fields` may do it.
    #[serde(default)]
    pub assigned_only: bool,
    /// Fields that must be supplied (non-empty) in this step.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Further fields that may be supplied in this step (anything else is refused).
    #[serde(default)]
    pub allows: Vec<String>,
    /// Attachments required in this step.
    #[serde(default)]
    pub evidence: Vec<EvidenceRule>,
    /// Conditions on the case.
    #[serde(default)]
    pub guards: Vec<Guard>,
}

/// At least `min` files must be supplied in `field` (a file field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRule {
    /// File field.
    pub field: String,
    /// Fewest files (default 1).
    #[serde(default = "one")]
    pub min: usize,
}

fn one() -> usize {
    1
}

/// A condition on the case, checked on the values after the step. Exactly one of: `field` with `equals` or
/// `any_of` (compared as text: enum value, `true`/`false`, a number); `overdue` (the current state's deadline has
/// or has not passed); `visited` (the case has been in that state).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// Field tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Required value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
    /// Required overdue status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    /// A state the case must have been in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visited: Option<String>,
    /// Chinese message when the guard fails.
    pub message: String,
    /// English message.
    #[serde(default)]
    pub message_en: String,
}

/// Escalation of cases past their deadline: the school is alerted when the deadline passes, the district
/// `district_after_days` later, the city `city_after_days` later; `immediate` rules raise a case at once
/// (major hazards reach the district on report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    /// Days after the deadline before the district is alerted (default 1).
    #[serde(default = "default_district_days")]
    pub district_after_days: u32,
    /// Days after the deadline before the city is alerted (default 7).
    #[serde(default = "default_city_days")]
    pub city_after_days: u32,
    /// Immediate escalations while the case is open.
    #[serde(default)]
    pub immediate: Vec<ImmediateEscalation>,
}

fn default_district_days() -> u32 {
    1
}
fn default_city_days() -> u32 {
    7
}

impl Default for EscalationRule {
    fn default() -> Self {
        EscalationRule {
            district_after_days: 1,
            city_after_days: 7,
            immediate: Vec::new(),
        }
    }
}

/// While `field` equals `equals`, the case is at least at `level`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImmediateEscalation {
    /// Field.
    pub field: String,
    /// Value.
    pub equals: String,
    /// Level reached.
    pub level: EscalationLevel,
}

/// Who is alerted about a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// The school.
    School,
    /// The district bureau.
    District,
    /// The city bureau.
    City,
}

/// Fields of LEC grading: after every step the engine computes `score` (D) and `level` from `l`, `e`, `c`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LecFields {
    /// L field (decimal).
    pub l: String,
    /// E field (decimal).
    pub e: String,
    /// C field (decimal).
    pub c: String,
    /// Computed D field (decimal).
    pub score: String,
    /// Computed level field (enum with options major, large, general, low).
    pub level: String,
    /// Thresholds.
    #[serde(default)]
    pub thresholds: LecThresholds,
}

/// Why a definitions file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct DefsError {
    /// Every problem, located (`ledgers.hazards.transitions[3].requires`).
    pub problems: Vec<DefProblem>,
}

#[derive(Deserialize)]
struct DefsFile {
    #[serde(default)]
    ledgers: BTreeMap<String, LedgerDef>,
}

/// Parses `[ledgers.<id>]` tables (other top-level tables are ignored) and checks every definition.
pub fn parse_ledger_defs(text: &str) -> Result<BTreeMap<String, LedgerDef>, DefsError> {
    let file: DefsFile = toml::from_str(text).map_err(|e| DefsError {
        problems: vec![DefProblem {
            at: "ledgers".into(),
            problem: e.to_string(),
        }],
    })?;
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (id, mut def) in file.ledgers {
        if !def.id.is_empty() && def.id != id {
            problems.push(DefProblem {
                at: format!("ledgers.{id}.id"),
                problem: "differs from the table key".into(),
            });
        }
        def.id = id.clone();
        for p in def.check() {
            problems.push(DefProblem {
                at: format!("ledgers.{id}.{}", p.at),
                problem: p.problem,
            });
        }
        out.insert(id, def);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(DefsError { problems })
    }
}

fn is_valid_ledger_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl LedgerDef {
    /// The state with this name.
    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.name == name)
    }

    /// The effective level field for metrics.
    pub fn level_field(&self) -> Option<&str> {
        self.level_field
            .as_deref()
            .or(self.severity_field.as_deref())
            .or(self.lec.as_ref().map(|l| l.level.as_str()))
    }

    /// Days allowed for a severity, from the first state whose deadline depends on severity (the rectification
    /// deadline of a hazard); used to tell an inspector what a finding's deadline will be.
    pub fn days_for_severity(&self, severity: &str) -> Option<u32> {
        self.states
            .iter()
            .filter_map(|s| s.deadline.as_ref())
            .find(|d| !d.days_by_severity.is_empty())
            .and_then(|d| d.days_for(Some(severity)))
    }

    /// Problems with the definition; empty when it is usable.
    pub fn check(&self) -> Vec<DefProblem> {
        let mut problems: Vec<DefProblem> = Vec::new();
        let mut problem = |at: String, p: String| problems.push(DefProblem { at, problem: p });
        if !self.id.is_empty() && !is_valid_ledger_id(&self.id) {
            problem("id".into(), "must match [a-z][a-z0-9-]*".into());
        }
        if self.title.trim().is_empty() {
            problem("title".into(), "empty".into());
        }
        for p in self.form.check() {
            problem(format!("form.{}", p.at), p.problem);
        }
        let field_type = |id: &str| self.form.field(id).map(|f| f.field_type);
        let severity_options: Option<BTreeSet<String>> = match &self.severity_field {
            None => None,
            Some(f) => match self.form.field(f) {
                Some(fd) if fd.field_type == FieldType::Enum => {
                    Some(fd.options.iter().map(|o| o.value.clone()).collect())
                }
                _ => {
                    problem(
                        "severity_field".into(),
                        format!("{f:?} is not an enum field"),
                    );
                    None
                }
            },
        };
        if let Some(f) = &self.level_field
            && field_type(f) != Some(FieldType::Enum)
        {
            problem("level_field".into(), format!("{f:?} is not an enum field"));
        }
        for f in self
            .form
            .fields
            .iter()
            .chain(self.form.fields.iter().flat_map(|f| f.columns.iter()))
        {
            for role in &f.visible_to {
                if !Role::ALL.iter().any(|r| r.as_str() == role) {
                    problem(
                        format!("form.{}", f.id),
                        format!("visible_to names unknown role {role:?}"),
                    );
                }
            }
        }
        for f in &self.assignee_fields {
            if field_type(f) != Some(FieldType::Person) {
                problem(
                    "assignee_fields".into(),
                    format!("{f:?} is not a person field"),
                );
            }
        }
        // States.
        let mut names = BTreeSet::new();
        for (i, s) in self.states.iter().enumerate() {
            let at = format!("states[{i}]");
            if !edu_form::is_valid_id(&s.name) || !names.insert(s.name.as_str()) {
                problem(
                    at.clone(),
                    format!("state name {:?} is invalid or repeated", s.name),
                );
            }
            if s.label.trim().is_empty() {
                problem(at.clone(), "state without a Chinese label".into());
            }
            if let Some(d) = &s.deadline {
                if d.days.is_none() && d.days_by_severity.is_empty() {
                    problem(
                        format!("{at}.deadline"),
                        "needs days or days_by_severity".into(),
                    );
                }
                if d.days == Some(0) || d.days_by_severity.values().any(|v| *v == 0) {
                    problem(
                        format!("{at}.deadline"),
                        "days count from 1 (the start day)".into(),
                    );
                }
                if !d.days_by_severity.is_empty() {
                    match &severity_options {
                        None => problem(
                            format!("{at}.deadline"),
                            "days_by_severity needs a severity_field".into(),
                        ),
                        Some(options) => {
                            for k in d.days_by_severity.keys() {
                                if !options.contains(k) {
                                    problem(
                                        format!("{at}.deadline"),
                                        format!("{k:?} is not a severity option"),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        // Transitions.
        let mut creates = 0;
        for (i, t) in self.transitions.iter().enumerate() {
            let at = format!("transitions[{i}]");
            if !edu_form::is_valid_id(&t.action) {
                problem(at.clone(), format!("action {:?} is not an id", t.action));
            }
            if t.label.trim().is_empty() {
                problem(at.clone(), "transition without a Chinese label".into());
            }
            if t.creates {
                creates += 1;
                if !t.from.is_empty() {
                    problem(
                        format!("{at}.from"),
                        "a creating action starts from no state".into(),
                    );
                }
            } else if t.from.is_empty() {
                problem(format!("{at}.from"), "no state to start from".into());
            }
            for s in &t.from {
                match self.state(s) {
                    None => problem(format!("{at}.from"), format!("unknown state {s:?}")),
                    Some(state)
                        if state.terminal
                            && !t.action.starts_with("reopen")
                            && !t.action.starts_with("revoke") =>
                    {
                        problem(
                            format!("{at}.from"),
                            format!("{s:?} is terminal: only reopen*/revoke* actions leave it"),
                        )
                    }
                    Some(_) => {}
                }
            }
            if self.state(&t.to).is_none() {
                problem(format!("{at}.to"), format!("unknown state {:?}", t.to));
            }
            if t.roles.is_empty() {
                problem(format!("{at}.roles"), "nobody may do it".into());
            }
            if t.assigned_only && self.assignee_fields.is_empty() {
                problem(
                    format!("{at}.assigned_only"),
                    "the ledger names no assignee_fields".into(),
                );
            }
            for f in t.requires.iter().chain(&t.allows) {
                match self.form.field(f) {
                    None => problem(format!("{at}.requires"), format!("unknown field {f:?}")),
                    Some(fd) if fd.computed => {
                        problem(format!("{at}.requires"), format!("{f:?} is computed"))
                    }
                    Some(_) => {}
                }
            }
            for e in &t.evidence {
                if field_type(&e.field) != Some(FieldType::File) {
                    problem(
                        format!("{at}.evidence"),
                        format!("{:?} is not a file field", e.field),
                    );
                }
                if !t.requires.contains(&e.field) && !t.allows.contains(&e.field) {
                    problem(
                        format!("{at}.evidence"),
                        format!("{:?} must be in requires or allows", e.field),
                    );
                }
            }
            for (g, guard) in t.guards.iter().enumerate() {
                let gat = format!("{at}.guards[{g}]");
                let kinds = usize::from(guard.field.is_some())
                    + usize::from(guard.overdue.is_some())
                    + usize::from(guard.visited.is_some());
                if kinds != 1 {
                    problem(gat.clone(), "exactly one of field, overdue, visited".into());
                }
                if let Some(f) = &guard.field {
                    if self.form.field(f).is_none() {
                        problem(gat.clone(), format!("unknown field {f:?}"));
                    }
                    if guard.equals.is_some() != guard.any_of.is_empty() {
                        problem(gat.clone(), "a field guard needs equals or any_of".into());
                    }
                }
                if let Some(s) = &guard.visited
                    && self.state(s).is_none()
                {
                    problem(gat.clone(), format!("unknown state {s:?}"));
                }
                if guard.message.trim().is_empty() {
                    problem(gat, "guard without a Chinese message".into());
                }
            }
        }
        if creates == 0 {
            problem("transitions".into(), "no action creates a case".into());
        }
        for s in &self.states {
            let reachable = self.transitions.iter().any(|t| t.to == s.name);
            if !reachable {
                problem(
                    format!("states.{}", s.name),
                    "no transition leads to this state".into(),
                );
            }
        }
        for (i, r) in self.escalation.immediate.iter().enumerate() {
            if self.form.field(&r.field).is_none() {
                problem(
                    format!("escalation.immediate[{i}]"),
                    format!("unknown field {:?}", r.field),
                );
            }
        }
        if self.escalation.district_after_days > self.escalation.city_after_days {
            problem(
                "escalation".into(),
                "district_after_days is above city_after_days".into(),
            );
        }
        if let Some(lec) = &self.lec {
            for f in [&lec.l, &lec.e, &lec.c] {
                if field_type(f) != Some(FieldType::Decimal) {
                    problem("lec".into(), format!("{f:?} is not a decimal field"));
                }
            }
            if !self
                .form
                .field(&lec.score)
                .is_some_and(|f| f.computed && f.field_type == FieldType::Decimal)
            {
                problem(
                    "lec.score".into(),
                    format!("{:?} must be a computed decimal field", lec.score),
                );
            }
            match self.form.field(&lec.level) {
                Some(f) if f.computed && f.field_type == FieldType::Enum => {
                    for l in [
                        RiskLevel::Major,
                        RiskLevel::Large,
                        RiskLevel::General,
                        RiskLevel::Low,
                    ] {
                        if f.option(l.as_str()).is_none() {
                            problem(
                                "lec.level".into(),
                                format!("option {:?} missing", l.as_str()),
                            );
                        }
                    }
                }
                _ => problem(
                    "lec.level".into(),
                    format!("{:?} must be a computed enum field", lec.level),
                ),
            }
            for p in lec.thresholds.check() {
                problem("lec.thresholds".into(), p);
            }
        }
        let computed: Vec<&str> = self
            .lec
            .iter()
            .flat_map(|l| [l.score.as_str(), l.level.as_str()])
            .collect();
        for f in self.form.fields.iter().filter(|f| f.computed) {
            if !computed.contains(&f.id.as_str()) {
                problem(
                    format!("form.{}", f.id),
                    "computed field that nothing computes".into(),
                );
            }
        }
        if let Some(r) = &self.review {
            if field_type(&r.date_field) != Some(FieldType::Date) {
                problem(
                    "review.date_field".into(),
                    format!("{:?} is not a date field", r.date_field),
                );
            }
            if self.lec.is_none() {
                problem(
                    "review".into(),
                    "a review schedule needs lec grading".into(),
                );
            }
        }
        for (id, c) in &self.checklists {
            for p in c.check(self, severity_options.as_ref()) {
                problem(format!("checklists.{id}.{}", p.at), p.problem);
            }
        }
        if !self.checklists.is_empty() && self.findings.is_none() {
            problem(
                "findings".into(),
                "checklists need a findings mapping".into(),
            );
        }
        if let Some(f) = &self.findings {
            for p in f.check(&self.form) {
                problem(format!("findings.{}", p.at), p.problem);
            }
        }
        if let Some(n) = &self.negative_list {
            for p in n.check(&self.form) {
                problem(format!("negative_list.{}", p.at), p.problem);
            }
        }
        problems
    }
}
