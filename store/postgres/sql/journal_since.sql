-- Journal entries of the kinds $2 after id $1, for followers (bridges).
SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, '') AS source_ref,
       coalesce(inbox_id, 0) AS inbox_id, coalesce(outcome, '') AS outcome, coalesce(latency_us, 0) AS latency_us,
       coalesce(error, '') AS error
  FROM {{journal}}
 WHERE id > $1 AND kind = ANY ($2::text[])
 ORDER BY id
 LIMIT $3
