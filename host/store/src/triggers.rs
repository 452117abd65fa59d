//! Trigger events: a team-scoped stream behind PikoCI's `trigger` resource type. A `put` in one
//! pipeline appends an event; a `check` in another lists the events after the last it saw.

use crate::error::{failed, Result, StoreError};
use crate::ids::{TeamId, TriggerEventId};
use crate::store::{get, now_millis, text, Store};
use sqlx::any::AnyRow;
use sqlx::FromRow;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerEvent {
    pub id: TriggerEventId,
    pub team_id: TeamId,
    /// The stream's name within the team.
    pub name: String,
    pub payload: BTreeMap<String, String>,
    pub created_at: i64,
}

impl FromRow<'_, AnyRow> for TriggerEvent {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let payload = text(row, "payload")?;
        Ok(TriggerEvent {
            id: TriggerEventId(get(row, "id")?),
            team_id: TeamId(get(row, "team_id")?),
            name: text(row, "name")?,
            payload: serde_json::from_str(&payload).map_err(|e| sqlx::Error::ColumnDecode { index: "payload".into(), source: e.into() })?,
            created_at: get(row, "created_at")?,
        })
    }
}

const EVENT: &str = "id, team_id, name, payload, created_at";

impl Store {
    pub async fn append_trigger_event(&self, team: TeamId, name: &str, payload: &BTreeMap<String, String>) -> Result<TriggerEvent> {
        let action = || format!("appending trigger event `{name}` of team {team}");
        let mut tx = self.pool.begin().await.map_err(failed(action()))?;
        // Lock the team's row first so its events commit in id order: a reader asking "after id N"
        // can then never miss an event that got a smaller id but committed later.
        // (MySQL counts the row as changed, though it is not: sqlx asks for "found rows".)
        let lock = self.sql("UPDATE teams SET name = name WHERE id = $1");
        let locked = sqlx::query(&lock).bind(team.0).execute(&mut *tx).await.map_err(failed(action()))?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("team {team}")));
        }
        let payload = serde_json::to_string(payload).expect("a map of strings always serialises");
        let sql = self.sql(format!("INSERT INTO trigger_events (team_id, name, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING {EVENT}"));
        let event = sqlx::query_as(&sql).bind(team.0).bind(name).bind(payload).bind(now_millis()).fetch_one(&mut *tx).await.map_err(failed(action()))?;
        tx.commit().await.map_err(failed(action()))?;
        Ok(event)
    }

    /// The stream's events after `after` (from the start if None), oldest first.
    pub async fn trigger_events_after(&self, team: TeamId, name: &str, after: Option<TriggerEventId>, limit: u32) -> Result<Vec<TriggerEvent>> {
        sqlx::query_as(&self.sql(format!("SELECT {EVENT} FROM trigger_events WHERE team_id = $1 AND name = $2 AND id > $3 ORDER BY id LIMIT $4")))
            .bind(team.0)
            .bind(name)
            .bind(after.map_or(0, |a| a.0))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("reading trigger events `{name}` of team {team}")))
    }

    /// The newest event of a stream: where a new listener starts.
    pub async fn latest_trigger_event(&self, team: TeamId, name: &str) -> Result<Option<TriggerEvent>> {
        sqlx::query_as(&self.sql(format!("SELECT {EVENT} FROM trigger_events WHERE team_id = $1 AND name = $2 ORDER BY id DESC LIMIT 1")))
            .bind(team.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading the newest trigger event `{name}` of team {team}")))
    }
}
