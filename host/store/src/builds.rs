//! Builds: their life (pending, started, then one terminal state), their numbers per job, the
//! versions they used and produced, and recovery after a restart.

use crate::error::{failed, Result, StoreError};
use crate::ids::{BuildId, JobId, PipelineVersionId, ResourceId, VersionId};
use crate::store::{flag, get, now_millis, opt_text, text, Dialect, Store};
use crate::text_enum::text_enum;
use crate::versions::{Page, ResourceVersion};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Transaction};
use std::collections::BTreeMap;

text_enum! {
    /// A build's state. The same names as the executor's `BuildStatus`, which the server maps to this.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum BuildStatus ("build status") {
        Pending = "pending",
        Started = "started",
        Succeeded = "succeeded",
        Failed = "failed",
        Errored = "errored",
        Aborted = "aborted",
        /// Failed, in a job with `allow_failure`: shown as a failure, but it blocks no job after it.
        Warning = "warning",
    }
}

impl BuildStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, BuildStatus::Pending | BuildStatus::Started)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub id: BuildId,
    pub job_id: JobId,
    /// 1, 2, 3... per job.
    pub number: i64,
    pub status: BuildStatus,
    /// Why it ended as it did (a failure's or error's message, who aborted it).
    pub reason: Option<String>,
    /// The worker that ran it.
    pub worker: Option<String>,
    /// The build this one re-runs with the same versions.
    pub rerun_of: Option<BuildId>,
    /// The pipeline version whose plan it runs: the current one when it was created.
    pub pipeline_version: Option<PipelineVersionId>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// What a manual trigger gave the job's `input` blocks.
    pub input_values: BTreeMap<String, String>,
}

const BUILD: &str = "id, job_id, number, status, reason, worker, rerun_of, pipeline_version, created_at, started_at, finished_at, input_values";

impl FromRow<'_, AnyRow> for Build {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Build {
            id: BuildId(get(row, "id")?),
            job_id: JobId(get(row, "job_id")?),
            number: get(row, "number")?,
            status: BuildStatus::decode(row, "status")?,
            reason: opt_text(row, "reason")?,
            worker: opt_text(row, "worker")?,
            rerun_of: get::<Option<i64>>(row, "rerun_of")?.map(BuildId),
            pipeline_version: get::<Option<i64>>(row, "pipeline_version")?.map(PipelineVersionId),
            created_at: get(row, "created_at")?,
            started_at: get(row, "started_at")?,
            finished_at: get(row, "finished_at")?,
            input_values: match opt_text(row, "input_values")? {
                Some(json) => serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(format!("build input values: {e}").into()))?,
                None => BTreeMap::new(),
            },
        })
    }
}

/// A version a build takes in, as the scheduler chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInput {
    /// The input's name in the job (the `get` step's name).
    pub name: String,
    pub resource: ResourceId,
    pub version: VersionId,
    /// Chosen through `passed` constraints.
    pub passed: bool,
}

text_enum! {
    /// Whether a build took a version in or put it out.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Direction ("direction") {
        Input = "input",
        Output = "output",
    }
}

/// A version a build used or produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildVersion {
    pub direction: Direction,
    pub name: String,
    pub passed: bool,
    pub version: ResourceVersion,
}

/// Statuses a build can still leave.
const UNFINISHED: &str = "('pending', 'started')";

impl Store {
    /// A new pending build of the job, numbered one past the job's last, with the inputs the
    /// scheduler chose (none yet for a manual trigger whose inputs are resolved later).
    pub async fn create_build(&self, job: JobId, inputs: &[BuildInput]) -> Result<Build> {
        self.insert_build(job, None, inputs, &BTreeMap::new()).await
    }

    /// [`Store::create_build`] for a manual trigger that gave the job's `input` blocks values.
    pub async fn create_build_with_values(&self, job: JobId, inputs: &[BuildInput], values: &BTreeMap<String, String>) -> Result<Build> {
        self.insert_build(job, None, inputs, values).await
    }

    /// A new pending build of the same job with the same inputs as `build`.
    pub async fn rerun_build(&self, build: BuildId) -> Result<Build> {
        let old = self.build(build).await?.ok_or_else(|| StoreError::NotFound(format!("build {build}")))?;
        let inputs = self
            .build_versions(build)
            .await?
            .into_iter()
            .filter(|v| v.direction == Direction::Input)
            .map(|v| BuildInput { name: v.name, resource: v.version.resource_id, version: v.version.id, passed: v.passed })
            .collect::<Vec<_>>();
        self.insert_build(old.job_id, Some(build), &inputs, &old.input_values).await
    }

    async fn insert_build(&self, job: JobId, rerun_of: Option<BuildId>, inputs: &[BuildInput], values: &BTreeMap<String, String>) -> Result<Build> {
        let action = || format!("creating a build of job {job}");
        let mut tx = self.begin_redoable().await.map_err(failed(action()))?;
        // Numbering first: the UPDATE locks the job's row (PostgreSQL, MariaDB) or the database
        // (SQLite) until commit, so two builds of one job never get the same number.
        let number = self.bump(&mut tx, "jobs", "last_build_number", job.0, 1).await.map_err(failed(action()))?;
        let Some(number) = number else { return Err(StoreError::NotFound(format!("job {job}"))) };
        let sql = self.sql(format!(
            "INSERT INTO builds (job_id, number, status, rerun_of, created_at, pipeline_version, input_values) VALUES ($1, $2, 'pending', $3, $4, \
             (SELECT p.current_version FROM pipelines p JOIN jobs j ON j.pipeline_id = p.id WHERE j.id = $5), $6) \
             RETURNING {BUILD}"
        ));
        let build: Build = sqlx::query_as(&sql)
            .bind(job.0)
            .bind(number)
            .bind(rerun_of.map(|b| b.0))
            .bind(now_millis())
            .bind(job.0)
            .bind((!values.is_empty()).then(|| serde_json::to_string(values).expect("strings serialise")))
            .fetch_one(&mut *tx)
            .await
            .map_err(failed(action()))?;
        for input in inputs {
            self.insert_build_resource(&mut tx, build.id, Direction::Input, &input.name, input.resource, input.version, input.passed).await?;
        }
        tx.commit().await.map_err(failed(action()))?;
        Ok(build)
    }

    /// Records the inputs of a build created without them.
    pub async fn record_build_inputs(&self, build: BuildId, inputs: &[BuildInput]) -> Result<()> {
        let action = || format!("recording the inputs of build {build}");
        let mut tx = self.pool.begin().await.map_err(failed(action()))?;
        for input in inputs {
            self.insert_build_resource(&mut tx, build, Direction::Input, &input.name, input.resource, input.version, input.passed).await?;
        }
        tx.commit().await.map_err(failed(action()))
    }

    /// Records a version a build's `put` produced (save it first with `save_versions`).
    pub async fn record_build_output(&self, build: BuildId, name: &str, resource: ResourceId, version: VersionId) -> Result<()> {
        let action = || format!("recording output `{name}` of build {build}");
        let mut tx = self.pool.begin().await.map_err(failed(action()))?;
        self.insert_build_resource(&mut tx, build, Direction::Output, name, resource, version, false).await?;
        tx.commit().await.map_err(failed(action()))
    }

    /// Moves a pending build to started on `worker`. False if it was not pending (another worker
    /// took it, or it was aborted), so exactly one worker runs each build.
    pub async fn start_build(&self, build: BuildId, worker: &str) -> Result<bool> {
        let sql = self.sql("UPDATE builds SET status = 'started', worker = $1, started_at = $2 WHERE id = $3 AND status = 'pending'");
        let query = sqlx::query(&sql).bind(worker).bind(now_millis()).bind(build.0);
        // Redoable: a build whose start is lost is errored at restart, as one that was running.
        let changed = query.execute(&self.redoable).await.map_err(failed(format!("starting build {build}")))?.rows_affected();
        self.changed_or_missing(build, changed).await
    }

    /// Ends a pending or started build with a terminal `status`. False if it had already ended
    /// (the first ending wins: a build aborted while finishing stays aborted).
    pub async fn finish_build(&self, build: BuildId, status: BuildStatus, reason: Option<&str>) -> Result<bool> {
        if !status.is_terminal() {
            return Err(StoreError::Invalid(format!("cannot finish build {build} as {status}: not a final state")));
        }
        let sql = self.sql(format!("UPDATE builds SET status = $1, reason = $2, finished_at = $3 WHERE id = $4 AND status IN {UNFINISHED}"));
        let query = sqlx::query(&sql).bind(status.as_str()).bind(reason).bind(now_millis()).bind(build.0);
        let changed = self.rows_changed(query, format!("finishing build {build}")).await?;
        self.changed_or_missing(build, changed).await
    }

    async fn changed_or_missing(&self, build: BuildId, rows: u64) -> Result<bool> {
        if rows > 0 {
            return Ok(true);
        }
        match self.build(build).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound(format!("build {build}"))),
        }
    }

    /// For a server starting up: every build left `started` by the previous run (which died or was
    /// killed while it ran) becomes `errored` with `reason`. Pending builds are left alone: nothing
    /// of them ran, and the scheduler starts them as if there had been no restart. Returns how many
    /// builds were marked.
    pub async fn mark_unfinished_builds_errored(&self, reason: &str) -> Result<u64> {
        let sql = self.sql("UPDATE builds SET status = 'errored', reason = $1, finished_at = $2 WHERE status = 'started'");
        let query = sqlx::query(&sql).bind(reason).bind(now_millis());
        self.rows_changed(query, "marking interrupted builds errored").await
    }

    pub async fn build(&self, id: BuildId) -> Result<Option<Build>> {
        sqlx::query_as(&self.sql(format!("SELECT {BUILD} FROM builds WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading build {id}")))
    }

    pub async fn build_by_number(&self, job: JobId, number: i64) -> Result<Option<Build>> {
        sqlx::query_as(&self.sql(format!("SELECT {BUILD} FROM builds WHERE job_id = $1 AND number = $2")))
            .bind(job.0)
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading build {number} of job {job}")))
    }

    /// The job's builds, newest first, a page at a time.
    pub async fn builds_of_job(&self, job: JobId, page: Page<BuildId>) -> Result<Vec<Build>> {
        sqlx::query_as(&self.sql(format!("SELECT {BUILD} FROM builds WHERE job_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")))
            .bind(job.0)
            .bind(page.before.map_or(i64::MAX, |b| b.0))
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("listing builds of job {job}")))
    }

    pub async fn latest_build(&self, job: JobId) -> Result<Option<Build>> {
        Ok(self.builds_of_job(job, Page::first(1)).await?.pop())
    }

    /// The versions the job's latest build (pending and running ones too) took as inputs, by
    /// input name; empty when the job has no build yet. One statement: the scheduler asks this
    /// of each job it looks at.
    pub async fn latest_build_inputs(&self, job: JobId) -> Result<Vec<(String, VersionId)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(&self.sql(
            "SELECT br.name, br.version_id FROM build_resources br WHERE br.direction = 'input' \
             AND br.build_id = (SELECT b.id FROM builds b WHERE b.job_id = $1 ORDER BY b.number DESC LIMIT 1) ORDER BY br.name",
        ))
        .bind(job.0)
        .fetch_all(&self.pool)
        .await
        .map_err(failed(format!("reading the inputs of the latest build of job {job}")))?;
        Ok(rows.into_iter().map(|(name, version)| (name, VersionId(version))).collect())
    }

    /// Builds waiting for a worker, oldest first.
    pub async fn pending_builds(&self, limit: u32) -> Result<Vec<Build>> {
        self.builds_in("pending", limit).await
    }

    /// Builds running now, oldest first.
    pub async fn started_builds(&self, limit: u32) -> Result<Vec<Build>> {
        self.builds_in("started", limit).await
    }

    async fn builds_in(&self, status: &str, limit: u32) -> Result<Vec<Build>> {
        sqlx::query_as(&self.sql(format!("SELECT {BUILD} FROM builds WHERE status = $1 ORDER BY id LIMIT $2")))
            .bind(status)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("listing {status} builds")))
    }

    /// The versions a build used (inputs, by name) and produced (outputs, by name).
    pub async fn build_versions(&self, build: BuildId) -> Result<Vec<BuildVersion>> {
        let rows = sqlx::query(&self.sql(
            "SELECT br.direction, br.name, br.passed, \
             v.id, v.resource_id, v.version, v.metadata, v.check_order, v.created_at \
             FROM build_resources br JOIN resource_versions v ON v.id = br.version_id \
             WHERE br.build_id = $1 ORDER BY br.direction, br.name, v.check_order",
        ))
        .bind(build.0)
        .fetch_all(&self.pool)
        .await
        .map_err(failed(format!("reading the versions of build {build}")))?;
        let decode = |row: &AnyRow| -> Result<BuildVersion, sqlx::Error> {
            Ok(BuildVersion {
                direction: Direction::decode(row, "direction")?,
                name: text(row, "name")?,
                passed: flag(row, "passed")?,
                version: ResourceVersion::from_row(row)?,
            })
        };
        rows.iter().map(decode).collect::<Result<_, _>>().map_err(failed(format!("reading the versions of build {build}")))
    }
}

/// Records one version a build used or produced. A version that is not the named resource's is
/// refused: a build's inputs must be what the `passed` query and the history pages say they are.
impl Store {
    #[allow(clippy::too_many_arguments)]
    async fn insert_build_resource(
        &self,
        tx: &mut Transaction<'_, Any>,
        build: BuildId,
        direction: Direction,
        name: &str,
        resource: ResourceId,
        version: VersionId,
        passed: bool,
    ) -> Result<()> {
        let action = || format!("recording {} `{name}` of build {build}", direction.as_str());
        let insert = "INSERT INTO build_resources (build_id, direction, name, resource_id, version_id, passed) \
                      SELECT $1, $2, $3, resource_id, id, $4 FROM resource_versions WHERE id = $5 AND resource_id = $6";
        let sql = self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => format!("{insert} ON CONFLICT (build_id, direction, name, version_id) DO NOTHING"),
            // A no-op update for DO NOTHING (INSERT IGNORE would hide other errors too); qualified,
            // as the SELECT's table is in scope there.
            Dialect::Mysql => format!("{insert} ON DUPLICATE KEY UPDATE build_resources.build_id = build_resources.build_id"),
        });
        let inserted = sqlx::query(&sql)
            .bind(build.0)
            .bind(direction.as_str())
            .bind(name)
            .bind(passed as i64)
            .bind(version.0)
            .bind(resource.0)
            .execute(&mut **tx)
            .await
            .map_err(failed(action()))?;
        if inserted.rows_affected() == 0 {
            // Either recorded already (fine; MySQL counts that as 1, a found row) or the version is
            // not this resource's.
            let belongs: i64 = sqlx::query_scalar(&self.sql("SELECT COUNT(*) FROM resource_versions WHERE id = $1 AND resource_id = $2"))
                .bind(version.0)
                .bind(resource.0)
                .fetch_one(&mut **tx)
                .await
                .map_err(failed(action()))?;
            if belongs == 0 {
                return Err(StoreError::NotFound(format!("version {version} of resource {resource}")));
            }
        }
        Ok(())
    }
}
