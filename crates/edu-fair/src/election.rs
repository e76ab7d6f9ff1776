//! Class-cadre election count: seats are filled one after another; for each seat, every ballot
//! counts for its highest-ranked candidate not yet elected; a majority of the non-exhausted
//! ballots elects, otherwise a runoff between the top two decides; remaining ties go to the
//! smaller `election` key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::seed::{Purpose, Seed, lottery_key};
use crate::table::{InputErrors, Schema, Table, parse_table, write_csv_line};

pub const ELECTION_ALGORITHM_VERSION: &str = "1";
pub const BALLOTS_FILE: &str = "ballots";

/// Names accepted for the ballot column: candidate ids in preference order, separated by `;`
/// (`candidate` and `vote` suit single-choice ballots).
pub const RANKING_COLUMNS: [&str; 4] = ["ranking", "choices", "candidate", "vote"];

/// Parses `B.csv` (`id,ranking`, or `choices`, `candidate` or `vote` instead of `ranking`).
pub fn ballots_table(bytes: &[u8]) -> Result<Table, InputErrors> {
    let table = parse_table(
        bytes,
        &Schema {
            file: BALLOTS_FILE,
            key: "id",
            required: &[],
            allowed: &|name| RANKING_COLUMNS.contains(&name),
        },
    )?;
    let present: Vec<&String> = table
        .columns
        .iter()
        .filter(|c| RANKING_COLUMNS.contains(&c.as_str()))
        .collect();
    if present.len() != 1 {
        let mut errors = InputErrors::default();
        let reason = format!(
            "exactly one of the columns {RANKING_COLUMNS:?} is required, found {present:?}"
        );
        errors.push(BALLOTS_FILE, 1, "ranking", reason);
        return Err(errors);
    }
    Ok(table)
}

fn ranking_column(table: &Table) -> &str {
    table
        .columns
        .iter()
        .find(|c| RANKING_COLUMNS.contains(&c.as_str()))
        .map_or("ranking", String::as_str)
}

/// One ballot: its id and the candidates in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ballot {
    pub id: String,
    pub ranking: Vec<String>,
}

/// Reads ballots from a parsed table, refusing a candidate ranked twice on one ballot.
pub fn ballots_from_table(table: &Table) -> Result<Vec<Ballot>, InputErrors> {
    let mut errors = InputErrors::default();
    let mut ballots = Vec::new();
    let column = ranking_column(table);
    for row in &table.rows {
        let mut ranking: Vec<String> = Vec::new();
        for name in table
            .cell(row, column)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if ranking.iter().any(|seen| seen == name) {
                errors.push(
                    BALLOTS_FILE,
                    row.line,
                    column,
                    format!("candidate {name:?} ranked twice"),
                );
            } else {
                ranking.push(name.to_string());
            }
        }
        ballots.push(Ballot {
            id: table.cell(row, "id").to_string(),
            ranking,
        });
    }
    errors.into_result(ballots)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub candidate: String,
    pub votes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runoff {
    pub candidates: [String; 2],
    pub votes: [u32; 2],
    pub exhausted: u32,
}

/// The full count for one seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatCount {
    pub seat: u32,
    /// First preferences among the candidates still standing, sorted by candidate id.
    pub first_preferences: Vec<Count>,
    pub exhausted: u32,
    /// Votes needed for a majority: more than half of the non-exhausted ballots.
    pub majority: u32,
    pub runoff: Option<Runoff>,
    pub elected: String,
    /// How the seat was decided: `majority`, `only candidate`, `runoff` or
    /// `runoff tie: election key`, with `; top-two tie: election key` appended when the key chose
    /// who entered the runoff.
    pub decided_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElectionResult {
    pub seats: u32,
    pub ballots: u32,
    pub candidates: Vec<String>,
    /// Each candidate's `election` key as 16 hex digits (smaller wins a tie).
    pub election_keys: BTreeMap<String, String>,
    pub counts: Vec<SeatCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElectionError {
    #[error("{seats} seats but only {candidates} candidates appear on the ballots")]
    TooFewCandidates { seats: u32, candidates: usize },
}

/// Counts `ballots` for `seats` seats.
pub fn count_election(
    ballots: &[Ballot],
    seats: u32,
    seed: &Seed,
) -> Result<ElectionResult, ElectionError> {
    let mut ballots: Vec<&Ballot> = ballots.iter().collect();
    ballots.sort_by(|a, b| a.id.cmp(&b.id));
    let mut candidates: Vec<String> = ballots
        .iter()
        .flat_map(|b| b.ranking.iter().cloned())
        .collect();
    candidates.sort();
    candidates.dedup();
    if candidates.len() < seats as usize {
        return Err(ElectionError::TooFewCandidates {
            seats,
            candidates: candidates.len(),
        });
    }
    let keys: BTreeMap<&str, u64> = candidates
        .iter()
        .map(|c| (c.as_str(), lottery_key(seed, Purpose::Election, c)))
        .collect();
    let key = |c: &str| keys.get(c).copied().unwrap_or(u64::MAX);
    let mut elected: Vec<String> = Vec::new();
    let mut counts = Vec::new();
    for seat in 1..=seats {
        let standing = |c: &String| !elected.contains(c);
        let mut tally: BTreeMap<&str, u32> = candidates
            .iter()
            .filter(|c| standing(c))
            .map(|c| (c.as_str(), 0))
            .collect();
        let mut exhausted = 0u32;
        for ballot in &ballots {
            match ballot.ranking.iter().find(|c| standing(c)) {
                Some(c) => *tally.entry(c.as_str()).or_insert(0) += 1,
                None => exhausted += 1,
            }
        }
        let valid = ballots.len() as u32 - exhausted;
        let majority = valid / 2 + 1;
        let mut ranked: Vec<(&str, u32)> = tally.iter().map(|(c, v)| (*c, *v)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(key(a.0).cmp(&key(b.0))));
        let first_preferences = tally
            .iter()
            .map(|(c, v)| Count {
                candidate: c.to_string(),
                votes: *v,
            })
            .collect();
        let (winner, runoff, decided_by) = if ranked.len() == 1 {
            (ranked[0].0.to_string(), None, "only candidate".to_string())
        } else if ranked[0].1 >= majority && valid > 0 {
            (ranked[0].0.to_string(), None, "majority".to_string())
        } else {
            let pair = [ranked[0].0, ranked[1].0];
            let top_two_tie = ranked.len() > 2 && ranked[1].1 == ranked[2].1;
            let mut votes = [0u32; 2];
            let mut runoff_exhausted = 0;
            for ballot in &ballots {
                match ballot
                    .ranking
                    .iter()
                    .find(|c| c.as_str() == pair[0] || c.as_str() == pair[1])
                {
                    Some(c) if c == pair[0] => votes[0] += 1,
                    Some(_) => votes[1] += 1,
                    None => runoff_exhausted += 1,
                }
            }
            let first_wins =
                votes[0] > votes[1] || (votes[0] == votes[1] && key(pair[0]) < key(pair[1]));
            let mut how = if votes[0] == votes[1] {
                "runoff tie: election key"
            } else {
                "runoff"
            }
            .to_string();
            if top_two_tie {
                how.push_str("; top-two tie: election key");
            }
            let winner = if first_wins { pair[0] } else { pair[1] };
            let runoff = Runoff {
                candidates: [pair[0].to_string(), pair[1].to_string()],
                votes,
                exhausted: runoff_exhausted,
            };
            (winner.to_string(), Some(runoff), how)
        };
        counts.push(SeatCount {
            seat,
            first_preferences,
            exhausted,
            majority,
            runoff,
            elected: winner.clone(),
            decided_by,
        });
        elected.push(winner);
    }
    Ok(ElectionResult {
        seats,
        ballots: ballots.len() as u32,
        election_keys: keys
            .iter()
            .map(|(c, k)| (c.to_string(), format!("{k:016x}")))
            .collect(),
        candidates,
        counts,
    })
}

impl ElectionResult {
    /// `result.csv`: `seat,id`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("seat,id\n");
        for count in &self.counts {
            write_csv_line(&mut out, &[&count.seat.to_string(), &count.elected]);
        }
        out
    }

    /// `report.json`: every count, pretty-printed, ending with a newline.
    pub fn to_report_json(&self) -> String {
        crate::json::to_pretty(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ballots(rows: &[&str]) -> Vec<Ballot> {
        rows.iter()
            .enumerate()
            .map(|(i, r)| Ballot {
                id: format!("b{i:02}"),
                ranking: r.split(';').map(String::from).collect(),
            })
            .collect()
    }

    #[test]
    fn the_ballot_column_may_be_named_in_several_ways() {
        for column in RANKING_COLUMNS {
            let text = format!("id,{column}\nb1,A;B\nb2,B\n");
            let ballots = ballots_from_table(&ballots_table(text.as_bytes()).unwrap()).unwrap();
            assert_eq!(ballots[0].ranking, vec!["A", "B"]);
        }
        assert!(ballots_table(b"id\nb1\n").is_err());
        assert!(ballots_table(b"id,vote,ranking\nb1,A,B\n").is_err());
        let twice = ballots_table(b"id,vote\nb1,A;A\n").unwrap();
        assert!(
            ballots_from_table(&twice)
                .unwrap_err()
                .to_string()
                .contains("line 2, column vote")
        );
    }

    #[test]
    fn majority_elects_at_once() {
        let result = count_election(
            &ballots(&["A;B", "A", "B;A"]),
            1,
            &Seed::from_bytes([1; 32]),
        )
        .unwrap();
        assert_eq!(result.counts[0].elected, "A");
        assert_eq!(result.counts[0].decided_by, "majority");
        assert_eq!(result.counts[0].majority, 2);
    }

    #[test]
    fn runoff_transfers_votes_of_eliminated_candidates() {
        // First preferences A 3, B 2, C 2: no majority of 7. Runoff A vs (B or C by key):
        // C voters prefer B, B voters prefer C, so the runoff is 3 : 4 against A either way.
        let rows = ["A", "A", "A", "B;C", "B;C", "C;B", "C;B"];
        let result = count_election(&ballots(&rows), 1, &Seed::from_bytes([5; 32])).unwrap();
        let runoff = result.counts[0].runoff.as_ref().unwrap();
        assert_eq!(runoff.candidates[0], "A");
        assert_eq!(runoff.votes, [3, 4]);
        assert_ne!(result.counts[0].elected, "A");
        assert!(result.counts[0].decided_by.contains("top-two tie"));
    }

    #[test]
    fn a_tied_runoff_goes_to_the_smaller_key_and_seats_fill_in_turn() {
        let seed = Seed::from_bytes([8; 32]);
        let result = count_election(&ballots(&["A", "B"]), 2, &seed).unwrap();
        let expected = if lottery_key(&seed, Purpose::Election, "A")
            < lottery_key(&seed, Purpose::Election, "B")
        {
            ["A", "B"]
        } else {
            ["B", "A"]
        };
        assert_eq!(result.counts[0].elected, expected[0]);
        assert_eq!(result.counts[0].decided_by, "runoff tie: election key");
        assert_eq!(result.counts[1].elected, expected[1]);
        assert!(count_election(&ballots(&["A"]), 2, &seed).is_err());
    }
}
