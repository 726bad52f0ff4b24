-- One command by inbox id (Command), three statements separated by lines of
-- "--next": its inbox row; else its dead letter (the latest); its journal
-- rows (the command as taken, then its replies) through the partial index
-- of step 6.
SELECT state, attempts, source, source_ref, agent, frame, enqueued_at, coalesce(last_error, '')
  FROM {{inbox}} WHERE id = ?
--next
SELECT attempts, source, source_ref, agent, frame, enqueued_at, reason
  FROM {{dead}} WHERE inbox_id = ? AND inbox_id IS NOT NULL ORDER BY id DESC LIMIT 1
--next
SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, ''), coalesce(inbox_id, 0),
       coalesce(outcome, ''), coalesce(latency_us, 0), coalesce(error, '')
  FROM {{journal}} WHERE inbox_id = ? AND inbox_id IS NOT NULL AND kind IN ('command', 'rejected', 'reply') ORDER BY id
