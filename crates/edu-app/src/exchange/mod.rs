//! Import and export of registry data: CSV (UTF-8 or GBK) and .xlsx, with documented Chinese templates.
//!
//! An import is all or nothing: every row is validated first, and one bad row means nothing is written (unless
//! the caller asks to skip bad rows, in which case the rejects come back for a rejects file). Re-importing the
//! same file changes nothing: rows are upserted by their natural key (学校标识码, 学籍号, 教职工号, population
//! cell) and unchanged rows are counted, not written.

mod export;
mod import;
mod table;
mod templates;
mod values;

pub use export::{ExportFormat, ExportKind, escape_formula};
pub use import::{ImportOptions, ImportReport, RowError};
pub use table::{Table, TableError, read_table};
pub use templates::{Column, ImportKind, template_csv, template_xlsx};
