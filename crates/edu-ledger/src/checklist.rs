//! Inspection checklists: a template of items, a completed run, and the findings its failed items become
//! (new hazard cases with severity and deadline, or rows of an inspection's findings list).

use std::collections::{BTreeMap, BTreeSet};

use edu_form::{DefProblem, ErrorCode, FieldError, FieldType, FormDef};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::def::LedgerDef;

/// A checklist template (`[ledgers.<id>.checklists.<checklist-id>]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    /// Chinese title.
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: String,
    /// How often it is run (daily, weekly, campaign…); informational for scheduling.
    #[serde(default)]
    pub frequency: String,
    /// Items.
    pub items: Vec<ChecklistItem>,
}

/// One item to check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Id, unique within the checklist.
    pub id: String,
    /// What to check (Chinese).
    pub text: String,
    /// English.
    #[serde(default)]
    pub text_en: String,
    /// Category (an option of the findings' category field when there is one).
    #[serde(default)]
    pub category: String,
    /// Default severity of a failure (an option of the ledger's severity field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// Where failed items go: field ids of the ledger for each part of a finding. With `list`, findings become rows of
/// that list field (ids are then its columns); without, each finding is the input of a new case of this ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingFields {
    /// List field receiving rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Receives the item text.
    pub title: String,
    /// Receives the severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Receives the category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Receives the location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Receives the inspector's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Receives the photos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<String>,
    /// Receives `checklist-id/item-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl FindingFields {
    fn targets(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("title", self.title.as_str())];
        for (name, f) in [
            ("severity", &self.severity),
            ("category", &self.category),
            ("location", &self.location),
            ("note", &self.note),
            ("photos", &self.photos),
            ("source", &self.source),
        ] {
            if let Some(f) = f {
                out.push((name, f.as_str()));
            }
        }
        out
    }

    pub(crate) fn check(&self, form: &FormDef) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        let container = match &self.list {
            None => None,
            Some(l) => match form.field(l) {
                Some(f) if f.field_type == FieldType::List => Some(f),
                _ => {
                    problems.push(DefProblem {
                        at: "list".into(),
                        problem: format!("{l:?} is not a list field"),
                    });
                    return problems;
                }
            },
        };
        for (name, id) in self.targets() {
            let field = match container {
                Some(list) => list.column(id),
                None => form.field(id),
            };
            let ok = match (name, field) {
                (_, None) => false,
                ("photos", Some(f)) => f.field_type == FieldType::File && f.multiple,
                ("severity" | "category", Some(f)) => {
                    matches!(f.field_type, FieldType::Enum | FieldType::Text)
                }
                (_, Some(f)) => f.field_type == FieldType::Text,
            };
            if !ok {
                problems.push(DefProblem {
                    at: name.into(),
                    problem: format!("{id:?} is missing or of the wrong type"),
                });
            }
        }
        problems
    }
}

impl Checklist {
    pub(crate) fn check(
        &self,
        def: &LedgerDef,
        severities: Option<&BTreeSet<String>>,
    ) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        if self.title.trim().is_empty() || self.items.is_empty() {
            problems.push(DefProblem {
                at: "title".into(),
                problem: "a checklist needs a title and items".into(),
            });
        }
        let mut ids = BTreeSet::new();
        let category_options = def.findings.as_ref().and_then(|f| {
            let id = f.category.as_deref()?;
            let field = match &f.list {
                Some(l) => def.form.field(l)?.column(id)?,
                None => def.form.field(id)?,
            };
            (field.field_type == FieldType::Enum).then_some(field)
        });
        for (i, item) in self.items.iter().enumerate() {
            let at = format!("items[{i}]");
            if !edu_form::is_valid_id(&item.id.replace('-', "_")) || !ids.insert(item.id.as_str()) {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: format!("item id {:?} is invalid or repeated", item.id),
                });
            }
            if item.text.trim().is_empty() {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: "item without text".into(),
                });
            }
            if let (Some(s), Some(options)) = (&item.severity, severities)
                && !options.contains(s)
            {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: format!("severity {s:?} is not an option"),
                });
            }
            if let Some(field) = category_options
                && field.option(&item.category).is_none()
            {
                problems.push(DefProblem {
                    at,
                    problem: format!(
                        "category {:?} is not an option of {}",
                        item.category, field.id
                    ),
                });
            }
        }
        problems
    }
}

/// Outcome of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Passed.
    Pass,
    /// Failed: becomes a finding.
    Fail,
    /// Does not apply here.
    NotApplicable,
}

/// The inspector's answer for one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    /// Item id.
    pub item: String,
    /// Outcome.
    pub outcome: ItemOutcome,
    /// Note (required for a failure).
    #[serde(default)]
    pub note: Option<String>,
    /// Severity, overriding the item's default.
    #[serde(default)]
    pub severity: Option<String>,
    /// Photos (file references).
    #[serde(default)]
    pub photos: Vec<String>,
    /// Where (building, room).
    #[serde(default)]
    pub location: Option<String>,
}

/// A completed checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistRun {
    /// Checklist id.
    pub checklist: String,
    /// School inspected.
    pub school: String,
    /// Inspector (person reference).
    pub inspector: String,
    /// China-time date.
    pub date: Date,
    /// One answer per item, every item answered.
    pub results: Vec<ItemResult>,
}

/// A failed item, ready to become a case or a row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Item id.
    pub item: String,
    /// Item text.
    pub text: String,
    /// Severity.
    pub severity: Option<String>,
    /// Days allowed for rectification at this severity (from the ledger's deadlines).
    pub rectify_within_days: Option<u32>,
    /// Values for the ledger's fields (see [`FindingFields`]): the `supplied` of the creating action, or a row.
    pub values: Map<String, Value>,
}

/// The result of a checklist run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecklistOutcome {
    /// Checklist id.
    pub checklist: String,
    /// School.
    pub school: String,
    /// Date.
    pub date: Date,
    /// Items passed.
    pub passed: usize,
    /// Items failed.
    pub failed: usize,
    /// Items not applicable.
    pub not_applicable: usize,
    /// One finding per failed item, in checklist order.
    pub findings: Vec<Finding>,
}

/// Checks a run against its template (every item answered once, no unknown item, a note for each failure, severity
/// an option) and turns failed items into findings.
pub fn evaluate_checklist(
    def: &LedgerDef,
    run: &ChecklistRun,
) -> Result<ChecklistOutcome, Vec<FieldError>> {
    let Some(checklist) = def.checklists.get(&run.checklist) else {
        return Err(vec![FieldError::new(
            "checklist",
            ErrorCode::NotAnOption,
            format!("台账“{}”没有检查表 {}", def.title, run.checklist),
            format!("ledger {} has no checklist {}", def.id, run.checklist),
        )]);
    };
    let severities: Option<Vec<String>> = def
        .severity_field
        .as_deref()
        .and_then(|f| def.form.field(f))
        .map(|f| f.options.iter().map(|o| o.value.clone()).collect());
    let mut errors = Vec::new();
    let mut answers: BTreeMap<&str, (usize, &ItemResult)> = BTreeMap::new();
    for (i, r) in run.results.iter().enumerate() {
        if !checklist.items.iter().any(|it| it.id == r.item) {
            errors.push(FieldError::new(
                format!("results[{i}].item"),
                ErrorCode::UnknownField,
                format!("检查表中没有检查项 {}", r.item),
                format!("no item {} in the checklist", r.item),
            ));
        } else if answers.insert(r.item.as_str(), (i, r)).is_some() {
            errors.push(FieldError::new(
                format!("results[{i}].item"),
                ErrorCode::RepeatedValue,
                format!("检查项 {} 重复", r.item),
                format!("item {} answered twice", r.item),
            ));
        }
        if r.outcome == ItemOutcome::Fail && r.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            errors.push(FieldError::new(
                format!("results[{i}].note"),
                ErrorCode::Required,
                "不合格项须说明问题",
                "a failed item needs a note",
            ));
        }
        if let (Some(s), Some(options)) = (&r.severity, &severities)
            && !options.contains(s)
        {
            errors.push(FieldError::new(
                format!("results[{i}].severity"),
                ErrorCode::NotAnOption,
                format!("隐患等级只能是 {}", options.join("、")),
                format!("severity must be one of {}", options.join(", ")),
            ));
        }
    }
    let missing: Vec<&str> = checklist
        .items
        .iter()
        .filter(|it| !answers.contains_key(it.id.as_str()))
        .map(|it| it.id.as_str())
        .collect();
    if !missing.is_empty() {
        errors.push(FieldError::new(
            "results",
            ErrorCode::Required,
            format!("以下检查项未填写：{}", missing.join("、")),
            format!("items not answered: {}", missing.join(", ")),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mapping = def.findings.clone().unwrap_or_default();
    let mut outcome = ChecklistOutcome {
        checklist: run.checklist.clone(),
        school: run.school.clone(),
        date: run.date,
        passed: 0,
        failed: 0,
        not_applicable: 0,
        findings: Vec::new(),
    };
    for item in &checklist.items {
        let Some((_, r)) = answers.get(item.id.as_str()) else {
            continue;
        };
        match r.outcome {
            ItemOutcome::Pass => outcome.passed += 1,
            ItemOutcome::NotApplicable => outcome.not_applicable += 1,
            ItemOutcome::Fail => {
                outcome.failed += 1;
                let severity = r.severity.clone().or_else(|| item.severity.clone());
                let mut values = Map::new();
                values.insert(mapping.title.clone(), Value::String(item.text.clone()));
                let parts = [
                    (&mapping.severity, severity.clone().map(Value::String)),
                    (
                        &mapping.category,
                        (!item.category.is_empty()).then(|| Value::String(item.category.clone())),
                    ),
                    (&mapping.location, r.location.clone().map(Value::String)),
                    (&mapping.note, r.note.clone().map(Value::String)),
                    (
                        &mapping.photos,
                        (!r.photos.is_empty()).then(|| Value::from(r.photos.clone())),
                    ),
                    (
                        &mapping.source,
                        Some(Value::String(format!("{}/{}", run.checklist, item.id))),
                    ),
                ];
                for (field, value) in parts {
                    if let (Some(f), Some(v)) = (field, value) {
                        values.insert(f.clone(), v);
                    }
                }
                outcome.findings.push(Finding {
                    item: item.id.clone(),
                    text: item.text.clone(),
                    rectify_within_days: severity.as_deref().and_then(|s| def.days_for_severity(s)),
                    severity,
                    values,
                });
            }
        }
    }
    Ok(outcome)
}
