-- Deletes at most $2 T_TTO rows, oldest id first, written at or before the
-- newest mark at or before $1 (none without such a mark, nor while the
-- largest mark is above T_TTO's largest id: T_TTO was renumbered, see
-- outbox_mark.sql), and the marks
-- older than that one, which no later cut needs. A row the ERP deletes
-- meanwhile is waited for and not returned. note.sql journals the
-- rows returned, in the same transaction.
WITH mark AS (
    SELECT at, tto_id FROM {{tto_mark}}
     WHERE at <= $1
       AND (SELECT max(tto_id) FROM {{tto_mark}}) <= (SELECT coalesce(max(IS_TTO), 0) FROM {{tto}})
     ORDER BY at DESC, tto_id DESC LIMIT 1
), gone AS (
    DELETE FROM {{tto}} t
     WHERE t.IS_TTO IN (SELECT o.IS_TTO FROM {{tto}} o, mark WHERE o.IS_TTO <= mark.tto_id ORDER BY o.IS_TTO LIMIT $2)
    RETURNING t.IS_TTO::bigint AS id, t.DS_TTO::text AS frame
), dropped AS (
    DELETE FROM {{tto_mark}} m USING mark WHERE m.at < mark.at
)
SELECT id, frame FROM gone ORDER BY id
