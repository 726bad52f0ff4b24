-- Pushes back the lease of what $1 holds to $2. Leased commands are heads of
-- their agents' queues, found as in fragment/heads.sql. Each is locked by the row
-- version the walk read, skipping the ones a settle of the same relay holds
-- (they are being finished; waiting for them, while that settle waits for a
-- row locked here, would deadlock), and updated as locked.
{{> heads}}, mine AS (
    SELECT l.tid
      FROM head h
     CROSS JOIN LATERAL (SELECT i.ctid AS tid FROM {{inbox}} i
                          WHERE i.ctid = h.tid AND i.state = 'running' AND i.lease_owner = $1
                            FOR UPDATE SKIP LOCKED) l
     WHERE h.state = 'running' AND h.lease_owner = $1
)
UPDATE {{inbox}} u
   SET lease_expires = $2
 WHERE u.ctid = ANY (ARRAY(SELECT tid FROM mine))
