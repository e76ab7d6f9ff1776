//! Parallel blocks (slot groups): which block lengths a grade needs, and where the blocks go in the week.
//!
//! A student has at most one class per block, so students never clash. An item of p periods may meet in a block of
//! L ≥ p slots, using p of them. The smallest structure that lets every student take every item in a distinct
//! block has, as its j-th longest block, the longest j-th item of any student (Hall's condition on lengths).
#![allow(clippy::needless_range_loop)] // index loops over parallel tables read best here

use crate::rng::SplitMix64;
use crate::solve::model::Model;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub length: usize,
    /// Sorted slot indices.
    pub slots: Vec<usize>,
}

impl Block {
    /// The slots a class of `periods` uses in this block, spread over the block.
    pub fn sub_slots(&self, periods: usize) -> Vec<usize> {
        let length = self.slots.len();
        if periods >= length {
            return self.slots.clone();
        }
        (0..periods)
            .map(|j| self.slots[j * length / periods])
            .collect()
    }
}

/// Block lengths, longest first: the j-th block is as long as the longest j-th item any student takes.
pub(crate) fn minimal_lengths(model: &Model<'_>) -> Vec<usize> {
    let mut lengths: Vec<usize> = Vec::new();
    for student in &model.students {
        let mut own: Vec<usize> = student
            .items
            .iter()
            .map(|&i| model.items[i].periods)
            .collect();
        own.sort_unstable_by(|a, b| b.cmp(a));
        for (j, &length) in own.iter().enumerate() {
            if j == lengths.len() {
                lengths.push(length);
            } else {
                lengths[j] = lengths[j].max(length);
            }
        }
    }
    lengths
}

/// How unwelcome each slot is for blocks: elective teachers unavailable there, weighted by how few teachers their
/// subject has.
fn slot_penalty(model: &Model<'_>) -> Vec<f64> {
    let electives = model.instance.electives.len();
    let mut count = vec![0usize; electives];
    for t in &model.teachers {
        for e in 0..electives {
            if t.electives[e] {
                count[e] += 1;
            }
        }
    }
    let mut penalty = vec![0.0; model.slot_count];
    for t in &model.teachers {
        for s in 0..model.slot_count {
            if t.unavailable[s] {
                for e in 0..electives {
                    if t.electives[e] {
                        penalty[s] += 1.0 / count[e].max(1) as f64;
                    }
                }
            }
        }
    }
    penalty
}

/// Lays out blocks of the given lengths over the unblocked slots: hinted slot sets first, else each block on
/// distinct days where it can, avoiding slots where elective teachers are away. `variant` rotates the layout.
/// `None` when the slots run out.
pub(crate) fn place(
    model: &Model<'_>,
    lengths: &[usize],
    hinted: &[Vec<usize>],
    variant: usize,
) -> Option<Vec<Block>> {
    let mut free: Vec<bool> = model.available.clone();
    let penalty = slot_penalty(model);
    let mut placed: Vec<Option<Vec<usize>>> = vec![None; lengths.len()];
    for set in hinted {
        if set.is_empty() || !set.iter().all(|&s| s < free.len() && free[s]) {
            continue;
        }
        if let Some(b) =
            (0..lengths.len()).find(|&b| placed[b].is_none() && lengths[b] == set.len())
        {
            for &s in set {
                free[s] = false;
            }
            placed[b] = Some(set.clone());
        }
    }
    let days = model.days;
    let per_day = model.per_day;
    let mut blocks = Vec::with_capacity(lengths.len());
    for (b, &length) in lengths.iter().enumerate() {
        let slots = match placed[b].take() {
            Some(slots) => slots,
            None => {
                let mut chosen = Vec::new();
                let mut used_days = vec![0usize; days];
                for _ in 0..length {
                    let day = (0..days)
                        .filter(|&d| (0..per_day).any(|p| free[d * per_day + p]))
                        .min_by_key(|&d| {
                            let left = (0..per_day).filter(|&p| free[d * per_day + p]).count();
                            (
                                used_days[d],
                                std::cmp::Reverse(left),
                                (d + b + variant) % days,
                            )
                        })?;
                    let late_first = variant % 2 == 1;
                    let slot = (0..per_day)
                        .map(|p| day * per_day + p)
                        .filter(|&s| free[s])
                        .min_by(|&x, &y| {
                            penalty[x]
                                .total_cmp(&penalty[y])
                                .then_with(|| if late_first { y.cmp(&x) } else { x.cmp(&y) })
                        })?;
                    free[slot] = false;
                    used_days[day] += 1;
                    chosen.push(slot);
                }
                chosen.sort_unstable();
                chosen
            }
        };
        blocks.push(Block { length, slots });
    }
    Some(blocks)
}

/// Moves block slots so that each block has enough qualified teachers present in all its slots for the classes
/// routed into it (`need[subject][block]`). Slots are exchanged with other blocks or with free slots; a block keeps
/// its slots on distinct days where it can. Returns whether every deficit is gone.
pub(crate) fn repair_placement(
    model: &Model<'_>,
    blocks: &mut [Block],
    need: &[Vec<usize>],
    seed: u64,
    iterations: usize,
) -> bool {
    let electives = model.instance.electives.len();
    let qualified: Vec<Vec<usize>> = (0..electives)
        .map(|e| {
            (0..model.teachers.len())
                .filter(|&t| model.teachers[t].electives[e])
                .collect()
        })
        .collect();
    let block_cost = |block: &Block, b: usize| -> i64 {
        let mut cost = 0i64;
        for e in 0..electives {
            if need[e][b] == 0 {
                continue;
            }
            let present = qualified[e]
                .iter()
                .filter(|&&t| {
                    block
                        .slots
                        .iter()
                        .all(|&s| !model.teachers[t].unavailable[s])
                })
                .count();
            cost += 100 * (need[e][b] as i64 - present as i64).max(0);
        }
        let mut days: Vec<usize> = block.slots.iter().map(|&s| model.day(s)).collect();
        days.sort_unstable();
        let distinct = {
            let mut d = days.clone();
            d.dedup();
            d.len()
        };
        cost + (days.len().min(model.days) as i64 - distinct as i64).max(0)
    };
    let mut costs: Vec<i64> = blocks
        .iter()
        .enumerate()
        .map(|(b, k)| block_cost(k, b))
        .collect();
    let deficit = |costs: &[i64]| costs.iter().map(|c| c / 100).sum::<i64>();
    if deficit(&costs) == 0 {
        return true;
    }
    let mut owner: Vec<Option<usize>> = vec![None; model.slot_count];
    for (b, block) in blocks.iter().enumerate() {
        for &s in &block.slots {
            owner[s] = Some(b);
        }
    }
    let candidates: Vec<usize> = model.available_slots();
    let mut rng = SplitMix64::stream(seed, "placement");
    for iteration in 0..iterations {
        if deficit(&costs) == 0 {
            break;
        }
        let bad: Vec<usize> = (0..blocks.len()).filter(|&b| costs[b] >= 100).collect();
        let b = bad[rng.below(bad.len())];
        let position = rng.below(blocks[b].slots.len());
        let old = blocks[b].slots[position];
        let new = candidates[rng.below(candidates.len())];
        if old == new || blocks[b].slots.contains(&new) {
            continue;
        }
        let other = owner[new];
        let before = costs[b] + other.map_or(0, |o| costs[o]);
        let apply = |blocks: &mut [Block], from: usize, to: usize| {
            let p = blocks[b].slots.iter().position(|&s| s == from);
            if let Some(p) = p {
                blocks[b].slots[p] = to;
            }
            if let Some(o) = other
                && let Some(q) = blocks[o].slots.iter().position(|&s| s == to)
            {
                blocks[o].slots[q] = from;
            }
        };
        apply(blocks, old, new);
        let cost_b = block_cost(&blocks[b], b);
        let cost_o = other.map(|o| block_cost(&blocks[o], o));
        let after = cost_b + cost_o.unwrap_or(0);
        let temperature_accept = after <= before || (iteration % 50 == 0 && after <= before + 1);
        if temperature_accept {
            costs[b] = cost_b;
            if let (Some(o), Some(c)) = (other, cost_o) {
                costs[o] = c;
            }
            owner[new] = Some(b);
            owner[old] = other;
        } else {
            // Undo: the slots went old → new in b and new → old in the other block.
            let p = blocks[b].slots.iter().position(|&s| s == new);
            if let Some(p) = p {
                blocks[b].slots[p] = old;
            }
            if let Some(o) = other
                && let Some(q) = blocks[o].slots.iter().position(|&s| s == old)
            {
                blocks[o].slots[q] = new;
            }
        }
    }
    for block in blocks.iter_mut() {
        block.slots.sort_unstable();
    }
    deficit(&costs) == 0
}
