//! 选课走班: the eduplan-zouban/1 format, teaching-class formation, timetabling and checking. Pure.
//!
//! - [`format`]: the exchange format ([`Instance`], [`Solution`]), read with JSON paths in errors.
//! - [`validate_instance`]: every reference and range problem of an instance.
//! - [`check()`]: the independent checker (hard violations and quality figures).
//! - [`solve()`]: forms teaching classes and timetables them; explains shortages when it cannot.
//! - [`generate()`]: realistic instances for tests and benchmarks; [`planted`]: unusual ones, feasible by construction.
//! - [`view`]: per-student, teacher, room and class timetables for display.
//! - [`fet`]: import of class-level FET files, and the reduced FET file of an import (for side-by-side runs).

pub mod check;
pub mod diagnose;
pub mod fet;
pub mod format;
pub mod generate;
pub mod planted;
pub mod rng;
pub mod solve;
pub mod validate;
pub mod view;

pub use check::{CheckReport, Quality, Violation, ViolationKind, check};
pub use diagnose::Shortage;
pub use format::{FormatError, Instance, Level, Slot, Solution};
pub use generate::{GenerateOptions, Grouping, Mix, generate};
pub use solve::{
    Budget, Explanation, QualityFigures, SolveError, SolveOptions, SolveOutcome, SolveStats,
    Stability, Unlimited, solve, stability,
};
pub use validate::{InstanceIssue, validate_instance};
