-- The runs of job $1 still running with a heartbeat before $2 are abandoned
-- at $3: their runner died (a live runner refreshes its heartbeat), as
-- their summary says.
UPDATE {{job_run}} SET status = 'abandoned', finished_at = $3,
       summary = '{"reason":"no heartbeat for three beats: its relay died mid-run"}'
 WHERE job = $1 AND status = 'running' AND heartbeat_at < $2
