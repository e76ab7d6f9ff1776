//! Reporting obligations (issue 4): submissions, zero reports, corrections, status and follow-up, health alerts.

use crate::App;
use crate::access::Actor;
use crate::error::AppError;
use crate::registry::AttentionItem;

impl App {
    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_obligations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        let _ = actor;
        Ok(Vec::new())
    }
}
