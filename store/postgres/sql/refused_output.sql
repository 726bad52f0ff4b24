-- Records one output the database refused to write (output.sql) for its
-- data: in relay_dead (source 'output', no verb: it is never retried) with
-- $10, the reason naming the database's error, and $11 the time its command
-- was enqueued; journaled as it is, with $10 as its error, when $12, or else
-- (an intake's ERR reply, journaled by admit.sql) that journal row gets $10
-- as its error. $1..$9 as in output.sql. A separate statement: one that also
-- names T_TTO would fail as soon as it is planned with the refused value,
-- whatever its WHERE says.
WITH output_lock AS (
    SELECT pg_advisory_xact_lock({{output_lock}})
), dead AS (
    INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
    SELECT $7::bigint, 'output', coalesce($6::text, ''), $3::text, NULL, $4::text, NULL, $10::text, 0, $11::timestamptz, $1::timestamptz
      FROM output_lock
), annotated AS (
    UPDATE {{journal}} j
       SET error = $10::text
      FROM output_lock
     WHERE NOT $12::boolean AND j.at = $1::timestamptz AND j.kind = $2::text AND j.frame = $4::text
       AND j.source_ref IS NOT DISTINCT FROM $6::text AND j.error IS NULL
)
INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
SELECT $1::timestamptz, 'out', $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::bigint, $10::text
  FROM output_lock
 WHERE $12::boolean
