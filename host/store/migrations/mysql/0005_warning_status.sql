-- A build of a job with `allow_failure` that failed ends `warning`: it does not block the jobs
-- after it. The CHECK is part of the column's definition in MariaDB.
ALTER TABLE builds MODIFY status VARCHAR(16) NOT NULL
    CHECK (status IN ('pending', 'started', 'succeeded', 'failed', 'errored', 'aborted', 'warning'));
