//! The eduplan-zouban/1 instance and eduplan-zouban-solution/1 solution formats: types, parsing, writing.

use serde::{Deserialize, Serialize};

/// The `format` tag of an instance.
pub const INSTANCE_FORMAT: &str = "eduplan-zouban/1";
/// The `format` tag of a solution.
pub const SOLUTION_FORMAT: &str = "eduplan-zouban-solution/1";

/// A time slot `[day, period]`, both counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(u32, u32)", into = "(u32, u32)")]
pub struct Slot {
    pub day: u32,
    pub period: u32,
}

impl Slot {
    pub fn new(day: u32, period: u32) -> Self {
        Slot { day, period }
    }
}

impl From<(u32, u32)> for Slot {
    fn from((day, period): (u32, u32)) -> Self {
        Slot { day, period }
    }
}

impl From<Slot> for (u32, u32) {
    fn from(slot: Slot) -> Self {
        (slot.day, slot.period)
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {}]", self.day, self.period)
    }
}

/// A school's 选课走班 problem for one grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub format: String,
    #[serde(default)]
    pub name: String,
    pub days: u32,
    pub periods_per_day: u32,
    #[serde(default)]
    pub compulsory: Vec<CompulsorySubject>,
    #[serde(default)]
    pub electives: Vec<ElectiveSubject>,
    #[serde(default)]
    pub admin_classes: Vec<AdminClass>,
    #[serde(default)]
    pub students: Vec<Student>,
    #[serde(default)]
    pub teachers: Vec<Teacher>,
    #[serde(default)]
    pub rooms: Vec<Room>,
    #[serde(default)]
    pub blocked: Vec<Slot>,
}

/// A subject taught to each administrative class as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompulsorySubject {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub periods: u32,
}

/// A subject every student takes, at selective (选考) or proficiency (学考) level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectiveSubject {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub periods: LevelPeriods,
    pub max_class_size: u32,
}

/// Weekly periods of an elective at each level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelPeriods {
    pub selective: u32,
    pub proficiency: u32,
}

impl LevelPeriods {
    pub fn at(&self, level: Level) -> u32 {
        match level {
            Level::Selective => self.selective,
            Level::Proficiency => self.proficiency,
        }
    }
}

/// The level at which a student takes an elective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Selective,
    Proficiency,
}

impl Level {
    pub const BOTH: [Level; 2] = [Level::Selective, Level::Proficiency];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Selective => "selective",
            Level::Proficiency => "proficiency",
        }
    }

    /// One letter used in generated class ids: `S` or `P`.
    pub fn letter(self) -> char {
        match self {
            Level::Selective => 'S',
            Level::Proficiency => 'P',
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminClass {
    pub id: String,
    pub room: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Student {
    pub id: String,
    pub admin_class: String,
    #[serde(default)]
    pub selective: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teacher {
    pub id: String,
    pub subjects: Vec<String>,
    pub max_periods: u32,
    #[serde(default)]
    pub unavailable: Vec<Slot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    pub id: String,
    pub capacity: u32,
}

/// A timetable: teaching classes for the electives and the administrative classes' compulsory lessons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Solution {
    pub format: String,
    #[serde(default)]
    pub teaching_classes: Vec<TeachingClass>,
    #[serde(default)]
    pub admin_lessons: Vec<AdminLesson>,
}

impl Default for Solution {
    fn default() -> Self {
        Solution {
            format: SOLUTION_FORMAT.to_string(),
            teaching_classes: Vec::new(),
            admin_lessons: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeachingClass {
    pub id: String,
    pub subject: String,
    pub level: Level,
    pub teacher: String,
    pub room: String,
    pub students: Vec<String>,
    pub slots: Vec<Slot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLesson {
    pub admin_class: String,
    pub subject: String,
    pub teacher: String,
    pub room: String,
    pub slots: Vec<Slot>,
}

/// A document that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: at {path} (line {line}, column {column}): {message}")]
pub struct FormatError {
    /// "instance" or "solution".
    pub what: &'static str,
    /// JSON path of the offending value, e.g. `students[3].selective[1]`.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn parse_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T, FormatError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        FormatError {
            what,
            path,
            line: inner.line(),
            column: inner.column(),
            message: inner.to_string(),
        }
    })?;
    deserializer.end().map_err(|error| FormatError {
        what,
        path: ".".to_string(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    Ok(value)
}

fn format_tag_error(what: &'static str, found: &str, expected: &str) -> FormatError {
    FormatError {
        what,
        path: "format".to_string(),
        line: 0,
        column: 0,
        message: format!("format is {found:?}, expected {expected:?}"),
    }
}

impl Instance {
    /// Reads an instance; unknown fields, wrong types and a wrong `format` tag are errors.
    pub fn from_json(text: &str) -> Result<Instance, FormatError> {
        let instance: Instance = parse_json("instance", text)?;
        if instance.format != INSTANCE_FORMAT {
            return Err(format_tag_error(
                "instance",
                &instance.format,
                INSTANCE_FORMAT,
            ));
        }
        Ok(instance)
    }

    /// Pretty JSON with a trailing newline; deterministic.
    pub fn to_json(&self) -> String {
        to_pretty(self)
    }

    /// Number of periods a week (`days × periods_per_day`), blocked ones included.
    pub fn slot_count(&self) -> u32 {
        self.days.saturating_mul(self.periods_per_day)
    }
}

impl Solution {
    /// Reads a solution; unknown fields, wrong types and a wrong `format` tag are errors.
    pub fn from_json(text: &str) -> Result<Solution, FormatError> {
        let solution: Solution = parse_json("solution", text)?;
        if solution.format != SOLUTION_FORMAT {
            return Err(format_tag_error(
                "solution",
                &solution.format,
                SOLUTION_FORMAT,
            ));
        }
        Ok(solution)
    }

    /// Compact-but-readable JSON: one teaching class or lesson per line block; deterministic.
    pub fn to_json(&self) -> String {
        to_pretty(self)
    }
}

fn to_pretty<T: Serialize>(value: &T) -> String {
    // Serialising plain structs of strings and integers into a String cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
