//! Why no timetable can exist: necessary conditions on teachers, rooms and periods, each naming the short resource.

use serde::Serialize;

use crate::solve::model::Model;

/// A resource that is short: what is needed, what there is, and a sentence saying so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    /// `teachers:<subject>`, `rooms`, `rooms:<subject> <level>`, `periods:student`, `periods:admin_class`, `periods:teacher`.
    pub resource: String,
    pub needed: u64,
    pub available: u64,
    pub message: String,
}

impl std::fmt::Display for Shortage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (needed {}, available {})",
            self.message, self.needed, self.available
        )
    }
}

/// Necessary conditions that fail; empty does not promise a timetable exists.
pub(crate) fn shortages(model: &Model<'_>) -> Vec<Shortage> {
    let instance = model.instance;
    let mut out = Vec::new();
    let slots = model.available_slots().len() as u64;
    let compulsory = model.compulsory_total() as u64;

    // Periods: each administrative class and each student must fit into the week.
    for (number, class) in instance.admin_classes.iter().enumerate() {
        if compulsory > slots {
            out.push(Shortage {
                resource: "periods:admin_class".into(),
                needed: compulsory,
                available: slots,
                message: format!(
                    "administrative class {} needs {compulsory} compulsory periods but the week has {slots} unblocked slots",
                    class.id
                ),
            });
            if number >= 2 {
                break;
            }
        }
    }
    let mut over: Vec<(u64, usize)> = Vec::new();
    for (number, student) in model.students.iter().enumerate() {
        let need = compulsory
            + student
                .items
                .iter()
                .map(|&i| model.items[i].periods as u64)
                .sum::<u64>();
        if need > slots {
            over.push((need, number));
        }
    }
    if let Some(&(need, first)) = over.first() {
        out.push(Shortage {
            resource: "periods:student".into(),
            needed: need,
            available: slots,
            message: format!(
                "{} student(s), e.g. {}, need {need} periods a week but only {slots} slots are not blocked",
                over.len(),
                instance.students[first].id
            ),
        });
    }

    // Teachers per compulsory subject: one teacher per (class, subject), within max_periods and free slots.
    for (subject, &periods) in model.compulsory_periods.iter().enumerate() {
        if periods == 0 || model.admins.is_empty() {
            continue;
        }
        let id = &instance.compulsory[subject].id;
        let classes = model.admins.len() as u64;
        let capacity: u64 = model
            .teachers
            .iter()
            .filter(|t| t.compulsory[subject])
            .map(|t| {
                let free = (0..model.slot_count)
                    .filter(|&s| model.available[s] && !t.unavailable[s])
                    .count();
                (t.max.min(free) / periods) as u64
            })
            .sum();
        if capacity < classes {
            out.push(Shortage {
                resource: format!("teachers:{id}"),
                needed: classes * periods as u64,
                available: capacity * periods as u64,
                message: format!(
                    "compulsory {id}: {classes} administrative classes × {periods} periods need whole-class teachers; \
                     the qualified teachers' max_periods allow only {capacity} classes"
                ),
            });
        }
    }

    // Teachers per elective: periods of the classes at the lower bound against qualified max_periods.
    for (elective, subject) in instance.electives.iter().enumerate() {
        let need: u64 = model
            .items
            .iter()
            .filter(|i| i.elective == elective)
            .map(|i| (i.students.len().div_ceil(i.cap) * i.periods) as u64)
            .sum();
        if need == 0 {
            continue;
        }
        let qualified: Vec<&crate::solve::model::TeacherM> = model
            .teachers
            .iter()
            .filter(|t| t.electives[elective])
            .collect();
        let capacity: u64 = qualified.iter().map(|t| t.max.min(t.free) as u64).sum();
        if capacity < need {
            out.push(Shortage {
                resource: format!("teachers:{}", subject.id),
                needed: need,
                available: capacity,
                message: format!(
                    "elective {}: its teaching classes need {need} teacher-periods a week; the {} qualified teacher(s) \
                     offer {capacity} (each at most max_periods and at most their available slots)",
                    subject.id,
                    qualified.len()
                ),
            });
        }
    }

    // Every class of an item needs one teacher for all its periods.
    for (i, item) in model.items.iter().enumerate() {
        if item.students.is_empty() {
            continue;
        }
        let best = model
            .teachers
            .iter()
            .filter(|t| t.electives[item.elective])
            .map(|t| t.max.min(t.free))
            .max()
            .unwrap_or(0);
        if best < item.periods {
            out.push(Shortage {
                resource: format!("teachers:{}", instance.electives[item.elective].id),
                needed: item.periods as u64,
                available: best as u64,
                message: format!(
                    "a {} class meets {} periods a week, but no qualified teacher can give more than {best} \
                     (max_periods and available slots)",
                    model.item_name(i),
                    item.periods
                ),
            });
        }
    }
    if out.is_empty() {
        out.extend(teacher_flow(model));
    }

    // All teachers together.
    let need_all: u64 = model
        .items
        .iter()
        .map(|i| (i.students.len().div_ceil(i.cap) * i.periods) as u64)
        .sum::<u64>()
        + compulsory * model.admins.len() as u64;
    let capacity_all: u64 = model
        .teachers
        .iter()
        .map(|t| t.max.min(t.free) as u64)
        .sum();
    if capacity_all < need_all {
        out.push(Shortage {
            resource: "teachers".into(),
            needed: need_all,
            available: capacity_all,
            message: format!("all lessons need {need_all} teacher-periods; all teachers together offer {capacity_all}"),
        });
    }

    // Rooms: none large enough, or too few room-periods for all lessons.
    let largest = model.rooms.iter().copied().max().unwrap_or(0);
    for item in &model.items {
        if !item.students.is_empty() && largest == 0 {
            out.push(Shortage {
                resource: "rooms".into(),
                needed: 1,
                available: 0,
                message: format!(
                    "no room can hold a {} class",
                    model.item_name(item_index(model, item))
                ),
            });
            break;
        }
    }
    let room_periods_needed: u64 = model
        .items
        .iter()
        .map(|i| (i.students.len().div_ceil(i.cap) * i.periods) as u64)
        .sum::<u64>()
        + compulsory * model.admins.len() as u64;
    let room_periods = model.rooms.len() as u64 * slots;
    if room_periods < room_periods_needed {
        out.push(Shortage {
            resource: "rooms".into(),
            needed: room_periods_needed,
            available: room_periods,
            message: format!(
                "all lessons need {room_periods_needed} room-periods; {} rooms × {slots} slots give {room_periods}",
                model.rooms.len()
            ),
        });
    }
    out
}

/// Hall's condition for teachers, by max-flow: subjects (compulsory: classes × periods; electives: periods of their
/// classes at the lower bound) to the teachers qualified for them, each offering min(max_periods, available slots).
/// A deficit comes with a minimum cut: a set of subjects whose qualified teachers, all of them together, offer fewer
/// teacher-periods than those subjects need.
fn teacher_flow(model: &Model<'_>) -> Option<Shortage> {
    let instance = model.instance;
    let compulsory = instance.compulsory.len();
    let subjects = compulsory + instance.electives.len();
    let teachers = model.teachers.len();
    let mut demand = vec![0u64; subjects];
    for (c, &periods) in model.compulsory_periods.iter().enumerate() {
        demand[c] = (periods * model.admins.len()) as u64;
    }
    for item in &model.items {
        demand[compulsory + item.elective] +=
            (item.students.len().div_ceil(item.cap) * item.periods) as u64;
    }
    let total: u64 = demand.iter().sum();
    if total == 0 {
        return None;
    }
    // Nodes: 0 source, 1..=subjects, then teachers, then sink.
    let source = 0;
    let sink = 1 + subjects + teachers;
    let nodes = sink + 1;
    let mut capacity = vec![vec![0u64; nodes]; nodes];
    capacity[source][1..=subjects].copy_from_slice(&demand);
    for (t, teacher) in model.teachers.iter().enumerate() {
        let node = 1 + subjects + t;
        capacity[node][sink] = teacher.max.min(teacher.free) as u64;
        for c in 0..compulsory {
            if teacher.compulsory[c] {
                capacity[1 + c][node] = u64::MAX / 4;
            }
        }
        for e in 0..instance.electives.len() {
            if teacher.electives[e] {
                capacity[1 + compulsory + e][node] = u64::MAX / 4;
            }
        }
    }
    let mut flow = 0u64;
    loop {
        // Breadth-first augmenting path.
        let mut parent = vec![usize::MAX; nodes];
        parent[source] = source;
        let mut queue = std::collections::VecDeque::from([source]);
        while let Some(v) = queue.pop_front() {
            for w in 0..nodes {
                if parent[w] == usize::MAX && capacity[v][w] > 0 {
                    parent[w] = v;
                    queue.push_back(w);
                }
            }
        }
        if parent[sink] == usize::MAX {
            break;
        }
        let mut bottleneck = u64::MAX;
        let mut v = sink;
        while v != source {
            bottleneck = bottleneck.min(capacity[parent[v]][v]);
            v = parent[v];
        }
        let mut v = sink;
        while v != source {
            let u = parent[v];
            capacity[u][v] -= bottleneck;
            capacity[v][u] = capacity[v][u].saturating_add(bottleneck);
            v = u;
        }
        flow += bottleneck;
    }
    if flow >= total {
        return None;
    }
    // The source side of the minimum cut: subjects still reachable, and their teachers.
    let mut reached = vec![false; nodes];
    reached[source] = true;
    let mut stack = vec![source];
    while let Some(v) = stack.pop() {
        for w in 0..nodes {
            if !reached[w] && capacity[v][w] > 0 {
                reached[w] = true;
                stack.push(w);
            }
        }
    }
    let names: Vec<String> = (0..subjects)
        .filter(|&j| reached[1 + j] && demand[j] > 0)
        .map(|j| {
            if j < compulsory {
                instance.compulsory[j].id.clone()
            } else {
                instance.electives[j - compulsory].id.clone()
            }
        })
        .collect();
    let needed: u64 = (0..subjects)
        .filter(|&j| reached[1 + j])
        .map(|j| demand[j])
        .sum();
    let cut_teachers: Vec<usize> = (0..teachers)
        .filter(|&t| reached[1 + subjects + t])
        .collect();
    let offered: u64 = cut_teachers
        .iter()
        .map(|&t| model.teachers[t].max.min(model.teachers[t].free) as u64)
        .sum();
    Some(Shortage {
        resource: format!("teachers:{}", names.join("+")),
        needed,
        available: offered,
        message: format!(
            "subjects {} need {needed} teacher-periods a week at the lower bound; the {} teacher(s) qualified for any \
             of them offer {offered} in all (each at most max_periods and their available slots), whoever else they \
             teach",
            names.join(", "),
            cut_teachers.len()
        ),
    })
}

fn item_index(model: &Model<'_>, item: &crate::solve::model::Item) -> usize {
    model
        .items
        .iter()
        .position(|i| i.elective == item.elective && i.level == item.level)
        .unwrap_or(0)
}

/// Utilisation of the main resources, busiest first: used to say which resource is tightest when search fails.
pub(crate) fn tightest(model: &Model<'_>) -> Vec<Shortage> {
    let instance = model.instance;
    let slots = model.available_slots().len() as u64;
    let compulsory = model.compulsory_total() as u64;
    let mut rows = Vec::new();
    for (elective, subject) in instance.electives.iter().enumerate() {
        let need: u64 = model
            .items
            .iter()
            .filter(|i| i.elective == elective)
            .map(|i| (i.students.len().div_ceil(i.cap) * i.periods) as u64)
            .sum();
        let capacity: u64 = model
            .teachers
            .iter()
            .filter(|t| t.electives[elective])
            .map(|t| t.max as u64)
            .sum();
        if need > 0 {
            rows.push(Shortage {
                resource: format!("teachers:{}", subject.id),
                needed: need,
                available: capacity,
                message: format!(
                    "teachers of {}: {need} of {capacity} teacher-periods needed",
                    subject.id
                ),
            });
        }
    }
    for (subject, &periods) in model.compulsory_periods.iter().enumerate() {
        let need = (periods * model.admins.len()) as u64;
        let capacity: u64 = model
            .teachers
            .iter()
            .filter(|t| t.compulsory[subject])
            .map(|t| t.max as u64)
            .sum();
        if need > 0 {
            let id = &instance.compulsory[subject].id;
            rows.push(Shortage {
                resource: format!("teachers:{id}"),
                needed: need,
                available: capacity,
                message: format!("teachers of {id}: {need} of {capacity} teacher-periods needed"),
            });
        }
    }
    let max_student = model
        .students
        .iter()
        .map(|s| {
            compulsory
                + s.items
                    .iter()
                    .map(|&i| model.items[i].periods as u64)
                    .sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    rows.push(Shortage {
        resource: "periods:student".into(),
        needed: max_student,
        available: slots,
        message: format!("the busiest student needs {max_student} of {slots} unblocked periods"),
    });
    let room_need: u64 = model
        .items
        .iter()
        .map(|i| (i.students.len().div_ceil(i.cap) * i.periods) as u64)
        .sum::<u64>()
        + compulsory * model.admins.len() as u64;
    rows.push(Shortage {
        resource: "rooms".into(),
        needed: room_need,
        available: model.rooms.len() as u64 * slots,
        message: format!(
            "rooms: {room_need} of {} room-periods needed",
            model.rooms.len() as u64 * slots
        ),
    });
    rows.sort_by(|a, b| {
        let ra = a.needed as f64 / a.available.max(1) as f64;
        let rb = b.needed as f64 / b.available.max(1) as f64;
        rb.total_cmp(&ra).then_with(|| a.resource.cmp(&b.resource))
    });
    rows.truncate(4);
    rows
}
