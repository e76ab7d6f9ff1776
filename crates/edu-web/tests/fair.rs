//! Fair allocation through the router (issue 5): prepare → commitment → draw → publish → public verification,
//! pseudonymous inputs, scope, reproducibility, overrides, applying a division, admissions, seating, audit.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use edu_app::allocations::engine;
use edu_app::audit::AuditContext;
use edu_app::{Actor, page};

use common::*;

const BOUNDARY: &str = "----eduplan-fair-test-boundary";

/// A multipart body: text fields, then files (field, file name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(h: &Harness, path: &str, body: Vec<u8>, cookie: Option<&str>) -> Reply {
    let mut b = Request::post(path).header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    h.send(b.body(Body::from(body)).unwrap()).await
}

async fn get_bytes(h: &Harness, path: &str, cookie: Option<&str>) -> (StatusCode, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    let response = h
        .router
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = &text[from..];
    Some(&rest[..rest.find(end)?])
}

/// A digest as the pages show it: groups of 8 hex digits.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

fn ungrouped(text: &str) -> String {
    text.split_whitespace().collect()
}

fn run_id_of(body: &str) -> i64 {
    between(body, "action=\"/fair/", "/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no run id in {body}"))
}

/// The primary schools of district 230602 with grade-1 pupils, largest grade 1 first.
async fn primaries(h: &Harness) -> Vec<(String, i64)> {
    let token = h.api_token("city").await;
    let mut out = Vec::new();
    for (code, kind) in h.institutions_of("230602").await {
        if kind != "primary" {
            continue;
        }
        let reply = h
            .api_get(
                &format!("/api/v1/institutions/{code}/pupils?grade=1&per_page=1"),
                &token,
            )
            .await;
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        out.push((code, json["total"].as_i64().unwrap()));
    }
    out.sort_by_key(|(_, n)| -n);
    out
}

/// Every name of a school's grade (city view).
async fn grade_names(h: &Harness, code: &str, grade: i64) -> Vec<String> {
    let token = h.api_token("city").await;
    let reply = h
        .api_get(
            &format!("/api/v1/institutions/{code}/pupils?grade={grade}&per_page=200"),
            &token,
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Successful audit rows of an action on a run.
async fn audit_count(h: &Harness, action: &str, run: i64) -> usize {
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
        .filter(|r| r.entry.object_id == run.to_string() && r.entry.result == "success")
        .count()
}

struct Prepared {
    id: i64,
    secret: String,
    commitment: String,
}

async fn prepare_division(h: &Harness, cookie: &str, csrf: &str, code: &str) -> Prepared {
    let form = h
        .get(
            &format!("/fair/new?kind=balance&code={code}&grade=1"),
            Some(cookie),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("id=\"prepare-form\""), "{}", form.body);
    let reply = post_multipart(
        h,
        &format!("/fair/new?_csrf={csrf}"),
        multipart(
            &[
                ("kind", "balance"),
                ("code", code),
                ("grade", "1"),
                ("classes", "2"),
                ("attr_birth_month", "1"),
                ("attr_special_needs", "1"),
                ("attr_boarder", "1"),
                ("attr_origin", "1"),
                ("commit", "generate"),
                ("policy_note", "测试"),
            ],
            &[],
        ),
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let secret = ungrouped(
        between(&reply.body, "<code id=\"secret\">", "<")
            .expect("the generated secret is shown once"),
    );
    let commitment = ungrouped(
        between(&reply.body, "id=\"commitment\">", "<").expect("the commitment is shown"),
    );
    Prepared {
        id: run_id_of(&reply.body),
        secret,
        commitment,
    }
}

#[tokio::test]
async fn class_division_from_the_registry_is_committed_drawn_published_and_verifiable() {
    let h = harness().await;
    let (code, pupils) = primaries(&h).await.into_iter().next().unwrap();
    assert!(pupils >= 2);
    let (cookie, csrf) = h.web_login(&format!("s{code}")).await;

    // (a) prepare: the commitment is SHA-256 of the secret shown once; the secret is not stored or shown again.
    let run = prepare_division(&h, &cookie, &csrf, &code).await;
    let secret_bytes = engine::seed::bytes_from_hex(&run.secret).unwrap();
    assert_eq!(secret_bytes.len(), 32);
    assert_eq!(engine::seed::sha256_hex(&secret_bytes), run.commitment);
    let run_page = h.get(&format!("/fair/{}", run.id), Some(&cookie)).await;
    assert_eq!(run_page.status, StatusCode::OK);
    assert!(
        run_page.body.contains(&grouped(&run.commitment)),
        "commitment shown before the draw"
    );
    assert!(
        !run_page.body.contains(&grouped(&run.secret)),
        "the secret is shown only once"
    );
    assert!(run_page.body.contains("id=\"draw-form\""));
    assert_eq!(audit_count(&h, "allocation.prepare", run.id).await, 1);
    // The commitment is announced publicly before the draw, with the input digest and nothing personal.
    let announced = h.get("/verify", None).await;
    assert_eq!(announced.status, StatusCode::OK);
    let pending = between(&announced.body, "id=\"pending\"", "</table>").unwrap();
    assert!(pending.contains(&grouped(&run.commitment)), "{pending}");

    // (b) draw: a wrong secret is refused and recorded; the right one draws.
    let wrong = h
        .post_form(
            &format!("/fair/{}/draw?_csrf={csrf}", run.id),
            &format!("secret={}&beacon=x", "00".repeat(32)),
            Some(&cookie),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    let beacon = "福彩3D 第2021280期 5 0 7";
    let drawn = h
        .post_form(
            &format!("/fair/{}/draw?_csrf={csrf}", run.id),
            &format!("secret={}&beacon={}", run.secret, urlencode(beacon)),
            Some(&cookie),
        )
        .await;
    assert_eq!(drawn.status, StatusCode::SEE_OTHER, "{}", drawn.body);
    assert_eq!(audit_count(&h, "allocation.draw", run.id).await, 1);
    // Not public before publication.
    assert_eq!(
        h.get(&format!("/published/{}", run.id), None).await.status,
        StatusCode::NOT_FOUND
    );
    let again = h
        .post_form(
            &format!("/fair/{}/draw?_csrf={csrf}", run.id),
            &format!("secret={}&beacon=other", run.secret),
            Some(&cookie),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "a run is drawn once");

    // (c) publish: the public page has masked names and the balance report, no full names.
    let published = h
        .post_form(
            &format!("/fair/{}/publish?_csrf={csrf}", run.id),
            "",
            Some(&cookie),
        )
        .await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&h, "allocation.publish", run.id).await, 1);
    let public = h.get(&format!("/published/{}", run.id), None).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    assert!(public.body.contains("id=\"result\""));
    assert!(public.body.contains("极差"), "balance report with ranges");
    assert!(public.body.contains(&grouped(&run.commitment)));
    assert!(
        public.body.contains(&grouped(&run.secret)),
        "the secret is revealed after the draw"
    );
    assert!(public.body.contains("福彩3D"), "the beacon is shown");
    let names = grade_names(&h, &code, 1).await;
    assert!(!names.is_empty());
    for name in &names {
        assert!(
            !public.body.contains(&format!(">{name}"))
                && !public.body.contains(&format!("{name}<")),
            "full name {name} on the public page"
        );
        let masked = edu_model::mask::mask_name(name);
        assert!(public.body.contains(&masked), "masked {masked} missing");
    }
    assert!(!has_id_number(&public.body));

    // The published inputs hold pseudonymous ids only: no names, no 学籍号.
    let (status, bundle_bytes) =
        get_bytes(&h, &format!("/published/{}/bundle.json", run.id), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, pupils_csv) = get_bytes(&h, &format!("/published/{}/pupils.csv", run.id), None).await;
    let (_, assignment) =
        get_bytes(&h, &format!("/published/{}/assignment.csv", run.id), None).await;
    let (_, report) = get_bytes(&h, &format!("/published/{}/report.json", run.id), None).await;
    let inputs_text = String::from_utf8(pupils_csv.clone()).unwrap();
    assert!(inputs_text.starts_with("id,"), "{inputs_text}");
    assert!(inputs_text.contains("cat:birth_month") && inputs_text.contains(",sex"));
    assert_eq!(inputs_text.lines().count() as i64, pupils + 1);
    for name in &names {
        assert!(
            !inputs_text.contains(name.as_str()),
            "name {name} in the published inputs"
        );
    }
    assert!(!has_id_number(&inputs_text));
    for line in inputs_text.lines().skip(1) {
        let id = line.split(',').next().unwrap();
        assert!(id.starts_with('P') && id.len() == 9, "pseudonym {id}");
        assert!(edu_model::PupilNo::parse(id).is_err());
    }

    // Re-running from the stored inputs reproduces the output bytes.
    let bundle = engine::Bundle::from_json(std::str::from_utf8(&bundle_bytes).unwrap()).unwrap();
    let command = engine::DrawCommand::from_record(&bundle.command, &bundle.options).unwrap();
    let inputs = vec![engine::InputFile {
        role: "pupils".into(),
        bytes: pupils_csv.clone(),
    }];
    let seed = engine::Seed::from_hex(&bundle.seed).unwrap();
    let rerun = engine::run_draw(&command, &inputs, &seed).unwrap();
    assert_eq!(rerun.outputs[0].name, "assignment.csv");
    assert_eq!(rerun.outputs[0].bytes, assignment);
    assert_eq!(rerun.outputs[1].bytes, report);
    let ceremony = bundle.ceremony.as_ref().unwrap();
    assert_eq!(ceremony.commitment, run.commitment);
    assert_eq!(ceremony.beacon, beacon);
    assert_eq!(
        engine::ceremony_seed(&secret_bytes, beacon, &rerun.input_digest).to_hex(),
        bundle.seed
    );

    // The downloaded bundle and files verify as genuine on the public page (no login)…
    let files: Vec<(&str, &str, &[u8])> = vec![
        ("files", "bundle.json", &bundle_bytes),
        ("files", "pupils.csv", &pupils_csv),
        ("files", "assignment.csv", &assignment),
        ("files", "report.json", &report),
    ];
    let verified = post_multipart(&h, "/verify?_csrf=", multipart(&[], &files), None).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert!(verified.body.contains("结果真实"), "{}", verified.body);
    for check in [
        "input_digest",
        "commitment",
        "seed",
        "output assignment.csv",
        "output report.json",
    ] {
        assert!(verified.body.contains(check), "check {check} listed");
    }
    // …and so does the whole published directory as one zip, and the stored draw itself.
    let (_, zip) = get_bytes(&h, &format!("/published/{}/draw.zip", run.id), None).await;
    let zipped = post_multipart(
        &h,
        "/verify",
        multipart(&[], &[("files", "draw.zip", &zip)]),
        None,
    )
    .await;
    assert_eq!(zipped.status, StatusCode::OK, "{}", zipped.body);
    let stored = post_multipart(
        &h,
        "/verify",
        multipart(&[("published", &run.id.to_string())], &[]),
        None,
    )
    .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);

    // An altered output is rejected and named (two pupils swap classes).
    let text = String::from_utf8(assignment.clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let first_class = lines[1].split(',').nth(1).unwrap().to_owned();
    let other = (2..lines.len())
        .find(|&i| lines[i].split(',').nth(1).unwrap() != first_class)
        .expect("two classes");
    let (a, b) = (lines[1].clone(), lines[other].clone());
    lines[1] = format!(
        "{},{}",
        a.split(',').next().unwrap(),
        b.split(',').nth(1).unwrap()
    );
    lines[other] = format!("{},{}", b.split(',').next().unwrap(), first_class);
    let altered = format!("{}\n", lines.join("\n"));
    let files: Vec<(&str, &str, &[u8])> = vec![
        ("files", "bundle.json", &bundle_bytes),
        ("files", "pupils.csv", &pupils_csv),
        ("files", "assignment.csv", altered.as_bytes()),
        ("files", "report.json", &report),
    ];
    let rejected = post_multipart(&h, "/verify", multipart(&[], &files), None).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(rejected.body.contains("未通过复核") && rejected.body.contains("assignment.csv"));
    // The JSON API says the same.
    let api = h
        .send(
            Request::post("/api/v1/fair/verify")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::json!({"files": {
                        "bundle.json": String::from_utf8(bundle_bytes.clone()).unwrap(),
                        "pupils.csv": inputs_text,
                        "assignment.csv": altered,
                        "report.json": String::from_utf8(report.clone()).unwrap(),
                    }})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["ok"], false, "{}", api.body);
    assert_eq!(json["differing_outputs"][0], "assignment.csv");
    let api = h
        .send(
            Request::post("/api/v1/fair/verify")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!("{{\"published\": {}}}", run.id)))
                .unwrap(),
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["ok"], true, "{}", api.body);

    // A parent looks up their child by pseudonymous id: class and the draw's key.
    // (from the genuine assignment, not the altered copy)
    let genuine = text.lines().nth(2).unwrap();
    let pseudonym = genuine.split(',').next().unwrap().to_owned();
    let class = genuine.split(',').nth(1).unwrap().to_owned();
    let explained = h
        .get(
            &format!("/published/{}?p={}", run.id, pseudonym.to_lowercase()),
            None,
        )
        .await;
    assert!(
        explained.body.contains("id=\"explanation\""),
        "{}",
        explained.body
    );
    assert!(
        explained
            .body
            .contains(&format!("<strong>{class}班</strong>"))
    );
    let key = format!(
        "{:016x}",
        engine::lottery_key(&seed, engine::Purpose::Balance, &format!("0/{pseudonym}"))
    );
    assert!(explained.body.contains(&grouped(&key)));

    // A manual override is audited, needs a reason and is shown on the published page; the draw still verifies.
    let to = if class == "1" { "2" } else { "1" };
    let refused = h
        .post_form(
            &format!("/fair/{}/override?_csrf={csrf}", run.id),
            &format!("id={pseudonym}&to={to}&reason="),
            Some(&cookie),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = "转学安置调整测试";
    let changed = h
        .post_form(
            &format!("/fair/{}/override?_csrf={csrf}", run.id),
            &format!("id={pseudonym}&to={to}&reason={}", urlencode(reason)),
            Some(&cookie),
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(audit_count(&h, "allocation.override", run.id).await, 1);
    let public = h.get(&format!("/published/{}", run.id), None).await;
    assert!(public.body.contains("id=\"overrides\"") && public.body.contains(reason));
    let explained = h
        .get(&format!("/published/{}?p={pseudonym}", run.id), None)
        .await;
    assert!(explained.body.contains(&format!("<strong>{to}班</strong>")));
    assert!(explained.body.contains(reason));

    // Applying the division to the registry is a separate audited step, done once.
    let applied = h
        .post_form(
            &format!("/fair/{}/apply?_csrf={csrf}", run.id),
            "",
            Some(&cookie),
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    assert_eq!(audit_count(&h, "allocation.apply", run.id).await, 1);
    let token = h.api_token("city").await;
    let reply = h
        .api_get(
            &format!("/api/v1/institutions/{code}/pupils?grade=1&per_page=200"),
            &token,
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let mut per_class = std::collections::BTreeMap::new();
    for p in json["items"].as_array().unwrap() {
        *per_class
            .entry(p["class_name"].as_str().unwrap_or("").to_owned())
            .or_insert(0) += 1;
    }
    // Exactly the published division with the override: the drawn classes, one pupil moved.
    let mut expected = std::collections::BTreeMap::new();
    for line in text.lines().skip(1) {
        let (id, class) = line.split_once(',').unwrap();
        let class = if id == pseudonym { to } else { class };
        *expected.entry(format!("{class}班")).or_insert(0) += 1;
    }
    assert_eq!(per_class, expected);
    let twice = h
        .post_form(
            &format!("/fair/{}/apply?_csrf={csrf}", run.id),
            "",
            Some(&cookie),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);

    // Audit rows carry no personal data.
    for action in [
        "allocation.prepare",
        "allocation.draw",
        "allocation.publish",
        "allocation.override",
    ] {
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
        for row in rows.items {
            let text = serde_json::to_string(&row.entry).unwrap();
            assert!(!has_id_number(&text));
            assert!(names.iter().all(|n| !text.contains(n.as_str())), "{text}");
            assert!(
                !text.contains(reason),
                "override reasons stay out of the audit trail"
            );
        }
    }
}

#[tokio::test]
async fn a_school_admin_cannot_run_or_view_another_schools_draws() {
    let h = harness().await;
    let a = &primaries(&h).await[0].0;
    // Another school of the same district (any kind of school with its own administrator).
    let b = &h
        .institutions_of("230602")
        .await
        .into_iter()
        .find(|(code, kind)| code != a && kind != "kindergarten")
        .unwrap()
        .0;
    let (cookie_a, csrf_a) = h.web_login(&format!("s{a}")).await;
    let (cookie_b, csrf_b) = h.web_login(&format!("s{b}")).await;
    let run = prepare_division(&h, &cookie_a, &csrf_a, a).await;
    // School B: not in its list, every page, file and action is 404, and it cannot prepare for school A.
    let list = h.get("/fair", Some(&cookie_b)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains(&format!("href=\"/fair/{}\"", run.id)));
    assert!(
        h.get("/fair", Some(&cookie_a))
            .await
            .body
            .contains(&format!("href=\"/fair/{}\"", run.id))
    );
    for path in [
        format!("/fair/{}", run.id),
        format!("/fair/{}/pupils.csv", run.id),
        format!("/fair/{}/ids.xlsx", run.id),
        format!("/fair/new?kind=balance&code={a}&grade=1"),
        format!("/fair/scores/{a}?grade=1"),
    ] {
        let reply = h.get(&path, Some(&cookie_b)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let token_b = h.api_token(&format!("s{b}")).await;
    assert_eq!(
        h.api_get(&format!("/api/v1/fair/runs/{}", run.id), &token_b)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let runs = h.api_get("/api/v1/fair/runs", &token_b).await;
    let json: serde_json::Value = serde_json::from_str(&runs.body).unwrap();
    assert!(
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"].as_i64() != Some(run.id))
    );
    for action in ["draw", "publish", "apply", "override"] {
        let reply = h
            .post_form(
                &format!("/fair/{}/{action}?_csrf={csrf_b}", run.id),
                &format!("secret={}&beacon=x&id=P1&to=1&reason=abcdef", run.secret),
                Some(&cookie_b),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{action}");
    }
    let reply = post_multipart(
        &h,
        &format!("/fair/new?_csrf={csrf_b}"),
        multipart(
            &[
                ("kind", "balance"),
                ("code", a),
                ("grade", "1"),
                ("classes", "2"),
                ("commit", "generate"),
            ],
            &[],
        ),
        Some(&cookie_b),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // A school admin cannot run a district admission; a teacher cannot run draws at all.
    let reply = post_multipart(
        &h,
        &format!("/fair/new?_csrf={csrf_b}"),
        multipart(
            &[
                ("kind", "admit"),
                ("district", "230602"),
                ("mechanism", "da"),
                ("schools", "x,1"),
                ("feeders", "*: x"),
            ],
            &[],
        ),
        Some(&cookie_b),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let teacher = format!(
        "t{}",
        h.institutions_of("230602")
            .await
            .iter()
            .find(|(_, k)| k == "primary")
            .unwrap()
            .0
    );
    let token = h.api_token(&teacher).await;
    assert_eq!(
        h.api_get("/api/v1/fair/runs", &token).await.status,
        StatusCode::FORBIDDEN
    );
    // An unpublished run is not public.
    for path in [
        format!("/published/{}", run.id),
        format!("/published/{}/pupils.csv", run.id),
    ] {
        assert_eq!(
            h.get(&path, None).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // The district sees both schools' runs; another district sees neither.
    let district = h.api_token("d230602").await;
    assert_eq!(
        h.api_get(&format!("/api/v1/fair/runs/{}", run.id), &district)
            .await
            .status,
        StatusCode::OK
    );
    let other = h.api_token("d230603").await;
    assert_eq!(
        h.api_get(&format!("/api/v1/fair/runs/{}", run.id), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_demo_has_a_published_division_and_a_prepared_run_with_the_documented_secret() {
    let h = harness().await;
    let token = h.api_token("city").await;
    let runs = h.api_get("/api/v1/fair/runs", &token).await;
    let json: serde_json::Value = serde_json::from_str(&runs.body).unwrap();
    let items = json["items"].as_array().unwrap();
    let published = items
        .iter()
        .find(|r| r["status"] == "published" && r["kind"] == "balance" && r["grade"] == 1)
        .expect("a published grade-1 division");
    let prepared = items
        .iter()
        .find(|r| r["status"] == "prepared")
        .expect("a prepared run");
    let id = published["id"].as_i64().unwrap();
    let public = h.get(&format!("/published/{id}"), None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.body.contains("极差"));
    let verify = h.get("/verify", None).await;
    assert!(verify.body.contains(&format!("/published/{id}\"")));
    let api = h
        .send(
            Request::post("/api/v1/fair/verify")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!("{{\"published\": {id}}}")))
                .unwrap(),
        )
        .await;
    assert!(api.body.contains("\"ok\":true"), "{}", api.body);
    // The prepared demo run can be drawn with the documented demo secret.
    let school = prepared["institution_code"].as_str().unwrap();
    let (cookie, csrf) = h.web_login(&format!("s{school}")).await;
    let run = prepared["id"].as_i64().unwrap();
    let drawn = h
        .post_form(
            &format!("/fair/{run}/draw?_csrf={csrf}"),
            "secret=656475706c616e2d64656d6f2d32303231&beacon=demo",
            Some(&cookie),
        )
        .await;
    assert_eq!(drawn.status, StatusCode::SEE_OTHER, "{}", drawn.body);
    let page = h.get(&format!("/fair/{run}"), Some(&cookie)).await;
    assert!(page.body.contains("id=\"result\""));
}

#[tokio::test]
async fn district_admission_from_the_registry_with_a_notary_commitment() {
    let h = harness().await;
    let (cookie, csrf) = h.web_login("d230602").await;
    let form = h
        .get("/fair/new?kind=admit&district=230602", Some(&cookie))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let textarea = |name: &str| -> String {
        between(
            &form.body,
            &format!("name=\"{name}\" rows=\"6\">"),
            "</textarea>",
        )
        .unwrap_or_else(|| panic!("no {name} textarea"))
        .to_owned()
    };
    let schools = textarea("schools");
    let feeders = textarea("feeders");
    assert!(
        !schools.is_empty() && !feeders.is_empty(),
        "{schools} / {feeders}"
    );
    let secret = "0a1b2c3d4e5f";
    let commitment = engine::seed::sha256_hex(&engine::seed::bytes_from_hex(secret).unwrap());
    let reply = post_multipart(
        &h,
        &format!("/fair/new?_csrf={csrf}"),
        multipart(
            &[
                ("kind", "admit"),
                ("district", "230602"),
                ("mechanism", "da"),
                ("source", "registry"),
                ("schools", &schools),
                ("feeders", &feeders),
                ("catchment", "1"),
                ("commit", "notary"),
                ("commitment", &commitment),
            ],
            &[],
        ),
        Some(&cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        !reply.body.contains("id=\"secret-once\""),
        "a notary's secret is never generated here"
    );
    let id = run_id_of(&reply.body);
    assert!(reply.body.contains(&grouped(&commitment)));
    let drawn = h
        .post_form(
            &format!("/fair/{id}/draw?_csrf={csrf}"),
            &format!("secret={secret}&beacon=beacon"),
            Some(&cookie),
        )
        .await;
    assert_eq!(drawn.status, StatusCode::SEE_OTHER, "{}", drawn.body);
    h.post_form(
        &format!("/fair/{id}/publish?_csrf={csrf}"),
        "",
        Some(&cookie),
    )
    .await;
    let (_, applicants) = get_bytes(&h, &format!("/published/{id}/applicants.csv"), None).await;
    let text = String::from_utf8(applicants).unwrap();
    assert!(text.starts_with("id,choices,priorities\n"), "{text}");
    assert!(!has_id_number(&text));
    let api = h
        .send(
            Request::post("/api/v1/fair/verify")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!("{{\"published\": {id}}}")))
                .unwrap(),
        )
        .await;
    assert!(api.body.contains("\"ok\":true"), "{}", api.body);
    // Each applicant can see why: choices, tiers and cut-offs.
    let first = text.lines().nth(1).unwrap().split(',').next().unwrap();
    let explained = h.get(&format!("/published/{id}?p={first}"), None).await;
    assert!(
        explained.body.contains("id=\"explanation\""),
        "{}",
        explained.body
    );
    assert!(explained.body.contains("最后录取者"));
}

#[tokio::test]
async fn seating_keeps_front_zones_and_uploads_with_identifiers_are_refused() {
    let h = harness().await;
    let (code, _) = primaries(&h).await.into_iter().next().unwrap();
    let (cookie, csrf) = h.web_login(&format!("s{code}")).await;
    let token = h.api_token(&format!("s{code}")).await;
    let inst = h
        .api_get(&format!("/api/v1/institutions/{code}"), &token)
        .await;
    let json: serde_json::Value = serde_json::from_str(&inst.body).unwrap();
    let class = json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["pupils"].as_i64().unwrap() >= 4)
        .unwrap()
        .clone();
    let class_id = class["id"].as_i64().unwrap();
    let form = h
        .get(
            &format!("/fair/new?kind=seats&code={code}&class={class_id}"),
            Some(&cookie),
        )
        .await;
    let pupil: i64 = between(&form.body, "name=\"zone_", "\"")
        .unwrap()
        .parse()
        .unwrap();
    let zone_field = format!("zone_{pupil}");
    let reply = post_multipart(
        &h,
        &format!("/fair/new?_csrf={csrf}"),
        multipart(
            &[
                ("kind", "seats"),
                ("code", &code),
                ("class", &class_id.to_string()),
                ("rows", "8"),
                ("cols", "8"),
                ("weeks", "6"),
                (&zone_field, "front"),
                ("commit", "generate"),
            ],
            &[],
        ),
        Some(&cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let id = run_id_of(&reply.body);
    // Pasted as shown, in groups of 8: the spaces are ignored.
    // Entered as shown, in groups of 8: the spaces are ignored.
    let secret = between(&reply.body, "<code id=\"secret\">", "<")
        .unwrap()
        .to_owned();
    assert!(secret.contains(' '));
    let drawn = h
        .post_form(
            &format!("/fair/{id}/draw?_csrf={csrf}"),
            &format!("secret={}&beacon=b", urlencode(&secret)),
            Some(&cookie),
        )
        .await;
    assert_eq!(drawn.status, StatusCode::SEE_OTHER, "{}", drawn.body);
    let (_, inputs) = get_bytes(&h, &format!("/fair/{id}/pupils.csv"), Some(&cookie)).await;
    let inputs = String::from_utf8(inputs).unwrap();
    let front: Vec<&str> = inputs
        .lines()
        .filter(|l| l.ends_with(",front"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(front.len(), 1, "{inputs}");
    let (_, seating) = get_bytes(&h, &format!("/fair/{id}/seating.csv"), Some(&cookie)).await;
    let seating = String::from_utf8(seating).unwrap();
    let rows: Vec<u32> = seating
        .lines()
        .filter(|l| l.split(',').nth(1) == Some(front[0]))
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| *r <= 2), "{rows:?}");
    let page = h.get(&format!("/fair/{id}?week=2"), Some(&cookie)).await;
    assert!(page.body.contains("id=\"seating\""));

    // An election upload holding an ID number is refused and nothing is stored.
    let before = h.api_get("/api/v1/fair/runs", &token).await;
    let ballots = "id,ranking\nb1,11010519491231002X;C2\nb2,C2\n";
    let reply = post_multipart(
        &h,
        &format!("/fair/new?_csrf={csrf}"),
        multipart(
            &[
                ("kind", "election"),
                ("code", &code),
                ("class", &class_id.to_string()),
                ("seats", "1"),
                ("commit", "generate"),
            ],
            &[("ballots", "ballots.csv", ballots.as_bytes())],
        ),
        Some(&cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let after = h.api_get("/api/v1/fair/runs", &token).await;
    let total =
        |r: &Reply| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["total"].clone();
    assert_eq!(total(&before), total(&after));
    // A pseudonymous ballot file works.
    let ballots = "id,ranking\nb1,C1;C2\nb2,C2\nb3,C1\n";
    let reply = post_multipart(
        &h,
        &format!("/fair/new?_csrf={csrf}"),
        multipart(
            &[
                ("kind", "election"),
                ("code", &code),
                ("class", &class_id.to_string()),
                ("seats", "1"),
                ("commit", "generate"),
            ],
            &[("ballots", "ballots.csv", ballots.as_bytes())],
        ),
        Some(&cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
