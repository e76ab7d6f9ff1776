//! `bundle.json`: everything needed to re-check a draw, and [`verify`], which re-checks it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::draw::{DrawCommand, DrawOutcome, InputFile, OutputFile, input_digest, run_draw};
use crate::seed::{
    Ceremony, Seed, bytes_from_hex, ceremony_seed, digest_from_hex, sha256, sha256_hex,
};

/// The bundle format written by this version.
pub const BUNDLE_FORMAT: &str = "eduplan-fair-bundle/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlgorithmRecord {
    pub name: String,
    pub version: String,
}

/// The seed ceremony: `seed = SHA-256(secret ‖ beacon ‖ input_digest)`, `commitment = SHA-256(secret)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyRecord {
    pub commitment: String,
    pub secret: String,
    pub beacon: String,
}

/// An input file copied beside the bundle (path relative to the bundle's directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRecord {
    pub role: String,
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub command: String,
    pub options: BTreeMap<String, Value>,
    pub algorithm: AlgorithmRecord,
    pub input_digest: String,
    pub seed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<CeremonyRecord>,
    pub inputs: Vec<InputRecord>,
    /// SHA-256 of each output file, by file name. The draw time is in none of them.
    pub output_digest: BTreeMap<String, String>,
    /// When the draw was made (RFC 3339), as given by the operator or read from the clock.
    pub draw_time: String,
    /// SHA-256 of this bundle's compact JSON with `bundle_digest` set to `""`: catches edits
    /// to the bundle itself (including `draw_time`).
    pub bundle_digest: String,
}

impl Bundle {
    /// Builds the bundle of a finished draw. `inputs` are the exact input files, stored as
    /// `inputs/<role>.csv` beside the bundle.
    pub fn new(
        outcome: &DrawOutcome,
        seed: &Seed,
        ceremony: Option<&Ceremony>,
        inputs: &[InputFile],
        draw_time: &str,
    ) -> Bundle {
        let algorithm = outcome.command.algorithm();
        let mut bundle = Bundle {
            format: BUNDLE_FORMAT.to_string(),
            command: outcome.command.name().to_string(),
            options: outcome.command.options(),
            algorithm: AlgorithmRecord {
                name: algorithm.name.to_string(),
                version: algorithm.version.to_string(),
            },
            input_digest: hex::encode(outcome.input_digest),
            seed: seed.to_hex(),
            ceremony: ceremony.map(|c| CeremonyRecord {
                commitment: c.commitment_hex(),
                secret: hex::encode(&c.secret),
                beacon: c.beacon.clone(),
            }),
            inputs: inputs
                .iter()
                .map(|f| InputRecord {
                    role: f.role.clone(),
                    file: input_path(&f.role),
                    sha256: sha256_hex(&f.bytes),
                })
                .collect(),
            output_digest: outcome
                .outputs
                .iter()
                .map(|o| (o.name.clone(), sha256_hex(&o.bytes)))
                .collect(),
            draw_time: draw_time.to_string(),
            bundle_digest: String::new(),
        };
        bundle.inputs.sort_by(|a, b| a.role.cmp(&b.role));
        bundle.bundle_digest = bundle.compute_digest();
        bundle
    }

    /// The digest this bundle should carry in `bundle_digest`.
    pub fn compute_digest(&self) -> String {
        let mut copy = self.clone();
        copy.bundle_digest = String::new();
        sha256_hex(serde_json::to_string(&copy).unwrap_or_default().as_bytes())
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        crate::json::to_pretty(self)
    }

    pub fn from_json(text: &str) -> Result<Bundle, String> {
        serde_json::from_str(text).map_err(|e| format!("not a fair bundle: {e}"))
    }
}

/// Where the draw commands store an input file beside the bundle.
pub fn input_path(role: &str) -> String {
    format!("inputs/{role}.csv")
}

/// One verification step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The outcome of [`verify`]: every check, and the output files that differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub checks: Vec<VerifyCheck>,
    pub differing_outputs: Vec<String>,
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for check in &self.checks {
            writeln!(
                f,
                "{} {}: {}",
                if check.ok { "ok  " } else { "FAIL" },
                check.name,
                check.detail
            )?;
        }
        if self.ok {
            write!(f, "verified: the draw is genuine (重现一致)")
        } else if self.differing_outputs.is_empty() {
            write!(f, "NOT verified")
        } else {
            write!(
                f,
                "NOT verified: output differs: {}",
                self.differing_outputs.join(", ")
            )
        }
    }
}

/// Re-checks a draw: the bundle's own digest, the input files against their recorded digests,
/// the `input_digest`, the ceremony (when present), then re-runs the draw and compares every
/// recomputed output digest with the recorded one and with the output files given.
///
/// `inputs` are the files named in the bundle (by role); `outputs` the output files (by name).
pub fn verify(bundle: &Bundle, inputs: &[InputFile], outputs: &[OutputFile]) -> VerifyReport {
    let mut checks = Vec::new();
    let mut differing = Vec::new();
    let mut check = |name: &str, ok: bool, detail: String| {
        checks.push(VerifyCheck {
            name: name.to_string(),
            ok,
            detail,
        });
        ok
    };
    check(
        "format",
        bundle.format == BUNDLE_FORMAT,
        format!("{} (this build reads {BUNDLE_FORMAT})", bundle.format),
    );
    let recomputed = bundle.compute_digest();
    check(
        "bundle_digest",
        recomputed == bundle.bundle_digest,
        if recomputed == bundle.bundle_digest {
            "the bundle is unaltered".to_string()
        } else {
            format!(
                "bundle.json was altered: recorded {}, recomputed {recomputed}",
                bundle.bundle_digest
            )
        },
    );
    let command = match DrawCommand::from_record(&bundle.command, &bundle.options) {
        Ok(command) => command,
        Err(error) => {
            check("command", false, error);
            return finish(checks, differing);
        }
    };
    let algorithm = command.algorithm();
    check(
        "algorithm",
        bundle.algorithm.name == algorithm.name && bundle.algorithm.version == algorithm.version,
        format!(
            "bundle: {} v{}; this build: {} v{}",
            bundle.algorithm.name, bundle.algorithm.version, algorithm.name, algorithm.version
        ),
    );
    for record in &bundle.inputs {
        match inputs.iter().find(|f| f.role == record.role) {
            Some(file) => {
                let digest = sha256_hex(&file.bytes);
                check(
                    &format!("input {}", record.file),
                    digest == record.sha256,
                    if digest == record.sha256 {
                        "matches".to_string()
                    } else {
                        format!("altered: SHA-256 {digest}, recorded {}", record.sha256)
                    },
                );
            }
            None => {
                check(
                    &format!("input {}", record.file),
                    false,
                    "missing".to_string(),
                );
            }
        }
    }
    let digest = match input_digest(&command, inputs) {
        Ok(digest) => digest,
        Err(errors) => {
            check(
                "input_digest",
                false,
                format!("inputs unreadable: {errors}"),
            );
            return finish(checks, differing);
        }
    };
    check(
        "input_digest",
        hex::encode(digest) == bundle.input_digest,
        format!(
            "recomputed {}, recorded {}",
            hex::encode(digest),
            bundle.input_digest
        ),
    );
    let seed = match Seed::from_hex(&bundle.seed) {
        Ok(seed) => seed,
        Err(error) => {
            check("seed", false, error.to_string());
            return finish(checks, differing);
        }
    };
    if let Some(ceremony) = &bundle.ceremony {
        match (
            bytes_from_hex(&ceremony.secret),
            digest_from_hex(&bundle.input_digest),
        ) {
            (Ok(secret), Ok(recorded_digest)) => {
                let commitment = hex::encode(sha256(&secret));
                check(
                    "commitment",
                    commitment == ceremony.commitment,
                    format!(
                        "SHA-256(secret) = {commitment}, published {}",
                        ceremony.commitment
                    ),
                );
                let expected = ceremony_seed(&secret, &ceremony.beacon, &recorded_digest);
                check(
                    "seed",
                    expected == seed,
                    format!(
                        "SHA-256(secret ‖ beacon ‖ input_digest) = {expected}, bundle seed {seed}"
                    ),
                );
            }
            _ => {
                check(
                    "ceremony",
                    false,
                    "secret or input digest is not hex".to_string(),
                );
            }
        }
    }
    let rerun = match run_draw(&command, inputs, &seed) {
        Ok(rerun) => rerun,
        Err(error) => {
            check(
                "re-run",
                false,
                format!("the draw could not be re-run: {error}"),
            );
            return finish(checks, differing);
        }
    };
    let expected_names: Vec<&str> = command.output_names().to_vec();
    let recorded_names: Vec<&str> = bundle.output_digest.keys().map(String::as_str).collect();
    let mut sorted_expected = expected_names.clone();
    sorted_expected.sort_unstable();
    check(
        "outputs listed",
        sorted_expected == recorded_names,
        format!("{recorded_names:?}"),
    );
    for output in &rerun.outputs {
        let rerun_digest = sha256_hex(&output.bytes);
        let recorded = bundle
            .output_digest
            .get(&output.name)
            .cloned()
            .unwrap_or_default();
        let given = outputs
            .iter()
            .find(|o| o.name == output.name)
            .map(|o| sha256_hex(&o.bytes));
        let mut problems = Vec::new();
        if rerun_digest != recorded {
            problems.push(format!(
                "re-run gives {rerun_digest}, bundle records {recorded}"
            ));
        }
        match &given {
            Some(given) if *given != rerun_digest => problems.push(format!(
                "the file's SHA-256 is {given}, re-run gives {rerun_digest}"
            )),
            Some(_) => {}
            None => problems.push("file missing".to_string()),
        }
        if !problems.is_empty() {
            differing.push(output.name.clone());
        }
        let detail = if problems.is_empty() {
            format!("SHA-256 {rerun_digest}")
        } else {
            problems.join("; ")
        };
        check(
            &format!("output {}", output.name),
            problems.is_empty(),
            detail,
        );
    }
    finish(checks, differing)
}

fn finish(checks: Vec<VerifyCheck>, differing_outputs: Vec<String>) -> VerifyReport {
    VerifyReport {
        ok: checks.iter().all(|c| c.ok),
        checks,
        differing_outputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admit::Mechanism;

    fn draw() -> (Bundle, Vec<InputFile>, Vec<OutputFile>) {
        let inputs = vec![
            InputFile {
                role: "applicants".into(),
                bytes: b"id,choices\na,X;Y\nb,X\nc,Y;X\n".to_vec(),
            },
            InputFile {
                role: "schools".into(),
                bytes: b"code,capacity\nX,1\nY,1\n".to_vec(),
            },
        ];
        let command = DrawCommand::Admit {
            mechanism: Mechanism::DeferredAcceptance,
        };
        let ceremony = Ceremony {
            secret: vec![1, 2, 3],
            beacon: "beacon".into(),
        };
        let digest = input_digest(&command, &inputs).unwrap();
        let seed = ceremony.seed(&digest);
        let outcome = run_draw(&command, &inputs, &seed).unwrap();
        let bundle = Bundle::new(
            &outcome,
            &seed,
            Some(&ceremony),
            &inputs,
            "2026-06-01T09:00:00+08:00",
        );
        (bundle, inputs, outcome.outputs)
    }

    #[test]
    fn a_genuine_bundle_verifies_and_survives_json() {
        let (bundle, inputs, outputs) = draw();
        let parsed = Bundle::from_json(&bundle.to_json()).unwrap();
        let report = verify(&parsed, &inputs, &outputs);
        assert!(report.ok, "{report}");
    }

    #[test]
    fn every_alteration_is_caught() {
        let (bundle, inputs, outputs) = draw();
        let mut tampered_output = outputs.clone();
        tampered_output[0].bytes = b"id,school\na,Y\nb,X\nc,\n".to_vec();
        let report = verify(&bundle, &inputs, &tampered_output);
        assert!(!report.ok);
        assert_eq!(report.differing_outputs, vec!["assignment.csv"]);

        let mut tampered_input = inputs.clone();
        tampered_input[1].bytes = b"code,capacity\nX,2\nY,1\n".to_vec();
        assert!(!verify(&bundle, &tampered_input, &outputs).ok);

        let mut edited = bundle.clone();
        edited.draw_time = "2026-06-02T09:00:00+08:00".into();
        assert!(!verify(&edited, &inputs, &outputs).ok);

        // A forger who also fixes bundle_digest is still caught by the ceremony and the re-run.
        let mut forged = bundle.clone();
        forged.seed = "00".repeat(32);
        forged.bundle_digest = forged.compute_digest();
        let report = verify(&forged, &inputs, &outputs);
        assert!(!report.ok);
        assert!(
            report.checks.iter().any(|c| c.name == "seed" && !c.ok),
            "{report}"
        );

        let mut reordered = inputs.clone();
        reordered[0].bytes = b"id,choices\nc,Y;X\nb,X\na,X;Y\n".to_vec();
        let report = verify(&bundle, &reordered, &outputs);
        // Same canonical inputs, but not the recorded file: only the file check fails.
        assert_eq!(
            report.checks.iter().filter(|c| !c.ok).count(),
            1,
            "{report}"
        );
    }
}
