//! SQLite implementation of [`crate::LedgerStore`].

use async_trait::async_trait;

use super::SqliteStore;
use crate::LedgerStore;

#[async_trait]
impl LedgerStore for SqliteStore {}
