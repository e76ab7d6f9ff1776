//! Deterministic synthetic instances for tests and benchmarks (never used in a real draw).
//!
//! Cohorts follow issue 5: three subjects correlated 0.6 (`z_j = √0.6·g + √0.4·e_j` with
//! standard normal `g`, `e_j`), score `75 + 12·z` clipped to [0, 100] and rounded to 0.5, about
//! 52% boys. Randomness: SplitMix64 seeded with the given number; normals by Box–Muller.

use crate::admit::{Applicant, School};
use crate::balance::{Pupil, Sex};

/// SplitMix64: a tiny, portable, documented generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

pub const SUBJECTS: [&str; 3] = ["score:chinese", "score:english", "score:math"];

/// `n` pupils `p00001…` with sex and three correlated scores.
pub fn cohort(n: usize, seed: u64) -> Vec<Pupil> {
    let mut rng = SplitMix64::new(seed);
    let (a, b) = (0.6f64.sqrt(), 0.4f64.sqrt());
    (0..n)
        .map(|i| {
            let sex = if rng.next_f64() < 0.52 {
                Sex::M
            } else {
                Sex::F
            };
            let g = rng.normal();
            let scores = (0..3)
                .map(|_| {
                    let z = a * g + b * rng.normal();
                    ((75.0 + 12.0 * z).clamp(0.0, 100.0) * 2.0).round() / 2.0
                })
                .collect();
            Pupil {
                id: format!("p{:05}", i + 1),
                sex,
                scores,
                categories: Vec::new(),
                together: None,
                apart: None,
                fixed: None,
            }
        })
        .collect()
}

/// A cohort as `P.csv` text.
pub fn cohort_csv(pupils: &[Pupil]) -> String {
    let mut out = String::from("id,sex,");
    out.push_str(&SUBJECTS.join(","));
    out.push('\n');
    for p in pupils {
        out.push_str(&format!("{},{}", p.id, p.sex.as_str()));
        for s in &p.scores {
            out.push_str(&format!(",{s}"));
        }
        out.push('\n');
    }
    out
}

/// A random admission instance: `schools` schools with equal capacities summing to about 90%
/// of the applicants, each applicant listing `choices` distinct schools (popularity skewed) and
/// a tier-1 priority at one school with probability 0.2.
pub fn admission(
    applicants: usize,
    schools: usize,
    choices: usize,
    seed: u64,
) -> (Vec<School>, Vec<Applicant>) {
    let mut rng = SplitMix64::new(seed);
    let capacity = (applicants * 9 / 10 / schools.max(1)) as u32;
    let school_list: Vec<School> = (0..schools)
        .map(|s| School {
            code: format!("S{s:03}"),
            capacity,
        })
        .collect();
    let applicant_list = (0..applicants)
        .map(|i| {
            let mut list: Vec<usize> = Vec::with_capacity(choices);
            while list.len() < choices.min(schools) {
                // Skewed popularity: the smaller of two uniform draws.
                let s = rng.below(schools as u64).min(rng.below(schools as u64)) as usize;
                if !list.contains(&s) {
                    list.push(s);
                }
            }
            let priorities = if rng.next_f64() < 0.2 {
                vec![(format!("S{:03}", rng.below(schools as u64)), 1)]
            } else {
                Vec::new()
            };
            Applicant {
                id: format!("a{:07}", i + 1),
                choices: list.iter().map(|s| format!("S{s:03}")).collect(),
                priorities,
            }
        })
        .collect();
    (school_list, applicant_list)
}
