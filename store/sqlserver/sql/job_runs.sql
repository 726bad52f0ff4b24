-- The runs of job @p1 (every job when ''), newest slot first, at most @p2.
SELECT TOP (@p2) id, job, slot, manual, node, status, started_at, finished_at, heartbeat_at, COALESCE(summary, N'')
  FROM {{job_run}}
 WHERE @p1 = N'' OR job = @p1
 ORDER BY slot DESC, id DESC
