//! Errors that name a field and say why, in Chinese and English — the one error shape the platform shows users.

use serde::{Deserialize, Serialize};

/// Machine-readable reason of a [`FieldError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The submission is not a JSON object (or a list row is not one).
    NotAnObject,
    /// A key that the form does not define.
    UnknownField,
    /// A required value is missing.
    Required,
    /// The value has the wrong JSON type or cannot be read as the field's type.
    WrongType,
    /// An integer field got a fraction.
    NotAWholeNumber,
    /// More decimals than the field's scale.
    TooManyDecimals,
    /// Below the minimum (negative counts land here).
    BelowMinimum,
    /// Above the maximum.
    AboveMaximum,
    /// Longer than the field's limit in characters.
    TooLong,
    /// A control character or, in a reference, whitespace.
    ForbiddenCharacter,
    /// Not one of the enum's options.
    NotAnOption,
    /// The same value chosen twice.
    RepeatedValue,
    /// A date after the reference date.
    DateInFuture,
    /// Fewer rows than `min_rows`.
    TooFewRows,
    /// More rows than `max_rows`.
    TooManyRows,
    /// A cross-field rule failed.
    RuleFailed,
    /// The action is not allowed here (zero report not allowed, institution does not owe the return…).
    NotAllowed,
    /// The instant is outside the reporting window.
    OutsideWindow,
    /// The record is locked (an approved return).
    Locked,
    /// The record is not in a state that allows the action.
    InvalidState,
}

/// A problem with one field: `field` is a dotted path (`cases[2].onset_date`; rows count from 0) or a pseudo-field
/// such as `period` for a submission outside its window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path of the field.
    pub field: String,
    /// Reason code.
    pub code: ErrorCode,
    /// Explanation in Chinese.
    pub message: String,
    /// Explanation in English.
    pub message_en: String,
}

impl FieldError {
    /// A new error.
    pub fn new(
        field: impl Into<String>,
        code: ErrorCode,
        message: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
            message_en: message_en.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message_en, self.message)
    }
}

/// All problems found in one submission (never empty when returned as an error).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl ValidationErrors {
    /// True when some error names exactly this field path.
    pub fn names(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// The codes reported for a field path.
    pub fn codes_for(&self, field: &str) -> Vec<ErrorCode> {
        self.0
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.code)
            .collect()
    }
}
