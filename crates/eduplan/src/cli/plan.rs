//! `eduplan plan`: check a plan file, compare two plans, evaluate a plan's targets on a database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use edu_plan::{Diagnostic, Plan, Severity, check_plan, check_seed_coverage, diff_plans};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    command: PlanCommand,
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Validate a plan file; every problem is printed as FILE:LINE:COLUMN. Exit 0 = valid, 1 = errors.
    Check {
        file: PathBuf,
        /// Also check [[coverage]] against the seed document, sentence by sentence.
        #[arg(long)]
        seed: Option<PathBuf>,
        /// Print diagnostics and a summary as JSON.
        #[arg(long)]
        json: bool,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Show what changed between two plans (e.g. last year's and this year's). Exit 0 = same, 1 = different.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Evaluate every target on a database: value, numerator, denominator, target, threshold, status.
    Eval {
        #[command(flatten)]
        db: super::platform::DbArgs,
        /// Plan file (default: the plan shipped with EduPlan, plans/daqing-2021.toml).
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Org unit: the city (default), a district (230602) or an institution (10-digit code).
        #[arg(long)]
        org: Option<String>,
        /// As-of date YYYY-MM-DD (default: today, on the database's clock).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PlanCommand::Check {
            file,
            seed,
            json,
            deny_warnings,
        } => check(&file, seed.as_deref(), json, deny_warnings),
        PlanCommand::Diff { old, new, json } => diff(&old, &new, json),
        PlanCommand::Eval {
            db,
            plan,
            org,
            as_of,
            json,
        } => eval(&db, plan.as_deref(), org, as_of, json),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn check(
    file: &Path,
    seed: Option<&Path>,
    json: bool,
    deny_warnings: bool,
) -> anyhow::Result<ExitCode> {
    let text = read(file)?;
    let (plan, mut diagnostics) = check_plan(&text);
    let mut seed_problems = Vec::new();
    if let (Some(plan), Some(seed)) = (&plan, seed) {
        seed_problems = check_seed_coverage(plan, &read(seed)?);
    }
    // What only the platform knows: the forms of obligations and the ledgers a metric reads.
    let mut platform_problems = Vec::new();
    if plan.is_some()
        && !diagnostics.iter().any(|d| d.severity == Severity::Error)
        && let Err(e) = edu_app::LoadedPlan::parse(&text)
    {
        platform_problems.push(e.to_string());
    }
    if deny_warnings {
        for diagnostic in &mut diagnostics {
            diagnostic.severity = Severity::Error;
        }
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
        + seed_problems.len()
        + platform_problems.len();
    let warnings = diagnostics.len()
        - diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
    if json {
        let report = serde_json::json!({
            "file": file.display().to_string(),
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": diagnostics,
            "seed_problems": seed_problems,
            "platform_problems": platform_problems,
            "summary": plan.as_ref().filter(|_| errors == 0).map(summary_json),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for diagnostic in &diagnostics {
            print_diagnostic(file, diagnostic);
        }
        for problem in &seed_problems {
            println!("{}: error: seed coverage: {problem}", file.display());
        }
        for problem in &platform_problems {
            println!("{}: error: {problem}", file.display());
        }
        match (&plan, errors) {
            (Some(plan), 0) => print_summary(file, plan, warnings),
            _ => println!(
                "{}: {errors} error(s), {warnings} warning(s)",
                file.display()
            ),
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_diagnostic(file: &Path, diagnostic: &Diagnostic) {
    println!("{}:{diagnostic}", file.display());
}

fn print_summary(file: &Path, plan: &Plan, warnings: usize) {
    let header = plan.header();
    let counts: Vec<String> = plan
        .commitment_counts()
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    println!(
        "{}: ok — {} {} ({})",
        file.display(),
        header.id,
        header.title,
        header.city
    );
    println!(
        "  {} commitments ({}), {} targets, {} metrics, {} obligations, {} ledgers, {} registries, {} seed sentences",
        plan.commitments().len(),
        counts.join(", "),
        plan.targets().len(),
        plan.metrics().len(),
        plan.obligations().len(),
        plan.ledgers().len(),
        plan.registries().len(),
        plan.coverage().len()
    );
    if warnings > 0 {
        println!("  {warnings} warning(s)");
    }
}

fn summary_json(plan: &Plan) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = plan
        .commitment_counts()
        .iter()
        .map(|(kind, count)| (kind.name().to_owned(), (*count).into()))
        .collect();
    serde_json::json!({
        "id": plan.header().id,
        "commitments": plan.commitments().len(),
        "commitments_by_kind": counts,
        "targets": plan.targets().len(),
        "metrics": plan.metrics().len(),
        "obligations": plan.obligations().keys().collect::<Vec<_>>(),
        "ledgers": plan.ledgers().keys().collect::<Vec<_>>(),
        "registries": plan.registries().keys().collect::<Vec<_>>(),
    })
}

fn load(path: &Path) -> anyhow::Result<Plan> {
    let text = read(path)?;
    match check_plan(&text) {
        (Some(plan), _) => Ok(plan),
        (None, diagnostics) => {
            for diagnostic in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
                eprintln!("{}:{diagnostic}", path.display());
            }
            anyhow::bail!(
                "{} is not a valid plan (run `eduplan plan check` on it)",
                path.display()
            )
        }
    }
}

fn diff(old: &Path, new: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let (old, new) = (load(old)?, load(new)?);
    let difference = diff_plans(&old, &new);
    if json {
        println!("{}", serde_json::to_string_pretty(&difference)?);
    } else {
        print!("{difference}");
    }
    Ok(if difference.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn eval(
    db: &super::platform::DbArgs,
    plan_file: Option<&Path>,
    org: Option<String>,
    as_of: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let as_of = as_of
        .map(|d| {
            d.parse::<edu_plan::PlanDate>()
                .map_err(|e| anyhow::anyhow!("--as-of: {e}"))
        })
        .transpose()?;
    let loaded = match plan_file {
        Some(path) => {
            Some(edu_app::LoadedPlan::parse(&read(path)?).map_err(|e| anyhow::anyhow!("{e}"))?)
        }
        None => None,
    };
    let config = db.config()?;
    super::platform::runtime()?.block_on(async move {
        let mut app = super::platform::open_existing(&config).await?;
        if let Some(plan) = loaded {
            app = app.with_plan(plan);
        }
        let org = org.unwrap_or_else(|| app.plan().plan.header().city.clone());
        let evaluation = app
            .evaluate_plan_for(&org, as_of)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if json {
            println!("{}", serde_json::to_string_pretty(&evaluation)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{} · {} · as of {}",
            evaluation.plan, evaluation.org, evaluation.as_of
        );
        println!(
            "{:<34} {:>12} {:>12} {:>12} {:>4}{:>9} {:>9}  status",
            "target", "value", "numerator", "denominator", "", "target", "national"
        );
        let number = |v: Option<f64>| {
            v.map(|v| {
                if v.fract() == 0.0 && v.abs() < 1e12 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.2}")
                }
            })
            .unwrap_or_else(|| "—".into())
        };
        for t in &evaluation.targets {
            println!(
                "{:<34} {:>12} {:>12} {:>12} {:>4}{:>9} {:>9}  {:?}",
                t.id,
                number(t.indicator.value),
                number(t.indicator.numerator),
                number(t.indicator.denominator),
                t.comparator.symbol(),
                number(Some(t.target)),
                number(t.threshold),
                t.status
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
