-- Takes over up to $3 commands whose lease expired before $2, whoever held
-- them; the attempt count fences the previous holder's Settle.
WITH expired AS (
    SELECT id
      FROM {{inbox}}
     WHERE state = 'running' AND lease_expires < $2
     ORDER BY id
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
UPDATE {{inbox}} u
   SET lease_owner = $1, lease_expires = $4, attempts = u.attempts + 1
  FROM expired
 WHERE u.id = expired.id
RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
