//! `eduplan timetable`: generate, solve, check and show 选课走班 timetables (eduplan-zouban/1).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use edu_timetable::{
    GenerateOptions, Grouping, Instance, Mix, Solution, SolveError, SolveOptions, check, generate,
    solve, validate_instance,
};

#[derive(Debug, Args)]
pub struct TimetableArgs {
    #[command(subcommand)]
    command: TimetableCommand,
}

#[derive(Debug, Subcommand)]
enum TimetableCommand {
    /// Generate a realistic instance (deterministic by seed).
    Gen(GenArgs),
    /// Form teaching classes and build a timetable.
    Solve(SolveArgs),
    /// List every hard violation and the quality figures; exits 1 when a hard constraint is broken.
    Check(CheckArgs),
    /// Print the weekly timetable of one student, teacher, room or administrative class.
    Show(ShowArgs),
    /// Import a class-level FET (.fet) file: prints what was kept, relaxed and dropped.
    ImportFet(ImportFetArgs),
}

#[derive(Debug, Args)]
struct ImportFetArgs {
    /// The .fet file.
    fet: PathBuf,
    /// The instance (eduplan-zouban/1).
    #[arg(long)]
    out: PathBuf,
    /// Also write the import notes as JSON here.
    #[arg(long)]
    notes: Option<PathBuf>,
    /// Also write the reduced FET file (exactly the imported problem) here, to run fet-cl on the same input.
    #[arg(long)]
    reduced_fet: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// Students in the grade.
    #[arg(long)]
    students: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Combination mix: hlj2021, wushengdi, wuhuasheng, physics-low, uniform.
    #[arg(long, default_value = "hlj2021")]
    mix: String,
    /// Administrative classes: mixed (full mobility), track (定一走二), combination (定二走一).
    #[arg(long, default_value = "mixed")]
    grouping: String,
    /// Periods a week: 40 (5 × 8) or 45 (5 × 9).
    #[arg(long, default_value_t = 45)]
    periods: u32,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// An unusual instance built around a planted timetable (odd periods, any number of selective subjects,
    /// tight teachers and rooms) instead of a realistic one; --mix, --grouping and --periods are ignored.
    #[arg(long)]
    planted: bool,
    /// With --planted: also write the planted timetable (a proof that the instance is feasible) here.
    #[arg(long, requires = "planted")]
    plant_out: Option<PathBuf>,
    /// With --planted: a stress instance (full weeks, teachers at their exact load, many unavailable slots).
    #[arg(long, requires = "planted")]
    tight: bool,
}

#[derive(Debug, Args)]
struct SolveArgs {
    instance: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Time budget in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A previous solution to keep as much of as possible.
    #[arg(long)]
    hint: Option<PathBuf>,
    /// Write solve statistics (time, lower bound, stability, quality before and after the quality pass) as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Skip the quality pass (idle periods, same subject twice a day).
    #[arg(long)]
    no_improve: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    instance: PathBuf,
    solution: PathBuf,
    /// Machine-readable report.
    #[arg(long)]
    json: bool,
    /// A report written by `solve --report`, to show the solve time.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    instance: PathBuf,
    solution: PathBuf,
    #[arg(long, group = "who")]
    student: Option<String>,
    #[arg(long, group = "who")]
    teacher: Option<String>,
    #[arg(long, group = "who")]
    room: Option<String>,
    #[arg(long = "class", group = "who")]
    admin_class: Option<String>,
}

pub fn run(args: TimetableArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TimetableCommand::Gen(a) => run_gen(a),
        TimetableCommand::Solve(a) => run_solve(a),
        TimetableCommand::Check(a) => run_check(a),
        TimetableCommand::Show(a) => run_show(a),
        TimetableCommand::ImportFet(a) => run_import_fet(a),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn read_instance(path: &Path) -> anyhow::Result<Instance> {
    let instance =
        Instance::from_json(&read(path)?).with_context(|| format!("in {}", path.display()))?;
    let issues = validate_instance(&instance);
    if !issues.is_empty() {
        let list: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
        bail!(
            "{} is not a valid instance:\n{}",
            path.display(),
            list.join("\n")
        );
    }
    Ok(instance)
}

fn read_solution(path: &Path) -> anyhow::Result<Solution> {
    Solution::from_json(&read(path)?).with_context(|| format!("in {}", path.display()))
}

fn run_gen(args: GenArgs) -> anyhow::Result<ExitCode> {
    if args.planted {
        let (instance, plant) =
            edu_timetable::planted::planted(&edu_timetable::planted::PlantedOptions {
                seed: args.seed,
                students: args.students,
                tight: args.tight,
            });
        if let Some(path) = &args.plant_out {
            write(path, &plant.to_json())?;
        }
        match args.out {
            Some(path) => write(&path, &instance.to_json())?,
            None => print!("{}", instance.to_json()),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(mix) = Mix::parse(&args.mix) else {
        let names: Vec<&str> = Mix::ALL.iter().map(|m| m.name()).collect();
        bail!("unknown mix {:?}; known: {}", args.mix, names.join(", "));
    };
    let Some(grouping) = Grouping::parse(&args.grouping) else {
        bail!(
            "unknown grouping {:?}; known: mixed, track, combination",
            args.grouping
        );
    };
    if args.periods != 40 && args.periods != 45 {
        bail!("--periods must be 40 or 45");
    }
    let instance = generate(&GenerateOptions {
        students: args.students,
        seed: args.seed,
        mix,
        grouping,
        periods_per_week: args.periods,
    });
    match args.out {
        Some(path) => write(&path, &instance.to_json())?,
        None => print!("{}", instance.to_json()),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SolveReport {
    solve_seconds: f64,
    method: String,
    lower_bound: usize,
    teaching_classes: usize,
    blocks: usize,
    enrolments_kept: Option<f64>,
    admin_lessons_kept: Option<f64>,
    #[serde(default)]
    quality_before: Option<edu_timetable::QualityFigures>,
    #[serde(default)]
    quality: Option<edu_timetable::QualityFigures>,
}

fn run_solve(args: SolveArgs) -> anyhow::Result<ExitCode> {
    let instance = read_instance(&args.instance)?;
    let hint = args.hint.as_deref().map(read_solution).transpose()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds.max(0.0));
    let budget = move || Instant::now() >= deadline;
    let options = SolveOptions {
        seed: args.seed,
        budget: &budget,
        hint: hint.as_ref(),
        improve: !args.no_improve,
    };
    match solve(&instance, &options) {
        Ok(outcome) => {
            let seconds = started.elapsed().as_secs_f64();
            write(&args.out, &outcome.solution.to_json())?;
            let stats = &outcome.stats;
            eprintln!(
                "solved in {seconds:.3} s by {}: {} teaching classes (lower bound {}), {} blocks",
                stats.method, stats.teaching_classes, stats.lower_bound, stats.blocks
            );
            if let Some(kept) = stats.stability {
                eprintln!(
                    "kept {:.1}% of enrolments and {:.1}% of compulsory lessons of the hint",
                    kept.enrolments_kept * 100.0,
                    kept.admin_lessons_kept * 100.0
                );
            }
            if let Some(path) = args.report {
                let report = SolveReport {
                    solve_seconds: seconds,
                    method: stats.method.to_string(),
                    lower_bound: stats.lower_bound,
                    teaching_classes: stats.teaching_classes,
                    blocks: stats.blocks,
                    enrolments_kept: stats.stability.map(|s| s.enrolments_kept),
                    admin_lessons_kept: stats.stability.map(|s| s.admin_lessons_kept),
                    quality_before: Some(stats.quality_before),
                    quality: Some(stats.quality),
                };
                write(&path, &serde_json::to_string_pretty(&report)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(SolveError::Infeasible(explanation)) => {
            eprintln!("无解 no timetable exists: {explanation}");
            Ok(ExitCode::from(1))
        }
        Err(SolveError::NotFound(explanation)) => {
            eprintln!("未找到 no timetable found: {explanation}");
            Ok(ExitCode::from(3))
        }
        Err(error) => Err(error.into()),
    }
}

fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let instance = read_instance(&args.instance)?;
    let solution = read_solution(&args.solution)?;
    let mut report = check(&instance, &solution);
    if let Some(path) = args.report {
        let solve_report: SolveReport = serde_json::from_str(&read(&path)?)
            .with_context(|| format!("in {}", path.display()))?;
        report.quality.solve_seconds = Some(solve_report.solve_seconds);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    use edu_timetable::view::{Who, timetable_of};
    let instance = read_instance(&args.instance)?;
    let solution = read_solution(&args.solution)?;
    let who = if let Some(id) = args.student {
        Who::Student(id)
    } else if let Some(id) = args.teacher {
        Who::Teacher(id)
    } else if let Some(id) = args.room {
        Who::Room(id)
    } else if let Some(id) = args.admin_class {
        Who::AdminClass(id)
    } else {
        bail!("name one of --student, --teacher, --room, --class");
    };
    let grid = timetable_of(&instance, &solution, &who)
        .context("no such student, teacher, room or class")?;
    print!("{}", grid.to_text());
    Ok(ExitCode::SUCCESS)
}

fn run_import_fet(args: ImportFetArgs) -> anyhow::Result<ExitCode> {
    let text = read(&args.fet)?;
    let (instance, notes) = match edu_timetable::fet::import(&text) {
        Ok(imported) => imported,
        Err(error) => {
            eprintln!("{}: {error}", args.fet.display());
            return Ok(ExitCode::from(1));
        }
    };
    write(&args.out, &instance.to_json())?;
    if let Some(path) = &args.notes {
        write(path, &serde_json::to_string_pretty(&notes)?)?;
    }
    if let Some(path) = &args.reduced_fet {
        write(path, &edu_timetable::fet::reduced_fet(&instance))?;
    }
    eprintln!(
        "imported {} activities in {} groups ({} periods), {} students sets, {} teachers",
        notes.activities, notes.activity_groups, notes.lessons, notes.leaves, notes.teachers
    );
    for (what, count) in &notes.kept {
        eprintln!("  kept    {what}: {count}");
    }
    for (what, count) in &notes.relaxed {
        eprintln!("  relaxed {what}: {count}");
    }
    for (what, (hard, soft)) in &notes.dropped {
        eprintln!("  dropped {what}: {hard} at 100%, {soft} below");
    }
    Ok(ExitCode::SUCCESS)
}
