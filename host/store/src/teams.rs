//! Teams: the unit pipelines are grouped in and roles are granted on.

use crate::error::{failed, failed_unique, Result, StoreError};
use crate::ids::TeamId;
use crate::store::{get, now_millis, text, Dialect, Store};
use sqlx::any::AnyRow;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: i64,
}

impl FromRow<'_, AnyRow> for Team {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Team { id: TeamId(get(row, "id")?), name: text(row, "name")?, created_at: get(row, "created_at")? })
    }
}

/// Refuses the empty name, which no flag or URL could address.
/// Longest name of a team, user, pipeline, job or resource, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// Names are shown in terminals, URLs and logs: no control characters (a NUL, an escape
/// sequence that rewrites the screen), and not empty or endless.
pub(crate) fn require_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid(format!("a {what} needs a non-empty name")));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(StoreError::Invalid(format!("the {what} name {name:?} holds the control character {:?}; use letters, digits and punctuation", c)));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(StoreError::Invalid(format!("a {what} name may be at most {MAX_NAME_BYTES} bytes long; this one is {}", name.len())));
    }
    Ok(())
}

impl Store {
    pub async fn create_team(&self, name: &str) -> Result<Team> {
        require_name("team", name)?;
        sqlx::query_as(&self.sql("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at"))
            .bind(name)
            .bind(now_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(failed_unique(format!("creating team `{name}`"), format!("team `{name}`")))
    }

    /// The team called `name`, created if missing (the server's `--team-canonical` team at start).
    pub async fn ensure_team(&self, name: &str) -> Result<Team> {
        require_name("team", name)?;
        let sql = match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            // No DO NOTHING in MySQL, and INSERT IGNORE would hide every other error too: a no-op
            // update instead.
            Dialect::Mysql => "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON DUPLICATE KEY UPDATE name = name",
        };
        sqlx::query(&self.sql(sql)).bind(name).bind(now_millis()).execute(&self.pool).await.map_err(failed(format!("creating team `{name}`")))?;
        self.team_by_name(name).await?.ok_or_else(|| StoreError::NotFound(format!("team `{name}`")))
    }

    pub async fn team(&self, id: TeamId) -> Result<Option<Team>> {
        sqlx::query_as(&self.sql("SELECT id, name, created_at FROM teams WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading team {id}")))
    }

    pub async fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        sqlx::query_as(&self.sql("SELECT id, name, created_at FROM teams WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading team `{name}`")))
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        sqlx::query_as(&self.sql("SELECT id, name, created_at FROM teams ORDER BY name")).fetch_all(&self.pool).await.map_err(failed("listing teams"))
    }

    /// Deletes the team and everything in it (pipelines, builds, logs, members). False if absent.
    pub async fn delete_team(&self, id: TeamId) -> Result<bool> {
        let sql = self.sql("DELETE FROM teams WHERE id = $1");
        let query = sqlx::query(&sql).bind(id.0);
        Ok(self.rows_changed(query, format!("deleting team {id}")).await? > 0)
    }
}
