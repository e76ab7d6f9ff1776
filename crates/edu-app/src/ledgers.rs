//! Ledgers (issue 7): case workflows, risk points and hazards, safety staff and key areas, complaints, negative list.

use crate::App;
use crate::access::Actor;
use crate::error::AppError;
use crate::registry::AttentionItem;

impl App {
    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_ledgers(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        let _ = actor;
        Ok(Vec::new())
    }
}
