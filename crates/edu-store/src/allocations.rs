//! The storage port for fair-allocation runs (四零承诺): commitments, inputs, bundles, published results.

use async_trait::async_trait;

#[allow(unused_imports)]
use crate::error::StoreError;

/// Storage for fair-allocation runs (四零承诺): commitments, inputs, bundles, published results. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait AllocationStore: Send + Sync {}
