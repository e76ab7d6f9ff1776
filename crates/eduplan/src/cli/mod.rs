//! Subcommand groups of the binary; each module owns its clap arguments and its `run`.

pub mod fair;
pub mod plan;
pub mod timetable;
