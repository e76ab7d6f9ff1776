//! Institutions as obligations see them (kind, ownership, area, authority, tags) and filters saying who owes a return.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Kind of institution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    /// 幼儿园.
    Kindergarten,
    /// 小学.
    Primary,
    /// 初级中学.
    Junior,
    /// 普通高中.
    Senior,
    /// 九年一贯制学校.
    NineYear,
    /// 十二年一贯制学校.
    TwelveYear,
    /// 中等职业学校.
    Vocational,
    /// 特殊教育学校.
    Special,
    /// 社区教育学院.
    CommunityCollege,
    /// 社区教育学校.
    CommunitySchool,
    /// 校外培训机构.
    TrainingInstitution,
}

/// 公办 / 民办.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// 公办.
    Public,
    /// 民办.
    Private,
}

/// 城区 / 农村.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// 城区.
    Urban,
    /// 农村.
    Rural,
}

/// Which bureau the institution answers to: 市属 / 区县属.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// 市属.
    City,
    /// 区县属.
    District,
}

/// An institution that may owe returns. `id` is its org-unit id in the org tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    /// Org-unit id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Kind.
    pub kind: InstitutionKind,
    /// Ownership.
    pub ownership: Ownership,
    /// Area.
    pub area: Area,
    /// Authority.
    pub authority: Authority,
    /// Free tags, e.g. `inclusive` (普惠性民办园), `boarding`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// First day it owes returns (opening day); `None` = always.
    #[serde(default)]
    pub active_from: Option<Date>,
    /// Last day it owes returns (closure); `None` = still open.
    #[serde(default)]
    pub active_until: Option<Date>,
}

impl Institution {
    /// True when the institution is open on some day of `[start, end]`.
    pub fn active_during(&self, start: Date, end: Date) -> bool {
        self.active_from.is_none_or(|f| f <= end) && self.active_until.is_none_or(|u| u >= start)
    }
}

/// Who owes a return. Every non-empty list must contain the institution's attribute (tags: at least one in common).
/// An obligation lists several filters; an institution owes it when it matches any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionFilter {
    /// Kinds; empty = any.
    #[serde(default)]
    pub kinds: Vec<InstitutionKind>,
    /// Ownership; empty = any.
    #[serde(default)]
    pub ownership: Vec<Ownership>,
    /// Area; empty = any.
    #[serde(default)]
    pub area: Vec<Area>,
    /// Authority; empty = any.
    #[serde(default)]
    pub authority: Vec<Authority>,
    /// Tags (any of); empty = any.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl InstitutionFilter {
    /// True when the institution matches this filter.
    pub fn matches(&self, i: &Institution) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&i.kind))
            && (self.ownership.is_empty() || self.ownership.contains(&i.ownership))
            && (self.area.is_empty() || self.area.contains(&i.area))
            && (self.authority.is_empty() || self.authority.contains(&i.authority))
            && (self.tags.is_empty() || self.tags.iter().any(|t| i.tags.contains(t)))
    }
}
