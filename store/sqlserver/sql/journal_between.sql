-- Journal entries at or after @p1 and before @p2 with id > @p3, in id
-- order, at most @p4.
SELECT TOP (@p4) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM {{journal}}
 WHERE at >= @p1 AND at < @p2 AND id > @p3
 ORDER BY id
