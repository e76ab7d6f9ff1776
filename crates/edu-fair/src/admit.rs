//! Admission lottery: applicant-proposing deferred acceptance and Boston (immediate acceptance),
//! priority tiers, single tie-breaking by the `admit` lottery key.

// Several arrays are indexed in parallel by the same index; iterators would hide that.
#![allow(clippy::needless_range_loop)]

use std::collections::{BTreeMap, BinaryHeap};

use crate::seed::{Purpose, Seed, lottery_key};
use crate::table::{InputErrors, Schema, Table, parse_table, write_csv_line};

/// Version of the admission algorithms recorded in bundles; bump on any change of results.
pub const ADMIT_ALGORITHM_VERSION: &str = "1";

/// Marks an unassigned applicant in index-level results.
pub const UNASSIGNED: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mechanism {
    /// Applicant-proposing deferred acceptance: the applicant-optimal stable matching.
    DeferredAcceptance,
    /// Immediate acceptance, round by round over choice ranks (round r: every still unassigned
    /// applicant applies to the r-th school on their list, full or not; seats are final).
    Boston,
}

impl Mechanism {
    pub fn parse(text: &str) -> Option<Mechanism> {
        match text {
            "da" => Some(Mechanism::DeferredAcceptance),
            "boston" => Some(Mechanism::Boston),
            _ => None,
        }
    }

    /// The CLI name: `da` or `boston`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mechanism::DeferredAcceptance => "da",
            Mechanism::Boston => "boston",
        }
    }
}

/// A school and its number of seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct School {
    pub code: String,
    pub capacity: u32,
}

/// An applicant: choices in preference order and priority tiers at some schools (default 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub id: String,
    pub choices: Vec<String>,
    pub priorities: Vec<(String, i64)>,
}

/// A validated admission problem, canonicalised: schools sorted by code, applicants by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionProblem {
    schools: Vec<School>,
    applicants: Vec<Applicant>,
    /// Applicant `a`'s choices, resolved to school indices with their tiers, are at
    /// `choice_start[a]..choice_start[a + 1]` of `choice_school` and `choice_tier`.
    choice_start: Vec<u32>,
    choice_school: Vec<u32>,
    choice_tier: Vec<i64>,
}

/// The result: every applicant (sorted by id) with a school code or `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub assignments: Vec<(String, Option<String>)>,
}

pub const APPLICANTS_FILE: &str = "applicants";
pub const SCHOOLS_FILE: &str = "schools";

/// Parses `S.csv` (`code,capacity`).
pub fn schools_table(bytes: &[u8]) -> Result<Table, InputErrors> {
    parse_table(
        bytes,
        &Schema {
            file: SCHOOLS_FILE,
            key: "code",
            required: &["capacity"],
            allowed: &|_| false,
        },
    )
}

/// Parses `A.csv` (`id,choices[,priorities]`).
pub fn applicants_table(bytes: &[u8]) -> Result<Table, InputErrors> {
    parse_table(
        bytes,
        &Schema {
            file: APPLICANTS_FILE,
            key: "id",
            required: &["choices"],
            allowed: &|name| name == "priorities",
        },
    )
}

fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

impl AdmissionProblem {
    /// Builds the problem from parsed tables, reporting every bad cell with its line.
    pub fn from_tables(
        applicants: &Table,
        schools: &Table,
    ) -> Result<AdmissionProblem, InputErrors> {
        let mut errors = InputErrors::default();
        let mut school_list = Vec::new();
        for row in &schools.rows {
            let code = schools.cell(row, "code");
            let capacity_text = schools.cell(row, "capacity");
            match capacity_text.parse::<u32>() {
                Ok(capacity) => school_list.push(School {
                    code: code.to_string(),
                    capacity,
                }),
                Err(_) => errors.push(
                    SCHOOLS_FILE,
                    row.line,
                    "capacity",
                    format!("{capacity_text:?} is not a non-negative integer"),
                ),
            }
        }
        let known: BTreeMap<&str, ()> = schools
            .rows
            .iter()
            .map(|row| (schools.cell(row, "code"), ()))
            .collect();
        let mut applicant_list = Vec::new();
        for row in &applicants.rows {
            let id = applicants.cell(row, "id");
            let mut choices: Vec<String> = Vec::new();
            for code in split_list(applicants.cell(row, "choices")) {
                if !known.contains_key(code) {
                    errors.push(
                        APPLICANTS_FILE,
                        row.line,
                        "choices",
                        format!("unknown school code {code:?}"),
                    );
                } else if choices.iter().any(|seen| seen == code) {
                    errors.push(
                        APPLICANTS_FILE,
                        row.line,
                        "choices",
                        format!("school {code:?} listed twice"),
                    );
                } else {
                    choices.push(code.to_string());
                }
            }
            let mut priorities: Vec<(String, i64)> = Vec::new();
            for pair in split_list(applicants.cell(row, "priorities")) {
                let Some((code, tier)) = pair.split_once(':') else {
                    errors.push(
                        APPLICANTS_FILE,
                        row.line,
                        "priorities",
                        format!("{pair:?} is not code:tier"),
                    );
                    continue;
                };
                let (code, tier) = (code.trim(), tier.trim());
                if !known.contains_key(code) {
                    errors.push(
                        APPLICANTS_FILE,
                        row.line,
                        "priorities",
                        format!("unknown school code {code:?}"),
                    );
                } else if priorities.iter().any(|(seen, _)| seen == code) {
                    errors.push(
                        APPLICANTS_FILE,
                        row.line,
                        "priorities",
                        format!("school {code:?} given twice"),
                    );
                } else {
                    match tier.parse::<i64>() {
                        Ok(tier) => priorities.push((code.to_string(), tier)),
                        Err(_) => errors.push(
                            APPLICANTS_FILE,
                            row.line,
                            "priorities",
                            format!("tier {tier:?} is not an integer"),
                        ),
                    }
                }
            }
            applicant_list.push(Applicant {
                id: id.to_string(),
                choices,
                priorities,
            });
        }
        errors.into_result(())?;
        AdmissionProblem::new(school_list, applicant_list)
    }

    /// Builds the problem from plain data (for callers that do not start from CSV).
    pub fn new(
        mut schools: Vec<School>,
        mut applicants: Vec<Applicant>,
    ) -> Result<AdmissionProblem, InputErrors> {
        let mut errors = InputErrors::default();
        schools.sort_by(|a, b| a.code.cmp(&b.code));
        applicants.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in schools.windows(2) {
            if pair[0].code == pair[1].code {
                errors.push(
                    SCHOOLS_FILE,
                    0,
                    "code",
                    format!("duplicate school code {:?}", pair[0].code),
                );
            }
        }
        for pair in applicants.windows(2) {
            if pair[0].id == pair[1].id {
                errors.push(
                    APPLICANTS_FILE,
                    0,
                    "id",
                    format!("duplicate identifier {:?}", pair[0].id),
                );
            }
        }
        let index_of = |code: &str| {
            schools
                .binary_search_by(|school| school.code.as_str().cmp(code))
                .ok()
                .map(|i| i as u32)
        };
        let mut choice_start = Vec::with_capacity(applicants.len() + 1);
        let mut choice_school = Vec::new();
        let mut choice_tier = Vec::new();
        choice_start.push(0u32);
        for applicant in &applicants {
            let first = choice_school.len();
            for code in &applicant.choices {
                let Some(school) = index_of(code) else {
                    let reason = format!("{}: unknown school code {code:?}", applicant.id);
                    errors.push(APPLICANTS_FILE, 0, "choices", reason);
                    continue;
                };
                if choice_school[first..].contains(&school) {
                    let reason = format!("{}: school {code:?} listed twice", applicant.id);
                    errors.push(APPLICANTS_FILE, 0, "choices", reason);
                    continue;
                }
                let tier = applicant
                    .priorities
                    .iter()
                    .find(|(c, _)| c == code)
                    .map_or(0, |p| p.1);
                choice_school.push(school);
                choice_tier.push(tier);
            }
            for (code, _) in &applicant.priorities {
                if index_of(code).is_none() {
                    let reason = format!("{}: unknown school code {code:?}", applicant.id);
                    errors.push(APPLICANTS_FILE, 0, "priorities", reason);
                }
            }
            choice_start.push(choice_school.len() as u32);
        }
        errors.into_result(AdmissionProblem {
            schools,
            applicants,
            choice_start,
            choice_school,
            choice_tier,
        })
    }

    pub fn schools(&self) -> &[School] {
        &self.schools
    }

    pub fn applicants(&self) -> &[Applicant] {
        &self.applicants
    }

    /// The index-level instance: schools and applicants in canonical order, each school's
    /// ranking of an applicant encoded as `(inverted tier rank << 32) | lottery position`.
    pub fn indexed(&self, seed: &Seed) -> IndexedAdmission {
        let keys: Vec<u64> = self
            .applicants
            .iter()
            .map(|a| lottery_key(seed, Purpose::Admit, &a.id))
            .collect();
        self.indexed_with_keys(&keys)
    }

    /// As [`AdmissionProblem::indexed`], with the applicants' `admit` keys already computed
    /// (in canonical applicant order).
    pub fn indexed_with_keys(&self, keys: &[u64]) -> IndexedAdmission {
        let n = self.applicants.len();
        // Single tie-breaking: one lottery position per applicant; equal keys (never seen in
        // practice) fall back to the id, which is the canonical order itself.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&a| (keys[a as usize], a));
        let mut position = vec![0u32; n];
        for (rank, &a) in order.iter().enumerate() {
            position[a as usize] = rank as u32;
        }
        // Distinct tiers, highest first: a tier's rank is its index.
        let mut tiers: Vec<i64> = self
            .applicants
            .iter()
            .flat_map(|a| a.priorities.iter().map(|p| p.1))
            .collect();
        tiers.push(0);
        tiers.sort_unstable_by(|a, b| b.cmp(a));
        tiers.dedup();
        let mut ranks = Vec::with_capacity(self.choice_school.len());
        for a in 0..n {
            let (start, end) = (
                self.choice_start[a] as usize,
                self.choice_start[a + 1] as usize,
            );
            for &tier in &self.choice_tier[start..end] {
                let tier_rank = if tiers.len() == 1 {
                    0
                } else {
                    tiers.binary_search_by(|probe| tier.cmp(probe)).unwrap_or(0) as u64
                };
                ranks.push((tier_rank << 32) | u64::from(position[a]));
            }
        }
        let choice_start = self.choice_start.clone();
        let choices = self.choice_school.clone();
        IndexedAdmission {
            capacities: self.schools.iter().map(|s| s.capacity).collect(),
            choice_start,
            choices,
            ranks,
            applicant_at_position: order,
        }
    }

    /// Runs the lottery and returns every applicant's school.
    pub fn run(&self, mechanism: Mechanism, seed: &Seed) -> Admission {
        let instance = self.indexed(seed);
        let result = instance.solve(mechanism);
        Admission {
            assignments: self
                .applicants
                .iter()
                .zip(result)
                .map(|(a, s)| {
                    (
                        a.id.clone(),
                        (s != UNASSIGNED).then(|| self.schools[s as usize].code.clone()),
                    )
                })
                .collect(),
        }
    }
}

impl Admission {
    /// `assignment.csv`: `id,school`, empty school when unassigned, rows sorted by id.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("id,school\n");
        for (id, school) in &self.assignments {
            write_csv_line(&mut out, &[id, school.as_deref().unwrap_or("")]);
        }
        out
    }
}

/// An admission instance as plain indices, ready for the matching algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedAdmission {
    pub capacities: Vec<u32>,
    /// Applicant `a`'s choices are `choices[choice_start[a]..choice_start[a + 1]]`.
    pub choice_start: Vec<u32>,
    pub choices: Vec<u32>,
    /// For each entry of `choices`: the school's ranking of the applicant (smaller is better;
    /// the low 32 bits are the applicant's lottery position).
    pub ranks: Vec<u64>,
    /// Inverse of the lottery position.
    pub applicant_at_position: Vec<u32>,
}

impl IndexedAdmission {
    pub fn applicant_count(&self) -> usize {
        self.choice_start.len().saturating_sub(1)
    }

    pub fn solve(&self, mechanism: Mechanism) -> Vec<u32> {
        match mechanism {
            Mechanism::DeferredAcceptance => self.deferred_acceptance(),
            Mechanism::Boston => self.boston(),
        }
    }

    fn applicant_of_rank(&self, rank: u64) -> u32 {
        self.applicant_at_position[(rank & 0xffff_ffff) as usize]
    }

    /// Applicant-proposing deferred acceptance (Gale–Shapley); each school holds its best
    /// proposals so far in a max-heap keyed by rank, so rejecting the worst is `O(log capacity)`.
    pub fn deferred_acceptance(&self) -> Vec<u32> {
        let n = self.applicant_count();
        let mut held: Vec<BinaryHeap<u64>> = self
            .capacities
            .iter()
            .map(|&c| BinaryHeap::with_capacity(c.min(1 << 16) as usize))
            .collect();
        let mut next = self.choice_start[..n].to_vec();
        let mut free: Vec<u32> = (0..n as u32).rev().collect();
        while let Some(mut a) = free.pop() {
            loop {
                let end = self.choice_start[a as usize + 1];
                let i = next[a as usize];
                if i == end {
                    break;
                }
                next[a as usize] = i + 1;
                let school = self.choices[i as usize] as usize;
                let rank = self.ranks[i as usize];
                let heap = &mut held[school];
                if heap.len() < self.capacities[school] as usize {
                    heap.push(rank);
                    break;
                }
                match heap.peek() {
                    Some(&worst) if worst > rank => {
                        heap.pop();
                        heap.push(rank);
                        a = self.applicant_of_rank(worst);
                    }
                    _ => {}
                }
            }
        }
        let mut result = vec![UNASSIGNED; n];
        for (school, heap) in held.iter().enumerate() {
            for &rank in heap.iter() {
                result[self.applicant_of_rank(rank) as usize] = school as u32;
            }
        }
        result
    }

    /// Boston mechanism: in round r every unassigned applicant applies to their r-th choice;
    /// each school accepts its best applicants up to its remaining seats, for good.
    pub fn boston(&self) -> Vec<u32> {
        let n = self.applicant_count();
        let mut result = vec![UNASSIGNED; n];
        let mut remaining: Vec<u32> = self.capacities.clone();
        let mut proposals: Vec<(u32, u64)> = Vec::with_capacity(n);
        let mut round = 0u32;
        loop {
            proposals.clear();
            for a in 0..n {
                let start = self.choice_start[a];
                if result[a] == UNASSIGNED && start + round < self.choice_start[a + 1] {
                    let i = (start + round) as usize;
                    proposals.push((self.choices[i], self.ranks[i]));
                }
            }
            if proposals.is_empty() {
                break;
            }
            proposals.sort_unstable();
            for &(school, rank) in &proposals {
                let seats = &mut remaining[school as usize];
                if *seats > 0 {
                    *seats -= 1;
                    result[self.applicant_of_rank(rank) as usize] = school;
                }
            }
            round += 1;
        }
        result
    }
}

#[cfg(test)]
mod tests;
