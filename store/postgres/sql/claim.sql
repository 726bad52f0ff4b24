-- Leases up to $3 commands that are ready at $2 and at the head of their
-- agent's queue (the agent's oldest command, in any state). The heads are
-- found by skipping along (agent, id) (fragment/heads.sql): one index probe per agent with
-- commands, whatever the backlog. Rows another claimer is taking are
-- skipped, and its claim makes that head running, so two relays never hold
-- commands of one agent. Every step is an index lookup driven from the heads:
-- a plan made while the inbox was empty must not scan it whole once it holds
-- a backlog (the relay's sessions also run with enable_seqscan off, see
-- postgres.go).
{{> heads}}, ready AS (
    SELECT h.agent, h.id
      FROM head h
     WHERE h.state = 'ready' AND (h.not_before IS NULL OR h.not_before <= $2)
     ORDER BY h.id
), picked AS (
    -- locked one by one, oldest first, until the limit; updated below by
    -- the row version locked here
    SELECT l.tid
      FROM ready r
     CROSS JOIN LATERAL (SELECT i.ctid AS tid FROM {{inbox}} i
                          WHERE i.agent = r.agent AND i.id = r.id AND i.state = 'ready'
                            FOR UPDATE SKIP LOCKED) l
     LIMIT $3
)
UPDATE {{inbox}} u
   SET state = 'running', lease_owner = $1, lease_expires = $4, attempts = u.attempts + 1
 WHERE u.ctid = ANY (ARRAY(SELECT tid FROM picked))
RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
