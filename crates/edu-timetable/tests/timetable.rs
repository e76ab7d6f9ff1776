//! Features of edu-timetable, tested through its public API with the independent checker as oracle.

use edu_timetable::format::{Slot, Teacher};
use edu_timetable::{
    GenerateOptions, Grouping, Instance, Mix, Solution, SolveError, SolveOptions, ViolationKind,
    check, generate, solve, stability, validate_instance,
};
use proptest::prelude::*;

fn instance(students: u32, seed: u64) -> Instance {
    generate(&GenerateOptions::new(students, seed))
}

fn solved(instance: &Instance) -> Solution {
    match solve(instance, &SolveOptions::default()) {
        Ok(outcome) => outcome.solution,
        Err(error) => panic!("solve failed: {error}"),
    }
}

fn kinds(instance: &Instance, solution: &Solution) -> Vec<ViolationKind> {
    check(instance, solution)
        .violations
        .iter()
        .map(|v| v.kind)
        .collect()
}

#[test]
fn instance_and_solution_round_trip_through_json() {
    let instance = instance(120, 3);
    let again = Instance::from_json(&instance.to_json()).unwrap();
    assert_eq!(again, instance);
    let solution = solved(&instance);
    let again = Solution::from_json(&solution.to_json()).unwrap();
    assert_eq!(again, solution);
}

#[test]
fn unknown_fields_and_wrong_tags_are_errors_with_their_path() {
    let text =
        instance(60, 1)
            .to_json()
            .replacen("\"admin_class\"", "\"colour\": 1, \"admin_class\"", 1);
    let error = Instance::from_json(&text).unwrap_err();
    assert!(error.path.starts_with("students[0]"), "{error}");
    assert!(error.message.contains("colour"), "{error}");
    assert!(error.line > 1);
    let wrong = instance(60, 1)
        .to_json()
        .replace("eduplan-zouban/1", "eduplan-zouban/9");
    assert_eq!(Instance::from_json(&wrong).unwrap_err().path, "format");
    let bad_level = "{\"format\":\"eduplan-zouban-solution/1\",\"teaching_classes\":[{\"id\":\"a\",\"subject\":\"phy\",\
        \"level\":\"expert\",\"teacher\":\"T\",\"room\":\"R\",\"students\":[],\"slots\":[]}],\"admin_lessons\":[]}";
    let error = Solution::from_json(bad_level).unwrap_err();
    assert!(error.path.contains("teaching_classes[0].level"), "{error}");
}

#[test]
fn validation_names_every_bad_reference() {
    let mut instance = instance(60, 2);
    instance.students[3].selective[0] = "astrology".into();
    instance.teachers[0].subjects.push("cooking".into());
    instance.admin_classes[0].room = "nowhere".into();
    instance.blocked.push(Slot::new(9, 0));
    let issues = validate_instance(&instance);
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert!(paths.contains(&"students[3].selective[0]"), "{paths:?}");
    assert!(
        paths.iter().any(|p| p.starts_with("teachers[0].subjects")),
        "{paths:?}"
    );
    assert!(paths.contains(&"admin_classes[0].room"), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("blocked")), "{paths:?}");
    assert!(matches!(
        solve(&instance, &SolveOptions::default()),
        Err(SolveError::Invalid(_))
    ));
}

#[test]
fn checker_catches_hand_broken_solutions() {
    let instance = instance(300, 5);
    let good = solved(&instance);
    assert!(check(&instance, &good).valid);

    // A student in two lessons at once: a teaching class moved onto an admin lesson's slot of a member.
    let mut broken = good.clone();
    let student = broken.teaching_classes[0].students[0].clone();
    let admin = instance
        .students
        .iter()
        .find(|s| s.id == student)
        .unwrap()
        .admin_class
        .clone();
    let slot = broken
        .admin_lessons
        .iter()
        .find(|l| l.admin_class == admin)
        .unwrap()
        .slots[0];
    broken.teaching_classes[0].slots[0] = slot;
    let found = check(&instance, &broken);
    assert!(
        found
            .violations
            .iter()
            .any(|v| v.kind == ViolationKind::StudentClash && v.message.contains(&student))
    );

    // An over-full room.
    let mut broken = good.clone();
    broken.teaching_classes[0].room = "M01".into();
    assert!(kinds(&instance, &broken).contains(&ViolationKind::RoomTooSmall));

    // Two classes in one room at once.
    let mut broken = good.clone();
    let (first, second) = (0..broken.teaching_classes.len())
        .flat_map(|a| (0..broken.teaching_classes.len()).map(move |b| (a, b)))
        .find(|&(a, b)| {
            a != b && broken.teaching_classes[a].slots == broken.teaching_classes[b].slots
        })
        .unwrap();
    broken.teaching_classes[second].room = broken.teaching_classes[first].room.clone();
    assert!(kinds(&instance, &broken).contains(&ViolationKind::RoomClash));

    // A teacher over max_periods.
    let mut tight = instance.clone();
    let teacher = good.teaching_classes[0].teacher.clone();
    tight
        .teachers
        .iter_mut()
        .find(|t| t.id == teacher)
        .unwrap()
        .max_periods = 1;
    assert!(kinds(&tight, &good).contains(&ViolationKind::TeacherOverload));

    // A lesson in a blocked slot and in a teacher's unavailable slot.
    let mut blocked = instance.clone();
    let slot = good.teaching_classes[0].slots[0];
    blocked.blocked.push(slot);
    blocked
        .teachers
        .iter_mut()
        .find(|t| t.id == teacher)
        .unwrap()
        .unavailable
        .push(slot);
    let found = kinds(&blocked, &good);
    assert!(found.contains(&ViolationKind::BlockedSlot));
    assert!(found.contains(&ViolationKind::TeacherUnavailable));

    // A student missing from a class, a student in two classes of one subject, wrong periods, wrong teacher.
    let mut broken = good.clone();
    broken.teaching_classes[0].students.remove(0);
    assert!(kinds(&instance, &broken).contains(&ViolationKind::StudentMissingClass));
    let mut broken = good.clone();
    let twin = (1..broken.teaching_classes.len())
        .find(|&c| {
            broken.teaching_classes[c].subject == broken.teaching_classes[0].subject
                && broken.teaching_classes[c].level == broken.teaching_classes[0].level
        })
        .unwrap();
    broken.teaching_classes[twin].students.push(student.clone());
    assert!(kinds(&instance, &broken).contains(&ViolationKind::StudentDuplicateClass));
    let mut broken = good.clone();
    broken.teaching_classes[0].slots.pop();
    assert!(kinds(&instance, &broken).contains(&ViolationKind::ClassPeriods));
    let mut broken = good.clone();
    broken.teaching_classes[0].teacher = broken.admin_lessons[0].teacher.clone();
    assert!(kinds(&instance, &broken).contains(&ViolationKind::TeacherSubject));
    let mut broken = good.clone();
    broken.admin_lessons[0].slots.pop();
    assert!(kinds(&instance, &broken).contains(&ViolationKind::AdminPeriods));

    // A class over max_class_size.
    let mut small = instance.clone();
    small.electives[0].max_class_size = 10;
    assert!(kinds(&small, &good).contains(&ViolationKind::ClassTooLarge));
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let a = instance(400, 11);
    let b = instance(400, 11);
    assert_eq!(a.to_json(), b.to_json());
    assert_ne!(a.to_json(), instance(400, 12).to_json());
    let options = SolveOptions {
        seed: 4,
        ..SolveOptions::default()
    };
    let first = solve(&a, &options).unwrap().solution.to_json();
    let second = solve(&b, &options).unwrap().solution.to_json();
    assert_eq!(first, second);
}

#[test]
fn infeasible_instances_name_the_short_resource() {
    // Physics teachers cut to one.
    let mut few = instance(400, 6);
    let mut kept_one = false;
    few.teachers.retain(|t| {
        if t.subjects != ["phy"] {
            return true;
        }
        let keep = !kept_one;
        kept_one = true;
        keep
    });
    let Err(SolveError::Infeasible(explanation)) = solve(&few, &SolveOptions::default()) else {
        panic!("expected infeasible");
    };
    assert!(
        explanation
            .shortages
            .iter()
            .any(|s| s.resource == "teachers:phy"),
        "{explanation}"
    );

    // More compulsory periods than the week has.
    let mut long = instance(100, 6);
    long.compulsory[0].periods = 40;
    let Err(SolveError::Infeasible(explanation)) = solve(&long, &SolveOptions::default()) else {
        panic!("expected infeasible");
    };
    assert!(
        explanation
            .shortages
            .iter()
            .any(|s| s.resource.starts_with("periods:")),
        "{explanation}"
    );

    // Rooms: only one room in the school.
    let mut one_room = instance(200, 6);
    one_room.rooms.truncate(1);
    let room = one_room.rooms[0].id.clone();
    for class in &mut one_room.admin_classes {
        class.room = room.clone();
    }
    let Err(SolveError::Infeasible(explanation)) = solve(&one_room, &SolveOptions::default())
    else {
        panic!("expected infeasible");
    };
    assert!(
        explanation
            .shortages
            .iter()
            .any(|s| s.resource.starts_with("rooms")),
        "{explanation}"
    );
}

#[test]
fn re_solving_after_small_changes_keeps_most_of_the_timetable() {
    let before = instance(600, 8);
    let first = solved(&before);
    let mut after = before.clone();
    // A teacher of chemistry leaves; ten students swap biology for geography or back.
    let leaving = first
        .teaching_classes
        .iter()
        .find(|c| c.subject == "chem")
        .unwrap()
        .teacher
        .clone();
    after.teachers.retain(|t| t.id != leaving);
    after.teachers.push(Teacher {
        id: "T999".into(),
        subjects: vec!["chem".into()],
        max_periods: 16,
        unavailable: vec![],
    });
    let mut changed = 0;
    for student in &mut after.students {
        if changed == 10 {
            break;
        }
        if let Some(position) = student.selective.iter().position(|s| s == "bio")
            && !student.selective.iter().any(|s| s == "geo")
        {
            student.selective[position] = "geo".into();
            changed += 1;
        }
    }
    assert_eq!(changed, 10);
    let hinted = solve(
        &after,
        &SolveOptions {
            hint: Some(&first),
            ..SolveOptions::default()
        },
    )
    .unwrap();
    assert!(check(&after, &hinted.solution).valid);
    let kept = hinted.stats.stability.unwrap();
    assert_eq!(kept, stability(&after, &first, &hinted.solution));
    let cold = solved(&after);
    let cold_kept = stability(&after, &first, &cold);
    assert!(kept.enrolments_kept >= 0.8, "{kept:?}");
    assert!(kept.admin_lessons_kept >= 0.8, "{kept:?}");
    assert!(
        kept.enrolments_kept >= cold_kept.enrolments_kept,
        "{kept:?} vs {cold_kept:?}"
    );
}

#[test]
fn views_show_each_persons_lessons() {
    use edu_timetable::view::{Who, timetable_of};
    let instance = instance(150, 9);
    let solution = solved(&instance);
    let student = &instance.students[0];
    let grid = timetable_of(&instance, &solution, &Who::Student(student.id.clone())).unwrap();
    let lessons: usize = grid.cells.iter().flatten().map(Vec::len).sum();
    let compulsory: u32 = instance.compulsory.iter().map(|c| c.periods).sum();
    let electives: u32 = instance
        .electives
        .iter()
        .map(|e| {
            if student.selective.contains(&e.id) {
                e.periods.selective
            } else {
                e.periods.proficiency
            }
        })
        .sum();
    assert_eq!(lessons as u32, compulsory + electives);
    assert!(grid.cells.iter().flatten().all(|cell| cell.len() <= 1));
    assert!(timetable_of(&instance, &solution, &Who::Teacher("nobody".into())).is_none());
}

fn mix_strategy() -> impl Strategy<Value = Mix> {
    prop::sample::select(Mix::ALL.to_vec())
}

fn grouping_strategy() -> impl Strategy<Value = Grouping> {
    prop::sample::select(Grouping::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn generated_instances_solve_without_violations_at_the_lower_bound(
        students in 150u32..700,
        seed in any::<u64>(),
        mix in mix_strategy(),
        grouping in grouping_strategy(),
        forty in any::<bool>(),
    ) {
        let instance = generate(&GenerateOptions {
            students, seed, mix, grouping, periods_per_week: if forty { 40 } else { 45 },
        });
        let outcome = solve(&instance, &SolveOptions { seed, ..SolveOptions::default() }).unwrap();
        let report = check(&instance, &outcome.solution);
        prop_assert!(report.valid, "{:?}", report.violations.first());
        // Small grades cannot always reach the bound (few classes per subject, many combinations).
        if students >= 200 {
            prop_assert_eq!(report.quality.teaching_classes, report.quality.lower_bound);
        }
        prop_assert!(report.quality.teaching_classes <= report.quality.lower_bound + report.quality.lower_bound / 2);
    }
}
