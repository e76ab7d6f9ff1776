//! FET (.fet) import for the class-level timetables the zouban model can express, and the reduced FET file of an
//! import (the same problem, for running FET side by side).
//!
//! Mapping. Every leaf students set (a subgroup; a group without subgroups; a year without groups) becomes one
//! student in an administrative class of its own. Every FET activity group (an activity and its sub-activities)
//! becomes an elective taken at selective level by exactly the leaves under its students sets (proficiency periods
//! 0, `max_class_size` = that number of leaves), with the activity's teacher as the only teacher qualified for it,
//! so the solver forms exactly one teaching class per activity group with FET's teacher. Curricula differ between
//! FET classes, which zouban's compulsory subjects (same periods for every administrative class) cannot hold, so
//! there are no compulsory subjects. Teachers' `max_periods` is their FET load. Rooms are not modelled: there are
//! as many rooms as teachers, each large enough, so they never bind.
//!
//! Kept constraints: basic compulsory time and space, break times (→ `blocked`), teacher not available times
//! (→ `unavailable`), students set not available times when every leaf is unavailable at that slot (→ `blocked`);
//! only at weight 100%. Relaxed: sub-activities longer than one period become that many single periods (zouban has
//! no consecutive periods); activities with several teachers keep the first; activities without teacher get a
//! teacher of their own (equivalent); activities without students get a student of their own (equivalent). Every
//! other constraint is dropped and counted in [`ImportNotes::dropped`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::format::{
    AdminClass, ElectiveSubject, INSTANCE_FORMAT, Instance, LevelPeriods, Room, Slot, Student,
    Teacher,
};

/// Why a file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetError {
    #[error("not a readable FET file: {0}")]
    Xml(String),
    #[error("not expressible in eduplan-zouban/1: {0}")]
    Unsupported(String),
}

/// What the import kept, relaxed and dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportNotes {
    /// Active FET activities (sub-activities counted one by one).
    pub activities: usize,
    /// Activity groups, each one elective and one teaching class.
    pub activity_groups: usize,
    /// Periods a week over all activities.
    pub lessons: usize,
    /// Leaf students sets (one student each).
    pub leaves: usize,
    pub teachers: usize,
    /// Constraints mapped onto the instance, by FET tag.
    pub kept: BTreeMap<String, usize>,
    /// Relaxations that make the imported problem easier than FET's, with counts.
    pub relaxed: BTreeMap<String, usize>,
    /// Constraints dropped, by FET tag: (at weight 100%, below 100%).
    pub dropped: BTreeMap<String, (usize, usize)>,
}

impl ImportNotes {
    /// Hard (weight 100%) constraints dropped, all tags together.
    pub fn hard_dropped(&self) -> usize {
        self.dropped.values().map(|(hard, _)| hard).sum()
    }
}

type Node<'a, 'input> = roxmltree::Node<'a, 'input>;

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text(node: Node<'_, '_>, name: &str) -> String {
    child(node, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

fn number(node: Node<'_, '_>, name: &str) -> Option<usize> {
    text(node, name).parse().ok()
}

fn active(node: Node<'_, '_>) -> bool {
    !matches!(text(node, "Active").as_str(), "false" | "no" | "0")
}

fn weight(node: Node<'_, '_>) -> f64 {
    text(node, "Weight_Percentage").parse().unwrap_or(100.0)
}

/// One activity group as imported.
struct Group {
    id: String,
    subject: String,
    teacher: Option<String>,
    sets: Vec<String>,
    periods: usize,
}

/// Reads a FET file into an instance and notes; see the module documentation for the mapping.
pub fn import(xml: &str) -> Result<(Instance, ImportNotes), FetError> {
    let xml = xml.trim_start_matches('\u{feff}');
    let document = roxmltree::Document::parse(xml).map_err(|e| FetError::Xml(e.to_string()))?;
    let root = document.root_element();
    if root.tag_name().name() != "fet" {
        return Err(FetError::Xml(format!(
            "root element is <{}>, expected <fet>",
            root.tag_name().name()
        )));
    }
    let mode = text(root, "Mode");
    if !mode.is_empty() && mode != "Official" {
        return Err(FetError::Unsupported(format!(
            "FET mode {mode:?} (only the official mode's plain days and hours map to zouban slots)"
        )));
    }
    let mut notes = ImportNotes::default();

    // Days and hours.
    let days_list =
        child(root, "Days_List").ok_or_else(|| FetError::Xml("no <Days_List>".into()))?;
    let hours_list =
        child(root, "Hours_List").ok_or_else(|| FetError::Xml("no <Hours_List>".into()))?;
    let days: Vec<String> = children(days_list, "Day")
        .map(|d| text(d, "Name"))
        .collect();
    let hours: Vec<String> = children(hours_list, "Hour")
        .map(|h| text(h, "Name"))
        .collect();
    if days.is_empty() || days.len() > 7 || hours.is_empty() || hours.len() > 24 {
        return Err(FetError::Unsupported(format!(
            "{} days × {} hours (zouban allows 1..=7 days of 1..=24 periods)",
            days.len(),
            hours.len()
        )));
    }
    let slot_of = |node: Node<'_, '_>| -> Option<Slot> {
        let day = days.iter().position(|d| *d == text(node, "Day"))?;
        let hour = hours.iter().position(|h| *h == text(node, "Hour"))?;
        Some(Slot::new(day as u32, hour as u32))
    };

    // Students: leaves under every set name.
    let mut leaves_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut leaves: BTreeSet<String> = BTreeSet::new();
    if let Some(list) = child(root, "Students_List") {
        for year in children(list, "Year") {
            let year_name = text(year, "Name");
            let groups: Vec<Node<'_, '_>> = children(year, "Group").collect();
            if groups.is_empty() {
                leaves.insert(year_name.clone());
                leaves_of
                    .entry(year_name.clone())
                    .or_default()
                    .insert(year_name.clone());
            }
            for group in groups {
                let group_name = text(group, "Name");
                let subgroups: Vec<String> = children(group, "Subgroup")
                    .map(|s| text(s, "Name"))
                    .collect();
                let under: Vec<String> = if subgroups.is_empty() {
                    vec![group_name.clone()]
                } else {
                    subgroups
                };
                for leaf in under {
                    leaves.insert(leaf.clone());
                    leaves_of
                        .entry(leaf.clone())
                        .or_default()
                        .insert(leaf.clone());
                    leaves_of
                        .entry(group_name.clone())
                        .or_default()
                        .insert(leaf.clone());
                    leaves_of.entry(year_name.clone()).or_default().insert(leaf);
                }
            }
        }
    }

    // Activities, grouped.
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    if let Some(list) = child(root, "Activities_List") {
        for activity in children(list, "Activity") {
            if !active(activity) {
                continue;
            }
            notes.activities += 1;
            let id = text(activity, "Id");
            let group_id = match text(activity, "Activity_Group_Id").as_str() {
                "" | "0" => id.clone(),
                other => other.to_string(),
            };
            let duration = number(activity, "Duration").unwrap_or(1).max(1);
            if duration > 1 {
                *notes
                    .relaxed
                    .entry(
                        "sub-activity of several periods taken as separate single periods".into(),
                    )
                    .or_default() += 1;
            }
            let teachers: Vec<String> = children(activity, "Teacher")
                .filter_map(|t| t.text().map(|x| x.trim().to_string()))
                .collect();
            if teachers.len() > 1 {
                *notes
                    .relaxed
                    .entry("activity with several teachers: only the first kept".into())
                    .or_default() += 1;
            }
            let sets: Vec<String> = children(activity, "Students")
                .filter_map(|t| t.text().map(|x| x.trim().to_string()))
                .collect();
            for set in &sets {
                if !leaves_of.contains_key(set) {
                    return Err(FetError::Xml(format!(
                        "activity {id} names unknown students set {set:?}"
                    )));
                }
            }
            let entry = groups.entry(group_id.clone()).or_insert_with(|| {
                order.push(group_id.clone());
                Group {
                    id: group_id.clone(),
                    subject: text(activity, "Subject"),
                    teacher: teachers.first().cloned(),
                    sets: Vec::new(),
                    periods: 0,
                }
            });
            entry.periods += duration;
            for set in sets {
                if !entry.sets.contains(&set) {
                    entry.sets.push(set);
                }
            }
        }
    }
    if groups.is_empty() {
        return Err(FetError::Unsupported("no active activities".into()));
    }

    // Constraints.
    let mut blocked: BTreeSet<Slot> = BTreeSet::new();
    let mut unavailable: BTreeMap<String, BTreeSet<Slot>> = BTreeMap::new();
    let mut students_away: BTreeMap<Slot, BTreeSet<String>> = BTreeMap::new();
    for list_name in ["Time_Constraints_List", "Space_Constraints_List"] {
        let Some(list) = child(root, list_name) else {
            continue;
        };
        for constraint in list.children().filter(|c| c.is_element()) {
            if !active(constraint) {
                continue;
            }
            let tag = constraint.tag_name().name().to_string();
            let hard = weight(constraint) >= 100.0;
            let keep = |notes: &mut ImportNotes, tag: &str| {
                *notes.kept.entry(tag.to_string()).or_default() += 1
            };
            match (tag.as_str(), hard) {
                ("ConstraintBasicCompulsoryTime" | "ConstraintBasicCompulsorySpace", _) => {
                    keep(&mut notes, &tag)
                }
                ("ConstraintBreakTimes", true) => {
                    for slot in children(constraint, "Break_Time").filter_map(slot_of) {
                        blocked.insert(slot);
                    }
                    keep(&mut notes, &tag);
                }
                ("ConstraintTeacherNotAvailableTimes", true) => {
                    let teacher = text(constraint, "Teacher");
                    let slots = children(constraint, "Not_Available_Time").filter_map(slot_of);
                    unavailable.entry(teacher).or_default().extend(slots);
                    keep(&mut notes, &tag);
                }
                ("ConstraintStudentsSetNotAvailableTimes", true) => {
                    let set = text(constraint, "Students");
                    let under = leaves_of.get(&set).cloned().unwrap_or_default();
                    for slot in children(constraint, "Not_Available_Time").filter_map(slot_of) {
                        students_away
                            .entry(slot)
                            .or_default()
                            .extend(under.iter().cloned());
                    }
                }
                _ => {
                    let entry = notes.dropped.entry(tag).or_default();
                    if hard {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                }
            }
        }
    }
    // Students' unavailability maps only where it covers every leaf (then nobody can have a lesson there).
    let mut partial_away = 0;
    for (slot, away) in &students_away {
        if !leaves.is_empty() && away.len() == leaves.len() {
            blocked.insert(*slot);
        } else {
            partial_away += 1;
        }
    }
    if !students_away.is_empty() {
        *notes
            .kept
            .entry(
                "ConstraintStudentsSetNotAvailableTimes (slots where every leaf is away → blocked)"
                    .into(),
            )
            .or_default() += students_away.len() - partial_away;
    }
    if partial_away > 0 {
        notes.dropped.insert(
            "ConstraintStudentsSetNotAvailableTimes (slots where only some leaves are away)".into(),
            (partial_away, 0),
        );
    }

    // The instance.
    let mut electives = Vec::new();
    let mut taken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut teacher_subjects: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    let mut extra_students: Vec<String> = Vec::new();
    for group_id in &order {
        let group = &groups[group_id];
        let elective = format!("a{}", group.id);
        let mut under: BTreeSet<String> = BTreeSet::new();
        for set in &group.sets {
            under.extend(leaves_of[set].iter().cloned());
        }
        if under.is_empty() {
            // An activity without students still occupies its teacher: give it a student of its own.
            let own = format!("virtual-students-{}", group.id);
            extra_students.push(own.clone());
            under.insert(own);
            *notes
                .relaxed
                .entry("activity without students: a student of its own (equivalent)".into())
                .or_default() += 1;
        }
        for leaf in &under {
            taken
                .entry(leaf.clone())
                .or_default()
                .push(elective.clone());
        }
        let teacher = match &group.teacher {
            Some(t) => t.clone(),
            None => {
                *notes
                    .relaxed
                    .entry("activity without teacher: a teacher of its own (equivalent)".into())
                    .or_default() += 1;
                format!("virtual-teacher-{}", group.id)
            }
        };
        let entry = teacher_subjects.entry(teacher).or_default();
        entry.0.push(elective.clone());
        entry.1 += group.periods;
        notes.lessons += group.periods;
        electives.push(ElectiveSubject {
            id: elective,
            name: format!("{} ({})", group.subject, group.sets.join(", ")),
            periods: LevelPeriods {
                selective: group.periods as u32,
                proficiency: 0,
            },
            max_class_size: under.len() as u32,
        });
    }
    notes.activity_groups = groups.len();
    let mut all_leaves: Vec<String> = leaves.into_iter().collect();
    all_leaves.extend(extra_students);
    notes.leaves = all_leaves.len();
    let largest = electives
        .iter()
        .map(|e| e.max_class_size)
        .max()
        .unwrap_or(1);
    let teachers: Vec<Teacher> = teacher_subjects
        .into_iter()
        .map(|(id, (subjects, load))| Teacher {
            unavailable: unavailable
                .get(&id)
                .map(|s| {
                    s.iter()
                        .copied()
                        .filter(|slot| !blocked.contains(slot))
                        .collect()
                })
                .unwrap_or_default(),
            id,
            subjects,
            max_periods: load as u32,
        })
        .collect();
    notes.teachers = teachers.len();
    // One room per activity group: a teaching class keeps one room all week, so fewer rooms could bind.
    let rooms: Vec<Room> = (0..notes.activity_groups.max(1))
        .map(|r| Room {
            id: format!("V{:03}", r + 1),
            capacity: largest,
        })
        .collect();
    let instance = Instance {
        format: INSTANCE_FORMAT.to_string(),
        name: text(root, "Institution_Name"),
        days: days.len() as u32,
        periods_per_day: hours.len() as u32,
        compulsory: Vec::new(),
        electives,
        admin_classes: all_leaves
            .iter()
            .map(|leaf| AdminClass {
                id: leaf.clone(),
                room: rooms[0].id.clone(),
            })
            .collect(),
        students: all_leaves
            .iter()
            .map(|leaf| Student {
                id: leaf.clone(),
                admin_class: leaf.clone(),
                selective: taken.get(leaf).cloned().unwrap_or_default(),
            })
            .collect(),
        teachers,
        rooms,
        blocked: blocked.into_iter().collect(),
    };
    Ok((instance, notes))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The FET file of an instance made by [`import`]: the same problem (leaves as years of one student, each elective
/// as an activity group of single periods for its students with its one teacher, blocked slots as break times,
/// teachers' unavailable slots), so FET and EduPlan can be timed on identical input.
pub fn reduced_fet(instance: &Instance) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<fet version=\"6.8.5\">"
    );
    let _ = writeln!(out, "<Mode>Official</Mode>");
    let _ = writeln!(
        out,
        "<Institution_Name>{}</Institution_Name>",
        escape(&instance.name)
    );
    let _ = writeln!(
        out,
        "<Days_List>\n<Number_of_Days>{}</Number_of_Days>",
        instance.days
    );
    for d in 0..instance.days {
        let _ = writeln!(out, "<Day><Name>d{d}</Name></Day>");
    }
    let _ = writeln!(
        out,
        "</Days_List>\n<Hours_List>\n<Number_of_Hours>{}</Number_of_Hours>",
        instance.periods_per_day
    );
    for h in 0..instance.periods_per_day {
        let _ = writeln!(out, "<Hour><Name>h{h}</Name></Hour>");
    }
    let _ = writeln!(out, "</Hours_List>\n<Subjects_List>");
    for e in &instance.electives {
        let _ = writeln!(out, "<Subject><Name>{}</Name></Subject>", escape(&e.id));
    }
    let _ = writeln!(out, "</Subjects_List>\n<Teachers_List>");
    for t in &instance.teachers {
        let _ = writeln!(out, "<Teacher><Name>{}</Name></Teacher>", escape(&t.id));
    }
    let _ = writeln!(out, "</Teachers_List>\n<Students_List>");
    for s in &instance.students {
        let _ = writeln!(
            out,
            "<Year><Name>{}</Name><Number_of_Students>1</Number_of_Students></Year>",
            escape(&s.id)
        );
    }
    let _ = writeln!(out, "</Students_List>\n<Activities_List>");
    let mut next_id = 1;
    for e in &instance.electives {
        let teacher = instance
            .teachers
            .iter()
            .find(|t| t.subjects.contains(&e.id) && !t.id.starts_with("virtual-teacher-"));
        let students: Vec<&str> = instance
            .students
            .iter()
            .filter(|s| s.selective.contains(&e.id))
            .map(|s| s.id.as_str())
            .collect();
        let periods = e.periods.selective;
        let group = next_id;
        for _ in 0..periods {
            let _ = write!(out, "<Activity>");
            if let Some(t) = teacher {
                let _ = write!(out, "<Teacher>{}</Teacher>", escape(&t.id));
            }
            let _ = write!(out, "<Subject>{}</Subject>", escape(&e.id));
            for s in &students {
                let _ = write!(out, "<Students>{}</Students>", escape(s));
            }
            let _ = writeln!(
                out,
                "<Duration>1</Duration><Total_Duration>{periods}</Total_Duration><Id>{next_id}</Id>\
                 <Activity_Group_Id>{}</Activity_Group_Id><Active>true</Active></Activity>",
                if periods > 1 { group } else { 0 }
            );
            next_id += 1;
        }
    }
    let _ = writeln!(out, "</Activities_List>\n<Time_Constraints_List>");
    let _ = writeln!(
        out,
        "<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>"
    );
    if !instance.blocked.is_empty() {
        let _ = write!(
            out,
            "<ConstraintBreakTimes><Weight_Percentage>100</Weight_Percentage><Number_of_Break_Times>{}</Number_of_Break_Times>",
            instance.blocked.len()
        );
        for s in &instance.blocked {
            let _ = write!(
                out,
                "<Break_Time><Day>d{}</Day><Hour>h{}</Hour></Break_Time>",
                s.day, s.period
            );
        }
        let _ = writeln!(out, "<Active>true</Active></ConstraintBreakTimes>");
    }
    for t in &instance.teachers {
        if t.unavailable.is_empty() || t.id.starts_with("virtual-teacher-") {
            continue;
        }
        let _ = write!(
            out,
            "<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>{}</Teacher>\
             <Number_of_Not_Available_Times>{}</Number_of_Not_Available_Times>",
            escape(&t.id),
            t.unavailable.len()
        );
        for s in &t.unavailable {
            let _ = write!(
                out,
                "<Not_Available_Time><Day>d{}</Day><Hour>h{}</Hour></Not_Available_Time>",
                s.day, s.period
            );
        }
        let _ = writeln!(
            out,
            "<Active>true</Active></ConstraintTeacherNotAvailableTimes>"
        );
    }
    let _ = writeln!(
        out,
        "</Time_Constraints_List>\n<Space_Constraints_List>\n<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsorySpace>\n</Space_Constraints_List>\n</fet>"
    );
    out
}
