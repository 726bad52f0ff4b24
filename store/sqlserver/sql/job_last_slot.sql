-- The latest scheduled slot of job @p1 (NULL when none).
SELECT MAX(slot) FROM {{job_run}} WHERE job = @p1 AND manual = 0
