-- Moves the dead letters $1 back to the tail of the inbox as new commands
-- (new ids in dead-letter order, attempts 0, enqueued at $2). Rows refused at
-- intake have no verb and stay where they are. Returns how many moved.
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
), gone AS (
    DELETE FROM {{dead}}
     WHERE id = ANY ($1::bigint[]) AND verb IS NOT NULL
    RETURNING id, source, source_ref, agent, verb, frame
), picked AS (
    SELECT g.*, row_number() OVER (ORDER BY g.id) AS k FROM gone g
), block AS (
    -- Contiguous ids, as in admit.sql: every writer of the inbox holds the
    -- intake lock while it reserves them.
    SELECT setval(pg_get_serial_sequence('{{inbox}}', 'id'),
                  nextval(pg_get_serial_sequence('{{inbox}}', 'id')) + c.n - 1) - c.n AS base
      FROM (SELECT count(*) AS n FROM picked) c, intake_lock
     WHERE c.n > 0
), inbox AS (
    INSERT INTO {{inbox}} (id, source, source_ref, agent, verb, frame, state, attempts, enqueued_at)
    SELECT b.base + p.k, p.source, p.source_ref, p.agent, p.verb, p.frame, 'ready', 0, $2
      FROM picked p, block b
     ORDER BY p.k
), wake AS (
    SELECT pg_notify('ctirelay_inbox', '') FROM block
)
SELECT count(*) FROM picked
 WHERE (SELECT count(*) FROM wake) >= 0
