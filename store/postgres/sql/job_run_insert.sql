-- Records the run of job $1 for slot $2 (manual $3) by node $4 with status
-- $5, started $6, finished $7 (NULL while running), heartbeat $8, summary
-- $9. Inserts nothing when either unique index (one row per scheduled slot,
-- one running run per job) has the row already; a concurrent insert of the
-- same row is waited for.
INSERT INTO {{job_run}} (job, slot, manual, node, status, started_at, finished_at, heartbeat_at, summary)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING
RETURNING id
