-- heads fills @heads with the head of every agent's queue (the agent's
-- oldest command, in any state) by skipping along the clustered key
-- (agent, id): one seek per agent with commands, whatever the backlog.
-- A recursive member may not use TOP, so ROW_NUMBER picks the first row
-- past the previous agent. This walk is the check "no older unfinished
-- command of this agent": it never uses READPAST, which would skip an older
-- command some transaction has locked and take the next one for the head.
-- Under locking READ COMMITTED it waits for such a row; with
-- READ_COMMITTED_SNAPSHOT it reads the last committed version. claim,
-- reclaim, reclaim_dead, extend and release start from it.
DECLARE @heads TABLE (
    id            bigint        NOT NULL PRIMARY KEY,
    agent         nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state         varchar(8)    NOT NULL,
    not_before    datetime2(6)  NULL,
    lease_owner   nvarchar(400) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)  NULL
);
WITH head AS (
    SELECT f.id, f.agent, f.state, f.not_before, f.lease_owner, f.lease_expires
      FROM (SELECT TOP (1) i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires
              FROM {{inbox}} AS i
             ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.id, n.agent, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM (SELECT i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires,
                   ROW_NUMBER() OVER (ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN {{inbox}} AS i ON i.agent > h.agent) AS n
     WHERE n.rn = 1
)
INSERT INTO @heads (id, agent, state, not_before, lease_owner, lease_expires)
SELECT id, agent, state, not_before, lease_owner, lease_expires
  FROM head
OPTION (MAXRECURSION 0);
