-- Hands back what @p1 holds, as if it had never been claimed. Leased
-- commands are heads of their agents' queues (fragment/heads.sql); the
-- conditions are checked again on the row under its update lock, so no row
-- that stopped being this owner's is touched. Release runs once the relay
-- has stopped settling, so nothing of its own is locked meanwhile.
SET NOCOUNT ON;
{{> heads}}
UPDATE i
   SET state = 'ready', lease_owner = NULL, lease_expires = NULL,
       attempts = CASE WHEN i.attempts > 0 THEN i.attempts - 1 ELSE 0 END
  FROM @heads AS h
  JOIN {{inbox}} AS i WITH (ROWLOCK, UPDLOCK) ON i.agent = h.agent AND i.id = h.id
 WHERE h.state = 'running' AND h.lease_owner = @p1
   AND i.state = 'running' AND i.lease_owner = @p1;
