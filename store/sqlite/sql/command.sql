-- One command by inbox id (Command), statements separated by lines of
-- "--next": its inbox row; else its dead letter (the latest); the first
-- command row of the journal at or after a journal id (the binary search
-- for the command's own row: commands are journaled in inbox id order, the
-- store having one writer); its replies within a range of journal ids (they
-- follow the command's row, contiguous). The journal has no index on
-- inbox_id: every command would pay two more B-tree inserts for it.
SELECT state, attempts, source, source_ref, agent, frame, enqueued_at, coalesce(last_error, '')
  FROM {{inbox}} WHERE id = ?
--next
SELECT attempts, source, source_ref, agent, frame, enqueued_at, reason
  FROM {{dead}} WHERE inbox_id = ? AND inbox_id IS NOT NULL ORDER BY id DESC LIMIT 1
--next
SELECT id, inbox_id FROM {{journal}}
 WHERE id >= ? AND kind = 'command' AND inbox_id IS NOT NULL ORDER BY id LIMIT 1
--next
SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, ''), coalesce(inbox_id, 0),
       coalesce(outcome, ''), coalesce(latency_us, 0), coalesce(error, '')
  FROM {{journal}} WHERE id BETWEEN ? AND ? AND (inbox_id = ? OR (id = ? AND kind = 'command')) ORDER BY id
--next
SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM {{journal}}
