-- Records switch events: $1 agents and $2 frames (parallel arrays, in
-- order), $3 now.
WITH output_lock AS (
    -- Held to commit, so T_TTO and journal ids become visible in order.
    SELECT pg_advisory_xact_lock({{output_lock}})
), ev AS (
    SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(agent, frame, ord)
), tto AS (
    INSERT INTO {{tto}} (DS_TTO)
    SELECT ev.frame FROM ev, output_lock ORDER BY ev.ord
), journal_wake AS (
    -- Every relay's journal feed mirrors events to its bridges' clients.
    SELECT pg_notify('ctirelay_journal', '')
)
INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin)
SELECT $3, 'out', 'event', ev.agent, ev.frame, 'switch'
  FROM ev, output_lock, journal_wake
 ORDER BY ev.ord
