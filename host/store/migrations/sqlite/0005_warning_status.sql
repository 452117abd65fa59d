-- A build of a job with `allow_failure` that failed ends `warning`: it does not block the jobs
-- after it. SQLite cannot change a CHECK in place, so the table is rebuilt as SQLite's
-- documentation says: a new table, a copy, the old one dropped, the new one renamed, with
-- foreign keys off (the store turns them off while it migrates, and checks them after), so that
-- dropping the old table deletes no row of the tables that refer to it. Refuse to run otherwise.
CREATE TEMP TABLE migrating_with_foreign_keys_off (foreign_keys INTEGER CHECK (foreign_keys = 0));
INSERT INTO migrating_with_foreign_keys_off SELECT foreign_keys FROM pragma_foreign_keys;
DROP TABLE migrating_with_foreign_keys_off;
CREATE TABLE builds_with_warning (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'started', 'succeeded', 'failed', 'errored', 'aborted', 'warning')),
    reason      TEXT,
    worker      TEXT,
    rerun_of    INTEGER REFERENCES builds (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    -- The last log sequence number handed out; bumped in the transaction that appends lines.
    last_log_seq INTEGER NOT NULL DEFAULT 0,
    pipeline_version INTEGER REFERENCES pipeline_versions (id),
    UNIQUE (job_id, number)
);
INSERT INTO builds_with_warning (id, job_id, number, status, reason, worker, rerun_of, created_at, started_at, finished_at, last_log_seq, pipeline_version)
    SELECT id, job_id, number, status, reason, worker, rerun_of, created_at, started_at, finished_at, last_log_seq, pipeline_version FROM builds;
-- Build ids already handed out stay handed out.
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'builds') WHERE name = 'builds_with_warning';
DROP TABLE builds;
ALTER TABLE builds_with_warning RENAME TO builds;
CREATE INDEX builds_by_status ON builds (status, id);
