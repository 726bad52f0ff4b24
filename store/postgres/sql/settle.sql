-- Applies a batch of outcomes in one statement. $1..$7 and $15 are parallel
-- arrays, one element per outcome: inbox id, lease owner, attempts (the
-- fence), kind ('done', 'retry', 'dead'), not_before ('' for none), reason,
-- the ERR code of a dead command ('' for none) and the agent (with the id,
-- the inbox key). $8..$10 are the reply frames:
-- the 1-based outcome each answers, the frame and 'ok' or 'err'. $11 is now.
-- An outcome whose row was taken over (owner, attempts or state changed) is
-- skipped. In the same transaction it leases, for $12 until $13, up to $14 of
-- the commands that the finished ones leave at the head of their agent's
-- queue (the agent's next command, when ready at $11), so the relay need not
-- look for them. Returns the number applied on every row, with one row per
-- command leased (or a single row of NULLs). Inbox rows are reached by key
-- from the outcomes whatever the plan (see claim.sql).
WITH o AS (
    SELECT o.*
      FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $15::text[])
           WITH ORDINALITY AS o(id, owner, attempts, kind, not_before, reason, code, agent, ord)
), retried AS (
    -- Driven from the outcomes (a probe by key each) and fenced in the
    -- statement itself: a takeover that commits first changes owner or
    -- attempts, and the conditions are checked again on the row waited for.
    UPDATE {{inbox}} i
       SET state = 'ready', not_before = nullif(o.not_before, '')::timestamptz, last_error = o.reason,
           lease_owner = NULL, lease_expires = NULL
      FROM o
     WHERE o.kind = 'retry' AND i.agent = o.agent AND i.id = o.id AND i.lease_owner = o.owner AND i.attempts = o.attempts
       AND i.state = 'running'
    RETURNING i.id
), finished AS (
    DELETE FROM {{inbox}} i
     USING o
     WHERE o.kind <> 'retry' AND i.agent = o.agent AND i.id = o.id AND i.lease_owner = o.owner AND i.attempts = o.attempts
       AND i.state = 'running'
    RETURNING i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.attempts, i.enqueued_at,
              o.ord, o.kind, o.reason, o.code
), unblocked AS (
    -- The finished command was its agent's oldest, so the agent's next
    -- command (by id) is now its head. No other relay can hold it: it was
    -- not a head until this transaction commits. Nothing else changes it
    -- meanwhile either, so it is updated below by the row version read here.
    SELECT n.tid, n.id
      FROM finished f
     CROSS JOIN LATERAL (SELECT i.ctid AS tid, i.id, i.state, i.not_before FROM {{inbox}} i
                          WHERE i.agent = f.agent AND i.id > f.id ORDER BY i.id LIMIT 1) n
     WHERE n.state = 'ready' AND (n.not_before IS NULL OR n.not_before <= $11)
), next AS (
    SELECT tid FROM unblocked ORDER BY id LIMIT $14
), claimed AS (
    UPDATE {{inbox}} u
       SET state = 'running', lease_owner = $12, lease_expires = $13, attempts = u.attempts + 1
     WHERE u.ctid = ANY (ARRAY(SELECT tid FROM next)) AND u.state = 'ready'
    RETURNING u.id, u.source, u.source_ref, u.agent, u.verb, u.frame, u.attempts, u.enqueued_at
), dead AS (
    INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
    -- a message refused at admission (its verb starts with '!') has no
    -- verb here: it can never be retried; one abandoned by its requester
    -- keeps its command's verb, the frame's second field (relay.DeadVerb)
    SELECT f.id, f.source, f.source_ref, f.agent,
           CASE WHEN left(f.verb, 1) <> '!' THEN f.verb
                WHEN f.verb LIKE '!REQUESTER\_GONE:%' THEN upper(split_part(split_part(f.frame, '<', 3), '>', 1)) END, f.frame,
           nullif(f.code, ''), f.reason, f.attempts, f.enqueued_at, $11
      FROM finished f
     WHERE f.kind = 'dead'
     ORDER BY f.ord
), output_lock AS (
    -- Held to commit, so T_TTO and journal ids become visible in order. It
    -- is taken once the inbox rows are changed (it reads finished and
    -- claimed), so settles overlap their inbox work and hold the lock only
    -- to write. No holder of this lock ever waits for an inbox row, so rows
    -- first, then the lock, cannot deadlock.
    SELECT pg_advisory_xact_lock({{output_lock}})
      FROM (SELECT (SELECT count(*) FROM finished) + (SELECT count(*) FROM claimed)) AS done(n)
), reply AS (
    SELECT f.id, f.source, f.source_ref, f.agent, f.enqueued_at, r.frame, r.outcome, r.rord
      FROM unnest($8::int[], $9::text[], $10::text[]) WITH ORDINALITY AS r(idx, frame, outcome, rord)
      JOIN finished f ON f.ord = r.idx
), tto AS (
    INSERT INTO {{tto}} (DS_TTO)
    SELECT r.frame
      FROM reply r, output_lock
     WHERE r.source = 'erp'
     ORDER BY r.rord
), journal AS (
    INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us)
    SELECT $11, 'out', 'reply', r.agent, r.frame, r.source, r.source_ref, r.id, r.outcome,
           (extract(epoch FROM $11::timestamptz - r.enqueued_at) * 1000000)::bigint
      FROM reply r, output_lock
     ORDER BY r.rord
), wake AS (
    -- A finished command unblocks the next one of its agent: tell every
    -- relay to claim now, unless this statement leased every one it saw.
    -- (An intake committing meanwhile adds commands unseen here; it wakes
    -- claimers itself, and a relay's own engine looks again after a settle
    -- its intake overlapped.)
    SELECT pg_notify('ctirelay_inbox', '')
     WHERE (SELECT count(*) FROM claimed) < (SELECT count(*) FROM unblocked)
), journal_wake AS (
    -- Replies no T_TTO carries (socket, cli ...): wake every relay's
    -- journal feed, whose transports wait for them.
    SELECT pg_notify('ctirelay_journal', '')
     WHERE EXISTS (SELECT 1 FROM reply r WHERE r.source <> 'erp')
), applied AS (
    SELECT (SELECT count(*) FROM retried) + (SELECT count(*) FROM finished) AS n
     WHERE (SELECT count(*) FROM wake) >= 0 AND (SELECT count(*) FROM journal_wake) >= 0
)
SELECT a.n, c.id, c.source, c.source_ref, c.agent, c.verb, c.frame, c.attempts, c.enqueued_at
  FROM applied a
  LEFT JOIN claimed c ON true
