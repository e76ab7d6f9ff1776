//! The audit trail: entries, the HMAC-SM3 chain that seals them, and its verification.
//!
//! Each row's hash is `HMAC-SM3(audit_key, prev_hash ‖ seq ‖ every field)`, length-prefixed. Changing, inserting,
//! reordering or deleting a row breaks the chain at that row; `verify` names the first broken one.

use std::sync::Arc;

use edu_store::{AuditEntry, AuditRow, AuditSealer, Store, StoreError};
use serde::Serialize;

use crate::access::Actor;
use crate::crypto::KeyRing;

/// Where a request came from; filled in by the web layer (or the CLI).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditContext {
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

impl AuditContext {
    pub fn cli(command: &str) -> AuditContext {
        AuditContext {
            ip: "local".to_owned(),
            user_agent: format!("eduplan-cli {command}"),
            request_id: String::new(),
        }
    }
}

/// The outcome recorded for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Builds an entry for an action by an actor (or an anonymous party when `actor` is None).
#[allow(clippy::too_many_arguments)]
pub fn entry(
    now_ms: i64,
    actor: Option<&Actor>,
    anonymous_name: &str,
    context: &AuditContext,
    action: &str,
    object_type: &str,
    object_id: &str,
    outcome: Outcome,
    reason: &str,
) -> AuditEntry {
    let truncate = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    AuditEntry {
        at_ms: now_ms,
        tz: "+08:00".to_owned(),
        actor_id: actor.map(|a| a.user_id),
        actor: actor
            .map(|a| a.username.clone())
            .unwrap_or_else(|| truncate(anonymous_name, 64)),
        role: actor.map(|a| a.role.code().to_owned()).unwrap_or_default(),
        scope: actor.map(|a| a.scope.code().to_owned()).unwrap_or_default(),
        ip: truncate(&context.ip, 64),
        user_agent: truncate(&context.user_agent, 256),
        action: action.to_owned(),
        object_type: object_type.to_owned(),
        object_id: truncate(object_id, 128),
        result: outcome.code().to_owned(),
        reason: truncate(reason, 512),
        request_id: truncate(&context.request_id, 64),
    }
}

/// Seals audit rows with the deployment's audit key.
pub struct ChainSealer {
    keys: Arc<KeyRing>,
}

impl ChainSealer {
    pub fn new(keys: Arc<KeyRing>) -> ChainSealer {
        ChainSealer { keys }
    }

    pub fn hash(&self, prev_hash: &str, seq: i64, e: &AuditEntry) -> String {
        let seq = seq.to_be_bytes();
        let at = e.at_ms.to_be_bytes();
        let actor_id = e.actor_id.map(|id| id.to_string()).unwrap_or_default();
        self.keys.audit_mac(&[
            prev_hash.as_bytes(),
            &seq,
            &at,
            e.tz.as_bytes(),
            actor_id.as_bytes(),
            e.actor.as_bytes(),
            e.role.as_bytes(),
            e.scope.as_bytes(),
            e.ip.as_bytes(),
            e.user_agent.as_bytes(),
            e.action.as_bytes(),
            e.object_type.as_bytes(),
            e.object_id.as_bytes(),
            e.result.as_bytes(),
            e.reason.as_bytes(),
            e.request_id.as_bytes(),
        ])
    }
}

impl AuditSealer for ChainSealer {
    fn seal(&self, prev_hash: &str, seq: i64, entry: &AuditEntry) -> Result<String, String> {
        Ok(self.hash(prev_hash, seq, entry))
    }
}

/// A sealer that always fails: proves that business writes roll back when the audit cannot be written.
pub struct FailingSealer;

impl AuditSealer for FailingSealer {
    fn seal(&self, _: &str, _: i64, _: &AuditEntry) -> Result<String, String> {
        Err("audit sink unavailable (test hook)".to_owned())
    }
}

/// The result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub rows_checked: i64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub head_hash: Option<String>,
    pub broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Walks the whole chain in order. The first row may follow a retention purge, so its `prev_hash` is taken as
/// given; every later row must follow its predecessor exactly.
pub async fn verify_chain(
    store: &dyn Store,
    sealer: &ChainSealer,
) -> Result<ChainReport, StoreError> {
    let mut report = ChainReport {
        rows_checked: 0,
        first_seq: None,
        last_seq: None,
        head_hash: None,
        broken: None,
    };
    let mut previous: Option<AuditRow> = None;
    let mut after = 0;
    loop {
        let rows = store.audit_rows(after, 5_000).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            after = row.seq;
            report.rows_checked += 1;
            report.first_seq.get_or_insert(row.seq);
            report.last_seq = Some(row.seq);
            if let Some(prev) = &previous {
                if row.seq != prev.seq + 1 {
                    report.broken = Some(BrokenLink {
                        seq: row.seq,
                        reason: format!("row {} is missing before row {}", prev.seq + 1, row.seq),
                    });
                    return Ok(report);
                }
                if row.prev_hash != prev.hash {
                    report.broken = Some(BrokenLink {
                        seq: row.seq,
                        reason: format!("prev_hash does not match the hash of row {}", prev.seq),
                    });
                    return Ok(report);
                }
            }
            let expected = sealer.hash(&row.prev_hash, row.seq, &row.entry);
            if expected != row.hash {
                report.broken = Some(BrokenLink {
                    seq: row.seq,
                    reason: "content does not match its seal (the row was altered)".to_owned(),
                });
                return Ok(report);
            }
            report.head_hash = Some(row.hash.clone());
            previous = Some(row);
        }
    }
    Ok(report)
}
