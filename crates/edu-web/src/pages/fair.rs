//! Fair allocation (issue 5): class division and admission runs, publication, public verification.
//!
//! Staff pages (`/fair…`, permission `RunAllocations`): the list of runs in scope, the prepare forms, a run's page
//! with the ceremony (commitment shown before the draw; secret and beacon entered at the draw), publication,
//! overrides and applying a division to the registry. Public pages (no login): `/verify` (upload a bundle with
//! its inputs and outputs, or pick a published draw) and `/published/{id}` (masked names, balance report,
//! downloads, and a per-person explanation by pseudonymous id).

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use edu_app::Permission;
use edu_app::allocations::{
    AdmitSource, BalanceAttributes, CommitmentChoice, DrawResult, Explanation, PrepareContext,
    PrepareRequest, PupilConstraint, RunKind, RunListItem, RunView, SeatNeed, VerifyReport,
};
use serde::Deserialize;
use serde_json::Value;

use super::registry::Pager;
use super::{CallerExt, Chrome, district_name, render};
use crate::WebState;
use crate::error::WebError;
use crate::i18n::Tr;
use crate::routes::{Access, Routes};

const RUN: Access = Access::Permission(Permission::RunAllocations);

/// Most names listed per group on a page (an admission may place thousands; the files have them all).
const NAMES_PER_GROUP: usize = 400;

// --- view models shared by the run page and the published page ------------------------------------------------

pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub place: String,
    pub status: String,
    pub status_class: &'static str,
    pub created: String,
}

pub struct NameTag {
    pub text: String,
    pub moved: bool,
}

pub struct Group {
    pub label: String,
    pub detail: String,
    pub names: Vec<NameTag>,
    pub more: usize,
}

pub struct TableView {
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub struct GridView {
    pub week: u32,
    pub weeks: u32,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub rows: Vec<Vec<String>>,
}

/// A drawn result, formatted for the shared template `fair_result.html`.
#[derive(Default)]
pub struct ResultBlock {
    pub groups_title: String,
    pub groups: Vec<Group>,
    pub tables: Vec<TableView>,
    pub grid: Option<GridView>,
    pub facts: Vec<(String, String)>,
}

pub struct FileLink {
    pub name: String,
    pub href: String,
    pub size: String,
    pub sha256: String,
}

/// The facts of a run shown on both pages.
pub struct RunFacts {
    pub kind: String,
    pub place: String,
    pub status: String,
    pub status_class: &'static str,
    pub options: Vec<(String, String)>,
    pub inputs: Vec<FileLink>,
    pub outputs: Vec<FileLink>,
    pub bundle: Option<FileLink>,
    pub zip: Option<FileLink>,
}

pub struct ExplainView {
    pub id: String,
    pub value: String,
    pub drawn: String,
    pub moved: bool,
    pub reason: String,
    pub input_row: Vec<(String, String)>,
    pub keys: Vec<(String, String)>,
    pub position: String,
    pub choices: Vec<Vec<String>>,
    pub seats: Vec<(u32, u32, u32)>,
    pub days: String,
}

/// Hex digests in groups of 8 (`3fa29c01 d2b4e7aa …`): easier to compare aloud at a ceremony, and no long
/// digit runs that could pass for an ID number on a page.
pub fn grouped(hex: &str) -> String {
    let chars: Vec<char> = hex.chars().collect();
    chars
        .chunks(8)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Groups every run of 16 or more hex digits in a text (verification details quote digests).
pub fn group_hex_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 16 {
            out.push_str(&grouped(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The view with every digest grouped for display.
fn display_view(mut view: RunView) -> RunView {
    view.input_digest = grouped(&view.input_digest);
    view.commitment = grouped(&view.commitment);
    view.seed = view.seed.as_deref().map(grouped);
    view.secret = view.secret.as_deref().map(grouped);
    view
}

fn status_label(status: &str, t: Tr) -> (String, &'static str) {
    match status {
        "prepared" => (t.s("fair.status.prepared").to_owned(), "warn"),
        "drawn" => (t.s("fair.status.drawn").to_owned(), "warn"),
        "published" => (t.s("fair.status.published").to_owned(), "good"),
        other => (other.to_owned(), ""),
    }
}

fn kind_name(kind: RunKind, t: Tr) -> String {
    t.pick(kind.label_zh(), kind.label_en()).to_owned()
}

fn place_of(
    institution_name: Option<&str>,
    district: &str,
    grade: Option<i64>,
    class: Option<&str>,
    t: Tr,
) -> String {
    let mut parts = vec![match institution_name {
        Some(name) => name.to_owned(),
        None => district_name(district, t),
    }];
    if let Some(grade) = grade {
        parts.push(format!(
            "{}{grade}{}",
            t.s("fair.grade_prefix"),
            t.s("fair.grade_suffix")
        ));
    }
    if let Some(class) = class {
        parts.push(class.to_owned());
    }
    parts.join(" · ")
}

fn run_row(item: &RunListItem, t: Tr) -> RunRow {
    let (status, status_class) = status_label(&item.status, t);
    RunRow {
        id: item.id,
        kind: RunKind::parse(&item.kind)
            .map(|k| kind_name(k, t))
            .unwrap_or_else(|| item.kind.clone()),
        title: item.title.clone(),
        place: place_of(
            item.institution_name.as_deref(),
            &item.district_code,
            item.grade,
            item.class_name.as_deref(),
            t,
        ),
        status,
        status_class,
        created: edu_model_stamp(item.published_at.unwrap_or(item.created_at)),
    }
}

fn edu_model_stamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| {
            edu_model::china_time::CHINA_OFFSET
                .to_datetime(ts)
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn size_label(bytes: usize) -> String {
    if bytes < 10 * 1024 {
        format!("{bytes} B")
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

fn facts(view: &RunView, base: &str, t: Tr) -> RunFacts {
    let (status, status_class) = status_label(&view.status, t);
    let link = |name: &str, bytes: usize, sha: &str| FileLink {
        name: name.to_owned(),
        href: format!("{base}/{name}"),
        size: size_label(bytes),
        sha256: grouped(sha),
    };
    RunFacts {
        kind: kind_name(view.kind, t),
        place: place_of(
            view.institution_name.as_deref(),
            &view.district_code,
            view.grade,
            view.class_name.as_deref(),
            t,
        ),
        status,
        status_class,
        options: view
            .options
            .iter()
            .map(|(k, v)| {
                let value = match v.as_str() {
                    "true" => t.s("common.yes").to_owned(),
                    "false" => t.s("common.no").to_owned(),
                    "da" => t.s("fair.mechanism.da").to_owned(),
                    "boston" => t.s("fair.mechanism.boston").to_owned(),
                    other => other.to_owned(),
                };
                (option_label(k, t), value)
            })
            .collect(),
        inputs: view
            .inputs
            .iter()
            .map(|f| link(&f.name, f.bytes, &f.sha256))
            .collect(),
        outputs: view
            .outputs
            .iter()
            .map(|f| link(&f.name, f.bytes, &f.sha256))
            .collect(),
        bundle: view.has_bundle.then(|| FileLink {
            name: "bundle.json".into(),
            href: format!("{base}/bundle.json"),
            size: String::new(),
            sha256: String::new(),
        }),
        zip: view.has_bundle.then(|| FileLink {
            name: "draw.zip".into(),
            href: format!("{base}/draw.zip"),
            size: String::new(),
            sha256: String::new(),
        }),
    }
}

fn option_label(key: &str, t: Tr) -> String {
    match key {
        "classes" => t.s("fair.opt.classes"),
        "allow_scores" => t.s("fair.opt.allow_scores"),
        "restarts" => t.s("fair.opt.restarts"),
        "mechanism" => t.s("fair.opt.mechanism"),
        "rows" => t.s("fair.opt.rows"),
        "cols" => t.s("fair.opt.cols"),
        "weeks" => t.s("fair.opt.weeks"),
        "days" => t.s("fair.opt.days"),
        "seats" => t.s("fair.opt.seats"),
        other => other,
    }
    .to_owned()
}

fn category_label(name: &str, t: Tr) -> String {
    match name {
        "cat:birth_month" => t.s("fair.cat.birth_month").to_owned(),
        "cat:support" => t.s("fair.cat.support").to_owned(),
        "cat:boarder" => t.s("fair.cat.boarder").to_owned(),
        "cat:origin" => t.s("fair.cat.origin").to_owned(),
        other => other.trim_start_matches("cat:").to_owned(),
    }
}

/// A column of a published input file and its value, labelled for people.
fn column_cell(column: &str, value: &str, t: Tr) -> (String, String) {
    let label = match column {
        "sex" => t.s("fair.col.sex").to_owned(),
        "together" => t.s("fair.together").to_owned(),
        "apart" => t.s("fair.apart").to_owned(),
        "fixed" => t.s("fair.fixed").to_owned(),
        "zone" => t.s("fair.zone").to_owned(),
        "choices" => t.s("fair.col.choices").to_owned(),
        "priorities" => t.s("fair.col.priorities").to_owned(),
        c if c.starts_with("cat:") => category_label(c, t),
        c => c.trim_start_matches("score:").to_owned(),
    };
    (label, value_label(value, t))
}

/// `M`/`F` and `Y`/`N` as words; anything else as is.
fn value_label(value: &str, t: Tr) -> String {
    match value {
        "M" => t.s("fair.sex.M").to_owned(),
        "F" => t.s("fair.sex.F").to_owned(),
        "Y" => t.s("common.yes").to_owned(),
        "N" => t.s("common.no").to_owned(),
        "front" => t.s("fair.zone.front").to_owned(),
        "back" => t.s("fair.zone.back").to_owned(),
        "" => "—".to_owned(),
        other => other.to_owned(),
    }
}

fn numbers(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| match v.as_i64() {
                    Some(n) => n.to_string(),
                    None => v.as_f64().map(|f| format!("{f:.2}")).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn number(value: &Value) -> String {
    match value.as_i64() {
        Some(n) => n.to_string(),
        None => value
            .as_f64()
            .map(|f| format!("{f:.3}"))
            .unwrap_or_else(|| "—".into()),
    }
}

fn group(label: String, detail: String, mut names: Vec<NameTag>) -> Group {
    names.sort_by(|a, b| a.text.cmp(&b.text));
    let more = names.len().saturating_sub(NAMES_PER_GROUP);
    names.truncate(NAMES_PER_GROUP);
    Group {
        label,
        detail,
        names,
        more,
    }
}

/// Formats a drawn result. `week` selects the seating week; `base` is the page's path (for week links).
pub fn result_block(result: &DrawResult, week: Option<u32>, base: &str, t: Tr) -> ResultBlock {
    let class_label = |k: &str| {
        if k.is_empty() {
            t.s("fair.none").to_owned()
        } else {
            format!(
                "{}{k}{}",
                t.s("fair.class_prefix"),
                t.s("fair.class_suffix")
            )
        }
    };
    let mut block = ResultBlock::default();
    match result {
        DrawResult::Balance {
            classes,
            pupils,
            report,
        } => {
            block.groups_title = t.s("fair.result.classes").to_owned();
            for k in 1..=*classes {
                let names: Vec<NameTag> = pupils
                    .iter()
                    .filter(|p| p.value == k.to_string())
                    .map(|p| NameTag {
                        text: p.display.clone(),
                        moved: p.overridden,
                    })
                    .collect();
                let detail = format!("{} {}", names.len(), t.s("fair.persons"));
                block
                    .groups
                    .push(group(class_label(&k.to_string()), detail, names));
            }
            let mut head = vec![String::new()];
            head.extend((1..=*classes).map(|k| class_label(&k.to_string())));
            head.push(t.s("fair.range").to_owned());
            let mut rows = Vec::new();
            let mut sizes = vec![t.s("fair.report.size").to_owned()];
            sizes.extend(numbers(&report["class_sizes"]));
            sizes.push(number(&report["size_range"]));
            rows.push(sizes);
            for (code, label) in [("M", t.s("fair.sex.M")), ("F", t.s("fair.sex.F"))] {
                let entry = &report["sex"][code];
                if entry.is_object() {
                    let mut row = vec![label.to_owned()];
                    row.extend(numbers(&entry["counts"]));
                    row.push(number(&entry["range"]));
                    rows.push(row);
                }
            }
            if let Some(categories) = report["categories"].as_object() {
                for (name, values) in categories {
                    if let Some(values) = values.as_object() {
                        for (value, entry) in values {
                            let mut row = vec![format!(
                                "{} {}",
                                category_label(name, t),
                                value_label(value, t)
                            )];
                            row.extend(numbers(&entry["counts"]));
                            row.push(number(&entry["range"]));
                            rows.push(row);
                        }
                    }
                }
            }
            if let Some(scores) = report["scores"].as_object() {
                for (name, entry) in scores {
                    let label = name.trim_start_matches("score:");
                    let mut means = vec![format!("{label} {}", t.s("fair.report.mean"))];
                    means.extend(numbers(&entry["means"]));
                    means.push(number(&entry["mean_range"]));
                    rows.push(means);
                    let mut sds = vec![format!("{label} {}", t.s("fair.report.sd"))];
                    sds.extend(numbers(&entry["sds"]));
                    sds.push(number(&entry["sd_range"]));
                    rows.push(sds);
                }
            }
            block.tables.push(TableView {
                caption: t.s("fair.report.title").to_owned(),
                head,
                rows,
            });
            block.facts.push((
                t.s("fair.report.violations").to_owned(),
                number(&report["violations"]["total"]),
            ));
        }
        DrawResult::Admit {
            mechanism,
            schools,
            applicants,
        } => {
            block.groups_title = t.s("fair.result.schools").to_owned();
            for school in schools {
                let names: Vec<NameTag> = applicants
                    .iter()
                    .filter(|a| a.value == school.code)
                    .map(|a| NameTag {
                        text: a.display.clone(),
                        moved: a.overridden,
                    })
                    .collect();
                let detail = format!(
                    "{} {} · {} {}",
                    t.s("fair.capacity"),
                    school.capacity,
                    t.s("fair.admitted"),
                    names.len()
                );
                let label = if school.name.is_empty() {
                    school.code.clone()
                } else {
                    format!("{}（{}）", school.name, school.code)
                };
                block.groups.push(group(label, detail, names));
            }
            let unassigned: Vec<NameTag> = applicants
                .iter()
                .filter(|a| a.value.is_empty())
                .map(|a| NameTag {
                    text: a.display.clone(),
                    moved: a.overridden,
                })
                .collect();
            if !unassigned.is_empty() {
                let detail = format!("{} {}", unassigned.len(), t.s("fair.persons"));
                block
                    .groups
                    .push(group(t.s("fair.unassigned").to_owned(), detail, unassigned));
            }
            block.facts.push((
                t.s("fair.opt.mechanism").to_owned(),
                if mechanism == "boston" {
                    t.s("fair.mechanism.boston")
                } else {
                    t.s("fair.mechanism.da")
                }
                .to_owned(),
            ));
            block.facts.push((
                t.s("fair.applicants").to_owned(),
                applicants.len().to_string(),
            ));
        }
        DrawResult::Teachers { classes, teachers } => {
            block.groups_title = t.s("fair.result.teachers").to_owned();
            for k in 1..=*classes {
                let names: Vec<NameTag> = teachers
                    .iter()
                    .filter(|p| p.value == k.to_string())
                    .map(|p| NameTag {
                        text: p.display.clone(),
                        moved: p.overridden,
                    })
                    .collect();
                block
                    .groups
                    .push(group(class_label(&k.to_string()), String::new(), names));
            }
            let spare: Vec<NameTag> = teachers
                .iter()
                .filter(|p| p.value.is_empty())
                .map(|p| NameTag {
                    text: p.display.clone(),
                    moved: p.overridden,
                })
                .collect();
            if !spare.is_empty() {
                block
                    .groups
                    .push(group(t.s("fair.no_class").to_owned(), String::new(), spare));
            }
        }
        DrawResult::Seats {
            rows,
            cols,
            weeks,
            seating,
            display,
            report,
        } => {
            let week = week.unwrap_or(1).clamp(1, (*weeks).max(1));
            let mut grid = vec![vec![String::new(); *cols as usize]; *rows as usize];
            for (w, id, row, col) in seating {
                if *w == week && *row >= 1 && *col >= 1 && *row <= *rows && *col <= *cols {
                    grid[(*row - 1) as usize][(*col - 1) as usize] =
                        display.get(id).cloned().unwrap_or_else(|| id.clone());
                }
            }
            block.grid = Some(GridView {
                week,
                weeks: *weeks,
                prev: (week > 1).then(|| format!("{base}?week={}", week - 1)),
                next: (week < *weeks).then(|| format!("{base}?week={}", week + 1)),
                rows: grid,
            });
            for (key, label) in [
                ("front_weeks_spread", "fair.seats.front_spread"),
                ("central_weeks_spread", "fair.seats.central_spread"),
                ("repeated_desk_mate_pairs", "fair.seats.repeated"),
                ("zone_violations", "fair.seats.zone_violations"),
                ("apart_violations", "fair.seats.apart_violations"),
            ] {
                block
                    .facts
                    .push((t.s(label).to_owned(), number(&report[key])));
            }
        }
        DrawResult::Duty { days } => {
            block.tables.push(TableView {
                caption: t.s("fair.result.rota").to_owned(),
                head: vec![t.s("fair.day").to_owned(), t.s("fair.person").to_owned()],
                rows: days
                    .iter()
                    .map(|(day, _, display)| vec![day.to_string(), display.clone()])
                    .collect(),
            });
        }
        DrawResult::Election {
            elected,
            display,
            report,
        } => {
            let show = |id: &str| display.get(id).cloned().unwrap_or_else(|| id.to_owned());
            block.tables.push(TableView {
                caption: t.s("fair.result.elected").to_owned(),
                head: vec![
                    t.s("fair.seat").to_owned(),
                    t.s("fair.person").to_owned(),
                    t.s("fair.decided_by").to_owned(),
                ],
                rows: elected
                    .iter()
                    .map(|(seat, id, shown)| {
                        let decided = report["counts"]
                            .as_array()
                            .and_then(|c| c.get((*seat as usize).saturating_sub(1)))
                            .and_then(|c| c["decided_by"].as_str())
                            .unwrap_or("")
                            .to_owned();
                        let _ = id;
                        vec![seat.to_string(), shown.clone(), decided]
                    })
                    .collect(),
            });
            if let Some(counts) = report["counts"].as_array() {
                for count in counts {
                    let seat = count["seat"].as_u64().unwrap_or(0);
                    let mut rows: Vec<Vec<String>> = count["first_preferences"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|c| {
                                    vec![
                                        show(c["candidate"].as_str().unwrap_or("")),
                                        number(&c["votes"]),
                                    ]
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    rows.push(vec![
                        t.s("fair.election.exhausted").to_owned(),
                        number(&count["exhausted"]),
                    ]);
                    rows.push(vec![
                        t.s("fair.election.majority").to_owned(),
                        number(&count["majority"]),
                    ]);
                    if let Some(runoff) = count["runoff"].as_object() {
                        let names = numbers_or_text(&runoff["candidates"]);
                        let votes = numbers(&runoff["votes"]);
                        for (name, vote) in names.iter().zip(votes) {
                            rows.push(vec![
                                format!("{} {}", t.s("fair.election.runoff"), show(name)),
                                vote,
                            ]);
                        }
                    }
                    block.tables.push(TableView {
                        caption: format!("{} {seat}", t.s("fair.seat")),
                        head: vec![t.s("fair.person").to_owned(), t.s("fair.votes").to_owned()],
                        rows,
                    });
                }
            }
        }
    }
    block
}

fn numbers_or_text(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn explain_view(e: &Explanation, t: Tr) -> ExplainView {
    let class_like = |v: &str| -> String {
        if v.is_empty() {
            t.s("fair.none").to_owned()
        } else if v.chars().all(|c| c.is_ascii_digit()) && v.len() < 4 {
            format!(
                "{}{v}{}",
                t.s("fair.class_prefix"),
                t.s("fair.class_suffix")
            )
        } else {
            v.to_owned()
        }
    };
    ExplainView {
        id: e.id.clone(),
        value: if e.choices.is_empty() && e.seats.is_empty() && e.days.is_empty() {
            class_like(&e.value)
        } else {
            e.value.clone()
        },
        drawn: class_like(&e.drawn),
        moved: e.value != e.drawn,
        reason: e.override_reason.clone().unwrap_or_default(),
        input_row: e
            .input_row
            .iter()
            .filter(|(k, _)| k != "id")
            .map(|(k, v)| column_cell(k, v, t))
            .collect(),
        keys: e
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), grouped(v)))
            .collect(),
        position: e
            .position
            .map(|(k, n)| format!("{k} / {n}"))
            .unwrap_or_default(),
        choices: e
            .choices
            .iter()
            .map(|c| {
                vec![
                    c.rank.to_string(),
                    if c.name.is_empty() {
                        c.code.clone()
                    } else {
                        format!("{}（{}）", c.name, c.code)
                    },
                    c.tier.to_string(),
                    format!("{} / {}", c.admitted, c.capacity),
                    c.cutoff
                        .as_ref()
                        .map(|(tier, key)| format!("{tier} · {}", grouped(key)))
                        .unwrap_or_else(|| "—".into()),
                    t.s(match c.outcome.as_str() {
                        "admitted" => "fair.explain.admitted",
                        "outranked" => "fair.explain.outranked",
                        _ => "fair.explain.not_reached",
                    })
                    .to_owned(),
                ]
            })
            .collect(),
        seats: e.seats.clone(),
        days: e
            .days
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("、"),
    }
}

// --- staff: list ----------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "fair_list.html")]
struct ListPage {
    chrome: Chrome,
    runs: Vec<RunRow>,
    total: i64,
    pager: Pager,
    kinds: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<i64>,
}

async fn list(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/fair", "fair.title");
    let t = chrome.t;
    let number = query.page.unwrap_or(1).max(1);
    let runs = state
        .app
        .allocation_runs(actor, edu_app::page(number, 50))
        .await
        .map_err(WebError::page)?;
    let kinds = RunKind::ALL
        .iter()
        .filter(|k| {
            k.per_institution() || !matches!(actor.scope, edu_app::Scope::Institution { .. })
        })
        .map(|k| (k.code().to_owned(), kind_name(*k, t)))
        .collect();
    render(&ListPage {
        pager: Pager::new("/fair", &[], number, 50, runs.total),
        total: runs.total,
        runs: runs.items.iter().map(|r| run_row(r, t)).collect(),
        kinds,
        chrome,
    })
}

// --- staff: prepare -------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "fair_new.html")]
struct NewPage {
    chrome: Chrome,
    kind: String,
    kind_label: String,
    kinds: Vec<(String, String)>,
    context: PrepareContext,
    code: String,
    grade: i64,
    class_id: i64,
    district: String,
    districts: Vec<(String, String)>,
    default_classes: i64,
    default_rows: i64,
    class_label: String,
    senior: bool,
    twins_hint: Vec<String>,
    scores_href: String,
}

#[derive(Deserialize, Default)]
struct NewQuery {
    kind: Option<String>,
    code: Option<String>,
    grade: Option<i64>,
    class: Option<i64>,
    district: Option<String>,
}

async fn new_form(
    State(state): State<WebState>,
    caller: CallerExt,
    Query(query): Query<NewQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let chrome = Chrome::new(&caller, "/fair", "fair.new_title");
    let t = chrome.t;
    let kind = query
        .kind
        .as_deref()
        .and_then(RunKind::parse)
        .unwrap_or(RunKind::Balance);
    let context = state
        .app
        .allocation_prepare_context(
            actor,
            kind,
            query.code.as_deref(),
            query.grade,
            query.class,
            query.district.as_deref(),
        )
        .await
        .map_err(WebError::page)?;
    let mut context = context;
    for pupil in &mut context.pupils {
        pupil.sex = edu_model::Sex::parse(&pupil.sex)
            .map(|sex| t.pick(sex.label_zh(), sex.label_en()).to_owned())
            .unwrap_or_default();
    }
    let code = context
        .institution
        .as_ref()
        .map(|i| i.0.clone())
        .unwrap_or_default();
    let grade = query.grade.unwrap_or(0);
    let class_id = query.class.unwrap_or(0);
    // The grade's existing classes, or classes of about 45 (the standard class size) for a new intake.
    let default_classes = match kind {
        RunKind::Balance | RunKind::Teachers => context
            .grades
            .iter()
            .find(|g| g.0 == grade)
            .map(|g| if g.2 > 0 { g.2 } else { (g.1 + 44) / 45 })
            .unwrap_or(0),
        _ => 0,
    };
    let class_size = context.pupils.len() as i64;
    let class_label = context
        .classes
        .iter()
        .find(|c| c.0 == class_id)
        .map(|c| {
            format!(
                "{}{}{} {}",
                t.s("fair.grade_prefix"),
                c.1,
                t.s("fair.grade_suffix"),
                c.2
            )
        })
        .unwrap_or_default();
    let names: BTreeMap<i64, &str> = context
        .pupils
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let twins_hint = context
        .possible_twins
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|id| names.get(id).copied().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("、")
        })
        .collect();
    let districts = context
        .districts
        .iter()
        .map(|d| (d.clone(), district_name(d, t)))
        .collect();
    render(&NewPage {
        kind: kind.code().to_owned(),
        kind_label: kind_name(kind, t),
        kinds: RunKind::ALL
            .iter()
            .map(|k| (k.code().to_owned(), kind_name(*k, t)))
            .collect(),
        senior: context.senior,
        scores_href: format!("/fair/scores/{code}?grade={grade}"),
        code,
        grade,
        class_id,
        district: query.district.unwrap_or_default(),
        districts,
        default_classes: default_classes.max(1),
        default_rows: ((class_size + 7) / 8).max(1),
        class_label,
        twins_hint,
        context,
        chrome,
    })
}

/// Text fields and files of a multipart form.
struct FormData {
    text: BTreeMap<String, String>,
    files: Vec<(String, String, Vec<u8>)>,
}

impl FormData {
    fn get(&self, name: &str) -> &str {
        self.text.get(name).map(String::as_str).unwrap_or("").trim()
    }

    fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.files
            .iter()
            .find(|(field, _, bytes)| field == name && !bytes.is_empty())
            .map(|(_, _, bytes)| bytes.clone())
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).parse().ok()
    }

    fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

async fn read_form(mut multipart: Multipart) -> Result<FormData, WebError> {
    let bad = |message: &str| WebError::BadRequest {
        api: false,
        message: message.to_owned(),
    };
    let mut data = FormData {
        text: BTreeMap::new(),
        files: Vec::new(),
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| bad("上传失败 / upload failed"))?
    {
        let name = field.name().unwrap_or("").to_owned();
        match field
            .file_name()
            .map(|f| f.chars().take(120).collect::<String>())
        {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(|_| {
                    bad("文件过大或上传中断 / file too large or upload interrupted")
                })?;
                if !bytes.is_empty() {
                    data.files.push((name, file_name, bytes.to_vec()));
                }
            }
            None => {
                let text = field.text().await.unwrap_or_default();
                data.text.insert(name, text);
            }
        }
        if data.files.len() > 40 || data.text.len() > 5_000 {
            return Err(bad("表单字段过多 / too many fields"));
        }
    }
    Ok(data)
}

fn request_of(form: &FormData) -> Result<PrepareRequest, WebError> {
    let bad = |message: &str| WebError::BadRequest {
        api: false,
        message: message.to_owned(),
    };
    let kind =
        RunKind::parse(form.get("kind")).ok_or_else(|| bad("未知的抽签类型 / unknown kind"))?;
    let per_pupil = |prefix: &str| -> BTreeMap<i64, String> {
        form.text
            .iter()
            .filter_map(|(k, v)| {
                let id = k.strip_prefix(prefix)?.parse::<i64>().ok()?;
                Some((id, v.trim().to_owned()))
            })
            .collect()
    };
    let institution = form.get("code").to_owned();
    Ok(match kind {
        RunKind::Balance => {
            let together = per_pupil("together_");
            let apart = per_pupil("apart_");
            let fixed = per_pupil("fixed_");
            let mut ids: Vec<i64> = together
                .keys()
                .chain(apart.keys())
                .chain(fixed.keys())
                .copied()
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let mut constraints = Vec::new();
            for id in ids {
                let fixed_value = fixed.get(&id).map(String::as_str).unwrap_or("");
                let c = PupilConstraint {
                    pupil_id: id,
                    together: together.get(&id).cloned().unwrap_or_default(),
                    apart: apart.get(&id).cloned().unwrap_or_default(),
                    fixed: if fixed_value.is_empty() {
                        None
                    } else {
                        Some(fixed_value.parse().map_err(|_| {
                            bad("指定班级应为数字 / a fixed class must be a number")
                        })?)
                    },
                };
                if !c.together.is_empty() || !c.apart.is_empty() || c.fixed.is_some() {
                    constraints.push(c);
                }
            }
            PrepareRequest::Balance {
                institution,
                grade: form.number("grade").unwrap_or(0),
                classes: form.number("classes").unwrap_or(0),
                attributes: BalanceAttributes {
                    birth_month: form.checked("attr_birth_month"),
                    origin: form.checked("attr_origin"),
                    special_needs: form.checked("attr_special_needs"),
                    boarder: form.checked("attr_boarder"),
                },
                constraints,
                scores: form.file("scores"),
            }
        }
        RunKind::Teachers => PrepareRequest::Teachers {
            institution,
            grade: form.number("grade").unwrap_or(0),
            classes: form.number("classes").unwrap_or(0),
            teacher_ids: form
                .text
                .keys()
                .filter_map(|k| k.strip_prefix("teacher_")?.parse().ok())
                .collect(),
        },
        RunKind::Seats => {
            let zones = per_pupil("zone_");
            let aparts = per_pupil("apart_");
            let mut ids: Vec<i64> = zones.keys().chain(aparts.keys()).copied().collect();
            ids.sort_unstable();
            ids.dedup();
            PrepareRequest::Seats {
                institution,
                class_id: form.number("class").unwrap_or(0),
                rows: form.number("rows").unwrap_or(0),
                cols: form.number("cols").unwrap_or(0),
                weeks: form.number("weeks").unwrap_or(0),
                needs: ids
                    .into_iter()
                    .map(|id| SeatNeed {
                        pupil_id: id,
                        zone: zones.get(&id).cloned().unwrap_or_default(),
                        apart: aparts.get(&id).cloned().unwrap_or_default(),
                    })
                    .collect(),
            }
        }
        RunKind::Duty => PrepareRequest::Duty {
            institution,
            class_id: form.number("class").unwrap_or(0),
            days: form.number("days").unwrap_or(0),
        },
        RunKind::Election => PrepareRequest::Election {
            institution,
            class_id: form.number("class").unwrap_or(0),
            seats: form.number("seats").unwrap_or(0),
            ballots: form.file("ballots").unwrap_or_default(),
        },
        RunKind::Admit => PrepareRequest::Admit {
            district: form.get("district").to_owned(),
            mechanism: form.get("mechanism").to_owned(),
            source: if form.get("source") == "upload" {
                AdmitSource::Upload {
                    applicants: form.file("applicants").unwrap_or_default(),
                    schools: form.file("schools_file").unwrap_or_default(),
                }
            } else {
                AdmitSource::Registry {
                    schools: form.get("schools").to_owned(),
                    feeders: form.get("feeders").to_owned(),
                    catchment_priority: form.checked("catchment"),
                }
            },
        },
    })
}

async fn new_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let form = read_form(multipart).await?;
    let request = request_of(&form)?;
    let commitment = if form.get("commit") == "notary" {
        CommitmentChoice::Notary(form.get("commitment").to_owned())
    } else {
        CommitmentChoice::Generate
    };
    let prepared = state
        .app
        .prepare_allocation(
            actor,
            request,
            form.get("title"),
            form.get("policy_note"),
            commitment,
            &caller.context,
        )
        .await
        .map_err(WebError::page)?;
    // The generated secret is shown on this response only; it is never stored.
    run_page_response(
        &state,
        &caller,
        prepared.run_id,
        prepared.secret_once,
        None,
        None,
    )
    .await
}

// --- staff: one run -------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "fair_run.html")]
struct RunPage {
    chrome: Chrome,
    view: RunView,
    facts: RunFacts,
    result: Option<ResultBlock>,
    secret_once: Option<String>,
    flash: Option<String>,
    can_apply: bool,
    can_export: bool,
    can_override: bool,
    public_href: String,
    draw_path: String,
    publish_path: String,
    override_path: String,
    apply_path: String,
}

#[derive(Deserialize, Default)]
struct RunQuery {
    week: Option<u32>,
    done: Option<String>,
}

async fn run_page(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<RunQuery>,
) -> Result<Response, WebError> {
    let t = Tr::new(caller.lang);
    let flash = query.done.as_deref().map(|d| match d {
        "draw" => t.s("fair.flash.drawn").to_owned(),
        "publish" => t.s("fair.flash.published").to_owned(),
        "override" => t.s("fair.flash.override").to_owned(),
        other => match other.strip_prefix("apply-") {
            Some(n) => format!("{} {n}", t.s("fair.flash.applied")),
            None => String::new(),
        },
    });
    run_page_response(&state, &caller, id, None, flash, query.week).await
}

async fn run_page_response(
    state: &WebState,
    caller: &CallerExt,
    id: i64,
    secret_once: Option<String>,
    flash: Option<String>,
    week: Option<u32>,
) -> Result<Response, WebError> {
    let actor = super::actor(caller)?;
    let view = state
        .app
        .allocation_run(actor, id)
        .await
        .map_err(WebError::page)?;
    let view = display_view(view);
    let chrome = Chrome::new(caller, "/fair", "fair.run_title");
    let t = chrome.t;
    let base = format!("/fair/{id}");
    let result = view
        .result
        .as_ref()
        .map(|r| result_block(r, week, &base, t));
    render(&RunPage {
        facts: facts(&view, &base, t),
        can_apply: view.kind == RunKind::Balance
            && view.status != "prepared"
            && view.applied_at.is_none()
            && actor.can(Permission::EditRegistry),
        can_export: actor.can(Permission::ExportData) && view.members > 0,
        can_override: matches!(
            view.kind,
            RunKind::Balance | RunKind::Admit | RunKind::Teachers
        ) && view.status != "prepared",
        public_href: format!("/published/{id}"),
        draw_path: format!("{base}/draw"),
        publish_path: format!("{base}/publish"),
        override_path: format!("{base}/override"),
        apply_path: format!("{base}/apply"),
        result,
        secret_once: secret_once.as_deref().map(grouped),
        flash: flash.filter(|f| !f.is_empty()),
        view,
        chrome,
    })
}

#[derive(Deserialize)]
struct DrawForm {
    secret: String,
    beacon: String,
}

async fn draw(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<DrawForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    state
        .app
        .draw_allocation(actor, id, &form.secret, &form.beacon, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/fair/{id}?done=draw")).into_response())
}

async fn publish(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    state
        .app
        .publish_allocation(actor, id, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/fair/{id}?done=publish")).into_response())
}

#[derive(Deserialize)]
struct OverrideForm {
    id: String,
    to: String,
    reason: String,
}

async fn override_result(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Form(form): Form<OverrideForm>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    state
        .app
        .override_allocation(actor, id, &form.id, &form.to, &form.reason, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/fair/{id}?done=override")).into_response())
}

async fn apply(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let applied = state
        .app
        .apply_allocation(actor, id, &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(Redirect::to(&format!("/fair/{id}?done=apply-{}", applied.moved)).into_response())
}

fn download(bytes: Vec<u8>, content_type: &str, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (header::CONTENT_DISPOSITION, super::data::attachment(name)),
        ],
        bytes,
    )
        .into_response()
}

async fn run_file(
    State(state): State<WebState>,
    caller: CallerExt,
    Path((id, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    if file == "ids.xlsx" {
        let (bytes, name) = state
            .app
            .allocation_id_list(actor, id, &caller.context)
            .await
            .map_err(WebError::page)?;
        return Ok(download(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &name,
        ));
    }
    let (bytes, content_type) = state
        .app
        .allocation_file(actor, id, &file)
        .await
        .map_err(WebError::page)?;
    Ok(download(bytes, &content_type, &format!("draw-{id}-{file}")))
}

#[derive(Deserialize, Default)]
struct ScoresQuery {
    grade: Option<i64>,
}

async fn scores_template(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(code): Path<String>,
    Query(query): Query<ScoresQuery>,
) -> Result<Response, WebError> {
    let actor = super::actor(&caller)?;
    let (bytes, name) = state
        .app
        .allocation_scores_template(actor, &code, query.grade.unwrap_or(10), &caller.context)
        .await
        .map_err(WebError::page)?;
    Ok(download(bytes, "text/csv; charset=utf-8", &name))
}

// --- public: published draws and verification -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "fair_published.html")]
struct PublishedPage {
    chrome: Chrome,
    view: RunView,
    facts: RunFacts,
    result: Option<ResultBlock>,
    query_id: String,
    explanation: Option<ExplainView>,
    not_found: bool,
}

#[derive(Deserialize, Default)]
struct PublishedQuery {
    p: Option<String>,
    week: Option<u32>,
}

async fn published(
    State(state): State<WebState>,
    caller: CallerExt,
    Path(id): Path<i64>,
    Query(query): Query<PublishedQuery>,
) -> Result<Response, WebError> {
    let view = state
        .app
        .published_allocation(id)
        .await
        .map_err(WebError::page)?;
    let view = display_view(view);
    let chrome = Chrome::new(&caller, "/verify", "fair.published_title");
    let t = chrome.t;
    let base = format!("/published/{id}");
    let query_id: String = query
        .p
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    let explanation = if query_id.is_empty() {
        None
    } else {
        state
            .app
            .explain_allocation(id, &query_id)
            .await
            .map_err(WebError::page)?
    };
    let result = view
        .result
        .as_ref()
        .map(|r| result_block(r, query.week, &base, t));
    render(&PublishedPage {
        facts: facts(&view, &base, t),
        not_found: !query_id.is_empty() && explanation.is_none(),
        explanation: explanation.as_ref().map(|e| explain_view(e, t)),
        query_id,
        result,
        view,
        chrome,
    })
}

async fn published_file(
    State(state): State<WebState>,
    Path((id, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let (bytes, content_type) = state
        .app
        .published_allocation_file(id, &file)
        .await
        .map_err(WebError::page)?;
    Ok(download(bytes, &content_type, &format!("draw-{id}-{file}")))
}

pub struct CheckRow {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

pub struct VerifyView {
    pub ok: bool,
    pub checks: Vec<CheckRow>,
    pub differing: String,
    pub source: String,
}

fn verify_view(report: &VerifyReport, source: String) -> VerifyView {
    VerifyView {
        ok: report.ok,
        checks: report
            .checks
            .iter()
            .map(|c| CheckRow {
                name: c.name.clone(),
                ok: c.ok,
                detail: group_hex_runs(&c.detail),
            })
            .collect(),
        differing: report.differing_outputs.join(", "),
        source,
    }
}

pub struct PendingRow {
    pub row: RunRow,
    pub commitment: String,
    pub input_digest: String,
    pub prepared: String,
}

#[derive(Template)]
#[template(path = "fair_verify.html")]
struct VerifyPage {
    chrome: Chrome,
    published: Vec<RunRow>,
    pending: Vec<PendingRow>,
    report: Option<VerifyView>,
}

/// The public lists of the verification page: draws awaiting their ceremony (commitments) and published draws.
async fn public_lists(state: &WebState, t: Tr) -> Result<(Vec<RunRow>, Vec<PendingRow>), WebError> {
    let published = state
        .app
        .published_allocations(50)
        .await
        .map_err(WebError::page)?;
    let pending = state
        .app
        .pending_allocations(50)
        .await
        .map_err(WebError::page)?;
    Ok((
        published.iter().map(|r| run_row(r, t)).collect(),
        pending
            .iter()
            .map(|p| PendingRow {
                row: run_row(&p.run, t),
                commitment: grouped(&p.commitment),
                input_digest: grouped(&p.input_digest),
                prepared: edu_model_stamp(p.run.created_at),
            })
            .collect(),
    ))
}

async fn verify_page(
    State(state): State<WebState>,
    caller: CallerExt,
) -> Result<Response, WebError> {
    let chrome = Chrome::new(&caller, "/verify", "fair.verify_title");
    let (published, pending) = public_lists(&state, chrome.t).await?;
    render(&VerifyPage {
        published,
        pending,
        report: None,
        chrome,
    })
}

async fn verify_submit(
    State(state): State<WebState>,
    caller: CallerExt,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let form = read_form(multipart).await?;
    let chrome = Chrome::new(&caller, "/verify", "fair.verify_title");
    let t = chrome.t;
    let (report, source) = match form.get("published").parse::<i64>() {
        Ok(id) => (
            state
                .app
                .verify_published_allocation(id)
                .await
                .map_err(WebError::page)?,
            format!("{} #{id}", t.s("fair.verify.published_draw")),
        ),
        Err(_) => {
            let names: Vec<String> = form.files.iter().map(|f| f.1.clone()).collect();
            let files = form
                .files
                .into_iter()
                .map(|(_, name, bytes)| (name, bytes))
                .collect();
            (
                state
                    .app
                    .verify_allocation_upload(files)
                    .map_err(WebError::page)?,
                names.join(", "),
            )
        }
    };
    let (published, pending) = public_lists(&state, t).await?;
    let mut response = render(&VerifyPage {
        published,
        pending,
        report: Some(verify_view(&report, source)),
        chrome,
    })?;
    if !report.ok {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .page("GET", "/fair", RUN, get(list))
        .page("GET", "/fair/new", RUN, get(new_form))
        .page("POST", "/fair/new", RUN, post(new_submit))
        .page("GET", "/fair/scores/{code}", RUN, get(scores_template))
        .page("GET", "/fair/{id}", RUN, get(run_page))
        .page("POST", "/fair/{id}/draw", RUN, post(draw))
        .page("POST", "/fair/{id}/publish", RUN, post(publish))
        .page("POST", "/fair/{id}/override", RUN, post(override_result))
        .page("POST", "/fair/{id}/apply", RUN, post(apply))
        .page("GET", "/fair/{id}/{file}", RUN, get(run_file))
        .page("GET", "/verify", Access::Public, get(verify_page))
        .page("POST", "/verify", Access::Public, post(verify_submit))
        .page("GET", "/published/{id}", Access::Public, get(published))
        .page(
            "GET",
            "/published/{id}/{file}",
            Access::Public,
            get(published_file),
        )
}
