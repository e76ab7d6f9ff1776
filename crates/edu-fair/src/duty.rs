//! Duty-monitor rota (值日班长): pupils in `duty` key order, one per day, cycling, so every
//! pupil's number of days differs by at most 1.

use crate::seed::{Purpose, Seed, lottery_key};
use crate::table::write_csv_line;

pub const DUTY_ALGORITHM_VERSION: &str = "1";

/// Day `d` (from 1) and the pupil on duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rota {
    pub days: Vec<(u32, String)>,
}

/// Day `d` gets the pupil at position `(d − 1) mod n` of the `duty` key order.
pub fn draw_rota(pupils: &[String], days: u32, seed: &Seed) -> Rota {
    let mut order: Vec<(u64, &String)> = pupils
        .iter()
        .map(|id| (lottery_key(seed, Purpose::Duty, id), id))
        .collect();
    order.sort();
    let days = if order.is_empty() {
        Vec::new()
    } else {
        (0..days)
            .map(|d| (d + 1, order[d as usize % order.len()].1.clone()))
            .collect()
    };
    Rota { days }
}

impl Rota {
    /// `rota.csv`: `day,id`, one row per day.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("day,id\n");
        for (day, id) in &self.days {
            write_csv_line(&mut out, &[&day.to_string(), id]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_pupil_serves_within_one_day_of_everyone(n in 1usize..40, days in 0u32..200, s in any::<[u8; 32]>()) {
            let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
            let rota = draw_rota(&ids, days, &Seed::from_bytes(s));
            prop_assert_eq!(rota.days.len(), days as usize);
            let counts: Vec<usize> = ids.iter().map(|id| rota.days.iter().filter(|(_, p)| p == id).count()).collect();
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            prop_assert!(max - min <= 1);
            let mut reversed = ids.clone();
            reversed.reverse();
            prop_assert_eq!(draw_rota(&reversed, days, &Seed::from_bytes(s)), rota);
        }
    }
}
