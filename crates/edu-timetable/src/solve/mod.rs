//! The solver: forms teaching classes and timetables them with the compulsory lessons.
//!
//! Block ("slot-group") method: electives of the same weekly length run in parallel blocks; each student has at
//! most one class per block, so students never clash; compulsory lessons fill the other slots by bipartite edge
//! colouring. When the blocks do not fit the week, a general lesson-level search takes over.
#![allow(
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::type_complexity
)] // index loops over parallel tables read best here

pub(crate) mod colour;
pub(crate) mod model;
pub(crate) mod routing;
pub(crate) mod search;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::check::check;
use crate::diagnose::{Shortage, shortages, tightest};
use crate::format::{AdminLesson, Level, SOLUTION_FORMAT, Solution, TeachingClass};
use crate::validate::{InstanceIssue, validate_instance};
use model::Model;

/// Says when to stop: a deadline or a cancel button. The solver asks it now and then and returns what it has.
pub trait Budget {
    fn expired(&self) -> bool;
}

/// Never expires: for tests and deterministic runs (the search stops at its own iteration limits).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl Budget for Unlimited {
    fn expired(&self) -> bool {
        false
    }
}

impl<F: Fn() -> bool> Budget for F {
    fn expired(&self) -> bool {
        self()
    }
}

/// What the solver is given besides the instance.
pub struct SolveOptions<'a> {
    pub seed: u64,
    pub budget: &'a dyn Budget,
    /// A previous timetable to stay close to (re-solving after a small change).
    pub hint: Option<&'a Solution>,
}

impl Default for SolveOptions<'_> {
    fn default() -> Self {
        SolveOptions {
            seed: 0,
            budget: &Unlimited,
            hint: None,
        }
    }
}

/// How much of a previous timetable survives in a new one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stability {
    /// Of the previous (student, elective, level) enrolments still required: same class id, teacher and slots.
    pub enrolments_kept: f64,
    /// Of the previous compulsory (admin class, subject, slot) lessons still required: same slot and teacher.
    pub admin_lessons_kept: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolveStats {
    pub method: &'static str,
    pub lower_bound: usize,
    pub teaching_classes: usize,
    pub blocks: usize,
    pub stability: Option<Stability>,
}

#[derive(Debug, Clone)]
pub struct SolveOutcome {
    pub solution: Solution,
    pub stats: SolveStats,
}

/// Why no timetable came out: the short resources, most likely first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub summary: String,
    pub shortages: Vec<Shortage>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.summary)?;
        for shortage in &self.shortages {
            writeln!(f, "  - {shortage}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SolveError {
    #[error("the instance is not valid: {}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<InstanceIssue>),
    #[error("no timetable: {0}")]
    Infeasible(Explanation),
}

/// Forms teaching classes and builds a timetable that breaks no hard constraint, or explains why it cannot.
pub fn solve(
    instance: &crate::format::Instance,
    options: &SolveOptions<'_>,
) -> Result<SolveOutcome, SolveError> {
    let issues = validate_instance(instance);
    if !issues.is_empty() {
        return Err(SolveError::Invalid(issues));
    }
    let model = Model::new(instance);
    let short = shortages(&model);
    if !short.is_empty() {
        return Err(SolveError::Infeasible(Explanation {
            summary: "a resource is short, so no timetable can exist".into(),
            shortages: short,
        }));
    }
    let hint = options.hint.map(|h| Hint::new(&model, h));
    let mut failures = Vec::new();
    let mut attempt = |plan: Result<Plan, String>, method: &'static str| -> Option<SolveOutcome> {
        match plan {
            Ok(plan) => {
                let blocks = plan.blocks;
                let solution = plan.into_solution(&model);
                let report = check(instance, &solution);
                if report.valid {
                    let stability = options.hint.map(|h| stability(instance, h, &solution));
                    return Some(SolveOutcome {
                        stats: SolveStats {
                            method,
                            lower_bound: model.lower_bound(),
                            teaching_classes: solution.teaching_classes.len(),
                            blocks,
                            stability,
                        },
                        solution,
                    });
                }
                failures.push(format!(
                    "{method}: {} conflicts left, e.g. {}",
                    report.violations.len(),
                    report
                        .violations
                        .first()
                        .map(|v| v.message.clone())
                        .unwrap_or_default()
                ));
                None
            }
            Err(reason) => {
                failures.push(format!("{method}: {reason}"));
                None
            }
        }
    };
    if let Some(outcome) = attempt(solve_blocks(&model, options, hint.as_ref()), "blocks") {
        return Ok(outcome);
    }
    if let Some(outcome) = attempt(solve_search(&model, options), "search") {
        return Ok(outcome);
    }
    Err(SolveError::Infeasible(Explanation {
        summary: format!(
            "no timetable found{}; {}. The tightest resources are:",
            if options.budget.expired() {
                " within the time budget"
            } else {
                ""
            },
            failures.join("; ")
        ),
        shortages: tightest(&model),
    }))
}

/// The solver's own result before it becomes the exchange format.
struct Plan {
    classes: Vec<PlannedClass>,
    admin: Vec<PlannedAdmin>,
    blocks: usize,
}

struct PlannedClass {
    id: String,
    item: usize,
    students: Vec<usize>,
    teacher: usize,
    room: usize,
    slots: Vec<usize>,
}

struct PlannedAdmin {
    admin: usize,
    subject: usize,
    teacher: usize,
    room: usize,
    slots: Vec<usize>,
}

impl Plan {
    fn into_solution(self, model: &Model<'_>) -> Solution {
        let instance = model.instance;
        let slots = |list: &[usize]| {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted
                .into_iter()
                .map(|s| model.slot(s))
                .collect::<Vec<_>>()
        };
        let mut teaching_classes: Vec<TeachingClass> = self
            .classes
            .iter()
            .map(|c| {
                let item = &model.items[c.item];
                let mut students = c.students.clone();
                students.sort_unstable();
                TeachingClass {
                    id: c.id.clone(),
                    subject: instance.electives[item.elective].id.clone(),
                    level: item.level,
                    teacher: instance.teachers[c.teacher].id.clone(),
                    room: instance.rooms[c.room].id.clone(),
                    students: students
                        .iter()
                        .map(|&s| instance.students[s].id.clone())
                        .collect(),
                    slots: slots(&c.slots),
                }
            })
            .collect();
        teaching_classes.sort_by(|a, b| a.id.cmp(&b.id));
        let admin_lessons = self
            .admin
            .iter()
            .map(|a| AdminLesson {
                admin_class: instance.admin_classes[a.admin].id.clone(),
                subject: instance.compulsory[a.subject].id.clone(),
                teacher: instance.teachers[a.teacher].id.clone(),
                room: instance.rooms[a.room].id.clone(),
                slots: slots(&a.slots),
            })
            .collect();
        Solution {
            format: SOLUTION_FORMAT.to_string(),
            teaching_classes,
            admin_lessons,
        }
    }
}

/// A previous solution resolved against the current instance (unknown ids are dropped).
struct Hint {
    /// (student, item) → previous class number.
    class_of: HashMap<(usize, usize), usize>,
    classes: Vec<HintClass>,
    /// (admin, subject) → (teacher, slots).
    admin: HashMap<(usize, usize), (Option<usize>, Vec<usize>)>,
}

struct HintClass {
    id: String,
    item: Option<usize>,
    teacher: Option<usize>,
    room: Option<usize>,
    slots: Vec<usize>,
}

impl Hint {
    fn new(model: &Model<'_>, solution: &Solution) -> Self {
        let slot_list = |slots: &[crate::format::Slot]| {
            let mut list: Vec<usize> = slots
                .iter()
                .filter_map(|s| model::slot_index(model.instance, *s))
                .collect();
            list.sort_unstable();
            list.dedup();
            list
        };
        let mut class_of = HashMap::new();
        let mut classes = Vec::new();
        for class in &solution.teaching_classes {
            let item = model
                .elective_index
                .get(class.subject.as_str())
                .and_then(|&e| {
                    model
                        .items
                        .iter()
                        .position(|i| i.elective == e && i.level == class.level)
                });
            let number = classes.len();
            if let Some(item) = item {
                for student in &class.students {
                    if let Some(&s) = model.student_index.get(student.as_str()) {
                        class_of.insert((s, item), number);
                    }
                }
            }
            classes.push(HintClass {
                id: class.id.clone(),
                item,
                teacher: model.teacher_index.get(class.teacher.as_str()).copied(),
                room: model.room_index.get(class.room.as_str()).copied(),
                slots: slot_list(&class.slots),
            });
        }
        let mut admin = HashMap::new();
        for lesson in &solution.admin_lessons {
            if let (Some(&a), Some(&c)) = (
                model.admin_index.get(lesson.admin_class.as_str()),
                model.compulsory_index.get(lesson.subject.as_str()),
            ) {
                let entry = admin.entry((a, c)).or_insert((None, Vec::new()));
                entry.0 = model.teacher_index.get(lesson.teacher.as_str()).copied();
                entry.1.extend(slot_list(&lesson.slots));
            }
        }
        Hint {
            class_of,
            classes,
            admin,
        }
    }
}

/// Fraction of a previous timetable kept by a new one (both for the same school).
pub fn stability(
    instance: &crate::format::Instance,
    previous: &Solution,
    next: &Solution,
) -> Stability {
    let key = |c: &TeachingClass| {
        let mut slots = c.slots.clone();
        slots.sort();
        (c.id.clone(), c.teacher.clone(), slots)
    };
    let mut next_class: HashMap<(&str, &str, Level), (String, String, Vec<crate::format::Slot>)> =
        HashMap::new();
    for class in &next.teaching_classes {
        for student in &class.students {
            next_class.insert(
                (student.as_str(), class.subject.as_str(), class.level),
                key(class),
            );
        }
    }
    let required: BTreeSet<(&str, &str, Level)> = instance
        .students
        .iter()
        .flat_map(|s| {
            instance.electives.iter().flat_map(move |e| {
                let level = if s.selective.contains(&e.id) {
                    Level::Selective
                } else {
                    Level::Proficiency
                };
                (e.periods.at(level) > 0).then_some((s.id.as_str(), e.id.as_str(), level))
            })
        })
        .collect();
    let (mut kept, mut total) = (0usize, 0usize);
    for class in &previous.teaching_classes {
        let previous_key = key(class);
        for student in &class.students {
            let k = (student.as_str(), class.subject.as_str(), class.level);
            if !required.contains(&k) {
                continue;
            }
            total += 1;
            if next_class.get(&k) == Some(&previous_key) {
                kept += 1;
            }
        }
    }
    let next_admin: BTreeSet<(&str, &str, &str, crate::format::Slot)> = next
        .admin_lessons
        .iter()
        .flat_map(|l| {
            l.slots.iter().map(move |s| {
                (
                    l.admin_class.as_str(),
                    l.subject.as_str(),
                    l.teacher.as_str(),
                    *s,
                )
            })
        })
        .collect();
    let (mut admin_kept, mut admin_total) = (0usize, 0usize);
    for lesson in &previous.admin_lessons {
        for slot in &lesson.slots {
            admin_total += 1;
            if next_admin.contains(&(
                lesson.admin_class.as_str(),
                lesson.subject.as_str(),
                lesson.teacher.as_str(),
                *slot,
            )) {
                admin_kept += 1;
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    Stability {
        enrolments_kept: ratio(kept, total),
        admin_lessons_kept: ratio(admin_kept, admin_total),
    }
}

struct Block {
    length: usize,
    slots: Vec<usize>,
}

fn solve_blocks(
    model: &Model<'_>,
    options: &SolveOptions<'_>,
    hint: Option<&Hint>,
) -> Result<Plan, String> {
    let available = model.available_slots();
    let compulsory = model.compulsory_total();
    // Blocks per length: the most items of that length any student takes.
    let mut lengths: BTreeMap<usize, usize> = BTreeMap::new();
    for student in &model.students {
        let mut count: BTreeMap<usize, usize> = BTreeMap::new();
        for &item in &student.items {
            *count.entry(model.items[item].periods).or_default() += 1;
        }
        for (length, n) in count {
            let entry = lengths.entry(length).or_default();
            *entry = (*entry).max(n);
        }
    }
    let block_slots: usize = lengths.iter().map(|(l, n)| l * n).sum();
    if block_slots + compulsory > available.len() {
        return Err(format!(
            "parallel blocks need {block_slots} slots and compulsory lessons {compulsory}, the week has {}",
            available.len()
        ));
    }
    let mut extra: BTreeMap<usize, usize> = BTreeMap::new();
    let mut last_error = String::new();
    for _round in 0..4 {
        let counts: BTreeMap<usize, usize> = lengths
            .iter()
            .map(|(&l, &n)| (l, n + extra.get(&l).copied().unwrap_or(0)))
            .collect();
        match solve_blocks_with(model, options, hint, &counts) {
            Ok(plan) => return Ok(plan),
            Err((reason, failed_length)) => {
                last_error = reason;
                let used: usize = counts.iter().map(|(l, n)| l * n).sum();
                match failed_length {
                    Some(length)
                        if used + length + compulsory <= available.len()
                            && !options.budget.expired() =>
                    {
                        *extra.entry(length).or_default() += 1;
                    }
                    _ => break,
                }
            }
        }
    }
    Err(last_error)
}

/// Lays out blocks over the week, hinted slot sets first, else spread over distinct days.
fn place_blocks(
    model: &Model<'_>,
    counts: &BTreeMap<usize, usize>,
    hint: Option<&Hint>,
) -> Vec<Block> {
    let mut free: Vec<bool> = model.available.clone();
    let mut blocks: Vec<Block> = Vec::new();
    let mut wanted: Vec<usize> = Vec::new();
    for (&length, &n) in counts.iter().rev() {
        for _ in 0..n {
            wanted.push(length);
        }
    }
    let mut placed = vec![None; wanted.len()];
    if let Some(hint) = hint {
        let mut sets: Vec<&Vec<usize>> = hint.classes.iter().map(|c| &c.slots).collect();
        sets.sort();
        sets.dedup();
        for set in sets {
            if set.is_empty() || !set.iter().all(|&s| free[s]) {
                continue;
            }
            if let Some(position) =
                (0..wanted.len()).find(|&b| placed[b].is_none() && wanted[b] == set.len())
            {
                for &s in set {
                    free[s] = false;
                }
                placed[position] = Some(set.clone());
            }
        }
    }
    for (b, &length) in wanted.iter().enumerate() {
        let slots = match placed[b].take() {
            Some(slots) => slots,
            None => {
                let mut chosen = Vec::new();
                let mut used_days = vec![0usize; model.days];
                for _ in 0..length {
                    let day = (0..model.days)
                        .filter(|&d| (0..model.per_day).any(|p| free[d * model.per_day + p]))
                        .min_by_key(|&d| {
                            let left = (0..model.per_day)
                                .filter(|&p| free[d * model.per_day + p])
                                .count();
                            (used_days[d], std::cmp::Reverse(left), (d + b) % model.days)
                        });
                    let Some(day) = day else { break };
                    let slot = (0..model.per_day)
                        .map(|p| day * model.per_day + p)
                        .find(|&s| free[s]);
                    if let Some(s) = slot {
                        free[s] = false;
                        used_days[day] += 1;
                        chosen.push(s);
                    }
                }
                chosen.sort_unstable();
                chosen
            }
        };
        blocks.push(Block { length, slots });
    }
    blocks
}

type BlockFailure = (String, Option<usize>);

fn solve_blocks_with(
    model: &Model<'_>,
    options: &SolveOptions<'_>,
    hint: Option<&Hint>,
    counts: &BTreeMap<usize, usize>,
) -> Result<Plan, BlockFailure> {
    let blocks = place_blocks(model, counts, hint);
    if blocks.iter().any(|b| b.slots.len() != b.length) {
        return Err(("the blocks do not fit the unblocked slots".into(), None));
    }
    let electives = model.instance.electives.len();
    // Teachers able to teach each elective in each block.
    let teacher_limit: Vec<Vec<usize>> = (0..electives)
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
        .collect();
    let mut block_of: Vec<HashMap<usize, usize>> = vec![HashMap::new(); model.students.len()];
    let mut sections: Vec<Vec<usize>> = vec![vec![0; blocks.len()]; model.items.len()];
    // Route each length group separately.
    for (&length, _) in counts.iter() {
        let block_ids: Vec<usize> = (0..blocks.len())
            .filter(|&b| blocks[b].length == length)
            .collect();
        let items: Vec<usize> = (0..model.items.len())
            .filter(|&i| model.items[i].periods == length && !model.items[i].students.is_empty())
            .collect();
        if items.is_empty() {
            continue;
        }
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
        let block_position =
            |slots: &Vec<usize>| block_ids.iter().position(|&b| &blocks[b].slots == slots);
        let expected_size = items
            .iter()
            .map(|&i| {
                model.items[i].students.len()
                    / model.items[i].students.len().div_ceil(model.items[i].cap)
            })
            .min()
            .unwrap_or(1);
        let room_limit = model.rooms.iter().filter(|&&c| c >= expected_size).count();
        let group_list: Vec<(Vec<usize>, Vec<usize>)> = groups.into_iter().collect();
        let input = routing::RoutingInput {
            blocks: block_ids.len(),
            caps: items.iter().map(|&i| model.items[i].cap).collect(),
            demand: items
                .iter()
                .map(|&i| model.items[i].students.len())
                .collect(),
            sections: items
                .iter()
                .map(|&i| model.items[i].students.len().div_ceil(model.items[i].cap))
                .collect(),
            hint_sections: hint.map(|h| {
                let mut rows = vec![vec![0; block_ids.len()]; items.len()];
                for class in &h.classes {
                    if let (Some(item), Some(b)) = (class.item, block_position(&class.slots))
                        && let Some(&l) = local.get(&item)
                    {
                        rows[l][b] += 1;
                    }
                }
                rows
            }),
            subject_of: items.iter().map(|&i| model.items[i].elective).collect(),
            teacher_limit: (0..electives)
                .map(|e| block_ids.iter().map(|&b| teacher_limit[e][b]).collect())
                .collect(),
            room_limit,
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
                                        .and_then(|&c| block_position(&h.classes[c].slots))
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
        };
        let routed = (0..4u64).find_map(|attempt| {
            routing::route(
                &input,
                options.seed ^ (length as u64) ^ attempt.wrapping_mul(0x9e37_79b9),
                options.budget,
            )
        });
        let Some(routed) = routed else {
            return Err((
                format!("students of {length}-period electives could not be sectioned into blocks"),
                Some(length),
            ));
        };
        for (l, &i) in items.iter().enumerate() {
            for (position, &b) in block_ids.iter().enumerate() {
                sections[i][b] = routed.sections[l][position];
            }
        }
        // Students to patterns: hinted pattern first, then by administrative class so classmates stay together.
        for ((key, members), patterns) in group_list.iter().zip(&routed.patterns) {
            let mut left: Vec<usize> = patterns.iter().map(|(_, n)| *n).collect();
            let mut unplaced = Vec::new();
            for &s in members {
                let previous: Option<Vec<usize>> = hint.and_then(|h| {
                    key.iter()
                        .map(|&l| {
                            h.class_of
                                .get(&(s, items[l]))
                                .and_then(|&c| block_position(&h.classes[c].slots))
                        })
                        .collect()
                });
                match previous.and_then(|p| patterns.iter().position(|(q, _)| *q == p)) {
                    Some(index) if left[index] > 0 => {
                        left[index] -= 1;
                        for (position, &l) in key.iter().enumerate() {
                            block_of[s].insert(items[l], block_ids[patterns[index].0[position]]);
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
                    block_of[s].insert(items[l], block_ids[pattern.0[position]]);
                }
            }
        }
    }

    // Teaching classes: split each (item, block) into its sections, balanced, classmates together.
    let mut classes: Vec<PlannedClass> = Vec::new();
    let mut class_block: Vec<usize> = Vec::new();
    let mut used_ids: BTreeSet<String> = BTreeSet::new();
    let mut hint_class_of_new: Vec<Option<usize>> = Vec::new();
    for (i, item) in model.items.iter().enumerate() {
        let mut numbering = 0;
        for (b, block) in blocks.iter().enumerate() {
            let m = sections[i][b];
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
            let m = m.min(members.len());
            let sizes: Vec<usize> = (0..m)
                .map(|j| members.len() / m + usize::from(j < members.len() % m))
                .collect();
            // Previous classes of this item in this block, in id order, become sections 0.. in turn.
            let previous: Vec<usize> = hint
                .map(|h| {
                    let mut list: Vec<usize> = (0..h.classes.len())
                        .filter(|&c| {
                            h.classes[c].item == Some(i) && h.classes[c].slots == block.slots
                        })
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
                                && !hint
                                    .is_some_and(|h| h.classes.iter().any(|c| c.id == candidate))
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
                    slots: block.slots.clone(),
                });
                class_block.push(b);
                hint_class_of_new.push(previous_class);
            }
        }
    }

    // Teachers: per block a matching of classes to free qualified teachers, busiest blocks first.
    let mut load = vec![0usize; model.teachers.len()];
    let mut block_order: Vec<usize> = (0..blocks.len()).collect();
    block_order
        .sort_by_key(|&b| std::cmp::Reverse(class_block.iter().filter(|&&x| x == b).count()));
    for &b in &block_order {
        let members: Vec<usize> = (0..classes.len())
            .filter(|&c| class_block[c] == b)
            .collect();
        let length = blocks[b].length;
        let candidates: Vec<Vec<usize>> = members
            .iter()
            .map(|&c| {
                let elective = model.items[classes[c].item].elective;
                let preferred =
                    hint_class_of_new[c].and_then(|h| hint.and_then(|hh| hh.classes[h].teacher));
                let mut list: Vec<usize> = (0..model.teachers.len())
                    .filter(|&t| {
                        let teacher = &model.teachers[t];
                        teacher.electives[elective]
                            && load[t] + length <= teacher.max
                            && blocks[b].slots.iter().all(|&s| !teacher.unavailable[s])
                    })
                    .collect();
                list.sort_by_key(|&t| {
                    (
                        Some(t) != preferred,
                        std::cmp::Reverse(model.teachers[t].max - load[t]),
                        t,
                    )
                });
                list
            })
            .collect();
        let matched = bipartite_matching(&candidates, model.teachers.len());
        for (position, &c) in members.iter().enumerate() {
            let Some(t) = matched[position] else {
                let elective = model.items[classes[c].item].elective;
                return Err((
                    format!(
                        "no free teacher of {} for class {} in block {}",
                        model.instance.electives[elective].id, classes[c].id, b
                    ),
                    Some(length),
                ));
            };
            classes[c].teacher = t;
            load[t] += length;
        }
    }

    // Rooms: the administrative rooms are free during blocks (compulsory lessons never use block slots).
    let mut room_busy = vec![vec![false; model.slot_count]; model.rooms.len()];
    let admin_room_busy = |_: &mut Vec<Vec<bool>>| {};
    admin_room_busy(&mut room_busy);
    let preferences: Vec<Vec<usize>> = classes
        .iter()
        .enumerate()
        .map(|(c, class)| {
            let mut list = Vec::new();
            if let Some(room) =
                hint_class_of_new[c].and_then(|h| hint.and_then(|hh| hh.classes[h].room))
            {
                list.push(room);
            }
            if let Some(admin) = majority_admin(model, &class.students) {
                list.push(model.admins[admin].room);
            }
            list
        })
        .collect();
    let sizes: Vec<usize> = classes.iter().map(|c| c.students.len()).collect();
    let slots: Vec<&Vec<usize>> = classes.iter().map(|c| &c.slots).collect();
    let rooms = assign_rooms(model, &sizes, &slots, &preferences, &room_busy).ok_or_else(|| {
        (
            "not enough rooms of sufficient capacity in some block".to_string(),
            None,
        )
    })?;
    for (class, room) in classes.iter_mut().zip(rooms) {
        class.room = room;
    }

    // Compulsory lessons in the remaining slots.
    let block_slot: BTreeSet<usize> = blocks
        .iter()
        .flat_map(|b| b.slots.iter().copied())
        .collect();
    let free: Vec<usize> = (0..model.slot_count)
        .filter(|&s| model.available[s] && !block_slot.contains(&s))
        .collect();
    let admin =
        plan_compulsory(model, &free, &load, hint, options).map_err(|reason| (reason, None))?;
    Ok(Plan {
        classes,
        admin,
        blocks: blocks.len(),
    })
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

/// Kuhn's augmenting paths: left vertex i gets one of `candidates[i]` (in preference order), each right once.
fn bipartite_matching(candidates: &[Vec<usize>], right: usize) -> Vec<Option<usize>> {
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

/// One room per teaching class, free in all its slots, large enough; preferred rooms first, then the smallest
/// that fits, biggest classes first.
fn assign_rooms(
    model: &Model<'_>,
    sizes: &[usize],
    slots: &[&Vec<usize>],
    preferences: &[Vec<usize>],
    busy: &[Vec<bool>],
) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(sizes[c]), c));
    let mut rooms_by_size: Vec<usize> = (0..model.rooms.len()).collect();
    rooms_by_size.sort_by_key(|&r| (model.rooms[r], r));
    for use_preferences in [true, false] {
        let mut busy = busy.to_vec();
        let mut result = vec![usize::MAX; sizes.len()];
        let mut ok = true;
        for &c in &order {
            let fits = |r: usize, busy: &Vec<Vec<bool>>| {
                model.rooms[r] >= sizes[c] && slots[c].iter().all(|&s| !busy[r][s])
            };
            let preferred = if use_preferences {
                preferences[c].iter().copied().find(|&r| fits(r, &busy))
            } else {
                None
            };
            let Some(room) =
                preferred.or_else(|| rooms_by_size.iter().copied().find(|&r| fits(r, &busy)))
            else {
                ok = false;
                break;
            };
            for &s in slots[c].iter() {
                busy[room][s] = true;
            }
            result[c] = room;
        }
        if ok {
            return Some(result);
        }
    }
    None
}

/// Teachers for each (administrative class, compulsory subject), then slots by edge colouring, then repair.
fn plan_compulsory(
    model: &Model<'_>,
    free: &[usize],
    elective_load: &[usize],
    hint: Option<&Hint>,
    options: &SolveOptions<'_>,
) -> Result<Vec<PlannedAdmin>, String> {
    let mut load = elective_load.to_vec();
    let free_count: Vec<usize> = model
        .teachers
        .iter()
        .map(|t| free.iter().filter(|&&s| !t.unavailable[s]).count())
        .collect();
    let mut compulsory_load = vec![0usize; model.teachers.len()];
    let mut units: Vec<(usize, usize, usize)> = Vec::new();
    // Scarcest subjects first.
    let mut subjects: Vec<usize> = (0..model.compulsory_periods.len())
        .filter(|&c| model.compulsory_periods[c] > 0)
        .collect();
    subjects.sort_by_key(|&c| {
        let capacity: usize = model
            .teachers
            .iter()
            .filter(|t| t.compulsory[c])
            .map(|t| t.max)
            .sum();
        (
            capacity * 1000 / (model.compulsory_periods[c] * model.admins.len()).max(1),
            c,
        )
    });
    for &c in &subjects {
        let periods = model.compulsory_periods[c];
        for a in 0..model.admins.len() {
            let preferred = hint
                .and_then(|h| h.admin.get(&(a, c)))
                .and_then(|(t, _)| *t);
            let fits = |t: usize, load: &[usize], compulsory_load: &[usize]| {
                model.teachers[t].compulsory[c]
                    && load[t] + periods <= model.teachers[t].max
                    && compulsory_load[t] + periods <= free_count[t]
            };
            let teacher = preferred
                .filter(|&t| fits(t, &load, &compulsory_load))
                .or_else(|| {
                    (0..model.teachers.len())
                        .filter(|&t| fits(t, &load, &compulsory_load))
                        .max_by_key(|&t| (model.teachers[t].max - load[t], std::cmp::Reverse(t)))
                });
            let Some(t) = teacher else {
                return Err(format!(
                    "no teacher of {} left for administrative class {}",
                    model.instance.compulsory[c].id, model.instance.admin_classes[a].id
                ));
            };
            load[t] += periods;
            compulsory_load[t] += periods;
            units.push((a, c, t));
        }
    }
    let position: HashMap<usize, usize> = free.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let input = colour::ColourInput {
        colours: free.len(),
        day_of: free.iter().map(|&s| model.day(s)).collect(),
        rank: free.iter().map(|&s| s % model.per_day).collect(),
        admins: model.admins.len(),
        teachers: model.teachers.len(),
        admin_fixed: vec![vec![false; free.len()]; model.admins.len()],
        teacher_fixed: model
            .teachers
            .iter()
            .map(|t| free.iter().map(|&s| t.unavailable[s]).collect())
            .collect(),
        units: units
            .iter()
            .map(|&(a, c, t)| colour::Unit {
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
    let mut lessons: Vec<Vec<Option<usize>>> = units
        .iter()
        .zip(&coloured)
        .map(|(&(_, c, _), got)| {
            let mut list: Vec<Option<usize>> = got.iter().map(|&i| Some(free[i])).collect();
            list.resize(model.compulsory_periods[c], None);
            list
        })
        .collect();
    if lessons.iter().any(|l| l.iter().any(Option::is_none)) {
        // Mend the few lessons colouring could not place with the general search over the free slots.
        let allowed_base: Vec<bool> = {
            let mut v = vec![false; model.slot_count];
            for &s in free {
                v[s] = true;
            }
            v
        };
        let events: Vec<search::Event> = units
            .iter()
            .zip(&lessons)
            .map(|(&(a, _, t), slots)| search::Event {
                lessons: slots.len(),
                teacher: t,
                students: vec![a],
                fixed_room: None,
                slots: slots.clone(),
                pinned: false,
                allowed: (0..model.slot_count)
                    .map(|s| allowed_base[s] && !model.teachers[t].unavailable[s])
                    .collect(),
            })
            .collect();
        let day_of: Vec<usize> = (0..model.slot_count).map(|s| model.day(s)).collect();
        let (placed, left) = search::search(
            &events,
            model.slot_count,
            &day_of,
            usize::MAX / 4,
            model.admins.len(),
            options.seed,
            options.budget,
            2_000_000,
        );
        if left > 0 {
            return Err(format!("{left} compulsory lessons clash after repair"));
        }
        lessons = placed
            .into_iter()
            .map(|l| l.into_iter().map(Some).collect())
            .collect();
    }
    Ok(units
        .iter()
        .zip(lessons)
        .map(|(&(a, c, t), slots)| PlannedAdmin {
            admin: a,
            subject: c,
            teacher: t,
            room: model.admins[a].room,
            slots: slots.into_iter().flatten().collect(),
        })
        .collect())
}

/// General path: classes by administrative-class order, teachers by load, all lessons placed by search.
fn solve_search(model: &Model<'_>, options: &SolveOptions<'_>) -> Result<Plan, String> {
    let mut classes: Vec<PlannedClass> = Vec::new();
    let mut load = vec![0usize; model.teachers.len()];
    for (i, item) in model.items.iter().enumerate() {
        if item.students.is_empty() {
            continue;
        }
        let m = item.students.len().div_ceil(item.cap);
        let mut members = item.students.clone();
        members.sort_by_key(|&s| (model.students[s].admin, s));
        let mut start = 0;
        for j in 0..m {
            let size = members.len() / m + usize::from(j < members.len() % m);
            let students = members[start..start + size].to_vec();
            start += size;
            let teacher = (0..model.teachers.len())
                .filter(|&t| {
                    model.teachers[t].electives[item.elective]
                        && load[t] + item.periods <= model.teachers[t].max
                })
                .max_by_key(|&t| (model.teachers[t].max - load[t], std::cmp::Reverse(t)))
                .ok_or_else(|| format!("no teacher left for {}", model.item_name(i)))?;
            load[teacher] += item.periods;
            classes.push(PlannedClass {
                id: format!(
                    "{}-{}-{:02}",
                    model.instance.electives[item.elective].id,
                    item.level.letter(),
                    j + 1
                ),
                item: i,
                students,
                teacher,
                room: 0,
                slots: Vec::new(),
            });
        }
    }
    // Compulsory teachers.
    let mut units: Vec<(usize, usize, usize)> = Vec::new();
    for (c, &periods) in model.compulsory_periods.iter().enumerate() {
        if periods == 0 {
            continue;
        }
        for a in 0..model.admins.len() {
            let teacher = (0..model.teachers.len())
                .filter(|&t| {
                    model.teachers[t].compulsory[c] && load[t] + periods <= model.teachers[t].max
                })
                .max_by_key(|&t| (model.teachers[t].max - load[t], std::cmp::Reverse(t)))
                .ok_or_else(|| {
                    format!("no teacher left for {}", model.instance.compulsory[c].id)
                })?;
            load[teacher] += periods;
            units.push((a, c, teacher));
        }
    }
    let mut events: Vec<search::Event> = Vec::new();
    for class in &classes {
        let t = class.teacher;
        events.push(search::Event {
            lessons: model.items[class.item].periods,
            teacher: t,
            students: class.students.clone(),
            fixed_room: None,
            slots: vec![None; model.items[class.item].periods],
            pinned: false,
            allowed: (0..model.slot_count)
                .map(|s| model.available[s] && !model.teachers[t].unavailable[s])
                .collect(),
        });
    }
    for &(a, c, t) in &units {
        events.push(search::Event {
            lessons: model.compulsory_periods[c],
            teacher: t,
            students: model.admins[a].students.clone(),
            fixed_room: Some(model.admins[a].room),
            slots: vec![None; model.compulsory_periods[c]],
            pinned: false,
            allowed: (0..model.slot_count)
                .map(|s| model.available[s] && !model.teachers[t].unavailable[s])
                .collect(),
        });
    }
    let day_of: Vec<usize> = (0..model.slot_count).map(|s| model.day(s)).collect();
    let (placed, left) = search::search(
        &events,
        model.slot_count,
        &day_of,
        model.rooms.len(),
        model.students.len(),
        options.seed,
        options.budget,
        5_000_000,
    );
    if left > 0 {
        return Err(format!("{left} lesson clashes left after search"));
    }
    for (class, slots) in classes.iter_mut().zip(&placed) {
        class.slots = slots.clone();
    }
    let mut busy = vec![vec![false; model.slot_count]; model.rooms.len()];
    let admin: Vec<PlannedAdmin> = units
        .iter()
        .zip(&placed[classes.len()..])
        .map(|(&(a, c, t), slots)| {
            for &s in slots {
                busy[model.admins[a].room][s] = true;
            }
            PlannedAdmin {
                admin: a,
                subject: c,
                teacher: t,
                room: model.admins[a].room,
                slots: slots.clone(),
            }
        })
        .collect();
    let sizes: Vec<usize> = classes.iter().map(|c| c.students.len()).collect();
    let slots: Vec<&Vec<usize>> = classes.iter().map(|c| &c.slots).collect();
    let preferences: Vec<Vec<usize>> = classes
        .iter()
        .map(|c| {
            majority_admin(model, &c.students)
                .map(|a| model.admins[a].room)
                .into_iter()
                .collect()
        })
        .collect();
    let rooms = assign_rooms(model, &sizes, &slots, &preferences, &busy)
        .ok_or("rooms could not be assigned")?;
    for (class, room) in classes.iter_mut().zip(rooms) {
        class.room = room;
    }
    Ok(Plan {
        classes,
        admin,
        blocks: 0,
    })
}
