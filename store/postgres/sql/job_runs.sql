-- The runs of job $1 (every job when ''), newest slot first, at most $2.
SELECT id, job, slot, manual, node, status, started_at, finished_at, heartbeat_at, coalesce(summary, '')
  FROM {{job_run}}
 WHERE $1 = '' OR job = $1
 ORDER BY slot DESC, id DESC
 LIMIT $2
