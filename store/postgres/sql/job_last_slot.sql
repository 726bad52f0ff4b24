-- The latest scheduled slot of job $1 (NULL when none): one probe of the slot index.
SELECT max(slot) FROM {{job_run}} WHERE job = $1 AND NOT manual
