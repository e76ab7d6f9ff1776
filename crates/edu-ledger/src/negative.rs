//! The negative list of non-teaching demands on schools (与教书育人无关事项负面清单): match a request to the list →
//! refuse with the matched items, or approve because nothing matched.

use std::collections::BTreeSet;

use edu_form::{DefProblem, FieldType, FormDef};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The list (`[ledgers.negative-list.negative_list]`), versioned and periodically cleaned (items carry validity
/// dates rather than being deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeList {
    /// Version (e.g. `2021-1`), quoted in every decision.
    pub version: String,
    /// Enum field of the ledger holding a request's category (its options are the list's categories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_field: Option<String>,
    /// Items.
    pub items: Vec<NegativeItem>,
}

/// One listed kind of demand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeItem {
    /// Id (`N01`…), unique.
    pub id: String,
    /// Category id.
    pub category: String,
    /// What is refused (Chinese).
    pub title: String,
    /// English.
    #[serde(default)]
    pub title_en: String,
    /// Words or phrases that identify such a request in its description.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// In force from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Date>,
    /// In force until (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

impl NegativeItem {
    /// In force on `date`.
    pub fn in_force(&self, date: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= date) && self.valid_until.is_none_or(|u| u >= date)
    }
}

impl NegativeList {
    pub(crate) fn check(&self, form: &FormDef) -> Vec<DefProblem> {
        let mut problems = Vec::new();
        let mut ids = BTreeSet::new();
        let category_field = self.category_field.as_deref().and_then(|f| form.field(f));
        if let Some(f) = &self.category_field
            && !category_field.is_some_and(|c| c.field_type == FieldType::Enum)
        {
            problems.push(DefProblem {
                at: "category_field".into(),
                problem: format!("{f:?} is not an enum field"),
            });
        }
        for (i, item) in self.items.iter().enumerate() {
            let at = format!("items[{i}]");
            if item.id.trim().is_empty() || !ids.insert(item.id.as_str()) {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: format!("id {:?} is empty or repeated", item.id),
                });
            }
            if item.title.trim().is_empty() {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: "no title".into(),
                });
            }
            if item.keywords.iter().any(|k| k.trim().is_empty()) {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: "empty keyword".into(),
                });
            }
            if let (Some(f), Some(u)) = (item.valid_from, item.valid_until)
                && f > u
            {
                problems.push(DefProblem {
                    at: at.clone(),
                    problem: "valid_from is after valid_until".into(),
                });
            }
            if let Some(field) = category_field
                && field.option(&item.category).is_none()
            {
                problems.push(DefProblem {
                    at,
                    problem: format!(
                        "category {:?} is not an option of {}",
                        item.category, field.id
                    ),
                });
            }
        }
        problems
    }
}

/// A demand made of a school.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurdenRequest {
    /// Who asks (department, organisation).
    pub issuer: String,
    /// Category, when the registrar chose one.
    #[serde(default)]
    pub category: Option<String>,
    /// What is asked.
    pub description: String,
    /// China-time date received.
    pub date: Date,
}

/// How an item matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum MatchReason {
    /// The request's category is the item's.
    Category,
    /// The description contains a keyword.
    Keyword {
        /// The keyword found.
        keyword: String,
    },
}

/// A matched item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NegativeMatch {
    /// Item id.
    pub item: String,
    /// Item title.
    pub title: String,
    /// Why it matched.
    pub reason: MatchReason,
}

/// Refuse or approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurdenOutcome {
    /// On the negative list: the school may refuse it.
    Refuse,
    /// Not on the list.
    Approve,
}

/// The decision, with what matched and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurdenDecision {
    /// Outcome.
    pub outcome: BurdenOutcome,
    /// Matched items (empty when approved).
    pub matched: Vec<NegativeMatch>,
    /// List version applied.
    pub list_version: String,
    /// Chinese explanation.
    pub explanation: String,
    /// English explanation.
    pub explanation_en: String,
}

/// Matches a request against the items in force on its date: an item matches when the request's category is the
/// item's category, or when the description contains one of its keywords (case-insensitive; spaces ignored).
/// Any match → refuse, quoting the items; none → approve.
pub fn match_request(list: &NegativeList, request: &BurdenRequest) -> BurdenDecision {
    let normalise = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let description = normalise(&request.description);
    let mut matched = Vec::new();
    for item in list.items.iter().filter(|i| i.in_force(request.date)) {
        if request.category.as_deref() == Some(item.category.as_str()) {
            matched.push(NegativeMatch {
                item: item.id.clone(),
                title: item.title.clone(),
                reason: MatchReason::Category,
            });
            continue;
        }
        if let Some(k) = item
            .keywords
            .iter()
            .find(|k| description.contains(&normalise(k)))
        {
            matched.push(NegativeMatch {
                item: item.id.clone(),
                title: item.title.clone(),
                reason: MatchReason::Keyword { keyword: k.clone() },
            });
        }
    }
    if matched.is_empty() {
        return BurdenDecision {
            outcome: BurdenOutcome::Approve,
            matched,
            list_version: list.version.clone(),
            explanation: format!("未匹配负面清单（{}版）任何事项，可予受理", list.version),
            explanation_en: format!(
                "no item of the negative list (version {}) matched: the request may proceed",
                list.version
            ),
        };
    }
    let shown: Vec<String> = matched
        .iter()
        .map(|m| match &m.reason {
            MatchReason::Category => format!("{}“{}”（类别相同）", m.item, m.title),
            MatchReason::Keyword { keyword } => format!("{}“{}”（含“{keyword}”）", m.item, m.title),
        })
        .collect();
    let shown_en: Vec<String> = matched
        .iter()
        .map(|m| match &m.reason {
            MatchReason::Category => format!("{} (same category)", m.item),
            MatchReason::Keyword { keyword } => format!("{} (contains \"{keyword}\")", m.item),
        })
        .collect();
    BurdenDecision {
        outcome: BurdenOutcome::Refuse,
        explanation: format!(
            "属于与教书育人无关事项负面清单（{}版）：{}，学校可拒绝",
            list.version,
            shown.join("；")
        ),
        explanation_en: format!(
            "on the negative list (version {}): {}; the school may refuse",
            list.version,
            shown_en.join("; ")
        ),
        matched,
        list_version: list.version.clone(),
    }
}
