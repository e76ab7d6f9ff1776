//! `eduplan fair` end to end: the binary on temporary files.

#![allow(clippy::unwrap_used)] // test helpers: a failure to set up temp files should panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("eduplan-fair-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn eduplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eduplan"))
        .args(args)
        .output()
        .unwrap()
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn shuffled(csv: &str) -> String {
    let mut lines: Vec<&str> = csv.lines().collect();
    let rows = &mut lines[1..];
    rows.reverse();
    let half = rows.len() / 2;
    rows.rotate_left(half);
    lines.join("\r\n") + "\r\n"
}

fn pupils(n: usize) -> String {
    let mut csv = String::from("id,sex,cat:origin,score:math,score:chinese,together,apart\n");
    for i in 0..n {
        let sex = if i % 7 < 4 { "男" } else { "女" };
        let together = if i == 3 || i == 4 { "twins" } else { "" };
        let apart = if i == 10 || i == 11 { "wangfang" } else { "" };
        csv.push_str(&format!(
            "s{i:03},{sex},{},{},{},{together},{apart}\n",
            ["east", "west", "north"][i % 3],
            50 + (i * 37) % 50,
            40 + (i * 53) % 60
        ));
    }
    csv
}

/// (command, input files as (flag, name, text), options, output files)
type Run<'a> = (
    &'a str,
    Vec<(&'a str, &'a str, String)>,
    Vec<&'a str>,
    &'a [&'a str],
);

#[test]
fn shuffled_rows_give_identical_outputs_and_bundles_verify() {
    let dir = TempDir::new("shuffle");
    let applicants =
        "id,choices,priorities\na1,X;Y;Z,\na2,X;Z,X:1\na3,Y;X,\na4,Z,\na5,X;Y,Y:2\na6,Y;Z;X,\n";
    let schools = "code,capacity\nX,2\nY,1\nZ,2\n";
    let pupil_csv = pupils(60);
    let class = "id,zone,apart\nc01,front,\nc02,,x\nc03,,x\nc04,back,\nc05,,\nc06,,\nc07,,\nc08,,\nc09,,\nc10,,\n";
    let ballots = "id,ranking\nb1,A;B\nb2,B;A\nb3,C;B\nb4,A\nb5,B;C\n";
    let teachers = "id\nwang\nli\nzhang\n";
    let runs: Vec<Run> = vec![
        (
            "admit",
            vec![
                ("--applicants", "a.csv", applicants.into()),
                ("--schools", "s.csv", schools.into()),
            ],
            vec!["--mechanism", "da"],
            &["assignment.csv"],
        ),
        (
            "admit",
            vec![
                ("--applicants", "a.csv", applicants.into()),
                ("--schools", "s.csv", schools.into()),
            ],
            vec!["--mechanism", "boston"],
            &["assignment.csv"],
        ),
        (
            "balance",
            vec![("--pupils", "p.csv", pupil_csv.clone())],
            vec!["--classes", "4", "--allow-scores"],
            &["assignment.csv", "report.json"],
        ),
        (
            "seats",
            vec![("--pupils", "c.csv", class.into())],
            vec!["--rows", "3", "--cols", "4", "--weeks", "6"],
            &["seating.csv", "report.json"],
        ),
        (
            "duty",
            vec![("--pupils", "c.csv", class.into())],
            vec!["--days", "12"],
            &["rota.csv"],
        ),
        (
            "election",
            vec![("--ballots", "b.csv", ballots.into())],
            vec!["--seats", "2"],
            &["result.csv", "report.json"],
        ),
        (
            "teachers",
            vec![("--teachers", "t.csv", teachers.into())],
            vec!["--classes", "2"],
            &["assignment.csv"],
        ),
    ];
    for (index, (command, files, options, outputs)) in runs.iter().enumerate() {
        let mut results = Vec::new();
        for variant in ["plain", "shuffled"] {
            let out = dir.path(&format!("{index}-{variant}"));
            let mut args: Vec<String> = vec!["fair".into(), command.to_string()];
            for (flag, name, csv) in files {
                let body = if variant == "plain" {
                    csv.clone()
                } else {
                    shuffled(csv)
                };
                let path = dir.write(&format!("{index}-{variant}-{name}"), &body);
                args.push(flag.to_string());
                args.push(path.display().to_string());
            }
            args.extend(options.iter().map(|s| s.to_string()));
            args.extend([
                "--seed".into(),
                SEED.into(),
                "--out".into(),
                out.display().to_string(),
            ]);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = eduplan(&refs);
            assert!(
                output.status.success(),
                "{command}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let verified = eduplan(&[
                "fair",
                "verify",
                &out.join("bundle.json").display().to_string(),
            ]);
            assert!(
                verified.status.success(),
                "{command}: {}",
                String::from_utf8_lossy(&verified.stdout)
            );
            results.push(
                outputs
                    .iter()
                    .map(|name| text(&out.join(name)))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(
            results[0], results[1],
            "{command} {options:?}: outputs depend on row order"
        );
    }
}

#[test]
fn a_tampered_output_fails_verification_naming_the_file() {
    let dir = TempDir::new("tamper");
    let pupils_csv = dir.write("p.csv", &pupils(40));
    let out = dir.path("out");
    let args = [
        "fair",
        "balance",
        "--pupils",
        pupils_csv.to_str().unwrap(),
        "--classes",
        "2",
        "--allow-scores",
    ];
    let mut full: Vec<&str> = args.to_vec();
    full.extend([
        "--seed",
        SEED,
        "--out",
        out.to_str().unwrap(),
        "--draw-time",
        "2026-09-01T08:00:00+08:00",
    ]);
    assert!(eduplan(&full).status.success());
    let bundle = out.join("bundle.json");
    let assignment = text(&out.join("assignment.csv"));
    let tampered = assignment.replacen(",1\n", ",2\n", 1);
    assert_ne!(tampered, assignment);
    std::fs::write(out.join("assignment.csv"), tampered).unwrap();
    let result = eduplan(&["fair", "verify", bundle.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("output differs: assignment.csv"),
        "{stdout}"
    );

    // Restored output verifies; an edited draw time in the bundle does not.
    std::fs::write(out.join("assignment.csv"), &assignment).unwrap();
    assert!(
        eduplan(&["fair", "verify", bundle.to_str().unwrap()])
            .status
            .success()
    );
    let edited = text(&bundle).replace("2026-09-01T08:00:00+08:00", "2026-09-02T08:00:00+08:00");
    std::fs::write(&bundle, edited).unwrap();
    assert_eq!(
        eduplan(&["fair", "verify", bundle.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn a_bad_row_is_reported_with_line_and_column_and_nothing_is_written() {
    let dir = TempDir::new("bad-row");
    let pupils_csv = dir.write("p.csv", "id,sex,cat:origin\ns1,M,a\ns2,X,b\ns3,F,c\n");
    let out = dir.path("out");
    let result = eduplan(&[
        "fair",
        "balance",
        "--pupils",
        pupils_csv.to_str().unwrap(),
        "--classes",
        "2",
        "--seed",
        SEED,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("line 3, column sex"), "{stderr}");
    assert!(!out.exists());

    let unknown = dir.write("u.csv", "id,sex,colour\ns1,M,red\n");
    let result = eduplan(&[
        "fair",
        "balance",
        "--pupils",
        unknown.to_str().unwrap(),
        "--classes",
        "2",
        "--seed",
        SEED,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&result.stderr).contains("column colour: unknown column"));
    assert!(!out.exists());
}

#[test]
fn conflicting_constraints_exit_1_and_name_the_pupils() {
    let dir = TempDir::new("conflict");
    let pupils_csv = dir.write("p.csv", "id,sex,apart\ns1,M,li\ns2,F,li\ns3,M,li\ns4,F,\n");
    let out = dir.path("out");
    let result = eduplan(&[
        "fair",
        "balance",
        "--pupils",
        pupils_csv.to_str().unwrap(),
        "--classes",
        "2",
        "--seed",
        SEED,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("apart \"li\"") && stderr.contains("s1, s2, s3"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn the_ceremony_seed_is_recorded_and_checked() {
    let dir = TempDir::new("ceremony");
    let teachers = dir.write("t.csv", "id\nwang\nli\n");
    let digest = eduplan(&[
        "fair",
        "digest",
        "--for",
        "teachers",
        "--teachers",
        teachers.to_str().unwrap(),
    ]);
    let digest = String::from_utf8_lossy(&digest.stdout).trim().to_string();
    let seed = eduplan(&[
        "fair",
        "seed",
        "--commitment-secret",
        "c0ffee",
        "--beacon",
        "福彩3D 123",
        "--input-digest",
        &digest,
    ]);
    let seed = String::from_utf8_lossy(&seed.stdout).trim().to_string();
    assert_eq!(seed.len(), 64);
    let out = dir.path("out");
    let args = [
        "fair",
        "teachers",
        "--teachers",
        teachers.to_str().unwrap(),
        "--classes",
        "2",
        "--commitment-secret",
        "c0ffee",
        "--beacon",
        "福彩3D 123",
        "--seed",
        &seed,
        "--out",
        out.to_str().unwrap(),
    ];
    assert!(eduplan(&args).status.success());
    let bundle = text(&out.join("bundle.json"));
    assert!(
        bundle.contains(&seed) && bundle.contains("\"beacon\": \"福彩3D 123\""),
        "{bundle}"
    );
    assert!(
        eduplan(&["fair", "verify", out.join("bundle.json").to_str().unwrap()])
            .status
            .success()
    );
    // A seed that does not come from the ceremony is refused.
    let mut wrong = args.to_vec();
    wrong[10] = SEED;
    assert!(!eduplan(&wrong).status.success());
}
