//! Settings: a TOML file, then `EDUPLAN_*` environment variables, then command-line flags. Typed and passed
//! explicitly; secrets (the key file's contents) never live here, only its path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use edu_app::SecuritySettings;
use edu_web::WebConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub keys: KeysConfig,
    pub log: LogConfig,
    pub security: SecuritySettings,
    pub web: WebConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub addr: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// SQLite file.
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
pub struct KeysConfig {
    /// Key file (SM4 data keys, blind-index and audit keys). Default: the database path + `.keys`.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// tracing filter, e.g. "info" or "edu_web=debug,info".
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig {
                addr: "127.0.0.1:8080".into(),
            },
            database: DatabaseConfig {
                path: PathBuf::from("eduplan.db"),
            },
            keys: KeysConfig { file: None },
            log: LogConfig {
                level: "info".into(),
            },
            security: SecuritySettings::default(),
            web: WebConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Config::default().server
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Config::default().database
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Config::default().log
    }
}

/// The environment variables read, with what they set.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("EDUPLAN_ADDR", "server.addr"),
    ("EDUPLAN_DB", "database.path"),
    ("EDUPLAN_KEY_FILE", "keys.file"),
    ("EDUPLAN_LOG", "log.level"),
    ("EDUPLAN_SECURE_COOKIES", "web.secure_cookies (true/false)"),
    ("EDUPLAN_HSTS", "web.hsts (true/false)"),
    (
        "EDUPLAN_IDLE_TIMEOUT_MINUTES",
        "security.idle_timeout_minutes",
    ),
];

fn env_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name}={value}: expected true or false"),
    }
}

impl Config {
    /// Reads the file (when given), then applies the environment.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str::<Config>(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = env("EDUPLAN_ADDR") {
            config.server.addr = v;
        }
        if let Some(v) = env("EDUPLAN_DB") {
            config.database.path = PathBuf::from(v);
        }
        if let Some(v) = env("EDUPLAN_KEY_FILE") {
            config.keys.file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("EDUPLAN_LOG") {
            config.log.level = v;
        }
        if let Some(v) = env("EDUPLAN_SECURE_COOKIES") {
            config.web.secure_cookies = env_bool("EDUPLAN_SECURE_COOKIES", &v)?;
        }
        if let Some(v) = env("EDUPLAN_HSTS") {
            config.web.hsts = env_bool("EDUPLAN_HSTS", &v)?;
        }
        if let Some(v) = env("EDUPLAN_IDLE_TIMEOUT_MINUTES") {
            config.security.idle_timeout_minutes = v
                .parse()
                .with_context(|| format!("EDUPLAN_IDLE_TIMEOUT_MINUTES={v}"))?;
        }
        config
            .security
            .validate()
            .map_err(|e| anyhow::anyhow!("[security] {e}"))?;
        config.addr()?;
        Ok(config)
    }

    pub fn addr(&self) -> anyhow::Result<SocketAddr> {
        self.server
            .addr
            .parse()
            .with_context(|| format!("server.addr {:?} is not HOST:PORT", self.server.addr))
    }

    pub fn key_file(&self) -> PathBuf {
        self.keys
            .file
            .clone()
            .unwrap_or_else(|| key_file_for(&self.database.path))
    }
}

/// The default key file beside a database: `eduplan.db` → `eduplan.db.keys`.
pub fn key_file_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("eduplan-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("eduplan.toml");
        std::fs::write(&path, "[server]\naddr = \"0.0.0.0:9000\"\n[database]\npath = \"/var/lib/eduplan/city.db\"\n[security]\nidle_timeout_minutes = 20\n").unwrap();
        let config = Config::load(Some(&path), |k| {
            (k == "EDUPLAN_ADDR").then(|| "127.0.0.1:9100".to_owned())
        })
        .unwrap();
        assert_eq!(config.server.addr, "127.0.0.1:9100");
        assert_eq!(
            config.database.path,
            PathBuf::from("/var/lib/eduplan/city.db")
        );
        assert_eq!(config.security.idle_timeout_minutes, 20);
        assert_eq!(
            config.key_file(),
            PathBuf::from("/var/lib/eduplan/city.db.keys")
        );
        // Unknown keys and unsafe values are refused.
        std::fs::write(&path, "[server]\nadress = \"x\"\n").unwrap();
        assert!(Config::load(Some(&path), |_| None).is_err());
        std::fs::write(&path, "[security]\nidle_timeout_minutes = 120\n").unwrap();
        assert!(
            Config::load(Some(&path), |_| None)
                .unwrap_err()
                .to_string()
                .contains("idle_timeout_minutes")
        );
        std::fs::write(&path, "[security]\naudit_retention_days = 30\n").unwrap();
        assert!(Config::load(Some(&path), |_| None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
