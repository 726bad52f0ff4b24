SELECT TOP (@p2) id, COALESCE(inbox_id, 0) AS inbox_id, source, source_ref, agent, COALESCE(verb, N'') AS verb, frame,
       COALESCE(code, N'') AS code, reason, attempts, enqueued_at, died_at
  FROM {{dead}}
 WHERE id > @p1
 ORDER BY id
