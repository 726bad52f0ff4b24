-- One command of the inbox by id (Command).
SELECT state, attempts, source, source_ref, agent, frame, enqueued_at, COALESCE(last_error, N'') AS last_error
  FROM {{inbox}}
 WHERE id = @p1
