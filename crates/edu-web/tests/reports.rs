//! Reporting obligations through the router, as schools, districts and machine clients meet them (issue 4): zero
//! reports, missing and late returns and the district status, idempotent submissions, refusals with the field
//! named and nothing stored, scope, approval lock, correction history, audit rows, masked health identities.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use edu_app::{Actor, AuditContext, page};
use jiff::Timestamp;
use serde_json::{Value, json};

use common::*;

const HEALTH: &str = "health-daily";
const KINDS: [&str; 8] = [
    "kindergarten",
    "primary",
    "junior",
    "senior",
    "nine_year",
    "twelve_year",
    "vocational",
    "special",
];

/// A quiet school day after the generated history (the harness's demo ends on Monday 2021-10-11).
const DAY: &str = "2021-10-12";

fn at(rfc3339: &str) -> Timestamp {
    rfc3339.parse().unwrap()
}

/// Schools of a district that owe the daily health report.
async fn schools(h: &Harness, district: &str) -> Vec<String> {
    h.institutions_of(district)
        .await
        .into_iter()
        .filter(|(_, kind)| KINDS.contains(&kind.as_str()))
        .map(|(code, _)| code)
        .collect()
}

fn quiet_day(extra: Value) -> Value {
    let mut values = json!({
        "absent_pupils": 1, "absent_pupils_ill": 1, "absent_pupils_personal": 0, "absent_pupils_other": 0,
        "absent_staff": 0, "absent_staff_ill": 0, "absent_staff_personal": 0, "absent_staff_other": 0,
        "symptomatic_pupils": 0, "symptomatic_staff": 0
    });
    if let (Some(v), Some(e)) = (values.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            v.insert(k.clone(), x.clone());
        }
    }
    values
}

async fn post_json(h: &Harness, path: &str, token: &str, key: Option<&str>, body: &Value) -> Reply {
    let mut b = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(k) = key {
        b = b.header("Idempotency-Key", k);
    }
    h.send(b.body(Body::from(body.to_string())).unwrap()).await
}

async fn submit(h: &Harness, token: &str, key: Option<&str>, body: &Value) -> Reply {
    post_json(
        h,
        &format!("/api/v1/obligations/{HEALTH}/submissions"),
        token,
        key,
        body,
    )
    .await
}

async fn status(h: &Harness, token: &str, org: &str, date: &str) -> (StatusCode, Value) {
    let reply = h
        .api_get(
            &format!("/api/v1/obligations/{HEALTH}/status?org={org}&date={date}"),
            token,
        )
        .await;
    let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, json)
}

fn missing_codes(status: &Value) -> Vec<String> {
    status["missing_institutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["institution"].as_str().unwrap().to_owned())
        .collect()
}

fn fields(reply: &Reply) -> Vec<String> {
    let json: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    json["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn audit_actions(h: &Harness, action: &str) -> i64 {
    h.app
        .audit_search(
            &Actor::operator("test"),
            None,
            Some(action.to_owned()),
            page(1, 1),
            &AuditContext::default(),
        )
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn zero_is_reported_missing_is_missing_late_is_late_and_the_district_counts_match() {
    let h = harness().await;
    let district = schools(&h, "230602").await;
    assert!(
        district.len() >= 3,
        "the test city has {} schools in 230602",
        district.len()
    );
    let (a, b, c) = (&district[0], &district[1], &district[2]);
    h.clock.set(at("2021-10-12T00:30:00Z")); // 08:30 China time, before the 09:00 deadline
    let token_a = h.api_token(&format!("s{a}")).await;
    let zero = submit(
        &h,
        &token_a,
        None,
        &json!({"institution": a, "period": DAY, "zero": true}),
    )
    .await;
    assert_eq!(zero.status, StatusCode::CREATED, "{}", zero.body);
    let zero: Value = serde_json::from_str(&zero.body).unwrap();
    assert_eq!(zero["kind"], "zero");
    assert_eq!(zero["timeliness"], "on_time");

    h.clock.set(at("2021-10-12T01:30:00Z")); // 09:30: after the deadline
    let token_c = h.api_token(&format!("s{c}")).await;
    let late = submit(
        &h,
        &token_c,
        None,
        &json!({"period": DAY, "values": quiet_day(json!({}))}),
    )
    .await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    let late: Value = serde_json::from_str(&late.body).unwrap();
    assert_eq!(late["timeliness"], "late");
    assert_eq!(late["late_by_seconds"], 1800);

    let district_token = h.api_token("d230602").await;
    let (code, s) = status(&h, &district_token, "230602", DAY).await;
    assert_eq!(code, StatusCode::OK, "{s}");
    assert_eq!(s["expected"].as_u64().unwrap() as usize, district.len());
    assert_eq!(s["submitted"], 2);
    assert_eq!(s["on_time"], 1);
    assert_eq!(s["late"], 1);
    assert_eq!(s["zero"], 1);
    assert_eq!(s["missing"].as_u64().unwrap() as usize, district.len() - 2);
    let missing = missing_codes(&s);
    assert!(missing.contains(b), "school b filed nothing: missing");
    assert!(!missing.contains(a) && !missing.contains(c));
    assert_eq!(missing.len(), district.len() - 2);
    // Sorted by lateness, each with its contact.
    let first = &s["missing_institutions"][0];
    assert_eq!(first["overdue_seconds"], 1800);
    assert!(first["phone"].as_str().is_some());
    // The city's counts for the district are the same numbers.
    let city = h.api_token("city").await;
    let (_, whole) = status(&h, &city, "230600", DAY).await;
    let unit = whole["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "230602")
        .unwrap()
        .clone();
    assert_eq!(unit["counts"]["submitted"], 2);
    assert_eq!(unit["counts"]["zero"], 1);
    // A plan metric over the same returns agrees.
    let submitted = h
        .app
        .obligation_metric(
            &Actor::operator("test"),
            &edu_app::obligations::ObligationMetricRequest {
                obligation: HEALTH.into(),
                agg: edu_app::obligations::ObligationAgg::Submitted,
                org: "230602".into(),
                institutions: Default::default(),
                from: DAY.parse().unwrap(),
                to: DAY.parse().unwrap(),
                as_of: at("2021-10-12T01:30:00Z"),
            },
        )
        .await
        .unwrap();
    assert_eq!(submitted, 2.0);
}

#[tokio::test]
async fn the_same_submission_twice_with_one_key_counts_once() {
    let h = harness().await;
    let code = schools(&h, "230602").await[0].clone();
    h.clock.set(at("2021-10-12T00:10:00Z"));
    let token = h.api_token(&format!("s{code}")).await;
    let body = json!({"institution": code, "period": DAY, "values": quiet_day(json!({}))});
    let before = audit_actions(&h, "obligation.submit").await;
    let first = submit(&h, &token, Some("client-42:1"), &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = submit(&h, &token, Some("client-42:1"), &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let (a, b): (Value, Value) = (
        serde_json::from_str(&first.body).unwrap(),
        serde_json::from_str(&again.body).unwrap(),
    );
    assert_eq!(a["return_id"], b["return_id"]);
    assert_eq!(b["replayed"], true);
    assert_eq!(audit_actions(&h, "obligation.submit").await, before + 1);
    let (_, s) = status(&h, &token, &code, DAY).await;
    assert_eq!(s["submitted"], 1, "{s}");
    // The same key with another body is refused; another key for the same day is a conflict.
    let other = json!({"institution": code, "period": DAY, "zero": true});
    let reused = submit(&h, &token, Some("client-42:1"), &other).await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reused.body
    );
    assert!(fields(&reused).contains(&"Idempotency-Key".to_owned()));
    let second = submit(&h, &token, Some("client-42:2"), &other).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    let (_, s) = status(&h, &token, &code, DAY).await;
    assert_eq!(s["submitted"], 1);
    assert_eq!(s["zero"], 0);
}

#[tokio::test]
async fn malformed_submissions_are_refused_with_the_field_named_and_nothing_stored() {
    let h = harness().await;
    let code = schools(&h, "230602").await[0].clone();
    h.clock.set(at("2021-10-12T00:10:00Z"));
    let token = h.api_token(&format!("s{code}")).await;
    let audit_before = h.app.verify_audit().await.unwrap().rows_checked;
    let cases: [(Value, &str); 5] = [
        (
            json!({"period": DAY, "values": quiet_day(json!({"absent_staff": -1, "absent_staff_ill": -1}))}),
            "absent_staff",
        ),
        (
            json!({"period": DAY, "values": quiet_day(json!({"bogus": 3}))}),
            "bogus",
        ),
        (
            json!({"period": "2021-10-20", "values": quiet_day(json!({}))}),
            "period",
        ),
        (
            json!({"period": "2021-10-08", "values": quiet_day(json!({}))}),
            "period",
        ),
        (
            json!({"period": DAY, "values": quiet_day(json!({"absent_pupils": 5}))}),
            "absent_pupils",
        ),
    ];
    for (body, field) in cases {
        let reply = submit(&h, &token, Some("k-malformed"), &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(
            fields(&reply).iter().any(|f| f == field),
            "{body}: {:?}",
            fields(&reply)
        );
    }
    let unknown_top = submit(
        &h,
        &token,
        None,
        &json!({"period": DAY, "zero": true, "extra": 1}),
    )
    .await;
    assert_eq!(unknown_top.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fields(&unknown_top).contains(&"extra".to_owned()));
    let (_, s) = status(&h, &token, &code, DAY).await;
    assert_eq!(s["submitted"], 0, "nothing stored: {s}");
    assert_eq!(
        h.app.verify_audit().await.unwrap().rows_checked,
        audit_before
    );
    // The key of a refused request is still free.
    let ok = submit(
        &h,
        &token,
        Some("k-malformed"),
        &json!({"period": DAY, "zero": true}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

#[tokio::test]
async fn schools_and_districts_stay_in_their_scope() {
    let h = harness().await;
    let mine = schools(&h, "230602").await;
    let theirs = schools(&h, "230603").await;
    h.clock.set(at("2021-10-12T00:10:00Z"));
    let token = h.api_token(&format!("s{}", mine[0])).await;
    let for_other = submit(
        &h,
        &token,
        None,
        &json!({"institution": mine[1], "period": DAY, "zero": true}),
    )
    .await;
    assert_eq!(
        for_other.status,
        StatusCode::NOT_FOUND,
        "{}",
        for_other.body
    );
    let (read_other, _) = status(&h, &token, &mine[1], DAY).await;
    assert_eq!(read_other, StatusCode::NOT_FOUND);
    let (read_district, _) = status(&h, &token, "230602", DAY).await;
    assert_eq!(read_district, StatusCode::NOT_FOUND);
    let district = h.api_token("d230602").await;
    let (other_district, _) = status(&h, &district, "230603", DAY).await;
    assert_eq!(other_district, StatusCode::NOT_FOUND);
    let (other_school, _) = status(&h, &district, &theirs[0], DAY).await;
    assert_eq!(other_school, StatusCode::NOT_FOUND);
    let (_, own) = status(&h, &district, "230602", DAY).await;
    for m in own["missing_institutions"].as_array().unwrap() {
        assert_eq!(m["district"], "230602");
    }
    // A return of one school is invisible to another school and to another district.
    let filed = submit(&h, &token, None, &json!({"period": DAY, "zero": true})).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let id = serde_json::from_str::<Value>(&filed.body).unwrap()["return_id"]
        .as_i64()
        .unwrap();
    let (other_school, _) = h.web_login(&format!("s{}", mine[1])).await;
    assert_eq!(
        h.get(&format!("/reports/return/{id}"), Some(&other_school))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (other_district, _) = h.web_login("d230603").await;
    assert_eq!(
        h.get(&format!("/reports/return/{id}"), Some(&other_district))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (own_school, _) = h.web_login(&format!("s{}", mine[0])).await;
    assert_eq!(
        h.get(&format!("/reports/return/{id}"), Some(&own_school))
            .await
            .status,
        StatusCode::OK
    );
    // A district user cannot file returns at all.
    let refused = submit(&h, &district, None, &json!({"period": DAY, "zero": true})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nothing of the other school was stored.
    let (_, s) = status(&h, &district, &mine[1], DAY).await;
    assert_eq!(s["submitted"], 0);
}

/// Posts a signed-in form; returns the reply.
async fn post_page(h: &Harness, path: &str, cookie: &str, csrf: &str, body: &str) -> Reply {
    let sep = if path.contains('?') { '&' } else { '?' };
    h.post_form(&format!("{path}{sep}_csrf={csrf}"), body, Some(cookie))
        .await
}

#[tokio::test]
async fn corrections_keep_history_and_approval_locks_the_return() {
    let h = harness().await;
    let code = schools(&h, "230602").await[0].clone();
    h.clock.set(at("2021-10-12T00:10:00Z"));
    let (school, school_csrf) = h.web_login(&format!("s{code}")).await;
    // The school's page offers the one-tap zero report.
    let today = h.get("/reports", Some(&school)).await;
    assert_eq!(today.status, StatusCode::OK);
    assert!(today.body.contains("今日无异常，零报告"), "{}", today.body);
    let filed = post_page(&h, &format!("/reports/form/{HEALTH}/{DAY}"), &school, &school_csrf,
        "f_absent_pupils=1&f_absent_pupils_ill=1&f_absent_pupils_personal=0&f_absent_pupils_other=0&f_absent_staff=0&f_absent_staff_ill=0&f_absent_staff_personal=0&f_absent_staff_other=0&f_symptomatic_pupils=0&f_symptomatic_staff=0").await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let token = h.api_token(&format!("s{code}")).await;
    let history = h.get("/reports/history", Some(&school)).await;
    let id: i64 = history
        .body
        .split("/reports/return/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("the history links the new return");
    let corrected = post_page(&h, &format!("/reports/return/{id}/correct"), &school, &school_csrf,
        "f_absent_pupils=2&f_absent_pupils_ill=1&f_absent_pupils_personal=1&f_absent_pupils_other=0&f_absent_staff=0&f_absent_staff_ill=0&f_absent_staff_personal=0&f_absent_staff_other=0&f_symptomatic_pupils=0&f_symptomatic_staff=0&reason=%E8%A1%A5%E6%8A%A5").await;
    assert_eq!(
        corrected.status,
        StatusCode::SEE_OTHER,
        "{}",
        corrected.body
    );
    let page = h.get(&format!("/reports/return/{id}"), Some(&school)).await;
    assert!(
        page.body.contains("版本 2") || page.body.contains("Version 2"),
        "{}",
        page.body
    );
    assert!(page.body.contains("版本 1") || page.body.contains("Version 1"));
    assert!(page.body.contains("补报"));
    // A correction without a reason is refused and changes nothing.
    let no_reason = post_page(
        &h,
        &format!("/reports/return/{id}/correct"),
        &school,
        &school_csrf,
        "f_absent_pupils=0",
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The school cannot approve its own return; the district can, and then it is locked.
    let own = post_page(
        &h,
        &format!("/reports/return/{id}/review"),
        &school,
        &school_csrf,
        "action=approve",
    )
    .await;
    assert_ne!(own.status, StatusCode::SEE_OTHER);
    let (district, district_csrf) = h.web_login("d230602").await;
    let approved = post_page(
        &h,
        &format!("/reports/return/{id}/review"),
        &district,
        &district_csrf,
        "action=approve",
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let locked = post_page(&h, &format!("/reports/return/{id}/correct"), &school, &school_csrf,
        "f_absent_pupils=3&f_absent_pupils_ill=3&f_absent_pupils_personal=0&f_absent_pupils_other=0&f_absent_staff=0&f_absent_staff_ill=0&f_absent_staff_personal=0&f_absent_staff_other=0&f_symptomatic_pupils=0&f_symptomatic_staff=0&reason=again").await;
    assert_eq!(
        locked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        locked.body
    );
    assert!(locked.body.contains("锁定") || locked.body.contains("locked"));
    let (_, s) = status(&h, &token, &code, DAY).await;
    assert_eq!(s["submitted"], 1);
    assert_eq!(audit_actions(&h, "obligation.approve").await, 1);
    assert!(audit_actions(&h, "obligation.correct").await >= 1);
}

#[tokio::test]
async fn health_case_identities_are_masked_outside_the_school() {
    let h = harness().await;
    let code = schools(&h, "230602").await[0].clone();
    h.clock.set(at("2021-10-12T00:10:00Z"));
    let token = h.api_token(&format!("s{code}")).await;
    let person = "G230602201405011234";
    let body = json!({"period": DAY, "values": quiet_day(json!({
        "symptomatic_pupils": 1,
        "cases": [{"person_kind": "pupil", "person": person, "class_name": "三年二班", "symptoms": ["fever", "cough"],
                   "onset_date": "2021-10-11", "measures": ["seen_doctor"], "follow_up": "observing", "note": "体温38.5"}]
    }))});
    let reply = submit(&h, &token, None, &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = serde_json::from_str::<Value>(&reply.body).unwrap()["return_id"]
        .as_i64()
        .unwrap();
    let views_before = audit_actions(&h, "health_report.view").await;
    let (school, _) = h.web_login(&format!("s{code}")).await;
    let inside = h.get(&format!("/reports/return/{id}"), Some(&school)).await;
    assert_eq!(inside.status, StatusCode::OK);
    assert!(inside.body.contains(person));
    assert!(inside.body.contains("体温38.5"));
    let (district, _) = h.web_login("d230602").await;
    let outside = h
        .get(&format!("/reports/return/{id}"), Some(&district))
        .await;
    assert_eq!(outside.status, StatusCode::OK);
    assert!(
        !outside.body.contains(person),
        "identity leaked to the district"
    );
    assert!(!outside.body.contains("201405011234"));
    assert!(!outside.body.contains("体温38.5"));
    assert!(outside.body.contains("三年二班"));
    let cases = h.get("/reports/cases", Some(&district)).await;
    assert!(!cases.body.contains(person));
    assert!(
        cases
            .body
            .contains(&edu_app::obligations::mask_person(person))
    );
    let own_cases = h.get("/reports/cases", Some(&school)).await;
    assert!(own_cases.body.contains(person));
    assert_eq!(
        audit_actions(&h, "health_report.view").await,
        views_before + 2
    );
    // Identities are not stored in clear.
    let zero_codes = h.app.verify_audit().await.unwrap();
    assert!(zero_codes.broken.is_none());
}

#[tokio::test]
async fn repeated_misses_escalate_and_the_follow_up_page_lists_them() {
    let h = harness().await;
    let district = schools(&h, "230602").await;
    let (a, b) = (&district[0], &district[1]);
    h.clock.set(at("2021-10-12T00:10:00Z"));
    let token = h.api_token(&format!("s{a}")).await;
    let zero = submit(&h, &token, None, &json!({"period": DAY, "zero": true})).await;
    assert_eq!(zero.status, StatusCode::CREATED);
    // Thursday 10:00: b has missed Tuesday, Wednesday and Thursday; a has missed Wednesday and Thursday.
    h.clock.set(at("2021-10-14T02:00:00Z"));
    let d = h.api_token("d230602").await;
    let (_, s) = status(&h, &d, "230602", "2021-10-14").await;
    let level = |code: &str| {
        s["escalations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["institution"] == code)
            .map(|e| {
                (
                    e["level"].as_str().unwrap().to_owned(),
                    e["consecutive_missed"].as_u64().unwrap(),
                )
            })
    };
    let (level_b, run_b) = level(b).expect("b escalated");
    assert_eq!(level_b, "city", "{s}");
    assert!(run_b >= 3, "{s}");
    assert_eq!(level(a), Some(("district".into(), 2)));
    let (cookie, _) = h.web_login("d230602").await;
    let page = h
        .get("/reports/follow-up?date=2021-10-14", Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(b.as_str()));
    let export = h
        .get(
            "/reports/export/status.xlsx?org=230602&date=2021-10-14",
            Some(&cookie),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
}

#[tokio::test]
async fn the_demo_history_shows_in_the_pages() {
    let h = harness().await;
    let (city, _) = h.web_login("city").await;
    for path in [
        "/reports/follow-up",
        "/reports/alerts",
        "/reports/cases",
        "/reports/copies",
        "/reports/checks",
        "/reports/follow-up?obligation=ice-snow&date=2021-09-15",
    ] {
        let reply = h.get(path, Some(&city)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let d = h.api_token("city").await;
    // The demo's Monday: most schools reported, some zero reports among them.
    let (_, s) = status(&h, &d, "230600", "2021-10-08").await;
    assert!(
        s["submitted"].as_u64().unwrap() * 10 >= s["expected"].as_u64().unwrap() * 8,
        "{s}"
    );
    assert!(s["zero"].as_u64().unwrap() > 0, "{s}");
    let code = schools(&h, "230602").await[0].clone();
    let (school, _) = h.web_login(&format!("s{code}")).await;
    let calendar = h
        .get("/reports/calendar?month=2021-09", Some(&school))
        .await;
    assert_eq!(calendar.status, StatusCode::OK);
    assert!(calendar.body.contains("/reports/return/"));
}
