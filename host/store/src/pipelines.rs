//! Pipelines (a team's named configurations) and their jobs.

use crate::error::{failed, Result};
use crate::ids::{JobId, PipelineId, PipelineVersionId, ResourceId, TeamId};
use crate::store::{flag, get, now_millis, text, Dialect, Store, Text};
use crate::teams::require_name;
use sqlx::any::AnyRow;
use sqlx::FromRow;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub id: PipelineId,
    pub team_id: TeamId,
    pub name: String,
    /// The pipeline's source text, as set (validated by the caller before it gets here).
    pub config: String,
    pub paused: bool,
    /// Readable without logging in.
    pub public: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The version new builds run (see [`Store::set_pipeline`]).
    pub current_version: Option<PipelineVersionId>,
}

const PIPELINE: &str = "id, team_id, name, config, paused, public, created_at, updated_at, current_version";

impl FromRow<'_, AnyRow> for Pipeline {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Pipeline {
            id: PipelineId(get(row, "id")?),
            team_id: TeamId(get(row, "team_id")?),
            name: text(row, "name")?,
            config: text(row, "config")?,
            paused: flag(row, "paused")?,
            public: flag(row, "public")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            current_version: get::<Option<i64>>(row, "current_version")?.map(PipelineVersionId),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub pipeline_id: PipelineId,
    pub name: String,
    pub paused: bool,
}

const JOB: &str = "id, pipeline_id, name, paused";

impl FromRow<'_, AnyRow> for Job {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Job { id: JobId(get(row, "id")?), pipeline_id: PipelineId(get(row, "pipeline_id")?), name: text(row, "name")?, paused: flag(row, "paused")? })
    }
}

/// What a pipeline consists of, as the store keeps it: its jobs' names and its resources'
/// names with their types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineParts {
    pub jobs: Vec<String>,
    pub resources: Vec<(String, String)>,
}

/// A pipeline as set, with the ids of its jobs and resources by name (empty when no parts were
/// given).
#[derive(Debug, Clone)]
pub struct SetPipeline {
    pub pipeline: Pipeline,
    pub jobs: HashMap<String, JobId>,
    pub resources: HashMap<String, ResourceId>,
}

impl Store {
    /// Creates the pipeline or replaces its configuration, keeping its id, paused and public flags,
    /// jobs, resources and history.
    ///
    /// Each set is a new version, with `plan` (the compiled pipeline, or `None` when it must not
    /// be stored), and becomes the version builds created from now on run.
    pub async fn set_pipeline(&self, team: TeamId, name: &str, config: &str, plan: Option<&str>) -> Result<Pipeline> {
        Ok(self.set_pipeline_with(team, name, config, plan, None).await?.pipeline)
    }

    /// [`Store::set_pipeline`], and when `parts` are given, the pipeline's jobs and resources
    /// become those: each is created or brought back, and those it no longer has are archived.
    /// All in one transaction: a set that fails (or is abandoned) half-way changes nothing.
    pub async fn set_pipeline_with(&self, team: TeamId, name: &str, config: &str, plan: Option<&str>, parts: Option<&PipelineParts>) -> Result<SetPipeline> {
        require_name("pipeline", name)?;
        let action = || format!("setting pipeline `{name}` of team {team}");
        let mut tx = self.pool.begin().await.map_err(failed(action()))?;
        // RETURNING gives the stored row, new or updated, on every backend (MariaDB's with ON
        // DUPLICATE KEY too; a test checks).
        let sql = self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => format!(
                "INSERT INTO pipelines (team_id, name, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (team_id, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at \
                 RETURNING {PIPELINE}"
            ),
            Dialect::Mysql => format!(
                "INSERT INTO pipelines (team_id, name, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON DUPLICATE KEY UPDATE config = VALUES(config), updated_at = VALUES(updated_at) \
                 RETURNING {PIPELINE}"
            ),
        });
        let now = now_millis();
        let mut pipeline: Pipeline =
            sqlx::query_as(&sql).bind(team.0).bind(name).bind(config).bind(now).bind(now).fetch_one(&mut *tx).await.map_err(failed(action()))?;
        let sql = self.sql("INSERT INTO pipeline_versions (pipeline_id, plan, created_at) VALUES ($1, $2, $3) RETURNING id");
        let version: i64 = sqlx::query_scalar(&sql).bind(pipeline.id.0).bind(plan).bind(now_millis()).fetch_one(&mut *tx).await.map_err(failed(action()))?;
        sqlx::query(&self.sql("UPDATE pipelines SET current_version = $1 WHERE id = $2"))
            .bind(version)
            .bind(pipeline.id.0)
            .execute(&mut *tx)
            .await
            .map_err(failed(action()))?;
        let (mut jobs, mut resources) = (HashMap::new(), HashMap::new());
        if let Some(parts) = parts {
            // Everything is archived first, then what the pipeline has is brought back: no list
            // of kept ids, which would outgrow a statement's parameters.
            for table in ["jobs", "resources"] {
                sqlx::query(&self.sql(format!("UPDATE {table} SET archived = 1 WHERE pipeline_id = $1")))
                    .bind(pipeline.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed(action()))?;
            }
            for job in &parts.jobs {
                require_name("job", job)?;
                let row: Job = sqlx::query_as(&self.ensure_job_sql()).bind(pipeline.id.0).bind(job).fetch_one(&mut *tx).await.map_err(failed(action()))?;
                jobs.insert(job.clone(), row.id);
            }
            for (resource, type_name) in &parts.resources {
                require_name("resource", resource)?;
                let row: crate::Resource = sqlx::query_as(&self.ensure_resource_sql())
                    .bind(pipeline.id.0)
                    .bind(resource)
                    .bind(type_name)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(failed(action()))?;
                resources.insert(resource.clone(), row.id);
            }
        }
        tx.commit().await.map_err(failed(action()))?;
        pipeline.current_version = Some(PipelineVersionId(version));
        Ok(SetPipeline { pipeline, jobs, resources })
    }

    /// The stored plan of a pipeline version; `None` when the version is unknown or its plan was
    /// not stored.
    pub async fn pipeline_plan(&self, version: PipelineVersionId) -> Result<Option<String>> {
        let plan: Option<Option<Text>> = sqlx::query_scalar(&self.sql("SELECT plan FROM pipeline_versions WHERE id = $1"))
            .bind(version.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading pipeline version {version}")))?;
        Ok(plan.flatten().map(|p| p.0))
    }

    pub async fn pipeline(&self, id: PipelineId) -> Result<Option<Pipeline>> {
        sqlx::query_as(&self.sql(format!("SELECT {PIPELINE} FROM pipelines WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading pipeline {id}")))
    }

    pub async fn pipeline_by_name(&self, team: TeamId, name: &str) -> Result<Option<Pipeline>> {
        sqlx::query_as(&self.sql(format!("SELECT {PIPELINE} FROM pipelines WHERE team_id = $1 AND name = $2")))
            .bind(team.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading pipeline `{name}` of team {team}")))
    }

    /// The team's pipelines by name; every team's if `team` is None.
    pub async fn pipelines(&self, team: Option<TeamId>) -> Result<Vec<Pipeline>> {
        let team = team.map_or(0, |t| t.0);
        sqlx::query_as(&self.sql(format!("SELECT {PIPELINE} FROM pipelines WHERE $1 = 0 OR team_id = $2 ORDER BY team_id, name")))
            .bind(team)
            .bind(team)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("listing pipelines"))
    }

    pub async fn set_pipeline_paused(&self, id: PipelineId, paused: bool) -> Result<()> {
        self.set_flag("pipelines", "paused", id.0, paused, &format!("pipeline {id}")).await
    }

    pub async fn set_pipeline_public(&self, id: PipelineId, public: bool) -> Result<()> {
        self.set_flag("pipelines", "public", id.0, public, &format!("pipeline {id}")).await
    }

    /// Deletes the pipeline with its jobs, resources, versions, builds and logs. False if absent.
    pub async fn delete_pipeline(&self, id: PipelineId) -> Result<bool> {
        let sql = self.sql("DELETE FROM pipelines WHERE id = $1");
        let query = sqlx::query(&sql).bind(id.0);
        Ok(self.rows_changed(query, format!("deleting pipeline {id}")).await? > 0)
    }

    /// The job called `name` in the pipeline, created (unpaused) if missing, brought back if
    /// archived.
    pub async fn ensure_job(&self, pipeline: PipelineId, name: &str) -> Result<Job> {
        require_name("job", name)?;
        sqlx::query_as(&self.ensure_job_sql())
            .bind(pipeline.0)
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(failed(format!("saving job `{name}` of pipeline {pipeline}")))
    }

    /// Binds: pipeline id, name. The update on conflict makes RETURNING yield the existing row.
    fn ensure_job_sql(&self) -> String {
        self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => {
                format!("INSERT INTO jobs (pipeline_id, name) VALUES ($1, $2) ON CONFLICT (pipeline_id, name) DO UPDATE SET archived = 0 RETURNING {JOB}")
            }
            Dialect::Mysql => format!("INSERT INTO jobs (pipeline_id, name) VALUES ($1, $2) ON DUPLICATE KEY UPDATE archived = 0 RETURNING {JOB}"),
        })
        .into_owned()
    }

    pub async fn job(&self, id: JobId) -> Result<Option<Job>> {
        sqlx::query_as(&self.sql(format!("SELECT {JOB} FROM jobs WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading job {id}")))
    }

    pub async fn job_by_name(&self, pipeline: PipelineId, name: &str) -> Result<Option<Job>> {
        sqlx::query_as(&self.sql(format!("SELECT {JOB} FROM jobs WHERE pipeline_id = $1 AND name = $2 AND archived = 0")))
            .bind(pipeline.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading job `{name}` of pipeline {pipeline}")))
    }

    pub async fn jobs(&self, pipeline: PipelineId) -> Result<Vec<Job>> {
        sqlx::query_as(&self.sql(format!("SELECT {JOB} FROM jobs WHERE pipeline_id = $1 AND archived = 0 ORDER BY name")))
            .bind(pipeline.0)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("listing jobs of pipeline {pipeline}")))
    }

    pub async fn set_job_paused(&self, id: JobId, paused: bool) -> Result<()> {
        self.set_flag("jobs", "paused", id.0, paused, &format!("job {id}")).await
    }

    /// Sets a 0/1 column of one row; `NotFound(what)` if there is no such row. `table` and
    /// `column` are always literals from this crate, never input.
    pub(crate) async fn set_flag(&self, table: &str, column: &str, id: i64, value: bool, what: &str) -> Result<()> {
        // (Setting a flag to the value it has still finds the row on MySQL: sqlx asks for "found rows".)
        let sql = self.sql(format!("UPDATE {table} SET {column} = $1 WHERE id = $2"));
        let query = sqlx::query(&sql).bind(value as i64).bind(id);
        self.change_one(query, format!("setting {column} of {what}"), || what.to_string()).await
    }
}
