-- Whether scheduled slot $2 of job $1 has a row.
SELECT EXISTS (SELECT 1 FROM {{job_run}} WHERE job = $1 AND slot = $2 AND NOT manual)
