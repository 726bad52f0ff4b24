-- Leases, for @p1 until @p4, up to @p3 commands that are ready at @p2 and
-- at the head of their agent's queue (fragment/heads.sql). The ordered CTE
-- locks the heads oldest first, skipping (READPAST) rows another relay is
-- leasing or settling, and re-reads state under its update lock, so two
-- relays never hold commands of one agent: a head stays the head until it
-- is deleted, and a claim by another relay makes it running. The OUTPUT
-- names the CTE's columns (an UPDATE through a CTE sees those), so it
-- selects every column returned. Driven from @heads in id order, TOP stops
-- once @p3 rows qualified, so few rows beyond those are locked.
SET NOCOUNT ON;
{{> heads}}
{{> leased}}
WITH picked AS (
    SELECT TOP (@p3) i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.enqueued_at,
                    i.state, i.lease_owner, i.lease_expires, i.attempts
      FROM @heads AS h
      JOIN {{inbox}} AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
     WHERE h.state = 'ready' AND (h.not_before IS NULL OR h.not_before <= @p2)
       AND i.state = 'ready'
     ORDER BY h.id
)
UPDATE picked
   SET state = 'running', lease_owner = @p1, lease_expires = @p4, attempts = attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased;
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
