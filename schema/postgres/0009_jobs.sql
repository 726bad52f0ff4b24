-- ctirelay schema, step 9 (PostgreSQL): scheduled jobs once per cluster.
-- A run is recorded before it starts, one row per (job, scheduled slot), so
-- a leader that takes over can never run a slot its predecessor ran or
-- recorded missed; and at most one run of a job is running at a time. Both
-- rules are unique indexes, so they hold whichever relay (or `ctirelay jobs
-- run`) inserts. Manual runs take no slot of the schedule.
-- The leader's locks are shown in relay_node.holds (comma-separated).
-- Index names are unqualified, as in step 2.
ALTER TABLE {{job_run}} RENAME COLUMN outcome TO status;
ALTER TABLE {{job_run}} RENAME COLUMN detail TO summary;
ALTER TABLE {{job_run}} ADD COLUMN slot timestamptz;
ALTER TABLE {{job_run}} ADD COLUMN manual boolean NOT NULL DEFAULT false;
ALTER TABLE {{job_run}} ADD COLUMN heartbeat_at timestamptz;
UPDATE {{job_run}} SET slot = started_at, heartbeat_at = started_at, status = coalesce(status, 'abandoned');
ALTER TABLE {{job_run}} ALTER COLUMN slot SET NOT NULL;
ALTER TABLE {{job_run}} ALTER COLUMN heartbeat_at SET NOT NULL;
ALTER TABLE {{job_run}} ALTER COLUMN status SET NOT NULL;
CREATE UNIQUE INDEX {{prefix}}job_run_slot ON {{job_run}} (job, slot) WHERE NOT manual;
CREATE UNIQUE INDEX {{prefix}}job_run_running ON {{job_run}} (job) WHERE status = 'running';

ALTER TABLE {{node}} ADD COLUMN holds text NOT NULL DEFAULT '';
