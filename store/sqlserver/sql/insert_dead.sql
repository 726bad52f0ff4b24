-- Dead letters, in the order given.
INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
SELECT v.inbox_id, v.source, v.source_ref, v.agent, v.verb, v.frame, v.code, v.reason, v.attempts, v.enqueued_at, v.died_at
  FROM (VALUES
--rows
(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
--end
) AS v(ord, inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
 ORDER BY v.ord
