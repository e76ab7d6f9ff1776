//! Use cases of EduPlan: access control, sessions, audit, registry, import/export and the demo city.
//!
//! The web layer and the CLI hold an [`App`]. Every operation on data takes an [`Actor`] (who, with which role
//! and scope) and an [`AuditContext`] (from where); the scope filter for storage is derived from the actor here,
//! never by a caller. The storage port itself is not re-exported: code outside this crate cannot reach the
//! database except through these use cases.

pub mod access;
pub mod allocations;
pub mod audit;
mod auth;
pub mod clock;
pub mod crypto;
pub mod demo;
mod error;
pub mod exchange;
pub mod ledgers;
pub mod obligations;
pub mod password;
pub mod plan;
mod registry;
pub mod timetables;
pub mod users;

use std::path::Path;
use std::sync::Arc;

pub use access::{Actor, Forbidden, Permission, Role, Scope};
pub use audit::{AuditContext, ChainReport};
pub use auth::{LoginOutcome, SessionKind};
pub use clock::{Clock, ManualClock, ShiftedClock, SystemClock};
pub use crypto::KeyRing;
pub use error::{AppError, AuthFailure, FieldError};
pub use registry::{AttentionItem, InstitutionView, OrgTree, OrgTreeDistrict, PupilDetail, page};
pub use users::{NewUser, UserSummary, one_time_password};

/// Read models handed to the web layer (plain data, no storage access).
pub mod views {
    pub use edu_store::{
        ClassRecord, DistrictCounts, GroupMembership, InstitutionHistoryRecord,
        InstitutionListItem, InstitutionQuery, InstitutionRecord, OrgUnitRecord, PageRequest,
        Paged, PopulationRecord, PupilHistoryRecord, PupilListItem, StaffListItem, Upserted,
    };
}

use edu_store::{SqliteOptions, SqliteStore, Store};
use serde::{Deserialize, Serialize};

use crate::audit::ChainSealer;
use crate::password::{PasswordHasher, PasswordPolicy};

/// Security settings (SECURITY.md): sessions, lockout, passwords. Validated by [`SecuritySettings::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_hours: i64,
    pub max_failed_logins: i64,
    pub failure_window_minutes: i64,
    pub lockout_minutes: i64,
    pub max_sessions_per_user: i64,
    pub stale_account_days: i64,
    pub initial_password_hours: i64,
    pub login_attempts_per_ip_per_minute: u32,
    pub password: PasswordPolicy,
    /// Days audit rows are kept; the purge never deletes rows younger than 180 days.
    pub audit_retention_days: i64,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            idle_timeout_minutes: 30,
            absolute_timeout_hours: 12,
            max_failed_logins: 5,
            failure_window_minutes: 15,
            lockout_minutes: 30,
            max_sessions_per_user: 3,
            stale_account_days: 90,
            initial_password_hours: 24,
            login_attempts_per_ip_per_minute: 30,
            password: PasswordPolicy::default(),
            audit_retention_days: 400,
        }
    }
}

impl SecuritySettings {
    /// Refuses settings that would break a requirement (e.g. idle timeout over 30 minutes, retention under 180 days).
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=30).contains(&self.idle_timeout_minutes) {
            return Err("idle_timeout_minutes must be between 1 and 30".into());
        }
        if !(1..=12).contains(&self.absolute_timeout_hours) {
            return Err("absolute_timeout_hours must be between 1 and 12".into());
        }
        if !(3..=10).contains(&self.max_failed_logins) {
            return Err("max_failed_logins must be between 3 and 10".into());
        }
        if self.lockout_minutes < 1 {
            return Err("lockout_minutes must be at least 1".into());
        }
        if self.audit_retention_days < 180 {
            return Err("audit_retention_days must be at least 180 (网络安全法 §21)".into());
        }
        if self.password.min_chars < 8 || self.password.max_chars < 64 {
            return Err("password.min_chars must be ≥ 8 and password.max_chars ≥ 64".into());
        }
        if self.max_sessions_per_user < 1 {
            return Err("max_sessions_per_user must be at least 1".into());
        }
        Ok(())
    }
}

/// The application: storage, keys, clock and settings.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Arc<SecuritySettings>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) sealer: Arc<ChainSealer>,
    pub(crate) throttle: Arc<auth::IpThrottle>,
    /// A hash verified for unknown usernames so their timing matches known ones.
    pub(crate) dummy_hash: Arc<String>,
    /// The work plan in force, with its obligation and ledger definitions parsed by their engines.
    pub(crate) plan: Arc<LoadedPlan>,
    /// Registry facts the plan computed, by registry version (see `plan::PlanCache`).
    pub(crate) plan_cache: Arc<plan::PlanCache>,
}

/// A plan file, checked and parsed once at start.
#[derive(Debug)]
pub struct LoadedPlan {
    pub plan: edu_plan::Plan,
    pub obligations: std::collections::BTreeMap<String, edu_obligation::ObligationDef>,
    pub ledgers: std::collections::BTreeMap<String, edu_ledger::LedgerDef>,
    /// The text it was parsed from (for `plan diff`, export and display).
    pub source: String,
}

impl LoadedPlan {
    /// Parses a plan file; every problem is reported with its line and column.
    pub fn parse(text: &str) -> Result<LoadedPlan, AppError> {
        let (plan, diagnostics) = edu_plan::check_plan(text);
        let Some(plan) = plan else {
            let problems: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.severity == edu_plan::Severity::Error)
                .map(|d| d.to_string())
                .collect();
            return Err(AppError::Config(format!(
                "plan file: {}",
                problems.join("; ")
            )));
        };
        let obligations = edu_obligation::parse_obligation_defs(text)
            .map_err(|e| AppError::Config(format!("plan obligations: {e}")))?;
        let ledgers = edu_ledger::parse_ledger_defs(text)
            .map_err(|e| AppError::Config(format!("plan ledgers: {e}")))?;
        let problems = metric_source_problems(&plan, &obligations, &ledgers);
        if !problems.is_empty() {
            return Err(AppError::Config(format!(
                "plan metrics: {}",
                problems.join("; ")
            )));
        }
        Ok(LoadedPlan {
            plan,
            obligations,
            ledgers,
            source: text.to_owned(),
        })
    }

    /// The plan shipped with EduPlan (Daqing 2021).
    pub fn default_plan() -> Result<LoadedPlan, AppError> {
        LoadedPlan::parse(edu_plan::DAQING_2021)
    }
}

/// Metrics whose obligation, form field or ledger is not declared by the plan: a sum over a field the form does
/// not have (or that is not a number) would silently count nothing, so the plan is refused.
fn metric_source_problems(
    plan: &edu_plan::Plan,
    obligations: &std::collections::BTreeMap<String, edu_obligation::ObligationDef>,
    ledgers: &std::collections::BTreeMap<String, edu_ledger::LedgerDef>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, metric) in plan.metrics() {
        match &metric.source {
            edu_plan::Source::Obligation {
                obligation, agg, ..
            } => {
                let Some(def) = obligations.get(obligation) else {
                    problems.push(format!("metrics.\"{name}\": no obligation {obligation}"));
                    continue;
                };
                if let edu_plan::ObligationAgg::Sum(field) = agg {
                    let summable = def.form.field(field).is_some_and(|f| {
                        f.field_type.is_numeric() || f.field_type == edu_form::FieldType::Bool
                    });
                    if !summable {
                        problems.push(format!(
                            "metrics.\"{name}\": obligation {obligation} has no numeric field {field}"
                        ));
                    }
                }
            }
            edu_plan::Source::Ledger { ledger, .. } if !ledgers.contains_key(ledger) => {
                problems.push(format!("metrics.\"{name}\": no ledger {ledger}"));
            }
            _ => {}
        }
    }
    problems
}

impl App {
    /// The same application with another plan (a plan file given in the configuration).
    pub fn with_plan(mut self, plan: LoadedPlan) -> App {
        self.plan = Arc::new(plan);
        self.plan_cache = Arc::default();
        self
    }

    /// The plan in force.
    pub fn plan(&self) -> &LoadedPlan {
        &self.plan
    }

    /// The same application on another clock (the demo city runs on a clock shifted into its school year).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> App {
        self.clock = clock;
        self
    }

    /// The clock this application runs on.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Opens a SQLite database (creating and migrating it as needed) with the given keys.
    pub async fn open_sqlite(
        path: &Path,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        settings: SecuritySettings,
        hasher: PasswordHasher,
    ) -> Result<App, AppError> {
        let sealer = Arc::new(ChainSealer::new(keys.clone()));
        let store = SqliteStore::open(path, &SqliteOptions::default(), sealer.clone()).await?;
        App::with_store(Arc::new(store), sealer, keys, clock, settings, hasher).await
    }

    /// An in-memory database (tests). `sealer` may be replaced to inject audit failures.
    pub async fn in_memory(
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        settings: SecuritySettings,
        hasher: PasswordHasher,
        failing_audit: bool,
    ) -> Result<App, AppError> {
        let sealer = Arc::new(ChainSealer::new(keys.clone()));
        let store_sealer: Arc<dyn edu_store::AuditSealer> = if failing_audit {
            Arc::new(audit::FailingSealer)
        } else {
            sealer.clone()
        };
        let store = SqliteStore::open_in_memory(store_sealer).await?;
        App::with_store(Arc::new(store), sealer, keys, clock, settings, hasher).await
    }

    async fn with_store(
        store: Arc<dyn Store>,
        sealer: Arc<ChainSealer>,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        settings: SecuritySettings,
        hasher: PasswordHasher,
    ) -> Result<App, AppError> {
        settings.validate().map_err(AppError::Config)?;
        // Refuse a key file that does not belong to this database, before anything is written with it.
        let fingerprint = keys.fingerprint();
        match store.meta("key_fingerprint").await? {
            Some(stored) if stored != fingerprint => {
                return Err(AppError::Config(
                    "the key file does not match this database (key fingerprint differs)"
                        .to_owned(),
                ));
            }
            Some(_) => {}
            None => {
                let mut tx = store.begin().await?;
                tx.set_meta("key_fingerprint", &fingerprint).await?;
                tx.commit().await?;
            }
        }
        let dummy_hash = Arc::new(hasher.hash("dummy password for timing").await?);
        let plan = Arc::new(LoadedPlan::default_plan()?);
        Ok(App {
            store,
            keys,
            clock,
            settings: Arc::new(settings),
            hasher,
            sealer,
            throttle: Arc::new(auth::IpThrottle::default()),
            dummy_hash,
            plan,
            plan_cache: Arc::default(),
        })
    }

    pub fn settings(&self) -> &SecuritySettings {
        &self.settings
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// Verifies the audit chain (`eduplan audit verify`).
    pub async fn verify_audit(&self) -> Result<ChainReport, AppError> {
        Ok(audit::verify_chain(self.store.as_ref(), &self.sealer).await?)
    }

    /// Whether the database holds any user yet (a fresh database needs `eduplan user create` first).
    pub async fn has_users(&self) -> Result<bool, AppError> {
        Ok(self
            .store
            .users(views::PageRequest {
                offset: 0,
                limit: 1,
            })
            .await?
            .total
            > 0)
    }

    /// Closes the database (checkpointing SQLite's WAL). The app must not be used afterwards.
    pub async fn close(&self) {
        self.store.close().await;
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, AppError> {
        Ok(self.store.meta(key).await?)
    }
}
