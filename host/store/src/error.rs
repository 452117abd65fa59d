//! What can go wrong, each error naming what the store was doing.

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database address could not be understood. `url` has its password masked.
    #[error("bad database URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    /// The database could not be reached or opened. `target` has its password masked.
    #[error("cannot open database {target}: {source}{hint}")]
    Connect { target: String, hint: String, source: sqlx::Error },
    /// The database server answers but is one the store cannot run on (Oracle's MySQL, an old
    /// MariaDB). `target` has its password masked.
    #[error("cannot use database {target}: {detail}")]
    UnsupportedServer { target: String, detail: String },
    #[error("migrating the {dialect} schema failed: {source}")]
    Migrate { dialect: &'static str, source: sqlx::migrate::MigrateError },
    /// The schema is older than this build of pikoci and migrations were not asked for.
    #[error("the database schema is not up to date ({detail}); start with --run-migrations to migrate it")]
    SchemaOutdated { detail: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The caller asked for something the store refuses (bad name, wrong state, bad JSON).
    #[error("{0}")]
    Invalid(String),
    #[error("{action} failed: {source}")]
    Query { action: String, source: sqlx::Error },
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// `map_err` helper: wraps a database error with what was being done.
pub(crate) fn failed(action: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    let action = action.into();
    move |source| StoreError::Query { action, source }
}

/// Like [`failed`], but a unique-constraint violation becomes `AlreadyExists(what)`.
pub(crate) fn failed_unique(action: impl Into<String>, what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    let action = action.into();
    let what = what.into();
    move |source| match &source {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::AlreadyExists(what),
        _ => StoreError::Query { action, source },
    }
}
