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

    // An over-full room: the largest class into the smallest room.
    let mut broken = good.clone();
    let largest = (0..broken.teaching_classes.len())
        .max_by_key(|&c| broken.teaching_classes[c].students.len())
        .unwrap();
    let smallest = instance.rooms.iter().min_by_key(|r| r.capacity).unwrap();
    assert!(broken.teaching_classes[largest].students.len() as u32 > smallest.capacity);
    broken.teaching_classes[largest].room = smallest.id.clone();
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

/// Grade sizes from 30 to 2,000, spread evenly on a log scale.
fn students_strategy() -> impl Strategy<Value = u32> {
    (0.0f64..1.0).prop_map(|x| (30.0 * (2000.0f64 / 30.0).powf(x)).round() as u32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// docs/timetable.md: every generated instance is solved with zero hard violations, and from 150 students up
    /// with exactly the lower-bound number of teaching classes.
    #[test]
    fn generated_instances_solve_without_violations_at_the_lower_bound(
        students in students_strategy(),
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
        if students >= 150 {
            prop_assert_eq!(report.quality.teaching_classes, report.quality.lower_bound);
        }
        // Small grades: one class per item cannot fit three parallel blocks; the bound is still close.
        prop_assert!(report.quality.teaching_classes <= report.quality.lower_bound + 6);
    }
}

/// Fuzz: unusual instances (odd lengths, any number of selective subjects, proficiency periods 0, blocked slots,
/// unequal classes, tight teachers with many unavailable slots, few rooms, small max_class_size), each feasible by
/// a planted timetable, must all be solved.
#[test]
fn planted_unusual_instances_are_all_solved() {
    use edu_timetable::planted::{PlantedOptions, planted};
    for seed in 0..8u64 {
        let students = [30u32, 60, 120, 250][seed as usize % 4];
        let (instance, plant) = planted(&PlantedOptions {
            seed,
            students,
            tight: false,
        });
        assert!(validate_instance(&instance).is_empty(), "seed {seed}");
        let planted_report = check(&instance, &plant);
        assert!(
            planted_report.valid,
            "seed {seed}: plant {:?}",
            planted_report.violations.first()
        );
        let outcome = match solve(
            &instance,
            &SolveOptions {
                seed,
                ..SolveOptions::default()
            },
        ) {
            Ok(outcome) => outcome,
            Err(error) => panic!("seed {seed} ({students} students): {error}"),
        };
        let report = check(&instance, &outcome.solution);
        assert!(report.valid, "seed {seed}: {:?}", report.violations.first());
        assert!(report.quality.teaching_classes >= report.quality.lower_bound);
    }
}

/// A timetable that cannot exist but that no counting argument refutes is reported as not found, never as
/// proven impossible: two electives a student takes, each with one teacher who is present only at the same slot.
#[test]
fn unproven_failures_are_not_called_infeasible() {
    use edu_timetable::format::{
        AdminClass, ElectiveSubject, INSTANCE_FORMAT, LevelPeriods, Room, Student,
    };
    let elective = |id: &str| ElectiveSubject {
        id: id.into(),
        name: String::new(),
        periods: LevelPeriods {
            selective: 1,
            proficiency: 0,
        },
        max_class_size: 10,
    };
    let away_but = |keep: Slot| -> Vec<Slot> {
        (0..2)
            .flat_map(|d| (0..3).map(move |p| Slot::new(d, p)))
            .filter(|s| *s != keep)
            .collect()
    };
    let instance = Instance {
        format: INSTANCE_FORMAT.into(),
        name: String::new(),
        days: 2,
        periods_per_day: 3,
        compulsory: vec![],
        electives: vec![elective("x"), elective("y")],
        admin_classes: vec![AdminClass {
            id: "A".into(),
            room: "R".into(),
        }],
        students: vec![Student {
            id: "S".into(),
            admin_class: "A".into(),
            selective: vec!["x".into(), "y".into()],
        }],
        teachers: vec![
            Teacher {
                id: "TX".into(),
                subjects: vec!["x".into()],
                max_periods: 3,
                unavailable: away_but(Slot::new(0, 1)),
            },
            Teacher {
                id: "TY".into(),
                subjects: vec!["y".into()],
                max_periods: 3,
                unavailable: away_but(Slot::new(0, 1)),
            },
        ],
        rooms: vec![Room {
            id: "R".into(),
            capacity: 10,
        }],
        blocked: vec![],
    };
    // A budget that runs out after a fixed number of questions: deterministic, and quick.
    let asked = std::cell::Cell::new(0u32);
    let budget = || {
        asked.set(asked.get() + 1);
        asked.get() > 2_000
    };
    let outcome = solve(
        &instance,
        &SolveOptions {
            budget: &budget,
            ..SolveOptions::default()
        },
    );
    assert!(
        matches!(outcome, Err(SolveError::NotFound(_))),
        "{outcome:?}"
    );
}

/// A Hall-type proof: two subjects share their only teachers, who together cannot cover both.
#[test]
fn shared_teachers_too_few_for_two_subjects_are_proven_short() {
    let mut instance = instance(300, 4);
    // Physics and chemistry teachers may teach both, but only half of them stay.
    let mut kept = 0;
    instance.teachers.retain(|t| {
        if t.subjects != ["phy"] && t.subjects != ["chem"] {
            return true;
        }
        kept += 1;
        kept % 2 == 0
    });
    for teacher in &mut instance.teachers {
        if teacher.subjects == ["phy"] || teacher.subjects == ["chem"] {
            teacher.subjects = vec!["phy".into(), "chem".into()];
            teacher.max_periods = 12;
        }
    }
    let Err(SolveError::Infeasible(explanation)) = solve(&instance, &SolveOptions::default())
    else {
        panic!("expected a proof");
    };
    let shortage = &explanation.shortages[0];
    assert!(shortage.resource.starts_with("teachers:"), "{explanation}");
    assert!(shortage.needed > shortage.available, "{explanation}");
}

/// The quality pass keeps every hard constraint, never makes the figures worse, and its figures are the
/// checker's.
#[test]
fn the_quality_pass_lowers_idle_periods_and_agrees_with_the_checker() {
    let instance = generate(&GenerateOptions {
        students: 600,
        seed: 5,
        mix: Mix::Hlj2021,
        grouping: Grouping::Mixed,
        periods_per_week: 45,
    });
    let plain = solve(
        &instance,
        &SolveOptions {
            improve: false,
            ..SolveOptions::default()
        },
    )
    .unwrap();
    let improved = solve(&instance, &SolveOptions::default()).unwrap();
    let before = check(&instance, &plain.solution);
    let after = check(&instance, &improved.solution);
    assert!(before.valid && after.valid);
    assert_eq!(
        after.quality.teaching_classes,
        before.quality.teaching_classes
    );
    let weighted = |q: &edu_timetable::Quality| {
        q.student_idle_periods
            + 3 * q.teacher_idle_periods
            + 30 * u64::from(q.same_subject_twice_a_day)
    };
    assert!(
        weighted(&after.quality) < weighted(&before.quality),
        "{:?} vs {:?}",
        after.quality,
        before.quality
    );
    assert!(after.quality.same_subject_twice_a_day <= before.quality.same_subject_twice_a_day);
    let figures = improved.stats.quality;
    assert_eq!(figures.student_idle, after.quality.student_idle_periods);
    assert_eq!(figures.teacher_idle, after.quality.teacher_idle_periods);
    assert_eq!(
        figures.same_subject_twice_a_day,
        u64::from(after.quality.same_subject_twice_a_day)
    );
    assert_eq!(improved.stats.quality_before, plain.stats.quality);
}

const SMALL_FET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Institution_Name>Test school</Institution_Name>
<Days_List><Number_of_Days>3</Number_of_Days>
<Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day><Day><Name>Wed</Name></Day></Days_List>
<Hours_List><Number_of_Hours>4</Number_of_Hours>
<Hour><Name>h1</Name></Hour><Hour><Name>h2</Name></Hour><Hour><Name>h3</Name></Hour><Hour><Name>h4</Name></Hour>
</Hours_List>
<Subjects_List><Subject><Name>Math</Name></Subject><Subject><Name>Art</Name></Subject>
<Subject><Name>Sport</Name></Subject><Subject><Name>Lab</Name></Subject></Subjects_List>
<Teachers_List><Teacher><Name>Ann</Name></Teacher><Teacher><Name>Bob</Name></Teacher></Teachers_List>
<Students_List>
<Year><Name>Y1</Name><Number_of_Students>40</Number_of_Students>
  <Group><Name>Y1 A</Name><Number_of_Students>20</Number_of_Students>
    <Subgroup><Name>Y1 A x</Name><Number_of_Students>10</Number_of_Students></Subgroup>
    <Subgroup><Name>Y1 A y</Name><Number_of_Students>10</Number_of_Students></Subgroup>
  </Group>
  <Group><Name>Y1 B</Name><Number_of_Students>20</Number_of_Students></Group>
</Year>
<Year><Name>Y2</Name><Number_of_Students>25</Number_of_Students></Year>
</Students_List>
<Activities_List>
<Activity><Teacher>Ann</Teacher><Subject>Math</Subject><Students>Y1 A</Students><Duration>1</Duration>
  <Total_Duration>2</Total_Duration><Id>1</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>Ann</Teacher><Subject>Math</Subject><Students>Y1 A</Students><Duration>1</Duration>
  <Total_Duration>2</Total_Duration><Id>2</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>Bob</Teacher><Subject>Art</Subject><Students>Y1</Students><Duration>2</Duration>
  <Total_Duration>2</Total_Duration><Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Subject>Sport</Subject><Students>Y2</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>4</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>Ann</Teacher><Teacher>Bob</Teacher><Subject>Lab</Subject><Students>Y1 B</Students>
  <Duration>1</Duration><Total_Duration>1</Total_Duration><Id>5</Id><Activity_Group_Id>0</Activity_Group_Id>
  <Active>true</Active></Activity>
<Activity><Teacher>Bob</Teacher><Subject>Lab</Subject><Students>Y2</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>6</Id><Activity_Group_Id>0</Activity_Group_Id><Active>false</Active></Activity>
</Activities_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage></ConstraintBasicCompulsoryTime>
<ConstraintBreakTimes><Weight_Percentage>100</Weight_Percentage><Number_of_Break_Times>1</Number_of_Break_Times>
  <Break_Time><Day>Wed</Day><Hour>h4</Hour></Break_Time></ConstraintBreakTimes>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>Bob</Teacher>
  <Number_of_Not_Available_Times>1</Number_of_Not_Available_Times>
  <Not_Available_Time><Day>Mon</Day><Hour>h1</Hour></Not_Available_Time></ConstraintTeacherNotAvailableTimes>
<ConstraintStudentsSetNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Students>Y1</Students>
  <Number_of_Not_Available_Times>2</Number_of_Not_Available_Times>
  <Not_Available_Time><Day>Tue</Day><Hour>h1</Hour></Not_Available_Time>
  <Not_Available_Time><Day>Mon</Day><Hour>h2</Hour></Not_Available_Time></ConstraintStudentsSetNotAvailableTimes>
<ConstraintStudentsSetNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Students>Y2</Students>
  <Number_of_Not_Available_Times>1</Number_of_Not_Available_Times>
  <Not_Available_Time><Day>Tue</Day><Hour>h1</Hour></Not_Available_Time></ConstraintStudentsSetNotAvailableTimes>
<ConstraintMinDaysBetweenActivities><Weight_Percentage>95</Weight_Percentage><Number_of_Activities>2</Number_of_Activities>
  <Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><MinDays>1</MinDays></ConstraintMinDaysBetweenActivities>
<ConstraintTeacherMaxGapsPerWeek><Weight_Percentage>100</Weight_Percentage><Teacher_Name>Ann</Teacher_Name>
  <Max_Gaps>0</Max_Gaps></ConstraintTeacherMaxGapsPerWeek>
</Time_Constraints_List>
<Space_Constraints_List>
<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage></ConstraintBasicCompulsorySpace>
</Space_Constraints_List>
</fet>
"#;

#[test]
fn fet_files_import_with_notes_of_what_was_kept_relaxed_and_dropped() {
    use edu_timetable::fet::import;
    let (instance, notes) = import(SMALL_FET).unwrap();
    assert!(
        validate_instance(&instance).is_empty(),
        "{:?}",
        validate_instance(&instance)
    );
    assert_eq!((instance.days, instance.periods_per_day), (3, 4));
    // Break at Wed h4; Tue h1 blocked because every leaf is away then; Mon h2 (only Y1 away) cannot be kept.
    assert_eq!(instance.blocked, vec![Slot::new(1, 0), Slot::new(2, 3)]);
    let leaves: Vec<&str> = instance.students.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(leaves, ["Y1 A x", "Y1 A y", "Y1 B", "Y2"]);
    let takers = |id: &str| -> Vec<&str> {
        instance
            .students
            .iter()
            .filter(|s| s.selective.iter().any(|e| e == id))
            .map(|s| s.id.as_str())
            .collect()
    };
    assert_eq!(
        instance.electives.len(),
        4,
        "the inactive activity is left out"
    );
    assert_eq!(instance.electives[0].periods.selective, 2);
    assert_eq!(takers("a1"), ["Y1 A x", "Y1 A y"]);
    assert_eq!(takers("a3"), ["Y1 A x", "Y1 A y", "Y1 B"]);
    assert_eq!(
        instance.electives[1].periods.selective, 2,
        "a double period becomes two single ones"
    );
    let ann = instance.teachers.iter().find(|t| t.id == "Ann").unwrap();
    assert_eq!(ann.subjects, ["a1", "a5"]);
    assert_eq!(ann.max_periods, 3);
    let bob = instance.teachers.iter().find(|t| t.id == "Bob").unwrap();
    assert_eq!(bob.unavailable, vec![Slot::new(0, 0)]);
    assert!(
        instance
            .teachers
            .iter()
            .any(|t| t.subjects == ["a4"] && t.id.starts_with("virtual-teacher"))
    );
    assert_eq!(notes.activities, 5);
    assert_eq!(notes.lessons, 6);
    assert_eq!(notes.relaxed.len(), 3, "{:?}", notes.relaxed);
    assert_eq!(notes.dropped["ConstraintMinDaysBetweenActivities"], (0, 1));
    assert_eq!(notes.dropped["ConstraintTeacherMaxGapsPerWeek"], (1, 0));
    assert_eq!(notes.hard_dropped(), 2, "{:?}", notes.dropped);

    // Solved, with FET's teacher for each activity group and one class each.
    let outcome = solve(&instance, &SolveOptions::default()).unwrap();
    assert!(check(&instance, &outcome.solution).valid);
    assert_eq!(outcome.solution.teaching_classes.len(), 4);
    let math = outcome
        .solution
        .teaching_classes
        .iter()
        .find(|c| c.subject == "a1")
        .unwrap();
    assert_eq!(math.teacher, "Ann");
}

#[test]
fn the_reduced_fet_file_is_the_same_problem() {
    use edu_timetable::fet::{import, reduced_fet};
    let (instance, _) = import(SMALL_FET).unwrap();
    let (again, notes) = import(&reduced_fet(&instance)).unwrap();
    assert!(
        notes.dropped.is_empty() && notes.relaxed.keys().all(|k| k.contains("equivalent")),
        "{notes:?}"
    );
    assert_eq!(
        (again.days, again.periods_per_day),
        (instance.days, instance.periods_per_day)
    );
    assert_eq!(again.blocked, instance.blocked);
    let shape = |i: &Instance| {
        let mut rows: Vec<(u32, Vec<String>, String, Vec<Slot>)> = i
            .electives
            .iter()
            .map(|e| {
                let students = i
                    .students
                    .iter()
                    .filter(|s| s.selective.contains(&e.id))
                    .map(|s| s.id.clone())
                    .collect();
                let teacher = i
                    .teachers
                    .iter()
                    .find(|t| t.subjects.contains(&e.id))
                    .unwrap();
                let name = if teacher.id.starts_with("virtual") {
                    "-".to_string()
                } else {
                    teacher.id.clone()
                };
                (
                    e.periods.selective,
                    students,
                    name,
                    teacher.unavailable.clone(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(shape(&again), shape(&instance));
}

#[test]
fn files_fet_cannot_share_are_refused_with_a_reason() {
    use edu_timetable::fet::{FetError, import};
    let terms = SMALL_FET.replace("<Institution_Name>", "<Mode>Terms</Mode><Institution_Name>");
    assert!(matches!(import(&terms), Err(FetError::Unsupported(m)) if m.contains("Terms")));
    assert!(matches!(import("<fet><Days_List>"), Err(FetError::Xml(_))));
    let unknown = SMALL_FET.replace(
        "<Students>Y2</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>4</Id>",
        "<Students>Y9</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>4</Id>",
    );
    assert!(matches!(import(&unknown), Err(FetError::Xml(m)) if m.contains("Y9")));
}
