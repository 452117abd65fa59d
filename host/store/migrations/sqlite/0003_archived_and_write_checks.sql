-- A job or resource that a new version of its pipeline no longer has is archived: kept with its
-- builds and versions, no longer listed, checked or scheduled. Setting it again brings it back.
ALTER TABLE jobs ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
ALTER TABLE resources ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
-- /ready writes here (and takes it back) to find out whether the database accepts writes.
CREATE TABLE write_checks (at INTEGER NOT NULL);
