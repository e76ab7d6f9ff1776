//! The demo city: a deterministic, seeded Daqing for the 2021–22 school year — about 600 kindergartens,
//! 250 primary/junior/nine-year schools, 30 senior highs, 15 vocational schools, 9 community-education colleges,
//! 300,000 pupils and 25,000 staff — with population by age so that the kindergarten indicators land near the
//! plan's targets, some districts above and some below. Every demo account has the same password.

mod allocations;
mod ledgers;
mod names;
mod obligations;
mod plan;
mod rng;
mod timetables;

use std::collections::BTreeMap;

use edu_model::{DAQING, DAQING_DISTRICTS, District, IdNumber, PupilNo, id_check_digit};
use edu_store::{
    CertificateWrite, InstitutionWrite, OrgUnitRecord, PopulationRecord, PupilWrite, StaffWrite,
    UserWrite,
};
use jiff::civil::{Date, date};
use serde::Serialize;

use self::names::*;
pub use self::rng::Rng;
use crate::App;
use crate::access::Role;
use crate::audit::{self, AuditContext, Outcome};
use crate::error::AppError;

/// The calendar year of the demo city's clock (see `ShiftedClock`).
pub const DEMO_YEAR: i16 = 2021;

/// The school year the demo city is in: enrolments as of 1 September 2021.
pub const SCHOOL_YEAR_START: Date = date(2021, 9, 1);

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub password: String,
    /// 1.0 = the full city; tests use a small fraction.
    pub scale: f64,
}

/// What was generated, and the accounts to print.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoSummary {
    pub institutions: usize,
    pub pupils: usize,
    pub staff: usize,
    pub users: usize,
    /// (username, role, scope code, display name) of representative accounts.
    pub accounts: Vec<(String, String, String, String)>,
    /// One school per district (code, name), to try the per-school accounts.
    pub sample_schools: Vec<(String, String)>,
}

/// One generated institution, as the capability generators see it.
#[derive(Debug, Clone)]
pub struct DemoInstitution {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub district: String,
    pub kind: String,
    pub ownership: String,
    pub inclusive: bool,
    pub area: String,
    pub authority: String,
    /// (class id, grade, class name, pupils)
    pub classes: Vec<(i64, i64, String, i64)>,
}

impl DemoInstitution {
    pub fn pupils(&self) -> i64 {
        self.classes.iter().map(|c| c.3).sum()
    }
}

/// What a capability's demo generator gets: the city just generated, the seed and the (demo) clock.
pub struct DemoContext<'a> {
    pub seed: u64,
    pub scale: f64,
    pub now_ms: i64,
    /// The demo's "today" (China time).
    pub today: Date,
    pub institutions: &'a [DemoInstitution],
    pub context: &'a AuditContext,
}

impl DemoContext<'_> {
    /// An independent random stream for a named part of the demo.
    pub fn rng(&self, label: &str) -> Rng {
        Rng::new(self.seed).fork(label)
    }
}

/// Reports progress: phase, done, total.
pub type Progress<'a> = &'a mut (dyn FnMut(&str, u64, u64) + Send);

/// How each district's kindergarten sector is shaped (ratios chosen so some districts meet the plan's targets
/// and some fall short).
struct Profile {
    code: u32,
    weight: f64,
    urban_share: f64,
    gross_enrolment: f64,
    inclusive_coverage: f64,
    public_share: f64,
}

const PROFILES: [Profile; 9] = [
    Profile {
        code: 230602,
        weight: 0.15,
        urban_share: 0.95,
        gross_enrolment: 0.985,
        inclusive_coverage: 0.970,
        public_share: 0.58,
    },
    Profile {
        code: 230603,
        weight: 0.11,
        urban_share: 0.85,
        gross_enrolment: 0.972,
        inclusive_coverage: 0.962,
        public_share: 0.53,
    },
    Profile {
        code: 230604,
        weight: 0.14,
        urban_share: 0.90,
        gross_enrolment: 0.979,
        inclusive_coverage: 0.958,
        public_share: 0.55,
    },
    Profile {
        code: 230605,
        weight: 0.06,
        urban_share: 0.75,
        gross_enrolment: 0.948,
        inclusive_coverage: 0.944,
        public_share: 0.49,
    },
    Profile {
        code: 230606,
        weight: 0.08,
        urban_share: 0.55,
        gross_enrolment: 0.955,
        inclusive_coverage: 0.951,
        public_share: 0.52,
    },
    Profile {
        code: 230621,
        weight: 0.13,
        urban_share: 0.35,
        gross_enrolment: 0.962,
        inclusive_coverage: 0.935,
        public_share: 0.61,
    },
    Profile {
        code: 230622,
        weight: 0.13,
        urban_share: 0.30,
        gross_enrolment: 0.944,
        inclusive_coverage: 0.947,
        public_share: 0.63,
    },
    Profile {
        code: 230623,
        weight: 0.10,
        urban_share: 0.30,
        gross_enrolment: 0.968,
        inclusive_coverage: 0.956,
        public_share: 0.57,
    },
    Profile {
        code: 230624,
        weight: 0.10,
        urban_share: 0.30,
        gross_enrolment: 0.951,
        inclusive_coverage: 0.952,
        public_share: 0.60,
    },
];

/// An institution being generated, with its pupils per grade.
struct Planned {
    write: InstitutionWrite,
    /// (grade, pupils)
    grades: Vec<(i64, i64)>,
    class_size: i64,
    staff_per_class: f64,
    /// A status change during 2021: (earlier ownership, earlier inclusive, change date, note).
    history: Option<(&'static str, bool, &'static str, &'static str)>,
}

fn split_count(total: f64, parts: &[f64]) -> Vec<usize> {
    // Largest-remainder rounding so the parts add up to the rounded total.
    let sum: f64 = parts.iter().sum();
    let target = total.round() as usize;
    let raw: Vec<f64> = parts.iter().map(|p| total * p / sum).collect();
    let mut counts: Vec<usize> = raw.iter().map(|r| r.floor() as usize).collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| {
        (raw[*b] - raw[*b].floor())
            .total_cmp(&(raw[*a] - raw[*a].floor()))
            .then(a.cmp(b))
    });
    let mut missing = target.saturating_sub(counts.iter().sum());
    for i in order {
        if missing == 0 {
            break;
        }
        counts[i] += 1;
        missing -= 1;
    }
    counts
}

struct CityPlan {
    institutions: Vec<Planned>,
    population: Vec<PopulationRecord>,
}

struct Sequencer {
    next: BTreeMap<(char, u32), u32>,
}

impl Sequencer {
    /// A demo 学校标识码: type digit (3 kindergartens, 2 schools, 5 other institutions), province 23, the
    /// district's last two digits, then a five-digit sequence.
    fn code(&mut self, type_digit: char, district: u32) -> String {
        let n = self.next.entry((type_digit, district)).or_insert(0);
        *n += 1;
        format!("{type_digit}23{:02}{:05}", district % 100, n)
    }
}

fn plan_city(rng: &Rng, scale: f64) -> CityPlan {
    let mut rng = rng.fork("city");
    let mut seq = Sequencer {
        next: BTreeMap::new(),
    };
    let mut institutions = Vec::new();
    let mut population = Vec::new();
    let weights: Vec<f64> = PROFILES.iter().map(|p| p.weight).collect();
    let n_primary = split_count(150.0 * scale, &weights);
    let n_junior = split_count(60.0 * scale, &weights);
    let n_nine = split_count(40.0 * scale, &weights);
    let n_senior = split_count(30.0 * scale, &weights);
    let n_vocational = split_count(15.0 * scale, &weights);
    let n_community_school = split_count(60.0 * scale, &weights);
    let n_training = split_count(80.0 * scale, &weights);
    for (d, profile) in PROFILES.iter().enumerate() {
        let district = DAQING_DISTRICTS[d];
        let dcode = district.code.to_string();
        let short = district
            .name
            .trim_end_matches(['区', '县'])
            .trim_end_matches("蒙古族自治");
        let mut name_counter: BTreeMap<&'static str, u32> = BTreeMap::new();
        let mut ordinal = |kind: &'static str| {
            let n = name_counter.entry(kind).or_insert(0);
            *n += 1;
            *n
        };
        let mut make = |rng: &mut Rng,
                        type_digit: char,
                        kind: &str,
                        name: String,
                        ownership: &str,
                        inclusive: bool,
                        urban: bool,
                        authority: &str| InstitutionWrite {
            code: seq.code(type_digit, profile.code),
            name,
            district_code: dcode.clone(),
            kind: kind.to_owned(),
            ownership: ownership.to_owned(),
            inclusive,
            area: if urban { "urban" } else { "rural" }.to_owned(),
            authority: authority.to_owned(),
            status: "open".to_owned(),
            address: format!(
                "{}{}{}{}号",
                district.name,
                rng.pick(PLACE_WORDS),
                rng.pick(STREET_SUFFIX),
                rng.range(1, 399)
            ),
            phone: format!("0459-{}", rng.range(4_000_000, 6_999_999)),
            capacity: None,
            valid_from: "2015-09-01".to_owned(),
            education_group: None,
            rural_alliance: None,
            tags: Vec::new(),
        };

        // Kindergartens: children split into public, inclusive private and other private.
        let children = 60_000.0 * profile.weight * scale;
        let public = children * profile.public_share;
        let other_private = children * (1.0 - profile.inclusive_coverage);
        let inclusive_private = (children - public - other_private).max(0.0);
        for (ownership, inclusive, pupils, mean_size) in [
            ("public", false, public, 130.0),
            ("private", true, inclusive_private, 80.0),
            ("private", false, other_private, 60.0),
        ] {
            let count = ((pupils / mean_size).round() as usize).max(usize::from(pupils > 0.0));
            let sizes: Vec<f64> = (0..count).map(|_| rng.between(0.55, 1.45)).collect();
            let per_kg = split_count(pupils, &sizes);
            for size in per_kg {
                let urban = rng.chance(profile.urban_share);
                let n = ordinal("kg");
                let name = if ownership == "public" {
                    format!("大庆市{}第{}幼儿园", district.name, n)
                } else {
                    format!(
                        "{}{}{}幼儿园",
                        district.name,
                        rng.pick(PLACE_WORDS),
                        ["阳光", "童心", "博雅", "蓓蕾", "小太阳", "启航", "金色摇篮"]
                            [(n as usize) % 7]
                    )
                };
                let mut write = make(
                    &mut rng,
                    '3',
                    "kindergarten",
                    name,
                    ownership,
                    inclusive,
                    urban,
                    "district",
                );
                let mut history = None;
                if ownership == "private" && inclusive && rng.chance(0.05) {
                    history = Some(("private", false, "2021-03-01", "认定为普惠性民办园"));
                }
                if ownership == "public" && urban && rng.chance(0.06) {
                    write.tags.push("compound-kindergarten".to_owned());
                    history = Some(("private", false, "2021-06-01", "小区配套园回收，办成公办园"));
                } else if ownership == "private" && urban && rng.chance(0.04) {
                    write.tags.push("compound-kindergarten".to_owned());
                }
                if rng.chance(0.035) {
                    write.tags.push("anji-pilot".to_owned());
                }
                let size = size as i64;
                let grades = vec![
                    (1, size * 31 / 100),
                    (2, size * 33 / 100),
                    (3, size - size * 31 / 100 - size * 33 / 100),
                ];
                institutions.push(Planned {
                    write,
                    grades,
                    class_size: 30,
                    staff_per_class: 2.2,
                    history,
                });
            }
        }
        let kg_children: i64 = institutions
            .iter()
            .filter(|p| p.write.district_code == dcode && p.write.kind == "kindergarten")
            .flat_map(|p| p.grades.iter().map(|(_, n)| *n))
            .sum();

        // Compulsory schools: a cohort per grade, shared among primary, junior and nine-year schools.
        let cohort = 21_000.0 * profile.weight * scale;
        let mut compulsory: Vec<(usize, Vec<i64>)> = Vec::new();
        let primary_start = institutions.len();
        for _ in 0..n_primary[d] {
            let urban = rng.chance(profile.urban_share);
            let name = format!("大庆市{}{}小学", district.name, rng.pick(PLACE_WORDS));
            let mut write = make(
                &mut rng, '2', "primary", name, "public", false, urban, "district",
            );
            if rng.chance(0.1) {
                write.tags.push("e-points-pilot".to_owned());
            }
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 44,
                staff_per_class: 2.15,
                history: None,
            });
            compulsory.push((institutions.len() - 1, (1..=6).collect()));
        }
        for _ in 0..n_junior[d] {
            let urban = rng.chance(profile.urban_share);
            let n = ordinal("junior");
            let name = format!("大庆市{}第{}中学", district.name, n);
            let write = make(
                &mut rng, '2', "junior", name, "public", false, urban, "district",
            );
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 48,
                staff_per_class: 2.7,
                history: None,
            });
            compulsory.push((institutions.len() - 1, (7..=9).collect()));
        }
        for _ in 0..n_nine[d] {
            let urban = rng.chance(profile.urban_share * 0.6);
            let name = format!(
                "{}{}{}学校",
                district.name,
                rng.pick(PLACE_WORDS),
                if urban {
                    "九年一贯制"
                } else {
                    "乡中心"
                }
            );
            let write = make(
                &mut rng,
                '2',
                "nine_year",
                name,
                "public",
                false,
                urban,
                "district",
            );
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 40,
                staff_per_class: 2.5,
                history: None,
            });
            compulsory.push((institutions.len() - 1, (1..=9).collect()));
        }
        let sizes: Vec<f64> = compulsory.iter().map(|_| rng.between(0.5, 1.5)).collect();
        for grade in 1..=9 {
            let teaching: Vec<usize> = (0..compulsory.len())
                .filter(|i| compulsory[*i].1.contains(&grade))
                .collect();
            let shares: Vec<f64> = teaching.iter().map(|i| sizes[*i]).collect();
            for (k, n) in teaching.iter().zip(split_count(cohort, &shares)) {
                institutions[compulsory[*k].0]
                    .grades
                    .push((grade, n as i64));
            }
        }
        // Education groups in districts, rural alliances in counties.
        let members: Vec<usize> = (primary_start..institutions.len()).collect();
        if district.is_county {
            let rural: Vec<usize> = members
                .iter()
                .copied()
                .filter(|i| institutions[*i].write.area == "rural")
                .collect();
            for (j, i) in rural.iter().enumerate().take(8) {
                institutions[*i].write.rural_alliance = Some(format!("{short}农村学校联盟"));
                institutions[*i]
                    .write
                    .tags
                    .push("rural-alliance".to_owned());
                if j == 0 {
                    institutions[*i].write.tags.push("labour-base".to_owned());
                }
            }
        } else {
            for (j, i) in members.iter().enumerate().take(8) {
                let group = if j < 4 { 1 } else { 2 };
                institutions[*i].write.education_group = Some(format!("{short}第{group}教育集团"));
                institutions[*i]
                    .write
                    .tags
                    .push("education-group".to_owned());
            }
        }
        for i in members {
            let w = &mut institutions[i].write;
            if rng.chance(0.86) {
                w.tags.push("football-league".to_owned());
            }
            if rng.chance(0.2) {
                w.tags.push("football-school".to_owned());
            }
            if rng.chance(0.72) {
                w.tags.push("one-school-one-art".to_owned());
            }
            if rng.chance(0.08) {
                w.tags.push("labour-model-school".to_owned());
            }
        }

        // Senior highs (city-run where public; a private one in some districts), vocational schools.
        let senior_cohort = 12_000.0 * profile.weight * scale;
        let vocational_cohort = 4_000.0 * profile.weight * scale;
        let mut seniors = Vec::new();
        for k in 0..n_senior[d] {
            let private = k == 1 && d % 2 == 0;
            let name = if private {
                format!(
                    "大庆{}{}高级中学",
                    rng.pick(PLACE_WORDS),
                    ["实验", "育才", "博文"][d % 3]
                )
            } else {
                format!("大庆市{}第{}高级中学", short, k + 1)
            };
            let mut write = make(
                &mut rng,
                '2',
                "senior",
                name,
                if private { "private" } else { "public" },
                false,
                true,
                if private { "district" } else { "city" },
            );
            if private && rng.chance(0.75) {
                write.tags.push("paired-private-senior".to_owned());
            }
            if rng.chance(0.8) {
                write.tags.push("football-league".to_owned());
            }
            if rng.chance(0.6) {
                write.tags.push("one-school-one-art".to_owned());
            }
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 50,
                staff_per_class: 3.0,
                history: None,
            });
            seniors.push(institutions.len() - 1);
        }
        let shares: Vec<f64> = seniors.iter().map(|_| rng.between(0.6, 1.4)).collect();
        for grade in 10..=12 {
            for (i, n) in seniors.iter().zip(split_count(senior_cohort, &shares)) {
                institutions[*i].grades.push((grade, n as i64));
            }
        }
        let mut vocationals = Vec::new();
        for k in 0..n_vocational[d] {
            let name = format!(
                "大庆市{}{}职业技术学校",
                short,
                ["第一", "第二", "第三"][k % 3]
            );
            let mut write = make(
                &mut rng,
                '2',
                "vocational",
                name,
                "public",
                false,
                true,
                "city",
            );
            if rng.chance(0.25) {
                write.tags.push("1+x-pilot".to_owned());
            }
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 45,
                staff_per_class: 2.8,
                history: None,
            });
            vocationals.push(institutions.len() - 1);
        }
        let shares: Vec<f64> = vocationals.iter().map(|_| 1.0).collect();
        for grade in 10..=12 {
            for (i, n) in vocationals
                .iter()
                .zip(split_count(vocational_cohort, &shares))
            {
                institutions[*i].grades.push((grade, n as i64));
            }
        }
        if d % 3 == 0 {
            let write = make(
                &mut rng,
                '2',
                "special",
                format!("大庆市{short}特殊教育学校"),
                "public",
                false,
                true,
                "district",
            );
            let grades = (1..=9)
                .map(|g| (g, ((12.0 * scale).round() as i64).max(1)))
                .collect();
            institutions.push(Planned {
                write,
                grades,
                class_size: 12,
                staff_per_class: 3.0,
                history: None,
            });
        }
        // Community education: one college per district (the plan's 9), community schools, training institutions.
        let college = make(
            &mut rng,
            '5',
            "community_college",
            format!("大庆市{short}社区教育学院"),
            "public",
            false,
            true,
            "district",
        );
        institutions.push(Planned {
            write: college,
            grades: Vec::new(),
            class_size: 1,
            staff_per_class: 0.0,
            history: None,
        });
        for _ in 0..n_community_school[d] {
            let urban = rng.chance(profile.urban_share);
            let name = format!(
                "{}{}{}社区教育学校",
                district.name,
                rng.pick(PLACE_WORDS),
                if urban { "社区" } else { "村" }
            );
            let write = make(
                &mut rng,
                '5',
                "community_school",
                name,
                "public",
                false,
                urban,
                "district",
            );
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 1,
                staff_per_class: 0.0,
                history: None,
            });
        }
        for _ in 0..n_training[d] {
            let name = format!(
                "大庆{}{}培训学校",
                rng.pick(PLACE_WORDS),
                ["英才", "启智", "书香", "艺星", "乐学"][rng.range(0, 4) as usize]
            );
            let write = make(
                &mut rng,
                '5',
                "training_institution",
                name,
                "private",
                false,
                true,
                "district",
            );
            institutions.push(Planned {
                write,
                grades: Vec::new(),
                class_size: 1,
                staff_per_class: 0.0,
                history: None,
            });
        }

        // Population by single year of age (2021), resident and registered.
        let pop_3_5 = kg_children as f64 / profile.gross_enrolment;
        for age in 0..=22i64 {
            let resident = match age {
                0..=2 => pop_3_5 / 3.0 * (0.88 - 0.02 * age as f64),
                3..=5 => pop_3_5 / 3.0 * [0.97, 1.0, 1.03][(age - 3) as usize],
                6..=14 => cohort / 0.985,
                15..=17 => (senior_cohort + vocational_cohort) / 0.93,
                _ => (senior_cohort + vocational_cohort) * 1.05,
            };
            let resident = resident.round().max(0.0) as i64;
            let registered = (resident as f64 * rng.between(0.92, 1.06)).round() as i64;
            for (basis, count) in [("resident", resident), ("registered", registered)] {
                population.push(PopulationRecord {
                    district_code: dcode.clone(),
                    year: 2021,
                    age,
                    basis: basis.to_owned(),
                    count,
                });
            }
        }
    }
    CityPlan {
        institutions,
        population,
    }
}

/// Other county-level areas pupils come from (migrants keep their birthplace's area code in the ID number).
const OTHER_AREAS: [&str; 4] = ["230102", "230203", "230502", "231002"];

struct PupilFactory {
    rng: Rng,
    sequence: BTreeMap<(String, Date), u32>,
}

impl PupilFactory {
    /// A unique, valid 学籍号 for a pupil born on `birth` in `area`.
    fn number(&mut self, area: &str, birth: Date, male: bool) -> String {
        let form = self.rng.unit();
        let n = self.sequence.entry((area.to_owned(), birth)).or_insert(0);
        *n += 1;
        // Sequence digits: the last is odd for boys, even for girls (GB 11643).
        let seq = (*n * 2 + u32::from(male)) % 1000;
        let first17 = format!("{area}{}{seq:03}", birth.strftime("%Y%m%d"));
        let mut digits = [0u8; 17];
        digits.copy_from_slice(first17.as_bytes());
        let body = format!("{first17}{}", id_check_digit(&digits));
        if form < 0.94 {
            format!("G{body}")
        } else if form < 0.99 {
            format!("J{body}")
        } else {
            format!("L{}", &body[..17]) + if male { "1" } else { "2" }
        }
    }
}

fn birth_date_for(rng: &mut Rng, grade: i64, kindergarten: bool) -> Date {
    // Age on 1 September 2021: kindergarten grade k → 2 + k; school grade g → 5 + g.
    let age = if kindergarten { 2 + grade } else { 5 + grade };
    let start = date(2021 - age as i16 - 1, 9, 1);
    let offset = rng.range(0, 364);
    start
        .checked_add(jiff::Span::new().days(offset))
        .unwrap_or(start)
}

impl App {
    /// Generates the demo city into an empty database. Deterministic for a seed (except the random salt of the
    /// one shared password hash and the audit timestamps).
    pub async fn generate_demo(
        &self,
        options: &DemoOptions,
        progress: Progress<'_>,
    ) -> Result<DemoSummary, AppError> {
        if self.has_users().await? {
            return Err(AppError::Conflict(
                "the database is not empty; the demo city is generated into a new file".into(),
            ));
        }
        let begun = std::time::Instant::now();
        let root = Rng::new(options.seed);
        let plan = plan_city(&root, options.scale);
        let now_ms = self.clock.now_ms();
        let context = AuditContext::cli("demo");
        let mut summary = DemoSummary::default();

        // Org tree and institutions.
        let mut tx = self.store.begin().await?;
        tx.upsert_org_unit(&OrgUnitRecord {
            code: DAQING.to_string(),
            parent_code: None,
            level: "city".into(),
            name: "大庆市".into(),
            name_en: "Daqing".into(),
            is_county: false,
        })
        .await?;
        for District {
            code,
            name,
            name_en,
            is_county,
        } in DAQING_DISTRICTS
        {
            tx.upsert_org_unit(&OrgUnitRecord {
                code: code.to_string(),
                parent_code: Some(DAQING.to_string()),
                level: "district".into(),
                name: name.into(),
                name_en: name_en.into(),
                is_county,
            })
            .await?;
        }
        let total = plan.institutions.len() as u64;
        let mut ids = Vec::with_capacity(plan.institutions.len());
        for (i, planned) in plan.institutions.iter().enumerate() {
            let id = match planned.history {
                Some((ownership, inclusive, on, note)) => {
                    let mut before = planned.write.clone();
                    before.ownership = ownership.to_owned();
                    before.inclusive = inclusive;
                    let id = tx.upsert_institution(&before, now_ms).await?.id();
                    tx.change_institution_status(
                        id,
                        &planned.write.ownership,
                        planned.write.inclusive,
                        "open",
                        on,
                        note,
                    )
                    .await?;
                    id
                }
                None => tx.upsert_institution(&planned.write, now_ms).await?.id(),
            };
            ids.push(id);
            if i % 50 == 0 {
                progress("学校 institutions", i as u64, total);
            }
        }
        progress("学校 institutions", total, total);
        for row in &plan.population {
            tx.upsert_population(row).await?;
        }
        tx.commit().await?;
        summary.institutions = plan.institutions.len();

        // Pupils and staff, institution by institution, committed in batches.
        let mut factory = PupilFactory {
            rng: root.fork("pupil-numbers"),
            sequence: BTreeMap::new(),
        };
        let mut people = root.fork("people");
        let pupil_total: i64 = plan
            .institutions
            .iter()
            .flat_map(|p| p.grades.iter().map(|(_, n)| *n))
            .sum();
        let mut pupils_done: u64 = 0;
        let mut staff_counter: BTreeMap<String, u32> = BTreeMap::new();
        let mut pending_pupils: Vec<PupilWrite> = Vec::new();
        let mut pending_staff: Vec<StaffWrite> = Vec::new();
        let mut generated: Vec<DemoInstitution> = Vec::with_capacity(ids.len());
        let mut tx = self.store.begin().await?;
        for (planned, id) in plan.institutions.iter().zip(&ids) {
            let w = &planned.write;
            let district = w.district_code.clone();
            let kindergarten = w.kind == "kindergarten";
            let mut classes = 0i64;
            let mut class_list: Vec<(i64, i64, String, i64)> = Vec::new();
            for (grade, count) in &planned.grades {
                if *count <= 0 {
                    continue;
                }
                let n_classes = ((*count as f64) / planned.class_size as f64)
                    .ceil()
                    .max(1.0) as i64;
                classes += n_classes;
                let mut class_ids = Vec::new();
                for c in 1..=n_classes {
                    let name = if kindergarten {
                        format!("{}{}班", ["小", "中", "大"][(*grade - 1) as usize % 3], c)
                    } else {
                        format!("{c}班")
                    };
                    let class_id = tx.ensure_class(*id, *grade, &name).await?;
                    // Pupils are dealt round-robin into the grade's classes below.
                    let size = *count / n_classes + i64::from(c - 1 < *count % n_classes);
                    class_list.push((class_id, *grade, name, size));
                    class_ids.push(class_id);
                }
                let entry_grade = if kindergarten {
                    1
                } else if *grade >= 10 {
                    10
                } else if *grade >= 7 && w.kind == "junior" {
                    7
                } else {
                    1
                };
                for k in 0..*count {
                    let male = people.chance(0.515);
                    let birth = birth_date_for(&mut people, *grade, kindergarten);
                    let area = if people.chance(0.93) {
                        district.as_str()
                    } else {
                        OTHER_AREAS[people.range(0, 3) as usize]
                    };
                    let number = factory.number(area, birth, male);
                    let parsed = PupilNo::parse(&number).map_err(|e| {
                        AppError::Config(format!("demo generated an invalid number: {e}"))
                    })?;
                    let index = self.keys.blind_index("pupil_no", parsed.as_str());
                    let phone = people.chance(0.6).then(|| {
                        format!(
                            "1{}{:09}",
                            [3, 5, 8][people.range(0, 2) as usize],
                            people.range(0, 999_999_999)
                        )
                    });
                    let enrolled_year = 2021 - (*grade - entry_grade) as i16;
                    let enrolled_on = date(enrolled_year, 9, 1);
                    pending_pupils.push(PupilWrite {
                        pupil_no_enc: self.keys.encrypt(
                            parsed.as_str(),
                            "pupils",
                            "pupil_no",
                            &index,
                        )?,
                        pupil_no_masked: parsed.masked(),
                        name: person_name(&mut people, male),
                        sex: if male { "M" } else { "F" }.to_owned(),
                        birth_date: birth.to_string(),
                        institution_id: *id,
                        grade: *grade,
                        class_id: Some(class_ids[(k % n_classes) as usize]),
                        status: "enrolled".to_owned(),
                        enrolled_on: enrolled_on.to_string(),
                        special_needs: people.chance(0.004),
                        boarder: w.area == "rural" && *grade >= 4 && people.chance(0.25),
                        guardian_phone_enc: phone
                            .map(|p| self.keys.encrypt(&p, "pupils", "guardian_phone", &index))
                            .transpose()?,
                        address_enc: None,
                        valid_from: enrolled_on.to_string(),
                        pupil_no_index: index,
                    });
                }
            }
            // Staff: teachers per class, a principal, guards, doctors, cooks.
            let teachers = (classes as f64 * planned.staff_per_class).round() as i64;
            let has_campus = w.kind != "community_school" && w.kind != "training_institution";
            let guards = if has_campus {
                if classes > 40 {
                    4
                } else if classes > 12 {
                    2
                } else {
                    1
                }
            } else {
                0
            };
            let doctors = i64::from(classes > 15);
            let cooks = i64::from(kindergarten || w.area == "rural");
            let office = if has_campus { 0 } else { people.range(1, 4) };
            let mut roles: Vec<&str> = Vec::new();
            roles.push("principal");
            roles.extend(std::iter::repeat_n("teacher", (teachers + office) as usize));
            roles.extend(std::iter::repeat_n("security_guard", guards as usize));
            roles.extend(std::iter::repeat_n("doctor", doctors as usize));
            roles.extend(std::iter::repeat_n("cook", cooks as usize));
            if kindergarten {
                roles.extend(std::iter::repeat_n("nurse", (classes as usize).div_ceil(2)));
            }
            for role in roles {
                let counter = staff_counter.entry(w.code.clone()).or_insert(0);
                *counter += 1;
                pending_staff.push(self.demo_staff(&mut people, planned, *id, role, *counter));
            }
            generated.push(DemoInstitution {
                id: *id,
                code: w.code.clone(),
                name: w.name.clone(),
                district: w.district_code.clone(),
                kind: w.kind.clone(),
                ownership: w.ownership.clone(),
                inclusive: w.inclusive,
                area: w.area.clone(),
                authority: w.authority.clone(),
                classes: class_list,
            });
            if pending_pupils.len() >= 20_000 {
                pupils_done += pending_pupils.len() as u64;
                summary.pupils += pending_pupils.len();
                tx.insert_pupils_bulk(&pending_pupils, now_ms).await?;
                pending_pupils.clear();
                progress("学生 pupils", pupils_done, pupil_total as u64);
            }
            if pending_staff.len() >= 5_000 {
                summary.staff += pending_staff.len();
                tx.insert_staff_bulk(&pending_staff, now_ms).await?;
                pending_staff.clear();
            }
        }
        summary.pupils += pending_pupils.len();
        summary.staff += pending_staff.len();
        tx.insert_pupils_bulk(&pending_pupils, now_ms).await?;
        tx.insert_staff_bulk(&pending_staff, now_ms).await?;
        progress("学生 pupils", pupil_total as u64, pupil_total as u64);
        tracing::debug!(
            seconds = begun.elapsed().as_secs_f64(),
            "demo registry done"
        );
        tx.commit().await?;

        // Each capability adds its records (returns, cases, draws, timetables) on top of the registry.
        let demo = DemoContext {
            seed: options.seed,
            scale: options.scale,
            now_ms,
            today: edu_model::china_time::business_date(self.clock.now()),
            institutions: &generated,
            context: &context,
        };
        // The plan comes last: its snapshots evaluate the records the others made.
        let steps = [
            "obligations",
            "ledgers",
            "allocations",
            "timetables",
            "plan",
        ];
        for (phase, step) in steps.iter().enumerate() {
            progress("工作台账 records", phase as u64, 5);
            let started = std::time::Instant::now();
            match *step {
                "obligations" => self.demo_obligations(&demo).await?,
                "ledgers" => self.demo_ledgers(&demo).await?,
                "allocations" => self.demo_allocations(&demo).await?,
                "timetables" => self.demo_timetables(&demo).await?,
                _ => self.demo_plan(&demo).await?,
            }
            tracing::debug!(
                step = *step,
                seconds = started.elapsed().as_secs_f64(),
                "demo step done"
            );
        }
        progress("工作台账 records", 5, 5);

        // Accounts: one shared hash for the shared demo password.
        let hash = self.hasher.hash(&options.password).await?;
        let mut accounts: Vec<(String, Role, String, String)> = vec![
            (
                "city".into(),
                Role::CityAdmin,
                DAQING.to_string(),
                "大庆市教育局".into(),
            ),
            (
                "sysadmin".into(),
                Role::SystemAdmin,
                DAQING.to_string(),
                "系统管理员".into(),
            ),
            (
                "secadmin".into(),
                Role::SecurityAdmin,
                DAQING.to_string(),
                "安全管理员".into(),
            ),
            (
                "auditadmin".into(),
                Role::AuditAdmin,
                DAQING.to_string(),
                "审计管理员".into(),
            ),
            (
                "inspector".into(),
                Role::Inspector,
                DAQING.to_string(),
                "市督导室".into(),
            ),
        ];
        for d in DAQING_DISTRICTS {
            accounts.push((
                format!("d{}", d.code),
                Role::DistrictAdmin,
                d.code.to_string(),
                format!("{}教育局", d.name),
            ));
        }
        for planned in &plan.institutions {
            let w = &planned.write;
            accounts.push((
                format!("s{}", w.code),
                Role::SchoolAdmin,
                w.code.clone(),
                w.name.clone(),
            ));
        }
        if let Some(first) = plan.institutions.iter().find(|p| p.write.kind == "primary") {
            accounts.push((
                format!("t{}", first.write.code),
                Role::Teacher,
                first.write.code.clone(),
                format!("{}教师", first.write.name),
            ));
        }
        let mut tx = self.store.begin().await?;
        for (i, (username, role, scope, display)) in accounts.iter().enumerate() {
            tx.insert_user(
                &UserWrite {
                    username: username.clone(),
                    display_name: display.clone(),
                    role: role.code().to_owned(),
                    scope_code: scope.clone(),
                    password_hash: hash.clone(),
                    must_change_password: false,
                    expires_at: None,
                },
                now_ms,
            )
            .await?;
            if i % 100 == 0 {
                progress("账号 accounts", i as u64, accounts.len() as u64);
            }
        }
        progress(
            "账号 accounts",
            accounts.len() as u64,
            accounts.len() as u64,
        );
        tx.set_meta("demo_seed", &options.seed.to_string()).await?;
        tx.set_meta("clock_year", &DEMO_YEAR.to_string()).await?;
        tx.append_audit(&audit::entry(
            now_ms,
            None,
            "cli:demo",
            &context,
            "demo.generate",
            "city",
            &DAQING.to_string(),
            Outcome::Success,
            &format!(
                "seed={} institutions={} pupils={} staff={}",
                options.seed, summary.institutions, summary.pupils, summary.staff
            ),
        ))
        .await?;
        tx.commit().await?;
        summary.users = accounts.len();
        summary.accounts = accounts
            .iter()
            .filter(|(u, _, _, _)| !u.starts_with('s') || u == "sysadmin" || u == "secadmin")
            .map(|(u, r, s, d)| (u.clone(), r.code().to_owned(), s.clone(), d.clone()))
            .collect();
        for d in DAQING_DISTRICTS {
            if let Some(p) = plan
                .institutions
                .iter()
                .find(|p| p.write.district_code == d.code.to_string() && p.write.kind == "primary")
            {
                summary
                    .sample_schools
                    .push((p.write.code.clone(), p.write.name.clone()));
            }
        }
        Ok(summary)
    }

    fn demo_staff(
        &self,
        rng: &mut Rng,
        planned: &Planned,
        institution_id: i64,
        role: &str,
        n: u32,
    ) -> StaffWrite {
        let w = &planned.write;
        let male = match role {
            "security_guard" | "driver" => rng.chance(0.9),
            "nurse" => rng.chance(0.05),
            "teacher" if w.kind == "kindergarten" => rng.chance(0.04),
            _ => rng.chance(0.3),
        };
        // Ages 23–59 (guards up to 59 as well); a few city-run teachers reach retirement age in 2021
        // (60 for men, 55 for women), and the city hired new teachers in August 2021.
        let retire_age = if male { 60 } else { 55 };
        let city_teacher = role == "teacher" && w.authority == "city";
        let (age, hired_2021) = if city_teacher && rng.chance(0.085) {
            (retire_age, false)
        } else if city_teacher && rng.chance(0.09) {
            (rng.range(23, 27), true)
        } else {
            (rng.range(24, retire_age - 1), false)
        };
        let birth = date(
            2021 - age as i16,
            rng.range(1, 12) as i8,
            rng.range(1, 28) as i8,
        );
        let hire = if hired_2021 {
            date(2021, 8, rng.range(15, 31) as i8)
        } else {
            let years = rng.range(0, (age - 22).max(0));
            date(2021 - years as i16, 8, 28).min(date(2021, 7, 1))
        };
        let subjects = match (role, w.kind.as_str()) {
            ("teacher", "kindergarten") => String::new(),
            ("teacher", "primary") => rng.pick(SUBJECTS_PRIMARY).to_string(),
            ("teacher", "vocational") => rng.pick(SUBJECTS_VOCATIONAL).to_string(),
            ("teacher", _) => rng.pick(SUBJECTS_SECONDARY).to_string(),
            _ => String::new(),
        };
        let certificates = match role {
            "teacher" | "principal" => vec![CertificateWrite {
                kind: "教师资格证".into(),
                number: format!(
                    "{}{}{:06}",
                    hire.year(),
                    &w.district_code,
                    rng.range(0, 999_999)
                ),
                issued_on: Some(hire.to_string()),
                expires_on: None,
            }],
            "security_guard" => {
                // Most guards hold a valid certificate; some have lapsed or never had one.
                if rng.chance(0.93) {
                    let issued = date(rng.range(2016, 2021) as i16, rng.range(1, 12) as i8, 1);
                    let expires = if rng.chance(0.92) {
                        date(2023 + rng.range(0, 3) as i16, issued.month(), 1)
                    } else {
                        date(2021, rng.range(1, 11) as i8, 1)
                    };
                    vec![CertificateWrite {
                        kind: "保安员证".into(),
                        number: format!("HLJ{}{:06}", issued.year(), rng.range(0, 999_999)),
                        issued_on: Some(issued.to_string()),
                        expires_on: Some(expires.to_string()),
                    }]
                } else {
                    Vec::new()
                }
            }
            "doctor" | "nurse" => vec![CertificateWrite {
                kind: if role == "doctor" {
                    "医师执业证书"
                } else {
                    "保育员证"
                }
                .into(),
                number: format!("{}{:08}", w.district_code, rng.range(0, 99_999_999)),
                issued_on: None,
                expires_on: None,
            }],
            _ => Vec::new(),
        };
        let _ = IdNumber::parse; // Staff ID numbers are not generated: the registry does not need them.
        StaffWrite {
            staff_no: format!("T{}{:04}", w.code, n),
            name: person_name(rng, male),
            sex: if male { "M" } else { "F" }.to_owned(),
            birth_date: birth.to_string(),
            institution_id,
            role: role.to_owned(),
            subjects,
            hire_date: hire.to_string(),
            special_post: role == "teacher" && w.area == "rural" && age < 32 && rng.chance(0.3),
            status: "active".to_owned(),
            phone_enc: None,
            certificates,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_count_preserves_totals() {
        let parts = split_count(100.0, &[1.0, 1.0, 1.0]);
        assert_eq!(parts.iter().sum::<usize>(), 100);
        assert!(parts.iter().all(|p| (33..=34).contains(p)));
    }

    #[test]
    fn the_city_plan_has_the_promised_shape() {
        let plan = plan_city(&Rng::new(2021), 1.0);
        let count = |kind: &str| {
            plan.institutions
                .iter()
                .filter(|p| p.write.kind == kind)
                .count()
        };
        assert!(
            (560..=640).contains(&count("kindergarten")),
            "{}",
            count("kindergarten")
        );
        assert_eq!(count("primary") + count("junior") + count("nine_year"), 250);
        assert_eq!(count("senior"), 30);
        assert_eq!(count("vocational"), 15);
        assert_eq!(count("community_college"), 9);
        let pupils: i64 = plan
            .institutions
            .iter()
            .flat_map(|p| p.grades.iter().map(|(_, n)| *n))
            .sum();
        assert!((280_000..=320_000).contains(&pupils), "{pupils}");
        // Codes are unique and valid.
        let mut codes: Vec<&str> = plan
            .institutions
            .iter()
            .map(|p| p.write.code.as_str())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), plan.institutions.len());
        assert!(
            plan.institutions
                .iter()
                .all(|p| edu_model::SchoolCode::parse(&p.write.code).is_ok())
        );
        // Deterministic.
        let again = plan_city(&Rng::new(2021), 1.0);
        assert_eq!(again.institutions.len(), plan.institutions.len());
        assert!(
            again
                .institutions
                .iter()
                .zip(&plan.institutions)
                .all(|(a, b)| a.write == b.write && a.grades == b.grades)
        );
    }

    #[test]
    fn kindergarten_indicators_straddle_the_targets() {
        let plan = plan_city(&Rng::new(2021), 1.0);
        let mut met = 0;
        let mut missed = 0;
        for d in DAQING_DISTRICTS {
            let code = d.code.to_string();
            let kg: i64 = plan
                .institutions
                .iter()
                .filter(|p| p.write.district_code == code && p.write.kind == "kindergarten")
                .flat_map(|p| p.grades.iter().map(|(_, n)| *n))
                .sum();
            let pop: i64 = plan
                .population
                .iter()
                .filter(|p| {
                    p.district_code == code && p.basis == "resident" && (3..=5).contains(&p.age)
                })
                .map(|p| p.count)
                .sum();
            let rate = kg as f64 / pop as f64;
            assert!((0.90..1.02).contains(&rate), "{code}: {rate}");
            if rate >= 0.96 { met += 1 } else { missed += 1 }
        }
        assert!(met >= 3 && missed >= 3, "met {met}, missed {missed}");
    }

    #[test]
    fn generated_pupil_numbers_are_valid_and_unique() {
        let mut factory = PupilFactory {
            rng: Rng::new(1),
            sequence: BTreeMap::new(),
        };
        let mut seen = std::collections::HashSet::new();
        for i in 0..2_000 {
            let birth = date(2015, 3, 1 + (i % 28) as i8);
            let number = factory.number("230602", birth, i % 2 == 0);
            let parsed = PupilNo::parse(&number).unwrap();
            if parsed.form() != edu_model::PupilNoForm::L {
                assert_eq!(parsed.birth_date(), Some(birth));
            }
            assert!(seen.insert(number));
        }
    }
}
