//! The instance as indexed data: every id resolved to a position once, slots as `day × periods_per_day + period`.

use std::collections::HashMap;

use crate::format::{Instance, Level, Slot};

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub elective: usize,
    pub level: Level,
    pub periods: usize,
    /// Largest class: `max_class_size`, and never more than the largest room.
    pub cap: usize,
    pub students: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct StudentM {
    pub admin: usize,
    pub items: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct AdminM {
    pub room: usize,
    pub students: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct TeacherM {
    pub compulsory: Vec<bool>,
    pub electives: Vec<bool>,
    pub max: usize,
    pub unavailable: Vec<bool>,
    /// Unblocked slots where the teacher is available.
    pub free: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Model<'a> {
    pub instance: &'a Instance,
    pub days: usize,
    pub per_day: usize,
    pub slot_count: usize,
    pub available: Vec<bool>,
    pub compulsory_periods: Vec<usize>,
    pub items: Vec<Item>,
    pub students: Vec<StudentM>,
    pub admins: Vec<AdminM>,
    pub teachers: Vec<TeacherM>,
    /// Per teacher: unblocked slots where they are available.
    pub teacher_free: Vec<usize>,
    pub rooms: Vec<usize>,
    pub room_index: HashMap<&'a str, usize>,
    pub student_index: HashMap<&'a str, usize>,
    pub teacher_index: HashMap<&'a str, usize>,
    pub admin_index: HashMap<&'a str, usize>,
    pub compulsory_index: HashMap<&'a str, usize>,
    pub elective_index: HashMap<&'a str, usize>,
}

impl<'a> Model<'a> {
    /// Builds the model of a validated instance (unknown references are skipped, never panicked on).
    pub fn new(instance: &'a Instance) -> Self {
        let days = instance.days as usize;
        let per_day = instance.periods_per_day as usize;
        let slot_count = days * per_day;
        let mut available = vec![true; slot_count];
        for slot in &instance.blocked {
            if let Some(index) = slot_index(instance, *slot) {
                available[index] = false;
            }
        }
        let compulsory_index: HashMap<&str, usize> = instance
            .compulsory
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        let elective_index: HashMap<&str, usize> = instance
            .electives
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();
        let room_index: HashMap<&str, usize> = instance
            .rooms
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let admin_index: HashMap<&str, usize> = instance
            .admin_classes
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        let rooms: Vec<usize> = instance.rooms.iter().map(|r| r.capacity as usize).collect();
        let largest_room = rooms.iter().copied().max().unwrap_or(0);
        let mut admins: Vec<AdminM> = instance
            .admin_classes
            .iter()
            .map(|a| AdminM {
                room: room_index.get(a.room.as_str()).copied().unwrap_or(0),
                students: Vec::new(),
            })
            .collect();
        // Items: (elective, level) with periods > 0, in instance order.
        let mut item_of: HashMap<(usize, Level), usize> = HashMap::new();
        let mut items = Vec::new();
        for (elective_number, elective) in instance.electives.iter().enumerate() {
            for level in Level::BOTH {
                let periods = elective.periods.at(level) as usize;
                if periods == 0 {
                    continue;
                }
                item_of.insert((elective_number, level), items.len());
                items.push(Item {
                    elective: elective_number,
                    level,
                    periods,
                    cap: (elective.max_class_size as usize).min(largest_room).max(1),
                    students: Vec::new(),
                });
            }
        }
        let mut students = Vec::with_capacity(instance.students.len());
        for (number, student) in instance.students.iter().enumerate() {
            let admin = admin_index
                .get(student.admin_class.as_str())
                .copied()
                .unwrap_or(0);
            if let Some(class) = admins.get_mut(admin) {
                class.students.push(number);
            }
            let mut taken = Vec::new();
            for (elective_number, elective) in instance.electives.iter().enumerate() {
                let level = if student.selective.contains(&elective.id) {
                    Level::Selective
                } else {
                    Level::Proficiency
                };
                if let Some(&item) = item_of.get(&(elective_number, level)) {
                    taken.push(item);
                    items[item].students.push(number);
                }
            }
            students.push(StudentM {
                admin,
                items: taken,
            });
        }
        let teachers: Vec<TeacherM> = instance
            .teachers
            .iter()
            .map(|t| {
                let mut compulsory = vec![false; instance.compulsory.len()];
                let mut electives = vec![false; instance.electives.len()];
                for subject in &t.subjects {
                    if let Some(&c) = compulsory_index.get(subject.as_str()) {
                        compulsory[c] = true;
                    }
                    if let Some(&e) = elective_index.get(subject.as_str()) {
                        electives[e] = true;
                    }
                }
                let mut unavailable = vec![false; slot_count];
                for slot in &t.unavailable {
                    if let Some(index) = slot_index(instance, *slot) {
                        unavailable[index] = true;
                    }
                }
                let free = (0..slot_count)
                    .filter(|&s| available[s] && !unavailable[s])
                    .count();
                TeacherM {
                    compulsory,
                    electives,
                    max: t.max_periods as usize,
                    unavailable,
                    free,
                }
            })
            .collect();
        let teacher_free = teachers
            .iter()
            .map(|t| {
                (0..slot_count)
                    .filter(|&s| available[s] && !t.unavailable[s])
                    .count()
            })
            .collect();
        Model {
            instance,
            teacher_free,
            days,
            per_day,
            slot_count,
            available,
            compulsory_periods: instance
                .compulsory
                .iter()
                .map(|c| c.periods as usize)
                .collect(),
            items,
            students,
            admins,
            teachers,
            rooms,
            room_index,
            student_index: instance
                .students
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.as_str(), i))
                .collect(),
            teacher_index: instance
                .teachers
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id.as_str(), i))
                .collect(),
            admin_index,
            compulsory_index,
            elective_index,
        }
    }

    pub fn slot(&self, index: usize) -> Slot {
        Slot::new((index / self.per_day) as u32, (index % self.per_day) as u32)
    }

    pub fn day(&self, index: usize) -> usize {
        index / self.per_day
    }

    pub fn available_slots(&self) -> Vec<usize> {
        (0..self.slot_count)
            .filter(|&s| self.available[s])
            .collect()
    }

    pub fn compulsory_total(&self) -> usize {
        self.compulsory_periods.iter().sum()
    }

    /// Lower bound Σ ⌈demand ÷ max_class_size⌉ with the spec's max_class_size.
    pub fn lower_bound(&self) -> usize {
        self.items
            .iter()
            .map(|item| {
                let cap = self.instance.electives[item.elective].max_class_size.max(1) as usize;
                item.students.len().div_ceil(cap)
            })
            .sum()
    }

    pub fn item_name(&self, item: usize) -> String {
        let it = &self.items[item];
        format!("{} {}", self.instance.electives[it.elective].id, it.level)
    }
}

pub(crate) fn slot_index(instance: &Instance, slot: Slot) -> Option<usize> {
    if slot.day < instance.days && slot.period < instance.periods_per_day {
        Some((slot.day * instance.periods_per_day + slot.period) as usize)
    } else {
        None
    }
}
