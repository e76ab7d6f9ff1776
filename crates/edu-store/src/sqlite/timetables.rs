//! SQLite implementation of [`crate::TimetableStore`].

use async_trait::async_trait;

use super::SqliteStore;
use crate::TimetableStore;

#[async_trait]
impl TimetableStore for SqliteStore {}
