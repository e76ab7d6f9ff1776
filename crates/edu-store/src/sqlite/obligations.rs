//! SQLite implementation of [`crate::ObligationStore`].

use async_trait::async_trait;

use super::SqliteStore;
use crate::ObligationStore;

#[async_trait]
impl ObligationStore for SqliteStore {}
