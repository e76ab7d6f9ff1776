//! Ledgers (issue 7): case workflows of every `[ledgers.*]` table of the plan (risk points, hazards, tutoring
//! complaints, the negative list, inspections, inclusive certification), and campus safety around them — the risk
//! map, the gate board and the risk cards, security guards, key areas and video, vetting of external staff.
//!
//! The engine (`edu-ledger`) decides every step; this module maps the platform's users onto the engine's roles,
//! enforces scope, keeps sensitive values encrypted, writes history and audit in one transaction.
//!
//! # Roles
//!
//! A user acts on the cases of a school in the ledger roles given by their platform role and their relation to
//! that school (docs/safety.md has the table):
//!
//! | platform role | relation to the case's school | ledger roles (preferred first) |
//! |---|---|---|
//! | `school_admin` | own school | `school_admin`, `school_safety_officer` |
//! | `teacher` | own school | `teacher` (only in ledgers where some step names `teacher`) |
//! | `district_admin` | school in own district | `district_admin` |
//! | `city_admin` | any school | `city_admin` |
//! | `inspector` | school in scope | `inspector` (read-only: the platform gives inspectors no `ManageCases`) |
//! | `district_admin`, `city_admin`, `inspector` named in an assignee field of the case | as above | `investigator` first |
//!
//! Anything else (other schools, other districts, the three separated administrators) sees nothing: 404.
//! A person reference is `u:<username>` (a platform account) or `s:<staff number>` (a registry staff member).

mod cases;
mod codec;
mod export;
pub mod files;
mod safety;

pub use cases::{
    ActionForm, CaseDetail, CaseFilter, CaseSummary, FieldInput, FieldShown, HistoryShown,
    InputKind, LedgerStates, LedgerSummary, NewCaseForm, StepInput, UnitCounts,
};
pub use files::{MAX_FILE_BYTES, Upload};
pub use safety::{
    BoardData, CardData, ChecklistForm, ChecklistItemInput, ChecklistRunInput, ChecklistRunResult,
    GuardView, KeyAreaInput, RiskPointView, SafetyOverview, SchoolSafety, SchoolSafetyRow,
    VettingInput, VettingView,
};

use edu_ledger::{Case, LedgerDef, Relation, Role as LedgerRole};

use crate::App;
use crate::access::{Actor, Permission, Role, Scope};
use crate::error::AppError;
use crate::registry::AttentionItem;

/// The stored form of a whole case (every history entry), for bulk writers (the demo).
pub(crate) fn codec_case_write(
    keys: &crate::crypto::KeyRing,
    def: &LedgerDef,
    case: &Case,
    case_key: &str,
    institution_id: i64,
    now: jiff::Timestamp,
) -> Result<edu_store::ledgers::CaseWrite, AppError> {
    codec::case_write(
        keys,
        def,
        case,
        case_key,
        institution_id,
        0..case.history.len(),
        now,
    )
}

/// Bytes as lower-case letters (tokens of the demo).
pub(crate) fn cases_letters(bytes: &[u8]) -> String {
    cases::letters(bytes)
}

/// The person reference of a platform account.
pub fn person_of(actor: &Actor) -> String {
    format!("u:{}", actor.username)
}

/// How an actor stands toward one school's cases of one ledger.
#[derive(Debug, Clone)]
pub(crate) struct Standing {
    pub person: String,
    pub relation: Relation,
    /// Ledger roles the actor may act in, preferred first (never empty).
    pub roles: Vec<LedgerRole>,
}

impl Standing {
    /// The engine's actor for an action: the first of the standing's roles the action allows.
    pub(crate) fn actor_for(&self, allowed: &[LedgerRole]) -> edu_ledger::Actor {
        let role = self
            .roles
            .iter()
            .copied()
            .find(|r| allowed.contains(r))
            .unwrap_or(self.roles[0]);
        edu_ledger::Actor {
            person: self.person.clone(),
            role,
            relation: self.relation,
        }
    }

    /// The engine's actor for reading (the preferred role).
    pub(crate) fn viewer(&self) -> edu_ledger::Actor {
        self.actor_for(&[])
    }
}

/// Where the actor works relative to a school.
pub(crate) fn relation(actor: &Actor, institution_id: i64, district: &str) -> Relation {
    match &actor.scope {
        Scope::City { .. } => Relation::City,
        Scope::District { code } if code == district => Relation::OwnDistrict,
        Scope::Institution { id, .. } if *id == institution_id => Relation::OwnSchool,
        _ => Relation::Unrelated,
    }
}

/// The ledger roles of `actor` on a school's cases of `def` (see the module documentation), or `None` when the
/// actor may not see them at all.
pub(crate) fn standing(
    actor: &Actor,
    def: &LedgerDef,
    institution_id: i64,
    district: &str,
    case: Option<&Case>,
) -> Option<Standing> {
    let relation = relation(actor, institution_id, district);
    if relation == Relation::Unrelated {
        return None;
    }
    let mentions = |role: LedgerRole| def.transitions.iter().any(|t| t.roles.contains(&role));
    let mut roles = match actor.role {
        Role::SchoolAdmin => vec![LedgerRole::SchoolAdmin, LedgerRole::SchoolSafetyOfficer],
        Role::Teacher if mentions(LedgerRole::Teacher) => vec![LedgerRole::Teacher],
        Role::DistrictAdmin => vec![LedgerRole::DistrictAdmin],
        Role::CityAdmin => vec![LedgerRole::CityAdmin],
        Role::Inspector => vec![LedgerRole::Inspector],
        _ => return None,
    };
    let person = person_of(actor);
    let supervisory = matches!(
        actor.role,
        Role::DistrictAdmin | Role::CityAdmin | Role::Inspector
    );
    if supervisory
        && mentions(LedgerRole::Investigator)
        && case.is_some_and(|c| c.is_assigned(def, &person))
    {
        roles.insert(0, LedgerRole::Investigator);
    }
    Some(Standing {
        person,
        relation,
        roles,
    })
}

/// Whether the actor may read ledgers at all (what [`require_read`] checks), for menus and links.
pub fn may_read_ledgers(actor: &Actor) -> bool {
    require_read(actor).is_ok()
}

/// May the actor read ledgers at all (cases, maps, overviews)?
pub(crate) fn require_read(actor: &Actor) -> Result<(), AppError> {
    if actor.can(Permission::ManageCases) || actor.can(Permission::ViewPlan) {
        if matches!(
            actor.role,
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin
        ) && !actor.operator
        {
            return Err(AppError::Forbidden(crate::Forbidden(
                Permission::ManageCases,
            )));
        }
        Ok(())
    } else {
        Err(AppError::Forbidden(crate::Forbidden(
            Permission::ManageCases,
        )))
    }
}

/// May the actor see this ledger at all (a teacher does not see ledgers no step of which names teachers)?
pub(crate) fn ledger_visible(actor: &Actor, def: &LedgerDef) -> bool {
    match actor.role {
        Role::Teacher => def
            .transitions
            .iter()
            .any(|t| t.roles.contains(&LedgerRole::Teacher)),
        Role::SchoolAdmin | Role::DistrictAdmin | Role::CityAdmin | Role::Inspector => true,
        _ => actor.operator,
    }
}

impl App {
    /// The ledger definition of the plan in force.
    pub(crate) fn ledger_def(&self, ledger: &str) -> Result<&LedgerDef, AppError> {
        self.plan.ledgers.get(ledger).ok_or(AppError::NotFound)
    }

    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_ledgers(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        if require_read(actor).is_err() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let now_ms = now.as_millisecond();
        let today = edu_model::china_time::business_date(now).to_string();
        let scope = actor.scope_filter();
        let mut items = Vec::new();
        let sum = |rows: &[edu_store::ledgers::LedgerCountRow],
                   f: fn(&edu_store::ledgers::LedgerCountRow) -> i64| {
            rows.iter().map(f).sum::<i64>()
        };
        if self.plan.ledgers.contains_key("hazards") {
            let rows = self
                .store
                .ledger_counts(&scope, "hazards", now_ms, &today)
                .await?;
            let overdue = sum(&rows, |r| r.overdue);
            if overdue > 0 {
                items.push(AttentionItem {
                    href: "/ledgers/cases/hazards?overdue=1".to_owned(),
                    text_zh: format!("{overdue} 项隐患逾期未整改"),
                    text_en: format!("{overdue} hazards are past their rectification deadline"),
                    level: "alert".to_owned(),
                });
            }
            let major = sum(&rows, |r| r.level_major);
            if major > 0 {
                items.push(AttentionItem {
                    href: "/ledgers/cases/hazards?level=major&open=1".to_owned(),
                    text_zh: format!("{major} 项重大隐患尚未销号"),
                    text_en: format!("{major} major hazards are still open"),
                    level: "warn".to_owned(),
                });
            }
        }
        if self.plan.ledgers.contains_key("risk-points") {
            let rows = self
                .store
                .ledger_counts(&scope, "risk-points", now_ms, &today)
                .await?;
            let reviews = sum(&rows, |r| r.review_overdue);
            if reviews > 0 {
                items.push(AttentionItem {
                    href: "/ledgers/cases/risk-points?open=1".to_owned(),
                    text_zh: format!("{reviews} 个风险点逾期未复核"),
                    text_en: format!("{reviews} risk points are overdue for review"),
                    level: "warn".to_owned(),
                });
            }
        }
        for (ledger, zh, en) in [
            ("tutoring-complaints", "有偿补课投诉", "tutoring complaints"),
            ("negative-list", "负面清单事项", "negative-list requests"),
        ] {
            let Ok(def) = self.ledger_def(ledger) else {
                continue;
            };
            if !ledger_visible(actor, def) {
                continue;
            }
            let rows = self
                .store
                .ledger_counts(&scope, ledger, now_ms, &today)
                .await?;
            let overdue = sum(&rows, |r| r.overdue);
            if overdue > 0 {
                items.push(AttentionItem {
                    href: format!("/ledgers/cases/{ledger}?overdue=1"),
                    text_zh: format!("{overdue} 件{zh}超过办理期限"),
                    text_en: format!("{overdue} {en} are past their deadline"),
                    level: "warn".to_owned(),
                });
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn actor(role: Role, scope: Scope) -> Actor {
        let mut a = Actor::operator("test");
        a.operator = false;
        a.role = role;
        a.scope = scope;
        a.username = "someone".into();
        a
    }

    fn school(id: i64) -> Scope {
        Scope::Institution {
            id,
            code: format!("22306020000{id}"),
            district: "230602".into(),
        }
    }

    #[test]
    fn platform_roles_map_to_ledger_roles() {
        let defs = edu_ledger::parse_ledger_defs(edu_ledger::DAQING_2021_DEFS).unwrap();
        let hazards = &defs["hazards"];
        let complaints = &defs["tutoring-complaints"];
        let roles = |a: &Actor, def: &LedgerDef, inst: i64, district: &str| {
            standing(a, def, inst, district, None).map(|s| s.roles)
        };
        let head = actor(Role::SchoolAdmin, school(1));
        assert_eq!(
            roles(&head, hazards, 1, "230602"),
            Some(vec![
                LedgerRole::SchoolAdmin,
                LedgerRole::SchoolSafetyOfficer
            ])
        );
        assert_eq!(roles(&head, hazards, 2, "230602"), None);
        let teacher = actor(Role::Teacher, school(1));
        assert_eq!(
            roles(&teacher, hazards, 1, "230602"),
            Some(vec![LedgerRole::Teacher])
        );
        assert_eq!(roles(&teacher, complaints, 1, "230602"), None);
        assert!(!ledger_visible(&teacher, complaints));
        let district = actor(
            Role::DistrictAdmin,
            Scope::District {
                code: "230602".into(),
            },
        );
        assert_eq!(
            roles(&district, hazards, 5, "230602"),
            Some(vec![LedgerRole::DistrictAdmin])
        );
        assert_eq!(roles(&district, hazards, 5, "230603"), None);
        let auditor = actor(
            Role::AuditAdmin,
            Scope::City {
                code: "230600".into(),
            },
        );
        assert_eq!(roles(&auditor, hazards, 5, "230603"), None);
        assert!(require_read(&auditor).is_err());
        // Named as investigator on a complaint: the investigator role comes first.
        let mut case = edu_ledger::Case {
            id: "1".into(),
            ledger: "tutoring-complaints".into(),
            school: "x".into(),
            state: "investigating".into(),
            values: Default::default(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            state_entered_at: jiff::Timestamp::UNIX_EPOCH,
            history: Vec::new(),
        };
        case.values
            .insert("investigator".into(), "u:someone".into());
        let s = standing(&district, complaints, 5, "230602", Some(&case)).unwrap();
        assert_eq!(
            s.roles,
            vec![LedgerRole::Investigator, LedgerRole::DistrictAdmin]
        );
        assert_eq!(
            s.actor_for(&[LedgerRole::DistrictAdmin]).role,
            LedgerRole::DistrictAdmin
        );
        assert_eq!(s.viewer().role, LedgerRole::Investigator);
        // A school admin is never an investigator, even if named.
        let s = standing(&head, complaints, 1, "230602", Some(&case)).unwrap();
        assert_eq!(s.roles[0], LedgerRole::SchoolAdmin);
    }

    /// The plan's metric queries against the engine as oracle: every case of the demo city rebuilt from its
    /// history, taken as of several instants, counted with the filters of docs/plan-format.md.
    #[tokio::test]
    async fn store_metrics_agree_with_the_engine_at_any_instant() {
        use std::sync::Arc;

        use edu_store::ledgers::{CaseQuery, KeyAreaQuery, LedgerMetricQuery};
        use edu_store::{PageRequest, ScopeFilter};

        use crate::demo::DemoOptions;
        use crate::{KeyRing, ManualClock, SecuritySettings};

        let now: jiff::Timestamp = "2021-10-11T01:00:00Z".parse().unwrap();
        let app = App::in_memory(
            Arc::new(KeyRing::for_tests(5)),
            Arc::new(ManualClock::new(now)),
            SecuritySettings::default(),
            crate::password::PasswordHasher::for_tests(),
            false,
        )
        .await
        .unwrap();
        let mut quiet = |_: &str, _: u64, _: u64| {};
        app.generate_demo(
            &DemoOptions {
                seed: 11,
                password: "Demo#2021x".into(),
                scale: 0.05,
            },
            &mut quiet,
        )
        .await
        .unwrap();
        // The generator's every step was accepted by the engine.
        let demo_rows = app.store.audit_rows(0, 10_000).await.unwrap();
        let summary = demo_rows
            .iter()
            .find(|r| r.entry.action == "demo.ledgers")
            .unwrap();
        assert!(
            summary.entry.reason.ends_with("refused=0"),
            "{}",
            summary.entry.reason
        );
        let kinds: std::collections::BTreeMap<i64, (String, String)> = app
            .store
            .institution_ids_kinds()
            .await
            .unwrap()
            .into_iter()
            .map(|(_, id, district, kind)| (id, (district, kind)))
            .collect();
        let mut nonzero: Vec<(&str, usize)> = Vec::new();
        for ledger in [
            "hazards",
            "risk-points",
            "tutoring-complaints",
            "negative-list",
        ] {
            let def = app.ledger_def(ledger).unwrap();
            let records = app
                .store
                .ledger_cases(
                    &ScopeFilter::All,
                    &CaseQuery {
                        ledger: Some(ledger.into()),
                        ..CaseQuery::default()
                    },
                    PageRequest {
                        offset: 0,
                        limit: 100_000,
                    },
                )
                .await
                .unwrap()
                .items;
            assert!(!records.is_empty(), "{ledger}");
            let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
            let histories = app.store.ledger_histories(&ids).await.unwrap();
            let cases: Vec<(i64, Case)> = records
                .iter()
                .map(|r| {
                    let h: Vec<_> = histories
                        .iter()
                        .filter(|h| h.case_id == r.id)
                        .cloned()
                        .collect();
                    (
                        r.institution_id,
                        codec::case_from(&app.keys, r, &h).unwrap(),
                    )
                })
                .collect();
            for days_back in [0i64, 3, 8, 20, 60] {
                let t = now
                    .checked_sub(jiff::SignedDuration::from_hours(24 * days_back))
                    .unwrap();
                let period = ("2021-09-01".to_owned(), "2021-10-05".to_owned());
                type Filter<'a> = (
                    &'a str,
                    Box<dyn Fn(&mut LedgerMetricQuery)>,
                    Box<dyn Fn(&Case, &edu_ledger::CaseStatus, &str) -> bool>,
                );
                let filters: Vec<Filter> = vec![
                    ("all", Box::new(|_| {}), Box::new(|_, _, _| true)),
                    (
                        "open",
                        Box::new(|q| q.open = Some(true)),
                        Box::new(|_, s, _| !s.closed),
                    ),
                    (
                        "overdue",
                        Box::new(|q| {
                            q.open = Some(true);
                            q.overdue = Some(true)
                        }),
                        Box::new(|_, s, _| s.overdue),
                    ),
                    (
                        "not overdue",
                        Box::new(|q| q.overdue = Some(false)),
                        Box::new(|_, s, _| !s.overdue),
                    ),
                    (
                        "on time",
                        Box::new(|q| q.closed_on_time = Some(true)),
                        Box::new(|_, s, _| s.closed_late == Some(false)),
                    ),
                    (
                        "late",
                        Box::new(|q| q.closed_on_time = Some(false)),
                        Box::new(|_, s, _| s.closed_late == Some(true)),
                    ),
                    (
                        "red or major",
                        Box::new(|q| q.level = vec!["red".into()]),
                        Box::new(|c, _, _| {
                            ["risk_level", "severity"]
                                .iter()
                                .any(|f| c.values.get(*f).and_then(Value::as_str) == Some("major"))
                        }),
                    ),
                    (
                        "kindergartens",
                        Box::new(|q| q.institutions.kind = vec!["kindergarten".into()]),
                        Box::new(|_, _, kind| kind == "kindergarten"),
                    ),
                    (
                        "opened in period",
                        Box::new(move |q| {
                            q.period = Some(("2021-09-01".into(), "2021-10-05".into()));
                            q.opened_in_period = Some(true)
                        }),
                        Box::new(move |c, _, _| {
                            let d = edu_form::china_time::china_date(c.created_at).to_string();
                            d.as_str() >= period.0.as_str() && d.as_str() <= period.1.as_str()
                        }),
                    ),
                ];
                for (name, set, wanted) in &filters {
                    for org in [ScopeFilter::All, ScopeFilter::District("230602".into())] {
                        let mut q = LedgerMetricQuery::new(ledger, t.as_millisecond());
                        q.org = org.clone();
                        set(&mut q);
                        let got = app.store.ledger_metric(&q).await.unwrap();
                        let expected = cases
                            .iter()
                            .filter(|(inst, _)| match &org {
                                ScopeFilter::District(d) => kinds[inst].0 == *d,
                                _ => true,
                            })
                            .filter_map(|(inst, c)| c.as_of(t).map(|c| (inst, c)))
                            .filter(|(inst, c)| {
                                let status = edu_ledger::case_status(def, c, t);
                                wanted(c, &status, &kinds[*inst].1)
                            })
                            .count();
                        assert_eq!(
                            got, expected as f64,
                            "{ledger} {name} {days_back} days back {org:?}"
                        );
                        if ledger == "hazards" && days_back == 0 && org == ScopeFilter::All {
                            nonzero.push((*name, expected));
                        }
                    }
                }
            }
        }
        // The oracle was not asked trivial questions: the demo has hazards in every condition.
        for name in [
            "open",
            "overdue",
            "on time",
            "late",
            "red or major",
            "kindergartens",
            "opened in period",
        ] {
            assert!(
                nonzero.iter().any(|(n, c)| *n == name && *c > 0),
                "{name}: {nonzero:?}"
            );
        }
        // Key areas: counted per institution from the registers, on two dates.
        for on in ["2021-10-11", "2021-03-01"] {
            let mut all = 0;
            let mut camera = 0;
            let mut linked = 0;
            for id in kinds.keys() {
                for area in app.store.key_areas(*id, on).await.unwrap() {
                    all += 1;
                    camera += usize::from(area.camera);
                    linked += usize::from(area.camera && area.police_link);
                }
            }
            let mut q = KeyAreaQuery::new(on);
            assert_eq!(app.store.key_area_metric(&q).await.unwrap(), all as f64);
            q.camera = Some(true);
            assert_eq!(app.store.key_area_metric(&q).await.unwrap(), camera as f64);
            q.police_link = Some(true);
            assert_eq!(app.store.key_area_metric(&q).await.unwrap(), linked as f64);
            if on == "2021-10-11" {
                assert!(
                    all > 0 && camera < all && camera * 10 > all * 8,
                    "{camera}/{all}"
                );
            }
        }
    }
}
