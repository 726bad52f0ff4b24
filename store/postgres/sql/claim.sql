-- Leases up to $3 commands that are ready at $2 and at the head of their
-- agent's queue (the agent's oldest command, in any state). The heads are
-- found by skipping along (agent, id): one index probe per agent with
-- commands, whatever the backlog. Rows another claimer is taking are
-- skipped, and its claim makes that head running, so two relays never hold
-- commands of one agent.
WITH RECURSIVE head AS (
    (SELECT i.agent, i.id, i.state, i.not_before FROM {{inbox}} i ORDER BY i.agent, i.id LIMIT 1)
    UNION ALL
    SELECT n.agent, n.id, n.state, n.not_before
      FROM head h
     CROSS JOIN LATERAL (SELECT i.agent, i.id, i.state, i.not_before FROM {{inbox}} i
                          WHERE i.agent > h.agent ORDER BY i.agent, i.id LIMIT 1) n
), picked AS (
    SELECT i.id
      FROM {{inbox}} i
     WHERE i.id IN (SELECT h.id FROM head h
                     WHERE h.state = 'ready' AND (h.not_before IS NULL OR h.not_before <= $2))
       AND i.state = 'ready'
     ORDER BY i.id
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
UPDATE {{inbox}} u
   SET state = 'running', lease_owner = $1, lease_expires = $4, attempts = u.attempts + 1
  FROM picked
 WHERE u.id = picked.id
RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
