//! LEC risk grading: D = L × E × C on the standard scales, mapped to four levels (red / orange / yellow / blue),
//! and the review schedule of a risk point by level.

use std::collections::BTreeMap;

use edu_form::Decimal;
use edu_form::china_time::add_days;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Likelihood scale (L): 0.1 practically impossible … 10 fully expected.
pub const L_SCALE: [&str; 7] = ["0.1", "0.2", "0.5", "1", "3", "6", "10"];
/// Exposure scale (E): 0.5 very rarely … 10 continuously.
pub const E_SCALE: [&str; 6] = ["0.5", "1", "2", "3", "6", "10"];
/// Consequence scale (C): 1 noticeable … 100 catastrophe.
pub const C_SCALE: [&str; 6] = ["1", "3", "7", "15", "40", "100"];

/// The four risk levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// 低风险, blue.
    Low,
    /// 一般风险, yellow.
    General,
    /// 较大风险, orange.
    Large,
    /// 重大风险, red.
    Major,
}

impl RiskLevel {
    /// The stored value (`major`, `large`, `general`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Major => "major",
            RiskLevel::Large => "large",
            RiskLevel::General => "general",
            RiskLevel::Low => "low",
        }
    }

    /// The colour (`red`, `orange`, `yellow`, `blue`).
    pub fn colour(self) -> &'static str {
        match self {
            RiskLevel::Major => "red",
            RiskLevel::Large => "orange",
            RiskLevel::General => "yellow",
            RiskLevel::Low => "blue",
        }
    }

    /// Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Major => "重大风险（红色）",
            RiskLevel::Large => "较大风险（橙色）",
            RiskLevel::General => "一般风险（黄色）",
            RiskLevel::Low => "低风险（蓝色）",
        }
    }

    /// Reads a stored value.
    pub fn parse(value: &str) -> Option<RiskLevel> {
        [
            RiskLevel::Major,
            RiskLevel::Large,
            RiskLevel::General,
            RiskLevel::Low,
        ]
        .into_iter()
        .find(|l| l.as_str() == value)
    }
}

/// Grading thresholds on D: red when D > `red_above`, orange when D > `orange_above`, yellow when D > `yellow_above`,
/// blue otherwise. Defaults 320 / 160 / 70 (the classic LEC bands: > 320 extremely dangerous, 160–320 highly
/// dangerous, 70–160 considerable; the two lowest bands, 20–70 and ≤ 20, are merged into blue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LecThresholds {
    /// Red above.
    #[serde(default = "red")]
    pub red_above: Decimal,
    /// Orange above.
    #[serde(default = "orange")]
    pub orange_above: Decimal,
    /// Yellow above.
    #[serde(default = "yellow")]
    pub yellow_above: Decimal,
}

fn red() -> Decimal {
    Decimal::from_int(320)
}
fn orange() -> Decimal {
    Decimal::from_int(160)
}
fn yellow() -> Decimal {
    Decimal::from_int(70)
}

impl Default for LecThresholds {
    fn default() -> Self {
        LecThresholds {
            red_above: red(),
            orange_above: orange(),
            yellow_above: yellow(),
        }
    }
}

impl LecThresholds {
    /// Problems: thresholds must satisfy red ≥ orange ≥ yellow ≥ 0.
    pub fn check(&self) -> Vec<String> {
        if self.red_above >= self.orange_above
            && self.orange_above >= self.yellow_above
            && !self.yellow_above.is_negative()
        {
            Vec::new()
        } else {
            vec!["LEC thresholds need red_above >= orange_above >= yellow_above >= 0".into()]
        }
    }

    /// The level of a D value.
    pub fn level(&self, d: Decimal) -> RiskLevel {
        if d > self.red_above {
            RiskLevel::Major
        } else if d > self.orange_above {
            RiskLevel::Large
        } else if d > self.yellow_above {
            RiskLevel::General
        } else {
            RiskLevel::Low
        }
    }
}

/// A graded risk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LecGrade {
    /// Likelihood.
    pub l: Decimal,
    /// Exposure.
    pub e: Decimal,
    /// Consequence.
    pub c: Decimal,
    /// D = L × E × C (exact).
    pub d: Decimal,
    /// Level.
    pub level: RiskLevel,
    /// Colour.
    pub colour: String,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

/// Why a grading was refused: a factor not on its scale.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{factor} = {value} is not on the LEC scale ({allowed})")]
pub struct LecError {
    /// `L`, `E` or `C`.
    pub factor: String,
    /// The value given.
    pub value: String,
    /// The allowed values.
    pub allowed: String,
}

fn on_scale(factor: &str, value: Decimal, scale: &[&str]) -> Result<(), LecError> {
    if scale.iter().any(|s| Decimal::parse(s) == Some(value)) {
        return Ok(());
    }
    Err(LecError {
        factor: factor.into(),
        value: value.to_string(),
        allowed: scale.join(", "),
    })
}

/// Grades a risk: every factor must be on its standard scale; D is computed exactly.
pub fn grade_lec(
    l: Decimal,
    e: Decimal,
    c: Decimal,
    thresholds: &LecThresholds,
) -> Result<LecGrade, LecError> {
    on_scale("L", l, &L_SCALE)?;
    on_scale("E", e, &E_SCALE)?;
    on_scale("C", c, &C_SCALE)?;
    // The scales' largest product is 10 × 10 × 100 with at most two decimals: no overflow.
    let d = l
        .checked_mul(e)
        .and_then(|le| le.checked_mul(c))
        .unwrap_or(Decimal::ZERO);
    let level = thresholds.level(d);
    Ok(LecGrade {
        l,
        e,
        c,
        d,
        level,
        colour: level.colour().into(),
        explanation: format!(
            "D = L×E×C = {l}×{e}×{c} = {d}，{}（红色阈值 >{}，橙色 >{}，黄色 >{}）",
            level.label(),
            thresholds.red_above,
            thresholds.orange_above,
            thresholds.yellow_above
        ),
        explanation_en: format!(
            "D = L×E×C = {l}×{e}×{c} = {d}: {} ({}; red above {}, orange above {}, yellow above {})",
            level.as_str(),
            level.colour(),
            thresholds.red_above,
            thresholds.orange_above,
            thresholds.yellow_above
        ),
    })
}

/// Days between reviews of a risk point, by level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSchedule {
    /// Field holding the date of the last review.
    pub date_field: String,
    /// Days between reviews per level (`major`, `large`, `general`, `low`); defaults 7 / 30 / 90 / 180.
    #[serde(default = "default_review_days")]
    pub days: BTreeMap<RiskLevel, u32>,
}

fn default_review_days() -> BTreeMap<RiskLevel, u32> {
    [
        (RiskLevel::Major, 7),
        (RiskLevel::Large, 30),
        (RiskLevel::General, 90),
        (RiskLevel::Low, 180),
    ]
    .into_iter()
    .collect()
}

impl ReviewSchedule {
    /// The date the next review is due, from the last review (or registration) date.
    pub fn next_review(&self, level: RiskLevel, last: Date) -> Option<Date> {
        self.days.get(&level).map(|d| add_days(last, i64::from(*d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn level_names_round_trip() {
        for l in [
            RiskLevel::Major,
            RiskLevel::Large,
            RiskLevel::General,
            RiskLevel::Low,
        ] {
            assert_eq!(RiskLevel::parse(l.as_str()), Some(l));
        }
        assert!(RiskLevel::Major > RiskLevel::Low);
    }

    #[test]
    fn off_scale_factors_are_refused() {
        let t = LecThresholds::default();
        assert_eq!(
            grade_lec(d("4"), d("1"), d("1"), &t).unwrap_err().factor,
            "L"
        );
        assert_eq!(
            grade_lec(d("1"), d("0.2"), d("1"), &t).unwrap_err().factor,
            "E"
        );
        assert_eq!(
            grade_lec(d("1"), d("1"), d("50"), &t).unwrap_err().factor,
            "C"
        );
        assert!(
            grade_lec(d("0.10"), d("0.5"), d("1"), &t).is_ok(),
            "0.10 is 0.1"
        );
    }
}
