-- Journals notes (kind note) at $1: $2 agents, $3 origins, $4 whats (in
-- source_ref) and $5 texts (in frame), parallel arrays in order.
WITH output_lock AS (
    -- Held to commit, so journal ids become visible in order.
    SELECT pg_advisory_xact_lock({{output_lock}})
), n AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS n(agent, origin, what, text, ord)
), journal_wake AS (
    SELECT pg_notify('ctirelay_journal', '')
)
INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref)
SELECT $1::timestamptz, 'out', 'note', n.agent, n.text, n.origin, n.what
  FROM n, output_lock, journal_wake
 ORDER BY n.ord
