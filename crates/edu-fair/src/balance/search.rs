//! The division algorithm (version 1).
//!
//! 1. Canonicalise: pupils sorted by id; pupils sharing a `together` key form one unit.
//! 2. Check the constraints that can be decided up front (conflicting `fixed` classes in a
//!    `together` group, an `apart` key twice in a group, groups larger than a class, more
//!    `apart` pupils than classes, overfull `fixed` classes) and name the pupils concerned.
//! 3. For each restart r (0 ≤ r < R): greedy construction — fixed units first, then larger units,
//!    `apart` units, boys before girls, and (r = 0) by total score descending or (r > 0) by the
//!    lottery key of `"r/" + id of the unit's first pupil` with purpose `balance`; each unit goes
//!    to the class with room (sizes within 1) and no `apart` clash that has the fewest pupils of
//!    its sex, then the fewest of its `cat:` values, then the smallest score sum, then the lowest
//!    number. A sex count range above 1 left by the constraints is then narrowed by exchanging
//!    single unfixed pupils of the two sexes between the fullest and the emptiest class.
//! 4. Exchange local search on the k-plus objective: features are every score, the total, the
//!    squared deviation of each of these from its cohort mean (k-plus moment 2, weight 1.5), and
//!    one-hot `cat:` values (weight 25), all standardised; the objective is
//!    Σ_class Σ_feature w · (class mean of the feature)². Units are visited in restart-key order;
//!    each is swapped with the best-improving unit of the same size and sex make-up in another
//!    class (fixed pupils never move, `apart` never broken); passes repeat until none improves.
//! 5. Range polishing: repeatedly, for the feature with the largest range of class means, every
//!    swap out of its highest and lowest class that narrows that feature's range is tried, and the
//!    one that most reduces the weighted sum of all features' ranges (score features weight 1,
//!    categories 25) is made (at most N/4 swaps).
//! 6. The restart with the best (sex count ranges, category count ranges, largest class-mean
//!    or class-SD range in SD units over all scores, objective) is kept.

// Several arrays are indexed in parallel by the same index; iterators would hide that.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use super::report::class_means_sds;
use super::{BalanceConflict, BalanceOptions, BalanceProblem, Conflict, Sex};
use crate::seed::{Purpose, Seed, lottery_key};

const CATEGORY_WEIGHT: f64 = 25.0;
/// Weight of the squared-deviation (k-plus moment 2) features relative to the means: class SDs
/// are harder to equalise than means, and 1.5 balances both ranges on the issue-5 cohorts.
const SPREAD_WEIGHT: f64 = 1.5;
const MAX_PASSES: u32 = 50;

struct Unit {
    members: Vec<usize>,
    boys: u32,
    girls: u32,
    fixed: Option<u32>,
    apart: Vec<u32>,
}

pub(super) fn effective_restarts(problem: &BalanceProblem, options: &BalanceOptions) -> u32 {
    if options.restarts > 0 {
        return options.restarts;
    }
    if problem.subjects.is_empty() && problem.categories.is_empty() {
        return 1;
    }
    let n = problem.pupils.len().max(1) as f64;
    ((2.0e5 / (n * n)).floor() as u32).clamp(1, 16)
}

/// Swap budget of the range polishing.
fn polish_steps(n: usize) -> usize {
    n / 4
}

pub(super) fn divide(
    problem: &BalanceProblem,
    seed: &Seed,
    options: &BalanceOptions,
) -> Result<Vec<u32>, BalanceConflict> {
    let pupils = &problem.pupils;
    let k = problem.classes as usize;
    let units = build_units(problem)?;
    let (feat, weights, f) = features(problem, &units);
    let restarts = effective_restarts(problem, options);
    let mut best: Option<(Quality, Vec<u32>)> = None;
    let mut first_failure = None;
    for restart in 0..restarts {
        let order_key: Vec<u64> = units
            .iter()
            .map(|u| {
                lottery_key(
                    seed,
                    Purpose::Balance,
                    &format!("{restart}/{}", pupils[u.members[0]].id),
                )
            })
            .collect();
        let assignment = match construct(problem, &units, &feat, f, restart, &order_key) {
            Ok(assignment) => assignment,
            Err(conflict) => {
                first_failure.get_or_insert(conflict);
                continue;
            }
        };
        let mut search = Search::new(&units, &feat, &weights, f, k, assignment);
        let mut visit: Vec<usize> = (0..units.len())
            .filter(|&u| units[u].fixed.is_none())
            .collect();
        visit.sort_by_key(|&u| (order_key[u], u));
        search.run(&visit);
        search.polish(&visit, polish_steps(pupils.len()));
        let classes = search.pupil_classes(pupils.len());
        let quality = Quality::of(problem, &classes, search.objective());
        if best.as_ref().is_none_or(|(q, _)| quality.better_than(q)) {
            best = Some((quality, classes));
        }
    }
    match best {
        Some((_, classes)) => Ok(classes),
        None => Err(BalanceConflict {
            conflicts: first_failure.into_iter().collect(),
        }),
    }
}

fn ids(problem: &BalanceProblem, members: &[usize]) -> Vec<String> {
    members
        .iter()
        .map(|&m| problem.pupils[m].id.clone())
        .collect()
}

fn build_units(problem: &BalanceProblem) -> Result<Vec<Unit>, BalanceConflict> {
    let pupils = &problem.pupils;
    let n = pupils.len();
    let k = problem.classes as usize;
    let max_size = n.div_ceil(k);
    let mut conflicts = Vec::new();
    let apart_index: BTreeMap<&str, u32> = problem
        .groups(|p| p.apart.as_ref())
        .keys()
        .enumerate()
        .map(|(i, key)| (*key, i as u32))
        .collect();
    let mut units: Vec<Unit> = Vec::new();
    let mut unit_of = vec![usize::MAX; n];
    let together = problem.groups(|p| p.together.as_ref());
    for (index, pupil) in pupils.iter().enumerate() {
        if unit_of[index] != usize::MAX {
            continue;
        }
        let members: Vec<usize> = match &pupil.together {
            Some(key) => together
                .get(key.as_str())
                .cloned()
                .unwrap_or_else(|| vec![index]),
            None => vec![index],
        };
        let mut fixed: Vec<u32> = members.iter().filter_map(|&m| pupils[m].fixed).collect();
        fixed.sort_unstable();
        fixed.dedup();
        if fixed.len() > 1 {
            conflicts.push(Conflict {
                constraint: format!(
                    "together {:?} + fixed",
                    pupil.together.clone().unwrap_or_default()
                ),
                pupils: ids(problem, &members),
                reason: format!("the group must share a class but is fixed to classes {fixed:?}"),
            });
        }
        let mut apart: Vec<u32> = members
            .iter()
            .filter_map(|&m| pupils[m].apart.as_deref().and_then(|a| apart_index.get(a)))
            .copied()
            .collect();
        apart.sort_unstable();
        let before = apart.len();
        apart.dedup();
        if apart.len() < before {
            conflicts.push(Conflict {
                constraint: format!(
                    "together {:?} + apart",
                    pupil.together.clone().unwrap_or_default()
                ),
                pupils: ids(problem, &members),
                reason: "pupils who must share a class also share an apart key".to_string(),
            });
        }
        if members.len() > max_size {
            conflicts.push(Conflict {
                constraint: format!(
                    "together {:?} + size",
                    pupil.together.clone().unwrap_or_default()
                ),
                pupils: ids(problem, &members),
                reason: format!(
                    "{} pupils must share a class but classes hold at most {max_size}",
                    members.len()
                ),
            });
        }
        let boys = members.iter().filter(|&&m| pupils[m].sex == Sex::M).count() as u32;
        for &m in &members {
            unit_of[m] = units.len();
        }
        units.push(Unit {
            girls: members.len() as u32 - boys,
            boys,
            fixed: fixed.first().map(|c| c - 1),
            apart,
            members,
        });
    }
    for (key, members) in problem.groups(|p| p.apart.as_ref()) {
        let mut member_units: Vec<usize> = members.iter().map(|&m| unit_of[m]).collect();
        member_units.dedup();
        if member_units.len() > k {
            conflicts.push(Conflict {
                constraint: format!("apart {key:?}"),
                pupils: ids(problem, &members),
                reason: format!(
                    "{} pupils must be in different classes but there are only {k} classes",
                    members.len()
                ),
            });
        }
        let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for &m in &members {
            if let Some(class) = units[unit_of[m]].fixed {
                by_class.entry(class).or_default().push(m);
            }
        }
        for (class, clash) in by_class {
            if clash.len() > 1 {
                conflicts.push(Conflict {
                    constraint: format!("apart {key:?} + fixed"),
                    pupils: ids(problem, &clash),
                    reason: format!(
                        "pupils who must be apart are all fixed to class {}",
                        class + 1
                    ),
                });
            }
        }
    }
    let (q, r) = (n / k, n % k);
    let mut load = vec![0usize; k];
    let mut who: Vec<Vec<usize>> = vec![Vec::new(); k];
    for unit in &units {
        if let Some(class) = unit.fixed {
            load[class as usize] += unit.members.len();
            who[class as usize].extend(&unit.members);
        }
    }
    for class in 0..k {
        if load[class] > max_size {
            conflicts.push(Conflict {
                constraint: format!("fixed {}", class + 1),
                pupils: ids(problem, &who[class]),
                reason: format!(
                    "{} pupils are fixed to class {} but classes hold at most {max_size}",
                    load[class],
                    class + 1
                ),
            });
        }
    }
    let full: Vec<usize> = (0..k).filter(|&c| load[c] == q + 1).collect();
    if r > 0 && full.len() > r {
        let members: Vec<usize> = full.iter().flat_map(|&c| who[c].clone()).collect();
        conflicts.push(Conflict {
            constraint: "fixed + size".to_string(),
            pupils: ids(problem, &members),
            reason: format!(
                "{} classes are fixed to {} pupils but only {r} classes may have {}",
                full.len(),
                q + 1,
                q + 1
            ),
        });
    }
    if conflicts.is_empty() {
        Ok(units)
    } else {
        Err(BalanceConflict { conflicts })
    }
}

/// Standardised unit features (units × f) and their weights.
fn features(problem: &BalanceProblem, units: &[Unit]) -> (Vec<f64>, Vec<f64>, usize) {
    let pupils = &problem.pupils;
    let mut columns: Vec<(Vec<f64>, f64)> = Vec::new();
    let mut scores: Vec<Vec<f64>> = (0..problem.subjects.len())
        .map(|j| pupils.iter().map(|p| p.scores[j]).collect())
        .collect();
    if problem.subjects.len() > 1 {
        scores.push(pupils.iter().map(|p| p.scores.iter().sum()).collect());
    }
    for values in &scores {
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        columns.push((values.clone(), 1.0));
        columns.push((
            values.iter().map(|x| (x - mean) * (x - mean)).collect(),
            SPREAD_WEIGHT,
        ));
    }
    for (column, _) in problem.categories.iter().enumerate() {
        let mut values: Vec<&str> = pupils
            .iter()
            .map(|p| p.categories[column].as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            columns.push((
                pupils
                    .iter()
                    .map(|p| {
                        if p.categories[column] == value {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                CATEGORY_WEIGHT,
            ));
        }
    }
    let mut kept: Vec<(Vec<f64>, f64)> = Vec::new();
    for (values, weight) in columns {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        if sd > 1e-12 {
            kept.push((values.iter().map(|x| (x - mean) / sd).collect(), weight));
        }
    }
    let f = kept.len();
    let mut feat = vec![0.0; units.len() * f];
    for (u, unit) in units.iter().enumerate() {
        for (j, (values, _)) in kept.iter().enumerate() {
            feat[u * f + j] = unit.members.iter().map(|&m| values[m]).sum();
        }
    }
    (feat, kept.iter().map(|(_, w)| *w).collect(), f)
}

fn construct(
    problem: &BalanceProblem,
    units: &[Unit],
    feat: &[f64],
    f: usize,
    restart: u32,
    order_key: &[u64],
) -> Result<Vec<u32>, Conflict> {
    let pupils = &problem.pupils;
    let n = pupils.len();
    let k = problem.classes as usize;
    let (q, r) = (n / k, n % k);
    // Global index of every (category column, value) for the count table.
    let mut value_index: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for pupil in pupils {
        for (column, value) in pupil.categories.iter().enumerate() {
            let next = value_index.len();
            value_index.entry((column, value.as_str())).or_insert(next);
        }
    }
    let member_values: Vec<Vec<usize>> = units
        .iter()
        .map(|u| {
            u.members
                .iter()
                .flat_map(|&m| {
                    pupils[m]
                        .categories
                        .iter()
                        .enumerate()
                        .map(|(c, v)| value_index[&(c, v.as_str())])
                })
                .collect()
        })
        .collect();
    // Standardised total score of each unit (first feature when there is a single subject).
    let score_column = if problem.subjects.len() > 1 {
        2 * problem.subjects.len()
    } else {
        0
    };
    let unit_score = |u: usize| {
        if problem.subjects.is_empty() || f == 0 {
            0.0
        } else {
            feat[u * f + score_column]
        }
    };
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        let (ua, ub) = (&units[a], &units[b]);
        ub.fixed
            .is_some()
            .cmp(&ua.fixed.is_some())
            .then(ub.members.len().cmp(&ua.members.len()))
            .then(ub.apart.len().cmp(&ua.apart.len()))
            .then(
                (ub.boys * 2 >= ub.members.len() as u32)
                    .cmp(&(ua.boys * 2 >= ua.members.len() as u32)),
            )
            .then_with(|| {
                if restart == 0 {
                    unit_score(b).total_cmp(&unit_score(a)).then(a.cmp(&b))
                } else {
                    (order_key[a], a).cmp(&(order_key[b], b))
                }
            })
    });
    let mut size = vec![0usize; k];
    let mut boys = vec![0u32; k];
    let mut girls = vec![0u32; k];
    let mut value_count = vec![0u32; value_index.len() * k];
    let mut score_sum = vec![0.0f64; k];
    let mut apart_used: BTreeMap<(u32, usize), ()> = BTreeMap::new();
    let mut big = 0usize;
    let mut class_of = vec![0u32; units.len()];
    for &u in &order {
        let unit = &units[u];
        let s = unit.members.len();
        let fits = |c: usize, size: &[usize], big: usize| {
            let after = size[c] + s;
            after <= q || (after == q + 1 && big < r)
        };
        let chosen = match unit.fixed {
            Some(class) => Some(class as usize),
            None => (0..k)
                .filter(|&c| {
                    fits(c, &size, big)
                        && unit
                            .apart
                            .iter()
                            .all(|&a| !apart_used.contains_key(&(a, c)))
                })
                .min_by(|&a, &b| {
                    let sex = |c: usize| u64::from(boys[c] * unit.boys + girls[c] * unit.girls);
                    let cats = |c: usize| {
                        member_values[u]
                            .iter()
                            .map(|&v| value_count[v * k + c])
                            .sum::<u32>()
                    };
                    sex(a)
                        .cmp(&sex(b))
                        .then(cats(a).cmp(&cats(b)))
                        .then(score_sum[a].total_cmp(&score_sum[b]))
                        .then(a.cmp(&b))
                }),
        };
        let Some(c) = chosen else {
            let mut reason =
                "no class has room for this unit without separating pupils who must be apart"
                    .to_string();
            if !unit.apart.is_empty() {
                reason.push_str(
                    " (apart keys of these pupils are already used in every class with room)",
                );
            }
            return Err(Conflict {
                constraint: "together/apart/size".to_string(),
                pupils: ids(problem, &unit.members),
                reason,
            });
        };
        if size[c] + s == q + 1 {
            big += 1;
        }
        size[c] += s;
        boys[c] += unit.boys;
        girls[c] += unit.girls;
        for &v in &member_values[u] {
            value_count[v * k + c] += 1;
        }
        score_sum[c] += unit_score(u);
        for &a in &unit.apart {
            apart_used.insert((a, c), ());
        }
        class_of[u] = c as u32;
    }
    repair_sex_spread(
        units,
        &mut class_of,
        &mut boys,
        &mut girls,
        &mut apart_used,
        k,
    );
    Ok(class_of)
}

/// When constraints made the greedy construction leave one sex with a count range above 1,
/// exchange a single pupil of that sex in its fullest class with a single pupil of the other sex
/// in its emptiest class (neither fixed, `apart` kept), while that narrows the range.
fn repair_sex_spread(
    units: &[Unit],
    class_of: &mut [u32],
    boys: &mut [u32],
    girls: &mut [u32],
    apart_used: &mut BTreeMap<(u32, usize), ()>,
    k: usize,
) {
    for _ in 0..units.len() {
        let mut changed = false;
        for sex_is_boy in [true, false] {
            let count = |c: usize| if sex_is_boy { boys[c] } else { girls[c] };
            let Some(high) = (0..k).max_by_key(|&c| (count(c), std::cmp::Reverse(c))) else {
                return;
            };
            let Some(low) = (0..k).min_by_key(|&c| (count(c), c)) else {
                return;
            };
            if count(high) < count(low) + 2 {
                continue;
            }
            let single = |u: usize, boy: bool, class: usize| {
                let unit = &units[u];
                unit.members.len() == 1
                    && unit.fixed.is_none()
                    && (unit.boys == 1) == boy
                    && class_of[u] as usize == class
            };
            let can_move = |u: usize, to: usize| {
                units[u]
                    .apart
                    .iter()
                    .all(|&a| !apart_used.contains_key(&(a, to)))
            };
            let out = (0..units.len()).find(|&u| single(u, sex_is_boy, high) && can_move(u, low));
            let back = (0..units.len()).find(|&v| single(v, !sex_is_boy, low) && can_move(v, high));
            let (Some(u), Some(v)) = (out, back) else {
                continue;
            };
            for (unit, from, to) in [(u, high, low), (v, low, high)] {
                for &a in &units[unit].apart {
                    apart_used.remove(&(a, from));
                    apart_used.insert((a, to), ());
                }
                class_of[unit] = to as u32;
            }
            let (moved_boy_from, moved_boy_to) = if sex_is_boy { (high, low) } else { (low, high) };
            boys[moved_boy_from] -= 1;
            boys[moved_boy_to] += 1;
            girls[moved_boy_to] -= 1;
            girls[moved_boy_from] += 1;
            changed = true;
        }
        if !changed {
            return;
        }
    }
}

/// Exchange local search with incremental class sums.
struct Search<'a> {
    units: &'a [Unit],
    feat: &'a [f64],
    weights: &'a [f64],
    f: usize,
    k: usize,
    class_of: Vec<u32>,
    sums: Vec<f64>,
    grad: Vec<f64>,
    inverse_square_size: Vec<f64>,
    apart_count: Vec<u16>,
    apart_keys: usize,
}

impl<'a> Search<'a> {
    fn new(
        units: &'a [Unit],
        feat: &'a [f64],
        weights: &'a [f64],
        f: usize,
        k: usize,
        class_of: Vec<u32>,
    ) -> Self {
        let apart_keys = units
            .iter()
            .flat_map(|u| u.apart.iter())
            .map(|&a| a as usize + 1)
            .max()
            .unwrap_or(0);
        let mut search = Search {
            units,
            feat,
            weights,
            f,
            k,
            sums: vec![0.0; k * f],
            grad: vec![0.0; k * f],
            inverse_square_size: vec![0.0; k],
            apart_count: vec![0; apart_keys * k],
            apart_keys,
            class_of,
        };
        let mut size = vec![0usize; k];
        for (u, unit) in units.iter().enumerate() {
            let c = search.class_of[u] as usize;
            size[c] += unit.members.len();
            for j in 0..f {
                search.sums[c * f + j] += feat[u * f + j];
            }
            for &a in &unit.apart {
                search.apart_count[a as usize * k + c] += 1;
            }
        }
        for c in 0..k {
            search.inverse_square_size[c] = if size[c] == 0 {
                0.0
            } else {
                1.0 / (size[c] * size[c]) as f64
            };
            search.refresh_grad(c);
        }
        search
    }

    fn refresh_grad(&mut self, c: usize) {
        for j in 0..self.f {
            self.grad[c * self.f + j] =
                2.0 * self.inverse_square_size[c] * self.weights[j] * self.sums[c * self.f + j];
        }
    }

    fn objective(&self) -> f64 {
        let mut total = 0.0;
        for c in 0..self.k {
            for j in 0..self.f {
                let s = self.sums[c * self.f + j];
                total += self.inverse_square_size[c] * self.weights[j] * s * s;
            }
        }
        total
    }

    fn apart_ok(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.class_of[i] as usize, self.class_of[j] as usize);
        let (ui, uj) = (&self.units[i], &self.units[j]);
        ui.apart.iter().all(|&key| {
            self.apart_count[key as usize * self.k + b] == u16::from(uj.apart.contains(&key))
        }) && uj.apart.iter().all(|&key| {
            self.apart_count[key as usize * self.k + a] == u16::from(ui.apart.contains(&key))
        })
    }

    fn run(&mut self, visit: &[usize]) {
        if self.f == 0 || self.k < 2 {
            return;
        }
        // Swap partners: units of the same size and sex make-up that may move.
        let mut by_type: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
        for &u in visit {
            by_type
                .entry((self.units[u].members.len(), self.units[u].boys))
                .or_default()
                .push(u);
        }
        let f = self.f;
        let k = self.k;
        // Δ(i↔j) = x_j·(g_A − 2(c_A+c_B) w∘x_i) − P_j + (c_A+c_B)·Q_j − x_i·g_A + x_i·g_B + (c_A+c_B)·Q_i
        // with P_j = x_j·g_class(j) and Q_j = Σ w x_j²; only P changes when classes change.
        let units = self.units.len();
        let quad: Vec<f64> = (0..units)
            .map(|u| {
                (0..f)
                    .map(|t| self.weights[t] * self.feat[u * f + t] * self.feat[u * f + t])
                    .sum()
            })
            .collect();
        let mut own = vec![0.0; units];
        let refresh_own = |own: &mut Vec<f64>, search: &Search<'_>, classes: &[usize]| {
            for u in 0..units {
                let c = search.class_of[u] as usize;
                if classes.contains(&c) {
                    own[u] = (0..f)
                        .map(|t| search.feat[u * f + t] * search.grad[c * f + t])
                        .sum();
                }
            }
        };
        refresh_own(&mut own, self, &(0..k).collect::<Vec<_>>());
        let mut sizes_c: Vec<f64> = self.inverse_square_size.clone();
        sizes_c.sort_by(f64::total_cmp);
        sizes_c.dedup();
        let mut vectors = vec![0.0; sizes_c.len() * f];
        let mut cross = vec![0.0; k];
        for _pass in 0..MAX_PASSES {
            let mut improved = false;
            for &i in visit {
                let partners = &by_type[&(self.units[i].members.len(), self.units[i].boys)];
                let a = self.class_of[i] as usize;
                let ca = self.inverse_square_size[a];
                let xi = &self.feat[i * f..(i + 1) * f];
                for (s, &cb) in sizes_c.iter().enumerate() {
                    for t in 0..f {
                        vectors[s * f + t] =
                            self.grad[a * f + t] - 2.0 * (ca + cb) * self.weights[t] * xi[t];
                    }
                }
                let xi_ga: f64 = (0..f).map(|t| xi[t] * self.grad[a * f + t]).sum();
                for (b, value) in cross.iter_mut().enumerate() {
                    *value = (0..f).map(|t| xi[t] * self.grad[b * f + t]).sum::<f64>() - xi_ga;
                }
                let mut best = -1e-12;
                let mut best_j = usize::MAX;
                for &j in partners {
                    let b = self.class_of[j] as usize;
                    if b == a {
                        continue;
                    }
                    let cb = self.inverse_square_size[b];
                    let s = if sizes_c.len() == 1 {
                        0
                    } else {
                        sizes_c.iter().position(|&c| c == cb).unwrap_or(0)
                    };
                    let v = &vectors[s * f..(s + 1) * f];
                    let xj = &self.feat[j * f..(j + 1) * f];
                    let mut dot = 0.0;
                    for t in 0..f {
                        dot += xj[t] * v[t];
                    }
                    let delta = dot - own[j] + (ca + cb) * (quad[j] + quad[i]) + cross[b];
                    if delta < best && (self.apart_keys == 0 || self.apart_ok(i, j)) {
                        best = delta;
                        best_j = j;
                    }
                }
                if best_j != usize::MAX {
                    let j = best_j;
                    let b = self.class_of[j] as usize;
                    for t in 0..f {
                        let d = self.feat[j * f + t] - self.feat[i * f + t];
                        self.sums[a * f + t] += d;
                        self.sums[b * f + t] -= d;
                    }
                    self.refresh_grad(a);
                    self.refresh_grad(b);
                    for &key in &self.units[i].apart {
                        self.apart_count[key as usize * self.k + a] -= 1;
                        self.apart_count[key as usize * self.k + b] += 1;
                    }
                    for &key in &self.units[j].apart {
                        self.apart_count[key as usize * self.k + b] -= 1;
                        self.apart_count[key as usize * self.k + a] += 1;
                    }
                    self.class_of[i] = b as u32;
                    self.class_of[j] = a as u32;
                    refresh_own(&mut own, self, &[a, b]);
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// Range polishing: repeatedly takes the feature with the largest weighted range of class
    /// means and tries every swap out of its highest and lowest class; applies the swap that most
    /// reduces the weighted sum of all features' ranges. Stops after `max_steps` swaps or when
    /// no such swap improves.
    fn polish(&mut self, visit: &[usize], max_steps: usize) {
        if self.f == 0 || self.k < 2 {
            return;
        }
        let (f, k) = (self.f, self.k);
        let mut by_type: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
        for &u in visit {
            by_type
                .entry((self.units[u].members.len(), self.units[u].boys))
                .or_default()
                .push(u);
        }
        let size: Vec<f64> = self
            .inverse_square_size
            .iter()
            .map(|c| if *c > 0.0 { 1.0 / c.sqrt() } else { 1.0 })
            .collect();
        let mut mean = vec![0.0; k * f];
        let mut tried = vec![false; f];
        // Polishing weighs every score feature (means and squared deviations) equally.
        let pw: Vec<f64> = self
            .weights
            .iter()
            .map(|&w| if w == SPREAD_WEIGHT { 1.0 } else { w })
            .collect();
        let mut steps = 0;
        while steps < max_steps {
            for c in 0..k {
                for t in 0..f {
                    mean[c * f + t] = self.sums[c * f + t] / size[c];
                }
            }
            // Per feature: the three highest and three lowest classes.
            let mut high = vec![[usize::MAX; 3]; f];
            let mut low = vec![[usize::MAX; 3]; f];
            let mut current = 0.0;
            let mut worst = (f64::NEG_INFINITY, usize::MAX);
            for t in 0..f {
                let mut order: Vec<usize> = (0..k).collect();
                order.sort_by(|&x, &y| mean[y * f + t].total_cmp(&mean[x * f + t]).then(x.cmp(&y)));
                for r in 0..3.min(k) {
                    high[t][r] = order[r];
                    low[t][r] = order[k - 1 - r];
                }
                let range = pw[t] * (mean[order[0] * f + t] - mean[order[k - 1] * f + t]);
                current += range;
                if !tried[t] && range > worst.0 {
                    worst = (range, t);
                }
            }
            if worst.1 == usize::MAX {
                break;
            }
            let t0 = worst.1;
            let feature_order: Vec<usize> = std::iter::once(t0)
                .chain((0..f).filter(|&t| t != t0))
                .collect();
            let extreme = [high[t0][0], low[t0][0]];
            let mut best = (current - 1e-12, usize::MAX, usize::MAX);
            // For a unit of class a: per feature the best two classes other than a, high and low.
            let mut high_other = vec![[usize::MAX; 2]; f];
            let mut low_other = vec![[usize::MAX; 2]; f];
            for &i in visit {
                let a = self.class_of[i] as usize;
                if !extreme.contains(&a) {
                    continue;
                }
                for t in 0..f {
                    let mut h = high[t]
                        .iter()
                        .copied()
                        .filter(|&c| c != a && c != usize::MAX);
                    high_other[t] = [
                        h.next().unwrap_or(usize::MAX),
                        h.next().unwrap_or(usize::MAX),
                    ];
                    let mut l = low[t]
                        .iter()
                        .copied()
                        .filter(|&c| c != a && c != usize::MAX);
                    low_other[t] = [
                        l.next().unwrap_or(usize::MAX),
                        l.next().unwrap_or(usize::MAX),
                    ];
                }
                for &j in &by_type[&(self.units[i].members.len(), self.units[i].boys)] {
                    let b = self.class_of[j] as usize;
                    if b == a {
                        continue;
                    }
                    let mut total = 0.0;
                    for (position, &t) in feature_order.iter().enumerate() {
                        let d = self.feat[j * f + t] - self.feat[i * f + t];
                        let na = mean[a * f + t] + d / size[a];
                        let nb = mean[b * f + t] - d / size[b];
                        let mut max = na.max(nb);
                        let mut min = na.min(nb);
                        let h = if high_other[t][0] == b {
                            high_other[t][1]
                        } else {
                            high_other[t][0]
                        };
                        if h != usize::MAX {
                            max = max.max(mean[h * f + t]);
                        }
                        let l = if low_other[t][0] == b {
                            low_other[t][1]
                        } else {
                            low_other[t][0]
                        };
                        if l != usize::MAX {
                            min = min.min(mean[l * f + t]);
                        }
                        let range = pw[t] * (max - min);
                        // Only swaps that narrow the chosen feature's range are considered.
                        if position == 0 && range >= worst.0 - 1e-12 {
                            total = f64::INFINITY;
                            break;
                        }
                        total += range;
                        if total >= best.0 {
                            break;
                        }
                    }
                    if total < best.0 && (self.apart_keys == 0 || self.apart_ok(i, j)) {
                        best = (total, i, j);
                    }
                }
            }
            if best.1 == usize::MAX {
                tried[t0] = true;
                continue;
            }
            tried.iter_mut().for_each(|x| *x = false);
            self.swap(best.1, best.2);
            steps += 1;
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        let (f, k) = (self.f, self.k);
        let (a, b) = (self.class_of[i] as usize, self.class_of[j] as usize);
        for t in 0..f {
            let d = self.feat[j * f + t] - self.feat[i * f + t];
            self.sums[a * f + t] += d;
            self.sums[b * f + t] -= d;
        }
        self.refresh_grad(a);
        self.refresh_grad(b);
        for &key in &self.units[i].apart {
            self.apart_count[key as usize * k + a] -= 1;
            self.apart_count[key as usize * k + b] += 1;
        }
        for &key in &self.units[j].apart {
            self.apart_count[key as usize * k + b] -= 1;
            self.apart_count[key as usize * k + a] += 1;
        }
        self.class_of[i] = b as u32;
        self.class_of[j] = a as u32;
    }

    fn pupil_classes(&self, n: usize) -> Vec<u32> {
        let mut classes = vec![0u32; n];
        for (u, unit) in self.units.iter().enumerate() {
            for &m in &unit.members {
                classes[m] = self.class_of[u] + 1;
            }
        }
        classes
    }
}

/// How good a division is, compared lexicographically.
struct Quality {
    sex_ranges: u32,
    category_ranges: u32,
    worst_score_range: f64,
    objective: f64,
}

impl Quality {
    fn of(problem: &BalanceProblem, classes: &[u32], objective: f64) -> Quality {
        let k = problem.classes;
        let pupils = &problem.pupils;
        let range =
            |counts: &[u32]| counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0);
        let mut sex_ranges = 0;
        for sex in [Sex::M, Sex::F] {
            let mut counts = vec![0u32; k as usize];
            for (p, &c) in pupils.iter().zip(classes) {
                if p.sex == sex {
                    counts[c as usize - 1] += 1;
                }
            }
            sex_ranges += range(&counts);
        }
        let mut category_ranges = 0;
        for column in 0..problem.categories.len() {
            let mut table: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
            for (p, &c) in pupils.iter().zip(classes) {
                table
                    .entry(p.categories[column].as_str())
                    .or_insert_with(|| vec![0; k as usize])[c as usize - 1] += 1;
            }
            category_ranges += table.values().map(|counts| range(counts)).sum::<u32>();
        }
        let mut worst_score_range: f64 = 0.0;
        let mut series: Vec<Vec<f64>> = (0..problem.subjects.len())
            .map(|j| pupils.iter().map(|p| p.scores[j]).collect())
            .collect();
        if problem.subjects.len() > 1 {
            series.push(pupils.iter().map(|p| p.scores.iter().sum()).collect());
        }
        for values in &series {
            let (_, overall) = class_means_sds(&vec![1; values.len()], 1, values);
            let sd = overall.first().copied().unwrap_or(0.0);
            if sd <= 0.0 {
                continue;
            }
            let (means, sds) = class_means_sds(classes, k, values);
            let spread = |v: &[f64]| {
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    - v.iter().copied().fold(f64::INFINITY, f64::min)
            };
            worst_score_range = worst_score_range
                .max(spread(&means) / sd)
                .max(spread(&sds) / sd);
        }
        Quality {
            sex_ranges,
            category_ranges,
            worst_score_range,
            objective,
        }
    }

    fn better_than(&self, other: &Quality) -> bool {
        (self.sex_ranges, self.category_ranges)
            .cmp(&(other.sex_ranges, other.category_ranges))
            .then(self.worst_score_range.total_cmp(&other.worst_score_range))
            .then(self.objective.total_cmp(&other.objective))
            .is_lt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(boy: bool, apart: Option<u32>) -> Unit {
        Unit {
            members: vec![0],
            boys: u32::from(boy),
            girls: u32::from(!boy),
            fixed: None,
            apart: apart.into_iter().collect(),
        }
    }

    #[test]
    fn sex_repair_evens_out_counts_and_keeps_apart() {
        // Class 0: three boys and a girl; class 1: a boy and three girls. The first boy of class 0
        // shares an apart key with the boy already in class 1, so another boy must move.
        let units = vec![
            single(true, Some(0)),
            single(true, None),
            single(true, None),
            single(false, None),
            single(true, Some(0)),
            single(false, None),
            single(false, None),
            single(false, None),
        ];
        let mut class_of = vec![0, 0, 0, 0, 1, 1, 1, 1];
        let (mut boys, mut girls) = (vec![3, 1], vec![1, 3]);
        let mut apart_used: BTreeMap<(u32, usize), ()> =
            [((0, 0), ()), ((0, 1), ())].into_iter().collect();
        repair_sex_spread(
            &units,
            &mut class_of,
            &mut boys,
            &mut girls,
            &mut apart_used,
            2,
        );
        assert_eq!((boys, girls), (vec![2, 2], vec![2, 2]));
        assert_eq!(class_of[0], 0, "the apart boy stays");
        let boys_in_0 = (0..8)
            .filter(|&u| units[u].boys == 1 && class_of[u] == 0)
            .count();
        assert_eq!(boys_in_0, 2);
    }
}
