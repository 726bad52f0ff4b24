-- Takes over, for @p1 until @p4, up to @p3 commands whose lease expired
-- before @p2, whoever held them; the attempt count fences the previous
-- holder's Settle. A leased command is always the head of its agent's
-- queue, so the heads are all that is looked at (as in claim.sql).
SET NOCOUNT ON;
{{> heads}}
{{> leased}}
WITH picked AS (
    SELECT TOP (@p3) i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.enqueued_at,
                    i.state, i.lease_owner, i.lease_expires, i.attempts
      FROM @heads AS h
      JOIN {{inbox}} AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
     WHERE h.state = 'running' AND h.lease_expires < @p2
       AND i.state = 'running' AND i.lease_expires < @p2
     ORDER BY h.id
)
UPDATE picked
   SET lease_owner = @p1, lease_expires = @p4, attempts = attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased;
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
