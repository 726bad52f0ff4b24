-- Moves the dead letters given back to the tail of the inbox as new
-- commands (new ids in dead-letter order, attempts 0, enqueued at the time
-- given). Rows refused at intake have no verb and stay where they are. The
-- caller holds the intake applock, as every writer of new inbox rows does.
-- Returns how many moved.
SET NOCOUNT ON;
DECLARE @at datetime2(6) = ?;
DECLARE @gone TABLE (id bigint NOT NULL PRIMARY KEY, source varchar(16) NOT NULL, source_ref nvarchar(max) NOT NULL,
                     agent nvarchar(400) NOT NULL, verb nvarchar(max) NOT NULL, frame nvarchar(max) NOT NULL);
DELETE d
OUTPUT deleted.id, deleted.source, deleted.source_ref, deleted.agent, deleted.verb, deleted.frame INTO @gone
  FROM {{dead}} AS d WITH (ROWLOCK)
 WHERE d.verb IS NOT NULL AND d.id IN (
--rows
?
--end
);
INSERT INTO {{inbox}} (source, source_ref, agent, verb, frame, state, attempts, enqueued_at)
SELECT g.source, g.source_ref, g.agent, g.verb, g.frame, 'ready', 0, @at
  FROM @gone AS g
 ORDER BY g.id;
SELECT COUNT_BIG(*) FROM @gone;
