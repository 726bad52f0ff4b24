-- Pushes back the lease of what $1 holds to $2. Leased commands are heads of
-- their agents' queues, found as in claim.sql, and
-- updated by the row version the walk read (the UPDATE re-checks a row
-- changed since).
WITH RECURSIVE head AS (
    (SELECT i.ctid AS tid, i.agent, i.id, i.state, i.lease_owner
       FROM {{inbox}} i ORDER BY i.agent, i.id LIMIT 1)
    UNION ALL
    SELECT n.tid, n.agent, n.id, n.state, n.lease_owner
      FROM head h
     CROSS JOIN LATERAL (SELECT i.ctid AS tid, i.agent, i.id, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE i.agent > h.agent ORDER BY i.agent, i.id LIMIT 1) n
)
UPDATE {{inbox}} u
   SET lease_expires = $2
 WHERE u.ctid = ANY (ARRAY(SELECT h.tid FROM head h WHERE h.state = 'running' AND h.lease_owner = $1))
   AND u.state = 'running' AND u.lease_owner = $1
