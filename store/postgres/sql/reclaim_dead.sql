-- Takes over, for $1 until $2, up to $5 commands whose relay is known dead,
-- whatever their lease expiry: with $3, every owner but $1 (one relay at a
-- time on this database); otherwise the other incarnations of node $4 (owners
-- '$4#…', or '$4' itself from before incarnations), $1 being the one running
-- under that name. The attempt count fences the dead holder's Settle. Heads
-- are found as in claim.sql (fragment/heads.sql).
{{> heads}}, dead AS (
    SELECT h.agent, h.id
      FROM head h
     WHERE h.state = 'running' AND h.lease_owner <> $1
       AND ($3 OR h.lease_owner = $4 OR starts_with(h.lease_owner, $4 || '#'))
     ORDER BY h.id
), picked AS (
    SELECT l.tid
      FROM dead d
     CROSS JOIN LATERAL (SELECT i.ctid AS tid FROM {{inbox}} i
                          WHERE i.agent = d.agent AND i.id = d.id AND i.state = 'running' AND i.lease_owner <> $1
                            FOR UPDATE SKIP LOCKED) l
     LIMIT $5
)
UPDATE {{inbox}} u
   SET lease_owner = $1, lease_expires = $2, attempts = u.attempts + 1
 WHERE u.ctid = ANY (ARRAY(SELECT tid FROM picked))
RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
