-- Journal entries at or after $1 and before $2 with id > $3, in id order, at
-- most $4: a period read a page at a time (the BRIN index on at finds it).
SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, '') AS source_ref,
       coalesce(inbox_id, 0) AS inbox_id, coalesce(outcome, '') AS outcome, coalesce(latency_us, 0) AS latency_us,
       coalesce(error, '') AS error
  FROM {{journal}}
 WHERE at >= $1 AND at < $2 AND id > $3
 ORDER BY id
 LIMIT $4
