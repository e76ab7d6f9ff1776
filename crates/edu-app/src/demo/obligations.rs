//! Demo data for obligations: a year of returns for the demo city, up to the demo's "now".
//!
//! Daily health reports for every school day of 2021 (most schools on time, some late, zero reports where
//! nothing happened, a few schools missing recent days, a few copying the same figures), two class clusters and an
//! absence spike with their line-list cases and alerts, and the weekly, monthly, term and yearly returns of the
//! other obligations with values that put the plan's targets near their marks (ice-and-snow pupil-times on pace
//! for 270,000, kindergarten funding near 600 / 200 yuan per pupil, homework mostly within the caps). Every return
//! goes through the obligation engine (`accept_submission`), so the demo holds nothing the platform would refuse.

use edu_form::Values;
use edu_form::china_time::{add_days, china_date, china_instant};
use edu_obligation::{
    DayReport, Institution, ObligationDef, Period, ReportKind, SchoolCalendar, Submission,
    SubmissionContent, accept_submission, health_alerts,
};
use edu_store::obligations::{
    AlertWrite, BulkReturn, CasesReplace, NewReturn, ObligationInstitution,
};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{DemoContext, DemoInstitution, Rng};
use crate::App;
use crate::audit::{self, Outcome};
use crate::error::AppError;
use crate::obligations::{
    HEALTH_DAILY, alert_write, daqing_school_calendar, engine_institution, timeliness_code,
};

/// Returns per bulk transaction (bounds memory at full scale).
const BATCH: usize = 25_000;

/// How reliably a school files its returns.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Habit {
    missing: f64,
    late: f64,
    /// Missed the last this-many school days (escalation in the demo).
    lapsed_days: i64,
    /// Copies the same figures for the last days.
    copies: bool,
}

fn habit(rng: &mut Rng, kind: &str) -> Habit {
    let x = rng.unit();
    let (missing, late) = if x < 0.86 {
        (0.002, 0.02)
    } else if x < 0.95 {
        (0.03, 0.15)
    } else {
        (0.05, 0.45)
    };
    Habit {
        missing,
        late,
        lapsed_days: if rng.chance(0.015) {
            rng.range(2, 4)
        } else {
            0
        },
        copies: kind != "kindergarten" && rng.chance(0.02),
    }
}

/// Small counts with a narrow spread around `mean`: no spurious spike alerts from noise.
fn count(rng: &mut Rng, mean: f64) -> i64 {
    if mean < 2.5 {
        let mut n = 0;
        let mut p = mean / 2.5;
        while n < 2 && rng.chance(p.min(0.95)) {
            n += 1;
            p *= 0.5;
        }
        n
    } else {
        (mean * rng.between(0.8, 1.2)).round() as i64
    }
}

fn at(date: Date, hour: i8, minute: i8) -> Timestamp {
    china_instant(date, Time::constant(hour, minute, 0, 0))
}

fn engine_of(i: &DemoInstitution) -> Option<Institution> {
    engine_institution(&ObligationInstitution {
        id: i.id,
        code: i.code.clone(),
        name: i.name.clone(),
        district_code: i.district.clone(),
        kind: i.kind.clone(),
        ownership: i.ownership.clone(),
        inclusive: i.inclusive,
        area: i.area.clone(),
        authority: i.authority.clone(),
        status: "open".into(),
        phone: String::new(),
        tags: Vec::new(),
    })
}

fn staff_of(i: &DemoInstitution) -> i64 {
    let classes = i.classes.len() as i64;
    if i.kind == "kindergarten" {
        classes * 3 + 4
    } else {
        classes * 2 + 8
    }
}

/// A class as a school writes it in a line list: 三年级2班, 中班1班.
fn class_label(kind: &str, grade: i64, name: &str) -> String {
    const GRADES: [&str; 12] = [
        "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
    ];
    const KG: [&str; 3] = ["小班", "中班", "大班"];
    let index = (grade - 1).clamp(0, 11) as usize;
    let (prefix, joined) = if kind == "kindergarten" {
        let p = KG.get(index.min(2)).copied().unwrap_or("");
        (p, format!("{p}{name}"))
    } else {
        let p = GRADES.get(index).copied().unwrap_or("");
        (p, format!("{p}年级{name}"))
    };
    if name.starts_with(prefix) {
        name.to_owned()
    } else {
        joined
    }
}

/// A followed person of a school's line list in the demo.
#[derive(Debug, Clone)]
struct DemoCase {
    person: String,
    person_kind: &'static str,
    class_name: String,
    onset: Date,
    symptoms: Vec<&'static str>,
    /// Report days left before recovery (0 = recovered in this report, then dropped).
    days_left: i64,
    status: &'static str,
}

/// Injected health events.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    /// A class cluster a few weeks ago, followed until every case recovered.
    ClosedCluster(Date),
    /// A class cluster in the last days, still open.
    OpenCluster(Date),
    /// Absences through illness far above the usual level on one day.
    Spike(Date),
}

struct Generated {
    returns: Vec<BulkReturn>,
    cases: Vec<CasesReplace>,
    alerts: Vec<AlertWrite>,
}

/// What generation needs from the demo context, owned (generation runs on a blocking thread).
struct Setting {
    seed: u64,
    scale: f64,
    today: Date,
    now_ms: i64,
    institutions: Vec<DemoInstitution>,
}

impl Setting {
    fn rng(&self, label: &str) -> Rng {
        Rng::new(self.seed).fork(label)
    }
}

/// A batch of generated records for one bulk transaction.
type Batch = (Vec<BulkReturn>, Vec<CasesReplace>, Vec<AlertWrite>);

impl App {
    /// Adds this capability's demo records to a freshly generated city. Records are generated on a blocking
    /// thread while the previous batch is being stored, so both cores work.
    pub(crate) async fn demo_obligations(&self, demo: &DemoContext<'_>) -> Result<(), AppError> {
        // Generation time is logged (a duration for the operator, not business time).
        let started = std::time::Instant::now();
        let setting = Setting {
            seed: demo.seed,
            scale: demo.scale,
            today: demo.today,
            now_ms: demo.now_ms,
            institutions: demo.institutions.to_vec(),
        };
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(2);
        let app = self.clone();
        let generator =
            tokio::task::spawn_blocking(move || app.obl_generate_demo(&setting, &sender));
        let mut generated_returns = 0usize;
        let mut storing = std::time::Duration::ZERO;
        while let Some((mut returns, mut cases, mut alerts)) = receiver.recv().await {
            generated_returns += returns.len();
            let t = std::time::Instant::now();
            self.obl_flush_demo(demo, &mut returns, &mut cases, &mut alerts)
                .await?;
            storing += t.elapsed();
        }
        generator
            .await
            .map_err(|e| AppError::Config(format!("demo obligations: {e}")))??;
        tracing::info!(
            returns = generated_returns,
            storing_seconds = storing.as_secs_f64(),
            seconds = started.elapsed().as_secs_f64(),
            "demo obligations generated"
        );
        Ok(())
    }

    /// Generates every return, case and alert, sending them in batches.
    fn obl_generate_demo(
        &self,
        setting: &Setting,
        sender: &tokio::sync::mpsc::Sender<Batch>,
    ) -> Result<(), AppError> {
        let calendar = daqing_school_calendar();
        let now = Timestamp::from_millisecond(setting.now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let defs: Vec<ObligationDef> = self.plan.obligations.values().cloned().collect();
        let events = pick_events(setting, &calendar);
        let mut pending: Vec<BulkReturn> = Vec::new();
        let mut cases: Vec<CasesReplace> = Vec::new();
        let mut alerts: Vec<AlertWrite> = Vec::new();
        let ice_unit = ice_snow_unit(setting, &defs);
        let send = |batch: Batch| {
            // The receiver only goes away when storing failed; that error is reported by the caller.
            sender.blocking_send(batch).is_ok()
        };
        for def in &defs {
            for inst in &setting.institutions {
                let Some(engine) = engine_of(inst) else {
                    continue;
                };
                if !def.owed_by(&engine) {
                    continue;
                }
                let mut rng = setting.rng(&format!("obligation:{}:{}", def.id, inst.code));
                let generated = if def.id == HEALTH_DAILY {
                    let event = events
                        .iter()
                        .find(|(code, _)| *code == inst.code)
                        .map(|(_, e)| *e);
                    self.obl_demo_health(
                        def, &calendar, inst, &engine, event, now, setting, &mut rng,
                    )?
                } else {
                    self.obl_demo_periodic(def, &calendar, inst, &engine, now, ice_unit, &mut rng)?
                };
                pending.extend(generated.returns);
                cases.extend(generated.cases);
                alerts.extend(generated.alerts);
                if pending.len() >= BATCH
                    && !send((
                        std::mem::take(&mut pending),
                        std::mem::take(&mut cases),
                        std::mem::take(&mut alerts),
                    ))
                {
                    return Ok(());
                }
            }
        }
        send((pending, cases, alerts));
        Ok(())
    }

    async fn obl_flush_demo(
        &self,
        demo: &DemoContext<'_>,
        returns: &mut Vec<BulkReturn>,
        cases: &mut Vec<CasesReplace>,
        alerts: &mut Vec<AlertWrite>,
    ) -> Result<(), AppError> {
        if returns.is_empty() && cases.is_empty() && alerts.is_empty() {
            return Ok(());
        }
        let entry = audit::entry(
            demo.now_ms,
            None,
            "cli:demo",
            demo.context,
            "demo.obligations",
            "obligation_return",
            "",
            Outcome::Success,
            &format!(
                "returns={} cases={} alerts={}",
                returns.len(),
                cases.iter().map(|c| c.cases.len()).sum::<usize>(),
                alerts.len()
            ),
        );
        self.store
            .insert_returns_bulk(returns, cases, alerts, &entry)
            .await?;
        returns.clear();
        cases.clear();
        alerts.clear();
        Ok(())
    }

    /// One accepted submission as a bulk return, or `None` when the engine refuses it (never expected).
    #[allow(clippy::too_many_arguments)]
    fn obl_demo_return(
        &self,
        def: &ObligationDef,
        calendar: &SchoolCalendar,
        inst: &DemoInstitution,
        engine: &Institution,
        period: &Period,
        content: SubmissionContent,
        submitted_at: Timestamp,
    ) -> Result<Option<(BulkReturn, Values, ReportKind)>, AppError> {
        let by = format!("s{}", inst.code);
        let submission = Submission {
            institution: inst.code.clone(),
            period: period.key.clone(),
            content,
            submitted_by: by.clone(),
            at: submitted_at,
        };
        let accepted = match accept_submission(def, calendar, engine, &submission) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(obligation = %def.id, institution = %inst.code, period = %period.key, error = ?e.0, "demo return refused");
                return Ok(None);
            }
        };
        let at_ms = submitted_at.as_millisecond();
        let version = self.obl_version_write(
            def,
            &inst.code,
            &period.key,
            1,
            accepted.kind,
            &accepted.values,
            accepted.zero_statement.as_ref(),
            &by,
            None,
            at_ms,
            None,
        )?;
        let kind = accepted.kind;
        let values = accepted.values.clone();
        Ok(Some((
            BulkReturn {
                ret: NewReturn {
                    obligation: def.id.clone(),
                    institution_id: inst.id,
                    period: period.key.clone(),
                    period_start: period.start.to_string(),
                    period_end: period.end.to_string(),
                    timeliness: timeliness_code(accepted.timeliness).to_owned(),
                    late_by_seconds: accepted.late_by_seconds,
                    due_at: accepted.window.due.as_millisecond(),
                    expires_at: accepted.window.expires.as_millisecond(),
                    version,
                },
                state: "submitted".into(),
                corrections: Vec::new(),
                reviews: Vec::new(),
            },
            values,
            kind,
        )))
    }

    #[allow(clippy::too_many_arguments)]
    fn obl_demo_health(
        &self,
        def: &ObligationDef,
        calendar: &SchoolCalendar,
        inst: &DemoInstitution,
        engine: &Institution,
        event: Option<Event>,
        now: Timestamp,
        setting: &Setting,
        rng: &mut Rng,
    ) -> Result<Generated, AppError> {
        let habit = habit(rng, &inst.kind);
        let pupils = inst.pupils().max(1);
        let staff = staff_of(inst);
        let periods: Vec<Period> = def
            .periods_starting_between(calendar, Date::constant(2021, 1, 1), setting.today)
            .into_iter()
            .filter(|p| def.window(p).opens <= now)
            .collect();
        let n = periods.len();
        let copy_from = n.saturating_sub(8);
        let copy_values = (
            count(rng, 3.0).max(2),
            count(rng, 2.0).max(1),
            rng.range(0, 1),
            count(rng, 1.5).max(1),
        );
        let mut active: Vec<DemoCase> = Vec::new();
        let mut person_seq = 0;
        let mut out = Generated {
            returns: Vec::new(),
            cases: Vec::new(),
            alerts: Vec::new(),
        };
        let mut reports: Vec<DayReport> = Vec::new();
        let class_names: Vec<String> = inst
            .classes
            .iter()
            .map(|(_, grade, name, _)| class_label(&inst.kind, *grade, name))
            .collect();
        let pick_class = |rng: &mut Rng| {
            if class_names.is_empty() {
                "一班".to_owned()
            } else {
                rng.pick(&class_names).clone()
            }
        };
        for (index, period) in periods.iter().enumerate() {
            let date = period.start;
            let days_before_today = n - 1 - index;
            // New cases: injected events and rare single cases.
            let mut new_cases: Vec<DemoCase> = Vec::new();
            let mut extra_ill = 0;
            match event {
                Some(Event::ClosedCluster(day)) | Some(Event::OpenCluster(day)) if day == date => {
                    let class = pick_class(rng);
                    let open = matches!(event, Some(Event::OpenCluster(_)));
                    let persons = if open { 3 } else { 4 };
                    for k in 0..persons {
                        person_seq += 1;
                        new_cases.push(DemoCase {
                            person: format!(
                                "P{}-{:03}",
                                inst.code.get(6..).unwrap_or(&inst.code),
                                person_seq
                            ),
                            person_kind: "pupil",
                            class_name: class.clone(),
                            onset: if k == 0 { add_days(date, -1) } else { date },
                            symptoms: if k % 2 == 0 {
                                vec!["fever", "cough"]
                            } else {
                                vec!["fever", "sore_throat"]
                            },
                            days_left: if open { 30 } else { rng.range(3, 5) },
                            status: "observing",
                        });
                    }
                    if open {
                        person_seq += 1;
                        new_cases.push(DemoCase {
                            person: format!(
                                "T{}-{:03}",
                                inst.code.get(6..).unwrap_or(&inst.code),
                                person_seq
                            ),
                            person_kind: "staff",
                            class_name: class.clone(),
                            onset: date,
                            symptoms: vec!["fever"],
                            days_left: 30,
                            status: "isolated",
                        });
                    }
                }
                Some(Event::Spike(day)) if day == date => {
                    extra_ill = 9 + rng.range(0, 3);
                }
                _ => {}
            }
            if new_cases.is_empty() && pupils > 300 && rng.chance(0.002) {
                person_seq += 1;
                new_cases.push(DemoCase {
                    person: format!(
                        "P{}-{:03}",
                        inst.code.get(6..).unwrap_or(&inst.code),
                        person_seq
                    ),
                    person_kind: "pupil",
                    class_name: pick_class(rng),
                    onset: date,
                    symptoms: vec!["fever"],
                    days_left: rng.range(1, 3),
                    status: "observing",
                });
            }
            active.extend(new_cases);

            // Will this day's report exist, and when was it filed?
            let lapsed = habit.lapsed_days > 0 && (days_before_today as i64) < habit.lapsed_days;
            let copying = habit.copies && index >= copy_from && days_before_today > 0;
            let missing = !copying && (lapsed || (rng.chance(habit.missing) && active.is_empty()));
            let late = !copying && rng.chance(habit.late);
            let submitted_at = if late {
                let minutes = rng.range(5, 26 * 60);
                at(date, 9, 0) + SignedDuration::from_mins(minutes)
            } else {
                at(date, 6, 30) + SignedDuration::from_mins(rng.range(0, 148))
            };
            // Advance cases even on days without a report: the next report carries the latest status.
            let listed: Vec<DemoCase> = active.clone();
            for c in &mut active {
                c.days_left -= 1;
                c.status = match (c.status, c.days_left) {
                    (_, d) if d < 0 => "recovered",
                    ("observing", _) if c.person_kind == "pupil" => "treating",
                    (s, _) => s,
                };
            }
            if missing || submitted_at > now {
                active.retain(|c| c.days_left >= 0);
                continue;
            }
            let rows: Vec<Value> = listed
                .iter()
                .map(|c| {
                    let status = if c.days_left <= 0 { "recovered" } else { c.status };
                    json!({
                        "person_kind": c.person_kind,
                        "person": c.person,
                        "class_name": c.class_name,
                        "symptoms": c.symptoms,
                        "onset_date": c.onset.to_string(),
                        "measures": if c.status == "isolated" { vec!["isolated", "reported_cdc"] } else { vec!["home_observation", "seen_doctor"] },
                        "follow_up": status,
                    })
                })
                .collect();
            let open_pupils = listed
                .iter()
                .filter(|c| c.person_kind == "pupil" && c.days_left > 0)
                .count() as i64;
            let open_staff = listed
                .iter()
                .filter(|c| c.person_kind == "staff" && c.days_left > 0)
                .count() as i64;
            active.retain(|c| c.days_left >= 0);
            let (pi, pp, po, si) = if copying {
                copy_values
            } else {
                (
                    count(rng, pupils as f64 * 0.004) + open_pupils + extra_ill,
                    count(rng, pupils as f64 * 0.003),
                    count(rng, pupils as f64 * 0.0008),
                    count(rng, staff as f64 * 0.012) + open_staff,
                )
            };
            let sp = if copying {
                1
            } else {
                count(rng, staff as f64 * 0.01)
            };
            let so = if copying {
                0
            } else {
                count(rng, staff as f64 * 0.003)
            };
            let nothing = pi + pp + po + si + sp + so == 0 && rows.is_empty();
            let content = if nothing && rng.chance(0.85) {
                SubmissionContent::Zero { note: None }
            } else {
                SubmissionContent::Report {
                    values: json!({
                        "absent_pupils": pi + pp + po,
                        "absent_pupils_ill": pi,
                        "absent_pupils_personal": pp,
                        "absent_pupils_other": po,
                        "absent_staff": si + sp + so,
                        "absent_staff_ill": si,
                        "absent_staff_personal": sp,
                        "absent_staff_other": so,
                        "symptomatic_pupils": open_pupils,
                        "symptomatic_staff": open_staff,
                        "cases": rows,
                    }),
                }
            };
            let Some((mut ret, values, kind)) =
                self.obl_demo_return(def, calendar, inst, engine, period, content, submitted_at)?
            else {
                continue;
            };
            // A few same-day corrections (a forgotten absence added), each a second version with a reason.
            if kind == ReportKind::Report && !copying && rng.chance(0.004) {
                let mut corrected = values.clone();
                let bump = |v: &mut Values, key: &str| {
                    let n = v.get(key).and_then(Value::as_i64).unwrap_or(0);
                    v.insert(key.into(), json!(n + 1));
                };
                bump(&mut corrected, "absent_pupils");
                bump(&mut corrected, "absent_pupils_personal");
                let when = submitted_at + SignedDuration::from_mins(rng.range(20, 150));
                if when <= now && when <= def.window(period).expires {
                    let by = format!("s{}", inst.code);
                    let version = self.obl_version_write(
                        def,
                        &inst.code,
                        &period.key,
                        2,
                        ReportKind::Report,
                        &corrected,
                        None,
                        &by,
                        None,
                        when.as_millisecond(),
                        Some("补报一名事假学生 / one pupil on leave added".into()),
                    )?;
                    ret.corrections.push(version);
                }
            }
            reports.push(DayReport {
                date,
                kind,
                values: values.clone(),
            });
            // Alerts for days that can raise one (a watched count at its floor, or cases listed).
            let rules = def.health.clone().unwrap_or_default();
            let watched = rules.absence.fields.iter().any(|f| {
                values
                    .get(f)
                    .and_then(Value::as_i64)
                    .is_some_and(|v| v >= rules.absence.min_count)
            });
            if event.is_some() && (watched || !listed.is_empty()) {
                let window_start = reports.len().saturating_sub(40);
                for a in health_alerts(def, &inst.code, &reports[window_start..], date) {
                    out.alerts.push(alert_write(def, inst.id, &a));
                }
            }
            out.returns.push(ret);
        }
        if reports.iter().any(|r| {
            r.values
                .get("cases")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        }) {
            let row = ObligationInstitution {
                id: inst.id,
                code: inst.code.clone(),
                name: inst.name.clone(),
                district_code: inst.district.clone(),
                kind: inst.kind.clone(),
                ownership: inst.ownership.clone(),
                inclusive: inst.inclusive,
                area: inst.area.clone(),
                authority: inst.authority.clone(),
                status: "open".into(),
                phone: String::new(),
                tags: Vec::new(),
            };
            out.cases.push(self.obl_cases_replace(def, &row, &reports)?);
        }
        Ok(out)
    }

    /// Weekly, monthly, term and yearly returns of the other obligations.
    #[allow(clippy::too_many_arguments)]
    fn obl_demo_periodic(
        &self,
        def: &ObligationDef,
        calendar: &SchoolCalendar,
        inst: &DemoInstitution,
        engine: &Institution,
        now: Timestamp,
        ice_unit: f64,
        rng: &mut Rng,
    ) -> Result<Generated, AppError> {
        let from = match def.cadence {
            edu_obligation::Cadence::Year => Date::constant(2020, 1, 1),
            edu_obligation::Cadence::Term => Date::constant(2020, 9, 1),
            edu_obligation::Cadence::Month => Date::constant(2020, 12, 1),
            _ => Date::constant(2021, 1, 1),
        };
        let today = china_date(now);
        let habit = habit(rng, &inst.kind);
        let mut out = Generated {
            returns: Vec::new(),
            cases: Vec::new(),
            alerts: Vec::new(),
        };
        let district_user = format!("d{}", inst.district);
        for period in def.periods_starting_between(calendar, from, today) {
            let w = def.window(&period);
            if w.opens > now || rng.chance(habit.missing * 2.0) {
                continue;
            }
            let on_time = !rng.chance(habit.late);
            let span = |a: Timestamp, b: Timestamp, lo: f64, hi: f64, rng: &mut Rng| {
                let secs = (b.as_second() - a.as_second()) as f64;
                a + SignedDuration::from_secs((secs * rng.between(lo, hi)) as i64)
            };
            let submitted_at = if on_time {
                span(w.opens, w.due, 0.3, 0.98, rng)
            } else {
                span(w.due, w.expires, 0.02, 0.4, rng)
            };
            if submitted_at > now {
                continue;
            }
            let Some(content) = demo_values(def, inst, &period, calendar, ice_unit, rng) else {
                continue;
            };
            let Some((mut ret, _, _)) =
                self.obl_demo_return(def, calendar, inst, engine, &period, content, submitted_at)?
            else {
                continue;
            };
            // The district reviews what is a fortnight old: most approved (locked), a few sent back.
            let review_at = submitted_at + SignedDuration::from_hours(rng.range(24, 240));
            if review_at + SignedDuration::from_hours(14 * 24) <= now {
                if rng.chance(0.03) {
                    ret.state = "sent_back".into();
                    ret.reviews.push((
                        "sent_back".into(),
                        district_user.clone(),
                        review_at.as_millisecond(),
                        Some("数据与学籍人数不符，请核实后更正 / figures disagree with the registry: check and correct".into()),
                    ));
                } else if rng.chance(0.75) {
                    ret.state = "approved".into();
                    ret.reviews.push((
                        "approved".into(),
                        district_user.clone(),
                        review_at.as_millisecond(),
                        None,
                    ));
                }
            }
            out.returns.push(ret);
        }
        Ok(out)
    }
}

/// Pupil-times per pupil-month unit so that January–October of the full city sums to about 252,000 (on pace for
/// the 270,000 target by the end of November).
fn ice_snow_unit(demo: &Setting, defs: &[ObligationDef]) -> f64 {
    let Some(def) = defs.iter().find(|d| d.id == "ice-snow") else {
        return 0.0;
    };
    let pupils: i64 = demo
        .institutions
        .iter()
        .filter(|i| engine_of(i).is_some_and(|e| def.owed_by(&e)))
        .map(DemoInstitution::pupils)
        .sum();
    let weights: f64 = (1..=10).map(ice_weight).sum();
    if pupils == 0 {
        return 0.0;
    }
    252_000.0 * demo.scale.min(1.0) / (pupils as f64 * weights)
}

/// Share of a pupil's yearly ice-and-snow activity by month (winter heavy; none from May to October).
fn ice_weight(month: i8) -> f64 {
    match month {
        1 => 0.45,
        2 => 0.12,
        3 => 0.30,
        4 => 0.03,
        11 => 0.20,
        12 => 0.45,
        _ => 0.0,
    }
}

/// Plausible values of the other obligations for an institution and period.
fn demo_values(
    def: &ObligationDef,
    inst: &DemoInstitution,
    period: &Period,
    calendar: &SchoolCalendar,
    ice_unit: f64,
    rng: &mut Rng,
) -> Option<SubmissionContent> {
    let pupils = inst.pupils();
    let classes = inst.classes.len() as i64;
    let staff = staff_of(inst);
    let report = |values: Value| Some(SubmissionContent::Report { values });
    match def.id.as_str() {
        "after-school" => {
            let offered = rng.chance(0.985);
            let participating = if offered {
                (pupils as f64 * rng.between(0.6, 0.92)) as i64
            } else {
                0
            };
            report(json!({
                "offered": offered,
                "pupils_enrolled": pupils,
                "pupils_participating": participating,
                "programmes": if offered { rng.range(5, 24) } else { 0 },
                "days_per_week": if offered { 5 } else { 0 },
                "teachers_participating": if offered { (classes as f64 * rng.between(0.9, 1.4)) as i64 } else { 0 },
                "external_staff": rng.range(0, 6),
                "fee_charged": false,
                "content": "作业辅导、体育、艺术、科技兴趣小组",
            }))
        }
        "homework-load" => {
            let school_days = (0..7)
                .map(|k| add_days(period.start, k))
                .filter(|d| calendar.is_school_day(*d))
                .count() as i64;
            if school_days == 0 {
                return None;
            }
            let mut grades: Vec<(i64, i64, i64)> = Vec::new();
            for (_, grade, _, n) in &inst.classes {
                if *grade > 9 {
                    continue;
                }
                match grades.iter_mut().find(|g| g.0 == *grade) {
                    Some(g) => {
                        g.1 += 1;
                        g.2 += n;
                    }
                    None => grades.push((*grade, 1, *n)),
                }
            }
            grades.sort();
            if grades.is_empty() {
                return None;
            }
            let heavy = rng.chance(0.06);
            let rows: Vec<Value> = grades
                .iter()
                .filter(|g| g.2 > 0)
                .map(|(grade, classes, pupils)| {
                    let pupil_days = pupils * school_days;
                    let average = match grade {
                        1 | 2 => {
                            if heavy { rng.between(5.0, 15.0) } else { 0.0 }
                        }
                        3..=6 => {
                            if heavy { rng.between(58.0, 72.0) } else { rng.between(35.0, 56.0) }
                        }
                        _ => {
                            if heavy { rng.between(85.0, 105.0) } else { rng.between(62.0, 86.0) }
                        }
                    };
                    let minutes = (average * pupil_days as f64 * 10.0).round() / 10.0;
                    json!({"grade": grade, "classes": classes, "pupil_days": pupil_days, "minutes": minutes, "done_at_school": *grade <= 2})
                })
                .collect();
            if rows.is_empty() {
                return None;
            }
            report(json!({ "grades": rows }))
        }
        "ice-snow" => {
            let month = period.start.month();
            let weight = ice_weight(month);
            if weight == 0.0 {
                return Some(SubmissionContent::Zero {
                    note: Some("非冰雪季，本月未组织冰雪活动".into()),
                });
            }
            let times = (pupils as f64 * weight * ice_unit * rng.between(0.7, 1.3)).round() as i64;
            let activities = (times / rng.range(60, 160)).max(1).min(times.max(1));
            report(json!({
                "pupil_times": times.max(activities),
                "activities": activities,
                "skating_lessons": rng.range(0, 40),
                "snow_football_matches": rng.range(0, 6),
                "has_rink": rng.chance(0.35),
            }))
        }
        "labour-education" => report(json!({
            "course_offered": rng.chance(0.975),
            "lessons_per_week": if rng.chance(0.8) { 1.0 } else { 2.0 },
            "practice_bases": rng.range(1, 4),
            "pupil_times_in_practice": (pupils as f64 * rng.between(0.5, 1.5)) as i64,
            "practice_assignments": rng.range(2, 12),
            "model_school": rng.chance(0.1),
        })),
        "community-education" => {
            let learners = rng.range(300, 3000);
            report(json!({
                "courses": rng.range(10, 60),
                "learners": learners,
                "elderly_learners": (learners as f64 * rng.between(0.4, 0.7)) as i64,
                "sessions": rng.range(20, 120),
                "teachers": rng.range(5, 40),
            }))
        }
        "kg-funding" => {
            let standard = if inst.ownership == "public" {
                600.0
            } else {
                200.0
            };
            let funded = (pupils as f64 * rng.between(0.97, 1.0)).round() as i64;
            let factor = if rng.chance(0.9) {
                rng.between(1.0, 1.04)
            } else {
                rng.between(0.9, 0.98)
            };
            let yuan = (funded as f64 * standard * factor).round();
            report(json!({
                "pupils_funded": funded,
                "yuan_disbursed": format!("{yuan:.2}"),
                "disbursed_on": add_days(period.end, -rng.range(20, 60)).to_string(),
            }))
        }
        "sunshine-sport" => {
            let reported = pupils.max(1);
            let share = if rng.chance(0.85) {
                rng.between(0.97, 1.0)
            } else {
                rng.between(0.88, 0.97)
            };
            report(json!({
                "pupils_reported": reported,
                "pupils_one_hour": (reported as f64 * share).floor() as i64,
                "avg_daily_minutes": rng.range(58, 80),
                "big_break_exercise": true,
            }))
        }
        "security-training" => {
            let guards = rng.range(2, 6);
            report(json!({
                "sessions": rng.range(2, 6),
                "staff_trained": staff * rng.range(1, 2),
                "guards": guards,
                "guards_certified": guards - i64::from(rng.chance(0.1)),
                "guards_trained": guards * rng.range(1, 3),
                "pupils_trained": pupils,
                "drills": rng.range(1, 3),
            }))
        }
        "epidemic-training" => report(json!({
            "sessions": rng.range(1, 4),
            "staff_trained": staff,
            "medical_staff_trained": 1 + classes / 25,
            "pupil_times_educated": pupils * rng.range(1, 3),
        })),
        "vocational-report" => {
            let programmes = rng.range(8, 20);
            report(json!({
                "programmes": programmes,
                "new_programmes": rng.range(0, 2),
                "new_1x_pilot_programmes": i64::from(rng.chance(0.3)),
                "students_with_certificates": (pupils as f64 * rng.between(0.2, 0.5)) as i64,
                "social_trainees": rng.range(200, 2000),
                "order_training_students": rng.range(20, 200),
            }))
        }
        _ => generic_values(def, period, rng),
    }
}

/// Values for an obligation the demo does not know (a plan-file addition): every required scalar field filled.
fn generic_values(
    def: &ObligationDef,
    period: &Period,
    rng: &mut Rng,
) -> Option<SubmissionContent> {
    use edu_form::FieldType;
    let mut values = serde_json::Map::new();
    for f in def.form.fields.iter().filter(|f| f.required && !f.computed) {
        let v = match f.field_type {
            FieldType::Integer => json!(rng.range(0, 10)),
            FieldType::Decimal => json!("1.0"),
            FieldType::Bool => json!(true),
            FieldType::Enum => json!(f.options.first()?.value),
            FieldType::Text => json!("—"),
            FieldType::Date => json!(period.end.to_string()),
            _ => return None,
        };
        values.insert(f.id.clone(), v);
    }
    Some(SubmissionContent::Report {
        values: Value::Object(values),
    })
}

/// Which schools carry the injected health events (deterministic for a seed; whatever the scale).
fn pick_events(demo: &Setting, calendar: &SchoolCalendar) -> Vec<(String, Event)> {
    let school_days: Vec<Date> = (1..60)
        .map(|k| add_days(demo.today, -k))
        .filter(|d| calendar.is_school_day(*d))
        .collect();
    let nth = |k: usize| school_days.get(k).copied();
    let big = |kinds: &[&str], district: &str| {
        demo.institutions
            .iter()
            .filter(|i| {
                kinds.contains(&i.kind.as_str()) && (district.is_empty() || i.district == district)
            })
            .max_by_key(|i| (i.pupils(), std::cmp::Reverse(i.code.clone())))
    };
    let schools = ["primary", "nine_year", "junior"];
    let mut out = Vec::new();
    if let (Some(i), Some(day)) = (
        big(&schools, "230602").or_else(|| big(&schools, "")),
        nth(15),
    ) {
        out.push((i.code.clone(), Event::ClosedCluster(day)));
    }
    if let (Some(i), Some(day)) = (
        big(&schools, "230604")
            .or_else(|| big(&schools, "230603"))
            .filter(|i| !out.iter().any(|(c, _)| *c == i.code)),
        nth(1),
    ) {
        out.push((i.code.clone(), Event::OpenCluster(day)));
    }
    if let (Some(i), Some(day)) = (
        big(&["kindergarten"], "230603").or_else(|| big(&["kindergarten"], "")),
        nth(8),
    ) {
        out.push((i.code.clone(), Event::Spike(day)));
    }
    out
}
