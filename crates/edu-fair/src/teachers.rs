//! Teacher–class draw: class 1 gets the teacher with the smallest `teacher` key, class 2 the next, …

use crate::seed::{Purpose, Seed, lottery_key};
use crate::table::{InputErrors, Schema, Table, parse_table, write_csv_line};

pub const TEACHERS_ALGORITHM_VERSION: &str = "1";
pub const TEACHERS_FILE: &str = "teachers";

/// Parses `T.csv` (`id`).
pub fn teachers_table(bytes: &[u8]) -> Result<Table, InputErrors> {
    parse_table(
        bytes,
        &Schema {
            file: TEACHERS_FILE,
            key: "id",
            required: &[],
            allowed: &|_| false,
        },
    )
}

/// Every teacher (sorted by id) with the class drawn, or `None` when there are more teachers
/// than classes. Classes beyond the number of teachers get none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeacherDraw {
    pub assignments: Vec<(String, Option<u32>)>,
}

/// Draws classes `1..=classes` for `teachers`.
pub fn draw_teachers(teachers: &[String], classes: u32, seed: &Seed) -> TeacherDraw {
    let mut order: Vec<(u64, &String)> = teachers
        .iter()
        .map(|id| (lottery_key(seed, Purpose::Teacher, id), id))
        .collect();
    order.sort();
    let mut assignments: Vec<(String, Option<u32>)> = order
        .iter()
        .enumerate()
        .map(|(rank, (_, id))| {
            (
                (*id).clone(),
                (rank < classes as usize).then_some(rank as u32 + 1),
            )
        })
        .collect();
    assignments.sort();
    TeacherDraw { assignments }
}

impl TeacherDraw {
    /// `assignment.csv`: `id,class` (empty class when none), rows sorted by id.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("id,class\n");
        for (id, class) in &self.assignments {
            let class = class.map(|c| c.to_string()).unwrap_or_default();
            write_csv_line(&mut out, &[id, &class]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_key_order_and_extra_teachers_get_none() {
        let seed = Seed::from_bytes([3; 32]);
        let ids: Vec<String> = ["t1", "t2", "t3"].iter().map(|s| s.to_string()).collect();
        let draw = draw_teachers(&ids, 2, &seed);
        let mut by_key = ids.clone();
        by_key.sort_by_key(|id| lottery_key(&seed, Purpose::Teacher, id));
        let class_of = |id: &str| {
            draw.assignments
                .iter()
                .find(|(t, _)| t == id)
                .and_then(|(_, c)| *c)
        };
        assert_eq!(class_of(&by_key[0]), Some(1));
        assert_eq!(class_of(&by_key[1]), Some(2));
        assert_eq!(class_of(&by_key[2]), None);
        let mut reversed = ids.clone();
        reversed.reverse();
        assert_eq!(draw_teachers(&reversed, 2, &seed), draw);
    }
}
