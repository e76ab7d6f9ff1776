//! Checks computed from a return's values: homework minutes per grade against the caps, per-pupil funding against
//! the standard, and totals of a field over many returns (for plan targets).

use edu_form::{Decimal, DefProblem, FieldType, FormDef, Values, numeric_value};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::def::{ObligationDef, expect_field};
use crate::institution::{Institution, Ownership};

/// Homework caps (`[obligations.homework-load.homework]`). The return lists one row per grade with the pupil-days
/// surveyed and the total written-homework minutes over them; the average is minutes ÷ pupil-days. Caps may name
/// computed top-level fields that receive the band's totals (so the city average is a ratio of sums).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeworkCaps {
    /// The list field with one row per grade.
    pub list: String,
    /// Grade column (integer).
    pub grade: String,
    /// Pupil-days surveyed column (pupils × days; integer).
    pub pupil_days: String,
    /// Total written-homework minutes over those pupil-days column (integer or decimal).
    pub minutes: String,
    /// Caps by grade range.
    pub caps: Vec<GradeCap>,
}

/// A cap for grades `from..=to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeCap {
    /// First grade.
    pub from: i64,
    /// Last grade.
    pub to: i64,
    /// Most minutes per pupil per day on average (0 = no written homework).
    pub max_minutes: Decimal,
    /// The rule, in Chinese (e.g. 一、二年级不布置书面家庭作业).
    pub rule: String,
    /// Computed field receiving the band's total minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_field: Option<String>,
    /// Computed field receiving the band's total pupil-days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pupil_days_field: Option<String>,
}

/// Compliance of one grade.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeCompliance {
    /// Row index in the list.
    pub row: usize,
    /// Grade.
    pub grade: i64,
    /// Pupil-days surveyed.
    pub pupil_days: i64,
    /// Total minutes.
    pub minutes: Decimal,
    /// Minutes per pupil-day (for display; compliance is decided exactly).
    pub average_minutes: Option<f64>,
    /// The cap, when one applies.
    pub cap: Option<Decimal>,
    /// minutes ≤ cap × pupil-days (true when no cap applies).
    pub compliant: bool,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

impl HomeworkCaps {
    pub(crate) fn check(&self, form: &FormDef) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        expect_field(
            form,
            None,
            &self.list,
            &[FieldType::List],
            "list",
            &mut problems,
        );
        if problems.is_empty() {
            let l = Some(self.list.as_str());
            expect_field(
                form,
                l,
                &self.grade,
                &[FieldType::Integer],
                "grade",
                &mut problems,
            );
            expect_field(
                form,
                l,
                &self.pupil_days,
                &[FieldType::Integer],
                "pupil_days",
                &mut problems,
            );
            expect_field(
                form,
                l,
                &self.minutes,
                &[FieldType::Integer, FieldType::Decimal],
                "minutes",
                &mut problems,
            );
        }
        for (i, a) in self.caps.iter().enumerate() {
            if a.from > a.to {
                problems.push(DefProblem {
                    at: format!("caps[{i}]"),
                    problem: "from is above to".into(),
                });
            }
            if a.max_minutes.is_negative() {
                problems.push(DefProblem {
                    at: format!("caps[{i}]"),
                    problem: "max_minutes is negative".into(),
                });
            }
            for b in &self.caps[i + 1..] {
                if a.from <= b.to && b.from <= a.to {
                    problems.push(DefProblem {
                        at: format!("caps[{i}]"),
                        problem: "grade ranges overlap".into(),
                    });
                }
            }
        }
        problems
    }

    /// The cap of a grade.
    pub fn cap_for(&self, grade: i64) -> Option<&GradeCap> {
        self.caps.iter().find(|c| c.from <= grade && grade <= c.to)
    }

    pub(crate) fn computed_fields(&self) -> impl Iterator<Item = &str> {
        self.caps
            .iter()
            .flat_map(|c| c.minutes_field.iter().chain(&c.pupil_days_field))
            .map(String::as_str)
    }

    fn rows(&self, values: &Values) -> Vec<(usize, i64, i64, Decimal)> {
        let Some(Value::Array(rows)) = values.get(&self.list) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (row, cells) in rows.iter().enumerate() {
            let Some(cells) = cells.as_object() else {
                continue;
            };
            let cells: Values = cells.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let grade = numeric_value(&cells, &self.grade).and_then(|g| g.to_i64());
            let pupil_days = numeric_value(&cells, &self.pupil_days).and_then(|g| g.to_i64());
            let minutes = numeric_value(&cells, &self.minutes);
            if let (Some(g), Some(p), Some(m)) = (grade, pupil_days, minutes) {
                out.push((row, g, p, m));
            }
        }
        out
    }

    /// Totals per band for the caps that name computed fields (every named field is present, 0 when no row).
    pub(crate) fn band_totals(&self, values: &Values) -> Values {
        let rows = self.rows(values);
        let mut out = Values::new();
        for cap in &self.caps {
            let in_band = rows
                .iter()
                .filter(|(_, g, _, _)| cap.from <= *g && *g <= cap.to);
            let (days, minutes) = in_band.fold((0i64, Decimal::ZERO), |(d, m), (_, _, p, x)| {
                (d.saturating_add(*p), m.checked_add(*x).unwrap_or(m))
            });
            if let Some(f) = &cap.pupil_days_field {
                out.insert(f.clone(), Value::from(days));
            }
            if let Some(f) = &cap.minutes_field {
                let shown = match minutes.to_i64() {
                    Some(whole) => Value::from(whole),
                    None => Value::String(minutes.to_string()),
                };
                out.insert(f.clone(), shown);
            }
        }
        out
    }
}

/// Compliance per row of the homework list; empty when the obligation has no `homework` settings.
pub fn homework_compliance(def: &ObligationDef, values: &Values) -> Vec<GradeCompliance> {
    let Some(caps) = &def.homework else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (row, grade, pupil_days, minutes) in caps.rows(values) {
        let cap = caps.cap_for(grade);
        let allowed = cap.and_then(|c| c.max_minutes.checked_mul(Decimal::from_int(pupil_days)));
        let compliant = match (cap, allowed) {
            (None, _) => true,
            (Some(_), Some(allowed)) => minutes <= allowed,
            (Some(_), None) => false,
        };
        let average_minutes = (pupil_days > 0).then(|| minutes.to_f64() / pupil_days as f64);
        let avg = average_minutes
            .map(|a| format!("{a:.1}"))
            .unwrap_or_else(|| "—".into());
        let (explanation, explanation_en) = match cap {
            None => (
                format!("{grade} 年级无作业时长上限"),
                format!("grade {grade} has no homework cap"),
            ),
            Some(c) if compliant => (
                format!(
                    "{grade} 年级日均书面作业 {avg} 分钟，符合“{}”（上限 {} 分钟）",
                    c.rule, c.max_minutes
                ),
                format!(
                    "grade {grade}: {avg} min/day within the cap of {} min",
                    c.max_minutes
                ),
            ),
            Some(c) => (
                format!(
                    "{grade} 年级日均书面作业 {avg} 分钟，超出“{}”（上限 {} 分钟）",
                    c.rule, c.max_minutes
                ),
                format!(
                    "grade {grade}: {avg} min/day exceeds the cap of {} min",
                    c.max_minutes
                ),
            ),
        };
        out.push(GradeCompliance {
            row,
            grade,
            pupil_days,
            minutes,
            average_minutes,
            cap: cap.map(|c| c.max_minutes),
            compliant,
            explanation,
            explanation_en,
        });
    }
    out
}

/// Per-pupil funding standards (`[obligations.kg-funding.funding]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingRule {
    /// Pupils funded (integer field).
    pub pupils: String,
    /// Yuan disbursed (decimal field).
    pub disbursed: String,
    /// Standards; the first one matching the institution applies.
    pub standards: Vec<FundingStandard>,
}

/// A standard: yuan per pupil per year for institutions of this ownership and/or tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingStandard {
    /// Ownership required (none = any).
    #[serde(default)]
    pub ownership: Option<Ownership>,
    /// Tag required (none = any), e.g. `inclusive`.
    #[serde(default)]
    pub tag: Option<String>,
    /// Yuan per pupil per year.
    pub yuan_per_pupil: Decimal,
    /// Name of the standard in Chinese.
    pub label: String,
}

/// Funding of one institution against its standard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingCheck {
    /// The standard applied.
    pub standard: FundingStandard,
    /// Pupils funded.
    pub pupils: i64,
    /// pupils × standard.
    pub required: Decimal,
    /// Disbursed.
    pub disbursed: Decimal,
    /// required − disbursed when positive, else 0.
    pub shortfall: Decimal,
    /// Disbursed ≥ required.
    pub compliant: bool,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

impl FundingRule {
    pub(crate) fn check(&self, form: &FormDef) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        expect_field(
            form,
            None,
            &self.pupils,
            &[FieldType::Integer],
            "pupils",
            &mut problems,
        );
        expect_field(
            form,
            None,
            &self.disbursed,
            &[FieldType::Decimal, FieldType::Integer],
            "disbursed",
            &mut problems,
        );
        if self.standards.is_empty() {
            problems.push(DefProblem {
                at: "standards".into(),
                problem: "no standard".into(),
            });
        }
        problems
    }

    /// The standard that applies to an institution.
    pub fn standard_for(&self, institution: &Institution) -> Option<&FundingStandard> {
        self.standards.iter().find(|s| {
            s.ownership.is_none_or(|o| o == institution.ownership)
                && s.tag.as_ref().is_none_or(|t| institution.tags.contains(t))
        })
    }
}

/// The funding check of a return; `None` without `funding` settings, without a standard for the institution, or
/// when a value is missing.
pub fn funding_check(
    def: &ObligationDef,
    institution: &Institution,
    values: &Values,
) -> Option<FundingCheck> {
    let rule = def.funding.as_ref()?;
    let standard = rule.standard_for(institution)?.clone();
    let pupils = numeric_value(values, &rule.pupils)?.to_i64()?;
    let disbursed = numeric_value(values, &rule.disbursed)?;
    let required = standard
        .yuan_per_pupil
        .checked_mul(Decimal::from_int(pupils))?;
    let gap = required.checked_sub(disbursed)?;
    let shortfall = if gap.is_negative() {
        Decimal::ZERO
    } else {
        gap
    };
    let compliant = shortfall.is_zero();
    let (explanation, explanation_en) = if compliant {
        (
            format!(
                "{}：{pupils} 人 × {} 元 = 应拨 {required} 元，实拨 {disbursed} 元，已足额拨付",
                standard.label, standard.yuan_per_pupil
            ),
            format!(
                "{pupils} pupils × {} yuan = {required} yuan due, {disbursed} disbursed: fully funded",
                standard.yuan_per_pupil
            ),
        )
    } else {
        (
            format!(
                "{}：{pupils} 人 × {} 元 = 应拨 {required} 元，实拨 {disbursed} 元，缺口 {shortfall} 元",
                standard.label, standard.yuan_per_pupil
            ),
            format!(
                "{pupils} pupils × {} yuan = {required} yuan due, {disbursed} disbursed: {shortfall} yuan short",
                standard.yuan_per_pupil
            ),
        )
    };
    Some(FundingCheck {
        standard,
        pupils,
        required,
        disbursed,
        shortfall,
        compliant,
        explanation,
        explanation_en,
    })
}

/// Sum of a numeric field over many returns' values (absent counts 0), e.g. ice-and-snow pupil-times towards
/// the 270,000 target. `None` on overflow.
pub fn field_total<'a>(
    field: &str,
    values: impl IntoIterator<Item = &'a Values>,
) -> Option<Decimal> {
    values.into_iter().try_fold(Decimal::ZERO, |acc, v| {
        acc.checked_add(numeric_value(v, field).unwrap_or(Decimal::ZERO))
    })
}
