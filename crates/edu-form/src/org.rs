//! The org tree (city → district → institution) and roll-up of counts over it: sums of counts, never averages.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

/// Level of an org unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    /// The city bureau (大庆市教育局).
    City,
    /// A district or county bureau.
    District,
    /// A school, kindergarten or other institution.
    Institution,
}

/// One org unit. `id` is the platform's stable code (e.g. the 学校标识码 or an area code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// Stable identifier.
    pub id: String,
    /// Parent unit; `None` only for the root.
    #[serde(default)]
    pub parent: Option<String>,
    /// Level.
    pub level: OrgLevel,
    /// Display name (Chinese).
    #[serde(default)]
    pub name: String,
}

/// Why an org tree was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// Two units share an id.
    #[error("org unit {0:?} appears twice")]
    DuplicateId(String),
    /// A parent id names no unit.
    #[error("org unit {unit:?} has unknown parent {parent:?}")]
    UnknownParent {
        /// The child.
        unit: String,
        /// The missing parent.
        parent: String,
    },
    /// Following parents loops.
    #[error("org unit {0:?} is its own ancestor")]
    Cycle(String),
    /// A child's level is not below its parent's.
    #[error("org unit {unit:?} ({level:?}) cannot sit under {parent:?}")]
    LevelOrder {
        /// The child.
        unit: String,
        /// Its level.
        level: OrgLevel,
        /// The parent.
        parent: String,
    },
}

/// A validated org tree (a forest is allowed: several roots).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<OrgUnit>", into = "Vec<OrgUnit>")]
pub struct OrgTree {
    units: Vec<OrgUnit>,
    index: BTreeMap<String, usize>,
}

impl OrgTree {
    /// Builds the tree, refusing duplicates, unknown parents, cycles and a child not below its parent's level.
    pub fn new(units: Vec<OrgUnit>) -> Result<OrgTree, OrgError> {
        let mut index = BTreeMap::new();
        for (i, unit) in units.iter().enumerate() {
            if index.insert(unit.id.clone(), i).is_some() {
                return Err(OrgError::DuplicateId(unit.id.clone()));
            }
        }
        for unit in &units {
            if let Some(parent) = &unit.parent {
                let Some(&p) = index.get(parent) else {
                    return Err(OrgError::UnknownParent {
                        unit: unit.id.clone(),
                        parent: parent.clone(),
                    });
                };
                if units[p].level >= unit.level {
                    return Err(OrgError::LevelOrder {
                        unit: unit.id.clone(),
                        level: unit.level,
                        parent: parent.clone(),
                    });
                }
            }
        }
        // Levels strictly increase downwards, so a cycle is impossible once LevelOrder passed; keep the walk bounded
        // anyway so a future relaxation cannot hang.
        let tree = OrgTree { units, index };
        for unit in &tree.units {
            if tree.ancestors_bounded(&unit.id).is_none() {
                return Err(OrgError::Cycle(unit.id.clone()));
            }
        }
        Ok(tree)
    }

    /// The unit with this id.
    pub fn get(&self, id: &str) -> Option<&OrgUnit> {
        self.index.get(id).map(|&i| &self.units[i])
    }

    /// All units, in the order given.
    pub fn units(&self) -> &[OrgUnit] {
        &self.units
    }

    /// The unit itself followed by its ancestors up to the root; empty for an unknown id.
    pub fn self_and_ancestors(&self, id: &str) -> Vec<&OrgUnit> {
        self.ancestors_bounded(id).unwrap_or_default()
    }

    /// The nearest unit of `level` at or above `id` (e.g. the district of a school).
    pub fn ancestor_at(&self, id: &str, level: OrgLevel) -> Option<&OrgUnit> {
        self.self_and_ancestors(id)
            .into_iter()
            .find(|u| u.level == level)
    }

    /// True when `ancestor` is `id` or above it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.self_and_ancestors(id).iter().any(|u| u.id == ancestor)
    }

    /// Institutions at or below `id`.
    pub fn institutions_under(&self, id: &str) -> BTreeSet<&str> {
        self.units
            .iter()
            .filter(|u| u.level == OrgLevel::Institution && self.is_within(&u.id, id))
            .map(|u| u.id.as_str())
            .collect()
    }

    fn ancestors_bounded(&self, id: &str) -> Option<Vec<&OrgUnit>> {
        let mut out = Vec::new();
        let mut current = self.get(id);
        while let Some(unit) = current {
            if out.len() > self.units.len() {
                return None;
            }
            out.push(unit);
            current = unit.parent.as_deref().and_then(|p| self.get(p));
        }
        Some(out)
    }
}

impl TryFrom<Vec<OrgUnit>> for OrgTree {
    type Error = OrgError;
    fn try_from(units: Vec<OrgUnit>) -> Result<Self, Self::Error> {
        OrgTree::new(units)
    }
}

impl From<OrgTree> for Vec<OrgUnit> {
    fn from(tree: OrgTree) -> Self {
        tree.units
    }
}

/// Rolls per-unit counts up the tree: every unit gets the sum over itself and everything below it.
///
/// Every unit of the tree appears in the result (with `M::default()` when nothing was counted there). Counts given
/// for ids not in the tree are returned under their own id only, so nothing is silently lost.
pub fn roll_up<M>(
    tree: &OrgTree,
    counts: impl IntoIterator<Item = (String, M)>,
) -> BTreeMap<String, M>
where
    M: Default + for<'a> AddAssign<&'a M>,
{
    let mut out: BTreeMap<String, M> = tree
        .units
        .iter()
        .map(|u| (u.id.clone(), M::default()))
        .collect();
    for (id, m) in counts {
        let chain = tree.self_and_ancestors(&id);
        if chain.is_empty() {
            *out.entry(id).or_default() += &m;
            continue;
        }
        for unit in chain {
            *out.entry(unit.id.clone()).or_default() += &m;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, parent: Option<&str>, level: OrgLevel) -> OrgUnit {
        OrgUnit {
            id: id.into(),
            parent: parent.map(Into::into),
            level,
            name: String::new(),
        }
    }

    #[derive(Default, Debug, PartialEq)]
    struct N(u64);
    impl AddAssign<&N> for N {
        fn add_assign(&mut self, o: &N) {
            self.0 += o.0;
        }
    }

    #[test]
    fn refuses_bad_trees() {
        let dup = vec![
            unit("a", None, OrgLevel::City),
            unit("a", None, OrgLevel::City),
        ];
        assert_eq!(OrgTree::new(dup), Err(OrgError::DuplicateId("a".into())));
        let orphan = vec![unit("s", Some("x"), OrgLevel::Institution)];
        assert!(matches!(
            OrgTree::new(orphan),
            Err(OrgError::UnknownParent { .. })
        ));
        let upside = vec![
            unit("d", None, OrgLevel::District),
            unit("c", Some("d"), OrgLevel::City),
        ];
        assert!(matches!(
            OrgTree::new(upside),
            Err(OrgError::LevelOrder { .. })
        ));
    }

    #[test]
    fn roll_up_sums_each_subtree() {
        let tree = OrgTree::new(vec![
            unit("city", None, OrgLevel::City),
            unit("d1", Some("city"), OrgLevel::District),
            unit("d2", Some("city"), OrgLevel::District),
            unit("s1", Some("d1"), OrgLevel::Institution),
            unit("s2", Some("d1"), OrgLevel::Institution),
            unit("s3", Some("d2"), OrgLevel::Institution),
        ])
        .unwrap();
        let sums = roll_up(
            &tree,
            [
                ("s1".to_string(), N(2)),
                ("s2".into(), N(3)),
                ("s3".into(), N(5)),
            ],
        );
        assert_eq!(sums["d1"], N(5));
        assert_eq!(sums["d2"], N(5));
        assert_eq!(sums["city"], N(10));
        assert_eq!(
            tree.ancestor_at("s3", OrgLevel::District)
                .map(|u| u.id.as_str()),
            Some("d2")
        );
        assert_eq!(tree.institutions_under("d1").len(), 2);
    }
}
