-- Deletes at most @p2 dead letters that died before @p1, oldest first.
DELETE FROM {{dead}}
 WHERE id IN (SELECT TOP (@p2) id FROM {{dead}} WHERE died_at < @p1 ORDER BY id)
