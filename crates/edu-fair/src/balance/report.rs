//! The balance report, computed from an assignment alone (so anyone can recompute it).
//!
//! Means and standard deviations are over the pupils of each class; the standard deviation is
//! the population one, `sqrt(Σ(x − mean)² / n)`. Ranges are max − min over the non-empty classes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{BalanceProblem, Sex};
use crate::json::round6;

/// Count of one value per class, and its range (max − min).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountSpread {
    pub counts: Vec<u32>,
    pub range: u32,
}

/// Class means and SDs of one score, and their ranges (rounded to 6 decimals).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreSpread {
    pub means: Vec<f64>,
    pub sds: Vec<f64>,
    pub mean_range: f64,
    pub sd_range: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Violations {
    /// `together` groups split over more than one class.
    pub together: u32,
    /// Pairs of pupils with the same `apart` key in the same class.
    pub apart: u32,
    /// Pupils not in their `fixed` class.
    pub fixed: u32,
    /// Sum of the above; 0 for every published division.
    pub total: u32,
}

/// `report.json` of `fair balance`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalanceReport {
    pub pupils: u32,
    pub classes: u32,
    pub class_sizes: Vec<u32>,
    pub size_range: u32,
    /// `M` and `F`.
    pub sex: BTreeMap<String, CountSpread>,
    /// Per `cat:` column, per value.
    pub categories: BTreeMap<String, BTreeMap<String, CountSpread>>,
    /// Per `score:` column, and `total` (the sum of the scores) when there are scores.
    pub scores: BTreeMap<String, ScoreSpread>,
    pub violations: Violations,
}

fn spread(counts: Vec<u32>) -> CountSpread {
    let range =
        counts.iter().max().copied().unwrap_or(0) - counts.iter().min().copied().unwrap_or(0);
    CountSpread { counts, range }
}

fn range_of(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    if values.is_empty() { 0.0 } else { max - min }
}

/// Means and population SDs per class of `value(pupil)`; empty classes are left out.
pub(crate) fn class_means_sds(classes: &[u32], k: u32, values: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut sums = vec![0.0; k as usize];
    let mut sizes = vec![0u32; k as usize];
    for (&class, &value) in classes.iter().zip(values) {
        sums[class as usize - 1] += value;
        sizes[class as usize - 1] += 1;
    }
    let means: Vec<f64> = sums
        .iter()
        .zip(&sizes)
        .map(|(s, &n)| if n == 0 { 0.0 } else { s / f64::from(n) })
        .collect();
    let mut squares = vec![0.0; k as usize];
    for (&class, &value) in classes.iter().zip(values) {
        let d = value - means[class as usize - 1];
        squares[class as usize - 1] += d * d;
    }
    let sds: Vec<f64> = squares
        .iter()
        .zip(&sizes)
        .map(|(s, &n)| {
            if n == 0 {
                0.0
            } else {
                (s / f64::from(n)).sqrt()
            }
        })
        .collect();
    let keep = |v: Vec<f64>| {
        v.into_iter()
            .zip(&sizes)
            .filter(|(_, n)| **n > 0)
            .map(|(x, _)| x)
            .collect()
    };
    (keep(means), keep(sds))
}

impl BalanceReport {
    /// Computes the report of `classes` (1-based, in canonical pupil order).
    ///
    /// # Panics
    ///
    /// When a class number is outside `1..=K` or `classes` is shorter than the pupil list;
    /// [`BalanceProblem::divide`] never produces either.
    pub fn compute(problem: &BalanceProblem, classes: &[u32]) -> BalanceReport {
        let k = problem.classes;
        let pupils = &problem.pupils;
        let mut sizes = vec![0u32; k as usize];
        for &class in classes {
            sizes[class as usize - 1] += 1;
        }
        let mut sex = BTreeMap::new();
        for value in [Sex::M, Sex::F] {
            let mut counts = vec![0u32; k as usize];
            for (pupil, &class) in pupils.iter().zip(classes) {
                if pupil.sex == value {
                    counts[class as usize - 1] += 1;
                }
            }
            sex.insert(value.as_str().to_string(), spread(counts));
        }
        let mut categories = BTreeMap::new();
        for (column, name) in problem.categories.iter().enumerate() {
            let mut values: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for (pupil, &class) in pupils.iter().zip(classes) {
                values
                    .entry(pupil.categories[column].clone())
                    .or_insert_with(|| vec![0; k as usize])[class as usize - 1] += 1;
            }
            categories.insert(
                name.clone(),
                values.into_iter().map(|(v, c)| (v, spread(c))).collect(),
            );
        }
        let mut scores = BTreeMap::new();
        let mut add = |name: String, values: Vec<f64>| {
            let (means, sds) = class_means_sds(classes, k, &values);
            let spread = ScoreSpread {
                mean_range: round6(range_of(&means)),
                sd_range: round6(range_of(&sds)),
                means: means.into_iter().map(round6).collect(),
                sds: sds.into_iter().map(round6).collect(),
            };
            scores.insert(name, spread);
        };
        for (index, name) in problem.subjects.iter().enumerate() {
            add(
                name.clone(),
                pupils.iter().map(|p| p.scores[index]).collect(),
            );
        }
        if !problem.subjects.is_empty() {
            add(
                "total".to_string(),
                pupils.iter().map(|p| p.scores.iter().sum()).collect(),
            );
        }
        let violations = count_violations(problem, classes);
        BalanceReport {
            pupils: pupils.len() as u32,
            classes: k,
            size_range: spread(sizes.clone()).range,
            class_sizes: sizes,
            sex,
            categories,
            scores,
            violations,
        }
    }

    /// `report.json`, pretty-printed with a trailing newline.
    pub fn to_json(&self) -> String {
        crate::json::to_pretty(self)
    }

    /// The largest mean range and SD range over all scores (including the total).
    pub fn worst_score_ranges(&self) -> (f64, f64) {
        self.scores.values().fold((0.0, 0.0), |(m, s), x| {
            (f64::max(m, x.mean_range), f64::max(s, x.sd_range))
        })
    }
}

pub(crate) fn count_violations(problem: &BalanceProblem, classes: &[u32]) -> Violations {
    let mut together = 0;
    for members in problem.groups(|p| p.together.as_ref()).values() {
        if members.iter().any(|&m| classes[m] != classes[members[0]]) {
            together += 1;
        }
    }
    let mut apart = 0;
    for members in problem.groups(|p| p.apart.as_ref()).values() {
        for (i, &a) in members.iter().enumerate() {
            apart += members[i + 1..]
                .iter()
                .filter(|&&b| classes[a] == classes[b])
                .count() as u32;
        }
    }
    let fixed = problem
        .pupils
        .iter()
        .zip(classes)
        .filter(|(p, c)| p.fixed.is_some_and(|f| f != **c))
        .count() as u32;
    Violations {
        together,
        apart,
        fixed,
        total: together + apart + fixed,
    }
}
