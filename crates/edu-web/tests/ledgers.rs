//! Ledgers and campus safety through the router, with the generated small city and the manual clock: the hazard
//! workflow with its deadline on day 8, the map, board and card, scope and confidentiality, uploads, audit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use edu_app::{Actor, AuditContext, page};
use jiff::SignedDuration;
use serde_json::{Value, json};

use common::*;

impl Harness {
    async fn api_post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    async fn api_json(&self, path: &str, token: &str) -> Value {
        let reply = self.api_get(path, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }

    /// A multipart POST with the session cookie (fields, then files as (name, file name, bytes)).
    async fn post_multipart(
        &self,
        path: &str,
        cookie: Option<&str>,
        token: Option<&str>,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Reply {
        let boundary = "----eduplan-test-boundary";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut b = Request::post(path).header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    async fn campuses(&self, district: &str) -> Vec<String> {
        self.institutions_of(district)
            .await
            .into_iter()
            .filter(|(_, k)| {
                matches!(
                    k.as_str(),
                    "primary" | "junior" | "nine_year" | "kindergarten"
                )
            })
            .map(|(c, _)| c)
            .collect()
    }

    async fn primary_schools(&self, district: &str) -> Vec<String> {
        self.institutions_of(district)
            .await
            .into_iter()
            .filter(|(_, k)| k == "primary")
            .map(|(c, _)| c)
            .collect()
    }

    /// Audit rows whose action starts with `prefix`, newest first.
    async fn audit(&self, prefix: &str) -> Vec<edu_store_row::Row> {
        let rows = self
            .app
            .audit_search(
                &Actor::operator("test"),
                None,
                Some(prefix.to_owned()),
                page(1, 200),
                &AuditContext::cli("test"),
            )
            .await
            .unwrap();
        rows.items
            .into_iter()
            .map(|r| edu_store_row::Row {
                action: r.entry.action,
                actor: r.entry.actor,
                object_id: r.entry.object_id,
                reason: r.entry.reason,
            })
            .collect()
    }
}

mod edu_store_row {
    #[derive(Debug)]
    pub struct Row {
        pub action: String,
        pub actor: String,
        pub object_id: String,
        pub reason: String,
    }
}

/// A JPEG-looking photo (magic bytes and a few segments).
fn photo() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    bytes.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    bytes.extend_from_slice(&[0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]);
    bytes
}

async fn act(h: &Harness, path: &str, token: &str, action: &str, values: Value) -> Reply {
    h.api_post(path, token, json!({"action": action, "values": values}))
        .await
}

async fn upload(h: &Harness, token: &str, school: &str, bytes: &[u8]) -> Reply {
    h.post_multipart(
        "/api/v1/ledgers/attachments",
        None,
        Some(token),
        &[("school", school)],
        &[("file", "photo.jpg", bytes)],
    )
    .await
}

fn rules(reply: &Reply) -> String {
    let v: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    v["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_seven_day_hazard_is_overdue_at_the_district_on_day_8_and_closes_only_after_reinspection()
{
    let h = harness().await;
    let school = h.primary_schools("230602").await.remove(0);
    let admin = h.api_token(&format!("s{school}")).await;
    // Reported on Monday 11 October 2021, 09:00 China time.
    let reply = h
        .api_post(
            "/api/v1/ledgers/hazards/cases",
            &admin,
            json!({"action": "report", "values": {"title": "二楼走廊灭火器过期", "severity": "general", "location": "教学楼二层", "description": "灭火器压力不足", "category": "fire_electrical"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = serde_json::from_str::<Value>(&reply.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let case_path = format!("/api/v1/ledgers/hazards/cases/{id}");
    let actions = format!("{case_path}/actions");
    // Closing right away is refused: the case was never re-inspected.
    let refused = act(&h, &actions, &admin, "close", json!({})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        rules(&refused).contains("[wrong_state]"),
        "{}",
        refused.body
    );
    let assigned = act(
        &h,
        &actions,
        &admin,
        "assign",
        json!({"responsible_person": format!("u:s{school}")}),
    )
    .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    let summary: Value = serde_json::from_str(&assigned.body).unwrap();
    assert_eq!(summary["deadline"], "2021-10-17 23:59:59");
    let overdue_ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    // Day 7 (Sunday 17 October, 09:00): not yet overdue. (Sessions idle out over days: sign in again.)
    h.clock.advance(SignedDuration::from_hours(24 * 6));
    let district = h.api_token("d230602").await;
    let list = h
        .api_json(
            "/api/v1/ledgers/hazards/cases?overdue=true&per_page=200",
            &district,
        )
        .await;
    assert!(!overdue_ids(&list).contains(&id));
    // Day 8 (Monday 18 October, 09:00): overdue, and the district sees it in its overdue list and overview.
    h.clock.advance(SignedDuration::from_hours(24));
    let district = h.api_token("d230602").await;
    let list = h
        .api_json(
            "/api/v1/ledgers/hazards/cases?overdue=true&per_page=200",
            &district,
        )
        .await;
    assert!(overdue_ids(&list).contains(&id), "{list}");
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["overdue"], true);
    assert_eq!(row["days_overdue"], 1);
    assert_eq!(row["escalation"], "school");
    let (cookie, _) = h.web_login("d230602").await;
    let overview = h.get("/ledgers", Some(&cookie)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("二楼走廊灭火器过期"),
        "the district overview lists the overdue hazard"
    );
    // A day later the district itself is alerted (one day past the deadline).
    h.clock.advance(SignedDuration::from_hours(24));
    let district = h.api_token("d230602").await;
    let admin = h.api_token(&format!("s{school}")).await;
    let case = h.api_json(&case_path, &district).await;
    assert_eq!(case["summary"]["escalation"], "district");
    // Rectification needs a photo; then closing is still refused until the re-inspection.
    let missing = act(
        &h,
        &actions,
        &admin,
        "rectify",
        json!({"rectification_note": "已更换灭火器"}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let file = upload(&h, &admin, &school, &photo()).await;
    assert_eq!(file.status, StatusCode::CREATED, "{}", file.body);
    let token = serde_json::from_str::<Value>(&file.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.clock.advance(SignedDuration::from_hours(1));
    let admin = h.api_token(&format!("s{school}")).await;
    let rectified = act(
        &h,
        &actions,
        &admin,
        "rectify",
        json!({"rectification_note": "已更换灭火器", "rectification_photos": [token]}),
    )
    .await;
    assert_eq!(rectified.status, StatusCode::OK, "{}", rectified.body);
    let refused = act(&h, &actions, &admin, "close", json!({})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(rules(&refused).contains("[wrong_state]"));
    h.clock.advance(SignedDuration::from_hours(2));
    let district = h.api_token("d230602").await;
    let reinspected = h
        .api_post(
            &format!("{case_path}/actions"),
            &district,
            json!({"action": "reinspect", "values": {"reinspection_result": "pass", "reinspection_note": "复查合格"}}),
        )
        .await;
    assert_eq!(reinspected.status, StatusCode::OK, "{}", reinspected.body);
    h.clock.advance(SignedDuration::from_hours(1));
    let admin = h.api_token(&format!("s{school}")).await;
    let closed = act(
        &h,
        &actions,
        &admin,
        "close",
        json!({"closing_note": "销号"}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    // The history shows every step with who and when.
    let case = h.api_json(&case_path, &admin).await;
    let history = case["history"].as_array().unwrap();
    let steps: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["role"].as_str().unwrap(),
                e["at"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps.iter().map(|s| s.0).collect::<Vec<_>>(),
        ["report", "assign", "rectify", "reinspect", "close"]
    );
    assert_eq!(steps[0].2, "2021-10-11 09:00:00");
    assert_eq!(steps[2].2, "2021-10-19 10:00:00");
    assert_eq!(steps[3].1, "district_admin");
    for e in history {
        assert!(!e["actor"].as_str().unwrap().is_empty());
    }
    assert_eq!(case["summary"]["closed"], true);
    assert_eq!(
        case["summary"]["late"], true,
        "rectified after its deadline"
    );
    // The web page shows the same history.
    let (school_cookie, _) = h.web_login(&format!("s{school}")).await;
    let page = h
        .get(
            &format!("/ledgers/cases/hazards/{id}"),
            Some(&school_cookie),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2021-10-19 10:00:00") && page.body.contains("复查合格"));
    // One audit row per step (and one for the upload), naming the case, without personal data.
    let rows = h.audit("ledger.hazards.").await;
    let mine: Vec<&str> = rows
        .iter()
        .filter(|r| r.object_id == id.to_string())
        .map(|r| r.action.as_str())
        .collect();
    for action in ["report", "assign", "rectify", "reinspect", "close"] {
        assert_eq!(
            mine.iter()
                .filter(|a| **a == format!("ledger.hazards.{action}"))
                .count(),
            1,
            "{action}: {mine:?}"
        );
    }
    assert!(!h.audit("ledger.attachment.upload").await.is_empty());
}

#[tokio::test]
async fn a_major_hazard_reaches_the_district_at_once_and_the_web_form_takes_a_phone_photo() {
    let h = harness().await;
    let school = h.primary_schools("230603").await.remove(0);
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    let form = h.get("/ledgers/cases/hazards/new", Some(&cookie)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains(r#"accept="image/*" capture="environment""#)
    );
    let reply = h
        .post_multipart(
            &format!("/ledgers/cases/hazards/new?_csrf={csrf}"),
            Some(&cookie),
            None,
            &[
                ("action", "report"),
                ("school", &school),
                ("title", "实验楼外墙瓷砖空鼓"),
                ("severity", "major"),
                ("location", "实验楼北侧"),
                ("description", "有坠落危险"),
            ],
            &[("photos", "IMG_0001.jpg", &photo())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let location = reply
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let id: i64 = location
        .trim_end_matches("?done=1")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let district = h.api_token("d230603").await;
    let case = h
        .api_json(&format!("/api/v1/ledgers/hazards/cases/{id}"), &district)
        .await;
    assert_eq!(case["summary"]["escalation"], "district");
    let photos = case["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "photos")
        .unwrap();
    let file = photos["files"][0][0].as_str().unwrap();
    // The stored name is the server's, not the phone's.
    assert!(
        !h.get(&format!("/ledgers/files/{file}"), Some(&cookie))
            .await
            .headers
            .get(header::CONTENT_DISPOSITION)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("IMG_0001")
    );
    let escalated = h
        .api_json(
            "/api/v1/ledgers/hazards/cases?escalated=true&per_page=200",
            &district,
        )
        .await;
    assert!(
        escalated["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );
}

#[tokio::test]
async fn the_risk_map_of_a_demo_school_shows_its_points_in_their_colours() {
    let h = harness().await;
    let school = h.primary_schools("230602").await.remove(0);
    let (cookie, _) = h.web_login(&format!("s{school}")).await;
    let token = h.api_token(&format!("s{school}")).await;
    let data = h
        .api_json(&format!("/api/v1/ledgers/schools/{school}"), &token)
        .await;
    let points = data["points"].as_array().unwrap();
    assert!(points.len() >= 4, "demo schools have risk points: {data}");
    assert!(
        data["site_plan"].is_array(),
        "the demo generated a site plan"
    );
    let map = h
        .get(&format!("/ledgers/schools/{school}/map"), Some(&cookie))
        .await;
    assert_eq!(map.status, StatusCode::OK);
    assert!(
        map.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    assert!(
        map.body
            .contains(&format!("/ledgers/schools/{school}/site-plan"))
    );
    let colours = [
        ("major", "red", "#d7301f"),
        ("large", "orange", "#f28e2b"),
        ("general", "yellow", "#e8c21b"),
        ("low", "blue", "#2f6fd0"),
    ];
    let mut placed = 0;
    for p in points {
        let level = p["level"].as_str().unwrap();
        let (_, colour, fill) = colours.iter().find(|c| c.0 == level).unwrap();
        assert_eq!(p["colour"], *colour);
        let marker = format!(
            r#"data-id="{}" data-level="{level}" data-colour="{colour}""#,
            p["id"]
        );
        let at = map
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("{marker} not on the map"));
        let group = &map.body[at..at + map.body[at..].find("</g>").unwrap()];
        assert!(group.contains(&format!(r#"fill="{fill}""#)), "{group}");
        assert!(
            group.contains(&format!(">{}</text>", p["number"])),
            "{group}"
        );
        placed += 1;
    }
    assert_eq!(placed, points.len());
    // The site plan is served to signed-in users of the school only.
    let plan = h
        .get(
            &format!("/ledgers/schools/{school}/site-plan"),
            Some(&cookie),
        )
        .await;
    assert_eq!(plan.status, StatusCode::OK);
    assert!(plan.body.starts_with("<svg"));
    let other = h.primary_schools("230603").await.remove(0);
    assert_eq!(
        h.get(
            &format!("/ledgers/schools/{other}/site-plan"),
            Some(&cookie)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // The school page embeds the same map.
    let page = h
        .get(&format!("/ledgers/schools/{school}"), Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"class="risk-map""#));
}

/// Every coordinate of an SVG page lies on the page: y, y + height, y1, y2, and x, x + width likewise.
fn assert_within_page(svg: &str, width: f64, height: f64) {
    let number = |s: &str| -> f64 { s.parse().unwrap() };
    let attr = |tag: &str, name: &str| -> Option<f64> {
        let key = format!(" {name}=\"");
        tag.find(&key).map(|i| {
            let rest = &tag[i + key.len()..];
            number(&rest[..rest.find('"').unwrap()])
        })
    };
    let mut checked = 0;
    for tag in svg.split('<').skip(2) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        for (pos, size, limit) in [("y", "height", height), ("x", "width", width)] {
            if let Some(v) = attr(tag, pos) {
                let extent = v + attr(tag, size).unwrap_or(0.0);
                assert!(v >= 0.0 && extent <= limit, "{tag} leaves the page");
                checked += 1;
            }
        }
        for name in ["y1", "y2"] {
            if let Some(v) = attr(tag, name) {
                assert!((0.0..=height).contains(&v), "{tag}");
            }
        }
    }
    assert!(checked > 20);
}

#[tokio::test]
async fn the_board_and_the_card_are_one_a4_page_each_and_export_to_excel() {
    let h = harness().await;
    let school = h.primary_schools("230602").await.remove(0);
    let token = h.api_token(&format!("s{school}")).await;
    // Many more risk points than one board can list, with long controls.
    for i in 0..30 {
        let reply = h
            .api_post(
                "/api/v1/ledgers/risk-points/cases",
                &token,
                json!({"action": "register", "values": {
                    "place": format!("第{i}号实验准备室"), "hazard_type": "chemical",
                    "controls": "危险化学品专柜存放，双人双锁，领用登记，使用时教师全程在场指导，用后及时归还并核对数量；每周检查一次".repeat(3),
                    "responsible_person": format!("s:T{school}0001"), "lec_l": "3", "lec_e": "6", "lec_c": "15",
                    "map_x": "50", "map_y": "40", "contact_phone": "0459-4601234",
                    "emergency_steps": "疏散人员，冲洗处理，拨打 119/120。".repeat(8)
                }}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let (cookie, _) = h.web_login(&format!("s{school}")).await;
    let board = h
        .get(
            &format!("/ledgers/schools/{school}/board/svg"),
            Some(&cookie),
        )
        .await;
    assert_eq!(board.status, StatusCode::OK);
    assert!(
        board
            .body
            .contains(r#"viewBox="0 0 2100 2970" width="210mm" height="297mm""#)
    );
    assert_eq!(
        board.body.matches("<svg").count(),
        1,
        "one page, one drawing"
    );
    assert_within_page(&board.body, 2100.0, 2970.0);
    assert!(
        board.body.contains("另有"),
        "the points that do not fit are counted"
    );
    assert!(board.body.contains("报警 110"));
    // In the printable page the drawing is sized to fit one A4 (or Letter) page inside the default margins.
    let printable = h
        .get(&format!("/ledgers/schools/{school}/board"), Some(&cookie))
        .await;
    assert!(printable.body.contains(r#"width="180mm" height="254.6mm""#));
    let data = h
        .api_json(&format!("/api/v1/ledgers/schools/{school}"), &token)
        .await;
    let long = data["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["place"].as_str().unwrap().contains("实验准备室"))
        .unwrap()["id"]
        .clone();
    let card = h
        .get(&format!("/ledgers/cards/{long}/svg"), Some(&cookie))
        .await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(card.body.contains(r#"width="210mm" height="297mm""#));
    assert_within_page(&card.body, 2100.0, 2970.0);
    assert!(card.body.contains("0459-4601234") && card.body.contains("较大风险"));
    for path in [
        format!("/ledgers/schools/{school}/board/xlsx"),
        format!("/ledgers/cards/{long}/xlsx"),
    ] {
        let reply = h.get(&path, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(reply.body.starts_with("PK"), "{path} is an xlsx");
        assert!(
            reply.headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
    }
    let rows = h.audit("ledger.").await;
    let long_id = long.to_string();
    assert!(
        rows.iter()
            .any(|r| r.action == "ledger.board.export" && r.object_id == school)
    );
    assert!(
        rows.iter()
            .any(|r| r.action == "ledger.card.export" && r.object_id == long_id)
    );
}

#[tokio::test]
async fn a_school_cannot_read_another_schools_hazards_or_complaints() {
    let h = harness().await;
    let schools = h.campuses("230602").await;
    let (a, b) = (&schools[0], &schools[1]);
    let city = h.api_token("city").await;
    // A hazard and a complaint at school B.
    let hazard = h
        .api_post(
            "/api/v1/ledgers/hazards/cases",
            &city,
            json!({"school": b, "action": "report", "values": {"title": "围墙破损", "severity": "general", "location": "北墙", "description": "有缺口"}}),
        )
        .await;
    assert_eq!(
        hazard.status,
        StatusCode::FORBIDDEN,
        "the city may not report hazards: {}",
        hazard.body
    );
    let district = h.api_token("d230602").await;
    let hazard = h
        .api_post(
            "/api/v1/ledgers/hazards/cases",
            &district,
            json!({"school": b, "action": "report", "values": {"title": "围墙破损", "severity": "general", "location": "北墙", "description": "有缺口"}}),
        )
        .await;
    assert_eq!(hazard.status, StatusCode::CREATED, "{}", hazard.body);
    let hazard_id = serde_json::from_str::<Value>(&hazard.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let complaint = h
        .api_post(
            "/api/v1/ledgers/tutoring-complaints/cases",
            &district,
            json!({"school": b, "values": {"channel": "hotline", "teacher": format!("s:T{b}0002"), "allegation": "周末有偿补课"}}),
        )
        .await;
    assert_eq!(complaint.status, StatusCode::CREATED, "{}", complaint.body);
    let complaint_id = serde_json::from_str::<Value>(&complaint.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let token_a = h.api_token(&format!("s{a}")).await;
    let token_b = h.api_token(&format!("s{b}")).await;
    for (path, ok_for_b) in [
        (format!("/api/v1/ledgers/hazards/cases/{hazard_id}"), true),
        (
            format!("/api/v1/ledgers/tutoring-complaints/cases/{complaint_id}"),
            true,
        ),
        (
            format!("/api/v1/ledgers/hazards/cases/{hazard_id}/actions"),
            false,
        ),
    ] {
        if ok_for_b {
            assert_eq!(
                h.api_get(&path, &token_b).await.status,
                StatusCode::OK,
                "{path}"
            );
            assert_eq!(
                h.api_get(&path, &token_a).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
    let act = h
        .api_post(
            &format!("/api/v1/ledgers/hazards/cases/{hazard_id}/actions"),
            &token_a,
            json!({"action": "assign", "values": {"responsible_person": format!("u:s{a}")}}),
        )
        .await;
    assert_eq!(act.status, StatusCode::NOT_FOUND);
    // Lists of A never show B's cases; the school filter on B is refused.
    for ledger in ["hazards", "tutoring-complaints"] {
        let list = h
            .api_json(
                &format!("/api/v1/ledgers/{ledger}/cases?per_page=200"),
                &token_a,
            )
            .await;
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["school_code"] == a.as_str()),
            "{ledger}"
        );
        assert_eq!(
            h.api_get(
                &format!("/api/v1/ledgers/{ledger}/cases?school={b}"),
                &token_a
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
    }
    let (cookie, _) = h.web_login(&format!("s{a}")).await;
    for path in [
        format!("/ledgers/cases/hazards/{hazard_id}"),
        format!("/ledgers/cases/tutoring-complaints/{complaint_id}"),
        format!("/ledgers/schools/{b}"),
        format!("/ledgers/schools/{b}/board"),
    ] {
        assert_eq!(
            h.get(&path, Some(&cookie)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Another district does not see them either; a teacher does not see complaints at all.
    let other = h.api_token("d230603").await;
    assert_eq!(
        h.api_get(
            &format!("/api/v1/ledgers/hazards/cases/{hazard_id}"),
            &other
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_the_assigned_investigator_sees_who_complained() {
    let h = harness().await;
    let school = h.primary_schools("230602").await.remove(0);
    let city = h.api_token("city").await;
    let reply = h
        .api_post(
            "/api/v1/ledgers/tutoring-complaints/cases",
            &city,
            json!({"school": school, "action": "intake", "values": {
                "channel": "hotline", "teacher": format!("s:T{school}0003"), "allegation": "在家中办班收费",
                "complainant_name": "欧阳秀英", "complainant_phone": "13845678901"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert!(
        !reply.body.contains("欧阳秀英"),
        "the clerk who took it cannot read it back"
    );
    let id = serde_json::from_str::<Value>(&reply.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/ledgers/tutoring-complaints/cases/{id}");
    let assigned = h
        .api_post(
            &format!("{path}/actions"),
            &city,
            json!({"action": "assign", "values": {"investigator": "u:d230602"}}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    let investigator = h.api_token("d230602").await;
    let seen = h.api_get(&path, &investigator).await;
    assert!(
        seen.body.contains("欧阳秀英") && seen.body.contains("13845678901"),
        "{}",
        seen.body
    );
    let detail: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(detail["roles"][0], "investigator");
    for user in ["city", &format!("s{school}")] {
        let token = h.api_token(user).await;
        let body = h.api_get(&path, &token).await.body;
        assert!(
            !body.contains("欧阳秀英")
                && !body.contains("13845678901")
                && !body.contains("5678901"),
            "{user}: {body}"
        );
        assert!(
            body.contains("complainant_name") || body.contains("投诉人姓名"),
            "{user} is told it is withheld"
        );
    }
    assert_eq!(
        h.api_get(&path, &h.api_token("d230603").await).await.status,
        StatusCode::NOT_FOUND
    );
    let (cookie, _) = h.web_login("city").await;
    let page = h
        .get(
            &format!("/ledgers/cases/tutoring-complaints/{id}"),
            Some(&cookie),
        )
        .await;
    assert!(page.body.contains("仅被指派的调查人员可见") && !page.body.contains("欧阳秀英"));
    // The investigator's reading is audited; the others' are not confidential reads.
    let rows = h.audit("ledger.case.view_confidential").await;
    assert!(
        rows.iter()
            .all(|r| r.actor == "d230602" && r.object_id == id.to_string())
    );
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| !r.reason.contains("欧阳") && !r.reason.contains("138"))
    );
    // The investigator submits findings; the district then decides, but cannot sanction an unsubstantiated one.
    let findings = h
        .api_post(
            &format!("{path}/actions"),
            &investigator,
            json!({"action": "submit_findings", "values": {"findings": "经查属实部分"}}),
        )
        .await;
    assert_eq!(findings.status, StatusCode::OK, "{}", findings.body);
}

#[tokio::test]
async fn uploads_of_the_wrong_type_or_too_large_are_refused_and_nothing_is_stored() {
    let h = harness().await;
    let school = h.primary_schools("230602").await.remove(0);
    let token = h.api_token(&format!("s{school}")).await;
    let exe = b"MZ\x90\x00\x03 this is not a photo".to_vec();
    let reply = upload(&h, &token, &school, &exe).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.body.contains("JPEG"));
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    assert_eq!(
        upload(&h, &token, &school, &svg).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut big = photo();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let reply = upload(&h, &token, &school, &big).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.body.contains("10 MB"));
    // Three megabytes pass (the web layer's own 2 MB default does not apply to uploads).
    let mut medium = photo();
    medium.resize(3 * 1024 * 1024, 0);
    assert_eq!(
        upload(&h, &token, &school, &medium).await.status,
        StatusCode::CREATED
    );
    // Through a web step: the wrong file refuses the whole step, the case stays where it was.
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    let api = h
        .api_post(
            "/api/v1/ledgers/hazards/cases",
            &token,
            json!({"values": {"title": "楼梯扶手松动", "severity": "general", "location": "东楼梯", "description": "松动"}}),
        )
        .await;
    let id = serde_json::from_str::<Value>(&api.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/ledgers/hazards/cases/{id}/actions");
    h.api_post(
        &path,
        &token,
        json!({"action": "assign", "values": {"responsible_person": format!("u:s{school}")}}),
    )
    .await;
    let before = h
        .api_json(&format!("/api/v1/ledgers/hazards/cases/{id}"), &token)
        .await;
    let reply = h
        .post_multipart(
            &format!("/ledgers/cases/hazards/{id}?_csrf={csrf}"),
            Some(&cookie),
            None,
            &[("action", "rectify"), ("rectification_note", "已加固")],
            &[("rectification_photos", "fixed.jpg", &exe)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("rectification_photos"));
    let after = h
        .api_json(&format!("/api/v1/ledgers/hazards/cases/{id}"), &token)
        .await;
    assert_eq!(before["summary"], after["summary"]);
    assert_eq!(before["history"], after["history"]);
    // Without a token from the session the form is refused before anything happens (CSRF).
    let forged = h
        .post_multipart(
            &format!("/ledgers/cases/hazards/{id}"),
            Some(&cookie),
            None,
            &[("action", "rectify")],
            &[],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn checklists_turn_failed_items_into_hazards_and_overviews_list_schools_without_guards() {
    let h = harness().await;
    let school = h.primary_schools("230602").await.remove(0);
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    let form = h
        .get(
            &format!("/ledgers/checklists/hazards/daily-patrol?school={school}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let items = [
        "gate-closed",
        "guards-on-duty",
        "exits-clear",
        "extinguishers",
        "facilities-sound",
        "canteen-hygiene",
    ];
    let mut fields: Vec<(String, String)> = vec![("school".into(), school.clone())];
    for item in items {
        let outcome = if item == "exits-clear" {
            "fail"
        } else {
            "pass"
        };
        fields.push((format!("outcome_{item}"), outcome.into()));
    }
    fields.push(("note_exits-clear".into(), "东侧安全出口堆放杂物".into()));
    fields.push(("location_exits-clear".into(), "教学楼东侧".into()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let reply = h
        .post_multipart(
            &format!("/ledgers/checklists/hazards/daily-patrol?_csrf={csrf}"),
            Some(&cookie),
            None,
            &refs,
            &[("photo_exits-clear", "p.jpg", &photo())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let id: i64 = reply
        .body
        .split("/ledgers/cases/hazards/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let token = h.api_token(&format!("s{school}")).await;
    let case = h
        .api_json(&format!("/api/v1/ledgers/hazards/cases/{id}"), &token)
        .await;
    let text = case.to_string();
    assert!(text.contains("daily-patrol/exits-clear") && text.contains("东侧安全出口堆放杂物"));
    assert_eq!(
        case["summary"]["level"], "major",
        "the item's default severity"
    );
    // A failure without a note is refused, and nothing is opened.
    let before = h
        .api_json("/api/v1/ledgers/hazards/cases?per_page=200", &token)
        .await["total"]
        .clone();
    let mut bad = refs.clone();
    bad.retain(|(k, _)| !k.starts_with("note_"));
    let reply = h
        .post_multipart(
            &format!("/ledgers/checklists/hazards/daily-patrol?_csrf={csrf}"),
            Some(&cookie),
            None,
            &bad,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        h.api_json("/api/v1/ledgers/hazards/cases?per_page=200", &token)
            .await["total"],
        before
    );
    // The city overview: campuses without a certified guard are those of the registry.
    let city = h.api_token("city").await;
    let overview = h.api_json("/api/v1/ledgers/overview", &city).await;
    let without = overview["total"]["without_certified_guard"]
        .as_i64()
        .unwrap();
    assert_eq!(
        overview["without_guards"].as_array().unwrap().len() as i64,
        without.min(200)
    );
    let campuses = overview["total"]["campuses"].as_i64().unwrap();
    assert!(campuses > 0 && without < campuses);
    let areas = overview["total"]["key_areas"].as_i64().unwrap();
    let camera = overview["total"]["key_areas_camera"].as_i64().unwrap();
    assert!(
        areas > 0 && camera < areas && camera * 10 > areas * 8,
        "mostly covered: {camera}/{areas}"
    );
    assert!(
        overview["overdue_total"].as_i64().unwrap() > 0,
        "the demo has overdue hazards"
    );
}

#[tokio::test]
async fn openapi_describes_the_ledger_routes_and_negative_list_requests_are_matched() {
    let h = harness().await;
    let school = h.primary_schools("230604").await.remove(0);
    let token = h.api_token(&format!("s{school}")).await;
    let reply = h
        .api_post(
            "/api/v1/ledgers/negative-list/cases",
            &token,
            json!({"values": {"issuer": "某公司", "description": "要求全体学生下载APP并投票", "received_on": "2021-10-11"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let case: Value = serde_json::from_str(&reply.body).unwrap();
    let refuse = case["case"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "refuse")
        .unwrap();
    let matched = refuse["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "matched_item")
        .unwrap();
    assert!(
        matched["current"].as_str().unwrap().starts_with("N05"),
        "{matched}"
    );
    assert!(
        case["case"]["suggestion"][0]
            .as_str()
            .unwrap()
            .contains("负面清单")
    );
}
