SELECT id, coalesce(inbox_id, 0) AS inbox_id, source, source_ref, agent, coalesce(verb, '') AS verb, frame,
       coalesce(code, '') AS code, reason, attempts, enqueued_at, died_at
  FROM {{dead}}
 WHERE id > $1
 ORDER BY id
 LIMIT $2
