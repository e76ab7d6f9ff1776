//! Unusual but feasible instances, built around a planted timetable: for fuzzing the solver.
//!
//! The instance is drawn first (any number of days and periods, blocked slots, compulsory and elective subjects of
//! odd lengths, proficiency periods 0, students choosing any number of selective subjects, administrative classes
//! of unequal size), then a timetable is built that breaks no hard constraint, and only then are teachers and rooms
//! derived from it: teachers with little spare capacity and many unavailable slots, barely enough rooms,
//! `max_class_size` sometimes below an administrative class's size. The planted timetable proves the instance
//! feasible; it has far more teaching classes than needed, so it is no hint for the solver.

use crate::format::{
    AdminClass, AdminLesson, CompulsorySubject, ElectiveSubject, INSTANCE_FORMAT, Instance, Level,
    LevelPeriods, Room, SOLUTION_FORMAT, Slot, Solution, Student, Teacher, TeachingClass,
};
use crate::rng::SplitMix64;

/// How large and how tight a planted instance is.
#[derive(Debug, Clone)]
pub struct PlantedOptions {
    pub seed: u64,
    pub students: u32,
    /// Normal (false): students' weeks at most about 85% full, teachers with 1–4 periods to spare and at most half
    /// their free slots unavailable, a spare room or two. Tight (true): weeks may be full, teachers at their exact
    /// load with up to 80% of free slots unavailable, no spare room: a stress test.
    pub tight: bool,
}

/// One unit of the planted timetable: a compulsory subject for a class, or a teaching class.
struct Unit {
    /// Compulsory subject number, or elective number and level.
    subject: Subject,
    admin: usize,
    members: Vec<usize>,
    slots: Vec<usize>,
}

#[derive(Clone, Copy)]
enum Subject {
    Compulsory(usize),
    Elective(usize, Level),
}

/// An unusual instance and a valid timetable for it.
pub fn planted(options: &PlantedOptions) -> (Instance, Solution) {
    let mut rng = SplitMix64::stream(options.seed, "planted");
    let days = [4u32, 5, 5, 5, 6][rng.below(5)];
    let per_day = rng.range_inclusive(6, 10);
    let slot_count = (days * per_day) as usize;
    let mut available = vec![true; slot_count];
    for _ in 0..rng.below(4) {
        available[rng.below(slot_count)] = false;
    }
    let open: Vec<usize> = (0..slot_count).filter(|&s| available[s]).collect();
    let week = open.len();

    // Subjects.
    let compulsory: Vec<u32> = (0..rng.below(6))
        .map(|_| rng.range_inclusive(1, 6))
        .collect();
    let mut compulsory_total: u32 = compulsory.iter().sum();
    let mut compulsory = compulsory;
    while compulsory_total as usize > week / 2 {
        compulsory.pop();
        compulsory_total = compulsory.iter().sum();
    }
    let electives: Vec<(u32, u32, u32)> = (0..rng.range_inclusive(2, 8))
        .map(|_| {
            let selective = rng.range_inclusive(1, 6);
            let proficiency = if rng.below(10) < 3 {
                0
            } else {
                rng.range_inclusive(1, 3)
            };
            let cap = rng.range_inclusive(8, 60);
            (selective, proficiency, cap)
        })
        .collect();

    // Administrative classes of unequal size, and students choosing any number of selective subjects.
    let n = options.students.max(1) as usize;
    let admin_count = (n / rng.range_inclusive(20, 60) as usize).max(1);
    let weights: Vec<f64> = (0..admin_count).map(|_| 0.3 + rng.unit()).collect();
    let mut admin_of: Vec<usize> = (0..n).map(|_| rng.weighted(&weights)).collect();
    admin_of.sort_unstable();
    let budget = if options.tight {
        week - compulsory_total as usize
    } else {
        (week * 85 / 100)
            .saturating_sub(compulsory_total as usize)
            .max(1)
    };
    let mut choices: Vec<Vec<usize>> = Vec::with_capacity(n);
    for _ in 0..n {
        let k = match rng.below(10) {
            0 => 0,
            1 => electives.len(),
            _ => rng.range_inclusive(1, 4.min(electives.len() as u32)) as usize,
        };
        let mut all: Vec<usize> = (0..electives.len()).collect();
        rng.shuffle(&mut all);
        let mut chosen: Vec<usize> = all[..k].to_vec();
        chosen.sort_unstable();
        // Drop choices until the student's week fits.
        loop {
            let need: u32 = (0..electives.len())
                .map(|e| {
                    if chosen.contains(&e) {
                        electives[e].0
                    } else {
                        electives[e].1
                    }
                })
                .sum();
            if need as usize <= budget || chosen.is_empty() {
                break;
            }
            let drop = rng.below(chosen.len());
            chosen.remove(drop);
        }
        choices.push(chosen);
    }
    // A student with no selective subject may still need too many proficiency periods: trim those electives'
    // proficiency periods (to 0) until everyone fits.
    let mut electives = electives;
    loop {
        let worst = (0..n)
            .map(|s| {
                (0..electives.len())
                    .map(|e| {
                        if choices[s].contains(&e) {
                            electives[e].0
                        } else {
                            electives[e].1
                        }
                    })
                    .sum::<u32>() as usize
            })
            .max()
            .unwrap_or(0);
        if worst <= budget {
            break;
        }
        match (0..electives.len()).max_by_key(|&e| electives[e].1) {
            Some(e) if electives[e].1 > 0 => electives[e].1 -= 1,
            _ => {
                for e in &mut electives {
                    e.0 = e.0.min(1);
                }
            }
        }
    }

    // The planted timetable, one administrative class at a time.
    let mut units: Vec<Unit> = Vec::new();
    for a in 0..admin_count {
        let members: Vec<usize> = (0..n).filter(|&s| admin_of[s] == a).collect();
        let mut class_busy = vec![false; slot_count];
        let mut busy: Vec<Vec<bool>> = vec![vec![false; slot_count]; n];
        let take = |slots: &[usize], who: &[usize], busy: &mut Vec<Vec<bool>>| {
            for &s in slots {
                for &st in who {
                    busy[st][s] = true;
                }
            }
        };
        let mut cursor = rng.below(week);
        for (c, &periods) in compulsory.iter().enumerate() {
            let mut slots = Vec::new();
            for _ in 0..periods {
                while class_busy[open[cursor % week]] {
                    cursor += 1;
                }
                let chosen = open[cursor % week];
                class_busy[chosen] = true;
                slots.push(chosen);
                cursor += 1 + rng.below(3);
                take(&[chosen], &members, &mut busy);
            }
            slots.sort_unstable();
            units.push(Unit {
                subject: Subject::Compulsory(c),
                admin: a,
                members: members.clone(),
                slots,
            });
        }
        for (e, &(selective, proficiency, cap)) in electives.iter().enumerate() {
            for level in Level::BOTH {
                let periods = if level == Level::Selective {
                    selective
                } else {
                    proficiency
                } as usize;
                if periods == 0 {
                    continue;
                }
                let takers: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&s| choices[s].contains(&e) == (level == Level::Selective))
                    .collect();
                if takers.is_empty() {
                    continue;
                }
                let parts = takers.len().div_ceil(cap as usize);
                let mut pending: Vec<Vec<usize>> = (0..parts)
                    .map(|p| {
                        takers
                            .iter()
                            .copied()
                            .skip(p)
                            .step_by(parts)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                // Place each class where all its students are free; split it when no such slots remain (a class
                // of one always fits, as every student's week fits).
                while let Some(group) = pending.pop() {
                    let free: Vec<usize> = open
                        .iter()
                        .copied()
                        .filter(|&s| group.iter().all(|&st| !busy[st][s]))
                        .collect();
                    if free.len() >= periods {
                        let start = rng.below(free.len());
                        let mut slots: Vec<usize> = (0..periods)
                            .map(|j| free[(start + j * free.len() / periods) % free.len()])
                            .collect();
                        slots.sort_unstable();
                        slots.dedup();
                        if slots.len() == periods {
                            take(&slots, &group, &mut busy);
                            units.push(Unit {
                                subject: Subject::Elective(e, level),
                                admin: a,
                                members: group,
                                slots,
                            });
                            continue;
                        }
                    }
                    let half = group.len() / 2;
                    if half == 0 {
                        // Cannot happen: a single student always has `periods` free slots left.
                        continue;
                    }
                    pending.push(group[..half].to_vec());
                    pending.push(group[half..].to_vec());
                }
            }
        }
    }

    // Teachers: reuse one of the subject who is free and under a target load, else hire; max_periods barely above
    // the load; many unavailable slots among the free ones; some teach a second subject too.
    struct PlantTeacher {
        subject: String,
        busy: Vec<bool>,
        load: usize,
        target: usize,
    }
    let subject_id = |subject: Subject| match subject {
        Subject::Compulsory(c) => format!("c{c}"),
        Subject::Elective(e, _) => format!("e{e}"),
    };
    let mut teachers: Vec<PlantTeacher> = Vec::new();
    let mut unit_teacher: Vec<usize> = Vec::with_capacity(units.len());
    let mut order: Vec<usize> = (0..units.len()).collect();
    rng.shuffle(&mut order);
    unit_teacher.resize(units.len(), 0);
    for u in order {
        let id = subject_id(units[u].subject);
        let periods = units[u].slots.len();
        let found = (0..teachers.len()).find(|&t| {
            teachers[t].subject == id
                && teachers[t].load + periods <= teachers[t].target
                && units[u].slots.iter().all(|&s| !teachers[t].busy[s])
        });
        let t = match found {
            Some(t) => t,
            None => {
                teachers.push(PlantTeacher {
                    subject: id,
                    busy: vec![false; slot_count],
                    load: 0,
                    target: rng.range_inclusive(periods as u32, 24) as usize,
                });
                teachers.len() - 1
            }
        };
        for &s in &units[u].slots {
            teachers[t].busy[s] = true;
        }
        teachers[t].load += periods;
        unit_teacher[u] = t;
    }

    // Rooms: each administrative class's own room (sometimes smaller than the class), then rooms for teaching
    // classes only as the plan needs them.
    let mut rooms: Vec<(u32, Vec<bool>)> = Vec::new();
    let admin_size: Vec<usize> = (0..admin_count)
        .map(|a| admin_of.iter().filter(|&&x| x == a).count())
        .collect();
    for &size in &admin_size {
        let capacity = if rng.below(4) == 0 {
            (size as u32)
                .saturating_sub(rng.range_inclusive(1, 10))
                .max(1)
        } else {
            size as u32 + rng.range_inclusive(0, 10)
        };
        rooms.push((capacity, vec![false; slot_count]));
    }
    let mut unit_room: Vec<usize> = vec![0; units.len()];
    for (u, unit) in units.iter().enumerate() {
        if let Subject::Compulsory(_) = unit.subject {
            unit_room[u] = unit.admin;
            for &s in &unit.slots {
                rooms[unit.admin].1[s] = true;
            }
        }
    }
    for (u, unit) in units.iter().enumerate() {
        if let Subject::Elective(..) = unit.subject {
            let size = unit.members.len() as u32;
            let found = (0..rooms.len())
                .find(|&r| rooms[r].0 >= size && unit.slots.iter().all(|&s| !rooms[r].1[s]));
            let r = match found {
                Some(r) => r,
                None => {
                    rooms.push((size + rng.range_inclusive(0, 10), vec![false; slot_count]));
                    rooms.len() - 1
                }
            };
            for &s in &unit.slots {
                rooms[r].1[s] = true;
            }
            unit_room[u] = r;
        }
    }

    if !options.tight {
        // A spare room or two, as large as the largest administrative class.
        let largest = admin_size.iter().copied().max().unwrap_or(1) as u32;
        for _ in 0..1 + rng.below(2) {
            rooms.push((
                largest + rng.range_inclusive(0, 10),
                vec![false; slot_count],
            ));
        }
    }
    let slot = |s: usize| Slot::new(s as u32 / per_day, s as u32 % per_day);
    let elective_count = electives.len();
    let instance = Instance {
        format: INSTANCE_FORMAT.to_string(),
        name: format!(
            "planted: {n} students, seed {}, {days}×{per_day}",
            options.seed
        ),
        days,
        periods_per_day: per_day,
        compulsory: compulsory
            .iter()
            .enumerate()
            .map(|(c, &periods)| CompulsorySubject {
                id: format!("c{c}"),
                name: String::new(),
                periods,
            })
            .collect(),
        electives: electives
            .iter()
            .enumerate()
            .map(|(e, &(selective, proficiency, cap))| ElectiveSubject {
                id: format!("e{e}"),
                name: String::new(),
                periods: LevelPeriods {
                    selective,
                    proficiency,
                },
                max_class_size: cap,
            })
            .collect(),
        admin_classes: (0..admin_count)
            .map(|a| AdminClass {
                id: format!("A{a:02}"),
                room: format!("R{a:03}"),
            })
            .collect(),
        students: (0..n)
            .map(|s| Student {
                id: format!("S{s:04}"),
                admin_class: format!("A{:02}", admin_of[s]),
                selective: choices[s].iter().map(|e| format!("e{e}")).collect(),
            })
            .collect(),
        teachers: teachers
            .iter()
            .enumerate()
            .map(|(t, teacher)| {
                let mut subjects = vec![teacher.subject.clone()];
                if rng.below(5) == 0 {
                    let other = if rng.below(2) == 0 && !compulsory.is_empty() {
                        format!("c{}", rng.below(compulsory.len()))
                    } else {
                        format!("e{}", rng.below(elective_count))
                    };
                    if !subjects.contains(&other) {
                        subjects.push(other);
                    }
                }
                let fraction = if options.tight {
                    [0, 0, 20, 50, 80][rng.below(5)]
                } else {
                    [0, 0, 10, 30, 50][rng.below(5)]
                };
                let unavailable: Vec<Slot> = open
                    .iter()
                    .copied()
                    .filter(|&s| !teacher.busy[s] && rng.below(100) < fraction)
                    .map(slot)
                    .collect();
                Teacher {
                    id: format!("T{t:03}"),
                    subjects,
                    max_periods: (teacher.load
                        + if options.tight {
                            rng.below(3)
                        } else {
                            1 + rng.below(4)
                        }) as u32,
                    unavailable,
                }
            })
            .collect(),
        rooms: rooms
            .iter()
            .enumerate()
            .map(|(r, (capacity, _))| Room {
                id: format!("R{r:03}"),
                capacity: *capacity,
            })
            .collect(),
        blocked: (0..slot_count)
            .filter(|&s| !available[s])
            .map(slot)
            .collect(),
    };
    // The electives' max_class_size must admit every planted class (splits only make classes smaller).
    let solution = Solution {
        format: SOLUTION_FORMAT.to_string(),
        teaching_classes: units
            .iter()
            .enumerate()
            .filter_map(|(u, unit)| match unit.subject {
                Subject::Elective(e, level) => Some(TeachingClass {
                    id: format!("P{u:05}"),
                    subject: format!("e{e}"),
                    level,
                    teacher: format!("T{:03}", unit_teacher[u]),
                    room: format!("R{:03}", unit_room[u]),
                    students: unit.members.iter().map(|s| format!("S{s:04}")).collect(),
                    slots: unit.slots.iter().map(|&s| slot(s)).collect(),
                }),
                Subject::Compulsory(_) => None,
            })
            .collect(),
        admin_lessons: units
            .iter()
            .enumerate()
            .filter_map(|(u, unit)| match unit.subject {
                Subject::Compulsory(c) => Some(AdminLesson {
                    admin_class: format!("A{:02}", unit.admin),
                    subject: format!("c{c}"),
                    teacher: format!("T{:03}", unit_teacher[u]),
                    room: format!("R{:03}", unit_room[u]),
                    slots: unit.slots.iter().map(|&s| slot(s)).collect(),
                }),
                Subject::Elective(..) => None,
            })
            .collect(),
    };
    (instance, solution)
}
