//! The metric catalogue: typed metric definitions over the platform's fixed source vocabulary.
//!
//! Each source (`pupils`, `institutions`, `staff`, `population`, `obligation`, `ledger`, `key_areas`) is a count or
//! sum the platform computes from its database; docs/plan-format.md specifies each one precisely.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A metric of the catalogue: Chinese title, unit and what to count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDef {
    pub title: String,
    pub unit: String,
    pub description: Option<String>,
    pub source: Source,
}

/// What a metric counts or sums. The variants are the platform's fixed source vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    Pupils {
        institutions: InstitutionFilter,
        pupils: PupilFilter,
    },
    Institutions {
        institutions: InstitutionFilter,
        has_certified_guard: Option<bool>,
    },
    Staff {
        institutions: InstitutionFilter,
        staff: StaffFilter,
    },
    Population(PopulationSpec),
    Obligation {
        institutions: InstitutionFilter,
        obligation: String,
        agg: ObligationAgg,
    },
    Ledger {
        institutions: InstitutionFilter,
        ledger: String,
        cases: LedgerFilter,
    },
    KeyAreas {
        institutions: InstitutionFilter,
        key_areas: KeyAreaFilter,
    },
}

/// The source names, as written in `source = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Pupils,
    Institutions,
    Staff,
    Population,
    Obligation,
    Ledger,
    KeyAreas,
}

impl SourceKind {
    pub const ALL: [SourceKind; 7] = [
        SourceKind::Pupils,
        SourceKind::Institutions,
        SourceKind::Staff,
        SourceKind::Population,
        SourceKind::Obligation,
        SourceKind::Ledger,
        SourceKind::KeyAreas,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Pupils => "pupils",
            SourceKind::Institutions => "institutions",
            SourceKind::Staff => "staff",
            SourceKind::Population => "population",
            SourceKind::Obligation => "obligation",
            SourceKind::Ledger => "ledger",
            SourceKind::KeyAreas => "key_areas",
        }
    }

    /// The filter keys this source accepts besides `title`, `unit`, `description` and `source`.
    pub fn filter_keys(self) -> &'static [&'static str] {
        match self {
            SourceKind::Pupils => &[
                "kind",
                "ownership",
                "inclusive",
                "area",
                "authority",
                "tag",
                "sex",
                "grade",
                "age_min",
                "age_max",
                "new_entrants",
            ],
            SourceKind::Institutions => &[
                "kind",
                "ownership",
                "inclusive",
                "area",
                "authority",
                "tag",
                "has_certified_guard",
            ],
            SourceKind::Staff => &[
                "kind",
                "ownership",
                "inclusive",
                "area",
                "authority",
                "tag",
                "role",
                "certified",
                "hired_in_period",
                "retiring_in_period",
                "special_post",
                "sex",
            ],
            SourceKind::Population => &["basis", "age_min", "age_max", "denominator_version"],
            SourceKind::Obligation => &[
                "kind",
                "ownership",
                "inclusive",
                "area",
                "authority",
                "tag",
                "obligation",
                "agg",
                "field",
            ],
            SourceKind::Ledger => &[
                "kind",
                "ownership",
                "inclusive",
                "area",
                "authority",
                "tag",
                "ledger",
                "agg",
                "state",
                "open",
                "overdue",
                "level",
                "opened_in_period",
                "closed_on_time",
            ],
            SourceKind::KeyAreas => &[
                "kind",
                "ownership",
                "inclusive",
                "area",
                "authority",
                "tag",
                "area_type",
                "camera",
                "police_link",
            ],
        }
    }

    /// The breakdown dimensions this source can be split by.
    pub fn breakdowns(self) -> &'static [BreakdownDim] {
        match self {
            SourceKind::Pupils | SourceKind::Staff => &[
                BreakdownDim::Area,
                BreakdownDim::Ownership,
                BreakdownDim::Sex,
            ],
            SourceKind::Population => &[BreakdownDim::Area, BreakdownDim::Sex],
            SourceKind::Institutions
            | SourceKind::Obligation
            | SourceKind::Ledger
            | SourceKind::KeyAreas => &[BreakdownDim::Area, BreakdownDim::Ownership],
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Source {
    pub fn kind(&self) -> SourceKind {
        match self {
            Source::Pupils { .. } => SourceKind::Pupils,
            Source::Institutions { .. } => SourceKind::Institutions,
            Source::Staff { .. } => SourceKind::Staff,
            Source::Population(_) => SourceKind::Population,
            Source::Obligation { .. } => SourceKind::Obligation,
            Source::Ledger { .. } => SourceKind::Ledger,
            Source::KeyAreas { .. } => SourceKind::KeyAreas,
        }
    }

    /// The institution filter, for every source except `population`.
    pub fn institution_filter(&self) -> Option<&InstitutionFilter> {
        match self {
            Source::Pupils { institutions, .. }
            | Source::Institutions { institutions, .. }
            | Source::Staff { institutions, .. }
            | Source::Obligation { institutions, .. }
            | Source::Ledger { institutions, .. }
            | Source::KeyAreas { institutions, .. } => Some(institutions),
            Source::Population(_) => None,
        }
    }
}

/// Kinds of institution in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    Kindergarten,
    Primary,
    Junior,
    Senior,
    NineYear,
    TwelveYear,
    Vocational,
    Special,
    CommunityCollege,
    CommunitySchool,
    TrainingInstitution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    Public,
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Urban,
    Rural,
}

/// Who runs an institution: 市属 (city) or a district / county.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    City,
    District,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

/// Filters on the institution a record belongs to (all sources except `population`). Empty = no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstitutionFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<InstitutionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership: Option<Ownership>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<Area>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<Authority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PupilFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grade: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_min: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_max: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_entrants: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Teacher,
    Principal,
    SecurityGuard,
    Doctor,
    Nurse,
    Cook,
    Driver,
    Other,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StaffFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub role: Vec<StaffRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hired_in_period: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_in_period: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_post: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
}

/// Registered (户籍) or resident (常住) population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopulationBasis {
    Registered,
    Resident,
}

/// A population denominator: explicit age band, basis and a version naming the definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PopulationSpec {
    pub basis: PopulationBasis,
    pub age_min: u8,
    pub age_max: u8,
    pub denominator_version: String,
}

/// Aggregations over an obligation's returns in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "agg", content = "field", rename_all = "snake_case")]
pub enum ObligationAgg {
    /// Sum of a numeric form field over accepted returns.
    Sum(String),
    Expected,
    Submitted,
    OnTime,
    Late,
    Zero,
    Missing,
}

impl ObligationAgg {
    pub const NAMES: [&'static str; 7] = [
        "sum",
        "expected",
        "submitted",
        "on_time",
        "late",
        "zero",
        "missing",
    ];
}

/// Risk / hazard levels: the four colours of risk grading, or the two hazard grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Red,
    Orange,
    Yellow,
    Blue,
    Major,
    General,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub level: Vec<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_in_period: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_on_time: Option<bool>,
}

/// Types of key area (重点要害部位).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAreaType {
    Gate,
    Dormitory,
    Canteen,
    Lab,
    Perimeter,
    Playground,
    Boiler,
    Storage,
    Other,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyAreaFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub area_type: Vec<KeyAreaType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub police_link: Option<bool>,
}

/// A dimension a target may be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakdownDim {
    Area,
    Ownership,
    Sex,
}

impl BreakdownDim {
    pub fn name(self) -> &'static str {
        match self {
            BreakdownDim::Area => "area",
            BreakdownDim::Ownership => "ownership",
            BreakdownDim::Sex => "sex",
        }
    }

    /// Every value of the dimension, in display order.
    pub fn values(self) -> Vec<Breakdown> {
        match self {
            BreakdownDim::Area => vec![Breakdown::Area(Area::Urban), Breakdown::Area(Area::Rural)],
            BreakdownDim::Ownership => {
                vec![
                    Breakdown::Ownership(Ownership::Public),
                    Breakdown::Ownership(Ownership::Private),
                ]
            }
            BreakdownDim::Sex => vec![Breakdown::Sex(Sex::Male), Breakdown::Sex(Sex::Female)],
        }
    }
}

/// One cell of a breakdown: the records of a metric restricted further to this value (ANDed with the metric's own
/// filters: a metric filtered to `ownership = "public"` broken down by `private` counts nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "dimension", content = "value", rename_all = "snake_case")]
pub enum Breakdown {
    Area(Area),
    Ownership(Ownership),
    Sex(Sex),
}

impl Breakdown {
    pub fn dimension(self) -> BreakdownDim {
        match self {
            Breakdown::Area(_) => BreakdownDim::Area,
            Breakdown::Ownership(_) => BreakdownDim::Ownership,
            Breakdown::Sex(_) => BreakdownDim::Sex,
        }
    }
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Breakdown::Area(Area::Urban) => "area=urban",
            Breakdown::Area(Area::Rural) => "area=rural",
            Breakdown::Ownership(Ownership::Public) => "ownership=public",
            Breakdown::Ownership(Ownership::Private) => "ownership=private",
            Breakdown::Sex(Sex::Male) => "sex=M",
            Breakdown::Sex(Sex::Female) => "sex=F",
        };
        f.write_str(text)
    }
}
