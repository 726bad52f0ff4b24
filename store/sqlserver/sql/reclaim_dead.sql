-- Takes over, for @p1 until @p2, up to @p5 commands whose relay is known
-- dead, whatever their lease expiry: with @p3 = 1, every owner but @p1 (one
-- relay at a time on this database); otherwise the other incarnations of
-- node @p4 (owners '@p4#…', or '@p4' itself from before incarnations), @p1
-- being the one running under that name. lease_owner compares in binary
-- (the column's collation), so the prefix test is exact. The attempt count
-- fences the dead holder's Settle. Heads are found as in claim.sql.
SET NOCOUNT ON;
{{> heads}}
{{> leased}}
WITH picked AS (
    SELECT TOP (@p5) i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.enqueued_at,
                    i.state, i.lease_owner, i.lease_expires, i.attempts
      FROM @heads AS h
      JOIN {{inbox}} AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
     WHERE h.state = 'running' AND h.lease_owner <> @p1
       AND (@p3 = 1 OR h.lease_owner = @p4 OR LEFT(h.lease_owner, LEN(@p4 + N'#')) = @p4 + N'#')
       AND i.state = 'running' AND i.lease_owner = h.lease_owner
     ORDER BY h.id
)
UPDATE picked
   SET lease_owner = @p1, lease_expires = @p2, attempts = attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased;
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
