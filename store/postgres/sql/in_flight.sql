-- The commands of the agents $1 (in any letter case) at the switch under a
-- lease not $2's: what an event of those agents may have to wait for. A
-- leased command is the head of its agent's queue, so each spelling of each
-- login costs one probe of (lower(agent), agent, id), and one more to find
-- there is no other spelling.
WITH RECURSIVE login AS (
    SELECT DISTINCT lower(a) AS l FROM unnest($1::text[]) a
), head AS (
    SELECT h.l, h.agent, h.id, h.attempts, h.state, h.lease_owner
      FROM login g
     CROSS JOIN LATERAL (SELECT lower(i.agent) AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE lower(i.agent) = g.l
                          ORDER BY lower(i.agent), i.agent, i.id LIMIT 1) h
    UNION ALL
    SELECT n.l, n.agent, n.id, n.attempts, n.state, n.lease_owner
      FROM head h
     CROSS JOIN LATERAL (SELECT lower(i.agent) AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE lower(i.agent) = h.l AND i.agent > h.agent
                          ORDER BY lower(i.agent), i.agent, i.id LIMIT 1) n
)
SELECT id, attempts, agent
  FROM head
 WHERE state = 'running' AND lease_owner IS DISTINCT FROM $2
