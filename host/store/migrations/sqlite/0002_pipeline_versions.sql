-- Each set of a pipeline is a version with its compiled plan; a build runs the plan of the
-- version that was current when it was created.
CREATE TABLE pipeline_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    -- The compiled pipeline (JSON); NULL when it was set with variable values, which may hold
    -- credentials and are kept in the server's memory only.
    plan        TEXT,
    created_at  INTEGER NOT NULL
);
ALTER TABLE pipelines ADD COLUMN current_version INTEGER REFERENCES pipeline_versions (id);
ALTER TABLE builds ADD COLUMN pipeline_version INTEGER REFERENCES pipeline_versions (id);
