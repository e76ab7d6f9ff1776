//! Verifiable fair allocation (四零承诺): seeds, lottery keys, admission, balanced classes, teacher
//! draw, seating, duty rota, election, bundles. Pure: no file, network, clock or global randomness.

pub mod admit;
pub mod balance;
pub mod cohort;
pub mod duty;
pub mod election;
pub mod json;
pub mod seed;
pub mod table;
pub mod teachers;
