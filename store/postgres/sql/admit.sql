-- Records a batch of admitted or rejected messages in one statement.
-- $1..$8 are parallel arrays, one element per message, in arrival order:
-- source, source_ref, agent, verb, frame, code ('' when admitted), reason and
-- reply (the ERR frame, '' when none); $14 and $15 too: k, the message's
-- 1-based position among the admitted ones (0 when rejected), and whether it
-- is its agent's first admitted message in the batch. $9 is now; $10 whether
-- ERR replies go to T_TTO (only for the ERP's own rows). With a lease owner $11 (not ''),
-- up to $13 of the commands that arrive at the head of their agent's queue
-- are leased to it until $12. Returns the last inbox id handed out (admitted
-- message k of n has id last - n + k) and the ids leased, or no row.
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
), msg AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                  $14::int[], $15::bool[])
           WITH ORDINALITY AS m(source, source_ref, agent, verb, frame, code, reason, reply, k, first, ord)
), lead AS (
    -- The oldest $13 commands that arrive at the head of their agent's
    -- queue: the agent's first in this batch, with nothing of the agent in
    -- the inbox. Only Intake leases, and it takes the intake lock before
    -- this statement starts, so every older command of the agent is in the
    -- statement's snapshot.
    SELECT m.k
      FROM msg m
      -- a lateral probe stops at the agent's first command; NOT EXISTS was
      -- planned as a bitmap of every command of the agent
      LEFT JOIN LATERAL (SELECT true AS busy FROM {{inbox}} o
                          WHERE o.agent = m.agent ORDER BY o.agent, o.id LIMIT 1) b ON true
     WHERE $11 <> '' AND m.first AND b.busy IS NULL
     ORDER BY m.k
     LIMIT $13
), block AS (
    -- Reserve ids base+1 .. base+n in one step: contiguous because every
    -- writer of the inbox holds the intake lock while it does this.
    SELECT setval(pg_get_serial_sequence('{{inbox}}', 'id'),
                  nextval(pg_get_serial_sequence('{{inbox}}', 'id')) + c.n - 1) - c.n AS base
      FROM (SELECT count(*) AS n FROM msg WHERE k > 0) c, intake_lock
     WHERE c.n > 0
), inbox AS (
    INSERT INTO {{inbox}} (id, source, source_ref, agent, verb, frame, state, attempts, enqueued_at, lease_owner, lease_expires)
    SELECT b.base + m.k, m.source, m.source_ref, m.agent, m.verb, m.frame,
           CASE WHEN l.k IS NOT NULL THEN 'running' ELSE 'ready' END,
           CASE WHEN l.k IS NOT NULL THEN 1 ELSE 0 END,
           $9,
           CASE WHEN l.k IS NOT NULL THEN $11 END,
           CASE WHEN l.k IS NOT NULL THEN $12::timestamptz END
      FROM msg m
      LEFT JOIN lead l ON l.k = m.k
     CROSS JOIN block b
     WHERE m.k > 0
     ORDER BY m.k
    RETURNING id, state
), dead AS (
    INSERT INTO {{dead}} (source, source_ref, agent, frame, code, reason, attempts, enqueued_at, died_at)
    SELECT m.source, m.source_ref, m.agent, m.frame, m.code, m.reason, 0, $9, $9
      FROM msg m
     WHERE m.code <> ''
     ORDER BY m.ord
), output_lock AS (
    -- Taken after the intake lock (never before: that order avoids deadlock
    -- with Intake) and held to commit, so T_TTO and journal ids become
    -- visible in order.
    SELECT pg_advisory_xact_lock({{output_lock}}) FROM intake_lock
), tto AS (
    INSERT INTO {{tto}} (DS_TTO)
    SELECT m.reply
      FROM msg m, output_lock
     WHERE $10 AND m.reply <> ''
     ORDER BY m.ord
), journal AS (
    INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome)
    SELECT $9, e.direction, e.kind, e.agent, e.frame, e.source, e.source_ref, e.inbox_id, e.outcome
      FROM output_lock, (
            SELECT m.ord, 0 AS sub, 'in' AS direction,
                   CASE WHEN m.code = '' THEN 'command' ELSE 'rejected' END AS kind,
                   m.agent, m.frame, m.source, m.source_ref,
                   CASE WHEN m.k > 0 THEN b.base + m.k END AS inbox_id, NULL AS outcome
              FROM msg m
              LEFT JOIN block b ON true
            UNION ALL
            SELECT m.ord, 1, 'out', 'reply', m.agent, m.reply, m.source, m.source_ref, NULL, 'err'
              FROM msg m
             WHERE m.reply <> ''
           ) e
     ORDER BY e.ord, e.sub
), wake AS (
    -- Claimers have work unless this intake leased all it admitted.
    SELECT pg_notify('ctirelay_inbox', '') FROM block
     WHERE (SELECT count(*) FROM lead) < (SELECT count(*) FROM msg WHERE k > 0)
)
SELECT b.base + (SELECT count(*) FROM msg WHERE k > 0),
       (SELECT coalesce(array_agg(i.id ORDER BY i.id), '{}') FROM inbox i WHERE i.state = 'running')
  FROM block b
 WHERE (SELECT count(*) FROM wake) >= 0
