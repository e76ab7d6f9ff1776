//! An in-memory [`MetricSource`]: a reference implementation of the source vocabulary over plain records, for tests
//! and for checking the platform's SQL against (the same inputs must give the same numbers).

use std::collections::BTreeMap;

use crate::eval::{MetricRequest, MetricSource};
use crate::metric::{
    Area, Authority, Breakdown, InstitutionFilter, InstitutionKind, KeyAreaType, Ownership,
    PopulationBasis, Sex, Source, StaffRole,
};

/// An institution of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Institution {
    pub code: String,
    /// The district / county (6-digit code) it belongs to.
    pub district: String,
    pub kind: InstitutionKind,
    pub ownership: Ownership,
    pub inclusive: bool,
    pub area: Area,
    pub authority: Authority,
    pub tags: Vec<String>,
}

/// `count` pupils enrolled on the as-of date with these attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct PupilRecord {
    pub institution: String,
    pub sex: Sex,
    pub grade: u8,
    pub age: u8,
    pub new_entrant: bool,
    pub count: u32,
}

/// `count` staff with these attributes (period-dependent flags already resolved for the period under test).
#[derive(Debug, Clone, PartialEq)]
pub struct StaffRecord {
    pub institution: String,
    pub role: StaffRole,
    pub sex: Sex,
    pub certified: bool,
    pub hired_in_period: bool,
    pub retiring_in_period: bool,
    pub special_post: bool,
    pub count: u32,
}

/// Population of one district, year, single year of age, sex and area.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationRecord {
    pub district: String,
    pub year: i32,
    pub age: u8,
    pub sex: Sex,
    pub area: Area,
    pub basis: PopulationBasis,
    pub count: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyAreaRecord {
    pub institution: String,
    pub area_type: KeyAreaType,
    pub camera: bool,
    pub police_link: bool,
}

/// Records of a small city. Obligation and ledger metrics, whose engines live elsewhere, are given per institution
/// in `per_institution` (metric name, institution code) → value and summed like everything else.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InMemorySource {
    pub city: String,
    pub institutions: Vec<Institution>,
    pub pupils: Vec<PupilRecord>,
    pub staff: Vec<StaffRecord>,
    pub population: Vec<PopulationRecord>,
    pub key_areas: Vec<KeyAreaRecord>,
    pub per_institution: BTreeMap<(String, String), f64>,
}

impl InMemorySource {
    fn institution(&self, code: &str) -> Option<&Institution> {
        self.institutions
            .iter()
            .find(|institution| institution.code == code)
    }

    /// Institutions under `org` (the city, a district or the institution itself) passing the filter and breakdown.
    fn institution_passes(
        &self,
        code: &str,
        org: &str,
        filter: &InstitutionFilter,
        breakdown: Option<Breakdown>,
    ) -> bool {
        let Some(institution) = self.institution(code) else {
            return false;
        };
        let in_org = org == self.city || org == institution.district || org == institution.code;
        let breakdown_ok = match breakdown {
            Some(Breakdown::Area(area)) => institution.area == area,
            Some(Breakdown::Ownership(ownership)) => institution.ownership == ownership,
            Some(Breakdown::Sex(_)) | None => true,
        };
        in_org
            && breakdown_ok
            && (filter.kind.is_empty() || filter.kind.contains(&institution.kind))
            && filter
                .ownership
                .is_none_or(|ownership| institution.ownership == ownership)
            && filter
                .inclusive
                .is_none_or(|inclusive| institution.inclusive == inclusive)
            && filter.area.is_none_or(|area| institution.area == area)
            && filter
                .authority
                .is_none_or(|authority| institution.authority == authority)
            && filter
                .tag
                .as_ref()
                .is_none_or(|tag| institution.tags.contains(tag))
    }
}

fn sex_passes(sex: Sex, filter: Option<Sex>, breakdown: Option<Breakdown>) -> bool {
    filter.is_none_or(|wanted| wanted == sex)
        && !matches!(breakdown, Some(Breakdown::Sex(wanted)) if wanted != sex)
}

impl MetricSource for InMemorySource {
    fn value(&self, request: &MetricRequest<'_>) -> Option<f64> {
        let (org, breakdown) = (request.org, request.breakdown);
        let passes = |code: &str, filter: &InstitutionFilter| {
            self.institution_passes(code, org, filter, breakdown)
        };
        match &request.metric.source {
            Source::Pupils {
                institutions,
                pupils,
            } => {
                let total: u32 = self
                    .pupils
                    .iter()
                    .filter(|record| passes(&record.institution, institutions))
                    .filter(|record| sex_passes(record.sex, pupils.sex, breakdown))
                    .filter(|record| {
                        pupils.grade.is_empty() || pupils.grade.contains(&record.grade)
                    })
                    .filter(|record| pupils.age_min.is_none_or(|min| record.age >= min))
                    .filter(|record| pupils.age_max.is_none_or(|max| record.age <= max))
                    .filter(|record| {
                        pupils
                            .new_entrants
                            .is_none_or(|new| record.new_entrant == new)
                    })
                    .map(|record| record.count)
                    .sum();
                Some(f64::from(total))
            }
            Source::Institutions {
                institutions,
                has_certified_guard,
            } => {
                if matches!(breakdown, Some(Breakdown::Sex(_))) {
                    return None;
                }
                let guarded = |code: &str| {
                    self.staff.iter().any(|staff| {
                        staff.institution == code
                            && staff.role == StaffRole::SecurityGuard
                            && staff.certified
                            && staff.count > 0
                    })
                };
                let count = self
                    .institutions
                    .iter()
                    .filter(|institution| passes(&institution.code, institutions))
                    .filter(|institution| {
                        has_certified_guard
                            .is_none_or(|wanted| guarded(&institution.code) == wanted)
                    })
                    .count();
                Some(count as f64)
            }
            Source::Staff {
                institutions,
                staff,
            } => {
                let total: u32 = self
                    .staff
                    .iter()
                    .filter(|record| passes(&record.institution, institutions))
                    .filter(|record| sex_passes(record.sex, staff.sex, breakdown))
                    .filter(|record| staff.role.is_empty() || staff.role.contains(&record.role))
                    .filter(|record| {
                        staff
                            .certified
                            .is_none_or(|wanted| record.certified == wanted)
                    })
                    .filter(|record| {
                        staff
                            .hired_in_period
                            .is_none_or(|wanted| record.hired_in_period == wanted)
                    })
                    .filter(|record| {
                        staff
                            .retiring_in_period
                            .is_none_or(|wanted| record.retiring_in_period == wanted)
                    })
                    .filter(|record| {
                        staff
                            .special_post
                            .is_none_or(|wanted| record.special_post == wanted)
                    })
                    .map(|record| record.count)
                    .sum();
                Some(f64::from(total))
            }
            Source::Population(spec) => {
                if matches!(breakdown, Some(Breakdown::Ownership(_)))
                    || self.institution(org).is_some()
                {
                    return None;
                }
                let year = request.period.population_year();
                let total = self
                    .population
                    .iter()
                    .filter(|record| org == self.city || org == record.district)
                    .filter(|record| record.year == year && record.basis == spec.basis)
                    .filter(|record| (spec.age_min..=spec.age_max).contains(&record.age))
                    .filter(|record| match breakdown {
                        Some(Breakdown::Sex(sex)) => record.sex == sex,
                        Some(Breakdown::Area(area)) => record.area == area,
                        _ => true,
                    })
                    .map(|record| record.count)
                    .sum();
                Some(total)
            }
            Source::Obligation { institutions, .. } | Source::Ledger { institutions, .. } => {
                if matches!(breakdown, Some(Breakdown::Sex(_))) {
                    return None;
                }
                let total = self
                    .per_institution
                    .iter()
                    .filter(|((metric, code), _)| {
                        metric == request.name && passes(code, institutions)
                    })
                    .map(|(_, value)| value)
                    .sum();
                Some(total)
            }
            Source::KeyAreas {
                institutions,
                key_areas,
            } => {
                if matches!(breakdown, Some(Breakdown::Sex(_))) {
                    return None;
                }
                let count = self
                    .key_areas
                    .iter()
                    .filter(|record| passes(&record.institution, institutions))
                    .filter(|record| {
                        key_areas.area_type.is_empty()
                            || key_areas.area_type.contains(&record.area_type)
                    })
                    .filter(|record| {
                        key_areas
                            .camera
                            .is_none_or(|wanted| record.camera == wanted)
                    })
                    .filter(|record| {
                        key_areas
                            .police_link
                            .is_none_or(|wanted| record.police_link == wanted)
                    })
                    .count();
                Some(count as f64)
            }
        }
    }
}
