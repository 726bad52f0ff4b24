SELECT TOP (@p2) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM {{journal}}
 WHERE id > @p1
 ORDER BY id
