//! Resource versions in the order checks found them, pins, job baselines, and which versions went
//! through which jobs (for `passed`).

use crate::error::{failed, Result, StoreError};
use crate::ids::{JobId, ResourceId, VersionId};
use crate::store::{get, now_millis, placeholders, text, Dialect, Store};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::FromRow;
use std::collections::BTreeMap;

/// A version's identity as the resource type reports it, e.g. `{"ref": "abc123"}`.
pub type VersionMap = BTreeMap<String, String>;

/// One line of a version's metadata, as a check or get reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetadataField {
    pub name: String,
    pub value: String,
}

/// A version a check found, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewVersion {
    pub version: VersionMap,
    pub metadata: Vec<MetadataField>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceVersion {
    pub id: VersionId,
    pub resource_id: ResourceId,
    pub version: VersionMap,
    pub metadata: Vec<MetadataField>,
    /// Position in the resource's history: higher is newer. Gaps are possible, order is what counts.
    pub check_order: i64,
    pub created_at: i64,
}

const VERSION: &str = "v.id, v.resource_id, v.version, v.metadata, v.check_order, v.created_at";
/// The same columns unqualified, for RETURNING (SQLite allows no table names there).
const VERSION_RETURNING: &str = "id, resource_id, version, metadata, check_order, created_at";

impl FromRow<'_, AnyRow> for ResourceVersion {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let json = |column: &str| text(row, column);
        let decode = |column: &str, e: serde_json::Error| sqlx::Error::ColumnDecode { index: column.into(), source: e.into() };
        Ok(ResourceVersion {
            id: VersionId(get(row, "id")?),
            resource_id: ResourceId(get(row, "resource_id")?),
            version: serde_json::from_str(&json("version")?).map_err(|e| decode("version", e))?,
            metadata: serde_json::from_str(&json("metadata")?).map_err(|e| decode("metadata", e))?,
            check_order: get(row, "check_order")?,
            created_at: get(row, "created_at")?,
        })
    }
}

/// A page of a newest-first list: up to `limit` items older than `before` (from the start if None).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<Id> {
    pub before: Option<Id>,
    pub limit: u32,
}

impl<Id> Page<Id> {
    pub fn first(limit: u32) -> Self {
        Page { before: None, limit }
    }
}

/// A resource's pinned version: the only one its jobs get until unpinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub version: ResourceVersion,
    pub comment: String,
    pub pinned_at: i64,
}

/// The text stored for a version: canonical JSON (a BTreeMap serialises with sorted keys), so the
/// same version always hashes the same.
fn version_text(version: &VersionMap) -> String {
    serde_json::to_string(version).expect("a map of strings always serialises")
}

/// The key a version is looked up by: the sha256 of its text.
fn version_key(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Store {
    /// Stores the versions a check found, given oldest first. A version the resource already has
    /// keeps its place in the history (its metadata is refreshed); new ones are appended in the
    /// order given. Returns the new ones, oldest first.
    pub async fn save_versions(&self, resource: ResourceId, versions: &[NewVersion]) -> Result<Vec<ResourceVersion>> {
        if versions.is_empty() {
            return Ok(Vec::new());
        }
        let action = || format!("saving versions of resource {resource}");
        let mut tx = self.begin_redoable().await.map_err(failed(action()))?;
        // Reserve check orders first: the UPDATE takes the resource's row lock (PostgreSQL,
        // MariaDB) or the write lock (SQLite) before anything is read, so concurrent savers queue
        // instead of deadlocking, and orders follow commit order.
        let last = self.bump(&mut tx, "resources", "last_check_order", resource.0, versions.len() as i64).await.map_err(failed(action()))?;
        let Some(last) = last else { return Err(StoreError::NotFound(format!("resource {resource}"))) };
        let first = last - versions.len() as i64 + 1;
        let now = now_millis();
        // An existing version comes back from RETURNING as it is stored (its old order), on
        // MariaDB too: there RETURNING gives the row ON DUPLICATE KEY UPDATE left (a test checks).
        // In MySQL's UPDATE part a bare column is the stored value, VALUES(c) the one offered.
        let insert = "INSERT INTO resource_versions (resource_id, version, version_sha256, metadata, check_order, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6)";
        let sql = self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => format!(
                "{insert} ON CONFLICT (resource_id, version_sha256) DO UPDATE SET metadata = \
                 CASE WHEN excluded.metadata = '[]' THEN resource_versions.metadata ELSE excluded.metadata END \
                 RETURNING {VERSION_RETURNING}"
            ),
            // ON DUPLICATE KEY fires on any unique key, (resource_id, check_order) too; orders are
            // reserved above, under the resource's lock, so only the version can collide.
            Dialect::Mysql => format!(
                "{insert} ON DUPLICATE KEY UPDATE metadata = \
                 CASE WHEN VALUES(metadata) = '[]' THEN metadata ELSE VALUES(metadata) END \
                 RETURNING {VERSION_RETURNING}"
            ),
        });
        let mut new = Vec::new();
        for (i, v) in versions.iter().enumerate() {
            let text = version_text(&v.version);
            let order = first + i as i64;
            let metadata = serde_json::to_string(&v.metadata).expect("metadata always serialises");
            let row: ResourceVersion = sqlx::query_as(&sql)
                .bind(resource.0)
                .bind(&text)
                .bind(version_key(&text))
                .bind(metadata)
                .bind(order)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(failed(action()))?;
            // An existing version comes back with its old order.
            if row.check_order == order {
                new.push(row);
            }
        }
        tx.commit().await.map_err(failed(action()))?;
        Ok(new)
    }

    pub async fn version(&self, id: VersionId) -> Result<Option<ResourceVersion>> {
        sqlx::query_as(&self.sql(format!("SELECT {VERSION} FROM resource_versions v WHERE v.id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading version {id}")))
    }

    /// Record the metadata a `get` reported for a stored version; false when no such version is
    /// stored (a get of a version no check found, which gets no history row of its own).
    pub async fn set_version_metadata(&self, resource: ResourceId, version: &VersionMap, metadata: &[MetadataField]) -> Result<bool> {
        let done = sqlx::query(&self.sql("UPDATE resource_versions SET metadata = $1 WHERE resource_id = $2 AND version_sha256 = $3"))
            .bind(serde_json::to_string(metadata).expect("metadata always serialises"))
            .bind(resource.0)
            .bind(version_key(&version_text(version)))
            .execute(&self.pool)
            .await
            .map_err(failed(format!("recording the metadata of a version of resource {resource}")))?;
        Ok(done.rows_affected() > 0)
    }

    /// The stored row of a version by its content (e.g. the version a `put` produced).
    pub async fn find_version(&self, resource: ResourceId, version: &VersionMap) -> Result<Option<ResourceVersion>> {
        sqlx::query_as(&self.sql(format!("SELECT {VERSION} FROM resource_versions v WHERE v.resource_id = $1 AND v.version_sha256 = $2")))
            .bind(resource.0)
            .bind(version_key(&version_text(version)))
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("looking up a version of resource {resource}")))
    }

    /// The version a get of the resource without `passed` uses now: the pinned one, else the
    /// newest. One statement, as the scheduler asks for each job it looks at.
    pub async fn version_in_use(&self, resource: ResourceId) -> Result<Option<ResourceVersion>> {
        sqlx::query_as(&self.sql(format!(
            "SELECT {VERSION} FROM resource_versions v WHERE v.id = COALESCE(\
             (SELECT p.version_id FROM resource_pins p WHERE p.resource_id = $1), \
             (SELECT n.id FROM resource_versions n WHERE n.resource_id = $2 ORDER BY n.check_order DESC LIMIT 1))"
        )))
        .bind(resource.0)
        .bind(resource.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed(format!("reading the version resource {resource} uses")))
    }

    pub async fn latest_version(&self, resource: ResourceId) -> Result<Option<ResourceVersion>> {
        Ok(self.versions(resource, Page::first(1)).await?.pop())
    }

    /// The resource's versions, newest first, a page at a time.
    pub async fn versions(&self, resource: ResourceId, page: Page<VersionId>) -> Result<Vec<ResourceVersion>> {
        sqlx::query_as(&self.sql(format!(
            "SELECT {VERSION} FROM resource_versions v WHERE v.resource_id = $1 \
             AND v.check_order < COALESCE((SELECT b.check_order FROM resource_versions b WHERE b.id = $2), $3) \
             ORDER BY v.check_order DESC LIMIT $4"
        )))
        .bind(resource.0)
        .bind(page.before.map_or(0, |id| id.0))
        .bind(i64::MAX)
        .bind(page.limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed(format!("listing versions of resource {resource}")))
    }

    /// Versions newer than `check_order`, oldest first: what a job has not seen yet.
    pub async fn versions_after(&self, resource: ResourceId, check_order: i64, limit: u32) -> Result<Vec<ResourceVersion>> {
        sqlx::query_as(&self.sql(format!(
            "SELECT {VERSION} FROM resource_versions v WHERE v.resource_id = $1 AND v.check_order > $2 \
             ORDER BY v.check_order LIMIT $3"
        )))
        .bind(resource.0)
        .bind(check_order)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed(format!("listing new versions of resource {resource}")))
    }

    /// Versions of `resource` that went through every one of `jobs` successfully (as an input or an
    /// output of a succeeded build of each, or of a `warning` one, which `allow_failure` lets
    /// through), newest first: the candidates for a `passed` input.
    pub async fn versions_passed(&self, resource: ResourceId, jobs: &[JobId], limit: u32) -> Result<Vec<ResourceVersion>> {
        if jobs.is_empty() {
            return self.versions(resource, Page::first(limit)).await;
        }
        let n = jobs.len();
        let sql = self.sql(format!(
            "SELECT {VERSION} FROM resource_versions v WHERE v.resource_id = $1 AND ( \
                 SELECT COUNT(DISTINCT b.job_id) FROM build_resources br JOIN builds b ON b.id = br.build_id \
                 WHERE br.version_id = v.id AND b.status IN ('succeeded', 'warning') AND b.job_id IN ({}) \
             ) = ${} ORDER BY v.check_order DESC LIMIT ${}",
            placeholders(2, n),
            n + 2,
            n + 3
        ));
        let mut query = sqlx::query_as(&sql).bind(resource.0);
        for job in jobs {
            query = query.bind(job.0);
        }
        query = query.bind(n as i64).bind(limit as i64);
        query.fetch_all(&self.pool).await.map_err(failed(format!("finding versions of resource {resource} that passed jobs")))
    }

    /// Pins the resource to one of its versions (replacing any pin).
    pub async fn pin_version(&self, resource: ResourceId, version: VersionId, comment: &str) -> Result<()> {
        // Through a SELECT so a version of another resource pins nothing; `WHERE` keeps SQLite
        // from reading ON CONFLICT as a join clause.
        let insert = "INSERT INTO resource_pins (resource_id, version_id, comment, pinned_at) \
                      SELECT resource_id, id, $1, $2 FROM resource_versions WHERE id = $3 AND resource_id = $4";
        let sql = self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => format!(
                "{insert} ON CONFLICT (resource_id) DO UPDATE SET version_id = excluded.version_id, comment = excluded.comment, \
                 pinned_at = excluded.pinned_at"
            ),
            Dialect::Mysql => {
                format!("{insert} ON DUPLICATE KEY UPDATE version_id = VALUES(version_id), comment = VALUES(comment), pinned_at = VALUES(pinned_at)")
            }
        });
        let query = sqlx::query(&sql).bind(comment).bind(now_millis()).bind(version.0).bind(resource.0);
        self.change_one(query, format!("pinning resource {resource}"), || format!("version {version} of resource {resource}")).await
    }

    /// Removes the pin; false if there was none.
    pub async fn unpin(&self, resource: ResourceId) -> Result<bool> {
        let sql = self.sql("DELETE FROM resource_pins WHERE resource_id = $1");
        let query = sqlx::query(&sql).bind(resource.0);
        Ok(self.rows_changed(query, format!("unpinning resource {resource}")).await? > 0)
    }

    pub async fn pinned_version(&self, resource: ResourceId) -> Result<Option<Pin>> {
        let row = sqlx::query(&self.sql(format!(
            "SELECT {VERSION}, p.comment, p.pinned_at FROM resource_pins p \
             JOIN resource_versions v ON v.id = p.version_id WHERE p.resource_id = $1"
        )))
        .bind(resource.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed(format!("reading the pin of resource {resource}")))?;
        let pin = |row: &AnyRow| -> Result<Pin, sqlx::Error> {
            Ok(Pin { version: ResourceVersion::from_row(row)?, comment: text(row, "comment")?, pinned_at: get(row, "pinned_at")? })
        };
        row.as_ref().map(pin).transpose().map_err(failed(format!("reading the pin of resource {resource}")))
    }

    /// Where the job's history of `resource` starts: the check order of the resource's latest version
    /// when the job first asked (0 if it had none). Recorded once; later calls return the first
    /// answer. Versions at or before it never trigger the job, so a new job does not replay history.
    pub async fn job_baseline(&self, job: JobId, resource: ResourceId) -> Result<i64> {
        let action = || format!("recording the baseline of job {job} for resource {resource}");
        let insert = "INSERT INTO job_baselines (job_id, resource_id, check_order, created_at) \
                      SELECT $1, $2, COALESCE(MAX(check_order), 0), $3 FROM resource_versions WHERE resource_id = $4";
        let sql = self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => format!("{insert} ON CONFLICT (job_id, resource_id) DO NOTHING"),
            // A no-op update for DO NOTHING; qualified, as resource_versions has a check_order too.
            Dialect::Mysql => format!("{insert} ON DUPLICATE KEY UPDATE job_baselines.job_id = job_baselines.job_id"),
        });
        sqlx::query(&sql).bind(job.0).bind(resource.0).bind(now_millis()).bind(resource.0).execute(&self.pool).await.map_err(failed(action()))?;
        sqlx::query_scalar(&self.sql("SELECT check_order FROM job_baselines WHERE job_id = $1 AND resource_id = $2"))
            .bind(job.0)
            .bind(resource.0)
            .fetch_one(&self.pool)
            .await
            .map_err(failed(action()))
    }
}
