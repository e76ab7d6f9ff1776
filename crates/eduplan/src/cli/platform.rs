//! `eduplan demo`, `serve` and `migrate`, and how every platform command finds its database and keys.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use edu_app::demo::DemoOptions;
use edu_app::password::PasswordHasher;
use edu_app::{App, KeyRing, SecuritySettings, ShiftedClock, SystemClock};

use crate::config::{Config, key_file_for};

/// Where the database is: a configuration file, or a database file directly (keys beside it).
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Configuration file (TOML); `EDUPLAN_*` environment variables override it.
    #[arg(long, short = 'c', env = "EDUPLAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// SQLite database file (instead of a configuration file).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Key file (default: the database path + `.keys`).
    #[arg(long)]
    pub keys: Option<PathBuf>,
}

impl DbArgs {
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref(), |k| std::env::var(k).ok())?;
        if let Some(db) = &self.db {
            config.database.path = db.clone();
        }
        if let Some(keys) = &self.keys {
            config.keys.file = Some(keys.clone());
        }
        Ok(config)
    }
}

/// Background work of a serving process: records the day's scorecard (the trend) at start and every six hours.
fn spawn_daily_jobs(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            match app.record_plan_snapshots(None).await {
                Ok(n) => tracing::info!(values = n, "recorded the day's scorecard"),
                Err(error) => tracing::error!(%error, "could not record the day's scorecard"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(6 * 3600)).await;
        }
    });
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

fn hasher() -> PasswordHasher {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    PasswordHasher::new(cores)
}

/// The demo city lives in the 2021–22 school year: databases marked `clock_year` run on a clock shifted
/// into that year, whichever command opens them, so "today", deadlines and audit times agree with the data.
async fn adopt_clock(app: App) -> anyhow::Result<App> {
    let year = app
        .meta("clock_year")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(match year.and_then(|y| y.parse::<i16>().ok()) {
        Some(year) => app.with_clock(Arc::new(ShiftedClock::into_year(year))),
        None => app,
    })
}

/// Opens an existing database with its key file (never creates either).
pub async fn open_existing(config: &Config) -> anyhow::Result<App> {
    let db = &config.database.path;
    if !db.exists() {
        bail!(
            "database {} does not exist (run `eduplan migrate` to create one, or `eduplan demo` for the demo city)",
            db.display()
        );
    }
    let keys = KeyRing::load(&config.key_file())
        .with_context(|| format!("key file {}", config.key_file().display()))?;
    let app = App::open_sqlite(
        db,
        Arc::new(keys),
        Arc::new(SystemClock),
        config.security.clone(),
        hasher(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    adopt_clock(app).await
}

/// Opens a database, creating it and its key file when neither exists.
pub async fn open_or_create(config: &Config) -> anyhow::Result<App> {
    let db = &config.database.path;
    let key_file = config.key_file();
    if !key_file.exists() {
        if db.exists() {
            bail!(
                "database {} exists but its key file {} is missing",
                db.display(),
                key_file.display()
            );
        }
        KeyRing::generate()?.save(&key_file)?;
        eprintln!(
            "已生成密钥文件 created key file {} (keep it safe and back it up separately)",
            key_file.display()
        );
    }
    let keys = KeyRing::load(&key_file)?;
    let app = App::open_sqlite(
        db,
        Arc::new(keys),
        Arc::new(SystemClock),
        config.security.clone(),
        hasher(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    adopt_clock(app).await
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Demo database file; generated when it does not exist yet.
    #[arg(long, default_value = "eduplan-demo.db")]
    pub db: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Password of every demo account (default: a random one, printed).
    #[arg(long, env = "EDUPLAN_DEMO_PASSWORD")]
    pub password: Option<String>,
    /// Seed of the generated city (the same seed gives the same city).
    #[arg(long, default_value_t = 2021)]
    pub seed: u64,
    /// Fraction of the full city to generate (1.0 = about 300,000 pupils).
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub scale: f64,
    /// Generate the database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

fn progress_bar() -> impl FnMut(&str, u64, u64) + Send {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:24} [{bar:40.cyan/blue}] {pos}/{len} {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut phase = String::new();
    move |name: &str, done: u64, total: u64| {
        if name != phase {
            if !phase.is_empty() {
                bar.finish();
                bar.reset();
            }
            phase = name.to_owned();
            bar.set_message(name.to_owned());
        }
        bar.set_length(total);
        bar.set_position(done);
        if done >= total {
            bar.finish();
        }
    }
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Renames a SQLite database with its WAL and shared-memory files, if any are left.
fn move_sqlite(from: &Path, to: &Path) -> anyhow::Result<()> {
    for suffix in ["-wal", "-shm", ""] {
        let mut source = from.as_os_str().to_owned();
        source.push(suffix);
        let mut target = to.as_os_str().to_owned();
        target.push(suffix);
        let source = PathBuf::from(source);
        if source.exists() {
            std::fs::rename(&source, PathBuf::from(target))
                .with_context(|| format!("cannot move {} into place", source.display()))?;
        }
    }
    Ok(())
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    init_logging(&std::env::var("EDUPLAN_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()));
    let addr: std::net::SocketAddr = args
        .addr
        .parse()
        .with_context(|| format!("--addr {:?} is not HOST:PORT", args.addr))?;
    let password = match args.password.clone() {
        Some(p) if !p.is_empty() => p,
        _ => edu_app::one_time_password()?,
    };
    let key_file = key_file_for(&args.db);
    let rt = runtime()?;
    rt.block_on(async move {
        let mut config = Config { security: SecuritySettings::default(), ..Config::default() };
        config.database.path = args.db.clone();
        config.keys.file = Some(key_file.clone());
        let fresh = !args.db.exists();
        if fresh {
            // Generate into a side file and rename at the end, so an interrupted run never leaves a half city.
            let partial = PathBuf::from(format!("{}.partial", args.db.display()));
            remove_sqlite(&partial);
            let _ = std::fs::remove_file(&key_file);
            let mut partial_config = config.clone();
            partial_config.database.path = partial.clone();
            let app = open_or_create(&partial_config).await?;
            let clock = ShiftedClock::into_year(edu_app::demo::DEMO_YEAR);
            let app = app.with_clock(Arc::new(clock));
            println!("正在生成演示城市 generating the demo city (seed {}) …", args.seed);
            let started = Instant::now();
            let mut bar = progress_bar();
            let summary = app
                .generate_demo(&DemoOptions { seed: args.seed, password: password.clone(), scale: args.scale }, &mut bar)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            // Close the pools (checkpointing the WAL into the main file) before the file is moved.
            app.close().await;
            drop(app);
            move_sqlite(&partial, &args.db)?;
            println!(
                "已生成 generated: {} 所学校/机构 institutions, {} 名学生 pupils, {} 名教职工 staff, {} 个账号 accounts in {:.1} s",
                summary.institutions,
                summary.pupils,
                summary.staff,
                summary.users,
                started.elapsed().as_secs_f64()
            );
            print_accounts(&summary, &password, args.password.is_some());
        } else {
            println!("使用已有的演示数据库 using the existing demo database {}", args.db.display());
            if args.password.is_none() {
                println!("（账号密码为首次生成时打印的密码 / the password is the one printed when it was generated）");
            }
        }
        if args.no_serve {
            return Ok(ExitCode::SUCCESS);
        }
        let app = open_existing(&config).await?;
        let today = edu_model::china_time::business_date(app.now());
        println!("演示城市处于 2021–22 学年；演示日期 the demo city lives in the 2021–22 school year; demo date: {today}");
        // The demo serves plain HTTP on the loopback interface: a `Secure` cookie would be dropped by clients
        // that only send it over HTTPS, so the demo uses a plain session cookie. `serve` defaults to secure.
        let web = edu_web::WebConfig { secure_cookies: false, ..edu_web::WebConfig::default() };
        println!("\nEduPlan 演示 demo: http://{addr}/   (Ctrl-C 退出 to stop)");
        spawn_daily_jobs(&app);
        edu_web::serve(app, web, addr).await.with_context(|| format!("cannot serve on {addr}"))?;
        Ok(ExitCode::SUCCESS)
    })
}

fn print_accounts(summary: &edu_app::demo::DemoSummary, password: &str, given: bool) {
    println!(
        "\n演示账号 demo accounts (密码 password: {password}){}",
        if given {
            ""
        } else {
            "  ← 请记下 write it down"
        }
    );
    for (username, role, scope, name) in &summary.accounts {
        println!("  {username:<14} {role:<16} {scope:<11} {name}");
    }
    println!("  s<学校标识码>   school_admin     每所学校一个账号 one per institution, e.g.:");
    for (code, name) in summary.sample_schools.iter().take(3) {
        println!("  s{code:<13} school_admin     {code:<11} {name}");
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Override server.addr.
    #[arg(long)]
    pub addr: Option<String>,
    /// Print the effective configuration (file + environment) as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.db.config()?;
    if let Some(addr) = args.addr {
        config.server.addr = addr;
    }
    if args.print_config {
        println!(
            "{}",
            toml::to_string_pretty(&config).context("cannot print the configuration")?
        );
        println!("# Environment variables read:");
        for (name, what) in crate::config::ENVIRONMENT {
            println!("#   {name:<32} {what}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    init_logging(&config.log.level);
    let addr = config.addr()?;
    runtime()?.block_on(async move {
        let app = open_existing(&config).await?;
        if !app.has_users().await.map_err(|e| anyhow::anyhow!("{e}"))? {
            eprintln!("提示 note: the database has no users yet; create the first administrators with `eduplan user create`.");
        }
        tracing::info!(%addr, db = %config.database.path.display(), "serving");
        println!("EduPlan: http://{addr}/");
        spawn_daily_jobs(&app);
        edu_web::serve(app, config.web.clone(), addr).await.with_context(|| format!("cannot serve on {addr}"))?;
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// Creates the database (and key file) if needed and applies pending migrations.
pub fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = args.db.config()?;
    runtime()?.block_on(async move {
        let created = !config.database.path.exists();
        let app = open_or_create(&config).await?;
        drop(app);
        println!(
            "{} {}: schema up to date",
            if created {
                "已创建 created"
            } else {
                "已迁移 migrated"
            },
            config.database.path.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
