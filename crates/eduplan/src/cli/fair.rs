//! `eduplan fair`: verifiable draws (四零承诺). Reads and writes files and maps errors to exit
//! codes; everything else is in the pure `edu-fair` crate. See docs/fair.md.

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use edu_fair::admit::Mechanism;
use edu_fair::bundle::{Bundle, input_path, verify};
use edu_fair::draw::{DrawCommand, DrawError, InputFile, OutputFile, input_digest, run_draw};
use edu_fair::seed::{Ceremony, Seed, bytes_from_hex, ceremony_seed, digest_from_hex};
use edu_fair::time::{check_rfc3339, rfc3339_utc};

#[derive(Debug, clap::Args)]
pub struct FairArgs {
    #[command(subcommand)]
    command: FairCommand,
}

#[derive(Debug, clap::Subcommand)]
enum FairCommand {
    /// The draw ceremony: seed = SHA-256(secret ‖ beacon ‖ input_digest); prints the seed.
    Seed {
        /// The bureau's secret (hex), whose SHA-256 was published before the draw.
        #[arg(long, value_name = "HEX")]
        commitment_secret: String,
        /// The public beacon (UTF-8 text), e.g. the day's official lottery numbers.
        #[arg(long, value_name = "TEXT")]
        beacon: String,
        /// The input digest (64 hex), from `eduplan fair digest`.
        #[arg(long, value_name = "HEX")]
        input_digest: String,
    },
    /// Print the input digest of a draw's inputs (publish it before the draw).
    Digest {
        /// The draw the inputs are for: admit, balance, teachers, seats, duty, election.
        #[arg(long = "for", value_name = "COMMAND")]
        for_command: String,
        #[arg(long)]
        applicants: Option<PathBuf>,
        #[arg(long)]
        schools: Option<PathBuf>,
        #[arg(long)]
        pupils: Option<PathBuf>,
        #[arg(long)]
        teachers: Option<PathBuf>,
        #[arg(long)]
        ballots: Option<PathBuf>,
    },
    /// Admission lottery (deferred acceptance or Boston), single tie-breaking.
    Admit {
        #[arg(long)]
        applicants: PathBuf,
        #[arg(long)]
        schools: PathBuf,
        /// da (applicant-proposing deferred acceptance) or boston (immediate acceptance).
        #[arg(long, value_parser = ["da", "boston"])]
        mechanism: String,
        #[command(flatten)]
        draw: DrawOptions,
    },
    /// Balanced class division (均衡分班).
    Balance {
        #[arg(long)]
        pupils: PathBuf,
        #[arg(long)]
        classes: u32,
        /// Allow score:<subject> columns (senior high only).
        #[arg(long)]
        allow_scores: bool,
        /// Search restarts (0 = automatic from the size); recorded in the bundle.
        #[arg(long, default_value_t = 0)]
        restarts: u32,
        #[command(flatten)]
        draw: DrawOptions,
    },
    /// Teacher–class draw.
    Teachers {
        #[arg(long)]
        teachers: PathBuf,
        #[arg(long)]
        classes: u32,
        #[command(flatten)]
        draw: DrawOptions,
    },
    /// Seating over several weeks.
    Seats {
        #[arg(long)]
        pupils: PathBuf,
        #[arg(long)]
        rows: u32,
        #[arg(long)]
        cols: u32,
        #[arg(long)]
        weeks: u32,
        #[command(flatten)]
        draw: DrawOptions,
    },
    /// Duty-monitor rota (值日班长).
    Duty {
        #[arg(long)]
        pupils: PathBuf,
        #[arg(long)]
        days: u32,
        #[command(flatten)]
        draw: DrawOptions,
    },
    /// Class-cadre election count.
    Election {
        #[arg(long)]
        ballots: PathBuf,
        #[arg(long)]
        seats: u32,
        #[command(flatten)]
        draw: DrawOptions,
    },
    /// Re-run a draw from its bundle and the files beside it; exit 1 if anything differs.
    Verify {
        /// DIR/bundle.json
        bundle: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct DrawOptions {
    /// The seed: 64 hex characters. Or give --commitment-secret and --beacon instead.
    #[arg(long, value_name = "HEX")]
    seed: Option<String>,
    /// Make the seed by the ceremony from this secret (hex), the beacon and the input digest.
    #[arg(long, value_name = "HEX", requires = "beacon")]
    commitment_secret: Option<String>,
    /// The public beacon for the ceremony.
    #[arg(long, value_name = "TEXT", requires = "commitment_secret")]
    beacon: Option<String>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Time of the draw recorded in bundle.json (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    draw_time: Option<String>,
}

pub fn run(args: FairArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        FairCommand::Seed {
            commitment_secret,
            beacon,
            input_digest,
        } => {
            let secret = bytes_from_hex(&commitment_secret).context("--commitment-secret")?;
            let digest = digest_from_hex(&input_digest).context("--input-digest")?;
            println!("{}", ceremony_seed(&secret, &beacon, &digest));
            Ok(ExitCode::SUCCESS)
        }
        FairCommand::Digest {
            for_command,
            applicants,
            schools,
            pupils,
            teachers,
            ballots,
        } => {
            let command = placeholder_command(&for_command)?;
            let given = [
                ("applicants", applicants),
                ("schools", schools),
                ("pupils", pupils),
                ("teachers", teachers),
                ("ballots", ballots),
            ];
            let mut inputs = Vec::new();
            for (role, path) in given {
                if let Some(path) = path {
                    inputs.push(read_input(role, &path)?);
                }
            }
            let digest = input_digest(&command, &inputs).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", hex_string(&digest));
            Ok(ExitCode::SUCCESS)
        }
        FairCommand::Admit {
            applicants,
            schools,
            mechanism,
            draw,
        } => {
            let mechanism =
                Mechanism::parse(&mechanism).context("--mechanism must be da or boston")?;
            let inputs = vec![
                read_input("applicants", &applicants)?,
                read_input("schools", &schools)?,
            ];
            run_and_write(DrawCommand::Admit { mechanism }, inputs, &draw)
        }
        FairCommand::Balance {
            pupils,
            classes,
            allow_scores,
            restarts,
            draw,
        } => {
            let inputs = vec![read_input("pupils", &pupils)?];
            run_and_write(
                DrawCommand::Balance {
                    classes,
                    allow_scores,
                    restarts,
                },
                inputs,
                &draw,
            )
        }
        FairCommand::Teachers {
            teachers,
            classes,
            draw,
        } => run_and_write(
            DrawCommand::Teachers { classes },
            vec![read_input("teachers", &teachers)?],
            &draw,
        ),
        FairCommand::Seats {
            pupils,
            rows,
            cols,
            weeks,
            draw,
        } => run_and_write(
            DrawCommand::Seats { rows, cols, weeks },
            vec![read_input("pupils", &pupils)?],
            &draw,
        ),
        FairCommand::Duty { pupils, days, draw } => run_and_write(
            DrawCommand::Duty { days },
            vec![read_input("pupils", &pupils)?],
            &draw,
        ),
        FairCommand::Election {
            ballots,
            seats,
            draw,
        } => run_and_write(
            DrawCommand::Election { seats },
            vec![read_input("ballots", &ballots)?],
            &draw,
        ),
        FairCommand::Verify { bundle } => verify_bundle(&bundle),
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A command of the given name; its options do not matter for the input digest.
fn placeholder_command(name: &str) -> anyhow::Result<DrawCommand> {
    Ok(match name {
        "admit" => DrawCommand::Admit {
            mechanism: Mechanism::DeferredAcceptance,
        },
        "balance" => DrawCommand::Balance {
            classes: 1,
            allow_scores: true,
            restarts: 0,
        },
        "teachers" => DrawCommand::Teachers { classes: 1 },
        "seats" => DrawCommand::Seats {
            rows: 1,
            cols: 1,
            weeks: 1,
        },
        "duty" => DrawCommand::Duty { days: 1 },
        "election" => DrawCommand::Election { seats: 1 },
        other => {
            bail!("--for {other:?}: expected admit, balance, teachers, seats, duty or election")
        }
    })
}

fn read_input(role: &str, path: &Path) -> anyhow::Result<InputFile> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the {role} file {}", path.display()))?;
    Ok(InputFile {
        role: role.to_string(),
        bytes,
    })
}

fn run_and_write(
    command: DrawCommand,
    inputs: Vec<InputFile>,
    options: &DrawOptions,
) -> anyhow::Result<ExitCode> {
    let draw_time = match &options.draw_time {
        Some(text) => check_rfc3339(text).map_err(anyhow::Error::msg)?.to_string(),
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the clock is before 1970")?;
            rfc3339_utc(now.as_secs() as i64)
        }
    };
    let ceremony = match (&options.commitment_secret, &options.beacon) {
        (Some(secret), Some(beacon)) => Some(Ceremony {
            secret: bytes_from_hex(secret).context("--commitment-secret")?,
            beacon: beacon.clone(),
        }),
        _ => None,
    };
    let seed = match (&ceremony, &options.seed) {
        (Some(ceremony), given) => {
            let digest = input_digest(&command, &inputs)
                .map_err(|e| anyhow::anyhow!("nothing written: {e}"))?;
            let seed = ceremony.seed(&digest);
            if let Some(given) = given
                && Seed::from_hex(given).context("--seed")? != seed
            {
                bail!(
                    "--seed does not match the ceremony (secret, beacon, input digest) seed {seed}"
                );
            }
            seed
        }
        (None, Some(given)) => Seed::from_hex(given).context("--seed")?,
        (None, None) => bail!("give --seed HEX, or --commitment-secret HEX with --beacon TEXT"),
    };
    let outcome = match run_draw(&command, &inputs, &seed) {
        Ok(outcome) => outcome,
        Err(DrawError::Conflict(conflict)) => {
            eprintln!("冲突 conflict: {conflict}");
            eprintln!("nothing written");
            return Ok(ExitCode::from(1));
        }
        Err(error) => bail!("{error}\nnothing written"),
    };
    let bundle = Bundle::new(&outcome, &seed, ceremony.as_ref(), &inputs, &draw_time);
    let out = &options.out;
    std::fs::create_dir_all(out.join("inputs"))
        .with_context(|| format!("cannot create {}", out.display()))?;
    for input in &inputs {
        write_file(&out.join(input_path(&input.role)), &input.bytes)?;
    }
    for output in &outcome.outputs {
        write_file(&out.join(&output.name), &output.bytes)?;
    }
    write_file(&out.join("bundle.json"), bundle.to_json().as_bytes())?;
    println!(
        "{} draw done: seed {seed}, input digest {}",
        command.name(),
        bundle.input_digest
    );
    for output in &outcome.outputs {
        println!("  {}", out.join(&output.name).display());
    }
    println!("  {}", out.join("bundle.json").display());
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// A path from a bundle must stay inside the bundle's directory.
fn inside(dir: &Path, relative: &str) -> Option<PathBuf> {
    let path = Path::new(relative);
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| dir.join(path))
}

fn verify_bundle(path: &Path) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("NOT verified: cannot read {}: {error}", path.display());
            return Ok(ExitCode::from(1));
        }
    };
    let bundle = match Bundle::from_json(&text) {
        Ok(bundle) => bundle,
        Err(error) => {
            eprintln!("NOT verified: {}: {error}", path.display());
            return Ok(ExitCode::from(1));
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut inputs = Vec::new();
    for record in &bundle.inputs {
        if let Some(file) = inside(dir, &record.file)
            && let Ok(bytes) = std::fs::read(&file)
        {
            inputs.push(InputFile {
                role: record.role.clone(),
                bytes,
            });
        }
    }
    let mut outputs = Vec::new();
    for name in bundle.output_digest.keys() {
        if let Some(file) = inside(dir, name)
            && let Ok(bytes) = std::fs::read(&file)
        {
            outputs.push(OutputFile {
                name: name.clone(),
                bytes,
            });
        }
    }
    let report = verify(&bundle, &inputs, &outputs);
    println!("{report}");
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
