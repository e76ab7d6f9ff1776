//! The storage port for 选课走班: choice windows, course choices, solved timetables.

use async_trait::async_trait;

#[allow(unused_imports)]
use crate::error::StoreError;

/// Storage for 选课走班: choice windows, course choices, solved timetables. Write methods take the audit entry and append it in the same transaction.
#[async_trait]
pub trait TimetableStore: Send + Sync {}
