//! The SQLite implementation of the storage port: WAL, foreign keys on, busy timeout, one writer connection.

mod allocations;
mod ledgers;
mod obligations;
mod plan;
mod read;
mod sql;
mod timetables;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;
use crate::port::AuditSealer;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// How many read connections (the writer is always one connection; SQLite serialises writes anyway, and a
    /// single writer makes "read the chain head, then append" race-free).
    pub readers: u32,
    pub busy_timeout: Duration,
    pub create_if_missing: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            busy_timeout: Duration::from_secs(10),
            create_if_missing: true,
        }
    }
}

/// A SQLite database: a read pool and a single-connection write pool on the same file.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) read: SqlitePool,
    pub(crate) write: SqlitePool,
    pub(crate) sealer: Arc<dyn AuditSealer>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// Opens (or creates) the database file and applies pending migrations.
    pub async fn open(
        path: &Path,
        options: &SqliteOptions,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<SqliteStore, StoreError> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000");
        Self::connect(connect, options, sealer).await
    }

    /// An in-memory database shared by the pools of this store (for tests).
    pub async fn open_in_memory(sealer: Arc<dyn AuditSealer>) -> Result<SqliteStore, StoreError> {
        // A named shared-cache memory database so the read and write pools see the same data.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = format!(
            "file:eduplan-mem-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        );
        let connect = SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Database(e.to_string()))?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let options = SqliteOptions {
            readers: 2,
            ..SqliteOptions::default()
        };
        Self::connect(connect, &options, sealer).await
    }

    async fn connect(
        connect: SqliteConnectOptions,
        options: &SqliteOptions,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<SqliteStore, StoreError> {
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.read_only(false))
            .await?;
        Ok(SqliteStore {
            read,
            write,
            sealer,
        })
    }

    /// Applied migration versions (for `eduplan migrate`).
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.read)
                .await?;
        Ok(rows)
    }

    /// Starts a write transaction on the single writer connection (for capability modules).
    #[allow(dead_code)] // used as capabilities gain tables
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.write.begin().await?)
    }

    /// Closes both pools (checkpointing the WAL).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}
