//! A build's log: its events (step started, a line, step finished) numbered 1, 2, 3... per build,
//! committed batch by batch as they are written, readable from any point for live following.

use crate::error::{failed, Result, StoreError};
use crate::ids::BuildId;
use crate::store::{get, placeholders, text, Dialect, Store};
use crate::text_enum::text_enum;
use sqlx::any::AnyRow;
use sqlx::FromRow;

text_enum! {
    /// What a log event records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum LogKind ("log event kind") {
        StepStarted = "step_started",
        Line = "line",
        StepFinished = "step_finished",
    }
}

/// A log event to append. The executor's `BuildEvent` maps onto it: for a line, `origin` is the
/// stream (`stdout`, `stderr`, `info`...); for a finished step, the outcome (`succeeded`,
/// `failed`...) with the reason or duration in `text`; for a started step both may be empty.
/// `text` must already be redacted: the store writes what it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogLine {
    pub kind: LogKind,
    pub step: String,
    pub origin: String,
    pub text: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// A stored log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 1, 2, 3... within the build, in the order appended.
    pub seq: i64,
    pub kind: LogKind,
    pub step: String,
    pub origin: String,
    pub text: String,
    pub at: i64,
}

impl FromRow<'_, AnyRow> for LogLine {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(LogLine {
            seq: get(row, "seq")?,
            kind: LogKind::decode(row, "kind")?,
            step: text(row, "step")?,
            origin: text(row, "origin")?,
            text: text(row, "text")?,
            at: get(row, "at")?,
        })
    }
}

/// Rows per INSERT on MariaDB, 7 parameters each: the fastest of 25, 100 and 500 (100,000 lines
/// appended 5,000 at a time: 0.59 s at 100, 0.79 s at 500, 0.96 s at 25).
const ROWS_PER_INSERT: usize = 100;

impl Store {
    /// Appends events to the build's log in one transaction: when this returns they are committed
    /// (they survive the server's crash) and visible to readers. Returns the sequence number of the last
    /// one (the build's current last, if `lines` is empty).
    pub async fn append_log(&self, build: BuildId, lines: &[NewLogLine]) -> Result<i64> {
        let action = || format!("appending to the log of build {build}");
        let mut tx = self.begin_redoable().await.map_err(failed(action()))?;
        // Reserving the numbers first locks the build's row until commit: appends to one build
        // queue, and a reader never sees seq 7 before seq 6 is committed.
        let last = self.bump(&mut tx, "builds", "last_log_seq", build.0, lines.len() as i64).await.map_err(failed(action()))?;
        let Some(last) = last else { return Err(StoreError::NotFound(format!("build {build}"))) };
        let first = last - lines.len() as i64 + 1;
        match self.dialect() {
            // The whole batch as one JSON array, unpacked by the database: one statement and
            // three parameters however many lines. 100,000 lines appended 5,000 at a time took
            // SQLite 0.31 s this way, 0.69 s at its best with many rows per INSERT (25) and 3.5 s
            // at 500, where sqlx's cost per statement grows faster than its rows. PostgreSQL
            // parses `json` again at each `->>`, `jsonb` once: 5,000 lines in 73 ms, not 111.
            Dialect::Sqlite | Dialect::Postgres => {
                let rows: Vec<(&str, &str, &str, &str, i64)> = lines.iter().map(|l| (l.kind.as_str(), &*l.step, &*l.origin, &*l.text, l.at)).collect();
                let rows = serde_json::to_string(&rows).expect("log lines always serialise");
                let sql = self.sql(match self.dialect() {
                    Dialect::Postgres => {
                        "INSERT INTO build_log (build_id, seq, kind, step, origin, text, at) \
                         SELECT $1, $2 + t.i - 1, t.r ->> 0, t.r ->> 1, t.r ->> 2, t.r ->> 3, (t.r ->> 4)::bigint \
                         FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(r, i)"
                    }
                    _ => {
                        "INSERT INTO build_log (build_id, seq, kind, step, origin, text, at) \
                         SELECT $1, $2 + j.key, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4 \
                         FROM json_each($3) AS j ORDER BY j.key"
                    }
                });
                sqlx::query(&sql).bind(build.0).bind(first).bind(rows).execute(&mut *tx).await.map_err(failed(action()))?;
            }
            // MariaDB 10.5 has no JSON_TABLE: many rows per INSERT.
            Dialect::Mysql => {
                let mut seq = first;
                for chunk in lines.chunks(ROWS_PER_INSERT) {
                    let values = (0..chunk.len()).map(|i| format!("({})", placeholders(i * 7 + 1, 7))).collect::<Vec<_>>().join(", ");
                    let sql = self.sql(format!("INSERT INTO build_log (build_id, seq, kind, step, origin, text, at) VALUES {values}"));
                    let mut query = sqlx::query(&sql);
                    for line in chunk {
                        query = query.bind(build.0).bind(seq).bind(line.kind.as_str()).bind(&line.step).bind(&line.origin).bind(&line.text).bind(line.at);
                        seq += 1;
                    }
                    query.execute(&mut *tx).await.map_err(failed(action()))?;
                }
            }
        }
        tx.commit().await.map_err(failed(action()))?;
        Ok(last)
    }

    /// Up to `limit` events with a sequence number above `after_seq`, in order. Start at 0; to follow
    /// a running build, ask again with the last `seq` seen.
    pub async fn read_log(&self, build: BuildId, after_seq: i64, limit: u32) -> Result<Vec<LogLine>> {
        sqlx::query_as(&self.sql("SELECT seq, kind, step, origin, text, at FROM build_log WHERE build_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"))
            .bind(build.0)
            .bind(after_seq)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("reading the log of build {build}")))
    }

    /// How many events the build's log holds.
    pub async fn log_len(&self, build: BuildId) -> Result<i64> {
        sqlx::query_scalar(&self.sql("SELECT COUNT(*) FROM build_log WHERE build_id = $1"))
            .bind(build.0)
            .fetch_one(&self.pool)
            .await
            .map_err(failed(format!("counting the log of build {build}")))
    }
}
