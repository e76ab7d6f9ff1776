//! 选课走班 through the router: choice entry and its validation, scope, solving from stored choices, views,
//! exports and the audit trail. The demo city of the harness has course-choice windows with every grade-10
//! pupil's choice entered (see `edu_app::demo`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use edu_app::timetables::engine;
use edu_app::{Actor, AuditContext, NewUser, SessionKind, page};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::*;

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

/// The demo's windows, as the city sees them: (window id, school code, open now).
async fn demo_windows(h: &Harness) -> Vec<(i64, String, bool)> {
    let token = h.api_token("city").await;
    let reply = h.api_get("/api/v1/timetable/windows", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    json_of(&reply)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_i64().unwrap(),
                w["institution_code"].as_str().unwrap().to_owned(),
                w["open_now"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn api_post(h: &Harness, path: &str, token: &str, body: Value) -> Reply {
    h.send(
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// A POST whose answer is binary (an .xlsx): status, content type and the raw bytes.
async fn post_bytes(
    h: &Harness,
    path: &str,
    body: &str,
    cookie: &str,
) -> (StatusCode, String, Vec<u8>) {
    let response = h
        .router
        .clone()
        .oneshot(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, bytes.to_vec())
}

/// Opens a fresh window at the school (as its admin) around the harness's date, 2021-10-11.
async fn open_window(h: &Harness, school: &str) -> i64 {
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    let reply = h
        .post_form(
            &format!("/timetable/windows?_csrf={csrf}"),
            "title=test&grade=10&opens_on=2021-10-01&closes_on=2021-10-20",
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let location = reply.headers[header::LOCATION].to_str().unwrap();
    location.rsplit('/').next().unwrap().parse().unwrap()
}

/// (class id, [pupil ids]) of the window's first class.
async fn first_class(h: &Harness, window: i64, token: &str) -> (i64, String, Vec<i64>) {
    let reply = h
        .api_get(&format!("/api/v1/timetable/windows/{window}"), token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let class = json_of(&reply)["classes"][0].clone();
    let name = class["class"].as_str().unwrap().to_owned();
    let choices = h
        .api_get(
            &format!("/api/v1/timetable/windows/{window}/choices"),
            token,
        )
        .await;
    let pupils = json_of(&choices)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["admin_class"].as_str() == Some(name.as_str()))
        .map(|i| i["pupil_id"].as_i64().unwrap())
        .collect();
    (class["class_id"].as_i64().unwrap(), name, pupils)
}

async fn stored_choice(h: &Harness, window: i64, token: &str, pupil: i64) -> Value {
    let reply = h
        .api_get(
            &format!("/api/v1/timetable/windows/{window}/choices"),
            token,
        )
        .await;
    json_of(&reply)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["pupil_id"].as_i64() == Some(pupil))
        .unwrap()["selective"]
        .clone()
}

async fn solve_raw(h: &Harness, window: i64, token: &str, body: Value) -> Value {
    let reply = api_post(
        h,
        &format!("/api/v1/timetable/windows/{window}/solve"),
        token,
        body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    json_of(&reply)
}

/// The school's signed-in administrator: API token, and cookie + CSRF token of a web session.
struct SchoolAdmin {
    token: String,
    cookie: String,
    csrf: String,
}

async fn school_admin(h: &Harness, school: &str) -> SchoolAdmin {
    let token = h.api_token(&format!("s{school}")).await;
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    SchoolAdmin {
        token,
        cookie,
        csrf,
    }
}

/// The test city's senior high has too few teachers for some subjects (as the registry says). Solves through
/// the API as the school's administrator; when the solver proves teachers short, adds vacancies for exactly
/// those subjects through the settings form, as a school would, and solves again. Returns the valid run.
async fn staff_and_solve(h: &Harness, window: i64, admin: &SchoolAdmin) -> Value {
    for _ in 0..4 {
        let run = solve_raw(h, window, &admin.token, json!({"budget_seconds": 120})).await;
        if run["status"] == "valid" {
            return run;
        }
        assert_eq!(run["status"], "infeasible", "{run}");
        let detail = json_of(
            &h.api_get(
                &format!("/api/v1/timetable/runs/{}", run["id"]),
                &admin.token,
            )
            .await,
        );
        let mut form = Vec::new();
        for shortage in detail["explanation"]["shortages"].as_array().unwrap() {
            let subject = shortage["resource"]
                .as_str()
                .unwrap()
                .strip_prefix("teachers:")
                .unwrap();
            let missing =
                shortage["needed"].as_u64().unwrap() - shortage["available"].as_u64().unwrap();
            form.push(format!("vac.{subject}={}", missing.div_ceil(8).max(1) + 1));
        }
        let reply = h
            .post_form(
                &format!("/timetable/windows/{window}/settings?_csrf={}", admin.csrf),
                &form.join("&"),
                Some(&admin.cookie),
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    }
    panic!("no valid timetable after adding vacancies");
}

async fn audit_actions(h: &Harness, action: &str) -> Vec<(String, String)> {
    let rows = h
        .app
        .audit_search(
            &Actor::operator("test"),
            None,
            Some(action.to_owned()),
            page(1, 200),
            &AuditContext::cli("test"),
        )
        .await
        .unwrap();
    rows.items
        .iter()
        .map(|r| (r.entry.actor.clone(), r.entry.object_id.clone()))
        .collect()
}

#[tokio::test]
async fn head_teachers_enter_choices_wrong_combinations_are_refused_with_the_field_named() {
    let h = harness().await;
    let (_, school, _) = demo_windows(&h).await.into_iter().next().unwrap();
    let window = open_window(&h, &school).await;
    let admin_token = h.api_token(&format!("s{school}")).await;
    let (class, _, pupils) = first_class(&h, window, &admin_token).await;
    assert!(pupils.len() >= 2);
    let (p1, p2) = (pupils[0], pupils[1]);

    // A teacher account of the school (a head teacher), past its first-login password change.
    let context = AuditContext::cli("test");
    h.app
        .create_user(
            &Actor::operator("test"),
            &NewUser {
                username: "headteacher".into(),
                display_name: "班主任".into(),
                role: "teacher".into(),
                scope_code: school.clone(),
                password: Some("Initial#2021q".into()),
            },
            &context,
        )
        .await
        .unwrap();
    let first = h
        .app
        .login("headteacher", "Initial#2021q", SessionKind::Web, &context)
        .await
        .unwrap();
    h.app
        .change_password(&first.actor, "Initial#2021q", PASSWORD, &context)
        .await
        .unwrap();
    let (cookie, csrf) = h.web_login("headteacher").await;
    let form = h
        .get(
            &format!("/timetable/windows/{window}/entry?class={class}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains(&format!("name=\"track.{p1}\"")));

    // Physics plus chemistry and history: history is not a re-chosen subject.
    let entry = format!("/timetable/windows/{window}/entry?class={class}&_csrf={csrf}");
    let wrong = format!(
        "row.{p1}=&track.{p1}=phy&sel.{p1}=chem&sel.{p1}=his&row.{p2}=&track.{p2}=his&sel.{p2}=pol&sel.{p2}=geo"
    );
    let reply = h.post_form(&entry, &wrong, Some(&cookie)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    let row = reply.body.split(&format!("id=\"p{p1}\"")).nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(
        row.contains("再选科目须在化学、生物、思想政治、地理中选两门"),
        "{row}"
    );
    // Nothing of the class was stored, not even the valid line.
    assert_eq!(
        stored_choice(&h, window, &admin_token, p1).await,
        Value::Null
    );
    assert_eq!(
        stored_choice(&h, window, &admin_token, p2).await,
        Value::Null
    );
    // Three re-chosen subjects and no first subject are refused too.
    let reply = h
        .post_form(
            &entry,
            &format!("row.{p1}=&sel.{p1}=chem&sel.{p1}=bio"),
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("首选科目须在物理、历史中选一门"));

    // Through the API the field is named by its JSON path.
    let teacher_token = h.api_token("headteacher").await;
    let reply = api_post(
        &h,
        &format!("/api/v1/timetable/windows/{window}/choices"),
        &teacher_token,
        json!({"choices": [
            {"pupil_id": p2, "selective": ["his", "pol", "geo"]},
            {"pupil_id": p1, "selective": ["phy", "his", "chem"]}
        ]}),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    let body = json_of(&reply);
    assert_eq!(body["fields"][0]["field"], "choices[1].selective");
    assert_eq!(body["fields"].as_array().unwrap().len(), 1);
    assert_eq!(
        stored_choice(&h, window, &admin_token, p2).await,
        Value::Null
    );

    // A correct class form is stored and every changed pupil is audited under the teacher's name.
    let right = format!(
        "row.{p1}=&track.{p1}=phy&sel.{p1}=chem&sel.{p1}=bio&row.{p2}=&track.{p2}=his&sel.{p2}=pol&sel.{p2}=geo"
    );
    let reply = h.post_form(&entry, &right, Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(
        stored_choice(&h, window, &admin_token, p1).await,
        json!(["phy", "bio", "chem"])
    );
    assert_eq!(
        stored_choice(&h, window, &admin_token, p2).await,
        json!(["his", "geo", "pol"])
    );
    let audited = audit_actions(&h, "timetable.choice.set").await;
    for pupil in [p1, p2] {
        assert!(
            audited.contains(&("headteacher".to_owned(), pupil.to_string())),
            "{pupil} not audited: {audited:?}"
        );
    }
    // Saving the same form again changes nothing and writes no audit row.
    let before = audited.len();
    let reply = h.post_form(&entry, &right, Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        audit_actions(&h, "timetable.choice.set").await.len(),
        before
    );
    // The dashboard counts them.
    let dash = h
        .api_get(&format!("/api/v1/timetable/windows/{window}"), &admin_token)
        .await;
    let dash = json_of(&dash);
    assert_eq!(dash["entered"], 2);
    let count = |short: &str| {
        dash["combinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["combination"] == short)
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (count("物化生"), count("史政地"), count("物生地")),
        (1, 1, 0)
    );

    // A teacher may not run the solver.
    let reply = h
        .post_form(
            &format!("/timetable/windows/{window}/solve?_csrf={csrf}"),
            "",
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // After the window closes the teacher can no longer change choices; the school administrator can.
    h.clock
        .set("2021-10-21T02:00:00Z".parse::<jiff::Timestamp>().unwrap());
    let (cookie, csrf) = h.web_login("headteacher").await;
    let admin_token = h.api_token(&format!("s{school}")).await;
    let clear = format!("row.{p1}=&track.{p1}=&row.{p2}=&track.{p2}=his&sel.{p2}=pol&sel.{p2}=geo");
    let reply = h
        .post_form(
            &format!("/timetable/windows/{window}/entry?class={class}&_csrf={csrf}"),
            &clear,
            Some(&cookie),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(
        stored_choice(&h, window, &admin_token, p1).await,
        json!(["phy", "bio", "chem"])
    );
    let (admin_cookie, admin_csrf) = h.web_login(&format!("s{school}")).await;
    let reply = h
        .post_form(
            &format!("/timetable/windows/{window}/entry?class={class}&_csrf={admin_csrf}"),
            &clear,
            Some(&admin_cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(
        stored_choice(&h, window, &admin_token, p1).await,
        Value::Null
    );
    assert!(
        audit_actions(&h, "timetable.choice.clear")
            .await
            .contains(&(format!("s{school}"), p1.to_string()))
    );
}

#[tokio::test]
async fn another_schools_choices_and_timetables_are_unreachable() {
    let h = harness().await;
    let (window, school, _) = demo_windows(&h).await.into_iter().next().unwrap();
    let school_admin = school_admin(&h, &school).await;
    let admin = school_admin.token.clone();
    let run = staff_and_solve(&h, window, &school_admin).await["id"]
        .as_i64()
        .unwrap();
    let (_, class_name, pupils) = first_class(&h, window, &admin).await;

    // Another school's administrator (it holds the same permissions in its own school).
    let other = h
        .institutions_of("230602")
        .await
        .into_iter()
        .map(|(code, _)| code)
        .find(|code| *code != school)
        .unwrap();
    let token = h.api_token(&format!("s{other}")).await;
    for path in [
        format!("/api/v1/timetable/windows/{window}"),
        format!("/api/v1/timetable/windows/{window}/choices"),
        format!("/api/v1/timetable/windows/{window}/instance"),
        format!("/api/v1/timetable/windows/{window}/solution"),
        format!("/api/v1/timetable/runs/{run}"),
        format!("/api/v1/timetable/runs/{run}/solution"),
        format!(
            "/api/v1/timetable/runs/{run}/grid?kind=student&of=P{}",
            pupils[0]
        ),
    ] {
        let reply = h.api_get(&path, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    let reply = api_post(
        &h,
        &format!("/api/v1/timetable/windows/{window}/choices"),
        &token,
        json!({"choices": [{"pupil_id": pupils[0], "selective": null}]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = api_post(
        &h,
        &format!("/api/v1/timetable/windows/{window}/solve"),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let listed = json_of(&h.api_get("/api/v1/timetable/windows", &token).await);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["id"] != window)
    );
    let (cookie, _) = h.web_login(&format!("s{other}")).await;
    for path in [
        format!("/timetable/windows/{window}"),
        format!("/timetable/runs/{run}"),
        format!(
            "/timetable/runs/{run}/grid?kind=class&of={}",
            urlencode(&class_name)
        ),
    ] {
        assert_eq!(
            h.get(&path, Some(&cookie)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Nothing was changed by the attempts.
    assert!(
        stored_choice(&h, window, &admin, pupils[0])
            .await
            .is_array()
    );

    // The school sees its pupils' names; the city sees the timetable but names masked.
    let grid = format!(
        "/timetable/runs/{run}/grid?kind=class&of={}",
        urlencode(&class_name)
    );
    let own = h.get(&grid, Some(&school_admin.cookie)).await;
    assert_eq!(own.status, StatusCode::OK);
    let (city_cookie, _) = h.web_login("city").await;
    let city = h.get(&grid, Some(&city_cookie)).await;
    assert_eq!(city.status, StatusCode::OK);
    let link = format!("of=P{}\">", pupils[0]);
    let name = |body: &str| {
        body.split(&link)
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    let (full, masked) = (name(&own.body), name(&city.body));
    assert!(!full.contains('*') && full.chars().count() >= 2, "{full}");
    assert!(masked.contains('*') && masked != full, "{masked}");
    assert!(!city.body.contains(&full));
}

#[tokio::test]
async fn solving_the_stored_choices_gives_a_valid_timetable_with_exact_views_pages_and_exports() {
    let h = harness().await;
    let (window, school, _) = demo_windows(&h).await.into_iter().next().unwrap();
    let admin = school_admin(&h, &school).await;
    let token = admin.token.clone();
    // The test city's demo leaves the window unsolved; no run exists before this one.
    let before = json_of(
        &h.api_get(&format!("/api/v1/timetable/windows/{window}"), &token)
            .await,
    );
    assert_eq!(before["current_run"], Value::Null);
    // Its registry has too few teachers for some subjects: the solver says which, and nothing is valid.
    let short = solve_raw(&h, window, &token, json!({})).await;
    assert_eq!(short["status"], "infeasible", "{short}");
    let detail = json_of(
        &h.api_get(&format!("/api/v1/timetable/runs/{}", short["id"]), &token)
            .await,
    );
    let shortages = detail["explanation"]["shortages"].as_array().unwrap();
    assert!(!shortages.is_empty());
    assert!(
        shortages
            .iter()
            .all(|s| s["resource"].as_str().unwrap().starts_with("teachers:")
                && s["needed"].as_u64() > s["available"].as_u64())
    );
    let page = h
        .get(
            &format!("/timetable/runs/{}", short["id"]),
            Some(&admin.cookie),
        )
        .await;
    assert!(
        page.body.contains("id=\"explanation\"") && page.body.contains("任课教师不足"),
        "{}",
        page.body
    );
    let none = h
        .api_get(
            &format!("/api/v1/timetable/windows/{window}/solution"),
            &token,
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    // With vacancies for those subjects the timetable exists.
    let run = staff_and_solve(&h, window, &admin).await["id"]
        .as_i64()
        .unwrap();

    // The stored documents read back in the spec's formats and pass the independent checker.
    let instance = h
        .api_get(&format!("/api/v1/timetable/runs/{run}/instance"), &token)
        .await;
    let instance = engine::Instance::from_json(&instance.body).unwrap();
    let solution = h
        .api_get(&format!("/api/v1/timetable/runs/{run}/solution"), &token)
        .await;
    let solution = engine::Solution::from_json(&solution.body).unwrap();
    let report = engine::check(&instance, &solution);
    assert!(
        report.valid && report.violations.is_empty(),
        "{:?}",
        report.violations
    );
    // Every pupil of the grade (the demo entered them all) is in the instance with their stored choice.
    let choices = json_of(
        &h.api_get(
            &format!("/api/v1/timetable/windows/{window}/choices"),
            &token,
        )
        .await,
    );
    let items = choices["items"].as_array().unwrap();
    assert_eq!(instance.students.len(), items.len());
    for item in items {
        let student = instance
            .students
            .iter()
            .find(|s| s.id == item["student"].as_str().unwrap())
            .unwrap();
        let mut stored: Vec<String> = serde_json::from_value(item["selective"].clone()).unwrap();
        let mut used = student.selective.clone();
        stored.sort();
        used.sort();
        assert_eq!(stored, used);
    }
    let current = h
        .api_get(
            &format!("/api/v1/timetable/windows/{window}/solution"),
            &token,
        )
        .await;
    assert_eq!(
        engine::Solution::from_json(&current.body).unwrap(),
        solution
    );

    // A student's week holds exactly their teaching classes and their class's compulsory lessons.
    let student = &instance.students[instance.students.len() / 2];
    let mut expected: BTreeSet<(u64, u64, String)> = BTreeSet::new();
    for class in solution
        .teaching_classes
        .iter()
        .filter(|c| c.students.contains(&student.id))
    {
        for slot in &class.slots {
            expected.insert((slot.day.into(), slot.period.into(), class.id.clone()));
        }
    }
    for lesson in solution
        .admin_lessons
        .iter()
        .filter(|l| l.admin_class == student.admin_class)
    {
        for slot in &lesson.slots {
            expected.insert((
                slot.day.into(),
                slot.period.into(),
                lesson.admin_class.clone(),
            ));
        }
    }
    let grid = json_of(
        &h.api_get(
            &format!(
                "/api/v1/timetable/runs/{run}/grid?kind=student&of={}",
                student.id
            ),
            &token,
        )
        .await,
    );
    let mut shown: BTreeSet<(u64, u64, String)> = BTreeSet::new();
    for (period, days) in grid["cells"].as_array().unwrap().iter().enumerate() {
        for (day, lessons) in days.as_array().unwrap().iter().enumerate() {
            for lesson in lessons.as_array().unwrap() {
                shown.insert((
                    day as u64,
                    period as u64,
                    lesson["class"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    assert_eq!(shown, expected);
    assert_eq!(grid["lessons"].as_u64().unwrap() as usize, expected.len());
    let (cookie, csrf) = (admin.cookie.clone(), admin.csrf.clone());
    let page = h
        .get(
            &format!("/timetable/runs/{run}/grid?kind=student&of={}", student.id),
            Some(&cookie),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for class in solution.teaching_classes.iter() {
        let mine = class.students.contains(&student.id);
        let needle = format!(">{} ", class.id);
        assert_eq!(page.body.contains(&needle), mine, "{}", class.id);
    }

    // The class timetables export to .xlsx (one sheet per class) and read back.
    let (status, kind, bytes) = post_bytes(
        &h,
        &format!("/timetable/runs/{run}/export?_csrf={csrf}"),
        "kind=class",
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let table = edu_app::exchange::read_table(&bytes, "timetable.xlsx").unwrap();
    assert_eq!(table.headers[0], "节次");
    assert_eq!(table.headers.len(), instance.days as usize + 1);
    assert_eq!(table.rows.len(), instance.periods_per_day as usize);
    let text: String = table
        .rows
        .iter()
        .flat_map(|(_, r)| r.iter().cloned())
        .collect();
    let first = &instance.admin_classes[0].id;
    let compulsory: usize = solution
        .admin_lessons
        .iter()
        .filter(|l| l.admin_class == *first)
        .map(|l| l.slots.len())
        .sum();
    assert_eq!(
        text.matches("语文").count()
            + text.matches("数学").count()
            + text.matches("外语").count()
            + text.matches("体育与健康").count()
            + text.matches("信息技术").count()
            + text.matches("通用技术").count()
            + text.matches("艺术").count(),
        compulsory
    );
    // The students' sheet of the first class lists its students by name (the school's own export).
    let (status, _, bytes) = post_bytes(
        &h,
        &format!("/timetable/runs/{run}/export?_csrf={csrf}"),
        "kind=student",
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let table = edu_app::exchange::read_table(&bytes, "students.xlsx").unwrap();
    assert_eq!(table.headers[..3], ["学生ID", "姓名", "选科组合"]);
    let in_first = instance
        .students
        .iter()
        .filter(|s| s.admin_class == *first)
        .count();
    assert_eq!(table.rows.len(), in_first);
    assert!(
        table
            .rows
            .iter()
            .all(|(_, r)| !r[1].is_empty() && !r[1].contains('*'))
    );
    let exports = audit_actions(&h, "export.timetable").await;
    assert_eq!(
        exports
            .iter()
            .filter(|(who, id)| *who == format!("s{school}") && *id == run.to_string())
            .count(),
        2
    );

    // Re-solving from this timetable keeps it (nothing changed) and says how much was kept.
    let reply = api_post(
        &h,
        &format!("/api/v1/timetable/windows/{window}/solve"),
        &token,
        json!({"keep_previous": true}),
    )
    .await;
    let again = json_of(&reply);
    assert_eq!(again["status"], "valid", "{again}");
    assert_eq!(again["hint_run_id"].as_i64(), Some(run));
    let detail = json_of(
        &h.api_get(
            &format!("/api/v1/timetable/runs/{}", again["id"].as_i64().unwrap()),
            &token,
        )
        .await,
    );
    let kept = detail["stats"]["stability"]["enrolments_kept"]
        .as_f64()
        .unwrap();
    assert!((0.5..=1.0).contains(&kept), "{kept}");
    let finished = audit_actions(&h, "timetable.solve.finish").await;
    assert!(
        finished
            .iter()
            .filter(|(who, _)| *who == format!("s{school}"))
            .count()
            >= 2
    );

    // The pages of the section render for the school and the city, without inline styles (CSP).
    let home = h.get("/", Some(&cookie)).await;
    assert!(
        home.body.contains("/timetable"),
        "the home page links the section"
    );
    let dash = h
        .get(&format!("/timetable/windows/{window}"), Some(&cookie))
        .await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("<svg") && dash.body.contains("物化生"));
    assert!(!dash.body.contains("style="), "no inline styles (CSP)");
    for path in [
        "/timetable".to_owned(),
        format!("/timetable/windows/{window}/settings"),
        format!("/timetable/windows/{window}/import"),
        format!("/timetable/runs/{run}"),
        format!("/timetable/runs/{run}/print?kind=teacher"),
        format!("/timetable/runs/{run}/print?kind=room"),
    ] {
        let reply = h.get(&path, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        assert!(!reply.body.contains("style="), "{path}");
    }
    let (city, _) = h.web_login("city").await;
    let list = h.get("/timetable", Some(&city)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("/timetable/windows/{window}")));
    // The city can look but not enter choices (no school of its own).
    let settings = h
        .get(
            &format!("/timetable/windows/{window}/settings"),
            Some(&city),
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK);
    let class = dash
        .body
        .split("/entry?class=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let entry = h
        .get(
            &format!("/timetable/windows/{window}/entry?class={class}"),
            Some(&city),
        )
        .await;
    assert_eq!(entry.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn choices_import_from_a_table_all_or_nothing() {
    let h = harness().await;
    let (_, school, _) = demo_windows(&h).await.into_iter().next().unwrap();
    let window = open_window(&h, &school).await;
    let token = h.api_token(&format!("s{school}")).await;
    let (_, _, pupils) = first_class(&h, window, &token).await;
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    let upload = |csv: String| {
        let boundary = "XBOUNDARYX";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
        );
        Request::post(format!("/timetable/windows/{window}/import?_csrf={csrf}"))
            .header(header::COOKIE, &cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    // Line 3 has four subjects: the whole file is refused, and the line is named.
    let bad = format!(
        "学生ID,选科组合\n{},物化生\n{},物化生地\n",
        pupils[0], pupils[1]
    );
    let reply = h.send(upload(bad)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("<td class=\"num\">3</td>"),
        "{}",
        reply.body
    );
    assert_eq!(
        stored_choice(&h, window, &token, pupils[0]).await,
        Value::Null
    );
    let good = format!(
        "学生ID,首选科目,再选科目1,再选科目2\n{},历史,地理,思想政治\n{},物理,生物,地理\n",
        pupils[0], pupils[1]
    );
    let reply = h.send(upload(good)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("import-report"));
    assert_eq!(
        stored_choice(&h, window, &token, pupils[0]).await,
        json!(["his", "geo", "pol"])
    );
    assert_eq!(
        stored_choice(&h, window, &token, pupils[1]).await,
        json!(["phy", "bio", "geo"])
    );
    let audited = audit_actions(&h, "timetable.choice.set").await;
    assert!(audited.contains(&(format!("s{school}"), pupils[1].to_string())));

    // The grade's entry sheet (.xlsx) carries the stored choices and imports back without changing anything.
    let (status, _, sheet) = post_bytes(
        &h,
        &format!("/timetable/windows/{window}/sheet?_csrf={csrf}"),
        "",
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let table = edu_app::exchange::read_table(&sheet, "sheet.xlsx").unwrap();
    let row = table
        .rows
        .iter()
        .find(|(_, r)| r[0] == pupils[0].to_string())
        .unwrap();
    assert_eq!(row.1[3..], ["历史", "地理", "思想政治"]);
    let boundary = "XBOUNDARYX";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sheet.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&sheet);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let reply = h
        .send(
            Request::post(format!("/timetable/windows/{window}/import?_csrf={csrf}"))
                .header(header::COOKIE, &cookie)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("变更 0"), "{}", reply.body);
    assert_eq!(
        stored_choice(&h, window, &token, pupils[1]).await,
        json!(["phy", "bio", "geo"])
    );
    assert_eq!(
        audit_actions(&h, "timetable.choice.set").await.len(),
        audited.len()
    );
    assert!(
        audit_actions(&h, "export.timetable_choices")
            .await
            .contains(&(format!("s{school}"), window.to_string()))
    );
}
