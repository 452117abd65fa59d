-- pikoci's schema, MySQL dialect, for MariaDB 10.5 or newer. Kept column-for-column in step with
-- migrations/postgres and migrations/sqlite.
-- Only BIGINT and text columns: flags are 0/1 and times are unix milliseconds, so one query text
-- and one row decoder serve every dialect (see the SQLite file for why).
-- Differences from the PostgreSQL file, all forced by MySQL:
-- * Text is LONGTEXT: MySQL's TEXT holds 64 KiB at most, and configs, plans and log lines may be
--   longer (LONGTEXT costs only two more length bytes per value).
-- * A text column in a key or an index is VARCHAR (an index cannot hold a whole LONGTEXT): 255
--   for names, 64 for hex sha256 digests, 16 for the fixed words of a CHECK. A longer name is
--   refused (the store's connections are in strict mode, see Store::connect), not truncated.
-- * Foreign keys are table constraints: MySQL parses a column's REFERENCES clause and ignores it.
-- * Every table is InnoDB (transactions, foreign keys) in utf8mb4 with the binary, no-pad
--   collation, so text compares and sorts by code point, case and trailing spaces counting, as it
--   does on SQLite: `Main` and `main` are two teams on every backend.
-- * AUTO_INCREMENT ids are never reused: MariaDB keeps the counter across restarts since 10.2.4.

CREATE TABLE teams (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(255) NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE users (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username      VARCHAR(255) NOT NULL UNIQUE,
    -- An argon2 PHC string; NULL means the user cannot log in with a password.
    password_hash LONGTEXT,
    is_admin      BIGINT NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE team_members (
    team_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    role    LONGTEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'owner')),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE api_tokens (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    name         LONGTEXT NOT NULL,
    -- Hex sha256 of the token; the token itself is shown once and never stored.
    token_hash   VARCHAR(64) NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE pipelines (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    team_id    BIGINT NOT NULL,
    name       VARCHAR(255) NOT NULL,
    config     LONGTEXT NOT NULL,
    paused     BIGINT NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    public     BIGINT NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (team_id, name),
    FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE jobs (
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    pipeline_id       BIGINT NOT NULL,
    name              VARCHAR(255) NOT NULL,
    paused            BIGINT NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    -- The last build number handed out; bumped in the transaction that creates the build.
    last_build_number BIGINT NOT NULL DEFAULT 0,
    UNIQUE (pipeline_id, name),
    FOREIGN KEY (pipeline_id) REFERENCES pipelines (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE resources (
    id                      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    pipeline_id             BIGINT NOT NULL,
    name                    VARCHAR(255) NOT NULL,
    type                    LONGTEXT NOT NULL,
    last_check_at           BIGINT,
    last_check_succeeded_at BIGINT,
    last_check_error        LONGTEXT,
    next_check_at           BIGINT,
    -- Hex sha256 of the webhook token.
    webhook_token_hash      VARCHAR(64) UNIQUE,
    -- The last check order handed out; bumped in the transaction that saves new versions.
    last_check_order        BIGINT NOT NULL DEFAULT 0,
    UNIQUE (pipeline_id, name),
    FOREIGN KEY (pipeline_id) REFERENCES pipelines (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE resource_versions (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    resource_id BIGINT NOT NULL,
    -- Canonical JSON object of strings (keys sorted), so equal versions are equal text.
    version     LONGTEXT NOT NULL,
    -- sha256 of `version`: the dedupe key, small whatever the version's size.
    version_sha256 VARCHAR(64) NOT NULL,
    -- JSON list of {"name", "value"}.
    metadata    LONGTEXT NOT NULL DEFAULT '[]',
    check_order BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (resource_id, version_sha256),
    UNIQUE (resource_id, check_order),
    FOREIGN KEY (resource_id) REFERENCES resources (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE resource_pins (
    resource_id BIGINT NOT NULL PRIMARY KEY,
    version_id  BIGINT NOT NULL,
    comment     LONGTEXT NOT NULL DEFAULT '',
    pinned_at   BIGINT NOT NULL,
    FOREIGN KEY (resource_id) REFERENCES resources (id) ON DELETE CASCADE,
    FOREIGN KEY (version_id) REFERENCES resource_versions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- Where a job's history starts for a resource: versions up to this check order never trigger it.
CREATE TABLE job_baselines (
    job_id      BIGINT NOT NULL,
    resource_id BIGINT NOT NULL,
    check_order BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (job_id, resource_id),
    FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE,
    FOREIGN KEY (resource_id) REFERENCES resources (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE builds (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    job_id      BIGINT NOT NULL,
    number      BIGINT NOT NULL,
    status      VARCHAR(16) NOT NULL CHECK (status IN ('pending', 'started', 'succeeded', 'failed', 'errored', 'aborted')),
    reason      LONGTEXT,
    worker      LONGTEXT,
    rerun_of    BIGINT,
    created_at  BIGINT NOT NULL,
    started_at  BIGINT,
    finished_at BIGINT,
    -- The last log sequence number handed out; bumped in the transaction that appends lines.
    last_log_seq BIGINT NOT NULL DEFAULT 0,
    UNIQUE (job_id, number),
    FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE,
    FOREIGN KEY (rerun_of) REFERENCES builds (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX builds_by_status ON builds (status, id);

CREATE TABLE build_resources (
    build_id    BIGINT NOT NULL,
    direction   VARCHAR(16) NOT NULL CHECK (direction IN ('input', 'output')),
    name        VARCHAR(255) NOT NULL,
    resource_id BIGINT NOT NULL,
    version_id  BIGINT NOT NULL,
    -- Inputs only: the version was chosen through `passed` constraints.
    passed      BIGINT NOT NULL DEFAULT 0 CHECK (passed IN (0, 1)),
    UNIQUE (build_id, direction, name, version_id),
    FOREIGN KEY (build_id) REFERENCES builds (id) ON DELETE CASCADE,
    FOREIGN KEY (resource_id) REFERENCES resources (id) ON DELETE CASCADE,
    FOREIGN KEY (version_id) REFERENCES resource_versions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX build_resources_by_version ON build_resources (version_id);

CREATE TABLE build_log (
    build_id BIGINT NOT NULL,
    seq      BIGINT NOT NULL,
    kind     LONGTEXT NOT NULL CHECK (kind IN ('step_started', 'line', 'step_finished')),
    step     LONGTEXT NOT NULL,
    origin   LONGTEXT NOT NULL,
    text     LONGTEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (build_id, seq),
    FOREIGN KEY (build_id) REFERENCES builds (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE trigger_events (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    team_id    BIGINT NOT NULL,
    name       VARCHAR(255) NOT NULL,
    -- JSON object of strings.
    payload    LONGTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX trigger_events_by_stream ON trigger_events (team_id, name, id);
