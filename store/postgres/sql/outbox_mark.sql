-- Records $1 with the largest IS_TTO (relay.OutboxExpiry): every T_TTO row
-- up to it was written at or before $1, since IS_TTO only grows. Nothing
-- when T_TTO is empty or its largest id is marked already (the earlier
-- mark of it says more). Both indexes are read at one end.
INSERT INTO {{tto_mark}} (at, tto_id)
SELECT $1::timestamptz, t.top
  FROM (SELECT max(IS_TTO)::bigint AS top FROM {{tto}}) t
 WHERE t.top > (SELECT coalesce(max(tto_id), 0) FROM {{tto_mark}})
