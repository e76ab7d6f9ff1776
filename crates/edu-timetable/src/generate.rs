//! Realistic generated instances (Heilongjiang 3+1+2 combination mixes), deterministic by seed.

use crate::format::{
    AdminClass, CompulsorySubject, ElectiveSubject, INSTANCE_FORMAT, Instance, LevelPeriods, Room,
    Slot, Student, Teacher,
};
use crate::rng::SplitMix64;

/// Combination mix of the generated students. All are Heilongjiang-style 3+1+2: one of physics/history and
/// two of chemistry/biology/politics/geography (12 combinations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Typical 2021 3+1+2 province: physics 58%, 物化生 18%, 物生地 16%, 史政地 22%.
    Hlj2021,
    /// Physics 63%, 物生地 46% (the highest share reported).
    WuShengDi,
    /// Physics 63%, 物化生 24% (the highest share reported).
    WuHuaSheng,
    /// Physics 51% (the lowest share reported), 物化生 10%.
    PhysicsLow,
    /// All 12 combinations equally likely: the hardest case for block timetabling.
    Uniform,
}

impl Mix {
    pub const ALL: [Mix; 5] = [
        Mix::Hlj2021,
        Mix::WuShengDi,
        Mix::WuHuaSheng,
        Mix::PhysicsLow,
        Mix::Uniform,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mix::Hlj2021 => "hlj2021",
            Mix::WuShengDi => "wushengdi",
            Mix::WuHuaSheng => "wuhuasheng",
            Mix::PhysicsLow => "physics-low",
            Mix::Uniform => "uniform",
        }
    }

    pub fn parse(name: &str) -> Option<Mix> {
        Mix::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Weights of [`COMBINATIONS`], in order.
    fn weights(self) -> [f64; 12] {
        match self {
            Mix::Hlj2021 => [
                0.18, 0.06, 0.04, 0.16, 0.06, 0.08, 0.22, 0.06, 0.02, 0.05, 0.02, 0.05,
            ],
            Mix::WuShengDi => [
                0.10, 0.03, 0.01, 0.46, 0.02, 0.01, 0.20, 0.08, 0.01, 0.04, 0.02, 0.02,
            ],
            Mix::WuHuaSheng => [
                0.24, 0.08, 0.04, 0.15, 0.05, 0.07, 0.18, 0.07, 0.02, 0.06, 0.02, 0.02,
            ],
            Mix::PhysicsLow => [
                0.10, 0.06, 0.04, 0.20, 0.05, 0.06, 0.25, 0.08, 0.02, 0.08, 0.03, 0.03,
            ],
            Mix::Uniform => [1.0; 12],
        }
    }
}

/// The 12 combinations of 3+1+2, physics ones first.
pub const COMBINATIONS: [[&str; 3]; 12] = [
    ["phy", "chem", "bio"],
    ["phy", "chem", "geo"],
    ["phy", "chem", "pol"],
    ["phy", "bio", "geo"],
    ["phy", "bio", "pol"],
    ["phy", "pol", "geo"],
    ["his", "pol", "geo"],
    ["his", "bio", "geo"],
    ["his", "chem", "bio"],
    ["his", "pol", "bio"],
    ["his", "chem", "geo"],
    ["his", "chem", "pol"],
];

/// How administrative classes are formed, which decides how much of the electives can stay with the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Students placed without regard to choices: full mobility (全走班).
    Mixed,
    /// Classes by physics/history track: 定一走二.
    Track,
    /// Classes by combination: 定二走一 (classmates share at least two selective subjects where counts allow).
    Combination,
}

impl Grouping {
    pub const ALL: [Grouping; 3] = [Grouping::Mixed, Grouping::Track, Grouping::Combination];

    pub fn name(self) -> &'static str {
        match self {
            Grouping::Mixed => "mixed",
            Grouping::Track => "track",
            Grouping::Combination => "combination",
        }
    }

    pub fn parse(name: &str) -> Option<Grouping> {
        Grouping::ALL.into_iter().find(|g| g.name() == name)
    }
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub students: u32,
    pub seed: u64,
    pub mix: Mix,
    pub grouping: Grouping,
    /// 40 (5 × 8) or 45 (5 × 9) periods a week.
    pub periods_per_week: u32,
}

impl GenerateOptions {
    pub fn new(students: u32, seed: u64) -> Self {
        GenerateOptions {
            students,
            seed,
            mix: Mix::Hlj2021,
            grouping: Grouping::Mixed,
            periods_per_week: 45,
        }
    }
}

const ELECTIVES: [(&str, &str); 6] = [
    ("phy", "物理"),
    ("his", "历史"),
    ("chem", "化学"),
    ("bio", "生物"),
    ("pol", "政治"),
    ("geo", "地理"),
];
const SELECTIVE_PERIODS: u32 = 5;
const PROFICIENCY_PERIODS: u32 = 2;
const MAX_CLASS_SIZE: u32 = 50;

/// A realistic instance; the same options give the same instance, byte for byte.
pub fn generate(options: &GenerateOptions) -> Instance {
    let mut rng = SplitMix64::stream(options.seed, "generate");
    let periods_per_day = if options.periods_per_week <= 40 { 8 } else { 9 };
    let days = 5;
    let compulsory: Vec<(&str, &str, u32)> = if periods_per_day == 9 {
        vec![
            ("chn", "语文", 6),
            ("math", "数学", 5),
            ("eng", "英语", 6),
            ("pe", "体育", 2),
            ("it", "信息技术", 1),
            ("art", "艺术", 1),
        ]
    } else {
        vec![
            ("chn", "语文", 5),
            ("math", "数学", 5),
            ("eng", "英语", 4),
            ("pe", "体育", 2),
            ("it", "信息技术", 1),
        ]
    };
    let blocked = if periods_per_day == 9 {
        vec![Slot::new(0, 0), Slot::new(4, 8)] // flag-raising assembly, weekly class meeting
    } else {
        vec![Slot::new(4, 7)]
    };

    // Students and their choices.
    let n = options.students.max(1) as usize;
    let weights = options.mix.weights();
    let mut choices: Vec<usize> = (0..n).map(|_| rng.weighted(&weights)).collect();
    match options.grouping {
        Grouping::Mixed => {}
        Grouping::Track => choices.sort_by_key(|&c| c >= 6),
        Grouping::Combination => choices.sort_unstable(),
    }
    let class_count = n.div_ceil(48);
    let width = n.to_string().len().max(4);
    let admin_id = |index: usize| format!("2021-{:02}", index + 1);
    let students: Vec<Student> = choices
        .iter()
        .enumerate()
        .map(|(index, &combination)| Student {
            id: format!("S{:0width$}", index + 1),
            admin_class: admin_id(index * class_count / n),
            selective: COMBINATIONS[combination]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
        .collect();

    // Rooms: one per administrative class, a few spare rooms and two small seminar rooms.
    let mut rooms = Vec::new();
    let mut admin_classes = Vec::new();
    for index in 0..class_count {
        let room = format!("R{}{:02}", 1 + index / 20, index % 20 + 1);
        rooms.push(Room {
            id: room.clone(),
            capacity: if rng.below(3) == 0 { 60 } else { 55 },
        });
        admin_classes.push(AdminClass {
            id: admin_id(index),
            room,
        });
    }
    for index in 0..(class_count / 4 + 2) {
        rooms.push(Room {
            id: format!("L{:02}", index + 1),
            capacity: rng.range_inclusive(50, 60),
        });
    }
    for index in 0..2 {
        rooms.push(Room {
            id: format!("M{:02}", index + 1),
            capacity: 36,
        });
    }

    // Teachers: enough for the load with realistic max_periods 12..=18, a few unavailable slots.
    let mut teachers = Vec::new();
    let mut teacher_number = 0;
    let mut add_teacher =
        |teachers: &mut Vec<Teacher>, rng: &mut SplitMix64, subject: &str, min_max: u32| {
            teacher_number += 1;
            let mut unavailable = Vec::new();
            if rng.below(5) == 0 {
                for _ in 0..rng.range_inclusive(1, 2) {
                    let slot = Slot::new(
                        rng.below(days as usize) as u32,
                        rng.below(periods_per_day as usize) as u32,
                    );
                    if !blocked.contains(&slot) && !unavailable.contains(&slot) {
                        unavailable.push(slot);
                    }
                }
                unavailable.sort();
            }
            let max_periods = rng.range_inclusive(12, 18).max(min_max);
            teachers.push(Teacher {
                id: format!("T{teacher_number:03}"),
                subjects: vec![subject.to_string()],
                max_periods,
                unavailable,
            });
            max_periods
        };
    for &(id, _, periods) in &compulsory {
        let need = class_count as u32;
        let mut capacity = 0;
        while capacity < need + need.div_ceil(8) {
            let max = add_teacher(&mut teachers, &mut rng, id, periods);
            capacity += max / periods;
        }
    }
    for &(id, _) in &ELECTIVES {
        let selective = choices
            .iter()
            .filter(|&&c| COMBINATIONS[c].contains(&id))
            .count() as u32;
        let proficiency = n as u32 - selective;
        let selective_classes = selective.div_ceil(MAX_CLASS_SIZE);
        let proficiency_classes = proficiency.div_ceil(MAX_CLASS_SIZE);
        let load =
            selective_classes * SELECTIVE_PERIODS + proficiency_classes * PROFICIENCY_PERIODS;
        let min_count = selective_classes
            .div_ceil(3)
            .max(proficiency_classes.div_ceil(3))
            + 1;
        let (mut capacity, mut count) = (0, 0);
        while capacity < load + load.div_ceil(6) || count < min_count {
            capacity += add_teacher(&mut teachers, &mut rng, id, SELECTIVE_PERIODS);
            count += 1;
        }
    }

    Instance {
        format: INSTANCE_FORMAT.to_string(),
        name: format!(
            "生成 generated: {} students, mix {}, grouping {}, seed {}",
            n,
            options.mix.name(),
            options.grouping.name(),
            options.seed
        ),
        days,
        periods_per_day,
        compulsory: compulsory
            .iter()
            .map(|&(id, name, periods)| CompulsorySubject {
                id: id.into(),
                name: name.into(),
                periods,
            })
            .collect(),
        electives: ELECTIVES
            .iter()
            .map(|&(id, name)| ElectiveSubject {
                id: id.into(),
                name: name.into(),
                periods: LevelPeriods {
                    selective: SELECTIVE_PERIODS,
                    proficiency: PROFICIENCY_PERIODS,
                },
                max_class_size: MAX_CLASS_SIZE,
            })
            .collect(),
        admin_classes,
        students,
        teachers,
        rooms,
        blocked,
    }
}
