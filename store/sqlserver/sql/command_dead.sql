-- A dead command by its inbox id (Command), the latest should there be more.
SELECT TOP (1) attempts, source, source_ref, agent, frame, enqueued_at, reason
  FROM {{dead}}
 WHERE inbox_id = @p1
 ORDER BY id DESC
