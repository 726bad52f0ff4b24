-- The runner of run @p1 is alive at @p2.
UPDATE {{job_run}} SET heartbeat_at = @p2 WHERE id = @p1 AND status = N'running'
