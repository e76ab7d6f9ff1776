//! Fair allocation runs (issue 5): class division, admission, teacher draw, seating, duty rota and election from
//! the registry or uploads; the commitment → draw → publish → verify ceremony; manual overrides and applying a
//! class division to the registry. Every stage is audited.
//!
//! Stages of a run:
//!
//! 1. **prepare** — the inputs are built (from the registry with pseudonymous ids, never names or 学籍号; or from
//!    uploaded files in the spec's format), frozen in the run's archive and digested (`input_digest`), and a trial
//!    draw checks the constraints. The bureau's commitment `SHA-256(secret)` is recorded: either the secret is
//!    generated here and shown once, or a notary's commitment is entered.
//! 2. **draw** — the secret (checked against the commitment) and a public beacon give
//!    `seed = SHA-256(secret ‖ beacon ‖ input_digest)`; the engine runs and the bundle with the ceremony is stored.
//! 3. **publish** — the public page and files become reachable without login (masked names only).
//!
//! Integrity (SECURITY.md DATA-02): the archive, the run's identity and the pseudonym list are sealed with an
//! HMAC-SM3 at prepare and again at the draw, and the seal is checked on every read that publishes or uses them;
//! each override carries its own seal.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};

use edu_fair::admit::Mechanism;
use edu_fair::seed::{bytes_from_hex, digest_from_hex, sha256, sha256_hex};
use edu_fair::{Bundle, Ceremony, DrawCommand, DrawError, InputFile, OutputFile, Purpose, Seed};
use edu_model::mask::mask_name;
use edu_store::allocations::{
    AllocationApplied, AllocationDrawWrite, AllocationMemberRecord, AllocationMemberWrite,
    AllocationOverrideRecord, AllocationOverrideWrite, AllocationPupilRow, AllocationRunRecord,
    AllocationRunWrite,
};
use edu_store::{AuditEntry, InstitutionQuery, InstitutionRecord, PageRequest, Paged, ScopeFilter};
use serde::Serialize;
use serde_json::Value;

use crate::App;
use crate::access::{Actor, Permission, Scope};
use crate::audit::{self, AuditContext, Outcome};
use crate::error::{AppError, FieldError};
use crate::registry::AttentionItem;

/// The engine itself, for callers that re-run or verify draws (the web's verification page, tests).
pub use edu_fair as engine;
pub use edu_fair::VerifyReport;
pub use edu_store::allocations::{
    AllocationApplied as Applied, AllocationRunListItem as RunListItem,
};

/// Largest uploaded input file (bytes).
const MAX_UPLOAD: usize = 8 * 1024 * 1024;
/// Largest total of files unpacked from one archive (a published directory uploaded as .zip).
const MAX_UNPACKED: u64 = 64 * 1024 * 1024;
const MAX_ENTRIES: usize = 32;
/// The domain of the run seal (HMAC-SM3 with the deployment's integrity key).
const RUN_SEAL: &[u8] = b"eduplan allocation run v1";
const OVERRIDE_SEAL: &[u8] = b"eduplan allocation override v1";

/// What is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RunKind {
    /// 均衡分班
    Balance,
    /// 入学摇号
    Admit,
    /// 教师抽签
    Teachers,
    /// 座位
    Seats,
    /// 值日班长
    Duty,
    /// 班干部选举
    Election,
}

impl RunKind {
    pub const ALL: [RunKind; 6] = [
        RunKind::Balance,
        RunKind::Admit,
        RunKind::Teachers,
        RunKind::Seats,
        RunKind::Duty,
        RunKind::Election,
    ];

    /// The command name of the spec (`balance`, `admit`, …), also the stored code.
    pub fn code(self) -> &'static str {
        match self {
            RunKind::Balance => "balance",
            RunKind::Admit => "admit",
            RunKind::Teachers => "teachers",
            RunKind::Seats => "seats",
            RunKind::Duty => "duty",
            RunKind::Election => "election",
        }
    }

    pub fn parse(code: &str) -> Option<RunKind> {
        RunKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RunKind::Balance => "均衡分班",
            RunKind::Admit => "入学摇号",
            RunKind::Teachers => "教师抽签",
            RunKind::Seats => "座位轮换",
            RunKind::Duty => "值日班长",
            RunKind::Election => "班干部选举",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RunKind::Balance => "Class division",
            RunKind::Admit => "Admission lottery",
            RunKind::Teachers => "Teacher draw",
            RunKind::Seats => "Seating",
            RunKind::Duty => "Duty rota",
            RunKind::Election => "Cadre election",
        }
    }

    /// The pseudonym prefix of the persons drawn.
    fn prefix(self) -> char {
        match self {
            RunKind::Admit => 'A',
            RunKind::Teachers => 'T',
            _ => 'P',
        }
    }

    /// Whether the run belongs to one institution (all but admission, which is a district's).
    pub fn per_institution(self) -> bool {
        self != RunKind::Admit
    }
}

/// How the bureau commits to its secret before the draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitmentChoice {
    /// EduPlan generates a 256-bit secret, stores only its SHA-256 and shows the secret once.
    Generate,
    /// A notary generated the secret offline and gives its SHA-256 (64 hex characters).
    Notary(String),
}

/// Which non-merit attributes of the registry a class division balances (sex always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceAttributes {
    pub birth_month: bool,
    pub origin: bool,
    pub special_needs: bool,
    pub boarder: bool,
}

impl Default for BalanceAttributes {
    fn default() -> Self {
        BalanceAttributes {
            birth_month: true,
            origin: true,
            special_needs: true,
            boarder: true,
        }
    }
}

/// A documented policy case for one pupil (twins together, same names apart, a fixed class).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PupilConstraint {
    pub pupil_id: i64,
    pub together: String,
    pub apart: String,
    pub fixed: Option<u32>,
}

/// A seating zone entered by the head teacher (eyesight, height) and an optional apart key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatNeed {
    pub pupil_id: i64,
    /// `front`, `back` or empty.
    pub zone: String,
    pub apart: String,
}

/// Where the applicants of an admission come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdmitSource {
    /// The district's grade-6 pupils; choices from per-primary-school lists
    /// (`primary code: J1;J2;J3`, `*` for the rest); schools as `code,capacity` lines.
    Registry {
        schools: String,
        feeders: String,
        /// The first school of each list gives priority tier 1 (划片对口).
        catchment_priority: bool,
    },
    /// `applicants.csv` and `schools.csv` in the spec's format, with pseudonymous ids.
    Upload {
        applicants: Vec<u8>,
        schools: Vec<u8>,
    },
}

/// What to prepare.
#[derive(Debug, Clone, PartialEq)]
pub enum PrepareRequest {
    Balance {
        institution: String,
        grade: i64,
        classes: u32,
        attributes: BalanceAttributes,
        constraints: Vec<PupilConstraint>,
        /// Senior high only: `pupil_id,score:<subject>…` keyed by the registry's pupil id.
        scores: Option<Vec<u8>>,
    },
    Admit {
        district: String,
        mechanism: String,
        source: AdmitSource,
    },
    Teachers {
        institution: String,
        grade: i64,
        classes: u32,
        teacher_ids: Vec<i64>,
    },
    Seats {
        institution: String,
        class_id: i64,
        rows: u32,
        cols: u32,
        weeks: u32,
        needs: Vec<SeatNeed>,
    },
    Duty {
        institution: String,
        class_id: i64,
        days: u32,
    },
    Election {
        institution: String,
        class_id: i64,
        seats: u32,
        ballots: Vec<u8>,
    },
}

impl PrepareRequest {
    pub fn kind(&self) -> RunKind {
        match self {
            PrepareRequest::Balance { .. } => RunKind::Balance,
            PrepareRequest::Admit { .. } => RunKind::Admit,
            PrepareRequest::Teachers { .. } => RunKind::Teachers,
            PrepareRequest::Seats { .. } => RunKind::Seats,
            PrepareRequest::Duty { .. } => RunKind::Duty,
            PrepareRequest::Election { .. } => RunKind::Election,
        }
    }
}

/// The outcome of preparing: the run, its commitment, and the secret when EduPlan generated it (shown once,
/// never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub run_id: i64,
    pub commitment: String,
    pub input_digest: String,
    pub secret_once: Option<String>,
}

/// A run whose commitment is announced and whose draw is still to come.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingRun {
    pub run: RunListItem,
    pub commitment: String,
    pub input_digest: String,
}

/// A file of a run's public directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunFile {
    /// The download name (`pupils.csv`, `assignment.csv`, `bundle.json`).
    pub name: String,
    /// The path inside the published directory (`inputs/pupils.csv`).
    pub path: String,
    pub bytes: usize,
    pub sha256: String,
}

/// One person's place in the result. `display` is a masked name (registry runs) or the id (uploads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub id: String,
    pub display: String,
    /// What the draw gave (class number, school code; empty = none).
    pub drawn: String,
    /// After manual overrides.
    pub value: String,
    pub overridden: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchoolSeats {
    pub code: String,
    pub name: String,
    pub capacity: u32,
}

/// The result of a drawn run, per kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DrawResult {
    Balance {
        classes: u32,
        pupils: Vec<Placed>,
        report: Value,
    },
    Admit {
        mechanism: String,
        schools: Vec<SchoolSeats>,
        applicants: Vec<Placed>,
    },
    Teachers {
        classes: u32,
        teachers: Vec<Placed>,
    },
    Seats {
        rows: u32,
        cols: u32,
        weeks: u32,
        /// (week, id, row, col)
        seating: Vec<(u32, String, u32, u32)>,
        display: BTreeMap<String, String>,
        report: Value,
    },
    Duty {
        /// (day, id, display)
        days: Vec<(u32, String, String)>,
    },
    Election {
        /// (seat, id, display)
        elected: Vec<(u32, String, String)>,
        display: BTreeMap<String, String>,
        report: Value,
    },
}

/// A manual change as shown (the person masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideView {
    pub id: String,
    pub display: String,
    pub from_value: String,
    pub to_value: String,
    pub reason: String,
    pub actor: String,
    /// China time, `YYYY-MM-DD HH:MM`.
    pub at: String,
    pub sealed: bool,
}

/// Everything shown about a run (the staff page adds controls; the public page is this for a published run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub id: i64,
    pub kind: RunKind,
    pub title: String,
    pub district_code: String,
    pub institution_code: Option<String>,
    pub institution_name: Option<String>,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub source: String,
    pub status: String,
    /// Options as recorded in the bundle (`classes`, `mechanism`, …).
    pub options: Vec<(String, String)>,
    pub policy_note: String,
    pub input_digest: String,
    pub commitment: String,
    pub commitment_by: String,
    pub beacon: String,
    pub draw_time: String,
    pub seed: Option<String>,
    pub secret: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub drawn_by: String,
    pub published_at: Option<String>,
    pub applied_at: Option<String>,
    pub members: usize,
    pub inputs: Vec<RunFile>,
    pub outputs: Vec<RunFile>,
    pub has_bundle: bool,
    pub result: Option<DrawResult>,
    pub overrides: Vec<OverrideView>,
}

/// An admission choice as explained to a parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceExplanation {
    pub rank: usize,
    pub code: String,
    pub name: String,
    pub tier: i64,
    pub capacity: u32,
    pub admitted: usize,
    /// The lowest-ranked admitted applicant's tier and key (the cut-off), when the school admitted anyone.
    pub cutoff: Option<(i64, String)>,
    /// `admitted`, `outranked` (full with higher priority), `not_reached` (below the school obtained).
    pub outcome: String,
}

/// Why a person got their result, from the published data alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
///
/// It carries no name, not even masked: every pseudonym is in the published files, so a masked name next to a
/// pseudonym would link the name to that pupil's published attributes.
pub struct Explanation {
    pub id: String,
    pub drawn: String,
    pub value: String,
    pub override_reason: Option<String>,
    /// The person's row of the published inputs (column, value).
    pub input_row: Vec<(String, String)>,
    /// (what is hashed, key as 16 hex digits): `SHA-256(seed ‖ purpose ‖ 0x00 ‖ id)`, first 8 bytes.
    pub keys: Vec<(String, String)>,
    /// The person's position in key order (1 = smallest key), and how many were drawn.
    pub position: Option<(usize, usize)>,
    pub choices: Vec<ChoiceExplanation>,
    /// Seating: (week, row, col); duty: days.
    pub seats: Vec<(u32, u32, u32)>,
    pub days: Vec<u32>,
}

/// Data for the prepare forms: what the actor may pick.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PrepareContext {
    /// Institutions in scope that can run draws (code, name, kind).
    pub institutions: Vec<(String, String, String)>,
    pub institution: Option<(String, String, String)>,
    /// Grades of the chosen institution: (grade, enrolled pupils, existing classes).
    pub grades: Vec<(i64, i64, i64)>,
    /// Classes of the chosen institution: (id, grade, name, pupils).
    pub classes: Vec<(i64, i64, String, i64)>,
    /// Pupils of the chosen grade or class (registry id, name, sex, birth date, class name); the operator's own
    /// school, shown to the operator only, to enter policy cases and zones.
    pub pupils: Vec<FormPupil>,
    /// Same names in the chosen grade (suggested apart keys), pupil ids by group.
    pub same_names: Vec<Vec<i64>>,
    /// Possible twins (same surname and birth date): shown as a hint; parents must ask.
    pub possible_twins: Vec<Vec<i64>>,
    pub teachers: Vec<(i64, String, String)>,
    /// Districts the actor may run admissions for (code).
    pub districts: Vec<String>,
    /// Prefilled `code,capacity` lines and feeder lists for a district admission.
    pub admit_schools: String,
    pub admit_feeders: String,
    pub admit_applicants: usize,
    pub senior: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormPupil {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub class_name: String,
    pub suggested_apart: String,
}

/// Who acts: a signed-in user, or the demo generator.
#[derive(Clone, Copy)]
enum Who<'a> {
    Actor(&'a Actor),
    Demo,
}

impl Who<'_> {
    fn name(&self) -> String {
        match self {
            Who::Actor(actor) => actor.username.clone(),
            Who::Demo => "cli:demo".to_owned(),
        }
    }

    fn entry(
        &self,
        now_ms: i64,
        context: &AuditContext,
        action: &str,
        object_id: &str,
        outcome: Outcome,
        reason: &str,
    ) -> AuditEntry {
        let actor = match self {
            Who::Actor(actor) => Some(*actor),
            Who::Demo => None,
        };
        audit::entry(
            now_ms,
            actor,
            "cli:demo",
            context,
            action,
            "allocation_run",
            object_id,
            outcome,
            reason,
        )
    }
}

/// A run ready to be stored.
struct Draft {
    kind: RunKind,
    title: String,
    district_code: String,
    institution_id: Option<i64>,
    grade: Option<i64>,
    class_id: Option<i64>,
    source: &'static str,
    command: DrawCommand,
    inputs: Vec<InputFile>,
    members: Vec<AllocationMemberWrite>,
    policy_note: String,
}

fn invalid(field: &str, zh: &str, en: &str) -> AppError {
    AppError::invalid(field, format!("{zh} / {en}"))
}

fn integrity_failure() -> AppError {
    tracing::error!("an allocation run failed its integrity check (HMAC)");
    AppError::Conflict(
        "结果完整性校验失败，已停止使用 / the stored result failed its integrity check".to_owned(),
    )
}

/// `YYYY-MM-DD HH:MM` in China time.
fn china_stamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| {
            edu_model::china_time::CHINA_OFFSET
                .to_datetime(ts)
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// RFC 3339 in China time, the bundle's `draw_time`.
fn china_rfc3339(ts: jiff::Timestamp) -> String {
    format!(
        "{}+08:00",
        edu_model::china_time::CHINA_OFFSET
            .to_datetime(ts)
            .strftime("%Y-%m-%dT%H:%M:%S")
    )
}

fn b64(bytes: &[u8]) -> String {
    crate::crypto::encode_digest(bytes)
}

fn b64_to_hex(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map(hex::encode)
        .unwrap_or_default()
}

/// Crockford's base-32 alphabet (no I, L, O, U): pseudonyms are read aloud and typed by parents.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Packs files into a zip archive with fixed timestamps (the same files give the same bytes).
fn pack(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, AppError> {
    let fail = |e: &dyn std::fmt::Display| AppError::Config(format!("archive: {e}"));
    let mut buffer = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(Cursor::new(&mut buffer));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        for (name, bytes) in files {
            writer
                .start_file(name.as_str(), options)
                .map_err(|e| fail(&e))?;
            writer.write_all(bytes).map_err(|e| fail(&e))?;
        }
        writer.finish().map_err(|e| fail(&e))?;
    }
    Ok(buffer)
}

/// Unpacks an archive (ours or an upload): files only, bounded in number and size.
pub fn unpack(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} files in the archive"));
    }
    let mut total: u64 = 0;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| e.to_string())?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(|e| e.to_string())?.into_owned();
        let mut data = Vec::new();
        let budget = MAX_UNPACKED.saturating_sub(total);
        entry
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| e.to_string())?;
        total += data.len() as u64;
        if total > MAX_UNPACKED {
            return Err("the archive unpacks to more than 64 MiB".to_owned());
        }
        files.push((name, data));
    }
    Ok(files)
}

/// Whether a value looks like a personal identifier (ID number or 学籍号): refused in published inputs.
fn looks_like_identifier(value: &str) -> bool {
    let upper = value.trim().to_ascii_uppercase();
    edu_model::IdNumber::parse(&upper).is_ok()
        || edu_model::PupilNo::parse(&upper).is_ok()
        || upper
            .as_bytes()
            .windows(17)
            .any(|w| w.iter().all(u8::is_ascii_digit))
}

/// Checks uploaded CSV text for identifiers; returns the first offending line.
fn find_identifier(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().enumerate().find_map(|(index, line)| {
        line.split([',', ';', ':', '"', '\t', ' '])
            .any(looks_like_identifier)
            .then_some(index + 1)
    })
}

/// The engine's input errors as field errors (file: line, column: reason).
fn input_errors(errors: &edu_fair::table::InputErrors) -> AppError {
    AppError::Invalid(
        errors
            .0
            .iter()
            .take(50)
            .map(|e| FieldError::new(e.file.clone(), e.to_string()))
            .collect(),
    )
}

/// Renames free-text constraint keys to neutral ones (`T1`, `A1`, …) so no name reaches the published inputs.
fn neutral_keys(values: &[String], prefix: &str) -> Vec<String> {
    let distinct: BTreeSet<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    let names: BTreeMap<&str, String> = distinct
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v, format!("{prefix}{}", i + 1)))
        .collect();
    values
        .iter()
        .map(|v| names.get(v.trim()).cloned().unwrap_or_default())
        .collect()
}

/// Builds a CSV in canonical form: header and rows as given (the caller sorts rows by id and columns by name).
fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = String::new();
    edu_fair::table::write_csv_line(&mut out, header);
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        edu_fair::table::write_csv_line(&mut out, &cells);
    }
    out.into_bytes()
}

/// Reads a simple CSV (our outputs) into rows of cells, header included.
fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    reader
        .records()
        .filter_map(Result::ok)
        .map(|r| r.iter().map(str::to_owned).collect())
        .collect()
}

fn key_hex(seed: &Seed, purpose: Purpose, id: &str) -> String {
    format!("{:016x}", edu_fair::lottery_key(seed, purpose, id))
}

fn u32_of(value: &Value, key: &str) -> u32 {
    value
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0)
}

/// The stored form of a run's public directory, unpacked.
struct Directory {
    files: Vec<(String, Vec<u8>)>,
}

impl Directory {
    fn get(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(name, _)| name == path)
            .map(|(_, bytes)| bytes.as_slice())
    }

    fn inputs(&self) -> Vec<InputFile> {
        self.files
            .iter()
            .filter_map(|(name, bytes)| {
                let role = name.strip_prefix("inputs/")?.strip_suffix(".csv")?;
                Some(InputFile {
                    role: role.to_owned(),
                    bytes: bytes.clone(),
                })
            })
            .collect()
    }

    fn outputs(&self) -> Vec<OutputFile> {
        self.files
            .iter()
            .filter(|(name, _)| !name.starts_with("inputs/") && name != "bundle.json")
            .map(|(name, bytes)| OutputFile {
                name: name.clone(),
                bytes: bytes.clone(),
            })
            .collect()
    }

    fn bundle(&self) -> Option<Bundle> {
        let bytes = self.get("bundle.json")?;
        Bundle::from_json(std::str::from_utf8(bytes).ok()?).ok()
    }

    /// The download name of a path: `inputs/pupils.csv` → `pupils.csv`.
    fn download_name(path: &str) -> &str {
        path.strip_prefix("inputs/").unwrap_or(path)
    }

    fn file_info(path: &str, bytes: &[u8]) -> RunFile {
        RunFile {
            name: Directory::download_name(path).to_owned(),
            path: path.to_owned(),
            bytes: bytes.len(),
            sha256: sha256_hex(bytes),
        }
    }
}

impl App {
    // --- integrity ------------------------------------------------------------------------------------------

    fn fair_members_digest(members: &[(String, Option<i64>, Option<i64>)]) -> [u8; 32] {
        let mut sorted: Vec<String> = members
            .iter()
            .map(|(p, pupil, staff)| {
                format!(
                    "{p}\t{}\t{}",
                    pupil.map(|v| v.to_string()).unwrap_or_default(),
                    staff.map(|v| v.to_string()).unwrap_or_default()
                )
            })
            .collect();
        sorted.sort();
        sha256(sorted.join("\n").as_bytes())
    }

    #[allow(clippy::too_many_arguments)]
    fn fair_run_seal(
        &self,
        kind: &str,
        district: &str,
        institution_id: Option<i64>,
        grade: Option<i64>,
        class_id: Option<i64>,
        input_digest: &str,
        commitment: &str,
        archive: &[u8],
        members: &[u8; 32],
    ) -> String {
        let optional = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        self.keys.audit_mac(&[
            RUN_SEAL,
            kind.as_bytes(),
            district.as_bytes(),
            optional(institution_id).as_bytes(),
            optional(grade).as_bytes(),
            optional(class_id).as_bytes(),
            input_digest.as_bytes(),
            commitment.as_bytes(),
            &sha256(archive),
            members,
        ])
    }

    fn fair_override_seal(&self, change: &AllocationOverrideWrite) -> String {
        self.keys.audit_mac(&[
            OVERRIDE_SEAL,
            change.run_id.to_string().as_bytes(),
            change.pseudonym.as_bytes(),
            change.from_value.as_bytes(),
            change.to_value.as_bytes(),
            change.reason.as_bytes(),
            change.actor.as_bytes(),
            change.at_ms.to_string().as_bytes(),
        ])
    }

    /// Checks a run's seal against its stored archive and pseudonyms (DATA-02: verified on read).
    async fn fair_sealed_run(
        &self,
        run: &AllocationRunRecord,
    ) -> Result<Vec<AllocationMemberRecord>, AppError> {
        let members = self.store.allocation_members(run.id).await?;
        let list: Vec<(String, Option<i64>, Option<i64>)> = members
            .iter()
            .map(|m| (m.pseudonym.clone(), m.pupil_id, m.staff_id))
            .collect();
        let expected = self.fair_run_seal(
            &run.kind,
            &run.district_code,
            run.institution_id,
            run.grade,
            run.class_id,
            &run.input_digest,
            &run.commitment,
            &run.archive,
            &App::fair_members_digest(&list),
        );
        if !constant_time_eq(expected.as_bytes(), run.mac.as_bytes()) {
            return Err(integrity_failure());
        }
        Ok(members)
    }

    fn fair_override_sealed(&self, record: &AllocationOverrideRecord) -> bool {
        let write = AllocationOverrideWrite {
            run_id: record.run_id,
            pseudonym: record.pseudonym.clone(),
            from_value: record.from_value.clone(),
            to_value: record.to_value.clone(),
            reason: record.reason.clone(),
            actor: record.actor.clone(),
            at_ms: record.at_ms,
            mac: String::new(),
        };
        constant_time_eq(
            self.fair_override_seal(&write).as_bytes(),
            record.mac.as_bytes(),
        )
    }

    // --- scope ----------------------------------------------------------------------------------------------

    fn fair_run_in_scope(actor: &Actor, run: &AllocationRunRecord) -> bool {
        match &actor.scope {
            Scope::City { .. } => true,
            Scope::District { code } => *code == run.district_code,
            Scope::Institution { id, .. } => run.institution_id == Some(*id),
        }
    }

    /// A run the actor may work on; anything else is `NotFound`.
    async fn fair_scoped_run(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<AllocationRunRecord, AppError> {
        actor.require(Permission::RunAllocations)?;
        let run = self
            .store
            .allocation_run(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !App::fair_run_in_scope(actor, &run) {
            return Err(AppError::NotFound);
        }
        Ok(run)
    }

    async fn fair_institution_in_scope(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<InstitutionRecord, AppError> {
        self.store
            .institution_by_code(&actor.scope_filter(), code.trim())
            .await?
            .ok_or(AppError::NotFound)
    }

    fn fair_district_in_scope(actor: &Actor, district: &str) -> bool {
        match &actor.scope {
            Scope::City { .. } => edu_model::DAQING_DISTRICTS
                .iter()
                .any(|d| d.code.to_string() == district),
            Scope::District { code } => code == district,
            Scope::Institution { .. } => false,
        }
    }

    // --- lists and forms ------------------------------------------------------------------------------------

    /// Runs in the actor's scope, newest first.
    pub async fn allocation_runs(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> Result<Paged<RunListItem>, AppError> {
        actor.require(Permission::RunAllocations)?;
        Ok(self
            .store
            .allocation_runs(&actor.scope_filter(), page)
            .await?)
    }

    /// Published runs, newest first (public).
    pub async fn published_allocations(&self, limit: i64) -> Result<Vec<RunListItem>, AppError> {
        Ok(self
            .store
            .allocation_runs_with_status("published", limit.clamp(1, 200))
            .await?)
    }

    /// Runs awaiting their draw, with the commitment and input digest (public): announcing them here, with the
    /// time they were prepared, is the publication of the commitment before the draw. No inputs, no names.
    pub async fn pending_allocations(&self, limit: i64) -> Result<Vec<PendingRun>, AppError> {
        Ok(self
            .store
            .allocation_runs_with_status("prepared", limit.clamp(1, 200))
            .await?
            .into_iter()
            .map(|run| PendingRun {
                commitment: b64_to_hex(&run.commitment),
                input_digest: b64_to_hex(&run.input_digest),
                run,
            })
            .collect())
    }

    /// What the prepare form of `kind` may offer the actor: institutions in scope, grades, classes, pupils of the
    /// chosen grade or class (the operator's own school), teachers, districts.
    pub async fn allocation_prepare_context(
        &self,
        actor: &Actor,
        kind: RunKind,
        institution: Option<&str>,
        grade: Option<i64>,
        class_id: Option<i64>,
        district: Option<&str>,
    ) -> Result<PrepareContext, AppError> {
        actor.require(Permission::RunAllocations)?;
        let mut context = PrepareContext::default();
        if kind == RunKind::Admit {
            context.districts = edu_model::DAQING_DISTRICTS
                .iter()
                .map(|d| d.code.to_string())
                .filter(|d| App::fair_district_in_scope(actor, d))
                .collect();
            if let Some(district) = district.filter(|d| App::fair_district_in_scope(actor, d)) {
                let (schools, feeders, applicants) = self.fair_admission_defaults(district).await?;
                context.admit_schools = schools;
                context.admit_feeders = feeders;
                context.admit_applicants = applicants;
            }
            return Ok(context);
        }
        let mut offset = 0;
        loop {
            let page = self
                .store
                .institutions(
                    &actor.scope_filter(),
                    &InstitutionQuery::default(),
                    PageRequest { offset, limit: 500 },
                )
                .await?;
            let done = page.items.len() < 500;
            context.institutions.extend(
                page.items
                    .into_iter()
                    .filter(|i| {
                        matches!(
                            i.kind.as_str(),
                            "primary" | "junior" | "nine_year" | "senior" | "vocational"
                        )
                    })
                    .map(|i| (i.code, i.name, i.kind)),
            );
            offset += 500;
            if done {
                break;
            }
        }
        let code = match institution {
            Some(code) if !code.trim().is_empty() => code.trim().to_owned(),
            _ => match (&actor.scope, context.institutions.first()) {
                (Scope::Institution { code, .. }, _) => code.clone(),
                _ => return Ok(context),
            },
        };
        let record = self.fair_institution_in_scope(actor, &code).await?;
        context.senior = record.kind == "senior";
        context.institution = Some((
            record.code.clone(),
            record.name.clone(),
            record.kind.clone(),
        ));
        let classes = self.store.classes(record.id).await?;
        // Grades from the pupils themselves: a new intake may have no classes yet.
        context.grades = self
            .store
            .allocation_grade_counts(record.id)
            .await?
            .into_iter()
            .map(|(grade, pupils)| {
                let existing = classes.iter().filter(|c| c.grade == grade).count() as i64;
                (grade, pupils, existing)
            })
            .collect();
        context.classes = classes
            .iter()
            .map(|c| (c.id, c.grade, c.name.clone(), c.pupils))
            .collect();
        if kind == RunKind::Teachers {
            context.teachers = self
                .store
                .allocation_teachers(record.id)
                .await?
                .into_iter()
                .map(|t| (t.id, t.name, t.subjects))
                .collect();
        }
        let pupils = match (kind, grade, class_id) {
            (RunKind::Balance, Some(grade), _) => {
                self.store.allocation_grade_pupils(record.id, grade).await?
            }
            (RunKind::Seats | RunKind::Duty, _, Some(class_id))
                if classes.iter().any(|c| c.id == class_id) =>
            {
                self.store.allocation_class_pupils(class_id).await?
            }
            _ => Vec::new(),
        };
        let (same_names, twins) = name_groups(&pupils);
        let mut suggested: BTreeMap<i64, String> = BTreeMap::new();
        for (index, group) in same_names.iter().enumerate() {
            for id in group {
                suggested.insert(*id, format!("同名{}", index + 1));
            }
        }
        context.same_names = same_names;
        context.possible_twins = twins;
        context.pupils = pupils
            .into_iter()
            .map(|p| FormPupil {
                suggested_apart: suggested.get(&p.id).cloned().unwrap_or_default(),
                id: p.id,
                name: p.name,
                sex: p.sex,
                birth_date: p.birth_date,
                class_name: p.class_name.unwrap_or_default(),
            })
            .collect();
        Ok(context)
    }

    /// Prefilled admission lists for a district: its junior and nine-year schools with this year's grade-7 size
    /// as capacity, and each primary school's list rotated over them (to be edited by the district).
    async fn fair_admission_defaults(
        &self,
        district: &str,
    ) -> Result<(String, String, usize), AppError> {
        let page = self
            .store
            .institutions(
                &ScopeFilter::District(district.to_owned()),
                &InstitutionQuery::default(),
                PageRequest {
                    offset: 0,
                    limit: 2_000,
                },
            )
            .await?;
        let mut schools = String::new();
        let mut juniors = Vec::new();
        for item in page
            .items
            .iter()
            .filter(|i| matches!(i.kind.as_str(), "junior" | "nine_year"))
        {
            let grade7: i64 = self
                .store
                .allocation_grade_counts(item.id)
                .await?
                .into_iter()
                .filter(|(grade, _)| *grade == 7)
                .map(|(_, pupils)| pupils)
                .sum();
            schools.push_str(&format!("{},{}\n", item.code, grade7.max(40)));
            juniors.push(item.code.clone());
        }
        let pupils = self.store.allocation_district_pupils(district, 6).await?;
        let primaries: BTreeSet<&str> =
            pupils.iter().map(|p| p.institution_code.as_str()).collect();
        let mut feeders = String::new();
        if !juniors.is_empty() {
            for (index, code) in primaries.iter().enumerate() {
                let list: Vec<&str> = (0..juniors.len().min(3))
                    .map(|k| juniors[(index + k) % juniors.len()].as_str())
                    .collect();
                feeders.push_str(&format!("{code}: {}\n", list.join(";")));
            }
        }
        Ok((schools, feeders, pupils.len()))
    }

    // --- prepare --------------------------------------------------------------------------------------------

    /// Prepares a run: builds and freezes the inputs, checks them with a trial draw, records the commitment.
    /// Audited as `allocation.prepare`.
    pub async fn prepare_allocation(
        &self,
        actor: &Actor,
        request: PrepareRequest,
        title: &str,
        policy_note: &str,
        commitment: CommitmentChoice,
        context: &AuditContext,
    ) -> Result<Prepared, AppError> {
        actor.require(Permission::RunAllocations)?;
        let mut draft = self.fair_draft(actor, request).await?;
        if !title.trim().is_empty() {
            draft.title = title.trim().chars().take(120).collect();
        }
        draft.policy_note = policy_note.trim().chars().take(2_000).collect();
        let secret = match commitment {
            CommitmentChoice::Generate => Some(crate::crypto::random_bytes::<32>()?.to_vec()),
            CommitmentChoice::Notary(_) => None,
        };
        let commitment_digest = match (&secret, &commitment) {
            (Some(secret), _) => edu_fair::commitment(secret),
            (None, CommitmentChoice::Notary(hex_text)) => {
                digest_from_hex(&hex_text.split_whitespace().collect::<String>()).map_err(|_| {
                    invalid(
                        "commitment",
                        "承诺值应为 64 位十六进制（秘密的 SHA-256）",
                        "the commitment must be 64 hex characters (SHA-256 of the secret)",
                    )
                })?
            }
            (None, CommitmentChoice::Generate) => return Err(AppError::Config("no secret".into())),
        };
        let by = if secret.is_some() { "system" } else { "notary" };
        let prepared = self
            .fair_store_prepared(Who::Actor(actor), draft, commitment_digest, by, context)
            .await?;
        Ok(Prepared {
            secret_once: secret.map(hex::encode),
            ..prepared
        })
    }

    async fn fair_store_prepared(
        &self,
        who: Who<'_>,
        draft: Draft,
        commitment: [u8; 32],
        commitment_by: &str,
        context: &AuditContext,
    ) -> Result<Prepared, AppError> {
        let digest =
            edu_fair::input_digest(&draft.command, &draft.inputs).map_err(|e| input_errors(&e))?;
        // A trial draw with a fixed seed: constraints that cannot hold are found now, not at the ceremony.
        match edu_fair::run_draw(&draft.command, &draft.inputs, &Seed::from_bytes([0; 32])) {
            Ok(_) => {}
            Err(DrawError::Input(errors)) => return Err(input_errors(&errors)),
            Err(DrawError::Conflict(conflict)) => {
                let names: BTreeMap<&str, i64> = draft
                    .members
                    .iter()
                    .filter_map(|m| Some((m.pseudonym.as_str(), m.pupil_id?)))
                    .collect();
                return Err(AppError::Invalid(
                    conflict
                        .conflicts
                        .iter()
                        .map(|c| {
                            let pupils: Vec<String> = c
                                .pupils
                                .iter()
                                .map(|p| match names.get(p.as_str()) {
                                    Some(id) => format!("{p} (#{id})"),
                                    None => p.clone(),
                                })
                                .collect();
                            FieldError::new(
                                c.constraint.clone(),
                                format!(
                                    "约束无法同时满足 / constraints conflict: {} — {}",
                                    c.reason,
                                    pupils.join(", ")
                                ),
                            )
                        })
                        .collect(),
                ));
            }
            Err(DrawError::Impossible(reason)) => {
                return Err(invalid("options", "无法抽签", &reason));
            }
        }
        let files: Vec<(String, Vec<u8>)> = draft
            .inputs
            .iter()
            .map(|f| (edu_fair::bundle::input_path(&f.role), f.bytes.clone()))
            .collect();
        let archive = pack(&files)?;
        let input_digest = b64(&digest);
        let commitment_text = b64(&commitment);
        let member_list: Vec<(String, Option<i64>, Option<i64>)> = draft
            .members
            .iter()
            .map(|m| (m.pseudonym.clone(), m.pupil_id, m.staff_id))
            .collect();
        let mac = self.fair_run_seal(
            draft.kind.code(),
            &draft.district_code,
            draft.institution_id,
            draft.grade,
            draft.class_id,
            &input_digest,
            &commitment_text,
            &archive,
            &App::fair_members_digest(&member_list),
        );
        let now_ms = self.clock.now_ms();
        let options = serde_json::to_string(&draft.command.options())
            .map_err(|e| AppError::Config(e.to_string()))?;
        let write = AllocationRunWrite {
            kind: draft.kind.code().to_owned(),
            title: draft.title,
            district_code: draft.district_code,
            institution_id: draft.institution_id,
            grade: draft.grade,
            class_id: draft.class_id,
            source: draft.source.to_owned(),
            options_json: options,
            policy_note: draft.policy_note,
            input_digest,
            commitment: commitment_text,
            commitment_by: commitment_by.to_owned(),
            archive,
            mac,
            created_by: who.name(),
            created_at: now_ms,
        };
        let entry = who.entry(
            now_ms,
            context,
            "allocation.prepare",
            "",
            Outcome::Success,
            &format!(
                "kind={} source={} persons={} commitment_by={commitment_by}",
                draft.kind.code(),
                draft.source,
                draft.members.len().max(draft.inputs.len())
            ),
        );
        let run_id = self
            .store
            .insert_allocation_run(&write, &draft.members, &entry)
            .await?;
        Ok(Prepared {
            run_id,
            commitment: hex::encode(commitment),
            input_digest: hex::encode(digest),
            secret_once: None,
        })
    }

    /// Pseudonyms for persons of a run: `prefix` + 8 Crockford characters of HMAC(nonce ‖ person), unique.
    fn fair_pseudonyms(&self, prefix: char, nonce: &[u8], persons: &[i64]) -> Vec<String> {
        let mut used = BTreeSet::new();
        persons
            .iter()
            .map(|person| {
                let mut attempt = 0u32;
                loop {
                    let mac = self.keys.blind_index(
                        "fair-pseudonym",
                        &format!("{}/{person}/{attempt}", hex::encode(nonce)),
                    );
                    let code: String = std::iter::once(prefix)
                        .chain(mac.bytes().take(8).map(|b| {
                            let value = base64_value(b);
                            char::from(CROCKFORD[usize::from(value & 31)])
                        }))
                        .collect();
                    if used.insert(code.clone()) {
                        return code;
                    }
                    attempt += 1;
                }
            })
            .collect()
    }

    async fn fair_draft(&self, actor: &Actor, request: PrepareRequest) -> Result<Draft, AppError> {
        let nonce = crate::crypto::random_bytes::<16>()?;
        match request {
            PrepareRequest::Admit {
                district,
                mechanism,
                source,
            } => {
                if !App::fair_district_in_scope(actor, district.trim()) {
                    return Err(AppError::NotFound);
                }
                self.fair_admit_draft(district.trim(), &mechanism, source, &nonce)
                    .await
            }
            PrepareRequest::Balance {
                institution,
                grade,
                classes,
                attributes,
                constraints,
                scores,
            } => {
                let record = self.fair_institution_in_scope(actor, &institution).await?;
                self.fair_balance_draft(
                    &record,
                    grade,
                    classes,
                    attributes,
                    &constraints,
                    scores.as_deref(),
                    &nonce,
                )
                .await
            }
            PrepareRequest::Teachers {
                institution,
                grade,
                classes,
                teacher_ids,
            } => {
                let record = self.fair_institution_in_scope(actor, &institution).await?;
                self.fair_teachers_draft(&record, grade, classes, &teacher_ids, &nonce)
                    .await
            }
            PrepareRequest::Seats {
                institution,
                class_id,
                rows,
                cols,
                weeks,
                needs,
            } => {
                let record = self.fair_institution_in_scope(actor, &institution).await?;
                let (class_id, grade, class_name) = self.fair_class_of(&record, class_id).await?;
                let pupils = self.store.allocation_class_pupils(class_id).await?;
                if pupils.is_empty() {
                    return Err(invalid(
                        "class",
                        "该班没有在籍学生",
                        "the class has no pupils",
                    ));
                }
                if rows == 0 || cols == 0 || weeks == 0 || (rows * cols) < pupils.len() as u32 {
                    return Err(invalid(
                        "rows",
                        "座位数少于学生数，或行、列、周数为 0",
                        "fewer seats than pupils, or zero rows, columns or weeks",
                    ));
                }
                let ids: Vec<i64> = pupils.iter().map(|p| p.id).collect();
                let names = self.fair_pseudonyms(RunKind::Seats.prefix(), &nonce, &ids);
                let need_of: BTreeMap<i64, &SeatNeed> =
                    needs.iter().map(|n| (n.pupil_id, n)).collect();
                let aparts: Vec<String> = ids
                    .iter()
                    .map(|id| need_of.get(id).map(|n| n.apart.clone()).unwrap_or_default())
                    .collect();
                let aparts = neutral_keys(&aparts, "A");
                let mut rows_out = Vec::new();
                for (index, id) in ids.iter().enumerate() {
                    let zone = need_of.get(id).map(|n| n.zone.trim()).unwrap_or("");
                    if !matches!(zone, "" | "front" | "back") {
                        return Err(invalid(
                            "zone",
                            "区域只能是前排、后排或空",
                            "zone must be front, back or empty",
                        ));
                    }
                    rows_out.push(vec![
                        names[index].clone(),
                        aparts[index].clone(),
                        zone.to_owned(),
                    ]);
                }
                rows_out.sort();
                Ok(Draft {
                    kind: RunKind::Seats,
                    title: format!(
                        "{}{}年级{}座位（{}周）",
                        record.name, grade, class_name, weeks
                    ),
                    district_code: record.district_code.clone(),
                    institution_id: Some(record.id),
                    grade: Some(grade),
                    class_id: Some(class_id),
                    source: "registry",
                    command: DrawCommand::Seats { rows, cols, weeks },
                    inputs: vec![InputFile {
                        role: "pupils".into(),
                        bytes: csv_bytes(&["id", "apart", "zone"], &rows_out),
                    }],
                    members: member_writes(&names, &ids, false),
                    policy_note: String::new(),
                })
            }
            PrepareRequest::Duty {
                institution,
                class_id,
                days,
            } => {
                let record = self.fair_institution_in_scope(actor, &institution).await?;
                let (class_id, grade, class_name) = self.fair_class_of(&record, class_id).await?;
                let pupils = self.store.allocation_class_pupils(class_id).await?;
                if pupils.is_empty() || days == 0 || days > 400 {
                    return Err(invalid(
                        "days",
                        "班级没有学生，或天数不在 1–400 之间",
                        "the class has no pupils, or days is not 1–400",
                    ));
                }
                let ids: Vec<i64> = pupils.iter().map(|p| p.id).collect();
                let names = self.fair_pseudonyms(RunKind::Duty.prefix(), &nonce, &ids);
                let mut rows_out: Vec<Vec<String>> =
                    names.iter().map(|n| vec![n.clone()]).collect();
                rows_out.sort();
                Ok(Draft {
                    kind: RunKind::Duty,
                    title: format!(
                        "{}{}年级{}值日班长（{}天）",
                        record.name, grade, class_name, days
                    ),
                    district_code: record.district_code.clone(),
                    institution_id: Some(record.id),
                    grade: Some(grade),
                    class_id: Some(class_id),
                    source: "registry",
                    command: DrawCommand::Duty { days },
                    inputs: vec![InputFile {
                        role: "pupils".into(),
                        bytes: csv_bytes(&["id"], &rows_out),
                    }],
                    members: member_writes(&names, &ids, false),
                    policy_note: String::new(),
                })
            }
            PrepareRequest::Election {
                institution,
                class_id,
                seats,
                ballots,
            } => {
                let record = self.fair_institution_in_scope(actor, &institution).await?;
                let (class_id, grade, class_name) = self.fair_class_of(&record, class_id).await?;
                check_upload("ballots", &ballots)?;
                if seats == 0 || seats > 20 {
                    return Err(invalid("seats", "席位数应为 1–20", "seats must be 1–20"));
                }
                Ok(Draft {
                    kind: RunKind::Election,
                    title: format!("{}{}年级{}班干部选举", record.name, grade, class_name),
                    district_code: record.district_code.clone(),
                    institution_id: Some(record.id),
                    grade: Some(grade),
                    class_id: Some(class_id),
                    source: "upload",
                    command: DrawCommand::Election { seats },
                    inputs: vec![InputFile {
                        role: "ballots".into(),
                        bytes: ballots,
                    }],
                    members: Vec::new(),
                    policy_note: String::new(),
                })
            }
        }
    }

    /// A class of the institution: (id, grade, name); another school's class is `NotFound`.
    async fn fair_class_of(
        &self,
        institution: &InstitutionRecord,
        class_id: i64,
    ) -> Result<(i64, i64, String), AppError> {
        self.store
            .classes(institution.id)
            .await?
            .into_iter()
            .find(|c| c.id == class_id)
            .map(|c| (c.id, c.grade, c.name))
            .ok_or(AppError::NotFound)
    }

    #[allow(clippy::too_many_arguments)]
    async fn fair_balance_draft(
        &self,
        record: &InstitutionRecord,
        grade: i64,
        classes: u32,
        attributes: BalanceAttributes,
        constraints: &[PupilConstraint],
        scores: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Draft, AppError> {
        let pupils = self.store.allocation_grade_pupils(record.id, grade).await?;
        if pupils.is_empty() {
            return Err(invalid(
                "grade",
                "该年级没有在籍学生",
                "the grade has no enrolled pupils",
            ));
        }
        if classes == 0 || classes as usize > pupils.len() || classes > 60 {
            return Err(invalid(
                "classes",
                "班级数应在 1 与学生数之间（至多 60）",
                "classes must be between 1 and the number of pupils (at most 60)",
            ));
        }
        let senior = record.kind == "senior";
        let scores = match scores.filter(|s| !s.is_empty()) {
            Some(_) if !senior => {
                return Err(invalid(
                    "scores",
                    "义务教育阶段不得按成绩分班，只有普通高中可以使用成绩",
                    "compulsory education may not divide classes by scores; only senior highs may",
                ));
            }
            Some(bytes) => Some(parse_scores(bytes, &pupils)?),
            None => None,
        };
        let ids: Vec<i64> = pupils.iter().map(|p| p.id).collect();
        let names = self.fair_pseudonyms(RunKind::Balance.prefix(), nonce, &ids);
        let by_pupil: BTreeMap<i64, &PupilConstraint> =
            constraints.iter().map(|c| (c.pupil_id, c)).collect();
        for c in constraints {
            if !ids.contains(&c.pupil_id) {
                return Err(invalid(
                    "constraints",
                    "约束中的学生不在该年级",
                    "a constrained pupil is not in the grade",
                ));
            }
            if let Some(fixed) = c.fixed
                && (fixed == 0 || fixed > classes)
            {
                return Err(invalid(
                    "fixed",
                    "指定班级超出班级数",
                    "a fixed class is outside 1..classes",
                ));
            }
        }
        let pick = |f: &dyn Fn(&PupilConstraint) -> String| -> Vec<String> {
            ids.iter()
                .map(|id| by_pupil.get(id).map(|c| f(c)).unwrap_or_default())
                .collect()
        };
        let together = neutral_keys(&pick(&|c| c.together.clone()), "T");
        let apart = neutral_keys(&pick(&|c| c.apart.clone()), "A");
        let fixed = pick(&|c| c.fixed.map(|f| f.to_string()).unwrap_or_default());
        let any = |v: &[String]| v.iter().any(|s| !s.is_empty());
        let origin_known = pupils.iter().any(|p| p.origin_code.is_some());
        let any_boarder = pupils.iter().any(|p| p.boarder);
        // Columns in canonical order: id, then by name.
        let mut columns: Vec<String> = Vec::new();
        if any(&apart) {
            columns.push("apart".into());
        }
        if attributes.birth_month {
            columns.push("cat:birth_month".into());
        }
        if attributes.boarder && any_boarder {
            columns.push("cat:boarder".into());
        }
        if attributes.origin && origin_known {
            columns.push("cat:origin".into());
        }
        if attributes.special_needs {
            columns.push("cat:support".into());
        }
        if any(&fixed) {
            columns.push("fixed".into());
        }
        let subjects: Vec<String> = scores
            .as_ref()
            .map(|(subjects, _)| subjects.clone())
            .unwrap_or_default();
        for subject in &subjects {
            columns.push(format!("score:{subject}"));
        }
        columns.push("sex".into());
        if any(&together) {
            columns.push("together".into());
        }
        columns.sort();
        let mut rows = Vec::new();
        for (index, pupil) in pupils.iter().enumerate() {
            let mut row = vec![names[index].clone()];
            for column in &columns {
                let cell = match column.as_str() {
                    "apart" => apart[index].clone(),
                    "together" => together[index].clone(),
                    "fixed" => fixed[index].clone(),
                    "sex" => pupil.sex.clone(),
                    "cat:birth_month" => pupil.birth_date.get(5..7).unwrap_or("").to_owned(),
                    "cat:boarder" => if pupil.boarder { "Y" } else { "N" }.to_owned(),
                    "cat:support" => if pupil.special_needs { "Y" } else { "N" }.to_owned(),
                    "cat:origin" => pupil
                        .origin_code
                        .clone()
                        .unwrap_or_else(|| "unknown".to_owned()),
                    score => {
                        let subject = score.trim_start_matches("score:");
                        scores
                            .as_ref()
                            .and_then(|(subjects, values)| {
                                let s = subjects.iter().position(|x| x == subject)?;
                                values.get(&pupil.id).map(|v| v[s].clone())
                            })
                            .unwrap_or_default()
                    }
                };
                row.push(cell);
            }
            rows.push(row);
        }
        rows.sort();
        let mut header = vec!["id"];
        header.extend(columns.iter().map(String::as_str));
        Ok(Draft {
            kind: RunKind::Balance,
            title: format!("{}{}年级均衡分班（{}个班）", record.name, grade, classes),
            district_code: record.district_code.clone(),
            institution_id: Some(record.id),
            grade: Some(grade),
            class_id: None,
            source: "registry",
            command: DrawCommand::Balance {
                classes,
                allow_scores: scores.is_some(),
                restarts: 0,
            },
            inputs: vec![InputFile {
                role: "pupils".into(),
                bytes: csv_bytes(&header, &rows),
            }],
            members: member_writes(&names, &ids, false),
            policy_note: String::new(),
        })
    }

    async fn fair_teachers_draft(
        &self,
        record: &InstitutionRecord,
        grade: i64,
        classes: u32,
        teacher_ids: &[i64],
        nonce: &[u8],
    ) -> Result<Draft, AppError> {
        let staff = self.store.allocation_teachers(record.id).await?;
        let chosen: Vec<i64> = staff
            .iter()
            .map(|s| s.id)
            .filter(|id| teacher_ids.contains(id))
            .collect();
        if chosen.len() != teacher_ids.iter().collect::<BTreeSet<_>>().len() {
            return Err(AppError::NotFound);
        }
        if chosen.is_empty() || classes == 0 || classes > 60 {
            return Err(invalid(
                "teachers",
                "请选择教师，班级数应为 1–60",
                "choose teachers; classes must be 1–60",
            ));
        }
        let names = self.fair_pseudonyms(RunKind::Teachers.prefix(), nonce, &chosen);
        let mut rows: Vec<Vec<String>> = names.iter().map(|n| vec![n.clone()]).collect();
        rows.sort();
        Ok(Draft {
            kind: RunKind::Teachers,
            title: format!("{}{}年级教师抽签（{}个班）", record.name, grade, classes),
            district_code: record.district_code.clone(),
            institution_id: Some(record.id),
            grade: Some(grade),
            class_id: None,
            source: "registry",
            command: DrawCommand::Teachers { classes },
            inputs: vec![InputFile {
                role: "teachers".into(),
                bytes: csv_bytes(&["id"], &rows),
            }],
            members: member_writes(&names, &chosen, true),
            policy_note: String::new(),
        })
    }

    async fn fair_admit_draft(
        &self,
        district: &str,
        mechanism: &str,
        source: AdmitSource,
        nonce: &[u8],
    ) -> Result<Draft, AppError> {
        let mechanism = Mechanism::parse(mechanism.trim()).ok_or_else(|| {
            invalid(
                "mechanism",
                "录取机制应为 da 或 boston",
                "mechanism must be da or boston",
            )
        })?;
        let district_name = edu_model::DAQING_DISTRICTS
            .iter()
            .find(|d| d.code.to_string() == district)
            .map(|d| d.name)
            .unwrap_or("");
        let command = DrawCommand::Admit { mechanism };
        let (inputs, members, source_code) = match source {
            AdmitSource::Upload {
                applicants,
                schools,
            } => {
                check_upload("applicants", &applicants)?;
                check_upload("schools", &schools)?;
                self.fair_schools_in_district(district, &schools).await?;
                (
                    vec![
                        InputFile {
                            role: "applicants".into(),
                            bytes: applicants,
                        },
                        InputFile {
                            role: "schools".into(),
                            bytes: schools,
                        },
                    ],
                    Vec::new(),
                    "upload",
                )
            }
            AdmitSource::Registry {
                schools,
                feeders,
                catchment_priority,
            } => {
                let school_lines = parse_school_lines(&schools)?;
                let mut schools_csv = String::from("code,capacity\n");
                let mut codes = BTreeSet::new();
                for (code, capacity) in &school_lines {
                    codes.insert(code.clone());
                    schools_csv.push_str(&format!("{code},{capacity}\n"));
                }
                self.fair_schools_in_district(district, schools_csv.as_bytes())
                    .await?;
                let rules = parse_feeders(&feeders, &codes)?;
                let pupils = self.store.allocation_district_pupils(district, 6).await?;
                if pupils.is_empty() {
                    return Err(invalid(
                        "district",
                        "该区县没有六年级在籍学生",
                        "the district has no grade-6 pupils",
                    ));
                }
                let ids: Vec<i64> = pupils.iter().map(|p| p.id).collect();
                let names = self.fair_pseudonyms(RunKind::Admit.prefix(), nonce, &ids);
                let mut missing = BTreeSet::new();
                let mut rows = Vec::new();
                for (index, pupil) in pupils.iter().enumerate() {
                    let list = rules
                        .get(pupil.institution_code.as_str())
                        .or_else(|| rules.get("*"));
                    let Some(list) = list else {
                        missing.insert(pupil.institution_code.clone());
                        continue;
                    };
                    let priorities = match (catchment_priority, list.first()) {
                        (true, Some(first)) => format!("{first}:1"),
                        _ => String::new(),
                    };
                    rows.push(vec![names[index].clone(), list.join(";"), priorities]);
                }
                if !missing.is_empty() {
                    return Err(invalid(
                        "feeders",
                        &format!(
                            "这些小学没有志愿名单（可用 * 表示其余学校）：{}",
                            missing.iter().cloned().collect::<Vec<_>>().join("、")
                        ),
                        "some primary schools have no choice list (use * for the rest)",
                    ));
                }
                rows.sort();
                (
                    vec![
                        InputFile {
                            role: "applicants".into(),
                            bytes: csv_bytes(&["id", "choices", "priorities"], &rows),
                        },
                        InputFile {
                            role: "schools".into(),
                            bytes: schools_csv.into_bytes(),
                        },
                    ],
                    member_writes(&names, &ids, false),
                    "registry",
                )
            }
        };
        Ok(Draft {
            kind: RunKind::Admit,
            title: format!(
                "{district_name}小升初入学摇号（{}）",
                if mechanism == Mechanism::DeferredAcceptance {
                    "延迟接受"
                } else {
                    "波士顿"
                }
            ),
            district_code: district.to_owned(),
            institution_id: None,
            grade: Some(6),
            class_id: None,
            source: source_code,
            command,
            inputs,
            members,
            policy_note: String::new(),
        })
    }

    /// Every school code of a schools file must be an institution of the district.
    async fn fair_schools_in_district(
        &self,
        district: &str,
        schools_csv: &[u8],
    ) -> Result<(), AppError> {
        let table = edu_fair::admit::schools_table(schools_csv).map_err(|e| input_errors(&e))?;
        let scope = ScopeFilter::District(district.to_owned());
        let mut outside = Vec::new();
        for row in &table.rows {
            let code = table.cell(row, "code");
            if self
                .store
                .institution_by_code(&scope, code)
                .await?
                .is_none()
            {
                outside.push(code.to_owned());
            }
        }
        if outside.is_empty() {
            Ok(())
        } else {
            Err(invalid(
                "schools",
                &format!("这些学校不属于该区县：{}", outside.join("、")),
                "some schools are not in the district",
            ))
        }
    }

    // --- draw, publish, override, apply ---------------------------------------------------------------------

    /// The draw: checks the secret against the commitment, derives the seed from the secret, the beacon and the
    /// input digest, runs the engine and stores outputs and bundle. A wrong secret is audited as a failure.
    pub async fn draw_allocation(
        &self,
        actor: &Actor,
        id: i64,
        secret_hex: &str,
        beacon: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let run = self.fair_scoped_run(actor, id).await?;
        self.fair_draw_run(Who::Actor(actor), &run, secret_hex, beacon, context)
            .await
    }

    async fn fair_draw_run(
        &self,
        who: Who<'_>,
        run: &AllocationRunRecord,
        secret_hex: &str,
        beacon: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        if run.status != "prepared" {
            return Err(AppError::Conflict(
                "该抽签已完成 / this run has already been drawn".into(),
            ));
        }
        let beacon = beacon.trim();
        if beacon.is_empty() || beacon.chars().count() > 200 {
            return Err(invalid(
                "beacon",
                "请填写公开信标（如当日福彩开奖号码），不超过 200 字",
                "enter the public beacon (e.g. the day's lottery numbers), at most 200 characters",
            ));
        }
        // Digests are shown in groups of 8: spaces typed or pasted with the secret are ignored.
        let secret_hex: String = secret_hex.split_whitespace().collect();
        let secret = bytes_from_hex(&secret_hex)
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or_else(|| invalid("secret", "秘密应为十六进制", "the secret must be hex"))?;
        let now_ms = self.clock.now_ms();
        if b64(&edu_fair::commitment(&secret)) != run.commitment {
            let mut tx = self.store.begin().await?;
            tx.append_audit(&who.entry(
                now_ms,
                context,
                "allocation.draw",
                &run.id.to_string(),
                Outcome::Failure,
                "secret does not match the commitment",
            ))
            .await?;
            tx.commit().await?;
            return Err(invalid(
                "secret",
                "秘密与抽签前公布的承诺值不符",
                "the secret does not match the commitment published before the draw",
            ));
        }
        let members = self.fair_sealed_run(run).await?;
        let directory = Directory {
            files: unpack(&run.archive).map_err(|_| integrity_failure())?,
        };
        let inputs = directory.inputs();
        let command = DrawCommand::from_record(
            &run.kind,
            &serde_json::from_str(&run.options_json).map_err(|_| integrity_failure())?,
        )
        .map_err(|_| integrity_failure())?;
        let digest = edu_fair::input_digest(&command, &inputs).map_err(|e| input_errors(&e))?;
        if b64(&digest) != run.input_digest {
            return Err(integrity_failure());
        }
        let ceremony = Ceremony {
            secret,
            beacon: beacon.to_owned(),
        };
        let seed = ceremony.seed(&digest);
        let outcome = edu_fair::run_draw(&command, &inputs, &seed).map_err(|e| match e {
            DrawError::Input(errors) => input_errors(&errors),
            other => invalid("draw", "抽签未能完成", &other.to_string()),
        })?;
        let draw_time = china_rfc3339(self.clock.now());
        let bundle = Bundle::new(&outcome, &seed, Some(&ceremony), &inputs, &draw_time);
        let mut files: Vec<(String, Vec<u8>)> =
            vec![("bundle.json".into(), bundle.to_json().into_bytes())];
        files.extend(
            inputs
                .iter()
                .map(|f| (edu_fair::bundle::input_path(&f.role), f.bytes.clone())),
        );
        files.extend(
            outcome
                .outputs
                .iter()
                .map(|o| (o.name.clone(), o.bytes.clone())),
        );
        let archive = pack(&files)?;
        let list: Vec<(String, Option<i64>, Option<i64>)> = members
            .iter()
            .map(|m| (m.pseudonym.clone(), m.pupil_id, m.staff_id))
            .collect();
        let mac = self.fair_run_seal(
            &run.kind,
            &run.district_code,
            run.institution_id,
            run.grade,
            run.class_id,
            &run.input_digest,
            &run.commitment,
            &archive,
            &App::fair_members_digest(&list),
        );
        let entry = who.entry(
            now_ms,
            context,
            "allocation.draw",
            &run.id.to_string(),
            Outcome::Success,
            &format!("kind={} outputs={}", run.kind, outcome.outputs.len()),
        );
        self.store
            .record_allocation_draw(
                &AllocationDrawWrite {
                    run_id: run.id,
                    archive,
                    mac,
                    beacon: beacon.to_owned(),
                    draw_time,
                    drawn_by: who.name(),
                    drawn_at: now_ms,
                },
                &entry,
            )
            .await
            .map_err(|e| match e {
                edu_store::StoreError::Conflict(_) => {
                    AppError::Conflict("该抽签已完成 / this run has already been drawn".into())
                }
                other => other.into(),
            })?;
        Ok(())
    }

    /// Publishes a drawn run (after checking its seal). Audited as `allocation.publish`.
    pub async fn publish_allocation(
        &self,
        actor: &Actor,
        id: i64,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let run = self.fair_scoped_run(actor, id).await?;
        self.fair_publish_run(Who::Actor(actor), &run, context)
            .await
    }

    async fn fair_publish_run(
        &self,
        who: Who<'_>,
        run: &AllocationRunRecord,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        self.fair_sealed_run(run).await?;
        let now_ms = self.clock.now_ms();
        let entry = who.entry(
            now_ms,
            context,
            "allocation.publish",
            &run.id.to_string(),
            Outcome::Success,
            &format!("kind={}", run.kind),
        );
        self.store
            .publish_allocation_run(run.id, now_ms, &entry)
            .await
            .map_err(|e| match e {
                edu_store::StoreError::Conflict(_) => AppError::Conflict(
                    "只有已抽签、未公布的结果可以公布 / only a drawn, unpublished run can be published".into(),
                ),
                other => other.into(),
            })
    }

    /// A manual change after the draw, with its reason (PII-04): shown on the published page next to the draw.
    /// Class divisions, admissions and teacher draws only. Audited as `allocation.override`.
    pub async fn override_allocation(
        &self,
        actor: &Actor,
        id: i64,
        pseudonym: &str,
        to_value: &str,
        reason: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        let run = self.fair_scoped_run(actor, id).await?;
        let kind = RunKind::parse(&run.kind).ok_or(AppError::NotFound)?;
        if !matches!(kind, RunKind::Balance | RunKind::Admit | RunKind::Teachers) {
            return Err(invalid(
                "kind",
                "此类抽签不支持人工调整",
                "this kind of draw takes no overrides",
            ));
        }
        let reason = reason.trim();
        if reason.chars().count() < 4 {
            return Err(invalid(
                "reason",
                "人工调整必须写明理由",
                "an override needs a reason",
            ));
        }
        let view = self.fair_run_view(&run).await?;
        let Some(result) = &view.result else {
            return Err(AppError::Conflict("尚未抽签 / not drawn yet".into()));
        };
        let pseudonym = pseudonym.trim().to_ascii_uppercase();
        let to_value = to_value.trim().to_owned();
        let (placed, valid) = match result {
            DrawResult::Balance {
                classes, pupils, ..
            } => (
                pupils.iter().find(|p| p.id == pseudonym),
                to_value
                    .parse::<u32>()
                    .is_ok_and(|c| (1..=*classes).contains(&c)),
            ),
            DrawResult::Teachers { classes, teachers } => (
                teachers.iter().find(|p| p.id == pseudonym),
                to_value.is_empty()
                    || to_value
                        .parse::<u32>()
                        .is_ok_and(|c| (1..=*classes).contains(&c)),
            ),
            DrawResult::Admit {
                schools,
                applicants,
                ..
            } => (
                applicants.iter().find(|p| p.id == pseudonym),
                to_value.is_empty() || schools.iter().any(|s| s.code == to_value),
            ),
            _ => (None, false),
        };
        let placed = placed.ok_or_else(|| {
            invalid(
                "pseudonym",
                "没有这个编号",
                "no such pseudonymous id in this draw",
            )
        })?;
        if !valid || placed.value == to_value {
            return Err(invalid(
                "to",
                "新的班级或学校无效或未改变",
                "the new class or school is invalid or unchanged",
            ));
        }
        let now_ms = self.clock.now_ms();
        let mut change = AllocationOverrideWrite {
            run_id: run.id,
            pseudonym: pseudonym.clone(),
            from_value: placed.value.clone(),
            to_value,
            reason: reason.chars().take(500).collect(),
            actor: actor.username.clone(),
            at_ms: now_ms,
            mac: String::new(),
        };
        change.mac = self.fair_override_seal(&change);
        // The reason is free text and may name a pupil: the audit row keeps ids only.
        let entry = Who::Actor(actor).entry(
            now_ms,
            context,
            "allocation.override",
            &run.id.to_string(),
            Outcome::Success,
            &format!("pseudonym={pseudonym}"),
        );
        self.store
            .insert_allocation_override(&change, &entry)
            .await
            .map_err(|e| match e {
                edu_store::StoreError::Conflict(m) => AppError::Conflict(m),
                other => other.into(),
            })?;
        Ok(())
    }

    /// Applies a drawn class division (with its overrides) to the registry: each pupil is put in class `k班` of
    /// the grade. A separate, audited step (`allocation.apply`).
    pub async fn apply_allocation(
        &self,
        actor: &Actor,
        id: i64,
        context: &AuditContext,
    ) -> Result<AllocationApplied, AppError> {
        actor.require(Permission::EditRegistry)?;
        let run = self.fair_scoped_run(actor, id).await?;
        self.fair_apply_run(Who::Actor(actor), &run, context).await
    }

    async fn fair_apply_run(
        &self,
        who: Who<'_>,
        run: &AllocationRunRecord,
        context: &AuditContext,
    ) -> Result<AllocationApplied, AppError> {
        if run.kind != "balance" {
            return Err(invalid(
                "kind",
                "只有分班结果可以写入学籍",
                "only class divisions can be applied",
            ));
        }
        let (Some(institution_id), Some(grade)) = (run.institution_id, run.grade) else {
            return Err(AppError::NotFound);
        };
        let view = self.fair_run_view(run).await?;
        let Some(DrawResult::Balance { pupils, .. }) = &view.result else {
            return Err(AppError::Conflict("尚未抽签 / not drawn yet".into()));
        };
        let members = self.store.allocation_members(run.id).await?;
        let pupil_of: BTreeMap<&str, i64> = members
            .iter()
            .filter_map(|m| Some((m.pseudonym.as_str(), m.pupil_id?)))
            .collect();
        let assignments: Vec<(i64, String)> = pupils
            .iter()
            .filter_map(|p| Some((*pupil_of.get(p.id.as_str())?, format!("{}班", p.value))))
            .collect();
        let now_ms = self.clock.now_ms();
        let entry = who.entry(
            now_ms,
            context,
            "allocation.apply",
            &run.id.to_string(),
            Outcome::Success,
            &format!("pupils={}", assignments.len()),
        );
        self.store
            .apply_allocation_classes(run.id, institution_id, grade, &assignments, now_ms, &entry)
            .await
            .map_err(|e| match e {
                edu_store::StoreError::Conflict(_) => {
                    AppError::Conflict("已写入学籍或尚未抽签 / already applied or not drawn".into())
                }
                other => other.into(),
            })
    }

    // --- reads ----------------------------------------------------------------------------------------------

    /// A run as the staff of its scope see it (names masked like the public page).
    pub async fn allocation_run(&self, actor: &Actor, id: i64) -> Result<RunView, AppError> {
        let run = self.fair_scoped_run(actor, id).await?;
        self.fair_run_view(&run).await
    }

    /// A published run (no login). Anything not published is `NotFound`; a broken seal is refused.
    pub async fn published_allocation(&self, id: i64) -> Result<RunView, AppError> {
        let run = self.fair_published_run(id).await?;
        self.fair_run_view(&run).await
    }

    async fn fair_published_run(&self, id: i64) -> Result<AllocationRunRecord, AppError> {
        let run = self
            .store
            .allocation_run(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if run.status != "published" {
            return Err(AppError::NotFound);
        }
        Ok(run)
    }

    /// A file of a published run's directory: `bundle.json`, an input (`pupils.csv`…), an output, or
    /// `draw.zip` (the whole directory, ready for `eduplan fair verify`).
    pub async fn published_allocation_file(
        &self,
        id: i64,
        name: &str,
    ) -> Result<(Vec<u8>, String), AppError> {
        let run = self.fair_published_run(id).await?;
        self.fair_sealed_run(&run).await?;
        run_file(&run, name)
    }

    /// A file of a run in the actor's scope (any stage).
    pub async fn allocation_file(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
    ) -> Result<(Vec<u8>, String), AppError> {
        let run = self.fair_scoped_run(actor, id).await?;
        self.fair_sealed_run(&run).await?;
        run_file(&run, name)
    }

    /// The list linking pseudonymous ids to pupils (to hand each family its id): an export of minors' data,
    /// so it needs the export permission, carries a watermark and is audited (`allocation.export_ids`).
    pub async fn allocation_id_list(
        &self,
        actor: &Actor,
        id: i64,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        actor.require(Permission::ExportData)?;
        let run = self.fair_scoped_run(actor, id).await?;
        let members = self.fair_sealed_run(&run).await?;
        let view = self.fair_run_view(&run).await?;
        let value_of: BTreeMap<String, String> = match &view.result {
            Some(DrawResult::Balance { pupils, .. }) => pupils
                .iter()
                .map(|p| (p.id.clone(), format!("{}班", p.value)))
                .collect(),
            Some(DrawResult::Admit { applicants, .. }) => applicants
                .iter()
                .map(|p| (p.id.clone(), p.value.clone()))
                .collect(),
            Some(DrawResult::Teachers { teachers, .. }) => teachers
                .iter()
                .map(|p| (p.id.clone(), p.value.clone()))
                .collect(),
            _ => BTreeMap::new(),
        };
        let now = self.clock.now();
        let watermark = format!(
            "EduPlan 导出 {} {} 仅限通知家长使用",
            actor.username,
            china_stamp(now.as_millisecond())
        );
        let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Config(format!("xlsx: {e}"));
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("编号").map_err(xlsx)?;
        sheet.set_header(format!("&L{}", watermark.replace('&', "&&")));
        sheet.set_footer(format!("&L{}&R&P / &N", watermark.replace('&', "&&")));
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let text = rust_xlsxwriter::Format::new().set_num_format("@");
        for (c, h) in ["编号 ID", "姓名 Name", "结果 Result"].iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xlsx)?;
            sheet.set_column_width(c as u16, 18).map_err(xlsx)?;
        }
        for (r, member) in members.iter().enumerate() {
            let row = r as u32 + 1;
            let cells = [
                member.pseudonym.clone(),
                member.name.clone(),
                value_of.get(&member.pseudonym).cloned().unwrap_or_default(),
            ];
            for (c, cell) in cells.iter().enumerate() {
                sheet
                    .write_string_with_format(
                        row,
                        c as u16,
                        crate::exchange::escape_formula(cell),
                        &text,
                    )
                    .map_err(xlsx)?;
            }
        }
        workbook.set_properties(
            &rust_xlsxwriter::DocProperties::new()
                .set_comment(&watermark)
                .set_author("EduPlan"),
        );
        let bytes = workbook.save_to_buffer().map_err(xlsx)?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(&Who::Actor(actor).entry(
            now.as_millisecond(),
            context,
            "allocation.export_ids",
            &run.id.to_string(),
            Outcome::Success,
            &format!("rows={}", members.len()),
        ))
        .await?;
        tx.commit().await?;
        Ok((bytes, format!("eduplan-draw-{}-ids.xlsx", run.id)))
    }

    /// A scores template for a senior-high class division (`pupil_id,name,score:…`): the school's own pupils by
    /// name, so an export of minors' data (export permission, audited as `allocation.export_scores`). Only the
    /// `pupil_id` and `score:` columns are read back; names never reach the draw's inputs.
    pub async fn allocation_scores_template(
        &self,
        actor: &Actor,
        code: &str,
        grade: i64,
        context: &AuditContext,
    ) -> Result<(Vec<u8>, String), AppError> {
        actor.require(Permission::RunAllocations)?;
        actor.require(Permission::ExportData)?;
        let record = self.fair_institution_in_scope(actor, code).await?;
        if record.kind != "senior" {
            return Err(invalid(
                "scores",
                "义务教育阶段不得按成绩分班，只有普通高中可以使用成绩",
                "compulsory education may not divide classes by scores; only senior highs may",
            ));
        }
        let pupils = self.store.allocation_grade_pupils(record.id, grade).await?;
        let mut out = b"\xEF\xBB\xBF".to_vec();
        {
            let mut writer = csv::Writer::from_writer(&mut out);
            let header = ["pupil_id", "name", "score:语文", "score:数学", "score:英语"];
            writer
                .write_record(header)
                .map_err(|e| AppError::Config(e.to_string()))?;
            for p in &pupils {
                writer
                    .write_record([
                        p.id.to_string(),
                        crate::exchange::escape_formula(&p.name),
                        String::new(),
                        String::new(),
                        String::new(),
                    ])
                    .map_err(|e| AppError::Config(e.to_string()))?;
            }
            writer
                .flush()
                .map_err(|e| AppError::Config(e.to_string()))?;
        }
        let mut tx = self.store.begin().await?;
        tx.append_audit(&Who::Actor(actor).entry(
            self.clock.now_ms(),
            context,
            "allocation.export_scores",
            &record.code,
            Outcome::Success,
            &format!("grade={grade} rows={}", pupils.len()),
        ))
        .await?;
        tx.commit().await?;
        Ok((out, format!("eduplan-scores-{}-{grade}.csv", record.code)))
    }

    /// Verifies a published run from its stored files: exactly what a parent does with the downloads.
    pub async fn verify_published_allocation(&self, id: i64) -> Result<VerifyReport, AppError> {
        let run = self.fair_published_run(id).await?;
        self.fair_sealed_run(&run).await?;
        let directory = Directory {
            files: unpack(&run.archive).map_err(|_| integrity_failure())?,
        };
        let bundle = directory.bundle().ok_or_else(integrity_failure)?;
        Ok(edu_fair::verify(
            &bundle,
            &directory.inputs(),
            &directory.outputs(),
        ))
    }

    /// Verifies uploaded files (anyone): `bundle.json`, the inputs and the outputs, given as (file name, bytes);
    /// a `.zip` of the published directory is unpacked first. Inputs are matched by their role's file name
    /// (`pupils.csv` or `inputs/pupils.csv`), outputs by name.
    pub fn verify_allocation_upload(
        &self,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<VerifyReport, AppError> {
        let mut all = Vec::new();
        for (name, bytes) in files {
            if name.to_ascii_lowercase().ends_with(".zip") || bytes.starts_with(b"PK\x03\x04") {
                let inner = unpack(&bytes).map_err(|reason| {
                    invalid(
                        "files",
                        "无法读取压缩包",
                        &format!("cannot read the archive: {reason}"),
                    )
                })?;
                all.extend(inner);
            } else {
                all.push((name, bytes));
            }
        }
        let base = |name: &str| name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned();
        let bundle_bytes = all
            .iter()
            .find(|(name, _)| base(name) == "bundle.json")
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| invalid("bundle", "请上传 bundle.json", "upload bundle.json"))?;
        let bundle = std::str::from_utf8(&bundle_bytes)
            .map_err(|e| e.to_string())
            .and_then(Bundle::from_json)
            .map_err(|reason| invalid("bundle", "bundle.json 无法读取", &reason))?;
        let mut inputs = Vec::new();
        for record in &bundle.inputs {
            let wanted = base(&record.file);
            if let Some((_, bytes)) = all.iter().find(|(name, _)| base(name) == wanted) {
                inputs.push(InputFile {
                    role: record.role.clone(),
                    bytes: bytes.clone(),
                });
            }
        }
        let outputs: Vec<OutputFile> = bundle
            .output_digest
            .keys()
            .filter_map(|output| {
                all.iter()
                    .find(|(name, _)| base(name) == *output)
                    .map(|(_, bytes)| OutputFile {
                        name: output.clone(),
                        bytes: bytes.clone(),
                    })
            })
            .collect();
        Ok(edu_fair::verify(&bundle, &inputs, &outputs))
    }

    /// Why a person got their result, from the published files (no login; published runs only).
    pub async fn explain_allocation(
        &self,
        id: i64,
        pseudonym: &str,
    ) -> Result<Option<Explanation>, AppError> {
        let run = self.fair_published_run(id).await?;
        let view = self.fair_run_view(&run).await?;
        let directory = Directory {
            files: unpack(&run.archive).map_err(|_| integrity_failure())?,
        };
        Ok(explain(&view, &directory, pseudonym.trim()))
    }

    /// Builds the view of a run, checking its seal first.
    async fn fair_run_view(&self, run: &AllocationRunRecord) -> Result<RunView, AppError> {
        let members = self.fair_sealed_run(run).await?;
        let kind = RunKind::parse(&run.kind).ok_or(AppError::NotFound)?;
        let directory = Directory {
            files: unpack(&run.archive).map_err(|_| integrity_failure())?,
        };
        let bundle = directory.bundle();
        let options: BTreeMap<String, Value> = bundle
            .as_ref()
            .map(|b| b.options.clone())
            .or_else(|| serde_json::from_str(&run.options_json).ok())
            .unwrap_or_default();
        let display: BTreeMap<String, String> = members
            .iter()
            .map(|m| (m.pseudonym.clone(), mask_name(&m.name)))
            .collect();
        let show = |id: &str| display.get(id).cloned().unwrap_or_else(|| id.to_owned());
        let overrides = self.store.allocation_overrides(run.id).await?;
        let mut final_value: BTreeMap<String, String> = BTreeMap::new();
        let mut override_views = Vec::new();
        for o in &overrides {
            let sealed = self.fair_override_sealed(o);
            if sealed {
                final_value.insert(o.pseudonym.clone(), o.to_value.clone());
            }
            override_views.push(OverrideView {
                id: o.pseudonym.clone(),
                display: show(&o.pseudonym),
                from_value: o.from_value.clone(),
                to_value: o.to_value.clone(),
                reason: o.reason.clone(),
                actor: o.actor.clone(),
                at: china_stamp(o.at_ms),
                sealed,
            });
        }
        let placed = |id: &str, drawn: &str| -> Placed {
            let value = final_value
                .get(id)
                .cloned()
                .unwrap_or_else(|| drawn.to_owned());
            Placed {
                id: id.to_owned(),
                display: show(id),
                drawn: drawn.to_owned(),
                overridden: value != drawn,
                value,
            }
        };
        let result = if directory.get("bundle.json").is_some() {
            let json = |name: &str| -> Value {
                directory
                    .get(name)
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null)
            };
            let rows = |name: &str| -> Vec<Vec<String>> {
                directory
                    .get(name)
                    .map(read_csv)
                    .unwrap_or_default()
                    .into_iter()
                    .skip(1)
                    .collect()
            };
            Some(match kind {
                RunKind::Balance => DrawResult::Balance {
                    classes: option_u32(&options, "classes"),
                    pupils: rows("assignment.csv")
                        .iter()
                        .filter(|r| r.len() >= 2)
                        .map(|r| placed(&r[0], &r[1]))
                        .collect(),
                    report: json("report.json"),
                },
                RunKind::Teachers => DrawResult::Teachers {
                    classes: option_u32(&options, "classes"),
                    teachers: rows("assignment.csv")
                        .iter()
                        .filter(|r| r.len() >= 2)
                        .map(|r| placed(&r[0], &r[1]))
                        .collect(),
                },
                RunKind::Admit => {
                    let mut schools = Vec::new();
                    if let Some(bytes) = directory.get("inputs/schools.csv") {
                        for r in read_csv(bytes).into_iter().skip(1).filter(|r| r.len() >= 2) {
                            let name = self
                                .store
                                .institution_by_code(&ScopeFilter::All, &r[0])
                                .await?
                                .map(|i| i.name)
                                .unwrap_or_default();
                            schools.push(SchoolSeats {
                                code: r[0].clone(),
                                name,
                                capacity: r[1].parse().unwrap_or(0),
                            });
                        }
                    }
                    DrawResult::Admit {
                        mechanism: options
                            .get("mechanism")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        schools,
                        applicants: rows("assignment.csv")
                            .iter()
                            .filter(|r| !r.is_empty())
                            .map(|r| placed(&r[0], r.get(1).map(String::as_str).unwrap_or("")))
                            .collect(),
                    }
                }
                RunKind::Seats => {
                    let report = json("report.json");
                    DrawResult::Seats {
                        rows: u32_of(&report, "rows"),
                        cols: u32_of(&report, "cols"),
                        weeks: u32_of(&report, "weeks"),
                        seating: rows("seating.csv")
                            .iter()
                            .filter(|r| r.len() >= 4)
                            .map(|r| {
                                (
                                    r[0].parse().unwrap_or(0),
                                    r[1].clone(),
                                    r[2].parse().unwrap_or(0),
                                    r[3].parse().unwrap_or(0),
                                )
                            })
                            .collect(),
                        display: display.clone(),
                        report,
                    }
                }
                RunKind::Duty => DrawResult::Duty {
                    days: rows("rota.csv")
                        .iter()
                        .filter(|r| r.len() >= 2)
                        .map(|r| (r[0].parse().unwrap_or(0), r[1].clone(), show(&r[1])))
                        .collect(),
                },
                RunKind::Election => DrawResult::Election {
                    elected: rows("result.csv")
                        .iter()
                        .filter(|r| r.len() >= 2)
                        .map(|r| (r[0].parse().unwrap_or(0), r[1].clone(), show(&r[1])))
                        .collect(),
                    display: display.clone(),
                    report: json("report.json"),
                },
            })
        } else {
            None
        };
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for (path, bytes) in &directory.files {
            if path == "bundle.json" {
                continue;
            }
            let info = Directory::file_info(path, bytes);
            if path.starts_with("inputs/") {
                inputs.push(info);
            } else {
                outputs.push(info);
            }
        }
        Ok(RunView {
            id: run.id,
            kind,
            title: run.title.clone(),
            district_code: run.district_code.clone(),
            institution_code: run.institution_code.clone(),
            institution_name: run.institution_name.clone(),
            grade: run.grade,
            class_name: run.class_name.clone(),
            source: run.source.clone(),
            status: run.status.clone(),
            options: options
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
            policy_note: run.policy_note.clone(),
            input_digest: b64_to_hex(&run.input_digest),
            commitment: b64_to_hex(&run.commitment),
            commitment_by: run.commitment_by.clone(),
            beacon: run.beacon.clone(),
            draw_time: run.draw_time.clone(),
            seed: bundle.as_ref().map(|b| b.seed.clone()),
            secret: bundle
                .as_ref()
                .and_then(|b| b.ceremony.as_ref().map(|c| c.secret.clone())),
            created_by: run.created_by.clone(),
            created_at: china_stamp(run.created_at),
            drawn_by: run.drawn_by.clone(),
            published_at: run.published_at.map(china_stamp),
            applied_at: run.applied_at.map(china_stamp),
            members: members.len(),
            inputs,
            outputs,
            has_bundle: bundle.is_some(),
            result,
            overrides: override_views,
        })
    }

    /// Items of this capability for the actor's home page ("what needs attention").
    pub(crate) async fn attention_allocations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AttentionItem>, AppError> {
        if !actor.can(Permission::RunAllocations) {
            return Ok(Vec::new());
        }
        let runs = self
            .store
            .allocation_runs(
                &actor.scope_filter(),
                PageRequest {
                    offset: 0,
                    limit: 200,
                },
            )
            .await?;
        let prepared = runs.items.iter().filter(|r| r.status == "prepared").count();
        let drawn = runs.items.iter().filter(|r| r.status == "drawn").count();
        let mut items = Vec::new();
        if drawn > 0 {
            items.push(AttentionItem {
                href: "/fair".to_owned(),
                text_zh: format!("{drawn} 项抽签已完成但尚未公布结果"),
                text_en: format!("{drawn} draws are done but not yet published"),
                level: "warn".to_owned(),
            });
        }
        if prepared > 0 {
            items.push(AttentionItem {
                href: "/fair".to_owned(),
                text_zh: format!("{prepared} 项抽签已公布承诺值，等待现场抽签"),
                text_en: format!("{prepared} draws have a published commitment and await the draw"),
                level: "info".to_owned(),
            });
        }
        Ok(items)
    }

    // --- demo -----------------------------------------------------------------------------------------------

    /// Demo: a class division of `institution`'s `grade`, prepared, drawn with `secret` and `beacon`, published.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn demo_fair_balance_run(
        &self,
        institution: &InstitutionRecord,
        grade: i64,
        classes: u32,
        nonce: &[u8],
        secret: &[u8],
        beacon: Option<&str>,
        context: &AuditContext,
    ) -> Result<i64, AppError> {
        let mut draft = self
            .fair_balance_draft(
                institution,
                grade,
                classes,
                BalanceAttributes::default(),
                &[],
                None,
                nonce,
            )
            .await?;
        draft.policy_note = "演示数据 / demo data".to_owned();
        let prepared = self
            .fair_store_prepared(
                Who::Demo,
                draft,
                edu_fair::commitment(secret),
                "notary",
                context,
            )
            .await?;
        if let Some(beacon) = beacon {
            let run = self
                .store
                .allocation_run(prepared.run_id)
                .await?
                .ok_or(AppError::NotFound)?;
            self.fair_draw_run(Who::Demo, &run, &hex::encode(secret), beacon, context)
                .await?;
            let run = self
                .store
                .allocation_run(prepared.run_id)
                .await?
                .ok_or(AppError::NotFound)?;
            self.fair_publish_run(Who::Demo, &run, context).await?;
        }
        Ok(prepared.run_id)
    }

    /// Demo: a teacher draw of `institution`'s `grade`, prepared only (its secret is documented for the demo).
    pub(crate) async fn demo_fair_teachers_run(
        &self,
        institution: &InstitutionRecord,
        grade: i64,
        classes: u32,
        nonce: &[u8],
        secret: &[u8],
        context: &AuditContext,
    ) -> Result<Option<i64>, AppError> {
        let staff = self.store.allocation_teachers(institution.id).await?;
        let ids: Vec<i64> = staff
            .iter()
            .take(classes as usize + 1)
            .map(|s| s.id)
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        let mut draft = self
            .fair_teachers_draft(institution, grade, classes, &ids, nonce)
            .await?;
        draft.policy_note = "演示数据 / demo data".to_owned();
        let prepared = self
            .fair_store_prepared(
                Who::Demo,
                draft,
                edu_fair::commitment(secret),
                "notary",
                context,
            )
            .await?;
        Ok(Some(prepared.run_id))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn option_u32(options: &BTreeMap<String, Value>, key: &str) -> u32 {
    options
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0)
}

fn base64_value(byte: u8) -> u8 {
    match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'-' => 62,
        _ => 63,
    }
}

fn member_writes(names: &[String], ids: &[i64], staff: bool) -> Vec<AllocationMemberWrite> {
    names
        .iter()
        .zip(ids)
        .map(|(name, id)| AllocationMemberWrite {
            pseudonym: name.clone(),
            pupil_id: (!staff).then_some(*id),
            staff_id: staff.then_some(*id),
        })
        .collect()
}

/// Same names, and possible twins (same surname and birth date), among a grade's pupils.
fn name_groups(pupils: &[AllocationPupilRow]) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let mut by_name: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut by_family: BTreeMap<(String, &str), Vec<i64>> = BTreeMap::new();
    for p in pupils {
        by_name.entry(p.name.as_str()).or_default().push(p.id);
        let surname: String = p.name.chars().take(1).collect();
        by_family
            .entry((surname, p.birth_date.as_str()))
            .or_default()
            .push(p.id);
    }
    let same_names = by_name.into_values().filter(|g| g.len() > 1).collect();
    let twins = by_family.into_values().filter(|g| g.len() > 1).collect();
    (same_names, twins)
}

/// Refuses uploads that are too large or carry personal identifiers (published inputs are pseudonymous).
fn check_upload(role: &str, bytes: &[u8]) -> Result<(), AppError> {
    if bytes.is_empty() {
        return Err(invalid(role, "请上传文件", "upload the file"));
    }
    if bytes.len() > MAX_UPLOAD {
        return Err(invalid(
            role,
            "文件过大（上限 8 MiB）",
            "the file is too large (8 MiB limit)",
        ));
    }
    if let Some(line) = find_identifier(bytes) {
        return Err(invalid(
            role,
            &format!("第 {line} 行含有身份证号或学籍号：公开的输入只能使用化名编号"),
            &format!(
                "line {line} holds an ID number or 学籍号: published inputs must use pseudonymous ids"
            ),
        ));
    }
    Ok(())
}

/// `code,capacity` lines (also `code capacity` or `code:capacity`), `#` comments.
fn parse_school_lines(text: &str) -> Result<Vec<(String, u32)>, AppError> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with("code") {
            continue;
        }
        let parts: Vec<&str> = line
            .split([',', ':', ' ', '\t', '，'])
            .filter(|p| !p.is_empty())
            .collect();
        let parsed = match parts.as_slice() {
            [code, capacity] => capacity.parse::<u32>().ok().map(|c| (code.to_string(), c)),
            _ => None,
        };
        let Some((code, capacity)) = parsed else {
            return Err(invalid(
                "schools",
                &format!("第 {} 行应为“学校标识码,名额”", index + 1),
                &format!("line {}: expected `code,capacity`", index + 1),
            ));
        };
        if !seen.insert(code.clone()) {
            return Err(invalid(
                "schools",
                &format!("学校 {code} 重复"),
                "a school is listed twice",
            ));
        }
        out.push((code, capacity));
    }
    if out.is_empty() {
        return Err(invalid(
            "schools",
            "请填写招生学校及名额",
            "list the schools and their capacities",
        ));
    }
    Ok(out)
}

/// `primary: J1;J2;J3` lines (`*` = every other primary school), codes checked against the schools.
fn parse_feeders(
    text: &str,
    schools: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<String>>, AppError> {
    let mut rules = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((from, list)) = line.split_once([':', '：', '=']) else {
            return Err(invalid(
                "feeders",
                &format!("第 {} 行应为“小学标识码: 初中1;初中2”", index + 1),
                &format!("line {}: expected `primary: J1;J2`", index + 1),
            ));
        };
        let choices: Vec<String> = list
            .split([';', ',', ' ', '；', '，'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let mut distinct = BTreeSet::new();
        for choice in &choices {
            if !schools.contains(choice) || !distinct.insert(choice) {
                return Err(invalid(
                    "feeders",
                    &format!("第 {} 行：{choice} 不在招生学校中或重复", index + 1),
                    &format!(
                        "line {}: {choice} is not a listed school or repeats",
                        index + 1
                    ),
                ));
            }
        }
        if choices.is_empty() {
            return Err(invalid(
                "feeders",
                &format!("第 {} 行没有志愿", index + 1),
                "a list is empty",
            ));
        }
        rules.insert(from.trim().to_owned(), choices);
    }
    Ok(rules)
}

/// Scores for a senior-high division: `pupil_id,score:<subject>…`, every pupil of the grade exactly once.
#[allow(clippy::type_complexity)]
fn parse_scores(
    bytes: &[u8],
    pupils: &[AllocationPupilRow],
) -> Result<(Vec<String>, BTreeMap<i64, Vec<String>>), AppError> {
    let rows = read_csv(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let Some(header) = rows.first() else {
        return Err(invalid(
            "scores",
            "成绩文件为空",
            "the scores file is empty",
        ));
    };
    let id_column = header
        .iter()
        .position(|h| h.trim() == "pupil_id")
        .ok_or_else(|| {
            invalid(
                "scores",
                "成绩文件需要 pupil_id 列",
                "the scores file needs a pupil_id column",
            )
        })?;
    let score_columns: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            h.trim()
                .strip_prefix("score:")
                .map(|s| (i, s.trim().to_owned()))
        })
        .filter(|(_, s)| !s.is_empty() && !s.contains([',', '"']))
        .collect();
    if score_columns.is_empty() {
        return Err(invalid(
            "scores",
            "成绩文件需要 score:科目 列",
            "the scores file needs score:<subject> columns",
        ));
    }
    let mut order: Vec<(usize, String)> = score_columns;
    order.sort_by(|a, b| a.1.cmp(&b.1));
    let subjects: Vec<String> = order.iter().map(|(_, s)| s.clone()).collect();
    let known: BTreeSet<i64> = pupils.iter().map(|p| p.id).collect();
    let mut values = BTreeMap::new();
    for (line, row) in rows.iter().enumerate().skip(1) {
        let id = row
            .get(id_column)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|id| known.contains(id))
            .ok_or_else(|| {
                invalid(
                    "scores",
                    &format!("第 {} 行的学生不在该年级", line + 1),
                    &format!("line {}: the pupil is not in the grade", line + 1),
                )
            })?;
        let mut cells = Vec::new();
        for (column, subject) in &order {
            let cell = row.get(*column).map(|v| v.trim()).unwrap_or("");
            if cell.parse::<f64>().map(f64::is_finite) != Ok(true) {
                return Err(invalid(
                    "scores",
                    &format!("第 {} 行 {subject} 不是数字", line + 1),
                    &format!("line {}: {subject} is not a number", line + 1),
                ));
            }
            cells.push(cell.to_owned());
        }
        if values.insert(id, cells).is_some() {
            return Err(invalid(
                "scores",
                &format!("第 {} 行学生重复", line + 1),
                "a pupil appears twice",
            ));
        }
    }
    if values.len() != known.len() {
        return Err(invalid(
            "scores",
            "有学生缺少成绩",
            "some pupils have no scores",
        ));
    }
    Ok((subjects, values))
}

/// A file of a run's directory by download name, with its content type.
fn run_file(run: &AllocationRunRecord, name: &str) -> Result<(Vec<u8>, String), AppError> {
    let directory = Directory {
        files: unpack(&run.archive).map_err(|_| integrity_failure())?,
    };
    if name == "draw.zip" {
        return Ok((run.archive.clone(), "application/zip".to_owned()));
    }
    let (path, bytes) = directory
        .files
        .iter()
        .find(|(path, _)| Directory::download_name(path) == name)
        .ok_or(AppError::NotFound)?;
    let content_type = if path.ends_with(".json") {
        "application/json; charset=utf-8"
    } else {
        "text/csv; charset=utf-8"
    };
    Ok((bytes.clone(), content_type.to_owned()))
}

/// The explanation of one person's result (see [`App::explain_allocation`]).
fn explain(view: &RunView, directory: &Directory, pseudonym: &str) -> Option<Explanation> {
    let id = pseudonym.to_ascii_uppercase();
    let bundle = directory.bundle()?;
    let seed = Seed::from_hex(&bundle.seed).ok()?;
    let command = DrawCommand::from_record(&bundle.command, &bundle.options).ok()?;
    let tables = edu_fair::draw::parse_inputs(&command, &directory.inputs()).ok()?;
    let role = command.input_roles().first()?;
    let table = tables.get(*role)?;
    let row = table.rows.iter().find(|r| table.cell(r, "id") == id)?;
    let input_row: Vec<(String, String)> = table
        .columns
        .iter()
        .map(|c| (c.clone(), table.cell(row, c).to_owned()))
        .collect();
    let ids: Vec<String> = table
        .rows
        .iter()
        .map(|r| table.cell(r, "id").to_owned())
        .collect();
    let mut explanation = Explanation {
        id: id.clone(),
        drawn: String::new(),
        value: String::new(),
        override_reason: view
            .overrides
            .iter()
            .rev()
            .find(|o| o.id == id && o.sealed)
            .map(|o| o.reason.clone()),
        input_row,
        keys: Vec::new(),
        position: None,
        choices: Vec::new(),
        seats: Vec::new(),
        days: Vec::new(),
    };
    let position = |purpose: Purpose| -> Option<(usize, usize)> {
        let mine = edu_fair::lottery_key(&seed, purpose, &id);
        let before = ids
            .iter()
            .filter(|other| {
                let key = edu_fair::lottery_key(&seed, purpose, other);
                key < mine || (key == mine && other.as_str() < id.as_str())
            })
            .count();
        Some((before + 1, ids.len()))
    };
    match view.result.as_ref()? {
        DrawResult::Balance { pupils, .. } => {
            let placed = pupils.iter().find(|p| p.id == id)?;
            explanation.drawn = placed.drawn.clone();
            explanation.value = placed.value.clone();
            explanation.keys.push((
                format!("balance · 0/{id}"),
                key_hex(&seed, Purpose::Balance, &format!("0/{id}")),
            ));
        }
        DrawResult::Teachers { teachers, .. } => {
            let placed = teachers.iter().find(|p| p.id == id)?;
            explanation.drawn = placed.drawn.clone();
            explanation.value = placed.value.clone();
            explanation.keys.push((
                format!("teacher · {id}"),
                key_hex(&seed, Purpose::Teacher, &id),
            ));
            explanation.position = position(Purpose::Teacher);
        }
        DrawResult::Duty { days } => {
            explanation.days = days.iter().filter(|d| d.1 == id).map(|d| d.0).collect();
            explanation
                .keys
                .push((format!("duty · {id}"), key_hex(&seed, Purpose::Duty, &id)));
            explanation.position = position(Purpose::Duty);
        }
        DrawResult::Seats { seating, .. } => {
            explanation.seats = seating
                .iter()
                .filter(|s| s.1 == id)
                .map(|s| (s.0, s.2, s.3))
                .collect();
            explanation.keys.push((
                format!("seat · 1/{id}"),
                key_hex(&seed, Purpose::Seat, &format!("1/{id}")),
            ));
        }
        DrawResult::Election { .. } => return None,
        DrawResult::Admit {
            schools,
            applicants,
            mechanism,
        } => {
            let placed = applicants.iter().find(|p| p.id == id)?;
            explanation.drawn = placed.drawn.clone();
            explanation.value = placed.value.clone();
            explanation
                .keys
                .push((format!("admit · {id}"), key_hex(&seed, Purpose::Admit, &id)));
            explanation.position = position(Purpose::Admit);
            let problem = edu_fair::admit::AdmissionProblem::from_tables(
                tables.get("applicants")?,
                tables.get("schools")?,
            )
            .ok()?;
            let by_id: BTreeMap<&str, &edu_fair::admit::Applicant> = problem
                .applicants()
                .iter()
                .map(|a| (a.id.as_str(), a))
                .collect();
            let tier_of = |applicant: &str, school: &str| -> i64 {
                by_id
                    .get(applicant)
                    .and_then(|a| a.priorities.iter().find(|p| p.0 == school))
                    .map(|p| p.1)
                    .unwrap_or(0)
            };
            let me = problem.applicants().iter().find(|a| a.id == id)?;
            let mut reached = true;
            for (rank, code) in me.choices.iter().enumerate() {
                let school = schools.iter().find(|s| s.code == *code);
                let admitted: Vec<&Placed> =
                    applicants.iter().filter(|a| a.drawn == *code).collect();
                let cutoff = admitted
                    .iter()
                    .map(|a| {
                        (
                            tier_of(&a.id, code),
                            edu_fair::lottery_key(&seed, Purpose::Admit, &a.id),
                            a.id.clone(),
                        )
                    })
                    // The lowest-ranked admitted applicant: the lowest tier, then the largest key.
                    .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
                let outcome = if placed.drawn == *code {
                    reached = false;
                    "admitted"
                } else if reached {
                    "outranked"
                } else {
                    "not_reached"
                };
                explanation.choices.push(ChoiceExplanation {
                    rank: rank + 1,
                    code: code.clone(),
                    name: school.map(|s| s.name.clone()).unwrap_or_default(),
                    tier: tier_of(&id, code),
                    capacity: school.map(|s| s.capacity).unwrap_or(0),
                    admitted: admitted.len(),
                    cutoff: cutoff.map(|(tier, key, _)| (tier, format!("{key:016x}"))),
                    outcome: outcome.to_owned(),
                });
            }
            if mechanism == "boston" {
                // Boston: a school can fill in an earlier round with applicants who ranked it higher, so a
                // better key does not guarantee a seat; the round is shown by the choice rank.
                explanation.keys.push(("mechanism".into(), "boston".into()));
            }
        }
    }
    Some(explanation)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn demo_app() -> App {
        use std::sync::Arc;
        let clock = Arc::new(crate::ManualClock::new(
            "2021-10-11T01:00:00Z".parse().unwrap(),
        ));
        let app = App::in_memory(
            Arc::new(crate::KeyRing::for_tests(3)),
            clock,
            crate::SecuritySettings::default(),
            crate::password::PasswordHasher::for_tests(),
            false,
        )
        .await
        .unwrap();
        let mut quiet = |_: &str, _: u64, _: u64| {};
        app.generate_demo(
            &crate::demo::DemoOptions {
                seed: 3,
                password: "Demo#2021x".into(),
                scale: 0.03,
            },
            &mut quiet,
        )
        .await
        .unwrap();
        app
    }

    /// SECURITY.md DATA-02: a result changed behind the application's back (here another run's archive and seal
    /// copied onto a run, as a raw database edit would) is refused on read, for the staff and the public.
    #[tokio::test]
    async fn a_tampered_result_is_refused_on_read() {
        let app = demo_app().await;
        let operator = Actor::operator("test");
        let context = AuditContext::cli("test");
        let runs = app
            .allocation_runs(&operator, crate::page(1, 10))
            .await
            .unwrap();
        let published = runs
            .items
            .iter()
            .find(|r| r.status == "published")
            .unwrap()
            .id;
        let prepared = runs
            .items
            .iter()
            .find(|r| r.status == "prepared")
            .unwrap()
            .id;
        assert!(app.published_allocation(published).await.is_ok());
        assert!(app.verify_published_allocation(published).await.unwrap().ok);
        let genuine = app.store.allocation_run(published).await.unwrap().unwrap();
        app.store
            .record_allocation_draw(
                &AllocationDrawWrite {
                    run_id: prepared,
                    archive: genuine.archive.clone(),
                    mac: genuine.mac.clone(),
                    beacon: genuine.beacon.clone(),
                    draw_time: genuine.draw_time.clone(),
                    drawn_by: "mallory".into(),
                    drawn_at: 0,
                },
                &Who::Demo.entry(0, &context, "test.tamper", "", Outcome::Success, ""),
            )
            .await
            .unwrap();
        for result in [
            app.allocation_run(&operator, prepared).await.map(|_| ()),
            app.publish_allocation(&operator, prepared, &context).await,
            app.allocation_file(&operator, prepared, "assignment.csv")
                .await
                .map(|_| ()),
        ] {
            assert!(matches!(result, Err(AppError::Conflict(_))), "{result:?}");
        }
        // The genuine run is untouched.
        assert!(app.published_allocation(published).await.is_ok());
    }

    /// PII-04: the same stored inputs and seed give the same outputs, byte for byte, and the run verifies.
    #[tokio::test]
    async fn a_published_demo_division_reproduces_from_its_stored_inputs() {
        let app = demo_app().await;
        let operator = Actor::operator("test");
        let runs = app
            .allocation_runs(&operator, crate::page(1, 10))
            .await
            .unwrap();
        let id = runs
            .items
            .iter()
            .find(|r| r.status == "published")
            .unwrap()
            .id;
        let (bundle, _) = app
            .published_allocation_file(id, "bundle.json")
            .await
            .unwrap();
        let (inputs, _) = app
            .published_allocation_file(id, "pupils.csv")
            .await
            .unwrap();
        let (assignment, _) = app
            .published_allocation_file(id, "assignment.csv")
            .await
            .unwrap();
        let bundle = Bundle::from_json(std::str::from_utf8(&bundle).unwrap()).unwrap();
        let command = DrawCommand::from_record(&bundle.command, &bundle.options).unwrap();
        let rerun = edu_fair::run_draw(
            &command,
            &[InputFile {
                role: "pupils".into(),
                bytes: inputs.clone(),
            }],
            &Seed::from_hex(&bundle.seed).unwrap(),
        )
        .unwrap();
        assert_eq!(rerun.outputs[0].bytes, assignment);
        // No names, no 学籍号 in the inputs: pseudonymous ids and non-merit attributes only.
        let text = String::from_utf8(inputs).unwrap();
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.starts_with('P') && !l.contains("**"))
        );
        assert!(find_identifier(text.as_bytes()).is_none());
    }

    #[test]
    fn archives_are_deterministic_and_round_trip() {
        let files = vec![
            ("bundle.json".to_owned(), b"{}\n".to_vec()),
            ("inputs/pupils.csv".to_owned(), b"id,sex\nP1,M\n".to_vec()),
        ];
        let a = pack(&files).unwrap();
        let b = pack(&files).unwrap();
        assert_eq!(a, b);
        assert_eq!(unpack(&a).unwrap(), files);
        assert!(unpack(b"not a zip").is_err());
    }

    #[test]
    fn identifiers_are_recognised_in_uploads() {
        assert!(find_identifier(b"id,choices\nA1,X\n").is_none());
        assert_eq!(
            find_identifier(b"id,choices\nA1,X\n11010519491231002X,X\n"),
            Some(3)
        );
        assert!(looks_like_identifier("G11010519491231002X"));
        assert!(!looks_like_identifier("P7K3M9QXD"));
    }

    #[test]
    fn constraint_keys_are_renamed_neutrally() {
        let keys = neutral_keys(
            &["张伟".into(), String::new(), "李娜".into(), "张伟".into()],
            "A",
        );
        // Keys are numbered in byte order of the entered text (张 < 李 in UTF-8).
        assert_eq!(keys, vec!["A1", "", "A2", "A1"]);
    }

    #[test]
    fn school_and_feeder_lines_parse_and_check() {
        let schools = parse_school_lines("code,capacity\n2230200010,120\n2230200011 90\n").unwrap();
        assert_eq!(
            schools,
            vec![("2230200010".into(), 120), ("2230200011".into(), 90)]
        );
        assert!(parse_school_lines("2230200010\n").is_err());
        let codes: BTreeSet<String> = schools.iter().map(|s| s.0.clone()).collect();
        let rules =
            parse_feeders("2230200001: 2230200010;2230200011\n*: 2230200011\n", &codes).unwrap();
        assert_eq!(rules["*"], vec!["2230200011"]);
        assert!(parse_feeders("2230200001: 9999999999\n", &codes).is_err());
        assert!(parse_feeders("2230200001: 2230200010;2230200010\n", &codes).is_err());
    }
}
