//! `eduplan fair`: not yet implemented.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct FairArgs {}

pub fn run(_args: FairArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("eduplan fair is not implemented yet")
}
