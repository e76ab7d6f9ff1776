//! Instance validation: references, duplicates and ranges, every problem at once with its JSON path.

use std::collections::{HashMap, HashSet};

use crate::format::{INSTANCE_FORMAT, Instance, Slot};

/// One problem in an instance, with the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceIssue {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for InstanceIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem that makes the instance unusable; empty when it is well formed.
pub fn validate_instance(instance: &Instance) -> Vec<InstanceIssue> {
    let mut issues = Vec::new();
    let mut issue = |path: String, message: String| issues.push(InstanceIssue { path, message });
    if instance.format != INSTANCE_FORMAT {
        issue("format".into(), format!("expected {INSTANCE_FORMAT:?}"));
    }
    if instance.days == 0 || instance.days > 7 {
        issue(
            "days".into(),
            format!("must be 1..=7, is {}", instance.days),
        );
    }
    if instance.periods_per_day == 0 || instance.periods_per_day > 24 {
        issue(
            "periods_per_day".into(),
            format!("must be 1..=24, is {}", instance.periods_per_day),
        );
    }
    let in_range = |slot: &Slot| slot.day < instance.days && slot.period < instance.periods_per_day;

    let mut subjects: HashMap<&str, &'static str> = HashMap::new();
    for (index, subject) in instance.compulsory.iter().enumerate() {
        if subject.id.is_empty() {
            issue(format!("compulsory[{index}].id"), "empty id".into());
        }
        if subjects.insert(subject.id.as_str(), "compulsory").is_some() {
            issue(
                format!("compulsory[{index}].id"),
                format!("duplicate subject id {:?}", subject.id),
            );
        }
    }
    for (index, subject) in instance.electives.iter().enumerate() {
        if subject.id.is_empty() {
            issue(format!("electives[{index}].id"), "empty id".into());
        }
        if subjects.insert(subject.id.as_str(), "elective").is_some() {
            issue(
                format!("electives[{index}].id"),
                format!("duplicate subject id {:?}", subject.id),
            );
        }
        if subject.max_class_size == 0 {
            issue(
                format!("electives[{index}].max_class_size"),
                "must be at least 1".into(),
            );
        }
    }

    let room_ids = unique_ids(
        instance.rooms.iter().map(|r| r.id.as_str()),
        "rooms",
        &mut issue,
    );
    let class_ids = unique_ids(
        instance.admin_classes.iter().map(|c| c.id.as_str()),
        "admin_classes",
        &mut issue,
    );
    unique_ids(
        instance.students.iter().map(|s| s.id.as_str()),
        "students",
        &mut issue,
    );
    unique_ids(
        instance.teachers.iter().map(|t| t.id.as_str()),
        "teachers",
        &mut issue,
    );

    for (index, class) in instance.admin_classes.iter().enumerate() {
        if !room_ids.contains(class.room.as_str()) {
            issue(
                format!("admin_classes[{index}].room"),
                format!("unknown room {:?}", class.room),
            );
        }
    }
    for (index, student) in instance.students.iter().enumerate() {
        if !class_ids.contains(student.admin_class.as_str()) {
            issue(
                format!("students[{index}].admin_class"),
                format!(
                    "student {} names unknown administrative class {:?}",
                    student.id, student.admin_class
                ),
            );
        }
        let mut seen = HashSet::new();
        for (position, subject) in student.selective.iter().enumerate() {
            let path = format!("students[{index}].selective[{position}]");
            match subjects.get(subject.as_str()) {
                Some(&"elective") => {}
                Some(_) => issue(path, format!("{subject:?} is compulsory, not an elective")),
                None => issue(
                    path,
                    format!("student {} names unknown elective {subject:?}", student.id),
                ),
            }
            if !seen.insert(subject.as_str()) {
                issue(
                    format!("students[{index}].selective[{position}]"),
                    format!("{subject:?} listed twice"),
                );
            }
        }
    }
    for (index, teacher) in instance.teachers.iter().enumerate() {
        for (position, subject) in teacher.subjects.iter().enumerate() {
            if !subjects.contains_key(subject.as_str()) {
                issue(
                    format!("teachers[{index}].subjects[{position}]"),
                    format!("teacher {} names unknown subject {subject:?}", teacher.id),
                );
            }
        }
        for (position, slot) in teacher.unavailable.iter().enumerate() {
            if !in_range(slot) {
                issue(
                    format!("teachers[{index}].unavailable[{position}]"),
                    format!("slot {slot} outside the week"),
                );
            }
        }
    }
    for (position, slot) in instance.blocked.iter().enumerate() {
        if !in_range(slot) {
            issue(
                format!("blocked[{position}]"),
                format!("slot {slot} outside the week"),
            );
        }
    }
    issues
}

fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    list: &str,
    issue: &mut impl FnMut(String, String),
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for (index, id) in ids.enumerate() {
        if id.is_empty() {
            issue(format!("{list}[{index}].id"), "empty id".into());
        }
        if !seen.insert(id) {
            issue(
                format!("{list}[{index}].id"),
                format!("duplicate id {id:?}"),
            );
        }
    }
    seen
}
