//! Opening the database: one pool behind sqlx's Any driver, so every query is written once and runs
//! on SQLite (file or memory), PostgreSQL and MariaDB alike.
//!
//! Queries are written with `$1, $2, ...` placeholders, numbered in the order they appear, each
//! used once, and bound in that order; [`Store::sql`] turns them into MySQL's `?` on MariaDB. The
//! few statements MariaDB writes differently (upserts, `UPDATE ... RETURNING`) have a text of
//! their own per [`Dialect`], chosen with a `match` where they are run.

use crate::config::{driver_url, is_memory_url, redact_url, system_of_url, DbSystem};
use crate::error::{failed, Result, StoreError};
use crate::migrations;
use sqlx::any::{Any, AnyConnectOptions, AnyPoolOptions, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::{AnyConnection, AnyPool, Column, ConnectOptions, Connection, Decode, Executor, Row, Type, ValueRef};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The SQL dialect behind the store, for the few statements they write differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    /// MySQL's, as MariaDB (10.5 or newer) speaks it.
    Mysql,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }
}

/// The server's storage. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// For what the server can redo after a power cut ([`Store::begin_redoable`]): on
    /// PostgreSQL a few connections that commit without waiting for the disk; elsewhere `pool`.
    pub(crate) redoable: AnyPool,
    dialect: Dialect,
    system: DbSystem,
    /// Statements issued through [`Store::sql`], which every query text passes.
    statements: Arc<AtomicU64>,
}

/// SQLite settings for every connection. WAL lets readers (API, log followers) run beside the
/// writer. synchronous=NORMAL, SQLite's advice for WAL: a commit survives the server's crash or
/// kill -9; a power cut can lose the last commits but never corrupts the file, where FULL would
/// wait for the disk on every commit (a batch of log lines, each check record batch).
/// A writer waits for another instead of failing at once.
const SQLITE_FILE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";
const SQLITE_MEMORY_PRAGMAS: &str = "PRAGMA foreign_keys = ON;";
/// MariaDB settings for every connection: strict, whatever the server's default, so a value that
/// does not fit its column (a name over 255 characters) is an error, never silently cut.
const MYSQL_SESSION: &str = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')";

impl Store {
    /// Opens the database at `url` (`sqlite::memory:`, `sqlite://<file>`, `postgres://...`,
    /// `mysql://...` or `mariadb://...`; see [`crate::DbConfig::to_url`]) and, if `run_migrations`,
    /// brings its schema up to date. A MySQL URL must lead to MariaDB 10.5 or newer.
    /// Without migrations, a schema older than this build is an error rather than a surprise later.
    /// An in-memory database is always migrated: it starts empty every time.
    pub async fn connect(url: &str, run_migrations: bool) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let system = system_of_url(url)?;
        let shown = redact_url(url);
        let dialect = match system {
            DbSystem::Mem | DbSystem::Sqlite => Dialect::Sqlite,
            DbSystem::Postgresql => Dialect::Postgres,
            DbSystem::Mysql => Dialect::Mysql,
        };
        let url = match system {
            // sqlx opens an existing SQLite file only; a server creates its own on first start.
            DbSystem::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => driver_url(url),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::BadUrl { url: shown.clone(), reason: e.to_string() })?
            // Statements (never their bound values, which sqlx does not log) only at trace, and slow
            // ones as warnings: info and debug logs stay free of SQL.
            .log_statements(log::LevelFilter::Trace)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(2));

        let mut pool = AnyPoolOptions::new();
        pool = match system {
            // An in-memory SQLite database lives as long as a connection to it: keep exactly one,
            // forever, and every caller shares it.
            DbSystem::Mem => pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None),
            // One writer at a time anyway; a few connections let reads proceed beside it.
            DbSystem::Sqlite => pool.max_connections(4),
            DbSystem::Postgresql | DbSystem::Mysql => pool.max_connections(10),
        };
        // The in-memory database lives in its one connection: closing that would lose it all.
        pool = connection_checks(pool, system != DbSystem::Mem);
        if dialect == Dialect::Sqlite {
            let pragmas = if is_memory_url(&url) { SQLITE_MEMORY_PRAGMAS } else { SQLITE_FILE_PRAGMAS };
            pool = pool.after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(pragmas).await?;
                    Ok(())
                })
            });
        }
        if dialect == Dialect::Mysql {
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(MYSQL_SESSION).await?;
                    Ok(())
                })
            });
        }
        if system == DbSystem::Sqlite {
            require_writable(&url).map_err(StoreError::Invalid)?;
        }
        if system != DbSystem::Mem {
            // One plain connection first: a pool retries a failing connect until its timeout and
            // then reports only "timed out", where this reports why (refused, bad password, no
            // such database, unwritable file) at once.
            let mut probe = AnyConnection::connect_with(&options).await.map_err(|source| connect_error(system, &shown, source))?;
            if system == DbSystem::Sqlite {
                // Here, not in the pool's after_connect, which sqlx retries until its timeout: a
                // file that is no database, or one that cannot be written, stops start-up at once.
                let pragmas_and_a_write_lock = format!("{SQLITE_FILE_PRAGMAS} BEGIN IMMEDIATE; ROLLBACK;");
                probe.execute(pragmas_and_a_write_lock.as_str()).await.map_err(|source| connect_error(system, &shown, source))?;
            }
            if system == DbSystem::Mysql {
                let version: String =
                    sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut probe).await.map_err(|source| connect_error(system, &shown, source))?;
                check_mysql_server(&version).map_err(|detail| StoreError::UnsupportedServer { target: format!("{system} at {shown}"), detail })?;
            }
            probe.close().await.map_err(|source| connect_error(system, &shown, source))?;
        }
        let pool = pool.connect_with(options.clone()).await.map_err(|source| connect_error(system, &shown, source))?;
        let redoable = match dialect {
            Dialect::Postgres => connection_checks(AnyPoolOptions::new().max_connections(4), true)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("SET synchronous_commit TO OFF").await?;
                        Ok(())
                    })
                })
                .connect_lazy_with(options),
            _ => pool.clone(),
        };
        let store = Store { pool, redoable, dialect, system, statements: Arc::default() };
        if run_migrations || system == DbSystem::Mem {
            store.migrate().await?;
        } else {
            store.check_schema().await?;
        }
        tracing::debug!(target: "pikoci_store", db = %shown, "database open");
        Ok(store)
    }

    /// Applies every migration not yet applied. Safe to run again and from several servers at once
    /// (sqlx takes an advisory lock on PostgreSQL, a named lock on MariaDB).
    pub async fn migrate(&self) -> Result<()> {
        let dialect = self.dialect.as_str();
        let migrator = sqlx::migrate::Migrator::new(migrations::Source(self.dialect)).await.map_err(|source| StoreError::Migrate { dialect, source })?;
        if self.dialect != Dialect::Sqlite {
            return migrator.run(&self.pool).await.map_err(|source| StoreError::Migrate { dialect, source });
        }
        // SQLite changes a table's constraints by rebuilding the table, which must not cascade
        // to the rows that refer to it: as its documentation says, foreign keys are off while
        // migrating (a connection's setting, outside any transaction) and checked after.
        let mut conn = self.pool.acquire().await.map_err(failed("taking a connection to migrate"))?;
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.map_err(failed("turning foreign keys off to migrate"))?;
        let migrated = migrator.run_direct(&mut *conn).await.map_err(|source| StoreError::Migrate { dialect, source });
        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await.map_err(failed("turning foreign keys back on"))?;
        migrated?;
        let broken = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *conn).await.map_err(failed("checking foreign keys after migrating"))?;
        if !broken.is_empty() {
            return Err(failed("checking foreign keys after migrating")(sqlx::Error::Protocol(format!(
                "{} rows refer to rows that do not exist",
                broken.len()
            ))));
        }
        Ok(())
    }

    async fn check_schema(&self) -> Result<()> {
        let want = migrations::latest(self.dialect);
        let applied: Option<i64> = match sqlx::query_scalar(&self.sql("SELECT MAX(version) FROM _sqlx_migrations")).fetch_one(&self.pool).await {
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
        self.redoable.close().await;
        self.pool.close().await;
    }
}

/// How long a pooled connection may sit unused before it is checked when taken again.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

/// sqlx pings every connection it hands out: a round trip before each statement, as much as the
/// statement itself. Only a connection idle for a while may have been dropped by the server (a
/// restart, a firewall's timeout); one in use a moment ago is taken as it is.
///
/// And a connection still in a transaction when it comes back (its ROLLBACK failed, as after
/// "database or disk is full") would hold its snapshot and locks for good, and every later write
/// would find the database locked: it is closed, and a new one made when needed.
fn connection_checks(pool: AnyPoolOptions, close_leftover_transactions: bool) -> AnyPoolOptions {
    let pool = pool.test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for < PING_WHEN_IDLE_FOR {
                return Ok(true);
            }
            Ok(conn.ping().await.is_ok())
        })
    });
    if !close_leftover_transactions {
        return pool;
    }
    pool.after_release(|conn, _| {
        let healthy = !conn.is_in_transaction();
        if !healthy {
            tracing::warn!("closing a database connection left in a transaction");
        }
        Box::pin(async move { Ok(healthy) })
    })
}

/// SQLite opens a file it may not write read-only, without a word, and fails at the first
/// write, long after start-up: a file, or a directory for its -wal beside it, that cannot be
/// written is refused here. (`access`, not the mode bits: it sees a read-only file system, also
/// for root.)
fn require_writable(url: &str) -> std::result::Result<(), String> {
    let file = url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
    let file = std::path::Path::new(file);
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    for path in [dir, file] {
        if path == file && !file.exists() {
            continue;
        }
        let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else { continue };
        // SAFETY: a NUL-terminated path; access only reads it.
        if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::NotFound {
                // Said better by the connect that follows.
                return Ok(());
            }
            return Err(format!("cannot write {}: {e}; the server writes its SQLite database and the database's -wal file beside it", path.display()));
        }
    }
    Ok(())
}

fn connect_error(system: DbSystem, shown: &str, source: sqlx::Error) -> StoreError {
    if let sqlx::Error::Configuration(reason) = &source {
        return StoreError::BadUrl { url: shown.to_string(), reason: reason.to_string() };
    }
    let hint = match (system, &source) {
        (DbSystem::Postgresql, sqlx::Error::Io(_)) => " (is PostgreSQL running and listening there? `pg_isready` tells)".to_string(),
        (DbSystem::Mysql, sqlx::Error::Io(_)) => " (is MariaDB running and listening there? `mariadb-admin ping` tells)".to_string(),
        (DbSystem::Sqlite, sqlx::Error::Database(e)) if e.message().contains("not a database") => {
            " (the file is not an SQLite database: give --db-name a new file's path, or the file a server made)".to_string()
        }
        (DbSystem::Sqlite, sqlx::Error::Database(_)) => " (does the file's directory exist, and may pikoci write there?)".to_string(),
        _ => String::new(),
    };
    StoreError::Connect { target: format!("{system} at {shown}"), hint, source }
}

/// Now, as the store records times: unix milliseconds.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Which servers behind a MySQL URL the store runs on, judged by `SELECT VERSION()`: MariaDB says
/// `10.11.19-MariaDB-0+deb12u1` (or `5.5.5-10.4.1-MariaDB` through old proxies), Oracle's MySQL
/// `8.0.36`. The store needs `INSERT ... RETURNING`, which MariaDB has since 10.5 and MySQL lacks.
pub(crate) fn check_mysql_server(version: &str) -> Result<(), String> {
    const SUPPORTED: &str = "pikoci's mysql backend supports MariaDB 10.5 or newer (it relies on MariaDB's INSERT ... RETURNING)";
    if !version.to_ascii_lowercase().contains("mariadb") {
        return Err(format!("the server is MySQL {version}, not MariaDB; {SUPPORTED}"));
    }
    let numbers = version.strip_prefix("5.5.5-").unwrap_or(version);
    let mut parts = numbers.split(|c: char| !c.is_ascii_digit()).map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) >= (10, 5) => Ok(()),
        (Some(_), Some(_)) => Err(format!("the server is MariaDB {numbers}; {SUPPORTED}")),
        _ => Err(format!("cannot tell the MariaDB version from `{version}`; {SUPPORTED}")),
    }
}

/// A column of a row by name. Every row decoder reads through here (or the helpers below).
///
/// On MariaDB the rows of `INSERT ... RETURNING` come without the index from names to columns
/// that `Row::try_get` looks names up in: sqlx 0.8 takes the names from the statement's prepare
/// answer, and MariaDB describes an INSERT ... RETURNING there with no columns (MDEV-27013;
/// sqlx fixed its side after 0.8.6). The rows still carry their columns, names included, so a
/// name the index lacks is looked for among them.
pub(crate) fn get<'r, T: Decode<'r, Any> + Type<Any>>(row: &'r AnyRow, column: &str) -> Result<T, sqlx::Error> {
    match row.try_get(column) {
        Err(sqlx::Error::ColumnNotFound(_)) => {
            let index = row.columns().iter().position(|c| c.name() == column).ok_or_else(|| sqlx::Error::ColumnNotFound(column.to_string()))?;
            row.try_get(index)
        }
        other => other,
    }
}

/// A stored 0/1 flag as a bool (the schema has no boolean type; see the migrations).
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(get::<i64>(row, column)? != 0)
}

/// A text column's value, however the driver hands it over. MySQL reports a TEXT column as a BLOB
/// with a character set, and sqlx 0.8's Any driver goes by the type alone, so on MariaDB text
/// arrives as bytes (of UTF-8: every table is utf8mb4) where SQLite and PostgreSQL give text.
/// Decode text columns with [`text`] and [`opt_text`], or as `Text` in `query_scalar`.
pub(crate) struct Text(pub String);

impl Type<Any> for Text {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        matches!(ty.kind(), AnyTypeInfoKind::Text | AnyTypeInfoKind::Blob)
    }
}

impl<'r> Decode<'r, Any> for Text {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        if value.type_info().kind() == AnyTypeInfoKind::Blob {
            let bytes = <Vec<u8> as Decode<Any>>::decode(value)?;
            return Ok(Text(String::from_utf8(bytes)?));
        }
        Ok(Text(<String as Decode<Any>>::decode(value)?))
    }
}

/// A text column (see [`Text`]).
pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String, sqlx::Error> {
    Ok(get::<Text>(row, column)?.0)
}

/// A text column that may be NULL (see [`Text`]).
pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(get::<Option<Text>>(row, column)?.map(|t| t.0))
}

/// `$first, $first+1, ... ` for `count` parameters, for `IN (...)` lists.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// A statement's text as this store's database takes it. Every query goes through here.
    ///
    /// Texts are written for SQLite and PostgreSQL, with `$1, $2, ...` placeholders. MySQL knows
    /// only `?`, which binds by position, so on MariaDB each `$N` becomes `?`. That is right only
    /// if the `$N` appear in the text as `$1, $2, $3...`, each once, and are bound in that order;
    /// every query is written so (a value needed twice is bound twice), and debug builds check it
    /// on every call. `$` inside quotes is left alone. Nothing else is rewritten: a statement
    /// MariaDB spells differently has its own text per [`Dialect`].
    pub(crate) fn sql<'a>(&self, text: impl Into<Cow<'a, str>>) -> Cow<'a, str> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        translate(self.dialect, text.into())
    }

    /// How many statements this store (and its clones) has issued since it was opened: what an
    /// idle server costs its database, as `pikoci_store_statements_total` shows.
    pub fn statements_issued(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

fn translate(dialect: Dialect, text: Cow<'_, str>) -> Cow<'_, str> {
    debug_assert!(check_placeholders(&text).is_ok(), "{}: {text}", check_placeholders(&text).unwrap_err());
    match dialect {
        Dialect::Mysql if text.contains('$') => Cow::Owned(scan_placeholders(&text, &mut |_| {})),
        _ => text,
    }
}

/// `Ok(n)` if the text's placeholders are `$1` to `$n`, in that order, each once.
fn check_placeholders(text: &str) -> Result<usize, String> {
    let mut seen = Vec::new();
    scan_placeholders(text, &mut |n| seen.push(n));
    for (i, n) in seen.iter().enumerate() {
        if *n != i + 1 {
            return Err(format!("placeholder ${n} where ${} was due: number them in order of appearance, each once", i + 1));
        }
    }
    Ok(seen.len())
}

/// The text with each `$N` outside quotes replaced by `?`, telling `found` each N in order.
fn scan_placeholders(text: &str, found: &mut dyn FnMut(usize)) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) => {
                let start = i + 1;
                let mut end = start;
                while let Some((j, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                    end = j + d.len_utf8();
                    chars.next();
                }
                found(text[start..end].parse().unwrap_or(0));
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

pub(crate) type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Store {
    /// A transaction for what the server can redo after a power cut: versions a check found (the
    /// next check finds them again), check records, builds created and started (a build lost
    /// is created again, one left `started` is errored at restart), log lines. PostgreSQL
    /// commits it without waiting for the disk, as SQLite's `synchronous=NORMAL` commits
    /// everything: a crash of pikoci loses nothing, a crash of the database or the machine
    /// may lose the last fraction of a second. This keeps an fsync (1 to 10 ms) off each step
    /// between a new commit and its build's first line. Accounts, tokens, secrets, pipelines
    /// and a build's end are committed durably.
    pub(crate) async fn begin_redoable(&self) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        self.redoable.begin().await
    }

    /// Adds `by` to the counter `column` of the row `id` of `table` and returns its new value (None
    /// if there is no such row), holding the row's write lock until `conn`'s transaction ends:
    /// what numbering builds, log lines and check orders without gaps or twins relies on.
    /// `table` and `column` are always literals from this crate, never input.
    pub(crate) async fn bump(&self, conn: &mut AnyConnection, table: &str, column: &str, id: i64, by: i64) -> Result<Option<i64>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite | Dialect::Postgres => {
                let sql = self.sql(format!("UPDATE {table} SET {column} = {column} + $1 WHERE id = $2 RETURNING {column}"));
                sqlx::query_scalar(&sql).bind(by).bind(id).fetch_optional(conn).await
            }
            // MariaDB has INSERT and DELETE ... RETURNING but no UPDATE ... RETURNING: update, then
            // read the row back in the same transaction (the update's lock keeps it as written).
            // sqlx asks MySQL for "found rows", so a row matched but left as it was (`by` 0) counts.
            Dialect::Mysql => {
                let sql = self.sql(format!("UPDATE {table} SET {column} = {column} + $1 WHERE id = $2"));
                if sqlx::query(&sql).bind(by).bind(id).execute(&mut *conn).await?.rows_affected() == 0 {
                    return Ok(None);
                }
                let sql = self.sql(format!("SELECT {column} FROM {table} WHERE id = $1"));
                sqlx::query_scalar(&sql).bind(id).fetch_optional(conn).await
            }
        }
    }

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
        sqlx::query(&self.sql("SELECT 1")).execute(&self.pool).await.map_err(failed("pinging the database"))?;
        Ok(())
    }

    /// Whether the database takes a write now: a row written, taken back and committed (a full
    /// disk, a read-only file or a lock held for good make it fail, where a read still works).
    pub async fn check_writable(&self) -> Result<()> {
        let action = "writing to the database";
        let mut tx = self.pool.begin().await.map_err(failed(action))?;
        sqlx::query(&self.sql("INSERT INTO write_checks (at) VALUES ($1)")).bind(now_millis()).execute(&mut *tx).await.map_err(failed(action))?;
        sqlx::query(&self.sql("DELETE FROM write_checks")).execute(&mut *tx).await.map_err(failed(action))?;
        tx.commit().await.map_err(failed(action))?;
        Ok(())
    }

    /// For an SQLite file about to be handed over (an export): everything its write-ahead log
    /// holds is written into the file itself, so that the file alone is the whole database.
    /// Closing the last connection does this too, but not when a connection outlives the close;
    /// then the file held only the schema's first page. Nothing to do for other databases.
    pub async fn write_into_file(&self) -> Result<()> {
        if self.system != DbSystem::Sqlite {
            return Ok(());
        }
        let action = "writing the write-ahead log into the database file";
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as(&self.sql("PRAGMA wal_checkpoint(TRUNCATE)")).fetch_one(&self.pool).await.map_err(failed(action))?;
        if busy != 0 {
            return Err(StoreError::Invalid(format!("{action}: the database is in use")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_question_marks_on_mysql_only() {
        let text = "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4";
        assert_eq!(translate(Dialect::Mysql, text.into()), "SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?");
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            assert!(matches!(translate(dialect, text.into()), Cow::Borrowed(t) if t == text), "{dialect:?} keeps the text as it is");
        }
        assert!(matches!(translate(Dialect::Mysql, "SELECT 1".into()), Cow::Borrowed("SELECT 1")), "nothing to do, nothing copied");
        let many = format!("INSERT INTO t (a) VALUES {}", (1..=12).map(|i| format!("(${i})")).collect::<Vec<_>>().join(", "));
        assert_eq!(translate(Dialect::Mysql, many.into()), format!("INSERT INTO t (a) VALUES {}", ["(?)"; 12].join(", ")));
    }

    #[test]
    fn quoted_dollars_and_lone_dollars_stay() {
        let text = "SELECT '$1', \"$2\", `$3`, 'it''s $4', $ FROM t WHERE a = $1";
        assert_eq!(translate(Dialect::Mysql, text.into()), "SELECT '$1', \"$2\", `$3`, 'it''s $4', $ FROM t WHERE a = ?");
        assert_eq!(check_placeholders(text), Ok(1));
        assert_eq!(scan_placeholders("a = $1", &mut |_| {}), "a = ?");
        assert_eq!(scan_placeholders("é = $1é", &mut |_| {}), "é = ?é");
    }

    #[test]
    fn placeholders_must_come_in_order_each_once() {
        assert_eq!(check_placeholders("SELECT 1"), Ok(0));
        assert_eq!(check_placeholders("a = $1 AND b = $2 AND c IN ($3, $4)"), Ok(4));
        assert_eq!(check_placeholders(&format!("x IN ({})", placeholders(1, 11))), Ok(11));
        let reordered = check_placeholders("UPDATE t SET a = $2 WHERE id = $1").unwrap_err();
        assert!(reordered.contains("$2 where $1 was due"), "{reordered}");
        assert!(check_placeholders("a = $1 OR $1 = 0").is_err(), "reused");
        assert!(check_placeholders("a = $1 AND b = $3").is_err(), "skipped");
        assert!(check_placeholders("a = $0").is_err());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "placeholder $2 where $1 was due")]
    fn debug_builds_refuse_a_misnumbered_query() {
        translate(Dialect::Sqlite, "UPDATE t SET a = $2 WHERE id = $1".into());
    }

    #[test]
    fn only_mariadb_10_5_and_newer_is_accepted() {
        for ok in ["10.5.0-MariaDB", "10.11.19-MariaDB-0+deb12u1", "11.4.2-MariaDB-ubu2404", "5.5.5-10.6.12-MariaDB-log"] {
            assert_eq!(check_mysql_server(ok), Ok(()), "{ok}");
        }
        let mysql = check_mysql_server("8.0.36").unwrap_err();
        assert!(mysql.contains("MySQL 8.0.36, not MariaDB") && mysql.contains("MariaDB 10.5 or newer"), "{mysql}");
        let old = check_mysql_server("10.4.32-MariaDB").unwrap_err();
        assert!(old.contains("MariaDB 10.4.32-MariaDB;") && old.contains("MariaDB 10.5 or newer"), "{old}");
        assert!(check_mysql_server("5.5.5-10.3.39-MariaDB").unwrap_err().contains("MariaDB 10.3.39"));
        assert!(check_mysql_server("MariaDB").unwrap_err().contains("cannot tell"));
    }
}
