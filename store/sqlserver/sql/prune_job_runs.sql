-- Deletes at most @p2 finished job runs started before @p1, oldest first.
DELETE FROM {{job_run}}
 WHERE id IN (SELECT TOP (@p2) id FROM {{job_run}} WHERE started_at < @p1 AND status <> N'running' ORDER BY id)
