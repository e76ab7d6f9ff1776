//! 选课走班 (issue 6): course-choice windows, choices, solving and timetable views.
//!
//! A senior high opens a window for a grade; head teachers (teacher accounts of the school) and the school
//! administrator enter each pupil's Heilongjiang 3+1+2 choice per administrative class, or import them from a
//! table. The school then builds an `eduplan-zouban/1` instance from the registry (pupils, classes, teachers with
//! their subjects, rooms) and its settings, runs the solver of `edu-timetable` off the async executor, and stores
//! the solution with the independent check report; only a run with zero hard violations counts as a timetable.
//! Views and exports read the stored run, so they stay consistent however the registry changes later.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use edu_store::timetables::{
    ChoiceWindowRecord, ChoiceWindowWrite, CourseChoiceRecord, CourseChoiceWrite, GradeClassRecord,
    GradePupilRecord, SchoolRoomRecord, SchoolTeacherRecord, TimetableRunRecord,
    TimetableRunResult, TimetableRunStart,
};
use edu_store::{ScopeFilter, StoreError};
use edu_timetable::format::{
    AdminClass, CompulsorySubject, ElectiveSubject, INSTANCE_FORMAT, LevelPeriods, Room, Student,
    Teacher,
};
use edu_timetable::{Instance, Level, Slot, Solution};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::access::{Actor, Forbidden, Permission, Scope};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::{AppError, FieldError};
use crate::registry::AttentionItem;

pub use edu_store::timetables::{ChoiceWindowRecord as WindowRecord, TimetableRunSummary};
/// The timetabling engine, for callers (web tests, tools) that check or display its documents.
pub use edu_timetable as engine;

/// The rule a window applies (the only one so far).
pub const RULE_HLJ_312: &str = "hlj-3+1+2";

/// The first subject: physics or history (id, Chinese, English, one-character short form).
pub const TRACKS: [(&str, &str, &str, &str); 2] = [
    ("phy", "物理", "Physics", "物"),
    ("his", "历史", "History", "史"),
];
/// The re-chosen subjects: two of these four.
pub const RECHOSEN: [(&str, &str, &str, &str); 4] = [
    ("chem", "化学", "Chemistry", "化"),
    ("bio", "生物", "Biology", "生"),
    ("pol", "思想政治", "Politics", "政"),
    ("geo", "地理", "Geography", "地"),
];

/// Longest run of one solve the web may ask for.
pub const MAX_BUDGET_SECONDS: u32 = 120;
/// A run still marked running after this long is taken as interrupted.
const STALE_RUN_MS: i64 = 10 * 60 * 1000;

// --- combinations -------------------------------------------------------------------------------------------

/// One Heilongjiang 3+1+2 combination: physics or history, and two of chemistry/biology/politics/geography.
/// Can only be built valid; the electives are in canonical (id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Combination {
    track: &'static str,
    electives: [&'static str; 2],
}

/// Which part of a choice is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceProblem {
    /// Neither or both of physics/history, or something else in its place.
    Track,
    /// Not exactly two distinct subjects of chemistry/biology/politics/geography.
    Electives,
    /// A subject that is none of the six.
    Unknown,
}

impl ChoiceProblem {
    /// The bilingual reason shown to users.
    pub fn reason(self) -> &'static str {
        match self {
            ChoiceProblem::Track => {
                "首选科目须在物理、历史中选一门 / choose exactly one of physics and history"
            }
            ChoiceProblem::Electives => {
                "再选科目须在化学、生物、思想政治、地理中选两门 / choose exactly two of chemistry, biology, politics, geography"
            }
            ChoiceProblem::Unknown => "不是 3+1+2 的选考科目 / not a subject of the 3+1+2 choice",
        }
    }
}

fn subject_static(id: &str) -> Option<&'static str> {
    TRACKS
        .iter()
        .chain(RECHOSEN.iter())
        .find(|s| s.0 == id)
        .map(|s| s.0)
}

impl Combination {
    /// From subject ids in any order: exactly one track subject and two distinct re-chosen ones.
    pub fn from_ids<S: AsRef<str>>(ids: &[S]) -> Result<Combination, ChoiceProblem> {
        let mut tracks = Vec::new();
        let mut electives = BTreeSet::new();
        let mut elective_count = 0;
        for id in ids {
            let id = id.as_ref().trim();
            let Some(id) = subject_static(id) else {
                return Err(ChoiceProblem::Unknown);
            };
            if TRACKS.iter().any(|t| t.0 == id) {
                tracks.push(id);
            } else {
                electives.insert(id);
                elective_count += 1;
            }
        }
        if tracks.len() != 1 {
            return Err(ChoiceProblem::Track);
        }
        if electives.len() != 2 || elective_count != 2 {
            return Err(ChoiceProblem::Electives);
        }
        let mut pair = electives.into_iter();
        match (pair.next(), pair.next()) {
            (Some(a), Some(b)) => Ok(Combination {
                track: tracks[0],
                electives: [a, b],
            }),
            _ => Err(ChoiceProblem::Electives),
        }
    }

    /// From a track and the re-chosen subjects (the web form's two parts), naming the part that is wrong.
    pub fn from_parts<S: AsRef<str>>(
        track: &str,
        electives: &[S],
    ) -> Result<Combination, ChoiceProblem> {
        let track = track.trim();
        if !TRACKS.iter().any(|t| t.0 == track) {
            return Err(ChoiceProblem::Track);
        }
        if electives
            .iter()
            .any(|e| !RECHOSEN.iter().any(|r| r.0 == e.as_ref().trim()))
        {
            return Err(ChoiceProblem::Electives);
        }
        let mut all: Vec<&str> = vec![track];
        all.extend(electives.iter().map(|e| e.as_ref()));
        Combination::from_ids(&all)
    }

    /// Reads a combination written by people: `物化生`, `物理+化学+生物`, `物理 化学 生物`, `phy,chem,bio`.
    pub fn parse_text(text: &str) -> Result<Combination, ChoiceProblem> {
        const TOKENS: [(&str, &str); 20] = [
            ("思想政治", "pol"),
            ("物理", "phy"),
            ("历史", "his"),
            ("化学", "chem"),
            ("生物", "bio"),
            ("政治", "pol"),
            ("地理", "geo"),
            ("chem", "chem"),
            ("phy", "phy"),
            ("his", "his"),
            ("bio", "bio"),
            ("pol", "pol"),
            ("geo", "geo"),
            ("物", "phy"),
            ("史", "his"),
            ("化", "chem"),
            ("生", "bio"),
            ("政", "pol"),
            ("地", "geo"),
            ("历", "his"),
        ];
        let lower = text.trim().to_lowercase();
        let mut rest = lower.as_str();
        let mut ids = Vec::new();
        while let Some(c) = rest.chars().next() {
            if c.is_whitespace()
                || matches!(c, '+' | ',' | '，' | '、' | '/' | ';' | '；' | '|' | '-')
            {
                rest = &rest[c.len_utf8()..];
                continue;
            }
            let Some((token, id)) = TOKENS.iter().find(|(t, _)| rest.starts_with(t)) else {
                return Err(ChoiceProblem::Unknown);
            };
            ids.push(*id);
            rest = &rest[token.len()..];
        }
        Combination::from_ids(&ids)
    }

    /// The 12 combinations, physics ones first (the order of the charts).
    pub fn all() -> Vec<Combination> {
        const ORDER: [[&str; 2]; 6] = [
            ["chem", "bio"],
            ["chem", "geo"],
            ["chem", "pol"],
            ["bio", "geo"],
            ["bio", "pol"],
            ["pol", "geo"],
        ];
        let mut out = Vec::with_capacity(12);
        for track in ["phy", "his"] {
            for pair in ORDER {
                if let Ok(c) = Combination::from_ids(&[track, pair[0], pair[1]]) {
                    out.push(c);
                }
            }
        }
        out
    }

    pub fn track(&self) -> &'static str {
        self.track
    }

    pub fn electives(&self) -> [&'static str; 2] {
        self.electives
    }

    /// The three selective subject ids: track first.
    pub fn ids(&self) -> [&'static str; 3] {
        [self.track, self.electives[0], self.electives[1]]
    }

    /// `phy+bio+chem` (stable key).
    pub fn key(&self) -> String {
        self.ids().join("+")
    }

    /// The usual short name: 物化生 (track, then chemistry, biology, politics, geography order).
    pub fn short_zh(&self) -> String {
        let mut out = String::new();
        for (id, _, _, short) in TRACKS.iter().chain(RECHOSEN.iter()) {
            if self.ids().contains(id) {
                out.push_str(short);
            }
        }
        out
    }

    /// `Phy+Chem+Bio`.
    pub fn short_en(&self) -> String {
        TRACKS
            .iter()
            .chain(RECHOSEN.iter())
            .filter(|s| self.ids().contains(&s.0))
            .map(|s| s.2.chars().take(4).collect::<String>())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Subject names in Chinese: 物理、化学、生物.
    pub fn names_zh(&self) -> String {
        TRACKS
            .iter()
            .chain(RECHOSEN.iter())
            .filter(|s| self.ids().contains(&s.0))
            .map(|s| s.1)
            .collect::<Vec<_>>()
            .join("、")
    }

    fn from_record(record: &CourseChoiceRecord) -> Option<Combination> {
        Combination::from_ids(&[&record.track, &record.elective_1, &record.elective_2]).ok()
    }

    fn write(&self) -> (String, String, String) {
        (
            self.track.to_owned(),
            self.electives[0].to_owned(),
            self.electives[1].to_owned(),
        )
    }
}

// --- settings -----------------------------------------------------------------------------------------------

/// A compulsory subject and its weekly periods (0 leaves it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompulsorySetting {
    pub id: String,
    pub name: String,
    pub periods: u32,
}

/// A teacher's part in this grade's timetable (only differences from the default are stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeacherSetting {
    /// False: the teacher does not teach this grade (or has left).
    pub include: bool,
    /// Weekly periods available for this grade; None = the window's default.
    pub max_periods: Option<u32>,
}

impl Default for TeacherSetting {
    fn default() -> Self {
        TeacherSetting {
            include: true,
            max_periods: None,
        }
    }
}

/// How a window's timetable is built. Stored as JSON with the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimetableSettings {
    pub days: u32,
    pub periods_per_day: u32,
    /// Slots without lessons for anyone (flag-raising, class meeting): (day, period) from 0.
    pub blocked: Vec<(u32, u32)>,
    pub compulsory: Vec<CompulsorySetting>,
    pub selective_periods: u32,
    pub proficiency_periods: u32,
    pub max_class_size: u32,
    /// Weekly periods a teacher gives this grade unless set per teacher.
    pub teacher_max_periods: u32,
    /// Per staff number.
    pub teachers: BTreeMap<String, TeacherSetting>,
    /// Teachers still to be hired or borrowed, per subject id (shown as 待聘).
    pub vacancies: BTreeMap<String, u32>,
    /// Extra rooms for teaching classes when the registry has no rooms (None: ⌈classes ÷ 4⌉ + 2).
    pub extra_rooms: Option<u32>,
    pub seed: u64,
    pub budget_seconds: u32,
}

impl Default for TimetableSettings {
    fn default() -> Self {
        let compulsory = [
            ("chn", "语文", 5),
            ("math", "数学", 5),
            ("eng", "外语", 5),
            ("pe", "体育与健康", 2),
            ("it", "信息技术", 1),
            ("gt", "通用技术", 1),
            ("art", "艺术", 1),
        ]
        .into_iter()
        .map(|(id, name, periods)| CompulsorySetting {
            id: id.into(),
            name: name.into(),
            periods,
        })
        .collect();
        TimetableSettings {
            days: 5,
            periods_per_day: 9,
            blocked: vec![(0, 0), (4, 8)],
            compulsory,
            selective_periods: 5,
            proficiency_periods: 2,
            max_class_size: 50,
            teacher_max_periods: 12,
            teachers: BTreeMap::new(),
            vacancies: BTreeMap::new(),
            extra_rooms: None,
            seed: 1,
            budget_seconds: 30,
        }
    }
}

impl TimetableSettings {
    fn from_json(text: &str) -> TimetableSettings {
        // Written by this module only; an unreadable value (an older layout) falls back to the defaults.
        serde_json::from_str(text).unwrap_or_default()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Field-named problems; empty when the settings can be used.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=7).contains(&self.days) {
            errors.push(FieldError::new("days", "每周上课 1–7 天 / 1–7 days a week"));
        }
        if !(4..=12).contains(&self.periods_per_day) {
            errors.push(FieldError::new(
                "periods_per_day",
                "每天 4–12 节 / 4–12 periods a day",
            ));
        }
        for (day, period) in &self.blocked {
            if *day >= self.days || *period >= self.periods_per_day {
                errors.push(FieldError::new(
                    "blocked",
                    format!(
                        "时段 周{}第{}节 不在一周之内 / slot ({day}, {period}) is outside the week",
                        day + 1,
                        period + 1
                    ),
                ));
            }
        }
        if self.compulsory.iter().any(|c| c.periods > 10) {
            errors.push(FieldError::new(
                "compulsory",
                "每门必修课每周至多 10 节 / at most 10 periods a week per subject",
            ));
        }
        if !(1..=8).contains(&self.selective_periods) || self.proficiency_periods > 6 {
            errors.push(FieldError::new(
                "selective_periods",
                "选考每周 1–8 节、学考 0–6 节 / selective 1–8, proficiency 0–6 periods",
            ));
        }
        if !(10..=80).contains(&self.max_class_size) {
            errors.push(FieldError::new(
                "max_class_size",
                "教学班人数上限 10–80 / class size limit 10–80",
            ));
        }
        if !(1..=40).contains(&self.teacher_max_periods)
            || self
                .teachers
                .values()
                .any(|t| t.max_periods.is_some_and(|m| m > 40))
        {
            errors.push(FieldError::new(
                "teacher_max_periods",
                "教师每周课时 1–40 / 1–40 periods a week per teacher",
            ));
        }
        if self.vacancies.values().any(|n| *n > 20)
            || self
                .vacancies
                .keys()
                .any(|s| !all_subject_ids(self).contains(&s.as_str()))
        {
            errors.push(FieldError::new(
                "vacancies",
                "待聘教师：每科至多 20 名 / at most 20 vacancies per subject",
            ));
        }
        if self.extra_rooms.is_some_and(|n| n > 60) {
            errors.push(FieldError::new(
                "extra_rooms",
                "走班教室至多 60 间 / at most 60 extra rooms",
            ));
        }
        if !(1..=MAX_BUDGET_SECONDS).contains(&self.budget_seconds) {
            errors.push(FieldError::new(
                "budget_seconds",
                format!(
                    "求解时限 1–{MAX_BUDGET_SECONDS} 秒 / time budget 1–{MAX_BUDGET_SECONDS} seconds"
                ),
            ));
        }
        let weekly = self.days * self.periods_per_day;
        let free = weekly.saturating_sub(self.blocked.len() as u32);
        let needed = self.compulsory.iter().map(|c| c.periods).sum::<u32>()
            + 3 * self.selective_periods
            + 3 * self.proficiency_periods;
        if errors.is_empty() && needed > free {
            errors.push(FieldError::new(
                "compulsory",
                format!(
                    "每名学生每周需 {needed} 节，但只有 {free} 个可排时段 / each student needs {needed} periods but only {free} slots are free"
                ),
            ));
        }
        errors
    }
}

/// The six electives of 3+1+2 with their names in the timetable.
const ELECTIVES: [(&str, &str); 6] = [
    ("phy", "物理"),
    ("his", "历史"),
    ("chem", "化学"),
    ("bio", "生物"),
    ("pol", "思想政治"),
    ("geo", "地理"),
];

fn all_subject_ids(settings: &TimetableSettings) -> Vec<&str> {
    ELECTIVES
        .iter()
        .map(|e| e.0)
        .chain(settings.compulsory.iter().map(|c| c.id.as_str()))
        .collect()
}

/// Subject ids a teacher can teach, from the registry's free-text subjects (e.g. "物理", "英语、日语").
/// 信息技术 teachers also take 通用技术 (both are 技术 in the 2017 curriculum); music and fine-art teachers take 艺术.
pub fn teacher_subject_ids(subjects: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let parts = subjects.split(|c: char| {
        matches!(c, '、' | ',' | '，' | ';' | '；' | '/' | '|') || c.is_whitespace()
    });
    for part in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let ids: &[&'static str] = match part {
            "语文" => &["chn"],
            "数学" => &["math"],
            "英语" | "外语" | "日语" | "俄语" => &["eng"],
            "体育" | "体育与健康" => &["pe"],
            "信息技术" | "技术" => &["it", "gt"],
            "通用技术" => &["gt"],
            "音乐" | "美术" | "艺术" => &["art"],
            "物理" => &["phy"],
            "历史" => &["his"],
            "化学" => &["chem"],
            "生物" => &["bio"],
            "政治" | "思想政治" | "道德与法治" => &["pol"],
            "地理" => &["geo"],
            _ => &[],
        };
        for id in ids {
            if !out.contains(id) {
                out.push(*id);
            }
        }
    }
    out
}

/// Chinese and English names of the subject ids this module uses in instances.
pub fn subject_names(id: &str) -> Option<(&'static str, &'static str)> {
    const NAMES: [(&str, &str, &str); 13] = [
        ("chn", "语文", "Chinese"),
        ("math", "数学", "Mathematics"),
        ("eng", "外语", "Foreign language"),
        ("pe", "体育与健康", "PE and health"),
        ("it", "信息技术", "Information technology"),
        ("gt", "通用技术", "General technology"),
        ("art", "艺术", "Arts"),
        ("phy", "物理", "Physics"),
        ("his", "历史", "History"),
        ("chem", "化学", "Chemistry"),
        ("bio", "生物", "Biology"),
        ("pol", "思想政治", "Politics"),
        ("geo", "地理", "Geography"),
    ];
    NAMES.iter().find(|n| n.0 == id).map(|n| (n.1, n.2))
}

/// The Chinese name of a subject id of this module (compulsory names come from the settings).
fn subject_name_zh(settings: &TimetableSettings, id: &str) -> String {
    ELECTIVES
        .iter()
        .find(|e| e.0 == id)
        .map(|e| e.1.to_owned())
        .or_else(|| {
            settings
                .compulsory
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
        })
        .unwrap_or_else(|| id.to_owned())
}

// --- read models --------------------------------------------------------------------------------------------

/// A window as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    pub record: ChoiceWindowRecord,
    pub settings: TimetableSettings,
    /// Choices may be entered today (China time).
    pub open_now: bool,
    /// Today is after the closing day.
    pub closed: bool,
    pub pupils: i64,
}

/// What the timetable section shows first.
#[derive(Debug, Clone, Serialize)]
pub struct TimetableOverview {
    pub windows: Vec<WindowInfo>,
    /// The actor's own school, when it may open a window there: (code, name).
    pub can_open_for: Option<(String, String)>,
    pub today: String,
}

/// Entry progress of one administrative class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassProgress {
    pub class_id: i64,
    pub name: String,
    pub pupils: i64,
    pub entered: i64,
    pub missing: i64,
}

/// The school's view of a window: combination counts, progress per class, runs.
#[derive(Debug, Clone, Serialize)]
pub struct WindowDashboard {
    pub window: WindowInfo,
    /// The 12 combinations with their counts, chart order.
    pub counts: Vec<(Combination, i64)>,
    pub entered: i64,
    /// Pupils choosing physics (of those entered).
    pub physics: i64,
    pub classes: Vec<ClassProgress>,
    pub runs: Vec<TimetableRunSummary>,
    /// The newest valid run.
    pub current_run: Option<i64>,
    /// Whether the actor may enter choices / run the solver / import here.
    pub can_enter: bool,
    pub can_manage: bool,
    /// Whether pupils' names may be shown (only to the school itself).
    pub names_visible: bool,
}

/// One pupil on a class entry form.
#[derive(Debug, Clone, Serialize)]
pub struct PupilChoice {
    pub pupil_id: i64,
    pub name: String,
    pub sex: String,
    pub choice: Option<Combination>,
}

/// A class's entry form.
#[derive(Debug, Clone, Serialize)]
pub struct ClassChoices {
    pub window: WindowInfo,
    pub class_id: i64,
    pub class_name: String,
    pub pupils: Vec<PupilChoice>,
    pub editable: bool,
}

/// A choice entered for one pupil: track and re-chosen subjects as submitted (unvalidated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChoiceInput {
    pub track: String,
    pub electives: Vec<String>,
}

impl ChoiceInput {
    fn is_empty(&self) -> bool {
        self.track.trim().is_empty() && self.electives.iter().all(|e| e.trim().is_empty())
    }
}

/// A choice for the API: the three selective subjects, or none to remove a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiChoice {
    pub pupil_id: i64,
    pub selective: Option<Vec<String>>,
}

/// One pupil's choice as the API lists it (no names).
#[derive(Debug, Clone, Serialize)]
pub struct ChoiceRow {
    pub pupil_id: i64,
    /// The student id used in the instance and solution (`P<pupil id>`).
    pub student: String,
    pub admin_class: Option<String>,
    pub selective: Option<[&'static str; 3]>,
    pub combination: Option<String>,
    pub entered_by: Option<String>,
    pub entered_at_ms: Option<i64>,
}

/// A line of an import that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceImportError {
    pub line: usize,
    pub column: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ChoiceImportReport {
    pub rows: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub errors: Vec<ChoiceImportError>,
    pub committed: bool,
}

/// How to run the solver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SolveRequest {
    /// None: the window's setting.
    pub seed: Option<u64>,
    pub budget_seconds: Option<u32>,
    /// Solve although some pupils have no choice yet (they get their compulsory lessons only).
    pub allow_missing: bool,
    /// Start from the newest valid timetable and keep as much of it as possible.
    pub keep_previous: bool,
}

/// An instance built from the registry and the choices, with what the pages need to name things.
#[derive(Debug, Clone)]
pub struct BuiltInstance {
    pub instance: Instance,
    pub pupils_without_choice: usize,
    pub notes: Vec<String>,
}

/// Solver statistics as stored (a subset of the engine's, read leniently).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredStats {
    pub method: String,
    pub lower_bound: u64,
    pub teaching_classes: u64,
    pub blocks: u64,
    pub stability: Option<StoredStability>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredStability {
    pub enrolments_kept: f64,
    pub admin_lessons_kept: f64,
}

/// The check report as stored (read leniently).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredReport {
    pub valid: bool,
    pub violations: Vec<StoredViolation>,
    pub quality: StoredQuality,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredViolation {
    pub constraint: u8,
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredQuality {
    pub teaching_classes: u64,
    pub lower_bound: u64,
    pub max_size_range: u64,
    pub student_idle_periods: u64,
    pub students_with_idle: u64,
    pub max_student_idle_per_week: u64,
    pub teacher_idle_periods: u64,
    pub same_subject_twice_a_day: u64,
    pub groups: Vec<StoredGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredGroup {
    pub subject: String,
    pub level: String,
    pub demand: u64,
    pub max_class_size: u64,
    pub lower_bound: u64,
    pub classes: u64,
    pub min_size: u64,
    pub max_size: u64,
}

/// Why no timetable came out, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredExplanation {
    pub summary: String,
    pub shortages: Vec<StoredShortage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredShortage {
    pub resource: String,
    pub needed: u64,
    pub available: u64,
    pub message: String,
}

/// A run with its documents parsed.
#[derive(Debug, Clone)]
pub struct RunView {
    pub window: WindowInfo,
    pub summary: TimetableRunSummary,
    /// Still running (and not stale).
    pub running: bool,
    pub elapsed_ms: i64,
    pub instance: Instance,
    pub solution: Option<Solution>,
    pub report: Option<StoredReport>,
    pub stats: Option<StoredStats>,
    pub explanation: Option<StoredExplanation>,
    /// Display names: teacher id → name, student id → name (masked outside the school), subject id → name.
    pub teacher_names: BTreeMap<String, String>,
    pub student_names: BTreeMap<String, String>,
    pub subject_names: BTreeMap<String, String>,
    pub names_visible: bool,
}

/// Whose week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GridKind {
    AdminClass,
    Teacher,
    Room,
    Student,
}

impl GridKind {
    pub const ALL: [GridKind; 4] = [
        GridKind::AdminClass,
        GridKind::Teacher,
        GridKind::Room,
        GridKind::Student,
    ];

    pub fn parse(code: &str) -> Option<GridKind> {
        GridKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            GridKind::AdminClass => "class",
            GridKind::Teacher => "teacher",
            GridKind::Room => "room",
            GridKind::Student => "student",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            GridKind::AdminClass => "行政班",
            GridKind::Teacher => "教师",
            GridKind::Room => "教室",
            GridKind::Student => "学生",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            GridKind::AdminClass => "Class",
            GridKind::Teacher => "Teacher",
            GridKind::Room => "Room",
            GridKind::Student => "Student",
        }
    }
}

/// One lesson in a grid cell, with names resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridLesson {
    pub subject: String,
    pub subject_name: String,
    /// "selective", "proficiency", or None for compulsory lessons.
    pub level: Option<&'static str>,
    /// Teaching class id, or administrative class id for compulsory lessons.
    pub class: String,
    pub teacher: String,
    pub teacher_name: String,
    pub room: String,
    /// Students in the lesson.
    pub size: usize,
}

/// A week as a table: `cells[period][day]`.
#[derive(Debug, Clone, Serialize)]
pub struct GridView {
    pub kind: GridKind,
    pub of: String,
    pub title: String,
    pub days: u32,
    pub periods_per_day: u32,
    pub cells: Vec<Vec<Vec<GridLesson>>>,
    pub blocked: Vec<(u32, u32)>,
    pub lessons: usize,
}

impl GridView {
    pub fn is_blocked(&self, day: u32, period: u32) -> bool {
        self.blocked.contains(&(day, period))
    }
}

// --- use cases ----------------------------------------------------------------------------------------------

fn today(app: &App) -> String {
    edu_model::china_time::business_date(app.clock.now()).to_string()
}

fn own_school(actor: &Actor) -> Option<i64> {
    match &actor.scope {
        Scope::Institution { id, .. } => Some(*id),
        _ => None,
    }
}

fn parse_date(field: &str, text: &str) -> Result<String, FieldError> {
    text.trim()
        .parse::<jiff::civil::Date>()
        .map(|d| d.to_string())
        .map_err(|_| FieldError::new(field, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD"))
}

fn window_info(app: &App, record: ChoiceWindowRecord, pupils: i64) -> WindowInfo {
    let today = today(app);
    let settings = TimetableSettings::from_json(&record.settings_json);
    WindowInfo {
        open_now: record.opens_on.as_str() <= today.as_str()
            && today.as_str() <= record.closes_on.as_str(),
        closed: today.as_str() > record.closes_on.as_str(),
        settings,
        record,
        pupils,
    }
}

fn store_invalid(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict(message) => AppError::Conflict(message),
        other => AppError::Store(other),
    }
}

impl App {
    /// A window in the actor's scope (anything else is `NotFound`).
    async fn scoped_window(&self, actor: &Actor, id: i64) -> Result<WindowInfo, AppError> {
        let record = self
            .store
            .choice_window(&actor.scope_filter(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let pupils = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?
            .len() as i64;
        Ok(window_info(self, record, pupils))
    }

    /// Requires a permission and that the window belongs to the actor's own school (writes are the school's).
    fn require_own(
        actor: &Actor,
        window: &WindowInfo,
        permission: Permission,
    ) -> Result<(), AppError> {
        actor.require(permission)?;
        if own_school(actor) != Some(window.record.institution_id) && !actor.operator {
            return Err(AppError::Forbidden(Forbidden(permission)));
        }
        Ok(())
    }

    fn view_permission(actor: &Actor) -> Result<(), AppError> {
        if actor.can(Permission::SubmitReports) || actor.can(Permission::RunAllocations) {
            Ok(())
        } else {
            Err(AppError::Forbidden(Forbidden(Permission::RunAllocations)))
        }
    }

    /// Windows in scope and whether the actor may open one.
    pub async fn timetable_overview(&self, actor: &Actor) -> Result<TimetableOverview, AppError> {
        App::view_permission(actor)?;
        let mut windows = Vec::new();
        for record in self.store.choice_windows(&actor.scope_filter()).await? {
            let pupils = self
                .store
                .grade_pupils(record.institution_id, record.grade)
                .await?
                .len() as i64;
            windows.push(window_info(self, record, pupils));
        }
        let mut can_open_for = None;
        if let (Some(_), Scope::Institution { code, .. }) = (own_school(actor), &actor.scope)
            && actor.can(Permission::RunAllocations)
            && let Some(school) = self
                .store
                .institution_by_code(&actor.scope_filter(), code)
                .await?
                .filter(|i| i.kind == "senior")
        {
            can_open_for = Some((school.code, school.name));
        }
        Ok(TimetableOverview {
            windows,
            can_open_for,
            today: today(self),
        })
    }

    /// Opens a course-choice window for a grade of the actor's own senior high.
    pub async fn open_choice_window(
        &self,
        actor: &Actor,
        grade: i64,
        title: &str,
        opens_on: &str,
        closes_on: &str,
        context: &AuditContext,
    ) -> Result<i64, AppError> {
        actor.require(Permission::RunAllocations)?;
        let Some(school_id) = own_school(actor) else {
            return Err(AppError::Forbidden(Forbidden(Permission::RunAllocations)));
        };
        let code = actor.scope.code().to_owned();
        let school = self
            .store
            .institution_by_code(&actor.scope_filter(), &code)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut errors = Vec::new();
        if school.kind != "senior" {
            errors.push(FieldError::new(
                "grade",
                "只有普通高中开设选课走班 / only senior highs run course choices",
            ));
        }
        if !(10..=12).contains(&grade) {
            errors.push(FieldError::new(
                "grade",
                "年级应为 10–12（高一至高三）/ grade must be 10–12",
            ));
        }
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 60 {
            errors.push(FieldError::new(
                "title",
                "请填写名称（至多 60 字）/ a title of at most 60 characters",
            ));
        }
        let opens = parse_date("opens_on", opens_on);
        let closes = parse_date("closes_on", closes_on);
        match (&opens, &closes) {
            (Ok(o), Ok(c)) if c < o => errors.push(FieldError::new(
                "closes_on",
                "截止日期不能早于开始日期 / the window cannot close before it opens",
            )),
            _ => {}
        }
        for e in [&opens, &closes] {
            if let Err(e) = e {
                errors.push(e.clone());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let (opens, closes) = (opens.unwrap_or_default(), closes.unwrap_or_default());
        let now_ms = self.clock.now_ms();
        let write = ChoiceWindowWrite {
            institution_id: school_id,
            grade,
            title: title.to_owned(),
            opens_on: opens.clone(),
            closes_on: closes.clone(),
            rule: RULE_HLJ_312.to_owned(),
            settings_json: TimetableSettings::default().to_json(),
            created_by: actor.username.clone(),
        };
        let entry = audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "timetable.window.open",
            "tt_window",
            "",
            Outcome::Success,
            &format!("grade={grade} opens={opens} closes={closes}"),
        );
        Ok(self
            .store
            .insert_choice_window(&write, now_ms, &entry)
            .await?)
    }

    /// Moves a window's dates (reopening it to correct choices, or closing it early).
    pub async fn set_window_dates(
        &self,
        actor: &Actor,
        id: i64,
        opens_on: &str,
        closes_on: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let window = self.scoped_window(actor, id).await?;
        App::require_own(actor, &window, Permission::RunAllocations)?;
        let opens = parse_date("opens_on", opens_on);
        let closes = parse_date("closes_on", closes_on);
        let (opens, closes) = match (opens, closes) {
            (Ok(o), Ok(c)) if c >= o => (o, c),
            (Ok(_), Ok(_)) => {
                return Err(AppError::invalid(
                    "closes_on",
                    "截止日期不能早于开始日期 / the window cannot close before it opens",
                ));
            }
            (o, c) => {
                return Err(AppError::Invalid(
                    [o.err(), c.err()].into_iter().flatten().collect(),
                ));
            }
        };
        let now_ms = self.clock.now_ms();
        let entry = audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "timetable.window.dates",
            "tt_window",
            &id.to_string(),
            Outcome::Success,
            &format!("opens={opens} closes={closes}"),
        );
        self.store
            .update_choice_window(
                id,
                &opens,
                &closes,
                &window.record.settings_json,
                now_ms,
                &entry,
            )
            .await?;
        Ok(())
    }

    /// Stores a window's timetable settings (validated, field-named errors).
    pub async fn set_timetable_settings(
        &self,
        actor: &Actor,
        id: i64,
        settings: &TimetableSettings,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let window = self.scoped_window(actor, id).await?;
        App::require_own(actor, &window, Permission::RunAllocations)?;
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        let now_ms = self.clock.now_ms();
        let excluded = settings.teachers.values().filter(|t| !t.include).count();
        let entry = audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "timetable.settings",
            "tt_window",
            &id.to_string(),
            Outcome::Success,
            &format!(
                "periods={}x{} excluded_teachers={excluded} vacancies={}",
                settings.days,
                settings.periods_per_day,
                settings.vacancies.values().sum::<u32>()
            ),
        );
        self.store
            .update_choice_window(
                id,
                &window.record.opens_on,
                &window.record.closes_on,
                &settings.to_json(),
                now_ms,
                &entry,
            )
            .await?;
        Ok(())
    }

    /// The window's settings page data: the settings and the school's teachers with the subjects they map to.
    pub async fn timetable_teachers(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(WindowInfo, Vec<(SchoolTeacherRecord, Vec<&'static str>)>), AppError> {
        let window = self.scoped_window(actor, id).await?;
        App::view_permission(actor)?;
        let teachers = self
            .store
            .school_teachers(window.record.institution_id)
            .await?
            .into_iter()
            .map(|t| {
                let ids = teacher_subject_ids(&t.subjects);
                (t, ids)
            })
            .collect();
        Ok((window, teachers))
    }

    /// Counts, progress per class and runs of a window.
    pub async fn window_dashboard(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<WindowDashboard, AppError> {
        App::view_permission(actor)?;
        let window = self.scoped_window(actor, id).await?;
        let record = &window.record;
        let classes = self
            .store
            .grade_classes(record.institution_id, record.grade)
            .await?;
        let pupils = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?;
        let choices = self.store.course_choices(record.id).await?;
        let in_grade: HashMap<i64, Option<i64>> =
            pupils.iter().map(|p| (p.pupil_id, p.class_id)).collect();
        let mut per_combination: BTreeMap<Combination, i64> = BTreeMap::new();
        let mut per_class: HashMap<i64, i64> = HashMap::new();
        let mut entered = 0;
        for choice in &choices {
            // Pupils who left the grade after choosing are not counted.
            let Some(class) = in_grade.get(&choice.pupil_id) else {
                continue;
            };
            let Some(combination) = Combination::from_record(choice) else {
                continue;
            };
            entered += 1;
            *per_combination.entry(combination).or_insert(0) += 1;
            if let Some(class) = class {
                *per_class.entry(*class).or_insert(0) += 1;
            }
        }
        let counts: Vec<(Combination, i64)> = Combination::all()
            .into_iter()
            .map(|c| (c, per_combination.get(&c).copied().unwrap_or(0)))
            .collect();
        let physics = counts
            .iter()
            .filter(|(c, _)| c.track() == "phy")
            .map(|(_, n)| n)
            .sum();
        let classes = classes
            .into_iter()
            .map(|c| {
                let done = per_class.get(&c.class_id).copied().unwrap_or(0);
                ClassProgress {
                    class_id: c.class_id,
                    name: c.name,
                    pupils: c.pupils,
                    entered: done,
                    missing: (c.pupils - done).max(0),
                }
            })
            .collect();
        let runs = self.store.timetable_runs(record.id).await?;
        let current_run = runs.iter().find(|r| r.status == "valid").map(|r| r.id);
        let own = own_school(actor) == Some(record.institution_id);
        Ok(WindowDashboard {
            can_enter: own
                && actor.can(Permission::SubmitReports)
                && (window.open_now || actor.can(Permission::RunAllocations)),
            can_manage: own && actor.can(Permission::RunAllocations),
            names_visible: own,
            counts,
            entered,
            physics,
            classes,
            runs,
            current_run,
            window,
        })
    }

    /// A class's pupils and their choices (names only for the school itself).
    pub async fn class_choices(
        &self,
        actor: &Actor,
        window_id: i64,
        class_id: i64,
    ) -> Result<ClassChoices, AppError> {
        actor.require(Permission::SubmitReports)?;
        let window = self.scoped_window(actor, window_id).await?;
        App::require_own(actor, &window, Permission::SubmitReports)?;
        let record = &window.record;
        let class = self
            .store
            .grade_classes(record.institution_id, record.grade)
            .await?
            .into_iter()
            .find(|c| c.class_id == class_id)
            .ok_or(AppError::NotFound)?;
        let choices: HashMap<i64, Combination> = self
            .store
            .course_choices(record.id)
            .await?
            .iter()
            .filter_map(|c| Combination::from_record(c).map(|k| (c.pupil_id, k)))
            .collect();
        let pupils = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?
            .into_iter()
            .filter(|p| p.class_id == Some(class_id))
            .map(|p| PupilChoice {
                choice: choices.get(&p.pupil_id).copied(),
                pupil_id: p.pupil_id,
                name: p.name,
                sex: p.sex,
            })
            .collect();
        Ok(ClassChoices {
            editable: window.open_now || actor.can(Permission::RunAllocations),
            class_id,
            class_name: class.name,
            pupils,
            window,
        })
    }

    /// Stores the choices entered for a class. Every pupil is validated first (the field named
    /// `sel.<pupil id>` or `track.<pupil id>`); on any error nothing is stored. Each changed choice is audited.
    /// Returns how many choices changed.
    pub async fn set_class_choices(
        &self,
        actor: &Actor,
        window_id: i64,
        class_id: i64,
        entries: &BTreeMap<i64, ChoiceInput>,
        context: &AuditContext,
    ) -> Result<usize, AppError> {
        let form = self.class_choices(actor, window_id, class_id).await?;
        if !form.editable {
            return Err(AppError::invalid(
                "window",
                "选课窗口未开放 / the course-choice window is not open",
            ));
        }
        let mut errors = Vec::new();
        let mut writes = Vec::new();
        for pupil in &form.pupils {
            let input = entries.get(&pupil.pupil_id).cloned().unwrap_or_default();
            let wanted = if input.is_empty() {
                None
            } else {
                match Combination::from_parts(&input.track, &input.electives) {
                    Ok(c) => Some(c),
                    Err(problem) => {
                        let field = match problem {
                            ChoiceProblem::Track => format!("track.{}", pupil.pupil_id),
                            _ => format!("sel.{}", pupil.pupil_id),
                        };
                        errors.push(FieldError::new(
                            field,
                            format!("{}：{}", pupil.name, problem.reason()),
                        ));
                        continue;
                    }
                }
            };
            if wanted != pupil.choice {
                writes.push((pupil.pupil_id, wanted));
            }
        }
        if entries
            .keys()
            .any(|id| !form.pupils.iter().any(|p| p.pupil_id == *id))
        {
            errors.push(FieldError::new(
                "pupil",
                "该学生不在本班 / a pupil is not in this class",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.store_choices(actor, &form.window, &writes, "form", context)
            .await?;
        Ok(writes.len())
    }

    /// Writes choice changes with one audit row per changed pupil (ids only, no values).
    async fn store_choices(
        &self,
        actor: &Actor,
        window: &WindowInfo,
        writes: &[(i64, Option<Combination>)],
        how: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        if writes.is_empty() {
            return Ok(());
        }
        let now_ms = self.clock.now_ms();
        let audits: Vec<_> = writes
            .iter()
            .map(|(pupil_id, choice)| {
                audit::entry(
                    now_ms,
                    Some(actor),
                    "",
                    context,
                    if choice.is_some() {
                        "timetable.choice.set"
                    } else {
                        "timetable.choice.clear"
                    },
                    "pupil",
                    &pupil_id.to_string(),
                    Outcome::Success,
                    &format!("window={} via={how}", window.record.id),
                )
            })
            .collect();
        let rows: Vec<CourseChoiceWrite> = writes
            .iter()
            .map(|(pupil_id, choice)| CourseChoiceWrite {
                pupil_id: *pupil_id,
                subjects: choice.map(|c| c.write()),
            })
            .collect();
        self.store
            .set_course_choices(window.record.id, &rows, &actor.username, now_ms, &audits)
            .await?;
        Ok(())
    }

    /// Choices through the API: all validated first (fields `choices[i].selective` / `choices[i].pupil_id`).
    pub async fn set_choices_api(
        &self,
        actor: &Actor,
        window_id: i64,
        choices: &[ApiChoice],
        context: &AuditContext,
    ) -> Result<usize, AppError> {
        actor.require(Permission::SubmitReports)?;
        let window = self.scoped_window(actor, window_id).await?;
        App::require_own(actor, &window, Permission::SubmitReports)?;
        if !(window.open_now || actor.can(Permission::RunAllocations)) {
            return Err(AppError::invalid(
                "window",
                "选课窗口未开放 / the course-choice window is not open",
            ));
        }
        let record = &window.record;
        let pupils: BTreeSet<i64> = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?
            .iter()
            .map(|p| p.pupil_id)
            .collect();
        let current: HashMap<i64, Combination> = self
            .store
            .course_choices(record.id)
            .await?
            .iter()
            .filter_map(|c| Combination::from_record(c).map(|k| (c.pupil_id, k)))
            .collect();
        let mut errors = Vec::new();
        let mut writes = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, choice) in choices.iter().enumerate() {
            if !pupils.contains(&choice.pupil_id) || !seen.insert(choice.pupil_id) {
                errors.push(FieldError::new(
                    format!("choices[{i}].pupil_id"),
                    "不是本年级的在籍学生，或重复 / not an enrolled pupil of this grade, or repeated",
                ));
                continue;
            }
            let wanted = match &choice.selective {
                None => None,
                Some(ids) => match Combination::from_ids(ids) {
                    Ok(c) => Some(c),
                    Err(problem) => {
                        errors.push(FieldError::new(
                            format!("choices[{i}].selective"),
                            problem.reason(),
                        ));
                        continue;
                    }
                },
            };
            if wanted != current.get(&choice.pupil_id).copied() {
                writes.push((choice.pupil_id, wanted));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.store_choices(actor, &window, &writes, "api", context)
            .await?;
        Ok(writes.len())
    }

    /// Every pupil of the window's grade with their choice (ids, no names).
    pub async fn window_choices(
        &self,
        actor: &Actor,
        window_id: i64,
    ) -> Result<(WindowInfo, Vec<ChoiceRow>), AppError> {
        App::view_permission(actor)?;
        let window = self.scoped_window(actor, window_id).await?;
        let record = &window.record;
        let classes: HashMap<i64, String> = self
            .store
            .grade_classes(record.institution_id, record.grade)
            .await?
            .into_iter()
            .map(|c| (c.class_id, c.name))
            .collect();
        let choices: HashMap<i64, CourseChoiceRecord> = self
            .store
            .course_choices(record.id)
            .await?
            .into_iter()
            .map(|c| (c.pupil_id, c))
            .collect();
        let rows = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?
            .into_iter()
            .map(|p| {
                let stored = choices.get(&p.pupil_id);
                let combination = stored.and_then(Combination::from_record);
                ChoiceRow {
                    pupil_id: p.pupil_id,
                    student: format!("P{}", p.pupil_id),
                    admin_class: p.class_id.and_then(|c| classes.get(&c).cloned()),
                    selective: combination.map(|c| c.ids()),
                    combination: combination.map(|c| c.short_zh()),
                    entered_by: stored.map(|c| c.entered_by.clone()),
                    entered_at_ms: stored.map(|c| c.entered_at),
                }
            })
            .collect();
        Ok((window, rows))
    }

    /// The entry sheet for a grade (.xlsx): one row per pupil with id, class and name, and the choice columns
    /// to fill in (prefilled where a choice exists). Contains names: the school's own export, audited.
    pub async fn choice_sheet(
        &self,
        actor: &Actor,
        window_id: i64,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        let window = self.scoped_window(actor, window_id).await?;
        App::require_own(actor, &window, Permission::ExportData)?;
        let record = &window.record;
        let classes: HashMap<i64, String> = self
            .store
            .grade_classes(record.institution_id, record.grade)
            .await?
            .into_iter()
            .map(|c| (c.class_id, c.name))
            .collect();
        let choices: HashMap<i64, Combination> = self
            .store
            .course_choices(record.id)
            .await?
            .iter()
            .filter_map(|c| Combination::from_record(c).map(|k| (c.pupil_id, k)))
            .collect();
        let pupils = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?;
        let headers = [
            "学生ID",
            "班级",
            "姓名",
            "首选科目",
            "再选科目1",
            "再选科目2",
        ];
        let rows: Vec<Vec<String>> = pupils
            .iter()
            .map(|p| {
                let choice = choices.get(&p.pupil_id);
                let name_of = |id: &str| {
                    TRACKS
                        .iter()
                        .chain(RECHOSEN.iter())
                        .find(|s| s.0 == id)
                        .map(|s| s.1.to_owned())
                        .unwrap_or_default()
                };
                vec![
                    p.pupil_id.to_string(),
                    p.class_id
                        .and_then(|c| classes.get(&c).cloned())
                        .unwrap_or_default(),
                    p.name.clone(),
                    choice.map(|c| name_of(c.track())).unwrap_or_default(),
                    choice
                        .map(|c| name_of(c.electives()[0]))
                        .unwrap_or_default(),
                    choice
                        .map(|c| name_of(c.electives()[1]))
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let watermark = self.watermark(actor);
        let sheet = XlsxSheet {
            name: "选科".to_owned(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows,
        };
        let bytes = write_workbook(&[sheet], &watermark)?;
        let file_name = format!(
            "eduplan-choices-{}-{}.xlsx",
            record.institution_code, record.id
        );
        let now_ms = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "export.timetable_choices",
            "tt_window",
            &record.id.to_string(),
            Outcome::Success,
            &format!("rows={}", pupils.len()),
        ))
        .await?;
        tx.commit().await?;
        Ok((bytes, file_name))
    }

    /// Imports choices from .xlsx or .csv (the entry sheet, or any table with a 学生ID / 学籍号 column and either a
    /// 选科组合 column or 首选科目 + 再选科目1 + 再选科目2). All or nothing; each changed choice audited.
    pub async fn import_choices(
        &self,
        actor: &Actor,
        window_id: i64,
        bytes: &[u8],
        file_name: &str,
        context: &AuditContext,
    ) -> Result<ChoiceImportReport, AppError> {
        actor.require(Permission::ImportData)?;
        let window = self.scoped_window(actor, window_id).await?;
        App::require_own(actor, &window, Permission::RunAllocations)?;
        let table = crate::exchange::read_table(bytes, file_name)
            .map_err(|e| AppError::invalid("file", e.to_string()))?;
        let column = |names: &[&str]| {
            table.headers.iter().position(|h| {
                let h = h.trim().trim_end_matches('*');
                names.contains(&h)
            })
        };
        let id_column = column(&["学生ID", "学生编号", "pupil_id", "student"]);
        let number_column = column(&["学籍号", "全国学籍号", "pupil_no"]);
        let combination_column = column(&["选科组合", "选科", "组合", "combination", "selective"]);
        let track_column = column(&["首选科目", "首选", "track"]);
        let first_column = column(&["再选科目1", "再选1", "elective_1"]);
        let second_column = column(&["再选科目2", "再选2", "elective_2"]);
        let mut header_errors = Vec::new();
        if id_column.is_none() && number_column.is_none() {
            header_errors.push(FieldError::new(
                "file",
                "缺少“学生ID”或“学籍号”列 / a 学生ID or 学籍号 column is required",
            ));
        }
        if combination_column.is_none()
            && (track_column.is_none() || first_column.is_none() || second_column.is_none())
        {
            header_errors.push(FieldError::new(
                "file",
                "缺少“选科组合”列，或“首选科目”“再选科目1”“再选科目2”列 / a 选科组合 column, or 首选科目 + 再选科目1 + 再选科目2, is required",
            ));
        }
        if !header_errors.is_empty() {
            return Err(AppError::Invalid(header_errors));
        }
        let record = &window.record;
        let pupils: BTreeSet<i64> = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?
            .iter()
            .map(|p| p.pupil_id)
            .collect();
        let current: HashMap<i64, Combination> = self
            .store
            .course_choices(record.id)
            .await?
            .iter()
            .filter_map(|c| Combination::from_record(c).map(|k| (c.pupil_id, k)))
            .collect();
        let mut errors = Vec::new();
        let mut writes: Vec<(i64, Option<Combination>)> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut unchanged = 0;
        let cell = |row: &[String], index: Option<usize>| {
            index
                .and_then(|i| row.get(i))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        for (line, row) in &table.rows {
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            // Which pupil: the internal id, or the full 学籍号 looked up by its blind index.
            let mut pupil = None;
            let id_text = cell(row, id_column);
            let number_text = cell(row, number_column);
            if !id_text.is_empty() {
                pupil = id_text.trim_start_matches('P').parse::<i64>().ok();
            } else if !number_text.is_empty()
                && let Ok(number) = edu_model::PupilNo::parse(&number_text)
            {
                let index = self.keys.blind_index("pupil_no", number.as_str());
                pupil = self.store.pupil_by_index(&index).await?.map(|p| p.id);
            }
            let Some(pupil) = pupil.filter(|p| pupils.contains(p)) else {
                errors.push(ChoiceImportError {
                    line: *line,
                    column: if id_text.is_empty() {
                        "学籍号".into()
                    } else {
                        "学生ID".into()
                    },
                    reason: "不是本校本年级的在籍学生 / not an enrolled pupil of this grade".into(),
                });
                continue;
            };
            if !seen.insert(pupil) {
                errors.push(ChoiceImportError {
                    line: *line,
                    column: "学生ID".into(),
                    reason: "同一学生出现多次 / the pupil appears more than once".into(),
                });
                continue;
            }
            let parsed =
                if combination_column.is_some() && !cell(row, combination_column).is_empty() {
                    Combination::parse_text(&cell(row, combination_column))
                        .map_err(|p| (table.headers[combination_column.unwrap_or(0)].clone(), p))
                } else {
                    let track = cell(row, track_column);
                    let electives = [cell(row, first_column), cell(row, second_column)];
                    if track.is_empty() && electives.iter().all(String::is_empty) {
                        // An empty choice leaves the pupil as they are.
                        unchanged += 1;
                        continue;
                    }
                    let to_id = |text: &str| {
                        Combination::parse_text_token(text).unwrap_or_else(|| text.to_owned())
                    };
                    Combination::from_parts(
                        &to_id(&track),
                        &[to_id(&electives[0]), to_id(&electives[1])],
                    )
                    .map_err(|p| {
                        let header = match p {
                            ChoiceProblem::Track => track_column,
                            _ => first_column,
                        };
                        (
                            header
                                .and_then(|i| table.headers.get(i).cloned())
                                .unwrap_or_default(),
                            p,
                        )
                    })
                };
            match parsed {
                Ok(c) => {
                    if current.get(&pupil) == Some(&c) {
                        unchanged += 1;
                    } else {
                        writes.push((pupil, Some(c)));
                    }
                }
                Err((column, problem)) => errors.push(ChoiceImportError {
                    line: *line,
                    column,
                    reason: problem.reason().to_owned(),
                }),
            }
        }
        let rows = table.rows.len();
        if !errors.is_empty() {
            return Ok(ChoiceImportReport {
                rows,
                changed: 0,
                unchanged: 0,
                errors,
                committed: false,
            });
        }
        self.store_choices(actor, &window, &writes, "import", context)
            .await?;
        Ok(ChoiceImportReport {
            rows,
            changed: writes.len(),
            unchanged,
            errors,
            committed: true,
        })
    }

    /// The instance for a window in the exchange format, built from the registry, the choices and the settings.
    pub async fn window_instance(
        &self,
        actor: &Actor,
        window_id: i64,
        allow_missing: bool,
    ) -> Result<BuiltInstance, AppError> {
        App::view_permission(actor)?;
        let window = self.scoped_window(actor, window_id).await?;
        self.build_instance(&window, allow_missing).await
    }

    async fn build_instance(
        &self,
        window: &WindowInfo,
        allow_missing: bool,
    ) -> Result<BuiltInstance, AppError> {
        let record = &window.record;
        let settings = &window.settings;
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        let classes = self
            .store
            .grade_classes(record.institution_id, record.grade)
            .await?;
        let pupils = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?;
        let choices: HashMap<i64, Combination> = self
            .store
            .course_choices(record.id)
            .await?
            .iter()
            .filter_map(|c| Combination::from_record(c).map(|k| (c.pupil_id, k)))
            .collect();
        let teachers = self.store.school_teachers(record.institution_id).await?;
        let rooms = self.store.school_rooms(record.institution_id).await?;
        build_instance_from(
            record,
            settings,
            &classes,
            &pupils,
            &choices,
            &teachers,
            &rooms,
            allow_missing,
        )
    }

    /// Starts a solver run: builds the instance, records the run as running (audited). The caller then calls
    /// [`App::run_timetable`] (the web in a background task, the API awaiting it).
    pub async fn start_timetable_run(
        &self,
        actor: &Actor,
        window_id: i64,
        request: &SolveRequest,
        context: &AuditContext,
    ) -> Result<i64, AppError> {
        let window = self.scoped_window(actor, window_id).await?;
        App::require_own(actor, &window, Permission::RunAllocations)?;
        let built = self.build_instance(&window, request.allow_missing).await?;
        let issues = edu_timetable::validate_instance(&built.instance);
        if !issues.is_empty() {
            return Err(AppError::Invalid(
                issues
                    .iter()
                    .take(10)
                    .map(|i| FieldError::new("instance", i.to_string()))
                    .collect(),
            ));
        }
        let settings = &window.settings;
        let seed = request.seed.unwrap_or(settings.seed);
        let budget = request
            .budget_seconds
            .unwrap_or(settings.budget_seconds)
            .clamp(1, MAX_BUDGET_SECONDS);
        let hint_run_id = if request.keep_previous {
            self.store
                .latest_valid_run(window.record.id)
                .await?
                .map(|r| r.summary.id)
        } else {
            None
        };
        let now_ms = self.clock.now_ms();
        let run = TimetableRunStart {
            window_id: window.record.id,
            seed: seed as i64,
            budget_seconds: i64::from(budget),
            hint_run_id,
            started_by: actor.username.clone(),
            started_at: now_ms,
            students: built.instance.students.len() as i64,
            instance_json: built.instance.to_json(),
            note: built.notes.join("；"),
        };
        let entry = audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "timetable.solve.start",
            "tt_run",
            "",
            Outcome::Success,
            &format!(
                "window={} students={} seed={seed} budget={budget}s hint={}",
                window.record.id,
                built.instance.students.len(),
                hint_run_id.map(|h| h.to_string()).unwrap_or_default()
            ),
        );
        self.store
            .start_timetable_run(&run, now_ms - STALE_RUN_MS, &entry)
            .await
            .map_err(store_invalid)
    }

    /// Runs the solver for a started run on a blocking thread (never on the async executor), checks the result
    /// with the independent checker and stores it: status `valid` only with zero hard violations.
    pub async fn run_timetable(
        &self,
        actor: &Actor,
        run_id: i64,
        context: &AuditContext,
    ) -> Result<TimetableRunSummary, AppError> {
        let record = self
            .store
            .timetable_run(&actor.scope_filter(), run_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if record.summary.status != "running" {
            return Err(AppError::Conflict("the run has already finished".into()));
        }
        let window = self.scoped_window(actor, record.summary.window_id).await?;
        App::require_own(actor, &window, Permission::RunAllocations)?;
        let hint = match record.summary.hint_run_id {
            Some(id) => self
                .store
                .timetable_run(&actor.scope_filter(), id)
                .await?
                .and_then(|r| r.solution_json)
                .and_then(|text| Solution::from_json(&text).ok()),
            None => None,
        };
        let result = match Instance::from_json(&record.instance_json) {
            Ok(instance) => {
                let seed = record.summary.seed as u64;
                let budget = Duration::from_secs(record.summary.budget_seconds.max(1) as u64);
                let outcome = tokio::task::spawn_blocking(move || {
                    solve_blocking(&instance, seed, budget, hint.as_ref())
                })
                .await;
                match outcome {
                    Ok(outcome) => outcome,
                    Err(join) => {
                        tracing::error!(error = %join, run = run_id, "the solver thread failed");
                        SolvedRun::failed("the solver stopped unexpectedly")
                    }
                }
            }
            Err(e) => SolvedRun::failed(&e.to_string()),
        };
        let now_ms = self.clock.now_ms();
        let stored = result.into_result(now_ms);
        let entry = audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "timetable.solve.finish",
            "tt_run",
            &run_id.to_string(),
            if stored.status == "valid" {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            &format!(
                "status={} ms={} classes={} hard={}",
                stored.status,
                stored.solve_ms,
                stored.teaching_classes.unwrap_or(0),
                stored.hard_violations.unwrap_or(0)
            ),
        );
        self.store
            .finish_timetable_run(run_id, &stored, &entry)
            .await?;
        let mut summary = record.summary;
        summary.status = stored.status;
        summary.finished_at = Some(stored.finished_at);
        summary.solve_ms = Some(stored.solve_ms);
        summary.teaching_classes = stored.teaching_classes;
        summary.lower_bound = stored.lower_bound;
        summary.hard_violations = stored.hard_violations;
        Ok(summary)
    }

    /// A run with its documents parsed and display names resolved.
    pub async fn timetable_run(&self, actor: &Actor, run_id: i64) -> Result<RunView, AppError> {
        App::view_permission(actor)?;
        let record = self
            .store
            .timetable_run(&actor.scope_filter(), run_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let window = self.scoped_window(actor, record.summary.window_id).await?;
        self.run_view(actor, window, record).await
    }

    async fn run_view(
        &self,
        actor: &Actor,
        window: WindowInfo,
        record: TimetableRunRecord,
    ) -> Result<RunView, AppError> {
        let instance = Instance::from_json(&record.instance_json)
            .map_err(|e| AppError::Config(format!("stored instance: {e}")))?;
        let solution = record
            .solution_json
            .as_deref()
            .and_then(|t| Solution::from_json(t).ok());
        let names_visible = own_school(actor) == Some(window.record.institution_id);
        let mut teacher_names: BTreeMap<String, String> = self
            .store
            .school_teachers(window.record.institution_id)
            .await?
            .into_iter()
            .map(|t| (t.staff_no, t.name))
            .collect();
        for teacher in &instance.teachers {
            if !teacher_names.contains_key(&teacher.id) {
                teacher_names.insert(
                    teacher.id.clone(),
                    vacancy_name(&window.settings, &teacher.id),
                );
            }
        }
        let pupils: HashMap<String, String> = self
            .store
            .grade_pupils(window.record.institution_id, window.record.grade)
            .await?
            .into_iter()
            .map(|p| (format!("P{}", p.pupil_id), p.name))
            .collect();
        let student_names = instance
            .students
            .iter()
            .map(|s| {
                let name = pupils.get(&s.id).cloned().unwrap_or_default();
                let shown = if names_visible {
                    name
                } else {
                    edu_model::mask::mask_name(&name)
                };
                (s.id.clone(), shown)
            })
            .collect();
        let subject_names = instance
            .compulsory
            .iter()
            .map(|c| (c.id.clone(), c.name.clone()))
            .chain(
                instance
                    .electives
                    .iter()
                    .map(|e| (e.id.clone(), e.name.clone())),
            )
            .collect();
        let running = record.summary.status == "running"
            && record.summary.started_at > self.clock.now_ms() - STALE_RUN_MS;
        Ok(RunView {
            elapsed_ms: record
                .summary
                .finished_at
                .unwrap_or_else(|| self.clock.now_ms())
                - record.summary.started_at,
            running,
            report: lenient(&record.report_json),
            stats: lenient(&record.stats_json),
            explanation: lenient(&record.explanation_json),
            summary: record.summary,
            instance,
            solution,
            teacher_names,
            student_names,
            subject_names,
            names_visible,
            window,
        })
    }

    /// The newest valid timetable of a window.
    pub async fn current_timetable(
        &self,
        actor: &Actor,
        window_id: i64,
    ) -> Result<RunView, AppError> {
        App::view_permission(actor)?;
        let window = self.scoped_window(actor, window_id).await?;
        let record = self
            .store
            .latest_valid_run(window.record.id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.run_view(actor, window, record).await
    }

    /// One week of a run: an administrative class, a teacher, a room or a student (by their instance id).
    pub async fn timetable_grid(
        &self,
        actor: &Actor,
        run_id: i64,
        kind: GridKind,
        of: &str,
    ) -> Result<(RunView, GridView), AppError> {
        let view = self.timetable_run(actor, run_id).await?;
        let grid = grid_of(&view, kind, of).ok_or(AppError::NotFound)?;
        Ok((view, grid))
    }

    /// An .xlsx of a run: one sheet per administrative class, teacher or room (or only `of`), or the students'
    /// teaching classes (one sheet per administrative class). Formula-escaped, watermarked, audited.
    pub async fn timetable_workbook(
        &self,
        actor: &Actor,
        run_id: i64,
        kind: GridKind,
        of: Option<&str>,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        actor.require(Permission::ExportData)?;
        let view = self.timetable_run(actor, run_id).await?;
        if view.solution.is_none() {
            return Err(AppError::NotFound);
        }
        let sheets = match (kind, of) {
            (GridKind::Student, None) => student_sheets(&view),
            (_, Some(of)) => {
                let grid = grid_of(&view, kind, of).ok_or(AppError::NotFound)?;
                vec![grid_sheet(&grid, &view, 0)]
            }
            (_, None) => entities(&view, kind)
                .iter()
                .enumerate()
                .filter_map(|(i, (id, _))| {
                    grid_of(&view, kind, id).map(|g| grid_sheet(&g, &view, i))
                })
                .collect(),
        };
        if sheets.is_empty() {
            return Err(AppError::NotFound);
        }
        let bytes = write_workbook(&sheets, &self.watermark(actor))?;
        let file_name = format!(
            "eduplan-timetable-{}-run{}-{}.xlsx",
            view.window.record.institution_code,
            run_id,
            kind.code()
        );
        let now_ms = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "export.timetable",
            "tt_run",
            &run_id.to_string(),
            Outcome::Success,
            &format!("kind={} sheets={}", kind.code(), sheets.len()),
        ))
        .await?;
        tx.commit().await?;
        Ok((bytes, file_name))
    }

    fn watermark(&self, actor: &Actor) -> String {
        let stamp = edu_model::china_time::CHINA_OFFSET
            .to_datetime(self.clock.now())
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        format!("EduPlan 导出 {} {} 仅限工作使用", actor.username, stamp)
    }

    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_timetables(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        if !(actor.can(Permission::SubmitReports) || actor.can(Permission::RunAllocations)) {
            return Ok(Vec::new());
        }
        let windows = self.store.choice_windows(&actor.scope_filter()).await?;
        let today = today(self);
        let mut items = Vec::new();
        if let Some(school) = own_school(actor) {
            for w in windows.iter().filter(|w| w.institution_id == school) {
                let open = w.opens_on <= today && today <= w.closes_on;
                let pupils = self
                    .store
                    .grade_pupils(w.institution_id, w.grade)
                    .await?
                    .len() as i64;
                let missing = (pupils - w.choices).max(0);
                let valid = self
                    .store
                    .timetable_runs(w.id)
                    .await?
                    .into_iter()
                    .find(|r| r.status == "valid");
                let href = format!("/timetable/windows/{}", w.id);
                let item = if open && missing > 0 {
                    AttentionItem {
                        href,
                        text_zh: format!(
                            "选课窗口“{}”开放至 {}：还有 {missing} 名学生未选科",
                            w.title, w.closes_on
                        ),
                        text_en: format!(
                            "Course choices “{}” open until {}: {missing} pupils have not chosen yet",
                            w.title, w.closes_on
                        ),
                        level: "warn".to_owned(),
                    }
                } else if let Some(run) = valid {
                    AttentionItem {
                        href: format!("/timetable/runs/{}", run.id),
                        text_zh: format!("“{}”的走班课表已排出：查看、打印、导出", w.title),
                        text_en: format!(
                            "The timetable of “{}” is ready: view, print, export",
                            w.title
                        ),
                        level: "info".to_owned(),
                    }
                } else {
                    AttentionItem {
                        href,
                        text_zh: format!(
                            "“{}”：{} / {pupils} 名学生已选科，尚未排出走班课表",
                            w.title, w.choices
                        ),
                        text_en: format!(
                            "“{}”: {} of {pupils} pupils have chosen; no timetable yet",
                            w.title, w.choices
                        ),
                        level: "info".to_owned(),
                    }
                };
                items.push(item);
            }
            if windows.is_empty()
                && actor.can(Permission::RunAllocations)
                && let Scope::Institution { code, .. } = &actor.scope
                && self
                    .store
                    .institution_by_code(&actor.scope_filter(), code)
                    .await?
                    .is_some_and(|i| i.kind == "senior")
            {
                items.push(AttentionItem {
                    href: "/timetable".to_owned(),
                    text_zh: "选课走班：为高一开设选课窗口".to_owned(),
                    text_en: "Course choices: open a window for grade 10".to_owned(),
                    level: "info".to_owned(),
                });
            }
        } else if !windows.is_empty() {
            let schools: BTreeSet<i64> = windows.iter().map(|w| w.institution_id).collect();
            items.push(AttentionItem {
                href: "/timetable".to_owned(),
                text_zh: format!("{} 所高中开展选课走班", schools.len()),
                text_en: format!("{} senior highs run course choices", schools.len()),
                level: "info".to_owned(),
            });
        }
        Ok(items)
    }
}

fn vacancy_name(settings: &TimetableSettings, id: &str) -> String {
    // Vacancy ids look like `V-phy-1`.
    let mut parts = id.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("V"), Some(subject), Some(n)) => {
            format!("待聘{}教师{n}", subject_name_zh(settings, subject))
        }
        _ => id.to_owned(),
    }
}

impl Combination {
    /// One subject written alone ("物理", "化", "phy") as its id.
    fn parse_text_token(text: &str) -> Option<String> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        TRACKS
            .iter()
            .chain(RECHOSEN.iter())
            .find(|s| {
                s.0 == text
                    || s.1 == text
                    || s.3 == text
                    || (s.0 == "pol" && text == "政治")
                    || (s.0 == "his" && text == "历")
            })
            .map(|s| s.0.to_owned())
    }
}

/// Builds the instance (pure: everything comes in as data).
#[allow(clippy::too_many_arguments)]
fn build_instance_from(
    record: &ChoiceWindowRecord,
    settings: &TimetableSettings,
    classes: &[GradeClassRecord],
    pupils: &[GradePupilRecord],
    choices: &HashMap<i64, Combination>,
    teachers: &[SchoolTeacherRecord],
    rooms: &[SchoolRoomRecord],
    allow_missing: bool,
) -> Result<BuiltInstance, AppError> {
    let mut notes = Vec::new();
    let class_name: HashMap<i64, &str> = classes
        .iter()
        .map(|c| (c.class_id, c.name.as_str()))
        .collect();
    let mut students = Vec::new();
    let mut missing = 0usize;
    for pupil in pupils {
        let Some(class) = pupil.class_id.and_then(|c| class_name.get(&c)) else {
            continue;
        };
        match choices.get(&pupil.pupil_id) {
            Some(choice) => students.push(Student {
                id: format!("P{}", pupil.pupil_id),
                admin_class: (*class).to_owned(),
                selective: choice.ids().iter().map(|s| s.to_string()).collect(),
            }),
            None => missing += 1,
        }
    }
    if missing > 0 && !allow_missing {
        return Err(AppError::invalid(
            "choices",
            format!("还有 {missing} 名学生未选科 / {missing} pupils have no choice yet"),
        ));
    }
    if students.is_empty() {
        return Err(AppError::invalid(
            "choices",
            "尚无学生选科 / no pupil has chosen yet",
        ));
    }
    if missing > 0 {
        notes.push(format!("{missing} 名未选科学生只排必修课 / {missing} pupils without a choice get compulsory lessons only"));
    }

    // Rooms: registered rooms (each class's own room where the registry links one), otherwise one room per class
    // plus rooms for teaching classes, as a school without room records has.
    let room_size = settings.max_class_size + 5;
    let mut room_list: Vec<Room> = rooms
        .iter()
        .map(|r| Room {
            id: r.name.clone(),
            capacity: r.capacity.max(0) as u32,
        })
        .collect();
    let mut admin_classes = Vec::new();
    for class in classes {
        let room = match &class.room_name {
            Some(room) => room.clone(),
            None => {
                let id = format!("{}教室", class.name);
                if !room_list.iter().any(|r| r.id == id) {
                    room_list.push(Room {
                        id: id.clone(),
                        capacity: room_size.max(class.pupils as u32 + 5),
                    });
                }
                id
            }
        };
        admin_classes.push(AdminClass {
            id: class.name.clone(),
            room,
        });
    }
    if rooms.is_empty() {
        let extra = settings
            .extra_rooms
            .unwrap_or_else(|| (classes.len() as u32).div_ceil(4) + 2);
        let labs = ["物理实验室", "化学实验室", "生物实验室", "地理专用教室"];
        for n in 0..extra {
            let id = match labs.get(n as usize) {
                Some(lab) => (*lab).to_owned(),
                None => format!("走班教室{}", n as usize + 1 - labs.len()),
            };
            room_list.push(Room {
                id,
                capacity: room_size,
            });
        }
        notes.push(format!(
            "登记中没有教室：按每班一间加 {extra} 间走班教室生成 / no rooms registered: one per class plus {extra} generated"
        ));
    }

    let compulsory: Vec<CompulsorySubject> = settings
        .compulsory
        .iter()
        .filter(|c| c.periods > 0)
        .map(|c| CompulsorySubject {
            id: c.id.clone(),
            name: c.name.clone(),
            periods: c.periods,
        })
        .collect();
    let electives: Vec<ElectiveSubject> = ELECTIVES
        .iter()
        .map(|(id, name)| ElectiveSubject {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            periods: LevelPeriods {
                selective: settings.selective_periods,
                proficiency: settings.proficiency_periods,
            },
            max_class_size: settings.max_class_size,
        })
        .collect();
    let taught: BTreeSet<&str> = compulsory
        .iter()
        .map(|c| c.id.as_str())
        .chain(electives.iter().map(|e| e.id.as_str()))
        .collect();
    let mut teacher_list = Vec::new();
    for teacher in teachers {
        let setting = settings
            .teachers
            .get(&teacher.staff_no)
            .cloned()
            .unwrap_or_default();
        if !setting.include {
            continue;
        }
        let subjects: Vec<String> = teacher_subject_ids(&teacher.subjects)
            .into_iter()
            .filter(|s| taught.contains(s))
            .map(str::to_owned)
            .collect();
        if subjects.is_empty() {
            continue;
        }
        teacher_list.push(Teacher {
            id: teacher.staff_no.clone(),
            subjects,
            max_periods: setting.max_periods.unwrap_or(settings.teacher_max_periods),
            unavailable: Vec::new(),
        });
    }
    for (subject, count) in &settings.vacancies {
        if !taught.contains(subject.as_str()) {
            continue;
        }
        for n in 1..=*count {
            teacher_list.push(Teacher {
                id: format!("V-{subject}-{n}"),
                subjects: vec![subject.clone()],
                max_periods: settings.teacher_max_periods,
                unavailable: Vec::new(),
            });
        }
    }
    let grade_name = match record.grade {
        10 => "高一",
        11 => "高二",
        _ => "高三",
    };
    Ok(BuiltInstance {
        instance: Instance {
            format: INSTANCE_FORMAT.to_owned(),
            name: format!("{} {grade_name} {}", record.institution_name, record.title),
            days: settings.days,
            periods_per_day: settings.periods_per_day,
            compulsory,
            electives,
            admin_classes,
            students,
            teachers: teacher_list,
            rooms: room_list,
            blocked: settings
                .blocked
                .iter()
                .map(|(d, p)| Slot::new(*d, *p))
                .collect(),
        },
        pupils_without_choice: missing,
        notes,
    })
}

/// Reads a stored JSON document leniently (None when absent or unreadable).
fn lenient<T: serde::de::DeserializeOwned>(text: &Option<String>) -> Option<T> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

/// The outcome of one solve, before it is stored.
struct SolvedRun {
    status: &'static str,
    elapsed: Duration,
    solution: Option<Solution>,
    report: Option<edu_timetable::CheckReport>,
    stats: Option<serde_json::Value>,
    explanation: Option<serde_json::Value>,
}

impl SolvedRun {
    fn failed(message: &str) -> SolvedRun {
        SolvedRun {
            status: "failed",
            elapsed: Duration::ZERO,
            solution: None,
            report: None,
            stats: None,
            explanation: Some(serde_json::json!({"summary": message, "shortages": []})),
        }
    }

    fn into_result(self, now_ms: i64) -> TimetableRunResult {
        let hard = self.report.as_ref().map(|r| r.violations.len() as i64);
        TimetableRunResult {
            status: self.status.to_owned(),
            finished_at: now_ms,
            solve_ms: self.elapsed.as_millis() as i64,
            teaching_classes: self
                .solution
                .as_ref()
                .map(|s| s.teaching_classes.len() as i64),
            lower_bound: self
                .report
                .as_ref()
                .map(|r| i64::from(r.quality.lower_bound)),
            hard_violations: hard,
            solution_json: self.solution.as_ref().map(Solution::to_json),
            report_json: self
                .report
                .as_ref()
                .and_then(|r| serde_json::to_string(r).ok()),
            stats_json: self.stats.map(|s| s.to_string()),
            explanation_json: self.explanation.map(|e| e.to_string()),
        }
    }
}

/// Solves with a wall-clock budget (a compute limit, not business time) and checks the result independently.
fn solve_blocking(
    instance: &Instance,
    seed: u64,
    budget: Duration,
    hint: Option<&Solution>,
) -> SolvedRun {
    let started = Instant::now();
    let deadline = started + budget;
    let expired = move || Instant::now() >= deadline;
    let options = edu_timetable::SolveOptions {
        seed,
        budget: &expired,
        hint,
        ..edu_timetable::SolveOptions::default()
    };
    match edu_timetable::solve(instance, &options) {
        Ok(outcome) => {
            let report = edu_timetable::check(instance, &outcome.solution);
            let mut stats = serde_json::to_value(&outcome.stats).unwrap_or_default();
            if let (Some(previous), Some(map)) = (hint, stats.as_object_mut()) {
                let kept = edu_timetable::stability(instance, previous, &outcome.solution);
                if let Ok(value) = serde_json::to_value(kept) {
                    map.insert("stability".into(), value);
                }
            }
            SolvedRun {
                status: if report.valid { "valid" } else { "invalid" },
                elapsed: started.elapsed(),
                solution: Some(outcome.solution),
                report: Some(report),
                stats: Some(stats),
                explanation: None,
            }
        }
        Err(error) => {
            let (status, explanation) = match &error {
                edu_timetable::SolveError::Infeasible(e) => {
                    ("infeasible", serde_json::to_value(e).ok())
                }
                edu_timetable::SolveError::NotFound(e) => {
                    ("not_found", serde_json::to_value(e).ok())
                }
                edu_timetable::SolveError::Invalid(issues) => (
                    "failed",
                    Some(serde_json::json!({
                        "summary": "the instance is not valid",
                        "shortages": issues.iter().map(|i| serde_json::json!({"resource": "instance", "message": i.to_string()})).collect::<Vec<_>>()
                    })),
                ),
            };
            SolvedRun {
                status,
                elapsed: started.elapsed(),
                solution: None,
                report: None,
                stats: None,
                explanation,
            }
        }
    }
}

/// The entities of a kind in a run, with display labels, in a stable order.
pub fn entities(view: &RunView, kind: GridKind) -> Vec<(String, String)> {
    let instance = &view.instance;
    match kind {
        GridKind::AdminClass => instance
            .admin_classes
            .iter()
            .map(|c| (c.id.clone(), c.id.clone()))
            .collect(),
        GridKind::Teacher => {
            let mut teaching: BTreeSet<&str> = BTreeSet::new();
            if let Some(solution) = &view.solution {
                teaching.extend(solution.teaching_classes.iter().map(|c| c.teacher.as_str()));
                teaching.extend(solution.admin_lessons.iter().map(|l| l.teacher.as_str()));
            }
            instance
                .teachers
                .iter()
                .filter(|t| teaching.contains(t.id.as_str()))
                .map(|t| {
                    let name = view.teacher_names.get(&t.id).cloned().unwrap_or_default();
                    let subjects: Vec<String> = t
                        .subjects
                        .iter()
                        .map(|s| {
                            view.subject_names
                                .get(s)
                                .cloned()
                                .unwrap_or_else(|| s.clone())
                        })
                        .collect();
                    (t.id.clone(), format!("{name}（{}）", subjects.join("、")))
                })
                .collect()
        }
        GridKind::Room => {
            let mut used: BTreeSet<&str> = BTreeSet::new();
            if let Some(solution) = &view.solution {
                used.extend(solution.teaching_classes.iter().map(|c| c.room.as_str()));
                used.extend(solution.admin_lessons.iter().map(|l| l.room.as_str()));
            }
            instance
                .rooms
                .iter()
                .filter(|r| used.contains(r.id.as_str()))
                .map(|r| (r.id.clone(), format!("{}（{}）", r.id, r.capacity)))
                .collect()
        }
        GridKind::Student => instance
            .students
            .iter()
            .map(|s| {
                let name = view.student_names.get(&s.id).cloned().unwrap_or_default();
                (s.id.clone(), format!("{} {name}", s.admin_class))
            })
            .collect(),
    }
}

/// The week of one entity, names resolved; `None` when the id is unknown or there is no solution.
pub fn grid_of(view: &RunView, kind: GridKind, of: &str) -> Option<GridView> {
    let solution = view.solution.as_ref()?;
    let who = match kind {
        GridKind::AdminClass => edu_timetable::view::Who::AdminClass(of.to_owned()),
        GridKind::Teacher => edu_timetable::view::Who::Teacher(of.to_owned()),
        GridKind::Room => edu_timetable::view::Who::Room(of.to_owned()),
        GridKind::Student => edu_timetable::view::Who::Student(of.to_owned()),
    };
    let grid = edu_timetable::view::timetable_of(&view.instance, solution, &who)?;
    let sizes: HashMap<&str, usize> = solution
        .teaching_classes
        .iter()
        .map(|c| (c.id.as_str(), c.students.len()))
        .collect();
    let admin_sizes: HashMap<&str, usize> =
        view.instance
            .students
            .iter()
            .fold(HashMap::new(), |mut m, s| {
                *m.entry(s.admin_class.as_str()).or_insert(0) += 1;
                m
            });
    let mut cells = vec![vec![Vec::new(); grid.days as usize]; grid.periods_per_day as usize];
    let mut lessons = 0;
    for (day, periods) in grid.cells.iter().enumerate() {
        for (period, list) in periods.iter().enumerate() {
            for cell in list {
                lessons += 1;
                let size = match cell.level {
                    Some(_) => sizes.get(cell.class.as_str()).copied().unwrap_or(0),
                    None => admin_sizes.get(cell.class.as_str()).copied().unwrap_or(0),
                };
                if let Some(slot) = cells.get_mut(period).and_then(|p| p.get_mut(day)) {
                    slot.push(GridLesson {
                        subject_name: view
                            .subject_names
                            .get(&cell.subject)
                            .cloned()
                            .unwrap_or_else(|| cell.subject.clone()),
                        subject: cell.subject.clone(),
                        level: cell.level.map(Level::as_str),
                        class: cell.class.clone(),
                        teacher_name: view
                            .teacher_names
                            .get(&cell.teacher)
                            .cloned()
                            .unwrap_or_else(|| cell.teacher.clone()),
                        teacher: cell.teacher.clone(),
                        room: cell.room.clone(),
                        size,
                    });
                }
            }
        }
    }
    // A class's week also shows where its students go in the elective blocks (走班), with how many of them.
    if kind == GridKind::AdminClass {
        let members: BTreeSet<&str> = view
            .instance
            .students
            .iter()
            .filter(|s| s.admin_class == of)
            .map(|s| s.id.as_str())
            .collect();
        for class in &solution.teaching_classes {
            let size = class
                .students
                .iter()
                .filter(|s| members.contains(s.as_str()))
                .count();
            if size == 0 {
                continue;
            }
            for slot in &class.slots {
                if let Some(list) = cells
                    .get_mut(slot.period as usize)
                    .and_then(|p| p.get_mut(slot.day as usize))
                {
                    lessons += 1;
                    list.push(GridLesson {
                        subject: class.subject.clone(),
                        subject_name: view
                            .subject_names
                            .get(&class.subject)
                            .cloned()
                            .unwrap_or_else(|| class.subject.clone()),
                        level: Some(class.level.as_str()),
                        class: class.id.clone(),
                        teacher: class.teacher.clone(),
                        teacher_name: view
                            .teacher_names
                            .get(&class.teacher)
                            .cloned()
                            .unwrap_or_else(|| class.teacher.clone()),
                        room: class.room.clone(),
                        size,
                    });
                }
            }
        }
    }
    let title = match kind {
        GridKind::AdminClass => of.to_owned(),
        GridKind::Teacher => view
            .teacher_names
            .get(of)
            .cloned()
            .unwrap_or_else(|| of.to_owned()),
        GridKind::Room => of.to_owned(),
        GridKind::Student => {
            let class = view
                .instance
                .students
                .iter()
                .find(|s| s.id == of)
                .map(|s| s.admin_class.clone())
                .unwrap_or_default();
            format!(
                "{class} {}",
                view.student_names.get(of).cloned().unwrap_or_default()
            )
        }
    };
    Some(GridView {
        kind,
        of: of.to_owned(),
        title,
        days: grid.days,
        periods_per_day: grid.periods_per_day,
        cells,
        blocked: grid.blocked.iter().map(|s| (s.day, s.period)).collect(),
        lessons,
    })
}

/// The text of one lesson in a cell of an export or a print page: subject (and level) first, then what the
/// viewer does not already know (the class, teacher, room).
pub fn lesson_text(lesson: &GridLesson, kind: GridKind) -> String {
    let level = match lesson.level {
        Some("selective") => "（选考）",
        Some("proficiency") => "（学考）",
        _ => "",
    };
    let mut parts = vec![format!("{}{level}", lesson.subject_name)];
    match (kind, lesson.level) {
        // Students of a class spread over the teaching classes of a block.
        (GridKind::AdminClass, Some(_)) => {
            parts.push(lesson.class.clone());
            parts.push(format!("{}人", lesson.size));
            parts.push(lesson.room.clone());
        }
        _ => {
            if lesson.level.is_some() {
                parts.push(lesson.class.clone());
            }
            if kind != GridKind::Teacher {
                parts.push(lesson.teacher_name.clone());
            }
            if kind != GridKind::Room {
                parts.push(lesson.room.clone());
            }
            if (kind == GridKind::Teacher || kind == GridKind::Room) && lesson.level.is_none() {
                parts.push(lesson.class.clone());
            }
        }
    }
    parts.join(" ")
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

struct XlsxSheet {
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// A sheet name Excel accepts: ≤ 31 characters, none of `[]:*?/\`, unique (numbered when needed).
fn sheet_name(text: &str, index: usize) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\' | '\''))
        .take(24)
        .collect();
    let clean = if clean.trim().is_empty() {
        "sheet".to_owned()
    } else {
        clean
    };
    format!("{:02} {clean}", index + 1)
}

fn grid_sheet(grid: &GridView, _view: &RunView, index: usize) -> XlsxSheet {
    let mut headers = vec!["节次".to_owned()];
    for day in 0..grid.days {
        headers.push(
            WEEKDAYS_ZH
                .get(day as usize)
                .map(|d| (*d).to_owned())
                .unwrap_or_else(|| format!("第{}天", day + 1)),
        );
    }
    let rows = grid
        .cells
        .iter()
        .enumerate()
        .map(|(period, days)| {
            let mut row = vec![format!("第{}节", period + 1)];
            for (day, lessons) in days.iter().enumerate() {
                row.push(if grid.is_blocked(day as u32, period as u32) {
                    "（不排课）".to_owned()
                } else {
                    lessons
                        .iter()
                        .map(|l| lesson_text(l, grid.kind))
                        .collect::<Vec<_>>()
                        .join(" / ")
                });
            }
            row
        })
        .collect();
    XlsxSheet {
        name: sheet_name(&grid.title, index),
        headers,
        rows,
    }
}

/// One sheet per administrative class: each student's teaching class per elective.
fn student_sheets(view: &RunView) -> Vec<XlsxSheet> {
    let Some(solution) = &view.solution else {
        return Vec::new();
    };
    let mut class_of: HashMap<(&str, &str), &str> = HashMap::new();
    for class in &solution.teaching_classes {
        for student in &class.students {
            class_of.insert(
                (student.as_str(), class.subject.as_str()),
                class.id.as_str(),
            );
        }
    }
    let mut headers = vec![
        "学生ID".to_owned(),
        "姓名".to_owned(),
        "选科组合".to_owned(),
    ];
    headers.extend(view.instance.electives.iter().map(|e| e.name.clone()));
    view.instance
        .admin_classes
        .iter()
        .enumerate()
        .map(|(index, admin)| {
            let rows = view
                .instance
                .students
                .iter()
                .filter(|s| s.admin_class == admin.id)
                .map(|s| {
                    let combination = Combination::from_ids(&s.selective)
                        .map(|c| c.short_zh())
                        .unwrap_or_default();
                    let mut row = vec![
                        s.id.clone(),
                        view.student_names.get(&s.id).cloned().unwrap_or_default(),
                        combination,
                    ];
                    for elective in &view.instance.electives {
                        row.push(
                            class_of
                                .get(&(s.id.as_str(), elective.id.as_str()))
                                .map(|c| (*c).to_owned())
                                .unwrap_or_default(),
                        );
                    }
                    row
                })
                .collect();
            XlsxSheet {
                name: sheet_name(&admin.id, index),
                headers: headers.clone(),
                rows,
            }
        })
        .collect()
}

fn write_workbook(sheets: &[XlsxSheet], watermark: &str) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Config(format!("xlsx: {e}"));
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let text = Format::new().set_num_format("@").set_text_wrap();
    for sheet in sheets {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(&sheet.name).map_err(xlsx)?;
        worksheet.set_header(format!("&L{}", watermark.replace('&', "&&")));
        worksheet.set_footer(format!("&L{}&R&P / &N", watermark.replace('&', "&&")));
        worksheet.set_landscape();
        for (c, h) in sheet.headers.iter().enumerate() {
            worksheet
                .write_string_with_format(0, c as u16, crate::exchange::escape_formula(h), &bold)
                .map_err(xlsx)?;
            worksheet
                .set_column_width(c as u16, if c == 0 { 10 } else { 22 })
                .map_err(xlsx)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                worksheet
                    .write_string_with_format(
                        r as u32 + 1,
                        c as u16,
                        crate::exchange::escape_formula(cell),
                        &text,
                    )
                    .map_err(xlsx)?;
            }
        }
    }
    let properties = rust_xlsxwriter::DocProperties::new()
        .set_comment(watermark)
        .set_author("EduPlan");
    workbook.set_properties(&properties);
    workbook.save_to_buffer().map_err(xlsx)
}

/// Demo support: stores choices for a whole grade with one audit row, and solves once (used by `demo`).
impl App {
    pub(crate) async fn demo_store_choices(
        &self,
        window_id: i64,
        choices: &[(i64, Combination)],
        now_ms: i64,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let rows: Vec<CourseChoiceWrite> = choices
            .iter()
            .map(|(pupil_id, c)| CourseChoiceWrite {
                pupil_id: *pupil_id,
                subjects: Some(c.write()),
            })
            .collect();
        let entry = audit::entry(
            now_ms,
            None,
            "cli:demo",
            context,
            "timetable.choice.set",
            "tt_window",
            &window_id.to_string(),
            Outcome::Success,
            &format!("demo pupils={}", rows.len()),
        );
        self.store
            .set_course_choices(window_id, &rows, "cli:demo", now_ms, &[entry])
            .await?;
        Ok(())
    }

    /// The demo's windows (unscoped: the demo generator is the operator).
    pub(crate) async fn demo_window(&self, id: i64) -> Result<WindowInfo, AppError> {
        let record = self
            .store
            .choice_window(&ScopeFilter::All, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let pupils = self
            .store
            .grade_pupils(record.institution_id, record.grade)
            .await?
            .len() as i64;
        Ok(window_info(self, record, pupils))
    }

    pub(crate) async fn demo_build_instance(
        &self,
        window: &WindowInfo,
    ) -> Result<BuiltInstance, AppError> {
        self.build_instance(window, false).await
    }

    pub(crate) async fn demo_store_settings(
        &self,
        window: &WindowInfo,
        settings: &TimetableSettings,
        now_ms: i64,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let entry = audit::entry(
            now_ms,
            None,
            "cli:demo",
            context,
            "timetable.settings",
            "tt_window",
            &window.record.id.to_string(),
            Outcome::Success,
            "demo",
        );
        self.store
            .update_choice_window(
                window.record.id,
                &window.record.opens_on,
                &window.record.closes_on,
                &settings.to_json(),
                now_ms,
                &entry,
            )
            .await?;
        Ok(())
    }

    /// Solves a demo window and stores the run (valid or not), as the operator.
    pub(crate) async fn demo_solve(
        &self,
        window: &WindowInfo,
        built: &BuiltInstance,
        now_ms: i64,
        context: &AuditContext,
    ) -> Result<(i64, String), AppError> {
        let seed = window.settings.seed;
        let budget = window.settings.budget_seconds;
        let run = TimetableRunStart {
            window_id: window.record.id,
            seed: seed as i64,
            budget_seconds: i64::from(budget),
            hint_run_id: None,
            started_by: "cli:demo".to_owned(),
            started_at: now_ms,
            students: built.instance.students.len() as i64,
            instance_json: built.instance.to_json(),
            note: built.notes.join("；"),
        };
        let start = audit::entry(
            now_ms,
            None,
            "cli:demo",
            context,
            "timetable.solve.start",
            "tt_run",
            "",
            Outcome::Success,
            "demo",
        );
        let id = self
            .store
            .start_timetable_run(&run, now_ms - STALE_RUN_MS, &start)
            .await
            .map_err(store_invalid)?;
        let instance = built.instance.clone();
        let solved = tokio::task::spawn_blocking(move || {
            solve_blocking(
                &instance,
                seed,
                Duration::from_secs(u64::from(budget)),
                None,
            )
        })
        .await
        .unwrap_or_else(|_| SolvedRun::failed("the solver stopped unexpectedly"));
        let stored = solved.into_result(now_ms);
        let status = stored.status.clone();
        let finish = audit::entry(
            now_ms,
            None,
            "cli:demo",
            context,
            "timetable.solve.finish",
            "tt_run",
            &id.to_string(),
            Outcome::Success,
            &format!("status={status} ms={}", stored.solve_ms),
        );
        self.store
            .finish_timetable_run(id, &stored, &finish)
            .await?;
        Ok((id, status))
    }
}

/// Shortages named by a failed demo solve: subject ids whose teachers are short, with the periods missing.
pub(crate) fn short_teacher_subjects(explanation: &StoredExplanation) -> Vec<(String, u64)> {
    explanation
        .shortages
        .iter()
        .filter_map(|s| {
            s.resource
                .strip_prefix("teachers:")
                .map(|subject| (subject.to_owned(), s.needed.saturating_sub(s.available)))
        })
        .collect()
}

impl App {
    /// Diagnoses a demo instance without storing anything: the short teacher subjects, if the solver proves any.
    pub(crate) async fn demo_shortages(
        &self,
        built: &BuiltInstance,
    ) -> Result<Vec<(String, u64)>, AppError> {
        let instance = built.instance.clone();
        let result = tokio::task::spawn_blocking(move || {
            // The proof of a shortage comes before any search, so a tiny budget is enough to learn it.
            let expired = || true;
            let options = edu_timetable::SolveOptions {
                seed: 0,
                budget: &expired,
                hint: None,
                ..edu_timetable::SolveOptions::default()
            };
            match edu_timetable::solve(&instance, &options) {
                Err(edu_timetable::SolveError::Infeasible(e)) => serde_json::to_value(e)
                    .ok()
                    .and_then(|v| serde_json::from_value::<StoredExplanation>(v).ok()),
                _ => None,
            }
        })
        .await
        .ok()
        .flatten();
        Ok(result
            .map(|e| short_teacher_subjects(&e))
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_the_twelve_of_3_1_2() {
        let all = Combination::all();
        assert_eq!(all.len(), 12);
        let keys: BTreeSet<String> = all.iter().map(Combination::key).collect();
        assert_eq!(keys.len(), 12);
        assert_eq!(all[0].short_zh(), "物化生");
        assert_eq!(all[3].short_zh(), "物生地");
        assert!(all[..6].iter().all(|c| c.track() == "phy"));
    }

    #[test]
    fn wrong_combinations_name_the_wrong_part() {
        assert_eq!(
            Combination::from_parts("phy", &["chem", "his"]),
            Err(ChoiceProblem::Electives)
        );
        assert_eq!(
            Combination::from_parts("chem", &["bio", "geo"]),
            Err(ChoiceProblem::Track)
        );
        assert_eq!(
            Combination::from_parts("phy", &["chem"]),
            Err(ChoiceProblem::Electives)
        );
        assert_eq!(
            Combination::from_parts("phy", &["chem", "chem"]),
            Err(ChoiceProblem::Electives)
        );
        assert_eq!(
            Combination::from_ids(&["phy", "his", "chem"]),
            Err(ChoiceProblem::Track)
        );
        assert_eq!(
            Combination::from_ids(&["phy", "chem", "art"]),
            Err(ChoiceProblem::Unknown)
        );
        let ok = Combination::from_ids(&["geo", "phy", "bio"]).unwrap();
        assert_eq!(ok.ids(), ["phy", "bio", "geo"]);
    }

    #[test]
    fn people_write_combinations_many_ways() {
        let expected = Combination::from_ids(&["phy", "chem", "bio"]).unwrap();
        for text in [
            "物化生",
            "物理+化学+生物",
            "物理 化学 生物",
            "phy,chem,bio",
            "物理、生物、化学",
            " 生物/物理/化学 ",
        ] {
            assert_eq!(Combination::parse_text(text), Ok(expected), "{text}");
        }
        assert_eq!(
            Combination::parse_text("史政地").map(|c| c.key()),
            Ok("his+geo+pol".to_owned())
        );
        assert!(Combination::parse_text("物化").is_err());
        assert!(Combination::parse_text("物化生地").is_err());
        assert!(Combination::parse_text("音体美").is_err());
    }

    #[test]
    fn teacher_subjects_map_to_instance_subjects() {
        assert_eq!(teacher_subject_ids("物理"), vec!["phy"]);
        assert_eq!(teacher_subject_ids("信息技术"), vec!["it", "gt"]);
        assert_eq!(teacher_subject_ids("英语、日语"), vec!["eng"]);
        assert_eq!(teacher_subject_ids("音乐 美术"), vec!["art"]);
        assert!(teacher_subject_ids("机电技术").is_empty());
    }

    #[test]
    fn default_settings_fit_the_week() {
        let settings = TimetableSettings::default();
        assert!(settings.problems().is_empty(), "{:?}", settings.problems());
        let mut bad = settings.clone();
        bad.compulsory[0].periods = 9;
        bad.compulsory[1].periods = 9;
        let problems = bad.problems();
        assert!(problems.iter().any(|p| p.field == "compulsory"));
        let mut bad = TimetableSettings::default();
        bad.blocked.push((5, 0));
        assert!(bad.problems().iter().any(|p| p.field == "blocked"));
    }

    #[test]
    fn sheet_names_are_accepted_by_excel() {
        let name = sheet_name("a[b]:c*d?e/f\\g'h and a very long tail that goes on", 3);
        assert!(name.chars().count() <= 31);
        assert!(!name.contains(['[', ']', ':', '*', '?', '/', '\\']));
        assert!(name.starts_with("04 "));
    }
}
