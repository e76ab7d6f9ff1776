//! The storage port for ledgers: cases, history, attachments; risk points, key areas, security staff records.

use async_trait::async_trait;

#[allow(unused_imports)]
use crate::error::StoreError;

/// Storage for ledgers: cases, history, attachments; risk points, key areas, security staff records. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait LedgerStore: Send + Sync {}
