//! What changed between two plans (e.g. 2021 → 2022): items added, removed and changed, field by field.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::plan::Plan;

/// One field that differs; `None` = absent on that side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// An item present in both plans with different fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemChange {
    pub id: String,
    pub fields: Vec<FieldChange>,
}

/// Changes within one collection of the plan (commitments, targets, metrics, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ItemChange>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The difference between two plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    pub from: String,
    pub to: String,
    pub header: Vec<FieldChange>,
    pub periods: Changes,
    pub metrics: Changes,
    pub targets: Changes,
    pub obligations: Changes,
    pub ledgers: Changes,
    pub registries: Changes,
    pub commitments: Changes,
}

impl PlanDiff {
    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
            && self
                .collections()
                .iter()
                .all(|(_, changes)| changes.is_empty())
    }

    fn collections(&self) -> [(&'static str, &Changes); 7] {
        [
            ("commitments", &self.commitments),
            ("targets", &self.targets),
            ("metrics", &self.metrics),
            ("obligations", &self.obligations),
            ("ledgers", &self.ledgers),
            ("registries", &self.registries),
            ("periods", &self.periods),
        ]
    }
}

/// Compares plan `old` with plan `new`.
pub fn diff_plans(old: &Plan, new: &Plan) -> PlanDiff {
    let targets = |plan: &Plan| -> BTreeMap<String, BTreeMap<String, String>> {
        plan.targets
            .iter()
            .map(|target| {
                let mut fields = flatten_item(target);
                fields.remove("indicator");
                fields.remove("id");
                (target.id.clone(), fields)
            })
            .collect()
    };
    let commitments = |plan: &Plan| -> BTreeMap<String, BTreeMap<String, String>> {
        plan.commitments
            .iter()
            .map(|commitment| {
                let mut fields = flatten_item(commitment);
                fields.remove("id");
                (commitment.id.clone(), fields)
            })
            .collect()
    };
    PlanDiff {
        from: old.header.id.clone(),
        to: new.header.id.clone(),
        header: compare_fields(&flatten_item(&old.header), &flatten_item(&new.header)),
        periods: compare(&flatten_all(&old.periods), &flatten_all(&new.periods)),
        metrics: compare(&flatten_all(&old.metrics), &flatten_all(&new.metrics)),
        targets: compare(&targets(old), &targets(new)),
        obligations: compare(
            &flatten_all(&old.obligations),
            &flatten_all(&new.obligations),
        ),
        ledgers: compare(&flatten_all(&old.ledgers), &flatten_all(&new.ledgers)),
        registries: compare(&flatten_all(&old.registries), &flatten_all(&new.registries)),
        commitments: compare(&commitments(old), &commitments(new)),
    }
}

type Flat = BTreeMap<String, String>;

fn flatten_all<T: Serialize>(items: &BTreeMap<String, T>) -> BTreeMap<String, Flat> {
    items
        .iter()
        .map(|(id, item)| (id.clone(), flatten_item(item)))
        .collect()
}

/// An item's fields as dotted paths → rendered values (`source.kind = ["kindergarten"]`).
fn flatten_item<T: Serialize>(item: &T) -> Flat {
    let mut flat = Flat::new();
    match toml::Value::try_from(item) {
        Ok(value) => flatten_value("", &value, &mut flat),
        Err(error) => {
            flat.insert(String::new(), format!("<unrenderable: {error}>"));
        }
    }
    flat
}

fn flatten_value(prefix: &str, value: &toml::Value, flat: &mut Flat) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_value(&path, value, flat);
            }
        }
        toml::Value::String(text) => {
            flat.insert(prefix.to_owned(), text.clone());
        }
        toml::Value::Float(number) => {
            flat.insert(prefix.to_owned(), format_number(*number));
        }
        other => {
            flat.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// `96` rather than `96.0`; other numbers as Rust prints them (shortest round-trip form).
pub(crate) fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

fn compare(old: &BTreeMap<String, Flat>, new: &BTreeMap<String, Flat>) -> Changes {
    let mut changes = Changes::default();
    for (id, old_fields) in old {
        match new.get(id) {
            None => changes.removed.push(id.clone()),
            Some(new_fields) => {
                let fields = compare_fields(old_fields, new_fields);
                if !fields.is_empty() {
                    changes.changed.push(ItemChange {
                        id: id.clone(),
                        fields,
                    });
                }
            }
        }
    }
    changes.added = new
        .keys()
        .filter(|id| !old.contains_key(*id))
        .cloned()
        .collect();
    changes
}

fn compare_fields(old: &Flat, new: &Flat) -> Vec<FieldChange> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| old.get(*key) != new.get(*key))
        .map(|key| FieldChange {
            field: key.clone(),
            old: old.get(key).cloned(),
            new: new.get(key).cloned(),
        })
        .collect()
}

impl fmt::Display for PlanDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan {} → {}", self.from, self.to)?;
        if self.is_empty() {
            return writeln!(f, "no differences");
        }
        if !self.header.is_empty() {
            writeln!(f, "\n[plan]")?;
            write_fields(f, &self.header)?;
        }
        for (name, changes) in self.collections() {
            if changes.is_empty() {
                continue;
            }
            writeln!(
                f,
                "\n{name}: +{} added, -{} removed, ~{} changed",
                changes.added.len(),
                changes.removed.len(),
                changes.changed.len()
            )?;
            for id in &changes.added {
                writeln!(f, "  + {id}")?;
            }
            for id in &changes.removed {
                writeln!(f, "  - {id}")?;
            }
            for change in &changes.changed {
                writeln!(f, "  ~ {}", change.id)?;
                write_fields(f, &change.fields)?;
            }
        }
        Ok(())
    }
}

fn write_fields(f: &mut fmt::Formatter<'_>, fields: &[FieldChange]) -> fmt::Result {
    for field in fields {
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
        writeln!(
            f,
            "      {}: {} → {}",
            field.field,
            show(&field.old),
            show(&field.new)
        )?;
    }
    Ok(())
}
