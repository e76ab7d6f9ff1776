//! Student sectioning into parallel blocks: how many classes of each (elective, level) meet in each block, and
//! how many students of each combination take which block for which item. Simulated annealing on counts.
#![allow(
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::type_complexity
)] // index loops over parallel tables read best here

use crate::rng::SplitMix64;
use crate::solve::Budget;

const HARD: i64 = 1000;
const HINT_WEIGHT: i64 = 3;

/// Students with the same items in one length group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Local item numbers.
    pub items: Vec<usize>,
    pub count: usize,
    /// Previous solution: (block of each item, how many students) to stay close to.
    pub hint: Vec<(Vec<usize>, usize)>,
}

#[derive(Debug, Clone)]
pub(crate) struct RoutingInput {
    pub blocks: usize,
    pub caps: Vec<usize>,
    pub demand: Vec<usize>,
    /// Classes to start from per item (the lower bound).
    pub sections: Vec<usize>,
    /// Previous solution's classes per item and block, if any.
    pub hint_sections: Option<Vec<Vec<usize>>>,
    pub subject_of: Vec<usize>,
    /// Teachers able to teach a subject in a block (qualified and available in all its slots).
    pub teacher_limit: Vec<Vec<usize>>,
    pub room_limit: usize,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone)]
pub(crate) struct Routing {
    /// Classes per item and block.
    pub sections: Vec<Vec<usize>>,
    /// Per group: (block of each item, number of students).
    pub patterns: Vec<Vec<(Vec<usize>, usize)>>,
}

struct State<'a> {
    input: &'a RoutingInput,
    patterns: Vec<Vec<Vec<usize>>>,
    hint: Vec<Vec<usize>>,
    m: Vec<Vec<usize>>,
    x: Vec<Vec<usize>>,
    load: Vec<Vec<usize>>,
    block_sections: Vec<usize>,
    subject_sections: Vec<Vec<usize>>,
    k: Vec<usize>,
}

impl State<'_> {
    fn cell(&self, i: usize, b: usize) -> i64 {
        let (m, load, cap) = (
            self.m[i][b] as i64,
            self.load[i][b] as i64,
            self.input.caps[i] as i64,
        );
        let mut cost = HARD * ((load - cap * m).max(0) + (m - load).max(0));
        if m > 0 {
            let k = self.k[i].max(1) as i64;
            let n = self.input.demand[i] as i64;
            cost += ((load * k - m * n).abs() + k / 2) / k;
        }
        cost
    }

    fn cell_hard(&self, i: usize, b: usize) -> i64 {
        let (m, load, cap) = (
            self.m[i][b] as i64,
            self.load[i][b] as i64,
            self.input.caps[i] as i64,
        );
        (load - cap * m).max(0) + (m - load).max(0)
    }

    fn block(&self, b: usize) -> i64 {
        HARD * (self.block_sections[b] as i64 - self.input.room_limit as i64).max(0)
    }

    fn teach(&self, s: usize, b: usize) -> i64 {
        HARD * (self.subject_sections[s][b] as i64 - self.input.teacher_limit[s][b] as i64).max(0)
    }

    fn hint_cost(&self, g: usize, p: usize) -> i64 {
        HINT_WEIGHT * (self.x[g][p] as i64 - self.hint[g][p] as i64).max(0)
    }

    fn hard_total(&self) -> i64 {
        let input = self.input;
        let mut total = 0;
        for i in 0..input.caps.len() {
            for b in 0..input.blocks {
                total += self.cell_hard(i, b);
            }
        }
        for b in 0..input.blocks {
            total += self.block(b) / HARD;
            for s in 0..input.teacher_limit.len() {
                total += self.teach(s, b) / HARD;
            }
        }
        total
    }

    fn move_students(&mut self, g: usize, from: usize, to: usize, count: usize) {
        self.x[g][from] -= count;
        self.x[g][to] += count;
        for (position, &item) in self.input.groups[g].items.iter().enumerate() {
            self.load[item][self.patterns[g][from][position]] -= count;
            self.load[item][self.patterns[g][to][position]] += count;
        }
    }

    fn move_section(&mut self, i: usize, from: usize, to: usize) {
        let s = self.input.subject_of[i];
        self.m[i][from] -= 1;
        self.m[i][to] += 1;
        self.block_sections[from] -= 1;
        self.block_sections[to] += 1;
        self.subject_sections[s][from] -= 1;
        self.subject_sections[s][to] += 1;
    }
}

fn permutations(items: usize, blocks: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(items);
    let mut used = vec![false; blocks];
    fn walk(
        items: usize,
        blocks: usize,
        current: &mut Vec<usize>,
        used: &mut [bool],
        out: &mut Vec<Vec<usize>>,
    ) {
        if current.len() == items {
            out.push(current.clone());
            return;
        }
        for b in 0..blocks {
            if !used[b] {
                used[b] = true;
                current.push(b);
                walk(items, blocks, current, used, out);
                current.pop();
                used[b] = false;
            }
        }
    }
    walk(items, blocks, &mut current, &mut used, &mut out);
    out
}

/// Largest number of patterns per group we enumerate (7 items into 7 blocks).
pub(crate) const MAX_PATTERNS: usize = 5040;

/// Finds a routing without overfull classes, rooms or teachers, adding classes above the lower bound only when
/// annealing cannot do without. `None` when even that fails.
pub(crate) fn route(input: &RoutingInput, seed: u64, budget: &dyn Budget) -> Option<Routing> {
    let blocks = input.blocks;
    let items = input.caps.len();
    let mut rng = SplitMix64::stream(seed, "routing");
    let patterns: Vec<Vec<Vec<usize>>> = input
        .groups
        .iter()
        .map(|g| permutations(g.items.len(), blocks))
        .collect();
    if patterns
        .iter()
        .any(|p| p.is_empty() || p.len() > MAX_PATTERNS)
    {
        return None;
    }
    let hint: Vec<Vec<usize>> = input
        .groups
        .iter()
        .zip(&patterns)
        .map(|(g, ps)| {
            ps.iter()
                .map(|p| {
                    g.hint
                        .iter()
                        .filter(|(hp, _)| hp == p)
                        .map(|(_, n)| *n)
                        .sum::<usize>()
                })
                .collect()
        })
        .collect();
    // Initial layout: the hint's, else sections spread round-robin so blocks carry similar numbers.
    let mut m = vec![vec![0usize; blocks]; items];
    let mut block_sections = vec![0usize; blocks];
    match &input.hint_sections {
        Some(hinted) => {
            for i in 0..items {
                for b in 0..blocks {
                    m[i][b] = hinted
                        .get(i)
                        .and_then(|row| row.get(b))
                        .copied()
                        .unwrap_or(0);
                }
                let have: usize = m[i].iter().sum();
                for _ in have..input.sections[i] {
                    let b = (0..blocks)
                        .min_by_key(|&b| (m[i][b], block_sections[b]))
                        .unwrap_or(0);
                    m[i][b] += 1;
                }
                for b in 0..blocks {
                    block_sections[b] += m[i][b];
                }
            }
        }
        None => {
            let mut order: Vec<usize> = (0..items).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(input.sections[i]));
            for i in order {
                for _ in 0..input.sections[i] {
                    let b = (0..blocks)
                        .min_by_key(|&b| (m[i][b], block_sections[b], b))
                        .unwrap_or(0);
                    m[i][b] += 1;
                    block_sections[b] += 1;
                }
            }
        }
    }
    let subjects = input.teacher_limit.len();
    let mut subject_sections = vec![vec![0usize; blocks]; subjects];
    for i in 0..items {
        for b in 0..blocks {
            subject_sections[input.subject_of[i]][b] += m[i][b];
        }
    }
    let k: Vec<usize> = m.iter().map(|row| row.iter().sum()).collect();
    let x: Vec<Vec<usize>> = patterns.iter().map(|p| vec![0; p.len()]).collect();
    let mut state = State {
        input,
        patterns,
        hint,
        m,
        x,
        load: vec![vec![0; blocks]; items],
        block_sections,
        subject_sections,
        k,
    };
    // Initial students: hinted patterns first, then one by one to the pattern with the most free seats.
    for g in 0..input.groups.len() {
        let mut placed = 0;
        for p in 0..state.patterns[g].len() {
            let take = state.hint[g][p].min(input.groups[g].count - placed);
            if take > 0 {
                state.x[g][p] += take;
                for (position, &item) in input.groups[g].items.iter().enumerate() {
                    state.load[item][state.patterns[g][p][position]] += take;
                }
                placed += take;
            }
        }
        while placed < input.groups[g].count {
            let best = (0..state.patterns[g].len())
                .max_by_key(|&p| {
                    input.groups[g]
                        .items
                        .iter()
                        .enumerate()
                        .map(|(position, &item)| {
                            let b = state.patterns[g][p][position];
                            input.caps[item] as i64 * state.m[item][b] as i64
                                - state.load[item][b] as i64
                        })
                        .min()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            let step = (input.groups[g].count - placed).min(1 + input.groups[g].count / 40);
            state.x[g][best] += step;
            for (position, &item) in input.groups[g].items.iter().enumerate() {
                state.load[item][state.patterns[g][best][position]] += step;
            }
            placed += step;
        }
    }

    let total_students: usize = input.groups.iter().map(|g| g.count).sum();
    let iterations_per_phase = (20_000 + 40 * total_students).min(400_000);
    let mut added = 0;
    let max_added = items * 2 + 4;
    loop {
        anneal(&mut state, &mut rng, iterations_per_phase, budget);
        if state.hard_total() == 0 {
            break;
        }
        if budget.expired() || added >= max_added {
            return None;
        }
        // Add one class to the item and block with the largest overflow.
        let mut worst = (0i64, 0usize, 0usize);
        for i in 0..items {
            for b in 0..blocks {
                let over = state.load[i][b] as i64 - (input.caps[i] * state.m[i][b]) as i64;
                if over > worst.0 {
                    worst = (over, i, b);
                }
            }
        }
        if worst.0 <= 0 {
            // Rooms or teachers are short in some block: more classes will not help.
            if added >= 2 {
                return None;
            }
            added += 1;
            continue;
        }
        let (_, i, b) = worst;
        state.m[i][b] += 1;
        state.k[i] += 1;
        state.block_sections[b] += 1;
        state.subject_sections[input.subject_of[i]][b] += 1;
        added += 1;
    }
    let patterns = (0..input.groups.len())
        .map(|g| {
            state.patterns[g]
                .iter()
                .zip(&state.x[g])
                .filter(|(_, n)| **n > 0)
                .map(|(p, n)| (p.clone(), *n))
                .collect()
        })
        .collect();
    Some(Routing {
        sections: state.m,
        patterns,
    })
}

fn anneal(state: &mut State<'_>, rng: &mut SplitMix64, iterations: usize, budget: &dyn Budget) {
    let input = state.input;
    let blocks = input.blocks;
    let items = input.caps.len();
    let groups = input.groups.len();
    if blocks < 2 {
        return;
    }
    let start_temperature = (HARD * 3) as f64;
    let end_temperature = 0.2f64;
    let mut touched_cells: Vec<(usize, usize)> = Vec::with_capacity(16);
    for iteration in 0..iterations {
        if iteration % 1024 == 0
            && (budget.expired()
                || (iteration > iterations / 4
                    && state.hard_total() == 0
                    && iteration > iterations / 2))
        {
            return;
        }
        let progress = iteration as f64 / iterations as f64;
        let temperature = start_temperature * (end_temperature / start_temperature).powf(progress);
        touched_cells.clear();
        if groups > 0 && rng.below(4) != 0 {
            // Move students of one group from one pattern to another.
            let g = rng.below(groups);
            let count = state.patterns[g].len();
            if count < 2 {
                continue;
            }
            let from = rng.below(count);
            if state.x[g][from] == 0 {
                continue;
            }
            let to = (from + 1 + rng.below(count - 1)) % count;
            let amount = 1 + rng.below(state.x[g][from].min(1 + input.groups[g].count / 25));
            for (position, &item) in input.groups[g].items.iter().enumerate() {
                touched_cells.push((item, state.patterns[g][from][position]));
                touched_cells.push((item, state.patterns[g][to][position]));
            }
            touched_cells.sort_unstable();
            touched_cells.dedup();
            let before: i64 = touched_cells
                .iter()
                .map(|&(i, b)| state.cell(i, b))
                .sum::<i64>()
                + state.hint_cost(g, from)
                + state.hint_cost(g, to);
            state.move_students(g, from, to, amount);
            let after: i64 = touched_cells
                .iter()
                .map(|&(i, b)| state.cell(i, b))
                .sum::<i64>()
                + state.hint_cost(g, from)
                + state.hint_cost(g, to);
            let delta = after - before;
            if delta > 0 && rng.unit() >= (-(delta as f64) / temperature).exp() {
                state.move_students(g, to, from, amount);
            }
        } else {
            // Move one class of an item to another block.
            let i = rng.below(items);
            let from = rng.below(blocks);
            if state.m[i][from] == 0 {
                continue;
            }
            let to = (from + 1 + rng.below(blocks - 1)) % blocks;
            let s = input.subject_of[i];
            let cost = |state: &State<'_>| {
                state.cell(i, from)
                    + state.cell(i, to)
                    + state.block(from)
                    + state.block(to)
                    + state.teach(s, from)
                    + state.teach(s, to)
            };
            let before = cost(state);
            state.move_section(i, from, to);
            let delta = cost(state) - before;
            if delta > 0 && rng.unit() >= (-(delta as f64) / temperature).exp() {
                state.move_section(i, to, from);
            }
        }
    }
}
