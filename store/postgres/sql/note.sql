-- Records the relay's own notes in the journal: $1 agents, $2 origins, $3
-- whats, $4 texts (parallel arrays, in order), $5 now.
WITH output_lock AS (
    -- As publish: journal ids become visible in order.
    SELECT pg_advisory_xact_lock({{output_lock}})
), n AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS n(agent, origin, what, text, ord)
), journal_wake AS (
    SELECT pg_notify('ctirelay_journal', '')
)
INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref)
SELECT $5, 'out', 'note', n.agent, n.text, n.origin, n.what
  FROM n, output_lock, journal_wake
 ORDER BY n.ord
