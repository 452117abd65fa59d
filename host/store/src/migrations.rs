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
];
pub(crate) const POSTGRES: Embedded = &[
    (1, "initial", include_str!("../migrations/postgres/0001_initial.sql")),
    (2, "pipeline_versions", include_str!("../migrations/postgres/0002_pipeline_versions.sql")),
    (3, "archived_and_write_checks", include_str!("../migrations/postgres/0003_archived_and_write_checks.sql")),
    (4, "build_log_without_row_checks", include_str!("../migrations/postgres/0004_build_log_without_row_checks.sql")),
];
pub(crate) const MYSQL: Embedded = &[
    (1, "initial", include_str!("../migrations/mysql/0001_initial.sql")),
    (2, "pipeline_versions", include_str!("../migrations/mysql/0002_pipeline_versions.sql")),
    (3, "archived_and_write_checks", include_str!("../migrations/mysql/0003_archived_and_write_checks.sql")),
    (4, "build_log_without_row_checks", include_str!("../migrations/mysql/0004_build_log_without_row_checks.sql")),
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
            .map(|(version, description, sql)| Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), false))
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
