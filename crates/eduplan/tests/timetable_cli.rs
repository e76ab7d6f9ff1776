//! `eduplan timetable` end to end: gen → solve → check, a hand-broken solution, a malformed instance.

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
