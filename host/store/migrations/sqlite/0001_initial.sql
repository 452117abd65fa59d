-- pikoci's schema, SQLite dialect. Kept column-for-column in step with migrations/postgres.
-- Only INTEGER and TEXT columns: flags are 0/1 and times are unix milliseconds, so one query text
-- and one row decoder serve both dialects (sqlx's Any driver has no SQLite BOOLEAN or DATETIME).
-- AUTOINCREMENT so an id is never reused: trigger events and logs are read "after id N".

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    -- An argon2 PHC string; NULL means the user cannot log in with a password.
    password_hash TEXT,
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'owner')),
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    -- Hex sha256 of the token; the token itself is shown once and never stored.
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);

CREATE TABLE pipelines (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    config     TEXT    NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    public     INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id       INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    paused            INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    -- The last build number handed out; bumped in the transaction that creates the build.
    last_build_number INTEGER NOT NULL DEFAULT 0,
    UNIQUE (pipeline_id, name)
);

CREATE TABLE resources (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id             INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name                    TEXT    NOT NULL,
    type                    TEXT    NOT NULL,
    last_check_at           INTEGER,
    last_check_succeeded_at INTEGER,
    last_check_error        TEXT,
    next_check_at           INTEGER,
    -- Hex sha256 of the webhook token.
    webhook_token_hash      TEXT UNIQUE,
    -- The last check order handed out; bumped in the transaction that saves new versions.
    last_check_order        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (pipeline_id, name)
);

CREATE TABLE resource_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    -- Canonical JSON object of strings (keys sorted), so equal versions are equal text.
    version     TEXT    NOT NULL,
    -- sha256 of `version`: the dedupe key, small whatever the version's size.
    version_sha256 TEXT NOT NULL,
    -- JSON list of {"name", "value"}.
    metadata    TEXT    NOT NULL DEFAULT '[]',
    check_order INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (resource_id, version_sha256),
    UNIQUE (resource_id, check_order)
);

CREATE TABLE resource_pins (
    resource_id INTEGER PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
    version_id  INTEGER NOT NULL REFERENCES resource_versions (id) ON DELETE CASCADE,
    comment     TEXT    NOT NULL DEFAULT '',
    pinned_at   INTEGER NOT NULL
);

-- Where a job's history starts for a resource: versions up to this check order never trigger it.
CREATE TABLE job_baselines (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    check_order INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (job_id, resource_id)
);

CREATE TABLE builds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'started', 'succeeded', 'failed', 'errored', 'aborted')),
    reason      TEXT,
    worker      TEXT,
    rerun_of    INTEGER REFERENCES builds (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    -- The last log sequence number handed out; bumped in the transaction that appends lines.
    last_log_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (job_id, number)
);
CREATE INDEX builds_by_status ON builds (status, id);

CREATE TABLE build_resources (
    build_id    INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    direction   TEXT    NOT NULL CHECK (direction IN ('input', 'output')),
    name        TEXT    NOT NULL,
    resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    version_id  INTEGER NOT NULL REFERENCES resource_versions (id) ON DELETE CASCADE,
    -- Inputs only: the version was chosen through `passed` constraints.
    passed      INTEGER NOT NULL DEFAULT 0 CHECK (passed IN (0, 1)),
    UNIQUE (build_id, direction, name, version_id)
);
CREATE INDEX build_resources_by_version ON build_resources (version_id);

CREATE TABLE build_log (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('step_started', 'line', 'step_finished')),
    step     TEXT    NOT NULL,
    origin   TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (build_id, seq)
);

CREATE TABLE trigger_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    -- JSON object of strings.
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX trigger_events_by_stream ON trigger_events (team_id, name, id);
