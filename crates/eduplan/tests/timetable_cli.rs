//! `eduplan timetable` end to end: gen → solve → check, a hand-broken solution, a malformed instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

fn eduplan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eduplan"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eduplan-tt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn gen_solve_check_and_catch_a_broken_solution() {
    let instance = temp("i.json");
    let solution = temp("s.json");
    let status = eduplan()
        .args([
            "timetable",
            "gen",
            "--students",
            "240",
            "--seed",
            "3",
            "--mix",
            "uniform",
            "--out",
        ])
        .arg(&instance)
        .status()
        .unwrap();
    assert!(status.success());
    let status = eduplan()
        .args(["timetable", "solve"])
        .arg(&instance)
        .arg("--out")
        .arg(&solution)
        .status()
        .unwrap();
    assert!(status.success());
    let output = eduplan()
        .args(["timetable", "check", "--json"])
        .arg(&instance)
        .arg(&solution)
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(
        report["quality"]["teaching_classes"],
        report["quality"]["lower_bound"]
    );

    // Put the first class's first student into the second class too, at a clashing time: check must fail.
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&solution).unwrap()).unwrap();
    let classes = value["teaching_classes"].as_array_mut().unwrap();
    let student = classes[0]["students"][0].clone();
    let slot = classes[0]["slots"][0].clone();
    let other = classes
        .iter()
        .position(|c| c["subject"] != classes[0]["subject"] && c["slots"][0] != slot)
        .unwrap();
    classes[other]["students"]
        .as_array_mut()
        .unwrap()
        .push(student.clone());
    classes[other]["slots"][0] = slot;
    let broken = temp("broken.json");
    std::fs::write(&broken, serde_json::to_string(&value).unwrap()).unwrap();
    let output = eduplan()
        .args(["timetable", "check"])
        .arg(&instance)
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("student {}", student.as_str().unwrap())),
        "{text}"
    );

    let show = eduplan()
        .args(["timetable", "show"])
        .arg(&instance)
        .arg(&solution)
        .args(["--student", student.as_str().unwrap()])
        .output()
        .unwrap();
    assert!(show.status.success());
    assert!(String::from_utf8_lossy(&show.stdout).contains("day 4"));
}

#[test]
fn malformed_instances_are_rejected_with_their_path() {
    let instance = temp("bad.json");
    std::fs::write(
        &instance,
        r#"{"format":"eduplan-zouban/1","days":5,"periods_per_day":8,"students":[{"id":"S1","admin_class":"A","grade":10}]}"#,
    )
    .unwrap();
    let output = eduplan()
        .args(["timetable", "solve"])
        .arg(&instance)
        .arg("--out")
        .arg(temp("never.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("students[0]") && text.contains("grade"),
        "{text}"
    );
}

#[test]
fn planted_instances_solve_and_exit_codes_separate_proof_from_budget() {
    let instance = temp("planted.json");
    let plant = temp("plant.json");
    let solution = temp("planted-solution.json");
    let status = eduplan()
        .args([
            "timetable",
            "gen",
            "--planted",
            "--students",
            "80",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&instance)
        .arg("--plant-out")
        .arg(&plant)
        .status()
        .unwrap();
    assert!(status.success());
    // The planted timetable proves the instance feasible.
    let checked = eduplan()
        .args(["timetable", "check"])
        .arg(&instance)
        .arg(&plant)
        .status()
        .unwrap();
    assert!(checked.success());
    let solved = eduplan()
        .args(["timetable", "solve"])
        .arg(&instance)
        .arg("--out")
        .arg(&solution)
        .status()
        .unwrap();
    assert!(solved.success());
    let checked = eduplan()
        .args(["timetable", "check"])
        .arg(&instance)
        .arg(&solution)
        .status()
        .unwrap();
    assert!(checked.success());

    // No time at all: not found (3), which is not a proof.
    let output = eduplan()
        .args(["timetable", "solve", "--seconds", "0"])
        .arg(&instance)
        .arg("--out")
        .arg(temp("never2.json"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("not proven impossible"));

    // A provably short resource: every teacher's max_periods cut to 1 (1).
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&instance).unwrap()).unwrap();
    for teacher in value["teachers"].as_array_mut().unwrap() {
        teacher["max_periods"] = serde_json::json!(1);
    }
    let short = temp("short.json");
    std::fs::write(&short, serde_json::to_string(&value).unwrap()).unwrap();
    let output = eduplan()
        .args(["timetable", "solve"])
        .arg(&short)
        .arg("--out")
        .arg(temp("never3.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("no timetable exists") && text.contains("teachers"),
        "{text}"
    );
}

#[test]
fn fet_files_import_and_solve() {
    let fet = temp("school.fet");
    std::fs::write(
        &fet,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Days_List><Number_of_Days>2</Number_of_Days><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day></Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours><Hour><Name>1</Name></Hour><Hour><Name>2</Name></Hour>
<Hour><Name>3</Name></Hour></Hours_List>
<Teachers_List><Teacher><Name>Ann</Name></Teacher><Teacher><Name>Bob</Name></Teacher></Teachers_List>
<Students_List><Year><Name>Y1</Name><Group><Name>Y1 A</Name></Group><Group><Name>Y1 B</Name></Group></Year>
</Students_List>
<Activities_List>
<Activity><Teacher>Ann</Teacher><Subject>Math</Subject><Students>Y1 A</Students><Duration>1</Duration>
<Total_Duration>3</Total_Duration><Id>1</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>Ann</Teacher><Subject>Math</Subject><Students>Y1 A</Students><Duration>2</Duration>
<Total_Duration>3</Total_Duration><Id>2</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>Bob</Teacher><Subject>Art</Subject><Students>Y1</Students><Duration>1</Duration>
<Total_Duration>1</Total_Duration><Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>Ann</Teacher><Subject>Math</Subject><Students>Y1 B</Students><Duration>1</Duration>
<Total_Duration>1</Total_Duration><Id>4</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
</Activities_List>
<Time_Constraints_List>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>Bob</Teacher>
<Not_Available_Time><Day>Mon</Day><Hour>1</Hour></Not_Available_Time></ConstraintTeacherNotAvailableTimes>
<ConstraintMinDaysBetweenActivities><Weight_Percentage>95</Weight_Percentage></ConstraintMinDaysBetweenActivities>
</Time_Constraints_List>
</fet>
"#,
    )
    .unwrap();
    let instance = temp("school.json");
    let reduced = temp("school-reduced.fet");
    let output = eduplan()
        .args(["timetable", "import-fet"])
        .arg(&fet)
        .arg("--out")
        .arg(&instance)
        .arg("--reduced-fet")
        .arg(&reduced)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("dropped ConstraintMinDaysBetweenActivities: 0 at 100%, 1 below"),
        "{text}"
    );
    assert!(
        text.contains("relaxed sub-activity of several periods"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&reduced)
            .unwrap()
            .contains("<ConstraintTeacherNotAvailableTimes>")
    );
    let solution = temp("school-solution.json");
    let solved = eduplan()
        .args(["timetable", "solve"])
        .arg(&instance)
        .arg("--out")
        .arg(&solution)
        .status()
        .unwrap();
    assert!(solved.success());
    let output = eduplan()
        .args(["timetable", "check", "--json"])
        .arg(&instance)
        .arg(&solution)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["quality"]["teaching_classes"], 3);

    // Not a FET file: exit 1 with the reason.
    std::fs::write(&fet, "<school/>").unwrap();
    let output = eduplan()
        .args(["timetable", "import-fet"])
        .arg(&fet)
        .arg("--out")
        .arg(&instance)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("<fet>"));
}
