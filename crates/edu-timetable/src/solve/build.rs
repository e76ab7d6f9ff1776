//! Building a first timetable: the block method end to end (blocks, sectioning, classes, teachers, compulsory
//! lessons, rooms), or a greedy lesson-by-lesson start when no block layout is usable. The result may still hold
//! conflicts; `local` repairs them.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)] // index loops over parallel tables read best here

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::solve::assign::{self, Task, TaskKind};
use crate::solve::blocks::{self, Block};
use crate::solve::model::Model;
use crate::solve::routing::{self, RoutingInput};
use crate::solve::{Hint, Plan, PlannedAdmin, PlannedClass, SolveOptions, colour};

const UNLIMITED: usize = usize::MAX / 4;

/// Teachers of each elective present in every slot of each block: `[elective][block]`.
fn teacher_limits(model: &Model<'_>, blocks: &[Block]) -> Vec<Vec<usize>> {
    (0..model.instance.electives.len())
        .map(|e| {
            blocks
                .iter()
                .map(|block| {
                    model
                        .teachers
                        .iter()
                        .filter(|t| {
                            t.electives[e] && block.slots.iter().all(|&s| !t.unavailable[s])
                        })
                        .count()
                })
                .collect()
        })
        .collect()
}

/// Outcome of the block method before repair: the plan, and how many classes sectioning opened above the bound.
pub(crate) struct BlockPlan {
    pub plan: Plan,
    pub extra_classes: usize,
}

/// The block method with the given block lengths; `variant` changes the layout and the seeds.
pub(crate) fn with_blocks(
    model: &Model<'_>,
    options: &SolveOptions<'_>,
    hint: Option<&Hint>,
    lengths: &[usize],
    variant: usize,
) -> Result<BlockPlan, String> {
    let hinted_sets: Vec<Vec<usize>> = hint
        .map(|h| {
            let mut sets: Vec<Vec<usize>> = h
                .classes
                .iter()
                .map(|c| c.slots.clone())
                .filter(|s| !s.is_empty())
                .collect();
            sets.sort();
            sets.dedup();
            sets
        })
        .unwrap_or_default();
    let mut blocks = blocks::place(model, lengths, &hinted_sets, variant).ok_or_else(|| {
        format!(
            "{} block slots do not fit the unblocked slots",
            lengths.iter().sum::<usize>()
        )
    })?;
    let seed = options.seed ^ (variant as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);

    // Items with students, and groups of students with the same items.
    let items: Vec<usize> = (0..model.items.len())
        .filter(|&i| !model.items[i].students.is_empty())
        .collect();
    let local: HashMap<usize, usize> = items.iter().enumerate().map(|(l, &i)| (i, l)).collect();
    let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for (s, student) in model.students.iter().enumerate() {
        let key: Vec<usize> = student
            .items
            .iter()
            .filter_map(|i| local.get(i).copied())
            .collect();
        if !key.is_empty() {
            groups.entry(key).or_default().push(s);
        }
    }
    let group_list: Vec<(Vec<usize>, Vec<usize>)> = groups.into_iter().collect();
    let block_position =
        |blocks: &[Block], slots: &Vec<usize>| blocks.iter().position(|b| &b.slots == slots);

    let electives = model.instance.electives.len();
    let teacher_periods: Vec<usize> = (0..electives)
        .map(|e| {
            (0..model.teachers.len())
                .filter(|&t| model.teachers[t].electives[e])
                .map(|t| model.teachers[t].max.min(model.teacher_free[t]))
                .sum()
        })
        .collect();
    let make_input = |blocks: &[Block],
                      limits: Vec<Vec<usize>>,
                      hint_sections: Option<Vec<Vec<usize>>>,
                      max_extra: usize| {
        RoutingInput {
            block_len: blocks.iter().map(|b| b.length).collect(),
            periods: items.iter().map(|&i| model.items[i].periods).collect(),
            caps: items.iter().map(|&i| model.items[i].cap).collect(),
            demand: items
                .iter()
                .map(|&i| model.items[i].students.len())
                .collect(),
            sections: items
                .iter()
                .map(|&i| model.items[i].students.len().div_ceil(model.items[i].cap))
                .collect(),
            hint_sections: hint_sections.or_else(|| {
                hint.map(|h| {
                    let mut rows = vec![vec![0; blocks.len()]; items.len()];
                    for class in &h.classes {
                        if let (Some(item), Some(b)) =
                            (class.item, block_position(blocks, &class.slots))
                            && let Some(&l) = local.get(&item)
                        {
                            rows[l][b] += 1;
                        }
                    }
                    rows
                })
            }),
            subject_of: items.iter().map(|&i| model.items[i].elective).collect(),
            teacher_limit: limits,
            teacher_periods: teacher_periods.clone(),
            rooms: model.rooms.clone(),
            groups: group_list
                .iter()
                .map(|(key, members)| {
                    let mut hinted: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
                    if let Some(h) = hint {
                        for &s in members {
                            let pattern: Option<Vec<usize>> = key
                                .iter()
                                .map(|&l| {
                                    h.class_of
                                        .get(&(s, items[l]))
                                        .and_then(|&c| block_position(blocks, &h.classes[c].slots))
                                })
                                .collect();
                            if let Some(p) = pattern {
                                *hinted.entry(p).or_default() += 1;
                            }
                        }
                    }
                    routing::Group {
                        items: key.clone(),
                        count: members.len(),
                        hint: hinted.into_iter().collect(),
                    }
                })
                .collect(),
            max_extra,
        }
    };
    let lower: usize = items
        .iter()
        .map(|&i| model.items[i].students.len().div_ceil(model.items[i].cap))
        .sum();
    let max_extra = lower + items.len() * 2;
    let mut routed = None;
    for (attempt, extra) in [(0u64, 0usize), (1, max_extra)] {
        if options.budget.expired() {
            break;
        }
        let input = make_input(&blocks, teacher_limits(model, &blocks), None, extra);
        routed = routing::route(
            &input,
            seed ^ attempt.wrapping_mul(0x51_7cc1),
            options.budget,
        );
        if routed.is_some() {
            break;
        }
    }
    if routed.is_none() && !options.budget.expired() {
        // Perhaps teachers are away in the blocks' slots: route as if they were not, move block slots to where
        // enough teachers are present for that routing, and route again.
        let relaxed = make_input(
            &blocks,
            vec![vec![UNLIMITED; blocks.len()]; electives],
            None,
            max_extra,
        );
        if let Some(free) = routing::route(&relaxed, seed ^ 7, options.budget) {
            let mut need = vec![vec![0usize; blocks.len()]; electives];
            for (l, &i) in items.iter().enumerate() {
                for b in 0..blocks.len() {
                    need[model.items[i].elective][b] += free.sections[l][b];
                }
            }
            blocks::repair_placement(model, &mut blocks, &need, seed, 20_000);
            let input = make_input(
                &blocks,
                teacher_limits(model, &blocks),
                Some(free.sections.clone()),
                max_extra,
            );
            routed = routing::route(&input, seed ^ 11, options.budget);
            if routed.is_none() {
                // Keep the relaxed routing: teachers will be mended later, or by the lesson-level repair.
                routed = Some(free);
            }
        }
    }
    let routed =
        routed.ok_or_else(|| "students could not be sectioned into the blocks".to_string())?;
    let extra_classes = routed
        .sections
        .iter()
        .flatten()
        .sum::<usize>()
        .saturating_sub(lower);

    // Students to patterns: hinted pattern first, then by administrative class so classmates stay together.
    let mut block_of: Vec<HashMap<usize, usize>> = vec![HashMap::new(); model.students.len()];
    for ((key, members), patterns) in group_list.iter().zip(&routed.patterns) {
        let mut left: Vec<usize> = patterns.iter().map(|(_, n)| *n).collect();
        let mut unplaced = Vec::new();
        for &s in members {
            let previous: Option<Vec<usize>> = hint.and_then(|h| {
                key.iter()
                    .map(|&l| {
                        h.class_of
                            .get(&(s, items[l]))
                            .and_then(|&c| block_position(&blocks, &h.classes[c].slots))
                    })
                    .collect()
            });
            match previous.and_then(|p| patterns.iter().position(|(q, _)| *q == p)) {
                Some(index) if left[index] > 0 => {
                    left[index] -= 1;
                    for (position, &l) in key.iter().enumerate() {
                        block_of[s].insert(items[l], patterns[index].0[position]);
                    }
                }
                _ => unplaced.push(s),
            }
        }
        unplaced.sort_by_key(|&s| (model.students[s].admin, s));
        let mut index = 0;
        for s in unplaced {
            while index < left.len() && left[index] == 0 {
                index += 1;
            }
            let Some(pattern) = patterns.get(index) else {
                break;
            };
            left[index] -= 1;
            for (position, &l) in key.iter().enumerate() {
                block_of[s].insert(items[l], pattern.0[position]);
            }
        }
    }

    // Teaching classes: split each (item, block) into its classes, balanced, classmates together.
    let mut classes: Vec<PlannedClass> = Vec::new();
    let mut class_block: Vec<usize> = Vec::new();
    let mut hint_class_of_new: Vec<Option<usize>> = Vec::new();
    let mut used_ids: BTreeSet<String> = BTreeSet::new();
    let hint_ids: BTreeSet<&str> = hint
        .map(|h| h.classes.iter().map(|c| c.id.as_str()).collect())
        .unwrap_or_default();
    for (l, &i) in items.iter().enumerate() {
        let item = &model.items[i];
        let mut numbering = 0;
        for (b, block) in blocks.iter().enumerate() {
            let m = routed.sections[l][b];
            if m == 0 {
                continue;
            }
            let members: Vec<usize> = item
                .students
                .iter()
                .copied()
                .filter(|s| block_of[*s].get(&i) == Some(&b))
                .collect();
            if members.is_empty() {
                continue;
            }
            let slots = block.sub_slots(item.periods);
            let m = m.min(members.len());
            let sizes: Vec<usize> = (0..m)
                .map(|j| members.len() / m + usize::from(j < members.len() % m))
                .collect();
            // Previous classes of this item at these slots, in id order, become sections 0.. in turn.
            let previous: Vec<usize> = hint
                .map(|h| {
                    let mut list: Vec<usize> = (0..h.classes.len())
                        .filter(|&c| h.classes[c].item == Some(i) && h.classes[c].slots == slots)
                        .collect();
                    list.sort_by(|&a, &b| h.classes[a].id.cmp(&h.classes[b].id));
                    list
                })
                .unwrap_or_default();
            let mut lists: Vec<Vec<usize>> = vec![Vec::new(); m];
            let mut rest = Vec::new();
            for &s in &members {
                let section = hint
                    .and_then(|h| h.class_of.get(&(s, i)))
                    .and_then(|c| previous.iter().position(|p| p == c))
                    .filter(|&j| j < m);
                match section {
                    Some(j) if lists[j].len() < sizes[j] => lists[j].push(s),
                    _ => rest.push(s),
                }
            }
            rest.sort_by_key(|&s| (model.students[s].admin, s));
            let mut j = 0;
            for s in rest {
                while j < m && lists[j].len() >= sizes[j] {
                    j += 1;
                }
                if j >= m {
                    break;
                }
                lists[j].push(s);
            }
            for (j, students) in lists.into_iter().enumerate() {
                let previous_class = previous.get(j).copied();
                let id = previous_class
                    .and_then(|c| hint.map(|h| h.classes[c].id.clone()))
                    .filter(|id| !used_ids.contains(id))
                    .unwrap_or_else(|| {
                        loop {
                            numbering += 1;
                            let candidate = format!(
                                "{}-{}-{:02}",
                                model.instance.electives[item.elective].id,
                                item.level.letter(),
                                numbering
                            );
                            if !used_ids.contains(&candidate)
                                && !hint_ids.contains(candidate.as_str())
                            {
                                break candidate;
                            }
                        }
                    });
                used_ids.insert(id.clone());
                classes.push(PlannedClass {
                    id,
                    item: i,
                    students,
                    teacher: 0,
                    room: 0,
                    slots: slots.clone(),
                });
                class_block.push(b);
                hint_class_of_new.push(previous_class);
            }
        }
    }

    // Slots each administrative class's students spend in teaching classes.
    let mut admin_busy = vec![vec![false; model.slot_count]; model.admins.len()];
    for class in &classes {
        for &s in &class.students {
            for &slot in &class.slots {
                admin_busy[model.students[s].admin][slot] = true;
            }
        }
    }

    // Teachers for classes and compulsory units together.
    let mut tasks: Vec<Task> = classes
        .iter()
        .zip(&class_block)
        .zip(&hint_class_of_new)
        .map(|((class, &b), previous)| Task {
            kind: TaskKind::Class {
                elective: model.items[class.item].elective,
                slots: class.slots.clone(),
                block: b,
            },
            periods: class.slots.len(),
            preferred: previous.and_then(|c| hint.and_then(|h| h.classes[c].teacher)),
        })
        .collect();
    let mut units: Vec<(usize, usize)> = Vec::new();
    for c in 0..model.compulsory_periods.len() {
        if model.compulsory_periods[c] == 0 {
            continue;
        }
        for a in 0..model.admins.len() {
            units.push((a, c));
            tasks.push(Task {
                kind: TaskKind::Compulsory { subject: c },
                periods: model.compulsory_periods[c],
                preferred: hint
                    .and_then(|h| h.admin.get(&(a, c)))
                    .and_then(|(t, _)| *t),
            });
        }
    }
    let (teachers, _teachers_ok) = assign::assign(model, &tasks, seed);
    for (class, &t) in classes.iter_mut().zip(&teachers) {
        class.teacher = t;
    }
    let unit_teacher: Vec<usize> = teachers[classes.len()..].to_vec();
    let admin = compulsory_slots(model, &units, &unit_teacher, &classes, &admin_busy, hint);
    let mut plan = Plan {
        classes,
        admin,
        blocks: blocks.len(),
    };
    assign_rooms(model, &mut plan, hint, &hint_class_of_new);
    Ok(BlockPlan {
        plan,
        extra_classes,
    })
}

/// Slots for every compulsory unit by edge colouring (administrative classes × teachers, colours = slots where the
/// class's students are free and the teacher is present and not teaching); lessons colouring cannot place go to
/// the least-conflicting slot, for the repair.
fn compulsory_slots(
    model: &Model<'_>,
    units: &[(usize, usize)],
    unit_teacher: &[usize],
    classes: &[PlannedClass],
    admin_busy: &[Vec<bool>],
    hint: Option<&Hint>,
) -> Vec<PlannedAdmin> {
    let available = model.available_slots();
    let position: HashMap<usize, usize> =
        available.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let mut teacher_busy = vec![vec![false; model.slot_count]; model.teachers.len()];
    for class in classes {
        for &s in &class.slots {
            teacher_busy[class.teacher][s] = true;
        }
    }
    let input = colour::ColourInput {
        colours: available.len(),
        day_of: available.iter().map(|&s| model.day(s)).collect(),
        rank: available.iter().map(|&s| s % model.per_day).collect(),
        admins: model.admins.len(),
        teachers: model.teachers.len(),
        admin_fixed: (0..model.admins.len())
            .map(|a| available.iter().map(|&s| admin_busy[a][s]).collect())
            .collect(),
        teacher_fixed: (0..model.teachers.len())
            .map(|t| {
                available
                    .iter()
                    .map(|&s| model.teachers[t].unavailable[s] || teacher_busy[t][s])
                    .collect()
            })
            .collect(),
        units: units
            .iter()
            .zip(unit_teacher)
            .map(|(&(a, c), &t)| colour::Unit {
                admin: a,
                teacher: t,
                periods: model.compulsory_periods[c],
                hint: hint
                    .and_then(|h| h.admin.get(&(a, c)))
                    .map(|(_, slots)| {
                        slots
                            .iter()
                            .filter_map(|s| position.get(s).copied())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        days: model.days,
    };
    let coloured = colour::colour(&input);
    let mut admin_used = vec![vec![false; model.slot_count]; model.admins.len()];
    let mut lessons: Vec<Vec<usize>> = Vec::with_capacity(units.len());
    for (u, got) in coloured.iter().enumerate() {
        let (a, _) = units[u];
        let list: Vec<usize> = got.iter().map(|&i| available[i]).collect();
        for &s in &list {
            admin_used[a][s] = true;
            teacher_busy[unit_teacher[u]][s] = true;
        }
        lessons.push(list);
    }
    for (u, &(a, c)) in units.iter().enumerate() {
        let t = unit_teacher[u];
        while lessons[u].len() < model.compulsory_periods[c] {
            let best = available
                .iter()
                .copied()
                .filter(|&s| !lessons[u].contains(&s))
                .min_by_key(|&s| {
                    (
                        usize::from(admin_busy[a][s]) + usize::from(admin_used[a][s]),
                        usize::from(model.teachers[t].unavailable[s]) * 2
                            + usize::from(teacher_busy[t][s]),
                        s,
                    )
                });
            let Some(s) = best else { break };
            admin_used[a][s] = true;
            teacher_busy[t][s] = true;
            lessons[u].push(s);
        }
    }
    units
        .iter()
        .zip(unit_teacher)
        .zip(lessons)
        .map(|((&(a, c), &t), mut slots)| {
            slots.sort_unstable();
            PlannedAdmin {
                admin: a,
                subject: c,
                teacher: t,
                rooms: vec![model.admins[a].room; slots.len()],
                slots,
            }
        })
        .collect()
}

/// Rooms: compulsory lessons in their class's own room unless another class already uses it then; teaching classes
/// in a room free in all their slots, large enough, preferring the previous room and the majority class's room.
/// Leaves a clash only when nothing fits (the repair then moves things).
pub(crate) fn assign_rooms(
    model: &Model<'_>,
    plan: &mut Plan,
    hint: Option<&Hint>,
    hint_class_of_new: &[Option<usize>],
) {
    let mut busy = vec![vec![false; model.slot_count]; model.rooms.len()];
    for lesson in &mut plan.admin {
        for k in 0..lesson.slots.len() {
            let s = lesson.slots[k];
            let own = model.admins[lesson.admin].room;
            let room = if !busy[own][s] {
                own
            } else {
                let size = model.admins[lesson.admin].students.len();
                (0..model.rooms.len())
                    .filter(|&r| !busy[r][s])
                    .min_by_key(|&r| (model.rooms[r] < size, model.rooms[r].abs_diff(size), r))
                    .unwrap_or(own)
            };
            busy[room][s] = true;
            lesson.rooms[k] = room;
        }
    }
    let mut order: Vec<usize> = (0..plan.classes.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(plan.classes[c].students.len()), c));
    let mut by_size: Vec<usize> = (0..model.rooms.len()).collect();
    by_size.sort_by_key(|&r| (model.rooms[r], r));
    for c in order {
        let class = &plan.classes[c];
        let size = class.students.len();
        let fits = |r: usize, busy: &Vec<Vec<bool>>| {
            model.rooms[r] >= size && class.slots.iter().all(|&s| !busy[r][s])
        };
        let mut preferences: Vec<usize> = Vec::new();
        if let Some(room) = hint_class_of_new
            .get(c)
            .copied()
            .flatten()
            .and_then(|h| hint.and_then(|hh| hh.classes[h].room))
        {
            preferences.push(room);
        }
        if let Some(admin) = majority_admin(model, &class.students) {
            preferences.push(model.admins[admin].room);
        }
        let room = preferences
            .iter()
            .copied()
            .find(|&r| fits(r, &busy))
            .or_else(|| by_size.iter().copied().find(|&r| fits(r, &busy)))
            .or_else(|| {
                // Nothing fits: the large-enough room with the fewest clashes, else the largest.
                by_size
                    .iter()
                    .copied()
                    .filter(|&r| model.rooms[r] >= size)
                    .min_by_key(|&r| class.slots.iter().filter(|&&s| busy[r][s]).count())
                    .or_else(|| by_size.last().copied())
            })
            .unwrap_or(0);
        for &s in &plan.classes[c].slots {
            busy[room][s] = true;
        }
        plan.classes[c].room = room;
    }
}

fn majority_admin(model: &Model<'_>, students: &[usize]) -> Option<usize> {
    let mut count: BTreeMap<usize, usize> = BTreeMap::new();
    for &s in students {
        *count.entry(model.students[s].admin).or_default() += 1;
    }
    count
        .into_iter()
        .max_by_key(|&(a, n)| (n, std::cmp::Reverse(a)))
        .map(|(a, _)| a)
}

/// A start without blocks: classes at the lower bound (students of the same combination together), teachers by
/// spare capacity, every lesson greedily at its least-conflicting slot. Usually full of conflicts for the repair.
pub(crate) fn greedy(model: &Model<'_>) -> Plan {
    let mut plan = structure(model);
    place_greedily(model, &mut plan, None);
    let none = vec![None; plan.classes.len()];
    assign_rooms(model, &mut plan, None, &none);
    plan
}

/// A start without blocks for timetables made mostly of lessons within one administrative class (class-level
/// schools, FET imports): classes spanning several administrative classes are placed greedily first, then every
/// lesson within one administrative class (compulsory ones, and teaching classes all of whose students share an
/// administrative class) by edge colouring of administrative classes × teachers.
pub(crate) fn coloured(model: &Model<'_>) -> Plan {
    let mut plan = structure(model);
    let single: Vec<Option<usize>> = plan
        .classes
        .iter()
        .map(|c| {
            let first = model.students[*c.students.first()?].admin;
            c.students
                .iter()
                .all(|&s| model.students[s].admin == first)
                .then_some(first)
        })
        .collect();
    let multi: Vec<usize> = (0..plan.classes.len())
        .filter(|&c| single[c].is_none())
        .collect();
    place_greedily(model, &mut plan, Some(&multi));
    let available = model.available_slots();
    let mut admin_fixed = vec![vec![false; available.len()]; model.admins.len()];
    let mut teacher_fixed: Vec<Vec<bool>> = model
        .teachers
        .iter()
        .map(|t| available.iter().map(|&s| t.unavailable[s]).collect())
        .collect();
    let position: HashMap<usize, usize> =
        available.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    for &c in &multi {
        for &slot in &plan.classes[c].slots {
            if let Some(&p) = position.get(&slot) {
                teacher_fixed[plan.classes[c].teacher][p] = true;
                for &s in &plan.classes[c].students {
                    admin_fixed[model.students[s].admin][p] = true;
                }
            }
        }
    }
    // Units: compulsory lessons, then single-class teaching classes.
    let mut units: Vec<colour::Unit> = plan
        .admin
        .iter()
        .map(|a| colour::Unit {
            admin: a.admin,
            teacher: a.teacher,
            periods: model.compulsory_periods[a.subject],
            hint: Vec::new(),
        })
        .collect();
    let single_classes: Vec<usize> = (0..plan.classes.len())
        .filter(|&c| single[c].is_some())
        .collect();
    for &c in &single_classes {
        units.push(colour::Unit {
            admin: single[c].unwrap_or(0),
            teacher: plan.classes[c].teacher,
            periods: model.items[plan.classes[c].item].periods,
            hint: Vec::new(),
        });
    }
    let input = colour::ColourInput {
        colours: available.len(),
        day_of: available.iter().map(|&s| model.day(s)).collect(),
        rank: available.iter().map(|&s| s % model.per_day).collect(),
        admins: model.admins.len(),
        teachers: model.teachers.len(),
        admin_fixed,
        teacher_fixed,
        units,
        days: model.days,
    };
    let coloured = colour::colour(&input);
    let admin_count = plan.admin.len();
    for (u, got) in coloured.iter().enumerate() {
        let slots: Vec<usize> = got.iter().map(|&i| available[i]).collect();
        if u < admin_count {
            plan.admin[u].slots = slots;
        } else {
            plan.classes[single_classes[u - admin_count]].slots = slots;
        }
    }
    // Lessons colouring could not place: greedily, where they clash least.
    let rest: Vec<usize> = (0..plan.classes.len())
        .filter(|&c| plan.classes[c].slots.len() < model.items[plan.classes[c].item].periods)
        .collect();
    place_greedily(model, &mut plan, Some(&rest));
    let none = vec![None; plan.classes.len()];
    assign_rooms(model, &mut plan, None, &none);
    plan
}

/// Classes at the lower bound and teachers, no slots yet.
fn structure(model: &Model<'_>) -> Plan {
    let mut load = vec![0usize; model.teachers.len()];
    let pick = |load: &mut Vec<usize>, periods: usize, ok: &dyn Fn(usize) -> bool| -> usize {
        let t = (0..model.teachers.len())
            .filter(|&t| ok(t))
            .max_by_key(|&t| {
                (
                    model.teachers[t].max as i64 - load[t] as i64,
                    std::cmp::Reverse(t),
                )
            })
            .unwrap_or(0);
        load[t] += periods;
        t
    };
    let mut classes = Vec::new();
    for (i, item) in model.items.iter().enumerate() {
        if item.students.is_empty() {
            continue;
        }
        let m = item.students.len().div_ceil(item.cap);
        let mut members = item.students.clone();
        members.sort_by(|&a, &b| {
            (&model.students[a].items, model.students[a].admin, a).cmp(&(
                &model.students[b].items,
                model.students[b].admin,
                b,
            ))
        });
        let mut start = 0;
        for j in 0..m {
            let size = members.len() / m + usize::from(j < members.len() % m);
            let teacher = pick(&mut load, item.periods, &|t| {
                model.teachers[t].electives[item.elective]
            });
            classes.push(PlannedClass {
                id: format!(
                    "{}-{}-{:02}",
                    model.instance.electives[item.elective].id,
                    item.level.letter(),
                    j + 1
                ),
                item: i,
                students: members[start..start + size].to_vec(),
                teacher,
                room: 0,
                slots: Vec::new(),
            });
            start += size;
        }
    }
    let mut admin = Vec::new();
    for (c, &periods) in model.compulsory_periods.iter().enumerate() {
        if periods == 0 {
            continue;
        }
        for a in 0..model.admins.len() {
            let teacher = pick(&mut load, periods, &|t| model.teachers[t].compulsory[c]);
            admin.push(PlannedAdmin {
                admin: a,
                subject: c,
                teacher,
                slots: Vec::new(),
                rooms: Vec::new(),
            });
        }
    }
    Plan {
        classes,
        admin,
        blocks: 0,
    }
}

/// Places the missing lessons of every compulsory unit and of the teaching classes in `only` (all when `None`),
/// each at the slot with the fewest clashes given what is placed already.
fn place_greedily(model: &Model<'_>, plan: &mut Plan, only: Option<&[usize]>) {
    let n = model.slot_count;
    let mut student_occ = vec![0u16; model.students.len() * n];
    let mut teacher_occ = vec![0u16; model.teachers.len() * n];
    let mut lessons_at = vec![0usize; n];
    let place = |members: &[usize],
                 teacher: usize,
                 have: &[usize],
                 periods: usize,
                 student_occ: &mut Vec<u16>,
                 teacher_occ: &mut Vec<u16>,
                 lessons_at: &mut Vec<usize>|
     -> Vec<usize> {
        let mut chosen: Vec<usize> = have.to_vec();
        while chosen.len() < periods {
            let best = (0..n)
                .filter(|&s| model.available[s] && !chosen.contains(&s))
                .min_by_key(|&s| {
                    let clashes: usize = members
                        .iter()
                        .filter(|&&st| student_occ[st * n + s] > 0)
                        .count();
                    let same_day = chosen
                        .iter()
                        .filter(|&&x| model.day(x) == model.day(s))
                        .count();
                    (
                        usize::from(model.teachers[teacher].unavailable[s]) * 1000
                            + usize::from(teacher_occ[teacher * n + s] > 0) * 100
                            + clashes * 10
                            + same_day,
                        lessons_at[s],
                        s,
                    )
                });
            let Some(s) = best else { break };
            for &st in members {
                student_occ[st * n + s] += 1;
            }
            teacher_occ[teacher * n + s] += 1;
            lessons_at[s] += 1;
            chosen.push(s);
        }
        chosen.sort_unstable();
        chosen
    };
    // What is placed already counts.
    for class in &plan.classes {
        for &s in &class.slots {
            for &st in &class.students {
                student_occ[st * n + s] += 1;
            }
            teacher_occ[class.teacher * n + s] += 1;
            lessons_at[s] += 1;
        }
    }
    for lesson in &plan.admin {
        for &s in &lesson.slots {
            for &st in &model.admins[lesson.admin].students {
                student_occ[st * n + s] += 1;
            }
            teacher_occ[lesson.teacher * n + s] += 1;
            lessons_at[s] += 1;
        }
    }
    // Most constrained compulsory units first.
    let mut order: Vec<usize> = (0..plan.admin.len())
        .filter(|&u| plan.admin[u].slots.len() < model.compulsory_periods[plan.admin[u].subject])
        .collect();
    order.sort_by_key(|&u| {
        std::cmp::Reverse(
            model.teachers[plan.admin[u].teacher]
                .unavailable
                .iter()
                .filter(|&&x| x)
                .count(),
        )
    });
    for u in order {
        let lesson = &plan.admin[u];
        let (a, c, t) = (lesson.admin, lesson.subject, lesson.teacher);
        let slots = place(
            &model.admins[a].students,
            t,
            &lesson.slots,
            model.compulsory_periods[c],
            &mut student_occ,
            &mut teacher_occ,
            &mut lessons_at,
        );
        plan.admin[u].rooms = vec![model.admins[a].room; slots.len()];
        plan.admin[u].slots = slots;
    }
    let classes: Vec<usize> = match only {
        Some(list) => list.to_vec(),
        None => (0..plan.classes.len()).collect(),
    };
    for c in classes {
        let class = &plan.classes[c];
        let periods = model.items[class.item].periods;
        if class.slots.len() >= periods {
            continue;
        }
        let slots = place(
            &class.students,
            class.teacher,
            &class.slots,
            periods,
            &mut student_occ,
            &mut teacher_occ,
            &mut lessons_at,
        );
        plan.classes[c].slots = slots;
    }
}
