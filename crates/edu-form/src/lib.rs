//! Form schemas shared by obligations and ledgers: typed fields, validation with named errors, cross-field rules;
//! China time and org-tree roll-up helpers. Pure: no I/O, no clock.
//!
//! A form is data ([`FormDef`], read from TOML); [`validate`] turns a submitted JSON object into normalised
//! [`Values`] or a list of [`FieldError`]s, each naming its field (`cases[2].onset_date`) in Chinese and English.

pub mod china_time;
mod decimal;
mod error;
pub mod org;
mod rule;
mod schema;
mod validate;

pub use decimal::Decimal;
pub use error::{ErrorCode, FieldError, ValidationErrors};
pub use rule::{Condition, Operand, parse_condition};
pub use schema::{DefProblem, EnumOption, FieldDef, FieldType, FormDef, RuleDef, is_valid_id};
pub use validate::{ValidationContext, Values, validate, validate_patch, visible_values};

/// Reads a form from TOML (the `fields` / `rules` tables) and checks it.
pub fn parse_form_toml(text: &str) -> Result<FormDef, Vec<DefProblem>> {
    let form: FormDef = toml::from_str(text).map_err(|e| {
        vec![DefProblem {
            at: String::new(),
            problem: e.to_string(),
        }]
    })?;
    let problems = form.check();
    if problems.is_empty() {
        Ok(form)
    } else {
        Err(problems)
    }
}

/// Reads a numeric field from normalised values (integers, decimal strings, bools as 1/0).
pub fn numeric_value(values: &Values, field: &str) -> Option<Decimal> {
    values.get(field).and_then(rule::numeric)
}
