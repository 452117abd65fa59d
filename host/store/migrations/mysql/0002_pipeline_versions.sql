-- Each set of a pipeline is a version with its compiled plan; a build runs the plan of the
-- version that was current when it was created.
CREATE TABLE pipeline_versions (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    pipeline_id BIGINT NOT NULL,
    -- The compiled pipeline (JSON); NULL when it was set with variable values, which may hold
    -- credentials and are kept in the server's memory only.
    plan        LONGTEXT,
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (pipeline_id) REFERENCES pipelines (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
ALTER TABLE pipelines ADD COLUMN current_version BIGINT,
    ADD FOREIGN KEY (current_version) REFERENCES pipeline_versions (id) ON DELETE SET NULL;
ALTER TABLE builds ADD COLUMN pipeline_version BIGINT,
    ADD FOREIGN KEY (pipeline_version) REFERENCES pipeline_versions (id) ON DELETE SET NULL;
