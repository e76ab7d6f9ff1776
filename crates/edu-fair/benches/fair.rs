//! Benchmarks of the fair-allocation engines (plain `harness = false` main).
//!
//! `cargo bench -p edu-fair --bench fair -- [balance|admit|seats] [--seeds N] [--csv DIR]`
//! prints per-instance figures; `bench/fair/run.sh` runs it with the anchors and prints ratios.

use std::time::Instant;

use edu_fair::admit::{AdmissionProblem, Mechanism};
use edu_fair::balance::{BalanceOptions, BalanceProblem};
use edu_fair::cohort;
use edu_fair::seed::Seed;

fn seed_of(n: u64) -> Seed {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    Seed::from_bytes(bytes)
}

fn balance(seeds: u64) {
    println!(
        "balance: size/classes seed ms max_mean_range max_sd_range total_mean_range total_sd_range sex_range"
    );
    for (n, k) in [(600usize, 12u32), (1000, 20), (1500, 30)] {
        let mut times = Vec::new();
        let (mut worst_mean, mut worst_sd, mut sum_mean, mut sum_sd) = (0.0f64, 0.0f64, 0.0, 0.0);
        for s in 0..seeds {
            let pupils = cohort::cohort(n, s);
            let subjects = cohort::SUBJECTS.iter().map(|s| s.to_string()).collect();
            let problem = BalanceProblem::new(k, subjects, Vec::new(), pupils)
                .unwrap_or_else(|e| panic!("{e}"));
            let start = Instant::now();
            let result = problem
                .divide(&seed_of(s), &BalanceOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let ms = start.elapsed().as_secs_f64() * 1e3;
            times.push(ms);
            let r = &result.report;
            let subject_mean = cohort::SUBJECTS
                .iter()
                .map(|s| r.scores[*s].mean_range)
                .fold(0.0, f64::max);
            let subject_sd = cohort::SUBJECTS
                .iter()
                .map(|s| r.scores[*s].sd_range)
                .fold(0.0, f64::max);
            let sex = r.sex.values().map(|c| c.range).max().unwrap_or(0);
            println!(
                "balance {n}/{k} {s} {ms:.2} {subject_mean:.4} {subject_sd:.4} {:.4} {:.4} {sex} {}",
                r.scores["total"].mean_range, r.scores["total"].sd_range, r.violations.total
            );
            // Per subject averages (the anchor reports per-subject ranges).
            for subject in cohort::SUBJECTS {
                sum_mean += r.scores[subject].mean_range;
                sum_sd += r.scores[subject].sd_range;
            }
            worst_mean = worst_mean.max(subject_mean);
            worst_sd = worst_sd.max(subject_sd);
        }
        times.sort_by(f64::total_cmp);
        let count = (seeds * 3) as f64;
        println!(
            "SUMMARY balance {n}/{k}: seeds {seeds}, median {:.2} ms, max {:.2} ms, mean range per subject {:.4} (worst {:.4}), SD range per subject {:.4} (worst {:.4})",
            times[times.len() / 2],
            times[times.len() - 1],
            sum_mean / count,
            worst_mean,
            sum_sd / count,
            worst_sd
        );
    }
}

fn admit() {
    for (n, schools) in [(100_000usize, 50usize), (1_000_000, 50)] {
        let (s, a) = cohort::admission(n, schools, 5, 7);
        let problem = AdmissionProblem::new(s, a).unwrap_or_else(|e| panic!("{e}"));
        let seed = seed_of(1);
        let start = Instant::now();
        let instance = problem.indexed(&seed);
        let build = start.elapsed().as_secs_f64() * 1e3;
        for mechanism in [Mechanism::DeferredAcceptance, Mechanism::Boston] {
            let mut best = f64::INFINITY;
            for _ in 0..5 {
                let start = Instant::now();
                let result = instance.solve(mechanism);
                best = best.min(start.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(result);
            }
            println!(
                "SUMMARY admit {n} applicants / {schools} schools / 5 choices, {}: matching {best:.1} ms (best of 5); keys + indexing {build:.1} ms",
                mechanism.as_str()
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let seeds = args
        .iter()
        .position(|a| a == "--seeds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let all = !args
        .iter()
        .any(|a| a == "balance" || a == "admit" || a == "seats");
    if all || args.iter().any(|a| a == "balance") {
        balance(seeds);
    }
    if all || args.iter().any(|a| a == "admit") {
        admit();
    }
}
