//! Load benchmark of the reporting obligations (issue 4), against a real server on loopback.
//!
//! ```text
//! reports-bench prepare --db city.db --password P --schools 400 --out tokens.tsv   # API sessions, written to a file
//! reports-bench serve   --db city.db --addr 127.0.0.1:8480                          # the EduPlan web app
//! reports-bench load    --addr 127.0.0.1:8480 --tokens tokens.tsv --rate 1000 --duration 60
//! reports-bench probe   --addr 127.0.0.1:8480 --tokens tokens.tsv --path '/api/v1/obligations/health-daily/status?org=230600' --n 50
//! ```
//!
//! The server is `edu_web::serve` on the demo database, with the shipped plan except one line: the daily health
//! report's window opens 800 days before its day and expires 800 days after, so a load of 60,000+ distinct
//! (school, day) submissions exists at one instant (with the real window only today's and yesterday's reports are
//! open: ~1,800 for the whole city). Everything else — validation, encryption, seals, idempotency keys, health
//! follow-up, the audit row per write, the single SQLite writer — is the production path.
//!
//! The load is open-loop: request k is due at `start + k / rate` whatever happened before, and its latency is
//! measured from that due time, so a server that falls behind is charged for the queue it builds (no coordinated
//! omission). Every request carries a unique `Idempotency-Key`; any answer other than 2xx counts as an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use edu_app::password::PasswordHasher;
use edu_app::{Actor, App, AuditContext, KeyRing, LoadedPlan, SecuritySettings, SessionKind, ShiftedClock};
use jiff::civil::Date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OWING_KINDS: [&str; 8] = [
    "kindergarten",
    "primary",
    "junior",
    "senior",
    "nine_year",
    "twelve_year",
    "vocational",
    "special",
];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn need(args: &[String], name: &str) -> anyhow::Result<String> {
    arg(args, name).with_context(|| format!("missing {name}"))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let command = args.get(1).cloned().unwrap_or_default();
    match command.as_str() {
        "prepare" | "serve" => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async {
                if command == "prepare" {
                    prepare(&args).await
                } else {
                    serve(&args).await
                }
            })
        }
        "load" | "probe" => {
            // The load generator stays on one thread so it leaves the other core to the server.
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                if command == "load" {
                    load(&args).await
                } else {
                    probe(&args).await
                }
            })
        }
        _ => bail!("usage: reports-bench prepare|serve|load|probe … (see the source's header)"),
    }
}

/// The shipped plan with the daily health report's window widened (see the module documentation).
fn bench_plan() -> anyhow::Result<LoadedPlan> {
    let text = LoadedPlan::default_plan()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .source;
    let window = "[obligations.health-daily.window]\n\
                  opens = { from = \"start\", days = 0, time = \"00:00\" }\n\
                  due = { from = \"start\", days = 0, time = \"09:00\" }\n\
                  expires = { from = \"start\", days = 1, time = \"23:59:59\" }";
    if !text.contains(window) {
        bail!("the plan's health-daily window is not the one this benchmark widens");
    }
    let widened = text.replace(
        window,
        "[obligations.health-daily.window]\n\
         opens = { from = \"start\", days = -800, time = \"00:00\" }\n\
         due = { from = \"start\", days = 0, time = \"09:00\" }\n\
         expires = { from = \"start\", days = 800, time = \"23:59:59\" }",
    );
    LoadedPlan::parse(&widened).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn open(db: &Path) -> anyhow::Result<App> {
    let key_file = PathBuf::from(format!("{}.keys", db.display()));
    let keys = KeyRing::load(&key_file).with_context(|| format!("key file {}", key_file.display()))?;
    let app = App::open_sqlite(
        db,
        Arc::new(keys),
        Arc::new(edu_app::SystemClock),
        SecuritySettings::default(),
        PasswordHasher::new(2),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(app
        .with_clock(Arc::new(ShiftedClock::into_year(2021)))
        .with_plan(bench_plan()?))
}

/// Signs in `--schools` school accounts (and `city`) in-process and writes `code<TAB>token` lines.
async fn prepare(args: &[String]) -> anyhow::Result<()> {
    let db = PathBuf::from(need(args, "--db")?);
    let password = need(args, "--password")?;
    let wanted: usize = arg(args, "--schools").unwrap_or_else(|| "400".into()).parse()?;
    let out = PathBuf::from(need(args, "--out")?);
    let app = open(&db).await?;
    let operator = Actor::operator("bench");
    let mut codes = Vec::new();
    for n in 1.. {
        let page = app
            .institutions(&operator, &Default::default(), edu_app::page(n, 200))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if page.items.is_empty() {
            break;
        }
        codes.extend(
            page.items
                .into_iter()
                .filter(|i| i.status == "open" && OWING_KINDS.contains(&i.kind.as_str()))
                .map(|i| i.code),
        );
    }
    // Spread the chosen schools over the whole list (every district, every kind).
    let step = (codes.len() as f64 / wanted.max(1) as f64).max(1.0);
    let chosen: Vec<String> = (0..wanted.min(codes.len()))
        .map(|k| codes[((k as f64) * step) as usize].clone())
        .collect();
    let mut lines = Vec::new();
    let started = Instant::now();
    for (n, who) in std::iter::once("city".to_owned())
        .chain(chosen.iter().map(|c| format!("s{c}")))
        .enumerate()
    {
        // Each sign-in from its own address: the per-address login throttle is not what is measured here.
        let context = AuditContext {
            ip: format!("10.99.{}.{}", n / 250, n % 250 + 1),
            user_agent: "reports-bench".into(),
            request_id: String::new(),
        };
        let outcome = app
            .login(&who, &password, SessionKind::Api, &context)
            .await
            .map_err(|e| anyhow::anyhow!("login {who}: {e}"))?;
        lines.push(format!("{}\t{}", who.trim_start_matches('s'), outcome.token));
    }
    std::fs::write(&out, lines.join("\n") + "\n")?;
    eprintln!(
        "{} sessions written to {} in {:.1} s",
        lines.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    app.close().await;
    Ok(())
}

async fn serve(args: &[String]) -> anyhow::Result<()> {
    let db = PathBuf::from(need(args, "--db")?);
    let addr: std::net::SocketAddr = need(args, "--addr")?.parse()?;
    let app = open(&db).await?;
    let config = edu_web::WebConfig {
        secure_cookies: false,
        ..edu_web::WebConfig::default()
    };
    eprintln!("serving {} on http://{addr}/ (bench plan)", db.display());
    edu_web::serve(app, config, addr).await?;
    Ok(())
}

fn read_tokens(path: &str) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(path)?;
    let mut city = String::new();
    let mut schools = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (who, token) = line.split_once('\t').context("a tokens line is code<TAB>token")?;
        if who == "city" {
            city = token.to_owned();
        } else {
            schools.push((who.to_owned(), token.to_owned()));
        }
    }
    Ok((city, schools))
}

/// A minimal HTTP/1.1 keep-alive client: one request at a time on one connection.
struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_owned(),
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends a request and returns (status, body).
    async fn request(&mut self, head: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let result = self.exchange(head, body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, head: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        let stream = self.stream.as_mut().context("not connected")?;
        let mut message = Vec::with_capacity(head.len() + body.len());
        message.extend_from_slice(head.as_bytes());
        message.extend_from_slice(body);
        stream.write_all(&message).await?;
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        let header_end = loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed");
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let head_text = String::from_utf8_lossy(&self.buf[..header_end]).to_string();
        let status: u16 = head_text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let length: usize = head_text
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while self.buf.len() < header_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed in the body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok((status, self.buf[header_end..header_end + length].to_vec()))
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// School days the widened window accepts and the demo data leaves free: the autumn term of 2020 and every school
/// day after the demo's today.
fn free_days(today: Date) -> Vec<Date> {
    let calendar = edu_app::obligations::daqing_school_calendar();
    let mut out = Vec::new();
    let mut day = Date::constant(2020, 9, 1);
    let end = Date::constant(2022, 7, 8);
    while day <= end {
        let free = day < Date::constant(2021, 1, 1) || day > today;
        if free && calendar.is_school_day(day) {
            out.push(day);
        }
        day = edu_app::obligations::form::china_time::add_days(day, 1);
    }
    out
}

/// A health report body for job `k`: 40 % zero reports, 59 % small counts, 1 % with one line-list case.
fn body_for(k: u64, day: Date, today: Date) -> String {
    let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let kind = next(100);
    if kind < 40 {
        return format!(r#"{{"period":"{day}","zero":true}}"#);
    }
    let (ill, personal, other) = (next(4), next(4), next(2));
    let (staff_ill, staff_personal) = (next(2), next(2));
    let cases = if kind == 99 {
        let onset = if day > today { today } else { day };
        format!(
            r#","symptomatic_pupils":1,"cases":[{{"person_kind":"pupil","person":"B{k}","class_name":"一年一班","symptoms":["fever"],"onset_date":"{onset}","measures":["home_observation"],"follow_up":"observing"}}]"#
        )
    } else {
        r#","symptomatic_pupils":0"#.to_owned()
    };
    format!(
        r#"{{"period":"{day}","values":{{"absent_pupils":{},"absent_pupils_ill":{ill},"absent_pupils_personal":{personal},"absent_pupils_other":{other},"absent_staff":{},"absent_staff_ill":{staff_ill},"absent_staff_personal":{staff_personal},"absent_staff_other":0,"symptomatic_staff":0{cases}}}}}"#,
        ill + personal + other,
        staff_ill + staff_personal,
    )
}

async fn load(args: &[String]) -> anyhow::Result<()> {
    let addr = need(args, "--addr")?;
    let (_, schools) = read_tokens(&need(args, "--tokens")?)?;
    let rate: f64 = arg(args, "--rate").unwrap_or_else(|| "1000".into()).parse()?;
    let duration: f64 = arg(args, "--duration").unwrap_or_else(|| "60".into()).parse()?;
    let warmup: f64 = arg(args, "--warmup").unwrap_or_else(|| "5".into()).parse()?;
    let connections: usize = arg(args, "--connections").unwrap_or_else(|| "64".into()).parse()?;
    let run = arg(args, "--run").unwrap_or_else(|| format!("{}", std::process::id()));
    let today = edu_app::obligations::form::china_time::china_date(
        jiff::Timestamp::now() + ShiftedClock::into_year(2021).offset(),
    );
    let days = free_days(today);
    let total = ((warmup + duration) * rate).ceil() as u64;
    let capacity = (days.len() * schools.len()) as u64;
    if schools.is_empty() || capacity < total {
        bail!("{} schools × {} free days = {capacity} submissions < {total} needed", schools.len(), days.len());
    }
    eprintln!(
        "load: {rate}/s for {warmup}+{duration} s over {connections} connections; {} schools × {} free days",
        schools.len(),
        days.len()
    );
    let schools = Arc::new(schools);
    let days = Arc::new(days);
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let measure_from = warmup;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (schools, days, addr, run) = (schools.clone(), days.clone(), addr.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(&addr);
            let mut latencies: Vec<u64> = Vec::new();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let mut failures = 0u64;
            let mut measured = 0u64;
            let mut k = c as u64;
            while k < total {
                let offset = k as f64 / rate;
                let due = start + Duration::from_secs_f64(offset);
                tokio::time::sleep_until(due).await;
                // Job k: day-major, so each school files its days in order.
                let school = (k as usize) % schools.len();
                let day = days[(k as usize) / schools.len()];
                let (_, token) = &schools[school];
                let body = body_for(k, day, today);
                let head = format!(
                    "POST /api/v1/obligations/health-daily/submissions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: bench-{run}-{k}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let result = conn.request(&head, body.as_bytes()).await;
                let latency = due.elapsed().as_micros() as u64;
                if offset >= measure_from {
                    measured += 1;
                    latencies.push(latency);
                    match result {
                        Ok((status, _)) => *statuses.entry(status).or_default() += 1,
                        Err(_) => failures += 1,
                    }
                }
                k += connections as u64;
            }
            (latencies, statuses, failures, measured)
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut failures, mut measured) = (0, 0);
    for t in tasks {
        let (l, s, f, m) = t.await?;
        latencies.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
        failures += f;
        measured += m;
    }
    let finished = start.elapsed().as_secs_f64() - warmup;
    latencies.sort_unstable();
    let ok: u64 = statuses.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, n)| n).sum();
    let errors = measured - ok;
    println!("measured requests   {measured} (after {warmup} s warm-up)");
    println!("measured window     {duration:.1} s scheduled, {finished:.1} s until the last answer");
    println!("throughput          {:.1} submissions/s (2xx answers ÷ scheduled window)", ok as f64 / duration);
    println!("statuses            {statuses:?}; transport failures {failures}");
    println!("errors              {errors}");
    println!(
        "latency ms          p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    Ok(())
}

async fn probe(args: &[String]) -> anyhow::Result<()> {
    let addr = need(args, "--addr")?;
    let (city, _) = read_tokens(&need(args, "--tokens")?)?;
    let path = need(args, "--path")?;
    let n: usize = arg(args, "--n").unwrap_or_else(|| "50".into()).parse()?;
    let mut conn = Conn::new(&addr);
    let mut latencies = Vec::with_capacity(n);
    let mut size = 0;
    let mut missing = 0;
    for _ in 0..n {
        let head = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {city}\r\n\r\n");
        let t = Instant::now();
        let (status, body) = conn.request(&head, b"").await?;
        latencies.push(t.elapsed().as_micros() as u64);
        if status != 200 {
            bail!("{path} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        size = body.len();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
            missing = v["missing_institutions"].as_array().map(Vec::len).unwrap_or(0);
        }
    }
    latencies.sort_unstable();
    println!("{path}");
    println!(
        "  {n} sequential requests: p50 {:.1} ms  p95 {:.1} ms  max {:.1} ms; {size} bytes, {missing} institutions missing",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 100.0)
    );
    Ok(())
}
