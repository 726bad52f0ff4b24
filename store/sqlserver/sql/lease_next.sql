-- Leases, for the owner until the expiry given, up to the limit given of
-- the commands that settled ones (agent and id per row) leave at the head
-- of their agent's queue: the agent's next command, when it is ready at
-- the time given. No other relay can hold it: it was not a head until this
-- transaction, which deleted the older one, commits. So no READPAST.
SET NOCOUNT ON;
DECLARE @owner nvarchar(400) = ?, @until datetime2(6) = ?, @now datetime2(6) = ?, @limit int = ?;
DECLARE @next TABLE (id bigint NOT NULL PRIMARY KEY, agent nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL);
{{> leased}}
INSERT INTO @next (id, agent)
SELECT TOP (@limit) x.id, x.agent
  FROM (VALUES
--rows
(?, ?)
--end
) AS f(agent, id)
 CROSS APPLY (SELECT TOP (1) n.id, n.agent, n.state, n.not_before
                FROM {{inbox}} AS n
               WHERE n.agent = f.agent AND n.id > f.id
               ORDER BY n.id) AS x
 WHERE x.state = 'ready' AND (x.not_before IS NULL OR x.not_before <= @now)
 ORDER BY x.id;
UPDATE i
   SET state = 'running', lease_owner = @owner, lease_expires = @until, attempts = i.attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased
  FROM @next AS x
  JOIN {{inbox}} AS i WITH (ROWLOCK, UPDLOCK) ON i.agent = x.agent AND i.id = x.id
 WHERE i.state = 'ready';
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
