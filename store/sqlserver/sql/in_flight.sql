-- The commands of the logins given (in lower case, the row tuples) at the
-- switch under a lease not the owner's (the fixed parameter): what an event
-- of those agents may have to wait for. A leased command is the head of its
-- agent's queue, so the walk goes from each login to the head of each of its
-- spellings along (agent_folded, agent, id): one seek each, and one more to
-- find there is no other spelling. As in fragment/heads.sql, the recursive
-- member picks the first row past the previous spelling with ROW_NUMBER.
DECLARE @owner nvarchar(400) = ?;
WITH login AS (
    SELECT DISTINCT v.l
      FROM (VALUES
--rows
(?)
--end
) AS v(l)
), head AS (
    SELECT f.l, f.agent, f.id, f.attempts, f.state, f.lease_owner
      FROM login AS g
     CROSS APPLY (SELECT TOP (1) i.agent_folded AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                    FROM {{inbox}} AS i
                   WHERE i.agent_folded = g.l
                   ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.l, n.agent, n.id, n.attempts, n.state, n.lease_owner
      FROM (SELECT i.agent_folded AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner,
                   ROW_NUMBER() OVER (PARTITION BY h.l ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN {{inbox}} AS i ON i.agent_folded = h.l AND i.agent > h.agent) AS n
     WHERE n.rn = 1
)
SELECT id, attempts, agent
  FROM head
 WHERE state = 'running' AND (lease_owner IS NULL OR lease_owner <> @owner)
OPTION (MAXRECURSION 0);
