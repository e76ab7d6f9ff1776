//! Form definitions as data: fields, their types and limits, cross-field rules. Read from TOML or JSON with serde.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::decimal::{Decimal, MAX_SCALE};
use crate::rule::{self, Operand};

/// A form: ordered fields and cross-field rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// Fields in display order.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Rules over several fields, checked after every field is valid on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDef>,
}

/// The type of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A whole number; a count unless `min` says otherwise (default minimum 0).
    Integer,
    /// An exact decimal with at most `scale` digits after the point (default 2; default minimum 0).
    Decimal,
    /// Free text, at most `max_len` characters (default 500), control characters other than newline/tab refused.
    Text,
    /// Yes / no.
    Bool,
    /// One of `options` (or several when `multiple`).
    Enum,
    /// A China-time calendar date `YYYY-MM-DD`.
    Date,
    /// A clock time `HH:MM` or `HH:MM:SS`.
    Time,
    /// A reference to a person (pupil or staff) known to the platform: an opaque id.
    Person,
    /// A reference to an uploaded file (photo, PDF) known to the platform: an opaque id (several when `multiple`).
    File,
    /// Rows of sub-fields (`columns`), e.g. a line list of cases.
    List,
}

impl FieldType {
    /// True for integer and decimal fields.
    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }
}

/// One choice of an enum field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumOption {
    /// The stored value (ASCII, stable).
    pub value: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
}

/// A field of a form (or a column of a list field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Identifier: `[a-z][a-z0-9_]*`, unique within its form (or list).
    pub id: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// Type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Unit shown after the value (人, 分钟, 元, 人次).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A value must be given (in a full submission; ledgers decide required fields per step instead).
    #[serde(default)]
    pub required: bool,
    /// Smallest allowed value (numbers). Integers and decimals default to 0: negative counts are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Decimal>,
    /// Largest allowed value (numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Decimal>,
    /// Digits allowed after the decimal point (decimal fields; default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Longest text in characters (Unicode scalar values: a GB 18030 supplementary character counts as one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// Choices (enum fields).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<EnumOption>,
    /// Several values allowed (enum and file fields): the value is then an array.
    #[serde(default)]
    pub multiple: bool,
    /// Dates may not be later than the validation context's reference date (e.g. a symptom onset date).
    #[serde(default)]
    pub not_future: bool,
    /// Sub-fields of each row (list fields). Lists do not nest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<FieldDef>,
    /// Fewest rows (list fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<usize>,
    /// Most rows (list fields; default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<usize>,
    /// Rules checked on each row (list fields); they name the row's columns and may name top-level fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_rules: Vec<RuleDef>,
    /// Filled in by the engine from other values (e.g. band totals of a homework return), never submitted:
    /// a submission that carries it is refused. Integer, decimal or enum, top level only.
    #[serde(default)]
    pub computed: bool,
    /// Personal or health data: the platform masks it by default and encrypts it at rest.
    #[serde(default)]
    pub sensitive: bool,
    /// Roles allowed to read the value; empty means everyone who may read the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub visible_to: Vec<String>,
    /// Help text (Chinese).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Default largest text length when `max_len` is not given.
pub const DEFAULT_MAX_LEN: usize = 500;
/// Default largest number of rows of a list field.
pub const DEFAULT_MAX_ROWS: usize = 500;
/// Default decimals of a decimal field.
pub const DEFAULT_SCALE: u32 = 2;
/// Longest person or file reference.
pub const MAX_REFERENCE_LEN: usize = 128;

impl FieldDef {
    /// The effective minimum: `min`, or 0 for integer and decimal fields.
    pub fn effective_min(&self) -> Option<Decimal> {
        match self.min {
            Some(m) => Some(m),
            None if self.field_type.is_numeric() => Some(Decimal::ZERO),
            None => None,
        }
    }

    /// The effective number of decimals of a decimal field.
    pub fn effective_scale(&self) -> u32 {
        self.scale.unwrap_or(DEFAULT_SCALE)
    }

    /// The effective longest text.
    pub fn effective_max_len(&self) -> usize {
        self.max_len.unwrap_or(DEFAULT_MAX_LEN)
    }

    /// The option with this value.
    pub fn option(&self, value: &str) -> Option<&EnumOption> {
        self.options.iter().find(|o| o.value == value)
    }

    /// The column with this id (list fields).
    pub fn column(&self, id: &str) -> Option<&FieldDef> {
        self.columns.iter().find(|c| c.id == id)
    }
}

/// A cross-field rule, e.g. `check = "pupils_absent_ill <= pupils_absent_total"`.
///
/// Expression language (see docs/obligations.md): `sum OP sum` with OP one of `<= < >= > == !=`; a sum is terms
/// joined by `+`/`-`; a term is a number, a field id, `number * field`, `sum(list.column)`, `count(list)` or
/// `count(list[column=value])`. A rule whose scalar fields are not all present is skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// The condition that must hold.
    pub check: String,
    /// Only check when this condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The field blamed when the rule fails (default: the first field the rule names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Chinese message shown when the rule fails.
    pub message: String,
    /// English message.
    #[serde(default)]
    pub message_en: String,
}

/// A problem in a form definition (found by [`FormDef::check`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefProblem {
    /// Where: a field id, `cases.onset_date`, `rules[2]`.
    pub at: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for DefProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

/// True for identifiers of the form `[a-z][a-z0-9_]*` (at most 64 characters).
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl FormDef {
    /// The field with this id.
    pub fn field(&self, id: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// Ids of sensitive fields (dotted `list.column` for columns).
    pub fn sensitive_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.fields {
            if f.sensitive {
                out.push(f.id.clone());
            }
            for c in &f.columns {
                if c.sensitive {
                    out.push(format!("{}.{}", f.id, c.id));
                }
            }
        }
        out
    }

    /// Checks the definition itself: ids, type-specific settings, limits, and that every rule parses and names
    /// existing fields of a suitable type. An empty result means the form is usable.
    pub fn check(&self) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        check_fields(&self.fields, "", true, &mut problems);
        for (i, r) in self.rules.iter().enumerate() {
            check_rule(r, &format!("rules[{i}]"), self, None, &mut problems);
        }
        for f in &self.fields {
            for (i, r) in f.row_rules.iter().enumerate() {
                check_rule(
                    r,
                    &format!("{}.row_rules[{i}]", f.id),
                    self,
                    Some(f),
                    &mut problems,
                );
            }
        }
        problems
    }
}

fn check_fields(fields: &[FieldDef], prefix: &str, top: bool, problems: &mut Vec<DefProblem>) {
    let mut seen = BTreeSet::new();
    for f in fields {
        let at = format!("{prefix}{}", f.id);
        let mut problem = |p: String| {
            problems.push(DefProblem {
                at: at.clone(),
                problem: p,
            })
        };
        if !is_valid_id(&f.id) {
            problem("id must match [a-z][a-z0-9_]* (at most 64 characters)".into());
        }
        if !seen.insert(f.id.as_str()) {
            problem("duplicate id".into());
        }
        if f.label.trim().is_empty() {
            problem("label (Chinese) is empty".into());
        }
        let numeric = f.field_type.is_numeric();
        if !numeric && (f.min.is_some() || f.max.is_some()) {
            problem("min/max only apply to integer and decimal fields".into());
        }
        if let (Some(lo), Some(hi)) = (f.effective_min(), f.max)
            && lo > hi
        {
            problem(format!("min {lo} is above max {hi}"));
        }
        if f.field_type == FieldType::Integer {
            for bound in [f.min, f.max].into_iter().flatten() {
                if bound.to_i64().is_none() {
                    problem(format!("integer bound {bound} is not a whole number"));
                }
            }
        }
        if f.computed && (!(numeric || f.field_type == FieldType::Enum) || !top) {
            problem("computed only applies to top-level integer, decimal and enum fields".into());
        }
        if f.computed && f.required {
            problem("a computed field cannot be required".into());
        }
        if f.scale.is_some() && f.field_type != FieldType::Decimal {
            problem("scale only applies to decimal fields".into());
        }
        if f.effective_scale() > MAX_SCALE {
            problem(format!("scale above {MAX_SCALE}"));
        }
        if f.max_len.is_some() && f.field_type != FieldType::Text {
            problem("max_len only applies to text fields".into());
        }
        if f.max_len == Some(0) {
            problem("max_len must be at least 1".into());
        }
        match f.field_type {
            FieldType::Enum => {
                if f.options.is_empty() {
                    problem("enum field without options".into());
                }
                let mut values = BTreeSet::new();
                for o in &f.options {
                    if o.value.is_empty() || !values.insert(o.value.as_str()) {
                        problem(format!("option {:?} is empty or repeated", o.value));
                    }
                    if o.label.trim().is_empty() {
                        problem(format!("option {:?} has no Chinese label", o.value));
                    }
                }
            }
            _ if !f.options.is_empty() => problem("options only apply to enum fields".into()),
            _ => {}
        }
        if f.multiple && !matches!(f.field_type, FieldType::Enum | FieldType::File) {
            problem("multiple only applies to enum and file fields".into());
        }
        if f.not_future && f.field_type != FieldType::Date {
            problem("not_future only applies to date fields".into());
        }
        if f.field_type == FieldType::List {
            if !top {
                problem("lists do not nest".into());
            }
            if f.columns.is_empty() {
                problem("list field without columns".into());
            }
            if let (Some(lo), Some(hi)) = (f.min_rows, f.max_rows)
                && lo > hi
            {
                problem("min_rows is above max_rows".into());
            }
            check_fields(&f.columns, &format!("{at}."), false, problems);
        } else if !f.columns.is_empty()
            || f.min_rows.is_some()
            || f.max_rows.is_some()
            || !f.row_rules.is_empty()
        {
            problem("columns, min_rows, max_rows and row_rules only apply to list fields".into());
        }
        for role in &f.visible_to {
            if !is_valid_id(role) {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: format!("visible_to role {role:?} is not an id"),
                });
            }
        }
    }
}

fn check_rule(
    r: &RuleDef,
    at: &str,
    form: &FormDef,
    row: Option<&FieldDef>,
    problems: &mut Vec<DefProblem>,
) {
    if r.message.trim().is_empty() {
        problems.push(DefProblem {
            at: at.into(),
            problem: "rule without a Chinese message".into(),
        });
    }
    for (what, text) in [("check", Some(&r.check)), ("when", r.when.as_ref())] {
        let Some(text) = text else { continue };
        match rule::parse_condition(text) {
            Err(e) => problems.push(DefProblem {
                at: at.into(),
                problem: format!("{what}: {e}"),
            }),
            Ok(cond) => {
                for operand in cond.operands() {
                    if let Err(p) = resolve_operand(operand, form, row) {
                        problems.push(DefProblem {
                            at: at.into(),
                            problem: format!("{what}: {p}"),
                        });
                    }
                }
            }
        }
    }
    if let Some(blamed) = &r.field {
        let known = form.field(blamed).is_some() || row.is_some_and(|l| l.column(blamed).is_some());
        if !known {
            problems.push(DefProblem {
                at: at.into(),
                problem: format!("blamed field {blamed:?} does not exist"),
            });
        }
    }
}

fn resolve_operand(
    operand: &Operand,
    form: &FormDef,
    row: Option<&FieldDef>,
) -> Result<(), String> {
    match operand {
        Operand::Field(id) => {
            let field = row.and_then(|l| l.column(id)).or_else(|| form.field(id));
            match field {
                None => Err(format!("unknown field {id:?}")),
                Some(f) if !f.field_type.is_numeric() && f.field_type != FieldType::Bool => {
                    Err(format!("field {id:?} is not a number"))
                }
                Some(_) => Ok(()),
            }
        }
        Operand::Sum { list, column } => {
            let l = list_field(form, list)?;
            match l.column(column) {
                Some(c) if c.field_type.is_numeric() => Ok(()),
                Some(_) => Err(format!("column {list}.{column} is not a number")),
                None => Err(format!("unknown column {list}.{column}")),
            }
        }
        Operand::Count { list, filter } => {
            let l = list_field(form, list)?;
            if let Some((column, value)) = filter {
                let Some(c) = l.column(column) else {
                    return Err(format!("unknown column {list}.{column}"));
                };
                if c.field_type == FieldType::Enum && c.option(value).is_none() {
                    return Err(format!("{list}.{column} has no option {value:?}"));
                }
            }
            Ok(())
        }
    }
}

fn list_field<'a>(form: &'a FormDef, id: &str) -> Result<&'a FieldDef, String> {
    match form.field(id) {
        Some(f) if f.field_type == FieldType::List => Ok(f),
        Some(_) => Err(format!("{id:?} is not a list field")),
        None => Err(format!("unknown list {id:?}")),
    }
}
