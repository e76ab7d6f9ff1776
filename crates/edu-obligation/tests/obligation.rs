//! Obligations as the platform uses them: the plan's definitions, submissions at instants, status at "now",
//! corrections, copy detection, health alerts and per-return checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use edu_form::org::{OrgLevel, OrgTree, OrgUnit};
use edu_form::{Decimal, ErrorCode, Values};
use edu_obligation::*;
use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;
use serde_json::{Value, json};

fn defs() -> BTreeMap<String, ObligationDef> {
    parse_obligation_defs(DAQING_2021_DEFS).unwrap_or_else(|e| panic!("defs must parse: {e}"))
}

fn def(id: &str) -> ObligationDef {
    defs().remove(id).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn calendar() -> SchoolCalendar {
    SchoolCalendar {
        terms: vec![
            Term {
                id: "2020-2021-2".into(),
                name: "2020—2021学年第二学期".into(),
                start: Date::constant(2021, 3, 1),
                end: Date::constant(2021, 7, 9),
            },
            Term {
                id: "2021-2022-1".into(),
                name: "2021—2022学年第一学期".into(),
                start: Date::constant(2021, 9, 1),
                end: Date::constant(2022, 1, 14),
            },
        ],
        school_weekdays: vec![1, 2, 3, 4, 5],
        holidays: vec![Date::constant(2021, 4, 5)],
        extra_school_days: vec![],
    }
}

fn school(id: &str, kind: InstitutionKind) -> Institution {
    Institution {
        id: id.into(),
        name: format!("学校{id}"),
        kind,
        ownership: Ownership::Public,
        area: Area::Urban,
        authority: Authority::District,
        tags: vec![],
        active_from: None,
        active_until: None,
    }
}

fn healthy_values() -> Value {
    json!({
        "absent_pupils": 3, "absent_pupils_ill": 1, "absent_pupils_personal": 2, "absent_pupils_other": 0,
        "absent_staff": 0, "absent_staff_ill": 0, "absent_staff_personal": 0, "absent_staff_other": 0,
        "symptomatic_pupils": 0, "symptomatic_staff": 0,
    })
}

fn submission(institution: &str, period: &str, content: SubmissionContent, at: &str) -> Submission {
    Submission {
        institution: institution.into(),
        period: period.into(),
        content,
        submitted_by: "t001".into(),
        at: ts(at),
    }
}

fn report(values: Value) -> SubmissionContent {
    SubmissionContent::Report { values }
}

fn zero() -> SubmissionContent {
    SubmissionContent::Zero { note: None }
}

// --------------------------------------------------------------------------------------------------------------
// Definitions

#[test]
fn plan_defs_parse_and_cover_every_return() {
    let defs = defs();
    for id in [
        "health-daily",
        "after-school",
        "homework-load",
        "ice-snow",
        "labour-education",
        "community-education",
        "kg-funding",
        "sunshine-sport",
        "security-training",
        "epidemic-training",
        "vocational-report",
    ] {
        let d = defs.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(d.id, id);
        assert!(
            d.title
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{id} has a Chinese title"
        );
        for f in &d.form.fields {
            assert!(
                !f.label.is_empty() && !f.label_en.is_empty(),
                "{id}.{} labels",
                f.id
            );
            for c in &f.columns {
                assert!(!c.label.is_empty(), "{id}.{}.{} label", f.id, c.id);
            }
        }
        assert!(d.check().is_empty());
    }
    assert!(defs["health-daily"].zero_allowed);
    assert!(!defs["after-school"].zero_allowed);
    assert_eq!(defs["ice-snow"].feeds[0].field, "pupil_times");
}

#[test]
fn broken_defs_are_refused_with_location() {
    let broken = DAQING_2021_DEFS.replace(
        "fields = [\"absent_pupils_ill\", \"absent_staff_ill\"]",
        "fields = [\"pupils_absent_flu\"]",
    );
    let err = parse_obligation_defs(&broken).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.at == "obligations.health-daily.health.absence.fields"),
        "{err}"
    );

    let bad_window = r#"
[obligations.x]
title = "测试"
cadence = "every_day"
owed_by = [ { kinds = ["primary"] } ]
window = { opens = { from = "start", time = "10:00" }, due = { from = "start", time = "09:00" }, expires = { from = "start", time = "23:00" } }
form = { fields = [ { id = "n", label = "数", type = "integer" } ] }
"#;
    let err = parse_obligation_defs(bad_window).unwrap_err();
    assert!(
        err.problems.iter().any(|p| p.at == "obligations.x.window"),
        "{err}"
    );

    let bad_rule = bad_window.replace("\"10:00\"", "\"08:00\"").replace(
        "type = \"integer\" } ] }",
        "type = \"integer\" } ], rules = [ { check = \"n <= m\", message = \"错\" } ] }",
    );
    let err = parse_obligation_defs(&bad_rule).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.at == "obligations.x.form.rules[0]"),
        "{err}"
    );
}

// --------------------------------------------------------------------------------------------------------------
// Windows and acceptance

#[test]
fn daily_window_in_utc() {
    let d = def("health-daily");
    let p = d.period_by_key(&calendar(), "2021-03-05").unwrap();
    let w = d.window(&p);
    assert_eq!(
        w.opens,
        ts("2021-03-04T16:00:00Z"),
        "00:00 China on the 5th"
    );
    assert_eq!(
        w.due,
        ts("2021-03-05T01:00:00Z"),
        "09:00 China on the 5th is 01:00 UTC"
    );
    assert_eq!(
        w.expires,
        ts("2021-03-06T15:59:59Z"),
        "23:59:59 China on the 6th"
    );
    let m = def("ice-snow");
    let p = m.period_by_key(&calendar(), "2021-02").unwrap();
    let w = m.window(&p);
    assert_eq!(
        w.due,
        ts("2021-03-05T09:00:00Z"),
        "17:00 China on 5 March (end of February + 5 days)"
    );
}

#[test]
fn acceptance_across_midnight_and_utc() {
    let d = def("health-daily");
    let cal = calendar();
    let s = school("s1", InstitutionKind::Primary);
    // (instant, expected outcome): Some(timeliness) or None for a refusal naming `period`.
    let cases = [
        ("2021-03-04T15:59:59Z", None), // 23:59:59 on the 4th, China: not open yet
        ("2021-03-04T16:00:00Z", Some(Timeliness::OnTime)), // 00:00 on the 5th
        ("2021-03-05T00:59:59Z", Some(Timeliness::OnTime)), // 08:59:59
        ("2021-03-05T01:00:00Z", Some(Timeliness::OnTime)), // 09:00:00 sharp is on time
        ("2021-03-05T01:00:01Z", Some(Timeliness::Late)), // 09:00:01
        ("2021-03-05T16:30:00Z", Some(Timeliness::Late)), // 00:30 on the 6th, China: the next day, still late
        ("2021-03-06T15:59:59Z", Some(Timeliness::Late)), // 23:59:59 on the 6th
        ("2021-03-06T16:00:00Z", None),                   // 00:00 on the 7th: expired
    ];
    for (at, want) in cases {
        let result = accept_submission(&d, &cal, &s, &submission("s1", "2021-03-05", zero(), at));
        match want {
            Some(t) => assert_eq!(result.map(|a| a.timeliness), Ok(t), "{at}"),
            None => assert_eq!(
                result.unwrap_err().codes_for("period"),
                vec![ErrorCode::OutsideWindow],
                "{at}"
            ),
        }
    }
}

#[test]
fn malformed_submissions_are_refused_with_the_field_named() {
    let d = def("health-daily");
    let cal = calendar();
    let s = school("s1", InstitutionKind::Primary);
    let at = "2021-03-05T00:30:00Z";
    let mut negative = healthy_values();
    negative["absent_pupils_other"] = json!(-1);
    let err = accept_submission(
        &d,
        &cal,
        &s,
        &submission("s1", "2021-03-05", report(negative), at),
    )
    .unwrap_err();
    assert!(
        err.codes_for("absent_pupils_other")
            .contains(&ErrorCode::BelowMinimum),
        "{err}"
    );

    let mut unknown = healthy_values();
    unknown["temperature"] = json!(37);
    let err = accept_submission(
        &d,
        &cal,
        &s,
        &submission("s1", "2021-03-05", report(unknown), at),
    )
    .unwrap_err();
    assert_eq!(err.codes_for("temperature"), vec![ErrorCode::UnknownField]);

    let err =
        accept_submission(&d, &cal, &s, &submission("s1", "2021-03-06", zero(), at)).unwrap_err();
    assert!(err.names("period"), "Saturday is not a school day: {err}");
    let err =
        accept_submission(&d, &cal, &s, &submission("s1", "2021-03-09", zero(), at)).unwrap_err();
    assert_eq!(
        err.codes_for("period"),
        vec![ErrorCode::OutsideWindow],
        "a future day's window is not open"
    );

    let mut case = healthy_values();
    case["symptomatic_pupils"] = json!(1);
    case["cases"] = json!([{ "person_kind": "pupil", "person": "G230602201501010011", "class_name": "一(2)班",
        "symptoms": ["fever"], "onset_date": "2021-03-08", "measures": ["seen_doctor"], "follow_up": "observing" }]);
    let err = accept_submission(
        &d,
        &cal,
        &s,
        &submission("s1", "2021-03-05", report(case), at),
    )
    .unwrap_err();
    assert_eq!(
        err.codes_for("cases[0].onset_date"),
        vec![ErrorCode::DateInFuture]
    );

    let mut inconsistent = healthy_values();
    inconsistent["symptomatic_pupils"] = json!(2);
    let err = accept_submission(
        &d,
        &cal,
        &s,
        &submission("s1", "2021-03-05", report(inconsistent), at),
    )
    .unwrap_err();
    assert_eq!(
        err.codes_for("cases"),
        vec![ErrorCode::RuleFailed],
        "symptomatic pupils must be listed"
    );

    let community = school("c1", InstitutionKind::CommunitySchool);
    let err = accept_submission(
        &d,
        &cal,
        &community,
        &submission("c1", "2021-03-05", zero(), at),
    )
    .unwrap_err();
    assert_eq!(err.codes_for("institution"), vec![ErrorCode::NotAllowed]);

    let a = def("after-school");
    let err = accept_submission(
        &a,
        &cal,
        &s,
        &submission("s1", "2021-03", zero(), "2021-04-01T02:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        err.codes_for("kind"),
        vec![ErrorCode::NotAllowed],
        "after-school accepts no zero report"
    );
}

#[test]
fn zero_report_is_a_signed_statement() {
    let d = def("health-daily");
    let s = school("s1", InstitutionKind::Kindergarten);
    let accepted = accept_submission(
        &d,
        &calendar(),
        &s,
        &submission("s1", "2021-03-05", zero(), "2021-03-05T00:10:00Z"),
    )
    .unwrap();
    assert_eq!(accepted.kind, ReportKind::Zero);
    assert!(accepted.values.is_empty());
    let statement = accepted.zero_statement.unwrap();
    assert_eq!(statement.signed_by, "t001");
    assert_eq!(statement.text, ZERO_STATEMENT);
}

proptest! {
    /// Classification against an independent oracle: shift the instant by +8 h and compare civil date-times.
    #[test]
    fn classification_matches_china_time_oracle(offset in -172_800i64..259_200) {
        let d = def("health-daily");
        let s = school("s1", InstitutionKind::Primary);
        let at = Timestamp::from_second(ts("2021-03-05T00:00:00Z").as_second() + offset).unwrap();
        let local = jiff::tz::Offset::UTC.to_datetime(Timestamp::from_second(at.as_second() + 8 * 3600).unwrap());
        let opens = Date::constant(2021, 3, 5).at(0, 0, 0, 0);
        let due = Date::constant(2021, 3, 5).at(9, 0, 0, 0);
        let expires = Date::constant(2021, 3, 6).at(23, 59, 59, 0);
        let result = accept_submission(&d, &calendar(), &s, &Submission { at, ..submission("s1", "2021-03-05", zero(), "2021-03-05T00:00:00Z") });
        if local < opens || local > expires {
            prop_assert!(result.is_err());
        } else if local <= due {
            prop_assert_eq!(result.unwrap().timeliness, Timeliness::OnTime);
        } else {
            prop_assert_eq!(result.unwrap().timeliness, Timeliness::Late);
        }
    }
}

// --------------------------------------------------------------------------------------------------------------
// Status, roll-up, missing list, escalation

fn tree(districts: &[(&str, &[&str])]) -> OrgTree {
    let mut units = vec![OrgUnit {
        id: "city".into(),
        parent: None,
        level: OrgLevel::City,
        name: "大庆市".into(),
    }];
    for (d, schools) in districts {
        units.push(OrgUnit {
            id: d.to_string(),
            parent: Some("city".into()),
            level: OrgLevel::District,
            name: String::new(),
        });
        for s in *schools {
            units.push(OrgUnit {
                id: s.to_string(),
                parent: Some(d.to_string()),
                level: OrgLevel::Institution,
                name: String::new(),
            });
        }
    }
    OrgTree::new(units).unwrap()
}

fn summary_of(a: &AcceptedSubmission) -> ReturnSummary {
    ReturnRecord::new(a.clone()).summary().unwrap()
}

#[test]
fn zero_missing_and_late_are_told_apart_and_rolled_up() {
    let d = def("health-daily");
    let cal = calendar();
    let t = tree(&[("230602", &["a", "b"]), ("230603", &["c", "d"])]);
    let institutions: Vec<Institution> = ["a", "b", "c", "d"]
        .iter()
        .map(|i| school(i, InstitutionKind::Primary))
        .collect();
    let accept = |i: usize, content, at| {
        accept_submission(
            &d,
            &cal,
            &institutions[i],
            &submission(&institutions[i].id, "2021-03-05", content, at),
        )
        .unwrap()
    };
    let returns = vec![
        summary_of(&accept(0, zero(), "2021-03-05T00:20:00Z")), // a: zero, on time
        summary_of(&accept(2, report(healthy_values()), "2021-03-05T03:00:00Z")), // c: late (11:00 China)
        summary_of(&accept(3, report(healthy_values()), "2021-03-04T23:00:00Z")), // d: on time (07:00 China)
    ];
    let data = ReportingData {
        calendar: &cal,
        tree: &t,
        institutions: &institutions,
        returns: &returns,
    };
    let day = Date::constant(2021, 3, 5);
    let now = ts("2021-03-05T04:00:00Z"); // 12:00 China
    let status = reporting_status(&d, &data, day, day, now);
    let unit = |id: &str| status.units.iter().find(|u| u.unit == id).unwrap().counts;
    assert_eq!(
        unit("a"),
        ReportingCounts {
            expected: 1,
            submitted: 1,
            on_time: 1,
            zero: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        unit("b"),
        ReportingCounts {
            expected: 1,
            missing: 1,
            overdue: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        unit("c"),
        ReportingCounts {
            expected: 1,
            submitted: 1,
            late: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        unit("230602"),
        ReportingCounts {
            expected: 2,
            submitted: 1,
            on_time: 1,
            zero: 1,
            missing: 1,
            overdue: 1,
            ..Default::default()
        }
    );
    let city = unit("city");
    assert_eq!(
        (
            city.expected,
            city.submitted,
            city.on_time,
            city.late,
            city.zero,
            city.missing
        ),
        (4, 3, 2, 1, 1, 1)
    );
    let city_status = status.units.iter().find(|u| u.unit == "city").unwrap();
    assert_eq!(city_status.reporting_rate, Some(0.75));
    assert_eq!(city_status.on_time_rate, Some(0.5));
    assert_eq!(status.missing.len(), 1);
    assert_eq!(status.missing[0].institution, "b");
    assert_eq!(status.missing[0].overdue_seconds, 3 * 3600);

    // Before the due time the same school is missing but not yet due; before any submission nothing is counted
    // as submitted (status as of a past instant ignores later submissions).
    let early = reporting_status(&d, &data, day, day, ts("2021-03-04T22:00:00Z"));
    let city = early
        .units
        .iter()
        .find(|u| u.unit == "city")
        .unwrap()
        .counts;
    assert_eq!((city.expected, city.submitted, city.not_yet_due), (4, 0, 4));
    assert!(early.missing.iter().all(|m| m.overdue_seconds == 0));
    // Before the window opens the period is not expected at all.
    let before = reporting_status(&d, &data, day, day, ts("2021-03-04T15:00:00Z"));
    assert_eq!(
        before
            .units
            .iter()
            .find(|u| u.unit == "city")
            .unwrap()
            .counts
            .expected,
        0
    );
}

#[test]
fn consecutive_misses_escalate_and_sort_the_missing_list() {
    let d = def("health-daily");
    let cal = calendar();
    let t = tree(&[("230602", &["a", "b", "c"])]);
    let institutions: Vec<Institution> = ["a", "b", "c"]
        .iter()
        .map(|i| school(i, InstitutionKind::Junior))
        .collect();
    let days = [
        "2021-03-01",
        "2021-03-02",
        "2021-03-03",
        "2021-03-04",
        "2021-03-05",
    ];
    let mut returns = Vec::new();
    for (n, day) in days.iter().enumerate() {
        for (i, inst) in institutions.iter().enumerate() {
            // a reports every day; b stops after the 2nd day; c misses only the 3rd day.
            let skip = (i == 1 && n >= 2) || (i == 2 && n == 2);
            if skip {
                continue;
            }
            let at = format!("{day}T00:30:00Z");
            let a =
                accept_submission(&d, &cal, inst, &submission(&inst.id, day, zero(), &at)).unwrap();
            returns.push(summary_of(&a));
        }
    }
    let data = ReportingData {
        calendar: &cal,
        tree: &t,
        institutions: &institutions,
        returns: &returns,
    };
    let now = ts("2021-03-05T05:00:00Z");
    let status = reporting_status(
        &d,
        &data,
        Date::constant(2021, 3, 1),
        Date::constant(2021, 3, 5),
        now,
    );
    assert_eq!(status.escalations.len(), 1, "{:?}", status.escalations);
    let e = &status.escalations[0];
    assert_eq!(
        (e.institution.as_str(), e.level, e.consecutive_missed),
        ("b", EscalationLevel::City, 3)
    );
    assert_eq!(
        (e.first_missed.as_str(), e.last_missed.as_str()),
        ("2021-03-03", "2021-03-05")
    );
    // Most overdue first: b's and c's 3 March, then b's 4 March, then b's 5 March.
    let order: Vec<(&str, &str)> = status
        .missing
        .iter()
        .map(|m| (m.institution.as_str(), m.period.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("b", "2021-03-03"),
            ("c", "2021-03-03"),
            ("b", "2021-03-04"),
            ("b", "2021-03-05")
        ]
    );
    assert_eq!(status.missing[0].status, ReturnStatus::Missed);
    assert_eq!(status.missing[3].status, ReturnStatus::Overdue);
    assert_eq!(
        def("health-daily").escalation.level(2),
        Some(EscalationLevel::District)
    );
}

proptest! {
    /// Counts at every unit equal the direct count over the institutions below it, and rates are ratios of sums.
    #[test]
    fn roll_up_is_a_sum_of_counts(statuses in proptest::collection::vec((0usize..3, 0u8..4), 1..40)) {
        let d = def("health-daily");
        let cal = calendar();
        let names: Vec<String> = (0..statuses.len()).map(|i| format!("s{i}")).collect();
        let mut by_district: Vec<Vec<&str>> = vec![vec![]; 3];
        for (i, (district, _)) in statuses.iter().enumerate() {
            by_district[*district].push(&names[i]);
        }
        let t = tree(&[("d0", &by_district[0]), ("d1", &by_district[1]), ("d2", &by_district[2])]);
        let institutions: Vec<Institution> = names.iter().map(|n| school(n, InstitutionKind::Primary)).collect();
        let mut returns = Vec::new();
        for (i, (_, kind)) in statuses.iter().enumerate() {
            let (content, at) = match kind {
                0 => continue, // missing
                1 => (zero(), "2021-03-05T00:00:00Z"),
                2 => (report(healthy_values()), "2021-03-05T00:00:00Z"),
                _ => (report(healthy_values()), "2021-03-05T08:00:00Z"),
            };
            returns.push(summary_of(&accept_submission(&d, &cal, &institutions[i], &submission(&names[i], "2021-03-05", content, at)).unwrap()));
        }
        let data = ReportingData { calendar: &cal, tree: &t, institutions: &institutions, returns: &returns };
        let day = Date::constant(2021, 3, 5);
        let status = reporting_status(&d, &data, day, day, ts("2021-03-06T00:00:00Z"));
        for district in 0..3 {
            let mine: Vec<u8> = statuses.iter().filter(|(d, _)| *d == district).map(|(_, k)| *k).collect();
            let u = status.units.iter().find(|u| u.unit == format!("d{district}")).unwrap();
            prop_assert_eq!(u.counts.expected, mine.len() as u64);
            prop_assert_eq!(u.counts.missing, mine.iter().filter(|k| **k == 0).count() as u64);
            prop_assert_eq!(u.counts.zero, mine.iter().filter(|k| **k == 1).count() as u64);
            prop_assert_eq!(u.counts.late, mine.iter().filter(|k| **k == 3).count() as u64);
        }
        let city = status.units.iter().find(|u| u.unit == "city").unwrap();
        let mut sum = ReportingCounts::default();
        for district in ["d0", "d1", "d2"] {
            sum += &status.units.iter().find(|u| u.unit == district).unwrap().counts;
        }
        prop_assert_eq!(city.counts, sum);
        prop_assert_eq!(city.reporting_rate, Some(sum.submitted as f64 / sum.expected as f64));
        prop_assert_eq!(sum.submitted, sum.on_time + sum.late);
        prop_assert_eq!(sum.missing, sum.expected - sum.submitted);
    }
}

// --------------------------------------------------------------------------------------------------------------
// Corrections, approval, lock

#[test]
fn corrections_keep_history_and_approval_locks() {
    let d = def("health-daily");
    let cal = calendar();
    let s = school("s1", InstitutionKind::Primary);
    let first = accept_submission(
        &d,
        &cal,
        &s,
        &submission("s1", "2021-03-05", zero(), "2021-03-05T00:30:00Z"),
    )
    .unwrap();
    let record = ReturnRecord::new(first);
    let fix = submission(
        "s1",
        "2021-03-05",
        report(healthy_values()),
        "2021-03-05T06:00:00Z",
    );
    let corrected = record
        .correct(&d, &cal, &s, &fix, "补报三名学生事假")
        .unwrap();
    assert_eq!(corrected.versions.len(), 2);
    assert_eq!(
        corrected.versions[0].kind,
        ReportKind::Zero,
        "the first version is kept"
    );
    assert_eq!(corrected.current().unwrap().kind, ReportKind::Report);
    assert_eq!(
        corrected.timeliness,
        Timeliness::OnTime,
        "a correction after 09:00 does not make it late"
    );
    assert_eq!(corrected.summary().unwrap().kind, ReportKind::Report);

    let err = record.correct(&d, &cal, &s, &fix, "  ").unwrap_err();
    assert_eq!(err.codes_for("reason"), vec![ErrorCode::Required]);

    let after_window = Submission {
        at: ts("2021-03-07T02:00:00Z"),
        ..fix.clone()
    };
    let err = corrected
        .correct(&d, &cal, &s, &after_window, "再改")
        .unwrap_err();
    assert_eq!(err.codes_for("period"), vec![ErrorCode::OutsideWindow]);
    let sent_back = corrected
        .send_back(
            "district01",
            ts("2021-03-07T01:00:00Z"),
            "因病人数与一览表不符",
        )
        .unwrap();
    let fixed_late = sent_back
        .correct(&d, &cal, &s, &after_window, "按区县要求更正")
        .unwrap();
    assert_eq!(fixed_late.state, ReturnState::Submitted);

    let approved = fixed_late
        .approve("district01", ts("2021-03-07T03:00:00Z"))
        .unwrap();
    assert_eq!(approved.state, ReturnState::Approved);
    let late_fix = Submission {
        at: ts("2021-03-07T04:00:00Z"),
        ..fix
    };
    assert_eq!(
        approved
            .correct(&d, &cal, &s, &late_fix, "再次更正")
            .unwrap_err()
            .codes_for("state"),
        vec![ErrorCode::Locked]
    );
    assert_eq!(
        approved
            .approve("x", ts("2021-03-07T05:00:00Z"))
            .unwrap_err()
            .codes_for("state"),
        vec![ErrorCode::Locked]
    );
    let reopened = approved
        .reopen("city01", ts("2021-03-08T01:00:00Z"), "数据复核")
        .unwrap();
    assert_eq!(reopened.state, ReturnState::SentBack);
    let kinds: Vec<ReturnEventKind> = reopened.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ReturnEventKind::Submitted,
            ReturnEventKind::Corrected,
            ReturnEventKind::SentBack,
            ReturnEventKind::Corrected,
            ReturnEventKind::Approved,
            ReturnEventKind::Reopened
        ]
    );
    assert!(
        reopened.approve("x", ts("2021-03-08T00:00:00Z")).is_err(),
        "an action dated before the previous one"
    );
}

// --------------------------------------------------------------------------------------------------------------
// Copied submissions

fn point(period: &str, kind: Option<ReportKind>, n: i64) -> SeriesPoint {
    let values: Values = [
        ("pupil_times".to_string(), json!(n)),
        ("activities".to_string(), json!(2)),
    ]
    .into_iter()
    .collect();
    SeriesPoint {
        period: period.into(),
        kind,
        values,
    }
}

#[test]
fn copied_values_are_flagged_with_explanation() {
    let d = def("ice-snow"); // copy_check.periods = 3
    let r = Some(ReportKind::Report);
    let series = vec![
        point("2021-01", r, 500),
        point("2021-02", r, 420),
        point("2021-03", r, 420),
        point("2021-04", r, 420),
        point("2021-05", None, 0),
        point("2021-06", r, 420),
        point("2021-07", r, 420),
    ];
    let flags = detect_copies(&d, &series);
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(
        (
            flags[0].first_period.as_str(),
            flags[0].last_period.as_str(),
            flags[0].periods
        ),
        ("2021-02", "2021-04", 3)
    );
    assert!(flags[0].explanation.contains("420"));
    // A run broken by a zero report or a gap is not flagged, nor a run of zeros.
    let zeros: Vec<SeriesPoint> = (1..=6)
        .map(|m| SeriesPoint {
            values: Values::new(),
            ..point(&format!("2021-{m:02}"), r, 0)
        })
        .collect();
    assert!(detect_copies(&d, &zeros).is_empty());
    let with_zero_report = vec![
        point("a", r, 9),
        point("b", Some(ReportKind::Zero), 9),
        point("c", r, 9),
        point("d", r, 9),
    ];
    assert!(detect_copies(&d, &with_zero_report).is_empty());
}

proptest! {
    /// A flag is raised exactly when some window of `periods` consecutive reports is identical and non-zero.
    #[test]
    fn copy_detection_matches_oracle(values in proptest::collection::vec(0i64..3, 0..12)) {
        let d = def("ice-snow");
        let series: Vec<SeriesPoint> = values.iter().enumerate().map(|(i, v)| SeriesPoint {
            period: format!("p{i:02}"),
            kind: Some(ReportKind::Report),
            values: [("pupil_times".to_string(), json!(v))].into_iter().collect(),
        }).collect();
        let oracle = values.windows(3).any(|w| w[0] != 0 && w.iter().all(|v| *v == w[0]));
        prop_assert_eq!(!detect_copies(&d, &series).is_empty(), oracle);
    }
}

// --------------------------------------------------------------------------------------------------------------
// Daily health: spikes, clusters, follow-up

fn day_report(date: Date, ill: i64, cases: Value) -> DayReport {
    let mut v = healthy_values();
    v["absent_pupils_ill"] = json!(ill);
    v["absent_pupils"] = json!(ill + 2);
    v["cases"] = cases;
    DayReport {
        date,
        kind: ReportKind::Report,
        values: v.as_object().unwrap().clone().into_iter().collect(),
    }
}

fn school_days(n: usize) -> Vec<Date> {
    let cal = calendar();
    Cadence::SchoolDay
        .periods_starting_between(
            &cal,
            Date::constant(2021, 3, 1),
            Date::constant(2021, 6, 30),
            false,
        )
        .into_iter()
        .take(n)
        .map(|p| p.start)
        .collect()
}

#[test]
fn illness_spike_against_robust_baseline() {
    let d = def("health-daily");
    let days = school_days(15);
    let history = [1, 2, 1, 0, 2, 1, 1, 3, 1, 2, 0, 1, 2, 1];
    let mut reports: Vec<DayReport> = days[..14]
        .iter()
        .zip(history)
        .map(|(day, n)| day_report(*day, n, json!([])))
        .collect();
    let today = days[14];
    // median 1, MAD 0.5 → needed excess max(3 × 1.4826 × 0.5, 3) = 3 → alert from 4.
    for (value, alerts) in [(3, false), (4, true), (12, true)] {
        reports.push(day_report(today, value, json!([])));
        let found: Vec<HealthAlert> = health_alerts(&d, "s1", &reports, today)
            .into_iter()
            .filter(|a| a.kind == HealthAlertKind::IllnessAbsenceSpike)
            .collect();
        assert_eq!(!found.is_empty(), alerts, "value {value}: {found:?}");
        if let Some(a) = found.first() {
            assert_eq!(a.field.as_deref(), Some("absent_pupils_ill"));
            assert_eq!(a.baseline, Some(1.0));
            assert_eq!(a.audience, EscalationLevel::District);
            assert!(a.explanation.contains(&value.to_string()));
        }
        reports.pop();
    }
    // Too little history: no alert.
    let short: Vec<DayReport> = days[10..]
        .iter()
        .map(|day| day_report(*day, if *day == today { 30 } else { 0 }, json!([])))
        .collect();
    assert!(health_alerts(&d, "s1", &short, today).is_empty());
    // Zero reports count as zeros in the baseline.
    let mut zeros: Vec<DayReport> = days[..14]
        .iter()
        .map(|day| DayReport {
            date: *day,
            kind: ReportKind::Zero,
            values: Values::new(),
        })
        .collect();
    zeros.push(day_report(today, 3, json!([])));
    assert_eq!(health_alerts(&d, "s1", &zeros, today).len(), 1);
}

proptest! {
    /// Never an alert below median + min_excess; always one at or above median + max(3 × 1.4826 × MAD, 3).
    #[test]
    fn spike_rule_matches_oracle(history in proptest::collection::vec(0i64..20, 14), today in 0i64..60) {
        let d = def("health-daily");
        let days = school_days(15);
        let mut reports: Vec<DayReport> = days[..14].iter().zip(&history).map(|(day, n)| day_report(*day, *n, json!([]))).collect();
        reports.push(day_report(days[14], today, json!([])));
        let mut sorted: Vec<f64> = history.iter().map(|v| *v as f64).collect();
        sorted.sort_by(f64::total_cmp);
        let median = (sorted[6] + sorted[7]) / 2.0;
        let mut dev: Vec<f64> = sorted.iter().map(|v| (v - median).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = (dev[6] + dev[7]) / 2.0;
        let threshold = (median + (3.0 * 1.4826 * mad).max(3.0)).max(3.0);
        let alerted = health_alerts(&d, "s1", &reports, days[14]).iter().any(|a| a.kind == HealthAlertKind::IllnessAbsenceSpike);
        prop_assert_eq!(alerted, today as f64 >= threshold);
    }
}

fn case(person: &str, class: &str, onset: &str, follow_up: &str) -> Value {
    json!({ "person_kind": "pupil", "person": person, "class_name": class, "symptoms": ["fever"],
            "onset_date": onset, "measures": ["home_observation"], "follow_up": follow_up })
}

#[test]
fn class_cluster_within_days() {
    let d = def("health-daily");
    let r = |date: Date, cases: Value| day_report(date, 0, cases);
    let reports = vec![
        r(
            Date::constant(2021, 3, 3),
            json!([case("p1", "一(2)班", "2021-03-03", "observing")]),
        ),
        r(
            Date::constant(2021, 3, 4),
            json!([
                case("p1", "一(2)班", "2021-03-03", "observing"),
                case("p2", "一(2)班", "2021-03-04", "observing")
            ]),
        ),
        r(
            Date::constant(2021, 3, 5),
            json!([
                case("p3", "一(2)班", "2021-03-05", "observing"),
                case("p4", "三(1)班", "2021-03-05", "observing")
            ]),
        ),
    ];
    let alerts = health_alerts(&d, "s1", &reports, Date::constant(2021, 3, 5));
    let clusters: Vec<&HealthAlert> = alerts
        .iter()
        .filter(|a| a.kind == HealthAlertKind::ClassCluster)
        .collect();
    assert_eq!(clusters.len(), 1, "{alerts:?}");
    assert_eq!(clusters[0].class.as_deref(), Some("一(2)班"));
    assert_eq!(
        clusters[0].observed, 3,
        "p1 is listed twice but counted once"
    );
    assert!(
        !serde_json::to_string(clusters[0]).unwrap().contains("p1"),
        "alerts for the district carry no identity"
    );
    // Two days later the first onset has left the 3-day window.
    let later = health_alerts(&d, "s1", &reports, Date::constant(2021, 3, 7));
    assert!(
        later
            .iter()
            .all(|a| a.kind != HealthAlertKind::ClassCluster)
    );
}

#[test]
fn cases_are_followed_until_closed() {
    let d = def("health-daily");
    let r = |date: Date, cases: Value| day_report(date, 0, cases);
    let reports = vec![
        r(
            Date::constant(2021, 3, 3),
            json!([
                case("p1", "一(2)班", "2021-03-03", "observing"),
                case("p2", "二(1)班", "2021-03-03", "treating")
            ]),
        ),
        r(
            Date::constant(2021, 3, 4),
            json!([
                case("p1", "一(2)班", "2021-03-03", "recovered"),
                case("p2", "二(1)班", "2021-03-03", "treating")
            ]),
        ),
        r(
            Date::constant(2021, 3, 8),
            json!([case("p1", "一(2)班", "2021-03-08", "observing")]),
        ),
    ];
    let cases = track_cases(&d, &reports, Date::constant(2021, 3, 8));
    assert_eq!(
        cases.len(),
        3,
        "p1 twice (closed, then a new episode), p2 once"
    );
    assert_eq!(cases[0].person, "p1");
    assert_eq!(cases[0].closed_on, Some(Date::constant(2021, 3, 4)));
    assert!(!cases[0].needs_follow_up);
    assert_eq!(cases[1].person, "p2");
    assert!(
        cases[1].needs_follow_up,
        "p2 is open and missing from the report of the 8th"
    );
    assert_eq!(cases[1].history.len(), 2);
    assert_eq!(cases[2].first_reported, Date::constant(2021, 3, 8));
    assert!(!cases[2].needs_follow_up);
}

// --------------------------------------------------------------------------------------------------------------
// Per-return checks

#[test]
fn homework_caps_per_grade_and_band_totals() {
    let d = def("homework-load");
    let cal = calendar();
    let s = school("s1", InstitutionKind::NineYear);
    let week = "2021-W10"; // 8–14 March; opens Friday 12th, due Monday 15th 17:00
    let at = "2021-03-13T02:00:00Z";
    let values = json!({ "grades": [
        { "grade": 1, "classes": 4, "pupil_days": 100, "minutes": 0 },
        { "grade": 2, "classes": 4, "pupil_days": 200, "minutes": 2000 },
        { "grade": 5, "classes": 4, "pupil_days": 250, "minutes": 15000 },
        { "grade": 8, "classes": 6, "pupil_days": 300, "minutes": "28650.0" },
    ]});
    let accepted =
        accept_submission(&d, &cal, &s, &submission("s1", week, report(values), at)).unwrap();
    let compliance = homework_compliance(&d, &accepted.values);
    let summary: Vec<(i64, bool)> = compliance.iter().map(|c| (c.grade, c.compliant)).collect();
    assert_eq!(
        summary,
        [(1, true), (2, false), (5, true), (8, false)],
        "60 min exactly is within the cap"
    );
    assert_eq!(compliance[3].cap, Decimal::parse("90"));
    assert_eq!(compliance[3].average_minutes, Some(95.5));
    assert!(compliance[1].explanation.contains("不布置书面家庭作业"));
    // Band totals are computed for the plan's metrics (city average = sum of minutes ÷ sum of pupil-days).
    let v = &accepted.values;
    assert_eq!(
        (
            v["g12_written_minutes"].clone(),
            v["g12_pupil_days"].clone()
        ),
        (json!(2000), json!(300))
    );
    assert_eq!(
        (v["g36_minutes"].clone(), v["g36_pupil_days"].clone()),
        (json!(15000), json!(250))
    );
    assert_eq!(
        (v["junior_minutes"].clone(), v["junior_pupil_days"].clone()),
        (json!(28650), json!(300))
    );
    for id in &d.fields {
        assert!(v.contains_key(id), "plan metric field {id} present");
    }

    let forged = json!({ "grades": [{ "grade": 3, "classes": 1, "pupil_days": 10, "minutes": 100 }], "g36_minutes": 1 });
    let err =
        accept_submission(&d, &cal, &s, &submission("s1", week, report(forged), at)).unwrap_err();
    assert_eq!(
        err.codes_for("g36_minutes"),
        vec![ErrorCode::NotAllowed],
        "computed fields cannot be submitted"
    );
    let absurd =
        json!({ "grades": [{ "grade": 4, "classes": 2, "pupil_days": 1, "minutes": 700 }] });
    let err =
        accept_submission(&d, &cal, &s, &submission("s1", week, report(absurd), at)).unwrap_err();
    assert_eq!(
        err.codes_for("grades[0].minutes"),
        vec![ErrorCode::RuleFailed]
    );
    let err = accept_submission(
        &d,
        &cal,
        &s,
        &submission(
            "s1",
            "2021-W10",
            report(json!({"grades": []})),
            "2021-03-11T02:00:00Z",
        ),
    )
    .unwrap_err();
    assert_eq!(
        err.codes_for("period"),
        vec![ErrorCode::OutsideWindow],
        "opens on Friday"
    );
    assert!(err.codes_for("grades").contains(&ErrorCode::TooFewRows));
}

#[test]
fn kindergarten_funding_against_standards() {
    let d = def("kg-funding");
    let cal = calendar();
    let public = school("k1", InstitutionKind::Kindergarten);
    let inclusive = Institution {
        ownership: Ownership::Private,
        tags: vec!["inclusive".into()],
        ..school("k2", InstitutionKind::Kindergarten)
    };
    let plain_private = Institution {
        ownership: Ownership::Private,
        ..school("k3", InstitutionKind::Kindergarten)
    };
    let at = "2022-01-10T02:00:00Z";
    let a = accept_submission(
        &d,
        &cal,
        &public,
        &submission(
            "k1",
            "2021",
            report(json!({"pupils_funded": 100, "yuan_disbursed": "60000"})),
            at,
        ),
    )
    .unwrap();
    let check = funding_check(&d, &public, &a.values).unwrap();
    assert!(check.compliant);
    assert_eq!(check.required, Decimal::from_int(60_000));
    let b = accept_submission(
        &d,
        &cal,
        &inclusive,
        &submission(
            "k2",
            "2021",
            report(json!({"pupils_funded": 50, "yuan_disbursed": 9000.5})),
            at,
        ),
    )
    .unwrap();
    let check = funding_check(&d, &inclusive, &b.values).unwrap();
    assert!(!check.compliant);
    assert_eq!(check.shortfall, Decimal::parse("999.5").unwrap());
    let err = accept_submission(
        &d,
        &cal,
        &plain_private,
        &submission(
            "k3",
            "2021",
            report(json!({"pupils_funded": 1, "yuan_disbursed": 1})),
            at,
        ),
    )
    .unwrap_err();
    assert!(
        err.names("institution"),
        "a private kindergarten that is not inclusive owes nothing"
    );
}

#[test]
fn ice_snow_totals_feed_the_target() {
    let values: Vec<Values> = [120_000i64, 90_000, 65_000]
        .iter()
        .map(|n| {
            [("pupil_times".to_string(), json!(n))]
                .into_iter()
                .collect()
        })
        .collect();
    assert_eq!(
        field_total("pupil_times", &values),
        Some(Decimal::from_int(275_000))
    );
}
