//! `eduplan user …` and `eduplan audit verify`: operator commands run on the server (they hold the key file).

use std::process::ExitCode;

use anyhow::Context;
use edu_app::{Actor, AppError, AuditContext, NewUser};

use super::platform::{DbArgs, open_existing, open_or_create, runtime};

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create an account with a one-time password (printed; must be changed at first login within 24 hours).
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        /// city_admin, district_admin, school_admin, teacher, inspector, system_admin, security_admin, audit_admin
        #[arg(long)]
        role: String,
        /// City (230600), district (e.g. 230602) or 10-digit school code.
        #[arg(long)]
        scope: String,
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
    /// Re-enable a disabled account.
    Enable {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
    /// Set a new one-time password (printed), unlock, and end all sessions.
    ResetPassword {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
    /// Lift a lockout.
    Unlock {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

fn describe(error: AppError) -> anyhow::Error {
    match error {
        AppError::Invalid(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.reason))
                .collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        AppError::Password(violations) => {
            let lines: Vec<String> = violations
                .iter()
                .map(|v| format!("  {} / {}", v.message_zh(), v.message_en()))
                .collect();
            anyhow::anyhow!("password refused:\n{}", lines.join("\n"))
        }
        AppError::NotFound => anyhow::anyhow!("no such user"),
        other => anyhow::anyhow!("{other}"),
    }
}

pub fn user(args: UserArgs) -> anyhow::Result<ExitCode> {
    let operator = Actor::operator("user");
    let context = AuditContext::cli("user");
    runtime()?.block_on(async move {
        match args.command {
            UserCommand::Create { db, username, role, scope, display_name } => {
                // The first administrators of a fresh deployment are created here, so the database may be new.
                let app = open_or_create(&db.config()?).await?;
                let new = NewUser { username: username.clone(), display_name, role, scope_code: scope, password: None };
                let (_, password) = app.create_user(&operator, &new, &context).await.map_err(describe)?;
                println!("已创建用户 created user {username}");
                println!("一次性密码 one-time password: {password}");
                println!("（24 小时内首次登录时必须修改 / must be changed at first login within 24 hours）");
            }
            UserCommand::Disable { db, username } => {
                let app = open_existing(&db.config()?).await?;
                app.set_user_disabled(&operator, &username, true, &context).await.map_err(describe)?;
                println!("已停用 disabled {username}");
            }
            UserCommand::Enable { db, username } => {
                let app = open_existing(&db.config()?).await?;
                app.set_user_disabled(&operator, &username, false, &context).await.map_err(describe)?;
                println!("已启用 enabled {username}");
            }
            UserCommand::ResetPassword { db, username } => {
                let app = open_existing(&db.config()?).await?;
                let password = app.reset_password(&operator, &username, &context).await.map_err(describe)?;
                println!("已重置 reset {username}; 一次性密码 one-time password: {password}");
            }
            UserCommand::Unlock { db, username } => {
                let app = open_existing(&db.config()?).await?;
                app.unlock_user(&operator, &username, &context).await.map_err(describe)?;
                println!("已解锁 unlocked {username}");
            }
            UserCommand::List { db } => {
                let app = open_existing(&db.config()?).await?;
                let mut page = 1;
                loop {
                    let users = app.list_users(&operator, edu_app::page(page, 200)).await.map_err(describe)?;
                    for u in &users.items {
                        let state = if u.disabled { "disabled" } else if u.locked { "locked" } else { "active" };
                        println!("{:<16} {:<16} {:<11} {:<9} {}", u.username, u.role, u.scope_code, state, u.display_name);
                    }
                    if users.items.len() < 200 {
                        break;
                    }
                    page += 1;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the audit hash chain; exits 1 and names the first broken row if anything was altered.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        match args.command {
            AuditCommand::Verify { db, json } => {
                let config = db.config()?;
                let app = open_existing(&config).await?;
                let report = app.verify_audit().await.map_err(describe)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report).context("json")?);
                }
                match &report.broken {
                    None => {
                        if !json {
                            println!(
                                "审计链完整 audit chain intact: {} rows (#{} … #{}), head {}",
                                report.rows_checked,
                                report.first_seq.unwrap_or(0),
                                report.last_seq.unwrap_or(0),
                                report.head_hash.as_deref().unwrap_or("-")
                            );
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Some(broken) => {
                        if !json {
                            println!(
                                "审计链被破坏 audit chain BROKEN at row #{}: {}",
                                broken.seq, broken.reason
                            );
                            println!(
                                "({} rows checked before it)",
                                report.rows_checked.saturating_sub(1)
                            );
                        }
                        Ok(ExitCode::from(1))
                    }
                }
            }
        }
    })
}
