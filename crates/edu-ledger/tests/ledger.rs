//! Ledgers as the platform uses them: the plan's definitions, every transition rule, deadlines and escalation at
//! "now", confidentiality, LEC grading, checklists, the negative list and metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use edu_form::Decimal;
use edu_form::org::{OrgLevel, OrgTree, OrgUnit};
use edu_ledger::*;
use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;
use serde_json::{Value, json};

fn defs() -> BTreeMap<String, LedgerDef> {
    parse_ledger_defs(DAQING_2021_DEFS).unwrap_or_else(|e| panic!("defs must parse: {e}"))
}

fn def(id: &str) -> LedgerDef {
    defs().remove(id).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn actor(person: &str, role: Role, relation: Relation) -> Actor {
    Actor {
        person: person.into(),
        role,
        relation,
    }
}

fn officer() -> Actor {
    actor("t01", Role::SchoolSafetyOfficer, Relation::OwnSchool)
}
fn head() -> Actor {
    actor("a01", Role::SchoolAdmin, Relation::OwnSchool)
}
fn fixer() -> Actor {
    actor("t02", Role::Teacher, Relation::OwnSchool)
}
fn district() -> Actor {
    actor("d01", Role::DistrictAdmin, Relation::OwnDistrict)
}
fn inspector() -> Actor {
    actor("i01", Role::Inspector, Relation::OwnDistrict)
}

fn step(action: &str, supplied: Value) -> Step {
    Step {
        action: action.into(),
        supplied,
        note: None,
    }
}

fn hazard_report(severity: &str) -> Value {
    json!({ "title": "二楼配电箱门损坏", "severity": severity, "location": "教学楼二楼东侧", "description": "配电箱门无法关闭，线路外露" })
}

/// A general hazard reported 10:00 China time on 1 March 2021 and assigned to t02 at 11:00.
fn assigned_hazard() -> (LedgerDef, Case) {
    let d = def("hazards");
    let case = open_case(
        &d,
        "h1",
        "s1",
        &officer(),
        &step("report", hazard_report("general")),
        ts("2021-03-01T02:00:00Z"),
    )
    .unwrap();
    let case = apply_action(
        &d,
        &case,
        &head(),
        &step("assign", json!({ "responsible_person": "t02" })),
        ts("2021-03-01T03:00:00Z"),
    )
    .unwrap();
    (d, case)
}

// --------------------------------------------------------------------------------------------------------------
// Definitions

#[test]
fn plan_defs_parse_and_reference_existing_states_and_fields() {
    let d = defs();
    let ids: Vec<&str> = d.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "hazards",
            "inclusive-certification",
            "inspections",
            "negative-list",
            "risk-points",
            "tutoring-complaints"
        ]
    );
    for (id, l) in &d {
        assert!(l.check().is_empty(), "{id}");
        for t in &l.transitions {
            assert!(l.state(&t.to).is_some(), "{id}.{} → {}", t.action, t.to);
            for f in t.requires.iter().chain(&t.allows) {
                assert!(l.form.field(f).is_some(), "{id}.{}: {f}", t.action);
            }
        }
        for f in &l.form.fields {
            assert!(
                !f.label.is_empty() && !f.label_en.is_empty(),
                "{id}.{}",
                f.id
            );
        }
    }
    let h = &d["hazards"];
    assert_eq!(
        h.checklists.len(),
        6,
        "daily, weekly and four special campaigns"
    );
    assert_eq!(h.days_for_severity("major"), Some(3));
    assert_eq!(h.days_for_severity("general"), Some(7));
    assert_eq!(d["inspections"].checklists.len(), 4);
    assert_eq!(
        d["negative-list"]
            .negative_list
            .as_ref()
            .unwrap()
            .items
            .len(),
        10
    );
}

#[test]
fn broken_defs_are_refused_with_location() {
    let broken = DAQING_2021_DEFS.replacen("to = \"rectified\"", "to = \"fixed\"", 1);
    let err = parse_ledger_defs(&broken).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.at.starts_with("ledgers.hazards.transitions[") && p.at.ends_with(".to")),
        "{err}"
    );
    let broken = DAQING_2021_DEFS.replacen(
        "requires = [\"responsible_person\"]",
        "requires = [\"owner\"]",
        1,
    );
    let err = parse_ledger_defs(&broken).unwrap_err();
    assert!(
        err.problems.iter().any(|p| p.problem.contains("owner")),
        "{err}"
    );
    let broken = DAQING_2021_DEFS.replacen(
        "visible_to = [\"investigator\"]",
        "visible_to = [\"detective\"]",
        1,
    );
    let err = parse_ledger_defs(&broken).unwrap_err();
    assert!(
        err.problems.iter().any(|p| p.problem.contains("detective")),
        "{err}"
    );
    let broken = DAQING_2021_DEFS.replacen(
        "days_by_severity = { major = 3, general = 7 }",
        "days_by_severity = { critical = 3 }",
        1,
    );
    assert!(parse_ledger_defs(&broken).is_err());
}

// --------------------------------------------------------------------------------------------------------------
// Hazards: every rule

#[test]
fn hazard_lifecycle_with_history() {
    let (d, case) = assigned_hazard();
    // Closing without re-inspection is refused: the action does not start from "assigned" or "rectified".
    let err = apply_action(
        &d,
        &case,
        &head(),
        &step("close", json!({})),
        ts("2021-03-02T01:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::WrongState);
    assert!(err.message_en.contains("reinspected"), "{}", err.message_en);

    let rectify = step(
        "rectify",
        json!({ "rectification_note": "更换配电箱门并加锁", "rectification_photos": ["f1", "f2"] }),
    );
    let err =
        apply_action(&d, &case, &officer(), &rectify, ts("2021-03-03T01:00:00Z")).unwrap_err();
    assert_eq!(
        err.rule,
        TransitionRule::NotAssigned,
        "only the responsible person reports rectification"
    );
    let no_photo = step("rectify", json!({ "rectification_note": "已修复" }));
    let err = apply_action(&d, &case, &fixer(), &no_photo, ts("2021-03-03T01:00:00Z")).unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (TransitionRule::RequiredField, Some("rectification_photos"))
    );
    let case = apply_action(&d, &case, &fixer(), &rectify, ts("2021-03-03T01:00:00Z")).unwrap();
    let err = apply_action(
        &d,
        &case,
        &head(),
        &step("close", json!({})),
        ts("2021-03-03T02:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        err.rule,
        TransitionRule::WrongState,
        "rectified but not re-inspected: closing refused"
    );

    let fail = step(
        "reinspect",
        json!({ "reinspection_result": "fail", "reinspection_note": "门锁未安装" }),
    );
    let case = apply_action(&d, &case, &inspector(), &fail, ts("2021-03-04T01:00:00Z")).unwrap();
    let err = apply_action(
        &d,
        &case,
        &head(),
        &step("close", json!({})),
        ts("2021-03-04T02:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (TransitionRule::GuardFailed, Some("reinspection_result"))
    );
    assert_eq!(err.message, "复查合格方可销号");
    let case = apply_action(
        &d,
        &case,
        &inspector(),
        &step("reject", json!({})),
        ts("2021-03-04T02:00:00Z"),
    )
    .unwrap();
    assert_eq!(case.state, "assigned");
    let case = apply_action(&d, &case, &fixer(), &rectify, ts("2021-03-05T01:00:00Z")).unwrap();
    let pass = step(
        "reinspect",
        json!({ "reinspection_result": "pass", "reinspection_note": "已整改到位" }),
    );
    let case = apply_action(&d, &case, &inspector(), &pass, ts("2021-03-05T05:00:00Z")).unwrap();
    let case = apply_action(
        &d,
        &case,
        &head(),
        &step("close", json!({ "closing_note": "销号" })),
        ts("2021-03-05T06:00:00Z"),
    )
    .unwrap();
    assert_eq!(case.state, "closed");

    let trail: Vec<(&str, &str, &str)> = case
        .history
        .iter()
        .map(|h| (h.action.as_str(), h.actor.as_str(), h.to.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("report", "t01", "reported"),
            ("assign", "a01", "assigned"),
            ("rectify", "t02", "rectified"),
            ("reinspect", "i01", "reinspected"),
            ("reject", "i01", "assigned"),
            ("rectify", "t02", "rectified"),
            ("reinspect", "i01", "reinspected"),
            ("close", "a01", "closed"),
        ]
    );
    assert_eq!(case.history[1].at, ts("2021-03-01T03:00:00Z"));
    let change = case.history[6]
        .changes
        .iter()
        .find(|c| c.field == "reinspection_result")
        .unwrap();
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (Some(json!("fail")), Some(json!("pass")))
    );
    let status = case_status(&d, &case, ts("2021-03-20T00:00:00Z"));
    assert!(status.closed && !status.overdue && status.escalation.is_none());
    assert_eq!(
        status.closed_late,
        Some(false),
        "closed within 7 days, each step within its deadline"
    );
}

#[test]
fn seven_day_hazard_is_overdue_on_day_eight_and_escalates() {
    let (d, case) = assigned_hazard();
    // (instant, overdue, days overdue, escalation)
    let table = [
        ("2021-03-05T00:00:00Z", false, 0, None),
        ("2021-03-07T15:59:59Z", false, 0, None), // 23:59:59 on 7 March, China: the last day
        (
            "2021-03-07T16:00:00Z",
            true,
            1,
            Some(EscalationLevel::School),
        ), // 00:00 on 8 March: day 8
        (
            "2021-03-08T15:59:59Z",
            true,
            1,
            Some(EscalationLevel::School),
        ),
        (
            "2021-03-08T16:00:00Z",
            true,
            2,
            Some(EscalationLevel::District),
        ), // one day past the deadline
        ("2021-03-14T16:00:00Z", true, 8, Some(EscalationLevel::City)), // seven days past
    ];
    for (at, overdue, days, level) in table {
        let s = case_status(&d, &case, ts(at));
        assert_eq!(
            (s.overdue, s.days_overdue, s.escalation),
            (overdue, days, level),
            "{at}"
        );
    }
    assert_eq!(state_deadline(&d, &case), Some(ts("2021-03-07T15:59:59Z")));

    // The district sees it as overdue on day 8, in its roll-up.
    let tree = org();
    let metrics = ledger_metrics(
        &d,
        &tree,
        std::slice::from_ref(&case),
        ts("2021-03-08T02:00:00Z"),
    );
    let unit = |id: &str| {
        metrics
            .iter()
            .find(|m| m.unit == id)
            .unwrap()
            .counts
            .clone()
    };
    assert_eq!(
        (
            unit("d1").open,
            unit("d1").overdue,
            unit("city").overdue,
            unit("d2").overdue
        ),
        (1, 1, 1, 0)
    );
    let before = ledger_metrics(
        &d,
        &tree,
        std::slice::from_ref(&case),
        ts("2021-03-07T02:00:00Z"),
    );
    assert_eq!(
        before
            .iter()
            .find(|m| m.unit == "d1")
            .unwrap()
            .counts
            .overdue,
        0
    );

    // Escalating is refused before the deadline, allowed after it (the platform's scheduler acts as `system`).
    let system = actor("platform", Role::System, Relation::Unrelated);
    let err = apply_action(
        &d,
        &case,
        &system,
        &step("escalate", json!({})),
        ts("2021-03-06T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::GuardFailed);
    let escalated = apply_action(
        &d,
        &case,
        &system,
        &step("escalate", json!({})),
        ts("2021-03-08T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(escalated.state, "escalated");
    // Rectified late: the case is closed late.
    let late = apply_action(
        &d,
        &escalated,
        &fixer(),
        &step(
            "rectify",
            json!({ "rectification_note": "x", "rectification_photos": ["p"] }),
        ),
        ts("2021-03-09T00:00:00Z"),
    )
    .unwrap();
    assert!(was_late(&d, &late, ts("2021-03-09T00:00:00Z")));
}

#[test]
fn major_hazard_reaches_the_district_at_once() {
    let d = def("hazards");
    let case = open_case(
        &d,
        "h2",
        "s1",
        &officer(),
        &step("report", hazard_report("major")),
        ts("2021-03-01T02:00:00Z"),
    )
    .unwrap();
    let s = case_status(&d, &case, ts("2021-03-01T02:00:01Z"));
    assert_eq!(
        (s.overdue, s.escalation),
        (false, Some(EscalationLevel::District))
    );
    let assigned = apply_action(
        &d,
        &case,
        &head(),
        &step("assign", json!({ "responsible_person": "t02" })),
        ts("2021-03-01T03:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        state_deadline(&d, &assigned),
        Some(ts("2021-03-03T15:59:59Z")),
        "major: 3 days, due 23:59:59 on 3 March"
    );
}

/// Each refused step must break exactly the named rule.
#[test]
fn transition_rules_table() {
    let d = def("hazards");
    let (_, assigned) = assigned_hazard();
    let reported = open_case(
        &d,
        "h3",
        "s1",
        &officer(),
        &step("report", hazard_report("general")),
        ts("2021-03-01T02:00:00Z"),
    )
    .unwrap();
    let other_school = actor("x01", Role::SchoolAdmin, Relation::Unrelated);
    let city = actor("c01", Role::CityAdmin, Relation::City);
    let at = ts("2021-03-02T00:00:00Z");
    let cases: Vec<(&Case, Actor, Step, TransitionRule, Option<&str>)> = vec![
        (
            &reported,
            head(),
            step("fly", json!({})),
            TransitionRule::UnknownAction,
            None,
        ),
        (
            &reported,
            head(),
            step("rectify", json!({})),
            TransitionRule::WrongState,
            None,
        ),
        (
            &reported,
            city.clone(),
            step("assign", json!({ "responsible_person": "t02" })),
            TransitionRule::RoleNotAllowed,
            None,
        ),
        (
            &reported,
            fixer(),
            step("assign", json!({ "responsible_person": "t02" })),
            TransitionRule::RoleNotAllowed,
            None,
        ),
        (
            &reported,
            other_school,
            step("assign", json!({ "responsible_person": "t02" })),
            TransitionRule::OutOfScope,
            None,
        ),
        (
            &reported,
            actor("d09", Role::DistrictAdmin, Relation::Unrelated),
            step("assign", json!({ "responsible_person": "t02" })),
            TransitionRule::OutOfScope,
            None,
        ),
        (
            &reported,
            head(),
            step("assign", json!({})),
            TransitionRule::RequiredField,
            Some("responsible_person"),
        ),
        (
            &reported,
            head(),
            step(
                "assign",
                json!({ "responsible_person": "t02", "closing_note": "x" }),
            ),
            TransitionRule::FieldNotAllowed,
            Some("closing_note"),
        ),
        (
            &reported,
            head(),
            step(
                "assign",
                json!({ "responsible_person": "t02", "severity": "huge" }),
            ),
            TransitionRule::InvalidValue,
            Some("severity"),
        ),
        (
            &reported,
            head(),
            step("assign", json!({ "responsible_person": "t 02" })),
            TransitionRule::InvalidValue,
            Some("responsible_person"),
        ),
        (
            &assigned,
            head(),
            step(
                "rectify",
                json!({ "rectification_note": "x", "rectification_photos": ["p"] }),
            ),
            TransitionRule::NotAssigned,
            Some("responsible_person"),
        ),
        (
            &assigned,
            district(),
            step("escalate", json!({})),
            TransitionRule::GuardFailed,
            None,
        ),
    ];
    for (case, who, s, rule, field) in cases {
        let err = apply_action(&d, case, &who, &s, at).unwrap_err();
        assert_eq!(
            (err.rule, err.field.as_deref()),
            (rule, field),
            "{} by {:?}: {err:?}",
            s.action,
            who.role
        );
        assert!(!err.message.is_empty() && !err.message_en.is_empty());
    }
    // Allowed counterparts.
    assert!(
        apply_action(
            &d,
            &reported,
            &district(),
            &step("assign", json!({ "responsible_person": "t02" })),
            at
        )
        .is_ok()
    );
    assert!(
        apply_action(
            &d,
            &reported,
            &head(),
            &step(
                "assign",
                json!({ "responsible_person": "t02", "severity": "major" })
            ),
            at
        )
        .is_ok()
    );
    let err = apply_action(
        &d,
        &reported,
        &head(),
        &step("assign", json!({ "responsible_person": "t02" })),
        ts("2021-02-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::TimeOrder);
    let err = open_case(
        &d,
        "h4",
        "s1",
        &officer(),
        &step(
            "report",
            json!({ "title": "x", "severity": "general", "location": "y" }),
        ),
        at,
    )
    .unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (TransitionRule::RequiredField, Some("description"))
    );
    let actions: Vec<String> = available_actions(&d, &reported, &head(), at)
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        ["assign"],
        "escalate is not offered before the deadline, nor to a school admin"
    );
}

#[test]
fn evidence_rule_counts_attachments() {
    let mut d = def("hazards");
    let t = d
        .transitions
        .iter_mut()
        .find(|t| t.action == "rectify")
        .unwrap();
    t.evidence[0].min = 2;
    let (_, case) = assigned_hazard();
    let one = step(
        "rectify",
        json!({ "rectification_note": "x", "rectification_photos": ["p1"] }),
    );
    let err = apply_action(&d, &case, &fixer(), &one, ts("2021-03-02T00:00:00Z")).unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (
            TransitionRule::EvidenceMissing,
            Some("rectification_photos")
        )
    );
    let two = step(
        "rectify",
        json!({ "rectification_note": "x", "rectification_photos": ["p1", "p2"] }),
    );
    assert!(apply_action(&d, &case, &fixer(), &two, ts("2021-03-02T00:00:00Z")).is_ok());
}

#[test]
fn history_replays_to_any_instant() {
    let (d, case) = assigned_hazard();
    let then = case.as_of(ts("2021-03-01T02:30:00Z")).unwrap();
    assert_eq!(then.state, "reported");
    assert!(!then.values.contains_key("responsible_person"));
    assert_eq!(then.history.len(), 1);
    assert!(
        case.as_of(ts("2021-03-01T01:00:00Z")).is_none(),
        "not yet reported"
    );
    assert_eq!(case.as_of(ts("2030-01-01T00:00:00Z")).unwrap(), case);
    let s = case_status(&d, &then, ts("2021-03-02T16:00:00Z"));
    assert!(
        s.overdue,
        "still unassigned at the end of day 1 would be overdue"
    );
}

// --------------------------------------------------------------------------------------------------------------
// Complaints: confidentiality and decisions

#[test]
fn complainant_identity_only_for_the_assigned_investigator() {
    let d = def("tutoring-complaints");
    let intake = step(
        "intake",
        json!({ "channel": "hotline", "teacher": "T123", "allegation": "周末在家中有偿补课", "complainant_name": "王某", "complainant_phone": "13800000000" }),
    );
    let case = open_case(
        &d,
        "c1",
        "s1",
        &district(),
        &intake,
        ts("2021-04-01T01:00:00Z"),
    )
    .unwrap();
    let case = apply_action(
        &d,
        &case,
        &district(),
        &step("assign", json!({ "investigator": "inv1" })),
        ts("2021-04-01T02:00:00Z"),
    )
    .unwrap();
    let assigned = actor("inv1", Role::Investigator, Relation::OwnDistrict);
    let other_investigator = actor("inv2", Role::Investigator, Relation::OwnDistrict);
    let seen = view_case(&d, &case, &assigned);
    assert_eq!(seen.values.get("complainant_name"), Some(&json!("王某")));
    assert!(
        seen.sensitive_fields
            .contains(&"complainant_phone".to_string())
    );
    for viewer in [
        district(),
        other_investigator.clone(),
        head(),
        actor("c01", Role::CityAdmin, Relation::City),
    ] {
        let v = view_case(&d, &case, &viewer);
        assert!(
            !v.values.contains_key("complainant_name")
                && !v.values.contains_key("complainant_phone"),
            "{:?}",
            viewer
        );
        assert!(v.hidden_fields.contains(&"complainant_name".to_string()));
        let leaked = v
            .history
            .iter()
            .flat_map(|h| &h.changes)
            .any(|c| c.field.starts_with("complainant"));
        assert!(!leaked, "the history does not leak the identity either");
        assert_eq!(
            v.values.get("allegation"),
            Some(&json!("周末在家中有偿补课"))
        );
    }
    let findings = step("submit_findings", json!({ "findings": "经查属实" }));
    let err = apply_action(
        &d,
        &case,
        &other_investigator,
        &findings,
        ts("2021-04-05T01:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::NotAssigned);
    let case = apply_action(&d, &case, &assigned, &findings, ts("2021-04-05T01:00:00Z")).unwrap();
    let decide = step(
        "decide",
        json!({ "decision": "unsubstantiated", "decision_note": "证据不足" }),
    );
    let case = apply_action(&d, &case, &district(), &decide, ts("2021-04-06T01:00:00Z")).unwrap();
    let sanction = step(
        "sanction",
        json!({ "sanction": "warning", "sanction_file": ["f"], "closing_note": "已反馈" }),
    );
    let err = apply_action(
        &d,
        &case,
        &district(),
        &sanction,
        ts("2021-04-07T01:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (TransitionRule::GuardFailed, Some("decision"))
    );
    let closed = apply_action(
        &d,
        &case,
        &district(),
        &step("close", json!({ "closing_note": "已电话反馈投诉人" })),
        ts("2021-04-07T01:00:00Z"),
    )
    .unwrap();
    assert_eq!(closed.state, "closed");
}

// --------------------------------------------------------------------------------------------------------------
// Other ledgers' guards

#[test]
fn inspections_and_certification_guards() {
    let d = def("inspections");
    let plan = step(
        "plan",
        json!({ "inspection_type": "kindergarten_schooling", "planned_date": "2021-05-10" }),
    );
    let case = open_case(
        &d,
        "i1",
        "k1",
        &district(),
        &plan,
        ts("2021-05-01T01:00:00Z"),
    )
    .unwrap();
    let record = step("record", json!({ "result": "pass" }));
    let err =
        apply_action(&d, &case, &inspector(), &record, ts("2021-05-10T01:00:00Z")).unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (TransitionRule::RequiredField, Some("report_file"))
    );
    let record = step("record", json!({ "result": "pass", "report_file": ["r1"] }));
    let case = apply_action(&d, &case, &inspector(), &record, ts("2021-05-10T01:00:00Z")).unwrap();
    let err = apply_action(
        &d,
        &case,
        &inspector(),
        &step(
            "require_rectification",
            json!({ "rectify_requirement": "x" }),
        ),
        ts("2021-05-10T02:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::GuardFailed);
    let closed = apply_action(
        &d,
        &case,
        &inspector(),
        &step("close", json!({})),
        ts("2021-05-10T02:00:00Z"),
    )
    .unwrap();
    assert_eq!(closed.state, "closed");

    let c = def("inclusive-certification");
    let kg_head = actor("k01", Role::SchoolAdmin, Relation::OwnSchool);
    let apply = step(
        "apply",
        json!({ "fee_per_month": "680.00", "pupils": 120, "classes": 5, "teachers_total": 10, "qualified_teachers": 12, "premises_area": 900, "application_files": ["a"] }),
    );
    let err = open_case(&c, "p1", "k2", &kg_head, &apply, ts("2021-06-01T01:00:00Z")).unwrap_err();
    assert_eq!(
        err.rule,
        TransitionRule::InvalidValue,
        "licensed teachers above teachers: {err:?}"
    );
    let mut ok = apply.clone();
    ok.supplied["qualified_teachers"] = json!(9);
    let case = open_case(&c, "p1", "k2", &kg_head, &ok, ts("2021-06-01T01:00:00Z")).unwrap();
    let case = apply_action(
        &c,
        &case,
        &district(),
        &step("accept", json!({})),
        ts("2021-06-02T01:00:00Z"),
    )
    .unwrap();
    let case = apply_action(
        &c,
        &case,
        &inspector(),
        &step(
            "inspect",
            json!({ "inspection_result": "fail", "inspection_note": "消防不达标" }),
        ),
        ts("2021-06-10T01:00:00Z"),
    )
    .unwrap();
    let err = apply_action(
        &c,
        &case,
        &district(),
        &step(
            "certify",
            json!({ "certificate_no": "DQ-2021-001", "valid_until": "2024-06-30" }),
        ),
        ts("2021-06-11T01:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::GuardFailed);
    let refused = apply_action(
        &c,
        &case,
        &district(),
        &step("refuse", json!({ "refusal_reason": "消防验收未通过" })),
        ts("2021-06-11T01:00:00Z"),
    )
    .unwrap();
    assert_eq!(refused.state, "refused");
    let err = apply_action(
        &c,
        &refused,
        &district(),
        &step("revoke", json!({ "revoke_reason": "x" })),
        ts("2021-06-12T01:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(err.rule, TransitionRule::WrongState);
}

// --------------------------------------------------------------------------------------------------------------
// LEC grading and risk points

fn dec(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

#[test]
fn lec_grading_table_and_boundaries() {
    let t = LecThresholds::default();
    let table = [
        ("3", "3", "40", "360", RiskLevel::Major),
        ("10", "10", "100", "10000", RiskLevel::Major),
        ("0.5", "6", "100", "300", RiskLevel::Large),
        ("6", "2", "15", "180", RiskLevel::Large),
        ("3", "6", "7", "126", RiskLevel::General),
        ("1", "6", "7", "42", RiskLevel::Low),
        ("0.1", "0.5", "1", "0.05", RiskLevel::Low),
    ];
    for (l, e, c, d, level) in table {
        let g = grade_lec(dec(l), dec(e), dec(c), &t).unwrap();
        assert_eq!((g.d, g.level), (dec(d), level), "{l}×{e}×{c}");
        assert_eq!(g.colour, level.colour());
    }
    for (d, level) in [
        ("320", RiskLevel::Large),
        ("320.01", RiskLevel::Major),
        ("160", RiskLevel::General),
        ("160.01", RiskLevel::Large),
        ("70", RiskLevel::Low),
        ("70.01", RiskLevel::General),
        ("0", RiskLevel::Low),
    ] {
        assert_eq!(t.level(dec(d)), level, "D = {d}");
    }
    let strict = LecThresholds {
        red_above: dec("150"),
        orange_above: dec("100"),
        yellow_above: dec("20"),
    };
    assert_eq!(
        grade_lec(dec("6"), dec("2"), dec("15"), &strict)
            .unwrap()
            .level,
        RiskLevel::Major,
        "thresholds are parameters"
    );
    assert!(grade_lec(dec("2"), dec("1"), dec("1"), &t).is_err());
}

proptest! {
    /// Any factors from the scales grade exactly as the f64 oracle says.
    #[test]
    fn lec_matches_oracle(l in 0usize..7, e in 0usize..6, c in 0usize..6) {
        let (l, e, c) = (L_SCALE[l], E_SCALE[e], C_SCALE[c]);
        let d: f64 = l.parse::<f64>().unwrap() * e.parse::<f64>().unwrap() * c.parse::<f64>().unwrap();
        let want = if d > 320.0 + 1e-9 { RiskLevel::Major } else if d > 160.0 + 1e-9 { RiskLevel::Large } else if d > 70.0 + 1e-9 { RiskLevel::General } else { RiskLevel::Low };
        let g = grade_lec(dec(l), dec(e), dec(c), &LecThresholds::default()).unwrap();
        prop_assert_eq!(g.level, want);
        prop_assert!((g.d.to_f64() - d).abs() < 1e-9);
    }
}

#[test]
fn risk_points_are_graded_and_reviewed_on_schedule() {
    let d = def("risk-points");
    let register = step(
        "register",
        json!({ "place": "化学实验室", "hazard_type": "chemical", "controls": "专柜双锁", "responsible_person": "t05",
                "lec_l": 3, "lec_e": 3, "lec_c": 40, "map_x": 30.5, "map_y": 60 }),
    );
    let case = open_case(
        &d,
        "r1",
        "s1",
        &officer(),
        &register,
        ts("2021-03-01T02:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        (
            case.values["lec_d"].clone(),
            case.values["risk_level"].clone()
        ),
        (json!("360.00"), json!("major"))
    );
    let s = case_status(&d, &case, ts("2021-03-05T02:00:00Z"));
    assert_eq!(
        (s.risk_level, s.next_review, s.review_overdue),
        (
            Some(RiskLevel::Major),
            Some(Date::constant(2021, 3, 8)),
            false
        )
    );
    assert!(
        case_status(&d, &case, ts("2021-03-08T16:00:00Z")).review_overdue,
        "red points are reviewed weekly"
    );

    let forged = step("update", json!({ "risk_level": "low" }));
    let err = apply_action(&d, &case, &officer(), &forged, ts("2021-03-06T02:00:00Z")).unwrap_err();
    assert_eq!(
        err.rule,
        TransitionRule::FieldNotAllowed,
        "the level is computed, never typed in"
    );
    let off_scale = step(
        "review",
        json!({ "last_reviewed_on": "2021-03-06", "review_note": "复核", "lec_l": 4 }),
    );
    let err = apply_action(
        &d,
        &case,
        &officer(),
        &off_scale,
        ts("2021-03-06T02:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        (err.rule, err.field.as_deref()),
        (TransitionRule::InvalidLec, Some("lec_l"))
    );
    let review = step(
        "review",
        json!({ "last_reviewed_on": "2021-03-06", "review_note": "加装通风设施", "lec_l": 1 }),
    );
    let case = apply_action(&d, &case, &officer(), &review, ts("2021-03-06T02:00:00Z")).unwrap();
    assert_eq!(
        (
            case.values["lec_d"].clone(),
            case.values["risk_level"].clone()
        ),
        (json!("120.00"), json!("general"))
    );
    let s = case_status(&d, &case, ts("2021-03-09T02:00:00Z"));
    assert_eq!(
        (s.risk_level, s.next_review, s.review_overdue),
        (
            Some(RiskLevel::General),
            Some(Date::constant(2021, 6, 4)),
            false
        )
    );
    let metrics = ledger_metrics(&d, &org(), &[case], ts("2021-03-09T02:00:00Z"));
    assert_eq!(
        metrics
            .iter()
            .find(|m| m.unit == "city")
            .unwrap()
            .counts
            .by_level
            .get("general"),
        Some(&1)
    );
}

// --------------------------------------------------------------------------------------------------------------
// Checklists

fn answers(d: &LedgerDef, checklist: &str, fail: &str) -> Vec<ItemResult> {
    d.checklists[checklist]
        .items
        .iter()
        .map(|i| ItemResult {
            item: i.id.clone(),
            outcome: if i.id == fail {
                ItemOutcome::Fail
            } else {
                ItemOutcome::Pass
            },
            note: (i.id == fail).then(|| "东侧安全出口堆放杂物".to_string()),
            severity: None,
            photos: if i.id == fail {
                vec!["ph1".into()]
            } else {
                vec![]
            },
            location: (i.id == fail).then(|| "教学楼一楼东侧".to_string()),
        })
        .collect()
}

#[test]
fn failed_checklist_items_become_hazard_cases() {
    let d = def("hazards");
    let run = ChecklistRun {
        checklist: "daily-patrol".into(),
        school: "s1".into(),
        inspector: "t01".into(),
        date: Date::constant(2021, 3, 1),
        results: answers(&d, "daily-patrol", "exits-clear"),
    };
    let outcome = evaluate_checklist(&d, &run).unwrap();
    assert_eq!(
        (outcome.passed, outcome.failed, outcome.not_applicable),
        (5, 1, 0)
    );
    let f = &outcome.findings[0];
    assert_eq!(
        (f.severity.as_deref(), f.rectify_within_days),
        (Some("major"), Some(3))
    );
    let case = open_case(
        &d,
        "h9",
        "s1",
        &officer(),
        &Step {
            action: "report".into(),
            supplied: Value::Object(f.values.clone()),
            note: None,
        },
        ts("2021-03-01T02:00:00Z"),
    )
    .unwrap();
    assert_eq!(case.values["source"], json!("daily-patrol/exits-clear"));
    assert_eq!(case.values["category"], json!("fire_electrical"));
    assert_eq!(
        case_status(&d, &case, ts("2021-03-01T03:00:00Z")).escalation,
        Some(EscalationLevel::District)
    );

    let mut incomplete = run.clone();
    incomplete.results.pop();
    let errs = evaluate_checklist(&d, &incomplete).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.field == "results" && e.message_en.contains("canteen-hygiene")),
        "{errs:?}"
    );
    let mut silent = run.clone();
    let i = silent
        .results
        .iter()
        .position(|r| r.outcome == ItemOutcome::Fail)
        .unwrap();
    silent.results[i].note = None;
    let errs = evaluate_checklist(&d, &silent).unwrap_err();
    assert_eq!(errs[0].field, format!("results[{i}].note"));
    let unknown = ChecklistRun {
        checklist: "nightly".into(),
        ..run
    };
    assert_eq!(
        evaluate_checklist(&d, &unknown).unwrap_err()[0].field,
        "checklist"
    );

    let insp = def("inspections");
    let run = ChecklistRun {
        checklist: "training-institution".into(),
        school: "t9".into(),
        inspector: "i01".into(),
        date: Date::constant(2021, 5, 1),
        results: answers(&insp, "training-institution", "fees"),
    };
    let outcome = evaluate_checklist(&insp, &run).unwrap();
    let row = Value::Object(outcome.findings[0].values.clone());
    let plan = step(
        "plan",
        json!({ "inspection_type": "training_institution", "planned_date": "2021-05-01" }),
    );
    let case = open_case(
        &insp,
        "i2",
        "t9",
        &district(),
        &plan,
        ts("2021-05-01T01:00:00Z"),
    )
    .unwrap();
    let record = step(
        "record",
        json!({ "result": "issues", "report_file": ["r"], "findings": [row] }),
    );
    let case = apply_action(
        &insp,
        &case,
        &inspector(),
        &record,
        ts("2021-05-01T03:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        case.values["findings"][0]["source"],
        json!("training-institution/fees")
    );
}

// --------------------------------------------------------------------------------------------------------------
// Negative list

#[test]
fn negative_list_matching() {
    let d = def("negative-list");
    let list = d.negative_list.clone().unwrap();
    let req = |category: Option<&str>, description: &str| BurdenRequest {
        issuer: "某局".into(),
        category: category.map(Into::into),
        description: description.into(),
        date: Date::constant(2021, 4, 1),
    };
    let apps = match_request(&list, &req(None, "要求全校师生下载某 app 并每日投票"));
    assert_eq!(apps.outcome, BurdenOutcome::Refuse);
    assert_eq!(apps.matched[0].item, "N05");
    assert!(
        matches!(&apps.matched[0].reason, MatchReason::Keyword { keyword } if keyword == "下载")
    );
    assert!(apps.explanation.contains("N05") && apps.list_version == "2021-1");
    let app_only = match_request(&list, &req(None, "请学生安装 App 打卡"));
    assert!(
        matches!(&app_only.matched[0].reason, MatchReason::Keyword { keyword } if keyword == "APP"),
        "keywords match case-insensitively"
    );
    let forms = match_request(&list, &req(Some("forms"), "请填写附件"));
    assert_eq!(
        (
            forms.outcome,
            forms.matched[0].item.as_str(),
            &forms.matched[0].reason
        ),
        (BurdenOutcome::Refuse, "N02", &MatchReason::Category)
    );
    let teaching = match_request(
        &list,
        &req(Some("teaching"), "组织开展全市初中数学教研活动"),
    );
    assert_eq!(teaching.outcome, BurdenOutcome::Approve);
    assert!(teaching.matched.is_empty());
    let mut expired = list.clone();
    expired.items[4].valid_until = Some(Date::constant(2021, 3, 31));
    assert_eq!(
        match_request(&expired, &req(None, "关注公众号")).outcome,
        BurdenOutcome::Approve,
        "a cleaned-out item no longer matches"
    );

    // The decision is recorded through the ledger and counted per school by state.
    let reg = step(
        "register",
        json!({ "issuer": "某局", "description": "要求下载APP", "received_on": "2021-04-01" }),
    );
    let case = open_case(&d, "n1", "s1", &head(), &reg, ts("2021-04-01T02:00:00Z")).unwrap();
    let refuse = step(
        "refuse",
        json!({ "matched_item": "N05", "decision_reason": apps.explanation, "list_version": "2021-1" }),
    );
    let refused = apply_action(&d, &case, &head(), &refuse, ts("2021-04-01T03:00:00Z")).unwrap();
    let m = ledger_metrics(&d, &org(), &[refused], ts("2021-04-02T00:00:00Z"));
    assert_eq!(
        m.iter()
            .find(|u| u.unit == "s1")
            .unwrap()
            .counts
            .by_state
            .get("refused"),
        Some(&1)
    );
}

// --------------------------------------------------------------------------------------------------------------
// Metrics roll-up

fn org() -> OrgTree {
    let u = |id: &str, parent: Option<&str>, level| OrgUnit {
        id: id.into(),
        parent: parent.map(Into::into),
        level,
        name: String::new(),
    };
    OrgTree::new(vec![
        u("city", None, OrgLevel::City),
        u("d1", Some("city"), OrgLevel::District),
        u("d2", Some("city"), OrgLevel::District),
        u("s1", Some("d1"), OrgLevel::Institution),
        u("s2", Some("d1"), OrgLevel::Institution),
        u("s3", Some("d2"), OrgLevel::Institution),
    ])
    .unwrap()
}

proptest! {
    /// District and city counts are sums over their schools; open + closed = total; overdue ⊆ open.
    #[test]
    fn ledger_metrics_roll_up_as_sums(spec in proptest::collection::vec((0usize..3, 0u8..3, 0i64..20), 0..25)) {
        let d = def("hazards");
        let schools = ["s1", "s2", "s3"];
        let mut cases = Vec::new();
        for (i, (school, progress, day)) in spec.iter().enumerate() {
            let at = Timestamp::from_second(ts("2021-03-01T02:00:00Z").as_second() + day * 86_400).unwrap();
            let who = officer();
            let mut c = open_case(&d, &format!("h{i}"), schools[*school], &who, &step("report", hazard_report("general")), at).unwrap();
            if *progress >= 1 {
                c = apply_action(&d, &c, &head(), &step("assign", json!({ "responsible_person": "t02" })), at).unwrap();
            }
            if *progress >= 2 {
                c = apply_action(&d, &c, &fixer(), &step("rectify", json!({ "rectification_note": "x", "rectification_photos": ["p"] })), at).unwrap();
                c = apply_action(&d, &c, &inspector(), &step("reinspect", json!({ "reinspection_result": "pass", "reinspection_note": "ok" })), at).unwrap();
                c = apply_action(&d, &c, &head(), &step("close", json!({})), at).unwrap();
            }
            cases.push(c);
        }
        let now = ts("2021-03-15T00:00:00Z");
        let m = ledger_metrics(&d, &org(), &cases, now);
        let get = |id: &str| m.iter().find(|u| u.unit == id).unwrap().counts.clone();
        let mut sum = LedgerCounts::default();
        for s in schools {
            let c = get(s);
            prop_assert_eq!(c.open + c.closed, c.total);
            prop_assert!(c.overdue <= c.open);
            prop_assert_eq!(c.closed_on_time + c.closed_late, c.closed);
            sum += &c;
        }
        prop_assert_eq!(get("city"), sum);
        let mut d1 = get("s1");
        d1 += &get("s2");
        prop_assert_eq!(get("d1"), d1);
        let oracle_open = spec.iter().filter(|(_, p, day)| *p < 2 && *day <= 13).count() as u64;
        prop_assert_eq!(get("city").open, oracle_open);
    }
}
