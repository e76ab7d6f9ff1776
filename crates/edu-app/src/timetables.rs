//! 选课走班 (issue 6): course-choice windows, choices, solving and timetable views.

use crate::App;
use crate::access::Actor;
use crate::error::AppError;
use crate::registry::AttentionItem;

impl App {
    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_timetables(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        let _ = actor;
        Ok(Vec::new())
    }
}
