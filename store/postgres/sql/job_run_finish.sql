-- Run $1 ended with status $2 at $3 and summary $4; a finished run stays as it is.
UPDATE {{job_run}} SET status = $2, finished_at = $3, heartbeat_at = $3, summary = $4
 WHERE id = $1 AND status = 'running'
