//! Static assets embedded in the binary (no CDN): one stylesheet, one small script, an icon.
//! URLs carry a content hash so they can be cached forever.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::routes::{Access, Routes, Surface};

pub const CSS: &str = include_str!("../assets/app.css");
pub const JS: &str = include_str!("../assets/app.js");
pub const ICON: &str = include_str!("../assets/icon.svg");

/// Versioned paths (the version is part of the path so the route table stays static).
pub const CSS_PATH: &str = "/assets/v1/app.css";
pub const JS_PATH: &str = "/assets/v1/app.js";
pub const ICON_PATH: &str = "/assets/v1/icon.svg";

/// A short content hash appended as `?v=` so browsers fetch a changed asset after an upgrade.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(CSS.as_bytes());
        h.update(JS.as_bytes());
        hex::encode(&h.finalize()[..6])
    })
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .add(
            "GET",
            CSS_PATH,
            Access::Public,
            Surface::Asset,
            get(|| async {
                ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
            }),
        )
        .add(
            "GET",
            JS_PATH,
            Access::Public,
            Surface::Asset,
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    JS,
                )
                    .into_response()
            }),
        )
        .add(
            "GET",
            ICON_PATH,
            Access::Public,
            Surface::Asset,
            get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], ICON).into_response() }),
        )
}
