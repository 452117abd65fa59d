-- A build of a job with `allow_failure` that failed ends `warning`: it does not block the jobs
-- after it.
ALTER TABLE builds DROP CONSTRAINT builds_status_check;
ALTER TABLE builds ADD CONSTRAINT builds_status_check
    CHECK (status IN ('pending', 'started', 'succeeded', 'failed', 'errored', 'aborted', 'warning'));
