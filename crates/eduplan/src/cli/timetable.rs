//! `eduplan timetable`: not yet implemented.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TimetableArgs {}

pub fn run(_args: TimetableArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("eduplan timetable is not implemented yet")
}
