-- A command's journal rows by its inbox id (Command): the command as taken,
-- then its replies, in journal order. Found through the BRIN index on
-- inbox_id (step 11).
SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, '') AS source_ref,
       coalesce(inbox_id, 0) AS inbox_id, coalesce(outcome, '') AS outcome, coalesce(latency_us, 0) AS latency_us,
       coalesce(error, '') AS error
  FROM {{journal}}
 WHERE inbox_id = $1 AND kind IN ('command', 'rejected', 'reply')
 ORDER BY id
