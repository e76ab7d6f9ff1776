//! Validation of a submitted value map against a form: normalised values, or every error with its field named.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::china_time::{parse_date, parse_time};
use crate::decimal::Decimal;
use crate::error::{ErrorCode, FieldError, ValidationErrors};
use crate::rule::{self, Operand};
use crate::schema::{DEFAULT_MAX_ROWS, FieldDef, FieldType, FormDef, MAX_REFERENCE_LEN, RuleDef};

/// Normalised values: field id → canonical JSON.
///
/// Canonical forms: integer → JSON integer; decimal → string with exactly the field's scale (`"600.00"`); text →
/// trimmed string; bool → JSON bool; enum → option value (an array in option order when `multiple`); date →
/// `"YYYY-MM-DD"`; time → `"HH:MM:SS"`; person and file → id string (array when `multiple`); list → array of row
/// objects. Absent optional fields are left out.
pub type Values = BTreeMap<String, Value>;

/// What validation needs to know about the moment of submission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationContext {
    /// Dates of `not_future` fields may not be after this China-time date (usually the report's date).
    #[serde(default)]
    pub reference_date: Option<Date>,
}

/// Validates a complete submission: unknown keys, required fields, every field's type and limits, then the rules.
pub fn validate(
    form: &FormDef,
    input: &Value,
    ctx: &ValidationContext,
) -> Result<Values, ValidationErrors> {
    let Some(object) = input.as_object() else {
        return Err(ValidationErrors(vec![not_an_object("")]));
    };
    let mut errors = Vec::new();
    let values = read_fields(&form.fields, object, "", true, ctx, &mut errors);
    check_all_rules(form, &values, &mut errors);
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ValidationErrors(errors))
    }
}

/// Validates a partial update on top of existing normalised values (ledger steps): every key in `patch` must be a
/// field and valid (`null` clears it); required flags are not enforced; the rules are checked on the merged result.
/// Returns the merged values.
pub fn validate_patch(
    form: &FormDef,
    base: &Values,
    patch: &Value,
    ctx: &ValidationContext,
) -> Result<Values, ValidationErrors> {
    let Some(object) = patch.as_object() else {
        return Err(ValidationErrors(vec![not_an_object("")]));
    };
    let mut errors = Vec::new();
    let mut merged = base.clone();
    for key in object.keys() {
        if form.field(key).is_none() {
            errors.push(unknown_field(key));
        }
    }
    for field in &form.fields {
        let Some(raw) = object.get(&field.id) else {
            continue;
        };
        if field.computed {
            errors.push(computed_field(field, &field.id));
            continue;
        }
        match read_value(field, raw, &field.id, false, ctx, &mut errors) {
            Some(v) => {
                merged.insert(field.id.clone(), v);
            }
            None => {
                merged.remove(&field.id);
            }
        }
    }
    check_all_rules(form, &merged, &mut errors);
    if errors.is_empty() {
        Ok(merged)
    } else {
        Err(ValidationErrors(errors))
    }
}

/// The values a viewer with these roles may read: fields (and columns) whose `visible_to` is non-empty and names
/// none of the roles are removed. Masking of `sensitive` fields is the platform's job (see [`FormDef::sensitive_fields`]).
pub fn visible_values(form: &FormDef, values: &Values, roles: &[&str]) -> Values {
    let allowed = |f: &FieldDef| {
        f.visible_to.is_empty() || f.visible_to.iter().any(|r| roles.contains(&r.as_str()))
    };
    let mut out = Values::new();
    for (key, value) in values {
        let Some(field) = form.field(key) else {
            continue;
        };
        if !allowed(field) {
            continue;
        }
        let shown = match (field.field_type, value) {
            (FieldType::List, Value::Array(rows)) => Value::Array(
                rows.iter()
                    .map(|row| match row {
                        Value::Object(cells) => Value::Object(
                            cells
                                .iter()
                                .filter(|(k, _)| field.column(k).is_some_and(allowed))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        ),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(key.clone(), shown);
    }
    out
}

fn read_fields(
    fields: &[FieldDef],
    object: &Map<String, Value>,
    prefix: &str,
    enforce_required: bool,
    ctx: &ValidationContext,
    errors: &mut Vec<FieldError>,
) -> Values {
    for key in object.keys() {
        if !fields.iter().any(|f| &f.id == key) {
            errors.push(unknown_field(&format!("{prefix}{key}")));
        }
    }
    let mut out = Values::new();
    for field in fields {
        let path = format!("{prefix}{}", field.id);
        let raw = object.get(&field.id).unwrap_or(&Value::Null);
        if field.computed {
            if !raw.is_null() {
                errors.push(computed_field(field, &path));
            }
            continue;
        }
        if let Some(v) = read_value(field, raw, &path, enforce_required, ctx, errors) {
            out.insert(field.id.clone(), v);
        }
    }
    out
}

/// Reads one value. `None` means absent (an error is recorded if it was required).
fn read_value(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    enforce_required: bool,
    ctx: &ValidationContext,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let empty = match raw {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty() && field.field_type != FieldType::List,
        _ => false,
    };
    if empty {
        if field.field_type == FieldType::List
            && let Some(min) = field.min_rows.filter(|&m| m > 0)
            && enforce_required
        {
            errors.push(rows_error(field, path, ErrorCode::TooFewRows, 0, min));
            return None;
        }
        if field.required && enforce_required {
            errors.push(FieldError::new(
                path,
                ErrorCode::Required,
                format!("“{}”为必填项", field.label),
                format!("\"{}\" is required", label_en(field)),
            ));
        }
        return None;
    }
    let before = errors.len();
    let value = match field.field_type {
        FieldType::Integer => read_integer(field, raw, path, errors),
        FieldType::Decimal => read_decimal(field, raw, path, errors),
        FieldType::Text => read_text(field, raw, path, errors),
        FieldType::Bool => read_bool(field, raw, path, errors),
        FieldType::Enum => read_many(field, raw, path, errors, read_option),
        FieldType::Date => read_date(field, raw, path, ctx, errors),
        FieldType::Time => read_time(field, raw, path, errors),
        FieldType::Person => read_reference(field, raw, path, errors),
        FieldType::File => read_many(field, raw, path, errors, read_reference),
        FieldType::List => read_list(field, raw, path, ctx, errors),
    };
    if errors.len() > before { None } else { value }
}

fn read_integer(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let parsed = match raw {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let Some(n) = parsed else {
        let fractional = match raw {
            Value::Number(n) => n.as_f64().is_some_and(|f| f.fract() != 0.0),
            Value::String(s) => Decimal::parse(s.trim()).is_some(),
            _ => false,
        };
        let (code, zh, en) = if fractional {
            (
                ErrorCode::NotAWholeNumber,
                "必须是整数",
                "must be a whole number",
            )
        } else {
            (ErrorCode::WrongType, "必须是整数", "must be an integer")
        };
        errors.push(field_error(field, path, code, zh, en));
        return None;
    };
    check_range(field, Decimal::from_int(n), path, errors);
    Some(Value::from(n))
}

fn read_decimal(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let parsed = match raw {
        Value::Number(n) => n
            .as_i64()
            .map(Decimal::from_int)
            .or_else(|| n.as_f64().and_then(Decimal::from_f64)),
        Value::String(s) => Decimal::parse(s.trim()),
        _ => None,
    };
    let Some(d) = parsed else {
        errors.push(field_error(
            field,
            path,
            ErrorCode::WrongType,
            "必须是数字",
            "must be a number",
        ));
        return None;
    };
    let scale = field.effective_scale();
    if d.scale() > scale {
        errors.push(field_error(
            field,
            path,
            ErrorCode::TooManyDecimals,
            &format!("最多保留 {scale} 位小数"),
            &format!("allows at most {scale} decimals"),
        ));
        return None;
    }
    check_range(field, d, path, errors);
    Some(Value::String(d.to_string_with_scale(scale)))
}

fn check_range(field: &FieldDef, value: Decimal, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(min) = field.effective_min()
        && value < min
    {
        errors.push(field_error(
            field,
            path,
            ErrorCode::BelowMinimum,
            &format!("不能小于 {min}（填写了 {value}）"),
            &format!("must be at least {min} (got {value})"),
        ));
    }
    if let Some(max) = field.max
        && value > max
    {
        errors.push(field_error(
            field,
            path,
            ErrorCode::AboveMaximum,
            &format!("不能大于 {max}（填写了 {value}）"),
            &format!("must be at most {max} (got {value})"),
        ));
    }
}

fn read_text(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let Value::String(s) = raw else {
        errors.push(field_error(
            field,
            path,
            ErrorCode::WrongType,
            "必须是文本",
            "must be text",
        ));
        return None;
    };
    let text = s.trim();
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        errors.push(field_error(
            field,
            path,
            ErrorCode::ForbiddenCharacter,
            "含有控制字符",
            "contains a control character",
        ));
        return None;
    }
    let length = text.chars().count();
    let max = field.effective_max_len();
    if length > max {
        errors.push(field_error(
            field,
            path,
            ErrorCode::TooLong,
            &format!("最多 {max} 个字符（填写了 {length} 个）"),
            &format!("allows at most {max} characters (got {length})"),
        ));
        return None;
    }
    Some(Value::String(text.to_string()))
}

fn read_bool(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let parsed = match raw {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    if parsed.is_none() {
        errors.push(field_error(
            field,
            path,
            ErrorCode::WrongType,
            "必须是“是”或“否”",
            "must be true or false",
        ));
    }
    parsed.map(Value::Bool)
}

type ItemReader = fn(&FieldDef, &Value, &str, &mut Vec<FieldError>) -> Option<Value>;

/// Enum and file fields: one value, or an array when `multiple` (a single value is accepted as a one-item array).
fn read_many(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
    item: ItemReader,
) -> Option<Value> {
    if !field.multiple {
        if raw.is_array() {
            errors.push(field_error(
                field,
                path,
                ErrorCode::WrongType,
                "只能选择一个值",
                "takes a single value",
            ));
            return None;
        }
        return item(field, raw, path, errors);
    }
    let items: Vec<&Value> = match raw {
        Value::Array(a) => a.iter().collect(),
        single => vec![single],
    };
    let mut out: Vec<Value> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, v) in items.into_iter().enumerate() {
        let Some(read) = item(field, v, &format!("{path}[{i}]"), errors) else {
            continue;
        };
        if !seen.insert(read.to_string()) {
            errors.push(field_error(
                field,
                path,
                ErrorCode::RepeatedValue,
                "有重复的值",
                "has a repeated value",
            ));
            return None;
        }
        out.push(read);
    }
    if field.field_type == FieldType::Enum {
        // Option order makes equal choices compare equal (copied-submission detection relies on it).
        out.sort_by_key(|v| {
            field
                .options
                .iter()
                .position(|o| Some(o.value.as_str()) == v.as_str())
        });
    }
    Some(Value::Array(out))
}

fn read_option(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let text = match raw {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if field.option(&text).is_some() {
        return Some(Value::String(text));
    }
    let choices: Vec<&str> = field.options.iter().map(|o| o.value.as_str()).collect();
    errors.push(field_error(
        field,
        path,
        ErrorCode::NotAnOption,
        &format!("只能是 {} 之一", choices.join("、")),
        &format!("must be one of {}", choices.join(", ")),
    ));
    None
}

fn read_reference(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let text = match raw {
        Value::String(s) => s.trim(),
        _ => {
            errors.push(field_error(
                field,
                path,
                ErrorCode::WrongType,
                "必须是编号",
                "must be an id",
            ));
            return None;
        }
    };
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.push(field_error(
            field,
            path,
            ErrorCode::ForbiddenCharacter,
            "编号不能含空白或控制字符",
            "an id cannot contain spaces or control characters",
        ));
        return None;
    }
    if text.chars().count() > MAX_REFERENCE_LEN {
        errors.push(field_error(
            field,
            path,
            ErrorCode::TooLong,
            &format!("编号最多 {MAX_REFERENCE_LEN} 个字符"),
            &format!("an id has at most {MAX_REFERENCE_LEN} characters"),
        ));
        return None;
    }
    Some(Value::String(text.to_string()))
}

fn read_date(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    ctx: &ValidationContext,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let Some(date) = raw.as_str().and_then(|s| parse_date(s.trim())) else {
        errors.push(field_error(
            field,
            path,
            ErrorCode::WrongType,
            "日期格式应为 YYYY-MM-DD",
            "must be a date YYYY-MM-DD",
        ));
        return None;
    };
    if field.not_future
        && let Some(reference) = ctx.reference_date
        && date > reference
    {
        errors.push(field_error(
            field,
            path,
            ErrorCode::DateInFuture,
            &format!("不能晚于 {reference}"),
            &format!("cannot be after {reference}"),
        ));
        return None;
    }
    Some(Value::String(date.to_string()))
}

fn read_time(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let Some(time) = raw.as_str().and_then(|s| parse_time(s.trim())) else {
        errors.push(field_error(
            field,
            path,
            ErrorCode::WrongType,
            "时间格式应为 HH:MM",
            "must be a time HH:MM",
        ));
        return None;
    };
    Some(Value::String(time.strftime("%H:%M:%S").to_string()))
}

fn read_list(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    ctx: &ValidationContext,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let Value::Array(rows) = raw else {
        errors.push(field_error(
            field,
            path,
            ErrorCode::WrongType,
            "必须是列表",
            "must be a list of rows",
        ));
        return None;
    };
    let max = field.max_rows.unwrap_or(DEFAULT_MAX_ROWS);
    if rows.len() > max {
        errors.push(rows_error(
            field,
            path,
            ErrorCode::TooManyRows,
            rows.len(),
            max,
        ));
        return None;
    }
    if let Some(min) = field.min_rows
        && rows.len() < min
    {
        errors.push(rows_error(
            field,
            path,
            ErrorCode::TooFewRows,
            rows.len(),
            min,
        ));
        return None;
    }
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let row_path = format!("{path}[{i}]");
        let Some(cells) = row.as_object() else {
            errors.push(not_an_object(&row_path));
            continue;
        };
        let before = errors.len();
        let values = read_fields(
            &field.columns,
            cells,
            &format!("{row_path}."),
            true,
            ctx,
            errors,
        );
        if errors.len() == before {
            out.push(Value::Object(values.into_iter().collect()));
        }
    }
    Some(Value::Array(out))
}

fn check_all_rules(form: &FormDef, values: &Values, errors: &mut Vec<FieldError>) {
    let broken: BTreeSet<String> = errors
        .iter()
        .map(|e| root_of(&e.field).to_string())
        .collect();
    for r in &form.rules {
        check_rule(r, values, None, "", &broken, errors);
    }
    for list in form
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::List && !f.row_rules.is_empty())
    {
        if broken.contains(&list.id) {
            continue;
        }
        let Some(Value::Array(rows)) = values.get(&list.id) else {
            continue;
        };
        for (i, row) in rows.iter().enumerate() {
            let Some(cells) = row.as_object() else {
                continue;
            };
            let row_values: Values = cells.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let prefix = format!("{}[{i}].", list.id);
            for r in &list.row_rules {
                check_rule(
                    r,
                    values,
                    Some((&row_values, list)),
                    &prefix,
                    &broken,
                    errors,
                );
            }
        }
    }
}

fn check_rule(
    r: &RuleDef,
    values: &Values,
    row: Option<(&Values, &FieldDef)>,
    prefix: &str,
    broken: &BTreeSet<String>,
    errors: &mut Vec<FieldError>,
) {
    let mut conditions = Vec::new();
    for text in std::iter::once(&r.check).chain(r.when.as_ref()) {
        match rule::parse_condition(text) {
            Ok(c) => conditions.push(c),
            Err(e) => {
                // `FormDef::check` refuses such definitions; report rather than silently pass if one slipped through.
                errors.push(FieldError::new(
                    prefix.trim_end_matches('.'),
                    ErrorCode::RuleFailed,
                    format!("规则无效：{e}"),
                    format!("invalid rule: {e}"),
                ));
                return;
            }
        }
    }
    let reads_broken = conditions
        .iter()
        .flat_map(|c| c.operands())
        .any(|o| match o {
            Operand::Field(id) => broken.contains(id),
            Operand::Sum { list, .. } | Operand::Count { list, .. } => broken.contains(list),
        });
    if reads_broken {
        return;
    }
    let row_values = row.map(|(v, _)| v);
    if let Some(when) = conditions.get(1)
        && when.evaluate(values, row_values) != Some(true)
    {
        return;
    }
    if conditions[0].evaluate(values, row_values) != Some(false) {
        return;
    }
    let blamed = r
        .field
        .clone()
        .or_else(|| conditions[0].first_field().map(str::to_string))
        .unwrap_or_default();
    let en = if r.message_en.is_empty() {
        r.check.clone()
    } else {
        r.message_en.clone()
    };
    errors.push(FieldError::new(
        format!("{prefix}{blamed}"),
        ErrorCode::RuleFailed,
        r.message.clone(),
        en,
    ));
}

fn root_of(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

fn label_en(field: &FieldDef) -> &str {
    if field.label_en.is_empty() {
        &field.label
    } else {
        &field.label_en
    }
}

fn field_error(field: &FieldDef, path: &str, code: ErrorCode, zh: &str, en: &str) -> FieldError {
    FieldError::new(
        path,
        code,
        format!("“{}”{}", field.label, zh),
        format!("\"{}\" {}", label_en(field), en),
    )
}

fn rows_error(
    field: &FieldDef,
    path: &str,
    code: ErrorCode,
    got: usize,
    limit: usize,
) -> FieldError {
    let (zh, en) = if code == ErrorCode::TooFewRows {
        (
            format!("至少需要 {limit} 行（填写了 {got} 行）"),
            format!("needs at least {limit} rows (got {got})"),
        )
    } else {
        (
            format!("最多 {limit} 行（填写了 {got} 行）"),
            format!("allows at most {limit} rows (got {got})"),
        )
    };
    field_error(field, path, code, &zh, &en)
}

fn unknown_field(path: &str) -> FieldError {
    FieldError::new(
        path,
        ErrorCode::UnknownField,
        format!("表单中没有字段“{path}”"),
        format!("the form has no field \"{path}\""),
    )
}

fn not_an_object(path: &str) -> FieldError {
    FieldError::new(
        path,
        ErrorCode::NotAnObject,
        "应为“字段: 值”的对象",
        "must be an object of field: value",
    )
}

fn computed_field(field: &FieldDef, path: &str) -> FieldError {
    field_error(
        field,
        path,
        ErrorCode::NotAllowed,
        "由系统计算，不能填写",
        "is computed by the system and cannot be submitted",
    )
}
