-- Pushes back the lease of what @p1 holds to @p2. Leased commands are heads
-- of their agents' queues (fragment/heads.sql). Rows a settle of the same
-- relay holds are skipped (READPAST): they are being finished, and waiting
-- for them while that settle waits for a row locked here would deadlock.
SET NOCOUNT ON;
{{> heads}}
UPDATE i
   SET lease_expires = @p2
  FROM @heads AS h
  JOIN {{inbox}} AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
 WHERE h.state = 'running' AND h.lease_owner = @p1
   AND i.state = 'running' AND i.lease_owner = @p1;
