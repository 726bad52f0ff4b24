-- Writes one output (a reply or an event) when a batch was refused for the
-- data of one of its messages and the relay writes them one at a time, each
-- under a savepoint (refused_output.sql records one refused). $1 at, $2 kind
-- ('reply' or 'event'), $3 agent, $4 frame, $5 origin, $6 source_ref, $7
-- inbox_id, $8 outcome, $9 latency_us (NULL when none); $10 true when the
-- output goes to T_TTO, $11 true when it is to be journaled (an intake's ERR
-- replies are journaled by admit.sql).
WITH output_lock AS (
    -- Held to commit, so T_TTO and journal ids become visible in order.
    SELECT pg_advisory_xact_lock({{output_lock}})
), tto AS (
    INSERT INTO {{tto}} (DS_TTO)
    SELECT $4::text FROM output_lock WHERE $10::boolean
)
INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us)
SELECT $1::timestamptz, 'out', $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::bigint
  FROM output_lock
 WHERE $11::boolean
