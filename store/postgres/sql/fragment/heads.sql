-- heads walks the heads of the agents' queues (each agent's oldest command,
-- in any state) by skipping along (agent, id): one index probe per agent
-- with commands, whatever the backlog. claim, reclaim, reclaim_dead, extend
-- and release start from it; tid is the row version read, for updating it
-- as read.
WITH RECURSIVE head AS (
    (SELECT i.ctid AS tid, i.agent, i.id, i.state, i.not_before, i.lease_owner, i.lease_expires
       FROM {{inbox}} i ORDER BY i.agent, i.id LIMIT 1)
    UNION ALL
    SELECT n.tid, n.agent, n.id, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM head h
     CROSS JOIN LATERAL (SELECT i.ctid AS tid, i.agent, i.id, i.state, i.not_before, i.lease_owner, i.lease_expires
                           FROM {{inbox}} i
                          WHERE i.agent > h.agent ORDER BY i.agent, i.id LIMIT 1) n
)
