//! Fair allocation runs (issue 5): class division and admission from the registry, commitment and reveal, publication.

use crate::App;
use crate::access::Actor;
use crate::error::AppError;
use crate::registry::AttentionItem;

impl App {
    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_allocations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        let _ = actor;
        Ok(Vec::new())
    }
}
