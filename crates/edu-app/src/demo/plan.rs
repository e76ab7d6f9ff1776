//! Demo data for the plan: the scorecard's history since the school year began (one snapshot a week), so the
//! trend charts have something to show. Runs after every other capability has generated its records.

use edu_plan::PlanDate;

use super::DemoContext;
use crate::App;
use crate::error::AppError;

impl App {
    /// Records weekly scorecard snapshots from 1 September 2021 to the demo's today.
    pub(crate) async fn demo_plan(&self, demo: &DemoContext<'_>) -> Result<(), AppError> {
        let Some(mut day) = PlanDate::new(2021, 9, 1) else {
            return Ok(());
        };
        let today = PlanDate::new(
            i32::from(demo.today.year()),
            demo.today.month() as u8,
            demo.today.day() as u8,
        )
        .unwrap_or(day);
        while day < today {
            self.record_plan_snapshots(Some(day)).await?;
            let next = jiff::civil::date(day.year() as i16, day.month() as i8, day.day() as i8)
                .checked_add(jiff::Span::new().days(7));
            day = match next
                .ok()
                .and_then(|d| PlanDate::new(i32::from(d.year()), d.month() as u8, d.day() as u8))
            {
                Some(d) => d,
                None => break,
            };
        }
        self.record_plan_snapshots(Some(today)).await?;
        Ok(())
    }
}
