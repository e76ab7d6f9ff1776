//! `eduplan`: the one binary. Each subcommand group lives in its own module under `cli/`.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// EduPlan — 大庆市教育工作计划管理平台.
#[derive(Debug, Parser)]
#[command(name = "eduplan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verifiable draws for the "four zeros" (四零承诺): admission, classes, teachers, seats, duty, election.
    Fair(cli::fair::FairArgs),
    /// 选课走班: generate, solve and check senior-high timetabling instances.
    Timetable(cli::timetable::TimetableArgs),
    /// The work plan as data: check, evaluate and diff plan files.
    Plan(cli::plan::PlanArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Fair(args) => cli::fair::run(args),
        Command::Timetable(args) => cli::timetable::run(args),
        Command::Plan(args) => cli::plan::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("错误 error: {error:#}");
            ExitCode::from(2)
        }
    }
}
