//! Balanced class division (均衡分班): sizes within 1, sex and `cat:` columns spread evenly,
//! `together`/`apart`/`fixed` never violated, and with scores the k-plus anticlustering
//! objective (class means and variances equal) minimised by exchange local search.

mod report;
mod search;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use report::{BalanceReport, CountSpread, ScoreSpread, Violations};

use crate::seed::Seed;
use crate::table::{InputErrors, Schema, Table, parse_table, write_csv_line};

pub const BALANCE_ALGORITHM_VERSION: &str = "1";
pub const PUPILS_FILE: &str = "pupils";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sex {
    M,
    F,
}

impl Sex {
    /// Accepts `M`/`F` (any case) and `男`/`女`.
    pub fn parse(text: &str) -> Option<Sex> {
        match text {
            "M" | "m" | "男" => Some(Sex::M),
            "F" | "f" | "女" => Some(Sex::F),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
        }
    }
}

/// One pupil, with score and category values in the order of the problem's subject and
/// category lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Pupil {
    pub id: String,
    pub sex: Sex,
    pub scores: Vec<f64>,
    pub categories: Vec<String>,
    pub together: Option<String>,
    pub apart: Option<String>,
    /// Class number, 1-based.
    pub fixed: Option<u32>,
}

/// A validated class-division problem; pupils sorted by id, subjects and categories by name.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceProblem {
    classes: u32,
    subjects: Vec<String>,
    categories: Vec<String>,
    pupils: Vec<Pupil>,
}

/// Tuning of the search. The budget is a count, never a clock, so results are reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BalanceOptions {
    /// Independent restarts (different initial assignments and visiting orders, derived from
    /// the seed); the best result is kept. `0` = automatic, from the problem size.
    pub restarts: u32,
}

/// A constraint that cannot hold, with the pupils concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// `together`, `apart`, `fixed` or `size`, with the key or class concerned.
    pub constraint: String,
    pub pupils: Vec<String>,
    pub reason: String,
}

/// Why no class division exists (or none was found) that keeps every constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceConflict {
    pub conflicts: Vec<Conflict>,
}

impl std::fmt::Display for BalanceConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the constraints cannot all hold ({} conflict(s))",
            self.conflicts.len()
        )?;
        for conflict in &self.conflicts {
            write!(
                f,
                "\n  {}: {} — pupils {}",
                conflict.constraint,
                conflict.reason,
                conflict.pupils.join(", ")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for BalanceConflict {}

/// The division: every pupil's class (1-based), in canonical pupil order, and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub ids: Vec<String>,
    pub classes: Vec<u32>,
    pub report: BalanceReport,
}

/// Parses `P.csv` (`id,sex[,score:*][,cat:*][,together][,apart][,fixed]`).
pub fn pupils_table(bytes: &[u8]) -> Result<Table, InputErrors> {
    let allowed = |name: &str| {
        matches!(name, "together" | "apart" | "fixed")
            || (name.starts_with("score:") && name.len() > 6)
            || (name.starts_with("cat:") && name.len() > 4)
    };
    parse_table(
        bytes,
        &Schema {
            file: PUPILS_FILE,
            key: "id",
            required: &["sex"],
            allowed: &allowed,
        },
    )
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

impl BalanceProblem {
    /// Builds the problem from a parsed `P.csv`. Score columns are refused unless `allow_scores`.
    pub fn from_table(
        table: &Table,
        classes: u32,
        allow_scores: bool,
    ) -> Result<BalanceProblem, InputErrors> {
        let mut errors = InputErrors::default();
        let mut subjects: Vec<String> = table
            .columns
            .iter()
            .filter(|c| c.starts_with("score:"))
            .cloned()
            .collect();
        subjects.sort();
        let mut categories: Vec<String> = table
            .columns
            .iter()
            .filter(|c| c.starts_with("cat:"))
            .cloned()
            .collect();
        categories.sort();
        if !allow_scores && !subjects.is_empty() {
            for subject in &subjects {
                errors.push(
                    PUPILS_FILE,
                    1,
                    subject,
                    "score columns are refused without --allow-scores (compulsory education may not divide classes by scores)",
                );
            }
            return Err(errors);
        }
        if classes == 0 {
            errors.push(
                PUPILS_FILE,
                0,
                "",
                "the number of classes must be at least 1",
            );
            return Err(errors);
        }
        let mut pupils = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            let sex_text = table.cell(row, "sex");
            let sex = Sex::parse(sex_text);
            if sex.is_none() {
                errors.push(
                    PUPILS_FILE,
                    row.line,
                    "sex",
                    format!("{sex_text:?} is not M, F, 男 or 女"),
                );
            }
            let mut scores = Vec::with_capacity(subjects.len());
            for subject in &subjects {
                let text = table.cell(row, subject);
                match text.parse::<f64>() {
                    Ok(value) if value.is_finite() => scores.push(value),
                    _ => errors.push(
                        PUPILS_FILE,
                        row.line,
                        subject,
                        format!("{text:?} is not a number"),
                    ),
                }
            }
            let fixed_text = table.cell(row, "fixed");
            let fixed = if fixed_text.is_empty() {
                None
            } else {
                match fixed_text.parse::<u32>() {
                    Ok(class) if (1..=classes).contains(&class) => Some(class),
                    _ => {
                        errors.push(
                            PUPILS_FILE,
                            row.line,
                            "fixed",
                            format!("{fixed_text:?} is not a class 1..{classes}"),
                        );
                        None
                    }
                }
            };
            if let Some(sex) = sex {
                pupils.push(Pupil {
                    id: table.cell(row, "id").to_string(),
                    sex,
                    scores,
                    categories: categories
                        .iter()
                        .map(|c| table.cell(row, c).to_string())
                        .collect(),
                    together: non_empty(table.cell(row, "together")),
                    apart: non_empty(table.cell(row, "apart")),
                    fixed,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        BalanceProblem::new(classes, subjects, categories, pupils)
    }

    /// Builds the problem from plain data; `subjects`/`categories` name the pupils' value columns.
    pub fn new(
        classes: u32,
        subjects: Vec<String>,
        categories: Vec<String>,
        mut pupils: Vec<Pupil>,
    ) -> Result<BalanceProblem, InputErrors> {
        let mut errors = InputErrors::default();
        pupils.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in pupils.windows(2) {
            if pair[0].id == pair[1].id {
                errors.push(
                    PUPILS_FILE,
                    0,
                    "id",
                    format!("duplicate identifier {:?}", pair[0].id),
                );
            }
        }
        for pupil in &pupils {
            if pupil.scores.len() != subjects.len() || pupil.categories.len() != categories.len() {
                errors.push(
                    PUPILS_FILE,
                    0,
                    "",
                    format!("{}: wrong number of values", pupil.id),
                );
            }
            if pupil
                .fixed
                .is_some_and(|class| class == 0 || class > classes)
            {
                errors.push(
                    PUPILS_FILE,
                    0,
                    "fixed",
                    format!("{}: class out of range", pupil.id),
                );
            }
        }
        if classes == 0 {
            errors.push(
                PUPILS_FILE,
                0,
                "",
                "the number of classes must be at least 1",
            );
        }
        // Subjects and categories are kept sorted by name; reorder values to match.
        let mut subject_order: Vec<usize> = (0..subjects.len()).collect();
        subject_order.sort_by(|&a, &b| subjects[a].cmp(&subjects[b]));
        let mut category_order: Vec<usize> = (0..categories.len()).collect();
        category_order.sort_by(|&a, &b| categories[a].cmp(&categories[b]));
        errors.into_result(())?;
        for pupil in &mut pupils {
            pupil.scores = subject_order.iter().map(|&i| pupil.scores[i]).collect();
            pupil.categories = category_order
                .iter()
                .map(|&i| pupil.categories[i].clone())
                .collect();
        }
        Ok(BalanceProblem {
            classes,
            subjects: subject_order.iter().map(|&i| subjects[i].clone()).collect(),
            categories: category_order
                .iter()
                .map(|&i| categories[i].clone())
                .collect(),
            pupils,
        })
    }

    pub fn classes(&self) -> u32 {
        self.classes
    }

    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    pub fn pupils(&self) -> &[Pupil] {
        &self.pupils
    }

    /// Divides the pupils into classes. Fails only when the constraints conflict.
    pub fn divide(
        &self,
        seed: &Seed,
        options: &BalanceOptions,
    ) -> Result<Balance, BalanceConflict> {
        let classes = search::divide(self, seed, options)?;
        let report = BalanceReport::compute(self, &classes);
        Ok(Balance {
            ids: self.pupils.iter().map(|p| p.id.clone()).collect(),
            classes,
            report,
        })
    }

    /// The number of restarts `options` asks for, resolving `0` (automatic) from the size.
    pub fn effective_restarts(&self, options: &BalanceOptions) -> u32 {
        search::effective_restarts(self, options)
    }

    /// Pupils grouped by a key column value (`together` or `apart`), in key order.
    fn groups(&self, key: impl Fn(&Pupil) -> Option<&String>) -> BTreeMap<&str, Vec<usize>> {
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, pupil) in self.pupils.iter().enumerate() {
            if let Some(value) = key(pupil) {
                groups.entry(value.as_str()).or_default().push(index);
            }
        }
        groups
    }
}

impl Balance {
    /// `assignment.csv`: `id,class`, rows sorted by id.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("id,class\n");
        for (id, class) in self.ids.iter().zip(&self.classes) {
            write_csv_line(&mut out, &[id, &class.to_string()]);
        }
        out
    }
}
