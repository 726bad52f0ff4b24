-- Settle's Retry outcomes, fenced like remove.sql: the command waits, ready,
-- until not_before, keeping its place at the head of its agent's queue.
-- Returns how many applied.
SET NOCOUNT ON;
DECLARE @done TABLE (id bigint NOT NULL PRIMARY KEY);
UPDATE i
   SET state = 'ready', not_before = v.not_before, last_error = v.reason, lease_owner = NULL, lease_expires = NULL
OUTPUT inserted.id INTO @done
  FROM {{inbox}} AS i WITH (ROWLOCK)
  JOIN (VALUES
--rows
(?, ?, ?, ?, ?, ?)
--end
) AS v(agent, id, owner, attempts, not_before, reason)
    ON i.agent = v.agent AND i.id = v.id
 WHERE i.state = 'running' AND i.lease_owner = v.owner AND i.attempts = v.attempts;
SELECT COUNT_BIG(*) FROM @done;
