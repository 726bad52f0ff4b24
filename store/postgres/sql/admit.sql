-- Records a batch of admitted or rejected messages in one statement.
-- $1..$8 are parallel arrays, one element per message, in arrival order:
-- source, source_ref, agent, verb, frame, code ('' when admitted), reason and
-- reply (the ERR frame, '' when none). $9 is now; $10 whether ERR replies go
-- to T_TTO (only for the ERP's own rows). Returns the last inbox id handed
-- out (admitted message k of n has id last - n + k), or no row.
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
), msg AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           WITH ORDINALITY AS m(source, source_ref, agent, verb, frame, code, reason, reply, ord)
), admitted AS (
    SELECT m.*, row_number() OVER (ORDER BY m.ord) AS k
      FROM msg m
     WHERE m.code = ''
), block AS (
    -- Reserve ids base+1 .. base+n in one step: contiguous because every
    -- writer of the inbox holds the intake lock while it does this.
    SELECT setval(pg_get_serial_sequence('{{inbox}}', 'id'),
                  nextval(pg_get_serial_sequence('{{inbox}}', 'id')) + c.n - 1) - c.n AS base
      FROM (SELECT count(*) AS n FROM admitted) c, intake_lock
     WHERE c.n > 0
), inbox AS (
    INSERT INTO {{inbox}} (id, source, source_ref, agent, verb, frame, state, attempts, enqueued_at)
    SELECT b.base + a.k, a.source, a.source_ref, a.agent, a.verb, a.frame, 'ready', 0, $9
      FROM admitted a, block b
     ORDER BY a.k
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
                   m.agent, m.frame, m.source, m.source_ref, b.base + a.k AS inbox_id, NULL AS outcome
              FROM msg m
              LEFT JOIN admitted a ON a.ord = m.ord
              LEFT JOIN block b ON true
            UNION ALL
            SELECT m.ord, 1, 'out', 'reply', m.agent, m.reply, m.source, m.source_ref, NULL, 'err'
              FROM msg m
             WHERE m.reply <> ''
           ) e
     ORDER BY e.ord, e.sub
), wake AS (
    SELECT pg_notify('ctirelay_inbox', '') FROM block
)
SELECT b.base + (SELECT count(*) FROM admitted)
  FROM block b
 WHERE (SELECT count(*) FROM wake) >= 0
