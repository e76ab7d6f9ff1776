//! SQLite implementation of [`crate::AllocationStore`].

use async_trait::async_trait;

use super::SqliteStore;
use crate::AllocationStore;

#[async_trait]
impl AllocationStore for SqliteStore {}
