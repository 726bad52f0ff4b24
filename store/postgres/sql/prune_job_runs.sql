-- Deletes at most $2 finished job runs started before $1, oldest first.
DELETE FROM {{job_run}}
 WHERE id IN (SELECT id FROM {{job_run}} WHERE started_at < $1 AND status <> 'running' ORDER BY id LIMIT $2)
