-- ctirelay schema, step 4 (SQLite): scheduled jobs. As PostgreSQL's step 9:
-- one row per (job, scheduled slot), recorded before the run starts, and at
-- most one running run per job, both kept by unique indexes; relay_node.holds
-- lists the locks a relay holds (comma-separated).
ALTER TABLE {{job_run}} RENAME COLUMN outcome TO status;
ALTER TABLE {{job_run}} RENAME COLUMN detail TO summary;
ALTER TABLE {{job_run}} ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{job_run}} ADD COLUMN manual INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{job_run}} ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;
UPDATE {{job_run}} SET slot = started_at, heartbeat_at = started_at, status = coalesce(status, 'abandoned');
CREATE UNIQUE INDEX {{prefix}}job_run_slot ON {{job_run}} (job, slot) WHERE manual = 0;
CREATE UNIQUE INDEX {{prefix}}job_run_running ON {{job_run}} (job) WHERE status = 'running';

ALTER TABLE {{node}} ADD COLUMN holds TEXT NOT NULL DEFAULT '';
