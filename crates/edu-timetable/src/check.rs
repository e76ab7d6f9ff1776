//! The independent checker: every hard violation of a solution and the spec's quality figures.
//!
//! It reads only the exchange format (never the solver's internals), so it doubles as the oracle of the tests.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::format::{Instance, Level, Slot, Solution};

/// Which kind of hard constraint a violation breaks (spec numbers 1–5 in `constraint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    // 1: enrolment
    StudentMissingClass,
    StudentDuplicateClass,
    StudentWrongClass,
    UnknownStudent,
    DuplicateClassId,
    // 2: periods
    ClassPeriods,
    AdminPeriods,
    AdminTeachers,
    UnknownSubject,
    UnknownAdminClass,
    // 3: clashes and forbidden slots
    StudentClash,
    TeacherClash,
    RoomClash,
    BlockedSlot,
    TeacherUnavailable,
    SlotOutOfRange,
    // 4: teachers
    TeacherSubject,
    TeacherOverload,
    UnknownTeacher,
    // 5: sizes and rooms
    ClassTooLarge,
    RoomTooSmall,
    UnknownRoom,
}

impl ViolationKind {
    /// The spec's hard-constraint number.
    pub fn constraint(self) -> u8 {
        use ViolationKind::*;
        match self {
            StudentMissingClass
            | StudentDuplicateClass
            | StudentWrongClass
            | UnknownStudent
            | DuplicateClassId => 1,
            ClassPeriods | AdminPeriods | AdminTeachers | UnknownSubject | UnknownAdminClass => 2,
            StudentClash | TeacherClash | RoomClash | BlockedSlot | TeacherUnavailable
            | SlotOutOfRange => 3,
            TeacherSubject | TeacherOverload | UnknownTeacher => 4,
            ClassTooLarge | RoomTooSmall | UnknownRoom => 5,
        }
    }
}

/// One broken hard constraint, naming who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub constraint: u8,
    pub kind: ViolationKind,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.constraint, self.message)
    }
}

/// Class count and sizes for one (elective, level).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupQuality {
    pub subject: String,
    pub level: Level,
    pub demand: u32,
    pub max_class_size: u32,
    pub lower_bound: u32,
    pub classes: u32,
    pub min_size: u32,
    pub max_size: u32,
}

/// The spec's quality figures (lower is better unless said).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    pub teaching_classes: u32,
    /// Σ ⌈demand(subject, level) ÷ max_class_size⌉: no valid solution has fewer teaching classes.
    pub lower_bound: u32,
    pub groups: Vec<GroupQuality>,
    /// Largest (max − min) class size over all (subject, level).
    pub max_size_range: u32,
    pub student_idle_periods: u64,
    pub students_with_idle: u32,
    pub max_student_idle_per_week: u32,
    pub teacher_idle_periods: u64,
    /// Extra lessons of the same subject for the same class on one day (n − 1 for a day with n lessons).
    pub same_subject_twice_a_day: u32,
    pub solve_seconds: Option<f64>,
}

/// What `check` finds: all hard violations, quality figures and harmless warnings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub valid: bool,
    pub violations: Vec<Violation>,
    pub quality: Quality,
    pub warnings: Vec<String>,
}

/// Checks `solution` against `instance` (assumed to pass [`crate::validate_instance`]).
pub fn check(instance: &Instance, solution: &Solution) -> CheckReport {
    Checker::new(instance).run(solution)
}

struct Lesson<'a> {
    label: String,
    subject: &'a str,
    teacher: &'a str,
    room: &'a str,
    slots: Vec<u32>,
    /// Index of the teaching class, or None for an admin lesson.
    class: Option<usize>,
    admin_class: Option<&'a str>,
}

struct Checker<'a> {
    instance: &'a Instance,
    student_index: HashMap<&'a str, usize>,
    admin_students: HashMap<&'a str, Vec<usize>>,
    compulsory: HashMap<&'a str, u32>,
    electives: HashMap<&'a str, (u32, u32, u32)>,
    teachers: HashMap<&'a str, usize>,
    rooms: HashMap<&'a str, u32>,
    blocked: HashSet<u32>,
    violations: Vec<Violation>,
    warnings: Vec<String>,
}

impl<'a> Checker<'a> {
    fn new(instance: &'a Instance) -> Self {
        let student_index = instance
            .students
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut admin_students: HashMap<&str, Vec<usize>> = HashMap::new();
        for class in &instance.admin_classes {
            admin_students.entry(class.id.as_str()).or_default();
        }
        for (index, student) in instance.students.iter().enumerate() {
            admin_students
                .entry(student.admin_class.as_str())
                .or_default()
                .push(index);
        }
        Checker {
            instance,
            student_index,
            admin_students,
            compulsory: instance
                .compulsory
                .iter()
                .map(|c| (c.id.as_str(), c.periods))
                .collect(),
            electives: instance
                .electives
                .iter()
                .map(|e| {
                    (
                        e.id.as_str(),
                        (e.periods.selective, e.periods.proficiency, e.max_class_size),
                    )
                })
                .collect(),
            teachers: instance
                .teachers
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id.as_str(), i))
                .collect(),
            rooms: instance
                .rooms
                .iter()
                .map(|r| (r.id.as_str(), r.capacity))
                .collect(),
            blocked: instance
                .blocked
                .iter()
                .map(|s| s.day * instance.periods_per_day + s.period)
                .collect(),
            violations: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn violation(&mut self, kind: ViolationKind, message: String) {
        self.violations.push(Violation {
            constraint: kind.constraint(),
            kind,
            message,
        });
    }

    fn slot_name(&self, index: u32) -> Slot {
        Slot::new(
            index / self.instance.periods_per_day,
            index % self.instance.periods_per_day,
        )
    }

    /// Slot indices of a lesson, flagging out-of-range and duplicate slots.
    fn slot_indices(&mut self, label: &str, slots: &[Slot]) -> Vec<u32> {
        let mut indices = Vec::with_capacity(slots.len());
        let mut seen = HashSet::new();
        for slot in slots {
            if slot.day >= self.instance.days || slot.period >= self.instance.periods_per_day {
                self.violation(
                    ViolationKind::SlotOutOfRange,
                    format!("{label}: slot {slot} is outside the week"),
                );
                continue;
            }
            let index = slot.day * self.instance.periods_per_day + slot.period;
            if !seen.insert(index) {
                self.violation(
                    ViolationKind::ClassPeriods,
                    format!("{label}: slot {slot} listed twice"),
                );
                continue;
            }
            indices.push(index);
        }
        indices
    }

    fn run(mut self, solution: &'a Solution) -> CheckReport {
        let instance = self.instance;
        let mut lessons: Vec<Lesson<'a>> = Vec::new();

        // Teaching classes: references, periods, sizes (constraints 1, 2, 5).
        let mut class_ids = HashSet::new();
        let mut enrolment: BTreeMap<(usize, &str, Level), Vec<usize>> = BTreeMap::new();
        for (class_index, class) in solution.teaching_classes.iter().enumerate() {
            let label = format!("teaching class {}", class.id);
            if !class_ids.insert(class.id.as_str()) {
                self.violation(
                    ViolationKind::DuplicateClassId,
                    format!("{label}: id used twice"),
                );
            }
            let slots = self.slot_indices(&label, &class.slots);
            match self.electives.get(class.subject.as_str()).copied() {
                None => self.violation(
                    ViolationKind::UnknownSubject,
                    format!("{label}: subject {:?} is not an elective", class.subject),
                ),
                Some((selective, proficiency, max_size)) => {
                    let expected = if class.level == Level::Selective {
                        selective
                    } else {
                        proficiency
                    };
                    if slots.len() as u32 != expected {
                        self.violation(
                            ViolationKind::ClassPeriods,
                            format!(
                                "{label} ({} {}) meets {} periods, expected {expected}",
                                class.subject,
                                class.level,
                                slots.len()
                            ),
                        );
                    }
                    if class.students.len() as u32 > max_size {
                        self.violation(
                            ViolationKind::ClassTooLarge,
                            format!(
                                "{label} has {} students, max_class_size is {max_size}",
                                class.students.len()
                            ),
                        );
                    }
                }
            }
            match self.rooms.get(class.room.as_str()).copied() {
                None => self.violation(
                    ViolationKind::UnknownRoom,
                    format!("{label}: unknown room {:?}", class.room),
                ),
                Some(capacity) if class.students.len() as u32 > capacity => self.violation(
                    ViolationKind::RoomTooSmall,
                    format!(
                        "{label} has {} students, room {} holds {capacity}",
                        class.students.len(),
                        class.room
                    ),
                ),
                Some(_) => {}
            }
            if class.students.is_empty() {
                self.warnings.push(format!("{label} has no students"));
            }
            let mut in_class = HashSet::new();
            for student in &class.students {
                match self.student_index.get(student.as_str()).copied() {
                    None => self.violation(
                        ViolationKind::UnknownStudent,
                        format!("{label}: unknown student {student:?}"),
                    ),
                    Some(index) => {
                        if !in_class.insert(index) {
                            self.violation(
                                ViolationKind::StudentDuplicateClass,
                                format!("{label}: student {student} listed twice"),
                            );
                            continue;
                        }
                        enrolment
                            .entry((index, class.subject.as_str(), class.level))
                            .or_default()
                            .push(class_index);
                    }
                }
            }
            lessons.push(Lesson {
                label,
                subject: class.subject.as_str(),
                teacher: class.teacher.as_str(),
                room: class.room.as_str(),
                slots,
                class: Some(class_index),
                admin_class: None,
            });
        }

        // Constraint 1: each student in exactly one class per (elective, level) taken, none other.
        for (index, student) in instance.students.iter().enumerate() {
            let chosen: HashSet<&str> = student.selective.iter().map(String::as_str).collect();
            for elective in &instance.electives {
                for level in Level::BOTH {
                    let takes = elective.periods.at(level) > 0
                        && (level == Level::Selective) == chosen.contains(elective.id.as_str());
                    let classes = enrolment
                        .remove(&(index, elective.id.as_str(), level))
                        .unwrap_or_default();
                    let names = || {
                        classes
                            .iter()
                            .map(|&c| solution.teaching_classes[c].id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    if takes && classes.is_empty() {
                        self.violation(
                            ViolationKind::StudentMissingClass,
                            format!(
                                "student {} has no {} {} class",
                                student.id, elective.id, level
                            ),
                        );
                    } else if takes && classes.len() > 1 {
                        self.violation(
                            ViolationKind::StudentDuplicateClass,
                            format!(
                                "student {} is in {} {} classes: {}",
                                student.id,
                                elective.id,
                                level,
                                names()
                            ),
                        );
                    } else if !takes && !classes.is_empty() {
                        self.violation(
                            ViolationKind::StudentWrongClass,
                            format!(
                                "student {} does not take {} at {} level but is in {}",
                                student.id,
                                elective.id,
                                level,
                                names()
                            ),
                        );
                    }
                }
            }
        }
        // Enrolments left over name subjects that are not electives; already reported per class.

        // Admin lessons: per (class, subject) periods and a single teacher (constraint 2).
        let mut admin_totals: BTreeMap<(&str, &str), (u32, Vec<&str>)> = BTreeMap::new();
        for (index, lesson) in solution.admin_lessons.iter().enumerate() {
            let label = format!(
                "admin lesson #{index} ({} {})",
                lesson.admin_class, lesson.subject
            );
            let slots = self.slot_indices(&label, &lesson.slots);
            if !self
                .admin_students
                .contains_key(lesson.admin_class.as_str())
            {
                self.violation(
                    ViolationKind::UnknownAdminClass,
                    format!(
                        "{label}: unknown administrative class {:?}",
                        lesson.admin_class
                    ),
                );
            }
            if !self.compulsory.contains_key(lesson.subject.as_str()) {
                self.violation(
                    ViolationKind::UnknownSubject,
                    format!("{label}: {:?} is not a compulsory subject", lesson.subject),
                );
            }
            match self.rooms.get(lesson.room.as_str()).copied() {
                None => self.violation(
                    ViolationKind::UnknownRoom,
                    format!("{label}: unknown room {:?}", lesson.room),
                ),
                Some(capacity) => {
                    let size = self
                        .admin_students
                        .get(lesson.admin_class.as_str())
                        .map_or(0, Vec::len) as u32;
                    if size > capacity {
                        self.warnings.push(format!(
                            "{label}: class of {size} in room {} that holds {capacity}",
                            lesson.room
                        ));
                    }
                }
            }
            let entry = admin_totals
                .entry((lesson.admin_class.as_str(), lesson.subject.as_str()))
                .or_default();
            entry.0 += slots.len() as u32;
            if !entry.1.contains(&lesson.teacher.as_str()) {
                entry.1.push(lesson.teacher.as_str());
            }
            lessons.push(Lesson {
                label,
                subject: lesson.subject.as_str(),
                teacher: lesson.teacher.as_str(),
                room: lesson.room.as_str(),
                slots,
                class: None,
                admin_class: Some(lesson.admin_class.as_str()),
            });
        }
        for class in &instance.admin_classes {
            for subject in &instance.compulsory {
                let (periods, teachers) = admin_totals
                    .remove(&(class.id.as_str(), subject.id.as_str()))
                    .unwrap_or_default();
                if periods != subject.periods {
                    self.violation(
                        ViolationKind::AdminPeriods,
                        format!(
                            "administrative class {} gets {periods} periods of {}, expected {}",
                            class.id, subject.id, subject.periods
                        ),
                    );
                }
                if teachers.len() > 1 {
                    self.violation(
                        ViolationKind::AdminTeachers,
                        format!(
                            "administrative class {} has {} taught by {} teachers: {}",
                            class.id,
                            subject.id,
                            teachers.len(),
                            teachers.join(", ")
                        ),
                    );
                }
            }
        }

        // Constraint 3 and 4: who is where when.
        let slot_count = instance.slot_count() as usize;
        let mut student_slots: Vec<Vec<(u32, usize)>> = vec![Vec::new(); instance.students.len()];
        let mut teacher_slots: BTreeMap<&str, Vec<(u32, usize)>> = BTreeMap::new();
        let mut room_slots: BTreeMap<&str, Vec<(u32, usize)>> = BTreeMap::new();
        let mut teacher_periods: BTreeMap<&str, u32> = BTreeMap::new();
        for (lesson_index, lesson) in lessons.iter().enumerate() {
            let members: Vec<usize> = match (lesson.class, lesson.admin_class) {
                (Some(class), _) => solution.teaching_classes[class]
                    .students
                    .iter()
                    .filter_map(|s| self.student_index.get(s.as_str()).copied())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect(),
                (None, Some(admin)) => self.admin_students.get(admin).cloned().unwrap_or_default(),
                (None, None) => Vec::new(),
            };
            for &slot in &lesson.slots {
                for &student in &members {
                    student_slots[student].push((slot, lesson_index));
                }
                teacher_slots
                    .entry(lesson.teacher)
                    .or_default()
                    .push((slot, lesson_index));
                room_slots
                    .entry(lesson.room)
                    .or_default()
                    .push((slot, lesson_index));
                if self.blocked.contains(&slot) {
                    let message = format!(
                        "{} is in blocked slot {}",
                        lesson.label,
                        self.slot_name(slot)
                    );
                    self.violation(ViolationKind::BlockedSlot, message);
                }
            }
            *teacher_periods.entry(lesson.teacher).or_default() += lesson.slots.len() as u32;
            match self.teachers.get(lesson.teacher).copied() {
                None => self.violation(
                    ViolationKind::UnknownTeacher,
                    format!("{}: unknown teacher {:?}", lesson.label, lesson.teacher),
                ),
                Some(teacher_index) => {
                    let teacher = &instance.teachers[teacher_index];
                    if !teacher.subjects.iter().any(|s| s == lesson.subject) {
                        self.violation(
                            ViolationKind::TeacherSubject,
                            format!(
                                "{}: teacher {} does not teach {}",
                                lesson.label, teacher.id, lesson.subject
                            ),
                        );
                    }
                    for &slot in &lesson.slots {
                        let name = self.slot_name(slot);
                        if teacher.unavailable.contains(&name) {
                            self.violation(
                                ViolationKind::TeacherUnavailable,
                                format!(
                                    "{}: teacher {} is unavailable at {name}",
                                    lesson.label, teacher.id
                                ),
                            );
                        }
                    }
                }
            }
        }
        for (index, entries) in student_slots.iter_mut().enumerate() {
            entries.sort_unstable();
            let id = instance.students[index].id.clone();
            self.report_clashes(
                entries,
                &lessons,
                ViolationKind::StudentClash,
                "student",
                &id,
            );
        }
        for (teacher, entries) in &mut teacher_slots {
            entries.sort_unstable();
            self.report_clashes(
                entries,
                &lessons,
                ViolationKind::TeacherClash,
                "teacher",
                teacher,
            );
        }
        for (room, entries) in &mut room_slots {
            entries.sort_unstable();
            self.report_clashes(entries, &lessons, ViolationKind::RoomClash, "room", room);
        }
        for (teacher, periods) in &teacher_periods {
            if let Some(&index) = self.teachers.get(teacher) {
                let max = instance.teachers[index].max_periods;
                if *periods > max {
                    self.violation(
                        ViolationKind::TeacherOverload,
                        format!(
                            "teacher {teacher} teaches {periods} periods, max_periods is {max}"
                        ),
                    );
                }
            }
        }

        let quality = self.quality(
            solution,
            &lessons,
            &student_slots,
            &teacher_slots,
            slot_count,
        );
        CheckReport {
            valid: self.violations.is_empty(),
            violations: self.violations,
            quality,
            warnings: self.warnings,
        }
    }

    fn report_clashes(
        &mut self,
        entries: &[(u32, usize)],
        lessons: &[Lesson<'_>],
        kind: ViolationKind,
        who: &str,
        id: &str,
    ) {
        let mut start = 0;
        while start < entries.len() {
            let mut end = start + 1;
            while end < entries.len() && entries[end].0 == entries[start].0 {
                end += 1;
            }
            if end - start > 1 {
                let names: Vec<&str> = entries[start..end]
                    .iter()
                    .map(|&(_, l)| lessons[l].label.as_str())
                    .collect();
                let slot = self.slot_name(entries[start].0);
                self.violation(
                    kind,
                    format!(
                        "{who} {id} has {} lessons at {slot}: {}",
                        end - start,
                        names.join("; ")
                    ),
                );
            }
            start = end;
        }
    }

    fn quality(
        &self,
        solution: &Solution,
        lessons: &[Lesson<'_>],
        student_slots: &[Vec<(u32, usize)>],
        teacher_slots: &BTreeMap<&str, Vec<(u32, usize)>>,
        slot_count: usize,
    ) -> Quality {
        let instance = self.instance;
        let mut groups = Vec::new();
        let mut lower_bound = 0;
        for elective in &instance.electives {
            for level in Level::BOTH {
                if elective.periods.at(level) == 0 {
                    continue;
                }
                let demand = instance
                    .students
                    .iter()
                    .filter(|s| s.selective.contains(&elective.id) == (level == Level::Selective))
                    .count() as u32;
                let cap = elective.max_class_size.max(1);
                let bound = demand.div_ceil(cap);
                lower_bound += bound;
                let sizes: Vec<u32> = solution
                    .teaching_classes
                    .iter()
                    .filter(|c| c.subject == elective.id && c.level == level)
                    .map(|c| c.students.len() as u32)
                    .collect();
                groups.push(GroupQuality {
                    subject: elective.id.clone(),
                    level,
                    demand,
                    max_class_size: elective.max_class_size,
                    lower_bound: bound,
                    classes: sizes.len() as u32,
                    min_size: sizes.iter().copied().min().unwrap_or(0),
                    max_size: sizes.iter().copied().max().unwrap_or(0),
                });
            }
        }
        let max_size_range = groups
            .iter()
            .map(|g| g.max_size - g.min_size)
            .max()
            .unwrap_or(0);
        let per_day = instance.periods_per_day;
        let idle = |entries: &[(u32, usize)]| -> u32 {
            let mut busy = vec![false; slot_count];
            for &(slot, _) in entries {
                busy[slot as usize] = true;
            }
            let mut total = 0;
            for day in 0..instance.days {
                let range = (day * per_day)..((day + 1) * per_day);
                let used: Vec<u32> = range.clone().filter(|&s| busy[s as usize]).collect();
                if let (Some(&first), Some(&last)) = (used.first(), used.last()) {
                    total += (first..=last)
                        .filter(|s| !busy[*s as usize] && !self.blocked.contains(s))
                        .count() as u32;
                }
            }
            total
        };
        let mut student_idle_periods = 0u64;
        let mut students_with_idle = 0;
        let mut max_student_idle_per_week = 0;
        for entries in student_slots {
            let value = idle(entries);
            student_idle_periods += u64::from(value);
            students_with_idle += u32::from(value > 0);
            max_student_idle_per_week = max_student_idle_per_week.max(value);
        }
        let teacher_idle_periods = teacher_slots.values().map(|e| u64::from(idle(e))).sum();
        // Same subject twice a day, per teaching class and per (admin class, subject).
        let mut per_day_count: BTreeMap<(String, u32), u32> = BTreeMap::new();
        for lesson in lessons {
            let key = match lesson.admin_class {
                Some(admin) => format!("{admin}/{}", lesson.subject),
                None => lesson.label.clone(),
            };
            for &slot in &lesson.slots {
                *per_day_count
                    .entry((key.clone(), slot / per_day))
                    .or_default() += 1;
            }
        }
        let same_subject_twice_a_day = per_day_count.values().map(|&n| n.saturating_sub(1)).sum();
        Quality {
            teaching_classes: solution.teaching_classes.len() as u32,
            lower_bound,
            groups,
            max_size_range,
            student_idle_periods,
            students_with_idle,
            max_student_idle_per_week,
            teacher_idle_periods,
            same_subject_twice_a_day,
            solve_seconds: None,
        }
    }
}

impl CheckReport {
    /// Human-readable report, bilingual headings.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let q = &self.quality;
        let _ = writeln!(
            out,
            "硬约束 hard constraints: {}",
            if self.valid {
                "OK, none broken".to_string()
            } else {
                format!("{} violations", self.violations.len())
            }
        );
        for violation in &self.violations {
            let _ = writeln!(out, "  {violation}");
        }
        let _ = writeln!(
            out,
            "教学班 teaching classes: {} (lower bound {})",
            q.teaching_classes, q.lower_bound
        );
        for g in &q.groups {
            let _ = writeln!(
                out,
                "  {:<8} {:<11} demand {:>5}  classes {:>3} (bound {:>3})  sizes {}..{}",
                g.subject, g.level, g.demand, g.classes, g.lower_bound, g.min_size, g.max_size
            );
        }
        let _ = writeln!(
            out,
            "班额极差 largest class-size range: {}",
            q.max_size_range
        );
        let _ = writeln!(
            out,
            "学生空堂 student idle periods: {} in all, {} students with any, at most {} a week",
            q.student_idle_periods, q.students_with_idle, q.max_student_idle_per_week
        );
        let _ = writeln!(
            out,
            "教师空堂 teacher idle periods: {}",
            q.teacher_idle_periods
        );
        let _ = writeln!(
            out,
            "同日同科 same subject twice a day: {}",
            q.same_subject_twice_a_day
        );
        if let Some(seconds) = q.solve_seconds {
            let _ = writeln!(out, "求解时间 solve time: {seconds:.3} s");
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "注意 warning: {warning}");
        }
        out
    }
}
