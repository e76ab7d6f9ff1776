//! Verifiable fair allocation (四零承诺): seeds, lottery keys, admission, balanced classes, teacher
//! draw, seating, duty rota, election, bundles. Pure: no file, network, clock or global randomness.
//!
//! The public contract is `shared/specs/fair.md`; user documentation is `docs/fair.md`.
//!
//! # Entry points
//!
//! - [`draw::run_draw`]: any draw from input bytes and a seed to output files (bytes).
//! - [`draw::input_digest`]: the `input_digest` of a set of inputs (canonical form below).
//! - [`bundle::Bundle::new`] / [`bundle::verify`]: write and re-check `bundle.json`.
//! - [`seed::ceremony_seed`], [`seed::commitment`], [`seed::lottery_key`]: the seed ceremony and keys.
//! - The engines themselves take plain data: [`admit::AdmissionProblem`],
//!   [`balance::BalanceProblem`], [`teachers::draw_teachers`], [`seats::plan_seating`],
//!   [`duty::draw_rota`], [`election::count_election`].
//!
//! # Canonical input form
//!
//! `input_digest = SHA-256(canonical)`, where `canonical` is the line `eduplan-fair-input/1`, then
//! for each input role of the command (admit: `applicants`, `schools`; balance, seats, duty:
//! `pupils`; teachers: `teachers`; election: `ballots`) a line `== role ==` and the file as CSV
//! with: the key column (`code` for schools, else `id`) first, the other columns sorted by name
//! (byte order), rows sorted by key (byte order of UTF-8), every cell trimmed of surrounding
//! whitespace, cells quoted only when they contain `,` `"` CR or LF (`"` doubled), each line
//! ending in LF, no BOM. Row order and column order of the input files therefore do not change
//! the digest, and the engines canonicalise the same way, so they do not change the outputs.
//!
//! # Randomness
//!
//! Every random choice is a lottery key `SHA-256(seed ‖ purpose ‖ 0x00 ‖ id)` (first 8 bytes,
//! big-endian). Heuristics derive their orders from keys of derived ids: balance restart `r`
//! uses `"r/" + pupil id`, seating week `w` uses `"w/" + pupil id`.

pub mod admit;
pub mod balance;
pub mod bundle;
pub mod cohort;
pub mod draw;
pub mod duty;
pub mod election;
pub mod json;
pub mod seats;
pub mod seed;
pub mod table;
pub mod teachers;
pub mod time;

pub use bundle::{Bundle, VerifyReport, verify};
pub use draw::{
    DrawCommand, DrawError, DrawOutcome, InputFile, OutputFile, input_digest, run_draw,
};
pub use seed::{Ceremony, Purpose, Seed, ceremony_seed, commitment, lottery_key};
