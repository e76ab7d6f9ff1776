//! Domain types and code validators (学籍号, 学校标识码, 身份证号), the org tree and China-time dates. No I/O.
//!
//! Codes are parsed, not validated: a [`SchoolCode`], [`IdNumber`] or [`PupilNo`] can only be built from a
//! valid string, so code holding one never re-checks it.

pub mod area;
pub mod china_time;
pub mod codes;
pub mod kinds;
pub mod mask;

pub use area::{AreaCode, DAQING, DAQING_DISTRICTS, District};
pub use codes::{CodeError, IdNumber, PupilNo, PupilNoForm, SchoolCode, id_check_digit};
pub use kinds::{
    Area, Authority, InstitutionKind, Ownership, ParseKindError, PupilStatus, Sex, StaffRole,
};
