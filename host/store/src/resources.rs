//! Resources: what is checked for versions, when, how the last check went, and its webhook.

use crate::error::{failed, Result};
use crate::ids::{PipelineId, ResourceId};
use crate::secrets::{new_token, token_hash};
use crate::store::{get, opt_text, text, Dialect, Store};
use crate::teams::require_name;
use sqlx::any::AnyRow;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: ResourceId,
    pub pipeline_id: PipelineId,
    pub name: String,
    /// The resource type's name (a plugin or a built-in such as `trigger`).
    pub type_name: String,
    pub last_check_at: Option<i64>,
    pub last_check_succeeded_at: Option<i64>,
    /// Why the last check failed; None after a successful one.
    pub last_check_error: Option<String>,
    pub next_check_at: Option<i64>,
    pub has_webhook_token: bool,
}

const RESOURCE: &str = "id, pipeline_id, name, type, last_check_at, last_check_succeeded_at, last_check_error, \
                        next_check_at, webhook_token_hash";

impl FromRow<'_, AnyRow> for Resource {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Resource {
            id: ResourceId(get(row, "id")?),
            pipeline_id: PipelineId(get(row, "pipeline_id")?),
            name: text(row, "name")?,
            type_name: text(row, "type")?,
            last_check_at: get(row, "last_check_at")?,
            last_check_succeeded_at: get(row, "last_check_succeeded_at")?,
            last_check_error: opt_text(row, "last_check_error")?,
            next_check_at: get(row, "next_check_at")?,
            has_webhook_token: opt_text(row, "webhook_token_hash")?.is_some(),
        })
    }
}

/// How a check went, for [`Store::record_checks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    pub at: i64,
    /// None if the check succeeded.
    pub error: Option<String>,
    pub next_check_at: Option<i64>,
}

/// Webhook tokens carry this prefix.
const WEBHOOK_TOKEN_PREFIX: &str = "pikoci_wh_";

impl Store {
    /// The resource called `name` in the pipeline, created if missing (or brought back if
    /// archived); its type is updated to `type_name` (a pipeline update may change it) and its
    /// versions are kept.
    pub async fn ensure_resource(&self, pipeline: PipelineId, name: &str, type_name: &str) -> Result<Resource> {
        require_name("resource", name)?;
        sqlx::query_as(&self.ensure_resource_sql())
            .bind(pipeline.0)
            .bind(name)
            .bind(type_name)
            .fetch_one(&self.pool)
            .await
            .map_err(failed(format!("saving resource `{name}` of pipeline {pipeline}")))
    }

    /// Binds: pipeline id, name, type. RETURNING gives the stored row, new or updated, on every
    /// backend.
    pub(crate) fn ensure_resource_sql(&self) -> String {
        self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => format!(
                "INSERT INTO resources (pipeline_id, name, type) VALUES ($1, $2, $3) \
                 ON CONFLICT (pipeline_id, name) DO UPDATE SET type = excluded.type, archived = 0 RETURNING {RESOURCE}"
            ),
            Dialect::Mysql => format!(
                "INSERT INTO resources (pipeline_id, name, type) VALUES ($1, $2, $3) \
                 ON DUPLICATE KEY UPDATE type = VALUES(type), archived = 0 RETURNING {RESOURCE}"
            ),
        })
        .into_owned()
    }

    pub async fn resource(&self, id: ResourceId) -> Result<Option<Resource>> {
        sqlx::query_as(&self.sql(format!("SELECT {RESOURCE} FROM resources WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading resource {id}")))
    }

    pub async fn resource_by_name(&self, pipeline: PipelineId, name: &str) -> Result<Option<Resource>> {
        sqlx::query_as(&self.sql(format!("SELECT {RESOURCE} FROM resources WHERE pipeline_id = $1 AND name = $2 AND archived = 0")))
            .bind(pipeline.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading resource `{name}` of pipeline {pipeline}")))
    }

    pub async fn resources(&self, pipeline: PipelineId) -> Result<Vec<Resource>> {
        sqlx::query_as(&self.sql(format!("SELECT {RESOURCE} FROM resources WHERE pipeline_id = $1 AND archived = 0 ORDER BY name")))
            .bind(pipeline.0)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("listing resources of pipeline {pipeline}")))
    }

    /// Resources whose next check is due at `now` (or never scheduled), most overdue first.
    pub async fn resources_due(&self, now: i64) -> Result<Vec<Resource>> {
        sqlx::query_as(&self.sql(format!(
            "SELECT {RESOURCE} FROM resources WHERE archived = 0 AND (next_check_at IS NULL OR next_check_at <= $1) \
             ORDER BY COALESCE(next_check_at, 0), id"
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("listing resources due for a check"))
    }

    /// Records many checks' outcomes in one transaction, in the order given (a resource checked
    /// twice keeps the later).
    pub async fn record_checks(&self, checks: &[(ResourceId, CheckRecord)]) -> Result<()> {
        let action = || format!("recording {} checks", checks.len());
        let mut tx = self.begin_redoable().await.map_err(failed(action()))?;
        for (id, check) in checks {
            let succeeded_at = check.error.is_none().then_some(check.at);
            let sql = self.sql(
                "UPDATE resources SET last_check_at = $1, last_check_error = $2, \
                 last_check_succeeded_at = COALESCE($3, last_check_succeeded_at), next_check_at = $4 WHERE id = $5",
            );
            // A resource deleted meanwhile updates nothing, which is right.
            sqlx::query(&sql)
                .bind(check.at)
                .bind(check.error.as_deref())
                .bind(succeeded_at)
                .bind(check.next_check_at)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(failed(action()))?;
        }
        tx.commit().await.map_err(failed(action()))
    }

    /// Makes a new webhook token for the resource, replacing any old one, and returns it: this is
    /// the only time it can be seen, the store keeps its hash.
    pub async fn regenerate_webhook_token(&self, id: ResourceId) -> Result<String> {
        let token = new_token(WEBHOOK_TOKEN_PREFIX);
        let sql = self.sql("UPDATE resources SET webhook_token_hash = $1 WHERE id = $2");
        let query = sqlx::query(&sql).bind(token_hash(&token)).bind(id.0);
        self.change_one(query, format!("setting the webhook token of resource {id}"), || format!("resource {id}")).await?;
        Ok(token)
    }

    /// The resource a webhook token belongs to, if any.
    pub async fn resource_by_webhook_token(&self, token: &str) -> Result<Option<Resource>> {
        sqlx::query_as(&self.sql(format!("SELECT {RESOURCE} FROM resources WHERE webhook_token_hash = $1 AND archived = 0")))
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("looking up a webhook token"))
    }
}
