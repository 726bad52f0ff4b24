-- Hands back what the owner holds, as if it had never been claimed. Leased
-- commands are heads of their agents' queues, found as in claim.sql.
WITH RECURSIVE head AS (
    (SELECT i.agent, i.id, i.state, i.not_before, i.lease_owner, i.lease_expires
       FROM {{inbox}} i ORDER BY i.agent, i.id LIMIT 1)
    UNION ALL
    SELECT n.agent, n.id, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM head h
     CROSS JOIN LATERAL (SELECT i.agent, i.id, i.state, i.not_before, i.lease_owner, i.lease_expires
                           FROM {{inbox}} i
                          WHERE i.agent > h.agent ORDER BY i.agent, i.id LIMIT 1) n
)
UPDATE {{inbox}} u
   SET state = 'ready', lease_owner = NULL, lease_expires = NULL, attempts = u.attempts - 1
 WHERE u.id = ANY (ARRAY(SELECT h.id FROM head h WHERE h.state = 'running' AND h.lease_owner = $1))
   AND u.state = 'running' AND u.lease_owner = $1
