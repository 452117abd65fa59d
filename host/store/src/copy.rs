//! Copying a whole store into another, empty one, on any pair of backends: how a server's state
//! moves from the in-memory default or PostgreSQL into an SQLite file (`pikoci client export`) and
//! from a file into PostgreSQL or MariaDB (`pikoci db copy`). Rows keep their ids, so builds,
//! versions, logs, tokens and the links between them arrive unchanged.

use crate::error::{failed, Result, StoreError};
use crate::store::{get, opt_text, placeholders, Dialect, Store};
use futures_util::TryStreamExt;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Column, Executor, TypeInfo};

/// Every table of the schema, parents before children. `pipelines.current_version` points the
/// other way (at `pipeline_versions`): it is copied empty and filled in at the end.
pub(crate) const TABLES: &[&str] = &[
    "teams",
    "users",
    "team_members",
    "api_tokens",
    "pipelines",
    "pipeline_versions",
    "jobs",
    "resources",
    "resource_versions",
    "resource_pins",
    "job_baselines",
    "builds",
    "build_resources",
    "build_log",
    "trigger_events",
];

/// How many rows of each table were copied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopySummary {
    pub tables: Vec<(&'static str, u64)>,
}

impl CopySummary {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// A value of one of the schema's two column types.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Store {
    /// Copies everything this store holds into `target`, which must be empty and at the same
    /// schema version. The source is read in one transaction, so a running server's state is
    /// copied as of one instant; the target is written in one transaction, so a failed copy leaves
    /// it empty.
    pub async fn copy_into(&self, target: &Store) -> Result<CopySummary> {
        let (from, to) = (self.schema_version().await?, target.schema_version().await?);
        if from != to {
            return Err(StoreError::Invalid(format!(
                "the source database's schema is at version {from}, the target's at {to}: migrate both with the same pikoci"
            )));
        }
        let mut source = self.pool.begin().await.map_err(failed("opening the source database for the copy"))?;
        if self.dialect() == Dialect::Postgres {
            // One snapshot for every table (the default, READ COMMITTED, takes one per statement).
            source.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.map_err(failed("starting the snapshot to copy"))?;
        }
        let mut sink = target.pool.begin().await.map_err(failed("opening the target database for the copy"))?;
        for table in TABLES {
            let count: i64 =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *sink).await.map_err(failed(format!("counting {table}")))?;
            if count > 0 {
                return Err(StoreError::Invalid(format!("the target database is not empty ({table} has {count} rows): copy into a new database")));
            }
        }

        let mut summary = CopySummary::default();
        for table in TABLES {
            // The target's own description of its columns says how to read and bind each value
            // (SQLite's rows carry no reliable type of their own).
            let described = sink.describe(&format!("SELECT * FROM {table}")).await.map_err(failed(format!("describing {table}")))?;
            let columns: Vec<(String, bool)> = described.columns().iter().map(|c| (c.name().to_string(), is_integer(c.type_info()))).collect();
            let names = columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
            let insert = target.sql(format!("INSERT INTO {table} ({names}) VALUES ({})", placeholders(1, columns.len()))).into_owned();
            let select = format!("SELECT {names} FROM {table} ORDER BY {}", order_of(table));
            let mut rows = sqlx::query(&select).fetch(&mut *source);
            let mut copied = 0;
            let mut buffered = Vec::new();
            while let Some(row) = rows.try_next().await.map_err(failed(format!("reading {table}")))? {
                buffered.push(read_row(&row, &columns, table)?);
                // Reads and writes use two connections; keep a bounded batch between them.
                if buffered.len() == 512 {
                    copied += write_rows(&mut sink, &insert, std::mem::take(&mut buffered), table).await?;
                }
            }
            drop(rows);
            copied += write_rows(&mut sink, &insert, buffered, table).await?;
            summary.tables.push((table, copied));
        }

        let versions: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, current_version FROM pipelines ORDER BY id")
            .fetch_all(&mut *source)
            .await
            .map_err(failed("reading pipelines' current versions"))?;
        for (id, version) in versions.into_iter().filter(|(_, v)| v.is_some()) {
            sqlx::query(&target.sql("UPDATE pipelines SET current_version = $1 WHERE id = $2"))
                .bind(version)
                .bind(id)
                .execute(&mut *sink)
                .await
                .map_err(failed("linking pipelines to their current versions"))?;
        }
        if target.dialect() == Dialect::Postgres {
            // Identity columns were given explicit values: move each sequence past them.
            for table in TABLES.iter().filter(|t| has_id(t)) {
                let reset = format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}");
                sink.execute(reset.as_str()).await.map_err(failed(format!("advancing {table}'s id sequence")))?;
            }
        }
        sink.commit().await.map_err(failed("committing the copy"))?;
        source.rollback().await.map_err(failed("ending the source snapshot"))?;
        Ok(summary)
    }

    /// The schema version the migrations brought this database to.
    async fn schema_version(&self) -> Result<i64> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&self.pool).await.map_err(failed("reading the schema version"))?;
        Ok(version.unwrap_or(0))
    }
}

/// Tables whose key is an `id` column the database generates.
fn has_id(table: &str) -> bool {
    !matches!(table, "team_members" | "resource_pins" | "job_baselines" | "build_resources" | "build_log")
}

/// A stable order to copy a table in: children of a row come after it (`builds.rerun_of`).
fn order_of(table: &str) -> &'static str {
    match table {
        "team_members" => "team_id, user_id",
        "resource_pins" => "resource_id",
        "job_baselines" => "job_id, resource_id",
        "build_resources" => "build_id, direction, name, version_id",
        "build_log" => "build_id, seq",
        _ => "id",
    }
}

fn is_integer(info: &sqlx::any::AnyTypeInfo) -> bool {
    matches!(info.kind(), AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt | AnyTypeInfoKind::Bool) || info.name().contains("INT")
}

fn read_row(row: &AnyRow, columns: &[(String, bool)], table: &str) -> Result<Vec<Value>> {
    let what = |e| failed(format!("reading a row of {table}"))(e);
    columns
        .iter()
        .map(|(name, integer)| {
            Ok(match (name.as_str(), integer) {
                // pipelines.current_version is linked once pipeline_versions exist.
                ("current_version", _) if table == "pipelines" => Value::Int(None),
                (_, true) => Value::Int(get(row, name).map_err(what)?),
                (_, false) => Value::Text(opt_text(row, name).map_err(what)?),
            })
        })
        .collect()
}

async fn write_rows(sink: &mut sqlx::AnyConnection, insert: &str, rows: Vec<Vec<Value>>, table: &str) -> Result<u64> {
    let count = rows.len() as u64;
    for row in rows {
        let mut query = sqlx::query(insert);
        for value in row {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            };
        }
        query.execute(&mut *sink).await.map_err(failed(format!("writing a row of {table}")))?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table the list lacks would silently stay behind in every copy.
    #[tokio::test]
    async fn every_table_of_the_schema_is_copied() {
        let store = Store::connect("sqlite::memory:", true).await.unwrap();
        let mut tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        tables.sort();
        // `write_checks` is empty but for the moment a `/ready` writes to it: nothing to copy.
        let mut listed: Vec<&str> = TABLES.iter().chain(&["write_checks"]).copied().collect();
        listed.sort();
        assert_eq!(tables, listed);
    }
}
