//! The work plan as data, evaluated live: metric source over the registry, obligations and ledgers; scorecards.

use crate::App;
use crate::access::Actor;
use crate::error::AppError;
use crate::registry::AttentionItem;

impl App {
    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_plan(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        let _ = actor;
        Ok(Vec::new())
    }
}
