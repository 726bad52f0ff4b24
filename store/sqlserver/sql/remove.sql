-- Settle's fence for Done and Dead outcomes: a row is deleted only while it
-- is still running under the outcome's owner and attempt (a takeover
-- changes one of them). Rows are reached by their key (agent, id). Returns
-- the leases removed.
SET NOCOUNT ON;
DECLARE @gone TABLE (id bigint NOT NULL PRIMARY KEY, lease_owner nvarchar(400) NOT NULL, attempts int NOT NULL);
DELETE i
OUTPUT deleted.id, deleted.lease_owner, deleted.attempts INTO @gone
  FROM {{inbox}} AS i WITH (ROWLOCK)
  JOIN (VALUES
--rows
(?, ?, ?, ?)
--end
) AS v(agent, id, owner, attempts)
    ON i.agent = v.agent AND i.id = v.id
 WHERE i.state = 'running' AND i.lease_owner = v.owner AND i.attempts = v.attempts;
SELECT id, lease_owner, attempts FROM @gone;
