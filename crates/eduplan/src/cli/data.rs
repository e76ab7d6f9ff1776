//! `eduplan import` and `eduplan export`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use edu_app::exchange::{ExportFormat, ExportKind, ImportKind, ImportOptions};
use edu_app::{Actor, AuditContext};

use super::platform::{DbArgs, open_existing, runtime};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// institutions, pupils, staff or population
    pub kind: String,
    /// A .csv (UTF-8 or GBK) or .xlsx file following the template (docs/import.md).
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
    /// Import the good rows and write the bad ones to a rejects file instead of importing nothing.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Where to write rejected rows (with --skip-bad-rows). Default: FILE.rejects.csv
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Validate and report what would change, writing nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let Some(kind) = ImportKind::parse(&args.kind) else {
        bail!(
            "unknown kind {:?}: use institutions, pupils, staff or population",
            args.kind
        );
    };
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let config = args.db.config()?;
    runtime()?.block_on(async move {
        let app = open_existing(&config).await?;
        let options = ImportOptions { skip_bad_rows: args.skip_bad_rows, dry_run: args.dry_run };
        let report = app
            .import(&Actor::operator("import"), kind, &bytes, &file_name, options, &AuditContext::cli("import"))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            for error in &report.errors {
                eprintln!("{}: {error}", args.file.display());
            }
            println!(
                "{}: {} 行 rows ({}), 新增 inserted {}, 更新 updated {}, 无变化 unchanged {}, 错误 errors {}",
                args.file.display(),
                report.rows,
                report.encoding,
                report.inserted,
                report.updated,
                report.unchanged,
                report.errors.len()
            );
        }
        if args.skip_bad_rows && !report.rejected.is_empty() {
            let path = args.rejects.clone().unwrap_or_else(|| {
                let mut p = args.file.as_os_str().to_owned();
                p.push(".rejects.csv");
                PathBuf::from(p)
            });
            std::fs::write(&path, report.rejects_csv()).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("被拒绝的行已写入 rejected rows written to {}", path.display());
        }
        if report.committed {
            println!("已写入 committed");
            Ok(ExitCode::SUCCESS)
        } else if report.dry_run && report.errors.is_empty() {
            println!("检查通过，未写入 dry run: valid, nothing written");
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("未写入任何数据 nothing was written");
            Ok(ExitCode::from(1))
        }
    })
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// institutions, pupils, staff or population
    pub kind: String,
    /// Output file; the format follows the extension (.xlsx or .csv).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Limit to a district (230602) or an institution (10-digit code).
    #[arg(long)]
    pub org: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let Some(kind) = ExportKind::parse(&args.kind) else {
        bail!(
            "unknown kind {:?}: use institutions, pupils, staff or population",
            args.kind
        );
    };
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("csv") => ExportFormat::Csv,
        Some("xlsx") => ExportFormat::Xlsx,
        _ => bail!("--out must end in .xlsx or .csv"),
    };
    let config = args.db.config()?;
    runtime()?.block_on(async move {
        let app = open_existing(&config).await?;
        let (bytes, _) = app
            .export(
                &Actor::operator("export"),
                kind,
                args.org.as_deref(),
                format,
                &AuditContext::cli("export"),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(&args.out, &bytes)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        println!(
            "已导出 exported {} ({} bytes)",
            args.out.display(),
            bytes.len()
        );
        Ok(ExitCode::SUCCESS)
    })
}
