//! One entry point for every draw: inputs as bytes in, output files as bytes out, plus the
//! canonical `input_digest`. The CLI, the web layer and `verify` all go through [`run_draw`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::admit::{self, AdmissionProblem, Mechanism};
use crate::balance::{self, BalanceConflict, BalanceOptions, BalanceProblem};
use crate::seed::{Seed, sha256};
use crate::table::{InputErrors, Table, canonical_table};
use crate::{duty, election, seats, teachers};

/// A draw and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawCommand {
    Admit {
        mechanism: Mechanism,
    },
    /// `restarts = 0` means automatic; the bundle records the number actually used.
    Balance {
        classes: u32,
        allow_scores: bool,
        restarts: u32,
    },
    Teachers {
        classes: u32,
    },
    Seats {
        rows: u32,
        cols: u32,
        weeks: u32,
    },
    Duty {
        days: u32,
    },
    Election {
        seats: u32,
    },
}

/// An input file: its role (`applicants`, `schools`, `pupils`, `teachers`, `ballots`) and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub role: String,
    pub bytes: Vec<u8>,
}

/// An output file: its name in the output directory and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The result of a draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawOutcome {
    pub input_digest: [u8; 32],
    /// The command with automatic options resolved (as recorded in the bundle).
    pub command: DrawCommand,
    pub outputs: Vec<OutputFile>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DrawError {
    /// Bad input rows: nothing is drawn.
    #[error("{0}")]
    Input(InputErrors),
    /// The balance constraints conflict (CLI exit code 1).
    #[error("{0}")]
    Conflict(BalanceConflict),
    /// Options or inputs that make the draw impossible (too many zone pupils, too few candidates…).
    #[error("{0}")]
    Impossible(String),
}

impl From<InputErrors> for DrawError {
    fn from(errors: InputErrors) -> Self {
        DrawError::Input(errors)
    }
}

/// Name and version of the algorithm behind a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithm {
    pub name: &'static str,
    pub version: &'static str,
}

impl DrawCommand {
    /// The subcommand name.
    pub fn name(&self) -> &'static str {
        match self {
            DrawCommand::Admit { .. } => "admit",
            DrawCommand::Balance { .. } => "balance",
            DrawCommand::Teachers { .. } => "teachers",
            DrawCommand::Seats { .. } => "seats",
            DrawCommand::Duty { .. } => "duty",
            DrawCommand::Election { .. } => "election",
        }
    }

    /// Input roles, in the order used by the canonical form.
    pub fn input_roles(&self) -> &'static [&'static str] {
        match self {
            DrawCommand::Admit { .. } => &["applicants", "schools"],
            DrawCommand::Balance { .. } | DrawCommand::Seats { .. } | DrawCommand::Duty { .. } => {
                &["pupils"]
            }
            DrawCommand::Teachers { .. } => &["teachers"],
            DrawCommand::Election { .. } => &["ballots"],
        }
    }

    pub fn output_names(&self) -> &'static [&'static str] {
        match self {
            DrawCommand::Admit { .. } | DrawCommand::Teachers { .. } => &["assignment.csv"],
            DrawCommand::Balance { .. } => &["assignment.csv", "report.json"],
            DrawCommand::Seats { .. } => &["seating.csv", "report.json"],
            DrawCommand::Duty { .. } => &["rota.csv"],
            DrawCommand::Election { .. } => &["result.csv", "report.json"],
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            DrawCommand::Admit {
                mechanism: Mechanism::DeferredAcceptance,
            } => Algorithm {
                name: "applicant-proposing deferred acceptance, single tie-breaking",
                version: admit::ADMIT_ALGORITHM_VERSION,
            },
            DrawCommand::Admit {
                mechanism: Mechanism::Boston,
            } => Algorithm {
                name: "Boston immediate acceptance, single tie-breaking",
                version: admit::ADMIT_ALGORITHM_VERSION,
            },
            DrawCommand::Balance { .. } => Algorithm {
                name: "greedy construction + k-plus exchange search + range polishing",
                version: balance::BALANCE_ALGORITHM_VERSION,
            },
            DrawCommand::Teachers { .. } => Algorithm {
                name: "teacher key order",
                version: teachers::TEACHERS_ALGORITHM_VERSION,
            },
            DrawCommand::Seats { .. } => Algorithm {
                name: "weekly Hungarian assignment + desk-mate exchange",
                version: seats::SEATS_ALGORITHM_VERSION,
            },
            DrawCommand::Duty { .. } => Algorithm {
                name: "duty key cycle",
                version: duty::DUTY_ALGORITHM_VERSION,
            },
            DrawCommand::Election { .. } => Algorithm {
                name: "sequential plurality with top-two runoff",
                version: election::ELECTION_ALGORITHM_VERSION,
            },
        }
    }

    /// The options as recorded in the bundle.
    pub fn options(&self) -> BTreeMap<String, Value> {
        let pairs: Vec<(&str, Value)> = match *self {
            DrawCommand::Admit { mechanism } => vec![("mechanism", mechanism.as_str().into())],
            DrawCommand::Balance {
                classes,
                allow_scores,
                restarts,
            } => {
                vec![
                    ("classes", classes.into()),
                    ("allow_scores", allow_scores.into()),
                    ("restarts", restarts.into()),
                ]
            }
            DrawCommand::Teachers { classes } => vec![("classes", classes.into())],
            DrawCommand::Seats { rows, cols, weeks } => {
                vec![
                    ("rows", rows.into()),
                    ("cols", cols.into()),
                    ("weeks", weeks.into()),
                ]
            }
            DrawCommand::Duty { days } => vec![("days", days.into())],
            DrawCommand::Election { seats } => vec![("seats", seats.into())],
        };
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Rebuilds a command from a bundle's `command` and `options`.
    pub fn from_record(
        command: &str,
        options: &BTreeMap<String, Value>,
    ) -> Result<DrawCommand, String> {
        let number = |key: &str| {
            options
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("option {key:?} missing or not a number"))
        };
        let expected: &[&str] = match command {
            "admit" => &["mechanism"],
            "balance" => &["allow_scores", "classes", "restarts"],
            "teachers" => &["classes"],
            "seats" => &["cols", "rows", "weeks"],
            "duty" => &["days"],
            "election" => &["seats"],
            other => return Err(format!("unknown command {other:?}")),
        };
        if options
            .keys()
            .map(String::as_str)
            .ne(expected.iter().copied())
        {
            return Err(format!("options of {command} must be exactly {expected:?}"));
        }
        Ok(match command {
            "admit" => DrawCommand::Admit {
                mechanism: options
                    .get("mechanism")
                    .and_then(Value::as_str)
                    .and_then(Mechanism::parse)
                    .ok_or("option \"mechanism\" must be da or boston")?,
            },
            "balance" => DrawCommand::Balance {
                classes: number("classes")?,
                allow_scores: options
                    .get("allow_scores")
                    .and_then(Value::as_bool)
                    .ok_or("option allow_scores")?,
                restarts: number("restarts")?,
            },
            "teachers" => DrawCommand::Teachers {
                classes: number("classes")?,
            },
            "seats" => DrawCommand::Seats {
                rows: number("rows")?,
                cols: number("cols")?,
                weeks: number("weeks")?,
            },
            "duty" => DrawCommand::Duty {
                days: number("days")?,
            },
            _ => DrawCommand::Election {
                seats: number("seats")?,
            },
        })
    }
}

fn parse_role(command: &DrawCommand, role: &str, bytes: &[u8]) -> Result<Table, InputErrors> {
    match (command, role) {
        (DrawCommand::Admit { .. }, "applicants") => admit::applicants_table(bytes),
        (DrawCommand::Admit { .. }, _) => admit::schools_table(bytes),
        (DrawCommand::Balance { .. }, _) => balance::pupils_table(bytes),
        (DrawCommand::Seats { .. } | DrawCommand::Duty { .. }, _) => seats::class_table(bytes),
        (DrawCommand::Teachers { .. }, _) => teachers::teachers_table(bytes),
        (DrawCommand::Election { .. }, _) => election::ballots_table(bytes),
    }
}

/// Parses every input of `command` (all files, all errors at once), keyed by role.
pub fn parse_inputs(
    command: &DrawCommand,
    inputs: &[InputFile],
) -> Result<BTreeMap<String, Table>, InputErrors> {
    let mut errors = InputErrors::default();
    let mut tables = BTreeMap::new();
    for role in command.input_roles() {
        let files: Vec<&InputFile> = inputs.iter().filter(|f| f.role == *role).collect();
        match files.as_slice() {
            [file] => match parse_role(command, role, &file.bytes) {
                Ok(table) => {
                    tables.insert(role.to_string(), table);
                }
                Err(more) => errors.0.extend(more.0),
            },
            [] => errors.push(role, 0, "", "input file missing"),
            _ => errors.push(role, 0, "", "input file given more than once"),
        }
    }
    for file in inputs {
        if !command.input_roles().contains(&file.role.as_str()) {
            errors.push(
                &file.role,
                0,
                "",
                format!("{} takes no {} file", command.name(), file.role),
            );
        }
    }
    errors.into_result(tables)
}

/// The canonical form of the inputs: the line `eduplan-fair-input/1`, then for each role in
/// [`DrawCommand::input_roles`] order a line `== role ==` followed by the role's
/// [canonical table](crate::table::canonical_table) (key column first, other columns by name,
/// rows sorted by key, cells trimmed, minimal quoting, LF line ends).
pub fn canonical_inputs(command: &DrawCommand, tables: &BTreeMap<String, Table>) -> String {
    let mut text = String::from("eduplan-fair-input/1\n");
    for role in command.input_roles() {
        if let Some(table) = tables.get(*role) {
            text.push_str(&format!("== {role} ==\n"));
            text.push_str(&canonical_table(
                table,
                if *role == "schools" { "code" } else { "id" },
            ));
        }
    }
    text
}

/// `input_digest` = SHA-256 of [`canonical_inputs`].
pub fn input_digest(command: &DrawCommand, inputs: &[InputFile]) -> Result<[u8; 32], InputErrors> {
    let tables = parse_inputs(command, inputs)?;
    Ok(sha256(canonical_inputs(command, &tables).as_bytes()))
}

/// Runs a draw entirely in memory. Nothing is returned but errors when any input row is bad.
pub fn run_draw(
    command: &DrawCommand,
    inputs: &[InputFile],
    seed: &Seed,
) -> Result<DrawOutcome, DrawError> {
    let tables = parse_inputs(command, inputs)?;
    let digest = sha256(canonical_inputs(command, &tables).as_bytes());
    let table = |role: &str| {
        tables
            .get(role)
            .ok_or_else(|| DrawError::Impossible(format!("no {role} file")))
    };
    let ids =
        |t: &Table| -> Vec<String> { t.rows.iter().map(|r| t.cell(r, "id").to_string()).collect() };
    let output = |name: &str, text: String| OutputFile {
        name: name.to_string(),
        bytes: text.into_bytes(),
    };
    let mut resolved = command.clone();
    let outputs = match *command {
        DrawCommand::Admit { mechanism } => {
            let problem = AdmissionProblem::from_tables(table("applicants")?, table("schools")?)?;
            vec![output(
                "assignment.csv",
                problem.run(mechanism, seed).to_csv(),
            )]
        }
        DrawCommand::Balance {
            classes,
            allow_scores,
            restarts,
        } => {
            let problem = BalanceProblem::from_table(table("pupils")?, classes, allow_scores)?;
            let options = BalanceOptions { restarts };
            let restarts = problem.effective_restarts(&options);
            resolved = DrawCommand::Balance {
                classes,
                allow_scores,
                restarts,
            };
            let result = problem
                .divide(seed, &BalanceOptions { restarts })
                .map_err(DrawError::Conflict)?;
            vec![
                output("assignment.csv", result.to_csv()),
                output("report.json", result.report.to_json()),
            ]
        }
        DrawCommand::Teachers { classes } => {
            vec![output(
                "assignment.csv",
                teachers::draw_teachers(&ids(table("teachers")?), classes, seed).to_csv(),
            )]
        }
        DrawCommand::Seats { rows, cols, weeks } => {
            let pupils = seats::seat_pupils(table("pupils")?)?;
            let seating = seats::plan_seating(&pupils, rows, cols, weeks, seed)
                .map_err(|e| DrawError::Impossible(e.to_string()))?;
            vec![
                output("seating.csv", seating.to_csv()),
                output("report.json", seating.report.to_json()),
            ]
        }
        DrawCommand::Duty { days } => {
            let pupils = ids(table("pupils")?);
            if pupils.is_empty() && days > 0 {
                return Err(DrawError::Impossible("the class has no pupils".to_string()));
            }
            vec![output(
                "rota.csv",
                duty::draw_rota(&pupils, days, seed).to_csv(),
            )]
        }
        DrawCommand::Election { seats } => {
            let ballots = election::ballots_from_table(table("ballots")?)?;
            let result = election::count_election(&ballots, seats, seed)
                .map_err(|e| DrawError::Impossible(e.to_string()))?;
            vec![
                output("result.csv", result.to_csv()),
                output("report.json", result.to_report_json()),
            ]
        }
    };
    Ok(DrawOutcome {
        input_digest: digest,
        command: resolved,
        outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit_inputs(applicants: &str, schools: &str) -> Vec<InputFile> {
        vec![
            InputFile {
                role: "schools".into(),
                bytes: schools.as_bytes().to_vec(),
            },
            InputFile {
                role: "applicants".into(),
                bytes: applicants.as_bytes().to_vec(),
            },
        ]
    }

    #[test]
    fn the_canonical_form_is_the_documented_one() {
        let command = DrawCommand::Admit {
            mechanism: Mechanism::Boston,
        };
        let inputs = admit_inputs(
            "\u{feff}priorities,id,choices\r\n,b , Y;X\r\n\"X:1\",a,\"X\"\r\n",
            "capacity,code\n2,Y\n1,X\n",
        );
        let tables = parse_inputs(&command, &inputs).unwrap();
        let expected = "eduplan-fair-input/1\n== applicants ==\nid,choices,priorities\na,X,X:1\nb,Y;X,\n\
                        == schools ==\ncode,capacity\nX,1\nY,2\n";
        assert_eq!(canonical_inputs(&command, &tables), expected);
        assert_eq!(
            input_digest(&command, &inputs).unwrap(),
            sha256(expected.as_bytes())
        );
    }

    #[test]
    fn missing_extra_and_bad_files_are_all_reported_before_drawing() {
        let command = DrawCommand::Admit {
            mechanism: Mechanism::DeferredAcceptance,
        };
        let mut inputs = admit_inputs("id,choices\na,Q\n", "code,capacity\nX,one\n");
        let error = run_draw(&command, &inputs, &Seed::from_bytes([0; 32])).unwrap_err();
        let DrawError::Input(errors) = error else {
            panic!("expected input errors, got {error}")
        };
        let text = errors.to_string();
        assert!(text.contains("schools: line 2, column capacity"), "{text}");
        assert!(
            text.contains("applicants: line 2, column choices: unknown school code \"Q\""),
            "{text}"
        );
        inputs.push(InputFile {
            role: "pupils".into(),
            bytes: Vec::new(),
        });
        let error = run_draw(&command, &inputs, &Seed::from_bytes([0; 32])).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("pupils: line 0: admit takes no pupils file"),
            "{error}"
        );
        let only_one = vec![InputFile {
            role: "schools".into(),
            bytes: b"code,capacity\nX,1\n".to_vec(),
        }];
        let error = run_draw(&command, &only_one, &Seed::from_bytes([0; 32])).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("applicants: line 0: input file missing"),
            "{error}"
        );
    }

    #[test]
    fn options_survive_the_bundle_record() {
        let commands = [
            DrawCommand::Admit {
                mechanism: Mechanism::Boston,
            },
            DrawCommand::Balance {
                classes: 4,
                allow_scores: true,
                restarts: 3,
            },
            DrawCommand::Teachers { classes: 2 },
            DrawCommand::Seats {
                rows: 6,
                cols: 8,
                weeks: 20,
            },
            DrawCommand::Duty { days: 30 },
            DrawCommand::Election { seats: 3 },
        ];
        for command in commands {
            assert_eq!(
                DrawCommand::from_record(command.name(), &command.options()),
                Ok(command.clone())
            );
        }
        let mut options = DrawCommand::Duty { days: 3 }.options();
        options.insert("extra".into(), Value::Bool(true));
        assert!(DrawCommand::from_record("duty", &options).is_err());
    }
}
