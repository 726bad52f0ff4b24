-- Takes over up to $3 commands whose lease expired before $2, whoever held
-- them; the attempt count fences the previous holder's Settle. A leased
-- command is always the head of its agent's queue, so the heads are all
-- that is looked at (fragment/heads.sql, as in claim.sql).
{{> heads}}, expired AS (
    SELECT h.agent, h.id
      FROM head h
     WHERE h.state = 'running' AND h.lease_expires < $2
     ORDER BY h.id
), picked AS (
    SELECT l.tid
      FROM expired e
     CROSS JOIN LATERAL (SELECT i.ctid AS tid FROM {{inbox}} i
                          WHERE i.agent = e.agent AND i.id = e.id AND i.state = 'running' AND i.lease_expires < $2
                            FOR UPDATE SKIP LOCKED) l
     LIMIT $3
)
UPDATE {{inbox}} u
   SET lease_owner = $1, lease_expires = $4, attempts = u.attempts + 1
 WHERE u.ctid = ANY (ARRAY(SELECT tid FROM picked))
RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
