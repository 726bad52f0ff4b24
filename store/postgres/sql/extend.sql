-- Pushes back the lease of what $1 holds to $2. Leased commands are heads of
-- their agents' queues, found as in claim.sql. Each is locked by the row
-- version the walk read, skipping the ones a settle of the same relay holds
-- (they are being finished; waiting for them, while that settle waits for a
-- row locked here, would deadlock), and updated as locked.
WITH RECURSIVE head AS (
    (SELECT i.ctid AS tid, i.agent, i.id, i.state, i.lease_owner
       FROM {{inbox}} i ORDER BY i.agent, i.id LIMIT 1)
    UNION ALL
    SELECT n.tid, n.agent, n.id, n.state, n.lease_owner
      FROM head h
     CROSS JOIN LATERAL (SELECT i.ctid AS tid, i.agent, i.id, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE i.agent > h.agent ORDER BY i.agent, i.id LIMIT 1) n
), mine AS (
    SELECT l.tid
      FROM head h
     CROSS JOIN LATERAL (SELECT i.ctid AS tid FROM {{inbox}} i
                          WHERE i.ctid = h.tid AND i.state = 'running' AND i.lease_owner = $1
                            FOR UPDATE SKIP LOCKED) l
     WHERE h.state = 'running' AND h.lease_owner = $1
)
UPDATE {{inbox}} u
   SET lease_expires = $2
 WHERE u.ctid = ANY (ARRAY(SELECT tid FROM mine))
