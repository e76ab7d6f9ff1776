//! Seating over W weeks (轮换座位).
//!
//! Definitions (also in docs/fair.md):
//! - Seats are `(row, col)` from 1; row 1 is nearest the board. With N pupils the used seats are
//!   the first N in row-major order (row 1 columns 1..C, then row 2, …), so empty seats are at the
//!   back right.
//! - Front seats are rows 1–2; back seats are rows R−1 and R. `zone = front` pupils always sit in
//!   front seats, `zone = back` pupils in back seats.
//! - Desk-mates: two pupils in the same row at columns 2d−1 and 2d (d = 1, 2, …). Pupils with
//!   the same non-empty `apart` key are never desk-mates.
//! - Central columns: columns c with |2c − (C + 1)| < C/2, i.e. the middle half of the room
//!   (C = 8: columns 3–6; C = 6: 3–4; C = 4: 2–3).
//!
//! Algorithm (version 1), each week w: an optimal assignment (Hungarian method) of pupils to
//! seats minimising, for unzoned pupils, first Σ front weeks so far over those placed in front
//! seats, then Σ central weeks so far over those placed in central columns, then a tie-break that
//! sends the pupil of rank r in this week's lottery order (`seat` key of `"w/" + id`) towards seat
//! r; zones are hard. Then pupils are exchanged between seats of the same kind (front, back,
//! central) to avoid `apart` desk-mates and repeated desk-mate pairs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::seed::{Purpose, Seed, lottery_key};
use crate::table::{InputErrors, Schema, Table, parse_table, write_csv_line};

pub const SEATS_ALGORITHM_VERSION: &str = "1";
pub const CLASS_FILE: &str = "pupils";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Zone {
    Front,
    Back,
}

/// A pupil of the class: id, optional zone and optional `apart` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatPupil {
    pub id: String,
    pub zone: Option<Zone>,
    pub apart: Option<String>,
}

/// Parses `C.csv` (`id[,zone][,apart]`).
pub fn class_table(bytes: &[u8]) -> Result<Table, InputErrors> {
    parse_table(
        bytes,
        &Schema {
            file: CLASS_FILE,
            key: "id",
            required: &[],
            allowed: &|name| matches!(name, "zone" | "apart"),
        },
    )
}

/// Reads the pupils of `C.csv`; `zone` must be `front`, `back` or empty.
pub fn seat_pupils(table: &Table) -> Result<Vec<SeatPupil>, InputErrors> {
    let mut errors = InputErrors::default();
    let mut pupils = Vec::new();
    for row in &table.rows {
        let zone = match table.cell(row, "zone") {
            "" => None,
            "front" => Some(Zone::Front),
            "back" => Some(Zone::Back),
            other => {
                errors.push(
                    CLASS_FILE,
                    row.line,
                    "zone",
                    format!("{other:?} is not front, back or empty"),
                );
                None
            }
        };
        let apart = table.cell(row, "apart");
        pupils.push(SeatPupil {
            id: table.cell(row, "id").to_string(),
            zone,
            apart: (!apart.is_empty()).then(|| apart.to_string()),
        });
    }
    errors.into_result(pupils)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatError {
    #[error("the room has {rows}×{cols} seats: too small for {pupils} pupils")]
    TooManyPupils { rows: u32, cols: u32, pupils: usize },
    #[error(
        "{count} pupils must sit in the {zone} rows but only {seats} such seats are used: {pupils:?}"
    )]
    ZoneFull {
        zone: &'static str,
        count: usize,
        seats: usize,
        pupils: Vec<String>,
    },
    #[error(
        "week {week}: pupils {pupils:?} share apart key {key:?} and could not be kept from being desk-mates"
    )]
    Apart {
        week: u32,
        key: String,
        pupils: Vec<String>,
    },
}

/// `report.json` of `fair seats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatReport {
    pub rows: u32,
    pub cols: u32,
    pub weeks: u32,
    pub pupils: u32,
    pub central_columns: Vec<u32>,
    /// Over pupils without a zone: max − min of weeks spent in rows 1–2.
    pub front_weeks_spread: u32,
    /// Over pupils without a zone: max − min of weeks spent in the central columns.
    pub central_weeks_spread: u32,
    /// Σ over desk-mate pairs of (weeks together − 1), for pairs together more than once.
    pub repeated_desk_mate_pairs: u32,
    pub zone_violations: u32,
    pub apart_violations: u32,
    /// Per pupil (sorted by id): weeks in front rows, in central columns, in back rows.
    pub per_pupil: BTreeMap<String, [u32; 3]>,
}

/// The seating plan: one entry `(week, pupil index, row, col)` per pupil and week, and its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seating {
    pub ids: Vec<String>,
    /// `plan[w][p] = (row, col)`, 1-based.
    pub plan: Vec<Vec<(u32, u32)>>,
    pub report: SeatReport,
}

impl Seating {
    /// `seating.csv`: `week,id,row,col`, sorted by week then id.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("week,id,row,col\n");
        for (w, week) in self.plan.iter().enumerate() {
            for (p, &(row, col)) in week.iter().enumerate() {
                write_csv_line(
                    &mut out,
                    &[
                        &(w + 1).to_string(),
                        &self.ids[p],
                        &row.to_string(),
                        &col.to_string(),
                    ],
                );
            }
        }
        out
    }
}

/// Is column `col` (1-based) of `cols` a central column?
pub fn is_central(col: u32, cols: u32) -> bool {
    let distance = (2 * i64::from(col) - i64::from(cols) - 1).abs();
    2 * distance < i64::from(cols)
}

#[derive(Clone, Copy)]
struct Seat {
    row: u32,
    col: u32,
    front: bool,
    back: bool,
    central: bool,
}

impl Seat {
    fn kind(&self) -> (bool, bool, bool) {
        (self.front, self.back, self.central)
    }

    fn desk(&self) -> (u32, u32) {
        (self.row, self.col.div_ceil(2))
    }
}

/// Plans `weeks` weeks of seating.
pub fn plan_seating(
    pupils: &[SeatPupil],
    rows: u32,
    cols: u32,
    weeks: u32,
    seed: &Seed,
) -> Result<Seating, SeatError> {
    let mut pupils: Vec<&SeatPupil> = pupils.iter().collect();
    pupils.sort_by(|a, b| a.id.cmp(&b.id));
    let n = pupils.len();
    if (rows as usize) * (cols as usize) < n {
        return Err(SeatError::TooManyPupils {
            rows,
            cols,
            pupils: n,
        });
    }
    let seats: Vec<Seat> = (0..n as u32)
        .map(|i| {
            let (row, col) = (i / cols + 1, i % cols + 1);
            Seat {
                row,
                col,
                front: row <= 2,
                back: row + 1 >= rows,
                central: is_central(col, cols),
            }
        })
        .collect();
    for (zone, name) in [(Zone::Front, "front"), (Zone::Back, "back")] {
        let wanting: Vec<String> = pupils
            .iter()
            .filter(|p| p.zone == Some(zone))
            .map(|p| p.id.clone())
            .collect();
        let available = seats
            .iter()
            .filter(|s| if zone == Zone::Front { s.front } else { s.back })
            .count();
        if wanting.len() > available {
            return Err(SeatError::ZoneFull {
                zone: name,
                count: wanting.len(),
                seats: available,
                pupils: wanting,
            });
        }
    }
    // Desk-mate seat of each seat, if used.
    let mate: Vec<Option<usize>> = (0..n)
        .map(|s| {
            let other = if seats[s].col % 2 == 1 {
                s + 1
            } else {
                s.wrapping_sub(1)
            };
            (other < n && seats[other].desk() == seats[s].desk() && other != s).then_some(other)
        })
        .collect();
    let apart_of: Vec<Option<&str>> = pupils.iter().map(|p| p.apart.as_deref()).collect();
    let zones: Vec<Option<Zone>> = pupils.iter().map(|p| p.zone).collect();
    let mut front_weeks = vec![0u32; n];
    let mut central_weeks = vec![0u32; n];
    let mut back_weeks = vec![0u32; n];
    let mut together = vec![0u32; n * n];
    let mut plan = Vec::with_capacity(weeks as usize);
    // Lexicographic weights: one front week outweighs every central cost (each < 2^16), and
    // one unit of those outweighs every tie-break sum (< n² + 1).
    let big = (1i64 << 17) * (n as i64 + 1);
    let scale = (n as i64) * (n as i64) + 1;
    for week in 1..=weeks {
        let mut rank: Vec<usize> = (0..n).collect();
        rank.sort_by_key(|&p| {
            (
                lottery_key(seed, Purpose::Seat, &format!("{week}/{}", pupils[p].id)),
                p,
            )
        });
        let mut position = vec![0usize; n];
        for (r, &p) in rank.iter().enumerate() {
            position[p] = r;
        }
        let least_central = (0..n)
            .filter(|&p| pupils[p].zone.is_none())
            .map(|p| central_weeks[p])
            .min()
            .unwrap_or(0);
        let cost = |p: usize, s: usize| -> i64 {
            let seat = &seats[s];
            let tie = (position[p] as i64 - s as i64).abs();
            match pupils[p].zone {
                Some(Zone::Front) if !seat.front => i64::MAX / 4,
                Some(Zone::Back) if !seat.back => i64::MAX / 4,
                Some(_) => tie,
                None => {
                    let front = if seat.front {
                        big * i64::from(front_weeks[p])
                    } else {
                        0
                    };
                    // Convex in the pupil's lead over the least-served pupil: spreads stay small.
                    let lead = (central_weeks[p] - least_central).min(8);
                    let central = if seat.central {
                        (1i64 << (2 * lead)) - 1
                    } else {
                        0
                    };
                    (front + central) * scale + tie
                }
            }
        };
        let seat_of = hungarian(n, &cost);
        let mut pupil_at = vec![0usize; n];
        for (p, &s) in seat_of.iter().enumerate() {
            pupil_at[s] = p;
        }
        improve_desks(
            &seats,
            &mate,
            &mut pupil_at,
            &apart_of,
            &zones,
            &together,
            n,
            true,
        );
        if count_apart(&mate, &pupil_at, &apart_of) > 0 {
            improve_desks(
                &seats,
                &mate,
                &mut pupil_at,
                &apart_of,
                &zones,
                &together,
                n,
                false,
            );
            if let Some((key, who)) = first_apart(&mate, &pupil_at, &apart_of) {
                return Err(SeatError::Apart {
                    week,
                    key: key.to_string(),
                    pupils: who.iter().map(|&p| pupils[p].id.clone()).collect(),
                });
            }
        }
        let mut week_plan = vec![(0, 0); n];
        for (s, &p) in pupil_at.iter().enumerate() {
            week_plan[p] = (seats[s].row, seats[s].col);
            front_weeks[p] += u32::from(seats[s].front);
            central_weeks[p] += u32::from(seats[s].central);
            back_weeks[p] += u32::from(seats[s].back);
            if let Some(m) = mate[s]
                && m > s
            {
                let q = pupil_at[m];
                together[p * n + q] += 1;
                together[q * n + p] += 1;
            }
        }
        plan.push(week_plan);
    }
    let ids: Vec<String> = pupils.iter().map(|p| p.id.clone()).collect();
    let report = seat_report(
        &pupils,
        rows,
        cols,
        weeks,
        &plan,
        &front_weeks,
        &central_weeks,
        &back_weeks,
        &together,
    );
    Ok(Seating { ids, plan, report })
}

#[allow(clippy::too_many_arguments)]
fn seat_report(
    pupils: &[&SeatPupil],
    rows: u32,
    cols: u32,
    weeks: u32,
    plan: &[Vec<(u32, u32)>],
    front: &[u32],
    central: &[u32],
    back: &[u32],
    together: &[u32],
) -> SeatReport {
    let n = pupils.len();
    let unzoned: Vec<usize> = (0..n).filter(|&p| pupils[p].zone.is_none()).collect();
    let spread = |values: &[u32]| {
        let selected: Vec<u32> = unzoned.iter().map(|&p| values[p]).collect();
        selected.iter().max().unwrap_or(&0) - selected.iter().min().unwrap_or(&0)
    };
    let mut repeated = 0;
    for p in 0..n {
        for q in p + 1..n {
            repeated += together[p * n + q].saturating_sub(1);
        }
    }
    let mut zone_violations = 0;
    let mut apart_violations = 0;
    for week in plan {
        for (p, &(row, col)) in week.iter().enumerate() {
            match pupils[p].zone {
                Some(Zone::Front) if row > 2 => zone_violations += 1,
                Some(Zone::Back) if row + 1 < rows => zone_violations += 1,
                _ => {}
            }
            for (q, &(row2, col2)) in week.iter().enumerate().skip(p + 1) {
                let mates = row == row2 && col.div_ceil(2) == col2.div_ceil(2);
                if mates && pupils[p].apart.is_some() && pupils[p].apart == pupils[q].apart {
                    apart_violations += 1;
                }
            }
        }
    }
    SeatReport {
        rows,
        cols,
        weeks,
        pupils: n as u32,
        central_columns: (1..=cols).filter(|&c| is_central(c, cols)).collect(),
        front_weeks_spread: spread(front),
        central_weeks_spread: spread(central),
        repeated_desk_mate_pairs: repeated,
        zone_violations,
        apart_violations,
        per_pupil: (0..n)
            .map(|p| (pupils[p].id.clone(), [front[p], central[p], back[p]]))
            .collect(),
    }
}

impl SeatReport {
    pub fn to_json(&self) -> String {
        crate::json::to_pretty(self)
    }
}

fn count_apart(mate: &[Option<usize>], pupil_at: &[usize], apart: &[Option<&str>]) -> u32 {
    let mut count = 0;
    for (s, m) in mate.iter().enumerate() {
        if let Some(m) = *m
            && m > s
            && apart[pupil_at[s]].is_some()
            && apart[pupil_at[s]] == apart[pupil_at[m]]
        {
            count += 1;
        }
    }
    count
}

fn first_apart<'a>(
    mate: &[Option<usize>],
    pupil_at: &[usize],
    apart: &[Option<&'a str>],
) -> Option<(&'a str, Vec<usize>)> {
    for (s, m) in mate.iter().enumerate() {
        if let Some(m) = *m
            && let (Some(a), Some(b)) = (apart[pupil_at[s]], apart[pupil_at[m]])
            && a == b
        {
            return Some((a, vec![pupil_at[s], pupil_at[m]]));
        }
    }
    None
}

/// Exchanges pupils between seats to reduce (apart clashes, repeated desk-mates). With
/// `same_kind`, only seats of the same kind are exchanged (front/back/central counts unchanged);
/// otherwise any exchange that keeps zones is allowed, accepted only if it removes an apart clash.
#[allow(clippy::too_many_arguments)]
fn improve_desks(
    seats: &[Seat],
    mate: &[Option<usize>],
    pupil_at: &mut [usize],
    apart: &[Option<&str>],
    zones: &[Option<Zone>],
    together: &[u32],
    n: usize,
    same_kind: bool,
) {
    let desk_cost = |pupil_at: &[usize], s: usize| -> i64 {
        match mate[s] {
            Some(m) => {
                let (p, q) = (pupil_at[s], pupil_at[m]);
                let clash = apart[p].is_some() && apart[p] == apart[q];
                i64::from(clash) * 1_000_000 + i64::from(together[p * n + q])
            }
            None => 0,
        }
    };
    for _ in 0..20 {
        let mut improved = false;
        for s in 0..n {
            for t in s + 1..n {
                if mate[s] == Some(t) {
                    continue;
                }
                if same_kind && seats[s].kind() != seats[t].kind() {
                    continue;
                }
                let allowed = |p: usize, seat: &Seat| match zones[p] {
                    Some(Zone::Front) => seat.front,
                    Some(Zone::Back) => seat.back,
                    None => true,
                };
                if !allowed(pupil_at[s], &seats[t]) || !allowed(pupil_at[t], &seats[s]) {
                    continue;
                }
                let before = desk_cost(pupil_at, s) + desk_cost(pupil_at, t);
                pupil_at.swap(s, t);
                let after = desk_cost(pupil_at, s) + desk_cost(pupil_at, t);
                let keep = if same_kind {
                    after < before
                } else {
                    after / 1_000_000 < before / 1_000_000
                };
                if keep {
                    improved = true;
                } else {
                    pupil_at.swap(s, t);
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// Minimum-cost assignment of `n` pupils to `n` seats (Hungarian method with potentials,
/// O(n³)). Returns the seat of each pupil.
fn hungarian(n: usize, cost: &dyn Fn(usize, usize) -> i64) -> Vec<usize> {
    // 1-based arrays as in the classic formulation; row i = pupil i−1, column j = seat j−1.
    let inf = i64::MAX / 2;
    let mut u = vec![0i64; n + 1];
    let mut v = vec![0i64; n + 1];
    let mut owner = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        owner[0] = i;
        let mut j0 = 0;
        let mut min_v = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = owner[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let current = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if current < min_v[j] {
                        min_v[j] = current;
                        way[j] = j0;
                    }
                    if min_v[j] < delta {
                        delta = min_v[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[owner[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_v[j] -= delta;
                }
            }
            j0 = j1;
            if owner[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            owner[j0] = owner[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut seat_of = vec![0usize; n];
    for j in 1..=n {
        if owner[j] > 0 {
            seat_of[owner[j] - 1] = j - 1;
        }
    }
    seat_of
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn class(n: usize, front: usize, back: usize, apart: usize) -> Vec<SeatPupil> {
        (0..n)
            .map(|i| SeatPupil {
                id: format!("s{i:02}"),
                zone: if i < front {
                    Some(Zone::Front)
                } else if i < front + back {
                    Some(Zone::Back)
                } else {
                    None
                },
                apart: (i >= n - apart).then(|| "twins".to_string()),
            })
            .collect()
    }

    #[test]
    fn central_columns_are_the_middle_half() {
        let central = |cols: u32| {
            (1..=cols)
                .filter(|&c| is_central(c, cols))
                .collect::<Vec<_>>()
        };
        assert_eq!(central(8), vec![3, 4, 5, 6]);
        assert_eq!(central(6), vec![3, 4]);
        assert_eq!(central(4), vec![2, 3]);
    }

    #[test]
    fn a_class_of_48_over_20_weeks_is_fair() {
        let pupils = class(48, 3, 2, 2);
        let seating = plan_seating(&pupils, 6, 8, 20, &Seed::from_bytes([1; 32])).unwrap();
        let r = &seating.report;
        assert_eq!((r.zone_violations, r.apart_violations), (0, 0));
        assert!(r.front_weeks_spread <= 1, "{r:?}");
        assert!(r.central_weeks_spread <= 1, "{r:?}");
        // 20 weeks of 24 desks: far fewer repeats than a fixed plan (which would repeat 24 × 19).
        assert!(r.repeated_desk_mate_pairs < 24 * 19 / 4, "{r:?}");
        assert_eq!(seating.to_csv().lines().count(), 1 + 48 * 20);
    }

    #[test]
    fn impossible_zones_and_apart_groups_are_explained() {
        let err =
            plan_seating(&class(20, 11, 0, 0), 4, 5, 1, &Seed::from_bytes([0; 32])).unwrap_err();
        assert!(
            matches!(
                err,
                SeatError::ZoneFull {
                    count: 11,
                    seats: 10,
                    ..
                }
            ),
            "{err}"
        );
        assert!(plan_seating(&class(3, 0, 0, 0), 1, 2, 1, &Seed::from_bytes([0; 32])).is_err());
        // Two seats at one desk, both pupils share an apart key.
        let err =
            plan_seating(&class(2, 0, 0, 2), 1, 2, 1, &Seed::from_bytes([0; 32])).unwrap_err();
        assert!(matches!(err, SeatError::Apart { .. }), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn zones_and_apart_always_hold(n in 1usize..40, front in 0usize..6, back in 0usize..6, weeks in 1u32..12, s in any::<[u8; 32]>()) {
            let pupils = class(n, front.min(n), back.min(n.saturating_sub(front)), if n > 10 { 2 } else { 0 });
            match plan_seating(&pupils, 5, 8, weeks, &Seed::from_bytes(s)) {
                Ok(seating) => {
                    prop_assert_eq!(seating.report.zone_violations, 0);
                    prop_assert_eq!(seating.report.apart_violations, 0);
                    prop_assert!(seating.report.front_weeks_spread <= 1);
                    let mut reversed = pupils.clone();
                    reversed.reverse();
                    prop_assert_eq!(plan_seating(&reversed, 5, 8, weeks, &Seed::from_bytes(s)).unwrap().to_csv(), seating.to_csv());
                }
                Err(error) => {
                    let zone_full = matches!(error, SeatError::ZoneFull { .. });
                    prop_assert!(zone_full);
                }
            }
        }
    }
}
