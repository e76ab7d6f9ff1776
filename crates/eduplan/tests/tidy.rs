//! Keeps the repository honest: ARCHITECTURE.md names every crate, and the dependency rules it states hold.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on purpose when something is wrong

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The names of a crate's normal (non-dev) dependencies.
fn dependencies(krate: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn architecture_mentions_every_crate() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for krate in crates() {
        assert!(
            doc.contains(&format!("crates/{krate}")),
            "ARCHITECTURE.md has no section for crates/{krate}"
        );
    }
}

#[test]
fn engines_do_no_io_and_layers_point_one_way() {
    let engines = [
        "edu-model",
        "edu-plan",
        "edu-form",
        "edu-obligation",
        "edu-ledger",
        "edu-fair",
        "edu-timetable",
    ];
    let io = [
        "sqlx",
        "tokio",
        "axum",
        "tower",
        "tower-http",
        "askama",
        "hyper",
        "reqwest",
        "edu-store",
        "edu-app",
        "edu-web",
    ];
    for engine in engines {
        for dep in dependencies(engine) {
            assert!(
                !io.contains(&dep.as_str()),
                "{engine} must stay pure but depends on {dep}"
            );
        }
    }
    for krate in crates() {
        let deps = dependencies(&krate);
        if krate != "edu-store" {
            assert!(
                !deps.iter().any(|d| d == "sqlx"),
                "only edu-store may know SQL; {krate} depends on sqlx"
            );
        }
        if krate != "edu-web" && krate != "eduplan" {
            for web in ["axum", "askama", "tower-http"] {
                assert!(
                    !deps.iter().any(|d| d == web),
                    "only edu-web may know HTTP; {krate} depends on {web}"
                );
            }
        }
    }
    for dep in dependencies("edu-web") {
        assert!(
            dep != "edu-store" && dep != "sqlx",
            "edu-web reaches data only through edu-app, not {dep}"
        );
    }
}

#[test]
fn every_crate_uses_the_workspace_lints() {
    for krate in crates() {
        let text =
            std::fs::read_to_string(root().join("crates").join(&krate).join("Cargo.toml")).unwrap();
        let manifest: toml::Table = toml::from_str(&text).unwrap();
        let workspace_lints = manifest
            .get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(|w| w.as_bool());
        assert_eq!(
            workspace_lints,
            Some(true),
            "{krate} must have [lints] workspace = true (unsafe_code = forbid)"
        );
    }
    let root_manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(
        root_manifest["workspace"]["lints"]["rust"]["unsafe_code"].as_str(),
        Some("forbid")
    );
}
