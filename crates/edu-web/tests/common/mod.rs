//! Shared harness for the web tests: an in-memory app with a small generated city, a manual clock and the router.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // a test harness panics on purpose

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use edu_app::demo::DemoOptions;
use edu_app::password::PasswordHasher;
use edu_app::{App, KeyRing, ManualClock, SecuritySettings};
use edu_web::WebConfig;
use http_body_util::BodyExt;
use jiff::Timestamp;
use tower::ServiceExt;

pub const PASSWORD: &str = "Demo#2021x";

pub struct Harness {
    pub app: App,
    pub router: Router,
    pub clock: Arc<ManualClock>,
}

pub async fn harness_with(config: WebConfig) -> Harness {
    let clock = Arc::new(ManualClock::new(
        "2021-10-11T01:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let app = App::in_memory(
        Arc::new(KeyRing::for_tests(7)),
        clock.clone(),
        SecuritySettings::default(),
        PasswordHasher::for_tests(),
        false,
    )
    .await
    .unwrap();
    let mut quiet = |_: &str, _: u64, _: u64| {};
    app.generate_demo(
        &DemoOptions {
            seed: 7,
            password: PASSWORD.into(),
            scale: 0.03,
        },
        &mut quiet,
    )
    .await
    .unwrap();
    let router = edu_web::router(app.clone(), config);
    Harness { app, router, clock }
}

pub async fn harness() -> Harness {
    harness_with(WebConfig::default()).await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Harness {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut b = Request::get(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(&self, path: &str, body: &str, cookie: Option<&str>) -> Reply {
        let mut b =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    pub async fn api_token(&self, username: &str) -> String {
        let reply = self
            .send(
                Request::post("/api/v1/login")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(format!(
                        r#"{{"username":"{username}","password":"{PASSWORD}"}}"#
                    )))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        json["token"].as_str().unwrap().to_owned()
    }

    pub async fn api_get(&self, path: &str, token: &str) -> Reply {
        self.send(
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Signs in through the login form; returns the cookie header value and the CSRF token of the session.
    pub async fn web_login(&self, username: &str) -> (String, String) {
        let reply = self
            .post_form(
                "/login",
                &format!("username={username}&password={}", urlencode(PASSWORD)),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let cookie = session_cookie(&reply.headers);
        let home = self.get("/", Some(&cookie)).await;
        assert_eq!(home.status, StatusCode::OK);
        let csrf = home
            .body
            .split("_csrf=")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        (cookie, csrf)
    }

    pub async fn institutions_of(&self, district: &str) -> Vec<(String, String)> {
        let token = self.api_token("city").await;
        let reply = self
            .api_get(
                &format!("/api/v1/institutions?district={district}&per_page=200"),
                &token,
            )
            .await;
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["code"].as_str().unwrap().to_owned(),
                    i["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.contains("sid="))
        .expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

pub fn has_id_number(text: &str) -> bool {
    // 17 digits followed by a digit or X: a full ID number (or the body of a G/J 学籍号).
    let bytes = text.as_bytes();
    bytes.windows(18).any(|w| {
        w[..17].iter().all(u8::is_ascii_digit) && (w[17].is_ascii_digit() || w[17] == b'X')
    })
}
