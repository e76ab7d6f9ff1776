//! `eduplan plan check | diff | eval`: exit codes and output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(path)
}

fn eduplan(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_eduplan"))
        .args(args)
        .current_dir(repo(""))
        .output();
    output.unwrap_or_else(|error| panic!("cannot run eduplan: {error}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const SMALL_2021: &str = "crates/edu-plan/tests/fixtures/small-2021.toml";
const SMALL_2022: &str = "crates/edu-plan/tests/fixtures/small-2022.toml";

#[test]
fn check_passes_on_the_daqing_plan() {
    let output = eduplan(&["plan", "check", "plans/daqing-2021.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("ok — daqing-2021"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn check_with_the_seed_passes_when_the_seed_is_there() {
    let seed = repo("../shared/seed/000_a951aad1f741d909.txt");
    if !seed.exists() {
        eprintln!("seed not found at {}; skipped", seed.display());
        return;
    }
    let seed = seed.display().to_string();
    let output = eduplan(&[
        "plan",
        "check",
        "plans/daqing-2021.toml",
        "--seed",
        &seed,
        "--deny-warnings",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn check_fails_on_a_misspelt_metric_naming_line_and_column() {
    let text = std::fs::read_to_string(repo(SMALL_2021)).unwrap_or_else(|error| panic!("{error}"));
    let from = "indicator = \"100 * kg.pupils.public / kg.pupils\"";
    let line = text
        .lines()
        .position(|l| l == from)
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("fixture"));
    let broken = text.replacen(
        from,
        "indicator = \"100 * kg.pupils.publik / kg.pupils\"",
        1,
    );
    let path = std::env::temp_dir().join(format!("eduplan-plan-cli-{}.toml", std::process::id()));
    std::fs::write(&path, broken).unwrap_or_else(|error| panic!("{error}"));
    let output = eduplan(&["plan", "check", &path.display().to_string()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(1));
    let expected =
        format!(":{line}:20: error: target `kg-public-share`: unknown metric `kg.pupils.publik`");
    assert!(stdout(&output).contains(&expected), "{}", stdout(&output));

    let json = eduplan(&["plan", "check", "--json", "plans/daqing-2021.toml"]);
    let report: serde_json::Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report["valid"], serde_json::Value::Bool(true));
    assert!(
        report["summary"]["commitments"]
            .as_u64()
            .is_some_and(|n| n >= 150)
    );
}

#[test]
fn diff_exit_codes_and_output() {
    let same = eduplan(&["plan", "diff", SMALL_2021, SMALL_2021]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert!(stdout(&same).contains("no differences"));

    let changed = eduplan(&["plan", "diff", SMALL_2021, SMALL_2022]);
    assert_eq!(changed.status.code(), Some(1));
    let text = stdout(&changed);
    assert!(
        text.contains("~ kg-gross-enrolment") && text.contains("target: 96 → 97"),
        "{text}"
    );
    assert!(
        text.contains("- safe-culture") && text.contains("+ safe-culture-2022"),
        "{text}"
    );

    let json = eduplan(&["plan", "diff", "--json", SMALL_2021, SMALL_2022]);
    let report: serde_json::Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report["targets"]["changed"][0]["id"], "kg-gross-enrolment");

    let missing = eduplan(&["plan", "diff", SMALL_2021, "no-such-plan.toml"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn eval_names_a_missing_database_and_creates_nothing() {
    let dir = std::env::temp_dir().join(format!("eduplan-plan-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{error}"));
    let db = dir.join("absent.db");
    let output = eduplan(&["plan", "eval", "--db", &db.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("absent.db"), "{stderr}");
    assert!(!db.exists(), "eval must not create a database");
    // The plan file is an option, not a positional argument.
    let positional = eduplan(&["plan", "eval", "plans/daqing-2021.toml"]);
    assert_eq!(positional.status.code(), Some(2));
}

#[test]
fn check_refuses_a_metric_summing_a_field_the_form_does_not_have() {
    let text = std::fs::read_to_string(repo("plans/daqing-2021.toml"))
        .unwrap_or_else(|error| panic!("{error}"));
    let from = "field = \"g36_minutes\"";
    assert!(text.contains(from), "fixture");
    let broken = text.replacen(from, "field = \"g36_minutez\"", 1);
    let path = std::env::temp_dir().join(format!("eduplan-plan-field-{}.toml", std::process::id()));
    std::fs::write(&path, broken).unwrap_or_else(|error| panic!("{error}"));
    let output = eduplan(&["plan", "check", &path.display().to_string()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let line = text
        .lines()
        .position(|l| l == from)
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("fixture"));
    let expected =
        format!(":{line}:9: error: obligation `homework-load` has no field `g36_minutez`");
    assert!(stdout(&output).contains(&expected), "{}", stdout(&output));
}
