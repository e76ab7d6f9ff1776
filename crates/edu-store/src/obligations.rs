//! The storage port for reporting obligations: submissions, zero reports, corrections, approvals, alerts.

use async_trait::async_trait;

#[allow(unused_imports)]
use crate::error::StoreError;

/// Storage for reporting obligations: submissions, zero reports, corrections, approvals, alerts. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait ObligationStore: Send + Sync {}
