//! Student sectioning into parallel blocks: how many classes of each (elective, level) meet in each block, and
//! which block each student takes each item in. Simulated annealing on counts: students with the same items form
//! a group, and a group's students are spread over a few block patterns (item → block, injective).
//!
//! An item of p periods may meet in any block of at least p slots. Phase 1 keeps every item at its lower bound
//! ⌈demand ÷ cap⌉ classes; when that cannot be made to fit, phase 2 may open (and close) classes, each at a price,
//! so small grades with many combinations get the extra classes they need.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)] // index loops over parallel tables read best here

use crate::rng::SplitMix64;
use crate::solve::Budget;

const HARD: i64 = 1000;
/// Price of a student off the block pattern they had in the previous solution.
const HINT_WEIGHT: i64 = 20;
/// Price of a class above the lower bound in phase 2: less than one student too many, so classes open when the
/// students cannot be moved, and close again when they can.
const CLASS_WEIGHT: i64 = 400;
/// Phase 2 reward for gathering students: `CONCENTRATION × load² ÷ cap` per cell (at most 2 × cap, well below a
/// class's price).
const CONCENTRATION: i64 = 2;
/// Price of a student-period left empty because an item meets in a longer block.
const WASTE_WEIGHT: i64 = 1;

/// Students with the same items.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Item numbers.
    pub items: Vec<usize>,
    pub count: usize,
    /// Previous solution: (block of each item, how many students) to stay close to.
    pub hint: Vec<(Vec<usize>, usize)>,
}

#[derive(Debug, Clone)]
pub(crate) struct RoutingInput {
    pub block_len: Vec<usize>,
    /// Per item.
    pub periods: Vec<usize>,
    pub caps: Vec<usize>,
    pub demand: Vec<usize>,
    /// Classes to start from per item (the lower bound).
    pub sections: Vec<usize>,
    /// Previous solution's classes per item and block, if any.
    pub hint_sections: Option<Vec<Vec<usize>>>,
    pub subject_of: Vec<usize>,
    /// Teachers able to teach a subject in a block: `[subject][block]`.
    pub teacher_limit: Vec<Vec<usize>>,
    /// Teacher-periods a week available per subject.
    pub teacher_periods: Vec<usize>,
    /// Room capacities.
    pub rooms: Vec<usize>,
    pub groups: Vec<Group>,
    /// Classes above the lower bound phase 2 may open in all (0: no phase 2).
    pub max_extra: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Routing {
    /// Classes per item and block.
    pub sections: Vec<Vec<usize>>,
    /// Per group: (block of each item, number of students).
    pub patterns: Vec<Vec<(Vec<usize>, usize)>>,
}

/// A routing kept aside: (cost, classes per cell, patterns, classes per item).
type Saved = (i64, Vec<Vec<usize>>, Vec<Vec<Entry>>, Vec<usize>);

#[derive(Debug, Clone)]
struct Entry {
    pattern: Vec<usize>,
    count: usize,
    hinted: usize,
}

struct State<'a> {
    input: &'a RoutingInput,
    compatible: std::rc::Rc<Vec<Vec<usize>>>,
    m: Vec<Vec<usize>>,
    load: Vec<Vec<usize>>,
    k: Vec<usize>,
    entries: Vec<Vec<Entry>>,
    subject_sections: Vec<Vec<usize>>,
    subject_periods: Vec<usize>,
    /// Room-size levels: an item's classes need rooms of at least `level_size[level[i]]`.
    level_of: Vec<usize>,
    rooms_at_least: Vec<usize>,
    /// `[level][block]`: classes needing rooms of at least that level's size.
    room_count: Vec<Vec<usize>>,
    /// Phase 2: classes per cell follow the students (⌈load ÷ cap⌉), each at a price.
    derived: bool,
}

impl State<'_> {
    fn cell(&self, i: usize, b: usize) -> i64 {
        if self.derived {
            // A price per class, and a small reward for full classes so students drift out of nearly empty ones.
            let waste = self.input.block_len[b].saturating_sub(self.input.periods[i]) as i64;
            let load = self.load[i][b] as i64;
            return CLASS_WEIGHT * self.m[i][b] as i64 + WASTE_WEIGHT * load * waste
                - CONCENTRATION * load * load / self.input.caps[i] as i64;
        }
        let (m, load, cap) = (
            self.m[i][b] as i64,
            self.load[i][b] as i64,
            self.input.caps[i] as i64,
        );
        // An empty class costs nothing here: at the lower bound one cannot happen without an overfull one, and
        // above it the class's price (phase 2) and `squeeze` close it.
        let mut cost = HARD * (load - cap * m).max(0);
        if m > 0 {
            let k = self.k[i].max(1) as i64;
            let n = self.input.demand[i] as i64;
            cost += ((load * k - m * n).abs() + k / 2) / k;
        }
        cost += WASTE_WEIGHT
            * load
            * self.input.block_len[b].saturating_sub(self.input.periods[i]) as i64;
        cost
    }

    fn cell_hard(&self, i: usize, b: usize) -> i64 {
        let (m, load, cap) = (
            self.m[i][b] as i64,
            self.load[i][b] as i64,
            self.input.caps[i] as i64,
        );
        (load - cap * m).max(0)
    }

    fn rooms(&self, b: usize) -> i64 {
        let mut over = 0;
        for level in 0..self.rooms_at_least.len() {
            over += (self.room_count[level][b] as i64 - self.rooms_at_least[level] as i64).max(0);
        }
        HARD * over
    }

    fn teach(&self, s: usize, b: usize) -> i64 {
        HARD * (self.subject_sections[s][b] as i64 - self.input.teacher_limit[s][b] as i64).max(0)
    }

    fn subject_total(&self, s: usize) -> i64 {
        HARD * (self.subject_periods[s] as i64 - self.input.teacher_periods[s] as i64).max(0)
    }

    /// Phase 2: the class count of a cell follows its students.
    fn sync(&mut self, i: usize, b: usize) {
        let want = self.load[i][b].div_ceil(self.input.caps[i]);
        while self.m[i][b] < want {
            self.change_section(i, b, true);
            self.k[i] += 1;
        }
        while self.m[i][b] > want {
            self.change_section(i, b, false);
            self.k[i] -= 1;
        }
    }

    fn total_cost(&self) -> i64 {
        let input = self.input;
        let blocks = input.block_len.len();
        let mut total = 0;
        for i in 0..input.caps.len() {
            for b in 0..blocks {
                total += self.cell(i, b);
            }
        }
        for b in 0..blocks {
            total += self.rooms(b);
            for s in 0..input.teacher_limit.len() {
                total += self.teach(s, b);
            }
        }
        for s in 0..input.teacher_limit.len() {
            total += self.subject_total(s);
        }
        total
    }

    fn hint_cost(&self, g: usize, e: usize) -> i64 {
        let entry = &self.entries[g][e];
        HINT_WEIGHT * (entry.count as i64 - entry.hinted as i64).max(0)
    }

    fn hard_total(&self) -> i64 {
        let input = self.input;
        let blocks = input.block_len.len();
        let mut total = 0;
        for i in 0..input.caps.len() {
            for b in 0..blocks {
                total += self.cell_hard(i, b);
            }
        }
        for b in 0..blocks {
            total += self.rooms(b) / HARD;
            for s in 0..input.teacher_limit.len() {
                total += self.teach(s, b) / HARD;
            }
        }
        for s in 0..input.teacher_limit.len() {
            total += self.subject_total(s) / HARD;
        }
        total
    }

    fn change_section(&mut self, i: usize, b: usize, add: bool) {
        let s = self.input.subject_of[i];
        let periods = self.input.periods[i];
        if add {
            self.m[i][b] += 1;
            self.subject_sections[s][b] += 1;
            self.subject_periods[s] += periods;
            for level in 0..=self.level_of[i] {
                self.room_count[level][b] += 1;
            }
        } else {
            self.m[i][b] -= 1;
            self.subject_sections[s][b] -= 1;
            self.subject_periods[s] -= periods;
            for level in 0..=self.level_of[i] {
                self.room_count[level][b] -= 1;
            }
        }
    }

    fn entry_index(&mut self, g: usize, pattern: &[usize]) -> usize {
        if let Some(e) = self.entries[g].iter().position(|e| e.pattern == pattern) {
            return e;
        }
        self.entries[g].push(Entry {
            pattern: pattern.to_vec(),
            count: 0,
            hinted: 0,
        });
        self.entries[g].len() - 1
    }

    fn move_students(&mut self, g: usize, from: usize, to: usize, count: usize) {
        self.entries[g][from].count -= count;
        self.entries[g][to].count += count;
        for (position, &item) in self.input.groups[g].items.iter().enumerate() {
            let (a, b) = (
                self.entries[g][from].pattern[position],
                self.entries[g][to].pattern[position],
            );
            if a != b {
                self.load[item][a] -= count;
                self.load[item][b] += count;
                if self.derived {
                    self.sync(item, a);
                    self.sync(item, b);
                }
            }
        }
    }

    fn add_students(&mut self, g: usize, e: usize, count: usize) {
        self.entries[g][e].count += count;
        for (position, &item) in self.input.groups[g].items.iter().enumerate() {
            self.load[item][self.entries[g][e].pattern[position]] += count;
        }
    }
}

/// Finds a routing without overfull classes, rooms or teachers: at the lower bound if it can, else (phase 2)
/// with as few extra classes as annealing finds. `None` when even that fails.
pub(crate) fn route(input: &RoutingInput, seed: u64, budget: &dyn Budget) -> Option<Routing> {
    let blocks = input.block_len.len();
    let items = input.caps.len();
    let subjects = input.teacher_limit.len();
    let mut rng = SplitMix64::stream(seed, "routing");
    let compatible: std::rc::Rc<Vec<Vec<usize>>> = std::rc::Rc::new(
        (0..items)
            .map(|i| {
                (0..blocks)
                    .filter(|&b| input.block_len[b] >= input.periods[i])
                    .collect()
            })
            .collect(),
    );
    for group in &input.groups {
        // Hall's condition on lengths: the group's longest items need enough long blocks.
        let mut lengths: Vec<usize> = group.items.iter().map(|&i| input.periods[i]).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        let mut long: Vec<usize> = input.block_len.clone();
        long.sort_unstable_by(|a, b| b.cmp(a));
        if lengths.len() > long.len() || lengths.iter().zip(&long).any(|(need, have)| need > have) {
            return None;
        }
    }
    // Room levels: the typical class size of each item at its lower bound.
    let estimate: Vec<usize> = (0..items)
        .map(|i| {
            input.demand[i]
                .div_ceil(input.sections[i].max(1))
                .min(input.caps[i])
        })
        .collect();
    let mut sizes: Vec<usize> = estimate.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let level_of: Vec<usize> = estimate
        .iter()
        .map(|e| sizes.iter().position(|s| s == e).unwrap_or(0))
        .collect();
    let rooms_at_least: Vec<usize> = sizes
        .iter()
        .map(|&size| input.rooms.iter().filter(|&&c| c >= size).count())
        .collect();

    let mut state = State {
        input,
        compatible,
        m: vec![vec![0; blocks]; items],
        load: vec![vec![0; blocks]; items],
        k: input.sections.clone(),
        entries: vec![Vec::new(); input.groups.len()],
        subject_sections: vec![vec![0; blocks]; subjects],
        subject_periods: vec![0; subjects],
        level_of,
        rooms_at_least,
        room_count: vec![vec![0; blocks]; sizes.len()],
        derived: false,
    };
    let compatible = state.compatible.clone();
    // Initial classes: the hint's, else spread round-robin over compatible blocks, exact lengths first.
    let mut block_sections = vec![0usize; blocks];
    let mut order: Vec<usize> = (0..items).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(input.sections[i]), i));
    for i in order {
        if compatible[i].is_empty() && input.sections[i] > 0 {
            return None;
        }
        let mut have = 0;
        if let Some(hinted) = &input.hint_sections {
            for &b in &compatible[i] {
                let n = hinted
                    .get(i)
                    .and_then(|row| row.get(b))
                    .copied()
                    .unwrap_or(0);
                for _ in 0..n.min(input.sections[i].saturating_sub(have)) {
                    state.change_section(i, b, true);
                    block_sections[b] += 1;
                    have += 1;
                }
            }
        }
        for _ in have..input.sections[i] {
            let b = compatible[i]
                .iter()
                .copied()
                .min_by_key(|&b| {
                    (
                        input.block_len[b].saturating_sub(input.periods[i]),
                        state.m[i][b],
                        block_sections[b],
                        b,
                    )
                })
                .unwrap_or(0);
            state.change_section(i, b, true);
            block_sections[b] += 1;
        }
    }
    // Initial students: hinted patterns first, then in steps to the pattern with the most free seats.
    for g in 0..input.groups.len() {
        let group = &input.groups[g];
        let mut placed = 0;
        for (pattern, n) in &group.hint {
            if !valid_pattern(&state, &group.items, pattern) {
                continue;
            }
            let e = state.entry_index(g, pattern);
            state.entries[g][e].hinted += n;
            let take = (*n).min(group.count - placed);
            if take > 0 {
                state.add_students(g, e, take);
                placed += take;
            }
        }
        while placed < group.count {
            let pattern = greedy_pattern(&state, &group.items);
            let e = state.entry_index(g, &pattern);
            let step = (group.count - placed).min(1 + group.count / 40);
            state.add_students(g, e, step);
            placed += step;
        }
    }

    let total_students: usize = input.groups.iter().map(|g| g.count).sum();
    let iterations = (20_000 + 40 * total_students).clamp(100_000, 400_000);
    // With a previous solution the start is nearly right: anneal cold so that only what must move moves.
    let hinted = input.groups.iter().any(|g| !g.hint.is_empty());
    let start = if hinted {
        2.0 * HINT_WEIGHT as f64
    } else {
        (HARD * 3) as f64
    };
    anneal(&mut state, &mut rng, iterations, budget, start);
    if state.hard_total() > 0 && input.max_extra > 0 && !budget.expired() {
        // Phase 2: every cell gets ⌈load ÷ cap⌉ classes and each class has a price, so students gather into fewer
        // classes; keep the cheapest valid state of a few runs.
        state.derived = true;
        for i in 0..items {
            for b in 0..blocks {
                state.sync(i, b);
            }
        }
        let mut best: Option<Saved> = None;
        for _round in 0..2 {
            if budget.expired() {
                break;
            }
            anneal(
                &mut state,
                &mut rng,
                iterations * 2,
                budget,
                CLASS_WEIGHT as f64,
            );
            if state.hard_total() == 0 {
                let cost = state.total_cost();
                if best.as_ref().is_none_or(|b| cost < b.0) {
                    best = Some((
                        cost,
                        state.m.clone(),
                        state.entries.clone(),
                        state.k.clone(),
                    ));
                }
            }
        }
        if let Some((_, m, entries, k)) = best {
            restore(&mut state, m, entries, k);
        }
    }
    if state.hard_total() > 0 {
        return None;
    }
    let patterns = state
        .entries
        .iter()
        .map(|list| {
            list.iter()
                .filter(|e| e.count > 0)
                .map(|e| (e.pattern.clone(), e.count))
                .collect()
        })
        .collect();
    Some(Routing {
        sections: state.m,
        patterns,
    })
}

/// A (group, entry, position) whose item sits in one of the least-loaded non-empty cells.
fn directed_pick(state: &State<'_>, rng: &mut SplitMix64) -> Option<(usize, usize, usize)> {
    let input = state.input;
    let mut cells: Vec<(usize, usize)> = Vec::new();
    for i in 0..input.caps.len() {
        for b in 0..input.block_len.len() {
            let load = state.load[i][b];
            if load > 0 && load * 2 <= input.caps[i] * state.m[i][b].max(1) {
                cells.push((i, b));
            }
        }
    }
    if cells.is_empty() {
        return None;
    }
    // Two draws, keep the smaller cell.
    let a = cells[rng.below(cells.len())];
    let c = cells[rng.below(cells.len())];
    let (i, b) = if state.load[a.0][a.1] <= state.load[c.0][c.1] {
        a
    } else {
        c
    };
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (g, group) in input.groups.iter().enumerate() {
        let Some(position) = group.items.iter().position(|&x| x == i) else {
            continue;
        };
        for (e, entry) in state.entries[g].iter().enumerate() {
            if entry.count > 0 && entry.pattern[position] == b {
                found.push((g, e, position));
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    Some(found[rng.below(found.len())])
}

/// Puts back a saved routing (classes, patterns, class counts), recomputing the derived tables.
fn restore(state: &mut State<'_>, m: Vec<Vec<usize>>, entries: Vec<Vec<Entry>>, k: Vec<usize>) {
    let input = state.input;
    let (items, blocks) = (input.caps.len(), input.block_len.len());
    for i in 0..items {
        for b in 0..blocks {
            while state.m[i][b] > 0 {
                state.change_section(i, b, false);
            }
        }
    }
    for i in 0..items {
        for b in 0..blocks {
            for _ in 0..m[i][b] {
                state.change_section(i, b, true);
            }
        }
    }
    state.k = k;
    state.load = vec![vec![0; blocks]; items];
    state.entries = entries;
    for g in 0..input.groups.len() {
        for e in 0..state.entries[g].len() {
            for (position, &item) in input.groups[g].items.iter().enumerate() {
                state.load[item][state.entries[g][e].pattern[position]] +=
                    state.entries[g][e].count;
            }
        }
    }
}

fn valid_pattern(state: &State<'_>, items: &[usize], pattern: &[usize]) -> bool {
    if pattern.len() != items.len() {
        return false;
    }
    for (position, &b) in pattern.iter().enumerate() {
        if !state.compatible[items[position]].contains(&b) || pattern[..position].contains(&b) {
            return false;
        }
    }
    true
}

/// A pattern for one more student: longest items first, each to the compatible free block with most free seats.
fn greedy_pattern(state: &State<'_>, items: &[usize]) -> Vec<usize> {
    let input = state.input;
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&p| {
        (
            std::cmp::Reverse(input.periods[items[p]]),
            state.compatible[items[p]].len(),
            p,
        )
    });
    let mut pattern = vec![usize::MAX; items.len()];
    let mut used = vec![false; input.block_len.len()];
    for p in order {
        let i = items[p];
        let best = state.compatible[i]
            .iter()
            .copied()
            .filter(|&b| !used[b])
            .max_by_key(|&b| {
                (
                    input.caps[i] as i64 * state.m[i][b] as i64 - state.load[i][b] as i64,
                    std::cmp::Reverse(input.block_len[b].saturating_sub(input.periods[i])),
                    std::cmp::Reverse(b),
                )
            });
        // Hall's condition was checked, but a greedy choice can still strand an item: take any free block then.
        let b = best.unwrap_or_else(|| (0..used.len()).find(|&b| !used[b]).unwrap_or(0));
        used[b] = true;
        pattern[p] = b;
    }
    if !valid_pattern(state, items, &pattern) {
        // Fall back to the first valid assignment by augmenting paths (always exists by Hall's condition).
        if let Some(p) = matching_pattern(state, items) {
            return p;
        }
    }
    pattern
}

fn matching_pattern(state: &State<'_>, items: &[usize]) -> Option<Vec<usize>> {
    let blocks = state.input.block_len.len();
    let mut owner: Vec<Option<usize>> = vec![None; blocks];
    fn augment(
        p: usize,
        items: &[usize],
        compatible: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &b in &compatible[items[p]] {
            if seen[b] {
                continue;
            }
            seen[b] = true;
            if owner[b].is_none_or(|q| augment(q, items, compatible, seen, owner)) {
                owner[b] = Some(p);
                return true;
            }
        }
        false
    }
    for p in 0..items.len() {
        let mut seen = vec![false; blocks];
        if !augment(p, items, &state.compatible, &mut seen, &mut owner) {
            return None;
        }
    }
    let mut pattern = vec![0; items.len()];
    for (b, o) in owner.iter().enumerate() {
        if let Some(p) = o {
            pattern[*p] = b;
        }
    }
    Some(pattern)
}

fn anneal(
    state: &mut State<'_>,
    rng: &mut SplitMix64,
    iterations: usize,
    budget: &dyn Budget,
    start_temperature: f64,
) {
    let input = state.input;
    let blocks = input.block_len.len();
    let items = input.caps.len();
    let groups = input.groups.len();
    if blocks == 0 || items == 0 {
        return;
    }
    let end_temperature = 0.2f64;
    let compatible = state.compatible.clone();
    let mut touched: Vec<(usize, usize)> = Vec::with_capacity(8);
    for iteration in 0..iterations {
        if iteration % 1024 == 0 {
            if budget.expired() {
                return;
            }
            if !state.derived && iteration > iterations / 2 && state.hard_total() == 0 {
                return;
            }
            if iteration % 8192 == 0 {
                for list in &mut state.entries {
                    list.retain(|e| e.count > 0 || e.hinted > 0);
                }
            }
        }
        let progress = iteration as f64 / iterations as f64;
        let temperature = start_temperature * (end_temperature / start_temperature).powf(progress);
        let accept = |delta: i64, rng: &mut SplitMix64| {
            delta <= 0 || rng.unit() < (-(delta as f64) / temperature).exp()
        };
        let choice = if state.derived { 0 } else { rng.below(16) };
        if groups > 0 && choice < 12 {
            // Move students of one group to a pattern differing in one or two items. In phase 2, half the time
            // take students out of a small class, to empty it.
            let (g, from, position) = if state.derived && rng.below(2) == 0 {
                match directed_pick(state, rng) {
                    Some(pick) => pick,
                    None => continue,
                }
            } else {
                let g = rng.below(groups);
                let count = state.entries[g].len();
                if count == 0 {
                    continue;
                }
                (g, rng.below(count), rng.below(input.groups[g].items.len()))
            };
            let available = state.entries[g][from].count;
            if available == 0 {
                continue;
            }
            let group_items = &input.groups[g].items;
            let item = group_items[position];
            let options = &compatible[item];
            if options.len() < 2 {
                continue;
            }
            let old_block = state.entries[g][from].pattern[position];
            let new_block = options[rng.below(options.len())];
            if new_block == old_block {
                continue;
            }
            let mut pattern = state.entries[g][from].pattern.clone();
            let other = pattern.iter().position(|&b| b == new_block);
            touched.clear();
            touched.push((item, old_block));
            touched.push((item, new_block));
            if let Some(o) = other {
                if !compatible[group_items[o]].contains(&old_block) {
                    continue;
                }
                pattern[o] = old_block;
                touched.push((group_items[o], old_block));
                touched.push((group_items[o], new_block));
            }
            pattern[position] = new_block;
            let to = state.entry_index(g, &pattern);
            let amount = if state.derived && rng.below(4) == 0 {
                available
            } else {
                1 + rng.below(available.min(1 + input.groups[g].count / 25))
            };
            let cost = |state: &State<'_>| -> i64 {
                let mut cost = touched.iter().map(|&(i, b)| state.cell(i, b)).sum::<i64>()
                    + state.hint_cost(g, from)
                    + state.hint_cost(g, to);
                if state.derived {
                    // Class counts changed with the students: price their rooms and teachers too.
                    for (n, &(i, b)) in touched.iter().enumerate() {
                        if touched[..n].iter().all(|&(_, bb)| bb != b) {
                            cost += state.rooms(b);
                        }
                        let s = input.subject_of[i];
                        if touched[..n]
                            .iter()
                            .all(|&(ii, bb)| bb != b || input.subject_of[ii] != s)
                        {
                            cost += state.teach(s, b);
                        }
                        if touched[..n]
                            .iter()
                            .all(|&(ii, _)| input.subject_of[ii] != s)
                        {
                            cost += state.subject_total(s);
                        }
                    }
                }
                cost
            };
            let before = cost(state);
            state.move_students(g, from, to, amount);
            let delta = cost(state) - before;
            if !accept(delta, rng) {
                state.move_students(g, to, from, amount);
            }
        } else {
            // Move one class of an item to another block.
            let i = rng.below(items);
            let options = &compatible[i];
            if options.len() < 2 {
                continue;
            }
            let from = options[rng.below(options.len())];
            let to = options[rng.below(options.len())];
            if from == to || state.m[i][from] == 0 {
                continue;
            }
            let s = input.subject_of[i];
            let cost = |state: &State<'_>| {
                state.cell(i, from)
                    + state.cell(i, to)
                    + state.rooms(from)
                    + state.rooms(to)
                    + state.teach(s, from)
                    + state.teach(s, to)
            };
            let before = cost(state);
            state.change_section(i, from, false);
            state.change_section(i, to, true);
            let delta = cost(state) - before;
            if !accept(delta, rng) {
                state.change_section(i, to, false);
                state.change_section(i, from, true);
            }
        }
    }
}
