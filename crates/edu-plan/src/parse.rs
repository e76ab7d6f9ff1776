//! Reading and checking a plan file: every problem is reported with its line and column.
//!
//! The TOML is parsed into a spanned tree first; each item (metric, target, commitment, …) is then deserialized on
//! its own, so one bad item does not hide the problems of the others. Cross-references are checked last.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostic::{Diagnostic, PlanErrors, Sink};
use crate::expr::{is_metric_name, parse_expr};
use crate::metric::{
    Area, Authority, BreakdownDim, InstitutionFilter, InstitutionKind, KeyAreaFilter, KeyAreaType,
    LedgerFilter, Level, MetricDef, ObligationAgg, Ownership, PopulationBasis, PopulationSpec,
    PupilFilter, Sex, Source, SourceKind, StaffFilter, StaffRole,
};
use crate::plan::{
    Commitment, CommitmentKind, Comparator, CoverageEntry, ENGINES, OrgLevel, Period, Plan,
    PlanDate, PlanHeader, Registry, Scope, ServedBy, SourceDocument, Target,
};

type Span = Range<usize>;

const TOP_LEVEL_KEYS: [&str; 9] = [
    "plan",
    "periods",
    "metrics",
    "targets",
    "obligations",
    "ledgers",
    "registries",
    "commitment",
    "coverage",
];
const METRIC_COMMON_KEYS: [&str; 4] = ["title", "unit", "description", "source"];

/// Parses and checks a plan; succeeds when there is no error (warnings are dropped: use [`check_plan`] to see them).
pub fn parse_plan(text: &str) -> Result<Plan, PlanErrors> {
    match check_plan(text) {
        (Some(plan), _) => Ok(plan),
        (None, diagnostics) => Err(PlanErrors(diagnostics)),
    }
}

/// Parses and checks a plan, returning the plan when it has no error and every diagnostic (errors and warnings)
/// sorted by position.
pub fn check_plan(text: &str) -> (Option<Plan>, Vec<Diagnostic>) {
    let mut sink = Sink::new(text);
    let plan = Checker {
        text,
        sink: &mut sink,
        references: Vec::new(),
    }
    .run();
    if plan.is_some() {
        check_engine_definitions(text, &mut sink);
    }
    let ok = !sink.has_errors();
    let diagnostics = sink.finish();
    (plan.filter(|_| ok), diagnostics)
}

/// The full obligation and ledger definitions are checked by their engines; each problem is placed at the
/// header of the table it belongs to.
fn check_engine_definitions(text: &str, sink: &mut Sink<'_>) {
    let locate = |section: &str, at: &str| -> Option<std::ops::Range<usize>> {
        let id = at
            .strip_prefix(section)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(at);
        let id = id.split(['.', '[', ' ']).next().unwrap_or(id);
        let header = format!("[{section}.{id}]");
        text.find(&header).map(|start| start..start + header.len())
    };
    if let Err(error) = edu_obligation::parse_obligation_defs(text) {
        for problem in error.problems {
            sink.error(
                locate("obligations", &problem.at),
                format!("obligation definition {}: {}", problem.at, problem.problem),
            );
        }
    }
    if let Err(error) = edu_ledger::parse_ledger_defs(text) {
        for problem in error.problems {
            sink.error(
                locate("ledgers", &problem.at),
                format!("ledger definition {}: {}", problem.at, problem.problem),
            );
        }
    }
}

/// A reference from a metric to something declared elsewhere in the plan, checked once everything is read.
enum Reference {
    Obligation(String),
    ObligationField { obligation: String, field: String },
    Ledger(String),
    LedgerState { ledger: String, state: String },
    Tag(String),
}

struct Checker<'t, 's> {
    text: &'t str,
    sink: &'s mut Sink<'t>,
    references: Vec<(Reference, Span)>,
}

impl<'t> Checker<'t, '_> {
    fn run(mut self) -> Option<Plan> {
        let (root, syntax_errors) = DeTable::parse_recoverable(self.text);
        if !syntax_errors.is_empty() {
            for error in syntax_errors {
                self.sink
                    .error(error.span(), format!("TOML syntax: {}", error.message()));
            }
            return None;
        }
        let root_span = root.span();
        let root = root.into_inner();
        let mut sections: BTreeMap<&str, &Spanned<DeValue<'_>>> = BTreeMap::new();
        for (key, value) in root.iter() {
            let name = key.get_ref().as_ref();
            match TOP_LEVEL_KEYS.iter().find(|known| **known == name) {
                Some(known) => {
                    sections.insert(known, value);
                }
                None => self.sink.error(
                    Some(key.span()),
                    format!(
                        "unknown top-level key `{name}`; expected one of: {}",
                        TOP_LEVEL_KEYS.join(", ")
                    ),
                ),
            }
        }

        let header = match sections.get("plan") {
            Some(value) => self.header(value),
            None => {
                self.sink.error(
                    Some(root_span.start..root_span.start),
                    "missing the `[plan]` header table",
                );
                None
            }
        };
        let periods = self.keyed(sections.get("periods").copied(), "periods", Self::period);
        let registries = self.keyed(
            sections.get("registries").copied(),
            "registries",
            |checker, _, _, value| {
                checker
                    .deserialize::<RawRegistry>(value, "registry")
                    .map(|raw| Registry {
                        title: raw.title,
                        tag: raw.tag,
                        description: raw.description,
                    })
            },
        );
        let obligations = self.keyed(
            sections.get("obligations").copied(),
            "obligations",
            |checker, id, _, value| {
                checker.raw_declaration(id, value, "obligation", &["title", "cadence"])
            },
        );
        let ledgers = self.keyed(
            sections.get("ledgers").copied(),
            "ledgers",
            |checker, id, _, value| checker.raw_declaration(id, value, "ledger", &["title"]),
        );
        if let Some((header, default_period_span)) = &header
            && !periods.contains_key(&header.default_period)
        {
            self.sink.error(
                Some(default_period_span.clone()),
                format!(
                    "default_period `{}` is not declared in [periods]",
                    header.default_period
                ),
            );
        }
        let header = header.map(|(header, _)| header);
        let metrics = self.keyed(sections.get("metrics").copied(), "metrics", Self::metric);
        let targets = self.keyed(
            sections.get("targets").copied(),
            "targets",
            |checker, id, key_span, value| checker.target(id, key_span, value, &metrics, &periods),
        );
        let commitments = self.array(
            sections.get("commitment").copied(),
            "commitment",
            |checker, value| checker.deserialize::<RawCommitment>(value, "commitment"),
        );
        let coverage = self.array(
            sections.get("coverage").copied(),
            "coverage",
            |checker, value| checker.deserialize::<RawCoverage>(value, "coverage"),
        );

        self.check_references(&obligations, &ledgers, &registries);
        let commitments = self.commitments(
            commitments,
            header.as_ref(),
            &targets,
            &obligations,
            &ledgers,
            &registries,
        );
        let coverage = self.coverage(coverage, &commitments);
        self.unused_warnings(
            &metrics,
            &targets,
            &commitments,
            &obligations,
            &ledgers,
            &registries,
        );

        let header = header?;
        let mut targets: Vec<(Span, Target)> = targets.into_values().collect();
        for (_, target) in &mut targets {
            if target.period.is_empty() {
                target.period.clone_from(&header.default_period);
            }
        }
        targets.sort_by_key(|(span, _)| span.start);
        Some(Plan {
            header,
            periods: strip(periods),
            metrics: strip(metrics),
            targets: targets.into_iter().map(|(_, target)| target).collect(),
            obligations: strip(obligations),
            ledgers: strip(ledgers),
            registries: strip(registries),
            commitments: commitments
                .into_iter()
                .map(|(commitment, _)| commitment)
                .collect(),
            coverage,
        })
    }

    fn deserialize<T: DeserializeOwned>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.sink.error(
                    error.span().or_else(|| Some(value.span())),
                    format!("{what}: {}", error.message()),
                );
                None
            }
        }
    }

    /// Reads a table keyed by id, item by item. Items are returned with the span of their key.
    fn keyed<T>(
        &mut self,
        section: Option<&Spanned<DeValue<'_>>>,
        name: &str,
        mut item: impl FnMut(&mut Self, &str, Span, &Spanned<DeValue<'_>>) -> Option<T>,
    ) -> BTreeMap<String, (Span, T)> {
        let mut items = BTreeMap::new();
        let Some(section) = section else { return items };
        let Some(table) = section.get_ref().as_table() else {
            self.sink.error(
                Some(section.span()),
                format!("`{name}` must be a table of items keyed by id"),
            );
            return items;
        };
        for (key, value) in table.iter() {
            let id = key.get_ref().as_ref();
            if let Some(parsed) = item(self, id, key.span(), value) {
                items.insert(id.to_owned(), (key.span(), parsed));
            }
        }
        items
    }

    /// Reads an array of tables (`[[commitment]]`), element by element, keeping each element's span.
    fn array<T>(
        &mut self,
        section: Option<&Spanned<DeValue<'_>>>,
        name: &str,
        mut item: impl FnMut(&mut Self, &Spanned<DeValue<'_>>) -> Option<T>,
    ) -> Vec<(T, Span)> {
        let Some(section) = section else {
            return Vec::new();
        };
        let Some(array) = section.get_ref().as_array() else {
            self.sink.error(
                Some(section.span()),
                format!("`{name}` must be an array of tables: write `[[{name}]]`"),
            );
            return Vec::new();
        };
        array
            .iter()
            .filter_map(|value| item(self, value).map(|parsed| (parsed, value.span())))
            .collect()
    }

    fn header(&mut self, value: &Spanned<DeValue<'_>>) -> Option<(PlanHeader, Span)> {
        let raw: RawHeader = self.deserialize(value, "[plan]")?;
        let city = raw.city.get_ref();
        if city.len() != 6 || !city.bytes().all(|b| b.is_ascii_digit()) {
            self.sink.error(
                Some(raw.city.span()),
                format!("city `{city}` must be a 6-digit GB/T 2260 code"),
            );
        }
        let margin = *raw.at_risk_margin.get_ref();
        if !(0.0..1.0).contains(&margin) {
            self.sink.error(
                Some(raw.at_risk_margin.span()),
                format!("at_risk_margin {margin} must be a fraction in [0, 1), e.g. 0.02 for 2 %"),
            );
        }
        let mut seen = BTreeSet::new();
        for section in &raw.sections {
            if !seen.insert(section.get_ref()) {
                self.sink.error(
                    Some(section.span()),
                    format!("section `{}` is listed twice", section.get_ref()),
                );
            }
        }
        let published = raw.source.published.and_then(|date| self.date(&date));
        let default_period_span = raw.default_period.span();
        let header = PlanHeader {
            id: raw.id,
            title: raw.title,
            year: raw.year,
            city: raw.city.into_inner(),
            source: SourceDocument {
                document: raw.source.document,
                title: raw.source.title,
                publisher: raw.source.publisher,
                published,
                script: raw.source.script,
                note: raw.source.note,
            },
            default_period: raw.default_period.into_inner(),
            at_risk_margin: margin,
            sections: raw.sections.into_iter().map(Spanned::into_inner).collect(),
        };
        Some((header, default_period_span))
    }

    fn date(&mut self, value: &Spanned<toml::value::Datetime>) -> Option<PlanDate> {
        let datetime = value.get_ref();
        let date = match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => PlanDate::new(i32::from(date.year), date.month, date.day),
            _ => None,
        };
        if date.is_none() {
            self.sink.error(
                Some(value.span()),
                format!("`{datetime}` must be a plain date such as 2021-09-01"),
            );
        }
        date
    }

    fn period(
        &mut self,
        _id: &str,
        _key_span: Span,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Period> {
        let raw: RawPeriod = self.deserialize(value, "period")?;
        let start = self.date(&raw.start)?;
        let end = self.date(&raw.end)?;
        if end < start {
            self.sink.error(
                Some(raw.end.span()),
                format!("period ends ({end}) before it starts ({start})"),
            );
            return None;
        }
        Some(Period {
            title: raw.title,
            start,
            end,
        })
    }

    /// An obligation or ledger declaration: kept raw (its schema belongs to its engine), with the keys the plan
    /// itself relies on checked to be non-empty strings.
    fn raw_declaration(
        &mut self,
        id: &str,
        value: &Spanned<DeValue<'_>>,
        what: &str,
        required: &[&str],
    ) -> Option<toml::Table> {
        let table: toml::Table = self.deserialize(value, what)?;
        check_id(self.sink, id, value.span(), what);
        for key in required {
            match table.get(*key) {
                Some(toml::Value::String(text)) if !text.trim().is_empty() => {}
                _ => self.sink.error(
                    Some(value.span()),
                    format!("{what} `{id}` needs a non-empty string `{key}`"),
                ),
            }
        }
        Some(table)
    }

    fn metric(
        &mut self,
        name: &str,
        key_span: Span,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<MetricDef> {
        let Some(table) = value.get_ref().as_table() else {
            self.sink
                .error(Some(key_span), format!("metric `{name}` must be a table"));
            return None;
        };
        let Some(source_value) = table.get("source") else {
            let nested =
                !table.is_empty() && table.values().all(|value| value.get_ref().is_table());
            let hint = if nested {
                format!("; dotted metric names must be quoted: [metrics.\"{name}.…\"]")
            } else {
                String::new()
            };
            self.sink.error(
                Some(key_span),
                format!("metric `{name}` has no `source`{hint}"),
            );
            return None;
        };
        if !is_metric_name(name) {
            self.sink.error(
                Some(key_span.clone()),
                format!("metric name `{name}` must be letters, digits, `_` and `.`, starting with a letter"),
            );
        }
        let source_name = source_value.get_ref().as_str().unwrap_or_default();
        let Some(source) = SourceKind::ALL
            .into_iter()
            .find(|kind| kind.name() == source_name)
        else {
            let names: Vec<&str> = SourceKind::ALL.iter().map(|kind| kind.name()).collect();
            self.sink.error(
                Some(source_value.span()),
                format!(
                    "unknown metric source `{source_name}`; expected one of: {}",
                    names.join(", ")
                ),
            );
            return None;
        };
        let mut key_errors = false;
        for key in table.keys() {
            let key_name = key.get_ref().as_ref();
            if METRIC_COMMON_KEYS.contains(&key_name) || source.filter_keys().contains(&key_name) {
                continue;
            }
            key_errors = true;
            let used_by: Vec<&str> = SourceKind::ALL
                .iter()
                .filter(|kind| kind.filter_keys().contains(&key_name))
                .map(|kind| kind.name())
                .collect();
            let message = if used_by.is_empty() {
                let mut known: Vec<&str> = METRIC_COMMON_KEYS.to_vec();
                known.extend(source.filter_keys());
                let suggestion = suggest(key_name, known.iter().copied());
                format!(
                    "unknown filter `{key_name}` for source `{source}`{suggestion}; it accepts: {}",
                    known.join(", ")
                )
            } else {
                format!(
                    "filter `{key_name}` does not apply to source `{source}` (only to {}); `{source}` accepts: {}",
                    used_by.join(", "),
                    source.filter_keys().join(", ")
                )
            };
            self.sink.error(Some(key.span()), message);
        }
        if key_errors {
            return None;
        }
        let raw: RawMetric = self.deserialize(value, &format!("metric `{name}`"))?;
        let source = self.metric_source(source, &raw, key_span)?;
        Some(MetricDef {
            title: raw.title,
            unit: raw.unit,
            description: raw.description,
            source,
        })
    }

    fn institution_filter(&mut self, raw: &RawMetric) -> InstitutionFilter {
        let filter = RawInstitutionFilter {
            kind: raw.kind.clone(),
            ownership: raw.ownership,
            inclusive: raw.inclusive,
            area: raw.area,
            authority: raw.authority,
            tag: raw.tag.clone(),
        };
        self.convert_institution_filter(filter)
    }

    fn convert_institution_filter(&mut self, raw: RawInstitutionFilter) -> InstitutionFilter {
        if let Some(kind) = &raw.kind
            && kind.get_ref().is_empty()
        {
            self.sink.error(
                Some(kind.span()),
                "`kind` must list at least one institution kind (or be left out)",
            );
        }
        if let Some(tag) = &raw.tag {
            self.references
                .push((Reference::Tag(tag.get_ref().clone()), tag.span()));
        }
        InstitutionFilter {
            kind: raw.kind.map(Spanned::into_inner).unwrap_or_default(),
            ownership: raw.ownership,
            inclusive: raw.inclusive,
            area: raw.area,
            authority: raw.authority,
            tag: raw.tag.map(Spanned::into_inner),
        }
    }

    fn metric_source(
        &mut self,
        source: SourceKind,
        raw: &RawMetric,
        key_span: Span,
    ) -> Option<Source> {
        match source {
            SourceKind::Pupils => {
                if let Some(grade) = &raw.grade
                    && (grade.get_ref().is_empty()
                        || grade.get_ref().iter().any(|g| !(1..=12).contains(g)))
                {
                    self.sink
                        .error(Some(grade.span()), "`grade` must list grades 1 to 12");
                }
                self.age_band(raw.age_min.as_ref(), raw.age_max.as_ref());
                Some(Source::Pupils {
                    institutions: self.institution_filter(raw),
                    pupils: PupilFilter {
                        sex: raw.sex,
                        grade: raw
                            .grade
                            .clone()
                            .map(Spanned::into_inner)
                            .unwrap_or_default(),
                        age_min: raw.age_min.as_ref().map(|age| *age.get_ref()),
                        age_max: raw.age_max.as_ref().map(|age| *age.get_ref()),
                        new_entrants: (raw.new_entrants),
                    },
                })
            }
            SourceKind::Institutions => Some(Source::Institutions {
                institutions: self.institution_filter(raw),
                has_certified_guard: (raw.has_certified_guard),
            }),
            SourceKind::Staff => {
                if let Some(role) = &raw.role
                    && role.get_ref().is_empty()
                {
                    self.sink.error(
                        Some(role.span()),
                        "`role` must list at least one role (or be left out)",
                    );
                }
                Some(Source::Staff {
                    institutions: self.institution_filter(raw),
                    staff: StaffFilter {
                        role: raw
                            .role
                            .clone()
                            .map(Spanned::into_inner)
                            .unwrap_or_default(),
                        certified: (raw.certified),
                        hired_in_period: (raw.hired_in_period),
                        retiring_in_period: (raw.retiring_in_period),
                        special_post: (raw.special_post),
                        sex: raw.sex,
                    },
                })
            }
            SourceKind::Population => {
                let missing: Vec<&str> = [
                    ("basis", raw.basis.is_none()),
                    ("age_min", raw.age_min.is_none()),
                    ("age_max", raw.age_max.is_none()),
                    ("denominator_version", raw.denominator_version.is_none()),
                    ("description", raw.description.is_none()),
                ]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(key, _)| key)
                .collect();
                if !missing.is_empty() {
                    self.sink.error(
                        Some(key_span),
                        format!(
                            "a population denominator must be explicit: missing {} (basis = \"registered\" | \"resident\", \
                             age band, a versioned definition and its description)",
                            missing.join(", ")
                        ),
                    );
                    return None;
                }
                self.age_band(raw.age_min.as_ref(), raw.age_max.as_ref());
                Some(Source::Population(PopulationSpec {
                    basis: raw.basis?,
                    age_min: *raw.age_min.as_ref()?.get_ref(),
                    age_max: *raw.age_max.as_ref()?.get_ref(),
                    denominator_version: raw.denominator_version.clone()?.into_inner(),
                }))
            }
            SourceKind::Obligation => {
                let Some(obligation) = &raw.obligation else {
                    self.sink.error(
                        Some(key_span),
                        "an `obligation` metric needs `obligation = \"<id>\"`",
                    );
                    return None;
                };
                self.references.push((
                    Reference::Obligation(obligation.get_ref().clone()),
                    obligation.span(),
                ));
                let Some(agg) = &raw.agg else {
                    self.sink.error(
                        Some(key_span),
                        format!(
                            "an `obligation` metric needs `agg`, one of: {}",
                            ObligationAgg::NAMES.join(", ")
                        ),
                    );
                    return None;
                };
                let agg = match (agg.get_ref().as_str(), &raw.field) {
                    ("sum", Some(field)) => {
                        self.references.push((
                            Reference::ObligationField {
                                obligation: obligation.get_ref().clone(),
                                field: field.get_ref().clone(),
                            },
                            field.span(),
                        ));
                        ObligationAgg::Sum(field.get_ref().clone())
                    }
                    ("sum", None) => {
                        self.sink.error(
                            Some(agg.span()),
                            "`agg = \"sum\"` needs `field = \"<form field>\"`",
                        );
                        return None;
                    }
                    (_, Some(field)) => {
                        self.sink.error(
                            Some(field.span()),
                            "`field` is only used with `agg = \"sum\"`",
                        );
                        return None;
                    }
                    ("expected", None) => ObligationAgg::Expected,
                    ("submitted", None) => ObligationAgg::Submitted,
                    ("on_time", None) => ObligationAgg::OnTime,
                    ("late", None) => ObligationAgg::Late,
                    ("zero", None) => ObligationAgg::Zero,
                    ("missing", None) => ObligationAgg::Missing,
                    (other, None) => {
                        self.sink.error(
                            Some(agg.span()),
                            format!(
                                "unknown obligation aggregate `{other}`{}; expected one of: {}",
                                suggest(other, ObligationAgg::NAMES.iter().copied()),
                                ObligationAgg::NAMES.join(", ")
                            ),
                        );
                        return None;
                    }
                };
                Some(Source::Obligation {
                    institutions: self.institution_filter(raw),
                    obligation: obligation.get_ref().clone(),
                    agg,
                })
            }
            SourceKind::Ledger => {
                let Some(ledger) = &raw.ledger else {
                    self.sink.error(
                        Some(key_span),
                        "a `ledger` metric needs `ledger = \"<id>\"`",
                    );
                    return None;
                };
                self.references
                    .push((Reference::Ledger(ledger.get_ref().clone()), ledger.span()));
                if let Some(agg) = &raw.agg
                    && agg.get_ref() != "count"
                {
                    self.sink.error(
                        Some(agg.span()),
                        "a `ledger` metric only counts cases: `agg = \"count\"`",
                    );
                    return None;
                }
                if let Some(states) = &raw.state {
                    for state in states.get_ref() {
                        self.references.push((
                            Reference::LedgerState {
                                ledger: ledger.get_ref().clone(),
                                state: state.clone(),
                            },
                            states.span(),
                        ));
                    }
                }
                Some(Source::Ledger {
                    institutions: self.institution_filter(raw),
                    ledger: ledger.get_ref().clone(),
                    cases: LedgerFilter {
                        state: raw
                            .state
                            .clone()
                            .map(Spanned::into_inner)
                            .unwrap_or_default(),
                        open: (raw.open),
                        overdue: (raw.overdue),
                        level: raw
                            .level
                            .clone()
                            .map(Spanned::into_inner)
                            .unwrap_or_default(),
                        opened_in_period: (raw.opened_in_period),
                        closed_on_time: (raw.closed_on_time),
                    },
                })
            }
            SourceKind::KeyAreas => Some(Source::KeyAreas {
                institutions: self.institution_filter(raw),
                key_areas: KeyAreaFilter {
                    area_type: raw
                        .area_type
                        .clone()
                        .map(Spanned::into_inner)
                        .unwrap_or_default(),
                    camera: (raw.camera),
                    police_link: (raw.police_link),
                },
            }),
        }
    }

    fn age_band(&mut self, min: Option<&Spanned<u8>>, max: Option<&Spanned<u8>>) {
        if let (Some(min), Some(max)) = (min, max)
            && min.get_ref() > max.get_ref()
        {
            self.sink.error(
                Some(max.span()),
                format!(
                    "age_max {} is below age_min {}",
                    max.get_ref(),
                    min.get_ref()
                ),
            );
        }
    }

    fn target(
        &mut self,
        id: &str,
        key_span: Span,
        value: &Spanned<DeValue<'_>>,
        metrics: &BTreeMap<String, (Span, MetricDef)>,
        periods: &BTreeMap<String, (Span, Period)>,
    ) -> Option<Target> {
        let raw: RawTarget = self.deserialize(value, &format!("target `{id}`"))?;
        check_id(self.sink, id, key_span.clone(), "target");
        let mut ok = true;

        let indicator_text = raw.indicator.get_ref().clone();
        let base = string_content_offset(self.text, raw.indicator.span(), &indicator_text);
        let indicator = match parse_expr(&indicator_text) {
            Ok(parsed) => {
                for (name, span) in &parsed.metric_refs {
                    if !metrics.contains_key(name) {
                        ok = false;
                        let suggestion = suggest(name, metrics.keys().map(String::as_str));
                        self.sink.error(
                            Some(base + span.start..base + span.end),
                            format!("target `{id}`: unknown metric `{name}`{suggestion}"),
                        );
                    }
                }
                if parsed.expr.divides_by_constant_zero() {
                    ok = false;
                    self.sink.error(
                        Some(raw.indicator.span()),
                        format!("target `{id}`: division by zero"),
                    );
                }
                Some(parsed.expr)
            }
            Err(error) => {
                self.sink.error(
                    Some(base + error.offset..base + error.offset),
                    format!("target `{id}`: indicator: {}", error.message),
                );
                None
            }
        };

        let comparator = Comparator::parse(raw.comparator.get_ref());
        if comparator.is_none() {
            let symbols: Vec<&str> = Comparator::ALL.iter().map(|c| c.symbol()).collect();
            self.sink.error(
                Some(raw.comparator.span()),
                format!(
                    "target `{id}`: unknown comparator `{}`; expected one of: {}",
                    raw.comparator.get_ref(),
                    symbols.join(" ")
                ),
            );
        }
        let period = match &raw.period {
            Some(period) if !periods.contains_key(period.get_ref()) => {
                ok = false;
                self.sink.error(
                    Some(period.span()),
                    format!(
                        "target `{id}`: period `{}` is not declared in [periods]",
                        period.get_ref()
                    ),
                );
                period.get_ref().clone()
            }
            Some(period) => period.get_ref().clone(),
            None => String::new(),
        };
        if let Some(margin) = &raw.at_risk_margin
            && !(0.0..1.0).contains(margin.get_ref())
        {
            ok = false;
            self.sink.error(
                Some(margin.span()),
                "at_risk_margin must be a fraction in [0, 1)",
            );
        }
        if raw.cumulative && !matches!(comparator, Some(Comparator::Ge | Comparator::Gt)) {
            ok = false;
            self.sink.error(
                Some(raw.comparator.span()),
                "a cumulative target must use `>=` or `>`",
            );
        }
        if raw.title.trim().is_empty() || raw.unit.trim().is_empty() {
            ok = false;
            self.sink.error(
                Some(key_span.clone()),
                format!("target `{id}` needs a non-empty title and unit"),
            );
        }
        let breakdowns = raw
            .breakdowns
            .as_ref()
            .map(|b| b.get_ref().clone())
            .unwrap_or_default();
        if let (Some(expr), Some(spanned)) = (&indicator, &raw.breakdowns) {
            for dimension in &breakdowns {
                for name in expr.metric_names() {
                    let Some((_, metric)) = metrics.get(name) else {
                        continue;
                    };
                    if !metric.source.kind().breakdowns().contains(dimension) {
                        ok = false;
                        self.sink.error(
                            Some(spanned.span()),
                            format!(
                                "target `{id}`: breakdown `{}` is not available for metric `{name}` (source `{}`)",
                                dimension.name(),
                                metric.source.kind()
                            ),
                        );
                    }
                }
            }
        }
        if raw.scope.levels.get_ref().is_empty() {
            ok = false;
            self.sink.error(
                Some(raw.scope.levels.span()),
                "scope.levels must name at least one level",
            );
        }
        let institutions = self.convert_institution_filter(raw.scope.institutions);
        let scope = Scope {
            levels: raw
                .scope
                .levels
                .into_inner()
                .into_iter()
                .map(OrgLevel::from)
                .collect(),
            institutions,
        };
        let (indicator, comparator) = (indicator?, comparator?);
        ok.then_some(Target {
            id: id.to_owned(),
            title: raw.title,
            indicator_text,
            indicator,
            comparator,
            target: raw.target,
            threshold: raw.threshold,
            threshold_source: raw.threshold_source,
            unit: raw.unit,
            period,
            cumulative: raw.cumulative,
            at_risk_margin: raw.at_risk_margin.map(Spanned::into_inner),
            scope,
            breakdowns,
            note: raw.note,
        })
    }

    fn check_references(
        &mut self,
        obligations: &BTreeMap<String, (Span, toml::Table)>,
        ledgers: &BTreeMap<String, (Span, toml::Table)>,
        registries: &BTreeMap<String, (Span, Registry)>,
    ) {
        let tags: BTreeSet<&str> = registries
            .values()
            .filter_map(|(_, registry)| registry.tag.as_deref())
            .collect();
        for (reference, span) in std::mem::take(&mut self.references) {
            let problem = match &reference {
                Reference::Obligation(id) if !obligations.contains_key(id) => Some(format!(
                    "obligation `{id}` is not declared in [obligations]{}",
                    suggest(id, obligations.keys().map(String::as_str))
                )),
                Reference::Ledger(id) if !ledgers.contains_key(id) => Some(format!(
                    "ledger `{id}` is not declared in [ledgers]{}",
                    suggest(id, ledgers.keys().map(String::as_str))
                )),
                Reference::Tag(tag) if !tags.contains(tag.as_str()) => Some(format!(
                    "tag `{tag}` is not assigned by any registry (declare it as `tag` in [registries]){}",
                    suggest(tag, tags.iter().copied())
                )),
                Reference::ObligationField { obligation, field } => obligations
                    .get(obligation)
                    .and_then(|(_, table)| declared_names(table.get("fields")))
                    .filter(|fields| !fields.contains(field))
                    .map(|fields| {
                        format!(
                            "obligation `{obligation}` has no field `{field}`; its fields: {}",
                            fields.join(", ")
                        )
                    }),
                Reference::LedgerState { ledger, state } => ledgers
                    .get(ledger)
                    .and_then(|(_, table)| declared_names(table.get("states")))
                    .filter(|states| !states.contains(state))
                    .map(|states| {
                        format!(
                            "ledger `{ledger}` has no state `{state}`; its states: {}",
                            states.join(", ")
                        )
                    }),
                _ => None,
            };
            if let Some(message) = problem {
                self.sink.error(Some(span), message);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn commitments(
        &mut self,
        raw: Vec<(RawCommitment, Span)>,
        header: Option<&PlanHeader>,
        targets: &BTreeMap<String, (Span, Target)>,
        obligations: &BTreeMap<String, (Span, toml::Table)>,
        ledgers: &BTreeMap<String, (Span, toml::Table)>,
        registries: &BTreeMap<String, (Span, Registry)>,
    ) -> Vec<(Commitment, Span)> {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        let mut commitments = Vec::new();
        for (raw, _) in raw {
            let id = raw.id.get_ref().clone();
            check_id(self.sink, &id, raw.id.span(), "commitment");
            if let Some(first) = seen.get(&id) {
                let (line, _) =
                    crate::diagnostic::LineIndex::new(self.text).line_column(first.start);
                self.sink.error(
                    Some(raw.id.span()),
                    format!("duplicate commitment id `{id}` (first at line {line})"),
                );
                continue;
            }
            seen.insert(id.clone(), raw.id.span());
            if let Some(header) = header
                && !header.sections.contains(raw.section.get_ref())
            {
                self.sink.error(
                    Some(raw.section.span()),
                    format!(
                        "commitment `{id}`: section `{}` is not in [plan] sections{}",
                        raw.section.get_ref(),
                        suggest(
                            raw.section.get_ref(),
                            header.sections.iter().map(String::as_str)
                        )
                    ),
                );
            }
            if raw.text.get_ref().trim().is_empty() {
                self.sink.error(
                    Some(raw.text.span()),
                    format!("commitment `{id}` needs its original text"),
                );
            }
            let Some(kind) = CommitmentKind::parse(raw.kind.get_ref()) else {
                let names: Vec<&str> = CommitmentKind::ALL.iter().map(|kind| kind.name()).collect();
                self.sink.error(
                    Some(raw.kind.span()),
                    format!(
                        "commitment `{id}`: unknown kind `{}`; expected one of: {}",
                        raw.kind.get_ref(),
                        names.join(", ")
                    ),
                );
                continue;
            };
            let served_by = match (kind, raw.served_by) {
                (CommitmentKind::NotMeasured, Some(served_by)) => {
                    self.sink.error(
                        Some(served_by.span()),
                        format!("commitment `{id}` is not_measured: drop `served_by`"),
                    );
                    continue;
                }
                (CommitmentKind::NotMeasured, None) => {
                    if raw
                        .reason
                        .as_deref()
                        .is_none_or(|reason| reason.trim().is_empty())
                    {
                        self.sink.error(
                            Some(raw.kind.span()),
                            format!("commitment `{id}` is not_measured: give a `reason`"),
                        );
                    }
                    None
                }
                (_, None) => {
                    self.sink.error(
                        Some(raw.kind.span()),
                        format!("commitment `{id}` needs `served_by = {{ kind = \"{kind}\", id = \"…\" }}`"),
                    );
                    continue;
                }
                (_, Some(served_by)) => {
                    let served_span = served_by.span();
                    let served_by = served_by.into_inner();
                    let served_kind = CommitmentKind::parse(served_by.kind.get_ref());
                    if served_kind != Some(kind) {
                        self.sink.error(
                            Some(served_by.kind.span()),
                            format!(
                                "commitment `{id}` is a {kind}: served_by.kind must be `{kind}`"
                            ),
                        );
                        continue;
                    }
                    let target_id = served_by.id.get_ref();
                    let known: Vec<&str> = match kind {
                        CommitmentKind::Target => targets.keys().map(String::as_str).collect(),
                        CommitmentKind::Obligation => {
                            obligations.keys().map(String::as_str).collect()
                        }
                        CommitmentKind::Ledger => ledgers.keys().map(String::as_str).collect(),
                        CommitmentKind::Registry => registries.keys().map(String::as_str).collect(),
                        CommitmentKind::Engine => ENGINES.iter().map(|(name, _)| *name).collect(),
                        CommitmentKind::NotMeasured => Vec::new(),
                    };
                    if !known.contains(&target_id.as_str()) {
                        self.sink.error(
                            Some(served_by.id.span()),
                            format!(
                                "commitment `{id}`: {kind} `{target_id}` is not declared{}",
                                suggest(target_id, known.iter().copied())
                            ),
                        );
                        continue;
                    }
                    if raw.reason.is_some() {
                        self.sink.warning(
                            Some(served_span),
                            format!("commitment `{id}`: `reason` is only read for not_measured"),
                        );
                    }
                    Some(ServedBy {
                        kind,
                        id: target_id.clone(),
                    })
                }
            };
            commitments.push((
                Commitment {
                    id,
                    section: raw.section.into_inner(),
                    text: raw.text.into_inner(),
                    kind,
                    served_by,
                    reason: raw.reason,
                    seed: raw.seed.get_ref().clone(),
                    note: raw.note,
                },
                raw.seed.span(),
            ));
        }
        commitments
    }

    fn coverage(
        &mut self,
        raw: Vec<(RawCoverage, Span)>,
        commitments: &[(Commitment, Span)],
    ) -> Vec<CoverageEntry> {
        let mut entries: Vec<CoverageEntry> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (raw, span) in raw {
            let locator = raw.seed.get_ref().clone();
            if parse_locator(&locator).is_none() {
                self.sink.error(
                    Some(raw.seed.span()),
                    format!("seed locator `{locator}` must look like `p5.s1`"),
                );
            }
            if !seen.insert(locator.clone()) {
                self.sink.error(
                    Some(raw.seed.span()),
                    format!("seed sentence `{locator}` is listed twice in [[coverage]]"),
                );
                continue;
            }
            let own: Vec<&Commitment> = commitments
                .iter()
                .map(|(commitment, _)| commitment)
                .filter(|c| c.seed == locator)
                .collect();
            match (&raw.none, own.is_empty()) {
                (Some(_), false) => self.sink.error(
                    Some(raw.seed.span()),
                    format!("sentence `{locator}` has commitments ({}) and a `none` reason", ids(&own)),
                ),
                (None, true) => self.sink.error(
                    Some(span.clone()),
                    format!("sentence `{locator}` has no commitment: add one, or say why with `none = \"…\"`"),
                ),
                _ => {}
            }
            for framing in &raw.framing {
                if !raw.text.contains(framing.get_ref().as_str()) {
                    self.sink.error(
                        Some(framing.span()),
                        format!(
                            "framing `{}` is not part of sentence `{locator}`",
                            framing.get_ref()
                        ),
                    );
                }
            }
            if raw.none.is_none() {
                for clause in clauses(&raw.text) {
                    let carried = own
                        .iter()
                        .any(|c| c.text.contains(clause) || clause.contains(c.text.as_str()));
                    let framed = raw.framing.iter().any(|f| {
                        f.get_ref().contains(clause) || clause.contains(f.get_ref().as_str())
                    });
                    if !carried && !framed {
                        self.sink.error(
                            Some(span.clone()),
                            format!("clause “{clause}” of `{locator}` is in no commitment: add one or list it in `framing`"),
                        );
                    }
                }
            }
            entries.push(CoverageEntry {
                seed: locator,
                text: raw.text,
                none: raw.none,
                framing: raw.framing.into_iter().map(Spanned::into_inner).collect(),
            });
        }
        for (commitment, seed_span) in commitments {
            match entries.iter().find(|entry| entry.seed == commitment.seed) {
                None if !entries.is_empty() || !commitments.is_empty() => self.sink.error(
                    Some(seed_span.clone()),
                    format!(
                        "commitment `{}`: seed sentence `{}` is not in [[coverage]]",
                        commitment.id, commitment.seed
                    ),
                ),
                Some(entry) if !entry.text.contains(commitment.text.as_str()) => self.sink.error(
                    Some(seed_span.clone()),
                    format!(
                        "commitment `{}`: its text is not a verbatim part of sentence `{}`",
                        commitment.id, commitment.seed
                    ),
                ),
                _ => {}
            }
        }
        entries
    }

    fn unused_warnings(
        &mut self,
        metrics: &BTreeMap<String, (Span, MetricDef)>,
        targets: &BTreeMap<String, (Span, Target)>,
        commitments: &[(Commitment, Span)],
        obligations: &BTreeMap<String, (Span, toml::Table)>,
        ledgers: &BTreeMap<String, (Span, toml::Table)>,
        registries: &BTreeMap<String, (Span, Registry)>,
    ) {
        let used_metrics: BTreeSet<&str> = targets
            .values()
            .flat_map(|(_, target)| target.indicator.metric_names())
            .collect();
        for (name, (span, _)) in metrics {
            if !used_metrics.contains(name.as_str()) {
                self.sink.warning(
                    Some(span.clone()),
                    format!("metric `{name}` is used by no target"),
                );
            }
        }
        let served: BTreeSet<(CommitmentKind, &str)> = commitments
            .iter()
            .filter_map(|(commitment, _)| commitment.served_by.as_ref())
            .map(|served_by| (served_by.kind, served_by.id.as_str()))
            .collect();
        // An obligation or ledger feeding a metric, or a registry whose tag a metric filters on, is in use.
        let mut fed: BTreeSet<&str> = metrics
            .values()
            .filter_map(|(_, metric)| match &metric.source {
                Source::Obligation { obligation, .. } => Some(obligation.as_str()),
                Source::Ledger { ledger, .. } => Some(ledger.as_str()),
                _ => None,
            })
            .collect();
        let used_tags: BTreeSet<&str> = metrics
            .values()
            .filter_map(|(_, metric)| metric.source.institution_filter()?.tag.as_deref())
            .collect();
        for (id, (_, registry)) in registries {
            if registry
                .tag
                .as_deref()
                .is_some_and(|tag| used_tags.contains(tag))
            {
                fed.insert(id.as_str());
            }
        }
        let unserved = |kind: CommitmentKind, id: &str, span: &Span, sink: &mut Sink<'_>| {
            let in_use = served.contains(&(kind, id))
                || (kind != CommitmentKind::Target && fed.contains(id));
            if !in_use {
                sink.warning(
                    Some(span.clone()),
                    format!("{kind} `{id}` serves no commitment"),
                );
            }
        };
        for (id, (span, _)) in targets {
            unserved(CommitmentKind::Target, id, span, self.sink);
        }
        for (id, (span, _)) in obligations {
            unserved(CommitmentKind::Obligation, id, span, self.sink);
        }
        for (id, (span, _)) in ledgers {
            unserved(CommitmentKind::Ledger, id, span, self.sink);
        }
        for (id, (span, _)) in registries {
            unserved(CommitmentKind::Registry, id, span, self.sink);
        }
    }
}

fn strip<T>(items: BTreeMap<String, (Span, T)>) -> BTreeMap<String, T> {
    items
        .into_iter()
        .map(|(id, (_, item))| (id, item))
        .collect()
}

fn ids(commitments: &[&Commitment]) -> String {
    commitments
        .iter()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_id(sink: &mut Sink<'_>, id: &str, span: Span, what: &str) {
    let valid = id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_'
        });
    if !valid {
        sink.error(
            Some(span),
            format!("{what} id `{id}` must be lowercase ASCII letters, digits, `-`, `_` or `.`"),
        );
    }
}

/// `p5.s1` → (5, 1).
pub(crate) fn parse_locator(locator: &str) -> Option<(usize, usize)> {
    let (paragraph, sentence) = locator.strip_prefix('p')?.split_once(".s")?;
    let paragraph = paragraph.parse().ok().filter(|&p: &usize| p > 0)?;
    let sentence = sentence.parse().ok().filter(|&s: &usize| s > 0)?;
    Some((paragraph, sentence))
}

/// Clauses of a sentence: split at commas, semicolons, colons and the full stop.
pub(crate) fn clauses(sentence: &str) -> Vec<&str> {
    sentence
        .split(['，', ',', '；', ';', '。', '：', ':'])
        .map(str::trim)
        .filter(|clause| !clause.is_empty())
        .collect()
}

/// Names declared by an engine's raw table: an array of strings, an array of tables with `name`, or a table keyed by
/// name. `None` when the declaration does not list them (then nothing is checked).
fn declared_names(value: Option<&toml::Value>) -> Option<Vec<String>> {
    match value? {
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(name) => Some(name.clone()),
                toml::Value::Table(table) => table
                    .get("name")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .collect(),
        toml::Value::Table(table) => Some(table.keys().cloned().collect()),
        _ => None,
    }
}

/// Byte offset of a string value's content inside the file (after its opening quotes).
fn string_content_offset(text: &str, span: Span, content: &str) -> usize {
    text.get(span.clone())
        .and_then(|raw| raw.find(content))
        .map_or(span.start, |offset| span.start + offset)
}

/// ", did you mean `x`?" for the closest candidate within a small edit distance, else "".
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.chars().count() / 4))
        .min();
    best.map_or_else(String::new, |(_, candidate)| {
        format!(" (did you mean `{candidate}`?)")
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

// ---- raw shapes of the file, as serde reads them ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    id: String,
    title: String,
    year: i32,
    city: Spanned<String>,
    source: RawSourceDocument,
    default_period: Spanned<String>,
    at_risk_margin: Spanned<f64>,
    sections: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSourceDocument {
    document: String,
    title: String,
    publisher: Option<String>,
    published: Option<Spanned<toml::value::Datetime>>,
    script: Option<String>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    title: String,
    start: Spanned<toml::value::Datetime>,
    end: Spanned<toml::value::Datetime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    title: String,
    tag: Option<String>,
    description: Option<String>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstitutionFilter {
    kind: Option<Spanned<Vec<InstitutionKind>>>,
    ownership: Option<Ownership>,
    inclusive: Option<bool>,
    area: Option<Area>,
    authority: Option<Authority>,
    tag: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    title: String,
    unit: String,
    description: Option<String>,
    #[allow(dead_code)]
    source: String,
    kind: Option<Spanned<Vec<InstitutionKind>>>,
    ownership: Option<Ownership>,
    inclusive: Option<bool>,
    area: Option<Area>,
    authority: Option<Authority>,
    tag: Option<Spanned<String>>,
    sex: Option<Sex>,
    grade: Option<Spanned<Vec<u8>>>,
    age_min: Option<Spanned<u8>>,
    age_max: Option<Spanned<u8>>,
    new_entrants: Option<bool>,
    has_certified_guard: Option<bool>,
    role: Option<Spanned<Vec<StaffRole>>>,
    certified: Option<bool>,
    hired_in_period: Option<bool>,
    retiring_in_period: Option<bool>,
    special_post: Option<bool>,
    basis: Option<PopulationBasis>,
    denominator_version: Option<Spanned<String>>,
    obligation: Option<Spanned<String>>,
    agg: Option<Spanned<String>>,
    field: Option<Spanned<String>>,
    ledger: Option<Spanned<String>>,
    state: Option<Spanned<Vec<String>>>,
    open: Option<bool>,
    overdue: Option<bool>,
    level: Option<Spanned<Vec<Level>>>,
    opened_in_period: Option<bool>,
    closed_on_time: Option<bool>,
    area_type: Option<Spanned<Vec<KeyAreaType>>>,
    camera: Option<bool>,
    police_link: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    levels: Spanned<Vec<OrgLevelName>>,
    #[serde(default)]
    institutions: RawInstitutionFilter,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OrgLevelName {
    City,
    District,
    Institution,
}

impl From<OrgLevelName> for OrgLevel {
    fn from(level: OrgLevelName) -> OrgLevel {
        match level {
            OrgLevelName::City => OrgLevel::City,
            OrgLevelName::District => OrgLevel::District,
            OrgLevelName::Institution => OrgLevel::Institution,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    title: String,
    indicator: Spanned<String>,
    comparator: Spanned<String>,
    target: f64,
    threshold: Option<f64>,
    threshold_source: Option<String>,
    unit: String,
    period: Option<Spanned<String>>,
    #[serde(default)]
    cumulative: bool,
    at_risk_margin: Option<Spanned<f64>>,
    scope: RawScope,
    breakdowns: Option<Spanned<Vec<BreakdownDim>>>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServedBy {
    kind: Spanned<String>,
    id: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommitment {
    id: Spanned<String>,
    section: Spanned<String>,
    text: Spanned<String>,
    kind: Spanned<String>,
    served_by: Option<Spanned<RawServedBy>>,
    reason: Option<String>,
    seed: Spanned<String>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoverage {
    seed: Spanned<String>,
    text: String,
    none: Option<String>,
    #[serde(default)]
    framing: Vec<Spanned<String>>,
}
