-- The runner of run $1 is alive at $2.
UPDATE {{job_run}} SET heartbeat_at = $2 WHERE id = $1 AND status = 'running'
