-- Records @p1 with the largest IS_TTO (relay.OutboxExpiry): every T_TTO row
-- up to it was written at or before @p1, since an identity only grows.
-- Nothing when T_TTO is empty or its largest id is marked already. When
-- the largest mark is above T_TTO's largest id, T_TTO was renumbered
-- (RESEED) or emptied: every mark goes, since they no longer date its ids.
DELETE FROM {{tto_mark}}
 WHERE (SELECT MAX(tto_id) FROM {{tto_mark}}) > COALESCE((SELECT MAX(IS_TTO) FROM {{tto}}), 0);
INSERT INTO {{tto_mark}} (at, tto_id)
SELECT @p1, t.top_id
  FROM (SELECT CAST(MAX(IS_TTO) AS bigint) AS top_id FROM {{tto}}) AS t
 WHERE t.top_id > (SELECT COALESCE(MAX(tto_id), 0) FROM {{tto_mark}});
