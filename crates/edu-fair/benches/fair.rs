//! Benchmarks of the fair-allocation engines (plain `harness = false` main).
//!
//! `cargo bench -p edu-fair --bench fair -- [balance|admit|seats] [--seeds N] [--csv DIR]`
//! prints per-instance figures; `bench/fair/run.sh` runs it with the anchors and prints ratios.

use std::time::Instant;

use edu_fair::admit::{AdmissionProblem, Mechanism};
use edu_fair::balance::{BalanceOptions, BalanceProblem};
use edu_fair::cohort;
use edu_fair::seats::{SeatPupil, Zone, plan_seating};
use edu_fair::seed::Seed;

fn seed_of(n: u64) -> Seed {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    Seed::from_bytes(bytes)
}

fn balance(seeds: u64) {
    println!(
        "balance: size/classes seed cpu_ms max_mean_range max_sd_range total_mean_range total_sd_range sex_range"
    );
    for (n, k) in [(600usize, 12u32), (1000, 20), (1500, 30)] {
        let mut times = Vec::new();
        let mut cpu_times = Vec::new();
        let (mut worst_mean, mut worst_sd, mut sum_mean, mut sum_sd) = (0.0f64, 0.0f64, 0.0, 0.0);
        for s in 0..seeds {
            let pupils = cohort::cohort(n, s);
            let subjects = cohort::SUBJECTS.iter().map(|s| s.to_string()).collect();
            let problem = BalanceProblem::new(k, subjects, Vec::new(), pupils)
                .unwrap_or_else(|e| panic!("{e}"));
            // Best of 3 runs, in thread CPU time (what the shared machine's load disturbs least)
            // and in wall time.
            let mut ms = f64::INFINITY;
            let mut cpu = f64::INFINITY;
            let mut outcome = None;
            for _ in 0..3 {
                let start = Instant::now();
                let cpu_start = cpu_time::ThreadTime::now();
                let result = problem
                    .divide(&seed_of(s), &BalanceOptions::default())
                    .unwrap_or_else(|e| panic!("{e}"));
                cpu = cpu.min(cpu_start.elapsed().as_secs_f64() * 1e3);
                ms = ms.min(start.elapsed().as_secs_f64() * 1e3);
                outcome = Some(result);
            }
            let Some(result) = outcome else { return };
            times.push(ms);
            cpu_times.push(cpu);
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
                "balance {n}/{k} {s} {cpu:.2} {subject_mean:.4} {subject_sd:.4} {:.4} {:.4} {sex} {}",
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
        cpu_times.sort_by(f64::total_cmp);
        let count = (seeds * 3) as f64;
        println!(
            "SUMMARY balance {n}/{k}: seeds {seeds}, median {:.2} ms, max {:.2} ms, mean range per subject {:.4} (worst {:.4}), SD range per subject {:.4} (worst {:.4}); times are thread CPU, best of 3; wall median {:.2} ms",
            cpu_times[cpu_times.len() / 2],
            cpu_times[cpu_times.len() - 1],
            sum_mean / count,
            worst_mean,
            sum_sd / count,
            worst_sd,
            times[times.len() / 2]
        );
    }
}

fn admit() {
    for (n, schools) in [(100_000usize, 50usize), (1_000_000, 50)] {
        let (s, a) = cohort::admission(n, schools, 5, 7);
        let problem = AdmissionProblem::new(s, a).unwrap_or_else(|e| panic!("{e}"));
        let seed = seed_of(1);
        let start = Instant::now();
        let keys: Vec<u64> = problem
            .applicants()
            .iter()
            .map(|a| edu_fair::seed::lottery_key(&seed, edu_fair::seed::Purpose::Admit, &a.id))
            .collect();
        let key_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let instance = problem.indexed_with_keys(&keys);
        let index_ms = start.elapsed().as_secs_f64() * 1e3;
        for mechanism in [Mechanism::DeferredAcceptance, Mechanism::Boston] {
            let mut best = f64::INFINITY;
            for _ in 0..5 {
                let start = Instant::now();
                let result = instance.solve(mechanism);
                best = best.min(start.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(result);
            }
            println!(
                "SUMMARY admit {n} applicants / {schools} schools / 5 choices, {}: matching {best:.1} ms (best of 5); lottery keys {key_ms:.1} ms, indexing {index_ms:.1} ms",
                mechanism.as_str()
            );
        }
    }
}

/// The anchor: the common school rule, a weekly cyclic shift. Pinned pupils (zones) keep their
/// seat; everybody else moves one row back and one desk right each week, i.e. by C + 2 places
/// along the row-major list of unpinned seats, wrapping around.
fn cyclic_shift(pupils: &[SeatPupil], cols: u32, weeks: u32) -> (u32, u32, u32) {
    let n = pupils.len();
    let seats: Vec<(u32, u32)> = (0..n as u32)
        .map(|i| (i / cols + 1, i % cols + 1))
        .collect();
    let front_pinned: Vec<usize> = (0..n)
        .filter(|&p| pupils[p].zone == Some(Zone::Front))
        .collect();
    let back_pinned: Vec<usize> = (0..n)
        .filter(|&p| pupils[p].zone == Some(Zone::Back))
        .collect();
    // Pinned seats: the first front seats and the last seats of the room.
    let mut pinned_seat = vec![usize::MAX; n];
    for (i, &p) in front_pinned.iter().enumerate() {
        pinned_seat[p] = i;
    }
    for (i, &p) in back_pinned.iter().enumerate() {
        pinned_seat[p] = n - 1 - i;
    }
    let taken: Vec<usize> = pinned_seat
        .iter()
        .copied()
        .filter(|&s| s != usize::MAX)
        .collect();
    let free_seats: Vec<usize> = (0..n).filter(|s| !taken.contains(s)).collect();
    let movers: Vec<usize> = (0..n).filter(|&p| pupils[p].zone.is_none()).collect();
    let m = free_seats.len();
    let (mut front, mut central) = (vec![0u32; n], vec![0u32; n]);
    let mut together = std::collections::BTreeMap::new();
    for week in 0..weeks as usize {
        let mut at = vec![usize::MAX; n];
        for (i, &p) in movers.iter().enumerate() {
            at[free_seats[(i + week * (cols as usize + 2)) % m]] = p;
        }
        for p in 0..n {
            if pinned_seat[p] != usize::MAX {
                at[pinned_seat[p]] = p;
            }
        }
        for (s, &p) in at.iter().enumerate() {
            let (row, col) = seats[s];
            front[p] += u32::from(row <= 2);
            central[p] += u32::from(edu_fair::seats::is_central(col, cols));
            if col % 2 == 1 && s + 1 < n && seats[s + 1].0 == row {
                let pair = (p.min(at[s + 1]), p.max(at[s + 1]));
                *together.entry(pair).or_insert(0u32) += 1;
            }
        }
    }
    let spread = |v: &[u32]| {
        let sel: Vec<u32> = movers.iter().map(|&p| v[p]).collect();
        sel.iter().max().unwrap_or(&0) - sel.iter().min().unwrap_or(&0)
    };
    let repeated = together.values().map(|c| c.saturating_sub(1)).sum();
    (spread(&front), spread(&central), repeated)
}

fn seating(seeds: u64) {
    let (rows, cols, weeks) = (6u32, 8u32, 20u32);
    let pupils: Vec<SeatPupil> = (0..48)
        .map(|i| SeatPupil {
            id: format!("s{i:02}"),
            zone: if i < 3 {
                Some(Zone::Front)
            } else if i < 5 {
                Some(Zone::Back)
            } else {
                None
            },
            apart: (i == 20 || i == 21).then(|| "twins".to_string()),
        })
        .collect();
    let (anchor_front, anchor_central, anchor_repeats) = cyclic_shift(&pupils, cols, weeks);
    let mut times = Vec::new();
    let (mut front, mut central, mut repeats, mut violations) = (0, 0, 0, 0);
    for s in 0..seeds {
        let mut best = f64::INFINITY;
        let mut plan = None;
        for _ in 0..3 {
            let start = Instant::now();
            let result = plan_seating(&pupils, rows, cols, weeks, &seed_of(s))
                .unwrap_or_else(|e| panic!("{e}"));
            best = best.min(start.elapsed().as_secs_f64() * 1e3);
            plan = Some(result);
        }
        let Some(plan) = plan else { return };
        let r = &plan.report;
        front = front.max(r.front_weeks_spread);
        central = central.max(r.central_weeks_spread);
        repeats = repeats.max(r.repeated_desk_mate_pairs);
        violations += r.zone_violations + r.apart_violations;
        times.push(best);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "SUMMARY seats 48 pupils (3 front, 2 back pinned), 6x8, 20 weeks, {seeds} seeds: median {:.2} ms, max {:.2} ms; \
         front-row spread max {front} (anchor cyclic shift {anchor_front}), central-column spread max {central} (anchor {anchor_central}), \
         repeated desk-mate pairs max {repeats} (anchor {anchor_repeats}), violations {violations}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
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
    if all || args.iter().any(|a| a == "seats") {
        seating(seeds);
    }
}
