//! Opening the database: one pool behind sqlx's Any driver, so every query is written once and runs
//! on SQLite (file or memory) and PostgreSQL alike. Queries use `$1` placeholders, which both accept.

use crate::config::{is_memory_url, redact_url, system_of_url, DbSystem};
use crate::error::{failed, Result, StoreError};
use crate::migrations;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// The SQL dialect behind the store, for the few statements the two write differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

/// The server's storage. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    dialect: Dialect,
    system: DbSystem,
}

/// SQLite settings for every connection. WAL lets readers (API, log followers) run beside the
/// writer; synchronous=FULL makes each commit (a batch of log lines, a finished build) survive a
/// power cut, not only a crash; a writer waits for another instead of failing at once.
const SQLITE_FILE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";
const SQLITE_MEMORY_PRAGMAS: &str = "PRAGMA foreign_keys = ON;";

impl Store {
    /// Opens the database at `url` (`sqlite::memory:`, `sqlite://<file>`, `postgres://...`; see
    /// [`crate::DbConfig::to_url`]) and, if `run_migrations`, brings its schema up to date.
    /// Without migrations, a schema older than this build is an error rather than a surprise later.
    /// An in-memory database is always migrated: it starts empty every time.
    pub async fn connect(url: &str, run_migrations: bool) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let system = system_of_url(url)?;
        let shown = redact_url(url);
        let dialect = if system == DbSystem::Postgresql { Dialect::Postgres } else { Dialect::Sqlite };
        let url = match system {
            // sqlx opens an existing SQLite file only; a server creates its own on first start.
            DbSystem::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::BadUrl { url: shown.clone(), reason: e.to_string() })?
            // Statements (never their bound values, which sqlx does not log) only at debug, and slow
            // ones as warnings: info-level logs stay free of SQL.
            .log_statements(log::LevelFilter::Debug)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(2));

        let mut pool = AnyPoolOptions::new();
        pool = match system {
            // An in-memory SQLite database lives as long as a connection to it: keep exactly one,
            // forever, and every caller shares it.
            DbSystem::Mem => pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None),
            // One writer at a time anyway; a few connections let reads proceed beside it.
            DbSystem::Sqlite => pool.max_connections(4),
            DbSystem::Postgresql => pool.max_connections(10),
        };
        if dialect == Dialect::Sqlite {
            let pragmas = if is_memory_url(&url) { SQLITE_MEMORY_PRAGMAS } else { SQLITE_FILE_PRAGMAS };
            pool = pool.after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(pragmas).await?;
                    Ok(())
                })
            });
        }
        if system != DbSystem::Mem {
            // One plain connection first: a pool retries a failing connect until its timeout and
            // then reports only "timed out", where this reports why (refused, bad password, no
            // such database, unwritable file) at once.
            let probe = AnyConnection::connect_with(&options).await.map_err(|source| connect_error(system, &shown, source))?;
            probe.close().await.map_err(|source| connect_error(system, &shown, source))?;
        }
        let pool = pool.connect_with(options).await.map_err(|source| connect_error(system, &shown, source))?;
        let store = Store { pool, dialect, system };
        if run_migrations || system == DbSystem::Mem {
            store.migrate().await?;
        } else {
            store.check_schema().await?;
        }
        tracing::debug!(target: "pikoci_store", db = %shown, "database open");
        Ok(store)
    }

    /// Applies every migration not yet applied. Safe to run again and from several servers at once
    /// (sqlx takes an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<()> {
        let dialect = self.dialect.as_str();
        let migrator = sqlx::migrate::Migrator::new(migrations::Source(self.dialect)).await.map_err(|source| StoreError::Migrate { dialect, source })?;
        migrator.run(&self.pool).await.map_err(|source| StoreError::Migrate { dialect, source })
    }

    async fn check_schema(&self) -> Result<()> {
        let want = migrations::latest(self.dialect);
        let applied: Option<i64> = match sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&self.pool).await {
            Ok(v) => v,
            // No migrations table: an empty database.
            Err(sqlx::Error::Database(_)) => return Err(StoreError::SchemaOutdated { detail: "the database has no pikoci schema".into() }),
            Err(e) => return Err(failed("reading the schema version")(e)),
        };
        match applied {
            Some(v) if v >= want => Ok(()),
            Some(v) => Err(StoreError::SchemaOutdated { detail: format!("it is at version {v}, this pikoci needs {want}") }),
            None => Err(StoreError::SchemaOutdated { detail: "no migration has been applied".into() }),
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn system(&self) -> DbSystem {
        self.system
    }

    /// Waits for queries in flight and closes every connection. For SQLite in memory this is the
    /// end of the data.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_error(system: DbSystem, shown: &str, source: sqlx::Error) -> StoreError {
    if let sqlx::Error::Configuration(reason) = &source {
        return StoreError::BadUrl { url: shown.to_string(), reason: reason.to_string() };
    }
    let hint = match (system, &source) {
        (DbSystem::Postgresql, sqlx::Error::Io(_)) => " (is PostgreSQL running and listening there? `pg_isready` tells)".to_string(),
        (DbSystem::Sqlite, sqlx::Error::Database(_)) => " (does the file's directory exist, and may pikoci write there?)".to_string(),
        _ => String::new(),
    };
    StoreError::Connect { target: format!("{system} at {shown}"), hint, source }
}

/// Now, as the store records times: unix milliseconds.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A stored 0/1 flag as a bool (the schema has no boolean type; see the migrations).
pub(crate) fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// `$first, $first+1, ... ` for `count` parameters, for `IN (...)` lists.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub(crate) type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Store {
    /// Runs a statement; how many rows it changed.
    pub(crate) async fn rows_changed(&self, query: Query<'_>, action: impl Into<String>) -> Result<u64> {
        Ok(query.execute(&self.pool).await.map_err(failed(action))?.rows_affected())
    }

    /// Runs a statement that must change a row: `NotFound(what)` if it changed none.
    pub(crate) async fn change_one(&self, query: Query<'_>, action: impl Into<String>, what: impl FnOnce() -> String) -> Result<()> {
        if self.rows_changed(query, action).await? == 0 {
            return Err(StoreError::NotFound(what()));
        }
        Ok(())
    }
}

impl Store {
    /// Whether the database answers, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(failed("pinging the database"))?;
        Ok(())
    }
}
