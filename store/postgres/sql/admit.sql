-- Records a batch of admitted or rejected messages in one statement.
-- $1..$8 are parallel arrays, one element per message, in arrival order:
-- source, source_ref, agent, verb, frame, code ('' when admitted), reason and
-- reply (the ERR frame, '' when none); $14 and $15 too: k, above 0 for a
-- message that enters the inbox whatever the inbox holds (a command admitted,
-- or a refused message held behind an earlier command of its agent in this
-- batch), and whether it is its agent's first admitted message in the batch.
-- $9 is now; $10 whether ERR replies go to T_TTO (only for the ERP's own
-- rows). With a lease owner $11 (not ''), up to $13 of the commands that
-- arrive at the head of their agent's queue are leased to it until $12.
-- Returns the last inbox id handed out (the queued message p of n has id
-- last - n + p), the ids leased and the positions in the batch (1-based) of
-- the refused messages held because their agent had commands in the inbox;
-- or no row when nothing entered the inbox.
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
), msg AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                  $14::int[], $15::bool[])
           WITH ORDINALITY AS m(source, source_ref, agent, verb, frame, code, reason, reply, k, first, ord)
), held AS (
    -- A refused message that can be answered, of an agent with commands in
    -- the inbox, waits behind them (its verb marks it refused), so its ERR
    -- does not overtake their replies: it is answered and dead-lettered
    -- when it reaches the head of its agent's queue. Otherwise it is
    -- answered now, at no cost but this probe. Intake probes with the
    -- intake lock held since take_tti.sql, so it sees every earlier
    -- command; Enqueue's snapshot may predate a command another source
    -- commits while it waits for the lock, one its sender never sent
    -- before this message, so no pairing by order is broken.
    SELECT m.ord
      FROM msg m
     CROSS JOIN LATERAL (SELECT true AS busy FROM {{inbox}} o
                          WHERE o.agent = m.agent ORDER BY o.agent, o.id LIMIT 1) b
     WHERE m.k = 0 AND m.reply <> ''
), queued AS (
    -- What enters the inbox, numbered in arrival order.
    SELECT m.*, row_number() OVER (ORDER BY m.ord) AS pos
      FROM msg m
     WHERE m.k > 0 OR m.ord IN (SELECT ord FROM held)
), lead AS (
    -- The oldest $13 commands that arrive at the head of their agent's
    -- queue: the agent's first in this batch, with nothing of the agent in
    -- the inbox. Only Intake leases, and it takes the intake lock before
    -- this statement starts, so every older command of the agent is in the
    -- statement's snapshot.
    SELECT q.pos
      FROM queued q
      -- a lateral probe stops at the agent's first command; NOT EXISTS was
      -- planned as a bitmap of every command of the agent
      LEFT JOIN LATERAL (SELECT true AS busy FROM {{inbox}} o
                          WHERE o.agent = q.agent ORDER BY o.agent, o.id LIMIT 1) b ON true
     WHERE $11 <> '' AND q.first AND q.code = '' AND b.busy IS NULL
     ORDER BY q.pos
     LIMIT $13
), block AS (
    -- Reserve ids base+1 .. base+n in one step: contiguous because every
    -- writer of the inbox holds the intake lock while it does this.
    SELECT setval(pg_get_serial_sequence('{{inbox}}', 'id'),
                  nextval(pg_get_serial_sequence('{{inbox}}', 'id')) + c.n - 1) - c.n AS base
      FROM (SELECT count(*) AS n FROM queued) c, intake_lock
     WHERE c.n > 0
), inbox AS (
    INSERT INTO {{inbox}} (id, source, source_ref, agent, verb, frame, state, attempts, enqueued_at, lease_owner, lease_expires)
    SELECT b.base + q.pos, q.source, q.source_ref, q.agent, q.verb, q.frame,
           CASE WHEN l.pos IS NOT NULL THEN 'running' ELSE 'ready' END,
           CASE WHEN l.pos IS NOT NULL THEN 1 ELSE 0 END,
           $9,
           CASE WHEN l.pos IS NOT NULL THEN $11 END,
           CASE WHEN l.pos IS NOT NULL THEN $12::timestamptz END
      FROM queued q
      LEFT JOIN lead l ON l.pos = q.pos
     CROSS JOIN block b
     ORDER BY q.pos
    RETURNING id, state
), answered AS (
    -- the messages refused now: dead-lettered and answered in this statement
    SELECT m.*
      FROM msg m
     WHERE m.code <> '' AND m.k = 0 AND m.ord NOT IN (SELECT ord FROM held)
), dead AS (
    INSERT INTO {{dead}} (source, source_ref, agent, frame, code, reason, attempts, enqueued_at, died_at)
    SELECT a.source, a.source_ref, a.agent, a.frame, a.code, a.reason, 0, $9, $9
      FROM answered a
     ORDER BY a.ord
), output_lock AS (
    -- Taken after the intake lock (never before: that order avoids deadlock
    -- with Intake) and held to commit, so T_TTO and journal ids become
    -- visible in order.
    SELECT pg_advisory_xact_lock({{output_lock}}) FROM intake_lock
), tto AS (
    INSERT INTO {{tto}} (DS_TTO)
    SELECT a.reply
      FROM answered a, output_lock
     WHERE $10 AND a.reply <> ''
     ORDER BY a.ord
), journal AS (
    INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome)
    SELECT $9, e.direction, e.kind, e.agent, e.frame, e.source, e.source_ref, e.inbox_id, e.outcome
      FROM output_lock, (
            SELECT m.ord, 0 AS sub, 'in' AS direction,
                   CASE WHEN m.code = '' THEN 'command' ELSE 'rejected' END AS kind,
                   m.agent, m.frame, m.source, m.source_ref,
                   b.base + q.pos AS inbox_id, NULL AS outcome
              FROM msg m
              LEFT JOIN queued q ON q.ord = m.ord
              LEFT JOIN block b ON true
            UNION ALL
            SELECT a.ord, 1, 'out', 'reply', a.agent, a.reply, a.source, a.source_ref, NULL, 'err'
              FROM answered a
             WHERE a.reply <> ''
           ) e
     ORDER BY e.ord, e.sub
), wake AS (
    -- Claimers have work unless this intake leased all it queued.
    SELECT pg_notify('ctirelay_inbox', '') FROM block
     WHERE (SELECT count(*) FROM lead) < (SELECT count(*) FROM queued)
)
SELECT b.base + (SELECT count(*) FROM queued),
       (SELECT coalesce(array_agg(i.id ORDER BY i.id), '{}') FROM inbox i WHERE i.state = 'running'),
       (SELECT coalesce(array_agg(h.ord ORDER BY h.ord), '{}') FROM held h)
  FROM block b
 WHERE (SELECT count(*) FROM wake) >= 0
