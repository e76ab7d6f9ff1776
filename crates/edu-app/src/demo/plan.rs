//! Demo data for plan.

use super::DemoContext;
use crate::App;
use crate::error::AppError;

impl App {
    /// Adds this capability's demo records to a freshly generated city.
    pub(crate) async fn demo_plan(&self, demo: &DemoContext<'_>) -> Result<(), AppError> {
        let _ = demo;
        Ok(())
    }
}
