//! SQLite implementation of [`crate::PlanStore`].

use async_trait::async_trait;

use super::SqliteStore;
use crate::PlanStore;

#[async_trait]
impl PlanStore for SqliteStore {}
