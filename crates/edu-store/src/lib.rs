//! The storage port and its SQLite implementation. The only crate that knows SQL.
//!
//! The rest of the platform sees the [`Store`] trait (reads) and [`StoreTx`] (a unit of work: writes plus the audit
//! row that records them, committed together or not at all). Records are plain data: codes and enumerations travel
//! as their stable text codes, sensitive fields as ciphertext produced by the application layer; the store never
//! sees a key. SQL is written in the dialect shared by SQLite and PostgreSQL (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`), so a PostgreSQL implementation adds a module and a migration directory, not changes elsewhere.
//!
//! The port is split by capability: [`Store`] (registry, users, sessions, audit) plus one trait per capability
//! ([`PlanStore`], [`ObligationStore`], [`LedgerStore`], [`AllocationStore`], [`TimetableStore`]), each in its
//! own module with its records, each implemented for SQLite in `sqlite/<capability>.rs` with its own migration.
//! Capability writes take an [`AuditEntry`] and append it inside their transaction (fail closed).

mod error;
mod port;
mod records;
mod sqlite;

pub mod allocations;
pub mod ledgers;
pub mod obligations;
pub mod plan;
pub mod timetables;

pub use allocations::AllocationStore;
pub use error::StoreError;
pub use ledgers::LedgerStore;
pub use obligations::ObligationStore;
pub use plan::PlanStore;
pub use port::{AuditSealer, Store, StoreTx};
pub use records::*;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use timetables::TimetableStore;
