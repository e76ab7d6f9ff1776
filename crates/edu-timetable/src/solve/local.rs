//! Lesson-level local search on a whole timetable: repairs hard conflicts (min-conflicts with tabu, moving lessons,
//! students between classes of an item, teachers and rooms), then lowers idle periods and same-subject-twice-a-day
//! without breaking any hard constraint (hill climbing on lesson moves, swaps and whole-slot exchanges).
//!
//! Deterministic for a given seed; the budget only cuts it short.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)] // index loops over parallel tables read best here

use std::collections::{BTreeMap, HashMap};

use crate::rng::SplitMix64;
use crate::solve::model::Model;
use crate::solve::{Budget, Plan, PlannedClass};

/// `Kind::Class::index` of a class opened by the repair (not in the plan yet).
const NEW: usize = usize::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A teaching class: index into `Plan::classes`, item.
    Class { index: usize, item: usize },
    /// A compulsory (administrative class, subject): index into `Plan::admin`.
    Admin { index: usize, admin: usize },
}

#[derive(Debug, Clone)]
struct Unit {
    kind: Kind,
    teacher: usize,
    slots: Vec<usize>,
    /// Room per lesson (one room for all lessons of a teaching class).
    rooms: Vec<usize>,
    members: Vec<usize>,
    /// Largest class (max_class_size), or unlimited for administrative classes.
    cap: usize,
    /// Teachers qualified for the unit's subject.
    qualified: Vec<usize>,
    /// Slots of the previous timetable (re-solving): the quality pass does not move lessons off them.
    anchor: Vec<usize>,
}

/// What is wrong somewhere, for the repair to pick from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflict {
    Lesson(usize, usize),
    Size(usize),
    Overload(usize),
}

/// Idle periods, same subject twice a day: the quality figures the checker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct QualityFigures {
    pub student_idle: u64,
    pub teacher_idle: u64,
    pub same_subject_twice_a_day: u64,
}

const STUDENT_IDLE_WEIGHT: i64 = 1;
const TEACHER_IDLE_WEIGHT: i64 = 3;
const SAME_DAY_WEIGHT: i64 = 30;
/// A lesson moved off its slot in the previous timetable costs more than any idle period it saves.
const ANCHOR_WEIGHT: i64 = 10_000;

pub(crate) struct Timetable<'m, 'a> {
    model: &'m Model<'a>,
    n: usize,
    units: Vec<Unit>,
    s_occ: Vec<u16>,
    t_occ: Vec<u16>,
    r_occ: Vec<u16>,
    load: Vec<usize>,
    /// Per student: the class unit of each item they take.
    class_of: Vec<BTreeMap<usize, usize>>,
    /// Per student: administrative units.
    admin_units_of: Vec<Vec<usize>>,
    item_classes: Vec<Vec<usize>>,
    /// Lessons (unit, position) at each slot.
    at_slot: Vec<Vec<(usize, usize)>>,
    blocked_mask: Vec<u32>,
}

impl<'m, 'a> Timetable<'m, 'a> {
    pub fn new(model: &'m Model<'a>, plan: &Plan) -> Self {
        let n = model.slot_count;
        let mut units = Vec::new();
        for (index, class) in plan.classes.iter().enumerate() {
            let item = &model.items[class.item];
            units.push(Unit {
                kind: Kind::Class {
                    index,
                    item: class.item,
                },
                teacher: class.teacher,
                slots: class.slots.clone(),
                rooms: vec![class.room; class.slots.len()],
                members: class.students.clone(),
                cap: model.instance.electives[item.elective].max_class_size as usize,
                qualified: (0..model.teachers.len())
                    .filter(|&t| model.teachers[t].electives[item.elective])
                    .collect(),
                anchor: Vec::new(),
            });
        }
        for (index, lesson) in plan.admin.iter().enumerate() {
            units.push(Unit {
                kind: Kind::Admin {
                    index,
                    admin: lesson.admin,
                },
                teacher: lesson.teacher,
                slots: lesson.slots.clone(),
                rooms: lesson.rooms.clone(),
                members: model.admins[lesson.admin].students.clone(),
                cap: usize::MAX,
                qualified: (0..model.teachers.len())
                    .filter(|&t| model.teachers[t].compulsory[lesson.subject])
                    .collect(),
                anchor: Vec::new(),
            });
        }
        let mut blocked_mask = vec![0u32; model.days];
        for s in 0..n {
            if !model.available[s] {
                blocked_mask[model.day(s)] |= 1 << (s % model.per_day);
            }
        }
        let mut table = Timetable {
            model,
            n,
            s_occ: vec![0; model.students.len() * n],
            t_occ: vec![0; model.teachers.len() * n],
            r_occ: vec![0; model.rooms.len() * n],
            load: vec![0; model.teachers.len()],
            class_of: vec![BTreeMap::new(); model.students.len()],
            admin_units_of: vec![Vec::new(); model.students.len()],
            item_classes: vec![Vec::new(); model.items.len()],
            at_slot: vec![Vec::new(); n],
            blocked_mask,
            units,
        };
        for u in 0..table.units.len() {
            let unit = table.units[u].clone();
            for (k, &s) in unit.slots.iter().enumerate() {
                for &st in &unit.members {
                    table.s_occ[st * n + s] += 1;
                }
                table.t_occ[unit.teacher * n + s] += 1;
                table.r_occ[unit.rooms[k] * n + s] += 1;
                table.at_slot[s].push((u, k));
            }
            table.load[unit.teacher] += unit.slots.len();
            match unit.kind {
                Kind::Class { item, .. } => {
                    table.item_classes[item].push(u);
                    for &st in &unit.members {
                        table.class_of[st].insert(item, u);
                    }
                }
                Kind::Admin { .. } => {
                    for &st in &unit.members {
                        table.admin_units_of[st].push(u);
                    }
                }
            }
        }
        table
    }

    /// Slots of a previous timetable per teaching class (by id) and per compulsory unit; the quality pass keeps
    /// lessons on them.
    pub fn set_anchors(
        &mut self,
        plan: &Plan,
        classes: &HashMap<String, Vec<usize>>,
        admin: &HashMap<(usize, usize), Vec<usize>>,
    ) {
        for unit in &mut self.units {
            unit.anchor = match unit.kind {
                Kind::Class { index, .. } => classes
                    .get(&plan.classes[index].id)
                    .cloned()
                    .unwrap_or_default(),
                Kind::Admin { index, admin: a } => admin
                    .get(&(a, plan.admin[index].subject))
                    .cloned()
                    .unwrap_or_default(),
            };
        }
    }

    fn anchored(&self, u: usize) -> i64 {
        let unit = &self.units[u];
        if unit.anchor.is_empty() {
            return 0;
        }
        ANCHOR_WEIGHT
            * unit
                .slots
                .iter()
                .filter(|s| !unit.anchor.contains(s))
                .count() as i64
    }

    /// Writes the (repaired or improved) timetable back into the plan; classes opened by the repair get fresh ids,
    /// classes it closed disappear.
    pub fn write_back(&self, plan: &mut Plan) {
        let mut used: std::collections::BTreeSet<String> = self
            .units
            .iter()
            .filter_map(|unit| match unit.kind {
                Kind::Class { index, .. } if index != NEW && !unit.slots.is_empty() => {
                    Some(plan.classes[index].id.clone())
                }
                _ => None,
            })
            .collect();
        let mut classes = Vec::new();
        for unit in &self.units {
            match unit.kind {
                Kind::Class { index, item } => {
                    if unit.slots.is_empty() {
                        continue;
                    }
                    let id = if index != NEW {
                        plan.classes[index].id.clone()
                    } else {
                        let it = &self.model.items[item];
                        let prefix = format!(
                            "{}-{}-",
                            self.model.instance.electives[it.elective].id,
                            it.level.letter()
                        );
                        let mut number = 1;
                        while used.contains(&format!("{prefix}{number:02}")) {
                            number += 1;
                        }
                        let id = format!("{prefix}{number:02}");
                        used.insert(id.clone());
                        id
                    };
                    let mut students = unit.members.clone();
                    students.sort_unstable();
                    classes.push(PlannedClass {
                        id,
                        item,
                        students,
                        teacher: unit.teacher,
                        room: unit.rooms.first().copied().unwrap_or(0),
                        slots: unit.slots.clone(),
                    });
                }
                Kind::Admin { index, .. } => {
                    let lesson = &mut plan.admin[index];
                    lesson.teacher = unit.teacher;
                    lesson.slots = unit.slots.clone();
                    lesson.rooms = unit.rooms.clone();
                }
            }
        }
        plan.classes = classes;
    }

    /// Opens an empty class of `item` for `likely` students: the qualified teacher with most time left, the slots
    /// where the teacher and most of those students are free, the largest room free then.
    fn open_class(&mut self, item: usize, likely: &[usize]) -> Option<usize> {
        let n = self.n;
        let it = &self.model.items[item];
        let periods = it.periods;
        // Only with a qualified teacher who has the periods to spare: a class nobody can teach helps nothing.
        let teacher = (0..self.model.teachers.len())
            .filter(|&t| {
                self.model.teachers[t].electives[it.elective]
                    && self.load[t] + periods <= self.model.teachers[t].max
            })
            .max_by_key(|&t| {
                (
                    self.model.teachers[t].max as i64 - self.load[t] as i64,
                    std::cmp::Reverse(t),
                )
            })?;
        let mut slots: Vec<usize> = Vec::new();
        for _ in 0..periods {
            let best = (0..n)
                .filter(|&s| self.allowed(teacher, s) && !slots.contains(&s))
                .min_by_key(|&s| {
                    let busy = likely
                        .iter()
                        .filter(|&&st| self.s_occ[st * n + s] > 0)
                        .count();
                    let same_day = slots
                        .iter()
                        .filter(|&&x| self.model.day(x) == self.model.day(s))
                        .count();
                    (
                        4 * usize::from(self.t_occ[teacher * n + s] > 0) + busy * 2 + same_day,
                        s,
                    )
                })?;
            slots.push(best);
        }
        slots.sort_unstable();
        let room = (0..self.model.rooms.len())
            .min_by_key(|&r| {
                (
                    slots.iter().filter(|&&s| self.r_occ[r * n + s] > 0).count(),
                    std::cmp::Reverse(self.model.rooms[r]),
                    r,
                )
            })
            .unwrap_or(0);
        let u = self.units.len();
        self.units.push(Unit {
            kind: Kind::Class { index: NEW, item },
            teacher,
            slots: Vec::new(),
            rooms: Vec::new(),
            members: Vec::new(),
            cap: self.model.instance.electives[it.elective].max_class_size as usize,
            qualified: (0..self.model.teachers.len())
                .filter(|&t| self.model.teachers[t].electives[it.elective])
                .collect(),
            anchor: Vec::new(),
        });
        for (k, &s) in slots.iter().enumerate() {
            self.units[u].slots.push(s);
            self.units[u].rooms.push(room);
            self.t_occ[teacher * n + s] += 1;
            self.r_occ[room * n + s] += 1;
            self.at_slot[s].push((u, k));
        }
        self.load[teacher] += periods;
        self.item_classes[item].push(u);
        Some(u)
    }

    /// The lessons (unit, position) a student has at slot `s`.
    fn lessons_of_student_at(&self, st: usize, s: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for &u in self.class_of[st].values().chain(&self.admin_units_of[st]) {
            if let Some(k) = self.units[u].slots.iter().position(|&x| x == s) {
                out.push((u, k));
            }
        }
        out
    }

    fn class_item(&self, u: usize) -> Option<usize> {
        match self.units[u].kind {
            Kind::Class { item, .. } => Some(item),
            Kind::Admin { .. } => None,
        }
    }

    /// Closes a teaching class left without students.
    fn close_class(&mut self, u: usize) {
        let Kind::Class { item, .. } = self.units[u].kind else {
            return;
        };
        if !self.units[u].members.is_empty() || self.units[u].slots.is_empty() {
            return;
        }
        for k in 0..self.units[u].slots.len() {
            self.detach(u, k);
        }
        let t = self.units[u].teacher;
        self.load[t] -= self.units[u].slots.len();
        self.units[u].slots.clear();
        self.units[u].rooms.clear();
        self.item_classes[item].retain(|&v| v != u);
    }

    fn allowed(&self, teacher: usize, s: usize) -> bool {
        self.model.available[s] && !self.model.teachers[teacher].unavailable[s]
    }

    fn room_capacity(&self, r: usize) -> usize {
        self.model.rooms[r]
    }

    fn size_excess(&self, u: usize, size: usize, room: usize) -> i64 {
        let unit = &self.units[u];
        if matches!(unit.kind, Kind::Admin { .. }) {
            return 0;
        }
        (size as i64 - unit.cap as i64).max(0)
            + (size as i64 - self.room_capacity(room) as i64).max(0)
    }

    fn overload(&self, t: usize, load: usize) -> i64 {
        (load as i64 - self.model.teachers[t].max as i64).max(0)
    }

    /// All hard conflicts (0 = valid as far as this search knows; the checker has the last word).
    pub fn hard(&self) -> i64 {
        let excess = |table: &[u16]| table.iter().map(|&c| (c as i64 - 1).max(0)).sum::<i64>();
        let mut total = excess(&self.s_occ) + excess(&self.t_occ) + excess(&self.r_occ);
        for (u, unit) in self.units.iter().enumerate() {
            total += self.size_excess(
                u,
                unit.members.len(),
                unit.rooms.first().copied().unwrap_or(0),
            );
            for &s in &unit.slots {
                if !self.allowed(unit.teacher, s) {
                    total += 1;
                }
            }
        }
        for t in 0..self.load.len() {
            total += self.overload(t, self.load[t]);
        }
        total
    }

    fn lesson_conflicted(&self, u: usize, k: usize) -> bool {
        let n = self.n;
        let unit = &self.units[u];
        let Some(&s) = unit.slots.get(k) else {
            return false;
        };
        self.t_occ[unit.teacher * n + s] > 1
            || self.r_occ[unit.rooms[k] * n + s] > 1
            || !self.allowed(unit.teacher, s)
            || unit.members.iter().any(|&st| self.s_occ[st * n + s] > 1)
    }

    fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        for (u, unit) in self.units.iter().enumerate() {
            for k in 0..unit.slots.len() {
                if self.lesson_conflicted(u, k) {
                    out.push(Conflict::Lesson(u, k));
                }
            }
            if self.size_excess(
                u,
                unit.members.len(),
                unit.rooms.first().copied().unwrap_or(0),
            ) > 0
            {
                out.push(Conflict::Size(u));
            }
        }
        for t in 0..self.load.len() {
            if self.overload(t, self.load[t]) > 0 {
                out.push(Conflict::Overload(t));
            }
        }
        out
    }

    fn still(&self, conflict: Conflict) -> bool {
        match conflict {
            Conflict::Lesson(u, k) => self.lesson_conflicted(u, k),
            Conflict::Size(u) => {
                let unit = &self.units[u];
                self.size_excess(
                    u,
                    unit.members.len(),
                    unit.rooms.first().copied().unwrap_or(0),
                ) > 0
            }
            Conflict::Overload(t) => self.overload(t, self.load[t]) > 0,
        }
    }

    // ---- deltas of hard cost ----

    fn step(count: u16, up: bool) -> i64 {
        if up {
            i64::from(count >= 1)
        } else {
            -i64::from(count >= 2)
        }
    }

    fn delta_move_lesson(&self, u: usize, k: usize, to: usize, room: usize) -> i64 {
        let n = self.n;
        let unit = &self.units[u];
        let from = unit.slots[k];
        let mut delta = 0;
        for &st in &unit.members {
            delta += Self::step(self.s_occ[st * n + to], true)
                + Self::step(self.s_occ[st * n + from], false);
        }
        let t = unit.teacher;
        delta +=
            Self::step(self.t_occ[t * n + to], true) + Self::step(self.t_occ[t * n + from], false);
        let old_room = unit.rooms[k];
        delta += Self::step(self.r_occ[room * n + to], true)
            + Self::step(self.r_occ[old_room * n + from], false);
        delta += i64::from(!self.allowed(t, to)) - i64::from(!self.allowed(t, from));
        delta
    }

    fn apply_move_lesson(&mut self, u: usize, k: usize, to: usize, room: usize) {
        let n = self.n;
        let from = self.units[u].slots[k];
        let old_room = self.units[u].rooms[k];
        for &st in &self.units[u].members {
            self.s_occ[st * n + from] -= 1;
            self.s_occ[st * n + to] += 1;
        }
        let t = self.units[u].teacher;
        self.t_occ[t * n + from] -= 1;
        self.t_occ[t * n + to] += 1;
        self.r_occ[old_room * n + from] -= 1;
        self.r_occ[room * n + to] += 1;
        self.units[u].slots[k] = to;
        self.units[u].rooms[k] = room;
        if let Some(p) = self.at_slot[from].iter().position(|&x| x == (u, k)) {
            self.at_slot[from].swap_remove(p);
        }
        self.at_slot[to].push((u, k));
    }

    fn delta_move_student(&self, st: usize, from: usize, to: usize) -> i64 {
        let n = self.n;
        let mut change: Vec<(usize, i32)> = Vec::with_capacity(16);
        for &s in &self.units[from].slots {
            change.push((s, -1));
        }
        for &s in &self.units[to].slots {
            match change.iter_mut().find(|(x, _)| *x == s) {
                Some(entry) => entry.1 += 1,
                None => change.push((s, 1)),
            }
        }
        let mut delta = 0i64;
        for (s, d) in change {
            let old = self.s_occ[st * n + s] as i64;
            let new = old + d as i64;
            delta += (new - 1).max(0) - (old - 1).max(0);
        }
        let (a, b) = (&self.units[from], &self.units[to]);
        let room_a = a.rooms.first().copied().unwrap_or(0);
        let room_b = b.rooms.first().copied().unwrap_or(0);
        delta += self.size_excess(from, a.members.len() - 1, room_a)
            - self.size_excess(from, a.members.len(), room_a);
        delta += self.size_excess(to, b.members.len() + 1, room_b)
            - self.size_excess(to, b.members.len(), room_b);
        delta
    }

    fn apply_move_student(&mut self, st: usize, from: usize, to: usize) {
        let n = self.n;
        for &s in &self.units[from].slots {
            self.s_occ[st * n + s] -= 1;
        }
        for &s in &self.units[to].slots {
            self.s_occ[st * n + s] += 1;
        }
        if let Some(p) = self.units[from].members.iter().position(|&x| x == st) {
            self.units[from].members.swap_remove(p);
        }
        self.units[to].members.push(st);
        if let Kind::Class { item, .. } = self.units[to].kind {
            self.class_of[st].insert(item, to);
        }
    }

    fn delta_teacher(&self, u: usize, to: usize) -> i64 {
        let n = self.n;
        let unit = &self.units[u];
        let from = unit.teacher;
        let periods = unit.slots.len();
        let mut delta = 0;
        for &s in &unit.slots {
            delta += Self::step(self.t_occ[to * n + s], true)
                + Self::step(self.t_occ[from * n + s], false);
            delta += i64::from(!self.allowed(to, s)) - i64::from(!self.allowed(from, s));
        }
        delta +=
            self.overload(from, self.load[from] - periods) - self.overload(from, self.load[from]);
        delta += self.overload(to, self.load[to] + periods) - self.overload(to, self.load[to]);
        delta
    }

    fn apply_teacher(&mut self, u: usize, to: usize) {
        let n = self.n;
        let from = self.units[u].teacher;
        for &s in &self.units[u].slots {
            self.t_occ[from * n + s] -= 1;
            self.t_occ[to * n + s] += 1;
        }
        let periods = self.units[u].slots.len();
        self.load[from] -= periods;
        self.load[to] += periods;
        self.units[u].teacher = to;
    }

    fn delta_class_room(&self, u: usize, to: usize) -> i64 {
        let n = self.n;
        let unit = &self.units[u];
        let from = unit.rooms.first().copied().unwrap_or(0);
        let mut delta = 0;
        for &s in &unit.slots {
            delta += Self::step(self.r_occ[to * n + s], true)
                + Self::step(self.r_occ[from * n + s], false);
        }
        delta + self.size_excess(u, unit.members.len(), to)
            - self.size_excess(u, unit.members.len(), from)
    }

    fn apply_class_room(&mut self, u: usize, to: usize) {
        let n = self.n;
        for k in 0..self.units[u].slots.len() {
            let s = self.units[u].slots[k];
            let from = self.units[u].rooms[k];
            self.r_occ[from * n + s] -= 1;
            self.r_occ[to * n + s] += 1;
            self.units[u].rooms[k] = to;
        }
    }

    /// The room an administrative lesson would take at slot `s`: its own if free, else the free room closest in
    /// size above the class, else its own.
    fn admin_room_at(&self, u: usize, k: usize, s: usize) -> usize {
        let n = self.n;
        let unit = &self.units[u];
        let own = unit.rooms[k];
        let busy = |r: usize| self.r_occ[r * n + s] > u16::from(unit.slots[k] == s && r == own);
        let home = match unit.kind {
            Kind::Admin { admin, .. } => self.model.admins[admin].room,
            Kind::Class { .. } => own,
        };
        if !busy(home) {
            return home;
        }
        if !busy(own) {
            return own;
        }
        let size = unit.members.len();
        (0..self.model.rooms.len())
            .filter(|&r| !busy(r))
            .min_by_key(|&r| {
                let c = self.model.rooms[r];
                (c < size, c.abs_diff(size), r)
            })
            .unwrap_or(own)
    }

    /// Min-conflicts repair. Returns true when no hard conflict is left.
    pub fn repair(&mut self, seed: u64, budget: &dyn Budget, max_iterations: usize) -> bool {
        let mut rng = SplitMix64::stream(seed, "repair");
        let mut conflicts = self.conflicts();
        if conflicts.is_empty() {
            return true;
        }
        let mut hard = self.hard();
        let mut best = hard;
        let mut since_best = 0usize;
        let mut tabu = Tabu {
            slots: self.n,
            lesson: Vec::new(),
            student: vec![Vec::new(); self.model.students.len()],
        };
        let mut last_open = 0usize;
        for iteration in 1..=max_iterations {
            if iteration % 128 == 0 {
                if budget.expired() {
                    break;
                }
                conflicts = self.conflicts();
                hard = self.hard();
                if hard < best {
                    best = hard;
                    since_best = 0;
                }
            }
            if conflicts.is_empty() {
                conflicts = self.conflicts();
                if conflicts.is_empty() {
                    return true;
                }
            }
            let pick = rng.below(conflicts.len());
            let conflict = conflicts[pick];
            if !self.still(conflict) {
                conflicts.swap_remove(pick);
                continue;
            }
            let noise = rng.below(100) < 3;
            let mut moves: Vec<(i64, Move)> = Vec::new();
            match conflict {
                Conflict::Lesson(u, k) => {
                    self.lesson_moves(u, k, iteration, &tabu, &mut rng, &mut moves)
                }
                Conflict::Size(u) => {
                    self.size_moves(u, iteration, &tabu, &mut rng, &mut moves);
                    // Nothing helps: open another class of the item (students move into it next).
                    let stuck = moves.iter().all(|m| m.0 >= 0);
                    if stuck
                        && iteration >= last_open + 64
                        && let Kind::Class { item, .. } = self.units[u].kind
                        && self.item_classes[item].len() < self.model.items[item].students.len()
                    {
                        let likely = self.units[u].members.clone();
                        self.open_class(item, &likely);
                        last_open = iteration;
                        continue;
                    }
                }
                Conflict::Overload(t) => {
                    for u in 0..self.units.len() {
                        if self.units[u].teacher == t && !self.units[u].slots.is_empty() {
                            for &to in &self.units[u].qualified {
                                if to != t {
                                    moves.push((self.delta_teacher(u, to), Move::Teacher(u, to)));
                                }
                            }
                        }
                    }
                }
            }
            // A student clash nothing mends: split the class, opening one of the item where its clashing students
            // are free.
            if let Conflict::Lesson(u, k) = conflict
                && iteration >= last_open + 64
                && moves.iter().all(|m| m.0 >= 0)
                && let Some(item) = self.class_item(u)
            {
                let s = self.units[u].slots[k];
                let clashing: Vec<usize> = self.units[u]
                    .members
                    .iter()
                    .copied()
                    .filter(|&st| self.s_occ[st * self.n + s] > 1)
                    .collect();
                if !clashing.is_empty()
                    && self.item_classes[item].len() < self.model.items[item].students.len()
                {
                    if let Some(new) = self.open_class(item, &clashing) {
                        for st in clashing {
                            self.apply_move_student(st, u, new);
                        }
                        if self.units[u].members.is_empty() {
                            self.close_class(u);
                        }
                    }
                    last_open = iteration;
                    continue;
                }
            }
            if moves.is_empty() {
                continue;
            }
            let chosen = if noise {
                moves[rng.below(moves.len())].1
            } else {
                let low = moves.iter().map(|m| m.0).min().unwrap_or(0);
                let ties: Vec<usize> = (0..moves.len()).filter(|&i| moves[i].0 == low).collect();
                moves[ties[rng.below(ties.len())]].1
            };
            match chosen {
                Move::Lesson(u, k, to, room) => {
                    let from = self.units[u].slots[k];
                    tabu.forbid_lesson(u, k, from, iteration + 10 + rng.below(10));
                    self.apply_move_lesson(u, k, to, room);
                }
                Move::Student(st, from, to) => {
                    tabu.forbid_student(st, from, iteration + 10 + rng.below(10), iteration);
                    self.apply_move_student(st, from, to);
                    if self.units[from].members.is_empty() {
                        self.close_class(from);
                    }
                }
                Move::Swap(u, k, v, j) => {
                    let from = self.units[u].slots[k];
                    tabu.forbid_lesson(u, k, from, iteration + 10 + rng.below(10));
                    self.apply_swap(u, k, v, j);
                }
                Move::Kempe(u, k, to) => {
                    let from = self.units[u].slots[k];
                    if let Some(chain) = self.kempe_chain(u, k, to, 64) {
                        tabu.forbid_lesson(u, k, from, iteration + 10 + rng.below(10));
                        self.apply_kempe(&chain, from, to);
                    }
                }
                Move::Teacher(u, to) => self.apply_teacher(u, to),
                Move::ClassRoom(u, to) => self.apply_class_room(u, to),
            }
            since_best += 1;
            if since_best > 5_000 {
                // Kick: move a few conflicted lessons at random.
                for _ in 0..3 {
                    if conflicts.is_empty() {
                        break;
                    }
                    if let Conflict::Lesson(u, k) = conflicts[rng.below(conflicts.len())] {
                        let t = self.units[u].teacher;
                        let options: Vec<usize> = (0..self.n)
                            .filter(|&s| self.allowed(t, s) && !self.units[u].slots.contains(&s))
                            .collect();
                        if !options.is_empty() && self.units[u].slots.len() > k {
                            let to = options[rng.below(options.len())];
                            let room = self.lesson_room(u, k, to);
                            self.apply_move_lesson(u, k, to, room);
                        }
                    }
                }
                since_best = 0;
                best = self.hard();
            }
        }
        self.hard() == 0
    }

    fn lesson_room(&self, u: usize, k: usize, to: usize) -> usize {
        match self.units[u].kind {
            Kind::Class { .. } => self.units[u].rooms[k],
            Kind::Admin { .. } => self.admin_room_at(u, k, to),
        }
    }

    fn lesson_moves(
        &mut self,
        u: usize,
        k: usize,
        iteration: usize,
        tabu: &Tabu,
        rng: &mut SplitMix64,
        moves: &mut Vec<(i64, Move)>,
    ) {
        let n = self.n;
        let s = self.units[u].slots[k];
        let t = self.units[u].teacher;
        let mut targets: Vec<(i64, usize)> = Vec::new();
        for to in 0..n {
            if to == s || !self.allowed(t, to) || self.units[u].slots.contains(&to) {
                continue;
            }
            if tabu.lesson_tabu(u, k, to, iteration) {
                continue;
            }
            let room = self.lesson_room(u, k, to);
            let delta = self.delta_move_lesson(u, k, to, room);
            targets.push((delta, to));
            moves.push((delta, Move::Lesson(u, k, to, room)));
        }
        // Swaps with the lessons in the way: the teacher's own lesson there and those of a few students who are
        // busy there (for a class whose week is full, swapping two of its lessons is the only move that keeps it
        // clash-free).
        for &(delta, to) in &targets {
            if delta <= 0 {
                continue;
            }
            let mut partners: Vec<(usize, usize)> = self.at_slot[to]
                .iter()
                .copied()
                .filter(|&(v, _)| self.units[v].teacher == t)
                .collect();
            let busy: Vec<usize> = self.units[u]
                .members
                .iter()
                .copied()
                .filter(|&st| self.s_occ[st * n + to] > 0)
                .collect();
            for _ in 0..busy.len().min(3) {
                let st = busy[rng.below(busy.len())];
                for partner in self.lessons_of_student_at(st, to) {
                    if !partners.contains(&partner) {
                        partners.push(partner);
                    }
                }
            }
            for (v, j) in partners {
                if v == u
                    || self.units[v].slots.contains(&s)
                    || !self.allowed(self.units[v].teacher, s)
                {
                    continue;
                }
                let d = self.delta_swap(u, k, v, j);
                moves.push((d, Move::Swap(u, k, v, j)));
            }
        }
        // Kempe chains towards a few random slots.
        for _ in 0..targets.len().min(4) {
            let (_, to) = targets[rng.below(targets.len())];
            if let Some(chain) = self.kempe_chain(u, k, to, 64) {
                let d = self.delta_kempe(&chain, s, to);
                moves.push((d, Move::Kempe(u, k, to)));
            }
        }
        let unit = &self.units[u];
        if self.t_occ[t * n + s] > 1 || !self.allowed(t, s) {
            for &to in &unit.qualified {
                if to != t {
                    moves.push((self.delta_teacher(u, to), Move::Teacher(u, to)));
                }
            }
        }
        let room = unit.rooms[k];
        if self.r_occ[room * n + s] > 1 {
            match unit.kind {
                Kind::Class { .. } => {
                    for r in 0..self.model.rooms.len() {
                        if r != room {
                            moves.push((self.delta_class_room(u, r), Move::ClassRoom(u, r)));
                        }
                    }
                }
                Kind::Admin { .. } => {
                    let r = self.admin_room_at(u, k, s);
                    if r != room {
                        moves.push((
                            self.delta_move_lesson_room(u, k, r),
                            Move::Lesson(u, k, s, r),
                        ));
                    }
                }
            }
        }
        // Students double-booked here: move them (a few) to another class of an item they take at this slot.
        let clashing: Vec<usize> = unit
            .members
            .iter()
            .copied()
            .filter(|&st| self.s_occ[st * n + s] > 1)
            .collect();
        for _ in 0..clashing.len().min(3) {
            let st = clashing[rng.below(clashing.len())];
            for &(v, _) in &self.at_slot[s] {
                let Kind::Class { item, .. } = self.units[v].kind else {
                    continue;
                };
                if !self.units[v].members.contains(&st) {
                    continue;
                }
                for &w in &self.item_classes[item] {
                    if w == v || tabu.student_tabu(st, w, iteration) {
                        continue;
                    }
                    moves.push((self.delta_move_student(st, v, w), Move::Student(st, v, w)));
                }
            }
        }
    }

    /// Conflicts lesson `u` would add at slot `s` in room `room` (it is not there now).
    fn cost_add(&self, u: usize, s: usize, room: usize) -> i64 {
        let n = self.n;
        let unit = &self.units[u];
        let mut cost = unit
            .members
            .iter()
            .filter(|&&st| self.s_occ[st * n + s] > 0)
            .count() as i64;
        cost += i64::from(self.t_occ[unit.teacher * n + s] > 0);
        cost += i64::from(self.r_occ[room * n + s] > 0);
        cost += i64::from(!self.allowed(unit.teacher, s));
        cost
    }

    /// Change of conflicts if lessons (u, k) and (v, j) exchanged slots, each keeping its room.
    fn delta_swap(&mut self, u: usize, k: usize, v: usize, j: usize) -> i64 {
        let (a, ra) = (self.units[u].slots[k], self.units[u].rooms[k]);
        let (b, rb) = (self.units[v].slots[j], self.units[v].rooms[j]);
        self.detach(u, k);
        self.detach(v, j);
        let mut old = self.cost_add(u, a, ra);
        self.attach(u, k, a, ra);
        old += self.cost_add(v, b, rb);
        self.detach(u, k);
        let mut new = self.cost_add(u, b, ra);
        self.attach(u, k, b, ra);
        new += self.cost_add(v, a, rb);
        self.detach(u, k);
        self.attach(u, k, a, ra);
        self.attach(v, j, b, rb);
        new - old
    }

    fn apply_swap(&mut self, u: usize, k: usize, v: usize, j: usize) {
        let (a, ra) = (self.units[u].slots[k], self.units[u].rooms[k]);
        let (b, rb) = (self.units[v].slots[j], self.units[v].rooms[j]);
        self.detach(u, k);
        self.detach(v, j);
        self.attach(u, k, b, ra);
        self.attach(v, j, a, rb);
    }

    /// The Kempe chain of lesson (u, k) between its slot and `to`: every lesson at either slot reachable through a
    /// shared teacher, room or student. `None` when it grows past `limit` lessons.
    fn kempe_chain(
        &self,
        u: usize,
        k: usize,
        to: usize,
        limit: usize,
    ) -> Option<Vec<(usize, usize)>> {
        let from = self.units[u].slots[k];
        let mut chain: Vec<(usize, usize)> = vec![(u, k)];
        let mut next = 0;
        while next < chain.len() {
            let (x, kx) = chain[next];
            next += 1;
            let here = self.units[x].slots[kx];
            let there = if here == from { to } else { from };
            let mut found: Vec<(usize, usize)> = self.at_slot[there]
                .iter()
                .copied()
                .filter(|&(y, ky)| {
                    self.units[y].teacher == self.units[x].teacher
                        || self.units[y].rooms[ky] == self.units[x].rooms[kx]
                })
                .collect();
            for &st in &self.units[x].members {
                if self.s_occ[st * self.n + there] > 0 {
                    found.extend(self.lessons_of_student_at(st, there));
                }
            }
            for lesson in found {
                if !chain.contains(&lesson) {
                    if chain.len() >= limit {
                        return None;
                    }
                    chain.push(lesson);
                }
            }
        }
        Some(chain)
    }

    /// Moves every lesson of a chain to the other of its two slots; returns the chain as it is afterwards.
    fn apply_kempe(&mut self, chain: &[(usize, usize)], a: usize, b: usize) {
        let moves: Vec<(usize, usize, usize, usize)> = chain
            .iter()
            .map(|&(u, k)| {
                let s = self.units[u].slots[k];
                (u, k, if s == a { b } else { a }, self.units[u].rooms[k])
            })
            .collect();
        for &(u, k, _, _) in &moves {
            self.detach(u, k);
        }
        for (u, k, s, room) in moves {
            self.attach(u, k, s, room);
        }
    }

    /// Change of conflicts (and of the number of lessons in teachers' unavailable slots) if the chain swapped.
    fn delta_kempe(&mut self, chain: &[(usize, usize)], a: usize, b: usize) -> i64 {
        let local = |table: &Self| -> i64 {
            let n = table.n;
            let mut cost = 0;
            for &slot in &[a, b] {
                for &(u, k) in &table.at_slot[slot] {
                    let unit = &table.units[u];
                    cost += i64::from(!table.allowed(unit.teacher, slot));
                    cost += i64::from(table.t_occ[unit.teacher * n + slot] > 1);
                    cost += i64::from(table.r_occ[unit.rooms[k] * n + slot] > 1);
                    cost += unit
                        .members
                        .iter()
                        .filter(|&&st| table.s_occ[st * n + slot] > 1)
                        .count() as i64;
                }
            }
            cost
        };
        let before = local(self);
        self.apply_kempe(chain, a, b);
        let after = local(self);
        self.apply_kempe(chain, a, b);
        after - before
    }

    fn delta_move_lesson_room(&self, u: usize, k: usize, room: usize) -> i64 {
        let n = self.n;
        let s = self.units[u].slots[k];
        let old = self.units[u].rooms[k];
        Self::step(self.r_occ[room * n + s], true) + Self::step(self.r_occ[old * n + s], false)
    }

    fn size_moves(
        &self,
        u: usize,
        iteration: usize,
        tabu: &Tabu,
        rng: &mut SplitMix64,
        moves: &mut Vec<(i64, Move)>,
    ) {
        let unit = &self.units[u];
        let Kind::Class { item, .. } = unit.kind else {
            return;
        };
        for _ in 0..unit.members.len().min(8) {
            let st = unit.members[rng.below(unit.members.len())];
            for &w in &self.item_classes[item] {
                if w == u || tabu.student_tabu(st, w, iteration) {
                    continue;
                }
                moves.push((self.delta_move_student(st, u, w), Move::Student(st, u, w)));
            }
        }
        let room = unit.rooms.first().copied().unwrap_or(0);
        for r in 0..self.model.rooms.len() {
            if r != room && self.model.rooms[r] > self.model.rooms[room] {
                moves.push((self.delta_class_room(u, r), Move::ClassRoom(u, r)));
            }
        }
    }

    // ---- quality ----

    fn idle_of(&self, mask: u32, day: usize) -> i64 {
        if mask == 0 {
            return 0;
        }
        let first = mask.trailing_zeros();
        let last = 31 - mask.leading_zeros();
        let span: u32 = if last - first >= 31 {
            u32::MAX
        } else {
            ((1u32 << (last - first + 1)) - 1) << first
        };
        i64::from(span.count_ones())
            - i64::from(mask.count_ones())
            - i64::from((span & self.blocked_mask[day] & !mask).count_ones())
    }

    fn student_mask(&self, st: usize, day: usize) -> u32 {
        let per_day = self.model.per_day;
        let mut mask = 0;
        for p in 0..per_day {
            if self.s_occ[st * self.n + day * per_day + p] > 0 {
                mask |= 1 << p;
            }
        }
        mask
    }

    fn teacher_mask(&self, t: usize, day: usize) -> u32 {
        let per_day = self.model.per_day;
        let mut mask = 0;
        for p in 0..per_day {
            if self.t_occ[t * self.n + day * per_day + p] > 0 {
                mask |= 1 << p;
            }
        }
        mask
    }

    fn same_day(&self, u: usize) -> i64 {
        let mut count = vec![0i64; self.model.days];
        for &s in &self.units[u].slots {
            count[self.model.day(s)] += 1;
        }
        count.iter().map(|&c| (c - 1).max(0)).sum()
    }

    /// The quality figures as the checker computes them (teachers and students; lessons per unit per day).
    pub fn figures(&self) -> QualityFigures {
        let mut figures = QualityFigures::default();
        for st in 0..self.model.students.len() {
            for d in 0..self.model.days {
                figures.student_idle += self.idle_of(self.student_mask(st, d), d) as u64;
            }
        }
        for t in 0..self.model.teachers.len() {
            for d in 0..self.model.days {
                figures.teacher_idle += self.idle_of(self.teacher_mask(t, d), d) as u64;
            }
        }
        // The checker counts per teaching class and per (administrative class, subject).
        let mut per_key: HashMap<(usize, usize, usize), i64> = HashMap::new();
        for (u, unit) in self.units.iter().enumerate() {
            for &s in &unit.slots {
                let key = match unit.kind {
                    Kind::Class { .. } => (0, u, self.model.day(s)),
                    Kind::Admin { index: _, admin } => {
                        (1 + admin, self.admin_subject(u), self.model.day(s))
                    }
                };
                *per_key.entry(key).or_default() += 1;
            }
        }
        figures.same_subject_twice_a_day = per_key.values().map(|&c| (c - 1).max(0) as u64).sum();
        figures
    }

    fn admin_subject(&self, u: usize) -> usize {
        // Units of one administrative class and subject are distinct units in the plan; identify by qualification
        // list's subject: the plan keeps one unit per (admin, subject), so the unit index is a fine key.
        u
    }

    fn soft_people(&self, students: &[usize], teachers: &[usize], days: &[usize]) -> i64 {
        let mut cost = 0;
        for &st in students {
            for &d in days {
                cost += STUDENT_IDLE_WEIGHT * self.idle_of(self.student_mask(st, d), d);
            }
        }
        for &t in teachers {
            for &d in days {
                cost += TEACHER_IDLE_WEIGHT * self.idle_of(self.teacher_mask(t, d), d);
            }
        }
        cost
    }

    /// Lowers idle periods and same-subject-twice-a-day by moves that keep every hard constraint: administrative
    /// lessons to free slots, swaps of two lessons of one administrative class, teaching-class lessons to slots
    /// where all their students are free, and exchanges of two whole slots. Needs a conflict-free timetable.
    pub fn improve(&mut self, seed: u64, budget: &dyn Budget, max_rounds: usize) {
        if self.hard() != 0 {
            return;
        }
        let mut rng = SplitMix64::stream(seed, "improve");
        for _round in 0..max_rounds {
            let mut improved = false;
            let mut order: Vec<usize> = (0..self.units.len()).collect();
            rng.shuffle(&mut order);
            for &u in &order {
                if budget.expired() {
                    return;
                }
                for k in 0..self.units[u].slots.len() {
                    improved |= self.improve_lesson(u, k);
                }
            }
            let mut pairs: Vec<(usize, usize)> = Vec::new();
            let available = self.model.available_slots();
            for (x, &a) in available.iter().enumerate() {
                for &b in &available[x + 1..] {
                    pairs.push((a, b));
                }
            }
            rng.shuffle(&mut pairs);
            for (a, b) in pairs {
                if budget.expired() {
                    return;
                }
                improved |= self.try_slot_swap(a, b);
            }
            if !improved {
                break;
            }
        }
    }

    /// Best improving move of one lesson: to a free slot, or a swap with another lesson of its administrative class.
    fn improve_lesson(&mut self, u: usize, k: usize) -> bool {
        let n = self.n;
        let from = self.units[u].slots[k];
        let t = self.units[u].teacher;
        let day_from = self.model.day(from);
        let original_room = self.units[u].rooms[k];
        // (delta, lesson to swap with, or a move to (slot, room)).
        let mut best: Option<BestMove> = None;
        for to in 0..n {
            if to == from
                || !self.allowed(t, to)
                || self.units[u].slots.contains(&to)
                || self.t_occ[t * n + to] > 0
            {
                continue;
            }
            if self.units[u]
                .members
                .iter()
                .any(|&st| self.s_occ[st * n + to] > 0)
            {
                continue;
            }
            let room = match self.units[u].kind {
                Kind::Class { .. } => self.units[u].rooms[k],
                Kind::Admin { .. } => self.admin_room_at(u, k, to),
            };
            if self.r_occ[room * n + to] > 0 {
                continue;
            }
            let days = if self.model.day(to) == day_from {
                vec![day_from]
            } else {
                vec![day_from, self.model.day(to)]
            };
            let before = self.soft_people(&self.units[u].members, &[t], &days)
                + SAME_DAY_WEIGHT * self.same_day(u)
                + self.anchored(u);
            self.apply_move_lesson(u, k, to, room);
            let after = self.soft_people(&self.units[u].members, &[t], &days)
                + SAME_DAY_WEIGHT * self.same_day(u)
                + self.anchored(u);
            self.apply_move_lesson(u, k, from, original_room);
            let delta = after - before;
            if delta < 0 && best.is_none_or(|b| delta < b.0) {
                best = Some((delta, None, to, room));
            }
        }
        // Swaps with another lesson of the same administrative class.
        if let Kind::Admin { admin, .. } = self.units[u].kind {
            let room_u = self.units[u].rooms[k];
            let candidates: Vec<(usize, usize)> = (0..self.units.len())
                .filter(|&v| {
                    v != u
                        && matches!(self.units[v].kind, Kind::Admin { admin: a, .. } if a == admin)
                })
                .flat_map(|v| (0..self.units[v].slots.len()).map(move |j| (v, j)))
                .collect();
            for (v, j) in candidates {
                let to = self.units[v].slots[j];
                let tv = self.units[v].teacher;
                let room_v = self.units[v].rooms[j];
                if self.units[u].slots.contains(&to) || self.units[v].slots.contains(&from) {
                    continue;
                }
                if !self.allowed(t, to) || !self.allowed(tv, from) {
                    continue;
                }
                if t != tv && (self.t_occ[t * n + to] > 0 || self.t_occ[tv * n + from] > 0) {
                    continue;
                }
                if room_u != room_v
                    && (self.r_occ[room_u * n + to] > 0 || self.r_occ[room_v * n + from] > 0)
                {
                    continue;
                }
                let days = if self.model.day(to) == day_from {
                    vec![day_from]
                } else {
                    vec![day_from, self.model.day(to)]
                };
                let teachers = if t == tv { vec![t] } else { vec![t, tv] };
                let cost = |table: &Self| {
                    table.soft_people(&[], &teachers, &days)
                        + SAME_DAY_WEIGHT * (table.same_day(u) + table.same_day(v))
                        + table.anchored(u)
                        + table.anchored(v)
                };
                let before = cost(self);
                self.swap_lessons(u, k, v, j);
                let after = cost(self);
                self.swap_lessons(u, k, v, j);
                let delta = after - before;
                if delta < 0 && best.is_none_or(|b| delta < b.0) {
                    best = Some((delta, Some((v, j)), to, room_u));
                }
            }
        }
        match best {
            Some((_, None, to, room)) => {
                self.apply_move_lesson(u, k, to, room);
                true
            }
            Some((_, Some((v, j)), _, _)) => {
                self.swap_lessons(u, k, v, j);
                true
            }
            None => false,
        }
    }

    /// Exchanges the slots of lessons (u, k) and (v, j); each keeps its room.
    fn swap_lessons(&mut self, u: usize, k: usize, v: usize, j: usize) {
        let a = self.units[u].slots[k];
        let b = self.units[v].slots[j];
        let (ra, rb) = (self.units[u].rooms[k], self.units[v].rooms[j]);
        // Move u's lesson out of the way through a two-step exchange on the tables (no slot is left empty).
        self.detach(u, k);
        self.detach(v, j);
        self.attach(u, k, b, ra);
        self.attach(v, j, a, rb);
    }

    fn detach(&mut self, u: usize, k: usize) {
        let n = self.n;
        let s = self.units[u].slots[k];
        for &st in &self.units[u].members {
            self.s_occ[st * n + s] -= 1;
        }
        let t = self.units[u].teacher;
        self.t_occ[t * n + s] -= 1;
        self.r_occ[self.units[u].rooms[k] * n + s] -= 1;
        if let Some(p) = self.at_slot[s].iter().position(|&x| x == (u, k)) {
            self.at_slot[s].swap_remove(p);
        }
    }

    fn attach(&mut self, u: usize, k: usize, s: usize, room: usize) {
        let n = self.n;
        for &st in &self.units[u].members {
            self.s_occ[st * n + s] += 1;
        }
        let t = self.units[u].teacher;
        self.t_occ[t * n + s] += 1;
        self.r_occ[room * n + s] += 1;
        self.units[u].slots[k] = s;
        self.units[u].rooms[k] = room;
        self.at_slot[s].push((u, k));
    }

    /// Exchanges everything at slot a with everything at slot b when every teacher is available at the other slot.
    fn try_slot_swap(&mut self, a: usize, b: usize) -> bool {
        let lessons_a = self.at_slot[a].clone();
        let lessons_b = self.at_slot[b].clone();
        if lessons_a.is_empty() && lessons_b.is_empty() {
            return false;
        }
        for &(u, _) in &lessons_a {
            if !self.allowed(self.units[u].teacher, b) {
                return false;
            }
        }
        for &(u, _) in &lessons_b {
            if !self.allowed(self.units[u].teacher, a) {
                return false;
            }
        }
        let mut students: Vec<usize> = Vec::new();
        let mut teachers: Vec<usize> = Vec::new();
        let mut units: Vec<usize> = Vec::new();
        for &(u, _) in lessons_a.iter().chain(&lessons_b) {
            students.extend_from_slice(&self.units[u].members);
            teachers.push(self.units[u].teacher);
            units.push(u);
        }
        students.sort_unstable();
        students.dedup();
        teachers.sort_unstable();
        teachers.dedup();
        units.sort_unstable();
        units.dedup();
        let (da, db) = (self.model.day(a), self.model.day(b));
        let days = if da == db { vec![da] } else { vec![da, db] };
        let cost = |table: &Self| {
            table.soft_people(&students, &teachers, &days)
                + units
                    .iter()
                    .map(|&u| SAME_DAY_WEIGHT * table.same_day(u) + table.anchored(u))
                    .sum::<i64>()
        };
        let before = cost(self);
        self.exchange_slots(a, b, &lessons_a, &lessons_b);
        let after = cost(self);
        if after < before {
            return true;
        }
        let now_a = self.at_slot[a].clone();
        let now_b = self.at_slot[b].clone();
        self.exchange_slots(a, b, &now_a, &now_b);
        false
    }

    fn exchange_slots(
        &mut self,
        a: usize,
        b: usize,
        at_a: &[(usize, usize)],
        at_b: &[(usize, usize)],
    ) {
        let moves: Vec<(usize, usize, usize, usize)> = at_a
            .iter()
            .map(|&(u, k)| (u, k, b, self.units[u].rooms[k]))
            .chain(at_b.iter().map(|&(u, k)| (u, k, a, self.units[u].rooms[k])))
            .collect();
        for &(u, k, _, _) in &moves {
            self.detach(u, k);
        }
        for (u, k, s, room) in moves {
            self.attach(u, k, s, room);
        }
    }
}

/// An improving move of one lesson: (delta, the lesson it swaps with if any, target slot, room).
type BestMove = (i64, Option<(usize, usize)>, usize, usize);

/// Tabu lists: until which iteration a lesson may not return to a slot, a student to a class.
struct Tabu {
    slots: usize,
    /// `[unit][position × slots + slot]`.
    lesson: Vec<Vec<u32>>,
    /// `[student]`: (class, until), a short list.
    student: Vec<Vec<(usize, u32)>>,
}

impl Tabu {
    fn lesson_tabu(&self, u: usize, k: usize, s: usize, iteration: usize) -> bool {
        self.lesson
            .get(u)
            .and_then(|row| row.get(k * self.slots + s))
            .is_some_and(|&until| until as usize > iteration)
    }

    fn forbid_lesson(&mut self, u: usize, k: usize, s: usize, until: usize) {
        if self.lesson.len() <= u {
            self.lesson.resize(u + 1, Vec::new());
        }
        let row = &mut self.lesson[u];
        if row.len() <= k * self.slots + s {
            row.resize((k + 1) * self.slots, 0);
        }
        row[k * self.slots + s] = until as u32;
    }

    fn student_tabu(&self, st: usize, class: usize, iteration: usize) -> bool {
        self.student[st]
            .iter()
            .any(|&(c, until)| c == class && until as usize > iteration)
    }

    fn forbid_student(&mut self, st: usize, class: usize, until: usize, iteration: usize) {
        let list = &mut self.student[st];
        list.retain(|&(_, u)| u as usize > iteration);
        list.push((class, until as u32));
    }
}

#[derive(Debug, Clone, Copy)]
enum Move {
    Lesson(usize, usize, usize, usize),
    Swap(usize, usize, usize, usize),
    Kempe(usize, usize, usize),
    Student(usize, usize, usize),
    Teacher(usize, usize),
    ClassRoom(usize, usize),
}
