//! Subcommand groups of the binary; each module owns its clap arguments and its `run`.

pub mod admin;
pub mod data;
pub mod fair;
pub mod plan;
pub mod platform;
pub mod timetable;
