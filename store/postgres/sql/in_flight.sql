-- The commands of the agents $1 (in any letter case) at the switch under a
-- lease not $2's: what an event of those agents may have to wait for. A
-- leased command is the head of its agent's queue. The spelling in lower
-- case is reached by the key (agent, id), one probe; the other spellings
-- (schema step 12 indexes only those) cost one probe of (lower(agent),
-- agent, id) each, and one more to find there is no other.
WITH RECURSIVE login AS (
    SELECT DISTINCT lower(a) AS l FROM unnest($1::text[]) a
), exact AS (
    SELECT h.agent, h.id, h.attempts, h.state, h.lease_owner
      FROM login g
     CROSS JOIN LATERAL (SELECT i.agent, i.id, i.attempts, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE i.agent = g.l
                          ORDER BY i.agent, i.id LIMIT 1) h
), folded AS (
    SELECT h.l, h.agent, h.id, h.attempts, h.state, h.lease_owner
      FROM login g
     CROSS JOIN LATERAL (SELECT lower(i.agent) AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE lower(i.agent) = g.l AND i.agent <> lower(i.agent)
                          ORDER BY lower(i.agent), i.agent, i.id LIMIT 1) h
    UNION ALL
    SELECT n.l, n.agent, n.id, n.attempts, n.state, n.lease_owner
      FROM folded h
     CROSS JOIN LATERAL (SELECT lower(i.agent) AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                           FROM {{inbox}} i
                          WHERE lower(i.agent) = h.l AND i.agent > h.agent AND i.agent <> lower(i.agent)
                          ORDER BY lower(i.agent), i.agent, i.id LIMIT 1) n
)
SELECT id, attempts, agent
  FROM (SELECT agent, id, attempts, state, lease_owner FROM exact
        UNION ALL
        SELECT agent, id, attempts, state, lease_owner FROM folded) h
 WHERE state = 'running' AND lease_owner IS DISTINCT FROM $2
