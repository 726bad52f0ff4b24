-- Applies a batch of outcomes in one statement. $1..$7 are parallel arrays,
-- one element per outcome: inbox id, lease owner, attempts (the fence),
-- kind ('done', 'retry', 'dead'), not_before ('' for none), reason and the
-- ERR code of a dead command ('' for none). $8..$10 are the reply frames:
-- the 1-based outcome each answers, the frame and 'ok' or 'err'. $11 is now.
-- An outcome whose row was taken over (owner, attempts or state changed) is
-- skipped. Returns the number applied.
WITH output_lock AS (
    -- Taken before any row lock (every CTE below reads o, which reads this)
    -- and held to commit: T_TTO and journal ids become visible in order, and
    -- the fixed order (output lock, then rows) cannot deadlock with Intake.
    SELECT pg_advisory_xact_lock({{output_lock}})
), o AS (
    SELECT o.*
      FROM output_lock,
           unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
           WITH ORDINALITY AS o(id, owner, attempts, kind, not_before, reason, code, ord)
), retried AS (
    UPDATE {{inbox}} i
       SET state = 'ready', not_before = nullif(o.not_before, '')::timestamptz, last_error = o.reason,
           lease_owner = NULL, lease_expires = NULL
      FROM o
     WHERE o.kind = 'retry'
       AND i.id = o.id AND i.lease_owner = o.owner AND i.attempts = o.attempts AND i.state = 'running'
    RETURNING i.id
), finished AS (
    DELETE FROM {{inbox}} i
     USING o
     WHERE o.kind <> 'retry'
       AND i.id = o.id AND i.lease_owner = o.owner AND i.attempts = o.attempts AND i.state = 'running'
    RETURNING i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.attempts, i.enqueued_at,
              o.ord, o.kind, o.reason, o.code
), dead AS (
    INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
    SELECT f.id, f.source, f.source_ref, f.agent, f.verb, f.frame, nullif(f.code, ''), f.reason, f.attempts, f.enqueued_at, $11
      FROM finished f
     WHERE f.kind = 'dead'
     ORDER BY f.ord
), reply AS (
    SELECT f.id, f.source, f.source_ref, f.agent, f.enqueued_at, r.frame, r.outcome, r.rord
      FROM unnest($8::int[], $9::text[], $10::text[]) WITH ORDINALITY AS r(idx, frame, outcome, rord)
      JOIN finished f ON f.ord = r.idx
), tto AS (
    INSERT INTO {{tto}} (DS_TTO)
    SELECT r.frame
      FROM reply r
     WHERE r.source = 'erp'
     ORDER BY r.rord
), journal AS (
    INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us)
    SELECT $11, 'out', 'reply', r.agent, r.frame, r.source, r.source_ref, r.id, r.outcome,
           (extract(epoch FROM $11::timestamptz - r.enqueued_at) * 1000000)::bigint
      FROM reply r
     ORDER BY r.rord
), wake AS (
    -- A finished command may unblock the next one of its agent: tell every
    -- relay to claim now.
    SELECT pg_notify('ctirelay_inbox', '') WHERE EXISTS (SELECT 1 FROM finished)
)
SELECT (SELECT count(*) FROM retried) + (SELECT count(*) FROM finished)
 WHERE (SELECT count(*) FROM wake) >= 0
