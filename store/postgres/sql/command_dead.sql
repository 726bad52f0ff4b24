-- A dead command by its inbox id (Command), the latest should there be more.
SELECT attempts, source, source_ref, agent, frame, enqueued_at, reason
  FROM {{dead}}
 WHERE inbox_id = $1
 ORDER BY id DESC
 LIMIT 1
