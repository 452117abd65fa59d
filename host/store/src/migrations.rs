//! The schema's migrations, embedded in the binary (one directory per SQL dialect: sqlite, postgres,
//! mysql for MariaDB), so a server needs no files beside it and the build needs no database.

use crate::store::Dialect;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// `(version, description, sql)`; a test checks these match the files in `migrations/<dialect>/`.
type Embedded = &'static [(i64, &'static str, &'static str)];

pub(crate) const SQLITE: Embedded = &[
    (1, "initial", include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, "pipeline_versions", include_str!("../migrations/sqlite/0002_pipeline_versions.sql")),
    (3, "archived_and_write_checks", include_str!("../migrations/sqlite/0003_archived_and_write_checks.sql")),
    (4, "build_log_without_row_checks", include_str!("../migrations/sqlite/0004_build_log_without_row_checks.sql")),
    (5, "warning_status", include_str!("../migrations/sqlite/0005_warning_status.sql")),
    (6, "build_input_values", include_str!("../migrations/sqlite/0006_build_input_values.sql")),
];
pub(crate) const POSTGRES: Embedded = &[
    (1, "initial", include_str!("../migrations/postgres/0001_initial.sql")),
    (2, "pipeline_versions", include_str!("../migrations/postgres/0002_pipeline_versions.sql")),
    (3, "archived_and_write_checks", include_str!("../migrations/postgres/0003_archived_and_write_checks.sql")),
    (4, "build_log_without_row_checks", include_str!("../migrations/postgres/0004_build_log_without_row_checks.sql")),
    (5, "warning_status", include_str!("../migrations/postgres/0005_warning_status.sql")),
    (6, "build_input_values", include_str!("../migrations/postgres/0006_build_input_values.sql")),
];
pub(crate) const MYSQL: Embedded = &[
    (1, "initial", include_str!("../migrations/mysql/0001_initial.sql")),
    (2, "pipeline_versions", include_str!("../migrations/mysql/0002_pipeline_versions.sql")),
    (3, "archived_and_write_checks", include_str!("../migrations/mysql/0003_archived_and_write_checks.sql")),
    (4, "build_log_without_row_checks", include_str!("../migrations/mysql/0004_build_log_without_row_checks.sql")),
    (5, "warning_status", include_str!("../migrations/mysql/0005_warning_status.sql")),
    (6, "build_input_values", include_str!("../migrations/mysql/0006_build_input_values.sql")),
];

pub(crate) fn embedded(dialect: Dialect) -> Embedded {
    match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
        Dialect::Mysql => MYSQL,
    }
}

/// The newest schema version this build knows.
pub(crate) fn latest(dialect: Dialect) -> i64 {
    embedded(dialect).iter().map(|(v, _, _)| *v).max().unwrap_or(0)
}

/// Hands sqlx's migrator the embedded migrations of one dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source(pub Dialect);

impl<'s> MigrationSource<'s> for Source {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        let migrations = embedded(self.0)
            .iter()
            // A migration that manages its own transaction says so on its first line, as sqlx's
            // file migrations do.
            .map(|(version, description, sql)| {
                let no_tx = sql.starts_with("-- no-transaction");
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), no_tx)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite migrations up to `.0`, as an older pikoci left its database.
    #[derive(Debug, Clone, Copy)]
    struct SqliteUpTo(i64);

    impl<'s> MigrationSource<'s> for SqliteUpTo {
        fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
            let migrations = SQLITE
                .iter()
                .filter(|(v, _, _)| *v <= self.0)
                .map(|(v, d, sql)| Migration::new(*v, Cow::Borrowed(*d), MigrationType::Simple, Cow::Borrowed(*sql), false))
                .collect();
            Box::pin(async move { Ok(migrations) })
        }
    }

    /// SQLite rebuilds `builds` to let it hold `warning`; the builds, their logs and the ids
    /// handed out must all survive, and the logs must still belong to their builds.
    #[tokio::test]
    async fn the_warning_migration_keeps_every_build_and_its_log_on_sqlite() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(SqliteUpTo(4)).await.unwrap().run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO teams (id, name, created_at) VALUES (1, 'main', 0)",
            "INSERT INTO pipelines (id, team_id, name, config, created_at, updated_at) VALUES (1, 1, 'p', '', 0, 0)",
            "INSERT INTO jobs (id, pipeline_id, name) VALUES (1, 1, 'j')",
            "INSERT INTO builds (id, job_id, number, status, created_at) VALUES (5, 1, 1, 'failed', 0), (6, 1, 2, 'succeeded', 0)",
            "INSERT INTO build_log (build_id, seq, kind, step, origin, text, at) VALUES (5, 1, 'line', 's', 'stdout', 'kept', 0)",
            "DELETE FROM builds WHERE id = 6",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        pool.close().await;

        let store = crate::Store::connect(&url, true).await.unwrap();
        let count = |sql: &'static str| {
            let pool = store.pool.clone();
            async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
        };
        assert_eq!(count("SELECT COUNT(*) FROM builds").await, 1);
        assert_eq!(count("SELECT COUNT(*) FROM build_log").await, 1, "the log outlived the rebuild");
        sqlx::query("INSERT INTO builds (job_id, number, status, created_at) VALUES (1, 3, 'warning', 0)").execute(&store.pool).await.unwrap();
        assert_eq!(count("SELECT MAX(id) FROM builds").await, 7, "build id 6 was handed out once and is not handed out again");
        sqlx::query("DELETE FROM builds WHERE id = 5").execute(&store.pool).await.unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM build_log").await, 0, "the log still belongs to its build");
    }

    /// A migration file added to a directory but not to the lists above would silently never run.
    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, list) in [("sqlite", SQLITE), ("postgres", POSTGRES), ("mysql", MYSQL)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
            let mut files: Vec<String> =
                std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n.ends_with(".sql")).collect();
            files.sort();
            let expected: Vec<String> = list.iter().map(|(v, d, _)| format!("{v:04}_{d}.sql")).collect();
            assert_eq!(files, expected, "migrations/{dir} and migrations.rs disagree");
        }
        let names = |list: Embedded| list.iter().map(|(v, d, _)| (*v, *d)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES), "every dialect must have the same migrations");
        assert_eq!(names(SQLITE), names(MYSQL), "every dialect must have the same migrations");
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert_eq!(embedded(dialect).len(), SQLITE.len(), "{dialect:?}");
        }
    }
}
