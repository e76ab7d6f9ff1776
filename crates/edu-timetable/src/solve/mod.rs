//! The solver: forms teaching classes and timetables them with the compulsory lessons.
//!
//! Block ("slot-group") method first: electives run in parallel blocks; each student has at most one class per
//! block, so students never clash; compulsory lessons fill the slots where each administrative class's students
//! are free, by bipartite edge colouring. Whatever that leaves broken, and instances where blocks do not fit, go to
//! a lesson-level repair search. A quality pass then lowers idle periods and same-subject-twice-a-day. Every result
//! passes the independent checker before it is returned.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)] // index loops over parallel tables read best here

pub(crate) mod assign;
pub(crate) mod blocks;
pub(crate) mod build;
pub(crate) mod colour;
pub(crate) mod local;
pub(crate) mod model;
pub(crate) mod routing;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::check::check;
use crate::diagnose::{Shortage, shortages, tightest};
use crate::format::{AdminLesson, Level, SOLUTION_FORMAT, Solution, TeachingClass};
use crate::validate::{InstanceIssue, validate_instance};
pub use local::QualityFigures;
use local::Timetable;
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
    /// Run the quality pass (idle periods, same subject twice a day). On by default.
    pub improve: bool,
}

impl Default for SolveOptions<'_> {
    fn default() -> Self {
        SolveOptions {
            seed: 0,
            budget: &Unlimited,
            hint: None,
            improve: true,
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
    /// `blocks` (block method, no repair needed), `blocks+repair`, or `search` (lesson-level search throughout).
    pub method: &'static str,
    pub lower_bound: usize,
    pub teaching_classes: usize,
    pub blocks: usize,
    pub stability: Option<Stability>,
    /// Quality figures before and after the quality pass.
    pub quality_before: QualityFigures,
    pub quality: QualityFigures,
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
    /// Proven: every listed shortage is a necessary condition that fails, so no valid timetable exists.
    #[error("no timetable exists: {0}")]
    Infeasible(Explanation),
    /// Not proven either way: the search gave up (budget or iteration limits). The shortages are the tightest
    /// resources, not proofs.
    #[error("no timetable found: {0}")]
    NotFound(Explanation),
}

/// Block layouts tried before the lesson-level search takes over.
const LAYOUTS: usize = 4;
/// Repair iterations on a block plan with conflicts, and per start of the lesson-level search.
const BLOCK_REPAIR_ITERATIONS: usize = 100_000;
const SEARCH_ITERATIONS: usize = 1_000_000;
const SEARCH_STARTS: u64 = 3;
const IMPROVE_ROUNDS: usize = 6;

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
            summary: "a resource is provably short, so no timetable can exist".into(),
            shortages: short,
        }));
    }
    let hint = options.hint.map(|h| Hint::new(&model, h));
    let budget = options.budget;
    let mut failures: Vec<String> = Vec::new();
    // Valid plans found so far: (teaching classes, method, plan); fewest classes wins, first found on ties.
    let mut best: Option<(usize, &'static str, Plan)> = None;
    let mut partial: Option<(i64, Plan)> = None;
    let consider =
        |plan: Plan, method: &'static str, best: &mut Option<(usize, &'static str, Plan)>| {
            let classes = plan.classes.len();
            if best.as_ref().is_none_or(|(c, _, _)| classes < *c) {
                *best = Some((classes, method, plan));
            }
        };

    // 1. Block layouts: the minimal structure, then (when classes above the bound were needed and the week has
    //    room) one longer structure, which gives sectioning more freedom.
    let lengths = blocks::minimal_lengths(&model);
    let mut structures = vec![lengths.clone()];
    let spare = model
        .available_slots()
        .len()
        .saturating_sub(model.compulsory_total() + lengths.iter().sum::<usize>());
    let mut distinct: Vec<usize> = lengths.clone();
    distinct.dedup();
    for &length in &distinct {
        if length <= spare {
            let mut longer = lengths.clone();
            longer.push(length);
            longer.sort_unstable_by(|a, b| b.cmp(a));
            structures.push(longer);
        }
    }
    'structures: for (number, structure) in structures.iter().enumerate() {
        if number > 0
            && best
                .as_ref()
                .is_none_or(|(c, _, _)| *c <= model.lower_bound())
        {
            break;
        }
        for variant in 0..LAYOUTS {
            if budget.expired() {
                break 'structures;
            }
            // With a valid plan above the bound in hand, one more layout per structure is enough: layouts differ
            // only in where teachers are away, and sectioning gives the same count on most.
            if variant >= 2 && best.is_some() {
                break;
            }
            if number > 0 && variant >= 1 {
                break;
            }
            match build::with_blocks(&model, options, hint.as_ref(), structure, variant) {
                Ok(block_plan) => {
                    let mut plan = block_plan.plan;
                    let mut table = Timetable::new(&model, &plan);
                    let clean = table.hard() == 0;
                    let repaired = clean
                        || table.repair(
                            options.seed ^ variant as u64,
                            budget,
                            BLOCK_REPAIR_ITERATIONS,
                        );
                    table.write_back(&mut plan);
                    if repaired {
                        consider(
                            plan,
                            if clean { "blocks" } else { "blocks+repair" },
                            &mut best,
                        );
                        if block_plan.extra_classes == 0 {
                            break 'structures;
                        }
                    } else {
                        let hard = table.hard();
                        failures.push(format!(
                            "blocks (layout {variant}): {hard} conflicts left after repair"
                        ));
                        if partial.as_ref().is_none_or(|(h, _)| hard < *h) {
                            partial = Some((hard, plan));
                        }
                    }
                }
                Err(reason) => failures.push(format!("blocks (layout {variant}): {reason}")),
            }
        }
    }

    // 2. Lesson-level search: from an edge-coloured start, from the best block plan with conflicts, from a greedy
    //    start.
    if best.is_none() {
        for start in 0..SEARCH_STARTS {
            if budget.expired() {
                break;
            }
            let mut plan = match start {
                0 => build::coloured(&model),
                1 => match partial.take() {
                    Some((_, plan)) => plan,
                    None => build::greedy(&model),
                },
                _ => build::greedy(&model),
            };
            let mut table = Timetable::new(&model, &plan);
            if table.repair(options.seed ^ (start + 101), budget, SEARCH_ITERATIONS) {
                table.write_back(&mut plan);
                consider(plan, "search", &mut best);
                break;
            }
            failures.push(format!(
                "search (start {start}): {} conflicts left",
                table.hard()
            ));
        }
    }

    let Some((_, method, mut plan)) = best else {
        return Err(SolveError::NotFound(Explanation {
            summary: format!(
                "no timetable found{} (not proven impossible); {}. The tightest resources are:",
                if budget.expired() {
                    " within the time budget"
                } else {
                    ""
                },
                failures.join("; ")
            ),
            shortages: tightest(&model),
        }));
    };

    // 3. Quality pass, then the independent checker.
    let mut table = Timetable::new(&model, &plan);
    let quality_before = table.figures();
    let mut solution = plan_solution(&model, &plan);
    let mut quality = quality_before;
    if options.improve {
        if let Some(h) = &hint {
            let classes: HashMap<String, Vec<usize>> = h
                .classes
                .iter()
                .map(|c| (c.id.clone(), c.slots.clone()))
                .collect();
            let admin: HashMap<(usize, usize), Vec<usize>> = h
                .admin
                .iter()
                .map(|(&key, (_, slots))| (key, slots.clone()))
                .collect();
            table.set_anchors(&plan, &classes, &admin);
        }
        table.improve(options.seed, budget, IMPROVE_ROUNDS);
        let mut improved = Plan {
            classes: plan.classes.clone(),
            admin: plan.admin.clone(),
            blocks: plan.blocks,
        };
        table.write_back(&mut improved);
        let candidate = plan_solution(&model, &improved);
        if check(instance, &candidate).valid {
            quality = table.figures();
            solution = candidate;
            plan = improved;
        }
    }
    let report = check(instance, &solution);
    if !report.valid {
        return Err(SolveError::NotFound(Explanation {
            summary: format!(
                "internal error: the timetable built failed the independent check ({} violations, e.g. {})",
                report.violations.len(),
                report
                    .violations
                    .first()
                    .map(|v| v.message.clone())
                    .unwrap_or_default()
            ),
            shortages: tightest(&model),
        }));
    }
    let stability = options.hint.map(|h| stability(instance, h, &solution));
    Ok(SolveOutcome {
        stats: SolveStats {
            method,
            lower_bound: model.lower_bound(),
            teaching_classes: solution.teaching_classes.len(),
            blocks: plan.blocks,
            stability,
            quality_before,
            quality,
        },
        solution,
    })
}

fn plan_solution(model: &Model<'_>, plan: &Plan) -> Solution {
    Plan {
        classes: plan.classes.clone(),
        admin: plan.admin.clone(),
        blocks: plan.blocks,
    }
    .into_solution(model)
}

/// The solver's own result before it becomes the exchange format.
pub(crate) struct Plan {
    pub classes: Vec<PlannedClass>,
    pub admin: Vec<PlannedAdmin>,
    pub blocks: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct PlannedClass {
    pub id: String,
    pub item: usize,
    pub students: Vec<usize>,
    pub teacher: usize,
    pub room: usize,
    pub slots: Vec<usize>,
}

/// The lessons of one compulsory subject for one administrative class; each lesson has its own room.
#[derive(Debug, Clone)]
pub(crate) struct PlannedAdmin {
    pub admin: usize,
    pub subject: usize,
    pub teacher: usize,
    pub slots: Vec<usize>,
    pub rooms: Vec<usize>,
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
        let mut admin_lessons = Vec::new();
        for lesson in &self.admin {
            // One entry per room the lessons use, the class's own room first.
            let mut by_room: BTreeMap<(bool, usize), Vec<usize>> = BTreeMap::new();
            let own = model.admins[lesson.admin].room;
            for (&s, &r) in lesson.slots.iter().zip(&lesson.rooms) {
                by_room.entry((r != own, r)).or_default().push(s);
            }
            for ((_, room), list) in by_room {
                admin_lessons.push(AdminLesson {
                    admin_class: instance.admin_classes[lesson.admin].id.clone(),
                    subject: instance.compulsory[lesson.subject].id.clone(),
                    teacher: instance.teachers[lesson.teacher].id.clone(),
                    room: instance.rooms[room].id.clone(),
                    slots: slots(&list),
                });
            }
        }
        Solution {
            format: SOLUTION_FORMAT.to_string(),
            teaching_classes,
            admin_lessons,
        }
    }
}

/// A previous solution resolved against the current instance (unknown ids are dropped).
pub(crate) struct Hint {
    /// (student, item) → previous class number.
    pub class_of: HashMap<(usize, usize), usize>,
    pub classes: Vec<HintClass>,
    /// (admin, subject) → (teacher, slots).
    pub admin: HashMap<(usize, usize), (Option<usize>, Vec<usize>)>,
}

pub(crate) struct HintClass {
    pub id: String,
    pub item: Option<usize>,
    pub teacher: Option<usize>,
    pub room: Option<usize>,
    pub slots: Vec<usize>,
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

/// (class id, teacher, sorted slots): what an enrolment must keep to count as kept.
type ClassKey = (String, String, Vec<crate::format::Slot>);

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
    let mut next_class: HashMap<(&str, &str, Level), ClassKey> = HashMap::new();
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
