-- Records $1 with the largest IS_TTO (relay.OutboxExpiry): every T_TTO row
-- up to it was written at or before $1, since IS_TTO only grows. Nothing
-- when T_TTO is empty or its largest id is marked already (the earlier
-- mark of it says more). When the largest mark is above T_TTO's largest id,
-- T_TTO was renumbered (its sequence reset) or emptied: every mark goes,
-- since they no longer date its ids (the next call marks anew). Both
-- indexes are read at one end.
WITH top AS (
    SELECT coalesce(max(IS_TTO), 0)::bigint AS top FROM {{tto}}
), reset AS (
    DELETE FROM {{tto_mark}}
     WHERE (SELECT max(tto_id) FROM {{tto_mark}}) > (SELECT top FROM top)
)
INSERT INTO {{tto_mark}} (at, tto_id)
SELECT $1::timestamptz, t.top
  FROM top t
 WHERE t.top > 0
   -- below the largest mark: reset above deletes every mark (this statement
   -- still sees them), so this is the first mark of the new numbering
   AND t.top <> (SELECT coalesce(max(tto_id), 0) FROM {{tto_mark}})
