//! `eduplan`: the one binary. Each subcommand group lives in its own module under `cli/`.

mod cli;
mod config;

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
    /// Run the demo city: generate it on first run (embedded SQLite), then serve it.
    Demo(cli::platform::DemoArgs),
    /// Serve a deployment from a configuration file.
    Serve(cli::platform::ServeArgs),
    /// Create the database if needed and apply pending schema migrations.
    Migrate(cli::platform::MigrateArgs),
    /// Manage accounts (create, disable, enable, reset-password, unlock, list).
    User(cli::admin::UserArgs),
    /// Import institutions, pupils, staff or population from .csv (UTF-8/GBK) or .xlsx.
    Import(cli::data::ImportArgs),
    /// Export institutions, pupils (masked), staff or population to .xlsx or .csv.
    Export(cli::data::ExportArgs),
    /// Audit trail tools: verify the hash chain.
    Audit(cli::admin::AuditArgs),
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
        Command::Demo(args) => cli::platform::demo(args),
        Command::Serve(args) => cli::platform::serve(args),
        Command::Migrate(args) => cli::platform::migrate(args),
        Command::User(args) => cli::admin::user(args),
        Command::Import(args) => cli::data::import(args),
        Command::Export(args) => cli::data::export(args),
        Command::Audit(args) => cli::admin::audit(args),
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
