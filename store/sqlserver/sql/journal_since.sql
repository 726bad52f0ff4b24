-- Up to the limit given of the journal entries after the id given whose
-- kind is one of those listed, for followers (bridges).
SELECT TOP (?) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM {{journal}}
 WHERE id > ? AND kind IN (
--rows
?
--end
)
 ORDER BY id
