-- Journal rows, ids in the order given; the caller holds the output applock
-- to commit, so they become visible in id order.
INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
SELECT v.at, v.direction, v.kind, v.agent, v.frame, v.origin, v.source_ref, v.inbox_id, v.outcome, v.latency_us, v.error
  FROM (VALUES
--rows
(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
--end
) AS v(ord, at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
 ORDER BY v.ord
