//! Instance generator for benchmarks and tests (deterministic by seed).
//!
//! `cargo run -p edu-fair --example fair_gen -- cohort N SEED > P.csv`
//! `cargo run -p edu-fair --example fair_gen -- admission N SCHOOLS CHOICES SEED DIR`
//! `cargo run -p edu-fair --example fair_gen -- class N FRONT BACK > C.csv`

use std::io::Write;

use edu_fair::cohort;
use edu_fair::table::write_csv_line;

fn number(args: &[String], index: usize) -> u64 {
    args.get(index).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: fair_gen cohort N SEED | admission N SCHOOLS CHOICES SEED DIR | class N FRONT BACK");
        std::process::exit(2)
    })
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("cohort") => {
            let pupils = cohort::cohort(number(&args, 1) as usize, number(&args, 2));
            std::io::stdout().write_all(cohort::cohort_csv(&pupils).as_bytes())
        }
        Some("admission") => {
            let (schools, applicants) = cohort::admission(
                number(&args, 1) as usize,
                number(&args, 2) as usize,
                number(&args, 3) as usize,
                number(&args, 4),
            );
            let dir = std::path::PathBuf::from(args.get(5).cloned().unwrap_or_else(|| ".".into()));
            std::fs::create_dir_all(&dir)?;
            let mut s = String::from("code,capacity\n");
            for school in &schools {
                write_csv_line(&mut s, &[&school.code, &school.capacity.to_string()]);
            }
            std::fs::write(dir.join("schools.csv"), s)?;
            let mut a = String::from("id,choices,priorities\n");
            for applicant in &applicants {
                let priorities: Vec<String> = applicant
                    .priorities
                    .iter()
                    .map(|(c, t)| format!("{c}:{t}"))
                    .collect();
                write_csv_line(
                    &mut a,
                    &[
                        &applicant.id,
                        &applicant.choices.join(";"),
                        &priorities.join(";"),
                    ],
                );
            }
            std::fs::write(dir.join("applicants.csv"), a)
        }
        Some("class") => {
            let (n, front, back) = (number(&args, 1), number(&args, 2), number(&args, 3));
            let mut out = String::from("id,zone,apart\n");
            for i in 0..n {
                let zone = if i < front {
                    "front"
                } else if i < front + back {
                    "back"
                } else {
                    ""
                };
                out.push_str(&format!("s{:02},{zone},\n", i + 1));
            }
            std::io::stdout().write_all(out.as_bytes())
        }
        _ => {
            number(&args, usize::MAX);
            Ok(())
        }
    }
}
