-- Run @p1 ended with status @p2 at @p3 and summary @p4; a finished run stays as it is.
UPDATE {{job_run}} SET status = @p2, finished_at = @p3, heartbeat_at = @p3, summary = @p4
 WHERE id = @p1 AND status = N'running'
