//! Deterministic JSON rendering shared by reports and bundles.

use serde::Serialize;

/// Pretty JSON (two-space indent) with a trailing newline. Maps are `BTreeMap`s or structs,
/// so key order never depends on hashing.
pub fn to_pretty<T: Serialize>(value: &T) -> String {
    // Serialising plain structs, strings, integers and finite floats cannot fail.
    let mut text = serde_json::to_string_pretty(value)
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

/// Rounds to 6 decimals so that reports do not show floating-point noise.
pub fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}
