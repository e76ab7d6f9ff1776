//! The plan scorecard through the router: live values, scope, drill-down, commitments, export, API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on purpose when something is wrong

mod common;

use axum::http::StatusCode;
use common::*;

#[tokio::test]
async fn scorecard_drilldown_commitments_and_api() {
    let h = harness().await;
    let (city, csrf) = h.web_login("city").await;
    let card = h.get("/plan", Some(&city)).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.body);
    for id in [
        "kg-gross-enrolment",
        "kg-inclusive-coverage",
        "kg-public-share",
    ] {
        assert!(
            card.body.contains(&format!("data-target=\"{id}\"")),
            "{id} on the scorecard"
        );
    }
    assert!(card.body.contains("class=\"badge "), "statuses are shown");

    // Drill-down: city → districts, district → its kindergartens.
    let target = h
        .get("/plan/targets/kg-inclusive-coverage", Some(&city))
        .await;
    assert_eq!(target.status, StatusCode::OK);
    assert!(
        target.body.contains("萨尔图区") && target.body.contains("<svg"),
        "districts and a chart"
    );
    let district = h
        .get(
            "/plan/targets/kg-inclusive-coverage?org=230602",
            Some(&city),
        )
        .await;
    assert!(
        district.body.contains("幼儿园"),
        "the kindergartens behind the district's number"
    );

    // Scope: a district cannot open another district's scorecard or the city's.
    let (d, _) = h.web_login("d230602").await;
    assert_eq!(
        h.get("/plan?org=230602", Some(&d)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.get("/plan?org=230603", Some(&d)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get("/plan?org=230600", Some(&d)).await.status,
        StatusCode::NOT_FOUND
    );

    // Every commitment of the plan is listed with its kind.
    let commitments = h.get("/plan/commitments", Some(&city)).await;
    let count = commitments.body.matches("data-kind=").count();
    assert_eq!(count, h.app.plan().plan.commitments().len());
    assert!(count > 100);

    // Export: an .xlsx file.
    let export = h
        .post_form(
            &format!("/plan/export?_csrf={csrf}"),
            "org=230600",
            Some(&city),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export
            .headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );

    // API: the list of targets with the agreed fields; scope applies.
    let token = h.api_token("d230602").await;
    let api = h.api_get("/api/v1/plan/targets?org=230602", &token).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let list: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    let first = &list.as_array().unwrap()[0];
    for field in [
        "id",
        "title",
        "value",
        "numerator",
        "denominator",
        "target",
        "threshold",
        "status",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    let gross = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "kg-gross-enrolment")
        .unwrap();
    let (n, d, v) = (
        gross["numerator"].as_f64().unwrap(),
        gross["denominator"].as_f64().unwrap(),
        gross["value"].as_f64().unwrap(),
    );
    assert!(
        n > 0.0 && d > 0.0 && (v - 100.0 * n / d).abs() < 1e-6,
        "value = 100 × numerator / denominator"
    );
    assert_eq!(
        h.api_get("/api/v1/plan/targets?org=230603", &token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// A registry change shows on the next request: no batch in between.
#[tokio::test]
async fn a_registry_change_shows_on_the_next_request() {
    let h = harness().await;
    let token = h.api_token("city").await;
    let before: serde_json::Value =
        serde_json::from_str(&h.api_get("/api/v1/plan/targets", &token).await.body).unwrap();
    let count = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "community-colleges")
            .and_then(|t| t["value"].as_f64())
    };
    let (cookie, csrf) = h.web_login("city").await;
    let csv = "学校标识码,学校名称,区县代码,办学类型,办学性质,城乡\n5230299901,大庆市新设社区教育学院,230602,社区教育学院,公办,城区\n";
    let boundary = "B0UNDARY";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ninstitutions\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"i.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let reply = h
        .send(
            axum::http::Request::post(format!("/import?_csrf={csrf}"))
                .header(axum::http::header::COOKIE, &cookie)
                .header(
                    axum::http::header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let after: serde_json::Value =
        serde_json::from_str(&h.api_get("/api/v1/plan/targets", &token).await.body).unwrap();
    match (count(&before), count(&after)) {
        (Some(b), Some(a)) => assert_eq!(a, b + 1.0),
        other => panic!("community-colleges target missing: {other:?}"),
    }
}

/// A target over a return: the homework targets read the weekly homework returns. A school's new return moves the
/// numerator and denominator by exactly what it filed (the per-grade rows summed into the 3–6 band by the form).
#[tokio::test]
async fn a_filed_return_moves_its_target_by_exactly_what_was_filed() {
    let h = harness().await;
    let school = h
        .institutions_of("230602")
        .await
        .into_iter()
        .find(|(_, kind)| kind == "primary")
        .map(|(code, _)| code)
        .expect("a primary school in 萨尔图区");
    // Friday 15 October 2021, 10:00 China time: the week's return (2021-W41) is open.
    h.clock.set("2021-10-15T02:00:00Z".parse().unwrap());
    let city = h.api_token("city").await;

    let target = |body: &str| -> (f64, f64) {
        let all: serde_json::Value = serde_json::from_str(body).unwrap();
        let t = all
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "homework-g36-minutes")
            .expect("homework-g36-minutes in the API")
            .clone();
        (
            t["numerator"].as_f64().unwrap_or(0.0),
            t["denominator"].as_f64().unwrap_or(0.0),
        )
    };
    let path = format!("/api/v1/plan/targets?org={school}");
    let before = h.api_get(&path, &city).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    let (n0, d0) = target(&before.body);
    let city_before = target(
        &h.api_get("/api/v1/plan/targets?org=230600", &city)
            .await
            .body,
    );

    let token = h.api_token(&format!("s{school}")).await;
    let body = serde_json::json!({
        "period": "2021-W41",
        "values": {"grades": [
            {"grade": 3, "classes": 2, "pupil_days": 100, "minutes": 4000},
            {"grade": 5, "classes": 2, "pupil_days": 60, "minutes": 3300.5},
            {"grade": 1, "classes": 1, "pupil_days": 40, "minutes": 0}
        ]}
    });
    let request = axum::http::Request::post("/api/v1/obligations/homework-load/submissions")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .header("Idempotency-Key", "plan-test-w41")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let filed = h.send(request).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);

    let (n1, d1) = target(&h.api_get(&path, &city).await.body);
    assert!((n1 - n0 - 7300.5).abs() < 1e-6, "numerator {n0} → {n1}");
    assert!((d1 - d0 - 160.0).abs() < 1e-6, "denominator {d0} → {d1}");
    // The city's number is Σ numerators ÷ Σ denominators, so it moves by the same amounts.
    let city_after = target(
        &h.api_get("/api/v1/plan/targets?org=230600", &city)
            .await
            .body,
    );
    assert!((city_after.0 - city_before.0 - 7300.5).abs() < 1e-6);
    assert!((city_after.1 - city_before.1 - 160.0).abs() < 1e-6);
}
