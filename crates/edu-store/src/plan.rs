//! The storage port for the work plan: stored plan versions, scorecard snapshots for trends.

use async_trait::async_trait;

#[allow(unused_imports)]
use crate::error::StoreError;

/// Storage for the work plan: stored plan versions, scorecard snapshots for trends. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait PlanStore: Send + Sync {}
