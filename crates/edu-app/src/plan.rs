//! The work plan as data, evaluated live: every target computed from the records for any org unit, with the
//! institutions behind each number.
//!
//! Evaluation loads compact facts once per request — institutions as they stood on the as-of date, enrolled
//! pupils grouped by institution and attribute, active staff, population by age — and computes every metric of the
//! plan from them in memory ([`FactSource`] implements `edu_plan::MetricSource`). The same facts serve the city,
//! each district and each institution, so a drill-down costs one load. Ratios are sums of numerators over sums of
//! denominators at every level (the plan engine guarantees it).

use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use edu_plan::{
    Breakdown, Evaluation, MetricRequest, MetricSource, PlanDate, Source, Status, TargetResult,
    evaluate,
};
use edu_store::obligations::InstitutionTotals;
use edu_store::plan::{InstitutionFact, PlanSnapshot, PupilCount, StaffFact};
use edu_store::{PopulationRecord, ScopeFilter};
use serde::Serialize;

use crate::App;
use crate::access::{Actor, Permission, Scope};
use crate::error::AppError;
use crate::registry::AttentionItem;

type CapabilityKey = (String, String, PlanDate, PlanDate, Option<Breakdown>);

/// Facts on one as-of date.
pub struct PlanFacts {
    pub city: String,
    pub as_of: PlanDate,
    institutions: Arc<Vec<InstitutionFact>>,
    tags: Arc<HashMap<i64, Vec<String>>>,
    index: Arc<HashMap<i64, usize>>,
    by_code: Arc<HashMap<String, usize>>,
    /// Pupil counts per period (start, end) — the period decides who is a new entrant.
    pupils: Arc<BTreeMap<(PlanDate, PlanDate), Vec<PupilCount>>>,
    staff: Arc<Vec<StaffFact>>,
    population: Arc<Vec<PopulationRecord>>,
    /// Values of capability metrics (obligations, ledgers, key areas), computed by their stores for the org units
    /// the caller asked for, by (metric, org, period, breakdown).
    capability: HashMap<CapabilityKey, f64>,
}

/// The registry's part of [`PlanFacts`] for one as-of date, shared between requests while the registry's version
/// stays the same.
#[derive(Clone)]
struct RegistryFacts {
    institutions: Arc<Vec<InstitutionFact>>,
    tags: Arc<HashMap<i64, Vec<String>>>,
    index: Arc<HashMap<i64, usize>>,
    by_code: Arc<HashMap<String, usize>>,
    pupils: Arc<BTreeMap<(PlanDate, PlanDate), Vec<PupilCount>>>,
    staff: Arc<Vec<StaffFact>>,
    population: Arc<Vec<PopulationRecord>>,
}

/// Registry facts by (registry version, as-of date): the few most recent, so the scorecard, its drill-downs and the
/// trend's snapshots do not scan an unchanged registry again. An entry of an older version is never used again
/// (the version only grows), and is pushed out by newer ones.
#[derive(Default)]
pub(crate) struct PlanCache {
    entries: std::sync::Mutex<Vec<((i64, PlanDate), RegistryFacts)>>,
}

impl PlanCache {
    const CAPACITY: usize = 4;

    fn get(&self, version: i64, as_of: PlanDate) -> Option<RegistryFacts> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .iter()
            .find(|(key, _)| *key == (version, as_of))
            .map(|(_, facts)| facts.clone())
    }

    fn put(&self, version: i64, as_of: PlanDate, facts: RegistryFacts) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|((v, day), _)| *v == version && *day != as_of);
        entries.push(((version, as_of), facts));
        if entries.len() > Self::CAPACITY {
            entries.remove(0);
        }
    }
}

/// One scan of an obligation's returns: (obligation, period start, period end, as-of).
type ObligationBatch = (String, PlanDate, PlanDate, PlanDate);

/// Whether an institution matches one of an obligation's owed-by selectors (the same rules as the store's SQL:
/// any of each listed value; a tag list matches any tag, and `inclusive` also matches the inclusive flag).
fn selector_matches(
    s: &edu_store::obligations::InstitutionSelector,
    i: &InstitutionFact,
    tags: &[String],
) -> bool {
    let any = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
    any(&s.kinds, &i.kind)
        && any(&s.ownership, &i.ownership)
        && any(&s.area, &i.area)
        && any(&s.authority, &i.authority)
        && s.inclusive.is_none_or(|v| v == i.inclusive)
        && (s.tags.is_empty()
            || s.tags.iter().any(|t| tags.contains(t))
            || (i.inclusive && s.tags.iter().any(|t| t == "inclusive")))
}

fn plan_date(date: jiff::civil::Date) -> PlanDate {
    PlanDate::new(i32::from(date.year()), date.month() as u8, date.day() as u8)
        .unwrap_or_else(|| PlanDate::new(2000, 1, 1).unwrap_or_else(|| unreachable!()))
}

/// The stable code an engine enum serialises to ("kindergarten", "M", "security_guard", …).
fn code<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Statutory retirement ages used by the plan's one-for-one replacement (men 60, women 55).
fn retirement_date(birth: &str, sex: &str) -> Option<PlanDate> {
    let birth: PlanDate = birth.parse().ok()?;
    let years = if sex == "M" { 60 } else { 55 };
    let day = if birth.month() == 2 && birth.day() == 29 {
        28
    } else {
        birth.day()
    };
    PlanDate::new(birth.year() + years, birth.month(), day)
}

impl PlanFacts {
    fn institution(&self, id: i64) -> Option<&InstitutionFact> {
        self.index.get(&id).map(|i| &self.institutions[*i])
    }

    /// Whether an institution is inside the org unit (city, district or itself).
    fn in_org(&self, institution: &InstitutionFact, org: &str) -> bool {
        org == self.city || org == institution.district_code || org == institution.code
    }

    fn passes(
        &self,
        id: i64,
        org: &str,
        filter: &edu_plan::InstitutionFilter,
        breakdown: Option<Breakdown>,
    ) -> bool {
        let Some(i) = self.institution(id) else {
            return false;
        };
        if i.status != "open" || !self.in_org(i, org) {
            return false;
        }
        let breakdown_ok = match breakdown {
            Some(Breakdown::Area(area)) => i.area == code(&area),
            Some(Breakdown::Ownership(ownership)) => i.ownership == code(&ownership),
            Some(Breakdown::Sex(_)) | None => true,
        };
        breakdown_ok
            && (filter.kind.is_empty() || filter.kind.iter().any(|k| code(k) == i.kind))
            && filter.ownership.is_none_or(|o| code(&o) == i.ownership)
            && filter.inclusive.is_none_or(|v| v == i.inclusive)
            && filter.area.is_none_or(|a| code(&a) == i.area)
            && filter.authority.is_none_or(|a| code(&a) == i.authority)
            && filter
                .tag
                .as_ref()
                .is_none_or(|tag| self.tags.get(&id).is_some_and(|t| t.contains(tag)))
    }

    fn sex_ok(sex: &str, filter: Option<edu_plan::Sex>, breakdown: Option<Breakdown>) -> bool {
        filter.is_none_or(|s| code(&s) == sex)
            && !matches!(breakdown, Some(Breakdown::Sex(s)) if code(&s) != sex)
    }

    fn certified_guard(&self, institution_id: i64) -> bool {
        self.staff.iter().any(|s| {
            s.institution_id == institution_id && s.role == "security_guard" && s.certified
        })
    }

    /// The value of one metric request (None when the source has no data for it).
    pub fn value(&self, request: &MetricRequest<'_>) -> Option<f64> {
        let (org, breakdown, period) = (request.org, request.breakdown, request.period);
        match &request.metric.source {
            Source::Pupils {
                institutions,
                pupils,
            } => {
                let rows = self.pupils.get(&(period.start, period.end))?;
                let total: i64 = rows
                    .iter()
                    .filter(|r| self.passes(r.institution_id, org, institutions, breakdown))
                    .filter(|r| Self::sex_ok(&r.sex, pupils.sex, breakdown))
                    .filter(|r| {
                        pupils.grade.is_empty()
                            || pupils.grade.iter().any(|g| i64::from(*g) == r.grade)
                    })
                    .filter(|r| pupils.age_min.is_none_or(|min| r.age >= i64::from(min)))
                    .filter(|r| pupils.age_max.is_none_or(|max| r.age <= i64::from(max)))
                    .filter(|r| {
                        pupils
                            .new_entrants
                            .is_none_or(|wanted| r.new_entrant == wanted)
                    })
                    .map(|r| r.count)
                    .sum();
                Some(total as f64)
            }
            Source::Institutions {
                institutions,
                has_certified_guard,
            } => {
                if matches!(breakdown, Some(Breakdown::Sex(_))) {
                    return None;
                }
                let count = self
                    .institutions
                    .iter()
                    .filter(|i| self.passes(i.id, org, institutions, breakdown))
                    .filter(|i| {
                        has_certified_guard
                            .is_none_or(|wanted| self.certified_guard(i.id) == wanted)
                    })
                    .count();
                Some(count as f64)
            }
            Source::Staff {
                institutions,
                staff,
            } => {
                let count = self
                    .staff
                    .iter()
                    .filter(|s| self.passes(s.institution_id, org, institutions, breakdown))
                    .filter(|s| Self::sex_ok(&s.sex, staff.sex, breakdown))
                    .filter(|s| {
                        staff.role.is_empty() || staff.role.iter().any(|r| code(r) == s.role)
                    })
                    .filter(|s| staff.certified.is_none_or(|wanted| s.certified == wanted))
                    .filter(|s| {
                        staff
                            .special_post
                            .is_none_or(|wanted| s.special_post == wanted)
                    })
                    .filter(|s| {
                        staff.hired_in_period.is_none_or(|wanted| {
                            let hired = s
                                .hire_date
                                .parse::<PlanDate>()
                                .is_ok_and(|d| d >= period.start && d <= period.end);
                            hired == wanted
                        })
                    })
                    .filter(|s| {
                        staff.retiring_in_period.is_none_or(|wanted| {
                            let retiring = retirement_date(&s.birth_date, &s.sex)
                                .is_some_and(|d| d >= period.start && d <= period.end);
                            retiring == wanted
                        })
                    })
                    .count();
                Some(count as f64)
            }
            Source::Population(spec) => {
                // Population is recorded by district, year, single age and basis; not by area, sex or ownership,
                // and an institution has none.
                if breakdown.is_some() || self.by_code.contains_key(org) {
                    return None;
                }
                let year = i64::from(period.population_year());
                let basis = code(&spec.basis);
                let rows: Vec<&PopulationRecord> = self
                    .population
                    .iter()
                    .filter(|p| org == self.city || org == p.district_code)
                    .filter(|p| p.year == year && p.basis == basis)
                    .filter(|p| {
                        p.age >= i64::from(spec.age_min) && p.age <= i64::from(spec.age_max)
                    })
                    .collect();
                if rows.is_empty() {
                    return None;
                }
                Some(rows.iter().map(|p| p.count as f64).sum())
            }
            Source::Obligation { .. } | Source::Ledger { .. } | Source::KeyAreas { .. } => {
                if matches!(breakdown, Some(Breakdown::Sex(_))) {
                    return None;
                }
                let key = (
                    request.name.to_owned(),
                    org.to_owned(),
                    period.start,
                    period.end,
                    breakdown,
                );
                self.capability.get(&key).copied()
            }
        }
    }
}

fn status_zh(status: Status) -> &'static str {
    match status {
        Status::Met => "达标",
        Status::AtRisk => "有风险",
        Status::Missed => "未达标",
        Status::NoData => "无数据",
    }
}

/// The end of a China-time day as a UTC instant in milliseconds (ledger states are counted as of that moment).
fn civil(date: PlanDate) -> jiff::civil::Date {
    jiff::civil::date(date.year() as i16, date.month() as i8, date.day() as i8)
}

/// The last millisecond of a China-time day.
fn end_of_day(date: PlanDate) -> jiff::Timestamp {
    let minute = edu_model::china_time::china_instant(civil(date), 23, 59);
    minute
        .checked_add(jiff::SignedDuration::from_millis(59_999))
        .unwrap_or(minute)
}

fn end_of_day_ms(date: PlanDate) -> i64 {
    end_of_day(date).as_millisecond()
}

/// Whether a breakdown contradicts the metric's own institution filter (urban schools of a rural-only metric):
/// nothing can match, and the value is 0.
fn breakdown_contradicts(
    filter: &edu_plan::InstitutionFilter,
    breakdown: Option<Breakdown>,
) -> bool {
    match breakdown {
        Some(Breakdown::Area(area)) => filter.area.is_some_and(|a| code(&a) != code(&area)),
        Some(Breakdown::Ownership(ownership)) => filter
            .ownership
            .is_some_and(|o| code(&o) != code(&ownership)),
        _ => false,
    }
}

/// [`PlanFacts`] as the plan engine's metric source.
pub struct FactSource<'a>(pub &'a PlanFacts);

impl MetricSource for FactSource<'_> {
    fn value(&self, request: &MetricRequest<'_>) -> Option<f64> {
        self.0.value(request)
    }
}

/// A scorecard: every target for one org unit.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub org: String,
    pub org_name: String,
    pub as_of: PlanDate,
    pub evaluation: Evaluation,
    /// The units one level down (districts of the city; institutions of a district) the actor may open.
    pub children: Vec<(String, String)>,
}

/// One row of a drill-down: a child unit's result for the target.
#[derive(Debug, Clone, Serialize)]
pub struct DrillRow {
    pub org: String,
    pub name: String,
    pub kind: Option<String>,
    pub result: TargetResult,
}

/// A target at an org unit with the units behind it, and its trend.
#[derive(Debug, Clone, Serialize)]
pub struct Drilldown {
    pub org: String,
    pub org_name: String,
    pub as_of: PlanDate,
    pub result: TargetResult,
    pub rows: Vec<DrillRow>,
    pub trend: Vec<PlanSnapshot>,
    /// Whether the rows are institutions (a district's or the actor's) rather than districts.
    pub rows_are_institutions: bool,
}

/// Which org unit a code names, and whether the actor may see it.
enum OrgUnit {
    City,
    District(String),
    Institution,
}

impl App {
    /// Loads the facts for an as-of date and every period the plan's targets use. Capability metrics (obligations,
    /// ledgers, key areas) are computed by their stores for the listed org units only (all metrics, or `only`).
    pub async fn plan_facts(
        &self,
        as_of: PlanDate,
        orgs: &[String],
        only: Option<&[&str]>,
    ) -> Result<PlanFacts, AppError> {
        let started = std::time::Instant::now();
        // Registry facts are kept while the registry's version stays the same (it changes in the transaction of
        // any registry write, so a change shows on the next request).
        let version = self.store.registry_version().await?;
        let cached = self.plan_cache.get(version, as_of);
        let hit = cached.is_some();
        let facts_of = |registry: RegistryFacts| PlanFacts {
            city: self.plan.plan.header().city.clone(),
            as_of,
            institutions: registry.institutions,
            tags: registry.tags,
            index: registry.index,
            by_code: registry.by_code,
            pupils: registry.pupils,
            staff: registry.staff,
            population: registry.population,
            capability: HashMap::new(),
        };
        let facts = match cached {
            Some(registry) => {
                let mut facts = facts_of(registry);
                facts.capability = self.capability_metric_values(&facts, orgs, only).await?;
                facts
            }
            None => {
                // The capabilities need only the institutions: they are read while the pupils, staff and
                // population are.
                let mut facts = facts_of(self.registry_institutions(as_of).await?);
                let (rest, capability) = tokio::try_join!(
                    self.registry_people(as_of),
                    self.capability_metric_values(&facts, orgs, only)
                )?;
                (facts.pupils, facts.staff, facts.population) = rest;
                facts.capability = capability;
                self.plan_cache.put(
                    version,
                    as_of,
                    RegistryFacts {
                        institutions: facts.institutions.clone(),
                        tags: facts.tags.clone(),
                        index: facts.index.clone(),
                        by_code: facts.by_code.clone(),
                        pupils: facts.pupils.clone(),
                        staff: facts.staff.clone(),
                        population: facts.population.clone(),
                    },
                );
                facts
            }
        };
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1e3,
            registry_cached = hit,
            values = facts.capability.len(),
            "plan facts loaded"
        );
        Ok(facts)
    }

    /// The institutions and their tags as of a date (the registry's part of the plan facts without the people).
    async fn registry_institutions(&self, as_of: PlanDate) -> Result<RegistryFacts, AppError> {
        let (institutions, tag_rows) = self.store.institution_facts(&as_of.to_string()).await?;
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, tag) in tag_rows {
            tags.entry(id).or_default().push(tag);
        }
        let index = institutions
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id, i))
            .collect();
        let by_code = institutions
            .iter()
            .enumerate()
            .map(|(i, f)| (f.code.clone(), i))
            .collect();
        Ok(RegistryFacts {
            institutions: Arc::new(institutions),
            tags: Arc::new(tags),
            index: Arc::new(index),
            by_code: Arc::new(by_code),
            pupils: Arc::default(),
            staff: Arc::default(),
            population: Arc::default(),
        })
    }

    /// Pupils per period of the plan, staff and population as of a date, read side by side on pooled connections.
    #[allow(clippy::type_complexity)]
    async fn registry_people(
        &self,
        as_of: PlanDate,
    ) -> Result<
        (
            Arc<BTreeMap<(PlanDate, PlanDate), Vec<PupilCount>>>,
            Arc<Vec<StaffFact>>,
            Arc<Vec<PopulationRecord>>,
        ),
        AppError,
    > {
        let plan = &self.plan.plan;
        let as_of_text = as_of.to_string();
        let mut periods = Vec::new();
        for target in plan.targets() {
            if let Some(period) = plan.eval_period(target, as_of)
                && !periods
                    .iter()
                    .any(|(s, e, _)| (*s, *e) == (period.start, period.end))
            {
                periods.push((period.start, period.end, period.as_of));
            }
        }
        // Staff are taken on the latest as-of date any period uses (periods clamp as-of).
        let (pupils, staff, population) = tokio::try_join!(
            self.plan_pupils(&periods),
            async { Ok::<_, AppError>(self.store.staff_facts(&as_of_text).await?) },
            async { Ok::<_, AppError>(self.store.population(&ScopeFilter::All, None).await?) },
        )?;
        Ok((Arc::new(pupils), Arc::new(staff), Arc::new(population)))
    }

    /// Pupil counts for each period, one registry pass per distinct as-of date.
    async fn plan_pupils(
        &self,
        periods: &[(PlanDate, PlanDate, PlanDate)],
    ) -> Result<BTreeMap<(PlanDate, PlanDate), Vec<PupilCount>>, AppError> {
        let mut by_as_of: BTreeMap<PlanDate, Vec<(PlanDate, PlanDate)>> = BTreeMap::new();
        for (start, end, period_as_of) in periods {
            by_as_of
                .entry(*period_as_of)
                .or_default()
                .push((*start, *end));
        }
        let mut pupils = BTreeMap::new();
        for (period_as_of, spans) in by_as_of {
            let texts: Vec<(String, String)> = spans
                .iter()
                .map(|(s, e)| (s.to_string(), e.to_string()))
                .collect();
            let counts = self
                .store
                .pupil_counts(&period_as_of.to_string(), &texts)
                .await?;
            pupils.extend(spans.into_iter().zip(counts));
        }
        Ok(pupils)
    }

    /// The plan's obligation, ledger and key-area metrics for the org units, as their stores count them.
    async fn capability_metric_values(
        &self,
        facts: &PlanFacts,
        orgs: &[String],
        only: Option<&[&str]>,
    ) -> Result<HashMap<CapabilityKey, f64>, AppError> {
        let plan = &self.plan.plan;
        let mut values = HashMap::new();
        let mut pending = Vec::new();
        let mut batches: BTreeMap<ObligationBatch, Vec<String>> = BTreeMap::new();
        let mut from_returns = Vec::new();
        let mut per_institution: HashMap<(String, edu_plan::EvalPeriod), HashMap<i64, f64>> =
            HashMap::new();
        let mut from_counts = Vec::new();
        for org in orgs {
            if !self.is_org_unit(facts, org) {
                continue;
            }
            for request in plan.metric_requests(org, facts.as_of) {
                if only.is_some_and(|names| !names.contains(&request.name)) {
                    continue;
                }
                let Some(institutions) = request.metric.source.institution_filter() else {
                    continue;
                };
                if matches!(request.breakdown, Some(Breakdown::Sex(_))) {
                    continue;
                }
                let period = request.period;
                let key = (
                    request.name.to_owned(),
                    org.clone(),
                    period.start,
                    period.end,
                    request.breakdown,
                );
                if breakdown_contradicts(institutions, request.breakdown) {
                    // The breakdown contradicts the metric's own filter: nothing can match.
                    values.insert(key, 0.0);
                    continue;
                }
                if let Source::Obligation {
                    obligation, agg, ..
                } = &request.metric.source
                {
                    // Rolled up in memory from one scan per (return, period) below.
                    let batch = (obligation.clone(), period.start, period.end, period.as_of);
                    let fields = batches.entry(batch.clone()).or_default();
                    if let edu_plan::ObligationAgg::Sum(field) = agg
                        && !fields.contains(field)
                    {
                        fields.push(field.clone());
                    }
                    from_returns.push((key, batch, agg, institutions, org, request.breakdown));
                    continue;
                }
                if !matches!(
                    request.metric.source,
                    Source::Ledger { .. } | Source::KeyAreas { .. }
                ) {
                    continue;
                }
                // Counted per institution once per (metric, period), rolled up below.
                let batch = (request.name.to_owned(), period);
                if !per_institution.contains_key(&batch) {
                    per_institution.insert(batch.clone(), HashMap::new());
                    let source = request.metric.source.clone();
                    let batch = batch.clone();
                    pending.push(async move {
                        let t = std::time::Instant::now();
                        let counts = self.capability_counts(&source, period).await?;
                        tracing::trace!(
                            metric = batch.0.as_str(),
                            ms = t.elapsed().as_secs_f64() * 1e3,
                            "capability metric"
                        );
                        Ok::<_, AppError>((batch, counts))
                    });
                }
                from_counts.push((key, batch, institutions, org, request.breakdown));
            }
        }
        // The returns' scans and the other capabilities' queries side by side, a few at a time, each on its own
        // pooled read connection.
        let queries = futures_util::stream::iter(pending)
            .buffer_unordered(3)
            .try_collect::<Vec<((String, edu_plan::EvalPeriod), HashMap<i64, f64>)>>();
        let (totals, computed) = tokio::try_join!(self.obligation_totals(&batches), queries)?;
        per_institution.extend(computed);
        for (key, batch, institutions, org, breakdown) in from_counts {
            let counts = &per_institution[&batch];
            let value: f64 = facts
                .institutions
                .iter()
                .filter(|i| facts.passes(i.id, org, institutions, breakdown))
                .filter_map(|i| counts.get(&i.id))
                .sum();
            values.insert(key, value);
        }
        for (key, batch, agg, institutions, org, breakdown) in from_returns {
            if let Some(value) =
                self.obligation_rollup(facts, &totals, &batch, agg, institutions, org, breakdown)?
            {
                values.insert(key, value);
            }
        }
        Ok(values)
    }

    /// A ledger or key-area metric for a period, counted per institution by the store that owns the records (the
    /// metric's institution filters and the org unit are applied in memory by the caller).
    async fn capability_counts(
        &self,
        source: &Source,
        period: edu_plan::EvalPeriod,
    ) -> Result<HashMap<i64, f64>, AppError> {
        let rows = match source {
            Source::Ledger { ledger, cases, .. } => {
                let mut query =
                    edu_store::ledgers::LedgerMetricQuery::new(ledger, end_of_day_ms(period.as_of));
                query.period = Some((period.start.to_string(), period.end.to_string()));
                query.state = cases.state.clone();
                query.open = cases.open;
                query.overdue = cases.overdue;
                query.level = cases.level.iter().map(code).collect();
                query.opened_in_period = cases.opened_in_period;
                query.closed_on_time = cases.closed_on_time;
                self.store.ledger_metric_by_institution(&query).await?
            }
            Source::KeyAreas { key_areas, .. } => {
                let query = edu_store::ledgers::KeyAreaQuery {
                    org: ScopeFilter::All,
                    institutions: Default::default(),
                    as_of: period.as_of.to_string(),
                    area_type: key_areas.area_type.iter().map(code).collect(),
                    camera: key_areas.camera,
                    police_link: key_areas.police_link,
                };
                self.store.key_area_metric_by_institution(&query).await?
            }
            _ => Vec::new(),
        };
        Ok(rows.into_iter().collect())
    }

    /// Whether an org code is the city, a district or an institution of the facts.
    fn is_org_unit(&self, facts: &PlanFacts, org: &str) -> bool {
        org == facts.city
            || facts.by_code.contains_key(org)
            || edu_model::DAQING_DISTRICTS
                .iter()
                .any(|d| d.code.to_string() == org)
    }

    /// Per-institution totals of each (return, period) the plan's obligation metrics read, fetched side by side.
    async fn obligation_totals(
        &self,
        batches: &BTreeMap<ObligationBatch, Vec<String>>,
    ) -> Result<HashMap<ObligationBatch, HashMap<i64, InstitutionTotals>>, AppError> {
        let mut fetches = Vec::new();
        for (batch, sum_fields) in batches {
            let batch = batch.clone();
            let sum_fields = sum_fields.clone();
            let store = self.store.clone();
            fetches.push(async move {
                let t = std::time::Instant::now();
                let rows = store
                    .obligation_institution_totals(
                        &batch.0,
                        &batch.1.to_string(),
                        &batch.2.to_string(),
                        end_of_day_ms(batch.3),
                        &sum_fields,
                    )
                    .await?;
                tracing::trace!(
                    metric = batch.0.as_str(),
                    ms = t.elapsed().as_secs_f64() * 1e3,
                    "capability metric"
                );
                let by_institution: HashMap<i64, InstitutionTotals> =
                    rows.into_iter().map(|t| (t.institution_id, t)).collect();
                Ok::<_, AppError>((batch, by_institution))
            });
        }
        futures_util::stream::iter(fetches)
            .buffer_unordered(2)
            .try_collect()
            .await
    }

    /// An obligation metric (sum of a field, expected, submitted, on time, late, zero, missing) for one org unit
    /// and breakdown, rolled up from per-institution totals over the institutions that pass the metric's filter
    /// and owe the return. `None` when no period of the return had opened yet (a term report before the term's
    /// end): there was nothing the schools could have reported, which is no data rather than a misleading zero.
    #[allow(clippy::too_many_arguments)]
    fn obligation_rollup(
        &self,
        facts: &PlanFacts,
        totals: &HashMap<ObligationBatch, HashMap<i64, InstitutionTotals>>,
        batch: &ObligationBatch,
        agg: &edu_plan::ObligationAgg,
        filter: &edu_plan::InstitutionFilter,
        org: &str,
        breakdown: Option<Breakdown>,
    ) -> Result<Option<f64>, AppError> {
        let (obligation, start, end, as_of) = batch;
        let def = self.obl_obligation_def(obligation)?;
        let periods =
            self.obligation_periods_open(def, civil(*start), civil(*end), end_of_day(*as_of));
        if periods == 0 {
            return Ok(None);
        }
        let owed_by = crate::obligations::owed_by_selectors(def);
        let empty = HashMap::new();
        let returns = totals.get(batch).unwrap_or(&empty);
        let (mut owing, mut submitted, mut on_time, mut late, mut zero, mut sum) =
            (0i64, 0i64, 0i64, 0i64, 0i64, 0.0);
        for i in facts.institutions.iter() {
            if !facts.passes(i.id, org, filter, breakdown) {
                continue;
            }
            let tags = facts.tags.get(&i.id).map(Vec::as_slice).unwrap_or_default();
            if !owed_by.is_empty() && !owed_by.iter().any(|s| selector_matches(s, i, tags)) {
                continue;
            }
            owing += 1;
            if let Some(t) = returns.get(&i.id) {
                submitted += t.submitted;
                on_time += t.on_time;
                late += t.late;
                zero += t.zero;
                if let edu_plan::ObligationAgg::Sum(field) = agg {
                    sum += t.sums.get(field).copied().unwrap_or(0.0);
                }
            }
        }
        let expected = owing * periods;
        Ok(Some(match agg {
            edu_plan::ObligationAgg::Sum(_) => sum,
            edu_plan::ObligationAgg::Expected => expected as f64,
            edu_plan::ObligationAgg::Submitted => submitted as f64,
            edu_plan::ObligationAgg::OnTime => on_time as f64,
            edu_plan::ObligationAgg::Late => late as f64,
            edu_plan::ObligationAgg::Zero => zero as f64,
            edu_plan::ObligationAgg::Missing => (expected - submitted).max(0) as f64,
        }))
    }

    fn resolve_org(
        &self,
        actor: &Actor,
        facts: &PlanFacts,
        org: &str,
    ) -> Result<OrgUnit, AppError> {
        if org == facts.city {
            return match actor.scope {
                Scope::City { .. } => Ok(OrgUnit::City),
                _ => Err(AppError::NotFound),
            };
        }
        if let Some(i) = facts.by_code.get(org).map(|i| &facts.institutions[*i]) {
            return if actor.scope.contains_institution(i.id, &i.district_code) {
                Ok(OrgUnit::Institution)
            } else {
                Err(AppError::NotFound)
            };
        }
        if edu_model::DAQING_DISTRICTS
            .iter()
            .any(|d| d.code.to_string() == org)
            && actor.scope.contains_district(org)
        {
            return Ok(OrgUnit::District(org.to_owned()));
        }
        Err(AppError::NotFound)
    }

    fn org_name(&self, facts: &PlanFacts, org: &str) -> String {
        if org == facts.city {
            return "大庆市".to_owned();
        }
        if let Some(d) = edu_model::DAQING_DISTRICTS
            .iter()
            .find(|d| d.code.to_string() == org)
        {
            return d.name.to_owned();
        }
        facts
            .by_code
            .get(org)
            .map(|i| facts.institutions[*i].name.clone())
            .unwrap_or_else(|| org.to_owned())
    }

    /// The actor's default unit: the city, their district, or their institution.
    pub fn default_org(&self, actor: &Actor) -> String {
        match &actor.scope {
            Scope::City { .. } => self.plan.plan.header().city.clone(),
            Scope::District { code } => code.clone(),
            Scope::Institution { code, .. } => code.clone(),
        }
    }

    /// The as-of date: today in China time, unless given.
    pub fn plan_today(&self) -> PlanDate {
        plan_date(edu_model::china_time::business_date(self.clock.now()))
    }

    /// Every target for an org unit inside the actor's scope.
    pub async fn scorecard(
        &self,
        actor: &Actor,
        org: Option<&str>,
        as_of: Option<PlanDate>,
    ) -> Result<Scorecard, AppError> {
        actor.require(Permission::ViewPlan)?;
        let as_of = as_of.unwrap_or_else(|| self.plan_today());
        let org = org
            .map(str::to_owned)
            .unwrap_or_else(|| self.default_org(actor));
        let facts = self
            .plan_facts(as_of, std::slice::from_ref(&org), None)
            .await?;
        let unit = self.resolve_org(actor, &facts, &org)?;
        let evaluation = evaluate(&self.plan.plan, &FactSource(&facts), &org, as_of);
        let children = match unit {
            OrgUnit::City => edu_model::DAQING_DISTRICTS
                .iter()
                .map(|d| (d.code.to_string(), d.name.to_owned()))
                .collect(),
            OrgUnit::District(code) => facts
                .institutions
                .iter()
                .filter(|i| i.district_code == code && i.status == "open")
                .map(|i| (i.code.clone(), i.name.clone()))
                .collect(),
            OrgUnit::Institution => Vec::new(),
        };
        Ok(Scorecard {
            org_name: self.org_name(&facts, &org),
            org,
            as_of,
            evaluation,
            children,
        })
    }

    /// One target at an org unit, with every unit one level down (districts, or the institutions of a district —
    /// only those the target applies to), sorted so the ones pulling the value down come first; and the trend.
    pub async fn target_drilldown(
        &self,
        actor: &Actor,
        target_id: &str,
        org: Option<&str>,
        as_of: Option<PlanDate>,
    ) -> Result<Drilldown, AppError> {
        actor.require(Permission::ViewPlan)?;
        let plan = &self.plan.plan;
        let target = plan.target(target_id).ok_or(AppError::NotFound)?;
        let as_of = as_of.unwrap_or_else(|| self.plan_today());
        let org = org
            .map(str::to_owned)
            .unwrap_or_else(|| self.default_org(actor));
        // Registry facts first (they say which units lie below), then this target's capability metrics for the unit
        // and every unit below it.
        let metric_names: Vec<&str> = target.indicator.metric_names().into_iter().collect();
        let mut facts = self.plan_facts(as_of, &[], None).await?;
        let below: Vec<String> = if org == facts.city {
            edu_model::DAQING_DISTRICTS
                .iter()
                .map(|d| d.code.to_string())
                .collect()
        } else if edu_model::DAQING_DISTRICTS
            .iter()
            .any(|d| d.code.to_string() == org)
        {
            facts
                .institutions
                .iter()
                .filter(|i| i.district_code == org && i.status == "open")
                .map(|i| i.code.clone())
                .collect()
        } else {
            Vec::new()
        };
        let orgs: Vec<String> = std::iter::once(org.clone()).chain(below).collect();
        facts.capability = self
            .capability_metric_values(&facts, &orgs, Some(&metric_names))
            .await?;
        let unit = self.resolve_org(actor, &facts, &org)?;
        let one = |code: &str| -> Option<TargetResult> {
            edu_plan::evaluate_target(plan, &target.id, &FactSource(&facts), code, as_of)
        };
        let result = one(&org).ok_or(AppError::NotFound)?;
        // The drill-down lists the institutions the target concerns (its scope), or else those its metrics count.
        let kinds: Vec<String> = if target.scope.institutions.kind.is_empty() {
            target
                .indicator
                .metric_names()
                .into_iter()
                .filter_map(|m| plan.metric(m))
                .filter_map(|m| m.source.institution_filter())
                .flat_map(|f| f.kind.iter().map(code))
                .collect()
        } else {
            target.scope.institutions.kind.iter().map(code).collect()
        };
        let (rows, rows_are_institutions) = match unit {
            OrgUnit::City => (
                edu_model::DAQING_DISTRICTS
                    .iter()
                    .filter_map(|d| {
                        let code = d.code.to_string();
                        one(&code).map(|result| DrillRow {
                            name: d.name.to_owned(),
                            org: code,
                            kind: None,
                            result,
                        })
                    })
                    .collect(),
                false,
            ),
            OrgUnit::District(district) => (
                facts
                    .institutions
                    .iter()
                    .filter(|i| i.district_code == district && i.status == "open")
                    .filter(|i| kinds.is_empty() || kinds.contains(&i.kind))
                    .filter_map(|i| {
                        one(&i.code).map(|result| DrillRow {
                            org: i.code.clone(),
                            name: i.name.clone(),
                            kind: Some(i.kind.clone()),
                            result,
                        })
                    })
                    .collect(),
                true,
            ),
            OrgUnit::Institution => (Vec::new(), true),
        };
        let mut rows: Vec<DrillRow> = rows;
        // Worst first: missed, at risk, then by value in the direction that hurts the target.
        let rank = |s: Status| match s {
            Status::Missed => 0,
            Status::AtRisk => 1,
            Status::NoData => 2,
            Status::Met => 3,
        };
        let higher_is_better = matches!(
            target.comparator,
            edu_plan::Comparator::Ge | edu_plan::Comparator::Gt
        );
        rows.sort_by(|a, b| {
            rank(a.result.status)
                .cmp(&rank(b.result.status))
                .then_with(|| {
                    let (x, y) = (
                        a.result.indicator.value.unwrap_or(f64::NAN),
                        b.result.indicator.value.unwrap_or(f64::NAN),
                    );
                    let order = x.total_cmp(&y);
                    if higher_is_better {
                        order
                    } else {
                        order.reverse()
                    }
                })
        });
        let trend = self
            .store
            .plan_snapshots(&plan.header().id, &org, Some(target_id))
            .await?;
        Ok(Drilldown {
            org_name: self.org_name(&facts, &org),
            org,
            as_of,
            result,
            rows,
            trend,
            rows_are_institutions,
        })
    }

    /// Records today's scorecard of the city and each district (the trend). Returns how many values were stored.
    pub async fn record_plan_snapshots(&self, as_of: Option<PlanDate>) -> Result<usize, AppError> {
        let plan = &self.plan.plan;
        let as_of = as_of.unwrap_or_else(|| self.plan_today());
        let orgs: Vec<String> = std::iter::once(plan.header().city.clone())
            .chain(
                edu_model::DAQING_DISTRICTS
                    .iter()
                    .map(|d| d.code.to_string()),
            )
            .collect();
        let facts = self.plan_facts(as_of, &orgs, None).await?;
        let mut snapshots = Vec::new();
        for org in orgs {
            for t in evaluate(plan, &FactSource(&facts), &org, as_of).targets {
                snapshots.push(PlanSnapshot {
                    plan_id: plan.header().id.clone(),
                    taken_on: as_of.to_string(),
                    org_code: org.clone(),
                    target_id: t.id,
                    value: t.indicator.value,
                    numerator: t.indicator.numerator,
                    denominator: t.indicator.denominator,
                    status: code(&t.status),
                });
            }
        }
        self.store.save_plan_snapshots(&snapshots).await?;
        Ok(snapshots.len())
    }

    /// Evaluation for the command line (`eduplan plan eval`), without an actor.
    pub async fn evaluate_plan_for(
        &self,
        org: &str,
        as_of: Option<PlanDate>,
    ) -> Result<Evaluation, AppError> {
        let as_of = as_of.unwrap_or_else(|| self.plan_today());
        let facts = self.plan_facts(as_of, &[org.to_owned()], None).await?;
        Ok(evaluate(&self.plan.plan, &FactSource(&facts), org, as_of))
    }

    /// The scorecard of an org unit as .xlsx: the targets, and for the city each district's values side by side.
    pub async fn export_scorecard(
        &self,
        actor: &Actor,
        org: Option<&str>,
        as_of: Option<PlanDate>,
        context: &crate::audit::AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        use crate::exchange::escape_formula;
        use rust_xlsxwriter::{Format, Workbook};
        let card = self.scorecard(actor, org, as_of).await?;
        let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Config(format!("xlsx: {e}"));
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet();
        sheet.set_name("计划指标").map_err(xlsx)?;
        let stamp = edu_model::china_time::CHINA_OFFSET
            .to_datetime(self.clock.now())
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        sheet.set_header(format!(
            "&L{} · {} · 截至 {}&R导出 {} {}",
            escape_formula(&self.plan.plan.header().title),
            card.org_name,
            card.as_of,
            actor.username,
            stamp
        ));
        let headers = [
            "编号",
            "指标",
            "数值",
            "单位",
            "比较",
            "本地目标",
            "国家标准",
            "分子",
            "分母",
            "状态",
            "考核期",
        ];
        for (c, h) in headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xlsx)?;
        }
        for (r, t) in card.evaluation.targets.iter().enumerate() {
            let row = r as u32 + 1;
            sheet
                .write_string(row, 0, escape_formula(&t.id))
                .map_err(xlsx)?;
            sheet
                .write_string(row, 1, escape_formula(&t.title))
                .map_err(xlsx)?;
            if let Some(v) = t.indicator.value {
                sheet.write_number(row, 2, v).map_err(xlsx)?;
            }
            sheet
                .write_string(row, 3, escape_formula(&t.unit))
                .map_err(xlsx)?;
            sheet
                .write_string(row, 4, t.comparator.symbol())
                .map_err(xlsx)?;
            sheet.write_number(row, 5, t.target).map_err(xlsx)?;
            if let Some(v) = t.threshold {
                sheet.write_number(row, 6, v).map_err(xlsx)?;
            }
            if let Some(v) = t.indicator.numerator {
                sheet.write_number(row, 7, v).map_err(xlsx)?;
            }
            if let Some(v) = t.indicator.denominator {
                sheet.write_number(row, 8, v).map_err(xlsx)?;
            }
            sheet
                .write_string(row, 9, status_zh(t.status))
                .map_err(xlsx)?;
            sheet
                .write_string(row, 10, format!("{} — {}", t.period.start, t.period.end))
                .map_err(xlsx)?;
        }
        sheet.set_column_width(1, 36).map_err(xlsx)?;
        // For the city: each district's value of each target.
        if card.org == self.plan.plan.header().city {
            let districts: Vec<String> = edu_model::DAQING_DISTRICTS
                .iter()
                .map(|d| d.code.to_string())
                .collect();
            let facts = self.plan_facts(card.as_of, &districts, None).await?;
            let by_district = workbook.add_worksheet();
            by_district.set_name("各区县").map_err(xlsx)?;
            by_district
                .write_string_with_format(0, 0, "指标", &bold)
                .map_err(xlsx)?;
            for (c, d) in edu_model::DAQING_DISTRICTS.iter().enumerate() {
                by_district
                    .write_string_with_format(0, c as u16 + 1, d.name, &bold)
                    .map_err(xlsx)?;
                let evaluation = evaluate(
                    &self.plan.plan,
                    &FactSource(&facts),
                    &d.code.to_string(),
                    card.as_of,
                );
                for (r, t) in evaluation.targets.iter().enumerate() {
                    if c == 0 {
                        by_district
                            .write_string(r as u32 + 1, 0, escape_formula(&t.title))
                            .map_err(xlsx)?;
                    }
                    if let Some(v) = t.indicator.value {
                        by_district
                            .write_number(r as u32 + 1, c as u16 + 1, v)
                            .map_err(xlsx)?;
                    }
                }
            }
            by_district.set_column_width(0, 36).map_err(xlsx)?;
        }
        let bytes = workbook.save_to_buffer().map_err(xlsx)?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(&crate::audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            "export.scorecard",
            "plan",
            &card.org,
            crate::audit::Outcome::Success,
            &format!("as_of={}", card.as_of),
        ))
        .await?;
        tx.commit().await?;
        Ok((
            bytes,
            format!("eduplan-scorecard-{}-{}.xlsx", card.org, card.as_of),
        ))
    }

    /// Items of this capability for the actor's home page: targets missed in the actor's unit.
    pub(crate) async fn attention_plan(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        if !actor.can(Permission::ViewPlan) || matches!(actor.scope, Scope::Institution { .. }) {
            return Ok(Vec::new());
        }
        let card = self.scorecard(actor, None, None).await?;
        let missed: Vec<&TargetResult> = card
            .evaluation
            .targets
            .iter()
            .filter(|t| t.status == Status::Missed)
            .collect();
        if missed.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = missed.iter().take(3).map(|t| t.title.as_str()).collect();
        Ok(vec![AttentionItem {
            href: "/plan".to_owned(),
            text_zh: format!(
                "{} 项计划指标未达标：{}{}",
                missed.len(),
                names.join("、"),
                if missed.len() > 3 { "等" } else { "" }
            ),
            text_en: format!("{} plan targets missed", missed.len()),
            level: "warn".to_owned(),
        }])
    }
}
