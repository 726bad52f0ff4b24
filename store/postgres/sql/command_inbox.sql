-- One command of the inbox by id (Command).
SELECT state, attempts, source, source_ref, agent, frame, enqueued_at, coalesce(last_error, '') AS last_error
  FROM {{inbox}}
 WHERE id = $1
