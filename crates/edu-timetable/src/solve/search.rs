//! General lesson-level repair search (min-conflicts with tabu): places every lesson not pinned so that no
//! student, teacher or room is double-booked. Used when the block structure does not fit and to mend leftovers.
#![allow(
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::type_complexity
)] // index loops over parallel tables read best here

use crate::rng::SplitMix64;
use crate::solve::Budget;

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub lessons: usize,
    pub teacher: usize,
    /// Students who attend (for clashes).
    pub students: Vec<usize>,
    pub fixed_room: Option<usize>,
    /// Current or pinned slot per lesson; `None` = to be placed.
    pub slots: Vec<Option<usize>>,
    pub pinned: bool,
    pub allowed: Vec<bool>,
}

const HARD: i64 = 100;

struct Search<'a> {
    events: &'a [Event],
    day_of: &'a [usize],
    rooms: usize,
    words: usize,
    adjacency: Vec<u64>,
    at: Vec<Vec<usize>>,
    occ: Vec<Vec<(usize, usize)>>,
    bad: Vec<(usize, usize)>,
    bad_position: Vec<Vec<usize>>,
}

const NONE: usize = usize::MAX;

impl Search<'_> {
    fn adjacent(&self, e: usize, f: usize) -> bool {
        self.adjacency[e * self.words + f / 64] >> (f % 64) & 1 == 1
    }

    /// Hard conflicts of lesson (e, k) if it were at slot s.
    fn hard(&self, e: usize, k: usize, s: usize) -> i64 {
        let mut cost = 0;
        let mut rooms_used = 0;
        for &(f, kk) in &self.occ[s] {
            if f == e && kk == k {
                continue;
            }
            rooms_used += 1;
            if f == e || self.adjacent(e, f) {
                cost += 1;
            }
        }
        if !self.events[e].allowed[s] {
            cost += 1;
        }
        if rooms_used + 1 > self.rooms {
            cost += 1;
        }
        cost
    }

    fn soft(&self, e: usize, k: usize, s: usize) -> i64 {
        let day = self.day_of[s];
        self.at[e]
            .iter()
            .enumerate()
            .filter(|&(kk, &t)| kk != k && t != NONE && self.day_of[t] == day)
            .count() as i64
    }

    fn place(&mut self, e: usize, k: usize, s: usize) {
        let old = self.at[e][k];
        if old != NONE {
            self.occ[old].retain(|&x| x != (e, k));
        }
        self.at[e][k] = s;
        self.occ[s].push((e, k));
        for slot in [old, s] {
            if slot == NONE {
                continue;
            }
            for index in 0..self.occ[slot].len() {
                let (f, kk) = self.occ[slot][index];
                self.refresh(f, kk);
            }
        }
        self.refresh(e, k);
    }

    fn refresh(&mut self, e: usize, k: usize) {
        let s = self.at[e][k];
        let is_bad = !self.events[e].pinned && s != NONE && self.hard(e, k, s) > 0;
        let position = self.bad_position[e][k];
        if is_bad && position == NONE {
            self.bad_position[e][k] = self.bad.len();
            self.bad.push((e, k));
        } else if !is_bad && position != NONE {
            let last = self.bad.len() - 1;
            self.bad.swap(position, last);
            let moved = self.bad[position];
            self.bad_position[moved.0][moved.1] = position;
            self.bad.pop();
            self.bad_position[e][k] = NONE;
        }
    }

    fn total_hard(&self) -> i64 {
        let mut total = 0;
        for (e, slots) in self.at.iter().enumerate() {
            for (k, &s) in slots.iter().enumerate() {
                if s != NONE {
                    total += self.hard(e, k, s);
                }
            }
        }
        total
    }
}

/// Places all unplaced or clashing lessons; returns the slots per event and the hard conflicts left (0 = valid).
pub(crate) fn search(
    events: &[Event],
    slot_count: usize,
    day_of: &[usize],
    rooms: usize,
    student_count: usize,
    seed: u64,
    budget: &dyn Budget,
    max_iterations: usize,
) -> (Vec<Vec<usize>>, i64) {
    let n = events.len();
    let words = n.div_ceil(64).max(1);
    let mut adjacency = vec![0u64; n * words];
    let set = |adjacency: &mut Vec<u64>, e: usize, f: usize| {
        adjacency[e * words + f / 64] |= 1 << (f % 64);
        adjacency[f * words + e / 64] |= 1 << (e % 64);
    };
    let mut by_student: Vec<Vec<usize>> = vec![Vec::new(); student_count];
    for (e, event) in events.iter().enumerate() {
        for &s in &event.students {
            by_student[s].push(e);
        }
    }
    for list in &by_student {
        for (position, &e) in list.iter().enumerate() {
            for &f in &list[position + 1..] {
                set(&mut adjacency, e, f);
            }
        }
    }
    let mut by_teacher: std::collections::BTreeMap<usize, Vec<usize>> =
        std::collections::BTreeMap::new();
    let mut by_room: std::collections::BTreeMap<usize, Vec<usize>> =
        std::collections::BTreeMap::new();
    for (e, event) in events.iter().enumerate() {
        by_teacher.entry(event.teacher).or_default().push(e);
        if let Some(room) = event.fixed_room {
            by_room.entry(room).or_default().push(e);
        }
    }
    for list in by_teacher.values().chain(by_room.values()) {
        for (position, &e) in list.iter().enumerate() {
            for &f in &list[position + 1..] {
                set(&mut adjacency, e, f);
            }
        }
    }
    let mut state = Search {
        events,
        day_of,
        rooms,
        words,
        adjacency,
        at: events.iter().map(|e| vec![NONE; e.lessons]).collect(),
        occ: vec![Vec::new(); slot_count],
        bad: Vec::new(),
        bad_position: events.iter().map(|e| vec![NONE; e.lessons]).collect(),
    };
    let mut rng = SplitMix64::stream(seed, "search");
    // Placed lessons first, then the rest greedily, most constrained events first.
    for (e, event) in events.iter().enumerate() {
        for (k, slot) in event.slots.iter().enumerate() {
            if let Some(s) = slot {
                state.place(e, k, *s);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    let degree: Vec<usize> = (0..n)
        .map(|e| {
            (0..n)
                .filter(|&f| state.adjacent(e, f))
                .map(|f| events[f].lessons)
                .sum()
        })
        .collect();
    order.sort_by_key(|&e| (std::cmp::Reverse(degree[e] + events[e].lessons), e));
    for &e in &order {
        for k in 0..events[e].lessons {
            if state.at[e][k] != NONE {
                continue;
            }
            let best = (0..slot_count)
                .min_by_key(|&s| {
                    (
                        state.hard(e, k, s) * HARD + state.soft(e, k, s),
                        rng.below(4),
                        s,
                    )
                })
                .unwrap_or(0);
            state.place(e, k, best);
        }
    }
    let mut tabu: Vec<Vec<usize>> = events.iter().map(|_| vec![0; slot_count]).collect();
    let mut best_hard = state.total_hard();
    let mut best_at = state.at.clone();
    let mut since_best = 0usize;
    for iteration in 1..=max_iterations {
        if state.bad.is_empty() {
            break;
        }
        if iteration % 512 == 0 && budget.expired() {
            break;
        }
        let (e, k) = state.bad[rng.below(state.bad.len())];
        let current = state.at[e][k];
        let mut best_slot = NONE;
        let mut best_cost = i64::MAX;
        let mut ties = 0;
        for s in 0..slot_count {
            if s == current {
                continue;
            }
            let hard = state.hard(e, k, s);
            if tabu[e][s] > iteration && hard > 0 {
                continue;
            }
            let cost = hard * HARD + state.soft(e, k, s);
            if cost < best_cost {
                best_cost = cost;
                best_slot = s;
                ties = 1;
            } else if cost == best_cost {
                ties += 1;
                if rng.below(ties) == 0 {
                    best_slot = s;
                }
            }
        }
        if best_slot == NONE {
            continue;
        }
        tabu[e][current] = iteration + 8 + rng.below(8);
        state.place(e, k, best_slot);
        since_best += 1;
        if state.bad.len() as i64 <= best_hard || iteration % 64 == 0 {
            let hard = state.total_hard();
            if hard < best_hard {
                best_hard = hard;
                best_at = state.at.clone();
                since_best = 0;
            }
        }
        if since_best > 20_000 {
            // Perturb: move a few random unpinned lessons anywhere allowed.
            for _ in 0..5 {
                let e = rng.below(n);
                if events[e].pinned || events[e].lessons == 0 {
                    continue;
                }
                let k = rng.below(events[e].lessons);
                let s = rng.below(slot_count);
                if events[e].allowed[s] {
                    state.place(e, k, s);
                }
            }
            since_best = 0;
        }
    }
    let final_hard = state.total_hard();
    if final_hard <= best_hard {
        return (state.at, final_hard);
    }
    (best_at, best_hard)
}
