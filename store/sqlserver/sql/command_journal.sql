-- A command's journal rows by its inbox id (Command): the command as taken,
-- then its replies, in journal order, through the filtered index of step 4.
SELECT id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM {{journal}}
 WHERE inbox_id = @p1 AND inbox_id IS NOT NULL AND kind IN ('command', 'rejected', 'reply')
 ORDER BY id
