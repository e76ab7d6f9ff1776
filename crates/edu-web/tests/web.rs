//! The web layer tested as users and attackers meet it: through the router, with a generated small city.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on purpose when something is wrong

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use edu_web::{Access, WebConfig};
use jiff::SignedDuration;

use common::*;

#[tokio::test]
async fn every_route_declares_access_and_only_known_routes_are_public() {
    let inventory = edu_web::route_inventory();
    assert!(inventory.len() > 20);
    let public: Vec<String> = inventory
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let allowed_public = [
        "GET /assets/v1/app.css",
        "GET /assets/v1/app.js",
        "GET /assets/v1/icon.svg",
        "GET /login",
        "POST /login",
        "POST /lang",
        "GET /healthz",
        "POST /api/v1/login",
        "GET /api/v1/{*rest}",
        // Fair allocation: anyone may check a published draw (issue 5).
        "GET /verify",
        "POST /verify",
        "GET /published/{id}",
        "GET /published/{id}/{file}",
        "POST /api/v1/fair/verify",
    ];
    for p in &public {
        assert!(
            allowed_public.contains(&p.as_str()),
            "unexpected public route {p}"
        );
    }
    // Paths are unique per method.
    let mut seen = std::collections::HashSet::new();
    for r in &inventory {
        assert!(
            seen.insert((r.method, r.path)),
            "duplicate {} {}",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn security_headers_on_every_route() {
    let h = harness().await;
    for route in edu_web::route_inventory() {
        let path = route
            .path
            .replace("{code}", "2230200001")
            .replace("{district}", "230602")
            .replace("{id}", "1")
            .replace("{*rest}", "x")
            .replace("{file}", "pupils.csv")
            .replace("{username}", "city")
            .replace("{action}", "disable");
        let request = Request::builder()
            .method(route.method)
            .uri(&path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap();
        let reply = h.send(request).await;
        let csp = reply
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("object-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(
            reply.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            reply.headers.get(header::REFERRER_POLICY).unwrap(),
            "same-origin",
            "{path}"
        );
        let cache = reply
            .headers
            .get(header::CACHE_CONTROL)
            .unwrap()
            .to_str()
            .unwrap();
        if path.starts_with("/assets/") {
            assert!(cache.contains("immutable"), "{path}");
        } else {
            assert_eq!(cache, "no-store", "{path}");
        }
        assert!(reply.headers.get("x-request-id").is_some());
    }
}

#[tokio::test]
async fn anonymous_callers_are_sent_to_login_or_refused() {
    let h = harness().await;
    let page = h.get("/org", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers.get(header::LOCATION).unwrap(), "/login");
    let api = h.get("/api/v1/institutions", None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.body.contains("authentication required"));
    let unknown = h.get("/api/v1/no-such-thing", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.starts_with('{'));
}

#[tokio::test]
async fn district_user_sees_own_pupils_masked_and_not_another_districts() {
    let h = harness().await;
    let token = h.api_token("d230602").await;
    let own = h.institutions_of("230602").await;
    let other = h.institutions_of("230603").await;
    let (own_school, _) = own.iter().find(|(_, k)| k == "primary").unwrap();
    let (other_school, _) = other.iter().find(|(_, k)| k == "primary").unwrap();
    let reply = h
        .api_get(
            &format!("/api/v1/institutions/{own_school}/pupils?per_page=200"),
            &token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert!(json["total"].as_i64().unwrap() > 0);
    assert!(!has_id_number(&reply.body), "pupil numbers must be masked");
    assert!(
        json["items"][0]["pupil_no_masked"]
            .as_str()
            .unwrap()
            .contains("**********")
    );
    for path in [
        format!("/api/v1/institutions/{other_school}/pupils"),
        format!("/api/v1/institutions/{other_school}"),
        format!("/api/v1/institutions/{other_school}/staff"),
    ] {
        let reply = h.api_get(&path, &token).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !reply.body.contains(other_school.as_str()) && !reply.body.contains("items"),
            "{path}: {}",
            reply.body
        );
    }
    // The district filter cannot widen the scope either.
    let reply = h
        .api_get("/api/v1/institutions?district=230603", &token)
        .await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["total"], 0);
}

/// SECURITY.md ACL-01 (b): for each resource route, a school user gets 404/403 for another school's IDs.
#[tokio::test]
async fn school_users_cannot_reach_another_schools_resources() {
    let h = harness().await;
    let schools = h.institutions_of("230602").await;
    let primaries: Vec<&String> = schools
        .iter()
        .filter(|(_, k)| k == "primary" || k == "kindergarten")
        .map(|(c, _)| c)
        .collect();
    let (a, b) = (primaries[0], primaries[1]);
    let token_a = h.api_token(&format!("s{a}")).await;
    let token_b = h.api_token(&format!("s{b}")).await;
    // A pupil of school B, as school B sees it.
    let reply = h
        .api_get(
            &format!("/api/v1/institutions/{b}/pupils?per_page=1"),
            &token_b,
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let pupil_b = json["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        h.api_get(&format!("/api/v1/pupils/{pupil_b}"), &token_b)
            .await
            .status,
        StatusCode::OK
    );
    let (cookie, _) = h.web_login(&format!("s{a}")).await;
    for route in edu_web::route_inventory()
        .into_iter()
        .filter(|r| r.method == "GET" && (r.path.contains("{code}") || r.path.contains("{id}")))
    {
        let path = route
            .path
            .replace("{code}", b)
            .replace("{id}", &pupil_b.to_string());
        let reply = if path.starts_with("/api/") {
            h.api_get(&path, &token_a).await
        } else {
            h.get(&path, Some(&cookie)).await
        };
        assert!(
            matches!(reply.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{path} answered {}",
            reply.status
        );
    }
}

#[tokio::test]
async fn session_cookie_is_host_prefixed_secure_and_rotated() {
    let h = harness().await;
    let first = h
        .post_form(
            "/login",
            &format!("username=city&password={}", urlencode(PASSWORD)),
            None,
        )
        .await;
    let set = first
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set.starts_with("__Host-sid="), "{set}");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    let token = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-sid=")
        .to_owned();
    assert!(token.len() >= 43, "at least 256 bits, base64: {token}");
    let second = h
        .post_form(
            "/login",
            &format!("username=city&password={}", urlencode(PASSWORD)),
            None,
        )
        .await;
    assert_ne!(
        session_cookie(&first.headers),
        session_cookie(&second.headers)
    );
}

#[tokio::test]
async fn lockout_after_five_failures_even_with_the_right_password() {
    let h = harness().await;
    for _ in 0..5 {
        let reply = h
            .post_form("/login", "username=d230603&password=wrong-password", None)
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let locked = h
        .post_form(
            "/login",
            &format!("username=d230603&password={}", urlencode(PASSWORD)),
            None,
        )
        .await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert!(
        locked.body.contains("锁定"),
        "the page says the account is locked"
    );
    h.clock.advance(SignedDuration::from_mins(31));
    let ok = h
        .post_form(
            "/login",
            &format!("username=d230603&password={}", urlencode(PASSWORD)),
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let audit_token = h.api_token("auditadmin").await;
    let _ = audit_token;
    let (cookie, _) = h.web_login("auditadmin").await;
    let audit = h.get("/audit?action=auth.lockout", Some(&cookie)).await;
    assert!(audit.body.contains("auth.lockout") && audit.body.contains("d230603"));
}

#[tokio::test]
async fn idle_sessions_expire_and_old_cookies_do_not_come_back() {
    let h = harness().await;
    let (cookie, _) = h.web_login("city").await;
    h.clock.advance(SignedDuration::from_mins(29));
    assert_eq!(h.get("/org", Some(&cookie)).await.status, StatusCode::OK);
    h.clock.advance(SignedDuration::from_mins(31));
    let expired = h.get("/org", Some(&cookie)).await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(
        expired.headers.get(header::LOCATION).unwrap(),
        "/login?expired=1"
    );
    let replay = h.get("/org", Some(&cookie)).await;
    assert_eq!(replay.headers.get(header::LOCATION).unwrap(), "/login");
}

#[tokio::test]
async fn csrf_requires_the_session_token_and_same_site() {
    let h = harness().await;
    let (cookie, csrf) = h.web_login("city").await;
    // No token.
    assert_eq!(
        h.post_form("/logout", "", Some(&cookie)).await.status,
        StatusCode::FORBIDDEN
    );
    // Wrong token.
    assert_eq!(
        h.post_form("/logout?_csrf=abc", "", Some(&cookie))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Right token but a cross-site request.
    let cross = h
        .send(
            Request::post(format!("/logout?_csrf={csrf}"))
                .header(header::COOKIE, &cookie)
                .header("sec-fetch-site", "cross-site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    // Foreign origin.
    let foreign = h
        .send(
            Request::post(format!("/logout?_csrf={csrf}"))
                .header(header::COOKIE, &cookie)
                .header(header::HOST, "edu.example")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    // Still signed in after the refused attempts; the genuine logout works and clears the site's data.
    assert_eq!(h.get("/org", Some(&cookie)).await.status, StatusCode::OK);
    let out = h
        .post_form(&format!("/logout?_csrf={csrf}"), "", Some(&cookie))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers
            .get("clear-site-data")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("cookies")
    );
    assert_eq!(
        h.get("/org", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn viewing_a_pupil_writes_exactly_one_audit_row_without_personal_data() {
    let h = harness().await;
    let schools = h.institutions_of("230604").await;
    let (school, _) = schools.iter().find(|(_, k)| k == "primary").unwrap();
    let token = h.api_token(&format!("s{school}")).await;
    let list = h
        .api_get(
            &format!("/api/v1/institutions/{school}/pupils?per_page=1"),
            &token,
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    let id = json["items"][0]["id"].as_i64().unwrap();
    let before = h.app.verify_audit().await.unwrap().rows_checked;
    let (cookie, _) = h.web_login(&format!("s{school}")).await;
    let after_login = h.app.verify_audit().await.unwrap().rows_checked;
    let page = h.get(&format!("/pupils/{id}"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!has_id_number(&page.body));
    let after = h.app.verify_audit().await.unwrap();
    assert!(after.broken.is_none());
    assert_eq!(after.rows_checked, after_login + 1, "one row for the view");
    assert!(after_login > before);
    let (audit_cookie, _) = h.web_login("auditadmin").await;
    let audit = h.get("/audit?action=pupil.view", Some(&audit_cookie)).await;
    assert!(audit.body.contains(&format!("pupil {id}")));
    assert!(!has_id_number(&audit.body));
}

#[tokio::test]
async fn separated_administrators_stay_in_their_lanes() {
    let h = harness().await;
    let (sys, sys_csrf) = h.web_login("sysadmin").await;
    assert_eq!(
        h.get("/audit", Some(&sys)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.get("/admin/users", Some(&sys)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.get(
            &format!(
                "/institutions/{}/pupils",
                h.institutions_of("230602").await[0].0
            ),
            Some(&sys)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let (audit, audit_csrf) = h.web_login("auditadmin").await;
    assert_eq!(h.get("/audit", Some(&audit)).await.status, StatusCode::OK);
    let create = h
        .post_form(
            &format!("/admin/users?_csrf={audit_csrf}"),
            "username=newbie&display_name=x&role=teacher&scope=230602",
            Some(&audit),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    // The system administrator can create accounts; the new account gets a one-time password.
    let created = h
        .post_form(
            &format!("/admin/users?_csrf={sys_csrf}"),
            "username=inspector2&display_name=x&role=inspector&scope=230602",
            Some(&sys),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body.contains("inspector2"));
}

/// The menu offers each area to the roles that work in it, and every link it shows opens for that role.
#[tokio::test]
async fn the_menu_leads_each_role_to_its_areas_and_nowhere_it_may_not_go() {
    let h = harness().await;
    let school = h.institutions_of("230602").await[0].0.clone();
    let nav_links = |body: &str| -> Vec<String> {
        let nav = body
            .split("<nav class=\"nav wide\">")
            .nth(1)
            .and_then(|rest| rest.split("</nav>").next())
            .unwrap_or_default();
        nav.split("href=\"")
            .skip(1)
            .filter_map(|a| a.split('"').next())
            .map(str::to_owned)
            .collect()
    };
    for (user, present, absent) in [
        (
            format!("s{school}"),
            vec!["/plan", "/reports", "/ledgers", "/fair"],
            vec!["/reports/follow-up", "/audit", "/admin/users"],
        ),
        (
            "d230602".to_owned(),
            vec!["/plan", "/reports/follow-up", "/ledgers", "/fair"],
            vec!["/audit", "/admin/users"],
        ),
        (
            // The demo's teacher account belongs to the first primary school (of 萨尔图区).
            format!(
                "t{}",
                h.institutions_of("230602")
                    .await
                    .iter()
                    .find(|(_, kind)| kind == "primary")
                    .expect("a primary school")
                    .0
            ),
            vec!["/reports"],
            vec!["/fair", "/import", "/audit"],
        ),
        (
            "inspector".to_owned(),
            vec!["/plan", "/ledgers"],
            vec!["/fair", "/reports", "/reports/follow-up", "/import"],
        ),
        (
            "auditadmin".to_owned(),
            vec!["/audit", "/plan"],
            vec!["/fair", "/admin/users", "/import", "/ledgers"],
        ),
    ] {
        let (cookie, _) = h.web_login(&user).await;
        let home = h.get("/", Some(&cookie)).await;
        let links = nav_links(&home.body);
        for href in &present {
            assert!(
                links.iter().any(|l| l == href),
                "{user}: {href} in {links:?}"
            );
        }
        for href in &absent {
            assert!(
                !links.iter().any(|l| l == href),
                "{user}: no {href} in {links:?}"
            );
        }
        for href in &links {
            let page = h.get(href, Some(&cookie)).await;
            assert_eq!(page.status, StatusCode::OK, "{user} opens {href}");
        }
    }
}

#[tokio::test]
async fn english_switch_changes_the_interface() {
    let h = harness().await;
    let (cookie, csrf) = h.web_login("city").await;
    let zh = h.get("/org", Some(&cookie)).await;
    assert!(zh.body.contains("组织机构"));
    let switched = h
        .post_form(
            &format!("/lang?_csrf={csrf}"),
            "lang=en&next=%2Forg",
            Some(&cookie),
        )
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let lang = switched
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let en = h.get("/org", Some(&format!("{cookie}; {lang}"))).await;
    assert!(
        en.body.contains("Organisation") && en.body.contains("Sartu District"),
        "{}",
        &en.body[..400.min(en.body.len())]
    );
    assert!(en.body.contains("lang=\"en\""));
}

#[tokio::test]
async fn web_import_reports_bad_rows_and_writes_nothing() {
    let h = harness().await;
    let (cookie, csrf) = h.web_login("city").await;
    let school = h
        .institutions_of("230602")
        .await
        .into_iter()
        .find(|(_, k)| k == "primary")
        .unwrap()
        .0;
    let csv = format!(
        "学籍号,姓名,性别,出生日期,学校标识码,年级\nG230602201503012146,王小明,男,2015-03-01,{school},一年级\nG230602201503012140,李小红,女,2015-03-01,{school},一年级\n"
    );
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\npupils\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let reply = h
        .send(
            Request::post(format!("/import?_csrf={csrf}"))
                .header(header::COOKIE, &cookie)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("校验码错误"),
        "the wrong check digit is explained"
    );
    assert!(
        reply.body.contains("<td class=\"num\">3</td>"),
        "line 3 is named"
    );
    let token = h.api_token("city").await;
    let search = h
        .api_get(
            &format!("/api/v1/institutions/{school}/pupils?q=G230602201503012146"),
            &token,
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&search.body).unwrap();
    assert_eq!(json["total"], 0, "the good row was not written either");
}

#[tokio::test]
async fn openapi_describes_every_api_route_and_is_not_public() {
    let h = harness_with(WebConfig {
        ops_networks: vec![],
        ..WebConfig::default()
    })
    .await;
    let token = h.api_token("d230602").await;
    assert_eq!(
        h.api_get("/api/v1/openapi.json", &token).await.status,
        StatusCode::FORBIDDEN
    );
    let admin = h.api_token("sysadmin").await;
    let reply = h.api_get("/api/v1/openapi.json", &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for route in edu_web::route_inventory()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/{*rest}")
    {
        let entry = paths
            .get(route.path)
            .unwrap_or_else(|| panic!("{} missing from openapi", route.path));
        assert!(
            entry.get(route.method.to_lowercase()).is_some(),
            "{} {}",
            route.method,
            route.path
        );
    }
    assert_eq!(
        paths.len(),
        edu_web::route_inventory()
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/{*rest}")
            .map(|r| r.path)
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
}

#[tokio::test]
async fn get_routes_change_no_business_data() {
    let h = harness().await;
    let token = h.api_token("city").await;
    let (cookie, _) = h.web_login("city").await;
    let school = h
        .institutions_of("230602")
        .await
        .into_iter()
        .find(|(_, k)| k == "primary")
        .unwrap()
        .0;
    let before = snapshot(&h, &token).await;
    for route in edu_web::route_inventory()
        .into_iter()
        .filter(|r| r.method == "GET")
    {
        let path = route
            .path
            .replace("{code}", &school)
            .replace("{district}", "230602")
            .replace("{id}", "1")
            .replace("{*rest}", "x")
            .replace("{file}", "pupils.csv");
        let _ = h.get(&path, Some(&cookie)).await;
        let _ = h.api_get(&path, &token).await;
    }
    assert_eq!(snapshot(&h, &token).await, before);
}

/// Business state visible to the city: the org tree counts and the number of accounts.
async fn snapshot(h: &Harness, token: &str) -> (String, i64) {
    let tree = h.api_get("/api/v1/org", token).await;
    let users = h
        .app
        .list_users(&edu_app::Actor::operator("test"), edu_app::page(1, 1))
        .await
        .unwrap()
        .total;
    (tree.body, users)
}
