//! Weekly timetables of one student, teacher, room or administrative class, for pages, exports and the CLI.

use serde::Serialize;

use crate::format::{Instance, Level, Slot, Solution};

/// Whose timetable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Student(String),
    Teacher(String),
    Room(String),
    AdminClass(String),
}

/// One lesson in a cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub subject: String,
    /// `None` for compulsory lessons.
    pub level: Option<Level>,
    /// Teaching class id, or administrative class id for compulsory lessons.
    pub class: String,
    pub teacher: String,
    pub room: String,
}

/// `cells[day][period]` lists the lessons at that slot (more than one only in a broken timetable).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    pub title: String,
    pub days: u32,
    pub periods_per_day: u32,
    pub cells: Vec<Vec<Vec<Cell>>>,
    pub blocked: Vec<Slot>,
}

/// The timetable of `who`, or `None` when the id is unknown.
pub fn timetable_of(instance: &Instance, solution: &Solution, who: &Who) -> Option<Grid> {
    let (title, student_admin) = match who {
        Who::Student(id) => {
            let student = instance.students.iter().find(|s| s.id == *id)?;
            (
                format!("学生 student {id} ({})", student.admin_class),
                Some(student.admin_class.clone()),
            )
        }
        Who::Teacher(id) => {
            instance.teachers.iter().find(|t| t.id == *id)?;
            (format!("教师 teacher {id}"), None)
        }
        Who::Room(id) => {
            instance.rooms.iter().find(|r| r.id == *id)?;
            (format!("教室 room {id}"), None)
        }
        Who::AdminClass(id) => {
            instance.admin_classes.iter().find(|c| c.id == *id)?;
            (format!("行政班 class {id}"), None)
        }
    };
    let mut cells =
        vec![vec![Vec::new(); instance.periods_per_day as usize]; instance.days as usize];
    let mut put = |slot: &Slot, cell: Cell| {
        if let Some(list) = cells
            .get_mut(slot.day as usize)
            .and_then(|d| d.get_mut(slot.period as usize))
        {
            list.push(cell);
        }
    };
    for class in &solution.teaching_classes {
        let shown = match who {
            Who::Student(id) => class.students.iter().any(|s| s == id),
            Who::Teacher(id) => class.teacher == *id,
            Who::Room(id) => class.room == *id,
            Who::AdminClass(_) => false,
        };
        if shown {
            for slot in &class.slots {
                put(
                    slot,
                    Cell {
                        subject: class.subject.clone(),
                        level: Some(class.level),
                        class: class.id.clone(),
                        teacher: class.teacher.clone(),
                        room: class.room.clone(),
                    },
                );
            }
        }
    }
    for lesson in &solution.admin_lessons {
        let shown = match who {
            Who::Student(_) => student_admin.as_deref() == Some(lesson.admin_class.as_str()),
            Who::Teacher(id) => lesson.teacher == *id,
            Who::Room(id) => lesson.room == *id,
            Who::AdminClass(id) => lesson.admin_class == *id,
        };
        if shown {
            for slot in &lesson.slots {
                put(
                    slot,
                    Cell {
                        subject: lesson.subject.clone(),
                        level: None,
                        class: lesson.admin_class.clone(),
                        teacher: lesson.teacher.clone(),
                        room: lesson.room.clone(),
                    },
                );
            }
        }
    }
    Some(Grid {
        title,
        days: instance.days,
        periods_per_day: instance.periods_per_day,
        cells,
        blocked: instance.blocked.clone(),
    })
}

impl Grid {
    /// A plain-text table: one row per period, one column per day.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title);
        let _ = write!(out, "{:>4}", "");
        for day in 0..self.days {
            let _ = write!(out, " | {:<22}", format!("day {day}"));
        }
        out.push('\n');
        for period in 0..self.periods_per_day {
            let _ = write!(out, "{period:>4}");
            for day in 0..self.days {
                let cell = &self.cells[day as usize][period as usize];
                let text = if self.blocked.contains(&Slot::new(day, period)) {
                    "(blocked)".to_string()
                } else {
                    cell.iter()
                        .map(|c| match c.level {
                            Some(level) => format!("{} {} {}", c.class, level.letter(), c.room),
                            None => format!("{} {}", c.subject, c.room),
                        })
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                let _ = write!(out, " | {text:<22}");
            }
            out.push('\n');
        }
        out
    }
}
