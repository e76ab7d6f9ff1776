//! Teachers for teaching classes and for (administrative class, compulsory subject) units.
//!
//! Teaching classes first, block by block, by bipartite matching (each teacher once per block, least-loaded first,
//! keeping a share of compulsory-qualified teachers' time for compulsory lessons); then compulsory units, scarcest
//! subject first. Whatever the greedy pass leaves broken (a clash, an overload, a teacher away, too few free slots
//! for a teacher's compulsory lessons) is mended by min-conflicts reassignment and swaps.
#![allow(clippy::needless_range_loop)] // index loops over parallel tables read best here

use crate::rng::SplitMix64;
use crate::solve::model::Model;

/// One thing that needs a teacher.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub kind: TaskKind,
    pub periods: usize,
    /// Previous solution's teacher, tried first.
    pub preferred: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum TaskKind {
    /// A teaching class of an elective meeting at fixed slots, in a block (classes of one block may not share a
    /// teacher).
    Class {
        elective: usize,
        slots: Vec<usize>,
        block: usize,
    },
    /// The lessons of one compulsory subject for one administrative class; slots come later.
    Compulsory { subject: usize },
}

fn qualified(model: &Model<'_>, kind: &TaskKind, t: usize) -> bool {
    match kind {
        TaskKind::Class { elective, .. } => model.teachers[t].electives[*elective],
        TaskKind::Compulsory { subject, .. } => model.teachers[t].compulsory[*subject],
    }
}

struct Assignment<'m, 'a> {
    model: &'m Model<'a>,
    tasks: &'m [Task],
    teacher: Vec<usize>,
    load: Vec<usize>,
    /// Per teacher and slot: teaching classes there.
    busy: Vec<Vec<u16>>,
    /// Per teacher: compulsory periods.
    compulsory_load: Vec<usize>,
}

impl Assignment<'_, '_> {
    fn set(&mut self, task: usize, t: usize, add: bool) {
        let periods = self.tasks[task].periods;
        if add {
            self.load[t] += periods;
        } else {
            self.load[t] -= periods;
        }
        match &self.tasks[task].kind {
            TaskKind::Class { slots, .. } => {
                for &s in slots {
                    if add {
                        self.busy[t][s] += 1;
                    } else {
                        self.busy[t][s] -= 1;
                    }
                }
            }
            TaskKind::Compulsory { .. } => {
                if add {
                    self.compulsory_load[t] += periods;
                } else {
                    self.compulsory_load[t] -= periods;
                }
            }
        }
        if add {
            self.teacher[task] = t;
        }
    }

    /// Slots where teacher t could still give compulsory lessons.
    fn compulsory_room(&self, t: usize) -> usize {
        let teacher = &self.model.teachers[t];
        (0..self.model.slot_count)
            .filter(|&s| self.model.available[s] && !teacher.unavailable[s] && self.busy[t][s] == 0)
            .count()
    }

    fn teacher_cost(&self, t: usize) -> i64 {
        let teacher = &self.model.teachers[t];
        let mut cost = (self.load[t] as i64 - teacher.max as i64).max(0);
        for s in 0..self.model.slot_count {
            let b = self.busy[t][s] as i64;
            cost += (b - 1).max(0);
            if b > 0 && (teacher.unavailable[s] || !self.model.available[s]) {
                cost += b;
            }
        }
        cost += (self.compulsory_load[t] as i64 - self.compulsory_room(t) as i64).max(0);
        cost
    }
}

/// A teacher for every task (qualified; conflicts only when the greedy pass and the repair could not avoid them),
/// and whether the result is free of conflicts.
pub(crate) fn assign(model: &Model<'_>, tasks: &[Task], seed: u64) -> (Vec<usize>, bool) {
    let teachers = model.teachers.len();
    let mut state = Assignment {
        model,
        tasks,
        teacher: vec![usize::MAX; tasks.len()],
        load: vec![0; teachers],
        busy: vec![vec![0; model.slot_count]; teachers],
        compulsory_load: vec![0; teachers],
    };
    // Time compulsory-qualified teachers should keep for compulsory lessons, in proportion to their max_periods.
    let mut reserve = vec![0usize; teachers];
    for (c, &periods) in model.compulsory_periods.iter().enumerate() {
        let demand = periods * model.admins.len();
        let capacity: usize = model
            .teachers
            .iter()
            .filter(|t| t.compulsory[c])
            .map(|t| t.max)
            .sum();
        if capacity == 0 {
            continue;
        }
        for t in 0..teachers {
            if model.teachers[t].compulsory[c] {
                reserve[t] += model.teachers[t].max * demand / capacity;
            }
        }
    }
    let spare = |state: &Assignment<'_, '_>, t: usize| -> i64 {
        model.teachers[t].max as i64 - state.load[t] as i64 - reserve[t] as i64
    };

    // Teaching classes, block by block (busiest first), by matching.
    let mut blocks: Vec<usize> = tasks
        .iter()
        .filter_map(|task| match task.kind {
            TaskKind::Class { block, .. } => Some(block),
            TaskKind::Compulsory { .. } => None,
        })
        .collect();
    blocks.sort_unstable();
    blocks.dedup();
    blocks.sort_by_key(|&b| {
        std::cmp::Reverse(
            tasks
                .iter()
                .filter(|t| matches!(t.kind, TaskKind::Class { block, .. } if block == b))
                .count(),
        )
    });
    for &b in &blocks {
        let members: Vec<usize> = (0..tasks.len())
            .filter(|&i| matches!(tasks[i].kind, TaskKind::Class { block, .. } if block == b))
            .collect();
        let candidates: Vec<Vec<usize>> = members
            .iter()
            .map(|&i| {
                let TaskKind::Class { slots, .. } = &tasks[i].kind else {
                    return Vec::new();
                };
                let mut list: Vec<usize> = (0..teachers)
                    .filter(|&t| {
                        qualified(model, &tasks[i].kind, t)
                            && state.load[t] + tasks[i].periods <= model.teachers[t].max
                            && slots.iter().all(|&s| {
                                !model.teachers[t].unavailable[s] && state.busy[t][s] == 0
                            })
                    })
                    .collect();
                list.sort_by_key(|&t| {
                    (
                        Some(t) != tasks[i].preferred,
                        std::cmp::Reverse(spare(&state, t)),
                        t,
                    )
                });
                list
            })
            .collect();
        let matched = bipartite_matching(&candidates, teachers);
        for (position, &i) in members.iter().enumerate() {
            if let Some(t) = matched[position] {
                state.set(i, t, true);
            }
        }
    }
    // Compulsory units: scarcest subject first.
    let mut order: Vec<usize> = (0..tasks.len())
        .filter(|&i| matches!(tasks[i].kind, TaskKind::Compulsory { .. }))
        .collect();
    let scarcity = |i: usize| -> usize {
        let TaskKind::Compulsory { subject, .. } = tasks[i].kind else {
            return usize::MAX;
        };
        let capacity: usize = model
            .teachers
            .iter()
            .filter(|t| t.compulsory[subject])
            .map(|t| t.max)
            .sum();
        capacity * 1000 / (model.compulsory_periods[subject] * model.admins.len()).max(1)
    };
    order.sort_by_key(|&i| (scarcity(i), i));
    for i in order {
        let periods = tasks[i].periods;
        let fits = |state: &Assignment<'_, '_>, t: usize| {
            qualified(model, &tasks[i].kind, t)
                && state.load[t] + periods <= model.teachers[t].max
                && state.compulsory_load[t] + periods <= state.compulsory_room(t)
        };
        let choice = tasks[i].preferred.filter(|&t| fits(&state, t)).or_else(|| {
            (0..teachers).filter(|&t| fits(&state, t)).max_by_key(|&t| {
                (
                    model.teachers[t].max as i64 - state.load[t] as i64,
                    std::cmp::Reverse(t),
                )
            })
        });
        if let Some(t) = choice {
            state.set(i, t, true);
        }
    }
    // Anything left: the qualified teacher that adds the least conflict.
    for i in 0..tasks.len() {
        if state.teacher[i] != usize::MAX {
            continue;
        }
        let best = (0..teachers)
            .filter(|&t| qualified(model, &tasks[i].kind, t))
            .min_by_key(|&t| {
                let before = state.teacher_cost(t);
                state.set(i, t, true);
                let after = state.teacher_cost(t);
                state.set(i, t, false);
                (after - before, t)
            });
        match best {
            Some(t) => state.set(i, t, true),
            // No qualified teacher at all: the diagnosis reports this before solving; keep a placeholder.
            None => state.teacher[i] = 0,
        }
    }
    let ok = repair(&mut state, seed);
    (state.teacher, ok)
}

fn repair(state: &mut Assignment<'_, '_>, seed: u64) -> bool {
    let model = state.model;
    let teachers = model.teachers.len();
    let tasks = state.tasks;
    let mut rng = SplitMix64::stream(seed, "teachers");
    let mut costs: Vec<i64> = (0..teachers).map(|t| state.teacher_cost(t)).collect();
    for _ in 0..20_000 {
        let bad: Vec<usize> = (0..teachers).filter(|&t| costs[t] > 0).collect();
        if bad.is_empty() {
            return true;
        }
        let t = bad[rng.below(bad.len())];
        let mine: Vec<usize> = (0..tasks.len())
            .filter(|&i| state.teacher[i] == t && qualified(model, &tasks[i].kind, t))
            .collect();
        if mine.is_empty() {
            return false;
        }
        let i = mine[rng.below(mine.len())];
        // Best of: give task i to another teacher, or swap it with a task of another teacher.
        let mut best: Option<(i64, usize, Option<usize>)> = None;
        for other in 0..teachers {
            if other == t || !qualified(model, &tasks[i].kind, other) {
                continue;
            }
            let before = costs[t] + costs[other];
            state.set(i, t, false);
            state.set(i, other, true);
            let after = state.teacher_cost(t) + state.teacher_cost(other);
            state.set(i, other, false);
            state.set(i, t, true);
            let delta = after - before;
            if best.is_none_or(|b| delta < b.0) {
                best = Some((delta, other, None));
            }
            for j in 0..tasks.len() {
                if state.teacher[j] != other || !qualified(model, &tasks[j].kind, t) {
                    continue;
                }
                state.set(i, t, false);
                state.set(j, other, false);
                state.set(i, other, true);
                state.set(j, t, true);
                let after = state.teacher_cost(t) + state.teacher_cost(other);
                state.set(i, other, false);
                state.set(j, t, false);
                state.set(i, t, true);
                state.set(j, other, true);
                let delta = after - before;
                if best.is_none_or(|b| delta < b.0) {
                    best = Some((delta, other, Some(j)));
                }
            }
        }
        let Some((delta, other, swap)) = best else {
            continue;
        };
        if delta > 0 && rng.below(10) != 0 {
            continue;
        }
        state.set(i, t, false);
        state.set(i, other, true);
        if let Some(j) = swap {
            state.set(j, other, false);
            state.set(j, t, true);
        }
        costs[t] = state.teacher_cost(t);
        costs[other] = state.teacher_cost(other);
    }
    costs.iter().all(|&c| c == 0)
}

/// Kuhn's augmenting paths: left vertex i gets one of `candidates[i]` (in preference order), each right once.
pub(crate) fn bipartite_matching(candidates: &[Vec<usize>], right: usize) -> Vec<Option<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; right];
    let mut matched: Vec<Option<usize>> = vec![None; candidates.len()];
    fn augment(
        i: usize,
        candidates: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
        matched: &mut [Option<usize>],
    ) -> bool {
        for &r in &candidates[i] {
            if seen[r] {
                continue;
            }
            seen[r] = true;
            if owner[r].is_none_or(|other| augment(other, candidates, seen, owner, matched)) {
                owner[r] = Some(i);
                matched[i] = Some(r);
                return true;
            }
        }
        false
    }
    for i in 0..candidates.len() {
        let mut seen = vec![false; right];
        augment(i, candidates, &mut seen, &mut owner, &mut matched);
    }
    matched
}
