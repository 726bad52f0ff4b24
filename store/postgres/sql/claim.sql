-- Leases up to $3 commands that are ready at $2 and at the head of their
-- agent's queue (no older command of the agent in any state). Rows another
-- claimer is taking are skipped, and its claim makes the next row of that
-- agent a non-head, so two relays never hold commands of one agent.
WITH head AS (
    SELECT i.id
      FROM {{inbox}} i
     WHERE i.state = 'ready'
       AND (i.not_before IS NULL OR i.not_before <= $2)
       AND NOT EXISTS (SELECT 1 FROM {{inbox}} o WHERE o.agent = i.agent AND o.id < i.id)
     ORDER BY i.id
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
UPDATE {{inbox}} u
   SET state = 'running', lease_owner = $1, lease_expires = $4, attempts = u.attempts + 1
  FROM head
 WHERE u.id = head.id
RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
